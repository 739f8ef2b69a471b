"""Germany's rule sets re-recorded with references (rule audit of 2026-12-06, session 3).

Each German version ``V`` gets a correcting version ``V-rev1`` (recorded 2026-12-06,
superseding ``V``) whose facts name the page they were read in (`de_sources`). A fact no
source was read for keeps its old provenance and stays counted by ``vpp markets audit``.

Three values changed, each because the source read says otherwise:

- § 118(6) EnWG: the 20-year grid-fee waiver covers storage commissioned from 2011-08-04
  (it had no start); older storage pays the site's grid fee.
- EEG 6-hour rule (commissioned 2016-2020) and 4-hour rule (commissioned 2021-2022):
  plants below 500 kW are exempt (they had been affected at any size).
- KWKG 2016 (versions 2016.1-2021.1): the bonus lapses when the price is zero or negative,
  not only when it is negative.

The versions recorded before stay readable with ``--known-on 2026-12-05`` (the legacy
ones) or in git (the ones recorded earlier on 2026-12-06).
"""

from __future__ import annotations

from datetime import date

from regulatory.countries import de_sources as src
from regulatory.countries._common import AUDIT_3_VERSION
from regulatory.rules import (
    ChargingCharge,
    DatedNegativePriceRule,
    Exemption,
    Fact,
    NegativePriceRule,
    ProductRule,
    RuleSet,
    SupportBand,
    SupportScheme,
)

REVISION = "-rev1"

STORAGE_WAIVER_FROM = date(2011, 8, 4)
"""§ 118(6) EnWG: storage commissioned from this day (within 15 years) is waived."""

SMALL_PLANT_MW = 0.5
"""EEG 2014/2017/2021: plants below 500 kW are exempt from the negative-price rule [MW]."""

_SIX_HOURS = {
    "§ 24 EEG 2014 / § 51 EEG 2017, commissioned 2016-2020: 6 consecutive hours",
    "§ 51 EEG 2014/2017, commissioned 2016-2020: 6 consecutive hours",
}
_FOUR_HOURS = {
    "§ 51 EEG 2021, commissioned 2021-2022: 4 consecutive hours",
    "§ 51 EEG 2021, commissioned from 2021: 4 consecutive hours",
}
_BAND_SOURCES: dict[str, src.Provenance] = {
    "§ 51 EEG, plants commissioned before 2016 (Dr. Kauch)": src.EEG_BEFORE_2016,
    **dict.fromkeys(_SIX_HOURS, src.EEG_6H),
    **dict.fromkeys(_FOUR_HOURS, src.EEG_4H),
    "§ 51 EEG 2017 (plants commissioned later fall under EEG 2021)": src.EEG_2017_LATER,
    "§ 51 EEG 2023, >= 400 kW: 4 h (2023), 3 h (2024-25), 2 h (2026), 1 h (2027 on)": src.EEG_2023,
    "§ 51 EEG 2023 threshold of 400 kW: smaller plants not covered [G]": src.EEG_2023,
    "Solarspitzengesetz, commissioned from 2025-02-25, >= 2 kW": src.SOLARSPITZEN,
    "KWKG: plants <= 50 kW exempt": src.KWKG_NEGATIVE,
    "KWKG: plants <= 50 kW exempt if commissioned before 2025-04-01 (KWKG 2025)": src.KWKG_2025,
    "KWKG (Steinkamp, energierechtinderpraxis)": src.KWKG_NEGATIVE,
    "KWKG 2012 [U]": src.KWKG_2012,
}
_EEG_SCHEMES = (
    "EEG 2014 direct marketing, market premium = anzulegender Wert - market value [G]",
    "EEG 2017 direct marketing, market premium = anzulegender Wert - market value [G]",
    "EEG 2021 direct marketing, market premium = anzulegender Wert - market value [G]",
    "EEG direct marketing, market premium = anzulegender Wert - market value [G]",
)
_SCHEME_SOURCES: dict[str, src.Provenance] = {
    **dict.fromkeys(_EEG_SCHEMES, src.EEG_PREMIUM),
    "KWKG (netztransparenz)": src.KWKG_NEGATIVE,
    "KWKG 2012 / KWKG 2016 (netztransparenz)": src.KWKG_2016,
}
_RULE_SOURCES: dict[str, src.Provenance] = {
    "KWKG: no bonus when the day-ahead price is zero or negative (netztransparenz)": (
        src.KWKG_NEGATIVE
    ),
    "§ 51 EEG as amended by the Solarspitzengesetz (Grant Thornton, SFV)": src.SOLARSPITZEN,
}
_KWKG_2016_PREFIX = "§ 7(7) KWKG 2016"


def _with(fact: Fact, provenance: src.Provenance | None, **changes: object) -> Fact:
    """`fact` with `provenance` (if any) and `changes`, validated again."""
    updates = provenance.updates(fact) if provenance else {}
    return type(fact).model_validate({**fact.model_dump(), **updates, **changes})


def _product(product: ProductRule, history: bool) -> ProductRule:
    if product.product == "fcr":
        note = src.FCR_HISTORY_NOTE if history else product.note
        provenance = src.Provenance(**{**src.FCR.__dict__, "note": note})
        return _with(product, provenance)  # type: ignore[return-value]
    return _with(product, src.AFRR_HISTORY if history else src.AFRR_2022)  # type: ignore[return-value]


def _rule(rule: NegativePriceRule, band: src.Provenance | None) -> NegativePriceRule:
    if rule.source.startswith(_KWKG_2016_PREFIX):
        return _with(rule, src.KWKG_2016, kind="non_positive_period")  # type: ignore[return-value]
    provenance = _RULE_SOURCES.get(rule.source, band)
    return _with(rule, provenance)  # type: ignore[return-value]


