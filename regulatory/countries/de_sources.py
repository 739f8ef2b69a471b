"""References for Germany's regulatory facts, read in the rule audit of 2026-12-06 (issue 17,
session 3).

Each `Provenance` names what was read (`source`), where a reviewer can open it
(`reference`, several addresses separated by "; "), the version or date of the page, and
what the page confirms (`note`). Primary sources (the law's text, the TSOs' and the
Bundesnetzagentur's pages, the Clearingstelle EEG|KWKG) are preferred; a secondary source
is named as such and leaves the fact `general` or `uncertain`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from regulatory.countries._common import AUDIT_DAY, AUDIT_REVIEW_BY
from regulatory.rules import Confidence, Fact

C, G, U = Confidence.CONFIRMED, Confidence.GENERAL, Confidence.UNCERTAIN


@dataclass(frozen=True)
class Provenance:
    """Where a fact was read; `confidence` None keeps the fact's own, `note` None its note."""

    source: str
    reference: str
    document_version: str
    confidence: Confidence | None = None
    note: str | None = None

    def updates(self, fact: Fact) -> dict[str, object]:
        """The field updates that give `fact` this provenance (knowledge of the audit day);
        an uncertain result keeps its review date or gets the audit's."""
        confidence = self.confidence or fact.confidence
        review_by: date | None = None
        if confidence is U:
            review_by = fact.review_by or AUDIT_REVIEW_BY
        return {
            "source": self.source,
            "reference": self.reference,
            "document_version": self.document_version,
            "retrieved_on": AUDIT_DAY,
            "confidence": confidence,
            "note": self.note if self.note is not None else fact.note,
            "review_by": review_by,
        }


# --- law texts ------------------------------------------------------------------------------

ENWG_118 = Provenance(
    source="§ 118(6) EnWG (wording from 2011-08-04): storage newly built after 2008-12-31 and "
    "commissioned from 2011-08-04 within 15 years is exempt from network access charges on "
    "the energy it stores, for 20 years from commissioning",
    reference="https://www.gesetze-im-internet.de/enwg_2005/__118.html; "
    "https://ra.de/g/enwg-2005-118",
    document_version="§ 118 EnWG 2005 as published by ra.de, read 2026-12-06",
    confidence=C,
    note="the law's window is commissioning from 2011-08-04 (before: the 10-year waiver of "
    "the 2008 wording, not modelled); the waiver needs the stored energy fed back into the "
    "same grid",
)
ENWG_118_2029 = Provenance(
    source="§ 118(6) EnWG extended by three years by the Bundestag (erneuerbareenergien.de); "
    "the 2011 wording as published by ra.de",
    reference="https://erneuerbareenergien.de/nachrichten/stromspeicher-keine-doppelten-"
    "netzentgelte; https://ra.de/g/enwg-2005-118",
    document_version="erneuerbareenergien.de news (2025), read 2026-12-06",
    confidence=C,
    note="the news confirms the deadline moved from 2026-08-04 by three years (20 years of "
    "waiver kept); the day the amended § 118(6) took effect was not found (the version's "
    "valid_from stays uncertain)",
)
STROMSTG_3 = Provenance(
    source="§ 3 StromStG: the tax is EUR 20.50 per MWh (unchanged since 2003)",
    reference="https://www.gesetze-im-internet.de/stromstg/__3.html; "
    "https://gesetze.legal/bund/stromstg/3; http://www.steuerarten.com/steuerarten/"
    "stromsteuer.shtml",
    document_version="§ 3 StromStG as published by gesetze.legal, read 2026-12-06",
    confidence=C,
)
STROMSTG_5_4 = Provenance(
    source="§ 5(4) StromStG: storage in which suppliers store electricity and feed it back "
    "counts as part of the grid (in force from 2018-01-01)",
    reference="https://www.gesetze-im-internet.de/stromstg/__5.html; "
    "https://gesetzeswelt.de/gesetz/StromStG; https://www.vbvh.de/news-detail/stromsteuer-"
    "bei-batteriespeichern-jetzt-antrag-beim-hauptzollamt-stellen/",
    document_version="StromStG as published by gesetzeswelt.de; vbvh news of 2018-04-12",
    confidence=G,
    note="the relief needs the storage registered in the Marktstammdatenregister and the "
    "electricity stored and fed back by a supplier (Versorger); taken as met by a battery "
    "that stores for re-injection",
)
STROMSTG_BEFORE_2018 = Provenance(
    source="vbvh (2018-04-12): § 5(4) StromStG on stationary batteries came with the "
    "amendment in force from 2018-01-01",
    reference="https://www.vbvh.de/news-detail/stromsteuer-bei-batteriespeichern-jetzt-"
    "antrag-beim-hauptzollamt-stellen/",
    document_version="vbvh news of 2018-04-12, read 2026-12-06",
    confidence=U,
    note="before 2018 the tax on storage withdrawal depended on other exemptions the page "
    "calls partly unclear; the relief is kept for 2015-2017 and stays uncertain",
)

