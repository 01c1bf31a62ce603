"""The OpenAPI 3.1 document of the REST API, served at ``/api/openapi.json``."""

from __future__ import annotations

from typing import Any

ERROR = {"$ref": "#/components/schemas/Error"}


def _response(description: str, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"description": description}
    if schema is not None:
        body["content"] = {"application/json": {"schema": schema}}
    return body


def _errors(*codes: int) -> dict[str, Any]:
    reasons = {400: "invalid request", 404: "no such run or individual", 409: "not possible in the run's state",
               413: "upload too large", 415: "body is not JSON"}  # fmt: skip
    return {str(code): _response(reasons[code], ERROR) for code in codes}


RUN_ID = {"name": "run_id", "in": "path", "required": True, "schema": {"type": "integer"}}


def openapi_document() -> dict[str, Any]:
    """The API's OpenAPI document."""
    run = {"$ref": "#/components/schemas/Run"}
    stats = {"$ref": "#/components/schemas/IndividualStats"}
    return {
        "openapi": "3.1.0",
        "info": {"title": "Strategy optimizer dashboard API", "version": "1"},
        "paths": {
            "/api/health": {"get": {"summary": "Liveness and versions", "responses": {"200": _response("ok")}}},
            "/api/runs": {
                "get": {"summary": "All runs, newest first",
                        "responses": {"200": _response("runs", {"type": "array", "items": run})}},
                "post": {
                    "summary": "Start a run (queued until a slot is free)",
                    "requestBody": {"required": True, "content": {"application/json": {
                        "schema": {"$ref": "#/components/schemas/RunConfiguration"}}}},
                    "responses": {"201": _response("created", {"type": "object", "properties": {
                        "id": {"type": "integer"}}}), **_errors(400, 415)},
                },
            },
            "/api/runs/{run_id}": {
                "get": {"summary": "A run's status", "parameters": [RUN_ID],
                        "responses": {"200": _response("status", run), **_errors(404)}},
                "delete": {"summary": "Delete a run, its results and checkpoint", "parameters": [RUN_ID],
                           "responses": {"204": _response("deleted"), **_errors(404)}},
            },
            "/api/runs/{run_id}/stop": {"post": {
                "summary": "Stop after the current generation (resumable)", "parameters": [RUN_ID],
                "responses": {"202": _response("stopping"), **_errors(404, 409)}}},
            "/api/runs/{run_id}/resume": {"post": {
                "summary": "Resume from the last checkpoint", "parameters": [RUN_ID],
                "responses": {"202": _response("queued"), **_errors(404, 409)}}},
            "/api/runs/{run_id}/generations": {"get": {
                "summary": "Generation summaries after generation N, in order",
                "parameters": [RUN_ID, {"name": "after", "in": "query", "schema": {"type": "integer", "minimum": 0}}],
                "responses": {"200": _response("summaries", {"type": "array", "items": {"type": "object"}}),
                              **_errors(400, 404)}}},
            "/api/runs/{run_id}/elite": {"get": {
                "summary": "The elite's full statistics, best first", "parameters": [RUN_ID],
                "responses": {"200": _response("elite", {"type": "array", "items": stats}), **_errors(404)}}},
            "/api/runs/{run_id}/individuals/{iid}": {"get": {
                "summary": "One individual's statistics",
                "parameters": [RUN_ID, {"name": "iid", "in": "path", "required": True, "schema": {"type": "integer"}}],
                "responses": {"200": _response("statistics", stats), **_errors(404)}}},
            "/api/datasets": {
                "get": {"summary": "Bundled and uploaded datasets", "responses": {"200": _response("datasets")}},
                "post": {"summary": "Upload a CSV or Parquet file (validated before it is stored)",
                         "requestBody": {"content": {"multipart/form-data": {"schema": {
                             "type": "object", "properties": {"file": {"type": "string", "format": "binary"}}}}}},
                         "responses": {"201": _response("created"), **_errors(400, 413)}},
            },
        },
        "components": {"schemas": {
            "Error": {"type": "object", "required": ["error", "details"], "properties": {
                "error": {"type": "string"}, "details": {"type": "array", "items": {"type": "string"}}}},
            "Run": {"type": "object", "properties": {
                "id": {"type": "integer"}, "name": {"type": "string"},
                "state": {"enum": ["queued", "running", "stopping", "stopped", "completed", "failed", "interrupted"]},
                "generation": {"type": "integer"}, "generations_total": {"type": "integer"},
                "evaluations": {"type": "integer"}, "failed_evaluations": {"type": "integer"},
                "evals_per_second": {"type": ["number", "null"]}, "best": {"type": ["array", "null"]},
                "started_at": {"type": ["string", "null"]}, "finished_at": {"type": ["string", "null"]},
                "error": {"type": ["string", "null"]}}},
            "RunConfiguration": {"type": "object", "description": "See docs/ENGINE.md and DESIGN.md"},
            "IndividualStats": {"type": "object", "description": "See docs/ENGINE.md, Statistics"},
        }},
    }  # fmt: skip
