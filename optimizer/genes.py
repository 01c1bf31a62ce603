"""Genes: the searched values of a configuration, and the one way to decode them.

A gene is a range ``{"min", "max", "type"}`` of the configuration, named by its
dotted path. The optimizer searches positions ``u`` in [0, 1] (clipped there);
a position decodes to ``min + u * (max - min)`` in the range's own unit, rounded
half up and kept within the bounds for an integer gene. `unit_to_value` is that
arithmetic, written once: `Gene.from_unit`, `GeneDecoder.values` (one gene
vector, what a worker does for every evaluation) and `GeneDecoder.rows` (a whole
generation) all go through it, so their numbers are the same to the bit.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np


def _clip(x: float, low: float, high: float) -> float:
    return low if x < low else high if x > high else x  # NaN stays NaN


def _whole(array: np.ndarray) -> list[int]:
    return array.astype(np.int64).tolist()


def unit_to_value(
    u: Any, low: float, span: float, high: float, integer: bool, *, clip: Any = _clip, floor: Any = math.floor,
    whole: Any = int,
) -> Any:
    """The value at position ``u`` of the range ``low..high`` (``span`` = high - low).

    ``u`` is clipped to [0, 1] (NaN stays NaN); an integer gene rounds half up
    (``floor(value + 0.5)``), then is clipped to the bounds again and made whole.
    ``u`` is one float, or (with ``clip=np.clip, floor=np.floor, whole=...``) a
    numpy column of a generation's positions: the same operations on the same
    float64 values, so the two give the same numbers to the bit.
    """
    value = low + clip(u, 0.0, 1.0) * span
    return whole(clip(floor(value + 0.5), low, high)) if integer else value


@dataclass(frozen=True)
class Gene:
    """One searched value: its dotted path, inclusive bounds (in the field's own
    unit) and whether it is an integer."""

    name: str
    low: float
    high: float
    integer: bool

    def from_unit(self, u: float) -> float | int:
        """The value at position ``u`` in [0, 1] of the range (integers rounded)."""
        return unit_to_value(float(u), self.low, self.high - self.low, self.high, self.integer)

    def to_unit(self, value: float) -> float:
        """The position in [0, 1] of ``value`` within the range."""
        return 0.0 if self.high == self.low else (float(value) - self.low) / (self.high - self.low)


class GeneDecoder:
    """Decodes gene vectors (one position in [0, 1] per gene, in gene order) of
    one configuration into values, with the plan of its genes computed once."""

    __slots__ = ("_columns", "names")

    def __init__(self, genes: Iterable[Gene]) -> None:
        genes = tuple(genes)
        self.names: tuple[str, ...] = tuple(gene.name for gene in genes)
        # unit_to_value's arguments after ``u``, one tuple per argument, gene order.
        self._columns = (tuple(g.low for g in genes), tuple(g.high - g.low for g in genes),
                         tuple(g.high for g in genes), tuple(g.integer for g in genes))  # fmt: skip

    def values(self, genes: Sequence[float]) -> list[float | int]:
        """The values of one gene vector, in gene order; ValueError on a wrong length."""
        if len(genes) != len(self.names):
            raise ValueError(f"expected {len(self.names)} genes, got {len(genes)}")
        return list(map(unit_to_value, map(float, genes), *self._columns))

    def params(self, genes: Sequence[float]) -> dict[str, float | int]:
        """Parameters (gene name -> value) of one gene vector."""
        return dict(zip(self.names, self.values(genes)))  # noqa: B905 - same length

    def rows(self, rows: Sequence[Sequence[float]]) -> list[tuple[float | int, ...]]:
        """The values of each gene vector of ``rows`` (a generation), as tuples:
        decoded a gene (a numpy column) at a time."""
        n = len(self.names)
        if any(len(row) != n for row in rows):
            raise ValueError(f"expected {n} genes in every row")
        if not n:
            return [() for _ in rows]
        positions = np.fromiter(itertools.chain.from_iterable(rows), np.float64, len(rows) * n).reshape(len(rows), n)
        columns = [
            unit_to_value(positions[:, k], *plan, clip=np.clip, floor=np.floor, whole=_whole)
            for k, plan in enumerate(zip(*self._columns, strict=True))
        ]
        return list(zip(*(c if isinstance(c, list) else c.tolist() for c in columns), strict=True))
