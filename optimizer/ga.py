"""The generation loop, written on DEAP's operators (read it beside DEAP's ``eaSimple``).

One objective: tournament selection with elitism (the ``ga.elite`` best are
kept). Several objectives: NSGA-II (``selNSGA2`` over parents and offspring,
``selTournamentDCD`` for mating). Genes are searched on [0, 1]: bounded SBX
crossover and polynomial mutation; integer genes are rounded when decoded. The
tournament, SBX and mutation are `optimizer.variation`'s, draw for draw DEAP's.

Only individuals whose genes changed are evaluated, and the run's `Ledger`
evaluates the same parameters once per run. An individual that failed, has an
undefined objective, or made fewer than ``ga.min_trades`` trades gets the worst
fitness. The `Elite` is the hall of fame (one objective: the ``ga.elite_size``
best distinct fitness values ever found) or the Pareto front of everything
evaluated (several objectives; at most ``ga.elite_size`` entries, thinned by
crowding distance), best first; parameter sets of equal fitness are one entry
with their count (`optimizer.elite`).

A configuration without ranges is a single backtest: one generation of one
individual (evaluated on the training and the test period), with the same
events, checkpoint and outputs as a search.

Rates and the ETA come from wall time: the moving average of the last
`RATE_WINDOW` generations, each measured from one event to the next (so the
time the caller spends on an event, storing or drawing it, counts too). The
first generation a process runs also starts its workers and compiles the
kernels (seconds, against a fraction of a second for a later one): it gives the
rate only until a second one is done, then leaves the average.

`Optimizer.generations` yields a `GenerationEvent` per generation (0 is the
initial population). Before each event the full state is written to the
checkpoint (`optimizer.checkpoint`); a resumed run first yields the
checkpointed generation's event again (``replay``) and then goes on exactly as
the uninterrupted run would have.
"""

from __future__ import annotations

import gc
import random
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from deap import tools

from optimizer.checkpoint import CheckpointWriter, Progress, load_checkpoint, restore_state, run_fingerprint, save_state
from optimizer.config import RunConfig
from optimizer.data import MarketData
from optimizer.elite import Elite, TieState, pareto_ids
from optimizer.errors import ConfigError
from optimizer.evaluation import Executor
from optimizer.events import GenerationEvent, IndividualJson, ObjectiveSummary, logbook_row, summary, tie_changes
from optimizer.individual import Individual, clone, fitness_class
from optimizer.interrupts import raise_if_interrupted
from optimizer.ledger import Ledger
from optimizer.objectives import weights_of
from optimizer.run_robustness import RunRobustness
from optimizer.variation import polynomial_mutation, sbx, tournament

