"""`make rehearse` as typed, in a copy of the project: it synthesizes, starts moto, a local API per
region and the emulated services, runs verify against them and passes; a fault makes it fail with
verify's reason; and whichever way it ends (passed, failed, Ctrl-C, SIGTERM) nothing it started is
still running and nothing is left on disk. Each run synthesizes (seconds): the slow tier."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import project_copy, subprocess_env

MARK = "IAC_REHEARSE_TEST_RUN"  # in the environment of the run and of every process it starts
TIMEOUT = 300


@pytest.fixture(scope="module")
def project() -> Iterator[Path]:
    yield project_copy()


def still_running(mark: str) -> list[str]:
    """The processes whose environment carries this run's mark."""
    found = []
    for proc in Path("/proc").iterdir():
        try:
            if f"{MARK}={mark}".encode() in (proc / "environ").read_bytes().split(b"\0"):
                found.append((proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace"))
        except OSError:  # gone meanwhile, or not ours to read
            continue
    return found


def environment(tmp_path: Path) -> tuple[dict[str, str], str, Path]:
    mark, scratch = uuid.uuid4().hex, tmp_path / "tmp"
    scratch.mkdir()
    return subprocess_env(**{MARK: mark, "TMPDIR": str(scratch)}), mark, scratch


def assert_nothing_left(mark: str, scratch: Path) -> None:
    assert still_running(mark) == []
    assert list(scratch.iterdir()) == []


def test_make_rehearse_passes_and_leaves_nothing(project: Path, tmp_path: Path) -> None:
    env, mark, scratch = environment(tmp_path)
    result = subprocess.run(["make", "rehearse"], cwd=project, env=env, capture_output=True, text=True, timeout=TIMEOUT)
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "rehearse dev: synthesizing (python main.py, a few seconds) ..."
    assert lines[-2].startswith("verify dev: all 16 checks passed in ")
    assert lines[-1] == "rehearse dev: stopped everything it started; nothing left on disk"
    assert result.stderr == ""
    assert_nothing_left(mark, scratch)


def test_a_fault_fails_the_rehearsal_with_the_reason(project: Path, tmp_path: Path) -> None:
    env, mark, scratch = environment(tmp_path)
    result = subprocess.run(
        ["make", "rehearse", "FAULT=unhealthy"], cwd=project, env=env, capture_output=True, text=True, timeout=TIMEOUT
    )
    assert result.returncode != 0
    assert "us-west-2  health        FAIL" in result.stdout
    assert "503 the items table refused the read (ResourceNotFoundException)" in result.stdout
    assert "verify dev: FAILED: 1 of 11 checks (us-west-2 health)" in result.stdout
    assert_nothing_left(mark, scratch)


def _start(project: Path, env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "tools/rehearse.py"],
        cwd=project,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group, as a terminal's job is
    )


def _wait_for(process: subprocess.Popen[str], text: str) -> list[str]:
    assert process.stdout is not None
    seen = []
    for line in process.stdout:
        seen.append(line)
        if text in line:
            return seen
    raise AssertionError(f"{text!r} never printed: {seen}")


def test_ctrl_c_while_verify_runs_stops_everything(project: Path, tmp_path: Path) -> None:
    env, mark, scratch = environment(tmp_path)
    process = _start(project, env)
    try:
        _wait_for(process, "against it (tools/verify.py)")
        os.killpg(process.pid, signal.SIGINT)  # Ctrl-C: the terminal signals the whole job
        _, stderr = process.communicate(timeout=TIMEOUT)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
    assert process.returncode == 130, stderr
    assert "rehearse: interrupted (SIGINT)" in stderr
    assert_nothing_left(mark, scratch)


def test_sigterm_to_rehearse_alone_stops_what_it_started(project: Path, tmp_path: Path) -> None:
    """Only the rehearsal gets the signal (a CI runner cancelling it): it stops its children itself."""
    env, mark, scratch = environment(tmp_path)
    process = _start(project, env)
    try:
        _wait_for(process, "a local API and a worker in each of")
        assert len(still_running(mark)) >= 3  # rehearse and a local API per region
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=TIMEOUT)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
    assert process.returncode == 128 + signal.SIGTERM, stderr
    assert "rehearse: interrupted (SIGTERM)" in stderr
    assert_nothing_left(mark, scratch)
