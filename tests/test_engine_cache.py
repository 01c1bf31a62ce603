"""`optimizer.one_pass.drop_stale_cache`: the compiled pass is recompiled when a helper's module changes."""

from __future__ import annotations

from optimizer.one_pass import drop_stale_cache


def test_compiled_code_goes_when_the_helpers_change(tmp_path):
    compiled = [tmp_path / "one_pass.run_pass-1.py311.nbi", tmp_path / "one_pass.run_pass-1.py311.1.nbc"]
    other = tmp_path / "backtest._simulate-2.py311.nbi"
    for path in [*compiled, other]:
        path.write_bytes(b"x")
    assert drop_stale_cache(tmp_path)  # no stamp yet: whatever is cached may be stale
    assert not any(path.exists() for path in compiled) and other.exists()
    for path in compiled:
        path.write_bytes(b"x")
    assert not drop_stale_cache(tmp_path)  # the helpers have not changed since
    assert all(path.exists() for path in compiled)
    (tmp_path / "one_pass.helpers-sha256").write_text("an older hash")  # as after an edit of backtest.py
    assert drop_stale_cache(tmp_path)
    assert not any(path.exists() for path in compiled)
