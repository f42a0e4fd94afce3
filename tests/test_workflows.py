"""The GitHub Actions workflows pass actionlint, and do what the review flow, the deploy waves and the
teardown need. The jobs are read as YAML; the shell of the steps that decide something (the bootstrap
plan, the health check, the teardown's confirmation, emptying a bucket) runs here against fakes."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml  # type: ignore[import-untyped]

from constructs_lib.blocks.rules import SHIFT_MINUTES
from tools import rollout

ROOT = Path(__file__).resolve().parent.parent
WORKFLOWS = ROOT / ".github" / "workflows"


def actionlint() -> str:
    # The pinned wheel puts the binary next to this interpreter.
    found = shutil.which("actionlint", path=str(Path(sys.executable).parent)) or shutil.which("actionlint")
    if found is None:
        pytest.fail("actionlint is not installed: pip install -r requirements-dev.txt")
    return found


def test_workflows_pass_actionlint() -> None:
    files = sorted(str(p) for p in WORKFLOWS.glob("*.yml"))
    assert len(files) >= 4
    result = subprocess.run([actionlint(), "-no-color", *files], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


def test_actionlint_catches_a_broken_workflow(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yml"
    broken.write_text(
        "on: push\njobs:\n  x:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo ${{ github.nope }\n"
    )
    result = subprocess.run([actionlint(), "-no-color", str(broken)], capture_output=True, text=True, timeout=60)
    assert result.returncode != 0


def workflow(name: str) -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load((WORKFLOWS / name).read_text())
    return document


def steps(job: dict[str, Any]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = job["steps"]
    return found


def needs(job: dict[str, Any]) -> list[str]:
    value = job.get("needs", [])
    return [value] if isinstance(value, str) else list(value)


def step_index(job: dict[str, Any], text: str) -> int:
    """The index of the one step whose script contains ``text``."""
    [index] = [i for i, step in enumerate(steps(job)) if text in step.get("run", "")]
    return index


def every_credentials(job: dict[str, Any]) -> list[dict[str, Any]]:
    """The inputs of each of the job's credentials steps, in order."""
    return [s["with"] for s in steps(job) if s.get("uses", "").startswith("aws-actions/configure-aws-credentials@")]


def credentials(job: dict[str, Any]) -> dict[str, Any]:
    """The inputs of the job's one credentials step."""
    [found] = every_credentials(job)
    return found


