"""The REST routes of walk-forward runs (on the `api` blueprint of
`visualization_apps.api`, whose error answers they share), and its page.

* ``GET /api/runs/<id>/walk-forward``: the fold windows (empty until the run
  process has placed them), the folds finished so far (each with its selected
  member's training and test statistics) and, once the run has finished, the
  summary (OUT.json's ``walk_forward``); 404 for a run that is no walk-forward.
* ``GET /api/runs/<id>/walk-forward/folds/<k>/generations``: fold k's generations.
* ``GET /api/runs/<id>/walk-forward/folds.csv``: the fold table.
* ``GET /api/runs/<id>/walk-forward/trades.csv``: the stitched out-of-sample trades.
* ``GET /api/walk-forward[?runs=1,2]``: every walk-forward run's verdict (or those
  of ``runs``), without series: ``run_id``, ``folds``, ``folds_done``, ``finished``,
  ``passed``, ``label`` ("walk-forward, 5 folds: passed"), the stitched scalar
  statistics (the runs list, the compare page and the run page's "Is it real?"
  panel show these instead of the last fold's best member).
* ``/runs/<id>/walk-forward``: the page (`templates/walk_forward.html`).

Everything is read as the run process stored it; nothing is computed here.
"""

from __future__ import annotations

import csv
import io
from typing import Any

from flask import Response, jsonify, render_template, request

from optimizer.config import parse_config
from optimizer.labels import gene_labels
from optimizer.stats import MIN_RETURN_PERIODS
from visualization_apps import walk_forward_store as wf_store
from visualization_apps.api import ApiError, _attachment, _ctx, _run_or_404, api
from visualization_apps.openapi import array, operation
from visualization_apps.pages import _not_found, pages

WALK_FORWARD = {"type": "object", "required": ["windows", "folds", "summary"], "properties": {
    "windows": array({"type": "object"}), "folds": array({"type": "object"}),
    "summary": {"type": ["object", "null"]},
    "limits": {"type": "object", "description": "min_trades (ga.min_trades) and min_return_periods (the daily "
               "returns a Sharpe ratio needs): what the page says when a figure is undefined"}}}  # fmt: skip
MAX_VERDICTS = 1000
VERDICT_RUNS = {"name": "runs", "in": "query", "required": False, "description": "run ids, comma-separated "
                f"(at most {MAX_VERDICTS}); without it, every walk-forward run",
                "schema": {"type": "string", "pattern": r"^\d+(,\d+)*$"}}  # fmt: skip
VERDICT = {"type": "object", "required": ["run_id", "folds", "folds_done", "finished", "passed", "label", "stitched"],
           "properties": {"run_id": {"type": "integer"}, "folds": {"type": "integer"},
                          "folds_done": {"type": "integer"}, "finished": {"type": "boolean"},
                          "passed": {"type": ["boolean", "null"]}, "label": {"type": "string"},
                          "stitched": {"type": ["object", "null"]}}}  # fmt: skip
FOLD_COLUMNS = ("total_return_pct", "market_return_pct", "sharpe", "max_drawdown_pct", "total_trades",
                "win_rate_pct", "profit_factor")  # fmt: skip
FOLD_COUNTS = ("train_bars", "test_bars", "seed", "evaluations")
"""The fold table's columns after the windows: bars of each window, the fold's GA seed, its search's evaluations."""
TRADE_COLUMNS = ("entry_time", "exit_time", "side", "entry_price", "exit_price", "pnl_pct", "reason", "bars_held")


def _walk_forward_or_404(run_id: int) -> dict[str, Any]:
    _run_or_404(run_id)
    found = wf_store.walk_forward(_ctx().store, run_id)
    if found is not None:
        return found
    if "walk_forward" not in (_ctx().store.run_config(run_id) or {}):
        raise ApiError(404, f"run {run_id} is no walk-forward")
    return {"windows": [], "folds": [], "summary": None}  # its process has not placed the folds yet


@api.get("/runs/<int:run_id>/walk-forward")
@operation("A walk-forward run's folds and summary", ok=(200, "the walk-forward", WALK_FORWARD), errors=(404,))
def walk_forward(run_id: int) -> Response:
    """The fold windows, the finished folds and (once finished) the summary, and
    the limits under which a figure is undefined (``limits``)."""
    found = _walk_forward_or_404(run_id)
    config = _ctx().store.run_config(run_id) or {}
    limits = {"min_trades": (config.get("ga") or {}).get("min_trades"), "min_return_periods": MIN_RETURN_PERIODS}
    return jsonify({**found, "limits": limits})


@api.get("/walk-forward")
@operation("Every walk-forward run's verdict (light: no series)", ok=(200, "verdicts", array(VERDICT)),
           errors=(400,), query=(VERDICT_RUNS,))  # fmt: skip
