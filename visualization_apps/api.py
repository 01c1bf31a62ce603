"""The REST API under ``/api`` (DESIGN.md, "REST and Socket.IO").

Every error is JSON ``{"error": ..., "details": [...]}`` with a 4xx status. No
route here calls the engine: statistics are read as stored.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request
from werkzeug.exceptions import HTTPException

from optimizer.config import parse_config
from optimizer.labels import gene_labels
from optimizer.schema import config_schema
from optimizer.stats import SCALAR_FIELDS
from visualization_apps import walk_forward_store as wf_store
from visualization_apps.api_inputs import (
    ApiError,
    checked_submission,
    cursor,
    json_body,
    no_content,
)
from visualization_apps.bounded_json import MAX_INTEGER
from visualization_apps.cluster import on_cluster
from visualization_apps.faults import check_free_space, is_disk_full, storage_fault
from visualization_apps.limits import Limits
from visualization_apps.openapi import array, openapi_document, operation, ref
from visualization_apps.queries import (
    AFTER_ID,
    FIELDS,
    GENERATION_FIELDS,
    IDS,
    INDIVIDUALS_PAGE,
    LIMIT,
    MAX_PAGE,
    QueryError,
    fields,
    generation_fields,
    ids_query,
    int_query,
)
from visualization_apps.robustness_bins import MAX_BINS as MAX_ROBUSTNESS_BINS
from visualization_apps.robustness_bins import binned_json
from visualization_apps.run_manager import RunError

api = Blueprint("api", __name__, url_prefix="/api")
RUN_BODY = {"required": True, "content": {"application/json": {"schema": ref("RunConfiguration")}}}
AFTER = {"name": "after", "in": "query", "required": False,
         "schema": {"type": "integer", "minimum": 0, "maximum": MAX_INTEGER, "default": 0}}  # fmt: skip
BINS = {"name": "bins", "in": "query", "required": False, "description": (
    "the per-split arrays binned instead (logit_histogram, selection_density: N bins an axis, is_sharpe_range)"),
    "schema": {"type": "integer", "minimum": 2, "maximum": MAX_ROBUSTNESS_BINS}}  # fmt: skip


@api.errorhandler(ApiError)
def _api_error(exc: ApiError) -> tuple[Response, int]:
    return jsonify({"error": exc.error, "details": exc.details}), exc.status


@api.errorhandler(QueryError)
def _query_error(exc: QueryError) -> tuple[Response, int]:
    return jsonify({"error": "invalid query", "details": [exc.detail]}), 400


@api.errorhandler(HTTPException)
def _http_error(exc: HTTPException) -> tuple[Response, int]:
    return jsonify({"error": exc.description or exc.name, "details": []}), exc.code or 500


def _json_body() -> Any:
    """The request's JSON body within the bounds (see `json_body`)."""
    return json_body(int(current_app.config["MAX_JSON_BYTES"]))


@api.errorhandler(sqlite3.OperationalError)
def _storage_error(exc: sqlite3.OperationalError) -> tuple[Response, int]:
    """A write the database refused (a full disk: 507; busy or failing: 503); nothing was changed."""
    status, message = storage_fault(exc)
    current_app.logger.warning("%s %s: %s (%s)", request.method, request.path, message, exc)
    return jsonify({"error": message, "details": [str(exc)]}), status


def _ctx():
    return current_app.extensions["dashboard"]


def _run_or_404(run_id: int) -> dict[str, Any]:
    record = _ctx().store.run(run_id)
    if record is None:
        raise ApiError(404, f"no run {run_id}")
    return record


def _submission() -> tuple[dict[str, Any], str, dict[str, Any]]:
    """POST /api/runs's body, checked (see `checked_submission`)."""
    config = current_app.config
    limits = Limits(int(config["MAX_WORKERS"]), int(config["MAX_EVALUATIONS"]), cluster=on_cluster(current_app))
    return checked_submission(_ctx().store, limits, int(config["MAX_JSON_BYTES"]))


@api.get("/health")
@operation("Liveness and versions", ok=(200, "ok", {"type": "object"}))
def health() -> Response:
    return jsonify({"status": "ok", "versions": _ctx().versions})


@api.get("/openapi.json")
@operation("This document", ok=(200, "the OpenAPI document", {"type": "object"}))
def openapi() -> Response:
    return jsonify(openapi_document(current_app))


@api.get("/runs")
@operation("All runs, newest first", ok=(200, "runs", array(ref("Run"))))
def list_runs() -> Response:
    """Every run's status, each with ``best_member``: the first of its elite (best
    by the first objective) with its objectives and statistics (None before its
    first generation)."""
    runs = _ctx().store.runs()
    best = _ctx().store.best_members([r["id"] for r in runs], SCALAR_FIELDS)
    verdicts = wf_store.verdicts(_ctx().store, [r["id"] for r in runs])  # a walk-forward's verdict and best_scope
    return jsonify([{**wf_store.with_walk_forward(r, verdicts.get(r["id"])), "best_member": best.get(r["id"])}
                    for r in runs])  # fmt: skip


