"""``python -m optimizer run`` stopped by Ctrl-C says what is true of its checkpoint:
before the first generation has finished, that nothing was checkpointed yet (and
where the checkpoint would be), never "checkpointed" and a resume command."""

from __future__ import annotations

import signal
import time

import pytest

from tests.test_run_command import _children, _config, _env, _finish, _start


@pytest.mark.slow  # the interrupted evaluations end before the run does
def test_ctrl_c_before_the_first_generation_says_nothing_was_checkpointed(tmp_path):
    config = _config(tmp_path)
    folder = tmp_path / "ckpt"
    # Each evaluation sleeps 1 s: the first generation (12 members on 2 workers) takes at least 6 s.
    process = _start(config, "--workers", "2", "--checkpoint", folder, "--json", tmp_path / "out.json", env=_env("1"))
    deadline = time.monotonic() + 120
    while not _children(process.pid):  # the pool is up: the run is under way
        assert process.poll() is None, process.communicate()[1]
        assert time.monotonic() < deadline, "the run's workers never started"
        time.sleep(0.01)
    time.sleep(0.5)
    process.send_signal(signal.SIGINT)
    code, err = _finish(process, timeout=120)
    assert code == 130, err
    assert "nothing was checkpointed yet" in err and str(folder) in err, err
    assert "--resume" not in err and "Traceback" not in err, err
    assert not (folder / "checkpoint.json").exists()
