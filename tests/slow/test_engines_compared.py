"""The two engines build the same infrastructure: the default app synthesized with CDK Terrain
(.venv-cdktn, `make install ENGINE=cdktn`) equals this session's cdktf synth in every stack but the
CDK's version and the AWS provider it pins, and its assets are the same bytes.

Run from the cdktf engine's session when CDK Terrain's environment exists (CI installs both);
otherwise it skips and says why. Slow tier: a second synth, in the other engine's interpreter.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import ROOT, BackgroundRun, as_cdktf, engine_name, files, subprocess_env

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
