"""The ``--dask`` setting: its address checked at start, and ``GET /api/cluster``
without a cluster (the local pools). The cluster itself: tests/test_dask_dashboard.py."""

from __future__ import annotations

import pytest

from optimizer.evaluation.dask_cluster import dask_address, scheduler_address
from visualization_apps import create_app
from visualization_apps.server import app_config, build_parser


@pytest.mark.parametrize(
    ("given", "address"),
    [("tcp://10.0.0.5:8786", "tcp://10.0.0.5:8786"), ("10.0.0.5:8786", "tcp://10.0.0.5:8786"),
     ("dask://sched.lan:8786", "tcp://sched.lan:8786"), (" tls://sched.lan:8786 ", "tls://sched.lan:8786")],
)  # fmt: skip
def test_an_address_is_written_as_dask_writes_it(given, address):
    assert scheduler_address(given) == address
    assert dask_address(f"dask://{address}") == address  # what the run processes are given


@pytest.mark.parametrize("bad", ["", "sched.lan", "tcp://sched.lan", "tcp://:8786", "tcp://h:99999", "http://h:80"])
def test_a_bad_address_is_refused_naming_it(bad):
    with pytest.raises(ValueError, match="is not a Dask scheduler address"):
        scheduler_address(bad)


def test_the_command_line_takes_dask_and_refuses_a_bad_one(capsys):
    args = build_parser().parse_args(["--dask", "10.0.0.5:8786"])
    assert app_config(args)["DASK_SCHEDULER"] == "tcp://10.0.0.5:8786"
    assert "DASK_SCHEDULER" not in app_config(build_parser().parse_args([]))
    with pytest.raises(SystemExit) as exit_:
        build_parser().parse_args(["--dask", "nowhere"])
    assert exit_.value.code == 2
    assert "'nowhere' is not a Dask scheduler address" in capsys.readouterr().err


def test_the_app_setting_is_checked(tmp_path):
    with pytest.raises(ValueError, match=r"^DASK_SCHEDULER: 'x:y' is not a Dask scheduler address"):
        create_app({"DATA_DIR": str(tmp_path), "DASK_SCHEDULER": "x:y"})


def test_without_a_cluster_runs_evaluate_on_local_pools(tmp_path):
    app = create_app({"DATA_DIR": str(tmp_path), "MAX_WORKERS": 3})
    answer = app.test_client().get("/api/cluster")
    assert answer.status_code == 200
    assert answer.get_json()["mode"] == "local" and answer.get_json()["max_workers"] == 3
    page = app.test_client().get("/cluster")
    assert page.status_code == 200 and b'id="cluster-panel"' in page.data
