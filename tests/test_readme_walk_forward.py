"""The README's walk-forward example runs as written, from the repository root, on the
bundled data (only its output goes to a temporary folder instead of the root)."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.slow  # five searches on real data


def _readme_command() -> list[str]:
    text = (ROOT / "README.md").read_text()
    (line,) = re.findall(r"^python -m optimizer run examples/\S*walk-forward\S*\.json .*$", text, flags=re.M)
    return shlex.split(line)


def test_the_readme_walk_forward_example_runs_on_the_bundled_data(tmp_path):
    command = _readme_command()
    out = tmp_path / "result.json"
    command[command.index("--json") + 1] = str(out)
    done = subprocess.run([sys.executable, *command[1:]], cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr
    config = json.loads((ROOT / command[command.index("run") + 1]).read_text())
    assert (ROOT / "examples" / config["data"]["path"]).resolve().parent == (ROOT / "data").resolve()
    summary = json.loads(out.read_text())["walk_forward"]
    assert len(summary["folds"]) == config["walk_forward"]["folds"]
    assert isinstance(summary["passed"], bool) and summary["criteria"]
    assert ("passed" if summary["passed"] else "failed") in done.stderr
