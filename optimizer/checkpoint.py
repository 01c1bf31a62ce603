"""Checkpoints: a run's state after each generation, in the run's own folder.

Writing one costs what the generation added, not what the run holds:

* ``evaluations.jsonl``: each evaluation's statistics without trades and equity,
  one JSON line per evaluation, appended once (evaluations never change).
* ``series-G.bin``: the trades and equity of those that keep them after
  generation G (the elite's, in both periods), as raw little-endian arrays;
  replaced when the elite changes (the elite is bounded: so is this file).
* ``checkpoint.json``: everything else (population, elite with its ties,
  logbook, random state, counters), and how many bytes of the log and which series file
  belong to it. It is written last, atomically (a temporary file flushed and
  renamed), after the log and the series file are on disk; so a run killed at
  any moment leaves a consistent checkpoint: the last one, whose log bytes
  past its length are cut off when the run goes on.

JSON and raw numbers, not pickle: loading a checkpoint runs no code, whatever
the files hold. Floats round-trip exactly, so a resumed run continues bit for
bit. A checkpoint is loaded only from the run's own folder and only for the same
configuration and data (its fingerprint).
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from deap import base

from optimizer.config import RunConfig
from optimizer.errors import ConfigError
from optimizer.individual import Individual
from optimizer.stats import IndividualStats
from optimizer.stats_codec import packed_size, stats_from_record, stats_to_record

if TYPE_CHECKING:
    from optimizer.elite import Elite
    from optimizer.ledger import Ledger

CHECKPOINT = "checkpoint.json"
LOG = "evaluations.jsonl"
VERSION = 4  # 4: the per-bar returns summary (moments, block sums) in every record

_COMPACT = json.JSONEncoder(separators=(",", ":"))


def log_line(key: Iterable[Any], ind_id: int, stats: IndividualStats) -> str:
    """One evaluation's line of ``evaluations.jsonl`` (without its newline): its
    parameter key, id and statistics without trades and equity. The optimizer
    makes each as the evaluation arrives, while the workers go on."""
    return _COMPACT.encode([list(key), ind_id, stats_to_record(stats)])


def run_fingerprint(config: RunConfig, data_fingerprint: str) -> str:
    """SHA-256 of the normalized configuration and the data: a checkpoint's identity.

    The number of workers is left out: it never changes a result.
    """
    digest = hashlib.sha256()
    digest.update(json.dumps({k: v for k, v in config.raw.items() if k != "workers"}, sort_keys=True).encode())
    digest.update(data_fingerprint.encode())
    return digest.hexdigest()


class CheckpointWriter:
    """Saves a run's generations into ``folder``; ``log_bytes`` is the length of
    the log that belongs to the checkpoint the run started from (0: a new run,
    whose first save replaces whatever the folder held)."""

    def __init__(self, folder: str | Path, log_bytes: int = 0) -> None:
        self.folder = Path(folder)
        self.log_bytes = log_bytes
        self._started = False
        self._series: tuple[str, list] | None = None  # the last series file written and its index
        self._rows: list[tuple[dict[str, Any], str]] = []  # logbook rows saved (each with its JSON)

    def _encode(self, body: dict[str, Any]) -> str:
        """``body`` as compact JSON, its ``logbook`` last. A logbook row is encoded
        once it is final: the optimizer changes only its newest row and the one
        before (`optimizer.ga`), so each save encodes the rows that were the
        newest in the previous save, and the new ones; encoding the whole logbook
        again made each generation's save grow with the run."""
        logbook = body.pop("logbook", None)
        if logbook is None:
            return _COMPACT.encode(body)
        kept = 0  # the rows saved before, but for the then newest one
        while kept < min(len(self._rows), len(logbook)) - 1 and self._rows[kept][0] is logbook[kept]:
            kept += 1
        del self._rows[kept:]
        self._rows.extend((row, _COMPACT.encode(row)) for row in logbook[kept:])
        rows = ",".join(text for _, text in self._rows)
        return f'{_COMPACT.encode(body)[:-1]},"logbook":[{rows}]}}'

    def save(
        self,
        state: dict[str, Any],
        lines: Iterable[str],
        series: Iterable[tuple[str, int, IndividualStats]],
    ) -> None:
        """Append the new evaluations' ``lines`` (`log_line`) to the log, write the
        arrays of ``series`` (``(phase, id, stats)``) and then ``state``."""
        self.folder.mkdir(parents=True, exist_ok=True)
        if not self._started:  # whatever lies past the checkpoint we started from is not ours
            if self.log_bytes == 0:
                (self.folder / CHECKPOINT).unlink(missing_ok=True)
            with open(self.folder / LOG, "ab") as handle:
                handle.truncate(self.log_bytes)
            self._started = True
        with open(self.folder / LOG, "ab") as handle:
            handle.write("".join(f"{line}\n" for line in lines).encode())
            handle.flush()
            os.fsync(handle.fileno())
            self.log_bytes = handle.tell()
        series = list(series)
        members = [[phase, ind_id] for phase, ind_id, _ in series]
        if self._series is not None and [row[:2] for row in self._series[1]] == members:
            name, index = self._series  # the same members: their series never change
        else:
            index = []
            chunks = []
            for phase, ind_id, stats in series:
                lengths, blob = stats.packed_arrays()
                index.append([phase, ind_id, list(lengths)])
                chunks.append(blob)
            name = f"series-{state['generation']}.bin"
            _write_atomically(self.folder / name, b"".join(chunks))
            self._series = name, index
        body = {"version": VERSION, **state, "log_bytes": self.log_bytes, "series_file": name, "series": index}
        _write_atomically(self.folder / CHECKPOINT, self._encode(body).encode())
        for old in self.folder.glob("series-*.bin"):
            if old.name != name:
                old.unlink(missing_ok=True)


