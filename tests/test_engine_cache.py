"""`optimizer.compiled_cache.drop_stale_cache`: the compiled pass is recompiled when a helper's module changes."""

from __future__ import annotations

from pathlib import Path

from optimizer import backtest, one_pass, pairwise, periods, stats
from optimizer.compiled_cache import drop_stale_cache

HELPERS = (backtest, pairwise, periods, stats)
CALLER = Path(one_pass.__file__)


def test_compiled_code_goes_when_the_helpers_change(tmp_path):
    compiled = [tmp_path / "one_pass.run_pass-1.py311.nbi", tmp_path / "one_pass.run_pass-1.py311.1.nbc"]
    other = tmp_path / "backtest._simulate-2.py311.nbi"
    for path in [*compiled, other]:
        path.write_bytes(b"x")
    assert drop_stale_cache(CALLER, HELPERS, tmp_path)  # no stamp yet: whatever is cached may be stale
    assert not any(path.exists() for path in compiled) and other.exists()
    for path in compiled:
        path.write_bytes(b"x")
    assert not drop_stale_cache(CALLER, HELPERS, tmp_path)  # the helpers have not changed since
    assert all(path.exists() for path in compiled)
    (tmp_path / "one_pass.helpers-sha256").write_text("an older hash")  # as after an edit of backtest.py
    assert drop_stale_cache(CALLER, HELPERS, tmp_path)
    assert not any(path.exists() for path in compiled)
