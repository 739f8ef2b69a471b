"""France's rule sets re-recorded with sources (rule audit session 4 of issue 17, 2026-12-06).

No value is corrected: the sources read confirm the TURPE periods and RTE's daily aFRR
tender, and leave the complément de rémunération's negative-price rule, the aFRR minimum
offer and pooling, and the FCR reservoir uncertain (each says why and keeps its review
date).
"""

from __future__ import annotations

from regulatory.countries.de_sources import Provenance
from regulatory.countries.eu_sources import FCR_LER
from regulatory.countries.revision import Entry
from regulatory.rules import Confidence, Fact, RuleSet

C, G, U = Confidence.CONFIRMED, Confidence.GENERAL, Confidence.UNCERTAIN

SESSION = "the rule audit of 2026-12-06 (session 4)"

RTE_AFRR = Provenance(
    source="RTE (services-rte.com): from delivery day 2021-11-03 RTE contracts all its aFRR "
    "capacity in a daily tender (gate D-1 09:00, results by 09:30, opening D-8 09:00) under "
    "Regulation (EU) 2019/943; Vattenfall (2021-07-12): storage may provide aFRR from "
    "October 2021",
    reference="https://services-rte.com/fr/actualites/capacites-de-reserve-secondaire-"
    "lancement-de-l-appel-d-offres-journalier-2021.html; https://vattenfall.fr/"
    "professionnels/le-mag-energie-pro/RTE-renforce-securite",
    document_version="RTE news of 2021 on the daily tender; Vattenfall news of 2021-07-12, "
    "read 2026-12-06",
    confidence=U,
    note="the minimum offer (1 MW) and the pooling scope (the tender's participation rules, "
    "RTE's 'règles services système fréquence') were not read",
)
CR = Provenance(
    source="Connaissance des Énergies: the complément de rémunération (Code de l'énergie "
    "L. 314-18 to L. 314-27, decrees of May 2016) is an ex-post premium on top of the market "
    "sale, the difference between a reference tariff and the market price; Bird & Bird "
    "(2025): the arrêté of 2025-09-08 sets a 'prime prix négatifs' for these contracts from "
    "2025-10-01",
    reference="https://www.connaissancedesenergies.org/questions-et-reponses-energies/"
    "energies-renouvelables-quest-ce-que-le-complement-de-remuneration; "
    "https://cm.twobirds.com/fr/insights/2025/france/nouvelles-r%C3%A8gles-sur-les-prix-"
    "n%C3%A9gatifs-de-l%E2%80%99%C3%A9lectricit%C3%A9",
    document_version="Connaissance des Énergies page; Bird & Bird note of 2025, read 2026-12-06",
    confidence=U,
    note="the negative-price clause of the contracts (by arrêté or tender) was not read: the "
    "premium is still assumed lost in every negative period; the 2025 'prime prix négatifs' "
    "is not modelled",
)
TURPE_6 = Provenance(
    source="CRE délibération n° 2021-12 du 21 janvier 2021 (TURPE 6 HTB): in force from "
    "2021-08-01 for about four years, replacing TURPE 5 HTB of 2017-08-01",
    reference="https://politique.pappers.fr/document/deliberation-n-2021-12-21-janvier-2021-"
    "portant-decision-tarif-dutilisation-reseaux-publics-transport-delectricite-turpe-6-htb-"
    "JORFTEXT000043412081; https://juriblio.fr/deliberations/deliberation-no-2024-121-du-26-"
    "juin-2024/184477178",
    document_version="délibération 2021-12 (JORF text as copied by Pappers); délibération "
    "2024-121 (TURPE 6 HTB at 2024-08-01), read 2026-12-06",
    confidence=C,
    note="the withdrawal component is the site's TURPE 6 tariff; that storage pays both "
    "injection and withdrawal components was not read in the deliberation [general]",
)
TURPE_7_2026 = Provenance(
    source="CRE délibération n° 2025-77 du 13 mars 2025 (TURPE 7 HTB from 2025-08-01); the "
    "optional location-based injection-withdrawal component for storage from 2026-08-01 "
    "(zones of délibération 2025-227) as the reference sheet reports it",
    reference="https://juriblio.fr/deliberations/deliberation-no-2025-77-du-13-mars-2025/185804914",
    document_version="délibération n° 2025-77 du 13 mars 2025 (Juriblio copy of the JORF "
    "text), read 2026-12-06",
    confidence=G,
    note="délibération 2025-227 (the zones and the component's start) was not read; the "
    "component is optional for >= 12 months and not modelled",
)
NEBEF = Provenance(
    source="CRE délibération n° 2023-206 du 20 juillet 2023 approving the NEBEF 3.5 rules "
    "(15-minute settlement from 2025-01-01, changes to the 'méthodes de contrôle du "
    "réalisé'); RTE: new methods of 'contrôle du réalisé', which build the reference curve "
    "of a demand-response entity, are tested under a protocol before entering the rules",
    reference="https://juriblio.fr/deliberations/deliberation-no-2023-206-du-20-juillet-2023/"
    "182167059; https://www.services-rte.com/fr/decouvrez-nos-offres-de-services/"
    "protocoles-test.html",
    document_version="délibération 2023-206 (JORF n° 0183 of 2023-08-09); RTE page, read "
    "2026-12-06",
    confidence=G,
    note="the list of certified methods (rectangle, historical, signal) was not read in the "
    "rules themselves",
)


def lookup(place: str, fact: Fact, version: RuleSet) -> Entry | None:
    """The source of a French fact by its place in a rule set."""
    if place == "products:fcr":
        return Entry(FCR_LER)
    if place in ("products:afrr_pos", "products:afrr_neg"):
        return Entry(RTE_AFRR)
    if place.startswith("support_schemes:complément de rémunération"):
        return Entry(CR)
    if place == "charging:TURPE 6 withdrawal component":
        return Entry(TURPE_6)
    if place == "charging:TURPE 7 withdrawal component":
        return Entry(TURPE_7_2026)
    if place == "baselines:nebef_baseline":
        return Entry(NEBEF)
    return None
