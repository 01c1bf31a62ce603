"""SQLite storage of walk-forward runs, beside `visualization_apps.storage` (additive).

A walk-forward's generations go to the run's ``generations`` table like any
run's, numbered over all folds (fold 2's first generation follows fold 1's last),
so the run page, the live stream and the exports show them as they show a run's;
each summary says its ``fold``, ``folds`` and ``fold_generation``, and the
``fold`` column (added by `migrate`) lets a fold's generations be read alone.
Individual ids are those of the fold's search plus ``(fold - 1) * ID_STRIDE``,
so that the folds' ids never meet.

The ``walk_forward`` table holds, per run, the fold windows (known when the run
starts), each finished fold's result as it ends, and the final summary
(OUT.json's ``walk_forward``).

Migration: `migrate` adds what is missing (the ``fold`` column, the
``walk_forward`` table) to a database of any earlier version, idempotently.
"""

from __future__ import annotations

import json
from typing import Any

from optimizer.stats import SCALAR_FIELDS
from visualization_apps.storage import Store

ID_STRIDE = 10**9
"""Ids of fold k's individuals start at (k - 1) * ID_STRIDE (a search makes far fewer evaluations)."""

TABLE = """
CREATE TABLE IF NOT EXISTS walk_forward (
    run_id INTEGER PRIMARY KEY REFERENCES runs(id) ON DELETE CASCADE,
    windows TEXT NOT NULL,
    folds TEXT NOT NULL DEFAULT '[]',
    summary TEXT
);
"""
_migrated: set[str] = set()


def migrate(store: Store) -> None:
    """Add the ``generations.fold`` column and the ``walk_forward`` table where missing."""
    if store.path in _migrated:
        return
    with store.transaction() as db:
        columns = {row["name"] for row in db.execute("PRAGMA table_info(generations)")}
        if "fold" not in columns:
            db.execute("ALTER TABLE generations ADD COLUMN fold INTEGER")
        db.execute(TABLE)
    _migrated.add(store.path)


def tag_fold(document: dict[str, Any], fold: int, folds: int, offset: int, *, total: int,
             eta_seconds: float | None, evaluations: tuple[int, int]) -> dict[str, Any]:  # fmt: skip
    """A fold's generation event (`GenerationEvent.to_json`) as the run's: numbered
    ``offset`` + its generation of ``total`` over all folds, ids moved by the fold's
    stride, ``eta_seconds`` over all folds, and totals of evaluations made before
    the fold (``evaluations``: made, failed) added."""
    shift = (fold - 1) * ID_STRIDE
    out = dict(document)
    out["fold"], out["folds"], out["fold_generation"] = fold, folds, document["generation"]
    out["fold_generations_total"] = document["generations_total"]
    out["generation"] = offset + document["generation"]
    out["generations_total"] = total
    out["eta_seconds"] = eta_seconds
    out["total_evaluations"] = evaluations[0] + document["total_evaluations"]
    out["total_failed_evaluations"] = evaluations[1] + document["total_failed_evaluations"]
    for name in ("population", "elite", "pareto_front"):
        out[name] = [i + shift for i in document[name]]
    out["individuals"] = [{**ind, "id": ind["id"] + shift} for ind in document["individuals"]]
    out["tie_changes"] = [{**change, "id": change["id"] + shift} for change in document.get("tie_changes", ())]
    return out


def add_fold_generation(store: Store, run_id: int, document: dict[str, Any], data_fingerprint: str) -> None:
    """Store a tagged generation (`tag_fold`) as `Store.add_generation` does, and its fold."""
    store.add_generation(run_id, document, data_fingerprint)
    with store.transaction() as db:
        db.execute("UPDATE generations SET fold = ? WHERE run_id = ? AND generation = ?",
                   (document["fold"], run_id, document["generation"]))  # fmt: skip


