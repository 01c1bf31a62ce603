"""The REST routes that export a run: the whole run as one JSON file, one CSV row per
evaluated individual, and an individual's re-runnable configuration (attachments, on
the `api` blueprint of `visualization_apps.api`, whose error answers they share)."""

from __future__ import annotations

import csv
import io
import json

from flask import Response

from optimizer.config import parse_config
from optimizer.labels import gene_labels
from optimizer.stats import SCALAR_FIELDS
from optimizer.strategy import fixed_config
from visualization_apps import walk_forward_store as wf_store
from visualization_apps.api import _attachment, _ctx, _individual_or_404, _run_or_404, api
from visualization_apps.bounded_json import MAX_ID
from visualization_apps.csv_robustness import robustness_columns, robustness_row
from visualization_apps.openapi import operation, ref
from visualization_apps.walk_forward_exports import (
    export_walk_forward,
    fold_of,
    is_walk_forward,
    selected_ids,
    test_windows,
)


@api.get("/runs/<int:run_id>/export.json")
@operation(
    "The run, its configuration, generations and elite as one file (an attachment)",
    ok=(200, "the export", {"type": "object"}),
    errors=(404,),
)
def export_json(run_id: int) -> Response:
    """The run's status, configuration, every generation and the elite, as one file."""
    record = _run_or_404(run_id)
    store = _ctx().store
    last = store.last_generation(run_id)
    walk_forward = export_walk_forward(store, run_id)  # a walk-forward's folds and summary, as OUT.json's
    if walk_forward is not None:  # its record says what its best is; its elite members say their fold
        record = wf_store.with_walk_forward(record, wf_store.verdicts(store, [run_id]).get(run_id))
    elite = [] if last is None else store.individuals(run_id, last["elite"])
    document = {
        "run": record,
        "config": store.run_config(run_id),
        "generations": store.generations_after(run_id, 0),
        "elite": elite if walk_forward is None else [{**e, "fold": fold_of(e["id"])} for e in elite],
        "robustness": store.run_robustness(run_id),
    }
    if walk_forward is not None:
        document["walk_forward"] = walk_forward
    return _attachment(json.dumps(document, allow_nan=False), f"run-{run_id}.json", "application/json")


@api.get("/runs/<int:run_id>/export.csv")
@operation(
    "One CSV row per evaluated individual (an attachment)",
    ok=(200, "the export", {"type": "string"}, "text/csv"),
    errors=(404,),
)
def export_csv(run_id: int) -> Response:
    """One row per evaluated individual: id, parameters, every statistic, the
    test period's statistics (``test_`` columns) where there are some, and the
    elite members' robustness figures (`robustness_columns`; empty for the others).
    A walk-forward's rows add ``fold``, ``selected`` and ``test_window``
    (`visualization_apps.walk_forward_exports`): their ``test_`` columns are the
    fold's own test window."""
    _run_or_404(run_id)
    individuals = _ctx().store.individuals_page(run_id, -1, MAX_ID)  # summaries: no series parsed
    genes = [gene.name for gene in parse_config(_ctx().store.run_config(run_id)).genes]
    label = gene_labels(genes)  # the headers a trader reads (optimizer.labels)
    metrics = [o["metric"] for o in _ctx().store.run_config(run_id).get("objectives", [])]
    columns = ["id", "valid", "failed", "error", *(label[g] for g in genes), *SCALAR_FIELDS,
               *(f"test_{f}" for f in SCALAR_FIELDS), "ties", "tie_ranges", *robustness_columns(metrics)]  # fmt: skip
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    folds = is_walk_forward(_ctx().store, run_id)  # a walk-forward's rows say their fold, after the id,
    selected = selected_ids(_ctx().store, run_id) if folds else set()  # whether the fold carried it forward
    windows = test_windows(_ctx().store, run_id) if folds else {}  # and the fold's own test window
    writer.writerow([columns[0], "fold", "selected", "test_window", *columns[1:]] if folds else columns)
    for ind in individuals:
        test = ind.get("test") or {}
        fold = [fold_of(ind["id"]), ind["id"] in selected, windows.get(fold_of(ind["id"]))] if folds else []
        writer.writerow([ind["id"], *fold, ind.get("valid"), ind["failed"], ind["error"],
                         *(ind["params"].get(g) for g in genes), *(ind[f] for f in SCALAR_FIELDS),
                         *(test.get(f) for f in SCALAR_FIELDS), ind.get("ties"),
                         None if ind.get("tie_ranges") is None else json.dumps(ind["tie_ranges"]),
                         *robustness_row(ind.get("robustness"), len(metrics))])  # fmt: skip
    return _attachment(out.getvalue(), f"run-{run_id}.csv", "text/csv")


@api.get("/runs/<int:run_id>/individuals/<int:iid>/config")
@operation(
    "A configuration with this individual's values fixed (an attachment)",
    ok=(200, "configuration", ref("RunConfiguration")),
    errors=(404,),
)
def individual_config(run_id: int, iid: int) -> Response:
    """A configuration with this individual's values fixed: it backtests exactly it."""
    found = _individual_or_404(run_id, iid)
    config = parse_config(_ctx().store.run_config(run_id))
    document = fixed_config(config, found["params"])
    document["name"] = f"{config.name} #{iid}"
    return _attachment(json.dumps(document, indent=2), f"run-{run_id}-individual-{iid}.json", "application/json")
