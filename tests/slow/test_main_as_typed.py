"""`python main.py` as a user types it: a process of its own (it re-runs itself under -O, loads
the bindings lazily, ends with a fast exit) that writes byte for byte what the test session
synthesizes, says what it wrote, and removes a stack no longer configured. Slow tier: a whole
synth in a fresh process; the fast tier runs the same ``main()`` in the test process
(tests/test_main.py)."""

from __future__ import annotations

import sys

import pytest
from conftest import ROOT, BackgroundRun, files, main_summary_problems, stale_stack, subprocess_env

DEFAULT_RUN = BackgroundRun(
    [sys.executable, str(ROOT / "main.py")],
    env=subprocess_env(),
    seed=lambda workdir: stale_stack(workdir / "cdktf.out"),
)


@pytest.mark.after_background
def test_main_as_typed_synthesizes_the_same_bytes_as_the_tests(default_synth):
    result = DEFAULT_RUN.result()
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    # Byte for byte what the tests synthesize, and nothing else: the stale stack is gone.
    assert files(DEFAULT_RUN.workdir / "cdktf.out") == files(default_synth.outdir)
    assert main_summary_problems(result.stdout) == []
