"""Germany's rule sets re-recorded a second time (rule audit session 4 of issue 17,
2026-12-06): the facts session 3 left without a reference.

Corrected, because the sources read say otherwise: the relief of a battery from the § 19
StromNEV levy and the offshore liability levy in 2015 and 2016. It rested on § 118(6) EnWG
waiving the grid fee the levies are added to; the Bundesgerichtshof held that the § 118(6)
waiver does not cover the statutory levies (EnVR 24/16 of 2017-06-20), and a regional court
upheld a grid operator charging a frequency-reserve battery the KWKG, § 19 StromNEV, AbLaV
and offshore levies (LG Frankfurt (Oder), 31 O 51/17, May 2018). No statute relieving storage
of these levies before the EEG 2017 and KWKG netting rules was found: in 2015 and 2016 the
battery pays them. From 2017 the relief is kept, uncertain, until the route by which those
rules could reach these two levies is read; from 2023 the § 19 levy's relief is uncertain
too (the EnFG covers the KWKG and offshore levies only).
"""

from __future__ import annotations

from datetime import date

from regulatory.countries.de_sources import Provenance
from regulatory.countries.revision import Entry
from regulatory.rules import ChargingCharge, Confidence, Fact, RuleSet

C, G, U = Confidence.CONFIRMED, Confidence.GENERAL, Confidence.UNCERTAIN

SESSION = "the rule audit of 2026-12-06 (session 4)"

NETTING_FROM = date(2017, 1, 1)
"""The EEG 2017 (§ 61k) and KWKG netting rules for storage apply from this day."""

ENFG_FROM = date(2023, 1, 1)
"""The EnFG replaces the KWKG and offshore levy rules from this day."""

BGH = "https://www.rechtsportal.de/Familienrecht/Rechtsprechung/Rechtsprechung/2017/BGH/" + (
    "Umfang-des-Anspruchs-auf-Befreiung-von-den-Entgelten-fuer-den-Netzzugang"
)
LG_FRANKFURT = (
    "https://www.contextcrew.de/kanzlei-wertet-entscheidung-des-landgerichts-frankfurt-zu-"
    "energiespeichern-als-fehlurteil/"
)

_LEVIES_CHARGED = (
    "BGH EnVR 24/16 (2017-06-20): the waiver of § 118(6) EnWG does not cover the statutory "
    "levies, concession fees or metering charges; LG Frankfurt (Oder) 31 O 51/17 (May 2018, "
    "reported by contextcrew): a grid operator may charge a battery exempt under § 118(6) "
    "the KWKG, § 19 StromNEV, AbLaV and offshore liability levies"
)
LEVIES_BEFORE_2017 = Provenance(
    source=_LEVIES_CHARGED,
    reference=f"{BGH}; {LG_FRANKFURT}",
    document_version="BGH decision as published by rechtsportal.de; contextcrew report of "
    "2018, read 2026-12-06",
    confidence=U,
    note="no storage relief of this levy before 2017 was found: the battery pays it; the "
    "court case is read in a secondary report",
)
RELIEF_FROM_2017 = Provenance(
    source=_LEVIES_CHARGED + "; the relief is kept on the assumption that the EEG 2017 / "
    "KWKG netting rules for storage (§ 61k EEG 2017, § 27b KWKG) reach this levy",
    reference=f"{BGH}; {LG_FRANKFURT}; https://urteile-gesetze.de/gesetze/kwkg/27b",
    document_version="BGH decision (rechtsportal.de); contextcrew report of 2018; § 27b KWKG "
    "as published by urteile-gesetze.de, read 2026-12-06",
    confidence=U,
    note="§ 118(6) EnWG does not carry the relief (BGH); whether § 17f EnWG or § 19(2) "
    "StromNEV applied the KWKG's storage rule to this levy was not read",
)
S19_FROM_2023 = Provenance(
    source="solarserver (2022-08-19): the EnFG covers the EEG, KWKG and offshore levies; EAM "
    "Netz: for 2023 the § 19 StromNEV levy's privileges still followed the KWKG 2016 groups "
    "B and C, not the EnFG; " + _LEVIES_CHARGED,
    reference="https://solarserver.de/2022/08/19/enfg-keine-umlagen-mehr-auf-eigenversorgung; "
    "https://www.eam-netz.de/ueber-uns/netzinformationen/veroeffentlichungspflichten/strom/"
    f"26-abs-2-kwkg/; {BGH}",
    document_version="solarserver news of 2022-08-19; EAM Netz page on § 26(2) KWKG; BGH "
    "decision, read 2026-12-06",
    confidence=U,
    note="the EnFG's storage relief (§ 21) is not this levy's rule; whether the § 19 levy (the "
    "'Aufschlag für besondere Netznutzung' from 2025) relieves storage was not read: the "
    "relief is kept until checked",
)
EEG_60_3 = Provenance(
    source="CMS Hasche Sigle (2020-03-10): before the netting rule of the EEG 2017, storage "
    "was relieved of the EEG levy only when it drew energy exclusively to feed it back into "
    "the grid (§ 60(3) EEG 2014)",
    reference="https://www.cmshs-bloggt.de/energiewirtschaft/stromspeicher-eeg-"
    "doppelbelastungen-stromsteuer-entflechtung/",
    document_version="CMS blog of 2020-03-10, read 2026-12-06",
    confidence=G,
    note="the exclusivity condition is taken as met by a battery that only stores for "
    "re-injection; the law's text of 2014 was not read",
)
BSP_BASELINE = Provenance(
    source="BNetzA BK6-15-158 (2017-06-13): aFRR providers transmit online values for the "
    "target and actual value separately; Bitkom guideline (2016-12-05) on aggregators under "
    "§ 26a StromNZV: quantities and balancing-group corrections from the data the "
    "aggregator provides; TSOs' PQ conditions v1.04 (2022-06-03)",
    reference="https://pdfdokument.com/beschluss-bk6-15-158-bundesnetzagentur_"
    "59f30db51723ddbe077689c8.html; https://9dok.net/document/yevk52j7-branchenleitfaden-"
    "demand-response-aggregation-bitkom-e-v.html; https://de.scribd.com/document/618707892/"
    "PQ-Bedingungen-03-06-2022-Vergleichsversion",
    document_version="BK6-15-158 as copied by pdfdokument.com; Bitkom guideline of "
    "2016-12-05 (9dok copy); PQ conditions v1.04, read 2026-12-06",
    confidence=U,
    note="that delivered flexibility is measured against an operating point ('Arbeitspunkt') "
    "the BSP sends was not read in so many words",
)


