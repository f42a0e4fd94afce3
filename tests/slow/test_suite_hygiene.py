"""What a run of the suite leaves behind: nothing in the temporary directory. A part of the fast
tier that makes temporary files of every kind (cdktf's Testing apps, make in project copies, jsii's
kernel, pytest's own) runs as a user runs it, on two workers, in a TMPDIR of its own."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import pytest
from conftest import ROOT, BackgroundRun, subprocess_env

RUN_TMP = Path(tempfile.mkdtemp(prefix="hygiene-"))
PART = ["tests/test_constructs_in_isolation.py", "tests/test_cli.py", "tests/test_outputs_tool.py"]
SUITE_PART = BackgroundRun(
    [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-n", "2", "--dist", "loadscope", *PART],
    cwd=ROOT,
    env=subprocess_env(TMPDIR=str(RUN_TMP)),
)


@pytest.mark.after_background
def test_a_run_of_the_suite_leaves_nothing_in_the_temporary_directory():
    result = SUITE_PART.result()
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert " passed" in result.stdout
    assert sorted(p.name for p in RUN_TMP.iterdir()) == []
