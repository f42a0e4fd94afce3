"""The two engines build the same infrastructure: the default app synthesized with CDK Terrain
(.venv-cdktn, `make install ENGINE=cdktn`) equals this session's cdktf synth in every stack but the
CDK's version and the AWS provider it pins, and its assets are the same bytes.

Run from the cdktf engine's session when CDK Terrain's environment exists (CI installs both);
otherwise it skips and says why. The engine itself: constructs_lib/engine.py.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from conftest import ROOT, BackgroundRun, as_cdktf, engine_name, files, subprocess_env

from constructs_lib import engine

OTHER_PYTHON = ROOT / ".venv-cdktn" / "bin" / "python"
RUN = (
    BackgroundRun(
        [str(OTHER_PYTHON), str(ROOT / "main.py")],
        env=subprocess_env(IAC_ENGINE="cdktn", CDKTF_OUTDIR="out"),
    )
    if engine_name() == "cdktf" and OTHER_PYTHON.is_file()
    else None
)


@pytest.fixture(scope="module")
def cdktn_out() -> Path:
    if engine_name() != "cdktf":
        pytest.skip("compared from the cdktf engine's session (make test)")
    if RUN is None:
        pytest.skip("CDK Terrain's environment is not installed (make install ENGINE=cdktn)")
    result = RUN.result()
    assert result.returncode == 0, result.stderr[-3000:]
    assert "(settings: settings.json; engine cdktn)" in result.stdout
    return RUN.workdir / "out"


@pytest.mark.after_background
def test_every_stack_is_the_same_json_but_the_engines_own_values(cdktn_out, default_synth):
    assert sorted(p.name for p in (cdktn_out / "stacks").iterdir()) == sorted(default_synth.stacks)
    for name, stack in default_synth.stacks.items():
        theirs = json.loads((cdktn_out / "stacks" / name / "cdk.tf.json").read_text())
        assert as_cdktf(theirs, "cdktn") == as_cdktf(stack, "cdktf"), name


@pytest.mark.after_background
def test_the_assets_are_the_same_bytes(cdktn_out, default_synth):
    ours = {k: v for k, v in files(default_synth.outdir).items() if "/assets/" in k}
    theirs = {k: v for k, v in files(cdktn_out).items() if "/assets/" in k}
    assert ours and ours == theirs


def test_the_engine_is_chosen_by_iac_engine_or_by_what_is_installed(monkeypatch):
    monkeypatch.setattr(engine, "_chosen", None)
    monkeypatch.setenv("IAC_ENGINE", "terraform-cdk")
    with pytest.raises(engine.EngineError, match=r"^IAC_ENGINE: 'terraform-cdk' is not an engine \(cdktf, cdktn\)$"):
        engine.current()
    monkeypatch.delenv("IAC_ENGINE")
    mine = engine_name()
    assert engine.current().name == mine  # what this environment has installed
    other = "cdktn" if mine == "cdktf" else "cdktf"
    monkeypatch.setattr(engine, "_chosen", None)
    monkeypatch.setattr(engine, "_installed", lambda e: e.name == mine)
    monkeypatch.setenv("IAC_ENGINE", other)
    with pytest.raises(
        engine.EngineError, match=rf"^IAC_ENGINE: {other} is not installed in .* \(make install ENGINE={other}"
    ):
        engine.current()


def test_a_wrong_engine_is_one_line_before_anything_is_written(tmp_path):
    """This interpreter's environment has one engine; asking for the other is refused in one line."""
    import subprocess

    other = "cdktn" if engine_name() == "cdktf" else "cdktf"
    result = subprocess.run(
        [sys.executable, str(ROOT / "main.py")],
        cwd=tmp_path,
        env=subprocess_env(IAC_ENGINE=other),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        f"error: IAC_ENGINE: {other} is not installed in {sys.prefix} (make install ENGINE={other} creates its "
        "environment)"
    ]
    assert not (tmp_path / "cdktf.out").exists()
