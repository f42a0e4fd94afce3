"""The GitHub Actions workflows pass actionlint, and do what the review flow needs."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
WORKFLOWS = ROOT / ".github" / "workflows"


def actionlint() -> str:
    # The pinned wheel puts the binary next to this interpreter.
    found = shutil.which("actionlint", path=str(Path(sys.executable).parent)) or shutil.which("actionlint")
    if found is None:
        pytest.fail("actionlint is not installed: pip install -r requirements-dev.txt")
    return found


def test_workflows_pass_actionlint():
    files = sorted(str(p) for p in WORKFLOWS.glob("*.yml"))
    assert len(files) >= 3
    result = subprocess.run([actionlint(), "-no-color", *files], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


def test_actionlint_catches_a_broken_workflow(tmp_path):
    broken = tmp_path / "broken.yml"
    broken.write_text(
        "on: push\njobs:\n  x:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo ${{ github.nope }\n"
    )
    result = subprocess.run([actionlint(), "-no-color", str(broken)], capture_output=True, text=True, timeout=60)
    assert result.returncode != 0


def test_ci_posts_one_comment_updated_in_place():
    ci = (WORKFLOWS / "ci.yml").read_text()
    assert "tools/synth_diff.py" in ci
    assert "updateComment" in ci and "createComment" in ci


def test_plan_uses_oidc_and_a_role_per_environment_without_stored_keys():
    ci = (WORKFLOWS / "ci.yml").read_text()
    assert "id-token: write" in ci
    assert "role-to-assume" in ci and "AWS_PLAN_ROLE_ARN_" in ci
    assert "aws-access-key-id" not in ci and "AWS_SECRET_ACCESS_KEY" not in ci
    assert "fromJSON(needs.checks.outputs.stacks)" in ci  # one matrix entry per synthesized stack


def test_deploy_goes_environment_after_environment_with_prod_last():
    deploy = (WORKFLOWS / "deploy.yml").read_text()
    assert deploy.index("staging:\n    needs: dev") < deploy.index("prod:\n    needs: staging")
    assert "environment: ${{ inputs.environment }}" in (WORKFLOWS / "deploy-environment.yml").read_text()


def test_the_suite_runs_on_both_engines_with_tflint_and_terraform():
    """tflint runs for real in the suite on GitHub's runners; the slow tier's validate and offline
    plan use the pinned provider; both tiers run under cdktf and CDK Terrain."""
    import yaml

    tests = yaml.safe_load((WORKFLOWS / "ci.yml").read_text())["jobs"]["tests"]
    assert tests["strategy"]["matrix"]["engine"] == ["cdktf", "cdktn"]
    uses = [step.get("uses", "").split("@")[0] for step in tests["steps"]]
    runs = [step.get("run", "") for step in tests["steps"]]
    suite = runs.index("make test ENGINE=${{ matrix.engine }}")
    slow = runs.index("make test-slow ENGINE=${{ matrix.engine }}")
    assert uses.index("terraform-linters/setup-tflint") < suite
    assert next(i for i, run in enumerate(runs) if run.startswith("tflint --init")) < suite
    assert runs.index("make install ENGINE=cdktn") < slow  # the cdktf run compares both engines' JSON
    assert uses.index("hashicorp/setup-terraform") < slow