def _write_atomically(target: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@dataclass
class Loaded:
    """A checkpoint read back: ``state`` (the small part), ``evaluations`` (id ->
    statistics, with trades and equity for the ids in ``series_ids``), ``keys``
    (cache key -> id), ``test`` (id -> test-period statistics) and ``log_bytes``."""

    state: dict[str, Any]
    evaluations: dict[int, IndividualStats]
    keys: dict[Any, int]
    test: dict[int, IndividualStats]
    series_ids: set[int]
    log_bytes: int


def load_checkpoint(folder: str | Path, fingerprint: str) -> Loaded:
    """The checkpoint in ``folder``; `ConfigError` if there is none, it is damaged,
    or it belongs to another configuration or dataset."""
    folder = Path(folder)
    path = folder / CHECKPOINT
    if not path.is_file():
        raise ConfigError(f"resume: no checkpoint in {folder}")
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"resume: {path} is not a readable checkpoint: {exc}") from exc
    if not isinstance(state, dict) or state.get("version") != VERSION:
        raise ConfigError(f"resume: {path} is not a checkpoint of this version")
    if state.get("fingerprint") != fingerprint:
        raise ConfigError(f"resume: {path} belongs to another configuration or dataset")
    log_bytes = state["log_bytes"]
    try:
        with open(folder / LOG, "rb") as handle:
            log = handle.read(log_bytes)
        series = (folder / state["series_file"]).read_bytes()
    except OSError as exc:
        raise ConfigError(f"resume: {folder} is missing part of its checkpoint: {exc}") from exc
    if len(log) != log_bytes:
        raise ConfigError(
            f"resume: {folder / LOG} is shorter than its checkpoint says ({len(log)} < {log_bytes} bytes)"
        )
    evaluations: dict[int, IndividualStats] = {}
    keys: dict[Any, int] = {}
    for number, line in enumerate(log.splitlines(), start=1):
        try:
            key, ind_id, record = json.loads(line)
            evaluations[ind_id] = stats_from_record(record)
        except ValueError as exc:
            raise ConfigError(f"resume: {folder / LOG} line {number} is damaged: {exc}") from exc
        keys[tuple(key)] = ind_id
    test: dict[int, IndividualStats] = {}
    series_ids: set[int] = set()
    offset = 0
    try:
        for phase, ind_id, lengths in state["series"]:
            stats = evaluations[ind_id] if phase == "train" else stats_from_record(state["test"][str(ind_id)])
            size = packed_size(lengths)
            stats.with_packed_arrays(lengths, series[offset : offset + size])
            offset += size
            if phase == "train":
                series_ids.add(ind_id)
            else:
                test[ind_id] = stats
    except (KeyError, ValueError) as exc:
        raise ConfigError(f"resume: {folder / state['series_file']} does not match its checkpoint: {exc}") from exc
    return Loaded(state, evaluations, keys, test, series_ids, log_bytes)


