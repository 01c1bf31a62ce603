"""The search's sections of a run configuration: its objectives (`Objective`), the
genetic search (`GA`) and the overfitting statistics it computes (`Robustness`).

Declared here, beside `optimizer.config_model` (which holds them as
``RunSettings.objectives``, ``.ga`` and ``.robustness``), so that the model of a
configuration stays readable modules of one concern each. Units as there:
fractions are plain fractions (0.05 = 5 %).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, StrictBool, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

from optimizer.config_fields import Section, setting
from optimizer.stats import SCALAR_FIELDS

GOALS = ("max", "min")
METRICS = SCALAR_FIELDS


class Objective(Section):
    """One objective of the search: a statistic and its direction."""

    metric: Literal[METRICS] = Field(description="a statistic of the individual (see the statistics contract)")
    goal: Literal[GOALS] = Field(description="max or min")


class GA(Section):
    """Settings of the genetic search (none of them is a gene)."""

    population: setting(integer=True, low=2, high=100_000) = Field(64, description="individuals per generation")
    generations: setting(integer=True, low=1, high=100_000) = Field(30, description="generations to run")
    seed: setting(integer=True, low=0, high=2**32 - 1) = Field(0, description="random seed: same seed, same run")
    crossover_prob: setting(low=0.0, high=1.0) = Field(0.9, description="probability that a pair is crossed, 0..1")
    mutation_prob: setting(low=0.0, high=1.0) = Field(0.2, description="probability that an individual "
                                                      "mutates, 0..1")  # fmt: skip
    eta_crossover: setting(low=0.0, low_open=True, high=1000.0) = Field(
        15.0, description="SBX crossover's crowding: higher keeps children nearer their parents"
    )
    eta_mutation: setting(low=0.0, low_open=True, high=1000.0) = Field(
        20.0, description="polynomial mutation's crowding: higher makes smaller steps"
    )
    tournament_size: setting(integer=True, low=1, high=1000) = Field(3, description="individuals per tournament")
    elite: setting(integer=True, low=0, high=100_000) = Field(4, description="one objective: the best individuals "
                                                              "carried unchanged into the next generation (at most "
                                                              "the population)")  # fmt: skip
    elite_size: setting(integer=True, low=1, high=10_000) = Field(
        50, description="most entries of the reported elite (the hall of fame, or the Pareto front thinned by "
        "crowding distance); parameter sets with equal objective values are one entry"
    )
    min_trades: setting(integer=True, low=0, high=10**9) = Field(
        10, description="an individual with fewer training trades gets the worst fitness: a result of a "
        "handful of trades is luck, not a strategy"
    )
    stall_generations: setting(integer=True, low=1, nullable=True) = Field(
        None, description="stop after this many generations without improvement; null: never"
    )

    @field_validator("elite")
    @classmethod
    def _within_population(cls, elite: int, info: ValidationInfo) -> int:
        population = info.data.get("population")
        if population is not None and elite > population:
            raise PydanticCustomError("elite", "{elite} is more than the population {population}",
                                      {"elite": elite, "population": population})  # fmt: skip
        return elite



class Robustness(Section):
    """The overfitting statistics computed in the run (docs/OPTIMIZER.md, "Robustness").

    Defaults: 16 blocks (C(16, 8) = 12,870 CSCV splits of 8 blocks a half, as the
    method's authors use); 10 neighbours (each costs one evaluation per elite
    member: 10 keep the analysis of a default run near a tenth of its
    evaluations, and already give a median and a minimum); a 5 % jitter (a nearby
    parameter set, not another strategy); 1,000 Monte Carlo resamplings
    (percentiles to about 1 %); ruin at a 50 % drawdown.
    """

    enabled: StrictBool = Field(True, description="compute the robustness statistics (PBO, DSR, neighbourhood, "
                                "Monte Carlo, cost stress) at the end of the run")  # fmt: skip
    blocks: setting(integer=True, low=2, high=32) = Field(
        16, description="S, the even number of contiguous blocks of the training window for PBO (CSCV splits "
        "them into halves: C(S, S/2) splits)", json_schema_extra={"multipleOf": 2}
    )
    neighbours: setting(integer=True, low=0, high=1000) = Field(
        10, description="K, the seeded neighbours of each elite member evaluated for its neighbourhood stability"
    )
    jitter: setting(low=0.0, high=1.0, low_open=True) = Field(
        0.05, description="how far a neighbour's float gene moves, at most, as a fraction of its range (integer "
        "genes move by -1, 0 or +1)"
    )
    monte_carlo: setting(integer=True, low=0, high=100_000) = Field(
        1000, description="Monte Carlo resamplings of each elite member's trades (reshuffled and bootstrapped)"
    )
    ruin_drawdown: setting(low=0.0, high=1.0, low_open=True, high_open=True) = Field(
        0.5, description="the drawdown (fraction, 0.5 = 50 %) whose Monte Carlo probability is reported as ruin"
    )

    @field_validator("blocks")
    @classmethod
    def _even(cls, blocks: int) -> int:
        if blocks % 2:
            raise PydanticCustomError("even", "{blocks} is odd: CSCV splits the blocks into two equal halves",
                                      {"blocks": blocks})  # fmt: skip
        return blocks
