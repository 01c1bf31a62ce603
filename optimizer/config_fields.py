"""The numeric leaves of a run configuration: fixed numbers, ranges (genes) or null.

`number(...)` declares a leaf once, with its bounds: the annotated type it returns
validates (pydantic) and describes itself in the JSON Schema from the same
bounds, so the two agree. A gene leaf takes a fixed value or a range
``{"min", "max", "type"}``; a range whose min equals its max is that fixed value.
The union's branches are chosen from the input's shape (number, object, null), so
a bad value gets one error, that of its own branch, never one per branch.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from typing import Annotated, Any, Literal, Union

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    PlainSerializer,
    Tag,
    WrapValidator,
    create_model,
    model_validator,
)
from pydantic_core import PydanticCustomError

# Tags of union branches start with "~" (no field name can): error paths drop them.
FIXED, FLOAT_RANGE, INT_RANGE, NULL = "~fixed", "~float", "~int", "~null"


class Section(BaseModel):
    """A configuration object: unknown fields are errors, instances are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def describe(value: Any) -> str:
    """What a JSON value is, for error messages (``the string "0.1"``, ``a list``)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, str):
        return f"the string {json.dumps(value)}"
    if isinstance(value, (int, float)):
        return f"the number {value}"
    if isinstance(value, (list, tuple)):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def show(value: float) -> str:
    """A number as written in messages: ``0.005``, ``50``."""
    return f"{value:g}" if isinstance(value, float) else str(value)


class Range(Section):
    """A searched range: one gene, inclusive bounds in the field's own unit.

    The classes made by `number` for each field's bounds derive from this one;
    ``min`` and ``max`` keep the numbers as written (the normalized JSON does).
    """

    min: float
    max: float
    type: Literal["int", "float"] = "float"

    @model_validator(mode="after")
    def _ordered(self) -> Range:
        if self.min > self.max:
            raise PydanticCustomError("range_order", "min {low} is above max {high}",
                                      {"low": show(self.min), "high": show(self.max)})  # fmt: skip
        return self


@dataclass(frozen=True)
class Bounds:
    """A numeric field's bounds: ``low``/``high`` inclusive unless open; None: unbounded."""

    integer: bool = False
    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False

    def constraints(self) -> dict[str, float]:
        """The bounds as pydantic's ``ge``/``gt``/``le``/``lt`` keywords."""
        out: dict[str, float] = {}
        if self.low is not None:
            out["gt" if self.low_open else "ge"] = self.low
        if self.high is not None:
            out["lt" if self.high_open else "le"] = self.high
        return out

    def fixed(self, integer: bool | None = None) -> Any:
        """The annotated type of a fixed number within the bounds."""
        integer = self.integer if integer is None else integer
        if integer:
            return Annotated[int, Field(strict=False, **self.constraints())]
        return Annotated[float, Field(allow_inf_nan=False, **self.constraints())]

    def name(self) -> str:
        parts = [("gt" if self.low_open else "ge", self.low), ("lt" if self.high_open else "le", self.high)]
        text = "".join(f"_{op}{show(v)}" for op, v in parts if v is not None)
        return text.replace(".", "p").replace("-", "m")


def _as_written(value: Any, handler: Any) -> Any:
    """Validate a range bound, but keep the number as written (int or float)."""
    handler(value)
    return value


def _same(value: Any) -> Any:
    return value


@functools.cache
def range_model(bounds: Bounds, integer: bool, type_required: bool) -> type[Range]:
    """The range class of a field's bounds: ``min``/``max`` within them, integers
    when ``integer``; ``type`` must be written when ``type_required`` (an integer
    range of a real-valued field, told apart from the real range by it)."""
    check = BeforeValidator(_shape_check("an integer" if integer else "a number", False, False))
    bound = Annotated[bounds.fixed(integer), check, WrapValidator(_as_written), PlainSerializer(_same)]
    kind = Literal["int"] if integer else Literal["float"]
    type_field = (kind, ...) if type_required else (kind, "int" if integer else "float")
    name = f"{'Int' if integer else 'Float'}Range{bounds.name()}"
    return create_model(name, __base__=Range, __doc__="A range searched by the optimizer: one gene.",
                        min=(bound, ...), max=(bound, ...), type=type_field)  # fmt: skip


def _collapse(value: Any) -> Any:
    """A range with min == max is that fixed value."""
    if isinstance(value, Range) and value.min == value.max:
        return int(value.min) if value.type == "int" else float(value.min)
    return value


def _shape_check(expected: str, gene: bool, nullable: bool) -> Any:
    def check(value: Any) -> Any:
        number = isinstance(value, (int, float)) and not isinstance(value, bool)
        if number or (gene and isinstance(value, dict)) or (nullable and value is None):
            return value
        raise PydanticCustomError("leaf_type", "must be {expected}, not {kind}",
                                  {"expected": expected, "kind": describe(value)})  # fmt: skip

    return check


def _branch(integer_field: bool) -> Any:
    def tag(value: Any) -> str:
        if value is None:
            return NULL
        if isinstance(value, (dict, Range)):  # a dict when validating, a Range when serializing
            kind = value.get("type") if isinstance(value, dict) else value.type
            return INT_RANGE if integer_field or kind == "int" else FLOAT_RANGE
        return FIXED

    return tag


@dataclass(frozen=True)
class Leaf:
    """What a numeric leaf accepts, kept in its annotation's metadata (pydantic
    ignores it) so that tools and tests can read a field's bounds from the model."""

    bounds: Bounds
    gene: bool
    nullable: bool


@functools.cache
def number(bounds: Bounds = Bounds(), *, gene: bool = False, nullable: bool = False) -> Any:
    """The annotated type of a numeric leaf: a number within ``bounds``, or (``gene``)
    a range of them, or (``nullable``) null."""
    expected = "an integer" if bounds.integer else "a number"
    if gene:
        expected += ' or a range {"min", "max"}'
    if nullable:
        expected += " or null"
    choices: list[Any] = [Annotated[bounds.fixed(), Tag(FIXED)] if gene or nullable else bounds.fixed()]
    if gene and not bounds.integer:
        choices.append(Annotated[range_model(bounds, False, False), Tag(FLOAT_RANGE)])
    if gene:
        choices.append(Annotated[range_model(bounds, True, not bounds.integer), Tag(INT_RANGE)])
    if nullable:
        choices.append(Annotated[None, Tag(NULL)])
    leaf = choices[0] if len(choices) == 1 else Annotated[Union[tuple(choices)], Discriminator(_branch(bounds.integer))]  # noqa: UP007
    check = BeforeValidator(_shape_check(expected, gene, nullable))
    return Annotated[leaf, Leaf(bounds, gene, nullable), check, AfterValidator(_collapse)]


def gene(integer: bool = False, low: float | None = None, high: float | None = None, *,
         low_open: bool = False, high_open: bool = False, nullable: bool = False) -> Any:  # fmt: skip
    """A leaf the optimizer may search: a fixed number or a range within the bounds."""
    return number(Bounds(integer, low, high, low_open, high_open), gene=True, nullable=nullable)


def setting(integer: bool = False, low: float | None = None, high: float | None = None, *,
            low_open: bool = False, high_open: bool = False, nullable: bool = False) -> Any:  # fmt: skip
    """A leaf that is always a fixed number (a setting of the search, not a gene)."""
    return number(Bounds(integer, low, high, low_open, high_open), nullable=nullable)
