"""The auditor's export: rules with provenance, the audit log and bid decisions of a period.

`export` writes, for the period [since, until) (UTC), each table as CSV and as JSON:

- ``market_rules``: every record of every installed market plugin, superseded ones
  included (its rule id, value, valid and knowledge times, source, reference, document
  version, retrieval date, confidence, author, approver, review-by date, what it
  supersedes; the plugin's distribution and version);
- ``regulatory_rules``: every fact of every regulatory rule-set version (its rule id; the
  version's valid and knowledge times, change, author and approver; the fact's source,
  reference, confidence, review-by date and content);
- ``audit_log``: every change in the store in the period, with the key and role that made
  it (its author; none for the engine itself) and, where the change records one, its
  approver;
- ``bid_decisions``: every acceptance and refusal of a bid by the market rules in the
  period, with the plugin and the rule ids applied, and the violations of a refusal;

and ``manifest.json``, the SHA-256 and size of each file. `verify` recomputes them: a
changed, missing or unlisted file fails, named. Nested values (lists, objects) are JSON
text in a CSV cell. Times are ISO 8601 UTC ending in ``Z``.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from enum import Enum
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from markets.kinds import describe_value
from markets.registry import MarketRegistry
from regulatory.registry import CountryRegistry
from trading.compliance.evidence import engine_version, plugin_provenance
from trading.store import Repository

FORMAT = "vpp-compliance-export/1"
MANIFEST = "manifest.json"
TABLES = ("market_rules", "regulatory_rules", "audit_log", "bid_decisions")

AUDIT_COLUMNS = (
    "id",
    "at",
    "tenant_id",
    "action",
    "subject",
    "author_key_id",
    "author_role",
    "approved_by",
    "details",
)
DECISION_COLUMNS = (
    "decision",
    "id",
    "bid_id",
    "tenant_id",
    "at",
    "key_id",
    "idempotency_key",
    "position",
    "client_bid_id",
    "product_id",
    "country",
    "market",
    "rule_version",
    "plugin_distribution",
    "plugin_version",
    "rule_ids",
    "violations",
)
REGULATORY_COLUMNS = ("rule_id",)


class ExportError(RuntimeError):
    """The export cannot be written (its folder is not empty, or the period is empty)."""


@dataclass(frozen=True)
class ExportSummary:
    """What `export` wrote: rows per table and the manifest's path."""

    folder: Path
    rows: dict[str, int]
    manifest: Path


@dataclass(frozen=True)
class Failure:
    """One file that does not match its manifest: its name and what is wrong."""

    file: str
    reason: str

    def __str__(self) -> str:
        return f"{self.file}: {self.reason}"


def period_of(first: date, last: date) -> tuple[datetime, datetime]:
    """[00:00Z of `first`, 00:00Z of the day after `last`): both days whole, in UTC."""
    if last < first:
        raise ExportError(f"--to={last.isoformat()} is before --from={first.isoformat()}")
    since = datetime(first.year, first.month, first.day, tzinfo=UTC)
    end = datetime(last.year, last.month, last.day, tzinfo=UTC)
    return since, end + timedelta(days=1)