def start(store: Store, run_id: int, windows: list[dict[str, Any]], generations_total: int) -> None:
    """Record a walk-forward's fold windows as its run starts (kept on a resume), and
    its generations over all folds as the run's total until its first generation says."""
    migrate(store)
    with store.transaction() as db:
        db.execute("INSERT INTO walk_forward (run_id, windows) VALUES (?, ?) ON CONFLICT (run_id) DO UPDATE SET "
                   "windows = excluded.windows", (run_id, json.dumps(windows)))  # fmt: skip
        db.execute("UPDATE runs SET generations_total = ? WHERE id = ? AND generation = 0", (generations_total, run_id))


def add_fold(store: Store, run_id: int, fold: dict[str, Any]) -> None:
    """Record a finished fold's result (its JSON object; replaced if it is there)."""
    with store.transaction() as db:
        row = db.execute("SELECT folds FROM walk_forward WHERE run_id = ?", (run_id,)).fetchone()
        folds = [f for f in json.loads(row["folds"]) if f["fold"] != fold["fold"]] if row else []
        folds = sorted([*folds, fold], key=lambda f: f["fold"])
        db.execute("UPDATE walk_forward SET folds = ? WHERE run_id = ?", (json.dumps(folds, allow_nan=False), run_id))


def finish(store: Store, run_id: int, summary: dict[str, Any]) -> None:
    """Record the walk-forward's summary (OUT.json's ``walk_forward``)."""
    with store.transaction() as db:
        db.execute("UPDATE walk_forward SET summary = ?, folds = ? WHERE run_id = ?",
                   (json.dumps(summary, allow_nan=False), json.dumps(summary["folds"], allow_nan=False),
                    run_id))  # fmt: skip


def walk_forward(store: Store, run_id: int) -> dict[str, Any] | None:
    """A run's walk-forward as stored: ``windows``, ``folds`` (those finished) and
    ``summary`` (None until it has finished); None for a run that is none."""
    migrate(store)
    with store._connect() as db:
        row = db.execute("SELECT windows, folds, summary FROM walk_forward WHERE run_id = ?", (run_id,)).fetchone()
    if row is None:
        return None
    return {"windows": json.loads(row["windows"]), "folds": json.loads(row["folds"]),
            "summary": None if row["summary"] is None else json.loads(row["summary"])}  # fmt: skip


def has_generation(store: Store, run_id: int, generation: int) -> bool:
    """Whether generation ``generation`` (numbered over all folds) of the run is stored."""
    with store._connect() as db:
        row = db.execute("SELECT 1 FROM generations WHERE run_id = ? AND generation = ?", (run_id, generation)).fetchone()
    return row is not None


def fold_generations(store: Store, run_id: int, fold: int) -> list[dict[str, Any]]:
    """The stored generation summaries of one fold, in order."""
    migrate(store)
    with store._connect() as db:
        rows = db.execute("SELECT summary FROM generations WHERE run_id = ? AND fold = ? ORDER BY generation",
                          (run_id, fold)).fetchall()  # fmt: skip
    return [json.loads(row["summary"]) for row in rows]


VERDICT_FIGURES = ("efficiency", "t_stat", "profitable_folds_pct", "max_fold_profit_share")
"""The summary's figures a verdict carries (beside ``passed`` and the stitched statistics)."""


