"""The one place to add custom constraints: between build and solve, by meaning not name.

A hook is a function that receives a `ModelView` and adds rows through it. The view hands
out expressions for what the model means (an asset's injection, a zone's position, an
asset's reserve, a battery's state of charge), so a hook never depends on internal
variable names::

    def keep_half_full_at_six(view: ModelView) -> None:
        q = view.quarter_hour("2026-06-15T04:00:00Z")
        soc = view.state_of_charge("bat-de-essen-01")
        view.add("half full at six", soc[q], ">=", 10.0, subject="bat-de-essen-01")

    plan = optimise(portfolio, day, prices, hook=keep_half_full_at_six)

Rows added here take part in infeasibility diagnoses under the family name given.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from trading.optimiser.linear import Expr, Sense, total

if TYPE_CHECKING:
    from trading.optimiser.build import BuiltModel


class ModelView:
    """Expressions over the quarter hours of the horizon, and a way to add rows."""

    def __init__(self, built: BuiltModel) -> None:
        self._built = built

    @property
    def periods(self) -> pd.DatetimeIndex:
        """UTC start of each quarter hour; row q of every expression is period q."""
        return self._built.horizon.periods

    def quarter_hour(self, moment: str | pd.Timestamp) -> int:
        """Row number of the quarter hour starting at `moment` (UTC)."""
        return int(self.periods.get_loc(pd.Timestamp(moment)))

    def injection(self, asset_id: str) -> Expr:
        """Net injection of an asset per quarter hour [MW]; negative = withdrawal."""
        return self._terms(asset_id).injection

    def state_of_charge(self, asset_id: str) -> Expr:
        """State of charge at the end of each quarter hour [MWh] (storage only)."""
        soc = self._terms(asset_id).soc
        if soc is None:
            raise KeyError(f"asset {asset_id} has no state of charge")
        return soc.expr()

    def reserve(self, asset_id: str, product: str) -> Expr:
        """Reserve an asset holds for `product` (fcr, afrr_pos, afrr_neg) [MW]."""
        var = self._built.reserves.get((asset_id, product))  # type: ignore[index]
        if var is None:
            return Expr.zeros(len(self.periods))
        return var.expr()

    def position(self, market: str, zone: str) -> Expr:
        """A zone's position in an energy market per quarter hour [MW]; positive = sold."""
        blocks = [b.mw() for b in self._built.positions if (b.market, b.zone) == (market, zone)]
        return total(blocks) if blocks else Expr.zeros(len(self.periods))

    def add(
        self, family: str, expr: Expr, sense: Sense, rhs: float | np.ndarray, *, subject: str
    ) -> None:
        """Add rows ``expr <sense> rhs`` under `family`, about `subject`."""
        self._built.model.add(family, expr, sense, rhs, subjects=subject, description=family)

    def _terms(self, asset_id: str):
        try:
            return self._built.assets[asset_id]
        except KeyError:
            raise KeyError(f"no asset {asset_id!r} in the portfolio") from None
