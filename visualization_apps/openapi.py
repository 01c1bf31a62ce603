"""The OpenAPI 3.1 document of the REST API, served at ``/api/openapi.json``,
generated from the routes themselves.

Each view under ``/api`` carries its operation's metadata (`operation`); the
document walks the app's ``url_map``: the paths, methods and path parameters come
from the routes, the summary and responses from the metadata, the request body of
``POST /api/runs`` from the configuration's JSON Schema (`config_schema`), and
the ``state`` of a run from `RunState`. A view under ``/api`` without metadata
is an error (a route nobody documented).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, TypeVar

from flask import Flask

from optimizer.schema import config_schema
from visualization_apps.bounded_json import MAX_ID
from visualization_apps.run_states import RunState

F = TypeVar("F", bound=Callable[..., Any])
PREFIX = "/api"
ERROR_REASONS = {400: "invalid request", 401: "access token required", 403: "cross-origin request refused",
                 404: "no such run, individual or dataset", 405: "method not allowed",
                 409: "not possible in the run's state", 413: "body too large",
                 415: "body is not JSON", 503: "the database cannot be written just now: nothing was changed",
                 507: "the disk is full: nothing was changed"}  # fmt: skip
_VARIABLE = re.compile(r"<(?:(?P<converter>\w+)(?:\([^)]*\))?:)?(?P<name>\w+)>")
_TYPES = {"int": {"type": "integer", "minimum": 0, "maximum": MAX_ID}, "float": {"type": "number"}}
CHANGING = ("post", "put", "patch", "delete")


def ref(name: str) -> dict[str, str]:
    """A reference to ``components/schemas/<name>``."""
    return {"$ref": f"#/components/schemas/{name}"}


def array(items: dict[str, Any]) -> dict[str, Any]:
    return {"type": "array", "items": items}


def operation(
    summary: str,
    *,
    ok: tuple[int, str] | tuple[int, str, dict[str, Any] | None] | tuple[int, str, dict[str, Any] | None, str],
    errors: tuple[int, ...] = (),
    body: dict[str, Any] | None = None,
    query: tuple[dict[str, Any], ...] = (),
) -> Callable[[F], F]:
    """Mark a view with its OpenAPI operation: ``ok`` is ``(status, description[,
    schema[, media type]])`` of the success answer, ``errors`` the 4xx statuses it
    answers with an `Error`, ``body`` its request body object, ``query`` its query
    parameters. Put it below the route decorator."""

    def mark(view: F) -> F:
        status, description, *rest = ok
        schema = rest[0] if rest else None
        media = rest[1] if len(rest) > 1 else "application/json"
        responses = {str(status): _response(description, schema, media)}
        for code in errors:
            responses[str(code)] = _response(ERROR_REASONS[code], ref("Error"))
        spec: dict[str, Any] = {"summary": summary, "responses": responses}
        if body is not None:
            spec["requestBody"] = body
        if query:
            spec["parameters"] = list(query)
        view.openapi = spec  # type: ignore[attr-defined]
        return view

    return mark


def _response(description: str, schema: dict[str, Any] | None, media: str = "application/json") -> dict[str, Any]:
    out: dict[str, Any] = {"description": description}
    if schema is not None:
        out["content"] = {media: {"schema": schema}}
    return out


def openapi_document(app: Flask) -> dict[str, Any]:
    """The API's OpenAPI document, from ``app``'s routes under ``/api``."""
    paths: dict[str, dict[str, Any]] = {}
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if not (rule.rule == PREFIX or rule.rule.startswith(PREFIX + "/")):
            continue
        view = app.view_functions[rule.endpoint]
        spec = getattr(view, "openapi", None)
        if spec is None:
            raise LookupError(f"{rule.rule} ({rule.endpoint}) has no OpenAPI metadata: decorate it with @operation")
        path, parameters = _path(rule.rule)
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            op = {**spec, "operationId": f"{rule.endpoint.split('.')[-1]}_{method.lower()}"}
            op["responses"] = _common_errors(op["responses"], bool(parameters), method.lower() in CHANGING)
            if parameters or "parameters" in spec:
                op["parameters"] = [*parameters, *spec.get("parameters", [])]
            paths.setdefault(path, {})[method.lower()] = op
    return {
        "openapi": "3.1.0",
        "info": {"title": "Strategy optimizer dashboard API", "version": "1"},
        "paths": paths,
        "components": {"schemas": _schemas()},
    }


def _common_errors(responses: dict[str, Any], has_ids: bool, changes: bool) -> dict[str, Any]:
    """The errors any such route may answer besides its own: 401 without the access
    token (a server that asks for one), 404 for an id that names nothing, 403 for a
    changing request from another origin, 507 and 503 for a change the database
    cannot write (a full disk; busy or failing)."""
    out = dict(responses)
    for code, applies in ((401, True), (404, has_ids), (403, changes), (507, changes), (503, changes)):
        if applies and str(code) not in out:
            out[str(code)] = _response(ERROR_REASONS[code], ref("Error"))
    return out


def _path(rule: str) -> tuple[str, list[dict[str, Any]]]:
    """``/runs/<int:run_id>`` -> ``/runs/{run_id}`` and its path parameters."""
    parameters = []
    for match in _VARIABLE.finditer(rule):
        schema = _TYPES.get(match["converter"] or "string", {"type": "string"})
        parameters.append({"name": match["name"], "in": "path", "required": True, "schema": schema})
    return _VARIABLE.sub(lambda m: "{" + m["name"] + "}", rule), parameters


def _schemas() -> dict[str, Any]:
    nullable_number, nullable_string = {"type": ["number", "null"]}, {"type": ["string", "null"]}
    return {
        "Error": {"type": "object", "required": ["error", "details"], "properties": {
            "error": {"type": "string"}, "details": array({"type": "string"})}},
        "Run": {"type": "object", "required": ["id", "state"], "properties": {
            "id": {"type": "integer"}, "name": {"type": "string"}, "dataset_id": {"type": "string"},
            "state": {"type": "string", "enum": [s.value for s in RunState]},
            "generation": {"type": "integer"}, "generations_total": {"type": "integer"},
            "evaluations": {"type": "integer"}, "failed_evaluations": {"type": "integer"},
            "evals_per_second": nullable_number, "eta_seconds": nullable_number,
            "overall_evals_per_second": {**nullable_number, "description": "the whole run's evaluations per wall "
                                         "second: evaluations / the summed wall seconds of its generations (each "
                                         "generation's elapsed_seconds; the last includes the end-of-run robustness "
                                         "analysis), in any state (evals_per_second: the recent generations' moving "
                                         "average, null once the run is final); null before its first generation; "
                                         "in GET /api/runs/{run_id} and run_status events"},
            "best": {"type": ["array", "null"], "items": nullable_number, "description":
                     "per objective, in order, the best value any individual of the last generation reached "
                     "(the generation summary's best: each objective's may come from another individual; "
                     "GET /api/runs gives best_member, one individual)"},
            "best_member": {"type": ["object", "null"], "description": "the first of the elite (the best by the "
                            "first objective): id, objectives, train and test figures; in GET /api/runs"},
            "created_at": nullable_string, "started_at": nullable_string, "finished_at": nullable_string,
            "error": nullable_string,
            "walk_forward": {"type": "object", "description": "a walk-forward run only: its verdict, as GET "
                             "/api/walk-forward gives it (folds, folds_done, finished, passed, stitched ...)"},
            "best_scope": {"type": ["string", "null"], "description": "a walk-forward run only: what its best is, "
                           "\"fold 5 of 5, its training window\" (in sample; null before its first generation)"}}},
        "RunConfiguration": _embedded(config_schema(), "RunConfiguration"),
        "IndividualStats": {"type": "object", "description": "See docs/ENGINE.md, Statistics", "properties": {
            "id": {"type": "integer"}, "params": {"type": "object"}, "fitness": array(nullable_number)}},
        "GenerationSummary": {"type": "object", "properties": {
            "generation": {"type": "integer"},
            "elite": {**array({"type": "integer"}), "description": "the elite's ids, best first"},
            "tie_changes": {**array({"type": "object", "required": ["id", "ties", "tie_ranges"], "properties": {
                "id": {"type": "integer"}, "ties": {"type": "integer"}, "tie_ranges": {"type": "object"}}}),
                "description": "the elite entries whose ties (parameter sets sharing its objective values, itself "
                "included) or tie_ranges (gene -> [min, max] among them) changed since the previous generation, "
                "with their new values (every entry in a run's first generation and each fold's; a resumed run "
                "goes on as the uninterrupted one); absent in generations stored before it existed"}}},
        "Dataset": {"type": "object", "properties": {
            "id": {"type": "string"}, "name": {"type": "string"}, "rows": {"type": "integer"},
            "bar_seconds": {"type": "number"}, "first_time": {"type": "string"}, "last_time": {"type": "string"},
            "fingerprint": {"type": "string"}, "bundled": {"type": "boolean"},
            "run_ids": {**array({"type": "integer"}), "description": "the runs made on it, oldest first: "
                        "it cannot be deleted while there are any"}}},
        "Action": {"type": "object", "required": ["id", "state"], "properties": {
            "id": {"type": "integer"}, "state": {"type": "string", "enum": [s.value for s in RunState]}}},
        "Created": {"type": "object", "required": ["id"], "properties": {"id": {"type": ["integer", "string"]}}},
        "Estimate": {"type": "object", "required": ["evaluations", "workers", "seconds"],
                     "description": "a rough upper bound of the run's wall time on this server", "properties": {
            "evaluations": {"type": "integer", "description": "population x generations (1: a single backtest)"},
            "workers": {"type": "integer", "description": "processes that will evaluate"},
            "seconds": {"type": "number", "description": "wall time, seconds"},
            "mode": {"enum": ["local", "dask"], "description": "where it evaluates: local pools or the Dask cluster"},
            "scheduler": {"type": "string", "description": "the Dask scheduler's address (dask only)"},
            "note": {"type": "string", "description": "why the worker count is a guess (a cluster not read)"}}},
        "RunRobustness": {"type": "object", "description": "See docs/OPTIMIZER.md, Robustness (CSCV over S blocks)",
                          "required": ["pbo", "logits", "degradation_slope", "prob_oos_loss", "trials", "blocks"],
                          "properties": {
            "pbo": nullable_number, "logits": array(nullable_number),
            "is_sharpe": array(nullable_number), "oos_sharpe": array(nullable_number),
            "degradation_slope": nullable_number, "degradation_intercept": nullable_number,
            "prob_oos_loss": nullable_number, "splits": {"type": "integer"}, "candidates": {"type": "integer"},
            "trials": {"type": "integer"}, "trials_variance": {"type": "number"}, "blocks": {"type": "integer"}}},
        "CreatedRun": {"type": "object", "required": ["id", "estimate"], "properties": {
            "id": {"type": "integer"}, "estimate": ref("Estimate")}},
    }  # fmt: skip


def _embedded(schema: Any, name: str) -> Any:
    """A standalone JSON Schema placed at ``components/schemas/<name>``: its local
    references (``#/$defs/...``) are rewritten to point inside it there."""
    if isinstance(schema, dict):
        out = {k: _embedded(v, name) for k, v in schema.items() if k != "$schema"}
        target = schema.get("$ref")
        if isinstance(target, str) and target.startswith("#/"):
            out["$ref"] = f"#/components/schemas/{name}/{target[2:]}"
        return out
    if isinstance(schema, list):
        return [_embedded(item, name) for item in schema]
    return schema