RATE_WINDOW = 5  # generations in the moving average of rates and the ETA


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
        self.config = config
        self.ga = ga = config.ga
        self.single = not config.genes  # a single backtest
        self.generations_total = 1 if self.single else ga.generations
        self.objectives = config.objectives
        self.metrics = [o.metric for o in self.objectives]
        self.data_fingerprint = market.fingerprint()
        self.fingerprint = run_fingerprint(config, self.data_fingerprint)
        self.weights = weights_of(self.objectives)
        self.fitness = fitness_class(self.weights)
        self.multi = len(self.weights) > 1
        min_trades = ga.min_trades
        self.ledger = Ledger(config, executor, self.weights, min_trades, logged=checkpoint_dir is not None)
        self.elite = Elite(self.weights, ga.elite_size, min_trades, [gene.name for gene in config.genes])
        self.with_test = split is not None
        self.individual_json = IndividualJson(self.ledger, with_test=self.with_test)
        self.robustness = RunRobustness(config, self.ledger)
        self.progress = Progress(random_state=random.Random(ga.seed).getstate())
        self.population: list[Individual] = []
        self._writer: CheckpointWriter | None = None
        self._resumed = False
        self._cycles: deque[tuple[int, float]] = deque(maxlen=RATE_WINDOW)  # (evaluations, wall seconds)
        self._warm_up: tuple[int, float] | None = None  # this process's first generation (starts the workers)
        self._shown_ties: dict[int, TieState] = {}  # the elite's ties as the last event told them
        if resume:
            if checkpoint_dir is None:
                raise ConfigError("resume: needs the run's checkpoint folder")
            loaded = load_checkpoint(checkpoint_dir, self.fingerprint)
            self.progress, self.population, elite = restore_state(loaded, self.fitness, self.ledger)
            self.elite.restore(elite, self.fitness)
            self._writer = CheckpointWriter(checkpoint_dir, loaded.log_bytes)
            self._resumed = True
        elif checkpoint_dir is not None:
            self._writer = CheckpointWriter(checkpoint_dir)

    # ----------------------------------------------------------------- loop
    def generations(self, should_stop: Callable[[], bool] | None = None) -> Iterator[GenerationEvent]:
        """Run the remaining generations, yielding one event per generation.

        ``should_stop`` is asked after each generation (its checkpoint written);
        True ends the loop early, resumable.
        """
        progress = self.progress
        self._cycles.clear()
        self._warm_up = None
        mark = time.perf_counter()  # the last event's time: a generation's wall time runs from it to its event
        if self._resumed:
            self._resumed = False
            yield self._event(0.0, replay=True)
            mark = time.perf_counter()
        while progress.generation < self.generations_total and not self.finished:
            raise_if_interrupted()
            if should_stop is not None and progress.generation > 0 and should_stop():
                return
            started = time.perf_counter()
            before = (self.ledger.evaluations, self.ledger.failed_evaluations)
            scored = self._initial() if progress.generation == 0 else self._next()
            progress.generation += 1
            self.elite.offer(scored, self._params)  # the new evaluations (also offspring NSGA-II did not keep)
            marker = self.elite.marker()
            progress.stall = progress.stall + 1 if marker == progress.best_marker else 0
            progress.best_marker = marker
            if self.with_test:
                self.individual_json.forget(self.ledger.evaluate_test(list(self.elite)))
            progress.logbook.append(logbook_row(
                progress.generation, self.ledger.evaluations - before[0], self.ledger.failed_evaluations - before[1],
                self.ledger, [ind.id for ind in self.population], self.metrics, self.weights,
            ))  # fmt: skip
            # The entries whose ties changed, kept in the last generation's logbook row
            # only (the checkpoint stays as small): a resume's replay tells what the run told.
            ties = self.elite.tie_states()
            if len(progress.logbook) > 1:
                progress.logbook[-2].pop("tie_changes", None)
            progress.logbook[-1]["tie_changes"] = list(tie_changes(self._shown_ties, ties))
            self._shown_ties = ties
            seconds = time.perf_counter() - started
            if self.finished and config_robust(self.config) and progress.robustness is None:
                progress.robustness = self.robustness.analyse(self.elite.members())  # once, at the end
                seconds += self.robustness.seconds
            progress.elapsed += seconds
            elite_ids = self.elite.ids()
            self.ledger.keep_series_of(elite_ids)  # trades and equity only for the elite
            self.individual_json.retain(elite_ids | {ind.id for ind in self.population})
            # The statistics kept across generations hold no reference cycles: take them
            # out of the cyclic collector's sweeps (reference counting still frees them),
            # which otherwise grow with the run and cost more than the bookkeeping itself.
            gc.freeze()
            if self._writer is not None:
                save_state(self._writer, self.fingerprint, progress, self.population, self.elite, self.ledger)
            now = time.perf_counter()
            cycle = (progress.logbook[-1]["evaluations"], now - mark)
            if self._warm_up is None:
                self._warm_up = cycle
            else:
                self._cycles.append(cycle)
            yield self._event(seconds)
            mark = now

    @property
    def finished(self) -> bool:
        """Whether the run has done all its generations or stopped for stalling."""
        stall = self.ga.stall_generations
        done = self.progress.generation >= self.generations_total
        return done or (stall is not None and self.progress.stall >= stall)

    def _initial(self) -> list[Individual]:
        """Generation 1: a random population, evaluated; the individuals scored."""
        random.setstate(self.progress.random_state)
        n = len(self.config.genes)
        size = 1 if self.single else self.ga.population
        self.population = [Individual([random.random() for _ in range(n)], self.fitness)
                           for _ in range(size)]  # fmt: skip
        self.progress.random_state = random.getstate()
        scored = self._evaluate(self.population)
        if self.multi:
            self.population = tools.selNSGA2(self.population, len(self.population))  # assigns crowding distance
        return scored

    def _next(self) -> list[Individual]:
        """Selection, variation and evaluation of the next generation; the
        individuals scored (the offspring whose genes changed)."""
        ga = self.ga
        pop = self.population
        random.setstate(self.progress.random_state)
        if self.multi:
            parents = tools.selTournamentDCD(pop, len(pop)) if len(pop) % 4 == 0 else tournament(pop, len(pop), 2)
            elite: list[Individual] = []
        else:
            elite = [clone(ind) for ind in tools.selBest(pop, ga.elite, fit_attr="rank")]
            parents = tournament(pop, len(pop) - len(elite), ga.tournament_size)
        offspring = [clone(ind) for ind in parents]
        for a, b in zip(offspring[::2], offspring[1::2], strict=False):
            if random.random() < ga.crossover_prob:
                sbx(a, b, ga.eta_crossover)
                a.invalidate()
                b.invalidate()
        for ind in offspring:
            if random.random() < ga.mutation_prob:
                polynomial_mutation(ind, ga.eta_mutation, 1.0 / len(ind))
                ind.invalidate()
        self.progress.random_state = random.getstate()
        scored = self._evaluate(offspring)
        self.population = tools.selNSGA2(pop + offspring, ga.population) if self.multi else elite + offspring
        return scored

    def _params(self, ind_id: int) -> dict[str, Any]:
        return self.ledger.stats[ind_id].params

    def _evaluate(self, individuals: list[Individual]) -> list[Individual]:
        """Evaluate those of ``individuals`` without a valid fitness (`Ledger.evaluate`)."""
        todo = [ind for ind in individuals if not ind.fitness.valid]
        self.progress.new_ids = self.ledger.evaluate(todo, self.elite.bar())
        return todo

    # --------------------------------------------------------------- results
    @property
    def generation(self) -> int:
        """Generations done (the initial population is generation 1)."""
        return self.progress.generation

    @property
    def logbook(self) -> list[dict[str, Any]]:
        """One row per generation (`optimizer.events.logbook_row`)."""
        return self.progress.logbook

    evaluations = property(lambda self: self.ledger.evaluations, doc="Evaluations made (parameter sets).")
    failed_evaluations = property(lambda self: self.ledger.failed_evaluations, doc="Evaluations that failed.")
    test_evaluations = property(lambda self: self.ledger.test_evaluations, doc="Elite members tested.")

    def summary(self, row: dict[str, Any]) -> dict[str, Any]:
        """A logbook row as the generation summary of the run's JSON output."""
        return summary(row, self.metrics)

    def elite_stats(self) -> list[dict[str, Any]]:
        """The elite's full statistics (with ``test`` when there is a test period, and
        ``robustness`` once the run has finished), best first."""
        self.individual_json.ties = self.elite.tie_table()
        found = self.progress.robustness
        self.individual_json.robustness = {} if found is None else found["members"]
        return [self.individual_json(ind.id, full=True) for ind in self.elite.members()]

    @property
    def run_robustness(self) -> dict[str, Any] | None:
        """The run's robustness statistics (PBO, trials, ...; `optimizer.run_robustness`),
        None until the run has finished (or with ``robustness.enabled`` false)."""
        found = self.progress.robustness
        return None if found is None else found["run"]

    def _event(self, seconds: float, *, replay: bool = False) -> GenerationEvent:
        row = self.progress.logbook[-1]
        done = self.progress.generation
        remaining = 0 if self.finished else self.generations_total - done
        elite_ids = tuple(ind.id for ind in self.elite.members())
        population = tuple(ind.id for ind in self.population)
        self.individual_json.generation = done
        self.individual_json.ties = self.elite.tie_table()
        found = self.progress.robustness
        self.individual_json.robustness = {} if found is None else found["members"]
        evals_per_second, eta_seconds = (None, None) if replay else rates(self._warm_up, self._cycles, remaining)
        if replay or "tie_changes" not in row:  # a resume: from here on, changes to the restored elite's ties
            ties = self.elite.tie_states()
            changed = row.get("tie_changes")
            if changed is None:  # a checkpoint written before rows kept them: every entry
                changed = tie_changes({}, ties)
            self._shown_ties = ties
        else:
            changed = row["tie_changes"]
        return GenerationEvent(
            generation=done,
            generations_total=self.generations_total,
            replay=replay,
            finished=self.finished,
            stalled_generations=self.progress.stall,
            seconds=seconds,
            elapsed_seconds=self.progress.elapsed,
            evaluations=row["evaluations"],
            failed_evaluations=row["failed_evaluations"],
            total_evaluations=self.ledger.evaluations,
            total_failed_evaluations=self.ledger.failed_evaluations,
            test_evaluations=self.ledger.test_evaluations,
            evals_per_second=evals_per_second,
            eta_seconds=eta_seconds,
            objectives=tuple(ObjectiveSummary(o.metric, o.goal, **row[o.metric]) for o in self.objectives),
            summary=self.summary(row),
            population=population,
            elite=elite_ids,
            pareto_front=tuple(pareto_ids(self.population)) if self.multi else elite_ids[:1],
            # Everyone once: the elite (with series), the population, and the offspring
            # evaluated this generation that selection did not keep (NSGA-II).
            individuals=tuple(dict.fromkeys([*elite_ids, *population, *self.progress.new_ids])),
            tie_changes=tuple(changed),
            robustness=None if found is None else found["run"],
            render=self.individual_json,
        )


def rates(
    warm_up: tuple[int, float] | None, cycles: Sequence[tuple[int, float]], remaining: int
) -> tuple[float | None, float | None]:
    """Evaluations per wall second and the seconds left for ``remaining``
    generations, from the recent generations' ``cycles`` (evaluations, wall
    seconds each); the process's ``warm_up`` generation counts only while there is
    no other. (None, None) without any wall time."""
    window = list(cycles) or ([warm_up] if warm_up is not None else [])
    wall = sum(seconds for _, seconds in window)
    if wall <= 0:
        return None, None
    return sum(n for n, _ in window) / wall, wall / len(window) * remaining


def config_robust(config: RunConfig) -> bool:
    """Whether the run computes its robustness statistics (``robustness.enabled``)."""
    return config.robustness.enabled
