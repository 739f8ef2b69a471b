"""Persistence of the trading engine: SQLAlchemy 2 models, Alembic migrations, a repository.

SQLite by default (a file in the user's data directory, or ``$VPP_DB_URL``), PostgreSQL
by URL. The schema is changed only by the migrations in ``trading/store/migrations``,
written expand/contract (see docs/migrations.md)::

    from trading.store import Repository, upgrade

    upgrade(url)                      # create or update the schema
    repo = Repository.from_url(url)
    repo.create_tenant("acme", "Acme Trading")
    key = repo.create_api_key("acme", "trader", "desk 1")   # key.plaintext: shown once
    repo.add_bids("acme", key.record.id, [NewBid.from_product(bid, product)], "req-1")

Times are timezone-aware UTC everywhere; volumes in MW; prices in EUR/MWh (energy) or
EUR/MW/h (balancing capacity).
"""

from trading.store.engine import (
    DB_URL_ENV,
    create_engine_for,
    database_url,
    default_database_path,
    session_factory,
)
from trading.store.errors import (
    BidIdTakenError,
    ConflictError,
    IdempotencyKeyReusedError,
    InvalidInputError,
    NotFoundError,
    StoreError,
    TransitionError,
)
from trading.store.inputs import Actor, NewBid
from trading.store.migrate import current_revision, downgrade, head_revision, schema_diff, upgrade
from trading.store.ops.refusals import NewRefusal, RefusedSubmission
from trading.store.records import (
    AddBidsResult,
    ApiKeyRecord,
    AssetRecord,
    AuditRecord,
    BidEventRecord,
    BidRecord,
    BidRefusalRecord,
    ClearingRecord,
    NewApiKey,
    Page,
    PlanRecord,
    PortfolioRecord,
    RiskLimitRecord,
    TenantRecord,
)
from trading.store.repository import Repository
from trading.store.vocabulary import (
    BID_TRANSITIONS,
    PLAN_TRANSITIONS,
    AuditAction,
    BidStatus,
    ClearingStatus,
    PlanStatus,
    Role,
)
from trading.store.writer import SubmissionWriter, WriterClosedError

__all__ = [
    "BID_TRANSITIONS",
    "DB_URL_ENV",
    "PLAN_TRANSITIONS",
    "Actor",
    "AddBidsResult",
    "ApiKeyRecord",
    "AssetRecord",
    "AuditAction",
    "AuditRecord",
    "BidEventRecord",
    "BidIdTakenError",
    "BidRecord",
    "BidRefusalRecord",
    "BidStatus",
    "ClearingRecord",
    "ClearingStatus",
    "ConflictError",
    "IdempotencyKeyReusedError",
    "InvalidInputError",
    "NewApiKey",
    "NewBid",
    "NewRefusal",
    "NotFoundError",
    "Page",
    "PlanRecord",
    "PlanStatus",
    "PortfolioRecord",
    "RefusedSubmission",
    "Repository",
    "RiskLimitRecord",
    "Role",
    "StoreError",
    "SubmissionWriter",
    "TenantRecord",
    "TransitionError",
    "WriterClosedError",
    "create_engine_for",
    "current_revision",
    "database_url",
    "default_database_path",
    "downgrade",
    "head_revision",
    "schema_diff",
    "session_factory",
    "upgrade",
]
