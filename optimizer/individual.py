"""The GA's individual: genes in [0, 1] with a DEAP fitness and the id of its evaluation.

Everything here goes through DEAP's public interface: a fitness is set through
``fitness.values`` (DEAP weighs it), cleared with ``del fitness.values``, and
copied as DEAP's own `copy` support copies it.
"""

from __future__ import annotations

import operator
from collections.abc import Sequence

from deap import base


def fitness_class(weights: Sequence[float]) -> type[base.Fitness]:
    """A DEAP fitness class with these weights (+1 maximize, -1 minimize), whose
    ``copy.copy`` is a plain copy of its attributes (its values and, after
    NSGA-II's selection, its crowding distance): cloning runs for every offspring."""
    return type("Fitness", (base.Fitness,), {"weights": tuple(weights), "__copy__": _copy_fitness})


def _copy_fitness(fitness: base.Fitness) -> base.Fitness:
    twin = object.__new__(type(fitness))
    twin.__dict__.update(vars(fitness))
    return twin


class Individual(list):
    """Genes in [0, 1], with a DEAP fitness and the id of its evaluation (None
    until it is evaluated)."""

    def __init__(self, genes: Sequence[float], fitness: type[base.Fitness]) -> None:
        super().__init__(genes)
        self.fitness = fitness()
        self.id: int | None = None

    def __deepcopy__(self, memo: dict) -> Individual:
        """What ``copy.deepcopy`` gives (genes are floats, the fitness holds tuples),
        without its generic walk: DEAP's hall of fame copies what it keeps."""
        return clone(self)

    @property
    def rank(self) -> tuple[float, ...]:
        """The weighted fitness values: DEAP's fitness order as a plain tuple, which
        selection compares in C (``fit_attr="rank"``) instead of calling the
        fitness's Python comparison methods."""
        return self.fitness.wvalues

    def score(self, ind_id: int, weighted: Sequence[float]) -> None:
        """Record that this individual is evaluation ``ind_id``, with these weighted
        fitness values (weights are +1 or -1, so the metric values are exactly
        ``weighted * weight``)."""
        self.id = ind_id
        self.fitness.values = tuple(map(operator.mul, weighted, self.fitness.weights))

    def invalidate(self) -> None:
        """Its genes changed: it needs a new evaluation."""
        del self.fitness.values
        self.id = None


def clone(ind: Individual) -> Individual:
    """A copy of an individual and its fitness (DEAP's ``toolbox.clone`` without
    deepcopy's walk; the fitness keeps its crowding distance)."""
    twin = Individual.__new__(Individual)
    list.__init__(twin, ind)
    twin.fitness = _copy_fitness(ind.fitness)
    twin.id = ind.id
    return twin
