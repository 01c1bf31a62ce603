"""The REST API under ``/api`` (DESIGN.md, "REST and Socket.IO").

Every error is JSON ``{"error": ..., "details": [...]}`` with a 4xx status. No
route here calls the engine: statistics are read as stored.
"""

from __future__ import annotations

import csv
import functools
import io
import json
import os
import sqlite3
import tempfile
import uuid
from pathlib import Path
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request
from werkzeug.exceptions import HTTPException

from optimizer.config import parse_config
from optimizer.data import MarketData, load_candles
from optimizer.errors import ConfigError, DataError, InputError
from optimizer.schema import config_schema
from optimizer.stats import SCALAR_FIELDS, iso_times
from optimizer.strategy import fixed_config
from visualization_apps.datasets import dataset_record
from visualization_apps.faults import storage_fault
from visualization_apps.openapi import array, openapi_document, operation, ref
from visualization_apps.run_manager import RunError

api = Blueprint("api", __name__, url_prefix="/api")
UPLOAD_SUFFIXES = (".csv", ".parquet", ".pq")
RUN_BODY = {"required": True, "content": {"application/json": {"schema": ref("RunConfiguration")}}}
UPLOAD_BODY = {"required": True, "content": {"multipart/form-data": {"schema": {
    "type": "object", "required": ["file"], "properties": {"file": {"type": "string", "format": "binary"}}}}}}  # fmt: skip
AFTER = {"name": "after", "in": "query", "required": False, "schema": {"type": "integer", "minimum": 0, "default": 0}}
TIMESTAMPS = {"name": "timestamps", "in": "query", "required": False,
              "schema": {"type": "string", "enum": ["open", "close"], "default": "open"}}  # fmt: skip


class ApiError(Exception):
    """An error answered as JSON with ``status``."""

    def __init__(self, status: int, error: str, details: list[str] | None = None) -> None:
        super().__init__(error)
        self.status = status
        self.error = error
        self.details = details or []


@api.errorhandler(ApiError)
def _api_error(exc: ApiError) -> tuple[Response, int]:
    return jsonify({"error": exc.error, "details": exc.details}), exc.status


@api.errorhandler(HTTPException)
def _http_error(exc: HTTPException) -> tuple[Response, int]:
    return jsonify({"error": exc.description or exc.name, "details": []}), exc.code or 500


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


def _json_body() -> Any:
    if not request.is_json:
        raise ApiError(415, "the body must be JSON (Content-Type: application/json)")
    body = request.get_json(silent=True)
    if body is None:
        raise ApiError(400, "the body is not valid JSON")
    return body


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
    return jsonify(_ctx().store.runs())


@api.post("/runs")
@operation(
    "Start a run (queued until a slot is free)", ok=(201, "created", ref("Created")), errors=(400, 415), body=RUN_BODY
)
def create_run() -> tuple[Response, int]:
    body = _json_body()
    try:
        config = parse_config(body)
    except ConfigError as exc:
        raise ApiError(400, "invalid configuration", exc.details) from exc
    dataset = config.data.dataset
    if dataset is None:
        raise ApiError(400, "invalid configuration", ["data.path: the API reads no paths; give data.dataset (an id)"])
    if _ctx().store.dataset(dataset) is None:
        raise ApiError(400, "invalid configuration", [f"data.dataset: no dataset {dataset!r}"])
    if not config.genes:
        raise ApiError(400, "invalid configuration", ["strategy: has no ranges to optimize"])
    run_id = _ctx().manager.submit(config.raw, dataset, _ctx().versions)
    return jsonify({"id": run_id}), 201


@api.get("/runs/<int:run_id>")
@operation("A run's status", ok=(200, "status", ref("Run")), errors=(404,))
def run_status(run_id: int) -> Response:
    record = _ctx().manager.status(run_id)
    if record is None:
        raise ApiError(404, f"no run {run_id}")
    return jsonify(record)


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
    return _run_action(run_id, _ctx().manager.resume)


def _run_action(run_id: int, action) -> tuple[Response, int]:
    """Stop or resume: 202 with the new state, 409 when the state does not allow it."""
    _run_or_404(run_id)
    try:
        state = action(run_id)
    except RunError as exc:
        raise ApiError(409, str(exc)) from exc
    return jsonify({"id": run_id, "state": state}), 202


@api.delete("/runs/<int:run_id>")
@operation("Delete a run, its results and checkpoint", ok=(204, "deleted"), errors=(404,))
def delete_run(run_id: int) -> tuple[str, int]:
    _run_or_404(run_id)
    _ctx().manager.delete(run_id)
    return "", 204


@api.get("/runs/<int:run_id>/generations")
@operation(
    "Generation summaries after generation N, in order",
    ok=(200, "summaries", array(ref("GenerationSummary"))),
    errors=(400, 404),
    query=(AFTER,),
)
def generations(run_id: int) -> Response:
    _run_or_404(run_id)
    raw = request.args.get("after", "0")
    try:
        after = int(raw)
    except ValueError:
        raise ApiError(400, "invalid query", [f"after: {raw!r} is not an integer"]) from None
    if after < 0:
        raise ApiError(400, "invalid query", [f"after: {after} is negative"])
    return jsonify(_ctx().store.generations_after(run_id, after))


