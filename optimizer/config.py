"""The run configuration: validation, defaults, typed access and genes.

`parse_config` checks a configuration (a JSON object) against the declared model
(`optimizer.config_model`, DESIGN.md's contract) and returns a `RunConfig`, or
raises `ConfigError` with one ``dotted.path: reason`` line per problem. Any
numeric leaf under ``strategy`` or ``execution`` may be a range
``{"min", "max", "type"}``: each range is one gene named by its dotted path.
Genes are kept sorted by name, so that the order of keys in the file never
changes a result.
"""

from __future__ import annotations

import copy
import functools
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from optimizer.config_errors import error_lines
from optimizer.config_fields import Range
from optimizer.config_model import (
    CANDLE_TYPES,
    DIRECTIONS,
    FILLS,
    GA_DEFAULTS,
    Data,
    Execution,
    RunSettings,
    Split,
    Strategy,
    settings_model,
)
from optimizer.config_search import GA, GOALS, METRICS, Objective, Robustness
from optimizer.errors import ConfigError
from optimizer.genes import Gene, GeneDecoder

__all__ = [
    "CANDLE_TYPES", "DIRECTIONS", "FILLS", "GA_DEFAULTS", "GOALS", "METRICS", "ConfigError", "Gene", "Range",
    "RunConfig", "is_range", "load_config", "parse_config",
]  # fmt: skip


@dataclass(frozen=True)
class RunConfig:
    """A validated configuration: the normalized JSON (defaults filled in), its
    genes, and typed read-only access to every section (``config.ga.population``).

    Pickles as its JSON and genes; the typed sections are rebuilt on first use.
    """

    raw: dict[str, Any]
    genes: tuple[Gene, ...]

    @functools.cached_property
    def settings(self) -> RunSettings:
        """The typed, immutable configuration (from ``raw``)."""
        return settings_model().model_validate(self.raw)

    @property
    def name(self) -> str:
        return self.settings.name

    @property
    def data(self) -> Data:
        return self.settings.data

    @property
    def strategy(self) -> Strategy:
        return self.settings.strategy

    @property
    def execution(self) -> Execution:
        return self.settings.execution

    @property
    def objectives(self) -> tuple[Objective, ...]:
        return self.settings.objectives

    @property
    def ga(self) -> GA:
        return self.settings.ga

    @property
    def workers(self) -> int:
        """Worker processes; 0: one per CPU."""
        return self.settings.workers

    @property
    def split(self) -> Split | None:
        return self.settings.split

    @property
    def robustness(self) -> Robustness:
        return self.settings.robustness

    @property
    def gene_names(self) -> tuple[str, ...]:
        return tuple(gene.name for gene in self.genes)

    @functools.cached_property
    def decoder(self) -> GeneDecoder:
        """The decoder of this configuration's gene vectors."""
        return GeneDecoder(self.genes)

    def to_json(self) -> dict[str, Any]:
        """A deep copy of the normalized configuration."""
        return copy.deepcopy(self.raw)

    def __getstate__(self) -> dict[str, Any]:
        return {"raw": self.raw, "genes": self.genes}

    def __setstate__(self, state: dict[str, Any]) -> None:
        object.__setattr__(self, "raw", state["raw"])
        object.__setattr__(self, "genes", state["genes"])


def load_config(path: str | Path) -> RunConfig:
    """Read a JSON configuration file and validate it (see `parse_config`)."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: no such configuration file")
    try:
        document = json.loads(path.read_text(encoding="utf-8-sig"))
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{path.name}: not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path.name}: not UTF-8 text") from exc
    return parse_config(document)


def parse_config(document: Any) -> RunConfig:
    """Validate a configuration object; raise `ConfigError` listing every problem."""
    model = settings_model()
    try:
        settings = model.model_validate(document)
    except ValidationError as exc:
        raise ConfigError(error_lines(exc, model)) from None
    genes = tuple(sorted(_genes(settings, ""), key=lambda gene: gene.name))
    config = RunConfig(raw=settings.model_dump(mode="json"), genes=genes)
    config.__dict__["settings"] = settings  # already validated: no need to do it again
    return config


def is_range(value: Any) -> bool:
    """Whether a configuration leaf (JSON or typed) is a range (a gene) rather than a fixed value."""
    return isinstance(value, Range) or (isinstance(value, dict) and "min" in value and "max" in value)


def _genes(node: Any, path: str) -> Iterator[Gene]:
    if isinstance(node, Range):
        yield Gene(path, float(node.min), float(node.max), node.type == "int")
    elif isinstance(node, BaseModel):
        for key, value in node:
            yield from _genes(value, f"{path}.{key}" if path else key)
    elif isinstance(node, dict):
        for key, value in node.items():
            yield from _genes(value, f"{path}.{key}")