def run_step(script: str, tmp_path: Path, fakes: dict[str, str], **env: str) -> subprocess.CompletedProcess[str]:
    """A step's script as GitHub runs it (bash -e), with ``fakes`` (command name -> bash body) first
    on PATH, and GITHUB_OUTPUT a file in ``tmp_path``."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    for name, body in fakes.items():
        (bin_dir / name).write_text(f"#!/usr/bin/env bash\n{body}\n")
        (bin_dir / name).chmod(0o755)
    (tmp_path / "script.sh").write_text(script)
    variables = {
        "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
        "GITHUB_OUTPUT": str(tmp_path / "github_output"),
        "RUNNER_TEMP": str(tmp_path),
        **env,
    }
    command = ["bash", "--noprofile", "--norc", "-e", str(tmp_path / "script.sh")]
    return subprocess.run(command, capture_output=True, text=True, env=variables, cwd=tmp_path, timeout=60)


# -- ci.yml: the review flow -------------------------------------------------------------------------


def test_ci_posts_one_comment_updated_in_place() -> None:
    jobs = workflow("ci.yml")["jobs"]
    assert any("tools/synth_diff.py" in step.get("run", "") for step in steps(jobs["checks"]))
    [script] = [
        s["with"]["script"] for s in steps(jobs["comment"]) if s.get("uses", "").startswith("actions/github-script@")
    ]
    # Finds its earlier comment by a marker, then updates it, or creates the first.
    assert "updateComment" in script and "createComment" in script and "startsWith(marker)" in script


def test_the_comment_shows_the_fixed_cost_before_and_after_the_change() -> None:
    checks = steps(workflow("ci.yml")["jobs"]["checks"])
    runs = [step.get("run", "") for step in checks]
    [diff] = [i for i, run in enumerate(runs) if "tools/synth_diff.py" in run]
    [costs] = [i for i, run in enumerate(runs) if "tools/cost.py" in run]
    # Appended to the file the comment posts, after the synth diff wrote it, against the base synth.
    assert costs > diff and "--base ../base/cdktf.out >> synth-diff.md" in runs[costs]
    assert checks[costs]["if"] == "github.event_name == 'pull_request'"


def test_infracost_estimates_each_plan_only_where_its_key_is_set() -> None:
    plan = workflow("ci.yml")["jobs"]["plan"]
    assert plan["env"] == {"INFRACOST_API_KEY": "${{ secrets.INFRACOST_API_KEY }}"}
    infracost = [
        s for s in steps(plan) if "infracost" in (s.get("uses", "") + s.get("run", "") + s.get("name", "")).lower()
    ]
    assert len(infracost) == 2 and all(s["if"] == "env.INFRACOST_API_KEY != ''" for s in infracost)
    [script] = [
        s["with"]["script"]
        for s in steps(workflow("ci.yml")["jobs"]["comment"])
        if s.get("uses", "").startswith("actions/github-script@")
    ]
    assert "'infracost-' + dir.slice(5)" in script and "existsSync(estimate)" in script


def test_plan_uses_oidc_and_a_role_per_environment_without_stored_keys() -> None:
    plan = workflow("ci.yml")["jobs"]["plan"]
    assert plan["permissions"]["id-token"] == "write"
    assert set(credentials(plan)) == {"role-to-assume", "aws-region"}  # no access key inputs
    assert credentials(plan)["role-to-assume"] == "${{ vars[env.ROLE_VAR] }}"
    role = steps(plan)[step_index(plan, "AWS_PLAN_ROLE_ARN_")]
    assert role["env"] == {"ENVIRONMENT": "${{ matrix.environment }}"}  # the stack's, from tools/waves.py


def test_each_stack_plans_in_its_own_region() -> None:
    jobs = workflow("ci.yml")["jobs"]
    # One job per stack, each {stack, region, environment} from tools/waves.py --plan-matrix.
    assert jobs["plan"]["strategy"]["matrix"] == {"include": "${{ fromJSON(needs.checks.outputs.plans) }}"}
    assert credentials(jobs["plan"])["aws-region"] == "${{ matrix.region }}"
    assert jobs["checks"]["outputs"]["plans"] == "${{ steps.plans.outputs.matrix }}"
    [matrix] = [s for s in steps(jobs["checks"]) if s.get("id") == "plans"]
    assert matrix["run"] == ".venv/bin/python tools/waves.py --plan-matrix --github-output"
    runs = [step.get("run") for step in steps(jobs["checks"])]
    assert runs.index(".venv/bin/python main.py") < runs.index(matrix["run"])  # after the synth


def test_the_suite_runs_on_both_engines_with_tflint_and_terraform() -> None:
    """tflint runs for real in the suite on GitHub's runners; the slow tier's validate and offline
    plan use the pinned provider; both tiers run under cdktf and CDK Terrain."""
    tests = workflow("ci.yml")["jobs"]["tests"]
    assert tests["strategy"]["matrix"]["engine"] == ["cdktf", "cdktn"]
    uses = [step.get("uses", "").split("@")[0] for step in tests["steps"]]
    runs = [step.get("run", "") for step in tests["steps"]]
    suite = runs.index("make test ENGINE=${{ matrix.engine }}")
    slow = runs.index("make test-slow ENGINE=${{ matrix.engine }}")
    assert uses.index("terraform-linters/setup-tflint") < suite
    assert next(i for i, run in enumerate(runs) if run.startswith("tflint --init")) < suite
    assert runs.index("make install ENGINE=cdktn") < slow  # the cdktf run compares both engines' JSON
    assert uses.index("hashicorp/setup-terraform") < slow


# -- deploy.yml and deploy-environment.yml: environments one after another, each in waves --------------

WAVES = ("bootstrap", "global", "regions", "edge")
# The region each job that reaches AWS runs in: the regional stacks' own, the home region for the others.
WAVE_REGIONS = {
    "bootstrap": "${{ fromJSON(needs.prepare.outputs.bootstrap).region }}",
    "global": "${{ fromJSON(needs.prepare.outputs.global).region }}",
    "regions": "${{ matrix.region }}",
    "edge": "${{ fromJSON(needs.prepare.outputs.edge).region }}",
    "verify": "${{ fromJSON(needs.prepare.outputs.edge).region }}",
}


def deploy_jobs() -> dict[str, Any]:
    jobs: dict[str, Any] = workflow("deploy-environment.yml")["jobs"]
    return jobs


def test_deploy_goes_environment_after_environment_with_prod_last() -> None:
    jobs = workflow("deploy.yml")["jobs"]
    assert "needs" not in jobs["dev"]
    assert (jobs["staging"]["needs"], jobs["prod"]["needs"]) == ("dev", "staging")
    assert {jobs[e]["with"]["environment"] for e in ("dev", "staging", "prod")} == {"dev", "staging", "prod"}
    for name in ("dev", "staging", "prod"):
        assert jobs[name]["uses"] == "./.github/workflows/deploy-environment.yml"
        assert jobs[name]["permissions"] == {"contents": "read", "id-token": "write"}


def test_an_environment_deploys_in_waves_bootstrap_global_regions_edge_then_verifies() -> None:
    jobs = deploy_jobs()
    assert list(jobs) == ["prepare", *WAVES, "verify"]
    assert needs(jobs["prepare"]) == []
    assert needs(jobs["bootstrap"]) == ["prepare"]
    assert needs(jobs["global"]) == ["prepare", "bootstrap"]
    assert needs(jobs["regions"]) == ["prepare", "global"]
    assert needs(jobs["edge"]) == ["prepare", "regions"]
    assert needs(jobs["verify"]) == ["prepare", "edge"]


def test_the_regions_deploy_one_at_a_time_and_stop_at_the_first_failure() -> None:
    strategy = deploy_jobs()["regions"]["strategy"]
    assert (strategy["max-parallel"], strategy["fail-fast"]) == (1, True)
    # In the order tools/waves.py lists them: the home region first.
    assert strategy["matrix"] == {"include": "${{ fromJSON(needs.prepare.outputs.regions) }}"}


def test_every_wave_assumes_the_environment_deploy_role_through_oidc_in_its_own_region() -> None:
    document = workflow("deploy-environment.yml")
    assert document["permissions"] == {"contents": "read"}  # id-token only where a job reaches AWS
    jobs = document["jobs"]
    assert "environment" not in jobs["prepare"] and "permissions" not in jobs["prepare"]
    for name, region in WAVE_REGIONS.items():
        job = jobs[name]
        assert job["environment"] == "${{ inputs.environment }}", name
        assert job["permissions"] == {"contents": "read", "id-token": "write"}, name
        for given in every_credentials(job):
            assert set(given) <= {"role-to-assume", "aws-region", "role-duration-seconds"}, name  # no stored keys
            assert (given["role-to-assume"], given["aws-region"]) == ("${{ vars.AWS_DEPLOY_ROLE_ARN }}", region), name
        # Terraform cannot renew the credentials mid-apply: one after the other, the sessions last as
        # long as the job may run (the regions' second one serves the rollout after the apply).
        sessions = [given.get("role-duration-seconds", 3600) for given in every_credentials(job)]
        assert sum(sessions) >= 60 * job["timeout-minutes"], name


def test_each_wave_deploys_its_own_stack_from_the_prepared_synth() -> None:
    jobs = deploy_jobs()
    stacks = {
        "bootstrap": "${{ fromJSON(needs.prepare.outputs.bootstrap).stack }}",
        "global": "${{ fromJSON(needs.prepare.outputs.global).stack }}",
        "regions": "${{ matrix.stack }}",
        "edge": "${{ fromJSON(needs.prepare.outputs.edge).stack }}",
    }
    for name, stack in stacks.items():
        assert jobs[name]["env"]["STACK"] == stack, name
        deploy = steps(jobs[name])[step_index(jobs[name], "cdktf deploy")]["run"]
        assert deploy.startswith('npx --no-install cdktf deploy "$STACK" --auto-approve --skip-synth'), name
        [tools] = [s for s in steps(jobs[name]) if s.get("uses") == "./.github/actions/deploy-tools"]
        assert tools["with"]["artifact"] == "cdktf-out-${{ inputs.environment }}", name


def test_the_wave_timeouts_leave_room_for_certificates_and_replicas() -> None:
    jobs = deploy_jobs()
    # A replica's creation takes hours for a large table; ACM's validation up to about 75 minutes;
    # the slowest gradual rollout shifts for 100 minutes after the region's apply.
    assert {name: jobs[name]["timeout-minutes"] for name in ("global", "regions", "edge")} == {
        "global": 180,
        "regions": 300,
        "edge": 60,
    }
    # The wait before the apply, the apply, the slowest rollout, then make install and make verify.
    before = BEFORE_APPLY_MINUTES
    assert jobs["regions"]["timeout-minutes"] >= before + 120 + rollout.timeout_minutes(SLOWEST, None) + 20


# The slowest rollout tools/rollout.py waits for.
SLOWEST = [
    rollout.Rollout("r", "a", name, "g", "f", "live", "2")
    for name, minutes in SHIFT_MINUTES.items()
    if minutes == max(SHIFT_MINUTES.values())
]


def test_after_each_regions_apply_the_functions_roll_out_with_fresh_credentials_before_the_verification() -> None:
    regions = deploy_jobs()["regions"]
    deploy, verify = step_index(regions, "cdktf deploy"), step_index(regions, "make verify")
    [roll] = [i for i, step in enumerate(steps(regions)) if step.get("run") == 'python tools/rollout.py "$STACK"']
    assert deploy < roll < verify
    assert steps(regions)[roll]["run"] == 'python tools/rollout.py "$STACK"'  # the job's stack, from the synth
    between = [s for s in steps(regions)[deploy + 1 : roll] if s.get("if") != "failure() || cancelled()"]
    assert [s["uses"].split("@")[0] for s in between] == ["aws-actions/configure-aws-credentials"]
    # A session of its own, as long as tools/rollout.py may wait for the slowest strategy.
    fresh = between[0]["with"]
    assert fresh["aws-region"] == "${{ matrix.region }}"
    assert fresh["role-duration-seconds"] >= 60 * rollout.timeout_minutes(SLOWEST, None)


BEFORE_APPLY_MINUTES = 30


def test_before_each_regions_apply_a_deployment_still_running_is_waited_for_on_credentials_of_its_own() -> None:
    regions = deploy_jobs()["regions"]
    wait, deploy = step_index(regions, "--before-apply"), step_index(regions, "cdktf deploy")
    assert wait < deploy
    assert steps(regions)[wait]["run"].splitlines() == [
        'terraform -chdir="cdktf.out/stacks/$STACK" init -input=false -no-color > /dev/null',  # the state it reads
        f'python tools/rollout.py "$STACK" --before-apply --timeout-minutes {BEFORE_APPLY_MINUTES}',
    ]
    [python] = [i for i, step in enumerate(steps(regions)) if step.get("uses", "").startswith("actions/setup-python@")]
    assert python < wait
    # The apply gets a fresh two-hour session: the wait may have used the first.
    fresh = steps(regions)[deploy - 1]
    assert fresh["uses"].split("@")[0] == "aws-actions/configure-aws-credentials"
    assert fresh["with"]["aws-region"] == "${{ matrix.region }}" and fresh["with"]["role-duration-seconds"] == 7200


def test_make_verify_in_each_region_runs_on_credentials_of_its_own() -> None:
    regions = deploy_jobs()["regions"]
    verify = step_index(regions, "make verify")
    # The rollout's session may have run out after the slowest strategy: a fresh one right before.
    before = steps(regions)[verify - 1]
    assert before.get("uses", "").split("@")[0] == "aws-actions/configure-aws-credentials"
    assert before["with"]["aws-region"] == "${{ matrix.region }}"


def test_remote_state_is_checked_before_any_deploy() -> None:
    jobs = deploy_jobs()
    prepare = jobs["prepare"]
    check = step_index(prepare, "tools/waves.py")
    script = steps(prepare)[check]["run"]
    assert "--require-remote-state" in script and "--github-output" in script
    assert step_index(prepare, "main.py") < check  # of this synth
    [upload] = [i for i, s in enumerate(steps(prepare)) if s.get("uses", "").startswith("actions/upload-artifact@")]
    assert check < upload  # the waves get the synth only once it passed
    assert not any("cdktf deploy" in s.get("run", "") for s in steps(prepare))
    assert all("prepare" in needs(jobs[name]) for name in (*WAVES, "verify"))
    assert {k: v for k, v in prepare["outputs"].items() if k not in ("configured", "skip")} == {
        wave: f"${{{{ steps.waves.outputs.{wave} }}}}" for wave in WAVES
    }


def test_an_environment_the_app_does_not_configure_skips_every_wave() -> None:
    jobs = deploy_jobs()
    assert "--if-configured" in steps(jobs["prepare"])[step_index(jobs["prepare"], "tools/waves.py")]["run"]
    assert jobs["prepare"]["outputs"]["configured"] == "${{ steps.waves.outputs.configured }}"
    assert jobs["bootstrap"]["if"].startswith("needs.prepare.outputs.configured == 'true' && ")
    # tools/waves.py skips every job of an environment it does not configure.
    assert run_jobs(configured="false", skip=list(DEPLOY_JOBS)) == dict.fromkeys(DEPLOY_JOBS, "skipped")


# -- the jobs' `if` conditions, evaluated as GitHub does ---------------------------------------------

DEPLOY_JOBS = ("bootstrap", "global", "regions", "edge", "verify")
STATUS_FUNCTIONS = ("success()", "failure()", "cancelled()", "always()")


def github_if(condition: str, context: dict[str, str], results: dict[str, str], ancestors: list[str]) -> bool:
    """A job's ``if`` as GitHub evaluates it, for the operators these workflows use: a condition without
    a status function gets ``success() &&`` in front; ``success()`` means every ancestor succeeded,
    ``failure()`` that one failed (no run is cancelled here)."""
    condition = condition.strip().removeprefix("${{").removesuffix("}}").strip()
    if not any(function in condition for function in STATUS_FUNCTIONS):
        condition = f"success() && ({condition})"
    python = re.sub(r"\b(?:needs|inputs)\.[\w.-]+", lambda m: f"ctx({m.group(0)!r})", condition)
    python = python.replace("&&", " and ").replace("||", " or ")
    python = re.sub(r"!(?!=)", " not ", python).replace("\n", " ")
    namespace = {
        "ctx": lambda name: context.get(name, ""),
        "success": lambda: all(results[a] == "success" for a in ancestors),
        "failure": lambda: any(results[a] == "failure" for a in ancestors),
        "cancelled": lambda: False,
        "always": lambda: True,
        "contains": lambda search, item: item in search,
        "fromJSON": json.loads,
    }
    return bool(eval(python, namespace))  # the workflow's own expression, its operators mapped


def run_jobs(*, configured: str = "true", skip: list[str] | None = None, failing: str = "") -> dict[str, str]:
    """Each job's result in a run of deploy-environment.yml where prepare wrote these outputs and the
    job ``failing`` (when it runs) fails."""
    jobs = deploy_jobs()
    results = {"prepare": "success"}
    context = {
        "needs.prepare.outputs.configured": configured,
        "needs.prepare.outputs.skip": json.dumps(skip or []),
    }
    for name in DEPLOY_JOBS:
        ancestors, todo = [], list(needs(jobs[name]))
        while todo:
            ancestor = todo.pop()
            ancestors.append(ancestor)
            todo.extend(needs(jobs[ancestor]))
        context.update({f"needs.{n}.result": results[n] for n in needs(jobs[name])})
        runs = github_if(jobs[name].get("if", "success()"), context, results, ancestors)
        results[name] = ("failure" if name == failing else "success") if runs else "skipped"
    return {name: results[name] for name in DEPLOY_JOBS}


def test_without_region_down_every_wave_runs_after_the_one_before_succeeded() -> None:
    assert run_jobs() == dict.fromkeys(DEPLOY_JOBS, "success")


@pytest.mark.parametrize("failing", DEPLOY_JOBS[:-1])
def test_without_region_down_a_failed_wave_skips_every_one_after_it(failing: str) -> None:
    results = run_jobs(failing=failing)
    after = DEPLOY_JOBS[DEPLOY_JOBS.index(failing) + 1 :]
    assert results[failing] == "failure" and all(results[name] == "skipped" for name in after), results


def test_the_evaluation_sees_a_condition_that_ignores_a_failure(monkeypatch: pytest.MonkeyPatch) -> None:
    """The check above fails for an ``if`` that would run a wave after a failed one."""
    jobs = deploy_jobs()
    jobs["edge"]["if"] = "always()"
    monkeypatch.setattr(sys.modules[__name__], "deploy_jobs", lambda: jobs)
    assert run_jobs(failing="regions")["edge"] == "success"


@pytest.mark.parametrize(
    "skip, edge",
    [(["bootstrap", "global", "verify"], "success"), (["bootstrap", "global", "edge", "verify"], "skipped")],
    ids=["the edge deploys", "the edge reaches the region that is down"],
)
def test_with_region_down_the_regions_and_the_edge_run_after_the_skipped_global(skip: list[str], edge: str) -> None:
    assert run_jobs(skip=skip) == {
        "bootstrap": "skipped",
        "global": "skipped",
        "regions": "success",
        "edge": edge,
        "verify": "skipped",  # each region's job verified itself
    }


def test_with_another_environments_region_down_all_but_the_bootstrap_runs() -> None:
    """The account-wide bootstrap reaches that region; this environment's stacks do not."""
    assert run_jobs(skip=["bootstrap"]) == {
        "bootstrap": "skipped",
        "global": "success",
        "regions": "success",
        "edge": "success",
        "verify": "success",
    }


