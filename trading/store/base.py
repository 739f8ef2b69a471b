"""The declarative base: one `MetaData` with named constraints, and the shared column types.

Constraint names follow `NAMING_CONVENTION`, so that a migration can address a constraint
by name on every backend (SQLite's batch mode needs the name to drop or alter one).

A model is the one declaration of its entity: the store's record (`trading.store.records`)
and the API's public model (`trading.api.public`) take their fields from its columns. Two
marks, in a column's ``info``, say what those layers do with it: `vocabulary` (the column
holds a `StrEnum`'s values; records hand out the members) and `STORE_ONLY` (the column
never leaves the store: neither record nor API shows it). A column's ``doc`` is its
description in the API.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, BigInteger, Integer, MetaData
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase

from trading.store.timestamps import UTCDateTime

NAMING_CONVENTION: dict[str, str] = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

JSONDocument = JSON().with_variant(JSONB(), "postgresql")
"""A JSON document: ``jsonb`` on PostgreSQL, JSON text on SQLite."""

EventId = BigInteger().with_variant(Integer(), "sqlite")
"""Ids of append-only logs: 64-bit on PostgreSQL, SQLite's rowid alias there."""


class Base(DeclarativeBase):
    """Base of every table of the store."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {  # noqa: RUF012 - read by SQLAlchemy, never mutated
        datetime: UTCDateTime(),
        dict[str, Any]: JSONDocument,
    }


STORE_ONLY: dict[str, Any] = {"store_only": True}
"""``info`` of a column that never leaves the store (a secret's hash; a copy of a document's
field kept only for an index): records and API models leave it out."""


def vocabulary(values: type[StrEnum]) -> dict[str, Any]:
    """``info`` of a text column holding the values of `values`: the row keeps the text, the
    record the enum member (a CHECK constraint in the table keeps the values closed)."""
    return {"vocabulary": values}
