"""The generation loop, written on DEAP's operators.

One objective: tournament selection with elitism (the ``ga.elite`` best are
kept). Several objectives: NSGA-II (``selNSGA2`` over parents and offspring,
``selTournamentDCD`` for mating). Genes are searched on [0, 1]: bounded SBX
crossover and polynomial mutation; integer genes are rounded when decoded.

Only individuals whose genes changed are evaluated, and a cache keyed by the
decoded parameters evaluates the same parameters once per run. An individual
that failed, has an undefined objective, or made fewer than ``ga.min_trades``
trades gets the worst fitness. The elite is the hall of fame (one objective:
the best ``max(ga.elite, 10)`` ever found) or the Pareto front of everything
evaluated (several objectives), best first.

`Optimizer.generations` yields one event per generation (0 is the initial
population). Before each event the full state is written to the checkpoint
(`optimizer.checkpoint`); a resumed run first yields the checkpointed
generation's event again (``"replay": true``) and then goes on exactly as the
uninterrupted run would have.
"""

from __future__ import annotations

import gc
import logging
import random
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from deap import base, tools

from optimizer.checkpoint import CheckpointWriter, Loaded, load_checkpoint, log_line, run_fingerprint
from optimizer.config import RunConfig
from optimizer.data import MarketData
from optimizer.errors import ConfigError
from optimizer.evaluation import TEST, TRAIN, Executor
from optimizer.objectives import WORST, EliteBar, weighted_fitness, weights_of
from optimizer.stats import IndividualStats
from optimizer.stats_codec import stats_to_record
from optimizer.strategy import decode_keys

log = logging.getLogger(__name__)

MIN_ELITE = 10
ParamsKey = tuple[float | int, ...]  # the decoded parameters in gene order


class Individual(list):
    """Genes in [0, 1], with a DEAP fitness and the id of its evaluation."""

    def __init__(self, genes, fitness_class) -> None:
        super().__init__(genes)
        self.fitness = fitness_class()
        self.id: int | None = None

    def __deepcopy__(self, memo: dict) -> Individual:
        """What ``copy.deepcopy`` gives (genes are floats, the fitness holds tuples),
        without its generic walk: DEAP's hall of fame copies what it keeps."""
        return _clone(self)

    @property
    def rank(self) -> tuple[float, ...]:
        """The weighted fitness values: DEAP's fitness order as a plain tuple, which
        selection compares in C (``fit_attr="rank"``) instead of calling the
        fitness's Python comparison methods."""
        return self.fitness.wvalues


