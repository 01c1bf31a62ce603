"""pydantic's validation errors as a configuration's error lines.

Each error becomes one ``dotted.path: reason`` line, worded for a person who
edits JSON (``strategy.stop_loss: -0.1 must be above 0``), with the union
branch tags of the model (``~fixed``, ``~sma_cross_up``, ...) dropped from the path.
"""

from __future__ import annotations

import json
import re
import types
import typing
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, Tag, ValidationError

from optimizer.config_fields import describe, show

_BOUNDS = {"greater_than_equal": ("ge", "at least"), "greater_than": ("gt", "above"),
           "less_than_equal": ("le", "at most"), "less_than": ("lt", "below")}  # fmt: skip
_OBJECT = ("model_type", "model_attributes_type", "dict_type")


def error_lines(exc: ValidationError, model: type[BaseModel]) -> list[str]:
    """One line per problem of ``exc`` (raised validating ``model``), in order."""
    errors = exc.errors(include_url=False)
    # pydantic counts the items that validated: a list or object whose only items
    # have errors is also "too short"; that is the same problem, reported below it.
    nested = {tuple(e["loc"][:n]) for e in errors for n in range(len(e["loc"]))}
    lines: list[str] = []
    for error in errors:
        if error["type"] == "too_short" and tuple(error["loc"]) in nested:
            continue
        loc, reason = _reason(error, model)
        path = ".".join(str(part) for part in loc if not _is_tag(part))
        line = f"{path or 'configuration'}: {reason}"
        if line not in lines:
            lines.append(line)
    return lines


def _is_tag(part: Any) -> bool:
    return isinstance(part, str) and part.startswith("~")


def _reason(error: Any, model: type[BaseModel]) -> tuple[tuple[Any, ...], str]:
    kind, loc, value, ctx = error["type"], tuple(error["loc"]), error["input"], error.get("ctx") or {}
    if kind in _BOUNDS:
        key, words = _BOUNDS[kind]
        return loc, f"{show(value)} must be {words} {show(ctx[key])}"
    if kind == "missing":  # a signal's parameter: say what it is
        doc = _field_doc(model, loc) if "params" in loc else None
        return loc, "is required" + (f" ({doc})" if doc else "")
    if kind == "extra_forbidden":
        allowed = _fields_at(model, loc[:-1])
        return loc, "unknown field" + (f" (allowed: {', '.join(allowed)})" if allowed else "")
    if kind in _OBJECT:
        return loc, f"must be an object, not {describe(value)}"
    if kind == "union_tag_not_found":  # a signal that is not an object, or has no kind
        if isinstance(value, dict):
            return (*loc, "kind"), "is required"
        return loc, f"must be an object, not {describe(value)}"
    if kind == "union_tag_invalid":  # a signal of an unknown kind
        kinds = ", ".join(tag.lstrip("~") for tag in re.findall(r"'([^']*)'", ctx.get("expected_tags", "")))
        return (*loc, "kind"), f"{json.dumps(value.get('kind'))} is not a signal kind ({kinds})"
    if kind == "literal_error":
        options = re.findall(r"'([^']*)'", ctx.get("expected", ""))
        if loc and loc[-1] == "type" and options == ["int"]:
            return loc, "must be int: this value is a whole number"
        if loc and loc[-1] == "type" and options == ["float"]:
            options = ["int", "float"]
        return loc, f"{json.dumps(value)} is not one of {', '.join(options)}"
    if kind == "int_from_float":
        return loc, f"{show(value)} is not an integer"
    if kind == "finite_number":
        return loc, f"{value} is not a finite number"
    if kind in ("tuple_type", "list_type"):
        return loc, f"must be a list, not {describe(value)}"
    if kind == "too_short":
        return loc, "must not be empty"
    if kind == "bool_type":
        return loc, f"must be true or false, not {describe(value)}"
    if kind == "string_type":
        return loc, f"must be a string, not {describe(value)}"
    if kind == "string_pattern_mismatch" and loc and loc[-1] == "[key]":
        return loc[:-1], "a signal name is letters, digits and underscores, not starting with a digit"
    if kind == "string_pattern_mismatch":
        return loc, "must be a non-empty string"
    if kind == "value_error":
        return loc, str(ctx.get("error", error["msg"]))
    return loc, error["msg"]


def _field_doc(model: type[BaseModel], loc: Sequence[Any]) -> str | None:
    """The description of the field at ``loc``, if it has one."""
    node = _unwrap(_at(model, loc[:-1]), None)
    if isinstance(node, type) and issubclass(node, BaseModel) and loc[-1] in node.model_fields:
        return node.model_fields[loc[-1]].description
    return None


def _at(model: type[BaseModel], loc: Sequence[Any]) -> Any:
    node: Any = model
    for part in loc:
        node = _child(node, part)
        if node is None:
            return None
    return node


def _fields_at(model: type[BaseModel], loc: Sequence[Any]) -> list[str]:
    """The fields of the model class found at ``loc`` (tags included) below ``model``."""
    node = _unwrap(_at(model, loc), None)
    return list(node.model_fields) if isinstance(node, type) and issubclass(node, BaseModel) else []


def _unwrap(node: Any, part: Any) -> Any:
    """``node`` without Annotated and Optional wrappers; a union's branch of tag ``part``."""
    while True:
        origin = typing.get_origin(node)
        if origin is typing.Annotated:
            node = typing.get_args(node)[0]
        elif origin in (typing.Union, types.UnionType):
            branches = typing.get_args(node)
            tagged = [b for b in branches if any(isinstance(m, Tag) and m.tag == part for m in _meta(b))]
            if tagged:
                return tagged[0]
            others = [b for b in branches if b is not type(None)]
            if len(others) != 1:
                return node
            node = others[0]
        else:
            return node


def _meta(node: Any) -> tuple[Any, ...]:
    return getattr(node, "__metadata__", ())


def _child(node: Any, part: Any) -> Any:
    if _is_tag(part):
        branch = _unwrap(node, part)
        return None if branch is node else typing.get_args(branch)[0] if _meta(branch) else branch
    node = _unwrap(node, part)
    origin = typing.get_origin(node)
    if isinstance(node, type) and issubclass(node, BaseModel):
        field = node.model_fields.get(part)
        return None if field is None else field.annotation
    if origin is dict:
        return typing.get_args(node)[1]
    if origin in (tuple, list):
        return typing.get_args(node)[0]
    return None