def verdicts() -> Response:
    """The verdicts of all walk-forward runs, or of ``?runs=1,2`` (ids that are no
    walk-forward are left out), in run order."""
    text = request.args.get("runs")
    ids = None
    if text is not None:
        try:
            ids = [int(part) for part in text.split(",")]
        except ValueError:
            ids = []
        if not 0 < len(ids) <= MAX_VERDICTS or not all(0 < i < 2**63 for i in ids):
            raise ApiError(400, "invalid query", [f"runs: {text[:40]!r} is not a comma-separated list of 1 to "
                                                  f"{MAX_VERDICTS} run ids (1,2,3)"])  # fmt: skip
    found = wf_store.verdicts(_ctx().store, ids)
    return jsonify([found[k] for k in sorted(found)])


@api.get("/runs/<int:run_id>/walk-forward/folds/<int:fold>/generations")
@operation("One fold's generation summaries", ok=(200, "generations", array({"type": "object"})), errors=(404,))
def fold_generations(run_id: int, fold: int) -> Response:
    """Fold ``fold``'s generations, in order (numbered over all folds; ``fold_generation`` within it)."""
    found = _walk_forward_or_404(run_id)
    if not 1 <= fold <= len(found["windows"]):
        raise ApiError(404, f"run {run_id} has no fold {fold} (it has {len(found['windows'])})")
    return jsonify(wf_store.fold_generations(_ctx().store, run_id, fold))


@api.get("/runs/<int:run_id>/walk-forward/folds.csv")
@operation("The fold table as CSV (an attachment)", ok=(200, "the fold table", {"type": "string"}, "text/csv"),
           errors=(404,))  # fmt: skip
def folds_csv(run_id: int) -> Response:
    """One row per finished fold: its windows, `FOLD_COUNTS`, the selected
    parameters, the training (``train_``) and test (``test_``) statistics of the
    selected member, and ``note`` (why a fold has no selected member: its row's
    parameters and statistics are blank)."""
    found = _walk_forward_or_404(run_id)
    genes = [gene.name for gene in parse_config(_ctx().store.run_config(run_id)).genes]
    label = gene_labels(genes)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["fold", "train_start", "train_end", "test_start", "test_end", *FOLD_COUNTS,
                     *(label[g] for g in genes), *(f"train_{c}" for c in FOLD_COLUMNS),
                     *(f"test_{c}" for c in FOLD_COLUMNS), "note"])  # fmt: skip
    for fold in found["folds"]:
        params = fold["params"] or {}
        train, test = fold["train"] or {}, fold["test"] or {}
        writer.writerow([fold["fold"], fold["train_start"], fold["train_end"], fold["test_start"], fold["test_end"],
                         *(fold.get(c) for c in FOLD_COUNTS), *(params.get(g) for g in genes),
                         *(train.get(c) for c in FOLD_COLUMNS), *(test.get(c) for c in FOLD_COLUMNS),
                         fold.get("note")])  # fmt: skip
    return _attachment(out.getvalue(), f"run-{run_id}-folds.csv", "text/csv")


@api.get("/runs/<int:run_id>/walk-forward/trades.csv")
@operation("The stitched out-of-sample trades as CSV (an attachment)",
           ok=(200, "the trades", {"type": "string"}, "text/csv"), errors=(404, 409))  # fmt: skip
def trades_csv(run_id: int) -> Response:
    """The stitched out-of-sample trades, with the fold each belongs to; 409 before the run has finished.
    A trade closed on the last bar of a fold's test window before the data's end says
    ``end_of_fold`` (`optimizer.walk_forward.results.END_OF_FOLD`); ``end_of_data`` is the data's last bar."""
    found = _walk_forward_or_404(run_id)
    if found["summary"] is None:
        raise ApiError(409, f"run {run_id}'s walk-forward has not finished: its stitched trades are not there yet")
    folds = found["summary"]["folds"]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["fold", *TRADE_COLUMNS])
    for fold in folds:  # the stitched trades are the folds' test trades, in order (pnl_pct is per trade)
        for trade in (fold["test"] or {}).get("trades", []):
            writer.writerow([fold["fold"], *(trade[c] for c in TRADE_COLUMNS)])
    return _attachment(out.getvalue(), f"run-{run_id}-stitched-trades.csv", "text/csv")


@pages.get("/runs/<int:run_id>/walk-forward")
def walk_forward_page(run_id: int) -> str | tuple[str, int]:
    store = _ctx().store
    if store.run(run_id) is None:
        return _not_found(f"There is no run {run_id}.")
    if "walk_forward" not in (store.run_config(run_id) or {}):
        return _not_found(f"Run {run_id} is no walk-forward.")
    return render_template("walk_forward.html", run_id=run_id)