def has_checkpoint(folder: str | Path) -> bool:
    """Whether ``folder`` holds a checkpoint."""
    return (Path(folder) / CHECKPOINT).is_file()


@dataclass
class Progress:
    """Where a run stands, besides its population, elite and evaluations.

    ``generation``: generations done; ``random_state``: Python's ``random`` state
    between generations (the GA's only randomness); ``stall``: generations in a
    row that left the elite as it was (``best_marker``); ``elapsed``: seconds
    spent in generations; ``new_ids``: the last generation's new evaluations;
    ``logbook``: one row per generation (`optimizer.events.logbook_row`);
    ``robustness``: the run's robustness statistics once it has finished
    (`optimizer.run_robustness`).
    """

    random_state: tuple
    generation: int = 0
    stall: int = 0
    best_marker: list | None = None
    elapsed: float = 0.0
    new_ids: list[int] = field(default_factory=list)
    logbook: list[dict[str, Any]] = field(default_factory=list)
    robustness: dict[str, Any] | None = None


def save_state(
    writer: CheckpointWriter,
    fingerprint: str,
    progress: Progress,
    population: Sequence[Individual],
    elite: Elite,
    ledger: Ledger,
) -> None:
    """Checkpoint a generation: the ledger's new evaluations, the series it keeps,
    then the rest (the elite with its ties: `Elite.to_state`)."""
    version, internal, gauss = progress.random_state
    state = {
        "fingerprint": fingerprint,
        "generation": progress.generation,
        "random_state": [version, list(internal), gauss],
        "population": _members(population),
        "elite": elite.to_state(),
        "logbook": progress.logbook,
        "test": {str(i): stats_to_record(s) for i, s in ledger.test.items()},
        "evaluations": ledger.evaluations,
        "failed_evaluations": ledger.failed_evaluations,
        "test_evaluations": ledger.test_evaluations,
        "stall": progress.stall,
        "best_marker": progress.best_marker,
        "elapsed": progress.elapsed,
        "new_ids": progress.new_ids,
        "robustness": progress.robustness,
    }
    series = [*(("train", i, ledger.stats[i]) for i in sorted(ledger.with_series)),
              *(("test", i, s) for i, s in sorted(ledger.test.items()))]  # fmt: skip
    writer.save(state, ledger.take_log(), series)


def restore_state(
    loaded: Loaded, fitness: type[base.Fitness], ledger: Ledger
) -> tuple[Progress, list[Individual], dict[str, Any]]:
    """A loaded checkpoint back into ``ledger``; the progress, the population and
    the elite's state (for `Elite.restore`)."""
    state = loaded.state
    counts = (state["evaluations"], state["failed_evaluations"], state["test_evaluations"])
    ledger.restore(loaded.keys, loaded.evaluations, loaded.series_ids, loaded.test, counts)
    version, internal, gauss = state["random_state"]
    marker = state["best_marker"]
    progress = Progress(
        random_state=(version, tuple(internal), gauss),
        generation=state["generation"],
        stall=state["stall"],
        best_marker=None if marker is None else [(i, tuple(f)) for i, f in marker],
        elapsed=state["elapsed"],
        new_ids=list(state["new_ids"]),
        logbook=state["logbook"],
        robustness=state.get("robustness"),
    )
    return progress, _individuals(state["population"], fitness), state["elite"]


def _members(individuals: Iterable[Individual]) -> list[dict[str, Any]]:
    return [{"genes": list(ind), "id": ind.id, "fitness": list(ind.fitness.values),
             "crowding_dist": getattr(ind.fitness, "crowding_dist", None)} for ind in individuals]  # fmt: skip


def _individuals(rows: Iterable[dict[str, Any]], fitness: type[base.Fitness]) -> list[Individual]:
    out = []
    for row in rows:
        ind = Individual(row["genes"], fitness)
        ind.id = row["id"]
        ind.fitness.values = tuple(row["fitness"])
        if row["crowding_dist"] is not None:
            ind.fitness.crowding_dist = row["crowding_dist"]  # what DEAP's selNSGA2 sets
        out.append(ind)
    return out
