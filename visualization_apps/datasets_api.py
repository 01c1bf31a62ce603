"""The REST routes of datasets: list them, read a dataset's candles for charts,
upload a CSV or Parquet file (on the `api` blueprint of `visualization_apps.api`,
whose error answers they share)."""

from __future__ import annotations

import functools
import json
from pathlib import Path

from flask import Response, jsonify, request

from optimizer.data import load_candles
from optimizer.errors import DataError
from optimizer.stats import iso_times
from visualization_apps.api import ApiError, _ctx, api
from visualization_apps.api_inputs import drain_body
from visualization_apps.datasets import store_upload
from visualization_apps.faults import is_disk_full, storage_fault
from visualization_apps.openapi import array, operation, ref

UPLOAD_BODY = {"required": True, "content": {"multipart/form-data": {"schema": {
    "type": "object", "required": ["file"], "properties": {"file": {"type": "string", "format": "binary"}}}}}}  # fmt: skip
TIMESTAMPS = {"name": "timestamps", "in": "query", "required": False,
              "schema": {"type": "string", "enum": ["open", "close"], "default": "open"}}  # fmt: skip


@api.get("/datasets")
@operation("Bundled and uploaded datasets", ok=(200, "datasets", array(ref("Dataset"))))
def datasets() -> Response:
    """The datasets, each with ``run_ids``: the runs made on it (it cannot be
    deleted while there are any)."""
    used = _ctx().store.runs_by_dataset()
    return jsonify([{**d, "run_ids": used.get(d["id"], [])} for d in _ctx().store.datasets()])


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
    """201 with the new dataset, or 200 with the existing one when the same content
    was uploaded before; both with ``warnings`` (rows sorted, columns ignored)."""
    file = request.files.get("file")
    if file is None or not file.filename:
        drain_body()  # a body over the limit, sent other than as a form, is a 413 first
        raise ApiError(400, "no file", ["file: a multipart field 'file' with a CSV or Parquet file is required"])
    try:
        upload = store_upload(_ctx().store, _ctx().uploads_dir, file.filename, file.stream)
    except DataError as exc:
        raise ApiError(400, "invalid data file", exc.details) from exc
    except OSError as exc:  # the file could not be stored (a full disk): nothing was kept
        if not is_disk_full(exc):
            raise
        status, message = storage_fault(exc)
        raise ApiError(status, message, [f"file: {exc.strerror}"]) from exc
    body = {"id": upload.record["id"], "existing": not upload.created, "dataset": upload.record,
            "warnings": upload.warnings}  # fmt: skip
    return jsonify(body), 201 if upload.created else 200