def verdicts(store: Store, run_ids: list[int] | None = None) -> dict[int, dict[str, Any]]:
    """Per walk-forward run (of ``run_ids``, or all), what the runs list and the
    compare page show of it, read without its series: ``folds`` (windows),
    ``folds_done``, ``finished``, ``passed`` (None until finished), the
    `VERDICT_FIGURES`, ``stitched`` (its scalar statistics, `SCALAR_FIELDS`; None
    until finished), ``label`` ("walk-forward, 5 folds: passed"), ``flat_folds``
    (finished folds that made no test trade: their test windows count as money held
    in cash, flat, in the stitched figures), ``no_member_folds`` (of those, the folds
    without a valid member) and ``best_fold`` (the fold of the last stored
    generation, whose training-window search the run's ``best`` is of; None before)
    and ``flat_note`` (`flat_note`, what the pages say next to the stitched figures)."""
    migrate(store)
    stitched = ", ".join(f"summary -> '$.stitched.{name}'" for name in SCALAR_FIELDS)
    figures = ", ".join(f"summary -> '$.{name}'" for name in VERDICT_FIGURES)
    query = (f"SELECT run_id, json_array_length(windows) AS folds, json_array_length(folds) AS done, "
             f"summary IS NOT NULL AS finished, summary -> '$.passed' AS passed, json_array({figures}) AS figures, "
             f"json_array({stitched}) AS stitched, {_FLAT} AS flat, {_NO_MEMBER} AS no_member, {_BEST_FOLD} AS best_fold "
             f"FROM walk_forward")  # fmt: skip
    args: list[int] = []
    if run_ids is not None:
        query += f" WHERE run_id IN ({','.join('?' * len(run_ids))})"
        args = list(run_ids)
    with store._connect() as db:
        rows = db.execute(query, args).fetchall() if run_ids != [] else []
    out = {}
    for row in rows:
        finished = bool(row["finished"])
        passed = json.loads(row["passed"]) if finished else None
        out[row["run_id"]] = {
            "run_id": row["run_id"], "folds": row["folds"], "folds_done": row["done"], "finished": finished,
            "passed": passed, **dict(zip(VERDICT_FIGURES, json.loads(row["figures"]), strict=True)),
            "stitched": dict(zip(SCALAR_FIELDS, json.loads(row["stitched"]), strict=True)) if finished else None,
            "label": verdict_label(row["folds"], row["done"], passed),
            "flat_folds": row["flat"], "no_member_folds": row["no_member"], "best_fold": row["best_fold"],
            "flat_note": flat_note(row["flat"], row["no_member"], row["done"]),
        }  # fmt: skip
    return out


_FLAT = ("(SELECT count(*) FROM json_each(walk_forward.folds) WHERE "
         "coalesce(json_extract(value, '$.test.total_trades'), 0) = 0)")
_NO_MEMBER = "(SELECT count(*) FROM json_each(walk_forward.folds) WHERE json_type(value, '$.params') IS NOT 'object')"
_BEST_FOLD = ("(SELECT fold FROM generations WHERE generations.run_id = walk_forward.run_id "
              "ORDER BY generation DESC LIMIT 1)")


def with_walk_forward(record: dict[str, Any], verdict: dict[str, Any] | None) -> dict[str, Any]:
    """A run's record (`Store.run`) with, for a walk-forward, its ``walk_forward``
    verdict (`verdicts`) and ``best_scope``: what its ``best`` is, "fold 5 of 5,
    its training window" (the search of the fold under way or last run; not an
    out-of-sample figure: those are the verdict's ``stitched``). A plain run's
    record is returned unchanged."""
    if verdict is None:
        return record
    fold = verdict["best_fold"]
    scope = None if fold is None else f"fold {fold} of {verdict['folds']}, its training window"
    return {**record, "walk_forward": verdict, "best_scope": scope}


def flat_note(flat: int, no_member: int, done: int) -> str | None:
    """"2 of 5 folds flat (no test trade; 1 without a valid member): held in cash ..."
    (None when every finished fold traded): what the stitched Sharpe and t-statistic
    count those folds as."""
    if not flat:
        return None
    why = f"; {no_member} without a valid member" if no_member else ""
    return (f"{flat} of {done} fold{'s' if done != 1 else ''} flat (no test trade{why}): their test windows count "
            f"as money held in cash (zero returns) in the stitched Sharpe and t-statistic")


def verdict_label(folds: int, done: int, passed: bool | None) -> str:
    """"walk-forward, 5 folds: passed" (or failed); "walk-forward, 2 of 5 folds run" before the end."""
    if passed is None:
        return f"walk-forward, {done} of {folds} folds run"
    return f"walk-forward, {folds} fold{'s' if folds != 1 else ''}: {'passed' if passed else 'failed'}"