class Optimizer:
    """Evolves the genes of ``config`` on ``market`` (see the module docstring).

    ``executor`` evaluates ``(phase, genes)`` tasks; ``split`` is the first test
    bar (None: no test period), as the executor's workers were told.
    ``checkpoint_dir``: where the state is written after each generation (and
    read from with ``resume=True``).
    """

    def __init__(
        self,
        config: RunConfig,
        market: MarketData,
        executor: Executor,
        *,
        split: int | None = None,
        checkpoint_dir: str | Path | None = None,
        resume: bool = False,
    ) -> None:
        if not config.genes:
            raise ConfigError("strategy: has no ranges to optimize; give at least one value as {min, max}")
        self.config = config
        self.ga = config.raw["ga"]
        self.objectives = config.raw["objectives"]
        self.executor = executor
        self.split = split
        self.checkpoint_dir = Path(checkpoint_dir) if checkpoint_dir else None
        self.data_fingerprint = market.fingerprint()
        self.fingerprint = run_fingerprint(config, self.data_fingerprint)
        self.weights = weights_of(self.objectives)
        self.fitness_class = type("Fitness", (base.Fitness,), {"weights": self.weights})
        self.multi = len(self.weights) > 1
        self.hof_size = max(MIN_ELITE, self.ga["elite"])
        # State (everything below is in the checkpoint).
        self.generation = 0  # generations done; the initial population is generation 1
        self.population: list[Individual] = []
        self.hof: tools.HallOfFame | tools.ParetoFront = (
            tools.ParetoFront(similar=_same) if self.multi else tools.HallOfFame(self.hof_size, similar=_same)
        )
        self.logbook: list[dict[str, Any]] = []
        self.cache: dict[ParamsKey, int] = {}  # params -> id
        # Every evaluation's statistics; those in the elite (the ids in `_with_series`)
        # keep their trades and equity, the others drop them (most in the workers).
        self.evaluated: dict[int, IndividualStats] = {}
        self._with_series: set[int] = set()
        self.test: dict[int, IndividualStats] = {}  # id -> test-period statistics (elite)
        self.evaluations = 0
        self.failed_evaluations = 0
        self.test_evaluations = 0
        self.stall = 0
        self.best_marker: Any = None
        self.elapsed = 0.0
        self.random_state = random.Random(self.ga["seed"]).getstate()
        self._resumed = False
        self._detail = True
        self._new_ids: list[int] = []  # evaluated in the current generation
        self._unsaved: list[str] = []  # log lines of the evaluations since the last checkpoint
        self._offered: set[int] = set()  # ids offered to the hall of fame (after a resume: again once)
        self._scored: list[Individual] = []  # given a fitness in the current generation
        # DEAP's weighted fitness values (``wvalues``) of each evaluation, derived from `evaluated`.
        self._wvalues_by_id: dict[int, tuple[float, ...]] = {}
        self._dicts: dict[tuple[int, bool], dict[str, Any]] = {}  # event JSON, per (id, full)
        self._writer: CheckpointWriter | None = None
        if resume:
            if self.checkpoint_dir is None:
                raise ConfigError("resume: needs the run's checkpoint folder")
            loaded = load_checkpoint(self.checkpoint_dir, self.fingerprint)
            self._restore(loaded)
            self._writer = CheckpointWriter(self.checkpoint_dir, loaded.log_bytes)
            self._resumed = True
        elif self.checkpoint_dir is not None:
            self._writer = CheckpointWriter(self.checkpoint_dir)

    # ----------------------------------------------------------------- loop
    def generations(
        self, should_stop: Callable[[], bool] | None = None, *, detail: bool = True
    ) -> Iterator[dict[str, Any]]:
        """Run the remaining generations, yielding one event per generation.

        ``should_stop`` is asked after each generation (its checkpoint written);
        True ends the loop early, resumable. Without ``detail`` the events leave out
        the individuals' statistics (the command line needs only the summaries).
        """
        self._detail = detail
        total = self.ga["generations"]
        if self._resumed:
            self._resumed = False
            yield self._event(0.0, replay=True)
        while self.generation < total and not self.finished:
            if should_stop is not None and self.generation > 0 and should_stop():
                return
            started = time.perf_counter()
            before = (self.evaluations, self.failed_evaluations)
            self._new_ids = []
            if self.generation == 0:
                self._initial()
            else:
                self._next()
            self.generation += 1
            self._update_elite()
            self._evaluate_test()
            self._record(self.evaluations - before[0], self.failed_evaluations - before[1])
            seconds = time.perf_counter() - started
            self.elapsed += seconds
            self._prune()
            # The statistics kept across generations hold no reference cycles: take them
            # out of the cyclic collector's sweeps (reference counting still frees them),
            # which otherwise grow with the run and cost more than the bookkeeping itself.
            gc.freeze()
            if self._writer is not None:
                self._save()
            yield self._event(seconds)

    @property
    def finished(self) -> bool:
        """Whether the run has done all its generations or stopped for stalling."""
        stall = self.ga["stall_generations"]
        return self.generation >= self.ga["generations"] or (stall is not None and self.stall >= stall)

    def _initial(self) -> None:
        self._use_random()
        n = len(self.config.genes)
        self.population = [Individual([random.random() for _ in range(n)], self.fitness_class)
                           for _ in range(self.ga["population"])]  # fmt: skip
        self._keep_random()
        self._evaluate(self.population)
        if self.multi:
            self.population = tools.selNSGA2(self.population, len(self.population))  # assigns crowding distance

    def _next(self) -> None:
        ga = self.ga
        pop = self.population
        self._use_random()
        if self.multi:
            if len(pop) % 4 == 0:
                parents = tools.selTournamentDCD(pop, len(pop))
            else:
                parents = tools.selTournament(pop, len(pop), tournsize=2, fit_attr="rank")
            elite: list[Individual] = []
        else:
            elite = [_clone(ind) for ind in tools.selBest(pop, ga["elite"], fit_attr="rank")]
            parents = tools.selTournament(pop, len(pop) - len(elite), tournsize=ga["tournament_size"], fit_attr="rank")
        offspring = [_clone(ind) for ind in parents]
        for a, b in zip(offspring[::2], offspring[1::2], strict=False):
            if random.random() < ga["crossover_prob"]:
                tools.cxSimulatedBinaryBounded(a, b, eta=ga["eta_crossover"], low=0.0, up=1.0)
                _invalidate(a)
                _invalidate(b)
        for ind in offspring:
            if random.random() < ga["mutation_prob"]:
                tools.mutPolynomialBounded(ind, eta=ga["eta_mutation"], low=0.0, up=1.0, indpb=1.0 / len(ind))
                _invalidate(ind)
        self._keep_random()
        self._evaluate(offspring)
        if self.multi:
            self.population = tools.selNSGA2(pop + offspring, ga["population"])
        else:
            self.population = elite + offspring

    # ----------------------------------------------------------- evaluation
    def _evaluate(self, individuals: list[Individual]) -> None:
        """Evaluate the individuals without a valid fitness; parameters seen before
        take their earlier result."""
        todo = [ind for ind in individuals if not ind.fitness.wvalues]  # not ``valid``
        self._scored.extend(todo)
        new: dict[ParamsKey, int] = {}
        tasks = []
        for ind, key in zip(todo, decode_keys(self.config, todo), strict=True):
            if key in self.cache:
                ind.id = self.cache[key]
            elif key in new:
                ind.id = new[key]
            else:
                ind.id = new[key] = len(self.cache) + len(new)
                tasks.append((TRAIN, tuple(ind)))
        ids = list(new.values())
        self._new_ids.extend(ids)
        keys = list(new) if self._writer is not None else []
        lines = [""] * len(keys)

        def arrived(index: int, stats: IndividualStats) -> None:  # runs while the workers go on
            stats.id = ids[index]
            self._wvalues_by_id[stats.id] = self._wvalues(stats)
            if keys:
                lines[index] = log_line(keys[index], stats.id, stats)

        bar = self._elite_bar()
        results = self.executor.map(tasks, on_result=arrived, bar=bar) if tasks else []
        for (key, ind_id), stats in zip(new.items(), results, strict=True):  # a fixed order
            self.cache[key] = ind_id
            self.evaluated[ind_id] = stats
        self._unsaved.extend(lines)
        self._with_series.update(i for i in ids if bar.admits(self._wvalues_by_id[i]))  # as the workers did
        self.evaluations += len(results)
        self.failed_evaluations += sum(stats.failed for stats in results)
        for ind in todo:  # as ``ind.fitness.values = ...`` sets it, weighted once per evaluation
            ind.fitness.wvalues = self._wvalues_by_id[ind.id]

    def _wvalues(self, stats: IndividualStats) -> tuple[float, ...]:
        return weighted_fitness(stats, self.weights, self.ga["min_trades"])

    def _elite_bar(self) -> EliteBar:
        """What this generation's evaluations must beat to join the elite (see `EliteBar`)."""
        if self.multi:
            return EliteBar(front=tuple(ind.fitness.wvalues for ind in self.hof))
        full = len(self.hof) == self.hof.maxsize
        return EliteBar(floor=self.hof[-1].rank if full else None)

    def _update_elite(self) -> None:
        # Everything scored this generation is offered, also the offspring NSGA-II did
        # not keep: the elite is the best of all evaluated, each offered while it still
        # has its trades and equity. Offering an individual again never changes a hall
        # of fame or a Pareto front (both only get better), so each id is offered once.
        fresh = []
        for ind in (*self.population, *self._scored):
            if ind.id not in self._offered:
                self._offered.add(ind.id)
                fresh.append(ind)
        self._scored = []
        if not self.multi and len(self.hof) == self.hof.maxsize:  # DEAP's own test, on tuples, once
            floor = self.hof[-1].rank
            fresh = [ind for ind in fresh if ind.rank > floor]
        self.hof.update(fresh)
        marker = [(ind.id, tuple(ind.fitness.values)) for ind in self.hof]
        self.stall = self.stall + 1 if marker == self.best_marker else 0
        self.best_marker = marker

    def _evaluate_test(self) -> None:
        """Evaluate on the test period each elite member not evaluated there yet."""
        if self.split is None:
            return
        todo = [ind for ind in self.hof if ind.id not in self.test]
        results = self.executor.map([(TEST, tuple(ind)) for ind in todo]) if todo else []
        for ind, stats in zip(todo, results, strict=True):
            stats.id = ind.id
            self.test[ind.id] = stats
            self.test_evaluations += 1
            self._dicts.pop((ind.id, True), None)
            self._dicts.pop((ind.id, False), None)

    def _record(self, evaluated: int, failed: int) -> None:
        row: dict[str, Any] = {
            "generation": self.generation,
            "evaluations": evaluated,
            "failed_evaluations": failed,
            "total_evaluations": self.evaluations,
            "total_failed_evaluations": self.failed_evaluations,
        }
        weighted = [self._wvalues_by_id[ind.id] for ind in self.population]
        valid = [wv for wv in weighted if abs(wv[0]) < WORST]
        for k, (objective, weight) in enumerate(zip(self.objectives, self.weights, strict=True)):
            values = [wv[k] * weight for wv in valid]  # the metric's values (weights are +1 or -1)
            low, high = (min(values), max(values)) if values else (None, None)
            row[objective["metric"]] = {
                "best": high if weight > 0 else low,
                "mean": sum(values) / len(values) if values else None,
                "worst": low if weight > 0 else high,
                "min": low,
                "max": high,
            }
        self.logbook.append(row)

    def stats(self, ind_id: int) -> IndividualStats:
        """The statistics of an evaluation: with trades and equity while it is in the
        elite, without them (empty) otherwise."""
        return self.evaluated[ind_id]

    def all_stats(self) -> dict[int, IndividualStats]:
        """Every evaluation's statistics by id (see `stats`)."""
        return dict(self.evaluated)

    def _prune(self) -> None:
        """Keep trades and equity only for the elite."""
        elite = {ind.id for ind in self.hof}
        for ind_id in self._with_series - elite:
            self.evaluated[ind_id].drop_series()
        self._with_series &= elite
        self.test = {i: s for i, s in self.test.items() if i in elite}
        alive = elite | {ind.id for ind in self.population}
        self._dicts = {key: d for key, d in self._dicts.items() if key[0] in alive}

    # --------------------------------------------------------------- events
    def elite(self) -> list[Individual]:
        """The elite, best first."""
        members = list(self.hof)
        if self.multi:
            members.sort(key=lambda ind: tuple(-v for v in ind.fitness.wvalues))
        return members

    def elite_stats(self) -> list[dict[str, Any]]:
        """The elite's full statistics (with ``test`` when there is a test period), best first."""
        return [self._individual(ind.id, full=True) for ind in self.elite()]

    def _individual(self, ind_id: int, *, full: bool) -> dict[str, Any]:
        """An individual's statistics as JSON (memoized: statistics never change)."""
        found = self._dicts.get((ind_id, full))
        if found is not None:
            return found
        series = full and ind_id in self._with_series
        out = self.evaluated[ind_id].to_dict(series=series)
        out["id"] = ind_id
        out["valid"] = not self._worst_id(ind_id)
        if self.split is not None:
            test = self.test.get(ind_id)
            out["test"] = None if test is None else {**test.to_dict(), "id": ind_id}
        if series or not full:
            self._dicts[(ind_id, full)] = out
        return out

    def _worst_id(self, ind_id: int) -> bool:
        return abs(self._wvalues_by_id[ind_id][0]) >= WORST  # all its values are, or none

    def summary(self, row: dict[str, Any]) -> dict[str, Any]:
        """A logbook row as the generation summary of the run's JSON output."""
        metrics = [o["metric"] for o in self.objectives]
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

    def _event(self, seconds: float, *, replay: bool = False) -> dict[str, Any]:
        row = self.logbook[-1]
        evaluated, failed = row["evaluations"], row["failed_evaluations"]
        done = self.generation
        remaining = 0 if self.finished else self.ga["generations"] - self.generation
        elite_ids = [ind.id for ind in self.elite()]
        # Everyone once: the elite (with series), the population, and the offspring
        # evaluated this generation that selection did not keep (NSGA-II).
        ids = list(dict.fromkeys([*elite_ids, *(ind.id for ind in self.population), *self._new_ids]))
        return {
            "generation": self.generation,
            "generations_total": self.ga["generations"],
            "replay": replay,
            "finished": self.finished,
            "stalled_generations": self.stall,
            "seconds": seconds,
            "elapsed_seconds": self.elapsed,
            "evaluations": evaluated,
            "failed_evaluations": failed,
            "total_evaluations": self.evaluations,
            "total_failed_evaluations": self.failed_evaluations,
            "test_evaluations": self.test_evaluations,
            "evals_per_second": evaluated / seconds if seconds > 0 else None,
            "eta_seconds": self.elapsed / done * remaining if done else None,
            "objectives": [
                {
                    "metric": o["metric"],
                    "goal": o["goal"],
                    **{k: row[o["metric"]][k] for k in ("min", "mean", "max", "best", "worst")},
                }
                for o in self.objectives
            ],
            "summary": self.summary(row),
            "population": [ind.id for ind in self.population],
            "elite": elite_ids,
            "pareto_front": _pareto_ids(self.population) if self.multi else elite_ids[:1],
            "individuals": [self._individual(i, full=i in elite_ids) for i in ids] if self._detail else [],
        }

    # ---------------------------------------------------------- checkpoint
    def _use_random(self) -> None:
        random.setstate(self.random_state)

    def _keep_random(self) -> None:
        self.random_state = random.getstate()

    def _save(self) -> None:
        """Checkpoint this generation: its new evaluations, the series kept, the rest."""

        def members(individuals):
            return [{"genes": list(ind), "id": ind.id, "fitness": list(ind.fitness.values),
                     "crowding_dist": getattr(ind.fitness, "crowding_dist", None)} for ind in individuals]  # fmt: skip

        version, internal, gauss = self.random_state
        state = {
            "fingerprint": self.fingerprint,
            "generation": self.generation,
            "random_state": [version, list(internal), gauss],
            "population": members(self.population),
            "hall_of_fame": members(self.hof),
            "logbook": self.logbook,
            "test": {str(i): stats_to_record(s) for i, s in self.test.items()},
            "evaluations": self.evaluations,
            "failed_evaluations": self.failed_evaluations,
            "test_evaluations": self.test_evaluations,
            "stall": self.stall,
            "best_marker": self.best_marker,
            "elapsed": self.elapsed,
            "new_ids": self._new_ids,
        }
        series = [*(("train", i, self.evaluated[i]) for i in sorted(self._with_series)),
                  *(("test", i, s) for i, s in sorted(self.test.items()))]  # fmt: skip
        assert self._writer is not None
        self._writer.save(state, self._unsaved, series)
        self._unsaved = []

    def _restore(self, loaded: Loaded) -> None:
        def members(rows):
            out = []
            for row in rows:
                ind = Individual(row["genes"], self.fitness_class)
                ind.id = row["id"]
                ind.fitness.values = tuple(row["fitness"])
                if row["crowding_dist"] is not None:
                    ind.fitness.crowding_dist = row["crowding_dist"]
                out.append(ind)
            return out

        state = loaded.state
        self.generation = state["generation"]
        version, internal, gauss = state["random_state"]
        self.random_state = (version, tuple(internal), gauss)
        self.population = members(state["population"])
        # DEAP keeps the hall of fame's items best first and their fitnesses (keys) in reverse.
        self.hof.items = members(state["hall_of_fame"])
        self.hof.keys = [ind.fitness for ind in reversed(self.hof.items)]
        self.logbook = state["logbook"]
        self.cache = loaded.keys
        self.evaluated = loaded.evaluations
        self._with_series = loaded.series_ids
        self._wvalues_by_id = {i: self._wvalues(s) for i, s in self.evaluated.items()}
        self.test = loaded.test
        self.evaluations = state["evaluations"]
        self.failed_evaluations = state["failed_evaluations"]
        self.test_evaluations = state["test_evaluations"]
        self.stall = state["stall"]
        marker = state["best_marker"]
        self.best_marker = None if marker is None else [(i, tuple(f)) for i, f in marker]
        self.elapsed = state["elapsed"]
        self._new_ids = list(state["new_ids"])


def _same(a: Individual, b: Individual) -> bool:
    return a.id == b.id


def _clone(ind: Individual) -> Individual:
    """A copy of an individual and its fitness (DEAP's ``toolbox.clone`` without deepcopy)."""
    copy = Individual.__new__(Individual)
    list.__init__(copy, ind)
    fitness = object.__new__(type(ind.fitness))
    fitness.__dict__.update(ind.fitness.__dict__)  # wvalues (a tuple) and crowding_dist
    copy.fitness = fitness
    copy.id = ind.id
    return copy


def _invalidate(ind: Individual) -> None:
    ind.fitness.wvalues = ()  # what ``del ind.fitness.values`` does
    ind.id = None


def _pareto_ids(population: list[Individual]) -> list[int]:
    """Ids of the first non-dominated front of the population (distinct, in order)."""
    front = tools.sortNondominated(population, len(population), first_front_only=True)[0]
    return list(dict.fromkeys(ind.id for ind in front))
