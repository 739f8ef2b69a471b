"""Portfolios: save a validated document (replacing the previous version), read, list assets."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from regulatory.loading import validate_portfolio_data
from regulatory.problems import ProblemsError
from trading.store.errors import InvalidInputError, invalid
from trading.store.inputs import Actor
from trading.store.models import AssetRow, PortfolioRow
from trading.store.ops.audit import audit
from trading.store.ops.keys import key_actor
from trading.store.ops.tenants import require_tenant
from trading.store.records import AssetRecord, PortfolioRecord, ServiceDates, service_dates
from trading.store.timestamps import utc_now
from trading.store.vocabulary import AuditAction


def save_portfolio(session: Session, actor: Actor, document: Mapping[str, Any]) -> PortfolioRecord:
    """Validate `document` as a portfolio of `actor`'s tenant and store it with its assets.

    The first save is version 1; each later save of the same id replaces the document and
    the asset rows and adds one to the version. `InvalidInputError` lists every problem
    of the document (see `regulatory.validate_portfolio_data`).
    """
    tenant_id = actor.tenant_id
    require_tenant(session, tenant_id)
    actor = key_actor(session, tenant_id, actor.key_id, "portfolio")
    try:
        portfolio = validate_portfolio_data(document, source="portfolio")
    except ProblemsError as exc:
        raise InvalidInputError(exc.problems, exc.source) from None
    if portfolio.tenant != tenant_id:
        raise invalid(
            f"portfolio {portfolio.id}",
            "tenant",
            portfolio.tenant,
            f"must be the tenant saving it, {tenant_id!r}",
        )
    stored = portfolio.model_dump(mode="json", by_alias=True, exclude_none=True)
    now = utc_now()
    row = session.scalar(
        select(PortfolioRow)
        .where(PortfolioRow.tenant_id == tenant_id, PortfolioRow.id == portfolio.id)
        .with_for_update()
    )
    if row is None:
        row = PortfolioRow(
            tenant_id=tenant_id,
            id=portfolio.id,
            name=portfolio.name,
            document=stored,
            version=1,
            created_at=now,
            updated_at=now,
        )
        session.add(row)
    else:
        row.name, row.document, row.version, row.updated_at = (
            portfolio.name,
            stored,
            row.version + 1,
            now,
        )
        session.execute(
            delete(AssetRow).where(
                AssetRow.tenant_id == tenant_id, AssetRow.portfolio_id == portfolio.id
            )
        )
    session.flush()
    sites = {site.id: site for site in portfolio.sites}
    session.add_all(
        AssetRow(
            tenant_id=tenant_id,
            portfolio_id=portfolio.id,
            id=asset.id,
            kind=asset.kind,
            site_id=asset.site,
            country=sites[asset.site].country,
        )
        for asset in portfolio.assets
    )
    audit(
        session,
        actor,
        AuditAction.PORTFOLIO_SAVE,
        f"portfolio {portfolio.id}",
        {"version": row.version, "assets": len(portfolio.assets), "sites": len(sites)},
    )
    return PortfolioRecord.of(row)


def get_portfolio(session: Session, tenant_id: str, portfolio_id: str) -> PortfolioRecord | None:
    """The tenant's portfolio `portfolio_id`, or None."""
    row = session.get(PortfolioRow, (tenant_id, portfolio_id))
    return PortfolioRecord.of(row) if row is not None else None


def list_portfolios(session: Session, tenant_id: str) -> list[PortfolioRecord]:
    """The tenant's portfolios, by id."""
    rows = session.scalars(
        select(PortfolioRow).where(PortfolioRow.tenant_id == tenant_id).order_by(PortfolioRow.id)
    )
    return [PortfolioRecord.of(r) for r in rows]


def list_assets(
    session: Session,
    tenant_id: str,
    *,
    portfolio_id: str | None = None,
    kind: str | None = None,
    site_id: str | None = None,
    country: str | None = None,
) -> list[AssetRecord]:
    """The tenant's assets matching every filter given, by portfolio and asset id, with
    their service dates read from their portfolio's document."""
    query = select(AssetRow).where(AssetRow.tenant_id == tenant_id)
    if portfolio_id is not None:
        query = query.where(AssetRow.portfolio_id == portfolio_id)
    if kind is not None:
        query = query.where(AssetRow.kind == kind)
    if site_id is not None:
        query = query.where(AssetRow.site_id == site_id)
    if country is not None:
        query = query.where(AssetRow.country == country)
    rows = list(session.scalars(query.order_by(AssetRow.portfolio_id, AssetRow.id)))
    dates = _service_dates(session, tenant_id, {r.portfolio_id for r in rows})
    return [AssetRecord.of(r, dates.get((r.portfolio_id, r.id))) for r in rows]


def _service_dates(
    session: Session, tenant_id: str, portfolio_ids: set[str]
) -> dict[tuple[str, str], ServiceDates]:
    """(portfolio id, asset id) -> the asset's service dates, from the stored documents."""
    if not portfolio_ids:
        return {}
    found = session.execute(
        select(PortfolioRow.id, PortfolioRow.document).where(
            PortfolioRow.tenant_id == tenant_id, PortfolioRow.id.in_(portfolio_ids)
        )
    )
    return {
        (portfolio_id, asset_id): dates
        for portfolio_id, document in found
        for asset_id, dates in service_dates(document).items()
    }