@pytest.mark.parametrize("failing", ["global", "regions"])
def test_with_the_bootstrap_skipped_a_failed_wave_still_stops_the_ones_after_it(failing: str) -> None:
    results = run_jobs(skip=["bootstrap"], failing=failing)
    after = DEPLOY_JOBS[DEPLOY_JOBS.index(failing) + 1 :]
    assert results[failing] == "failure" and all(results[name] == "skipped" for name in after), results


def test_an_environment_that_cannot_deploy_while_a_region_is_down_skips_every_wave() -> None:
    """tools/waves.py skips it whole (no other region, or its states there), so its run succeeds
    and deploy.yml goes on to the next environment."""
    assert run_jobs(skip=list(DEPLOY_JOBS)) == dict.fromkeys(DEPLOY_JOBS, "skipped")


def test_with_region_down_a_failed_region_still_stops_the_edge() -> None:
    results = run_jobs(skip=["bootstrap", "global", "verify"], failing="regions")
    assert (results["regions"], results["edge"], results["verify"]) == ("failure", "skipped", "skipped")


def test_region_down_is_an_input_of_the_manual_deploy_passed_to_every_environment() -> None:
    document: dict[Any, Any] = workflow("deploy.yml")
    given = document[True]["workflow_dispatch"]["inputs"]["region_down"]  # YAML 1.1 reads `on` as true
    assert (given["type"], given["default"], given["required"]) == ("string", "", False)
    assert list(document[True]["push"]) == ["branches"]  # a push deploys everything, as before
    for name in ("dev", "staging", "prod"):
        assert document["jobs"][name]["with"]["region_down"] == "${{ inputs.region_down || '' }}", name
    called = workflow("deploy-environment.yml")[True]["workflow_call"]["inputs"]["region_down"]
    assert (called["type"], called["default"], called["required"]) == ("string", "", False)
    assert deploy_jobs()["prepare"]["outputs"]["skip"] == "${{ steps.waves.outputs.skip }}"


