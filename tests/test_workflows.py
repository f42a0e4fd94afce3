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


def workflow(name: str) -> dict:
    import yaml

    return yaml.safe_load((WORKFLOWS / name).read_text())


def steps(job: dict) -> list[dict]:
    return job["steps"]


def test_ci_posts_one_comment_updated_in_place():
    jobs = workflow("ci.yml")["jobs"]
    assert any("tools/synth_diff.py" in step.get("run", "") for step in steps(jobs["checks"]))
    [script] = [
        s["with"]["script"] for s in steps(jobs["comment"]) if s.get("uses", "").startswith("actions/github-script@")
    ]
    # Finds its earlier comment by a marker, then updates it, or creates the first.
    assert "updateComment" in script and "createComment" in script and "startsWith(marker)" in script


def test_plan_uses_oidc_and_a_role_per_environment_without_stored_keys():
    plan = workflow("ci.yml")["jobs"]["plan"]
    assert plan["permissions"]["id-token"] == "write"
    [credentials] = [s for s in steps(plan) if s.get("uses", "").startswith("aws-actions/configure-aws-credentials@")]
    assert set(credentials["with"]) == {"role-to-assume", "aws-region"}  # no access key inputs
    assert credentials["with"]["role-to-assume"] == "${{ vars[env.ROLE_VAR] }}"
    assert any("AWS_PLAN_ROLE_ARN_" in s.get("run", "") for s in steps(plan))
    assert plan["strategy"]["matrix"]["stack"] == "${{ fromJSON(needs.checks.outputs.stacks) }}"  # one per stack


def test_deploy_goes_environment_after_environment_with_prod_last():
    jobs = workflow("deploy.yml")["jobs"]
    assert "needs" not in jobs["dev"]
    assert (jobs["staging"]["needs"], jobs["prod"]["needs"]) == ("dev", "staging")
    assert {jobs[e]["with"]["environment"] for e in ("dev", "staging", "prod")} == {"dev", "staging", "prod"}
    deploy = workflow("deploy-environment.yml")["jobs"]["deploy"]
    assert deploy["environment"] == "${{ inputs.environment }}"


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
