"""Austria's rule sets re-recorded with sources (rule audit session 4 of issue 17, 2026-12-06).

Corrected, because the law read says otherwise: the EAG market premium is not lost in every
period with a negative price but, by § 15(1) EAG, for the whole run of negative hours once
the day-ahead price has been negative for at least six consecutive hours (§ 15(2): unless
the Austrian intraday index is positive in those hours, not modelled). What stays without a
reference: the BSP-schedule baseline (no APG document on how demand response delivery is
measured was read).
"""

from __future__ import annotations

from regulatory.countries._common import AUDIT_REVIEW_BY
from regulatory.countries.de_sources import Provenance
from regulatory.countries.eu_sources import FCR_LER
from regulatory.countries.revision import Entry
from regulatory.rules import Confidence, Fact, RuleSet

C, G, U = Confidence.CONFIRMED, Confidence.GENERAL, Confidence.UNCERTAIN

SESSION = "the rule audit of 2026-12-06 (session 4)"

EAG_NEGATIVE_HOURS = 6.0
"""§ 15(1) EAG: the premium falls to zero once the price is negative this many hours [h]."""

APG_AFRR = Provenance(
    source="APG 'Tenders for aFRR in the APG Control Area': the first bid per product at "
    "least 1 MW, each further bid at least 5 MW, in 1 MW steps, at most the prequalified "
    "capacity; six 4-hour products per direction, tendered daily",
    reference="https://www.apg.at/en/markt/balancing/secondary-control/tenders; "
    "https://www.apg.at/en/markt/balancing/secondary-control",
    document_version="APG tender page (current; the 2018 page still had a 5 MW minimum), "
    "read 2026-12-06",
    confidence=C,
    note="one control area (APG), so pooling within it is pooling in the country",
)
EAG_15 = Provenance(
    source="§ 15 EAG 'Aussetzung der Marktprämie bei negativen Preisen': if the day-ahead "
    "hourly price for Austria is negative in at least six consecutive hours, the market "
    "premium falls to zero for the whole period the price is negative (Abs. 1); not if the "
    "Austrian intraday price index is positive in those hours (Abs. 2)",
    reference="https://gesetzefinden.at/bundesrecht/bundesgesetze/eag/para-15",
    document_version="§ 15 EAG as published by gesetzefinden.at (the version's date was not "
    "shown), read 2026-12-06",
    confidence=C,
    note="the intraday exception of § 15(2) is not modelled: the premium is taken as lost "
    "whenever the day-ahead run lasts six hours",
)
EAG_SCHEME = Provenance(
    source="BMK 'Marktprämien-Verordnung': the EAG market premium is the difference between "
    "the 'anzulegender Wert' and the monthly or yearly reference market value, paid for 20 "
    "years on electricity fed into the public grid",
    reference="https://www.bmk.gv.at/themen/klima_umwelt/energiewende/erneuerbare/"
    "foerderungen/marktpraemie.html; https://gesetzefinden.at/bundesrecht/bundesgesetze/eag/"
    "para-15",
    document_version="BMK page, read 2026-12-06",
    confidence=C,
)
AT_GRID_2022 = Provenance(
    source="VfGH on the SNE-VO 2012: a pumped-storage plant drawing from the grid is an "
    "'Entnehmer' and pays the grid usage charge on withdrawal (jusline.at); no storage "
    "exemption before the ElWG was found",
    reference="https://jusline.at/entscheidung/533581",
    document_version="VfGH decision as published by jusline.at, read 2026-12-06",
    confidence=U,
    note="the SNE-VO and ElWOG rules in force in 2022-2025 (exemptions for storage or "
    "power-to-gas, if any) were not read; charged at the site's tariff until checked",
)


def lookup(place: str, fact: Fact, version: RuleSet) -> Entry | None:
    """The source of an Austrian fact (and its correction) by its place in a rule set."""
    if place == "products:fcr":
        return Entry(FCR_LER)
    if place in ("products:afrr_pos", "products:afrr_neg"):
        return Entry(APG_AFRR)
    if place == "support_schemes:EAG market premium":
        return Entry(EAG_SCHEME)
    if place == "support_schemes:EAG market premium:bands[0]":
        return Entry(EAG_15)
    if place == "support_schemes:EAG market premium:bands[0]:rules[0]":
        return Entry(
            EAG_15,
            {"kind": "consecutive_hours", "hours": EAG_NEGATIVE_HOURS},
            "EAG market premium lost once the day-ahead price is negative for >= 6 "
            "consecutive hours (§ 15(1) EAG), not in every negative period",
        )
    if place == "charging:grid usage and loss charges on withdrawal":
        return Entry(AT_GRID_2022)
    if place == "baselines:bsp_schedule":
        return Entry(
            None,
            {
                "note": "searched in the audit of 2026-12-06, not found: no APG document on "
                "how the delivery of demand response is measured was read",
                "review_by": AUDIT_REVIEW_BY,
            },
        )
    return None