@pytest.mark.parametrize(
    "region_down, flag", [("", ""), ("us-west-2", " --region-down us-west-2")], ids=["empty", "a region"]
)
def test_prepare_passes_region_down_to_tools_waves_only_when_given(tmp_path: Path, region_down: str, flag: str) -> None:
    prepare = deploy_jobs()["prepare"]
    step = steps(prepare)[step_index(prepare, "tools/waves.py")]
    assert step["env"] == {"ENVIRONMENT": "${{ inputs.environment }}", "REGION_DOWN": "${{ inputs.region_down }}"}
    python = tmp_path / ".venv" / "bin" / "python"
    python.parent.mkdir(parents=True)
    python.write_text('#!/usr/bin/env bash\necho "$*" >> "$RUNNER_TEMP/calls"\n')
    python.chmod(0o755)
    result = run_step(step["run"], tmp_path, {}, ENVIRONMENT="dev", REGION_DOWN=region_down)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "calls").read_text() == (
        f"tools/waves.py dev --require-remote-state --if-configured --github-output{flag}\n"
    )


@pytest.mark.parametrize("status, changes", [(0, "false"), (2, "true"), (1, None)])
def test_the_bootstrap_stack_deploys_only_when_its_plan_has_changes(
    tmp_path: Path, status: int, changes: str | None
) -> None:
    bootstrap = deploy_jobs()["bootstrap"]
    plan = steps(bootstrap)[step_index(bootstrap, "terraform plan")]
    deploy = steps(bootstrap)[step_index(bootstrap, "cdktf deploy")]
    assert "-detailed-exitcode" in plan["run"] and plan["id"] == "plan"
    assert deploy["if"] == "steps.plan.outputs.changes == 'true'"
    fake = f'if [ "$1" = plan ]; then exit {status}; fi'
    result = run_step(plan["run"], tmp_path, {"terraform": fake}, STACK="iac-aws-nova-bootstrap")
    if changes is None:  # a failed plan fails the job
        assert result.returncode == 1
    else:
        assert result.returncode == 0, result.stderr
        assert (tmp_path / "github_output").read_text() == f"changes={changes}\n"


