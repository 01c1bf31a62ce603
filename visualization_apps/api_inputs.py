"""What the REST API takes from a request, checked: JSON bodies, counting query
parameters, run submissions; and the error every route raises (`ApiError`)."""

from __future__ import annotations

from typing import Any

from flask import Response, request
from werkzeug.exceptions import RequestEntityTooLarge

from optimizer.config import parse_config
from optimizer.errors import ConfigError
from visualization_apps.bounded_json import MAX_INTEGER, BodyError, parse_bounded
from visualization_apps.limits import Limits, check_submission, limit_errors_of_invalid
from visualization_apps.storage import Store


class ApiError(Exception):
    """An error answered as JSON with ``status``."""

    def __init__(self, status: int, error: str, details: list[str] | None = None) -> None:
        super().__init__(error)
        self.status = status
        self.error = error
        self.details = details or []


def too_large(limit: int) -> ApiError:
    """The 413 of a body over ``limit`` bytes."""
    return ApiError(413, "request body too large", [f"body: over the limit of {limit:,} bytes ({limit / 2**20:g} MiB)"])


def drain_body() -> None:
    """Read what is left of the request body, in pieces, and drop it; a body over
    the request's size limit (announced or chunked) raises Werkzeug's 413."""
    if request.content_length is not None and request.max_content_length is not None \
            and request.content_length > request.max_content_length:  # fmt: skip
        raise RequestEntityTooLarge()
    while request.stream.read(2**16):
        pass


def json_body(limit: int) -> Any:
    """The request's JSON body: 415 unless it says it is JSON, 413 beyond ``limit``
    bytes (however it is sent, chunked too), 400 unless it is JSON within the
    bounds of `parse_bounded` (depth, integer size, text)."""
    if not request.is_json:  # too large first, whatever it is: then what it is not
        request.max_content_length = limit
        try:
            drain_body()
        except RequestEntityTooLarge:
            raise too_large(limit) from None
        raise ApiError(415, "the body must be JSON (Content-Type: application/json)")
    # Werkzeug refuses a longer Content-Length; a chunked body is cut at the limit: one byte more tells.
    request.max_content_length = limit + 1
    try:
        data = request.get_data(cache=True)
    except RequestEntityTooLarge:
        data = None
    if data is None or len(data) > limit:
        raise too_large(limit)
    try:
        return parse_bounded(data)
    except BodyError as exc:
        raise ApiError(400, exc.error, exc.details) from None


def cursor(name: str, default: int = 0) -> int:
    """A query parameter that counts (an id or a generation): 0..2^63-1, else 400."""
    raw = request.args.get(name)
    if raw is None:
        return default
    text = raw.strip()
    if not text.isascii() or not text.isdigit():
        problem = "is negative" if text.startswith("-") and text[1:].isdigit() else "is not an integer"
        raise ApiError(400, "invalid query", [f"{name}: {raw[:40]!r} {problem}"])
    if len(text) > 19 or int(text) > MAX_INTEGER:
        raise ApiError(400, "invalid query", [f"{name}: {text[:40]} is above the largest id, {MAX_INTEGER}"])
    return int(text)


def checked_submission(store: Store, limits: Limits, max_body: int) -> tuple[dict[str, Any], str, dict[str, Any]]:
    """The body of a run submission, checked: (normalized configuration, dataset
    id, estimate), or a 400 naming every problem."""
    body = json_body(max_body)
    try:
        config = parse_config(body)
    except ConfigError as exc:
        raise ApiError(400, "invalid configuration", [*exc.details, *limit_errors_of_invalid(body, exc.details, limits)]) from exc
    dataset = config.data.dataset
    if dataset is None:
        raise ApiError(400, "invalid configuration", ["data.path: the API reads no paths; give data.dataset (an id)"])
    record = store.dataset(dataset)
    if record is None:
        raise ApiError(400, "invalid configuration", [f"data.dataset: no dataset {dataset!r}"])
    try:
        estimate = check_submission(config, record, limits)
    except ConfigError as exc:
        raise ApiError(400, "invalid configuration", exc.details) from exc
    return config.raw, dataset, estimate


def no_content() -> Response:
    """A 204 answer: no body, so no Content-Type either."""
    response = Response(status=204)
    del response.headers["Content-Type"]
    return response