# --- EEG: negative prices and levies -------------------------------------------------------

CLEARINGSTELLE_51 = "https://www.clearingstelle-eeg-kwkg.de/haeufige-rechtsfrage/264"
EEG_BEFORE_2016 = Provenance(
    source="Clearingstelle EEG|KWKG: negative prices by commissioning date (plants "
    "commissioned before 2016: no reduction, § 24(3) Nr. 1 EEG 2014 a contrario)",
    reference=CLEARINGSTELLE_51,
    document_version="Clearingstelle FAQ 264, read 2026-12-06",
    confidence=C,
)
EEG_6H = Provenance(
    source="§ 24 EEG 2014 / § 51 EEG 2017: premium zero once the day-ahead price is negative "
    "for >= 6 consecutive hours (commissioned 2016-2020; wind < 3 MW and other plants "
    "< 500 kW exempt)",
    reference=CLEARINGSTELLE_51 + "; https://www.netztransparenz.de/EEG/Marktpraemie/"
    "EEG-negative-Preise",
    document_version="Clearingstelle FAQ 264; netztransparenz.de § 51 page, read 2026-12-06",
    confidence=C,
    note="plants < 500 kW are exempt (band below); wind plants of 0.5-3 MW are exempt too "
    "but a band cannot tell wind from pv, so they are treated as affected",
)
EEG_4H = Provenance(
    source="§ 51 EEG 2021: premium zero once the day-ahead price is negative for >= 4 "
    "consecutive hours (commissioned 2021-2022; plants < 500 kW exempt)",
    reference=CLEARINGSTELLE_51 + "; https://www.netztransparenz.de/de-de/Erneuerbare-"
    "Energien-und-Umlagen/EEG/Transparenzanforderungen/Marktpr%C3%A4mie/Negativer-"
    "Spotmarktpreis-%C3%9Cbersichtstabellen",
    document_version="Clearingstelle FAQ 264; netztransparenz.de § 51 EEG 2021 page",
    confidence=C,
)
EEG_SMALL_EXEMPT = Provenance(
    source="Clearingstelle EEG|KWKG: plants commissioned 2016-2022 below 500 kW are exempt "
    "from the § 51 reduction",
    reference=CLEARINGSTELLE_51,
    document_version="Clearingstelle FAQ 264, read 2026-12-06",
    confidence=C,
)
EEG_2017_LATER = Provenance(
    source="Clearingstelle EEG|KWKG: plants commissioned from 2021 fall under § 51 EEG 2021",
    reference=CLEARINGSTELLE_51,
    document_version="Clearingstelle FAQ 264, read 2026-12-06",
    confidence=G,
    note="no plant commissioned from 2021 delivers in a version before 2021",
)
EEG_2023 = Provenance(
    source="§ 51 EEG 2023: >= 4 h in 2023, >= 3 h in 2024-2025, >= 2 h in 2026, >= 1 h from "
    "2027; § 51(2) Nr. 1: plants < 400 kW exempt",
    reference="https://www.gesetze-im-internet.de/eeg_2014/__51.html; "
    "https://gesetze.legal/bund/eeg_2023/51; " + CLEARINGSTELLE_51,
    document_version="§ 51 EEG 2023 as published by gesetze.legal, read 2026-12-06",
    confidence=C,
)
SOLARSPITZEN = Provenance(
    source="§ 51 EEG as amended by the Solarspitzengesetz (in force 2025-02-25): no payment "
    "in any period with a negative price, plants >= 2 kW (Clearingstelle; mmv-recht)",
    reference=CLEARINGSTELLE_51 + "; https://mmv-recht.de/en/node/692",
    document_version="Clearingstelle FAQ 264; mmv-recht news of 2025-02-24",
    confidence=C,
    note="plants < 100 kW are exempt until the end of the year their smart meter is "
    "installed (not modelled: a site does not declare its meter); lost periods are "
    "appended after the support term (§ 51a EEG)",
)
EEG_LEVY = Provenance(
    source="netztransparenz.de 'EEG-Umlagen-Übersicht': 3.723 ct/kWh in 2022; set to zero "
    "from 2022-07-01 by the law of 2022-05-23 (Clearingstelle)",
    reference="https://www.netztransparenz.de/EEG/EEG-Umlagen-Uebersicht; "
    "https://www.clearingstelle-eeg-kwkg.de/gesetz/6379",
    document_version="TSO overview; BGBl. I S. 747 (2022-05-23), read 2026-12-06",
    confidence=C,
)
EEG_STORAGE_2017 = Provenance(
    source="CMS Hasche Sigle (2020-03-10): stored electricity fed back is relieved of the "
    "EEG levy by netting (§ 61l EEG 2017)",
    reference="https://www.cmshs-bloggt.de/energiewirtschaft/stromspeicher-eeg-"
    "doppelbelastungen-stromsteuer-entflechtung/",
    document_version="CMS blog of 2020-03-10, read 2026-12-06",
    confidence=G,
    note="the blog numbers the rule § 61l EEG 2017 (the 2020 wording); the versions of "
    "2017-2020 call it § 61k; netting over the calendar year is not modelled",
)
ENFG_21 = Provenance(
    source="§ 21(1) EnFG: the levies on grid withdrawal fall to zero as far as the "
    "storage's output of the year is fed into a grid (Dentons, 2024-10-17)",
    reference="https://www.gesetze-im-internet.de/enfg/__21.html; https://dentons.com/de/"
    "insights/newsletters/2024/october/17/energized-by-dentons/energized-by-dentons-"
    "october-2024/power-storage-brief-overview-of-running-costs-and-marketing-opportunities",
    document_version="Dentons newsletter of 2024-10-17, read 2026-12-06",
    confidence=C,
    note="the EnFG covers the KWKG and offshore grid levies; relief by the year's fed-back "
    "share is taken as full relief",
)

