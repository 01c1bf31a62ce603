"""The REST routes that manage and compare: rename a run, delete a dataset, compare
runs, and the body limit of every request (on the `api` blueprint of
`visualization_apps.api`, whose error answers they share)."""

from __future__ import annotations

from flask import Response, current_app, jsonify, request
from werkzeug.exceptions import RequestEntityTooLarge

from visualization_apps.api import ApiError, _ctx, _json_body, _run_or_404, api
from visualization_apps.compare import MAX_RUNS, MIN_RUNS, comparison
from visualization_apps.datasets import DatasetInUse, delete_dataset
from visualization_apps.openapi import array, operation, ref

MAX_NAME_CHARS = 200
RENAME_BODY = {"required": True, "content": {"application/json": {"schema": {
    "type": "object", "required": ["name"], "additionalProperties": False,
    "properties": {"name": {"type": "string", "minLength": 1, "maxLength": MAX_NAME_CHARS}}}}}}  # fmt: skip
COMPARED = {"name": "runs", "in": "query", "required": True, "description": "2 to 4 run ids, comma-separated",
            "schema": {"type": "string", "pattern": r"^\d+(,\d+){1,3}$"}}  # fmt: skip
COMPARISON = {"type": "object", "required": ["runs", "config_diff"], "properties": {
    "runs": array({"type": "object"}), "config_diff": {"type": "object"}}}  # fmt: skip


@api.before_request
def _whole_body_within_limit() -> None:
    """A body sent without Content-Length (chunked) is read up to the upload limit:
    one that reaches it is refused with 413, never parsed truncated (a JSON body
    cut at the limit would answer "not valid JSON"). Form bodies are limited by
    their parser; a declared Content-Length over the limit is refused by Werkzeug."""
    limit = current_app.config.get("MAX_CONTENT_LENGTH")
    if limit is None or request.content_length is not None or request.method not in ("POST", "PUT", "PATCH"):
        return
    if request.mimetype in ("multipart/form-data", "application/x-www-form-urlencoded"):
        return
    if len(request.get_data(cache=True)) >= limit:
        raise RequestEntityTooLarge()


@api.errorhandler(RequestEntityTooLarge)
def _too_large(exc: RequestEntityTooLarge) -> tuple[Response, int]:
    limit = current_app.config.get("MAX_CONTENT_LENGTH") or 0
    detail = f"body: over the limit of {limit:,} bytes ({limit / 2**20:g} MiB)"
    return jsonify({"error": "request body too large", "details": [detail]}), 413


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
    if len(name) > MAX_NAME_CHARS:
        raise ApiError(400, "invalid request", [f"name: {len(name):,} characters; at most {MAX_NAME_CHARS}"])
    if any(ord(c) < 32 or 0xD800 <= ord(c) <= 0xDFFF for c in name):
        raise ApiError(400, "invalid request", ["name: control characters and lone surrogates are not allowed"])
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
