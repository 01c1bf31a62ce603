"""Schemathesis against the OpenAPI document a real server serves: every operation
with generated requests (seeded, a bounded number per operation), without and
with an Origin header (the server's own: a browser on its pages sends it), and
0 server errors, 0 undocumented statuses, content types, headers or bodies that
break the document.

``positive_data_acceptance`` is not among the checks: a schema-valid run
configuration can still be refused with 400 (its dataset id must exist, the
server's limits and the dataset's dates apply), and the document says so."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.test_api import run_config
from tests.test_security import ServerWith

pytestmark = pytest.mark.slow  # a real server and a few thousand requests

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_headers_conformance,
          response_schema_conformance]  # fmt: skip
EXAMPLES = 40  # per operation and Origin: about a minute in all


@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory):
    """A server whose runs stay tiny whatever the generated configuration asks."""
    server = ServerWith(tmp_path_factory.mktemp("fuzz"), "--max-workers", "1", "--max-evaluations", "200").start()
    run_id = server.post("/api/runs", json=run_config(generations=2, population=8)).json()["id"]
    server.wait_for(run_id, ("completed",))  # run 1: the id generated first names a run with results
    yield server
    server.stop()


@pytest.fixture(scope="module")
def served_schema(fuzzed):
    return schemathesis.openapi.from_url(f"{fuzzed.url}/api/openapi.json")


schema = schemathesis.pytest.from_fixture("served_schema")


SETTINGS = settings(max_examples=EXAMPLES, derandomize=True, deadline=None, database=None,
                    suppress_health_check=list(HealthCheck))  # fmt: skip


@schema.parametrize()
@SETTINGS
def test_no_server_error_and_no_schema_violation(case, fuzzed):
    case.call_and_validate(base_url=fuzzed.url, checks=CHECKS, timeout=30)


@schema.parametrize()
@SETTINGS
def test_the_same_with_the_servers_own_origin(case, fuzzed):
    case.call_and_validate(base_url=fuzzed.url, headers={"Origin": fuzzed.url}, checks=CHECKS, timeout=30)
