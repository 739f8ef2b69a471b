"""Read portfolio files (YAML or JSON) and report every problem at once.

Each site and asset is validated on its own, so one bad asset never hides another; then
the cross-object rules run over everything that validated. A malformed file gets a single
problem naming the line and column.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from regulatory.assets import ASSET_MODELS, AssetBase, validate_asset
from regulatory.portfolio import (
    Lines,
    Portfolio,
    PortfolioHeader,
    cross_problems,
    duplicate_id_problem,
    unknown_site_problem,
)
from regulatory.problems import Problem, ProblemsError, problems_from_validation_error
from regulatory.registry import CountryRegistry
from regulatory.site import Site

SECTIONS = ("sites", "assets")
TOP_LEVEL = {"$schema", "id", "name", "tenant", "owner", *SECTIONS}


def read_portfolio(path: str | Path, *, registry: CountryRegistry | None = None) -> Portfolio:
    """Load a portfolio from a ``.yaml``/``.yml`` or ``.json`` file.

    Raises `ProblemsError` listing every problem found; `FileNotFoundError` if absent.
    """
    path = Path(path)
    text = path.read_text(encoding="utf-8")
    fmt = "json" if path.suffix.lower() == ".json" else "yaml"
    return parse_portfolio(text, fmt=fmt, source=str(path), registry=registry)


def parse_portfolio(
    text: str,
    *,
    fmt: str = "yaml",
    source: str = "<portfolio>",
    registry: CountryRegistry | None = None,
) -> Portfolio:
    """Load a portfolio from YAML or JSON text; see `read_portfolio`."""
    if fmt == "json":
        data, lines, problems = _parse_json(text, source)
    else:
        data, lines, problems = _parse_yaml(text, source)
    if problems:
        raise ProblemsError(problems, source)
    return validate_portfolio_data(data, source=source, lines=lines, registry=registry)


def validate_portfolio_data(
    data: Any,
    *,
    source: str | None = None,
    lines: Lines | None = None,
    registry: CountryRegistry | None = None,
) -> Portfolio:
    """Validate already-parsed data; raises `ProblemsError` with every problem."""
    lines = lines or {}
    if not isinstance(data, Mapping):
        raise ProblemsError(
            [
                Problem(
                    source or "portfolio",
                    "",
                    None,
                    f"must be a mapping with keys {', '.join(sorted(TOP_LEVEL))}",
                )
            ],
            source,
        )
    problems: list[Problem] = []
    for key in sorted(set(data) - TOP_LEVEL, key=str):
        problems.append(
            Problem(
                "portfolio",
                str(key),
                data[key],
                "is not a known top-level key (check the spelling)",
            )
        )
    header = {k: v for k, v in data.items() if k in TOP_LEVEL - set(SECTIONS)}
    validated_header = None
    try:
        validated_header = PortfolioHeader.model_validate(header)
    except ValidationError as exc:
        problems.extend(
            _at_field_line(problem, "portfolio", 0, lines)
            for problem in problems_from_validation_error(exc, "portfolio")
        )
    sites: list[Site] = []
    assets: list[AssetBase] = []
    good_lines: dict[tuple[str, int], int] = {}
    for section, keep in (("sites", sites), ("assets", assets)):
        items = data.get(section)
        if not isinstance(items, list) or not items:
            problems.append(
                Problem("portfolio", section, _short(items), "must be a non-empty list")
            )
            continue
        problems.extend(_duplicate_ids(section, items, lines))
        if section == "assets":
            problems.extend(_unknown_sites(items, data.get("sites"), lines))
        for index, item in enumerate(items):
            line = lines.get((section, index))
            try:
                keep.append(_validate_item(section, index, item))
            except ValidationError as exc:
                subject = _subject(section, index, item)
                problems.extend(
                    _at_field_line(problem, section, index, lines)
                    for problem in problems_from_validation_error(exc, subject, line)
                )
            except _ItemError as exc:
                problems.append(replace(exc.problem, line=line))
            else:
                if line is not None:
                    good_lines[(section, len(keep) - 1)] = line
    problems.extend(
        cross_problems(sites, assets, registry=registry, lines=good_lines, check_references=False)
    )
    if problems or validated_header is None:
        raise ProblemsError(sorted(problems, key=lambda p: p.line or 0), source)
    # Every part is validated and cross-checked against `registry` above; constructing
    # without re-validation keeps a custom registry's countries valid.
    return Portfolio.model_construct(
        **dict(validated_header), sites=tuple(sites), assets=tuple(assets)
    )


class _ItemError(Exception):
    def __init__(self, problem: Problem) -> None:
        self.problem = problem


def _validate_item(section: str, index: int, item: object) -> Site | AssetBase:
    """Validate one site or asset; an asset's model is chosen by its `kind`."""
    if section == "sites":
        return Site.model_validate(item)
    subject = _subject(section, index, item)
    if not isinstance(item, Mapping):
        raise _ItemError(Problem(subject, "", _short(item), "must be a mapping of fields"))
    kind = item.get("kind")
    known = ", ".join(ASSET_MODELS)
    if kind is None:
        raise _ItemError(Problem(subject, "kind", None, f"is required: one of {known}"))
    if not isinstance(kind, str) or kind not in ASSET_MODELS:
        raise _ItemError(Problem(subject, "kind", kind, f"is not a known kind; one of {known}"))
    return validate_asset(dict(item))


