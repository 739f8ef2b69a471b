"""`treatment_for`: apply the rule set in force to one asset at one site on one day."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

from regulatory.assets import AssetBase, Metering, Prequalification
from regulatory.registry import CountryRegistry, default_registry
from regulatory.rules import (
    ChargingCharge,
    Confidence,
    Exemption,
    PoolingScope,
    ProductRule,
    RuleSet,
    SupportScheme,
)
from regulatory.site import Site
from regulatory.treatment import (
    BalancingEligibility,
    ChargeItem,
    SupportTreatment,
    Treatment,
)


def treatment_for(
    asset: AssetBase, *, site: Site, on: date, registry: CountryRegistry | None = None
) -> Treatment:
    """How the country of `site` treats `asset` on day `on`.

    Uses the rule set in force on `on` (`CountryRules.in_force`); raises
    `UnknownCountryError` or `NoRuleSetError` with a readable message where there is none.
    """
    rules = (registry or default_registry()).get(site.country).in_force(on)
    balancing = tuple(_balancing(asset, site, rules, on))
    support, support_note = _support(asset, rules, on)
    charges = tuple(_charges(asset, site, rules, on))
    baseline = next((b for b in rules.baselines if asset.kind in b.kinds), None)
    uncertain = [
        f"balancing {b.product.value}: {b.source}"
        for b in balancing
        if b.confidence is Confidence.UNCERTAIN
    ]
    if support is not None and support.confidence is Confidence.UNCERTAIN:
        uncertain.append(f"support {support.scheme}: {support.source}")
    uncertain += [
        f"charge {c.name}: {c.source}" for c in charges if c.confidence is Confidence.UNCERTAIN
    ]
    if baseline is not None and baseline.confidence is Confidence.UNCERTAIN:
        uncertain.append(f"baseline {baseline.method}: {baseline.source}")
    if rules.valid_from_confidence is Confidence.UNCERTAIN:
        uncertain.append(f"rule set {rules.version} start date {rules.valid_from}: {rules.change}")
    return Treatment(
        asset_id=asset.id,
        kind=asset.kind,
        country=rules.country,
        on=on,
        rule_set_version=rules.version,
        rule_set_valid_from=rules.valid_from,
        balancing=balancing,
        support=support,
        support_note=support_note,
        charges=charges,
        charging_cost_eur_per_mwh=round(
            sum(c.eur_per_mwh for c in charges if not c.exempt and c.eur_per_mwh is not None), 6
        ),
        baseline_method=baseline.method if baseline else None,
        uncertain=tuple(uncertain),
    )


def _balancing(
    asset: AssetBase, site: Site, rules: RuleSet, on: date
) -> Iterator[BalancingEligibility]:
    for pq in asset.prequalifications:
        rule = rules.product(pq.product)
        if rule is None:
            yield _not_offered(pq, rules)
            continue
        reason = _ineligibility(asset, pq, rule, on)
        mw = 0.0 if reason else pq.mw
        yield BalancingEligibility(
            product=pq.product,
            eligible=reason is None,
            prequalified_mw=mw,
            min_offer_mw=rule.min_offer_mw,
            pool_only=reason is None and mw < rule.min_offer_mw,
            pooling=rule.pooling,
            pool_key=site.control_area
            if rule.pooling is PoolingScope.CONTROL_AREA
            else site.country,
            energy_reservoir_h=rule.energy_reservoir_h if asset.limited_energy else None,
            reason=reason or _eligible_reason(mw, rule),
            source=rule.source,
            confidence=rule.confidence,
        )


def _not_offered(pq: Prequalification, rules: RuleSet) -> BalancingEligibility:
    return BalancingEligibility(
        product=pq.product,
        eligible=False,
        prequalified_mw=0.0,
        min_offer_mw=0.0,
        pool_only=False,
        pooling=PoolingScope.COUNTRY,
        pool_key=rules.country,
        energy_reservoir_h=None,
        reason=f"{rules.country} rule set {rules.version} has no {pq.product.value} product",
        source=f"{rules.country} rule set {rules.version}",
        confidence=Confidence.CONFIRMED,
    )


def _ineligibility(
    asset: AssetBase, pq: Prequalification, rule: ProductRule, on: date
) -> str | None:
    """Why `asset` may not offer `pq` on `on`; None when it may. Out of service comes first."""
    out_of_service = asset.service_note(on)
    if out_of_service is not None:
        return out_of_service
    if asset.kind not in rule.eligible_kinds:
        return f"{asset.kind} may not offer {rule.product.value} here"
    if rule.requires_interval_metering and asset.metering is not Metering.INTERVAL:
        return f"{rule.product.value} needs interval metering, asset has {asset.metering.value}"
    if pq.certified_on is not None and pq.certified_on > on:
        return f"prequalification takes effect on {pq.certified_on.isoformat()}"
    return None


def _eligible_reason(mw: float, rule: ProductRule) -> str:
    if mw < rule.min_offer_mw:
        return (
            f"prequalified {mw:g} MW is below the {rule.min_offer_mw:g} MW minimum offer: "
            "only as part of a pool"
        )
    return f"prequalified for {mw:g} MW"


def _support(
    asset: AssetBase, rules: RuleSet, on: date
) -> tuple[SupportTreatment | None, str | None]:
    contract = getattr(asset, "support", None)
    if contract is None:
        return None, None
    scheme: SupportScheme | None = next(
        (s for s in rules.support_schemes if asset.kind in s.kinds), None
    )
    if scheme is None:
        return None, (
            f"asset has a support contract but {rules.country} rule set {rules.version} "
            f"records no support scheme for {asset.kind}"
        )
    commissioned = asset.commissioning_date
    band = next((b for b in scheme.bands if b.covers(commissioned, asset.rating_mw())), None)
    rule = band.rule_on(on) if band else None
    if band is None or rule is None:
        return None, (
            f"{scheme.name}: no band of {rules.country} rule set {rules.version} covers a "
            f"{asset.rating_mw():g} MW {asset.kind} commissioned {commissioned.isoformat()}"
        )
    worst = min([scheme.confidence, band.confidence, rule.confidence], key=_rank)
    return SupportTreatment(
        scheme=scheme.name,
        reference_value_eur_per_mwh=contract.reference_value_eur_per_mwh,
        negative_prices=rule,
        summary=f"{scheme.name}: premium {rule.describe()}",
        source="; ".join(dict.fromkeys([scheme.source, band.source, rule.source])),
        confidence=worst,
    ), None


def _charges(asset: AssetBase, site: Site, rules: RuleSet, on: date) -> Iterator[ChargeItem]:
    if not asset.withdraws_energy:
        return
    for charge in rules.charging:
        if asset.kind not in charge.kinds:
            continue
        exemption, until = _applicable_exemption(charge, asset, site, on)
        rate = site.grid_fee_withdrawal_eur_per_mwh if charge.site_tariff else charge.eur_per_mwh
        if charge.unit != "EUR/MWh":
            rate = None
        if exemption is not None:
            reason = exemption.description + (f" (until {until.isoformat()})" if until else "")
        elif charge.unit != "EUR/MWh":
            reason = f"charged per {charge.unit}, independent of dispatch"
        elif charge.site_tariff and rate is None:
            reason = (
                "charged at the site's grid tariff; site has no grid_fee_withdrawal_eur_per_mwh"
            )
        elif rate is None:
            reason = "charged; rate not recorded in the rule set"
        else:
            reason = "charged"
        confidence = min(
            [charge.confidence, exemption.confidence] if exemption else [charge.confidence],
            key=_rank,
        )
        yield ChargeItem(
            name=charge.name,
            unit=charge.unit,
            eur_per_mwh=rate,
            exempt=exemption is not None,
            exempt_until=until,
            reason=reason,
            source=exemption.source if exemption else charge.source,
            confidence=confidence,
        )


def _applicable_exemption(
    charge: ChargingCharge, asset: AssetBase, site: Site, on: date
) -> tuple[Exemption | None, date | None]:
    for exemption in charge.exemptions:
        commissioned = asset.commissioning_date
        if asset.kind not in exemption.kinds:
            continue
        if exemption.commissioned_from and commissioned < exemption.commissioned_from:
            continue
        if exemption.commissioned_before and commissioned >= exemption.commissioned_before:
            continue
        if exemption.grid_contracts is not None and site.grid_contract not in (
            exemption.grid_contracts
        ):
            continue
        until = None
        if exemption.duration_years is not None:
            until = _add_years(commissioned, exemption.duration_years)
            if on >= until:
                continue
        return exemption, until
    return None, None


def _add_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February in a non-leap target year
        return day.replace(year=day.year + years, day=28)


def _rank(confidence: Confidence) -> int:
    """Lower is weaker: the weakest fact sets the confidence of what rests on it."""
    return {Confidence.UNCERTAIN: 0, Confidence.GENERAL: 1, Confidence.CONFIRMED: 2}[confidence]