def test_each_region_passes_make_verify_for_itself_before_the_next_deploys(tmp_path: Path) -> None:
    regions = deploy_jobs()["regions"]
    deploy, verify = step_index(regions, "cdktf deploy"), step_index(regions, "make verify")
    assert deploy < verify == len(steps(regions)) - 1
    step = steps(regions)[verify]
    assert step["env"] == {"ENVIRONMENT": "${{ inputs.environment }}"}
    assert regions["env"]["REGION"] == "${{ matrix.region }}"
    [python] = [i for i, s in enumerate(steps(regions)) if s.get("uses", "").startswith("actions/setup-python@")]
    assert python < verify
    make = 'echo "$*" >> "$RUNNER_TEMP/calls"'
    result = run_step(step["run"], tmp_path, {"make": make}, ENVIRONMENT="dev", REGION="us-west-2")
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "calls").read_text() == "verify ENV=dev REGION=us-west-2\n"


@pytest.mark.parametrize("status", [1, 2])
def test_a_failed_verify_fails_its_job(tmp_path: Path, status: int) -> None:
    """make verify's failure (1: a check failed, 2: unusable input; make itself says 2) fails the step,
    so the region's job, and with it every wave and environment after it."""
    for job in (deploy_jobs()["regions"], deploy_jobs()["verify"]):
        script = steps(job)[step_index(job, "make verify")]["run"]
        result = run_step(script, tmp_path, {"make": f"exit {status}"}, ENVIRONMENT="dev", REGION="us-west-2")
        assert result.returncode == status