@api.post("/runs")
@operation(
    "Start a run (queued until a slot is free); answers its time estimate",
    ok=(201, "created", ref("CreatedRun")), errors=(400, 413, 415), body=RUN_BODY,
)  # fmt: skip
def create_run() -> tuple[Response, int]:
    raw, dataset, estimate = _submission()
    _room_for_a_run()
    run_id = _ctx().manager.submit(raw, dataset, _ctx().versions)
    return jsonify({"id": run_id, "estimate": estimate}), 201


@api.post("/runs/estimate")
@operation(
    "Check a run configuration as a submission is, and estimate its time, without starting it",
    ok=(200, "valid: its estimate", ref("Estimate")), errors=(400, 413, 415), body=RUN_BODY,
)  # fmt: skip
def estimate_run() -> Response:
    """A dry run of POST /api/runs: the same checks, the estimate, nothing stored."""
    return jsonify(_submission()[2])


@api.get("/runs/<int:run_id>")
@operation(
    "A run's status and robustness (?fields=summary: its robustness without the per-split arrays)",
    ok=(200, "status", ref("Run")), errors=(400, 404), query=(FIELDS,),
)  # fmt: skip
def run_status(run_id: int) -> Response:
    light = fields() == "summary"
    record = _ctx().manager.status(run_id)
    if record is None:
        raise ApiError(404, f"no run {run_id}")
    record = wf_store.with_walk_forward(record, wf_store.verdicts(_ctx().store, [run_id]).get(run_id))
    # The run's robustness statistics, stored with its last event: spliced in as
    # stored (the per-split arrays are 0.8 MB; parsing and encoding them again made a
    # finished run's status cost 50 ms).
    robustness = _ctx().store.run_robustness_json(run_id, light=light) or "null"
    encoded = current_app.json.dumps({k: v for k, v in record.items() if k != "robustness"})  # never empty: id, state...
    return Response(f'{encoded[:-1]}, "robustness": {robustness}}}', mimetype="application/json")


@api.get("/runs/<int:run_id>/robustness")
@operation(
    "The run's robustness statistics (PBO by CSCV with its logits and selections, trials); null before its end",
    ok=(200, "robustness, or null (with ?bins=N: the per-split arrays binned instead)",
        {"oneOf": [ref("RunRobustness"), {"type": "object"}, {"type": "null"}]}),
    errors=(400, 404), query=(BINS,),
)  # fmt: skip
def run_robustness(run_id: int) -> Response:
    """The run's ``robustness`` as stored with its last generation (docs/OPTIMIZER.md,
    Robustness), so that the light generation summaries leave its per-split arrays
    out; with ``?bins=N`` those arrays binned as the run page's "Is it real?" panel
    draws them (`robustness_bins.binned`: a few kB instead of 0.8 MB)."""
    bins = int_query("bins", 0, 2, MAX_ROBUSTNESS_BINS) if "bins" in request.args else None
    _run_or_404(run_id)
    stored = _ctx().store.run_robustness_json(run_id) or "null"
    return Response(stored if bins is None else binned_json(stored, bins), mimetype="application/json")


@api.get("/runs/<int:run_id>/config")
@operation(
    "The run's configuration as it was started", ok=(200, "configuration", ref("RunConfiguration")), errors=(404,)
)
def saved_config(run_id: int) -> Response:
    """The run's configuration as it was started (normalized)."""
    _run_or_404(run_id)
    return jsonify(_ctx().store.run_config(run_id))


@api.post("/runs/<int:run_id>/stop")
@operation(
    "Stop after the current generation (resumable)", ok=(202, "stopping or stopped", ref("Action")), errors=(404, 409)
)
def stop_run(run_id: int) -> tuple[Response, int]:
    return _run_action(run_id, _ctx().manager.stop)


@api.post("/runs/<int:run_id>/resume")
@operation("Resume from the last checkpoint", ok=(202, "queued", ref("Action")), errors=(404, 409))
def resume_run(run_id: int) -> tuple[Response, int]:
    return _run_action(run_id, _ctx().manager.resume, needs_room=True)


def _room_for_a_run() -> None:
    """507 while the data folder's disk has less free space than a run needs to start
    (`faults.MIN_FREE_BYTES`): the run would only wait in the queue, saying nothing
    (an outside trial: five submissions on a full disk answered 201 and waited)."""
    folder = _ctx().manager.runs_dir.parent  # the data folder (its runs/ is made when the manager starts)
    try:
        check_free_space(folder)
    except OSError as exc:
        if not is_disk_full(exc):
            raise
        status, message = storage_fault(exc)
        raise ApiError(status, message, [f"{folder}: {exc.strerror}"]) from exc


