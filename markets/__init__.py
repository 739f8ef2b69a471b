"""What can be traded, when, and under which rules: per-country market rule plugins.

Plugins register in the entry-point group `ENTRY_POINT_GROUP`, so a compliance team can ship
one as its own package. This package knows products and rules, never the optimiser or the API.
"""

ENTRY_POINT_GROUP = "vpp.markets"
"""Entry-point group in which market rule plugins register."""