# --- levies (ct/kWh for non-privileged consumption, EUR/MWh = 10 x) -------------------------

KWKG_LEVY = Provenance(
    source="netztransparenz.de 'KWKG-Umlage' (the four TSOs): 0.378 (2022), 0.357 (2023), "
    "0.275 (2024), 0.277 ct/kWh (2025)",
    reference="https://netztransparenz.de/de-de/Erneuerbare-Energien-und-Umlagen/KWKG/"
    "KWKG-Umlage; https://bundesnetzagentur.de/SharedDocs/A_Z_Glossar/K/KWKG_Umlage.html",
    document_version="TSO table 2016-2025, read 2026-12-06",
    confidence=C,
)
OFFSHORE_LEVY = Provenance(
    source="netztransparenz.de 'Offshore-Netzumlage' and Amprion's overview: 0.419 (2022), "
    "0.591 (2023), 0.656 (2024), 0.816 ct/kWh (2025)",
    reference="https://netztransparenz.de/de-de/Erneuerbare-Energien-und-Umlagen/Sonstige-"
    "Umlagen/Offshore-Netzumlage; https://amprion.net/Strommarkt/Abgaben-und-Umlagen/"
    "Offshore-Netzumlage/Offshore-Netzumlage-seit-2013.html",
    document_version="TSO table 2016-2025, read 2026-12-06",
    confidence=C,
)
S19_LEVY_2022_2023 = Provenance(
    source="Bundesnetzagentur glossary '§ 19 StromNEV-Umlage': 0.437 (2022), 0.417 ct/kWh (2023)",
    reference="https://www.bundesnetzagentur.de/SharedDocs/A_Z_Glossar/P/"
    "Par19_StromNEV_Umlage.html",
    document_version="BNetzA glossary (2018-2023), read 2026-12-06",
    confidence=C,
)
S19_LEVY_2024 = Provenance(
    source="Amprion '§ 19 StromNEV-Umlage': 0.643 ct/kWh for group A' in 2024 (raised after "
    "the transmission charges of 2023-12-13)",
    reference="https://www.amprion.net/Strommarkt/Abgaben-und-Umlagen/§19-StromNEV-Umlage/",
    document_version="Amprion page (2024), read 2026-12-06",
    confidence=C,
)
S19_LEVY_2025 = Provenance(
    source="1.558 ct/kWh for group A' from 2025-01-01 (price sheets of Gebrüder Eirich and "
    "evb Beckum, secondary)",
    reference="https://gebruedereirich.de/Netznutzung/Aufschlag%20f%C3%BCr%20besondere"
    "%20Netznutzung.html; https://www.evb-beckum.de/produkte/waerme/staatliche-"
    "preisbestandteile",
    document_version="supplier price sheets as of 2025-01-01, read 2026-12-06",
    confidence=G,
    note="two suppliers' price sheets agree; the TSOs' own 2025 page was not read",
)

