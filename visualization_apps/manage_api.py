"""The REST routes that manage and compare: rename a run, delete a dataset, compare
runs (on the `api` blueprint of
`visualization_apps.api`, whose error answers they share)."""

from __future__ import annotations

from flask import Response, current_app, jsonify, request
from werkzeug.exceptions import RequestEntityTooLarge

from optimizer.config_model import MAX_NAME_LENGTH, name_problem
from visualization_apps.api import ApiError, _api_error, _ctx, _json_body, _run_or_404, api
from visualization_apps.api_inputs import too_large
from visualization_apps.compare import MAX_RUNS, MIN_RUNS, comparison
from visualization_apps.datasets import DatasetInUse, delete_dataset
from visualization_apps.openapi import array, operation, ref

RENAME_BODY = {"required": True, "content": {"application/json": {"schema": {
    "type": "object", "required": ["name"], "additionalProperties": False,
    "properties": {"name": {"type": "string", "minLength": 1, "maxLength": MAX_NAME_LENGTH}}}}}}  # fmt: skip
COMPARED = {"name": "runs", "in": "query", "required": True, "description": "2 to 4 run ids, comma-separated",
            "schema": {"type": "string", "pattern": r"^\d+(,\d+){1,3}$"}}  # fmt: skip
COMPARISON = {"type": "object", "required": ["runs", "config_diff"], "properties": {
    "runs": array({"type": "object"}), "config_diff": {"type": "object"}}}  # fmt: skip


@api.errorhandler(RequestEntityTooLarge)
def _too_large(exc: RequestEntityTooLarge) -> tuple[Response, int]:
    """A body over the upload limit (a JSON body's own limit is `json_body`'s)."""
    return _api_error(too_large(int(current_app.config.get("MAX_CONTENT_LENGTH") or 0)))


@api.patch("/runs/<int:run_id>")
@operation("Rename a run", ok=(200, "status", ref("Run")), errors=(400, 404, 415), body=RENAME_BODY)
def rename_run(run_id: int) -> Response:
    """Give a run a new name (``{"name": ...}``; its stored configuration keeps the
    name it was started with); answers the run's status."""
    _run_or_404(run_id)
    body = _json_body()
    if not isinstance(body, dict) or set(body) != {"name"}:
        raise ApiError(400, "invalid request", ['body: must be {"name": "..."} and nothing else'])
    name = body["name"]
    if not isinstance(name, str) or not name.strip():
        raise ApiError(400, "invalid request", ["name: must be a non-blank string"])
    name = name.strip()
    problem = name_problem(name)  # the rule a run's configured name follows
    if problem is not None:
        raise ApiError(400, "invalid request", [f"name: {problem.message()}"])
    if not _ctx().store.rename_run(run_id, name):
        raise ApiError(404, f"no run {run_id}")
    _ctx().manager.refresh(run_id)
    return jsonify(_ctx().manager.status(run_id))


@api.delete("/datasets/<dataset_id>")
@operation("Delete an uploaded dataset no run uses", ok=(204, "deleted"), errors=(404, 409))
def remove_dataset(dataset_id: str) -> tuple[str, int]:
    """204, or 409 naming the runs made on it (or saying it is bundled)."""
    try:
        deleted = delete_dataset(_ctx().store, _ctx().uploads_dir, dataset_id)
    except DatasetInUse as exc:
        raise ApiError(409, str(exc), [f"runs: {run}" for run in exc.runs]) from exc
    if not deleted:
        raise ApiError(404, f"no dataset {dataset_id!r}")
    return "", 204


@api.get("/compare")
@operation("2 to 4 runs side by side: objectives per generation, elites, configuration differences",
           ok=(200, "comparison", COMPARISON), errors=(400, 404), query=(COMPARED,))  # fmt: skip
def compare_runs() -> Response:
    """``?runs=1,2``: per run its status, objectives, history and elite (without
    series), and ``config_diff`` (dotted key -> one value per run)."""
    raw = request.args.get("runs", "")
    try:
        run_ids = [int(part) for part in raw.split(",")]
    except ValueError:
        raise ApiError(400, "invalid query", [f"runs: {raw!r} is not a comma-separated list of run ids"]) from None
    if not MIN_RUNS <= len(set(run_ids)) == len(run_ids) <= MAX_RUNS:
        raise ApiError(400, "invalid query", [f"runs: give {MIN_RUNS} to {MAX_RUNS} different run ids, not {raw!r}"])
    for run_id in run_ids:
        if not 0 < run_id < 2**63:
            raise ApiError(400, "invalid query", [f"runs: {run_id} is not a run id"])
        _run_or_404(run_id)
    return jsonify(comparison(_ctx().store, run_ids))