def test_the_environment_is_verified_whole_once_the_edge_is_deployed(tmp_path: Path) -> None:
    job = deploy_jobs()["verify"]
    init, verify = step_index(job, "terraform -chdir="), step_index(job, "make verify")
    [tools] = [s for s in steps(job) if s.get("uses") == "./.github/actions/deploy-tools"]
    assert tools["with"]["artifact"] == "cdktf-out-${{ inputs.environment }}"  # the synth that was deployed
    assert init < verify == len(steps(job)) - 1
    assert steps(job)[init]["env"] == {
        "REGIONS": "${{ needs.prepare.outputs.regions }}",
        "EDGE_STACK": "${{ fromJSON(needs.prepare.outputs.edge).stack }}",
        "TF_PLUGIN_CACHE_DIR": "${{ runner.temp }}/terraform-plugins",
    }
    regions = json.dumps([{"stack": "app-dev-us-east-1", "region": "us-east-1"}, {"stack": "app-dev-eu-west-1"}])
    stacks = ("app-dev-us-east-1", "app-dev-eu-west-1", "app-dev-edge")
    for stack in stacks:
        (tmp_path / "cdktf.out" / "stacks" / stack).mkdir(parents=True)
    # terraform init writes a lock file where there is none, and keeps the one it finds.
    init_fake = 'lock="${1#-chdir=}/.terraform.lock.hcl"\n'
    init_fake += 'echo "$* (lock: $(cat "$lock" 2> /dev/null || echo none))" >> "$RUNNER_TEMP/calls"\n'
    init_fake += '[ -f "$lock" ] || echo "${1#-chdir=}" > "$lock"'
    fakes = {"terraform": init_fake, "make": 'echo "make $*" >> "$RUNNER_TEMP/calls"'}
    script = steps(job)[init]["run"] + "\n" + steps(job)[verify]["run"]
    cache = str(tmp_path / "plugins")
    env = {"REGIONS": regions, "EDGE_STACK": "app-dev-edge", "ENVIRONMENT": "dev", "TF_PLUGIN_CACHE_DIR": cache}
    result = run_step(script, tmp_path, fakes, **env)
    assert result.returncode == 0, result.stderr
    first = "cdktf.out/stacks/app-dev-us-east-1"
    # The provider downloaded once: each later init finds the first one's lock file (the cache's key).
    assert (tmp_path / "calls").read_text().splitlines() == [
        f"-chdir={first} init -input=false -no-color (lock: none)",
        *(f"-chdir=cdktf.out/stacks/{stack} init -input=false -no-color (lock: {first})" for stack in stacks[1:]),
        "make verify ENV=dev",
    ]
    assert (tmp_path / "plugins").is_dir()


def test_a_failed_environment_stops_the_ones_after_it() -> None:
    """An environment's run fails when any of its jobs fails, verify included; the next one needs it."""
    jobs = workflow("deploy.yml")["jobs"]
    assert (needs(jobs["staging"]), needs(jobs["prod"])) == (["dev"], ["staging"])
    assert all("if" not in jobs[name] for name in ("staging", "prod"))  # never run after a failure


# -- teardown.yml ------------------------------------------------------------------------------------

TEARDOWN_REGIONS = {
    "edge": "${{ fromJSON(needs.prepare.outputs.edge).region }}",
    "regions": "${{ matrix.region }}",
    "global": "${{ fromJSON(needs.prepare.outputs.global).region }}",
}


def teardown_jobs() -> dict[str, Any]:
    jobs: dict[str, Any] = workflow("teardown.yml")["jobs"]
    return jobs


def test_teardown_runs_by_hand_only_after_the_confirmation() -> None:
    document: dict[Any, Any] = workflow("teardown.yml")
    triggers = document[True]  # YAML 1.1 reads the key `on` as true
    assert list(triggers) == ["workflow_dispatch"]
    inputs = triggers["workflow_dispatch"]["inputs"]
    assert list(inputs) == ["environment", "region", "confirm"] and all(i["required"] for i in inputs.values())
    jobs = teardown_jobs()
    assert list(jobs) == ["confirm", "prepare", "edge", "regions", "global"]
    assert needs(jobs["confirm"]) == [] and needs(jobs["prepare"]) == ["confirm"]
    assert all("prepare" in needs(jobs[name]) for name in TEARDOWN_REGIONS)
    assert document["concurrency"]["group"] == workflow("deploy.yml")["concurrency"]["group"]  # never with a deploy


@pytest.mark.parametrize(
    "confirm, passes",
    [
        ("destroy dev us-west-2", True),
        ("destroy dev us-east-1", False),
        ("destroy dev  us-west-2", False),
        ("yes", False),
        ("", False),
    ],
)
def test_the_confirmation_must_name_the_environment_and_region(tmp_path: Path, confirm: str, passes: bool) -> None:
    [step] = steps(teardown_jobs()["confirm"])
    assert step["env"] == {
        "ENVIRONMENT": "${{ inputs.environment }}",
        "REGION": "${{ inputs.region }}",
        "CONFIRM": "${{ inputs.confirm }}",
    }
    result = run_step(step["run"], tmp_path, {}, ENVIRONMENT="dev", REGION="us-west-2", CONFIRM=confirm)
    assert result.returncode == (0 if passes else 1)
    if not passes:
        assert "type exactly: destroy dev us-west-2" in result.stdout


def test_teardown_destroys_only_in_the_approved_environment_with_oidc() -> None:
    document = workflow("teardown.yml")
    assert document["permissions"] == {"contents": "read"}
    jobs = document["jobs"]
    for name in ("confirm", "prepare"):  # no AWS, no approval needed to check and synthesize
        assert "environment" not in jobs[name] and "permissions" not in jobs[name], name
    for name, region in TEARDOWN_REGIONS.items():
        job = jobs[name]
        assert job["environment"] == "teardown-${{ inputs.environment }}", name
        assert job["permissions"] == {"contents": "read", "id-token": "write"}, name
        given = credentials(job)
        assert set(given) <= {"role-to-assume", "aws-region", "role-duration-seconds"}, name
        assert (given["role-to-assume"], given["aws-region"]) == ("${{ vars.AWS_DEPLOY_ROLE_ARN }}", region), name
        assert given.get("role-duration-seconds", 3600) >= 60 * job["timeout-minutes"], name
    assert "give it required reviewers" in (WORKFLOWS / "teardown.yml").read_text()


