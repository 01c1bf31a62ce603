"""The elite: the best of everything a run evaluated.

One objective: DEAP's hall of fame of the best ``size`` ever found. Several
objectives: DEAP's Pareto front of everything evaluated. Members are told apart
by their evaluation id (the same parameters are one member).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from deap import tools

from optimizer.individual import Individual
from optimizer.objectives import EliteBar

Marker = list[tuple[int, tuple[float, ...]]]  # the members' ids and fitness values, in order


def _same(a: Individual, b: Individual) -> bool:
    return a.id == b.id


class Elite:
    """The hall of fame (one weight) or Pareto front (several) of a run."""

    def __init__(self, weights: Sequence[float], size: int, min_trades: int) -> None:
        self.weights = tuple(weights)
        self.min_trades = min_trades
        self.multi = len(self.weights) > 1
        self._hof: tools.HallOfFame = tools.ParetoFront(similar=_same) if self.multi else tools.HallOfFame(size, similar=_same)
        self._offered: set[int] = set()  # ids offered so far (after a resume: each again once)

    def __iter__(self):
        """The members in DEAP's order (the hall of fame's: best first)."""
        return iter(self._hof)

    def __len__(self) -> int:
        return len(self._hof)

    def bar(self) -> EliteBar:
        """What an evaluation made now must beat to join the elite (see `EliteBar`)."""
        if self.multi:
            return EliteBar(self.weights, self.min_trades, front=tuple(ind.fitness.wvalues for ind in self._hof))
        full = len(self._hof) == self._hof.maxsize
        return EliteBar(self.weights, self.min_trades, floor=self._hof[-1].rank if full else None)

    def offer(self, individuals: Iterable[Individual]) -> None:
        """Let evaluated individuals in where they belong. Offering one again never
        changes a hall of fame or a Pareto front (both only get better), so each id
        is offered once: while its evaluation still has its trades and equity."""
        fresh = []
        for ind in individuals:
            if ind.id not in self._offered:
                self._offered.add(ind.id)
                fresh.append(ind)
        if not self.multi and len(self._hof) == self._hof.maxsize:  # DEAP's own test, on tuples, once
            floor = self._hof[-1].rank
            fresh = [ind for ind in fresh if ind.rank > floor]
        self._hof.update(fresh)

    def members(self) -> list[Individual]:
        """The members, best first (several objectives: by their weighted values in
        objective order)."""
        members = list(self._hof)
        if self.multi:
            members.sort(key=lambda ind: tuple(-v for v in ind.fitness.wvalues))
        return members

    def ids(self) -> set[int]:
        return {ind.id for ind in self._hof}

    def marker(self) -> Marker:
        """What changes when the elite does (a run stalls while it stays the same)."""
        return [(ind.id, tuple(ind.fitness.values)) for ind in self._hof]

    def restore(self, members: Sequence[Individual]) -> None:
        """Put back checkpointed members (given in DEAP's order)."""
        for ind in reversed(members):  # each inserted before the equal ones: the order comes back as it was
            self._hof.insert(ind)


def pareto_ids(population: Sequence[Individual]) -> list[int]:
    """Ids of the first non-dominated front of a population (distinct, in order)."""
    front = tools.sortNondominated(population, len(population), first_front_only=True)[0]
    return list(dict.fromkeys(ind.id for ind in front))