@api.get("/runs/<int:run_id>/elite")
@operation("The elite's full statistics, best first", ok=(200, "elite", array(ref("IndividualStats"))), errors=(404,))
def elite(run_id: int) -> Response:
    _run_or_404(run_id)
    last = _ctx().store.last_generation(run_id)
    return jsonify([] if last is None else _ctx().store.individuals(run_id, last["elite"]))


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
    document = {
        "run": record,
        "config": store.run_config(run_id),
        "generations": store.generations_after(run_id, 0),
        "elite": [] if last is None else store.individuals(run_id, last["elite"]),
    }
    return _attachment(json.dumps(document, allow_nan=False), f"run-{run_id}.json", "application/json")


@api.get("/runs/<int:run_id>/export.csv")
@operation(
    "One CSV row per evaluated individual (an attachment)",
    ok=(200, "the export", {"type": "string"}, "text/csv"),
    errors=(404,),
)
def export_csv(run_id: int) -> Response:
    """One row per evaluated individual: id, parameters, every statistic, and the
    test period's statistics (``test_`` columns) where there are some."""
    _run_or_404(run_id)
    individuals = _ctx().store.all_individuals(run_id)
    genes = sorted({name for ind in individuals for name in ind["params"]})
    columns = ["id", "valid", "failed", "error", *genes, *SCALAR_FIELDS, *(f"test_{f}" for f in SCALAR_FIELDS)]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    for ind in individuals:
        test = ind.get("test") or {}
        writer.writerow([ind["id"], ind.get("valid"), ind["failed"], ind["error"],
                         *(ind["params"].get(g) for g in genes), *(ind[f] for f in SCALAR_FIELDS),
                         *(test.get(f) for f in SCALAR_FIELDS)])  # fmt: skip
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


@api.get("/datasets")
@operation("Bundled and uploaded datasets", ok=(200, "datasets", array(ref("Dataset"))))
def datasets() -> Response:
    return jsonify(_ctx().store.datasets())


@api.get("/datasets/<dataset_id>/candles")
@operation(
    "A dataset's candles for charts (ISO times and prices)", ok=(200, "candles", {"type": "object"}),
    errors=(400, 404), query=(TIMESTAMPS,),
)  # fmt: skip
def candles(dataset_id: str) -> Response:
    """A dataset's candles for charts: ISO times and prices (read from the file;
    nothing is computed). ``?timestamps=close`` reads the file's times as bar
    closes, as a run with ``data.timestamps: "close"`` does: the times are then
    those of the run's trades and equity."""
    found = _ctx().store.dataset(dataset_id)
    if found is None:
        raise ApiError(404, f"no dataset {dataset_id!r}")
    timestamps = request.args.get("timestamps", "open")
    if timestamps not in TIMESTAMPS["schema"]["enum"]:
        raise ApiError(400, "invalid query", [f"timestamps: {timestamps!r} is not one of open, close"])
    path = Path(found["path"])
    return Response(_candles_json(str(path), path.stat().st_mtime_ns, timestamps), mimetype="application/json")


@functools.lru_cache(maxsize=8)
def _candles_json(path: str, mtime_ns: int, timestamps: str = "open") -> str:
    """A data file's candles as chart JSON, read once per file version."""
    c = load_candles(path, timestamps=timestamps)
    return json.dumps({"time": iso_times(c.time), "open": c.open.tolist(), "high": c.high.tolist(),
                       "low": c.low.tolist(), "close": c.close.tolist()})  # fmt: skip


@api.post("/datasets")
@operation(
    "Upload a CSV or Parquet file (validated before it is stored)",
    ok=(201, "created", ref("Created")),
    errors=(400, 413),
    body=UPLOAD_BODY,
)
def upload_dataset() -> tuple[Response, int]:
    file = request.files.get("file")
    if file is None or not file.filename:
        raise ApiError(400, "no file", ["file: a multipart field 'file' with a CSV or Parquet file is required"])
    suffix = Path(file.filename).suffix.lower()
    if suffix not in UPLOAD_SUFFIXES:
        raise ApiError(400, "unsupported file", [f"file: {suffix or 'no extension'} is not .csv or .parquet"])
    uploads = _ctx().uploads_dir
    dataset_id = uuid.uuid4().hex[:12]
    fd, tmp = tempfile.mkstemp(prefix=".upload-", suffix=suffix, dir=uploads)
    os.close(fd)
    try:
        file.save(tmp)
        candles = load_candles(tmp)
    except DataError as exc:
        Path(tmp).unlink(missing_ok=True)
        details = [d.replace(Path(tmp).name, file.filename) for d in exc.details]
        raise ApiError(400, "invalid data file", details) from exc
    except InputError as exc:  # pragma: no cover - other input errors
        Path(tmp).unlink(missing_ok=True)
        raise ApiError(400, "invalid data file", exc.details) from exc
    target = uploads / f"{dataset_id}{suffix}"
    os.replace(tmp, target)
    name = Path(file.filename).name[:200]
    _ctx().store.add_dataset(dataset_record(dataset_id, name, target, MarketData(candles)))
    return jsonify({"id": dataset_id}), 201
