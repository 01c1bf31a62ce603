"""Query parameters of the read routes that stay small (``?fields=``, cursors,
pages, id lists): their OpenAPI descriptions and their parsing.

A bad value raises `QueryError` naming the parameter; the API answers it 400
``invalid query``.
"""

from __future__ import annotations

from flask import request

from visualization_apps.bounded_json import MAX_ID
from visualization_apps.openapi import array, ref

MAX_PAGE = 1000  # individuals per page or id list

FIELDS = {"name": "fields", "in": "query", "required": False,
          "schema": {"type": "string", "enum": ["full", "summary"], "default": "full"}}  # fmt: skip
GENERATION_FIELDS = {"name": "fields", "in": "query", "required": False, "description": (
    "full: every key; summary: without the population's ids, parameters and first front (their quartiles "
    "instead) and without the robustness' per-split arrays; population: as summary, with the population's "
    "parameters instead of their quartiles"),
    "schema": {"type": "string", "enum": ["full", "summary", "population"], "default": "full"}}  # fmt: skip
AFTER_ID = {"name": "after", "in": "query", "required": False, "description": "the ids above this one (absent: from the first)",
            "schema": {"type": "integer", "minimum": 0, "maximum": MAX_ID}}  # fmt: skip
LIMIT = {"name": "limit", "in": "query", "required": False,
         "schema": {"type": "integer", "minimum": 1, "maximum": MAX_PAGE, "default": 100}}  # fmt: skip
IDS = {"name": "ids", "in": "query", "required": False, "schema": {"type": "string", "pattern": "^[0-9,]*$"}}
INDIVIDUALS_PAGE = {"type": "object", "required": ["individuals", "next"], "properties": {
    "individuals": array(ref("IndividualStats")), "next": {"type": ["integer", "null"]}}}  # fmt: skip


class QueryError(ValueError):
    """A query parameter's value is refused; ``detail`` names it."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


def fields() -> str:
    """``?fields=``: ``full`` (the default: every statistic) or ``summary`` (no series)."""
    value = request.args.get("fields", "full")
    if value not in FIELDS["schema"]["enum"]:
        raise QueryError(f"fields: {value[:40]!r} is not one of full, summary")
    return value


def generation_fields() -> str:
    """``?fields=`` of the generation reads: ``full``, ``summary`` or ``population``
    (see `GENERATION_FIELDS`)."""
    value = request.args.get("fields", "full")
    if value not in GENERATION_FIELDS["schema"]["enum"]:
        raise QueryError(f"fields: {value[:40]!r} is not one of full, summary, population")
    return value


def int_query(name: str, default: int, low: int, high: int) -> int:
    """The integer query parameter ``name``, within [low, high]; ``default`` when absent."""
    raw = request.args.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise QueryError(f"{name}: {raw[:40]!r} is not an integer") from None
    if not low <= value <= high:
        raise QueryError(f"{name}: {value} is not between {low} and {high}")
    return value


def ids_query() -> list[int] | None:
    """``?ids=3,7,9``: at most `MAX_PAGE` ids, each in [0, `MAX_ID`]; None when absent."""
    raw = request.args.get("ids")
    if raw is None:
        return None
    try:
        ids = [int(part) for part in raw.split(",") if part.strip()]
    except ValueError:
        raise QueryError(f"ids: {raw[:40]!r} is not a comma-separated list of ids") from None
    if len(ids) > MAX_PAGE or any(not 0 <= i <= MAX_ID for i in ids):
        raise QueryError(f"ids: at most {MAX_PAGE} ids, each between 0 and {MAX_ID}")
    return ids