def test_teardown_destroys_the_edge_then_the_regions_then_the_global_stack() -> None:
    jobs = teardown_jobs()
    assert needs(jobs["edge"]) == ["prepare"]
    assert needs(jobs["regions"]) == ["prepare", "edge"]
    assert needs(jobs["global"]) == ["prepare", "regions"]
    assert jobs["edge"]["if"] == "inputs.region == 'all'"
    # One region: the edge is skipped and the regions job runs; all: only after the edge is gone.
    assert (
        "needs.edge.result == 'success' || (inputs.region != 'all' && needs.edge.result == 'skipped')"
        in (jobs["regions"]["if"])
    )
    assert "inputs.region == 'all' && needs.regions.result == 'success'" in jobs["global"]["if"]
    strategy = jobs["regions"]["strategy"]
    assert (strategy["max-parallel"], strategy["fail-fast"]) == (1, True)
    assert strategy["matrix"] == {"include": "${{ fromJSON(needs.prepare.outputs.regions) }}"}
    for name in TEARDOWN_REGIONS:
        destroy = steps(jobs[name])[step_index(jobs[name], "cdktf destroy")]["run"]
        assert destroy.startswith('npx --no-install cdktf destroy "$STACK" --auto-approve --skip-synth'), name


def test_teardown_checks_that_a_region_is_on_its_way_out_and_state_is_remote() -> None:
    prepare = teardown_jobs()["prepare"]
    script = steps(prepare)[step_index(prepare, "tools/waves.py")]["run"]
    # tools/waves.py refuses a region not in removing_regions (tests/test_waves.py); all: destroy order.
    assert '--teardown "$REGION"' in script and "--require-remote-state" in script


def test_teardown_empties_the_buckets_and_lifts_the_table_protection_before_destroying() -> None:
    jobs = teardown_jobs()
    regions, global_ = jobs["regions"], jobs["global"]
    empty = step_index(regions, "tools/empty_bucket.sh")
    assert "s3_buckets" in steps(regions)[empty]["run"]
    assert empty < step_index(regions, "cdktf destroy")
    assert step_index(global_, "cdktf deploy") < step_index(global_, "cdktf destroy")
    synth = steps(jobs["prepare"])[step_index(jobs["prepare"], "main.py")]["run"]
    assert "export CDKTF_CONTEXT_JSON='{\"table_deletion_protection\": false}'" in synth


def _routing_check(tmp_path: Path, output: str) -> subprocess.CompletedProcess[str]:
    """The region job's check against an edge whose ``terraform output`` answers ``output`` (a JSON
    list), or fails as Terraform does for an output its state lacks (``missing``)."""
    regions = teardown_jobs()["regions"]
    step = steps(regions)[step_index(regions, "routed_regions")]
    assert step["if"] == "inputs.region != 'all'"  # a whole teardown destroys the edge first
    assert step_index(regions, "routed_regions") < step_index(regions, "tools/empty_bucket.sh")
    answer = 'echo "Output "routed_regions" not found" >&2; exit 1' if output == "missing" else f"echo '{output}'"
    fake = f'if [ "$2" = output ]; then {answer}; fi'
    return run_step(step["run"], tmp_path, {"terraform": fake}, EDGE_STACK="app-dev-edge", REGION="eu-west-1")


def test_a_region_the_edge_still_routes_to_is_not_torn_down(tmp_path: Path) -> None:
    result = _routing_check(tmp_path, '["us-east-1", "eu-west-1"]')
    assert result.returncode == 1
    assert "::error::app-dev-edge still routes to eu-west-1: deploy the environment with it in removing_regions" in (
        result.stdout
    )


def test_a_region_the_edge_no_longer_routes_to_is_torn_down(tmp_path: Path) -> None:
    result = _routing_check(tmp_path, '["us-east-1"]')
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip().endswith("app-dev-edge does not route to eu-west-1")


def test_an_edge_deployed_before_it_said_where_it_routes_holds_the_teardown(tmp_path: Path) -> None:
    result = _routing_check(tmp_path, "missing")
    assert result.returncode == 1 and "has no routed_regions output" in result.stdout


# -- tools/empty_bucket.sh, against a fake AWS CLI -------------------------------------------------------

FAKE_AWS = '''#!{python}
"""The two s3api calls of tools/empty_bucket.sh, on buckets kept in the JSON file $FAKE_S3."""
import json, os, sys

import jmespath

args = sys.argv[1:]
option = lambda name: args[args.index(name) + 1]
with open(os.environ["FAKE_S3"]) as file:
    state = json.load(file)
bucket, operation = option("--bucket"), args[1]
if bucket not in state["buckets"]:
    sys.exit(f"An error occurred (NoSuchBucket) when calling the {{operation}} operation: no such bucket")
versions = state["buckets"][bucket]
if operation == "list-object-versions":
    assert "--no-paginate" in args
    page = versions[:1000]  # S3 answers 1,000 keys at most, versions and delete markers together
    answer = {{kind: [v for v in page if v["kind"] == kind] for kind in ("Versions", "DeleteMarkers")}}
    print(json.dumps(jmespath.search(option("--query"), {{k: v for k, v in answer.items() if v}})))
elif operation == "delete-objects":
    with open(option("--delete").removeprefix("file://")) as file:
        request = json.load(file)
    assert request["Quiet"] is True
    state["calls"].append(len(request["Objects"]))
    doomed = {{(o["Key"], o["VersionId"]) for o in request["Objects"]}}
    locked = [v for v in versions if (v["Key"], v["VersionId"]) in doomed and v.get("locked")]
    state["buckets"][bucket] = [v for v in versions if (v["Key"], v["VersionId"]) not in doomed or v in locked]
    if locked:
        denied = {{"Code": "AccessDenied", "Message": "Access Denied"}}
        print(json.dumps({{"Errors": [{{"Key": v["Key"], "VersionId": v["VersionId"], **denied}} for v in locked]}}))
with open(os.environ["FAKE_S3"], "w") as file:
    json.dump(state, file)
'''


