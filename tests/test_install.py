"""The product as a user installs it: ``pip install`` into a fresh virtual
environment, then the two console scripts, run from a folder that is not the
source checkout (so nothing is imported or served from it)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from tests.conftest import ROOT
from tests.server import free_port

pytestmark = pytest.mark.slow
SOCKET_IO = ROOT / "node_modules" / "socket.io-client" / "dist" / "socket.io.min.js"
CARTESIAN = ROOT / "node_modules" / "plotly.js-cartesian-dist-min" / "plotly-cartesian.min.js"


@pytest.fixture(scope="module")
def venv(tmp_path_factory) -> Path:
    """A virtual environment with the package installed from this checkout. It sees
    this interpreter's site-packages for the dependencies (no downloads); the
    package itself, its templates, scripts and data come from the wheel."""
    folder = tmp_path_factory.mktemp("venv")
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(folder)], check=True, timeout=300)
    done = subprocess.run([folder / "bin" / "python", "-m", "pip", "install", "--no-build-isolation", str(ROOT)],
                          capture_output=True, text=True, timeout=900)  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    return folder


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "OPTIMIZER_PLUGINS")}


def test_the_installed_package_is_not_the_checkout(venv, tmp_path):
    where = subprocess.run([venv / "bin" / "python", "-c", "import optimizer, visualization_apps.assets as a; "
                            "print(optimizer.__file__); print(a.TEMPLATES); print(a.STATIC); print(a.BUNDLED_DATA)"],
                           cwd=tmp_path, env=_env(), capture_output=True, text=True, check=True)  # fmt: skip
    paths = where.stdout.split()
    assert all(p.startswith(str(venv)) for p in paths), paths


def test_strategy_optimizer_runs_an_example(venv, tmp_path):
    example = json.loads((ROOT / "examples" / "eurusd-sma.json").read_text())
    example["data"]["path"] = str(ROOT / "data" / "EURUSD-1h.csv")
    example["ga"] = {**example["ga"], "population": 8, "generations": 2}
    (tmp_path / "config.json").write_text(json.dumps(example))
    done = subprocess.run([venv / "bin" / "strategy-optimizer", "run", "config.json", "--json", "r.json"],
                          cwd=tmp_path, env=_env(), capture_output=True, text=True, timeout=600)  # fmt: skip
    assert done.returncode == 0, done.stderr
    result = json.loads((tmp_path / "r.json").read_text())
    assert [g["generation"] for g in result["generations"]] == [1, 2] and result["elite"]
    bad = subprocess.run([venv / "bin" / "strategy-optimizer", "run", "missing.json", "--json", "r.json"],
                         cwd=tmp_path, env=_env(), capture_output=True, text=True, timeout=300)  # fmt: skip
    assert bad.returncode == 2 and "missing.json" in bad.stderr


def test_the_installed_dashboard_serves_its_pages_scripts_and_datasets(venv, tmp_path):
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = (tmp_path / "server.log").open("w")
    process = subprocess.Popen(
        [venv / "bin" / "strategy-optimizer-dashboard", "--port", str(port), "--data-dir", str(tmp_path / "d")],
        cwd=tmp_path, env=_env(), stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while True:
            assert process.poll() is None and time.monotonic() < deadline, (tmp_path / "server.log").read_text()
            try:
                if requests.get(url + "/api/health", timeout=1).ok:
                    break
            except (requests.ConnectionError, requests.Timeout):
                time.sleep(0.2)
        missing = requests.get(url + "/runs/1", timeout=30)  # no run yet: the installed not-found page
        assert missing.status_code == 404 and "There is no run 1." in missing.text
        for path in ("/", "/runs/new", "/static/common.js", "/static/run.js", "/static/runs.js",
                     "/static/app.css", "/vendor/plotly.min.js"):  # fmt: skip
            response = requests.get(url + path, timeout=30)
            assert response.status_code == 200 and response.content, path
        client = requests.get(url + "/vendor/socket.io.min.js", timeout=30)
        if SOCKET_IO.is_file():  # the wheel was built with node_modules: it carries the client
            assert client.status_code == 200 and client.content == SOCKET_IO.read_bytes()
        else:
            assert client.status_code == 404 and "npm ci" in " ".join(client.json()["details"])
        cartesian = requests.get(url + "/vendor/plotly-cartesian.min.js", timeout=30)  # the run page's Plotly
        assert cartesian.status_code == 200
        if CARTESIAN.is_file():  # carried by the wheel, else the full bundle stands in
            assert cartesian.content == CARTESIAN.read_bytes()
        else:
            assert cartesian.content == requests.get(url + "/vendor/plotly.min.js", timeout=30).content
        datasets = {d["id"]: d for d in requests.get(url + "/api/datasets", timeout=30).json()}
        assert {"EURUSD-1h", "GOOG-1d", "BTC-1m"} <= set(datasets)
        assert datasets["EURUSD-1h"]["rows"] > 1000
    finally:
        process.terminate()
        process.wait(timeout=60)
        log.close()