KEPT_RELIEF = (
    "storage withdrawal fed back to the grid taken as relieved of this levy (basis not "
    "confirmed: the § 118(6) EnWG waiver does not cover levies, BGH EnVR 24/16)"
)
"""The description of a relief kept, uncertain: it no longer names a basis the BGH denied
(§ 118(6)) or a law that does not cover the levy (§ 61l EEG, the EnFG)."""


def _levy_correction(charge: ChargingCharge) -> Entry:
    """`charge` (sourced for its rate) without its storage relief, saying why in its note."""
    why = (
        "storage pays this levy: the § 118(6) EnWG waiver does not cover statutory levies "
        "(BGH EnVR 24/16) and no storage relief before 2017 was found"
    )
    note = f"{charge.note}; {why}" if charge.note else why
    return Entry(
        None,
        {"exemptions": (), "note": note},
        "2015-2016: a battery pays the § 19 StromNEV and offshore liability levies (BGH "
        "EnVR 24/16: § 118(6) EnWG does not cover levies; no storage relief before 2017)",
    )


def lookup(place: str, fact: Fact, version: RuleSet) -> Entry | None:
    """The source of a German fact session 3 left unsourced, or its correction."""
    if place == "baselines:bsp_schedule":
        return Entry(BSP_BASELINE)
    if place == "charging:EEG levy:exemptions[0]":
        return Entry(EEG_60_3)
    levy = place.removeprefix("charging:")
    relieved_levy = levy.startswith(("§ 19 StromNEV levy", "offshore liability levy"))
    relieved_levy |= levy.startswith(("offshore grid levy", "Aufschlag für besondere"))
    if not relieved_levy:
        return None
    if version.valid_from < NETTING_FROM:
        if isinstance(fact, ChargingCharge) and fact.exemptions:
            return _levy_correction(fact)
        return None
    if not place.endswith(":exemptions[0]") or (fact.reference or "").strip():
        return None  # the EnFG relief of the offshore levy from 2023 is sourced (session 3)
    if version.valid_from < ENFG_FROM:
        return Entry(RELIEF_FROM_2017, {"description": KEPT_RELIEF})
    return Entry(S19_FROM_2023, {"description": KEPT_RELIEF})
