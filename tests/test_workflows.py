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


def test_checks_install_terraform_and_tflint_before_the_tests():
    """So tflint, `terraform validate` and the offline plan run on GitHub's runners with the pinned provider."""
    import yaml

    steps = yaml.safe_load((WORKFLOWS / "ci.yml").read_text())["jobs"]["checks"]["steps"]
    uses = [step.get("uses", "").split("@")[0] for step in steps]
    runs = [step.get("run", "") for step in steps]
    tests = runs.index("make test")
    assert runs.index("make test-plan") > uses.index("hashicorp/setup-terraform")
    assert uses.index("hashicorp/setup-terraform") < tests
    assert uses.index("terraform-linters/setup-tflint") < tests
    init = next(i for i, run in enumerate(runs) if run.startswith("tflint --init"))
    assert init < tests and ".tflint.hcl" in runs[init]