def empty_buckets(
    tmp_path: Path, buckets: dict[str, list[dict[str, Any]]], *names: str
) -> tuple[subprocess.CompletedProcess[str], dict[str, Any]]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "aws").write_text(FAKE_AWS.format(python=sys.executable))
    (bin_dir / "aws").chmod(0o755)
    state = tmp_path / "s3.json"
    state.write_text(json.dumps({"buckets": buckets, "calls": []}))
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}", "FAKE_S3": str(state)}
    script = ROOT / "tools" / "empty_bucket.sh"
    result = subprocess.run([str(script), *names], capture_output=True, text=True, env=env, timeout=120)
    return result, json.loads(state.read_text())


def versions(count: int, kind: str = "Versions") -> list[dict[str, Any]]:
    return [{"Key": f"asset-{n % 7}.zip", "VersionId": f"{kind}-{n}", "kind": kind} for n in range(count)]


def test_empty_bucket_deletes_every_version_and_delete_marker_in_pages_of_1000(tmp_path: Path) -> None:
    buckets = {"artifacts": versions(1500) + versions(700, "DeleteMarkers"), "small": versions(3)}
    result, state = empty_buckets(tmp_path, buckets, "artifacts", "gone", "small")
    assert result.returncode == 0, result.stderr
    assert state["buckets"] == {"artifacts": [], "small": []}
    assert state["calls"] == [1000, 1000, 200, 3]
    assert result.stdout.splitlines() == [
        "artifacts: empty (2200 object versions and delete markers deleted)",
        "gone: no such bucket (already deleted)",  # a teardown run again after a failure
        "small: empty (3 object versions and delete markers deleted)",
    ]


def test_empty_bucket_stops_on_a_version_it_cannot_delete(tmp_path: Path) -> None:
    held = [*versions(2), {"Key": "held.zip", "VersionId": "v1", "kind": "Versions", "locked": True}]
    result, state = empty_buckets(tmp_path, {"artifacts": held}, "artifacts")
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        "error: artifacts: versions that could not be deleted:",
        "  held.zip v1: AccessDenied Access Denied",
    ]
    assert state["calls"] == [3]  # once: no endless loop on what stays


def test_empty_bucket_needs_a_bucket(tmp_path: Path) -> None:
    result, _ = empty_buckets(tmp_path, {})
    assert (result.returncode, result.stderr) == (2, "usage: tools/empty_bucket.sh BUCKET [BUCKET...]\n")


# -- every workflow ----------------------------------------------------------------------------------


def test_the_scripts_local_actions_and_make_targets_the_workflows_use_exist() -> None:
    targets = set(re.findall(r"^([a-z-]+):", (ROOT / "Makefile").read_text(), re.M))
    for path in sorted(WORKFLOWS.glob("*.yml")):
        for name, job in workflow(path.name)["jobs"].items():
            for step in job.get("steps", []):
                script, where = step.get("run", ""), f"{path.name}, job {name}"
                for tool in re.findall(r"\b(?:tools|security)/[\w/-]+\.(?:py|sh)\b", script):
                    assert (ROOT / tool).is_file(), f"{where}: {tool}"
                for target in re.findall(r"\bmake (?:-C \S+ )?([a-z][a-z-]*)", script):
                    assert target in targets, f"{where}: make {target}"
                if step.get("uses", "").startswith("./"):
                    assert (ROOT / step["uses"] / "action.yml").is_file(), f"{where}: {step['uses']}"


def test_every_artifact_upload_may_be_repeated_by_a_rerun_of_all_jobs() -> None:
    """Re-run all jobs runs the upload again in the same workflow run: upload-artifact v4 refuses a
    name that run already has (409) unless told to overwrite it."""
    uploads = [
        (name, job_name, step)
        for name in ("ci.yml", "deploy-environment.yml", "teardown.yml")
        for job_name, job in workflow(name)["jobs"].items()
        for step in job.get("steps", [])
        if step.get("uses", "").startswith("actions/upload-artifact@")
    ]
    assert len(uploads) == 9  # the synth (3), CI's diff and plans (2), a failed apply's state (4)
    assert all(step["with"].get("overwrite") is True for _, _, step in uploads), uploads


def test_a_failed_or_cancelled_apply_keeps_the_state_terraform_could_not_save() -> None:
    """Expired credentials at the end of an apply: Terraform writes errored.tfstate in the stack's
    directory, which the runner would take with it (docs/operations.md, When an apply dies)."""
    jobs = deploy_jobs()
    for name in ("bootstrap", "global", "regions", "edge"):
        deploy = step_index(jobs[name], "cdktf deploy")
        kept = steps(jobs[name])[deploy + 1]
        assert kept["uses"].split("@")[0] == "actions/upload-artifact", name
        assert kept["if"] == "failure() || cancelled()", name
        assert kept["with"]["path"] == "cdktf.out/stacks/${{ env.STACK }}/errored.tfstate", name
        assert kept["with"]["name"] == "errored-tfstate-${{ env.STACK }}-${{ github.run_attempt }}", name
        assert kept["with"]["if-no-files-found"] == "ignore", name