def _z(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _plain(value: Any) -> Any:
    """`value` as JSON data: datetimes as UTC text, dates ISO, enums by value."""
    if isinstance(value, datetime):
        return _z(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, Enum):
        return value.value
    return value


def market_rule_rows(registry: MarketRegistry) -> Iterator[dict[str, Any]]:
    """Every record of every market plugin, superseded ones included (the whole history),
    with its id, value, times, provenance and the plugin's distribution and version."""
    for country in registry.countries():
        plugin = registry.get(country)
        provenance = plugin_provenance(registry, country)
        for market, parameter, entry in plugin.rules():
            record = entry.provenance()
            yield {
                "rule_id": record.pop("id"),
                "country": country,
                "market": market.value,
                "parameter": parameter,
                "value": describe_value(entry.value),
                **record,
                "plugin_distribution": provenance.distribution,
                "plugin_version": provenance.version,
            }


_FACT_PROVENANCE = ("source", "reference", "document_version", "retrieved_on", "confidence")


def regulatory_rule_rows(registry: CountryRegistry) -> Iterator[dict[str, Any]]:
    """Every fact of every regulatory rule-set version, superseded versions included, with
    the id a plan's treatment cites, the version's knowledge time, author and approver."""
    for country in registry.countries():
        for rule_set in registry.get(country).versions:
            version = {
                "country": country,
                "version": rule_set.version,
                "valid_from": rule_set.valid_from.isoformat(),
                "valid_from_confidence": rule_set.valid_from_confidence.value,
                "change": rule_set.change,
                "recorded_at": rule_set.recorded_at.isoformat(),
                "superseded_at": _plain(rule_set.superseded_at),
                "supersedes": list(rule_set.supersedes),
                "recorded_by": rule_set.recorded_by,
                "approved_by": rule_set.approved_by,
            }
            for fact_id, fact in rule_set.facts():
                data = fact.model_dump(mode="json")
                yield {
                    "rule_id": fact_id,
                    **version,
                    **{name: data.pop(name, None) for name in _FACT_PROVENANCE},
                    "note": data.pop("note", None),
                    "review_by": data.pop("review_by", None),
                    "fact": data,
                }


def audit_rows(
    repository: Repository, since: datetime, until: datetime, tenant_id: str | None
) -> Iterator[dict[str, Any]]:
    """The audit log of the period: each change, its author (key, role) and approver."""
    for row in repository.audit_between(since, until, tenant_id):
        details = row.details or {}
        yield {
            "id": row.id,
            "at": _z(row.at),
            "tenant_id": row.tenant_id,
            "action": row.action,
            "subject": row.subject,
            "author_key_id": row.key_id,
            "author_role": None if row.role is None else row.role.value,
            "approved_by": details.get("approved_by"),
            "details": _plain(details),
        }


def decision_rows(
    repository: Repository, since: datetime, until: datetime, tenant_id: str | None
) -> Iterator[dict[str, Any]]:
    """Every bid decision of the period, with its plugin and rule ids."""
    for decision in repository.decisions_between(since, until, tenant_id):
        yield {name: _plain(decision[name]) for name in DECISION_COLUMNS}


def _columns(rows: Sequence[Mapping[str, Any]], first: Sequence[str]) -> list[str]:
    names = list(first)
    for row in rows:
        names.extend(name for name in row if name not in names)
    return names


def _csv(rows: Sequence[Mapping[str, Any]], columns: Sequence[str]) -> bytes:
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        cells = []
        for name in columns:
            value = row.get(name)
            if isinstance(value, dict | list):
                value = json.dumps(value, sort_keys=True, ensure_ascii=False)
            cells.append("" if value is None else value)
        writer.writerow(cells)
    return out.getvalue().encode("utf-8")


def _json(rows: Sequence[Mapping[str, Any]], columns: Sequence[str]) -> bytes:
    ordered = [{name: row.get(name) for name in columns} for row in rows]
    return (json.dumps(ordered, indent=1, ensure_ascii=False) + "\n").encode("utf-8")


def sha256_of(path: Path) -> str:
    """Hex SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for chunk in iter(lambda: stream.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def export(
    repository: Repository,
    markets: MarketRegistry,
    regulatory: CountryRegistry,
    since: datetime,
    until: datetime,
    folder: Path,
    *,
    tenant_id: str | None = None,
    now: datetime | None = None,
) -> ExportSummary:
    """Write the export of [since, until) to `folder` (created; must be empty if it exists).

    Of one tenant, or of every tenant when `tenant_id` is None (the operator's view).
    """
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise ExportError(f"--out={folder}: exists and is not an empty folder")
    tables: dict[str, tuple[list[dict[str, Any]], Sequence[str]]] = {
        "market_rules": (list(market_rule_rows(markets)), ("rule_id",)),
        "regulatory_rules": (list(regulatory_rule_rows(regulatory)), REGULATORY_COLUMNS),
        "audit_log": (list(audit_rows(repository, since, until, tenant_id)), AUDIT_COLUMNS),
        "bid_decisions": (
            list(decision_rows(repository, since, until, tenant_id)),
            DECISION_COLUMNS,
        ),
    }
    folder.mkdir(parents=True, exist_ok=True)
    files: dict[str, dict[str, Any]] = {}
    for name, (rows, first) in tables.items():
        columns = _columns(rows, first)
        for suffix, render in (("csv", _csv), ("json", _json)):
            path = folder / f"{name}.{suffix}"
            path.write_bytes(render(rows, columns))
            files[path.name] = {
                "sha256": sha256_of(path),
                "bytes": path.stat().st_size,
                "rows": len(rows),
            }
    manifest = {
        "format": FORMAT,
        "generated_at": _z(now or datetime.now(UTC)),
        "engine_version": engine_version(),
        "period": {"since": _z(since), "until": _z(until)},
        "tenant_id": tenant_id,
        "files": dict(sorted(files.items())),
    }
    path = folder / MANIFEST
    path.write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")
    return ExportSummary(folder, {name: len(rows) for name, (rows, _) in tables.items()}, path)


def verify(folder: Path) -> list[Failure]:
    """Every file of an export folder that does not match its manifest ([] = verified):
    a changed hash or size, a listed file that is missing, a file the manifest does not
    list, or a manifest that cannot be read."""
    path = folder / MANIFEST
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
        listed: dict[str, Any] = manifest["files"]
        if manifest.get("format") != FORMAT or not isinstance(listed, dict):
            raise ValueError(f"format is {manifest.get('format')!r}, not {FORMAT!r}")
    except (OSError, ValueError, KeyError, TypeError) as exc:
        return [Failure(MANIFEST, f"cannot be read as an export manifest ({exc})")]
    failures: list[Failure] = []
    for name, expected in sorted(listed.items()):
        file = folder / name
        if Path(name).name != name:
            failures.append(Failure(name, "is not a plain file name of the export folder"))
        elif not file.is_file():
            failures.append(Failure(name, "is listed in the manifest but missing"))
        elif (found := sha256_of(file)) != expected.get("sha256"):
            failures.append(
                Failure(name, f"SHA-256 is {found}, the manifest says {expected.get('sha256')}")
            )
        elif file.stat().st_size != expected.get("bytes"):
            failures.append(Failure(name, "size differs from the manifest"))
    for extra in _unlisted(folder, listed):
        failures.append(Failure(extra, "is not listed in the manifest"))
    return failures


def _unlisted(folder: Path, listed: Iterable[str]) -> list[str]:
    known = {*listed, MANIFEST}
    return sorted(p.name for p in folder.iterdir() if p.name not in known)