def _duplicate_ids(section: str, items: list[object], lines: Lines) -> Iterator[Problem]:
    ids = [item.get("id") if isinstance(item, Mapping) else None for item in items]
    first_seen: dict[object, int] = {}
    for index, item_id in enumerate(ids):
        if not isinstance(item_id, str):
            continue
        if item_id not in first_seen:
            first_seen[item_id] = index
            continue
        yield duplicate_id_problem(section, item_id, first_seen[item_id], index, lines)


def _at_field_line(problem: Problem, section: str, index: int, lines: Lines) -> Problem:
    """Point the problem at the line of its top-level field, where the file says."""
    top = problem.field.split(".")[0].split("[")[0]
    line = lines.get((section, index, top))  # type: ignore[arg-type]
    return replace(problem, line=line) if line is not None else problem


def _unknown_sites(assets: list[object], sites: object, lines: Lines) -> Iterator[Problem]:
    site_ids = {
        site["id"]
        for site in (sites if isinstance(sites, list) else [])
        if isinstance(site, Mapping) and isinstance(site.get("id"), str)
    }
    for index, asset in enumerate(assets):
        if not isinstance(asset, Mapping) or not isinstance(asset.get("site"), str):
            continue  # a missing or mistyped site is reported by the asset's own validation
        if asset["site"] not in site_ids:
            subject_id = _subject("assets", index, asset).removeprefix("asset ")
            yield unknown_site_problem(
                subject_id, asset["site"], site_ids, lines.get(("assets", index))
            )


def _subject(section: str, index: int, item: object) -> str:
    kind = section[:-1]
    if isinstance(item, Mapping) and isinstance(item.get("id"), str) and item["id"]:
        return f"{kind} {item['id']}"
    return f"{kind} #{index + 1}"


def _short(value: object) -> object:
    return value if not isinstance(value, dict | list) else type(value).__name__


# --- YAML -------------------------------------------------------------------------------


class _PortfolioYamlLoader(yaml.SafeLoader):
    """SafeLoader that leaves times and dates to the models.

    YAML 1.1 reads ``18:00`` as the base-60 number 1080 and ``2024-13-01`` as a broken
    date; here both stay strings, and pydantic parses and reports them by field.
    """


_REPLACED_RESOLVERS = {
    "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:timestamp",
}
_PortfolioYamlLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag not in _REPLACED_RESOLVERS]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_PortfolioYamlLoader.add_implicit_resolver(
    "tag:yaml.org,2002:int",
    re.compile(r"^(?:[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+)$"),
    list("-+0123456789"),
)
_PortfolioYamlLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(
        r"^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?|[-+]?(?:[0-9][0-9_]*)"
        r"(?:[eE][-+]?[0-9]+)|\.[0-9_]+(?:[eE][-+][0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"
    ),
    list("-+0123456789."),
)


def _parse_yaml(text: str, source: str) -> tuple[Any, Lines, list[Problem]]:
    loader = _PortfolioYamlLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None, {}, [Problem(source, "", None, "is empty: expected a portfolio mapping")]
        data = loader.construct_document(node)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        column = f", column {mark.column + 1}" if mark else ""
        what = exc.problem or exc.context or "malformed YAML"
        return None, {}, [Problem(source, "", None, f"malformed YAML{column}: {what}", line)]
    except (yaml.YAMLError, ValueError, TypeError) as exc:
        return None, {}, [Problem(source, "", None, f"malformed YAML: {exc}")]
    finally:
        loader.dispose()
    lines, problems = _walk_yaml(node, source)
    return data, lines, problems


def _walk_yaml(root: yaml.Node, source: str) -> tuple[Lines, list[Problem]]:
    """Lines of each site and asset, and duplicate keys anywhere (YAML keeps only the last)."""
    lines: dict[tuple[str, int] | tuple[str, int, str], int] = {}
    problems: list[Problem] = []

    def visit(node: yaml.Node) -> None:
        if isinstance(node, yaml.MappingNode):
            seen: set[object] = set()
            for key_node, value_node in node.value:
                key = key_node.value
                if key in seen:
                    problems.append(
                        Problem(
                            source,
                            str(key),
                            None,
                            "appears twice in the same mapping; YAML would silently keep the last",
                            key_node.start_mark.line + 1,
                        )
                    )
                seen.add(key)
                visit(value_node)
        elif isinstance(node, yaml.SequenceNode):
            for item in node.value:
                visit(item)

    visit(root)
    if isinstance(root, yaml.MappingNode):
        for key_node, value_node in root.value:
            lines[("portfolio", 0, str(key_node.value))] = key_node.start_mark.line + 1
            if key_node.value in SECTIONS and isinstance(value_node, yaml.SequenceNode):
                for index, item in enumerate(value_node.value):
                    lines[(key_node.value, index)] = item.start_mark.line + 1
                    if isinstance(item, yaml.MappingNode):
                        for field_node, _ in item.value:
                            field_key = (key_node.value, index, str(field_node.value))
                            lines[field_key] = field_node.start_mark.line + 1
    return lines, problems


# --- JSON -------------------------------------------------------------------------------


def _parse_json(text: str, source: str) -> tuple[Any, Lines, list[Problem]]:
    try:
        return json.loads(text), {}, []
    except json.JSONDecodeError as exc:
        return (
            None,
            {},
            [
                Problem(
                    source, "", None, f"malformed JSON, column {exc.colno}: {exc.msg}", exc.lineno
                )
            ],
        )
