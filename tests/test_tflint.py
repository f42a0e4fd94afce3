"""tflint with the AWS ruleset on every synthesized stack, where tflint and its plugin can be had.

CI installs tflint (terraform-linters/setup-tflint) and runs `tflint --init`; here neither GitHub's
releases nor the plugin can be downloaded, so this test skips and says why.
"""

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from constructs_lib.settings import StackConfig

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / ".tflint.hcl"
STACKS = [*StackConfig().stack_names, "iac-aws-nova-bootstrap"]


def tflint(*args, cwd):
    return subprocess.run(["tflint", f"--config={CONFIG}", *args], cwd=cwd, capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("stack", STACKS)
def test_tflint_finds_nothing(default_synth, tmp_path, stack):
    if shutil.which("tflint") is None:
        pytest.skip("tflint is not installed (CI installs it with terraform-linters/setup-tflint)")
    init = tflint("--init", cwd=ROOT)
    if init.returncode != 0:
        pytest.skip(f"tflint --init cannot install the AWS ruleset here: {(init.stderr or init.stdout).strip()[:200]}")
    workdir = tmp_path / stack
    shutil.copytree(default_synth.outdir / "stacks" / stack, workdir)
    result = tflint("--format=json", cwd=workdir)
    report = json.loads(result.stdout)
    assert report["errors"] == [] and report["issues"] == [], json.dumps(report, indent=2)
    assert result.returncode == 0
