"""The elite: the best of everything a run evaluated, one entry per distinct fitness.

Parameter sets whose objective values are all equal (different parameters, the
same trades) are one entry: the first evaluated (lowest id) represents them, and
the entry counts them (``ties``, itself included) and records each gene's range
among them (``tie_ranges``: gene name -> ``[min, max]``). Every evaluation of the
run is counted, also one that arrives after its entry joined.

One objective: the hall of fame of the ``size`` best distinct fitness values ever
found, best first; the worst fitness (invalid individuals: failed, undefined, too
few trades) only while nothing valid was found, as in a front, where anything
valid dominates it. Several objectives: the Pareto front of everything evaluated,
at most ``size`` entries: when a generation leaves it larger, the entries with
the smallest NSGA-II crowding distance (DEAP's ``assignCrowdingDist``; equal
distances: the later id) leave it. A value crowded out stays out (an equal one
evaluated later is not a new entry), so the front, its representatives and their
counts never depend on the order generations are cut into: a resumed run keeps
exactly what the uninterrupted one does.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from deap import base, tools

from optimizer.individual import Individual, clone
from optimizer.objectives import WORST, EliteBar

Marker = list[tuple[int, tuple[float, ...]]]  # the members' ids and fitness values, in order
Params = Mapping[str, Any]  # an evaluation's parameters, gene name -> value
TieState = tuple[int, tuple[tuple[str, float | int, float | int], ...]]  # ties, (gene, min, max) per gene


@dataclass
class Entry:
    """One elite entry: its representative (the first evaluated of its fitness),
    how many evaluated parameter sets share that fitness, and each gene's range
    among them (gene name -> ``[min, max]``, in the gene's unit)."""

    ind: Individual
    ties: int = 1
    tie_ranges: dict[str, list[float | int]] = field(default_factory=dict)

    def state(self) -> TieState:
        """Its ties and gene ranges, a snapshot (nothing shared with the entry)."""
        return self.ties, tuple((name, *bounds) for name, bounds in self.tie_ranges.items())

    def add(self, params: Params) -> None:
        """Count one more parameter set with this entry's fitness."""
        self.ties += 1
        for name, bounds in self.tie_ranges.items():
            value = params.get(name)
            if value is None:
                continue
            if value < bounds[0]:
                bounds[0] = value
            elif value > bounds[1]:
                bounds[1] = value


class Elite:
    """The hall of fame (one weight) or capped Pareto front (several) of a run,
    with its ties (see the module docstring). ``genes``: the gene names whose
    ranges the entries record."""

    def __init__(self, weights: Sequence[float], size: int, min_trades: int, genes: Sequence[str] = ()) -> None:
        self.weights = tuple(weights)
        self.size = size
        self.min_trades = min_trades
        self.genes = tuple(genes)
        self.multi = len(self.weights) > 1
        self._entries: dict[tuple[float, ...], Entry] = {}  # by weighted fitness
        self._order: list[Entry] = []  # best first (several objectives: by weighted values in objective order)
        self._crowded_out: set[tuple[float, ...]] = set()  # weighted values the cap removed (several objectives)
        self.next_id = 0  # evaluations with a smaller id have been offered

    def __iter__(self):
        """The members' representatives, best first."""
        return (entry.ind for entry in self._order)

    def __len__(self) -> int:
        return len(self._order)

    def bar(self) -> EliteBar:
        """What an evaluation made now must beat to join the elite (see `EliteBar`)."""
        if self.multi:
            return EliteBar(self.weights, self.min_trades, front=tuple(e.ind.fitness.wvalues for e in self._order))
        full = len(self._order) >= self.size
        return EliteBar(self.weights, self.min_trades, floor=self._order[-1].ind.rank if full else None)

    def offer(self, individuals: Iterable[Individual], params_of: Callable[[int], Params]) -> None:
        """Let evaluated individuals in where they belong, in id order; ids offered
        before (cache hits) are skipped. ``params_of(id)``: an evaluation's
        parameters (for the ranges of ties)."""
        fresh = {ind.id: ind for ind in individuals if ind.id is not None and ind.id >= self.next_id}
        if not fresh:
            return
        for ind_id in sorted(fresh):
            self._take(fresh[ind_id], params_of)
        self.next_id = max(fresh) + 1
        if self.multi and len(self._entries) > self.size:
            self._thin()
        self._sort()

    def _take(self, ind: Individual, params_of: Callable[[int], Params]) -> None:
        wvalues = ind.fitness.wvalues
        entry = self._entries.get(wvalues)
        if entry is not None:
            entry.add(params_of(ind.id))
            return
        if self.multi:
            if wvalues in self._crowded_out or any(_dominates(w, wvalues) for w in self._entries):
                return
            for w in [w for w in self._entries if _dominates(wvalues, w)]:
                del self._entries[w]
        else:  # as in a Pareto front, where any valid value dominates the worst: the worst only alone
            if wvalues[0] <= -WORST and self._entries:
                return
            self._entries.pop((-WORST,), None)
            if len(self._entries) >= self.size:
                worst = min(self._entries)
                if wvalues <= worst:
                    return
                del self._entries[worst]
        params = params_of(ind.id)
        ranges = {name: [params[name], params[name]] for name in self.genes if name in params}
        self._entries[wvalues] = Entry(clone(ind), 1, ranges)

    def _thin(self) -> None:
        """Keep the ``size`` entries of largest crowding distance (ties: lowest id)."""
        entries = sorted(self._entries.values(), key=lambda e: e.ind.id)
        members = [e.ind for e in entries]
        tools.emo.assignCrowdingDist(members)
        kept = sorted(entries, key=lambda e: (-e.ind.fitness.crowding_dist, e.ind.id))[: self.size]
        kept_values = {e.ind.fitness.wvalues for e in kept}
        for w in list(self._entries):
            if w not in kept_values:
                self._crowded_out.add(w)
                del self._entries[w]
        # A crowded-out value that a member dominates could not come back anyway: forget it.
        front = np.asarray(list(self._entries), dtype=np.float64)
        self._crowded_out = {w for w in self._crowded_out if not _dominated_by_any(np.asarray(w), front)}

    def _sort(self) -> None:
        self._order = sorted(self._entries.values(), key=lambda e: tuple(-v for v in e.ind.fitness.wvalues))

    def members(self) -> list[Individual]:
        """The representatives, best first (several objectives: by their weighted
        values in objective order)."""
        return [entry.ind for entry in self._order]

    def ids(self) -> set[int]:
        return {entry.ind.id for entry in self._order}

    def tie_table(self) -> dict[int, Entry]:
        """The entries by their representative's id."""
        return {entry.ind.id: entry for entry in self._order}

    def tie_states(self) -> dict[int, TieState]:
        """Each entry's ties and gene ranges (a snapshot: nothing shared with the
        entries), by its representative's id, best first."""
        return {e.ind.id: e.state() for e in self._order}

    def marker(self) -> Marker:
        """What changes when the elite does (a run stalls while it stays the same)."""
        return [(e.ind.id, tuple(e.ind.fitness.values)) for e in self._order]

    # ------------------------------------------------------------ checkpoint
    def to_state(self) -> dict[str, Any]:
        """The elite as JSON (members best first, with their ties)."""
        members = [
            {
                "genes": list(e.ind),
                "id": e.ind.id,
                "fitness": list(e.ind.fitness.values),
                "crowding_dist": getattr(e.ind.fitness, "crowding_dist", None),
                "ties": e.ties,
                "tie_ranges": e.tie_ranges,
            }
            for e in self._order
        ]
        return {"members": members, "crowded_out": sorted(list(w) for w in self._crowded_out), "next_id": self.next_id}

    def restore(self, state: Mapping[str, Any], fitness: type[base.Fitness]) -> None:
        """Put back a checkpointed elite (`to_state`)."""
        self._entries = {}
        for row in state["members"]:
            ind = Individual(row["genes"], fitness)
            ind.id = row["id"]
            ind.fitness.values = tuple(row["fitness"])
            if row["crowding_dist"] is not None:
                ind.fitness.crowding_dist = row["crowding_dist"]
            self._entries[ind.fitness.wvalues] = Entry(ind, row["ties"], {k: list(v) for k, v in row["tie_ranges"].items()})
        self._crowded_out = {tuple(w) for w in state["crowded_out"]}
        self.next_id = state["next_id"]
        self._sort()


def _dominates(a: tuple[float, ...], b: tuple[float, ...]) -> bool:
    """Whether weighted values ``a`` Pareto-dominate ``b`` (larger is better)."""
    return all(x >= y for x, y in zip(a, b, strict=True)) and a != b


def _dominated_by_any(w: np.ndarray, front: np.ndarray) -> bool:
    if not len(front):
        return False
    return bool((np.all(front >= w, axis=1) & np.any(front > w, axis=1)).any())


def pareto_ids(population: Sequence[Individual]) -> list[int]:
    """Ids of the first non-dominated front of a population (distinct, in order)."""
    front = tools.sortNondominated(population, len(population), first_front_only=True)[0]
    return list(dict.fromkeys(ind.id for ind in front))
