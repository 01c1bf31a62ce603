"""SQLite storage of runs, generations, individuals and datasets.

One database file in WAL mode: the web server and every run process open their
own connections; a run process writes a generation and its individuals in one
transaction, and only then tells the server (persist, then publish). Statistics
are stored as the JSON the API serves, so no read ever recomputes anything.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

from visualization_apps.connections import ConnectionPool
from visualization_apps.dataset_records import DatasetRecords
from visualization_apps.run_states import FINAL, RunState, check_transition
from visualization_apps.summaries import SummaryReads, population_quantiles

SCHEMA = """
CREATE TABLE IF NOT EXISTS datasets (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    path TEXT NOT NULL,
    rows INTEGER NOT NULL,
    bar_seconds REAL NOT NULL,
    first_time TEXT NOT NULL,
    last_time TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    bundled INTEGER NOT NULL DEFAULT 0,
    created_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    config TEXT NOT NULL,
    dataset_id TEXT NOT NULL,
    data_fingerprint TEXT,
    seed INTEGER NOT NULL,
    versions TEXT NOT NULL,
    state TEXT NOT NULL,
    generation INTEGER NOT NULL DEFAULT 0,
    generations_total INTEGER NOT NULL,
    evaluations INTEGER NOT NULL DEFAULT 0,
    failed_evaluations INTEGER NOT NULL DEFAULT 0,
    evals_per_second REAL,
    eta_seconds REAL,
    best TEXT,
    error TEXT,
    created_at REAL NOT NULL,
    started_at REAL,
    finished_at REAL
);
CREATE TABLE IF NOT EXISTS generations (
    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    generation INTEGER NOT NULL,
    summary TEXT NOT NULL,
    PRIMARY KEY (run_id, generation)
);
CREATE TABLE IF NOT EXISTS individuals (
    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    id INTEGER NOT NULL,
    full INTEGER NOT NULL,
    stats TEXT NOT NULL,
    PRIMARY KEY (run_id, id)
);
"""

RUN_FIELDS = (
    "id", "name", "dataset_id", "data_fingerprint", "seed", "state", "generation", "generations_total",
    "evaluations", "failed_evaluations", "evals_per_second", "eta_seconds", "error",
)  # fmt: skip


class Store(DatasetRecords, SummaryReads):
    """The database of one dashboard instance (thread-safe: a connection per call,
    from a `ConnectionPool`)."""

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        self._pool = ConnectionPool(self.path)
        with self._connect() as db:
            db.execute("PRAGMA journal_mode=WAL")
            db.executescript(SCHEMA)
        # One connection open as long as the store: SQLite deletes the WAL and its
        # index when the last connection closes, and the next one must create them,
        # which a full disk refuses - reads would fail with "disk I/O error". Idle,
        # it holds no transaction, so it blocks neither writers nor checkpoints.
        self._keeper = sqlite3.connect(self.path, check_same_thread=False)
        self._keeper.execute("SELECT count(*) FROM runs").fetchone()  # it opens the WAL files on its first read
        # by run: the individuals' statistics its last stored generation wrote (`add_generation`)
        self._stored: dict[int, dict[int, dict[str, Any]]] = {}

    def _connect(self) -> AbstractContextManager[sqlite3.Connection]:
        """A connection for one call, from the store's pool (`ConnectionPool.connect`)."""
        return self._pool.connect()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """A connection inside BEGIN IMMEDIATE ... COMMIT (rolled back on error)."""
        with self._connect() as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")

    # ------------------------------------------------------------------ runs
    def create_run(self, config: dict[str, Any], dataset_id: str, versions: dict[str, str]) -> int:
        with self.transaction() as db:
            cursor = db.execute(
                "INSERT INTO runs (name, config, dataset_id, seed, versions, state, generations_total, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (config["name"], json.dumps(config), dataset_id, config["ga"]["seed"], json.dumps(versions), RunState.QUEUED.value,
                 config["ga"]["generations"] * (config.get("walk_forward") or {}).get("folds", 1), time.time()),
            )  # fmt: skip
            return int(cursor.lastrowid)

    def run(self, run_id: int) -> dict[str, Any] | None:
        with self._connect() as db:
            row = db.execute("SELECT * FROM runs WHERE id = ?", (run_id,)).fetchone()
        if row is None:
            return None
        out = _run(row)
        out["overall_evals_per_second"] = self.overall_rate(run_id, out["evaluations"])
        return out

    def run_config(self, run_id: int) -> dict[str, Any] | None:
        with self._connect() as db:
            row = db.execute("SELECT config FROM runs WHERE id = ?", (run_id,)).fetchone()
        return None if row is None else json.loads(row["config"])

    def runs(self) -> list[dict[str, Any]]:
        with self._connect() as db:
            rows = db.execute("SELECT * FROM runs ORDER BY id DESC").fetchall()
        return [_run(row) for row in rows]

    def set_state(self, run_id: int, state: RunState | str, **fields: Any) -> RunState:
        """Move a run to ``state`` (and set other columns: started_at, finished_at,
        error, ...); returns the state it was in. The only write of a run's state:
        the transition is checked (`check_transition`) in the same transaction, so
        an illegal one raises `TransitionError` and writes nothing. `KeyError` if
        there is no such run."""
        with self.transaction() as db:
            row = db.execute("SELECT state FROM runs WHERE id = ?", (run_id,)).fetchone()
            if row is None:
                raise KeyError(run_id)
            columns = {"state": check_transition(run_id, row["state"], state).value, **fields}
            assignments = ", ".join(f"{name} = :{name}" for name in columns)
            db.execute(f"UPDATE runs SET {assignments} WHERE id = :run_id", {**columns, "run_id": run_id})
        return RunState(row["state"])

    def end_run(self, run_id: int, *, finished: bool, error: str | None = None) -> RunState | None:
        """The run process's last write: the run's final state, decided from the state
        recorded now, in the same transaction (so a stop accepted just before cannot
        be lost). ``error``: failed. Else a run asked to stop (``stopping``) is
        stopped, even if that was its last generation; a running one is completed if
        ``finished``, else interrupted (the server asked it to end: it is shutting
        down). Returns the state written, or None if the run is in no state a run
        process may end (deleted, or settled by the server already): nothing written."""
        with self.transaction() as db:
            row = db.execute("SELECT state FROM runs WHERE id = ?", (run_id,)).fetchone()
            if row is None or row["state"] not in (RunState.RUNNING, RunState.STOPPING):
                return None
            fields: dict[str, Any] = {"finished_at": time.time()}
            if error is not None:
                state, fields["error"] = RunState.FAILED, error
            elif row["state"] == RunState.STOPPING:
                state, fields = RunState.STOPPED, {}
            elif finished:
                state = RunState.COMPLETED
            else:
                state, fields = RunState.INTERRUPTED, {"error": "the server shut down; resume to go on"}
            columns = {"state": check_transition(run_id, row["state"], state).value, **fields}
            assignments = ", ".join(f"{name} = :{name}" for name in columns)
            db.execute(f"UPDATE runs SET {assignments} WHERE id = :run_id", {**columns, "run_id": run_id})
        return state

    def settle(self, run_id: int, error: str) -> bool:
        """A run whose process is gone without saying how it ended: if its recorded
        state still says a process works on it (running, stopping), it becomes
        interrupted (resumable) with ``error``. Whether it changed."""
        with self.transaction() as db:
            row = db.execute("SELECT state FROM runs WHERE id = ?", (run_id,)).fetchone()
            if row is None or row["state"] not in (RunState.RUNNING, RunState.STOPPING):
                return False
            db.execute("UPDATE runs SET state = ?, error = ? WHERE id = ?", (RunState.INTERRUPTED.value, error, run_id))
        return True

    def runs_in(self, states: tuple[str, ...]) -> list[int]:
        """The ids of the runs in one of ``states``, oldest first."""
        marks = ",".join("?" * len(states))
        with self._connect() as db:
            rows = db.execute(f"SELECT id FROM runs WHERE state IN ({marks}) ORDER BY id", states).fetchall()
        return [row["id"] for row in rows]

    def mark_interrupted(self) -> list[int]:
        """Runs a previous server was running (``running``, ``stopping``) become
        ``interrupted``, resumable; queued ones stay queued: this server starts them."""
        ids = self.runs_in((RunState.RUNNING.value, RunState.STOPPING.value))
        for run_id in ids:
            self.set_state(run_id, RunState.INTERRUPTED, error="the server stopped while it ran; resume to go on")
        return ids

    def delete_run(self, run_id: int) -> bool:
        with self.transaction() as db:
            return db.execute("DELETE FROM runs WHERE id = ?", (run_id,)).rowcount > 0

    # ------------------------------------------------------------ generations
    def add_generation(self, run_id: int, event: dict[str, Any], data_fingerprint: str) -> bool:
        """Store one generation's summary and its individuals, and the run's
        progress, in one transaction. Idempotent: a replayed generation (a resume
        sends its checkpoint's last one again, with the resumed process's timing) keeps
        what was stored of it, its original timing included; one the database never
        got (the server died between the checkpoint and the commit) is stored.
        Whether the generation's summary was new to the database (False: a replay
        of one stored already, which its watchers have had).

        An individual whose statistics are the very object this store wrote for it
        with the run's previous generation is not written again: the optimizer hands
        an unchanged individual's JSON as the same object
        (`optimizer.events.IndividualJson`), and dumping the elite's trades and
        equity every generation was most of a run process's time on fast
        evaluations."""
        summary = {k: v for k, v in event.items() if k != "individuals"}
        before = {} if event.get("replay") else self._stored.get(run_id, {})
        # The population's parameters, gene by gene, for parameter-evolution charts.
        by_id = {individual["id"]: individual["params"] for individual in event["individuals"]}
        genes = sorted(next(iter(by_id.values()), {}))
        summary["population_params"] = {g: [by_id[i][g] for i in event["population"] if i in by_id] for g in genes}
        summary["population_quantiles"] = population_quantiles(summary["population_params"])  # once, not per read
        with self.transaction() as db:
            new = db.execute(
                f"INSERT OR {'IGNORE' if event.get('replay') else 'REPLACE'} INTO generations "
                "(run_id, generation, summary) VALUES (?, ?, ?)",
                (run_id, event["generation"], json.dumps(summary, allow_nan=False)),
            ).rowcount > 0
            for individual in event["individuals"]:
                if before.get(individual["id"]) is individual:
                    continue
                full = 1 if individual["trades"] or individual["id"] in event["elite"] else 0
                db.execute(
                    "INSERT INTO individuals (run_id, id, full, stats) VALUES (?, ?, ?, ?) "
                    "ON CONFLICT (run_id, id) DO UPDATE SET full = excluded.full, stats = excluded.stats "
                    "WHERE excluded.full >= individuals.full",
                    (run_id, individual["id"], full, json.dumps(individual, allow_nan=False)),
                )
            best = [o["best"] for o in event["objectives"]]
            db.execute(
                "UPDATE runs SET generation = ?, generations_total = ?, evaluations = ?, failed_evaluations = ?, "
                "evals_per_second = ?, eta_seconds = ?, best = ?, data_fingerprint = ? WHERE id = ? AND generation <= ?",
                (event["generation"], event["generations_total"], event["total_evaluations"], event["total_failed_evaluations"],
                 event["evals_per_second"], event["eta_seconds"], json.dumps(best), data_fingerprint, run_id,
                 event["generation"]),
            )  # fmt: skip
        self._stored[run_id] = {individual["id"]: individual for individual in event["individuals"]}
        return new

    def generations_after(self, run_id: int, after: int) -> list[dict[str, Any]]:
        with self._connect() as db:
            rows = db.execute(
                "SELECT summary FROM generations WHERE run_id = ? AND generation > ? ORDER BY generation",
                (run_id, after),
            ).fetchall()
        return [json.loads(row["summary"]) for row in rows]

    def last_generation(self, run_id: int) -> dict[str, Any] | None:
        with self._connect() as db:
            row = db.execute(
                "SELECT summary FROM generations WHERE run_id = ? ORDER BY generation DESC LIMIT 1", (run_id,)
            ).fetchone()
        return None if row is None else json.loads(row["summary"])

    def individuals(self, run_id: int, ids: list[int]) -> list[dict[str, Any]]:
        """Stored statistics of ``ids``, in that order (missing ids left out)."""
        if not ids:
            return []
        marks = ",".join("?" * len(ids))
        with self._connect() as db:
            rows = db.execute(
                f"SELECT id, stats FROM individuals WHERE run_id = ? AND id IN ({marks})",
                (run_id, *ids),
            ).fetchall()
        found = {row["id"]: json.loads(row["stats"]) for row in rows}
        return [found[i] for i in ids if i in found]

    def all_individuals(self, run_id: int) -> list[dict[str, Any]]:
        """Every stored individual of a run, by id."""
        with self._connect() as db:
            rows = db.execute("SELECT stats FROM individuals WHERE run_id = ? ORDER BY id", (run_id,)).fetchall()
        return [json.loads(row["stats"]) for row in rows]

    def individual(self, run_id: int, ind_id: int) -> dict[str, Any] | None:
        found = self.individuals(run_id, [ind_id])
        return found[0] if found else None

    # ---------------------------------------- managing and comparing runs
    def rename_run(self, run_id: int, name: str) -> bool:
        """Give a run a new display name (its stored configuration keeps the name it
        was started with); False if there is no such run."""
        with self.transaction() as db:
            return db.execute("UPDATE runs SET name = ? WHERE id = ?", (name, run_id)).rowcount > 0

    def best_members(self, run_ids: list[int], fields: tuple[str, ...]) -> dict[int, dict[str, Any]]:
        """Per run, the first member of its last generation's elite (the elite is
        ordered best first by the first objective): ``{"id", "objectives": [{"metric",
        "goal"}, ...], "train": {field: value}, "test": {field: value} | None}``, only
        ``fields`` read (no series parsed).
        Runs without a generation are left out."""
        if not run_ids:
            return {}
        if not all(name.isidentifier() for name in fields):
            raise ValueError(f"fields: not all names: {fields}")
        train = ", ".join(f"i.stats -> '$.{name}'" for name in fields)
        test = ", ".join(f"i.stats -> '$.test.{name}'" for name in fields)
        marks = ",".join("?" * len(run_ids))
        query = f"""
            SELECT g.run_id, i.id, json_array({train}) AS train, json_type(i.stats, '$.test') AS has_test,
                   json_array({test}) AS test, r.config -> '$.objectives' AS objectives
            FROM generations g
            JOIN runs r ON r.id = g.run_id
            JOIN (SELECT run_id, MAX(generation) AS generation FROM generations WHERE run_id IN ({marks})
                  GROUP BY run_id) last ON last.run_id = g.run_id AND last.generation = g.generation
            JOIN individuals i ON i.run_id = g.run_id AND i.id = json_extract(g.summary, '$.elite[0]')
        """
        with self._connect() as db:
            rows = db.execute(query, run_ids).fetchall()
        out = {}
        for row in rows:
            train = dict(zip(fields, json.loads(row["train"]), strict=True))
            test = dict(zip(fields, json.loads(row["test"]), strict=True)) if row["has_test"] == "object" else None
            objectives = json.loads(row["objectives"] or "[]")
            out[row["run_id"]] = {"id": row["id"], "objectives": objectives, "train": train, "test": test}
        return out

    def elite_summaries(self, run_id: int) -> list[dict[str, Any]]:
        """The last generation's elite, best first, as `individual_summaries`: what a
        comparison plots."""
        last = self.last_generation(run_id)
        return [] if last is None else self.individual_summaries(run_id, last["elite"])

    def objective_history(self, run_id: int) -> list[dict[str, Any]]:
        """Per generation, in order: ``generation`` and ``objectives`` (per objective
        over the population: ``metric``, ``goal``, ``min``, ``mean``, ``max``,
        ``best``, ``worst``), read without the rest of the summaries."""
        with self._connect() as db:
            rows = db.execute(
                "SELECT generation, summary -> '$.objectives' AS objectives FROM generations WHERE run_id = ? "
                "ORDER BY generation",
                (run_id,),
            ).fetchall()
        return [{"generation": r["generation"], "objectives": json.loads(r["objectives"] or "[]")} for r in rows]


def _run(row: sqlite3.Row) -> dict[str, Any]:
    out = {name: row[name] for name in RUN_FIELDS}
    out["best"] = json.loads(row["best"]) if row["best"] else None
    if out["state"] in FINAL:  # no process: no rate, nothing left to wait for
        out["evals_per_second"] = out["eta_seconds"] = None
    out["versions"] = json.loads(row["versions"])
    for name in ("created_at", "started_at", "finished_at"):
        out[name] = _iso(row[name])
    return out


def _iso(seconds: float | None) -> str | None:
    if seconds is None:
        return None
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))
