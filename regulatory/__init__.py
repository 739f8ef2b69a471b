"""What an asset is, and how each country treats it.

The asset data model (`regulatory.assets`), sites, portfolios and their loading, and the
per-country regulatory rule sets that turn an asset at a site into a `Treatment`.
This package knows nothing of markets, solvers or the dispatcher.
"""

from regulatory.assets import (
    CHP,
    PV,
    Asset,
    AssetBase,
    BalancingProduct,
    Battery,
    EVFleet,
    FlexibleLoad,
    HeatPump,
    Prequalification,
    SupportContract,
    Wind,
)
from regulatory.loading import parse_portfolio, read_portfolio, validate_portfolio_data
from regulatory.portfolio import NothingInServiceError, Portfolio
from regulatory.problems import Problem, ProblemsError
from regulatory.registry import CountryRegistry, UnknownCountryError, default_registry
from regulatory.resolve import treatment_for
from regulatory.rules import Confidence, CountryRules, NoRuleSetError, RuleSet
from regulatory.site import Site
from regulatory.treatment import Treatment

__all__ = [
    "CHP",
    "PV",
    "Asset",
    "AssetBase",
    "BalancingProduct",
    "Battery",
    "Confidence",
    "CountryRegistry",
    "CountryRules",
    "EVFleet",
    "FlexibleLoad",
    "HeatPump",
    "NoRuleSetError",
    "NothingInServiceError",
    "Portfolio",
    "Prequalification",
    "Problem",
    "ProblemsError",
    "RuleSet",
    "Site",
    "SupportContract",
    "Treatment",
    "UnknownCountryError",
    "Wind",
    "default_registry",
    "parse_portfolio",
    "read_portfolio",
    "treatment_for",
    "validate_portfolio_data",
]
