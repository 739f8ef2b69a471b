"""API models derived from the store's records, so a stored field is declared once.

``class BidPublic(public_fields(BidRecord, exclude=("tenant_id",), rename={"document":
"bid"})): ...`` is a frozen pydantic model with a field per field of the record (so per
column of the model, see `trading.store.records.Record`), in the record's order, with the
record's types and each column's ``doc`` as its description. The class body adds the
API-only fields (computed from the record, e.g. an asset's ``in_service``) and overrides
a field only where the API shows it otherwise than the store holds it (a plain string
instead of a vocabulary, say).

`exclude` is the one place where an API model says which stored fields it does not show
(the caller's own tenant, say); what must never leave the store is marked on the column
itself (`trading.store.base.STORE_ONLY`) and never reaches a record. `optional` names
fields that may be left out of the JSON schema's ``required`` (default null).
"""

from __future__ import annotations

import dataclasses
import operator
import typing
from collections.abc import Callable, Iterable, Mapping
from typing import Any, ClassVar, Self

from pydantic import BaseModel, ConfigDict, Field, create_model

from trading.store.records import Record


class PublicModel(BaseModel):
    """Base of the API's models: frozen; `of` builds one from a record."""

    model_config = ConfigDict(frozen=True)

    __record_fields__: ClassVar[Mapping[str, str]] = {}
    """API field name -> the record's field it shows."""
    __read__: ClassVar[Callable[[Any], tuple[Any, ...]]] = staticmethod(lambda _record: ())
    """The record's fields, in the order of `__record_fields__`."""

    @classmethod
    def of(cls, record: Any, **extra: Any) -> Self:
        """The public form of `record`; `extra` gives the API-only fields."""
        shown = dict(zip(cls.__record_fields__, cls.__read__(record), strict=True))
        if extra:
            shown.update(extra)
        return cls.model_validate(shown)


def public_fields(
    record: type[Record],
    *,
    exclude: Iterable[str] = (),
    rename: Mapping[str, str] | None = None,
    optional: Iterable[str] = (),
) -> type[PublicModel]:
    """A base model with `record`'s fields but `exclude`, named as `rename` says (record
    name -> API name); `optional` (API names) default to null."""
    rename = rename or {}
    left_out, nullable = set(exclude), set(optional)
    names = {f.name for f in dataclasses.fields(record)}
    unknown = (left_out | set(rename)) - names
    unknown |= nullable - {rename.get(name, name) for name in names - left_out}
    if unknown or not names - left_out:
        raise TypeError(f"{record.__name__}: no fields {sorted(unknown)}, or none left to show")
    types = typing.get_type_hints(record)
    fields: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for item in dataclasses.fields(record):
        if item.name in left_out:
            continue
        name = rename.get(item.name, item.name)
        default = None if name in nullable else ...
        fields[name] = (types[item.name], Field(default, description=item.metadata.get("doc")))
        sources[name] = item.name
    base = create_model(  # type: ignore[call-overload]
        f"{record.__name__}Fields", __base__=PublicModel, __module__=__name__, **fields
    )
    base.__record_fields__ = sources
    read = operator.attrgetter(*sources.values())
    base.__read__ = staticmethod(read if len(sources) > 1 else lambda record: (read(record),))
    return typing.cast(type[PublicModel], base)
