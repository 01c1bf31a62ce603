"""The declared model of a run configuration (DESIGN.md, "Run configuration").

Every rule of a configuration lives here once: the validator (`parse_config`),
the JSON Schema (`optimizer.schema.config_schema`), typed access
(``config.ga.population``) and the form's help texts (each field's
``description``) all come from these classes. Units: fractions are plain
fractions (0.01 = 1 %), periods and durations count bars.

Signal kinds come from the `SIGNAL_KINDS` registry, which plugins extend at
import time: `settings_model()` builds the per-kind models from the registry's
current contents (cached by them), so kinds registered late are seen.
"""

from __future__ import annotations

import functools
import re
from typing import Annotated, Any, ClassVar, Literal, Union

from pydantic import (
    AfterValidator,
    ConfigDict,
    Discriminator,
    Field,
    StrictBool,
    StringConstraints,
    Tag,
    ValidationError,
    ValidationInfo,
    create_model,
    field_validator,
    model_serializer,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

from optimizer.config_fields import Section, gene, setting
from optimizer.config_search import GA, Objective, Robustness
from optimizer.config_walk_forward import WalkForward
from optimizer.data.timeframes import parse_timeframe
from optimizer.signals import SIGNAL_KINDS, SignalKind

DIRECTIONS = ("long", "short", "both")
FILLS = ("next_open", "close")
CANDLE_TYPES = ("normal", "heiken_ashi")
TIMESTAMPS = ("open", "close")
# Statistics that can be objectives: every scalar of the statistics contract.
SIGNAL_NAME = r"^[A-Za-z_][A-Za-z0-9_]*$"
TIMEFRAME = r"^\s*0*[1-9][0-9]*\s*[smhdw]\s*$"
# Limits a configuration is held to wherever it runs (the dashboard adds its own).
MAX_NAME_LENGTH = 200
MAX_SIGNALS = 64
MAX_TIMEFRAME_SECONDS = 366 * 86400
# Control characters, and the bidirectional ones that make a name read other than it
# is written (U+202E turns the text after it right to left).
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")

NonBlank = Annotated[str, StringConstraints(pattern=r"\S")]
SignalName = Annotated[str, StringConstraints(pattern=SIGNAL_NAME)]
Timeframe = Annotated[str, AfterValidator(lambda text: (parse_timeframe(text), text.strip())[1])]


def _optional(schema: dict[str, Any]) -> None:
    """JSON Schema of a field that may be left out but not written as null."""
    schema.pop("default", None)


def _signal_names(schema: dict[str, Any]) -> None:
    """JSON Schema of the signals object: names by pattern, values by kind."""
    values = schema.pop("patternProperties").popitem()[1]
    schema.update(propertyNames={"pattern": SIGNAL_NAME}, additionalProperties=values, maxProperties=MAX_SIGNALS)


def _name_schema(schema: dict[str, Any]) -> None:
    """JSON Schema of a run's name: at most `MAX_NAME_LENGTH` characters, no control ones."""
    allowed = r"[^\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]"  # = _CONTROL's
    schema.update(maxLength=MAX_NAME_LENGTH, pattern=rf"^(?=.*\S){allowed}*$")  # not blank, none of them


def _fail(loc: tuple[str | int, ...], kind: str, message: str, value: Any) -> ValidationError:
    """A validation error at ``loc`` (relative to the field being validated)."""
    error = InitErrorDetails(type=PydanticCustomError(kind, message), loc=loc, input=value)
    return ValidationError.from_exception_data("configuration", [error])


class _ExactlyOne(Section):
    """A section of two optional fields of which exactly one is given (``one_of``:
    the reason when not); the other is left out of its JSON. Fields named in
    ``settings`` are not among the two: they have defaults, and are left out of the
    JSON when they hold them (so older configurations keep their JSON)."""

    one_of: ClassVar[str]
    settings: ClassVar[tuple[str, ...]] = ()

    @model_validator(mode="after")
    def _exactly_one(self) -> _ExactlyOne:
        given = [getattr(self, name) is not None for name in type(self).model_fields if name not in self.settings]
        if sum(given) != 1:
            raise PydanticCustomError("one_of", self.one_of)
        return self

    @model_serializer(mode="wrap")
    def _given(self, handler: Any) -> dict[str, Any]:
        fields = type(self).model_fields
        return {
            key: value
            for key, value in handler(self).items()
            if value is not None and not (key in self.settings and value == fields[key].default)
        }


class Data(_ExactlyOne):
    """Where the candles come from: exactly one of ``path`` or ``dataset``; and
    whether the file's timestamps mark its bars' opens or closes."""

    model_config = ConfigDict(json_schema_extra={"oneOf": [{"required": ["path"]}, {"required": ["dataset"]}]})

    path: NonBlank = Field(None, description="an OHLCV file (CSV or Parquet), relative to the configuration "
                           "file's folder; command line only", json_schema_extra=_optional)  # fmt: skip
    dataset: NonBlank = Field(None, description="the id of a bundled or uploaded dataset; the API's way",
                              json_schema_extra=_optional)  # fmt: skip
    timestamps: Literal[TIMESTAMPS] = Field("open", description="what each row's timestamp marks: open (the bar's "
                                            "open time) or close (its close time; the bar then opens one bar "
                                            "earlier, or when the previous bar closed if that is later)")  # fmt: skip

    one_of: ClassVar[str] = "must hold exactly one of path (command line) or dataset (an id)"
    settings: ClassVar[tuple[str, ...]] = ("timestamps",)


class Params(Section):
    """The parameters of a signal kind (one class per kind, made from the registry)."""


class Rule(Section):
    """A weighted score of signals (their weighted mean, each in [0, 1]) that fires
    when it reaches the threshold (>=); with all weights zero it never fires."""

    weights: dict[str, gene(low=0.0)] = Field(min_length=1, description="signal name -> weight (>= 0): its share of the rule's score, the "
                                                  "weighted mean of the signals' scores (each 0..1); 0 ignores it")
    threshold: gene(low=0.0, high=1.0) = Field(description="the score (0..1) at which the rule fires: 1 = all "
                                                          "weighted signals agree, 0.5 = half the weight agrees")


class Signal(Section):
    """A named signal: its kind, the candles it runs on and its parameters.

    `settings_model` derives one class per signal kind, with that kind's parameters.
    """

    kind: str = Field(description="the signal kind")
    timeframe: Timeframe | None = Field(None, description="bar size the signal runs on, like 15m, 4h or 1d "
                                        "(a multiple of the data's); null: the data's own bars",
                                        json_schema_extra={"pattern": TIMEFRAME})  # fmt: skip
    candles: Literal[CANDLE_TYPES] = Field("normal", description="normal or heiken_ashi candles")
    params: Params = Field(description="the kind's parameters; each a number or a range")

    @field_validator("timeframe")
    @classmethod
    def _sane_timeframe(cls, timeframe: str | None) -> str | None:
        if timeframe is not None and parse_timeframe(timeframe) > MAX_TIMEFRAME_SECONDS * 10**9:
            raise PydanticCustomError("timeframe_too_long", "{timeframe} is longer than {days} days",
                                      {"timeframe": timeframe, "days": MAX_TIMEFRAME_SECONDS // 86400})  # fmt: skip
        return timeframe


class Strategy(Section):
    """Signals, the rules that combine them, and the exits."""

    model_config = ConfigDict(json_schema_extra={
        "if": {"required": ["direction"], "properties": {"direction": {"const": "both"}}},
        "then": {"required": ["entry_short"], "properties": {"entry_short": {"type": "object"}}},
        "else": {"properties": {"entry_short": {"type": "null"}, "exit_short": {"type": "null"}}},
    })  # fmt: skip

    direction: Literal[DIRECTIONS] = Field("long", description='long, short (mirrors long), or both (adds '
                                           'entry_short / exit_short)')  # fmt: skip
    signals: dict[SignalName, Signal] = Field(min_length=1, description="signal name -> signal")
    entry: Rule = Field(description="when to open a position (a short one with direction short)")
    exit: Rule | None = Field(None, description="when to close it on a signal; null: only stops and the end")
    entry_short: Rule | None = Field(None, validate_default=True, description='when to open a short position; '
                                     'required with direction "both", and only then allowed')  # fmt: skip
    exit_short: Rule | None = Field(None, description='when to close a short position (direction "both")')
    stop_loss: gene(low=0.0, high=1.0, low_open=True, high_open=True, nullable=True) = Field(
        None, description="stop-loss as a fraction of the entry price (0.01 = 1 %); null: none"
    )
    take_profit: gene(low=0.0, low_open=True, nullable=True) = Field(
        None, description="take-profit as a fraction of the entry price (0.01 = 1 %); null: none"
    )
    trailing_stop: gene(low=0.0, high=1.0, low_open=True, high_open=True, nullable=True) = Field(
        None, description="trailing stop: fraction below (above, short) the best price since entry; null: none"
    )
    trailing_activation: gene(low=0.0) = Field(
        0.0, description="open profit (a fraction of the entry price) from which the trailing stop is live"
    )
    max_bars: gene(integer=True, low=1, nullable=True) = Field(
        None, description="close a trade after this many bars from its entry fill; null: no limit"
    )
    end_of_day: StrictBool = Field(False, description="close every position at the last bar of its day "
                                   "(intraday data only)")  # fmt: skip

    @field_validator("signals", mode="before")
    @classmethod
    def _few_signals(cls, signals: Any) -> Any:
        """At most `MAX_SIGNALS`, counted before each is validated."""
        if isinstance(signals, dict) and len(signals) > MAX_SIGNALS:
            raise PydanticCustomError("too_many_signals", "{count} signals; a strategy has at most {most}",
                                      {"count": len(signals), "most": MAX_SIGNALS})  # fmt: skip
        return signals

    @field_validator("entry", "exit", "entry_short", "exit_short")
    @classmethod
    def _weights_name_signals(cls, rule: Rule | None, info: ValidationInfo) -> Rule | None:
        signals = info.data.get("signals")  # absent when the signals have errors of their own
        if rule is not None and signals is not None:
            for name, weight in rule.weights.items():
                if name not in signals:
                    raise _fail(("weights", name), "unknown_signal", "names no signal in strategy.signals", weight)
        return rule

    @field_validator("entry_short", "exit_short")
    @classmethod
    def _short_rules(cls, rule: Rule | None, info: ValidationInfo) -> Rule | None:
        direction = info.data.get("direction")
        if direction == "both" and rule is None and info.field_name == "entry_short":
            raise PydanticCustomError("required", 'is required when direction is "both"')
        if direction in ("long", "short") and rule is not None:
            raise PydanticCustomError("unused", 'is only used when direction is "both"')
        return rule


class Execution(Section):
    """How orders fill and what they cost."""

    fill: Literal[FILLS] = Field("next_open", description="next_open: a signal fills at the next bar's open; "
                                 "close: at its own bar's close")  # fmt: skip
    commission: gene(low=0.0, high=1.0, high_open=True) = Field(
        0.0, description="commission per side (paid on entry and again on exit), a fraction of the traded "
        "notional (0.001 = 0.1 %)"
    )
    slippage: gene(low=0.0, high=1.0, high_open=True) = Field(
        0.0, description="slippage per side (each fill), a fraction of the price, always against the trader "
        "(0.0005 = 0.05 %)"
    )
    position_fraction: gene(low=0.0, high=1.0, low_open=True) = Field(
        1.0, description="fraction of current equity committed by each entry (1 = all of it)"
    )
    trading_days: setting(integer=True, low=1, high=366, nullable=True) = Field(
        None, description="return periods a year for the daily Sharpe and Sortino: 365 (trades every day) or "
        "252 (weekday sessions); null: inferred from the data (365 if it has Saturday and Sunday bars)"
    )


class Split(_ExactlyOne):
    """A held-out test period: exactly one of ``test_fraction`` or ``test_from``."""

    model_config = ConfigDict(json_schema_extra={"oneOf": [{"required": ["test_fraction"]},
                                                           {"required": ["test_from"]}]})  # fmt: skip

    test_fraction: setting(low=0.0, high=1.0, low_open=True, high_open=True) = Field(
        None, description="the last fraction of the bars held out (0.25 = 25 %)", json_schema_extra=_optional
    )
    test_from: str = Field(None, description="hold out the bars opening at or after this ISO 8601 date "
                           "(naive = UTC)", json_schema_extra=_optional)  # fmt: skip

    one_of: ClassVar[str] = "must hold exactly one of test_fraction or test_from"


class RunSettings(Section):
    """A run configuration: what to trade, how to search, where the data is."""

    model_config = ConfigDict(title="Run configuration")

    name: NonBlank = Field("run", description="a name for the run", json_schema_extra=_name_schema)
    data: Data = Field(description="the market data")
    strategy: Strategy = Field(description="the trading strategy; its ranges are the genes")
    execution: Execution = Field(default_factory=Execution, description="order fills and costs")
    objectives: tuple[Objective, ...] = Field(
        (Objective(metric="total_return_pct", goal="max"),), min_length=1,
        description="what the search optimizes, in order (several: a Pareto front)")  # fmt: skip
    ga: GA = Field(default_factory=GA, description="the genetic search")
    workers: setting(integer=True, low=0, high=1024) = Field(0, description="worker processes; 0: one per CPU")
    split: Split | None = Field(None, description="a held-out test period; null: none")
    robustness: Robustness = Field(default_factory=Robustness, description="overfitting statistics computed "
                                   "in the run: is the elite real?")  # fmt: skip
    walk_forward: WalkForward | None = Field(None, description="walk-forward optimization: the search re-run "
                                             "fold by fold; null: one search", json_schema_extra=_optional)  # fmt: skip

    @field_validator("walk_forward")
    @classmethod
    def _not_with_split(cls, walk_forward: WalkForward | None, info: ValidationInfo) -> WalkForward | None:
        if walk_forward is not None and info.data.get("split") is not None:
            raise PydanticCustomError("walk_forward_split", "cannot be combined with split: each fold has its "
                                      "own test window")  # fmt: skip
        return walk_forward

    @model_serializer(mode="wrap")
    def _without_walk_forward(self, handler: Any) -> dict[str, Any]:
        """The JSON leaves ``walk_forward`` out when there is none (older
        configurations keep their JSON, and their checkpoints' fingerprints)."""
        out = handler(self)
        if out.get("walk_forward", 0) is None:
            del out["walk_forward"]
        return out

    @field_validator("name")
    @classmethod
    def _readable_name(cls, name: str) -> str:
        problem = name_problem(name)
        if problem is not None:
            raise problem
        return name  # pydantic refuses lone surrogates itself (not a valid string)


GA_DEFAULTS: dict[str, Any] = {name: field.default for name, field in GA.model_fields.items()}


def _camel(name: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in re.split(r"[^A-Za-z0-9]+", name) if part)


def _kind_tag(value: Any) -> str | None:
    """The branch of a signal: its kind (marked as a tag), None when it has none."""
    if isinstance(value, Signal):  # serializing
        return f"~{value.kind}"
    if not isinstance(value, dict) or "kind" not in value:
        return None
    return f"~{value['kind']}"


def _signal_model(name: str, kind: SignalKind) -> type[Signal]:
    fields = {p.name: (gene(p.integer, p.low, p.high, low_open=p.low_open), Field(description=p.doc))
              for p in kind.params}  # fmt: skip
    params = create_model(f"{_camel(name)}Params", __base__=Params, __doc__=f"Parameters of {name}.", **fields)
    required = ... if kind.params else params()
    return create_model(f"{_camel(name)}Signal", __base__=Signal, __doc__=kind.doc,
                        kind=(Literal[name], Field(description=kind.doc)),
                        params=(params, Field(required, description=Signal.model_fields["params"].description)))  # fmt: skip


@functools.lru_cache(maxsize=8)
def _settings_model(kinds: tuple[tuple[str, SignalKind], ...]) -> type[RunSettings]:
    branches = tuple(Annotated[_signal_model(name, kind), Tag(f"~{name}")] for name, kind in sorted(kinds))
    signal = Annotated[Union[branches], Discriminator(_kind_tag)]  # noqa: UP007
    signals = Field(min_length=1, description=Strategy.model_fields["signals"].description,
                    json_schema_extra=_signal_names)  # fmt: skip
    strategy = create_model("Strategy", __base__=Strategy, __doc__=Strategy.__doc__,
                            signals=(dict[SignalName, signal], signals))  # fmt: skip
    description = RunSettings.model_fields["strategy"].description
    return create_model("RunConfiguration", __base__=RunSettings, __doc__=RunSettings.__doc__,
                        strategy=(strategy, Field(description=description)))  # fmt: skip


def settings_model() -> type[RunSettings]:
    """The model of a run configuration with the signal kinds registered now."""
    return _settings_model(tuple(SIGNAL_KINDS.items()))


def name_problem(name: str) -> PydanticCustomError | None:
    """What makes ``name`` no run name, or None: more than `MAX_NAME_LENGTH`
    characters, or a control character (NUL included). ``.message()`` says it."""
    if len(name) > MAX_NAME_LENGTH:
        return PydanticCustomError("name_too_long", "{length} characters; at most {most}",
                                   {"length": len(name), "most": MAX_NAME_LENGTH})  # fmt: skip
    bad = _CONTROL.search(name)
    if bad is not None:
        return PydanticCustomError("name_control", "holds the control character {code} at {at}",
                                   {"code": f"U+{ord(bad.group()):04X}", "at": bad.start()})  # fmt: skip
    return None