# --- KWKG negative prices -------------------------------------------------------------------

KWKG_NEGATIVE = Provenance(
    source="§ 7(5) KWKG as quoted by the TSOs: no bonus for periods with a day-ahead price "
    "of zero or below; plants up to 50 kW exempt",
    reference="https://netztransparenz.de/de-de/Erneuerbare-Energien-und-Umlagen/KWKG/"
    "KWKG-Abrechnung/Negative-Preise",
    document_version="netztransparenz.de page (updated 2025-04-14), read 2026-12-06",
    confidence=C,
)
KWKG_2025 = Provenance(
    source="Steinkamp (2025): the 'KWKG 2025' in force 2025-04-01 drops the <= 50 kW "
    "exemption for new plants; § 7(5) KWKG as quoted by the TSOs",
    reference="https://steinkamp-energie.de/das-kwkg-2025-und-die-verlaengerung-des-"
    "verguetungszeitraums-bei-negativen-preisen-fuer-neue-solaranlagen/; "
    "https://netztransparenz.de/de-de/Erneuerbare-Energien-und-Umlagen/KWKG/"
    "KWKG-Abrechnung/Negative-Preise",
    document_version="Steinkamp newsletter (April 2025), read 2026-12-06",
    confidence=C,
)
KWKG_2016 = Provenance(
    source="§ 7(7) KWKG 2016: no bonus for periods in which the day-ahead hourly price is "
    "zero or negative (text quoted by the TSOs and BKWK)",
    reference="http://dnn9.netztransparenz.de/KWKG/KWKG-negative-Preise; "
    "https://www.bkwk.de/aktuelles/2020-03-30/meldung-negativer-stundenkontrakte-nach-dem-"
    "kwkg/",
    document_version="netztransparenz.de § 7 KWKG page; BKWK news of 2020-03-30",
    confidence=C,
    note="hours without a bonus do not use up the payment term (§ 8); the rule covers "
    "plants commissioned from 2016 (nordhausen-netz.de), older KWKG 2012 plants are not "
    "told apart here",
)
KWKG_2012 = Provenance(
    source="Nordhausen Netz: the KWKG negative-price rule applies to plants commissioned "
    "from 2016-01-01 (KWKG 2016); KWKG 2012 had none",
    reference="https://www.nordhausen-netz.de/cms/Netzinformationen/EEG-Anlagen-Einspeiser/"
    "Negative-Boersenpreise/",
    document_version="DSO page, read 2026-12-06",
    confidence=U,
    note="a grid operator's page, not the KWKG 2012 text",
)

# --- balancing products ---------------------------------------------------------------------

