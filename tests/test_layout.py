"""The compute core stays free of web code."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import ROOT


def test_optimizer_imports_no_web_framework():
    modules = sorted(".".join(p.relative_to(ROOT).with_suffix("").parts) for p in (ROOT / "optimizer").rglob("*.py"))
    code = (
        "import importlib, sys\n"
        f"for name in {modules!r}:\n"
        "    if not name.endswith('__main__'):\n"
        "        importlib.import_module(name)\n"
        "web = sorted(m for m in sys.modules if m.split('.')[0] in ('flask', 'flask_socketio', 'werkzeug', 'socketio'))\n"
        "print(len(sys.modules), web)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    count, web = done.stdout.split(" ", 1)
    assert int(count) > 50
    assert web.strip() == "[]"
