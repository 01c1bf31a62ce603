"""What a run tells after each generation: typed events, and their JSON.

`Optimizer.generations` yields a `GenerationEvent` per generation: numbers and
evaluation ids. `GenerationEvent.to_json` renders it as the JSON the dashboard
stores and streams (docs/OPTIMIZER.md, "Events"), with each individual's
statistics (DESIGN.md's statistics contract) from the run's `Ledger`. Render an
event before asking for the next generation: the ledger drops the series of
individuals that leave the elite.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from optimizer.elite import Entry, TieState
from optimizer.ledger import Ledger
from optimizer.objectives import WORST

STATISTICS = ("min", "mean", "max", "best", "worst")


def logbook_row(
    generation: int,
    evaluated: int,
    failed: int,
    ledger: Ledger,
    population_ids: Sequence[int],
    metrics: Sequence[str],
    weights: Sequence[float],
) -> dict[str, Any]:
    """One generation's logbook row: its counts and, per objective metric, the
    ``min``/``mean``/``max``/``best``/``worst`` over the population's valid members
    (in the metric's own unit; None when no member is valid)."""
    row: dict[str, Any] = {
        "generation": generation,
        "evaluations": evaluated,
        "failed_evaluations": failed,
        "total_evaluations": ledger.evaluations,
        "total_failed_evaluations": ledger.failed_evaluations,
    }
    weighted = [ledger.weighted[i] for i in population_ids]
    valid = [wv for wv in weighted if abs(wv[0]) < WORST]
    for k, (metric, weight) in enumerate(zip(metrics, weights, strict=True)):
        values = [wv[k] * weight for wv in valid]  # the metric's values (weights are +1 or -1)
        low, high = (min(values), max(values)) if values else (None, None)
        row[metric] = {
            "best": high if weight > 0 else low,
            "mean": sum(values) / len(values) if values else None,
            "worst": low if weight > 0 else high,
            "min": low,
            "max": high,
        }
    return row


def summary(row: dict[str, Any], metrics: Sequence[str]) -> dict[str, Any]:
    """A logbook row as the generation summary of the run's JSON output
    (``best``/``mean``/``worst``: one value per objective, in objective order)."""
    return {
        "generation": row["generation"],
        "evaluations": row["evaluations"],
        "failed_evaluations": row["failed_evaluations"],
        "total_evaluations": row["total_evaluations"],
        "total_failed_evaluations": row["total_failed_evaluations"],
        "best": [row[m]["best"] for m in metrics],
        "mean": [row[m]["mean"] for m in metrics],
        "worst": [row[m]["worst"] for m in metrics],
    }


def tie_changes(shown: dict[int, TieState], now: dict[int, TieState]) -> tuple[dict[str, Any], ...]:
    """The elite entries of ``now`` (`optimizer.elite.Elite.tie_states`) whose ties
    or gene ranges differ from ``shown`` (the previous event's; an entry new to the
    elite included), best first: ``{"id", "ties", "tie_ranges"}`` with their new
    values, as the individuals' JSON has them."""
    return tuple(
        {"id": ind_id, "ties": state[0], "tie_ranges": {name: [low, high] for name, low, high in state[1]}}
        for ind_id, state in now.items()
        if shown.get(ind_id) != state
    )


class IndividualJson:
    """Individuals' statistics as JSON, memoized (statistics never change; a
    member's JSON is forgotten when its test-period statistics arrive).

    Every individual carries ``ties`` and ``tie_ranges``: for an elite entry's
    representative, how many evaluated parameter sets share its objective values
    (itself included) and each gene's ``[min, max]`` among them; None for the
    others. ``ties``: the elite's entries by id (`optimizer.elite.Elite.tie_table`),
    set before each event is rendered. An elite member of a finished run also
    carries ``robustness`` (`optimizer.run_robustness`; None for the others)."""

    def __init__(self, ledger: Ledger, *, with_test: bool) -> None:
        self.ledger = ledger
        self.with_test = with_test
        self.generation = 0  # the generation whose event may be rendered
        self.ties: dict[int, Entry] = {}
        self.robustness: dict[str, dict[str, Any]] = {}  # elite members' robustness statistics, by str(id)
        self._memo: dict[tuple[int, bool], dict[str, Any]] = {}
        # the last statistics with ties or robustness made of an individual: (its
        # statistics, robustness, ties, the object returned), by (id, full)
        self._wrapped: dict[tuple[int, bool], tuple[Any, ...]] = {}

    def __call__(self, ind_id: int, *, full: bool) -> dict[str, Any]:
        """An individual's statistics; ``full``: with trades and equity (if kept).
        The same object as the previous call's for this individual while its JSON
        is unchanged (`optimizer.events.GenerationEvent`'s ``individuals``)."""
        out = self._statistics(ind_id, full=full)
        robustness = self.robustness.get(str(ind_id))
        entry = self.ties.get(ind_id)
        if robustness is None and entry is None:
            return out
        ties = None if entry is None else entry.state()
        key = (ind_id, full)
        made = self._wrapped.get(key)
        if made is not None and made[0] is out and made[1] is robustness and made[2] == ties:
            return made[3]
        wrapped = out if robustness is None else {**out, "robustness": robustness}
        if entry is not None:
            ranges = {name: list(bounds) for name, bounds in entry.tie_ranges.items()}
            wrapped = {**wrapped, "ties": entry.ties, "tie_ranges": ranges}
        self._wrapped[key] = (out, robustness, ties, wrapped)
        return wrapped

    def _statistics(self, ind_id: int, *, full: bool) -> dict[str, Any]:
        found = self._memo.get((ind_id, full))
        if found is not None:
            return found
        series = full and ind_id in self.ledger.with_series
        out = self.ledger.stats[ind_id].to_dict(series=series)
        out["id"] = ind_id
        out["valid"] = self.ledger.is_valid(ind_id)
        if self.with_test:
            test = self.ledger.test.get(ind_id)
            out["test"] = None if test is None else {**test.to_dict(), "id": ind_id}
        out["ties"] = None
        out["tie_ranges"] = None
        out["robustness"] = None
        if series or not full:
            self._memo[(ind_id, full)] = out
        return out

    def forget(self, ids: Sequence[int]) -> None:
        """Render these again (their test-period statistics arrived)."""
        for ind_id in ids:
            self._memo.pop((ind_id, True), None)
            self._memo.pop((ind_id, False), None)

    def retain(self, alive: set[int]) -> None:
        """Forget the JSON of individuals no event will show again."""
        self._memo = {key: d for key, d in self._memo.items() if key[0] in alive}
        self._wrapped = {key: made for key, made in self._wrapped.items() if key[0] in alive}


@dataclass(frozen=True)
class ObjectiveSummary:
    """One objective over a generation's population, in the metric's unit."""

    metric: str
    goal: str
    min: float | None
    mean: float | None
    max: float | None
    best: float | None
    worst: float | None


@dataclass(frozen=True)
class GenerationEvent:
    """One generation of a run (0 is none; 1 the initial population). Times in
    seconds; ``eta_seconds`` None before the first generation. ``replay``: the
    checkpointed generation a resumed run starts from, told again. Ids:
    ``population`` (in order), ``elite`` (best first), ``pareto_front`` (the
    population's first front; one objective: the best), ``individuals`` (each
    once: the elite, the population and this generation's other evaluations).
    ``tie_changes``: the elite entries whose ``ties`` or ``tie_ranges`` changed
    since the optimizer's previous generation (`tie_changes`; every entry in its
    first; a resumed run's replay tells what the run told, from its checkpoint), so that a consumer holding the
    elite's statistics can apply a generation as a change."""

    generation: int
    generations_total: int
    replay: bool
    finished: bool
    stalled_generations: int
    seconds: float
    elapsed_seconds: float
    evaluations: int
    failed_evaluations: int
    total_evaluations: int
    total_failed_evaluations: int
    test_evaluations: int
    evals_per_second: float | None
    eta_seconds: float | None
    objectives: tuple[ObjectiveSummary, ...]
    summary: dict[str, Any]
    population: tuple[int, ...]
    elite: tuple[int, ...]
    pareto_front: tuple[int, ...]
    individuals: tuple[int, ...]
    tie_changes: tuple[dict[str, Any], ...]
    robustness: dict[str, Any] | None  # the run's robustness statistics, in the last generation's event
    render: IndividualJson = field(repr=False, compare=False)

    def to_json(self, *, detail: bool = True) -> dict[str, Any]:
        """The event as JSON; without ``detail`` its ``individuals`` list is empty
        (the command line needs only the summaries)."""
        if detail and self.render.generation != self.generation:
            raise RuntimeError(f"generation {self.generation}'s event is rendered after its run went on")
        out = {name: getattr(self, name) for name in self.__dataclass_fields__ if name != "render"}
        out["objectives"] = [asdict(o) for o in self.objectives]
        for name in ("population", "elite", "pareto_front", "tie_changes"):
            out[name] = list(out[name])
        elite = set(self.elite)
        out["individuals"] = [self.render(i, full=i in elite) for i in self.individuals] if detail else []
        return out