FCR = Provenance(
    source="FCR Cooperation (Swissgrid, 2019-07-09); FCR tendered per +/-1 MW (APG tender "
    "page); BNetzA BK6-17-234 of 2019-05-02 refused the TSOs' 30-minute reservoir: 15 "
    "minutes (vbvh, 2019-05-09)",
    reference="https://swissgrid.ch/de/home/newsroom/newsfeed/20190709-01.html; "
    "https://www.apg.at/en/markt/balancing/primary-control/tenders; "
    "https://www.vbvh.de/news-detail/speicher-auf-dem-prl-markt-bnetza-bestaetigt-"
    "mindestaktivierungszeitraum-von-15-minuten/",
    document_version="Swissgrid news 2019-07-09; APG tender page; vbvh news 2019-05-09",
)
FCR_HISTORY_NOTE = (
    "BK6-17-234 (2019-05-02) refused the TSOs' 30-minute criterion: 30 minutes before, 15 "
    "after; the versions switch at 2020.1, not on 2019-05-02"
)
AFRR_HISTORY = Provenance(
    source="BNetzA BK6-15-158 (2017-06-13, applied from 2018-07-12): aFRR tendered calendar-"
    "daily, D-7 10:00 to D-1 08:00; prequalification at the connecting TSO "
    "(regelleistung.net)",
    reference="https://pdfdokument.com/beschluss-bk6-15-158-bundesnetzagentur_"
    "59f30db51723ddbe077689c8.html; https://rgc-manager.de/news/energierecht/bnetza-aendert-"
    "festlegungen-zur-regelenergie/; https://www.regelleistung.net/ext/static/"
    "prequalification",
    document_version="BK6-15-158 tenor as copied by pdfdokument.com; regelleistung.net PQ page",
    confidence=U,
    note="the tenor read sets calendar-daily tenders; the 5 MW and 1 MW minimum offers were "
    "not read in it, and whether pools may span control areas was not checked",
)
AFRR_2022 = Provenance(
    source="regelleistung.net: prequalification only at the connecting TSO; TSOs' PQ "
    "conditions v1.04 of 2022-06-03 (adapted to PICASSO/MARI)",
    reference="https://regelleistung.net/de-de/Anbieter-werden/Präqualifikationsverfahren; "
    "https://de.scribd.com/document/618707892/PQ-Bedingungen-03-06-2022-Vergleichsversion",
    document_version="PQ-Bedingungen v1.04 (2022-06-03), version history read 2026-12-06",
    confidence=U,
    note="the 15-minute aFRR reservoir and the 1 MW minimum were not read in the conditions' "
    "text; the pooling scope follows the prequalification at the connecting TSO",
)

# --- premium formula, grid fee, KWKG levy on storage -----------------------------------------

EEG_PREMIUM = Provenance(
    source="Anlage 1 EEG (zu § 23a): market premium MP = AW - MW (anzulegender Wert minus "
    "market value), set to zero when negative",
    reference="https://urteile-gesetze.de/gesetze/eeg-2017/anlage-1; "
    "https://www.deubner-steuern.de/produkte/bwl-beratung/doc/anlage-zu--23-a-eeg2023-"
    "erneuerbare-energien-gesetz-1157490",
    document_version="Anlage 1 EEG 2017 (BGBl. I 2014, 1108); Anlage 1 EEG 2023 as of 2024-02-05",
    confidence=C,
    note="monthly market value of the technology; plants commissioned from 2023 use the "
    "annual market value (Anlage 1 EEG 2023, No. 2)",
)
GRID_FEE = Provenance(
    source="netztransparenz.de 'Netzentgelte': grid fees are charged on withdrawal only, as a "
    "capacity and an energy price depending on the connection level and hours of use",
    reference="https://netztransparenz.de/de-de/Über-uns/Netzentgelte",
    document_version="TSO page, read 2026-12-06",
    confidence=C,
    note="the amount is the site operator's published tariff (the site's "
    "grid_fee_withdrawal_eur_per_mwh)",
)
KWKG_27B = Provenance(
    source="§ 27b KWKG: for electricity consumed to be stored, § 61l EEG applies to the KWKG levy",
    reference="https://www.gesetze-im-internet.de/kwkg_2016/__27b.html; "
    "https://urteile-gesetze.de/gesetze/kwkg/27b",
    document_version="§ 27b KWKG as published by urteile-gesetze.de, read 2026-12-06",
    note="the wording read refers to § 61l EEG; the day § 27b took this wording was not found",
)