def _run_action(run_id: int, action, *, needs_room: bool = False) -> tuple[Response, int]:
    """Stop or resume: 202 with the new state, 409 when the state does not allow it;
    ``needs_room``: 507 first while the disk has no room for a run to start."""
    _run_or_404(run_id)
    if needs_room:
        _room_for_a_run()
    try:
        state = action(run_id)
    except RunError as exc:
        raise ApiError(409, str(exc)) from exc
    return jsonify({"id": run_id, "state": state}), 202


@api.delete("/runs/<int:run_id>")
@operation("Delete a run, its results and checkpoint", ok=(204, "deleted"), errors=(404,))
def delete_run(run_id: int) -> Response:
    _run_or_404(run_id)
    _ctx().manager.delete(run_id)
    return no_content()


@api.get("/runs/<int:run_id>/generations")
@operation(
    "Generation summaries after generation N, in order",
    ok=(200, "summaries", array(ref("GenerationSummary"))),
    errors=(400, 404),
    query=(AFTER, GENERATION_FIELDS),
)
def generations(run_id: int) -> Response:
    _run_or_404(run_id)
    after = cursor("after")
    kind = generation_fields()
    if kind == "full":
        return jsonify(_ctx().store.generations_after(run_id, after))
    return jsonify(_ctx().store.generation_summaries_after(run_id, after, params=kind == "population"))


@api.get("/runs/<int:run_id>/elite")
@operation(
    "The elite's statistics, best first (?fields=summary: without trades, equity and other series)",
    ok=(200, "elite", array(ref("IndividualStats"))),
    errors=(400, 404),
    query=(FIELDS,),
)
def elite(run_id: int) -> Response:
    _run_or_404(run_id)
    store = _ctx().store
    last = store.last_generation(run_id)
    if last is None:
        return jsonify([])
    if fields() == "summary":
        return jsonify(store.individual_summaries(run_id, last["elite"]))
    return jsonify(store.individuals(run_id, last["elite"]))


@api.get("/runs/<int:run_id>/individuals")
@operation(
    "Individuals' summaries (no series), by id: a page after a cursor, or the ids asked for",
    ok=(200, "a page of summaries and the next cursor", INDIVIDUALS_PAGE),
    errors=(400, 404),
    query=(AFTER_ID, LIMIT, IDS),
)
def individuals_page(run_id: int) -> Response:
    """``?after=ID&limit=K``: up to K summaries with an id above ID, and ``next``
    (the cursor for the next page, None after the last); ``?ids=3,7,9``: those
    individuals' summaries, in that order (unknown ids left out; ``next`` None)."""
    _run_or_404(run_id)
    store = _ctx().store
    ids = ids_query()
    if ids is not None:
        return jsonify({"individuals": store.individual_summaries(run_id, ids), "next": None})
    after = cursor("after", default=-1)  # absent: from the first id (0)
    limit = int_query("limit", 100, 1, MAX_PAGE)
    page = store.individuals_page(run_id, after, limit)
    return jsonify({"individuals": page, "next": page[-1]["id"] if len(page) == limit else None})


@api.get("/runs/<int:run_id>/labels")
@operation(
    "The run's genes, in order, and their labels (optimizer.labels)",
    ok=(200, "genes and labels", {"type": "object"}),
    errors=(404,),
)
def labels(run_id: int) -> Response:
    """``{"genes": [names in gene order], "labels": {name: label}}``."""
    _run_or_404(run_id)
    names = [gene.name for gene in parse_config(_ctx().store.run_config(run_id)).genes]
    return jsonify({"genes": names, "labels": gene_labels(names)})


def _individual_or_404(run_id: int, ind_id: int) -> dict[str, Any]:
    _run_or_404(run_id)
    found = _ctx().store.individual(run_id, ind_id)
    if found is None:
        raise ApiError(404, f"run {run_id} has no individual {ind_id}")
    return found


@api.get("/runs/<int:run_id>/individuals/<int:iid>")
@operation("One individual's statistics", ok=(200, "statistics", ref("IndividualStats")), errors=(404,))
def individual(run_id: int, iid: int) -> Response:
    return jsonify(_individual_or_404(run_id, iid))


@api.get("/schema/config")
@operation("The JSON Schema of a run configuration", ok=(200, "JSON Schema", {"type": "object"}))
def schema() -> Response:
    return jsonify(config_schema())


def _attachment(body: str, filename: str, mimetype: str) -> Response:
    response = Response(body, mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


# The routes of datasets, that manage and compare runs, and the walk-forward's, on this blueprint.
from visualization_apps import datasets_api, exports_api, manage_api, walk_forward_api  # noqa: E402, F401
