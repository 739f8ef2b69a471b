"""Belgium's rule sets re-recorded with sources (rule audit session 4 of issue 17, 2026-12-06).

No value is corrected: the sources read (Elia's tariffs 2020-2023, its aFRR terms and
consultations, the CREG's decision B2210) confirm the products' context and leave the
storage grid fee, the aFRR minimum offer and the FCR reservoir uncertain (each says why
and keeps its review date).
"""

from __future__ import annotations

from regulatory.countries.de_sources import Provenance
from regulatory.countries.eu_sources import FCR_LER
from regulatory.countries.revision import Entry
from regulatory.rules import Confidence, Fact, RuleSet

C, G, U = Confidence.CONFIRMED, Confidence.GENERAL, Confidence.UNCERTAIN

SESSION = "the rule audit of 2026-12-06 (session 4)"

ELIA_AFRR = Provenance(
    source="CREG décision (B)2210 of 2021-04-22 approving Elia's amended T&C BSP aFRR (a cap "
    "on the volumes bought in the per-CCTU auction); Elia's study on separate procurement "
    "(target: FCR, aFRR up and aFRR down bought separately); Elia's consultation of "
    "2024-02-28 (PICASSO, full activation time 7.5 -> 5 min, capacity auction D-2 -> D-1)",
    reference="https://www.creg.be/nl/publicaties/beslissing-b2210; "
    "http://www.elia.be/en/users-group/Working-Group_Balancing/Projects-and-Publications/"
    "Study-on-separate-procurement-of-FCR-and-aFRR-products; https://elia.be/en/public-"
    "consultation/20240228_public-consultation-on-the-proposal-for-amendment-to-the-tc-bsp-"
    "afrr",
    document_version="CREG B2210 summary; Elia pages, read 2026-12-06",
    confidence=U,
    note="the minimum offer and the block structure were not read in the T&C BSP aFRR; "
    "whether up and down were still bought together in a given year was not checked",
)
ELIA_TARIFF = Provenance(
    source="Elia 'Tarifs de transport 2020-2023' (CREG decision of 2019-11-07): access "
    "tariffs per point of offtake or injection (grid infrastructure, system management, "
    "balancing, market integration) and public-service levies",
    reference="https://123dok.net/document/qo57jke7-tarifs-de-transport.html",
    document_version="Elia tariff sheet 2020-2023 (copy), read 2026-12-06",
    confidence=U,
    note="a storage-specific reduction or exemption was not found in what was read; the "
    "tariffs from 2024 and the regional DSO tariffs were not read; charged at the site's "
    "tariff",
)


def lookup(place: str, fact: Fact, version: RuleSet) -> Entry | None:
    """The source of a Belgian fact by its place in a rule set."""
    if place == "products:fcr":
        return Entry(FCR_LER)
    if place in ("products:afrr_pos", "products:afrr_neg"):
        return Entry(ELIA_AFRR)
    if place == "charging:grid fee on withdrawal":
        return Entry(ELIA_TARIFF)
    return None