def _band(band: SupportBand) -> list[SupportBand]:
    """The band with its source; a 2016-2022 EEG band becomes two (>= and < 500 kW)."""
    if band.source.startswith(_KWKG_2016_PREFIX):
        provenance: src.Provenance | None = src.KWKG_2016
    else:
        provenance = _BAND_SOURCES.get(band.source)
    rules = tuple(
        DatedNegativePriceRule(applies_from=d.applies_from, rule=_rule(d.rule, provenance))
        for d in band.rules
    )
    if band.source not in _SIX_HOURS | _FOUR_HOURS:
        return [_with(band, provenance, rules=rules)]  # type: ignore[list-item]
    exempt = NegativePriceRule(
        kind="not_affected", source="EEG small-plant exemption", confidence=src.C
    )
    small = SupportBand(
        commissioned_from=band.commissioned_from,
        commissioned_before=band.commissioned_before,
        rules=(DatedNegativePriceRule(rule=_with(exempt, src.EEG_SMALL_EXEMPT)),),  # type: ignore[arg-type]
        source="EEG small-plant exemption",
        confidence=src.C,
    )
    large = _with(band, provenance, rules=rules, min_rating_mw=SMALL_PLANT_MW)
    return [large, _with(small, src.EEG_SMALL_EXEMPT)]  # type: ignore[list-item]


def _scheme(scheme: SupportScheme) -> SupportScheme:
    bands = tuple(b for band in scheme.bands for b in _band(band))
    provenance = _SCHEME_SOURCES.get(scheme.source)
    return _with(scheme, provenance, bands=bands)  # type: ignore[return-value]


def _levy_provenance(name: str, valid_from: date) -> src.Provenance | None:
    if name == "EEG levy":
        return src.EEG_LEVY
    if name == "KWKG levy":
        return src.KWKG_LEVY
    if name == "offshore grid levy":
        return src.OFFSHORE_LEVY
    if name == "§ 19 StromNEV levy":
        if valid_from.year >= 2025:
            return src.S19_LEVY_2025
        return src.S19_LEVY_2024 if valid_from.year == 2024 else src.S19_LEVY_2022_2023
    return None


def _exemption(exemption: Exemption, charge: ChargingCharge, valid_from: date) -> Exemption:
    if exemption.description.startswith("§ 118(6) EnWG"):
        late = (
            exemption.commissioned_before is not None and exemption.commissioned_before.year > 2027
        )
        provenance = src.ENWG_118_2029 if late else src.ENWG_118
        return _with(exemption, provenance, commissioned_from=STORAGE_WAIVER_FROM)  # type: ignore[return-value]
    if charge.name.startswith("electricity tax"):
        old = valid_from < date(2018, 1, 1)
        return _with(exemption, src.STROMSTG_BEFORE_2018 if old else src.STROMSTG_5_4)  # type: ignore[return-value]
    if exemption.source.startswith("EnFG") and charge.name in ("KWKG levy", "offshore grid levy"):
        return _with(exemption, src.ENFG_21)  # type: ignore[return-value]
    kwkg_storage = exemption.source == "EEG 2021 [G]" or exemption.source.startswith("assumption")
    if charge.name == "KWKG levy" and kwkg_storage:
        return _with(exemption, src.KWKG_27B)  # type: ignore[return-value]
    if charge.name == "EEG levy" and ("61k" in exemption.source or "61l" in exemption.source):
        return _with(exemption, src.EEG_STORAGE_2017)  # type: ignore[return-value]
    if charge.name == "EEG levy" and exemption.source == "EEG 2021 [G]":
        return _with(exemption, src.EEG_STORAGE_2017)  # type: ignore[return-value]
    return exemption


def _charge(charge: ChargingCharge, valid_from: date) -> ChargingCharge:
    exemptions = tuple(_exemption(e, charge, valid_from) for e in charge.exemptions)
    if charge.reference:
        provenance = None  # already sourced (the levies of 2015-2021 and 2026)
    elif charge.site_tariff:
        provenance = src.GRID_FEE
    elif charge.name.startswith("electricity tax"):
        provenance = src.STROMSTG_3
    else:
        provenance = _levy_provenance(charge.name, valid_from)
    return _with(charge, provenance, exemptions=exemptions)  # type: ignore[return-value]


def _corrections(version: RuleSet) -> str:
    """What the re-recording of `version` corrects, for its `change` line."""
    done = [
        "§ 118(6) EnWG waiver only for storage commissioned from 2011-08-04",
        "EEG plants below 500 kW commissioned 2016-2022 exempt from the negative-price rule",
    ]
    kwkg = (r.rule for s in version.support_schemes for b in s.bands for r in b.rules)
    if any(rule.source.startswith(_KWKG_2016_PREFIX) for rule in kwkg):
        done.append("KWKG 2016 bonus lapses at prices <= 0, not only < 0")
    return "; ".join(done)


def re_record(version: RuleSet, *, history: bool) -> RuleSet:
    """Version ``{version}-rev1``: `version` with the references of `de_sources`, the three
    corrections of the module docstring, recorded 2026-12-06 and superseding `version`.
    `history`: a version of `de_history` (2015-2021)."""
    return RuleSet.model_validate(
        {
            **version.model_dump(),
            "version": version.version + REVISION,
            "change": f"{version.change} - re-recorded with the sources read in the rule audit "
            f"of 2026-12-06 (session 3); corrected: {_corrections(version)}",
            "supersedes": (version.version,),
            "superseded_at": None,
            "products": tuple(_product(p, history) for p in version.products),
            "support_schemes": tuple(_scheme(s) for s in version.support_schemes),
            "charging": tuple(_charge(c, version.valid_from) for c in version.charging),
            **AUDIT_3_VERSION,
        }
    )
