"""The OpenAPI document is generated from the app's routes: every route under /api
with its methods, valid OpenAPI 3.1, the config's JSON Schema and the run states."""

from __future__ import annotations

import json
import re

import pytest
from flask import Blueprint
from openapi_spec_validator import validate

from optimizer.schema import config_schema
from visualization_apps import create_app
from visualization_apps.openapi import openapi_document
from visualization_apps.run_states import RunState


@pytest.fixture
def app(tmp_path):
    return create_app({"DATA_DIR": str(tmp_path)})


def test_every_api_route_is_documented_with_its_methods(app):
    document = app.test_client().get("/api/openapi.json").get_json()
    served = {}
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/"):
            path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule)
            served.setdefault(path, set()).update(m.lower() for m in rule.methods - {"HEAD", "OPTIONS"})
    assert {path: set(ops) for path, ops in document["paths"].items()} == served
    assert len(served) >= 16 and served["/api/runs"] == {"get", "post"} and "delete" in served["/api/runs/{run_id}"]
    for path, operations in document["paths"].items():
        for method, op in operations.items():
            assert op["summary"] and op["responses"], (path, method)
            names = {p["name"] for p in op.get("parameters", []) if p["in"] == "path"}
            assert names == set(re.findall(r"{(\w+)}", path)), (path, method)


def test_the_document_is_valid_openapi_and_reads_the_config_schema_and_states(app):
    document = openapi_document(app)
    validate(document)
    body = document["paths"]["/api/runs"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert body == {"$ref": "#/components/schemas/RunConfiguration"}
    expected = {k: v for k, v in config_schema().items() if k != "$schema"}
    embedded = json.dumps(document["components"]["schemas"]["RunConfiguration"])
    # The schema's own references (#/$defs/...) point inside it where it now sits.
    assert json.loads(embedded.replace('"#/components/schemas/RunConfiguration/', '"#/')) == expected
    run = document["components"]["schemas"]["Run"]
    assert run["properties"]["state"]["enum"] == [s.value for s in RunState]


def test_an_undocumented_api_route_is_an_error(app):
    extra = Blueprint("extra", __name__, url_prefix="/api")
    extra.add_url_rule("/secret", "secret", lambda: "")
    app.register_blueprint(extra)
    with pytest.raises(LookupError, match="/api/secret"):
        openapi_document(app)


def test_requests_are_declared_precisely(app):
    document = openapi_document(app)
    paths = document["paths"]
    for route in ("/api/runs", "/api/runs/estimate"):
        body = paths[route]["post"]["requestBody"]
        assert body["required"] and body["content"]["application/json"]["schema"] == {
            "$ref": "#/components/schemas/RunConfiguration"}  # fmt: skip
        assert {"400", "403", "413", "415"} <= set(paths[route]["post"]["responses"])
    upload = paths["/api/datasets"]["post"]["requestBody"]["content"]["multipart/form-data"]["schema"]
    assert upload["required"] == ["file"] and upload["properties"]["file"]["format"] == "binary"
    created = paths["/api/runs"]["post"]["responses"]["201"]["content"]["application/json"]["schema"]
    assert created == {"$ref": "#/components/schemas/CreatedRun"}
    for path, operations in paths.items():
        for method, op in operations.items():
            for parameter in op.get("parameters", []):
                if parameter["schema"].get("type") == "integer" and parameter["name"] not in ("limit", "bins"):  # ids, cursors
                    assert parameter["schema"]["minimum"] == 0 and parameter["schema"]["maximum"] == 2**63 - 1
            if "{" in path:
                assert "404" in op["responses"], (path, method)
            if method in ("post", "delete"):  # from another origin; what the database cannot write
                assert {"403", "503", "507"} <= set(op["responses"]), (path, method)
            assert "401" in op["responses"], (path, method)  # a server that asks for a token
    configuration = document["components"]["schemas"]["RunConfiguration"]
    assert configuration["properties"]["name"]["maxLength"] == 200
