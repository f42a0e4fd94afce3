"""`make diff` along the ways it can end (tests/make_diff_paths.py, in a project copy): each
synthesizes the base and the working tree, seconds of CPU, so the slow tier. Starts when this module
is collected and runs beside the other slow tests."""

from __future__ import annotations

import json
import sys

import pytest
from conftest import ROOT, BackgroundRun, project_copy, subprocess_env

DIFF_PATHS = BackgroundRun(
    lambda: [sys.executable, str(ROOT / "tests" / "make_diff_paths.py"), str(project_copy())], env=subprocess_env()
)


@pytest.mark.after_background
def test_make_diff_leaves_no_worktree_when_the_base_fails():
    """A leftover .diff-base worktree used to break every later make diff."""
    failing = json.loads(DIFF_PATHS.result().stdout)["failing_base"]
    assert failing["exit"] != 0, failing
    assert "settings.json: line 1, column 14" in failing["stderr"]
    assert (failing["worktrees"], failing["dirs"]) == (1, [])


@pytest.mark.after_background
def test_make_diff_leaves_no_worktree_when_interrupted():
    interrupted = json.loads(DIFF_PATHS.result().stdout)["interrupted"]
    assert interrupted["seen"] and interrupted["exit"] != 0, interrupted
    assert (interrupted["worktrees"], interrupted["dirs"]) == (1, [])
    assert "Traceback" not in interrupted["stderr"]
