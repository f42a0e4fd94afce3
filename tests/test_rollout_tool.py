"""tools/rollout.py: after a region's apply, a CodeDeploy deployment per function whose alias is
behind the version Terraform published, with the AppSpec inline, and a wait that fails on a
rollback. On a hand-written synth, a stand-in ``terraform`` (its canned ``output -json``) and a
stand-in AWS that answers and records each call; the aws CLI's own wiring against a stand-in
``aws`` script."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from conftest import subprocess_env

from tools import rollout
from tools.outputs import Output, Stack

ROOT = Path(__file__).resolve().parents[1]
STACK = "shop-dev-eu-west-1"
REGION = "eu-west-1"
FUNCTION = {
    "deployment_group": "shop-fn-live-eu-west-1-dev",
    "function_name": "shop-fn-eu-west-1-dev",
    "alias": "live",
    "version": "4",
}
WORKER = {
    "deployment_group": "shop-worker-live-eu-west-1-dev",
    "function_name": "shop-worker-eu-west-1-dev",
    "alias": "live",
    "version": "2",
}
ROLLOUTS = {
    REGION: {
        "application": "shop-rollout-eu-west-1-dev",
        "deployment_config": "CodeDeployDefault.LambdaCanary10Percent5Minutes",
        "functions": [FUNCTION, WORKER],
    }
}
FAKE_TERRAFORM = '#!/bin/sh\ncat "${1#-chdir=}/fake-output.json"\n'


def synth(base: Path, *, gradual: bool = True, outputs: dict[str, Any] | None = None) -> Path:
    """``base/cdktf.out`` with the one stack, deployed (its state file there), and what ``terraform
    output -json`` prints in it."""
    out, workdir = base / "cdktf.out", base / "cdktf.out" / "stacks" / STACK
    workdir.mkdir(parents=True)
    declared = {"rollouts": {"value": "${...}"}} if gradual else {}
    (workdir / "cdk.tf.json").write_text(json.dumps({"output": {"api_urls": {"value": "${...}"}, **declared}}))
    (workdir / "terraform.tfstate").write_text("{}")
    values = {"rollouts": ROLLOUTS} if outputs is None else outputs
    (workdir / "fake-output.json").write_text(json.dumps({k: {"value": v} for k, v in values.items()}))
    manifest = {"stacks": {STACK: {"workingDirectory": f"stacks/{STACK}"}}}
    (out / "manifest.json").write_text(json.dumps(manifest))
    terraform = base / "terraform"
    terraform.write_text(FAKE_TERRAFORM)
    terraform.chmod(0o755)
    return out


class FakeAws:
    """AWS as the tool sees it: each alias serves ``serving[function]``; each deployment answers the
    statuses in ``statuses`` one poll after another (the last one from then on)."""

    def __init__(self, serving: dict[str, str], statuses: list[Any], running: dict[str, str] | None = None) -> None:
        self.serving, self.statuses, self.running = serving, statuses, running or {}
        self.last: dict[str, str] = {}  # a group's last attempted deployment, by group
        self.rollback: dict[str, Any] = SUCCEEDED  # how each rollback deployment ends
        self.history: dict[str, dict[str, Any]] = {}  # deployments that ended before, by id
        self.calls: list[tuple[str, ...]] = []
        self._polls: dict[str, int] = {}

    def __call__(self, region: str, *args: str) -> Any:
        self.calls.append((region, *args))
        if args[:2] == ("lambda", "get-alias"):
            return {"Name": args[5], "FunctionVersion": self.serving[args[3]]}
        if args[:2] == ("deploy", "list-deployments"):
            assert args[6:] == ("--include-only-statuses", "Created", "Queued", "InProgress", "Baking", "Ready")
            running = self.running.pop(args[5], None)  # the deployment of the group found running, once
            return {"deployments": [running] if running else []}
        if args[:2] == ("deploy", "create-deployment"):
            group = json.loads(args[3])["deploymentGroupName"]
            return {"deploymentId": f"d-{group.split('-')[1].upper()}"}
        if args[:2] == ("deploy", "get-deployment-group"):
            last = self.last.get(args[5])
            return {"deploymentGroupInfo": {"lastAttemptedDeployment": {"deploymentId": last}} if last else {}}
        if args[:2] == ("deploy", "stop-deployment"):
            self.history[args[3]] = {
                "status": "Stopped",
                "errorInformation": {"code": "MANUAL_STOP", "message": "Deployment stopped by user"},
                "rollbackInfo": {"rollbackDeploymentId": f"{args[3]}-UNDO"},
            }
            return {"status": "Pending"}
        if args[:2] == ("deploy", "get-deployment") and args[3] in self.history:
            return {"deploymentInfo": self.history[args[3]]}
        if args[:2] == ("deploy", "get-deployment") and args[3].endswith(("-UNDO", "-ROLLBACK")):
            return {"deploymentInfo": self.rollback}
        if args[:2] == ("deploy", "get-deployment"):
            index = self._polls[args[3]] = self._polls.get(args[3], -1) + 1
            status = self.statuses[min(index, len(self.statuses) - 1)]
            if isinstance(status, Exception):
                raise status
            return {"deploymentInfo": status}
        raise AssertionError(f"unexpected call {args}")

    def created(self) -> list[dict[str, Any]]:
        return [json.loads(call[4]) for call in self.calls if call[1:3] == ("deploy", "create-deployment")]


def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, aws: FakeAws, *args: str, **synth_args: Any) -> int:
    out = synth(tmp_path, **synth_args)
    monkeypatch.setenv("TERRAFORM", str(tmp_path / "terraform"))
    return rollout.main([STACK, "--outdir", str(out), "--poll-seconds", "0", *args], aws=aws)


SUCCEEDED = {"status": "Succeeded"}
ROLLED_BACK = {
    "status": "Stopped",
    "errorInformation": {"code": "ALARM_ACTIVE", "message": "One or more alarms have been activated: shop-fn-errors"},
    "rollbackInfo": {"rollbackDeploymentId": "d-ROLLBACK", "rollbackMessage": "Rolled back by d-ROLLBACK"},
}


def test_the_appspec_shifts_the_alias_from_the_version_it_serves_to_the_new_one():
    [function, _] = rollout.rollouts_of(Stack(STACK, Path("."), {}), {"rollouts": Output(ROLLOUTS, False)})
    assert rollout.appspec(function, "3") == (
        '{"version": 0.0, "Resources": [{"shop-fn-eu-west-1-dev": {"Type": "AWS::Lambda::Function", '
        '"Properties": {"Name": "shop-fn-eu-west-1-dev", "Alias": "live", "CurrentVersion": "3", '
        '"TargetVersion": "4"}}}]}'
    )


def test_a_function_behind_gets_a_deployment_of_its_group_with_the_appspec_inline(tmp_path, monkeypatch, capsys):
    aws = FakeAws(
        {"shop-fn-eu-west-1-dev": "3", "shop-worker-eu-west-1-dev": "2"}, [{"status": "InProgress"}, SUCCEEDED]
    )
    assert run(tmp_path, monkeypatch, aws) == 0
    [request] = aws.created()
    content = request["revision"]["appSpecContent"].pop("content")
    assert request == {
        "applicationName": "shop-rollout-eu-west-1-dev",
        "deploymentGroupName": "shop-fn-live-eu-west-1-dev",
        "revision": {"revisionType": "AppSpecContent", "appSpecContent": {}},
        "description": "shop-fn-eu-west-1-dev: live from version 3 to 4",
    }
    assert json.loads(content) == {
        "version": 0.0,
        "Resources": [
            {
                "shop-fn-eu-west-1-dev": {
                    "Type": "AWS::Lambda::Function",
                    "Properties": {
                        "Name": "shop-fn-eu-west-1-dev",
                        "Alias": "live",
                        "CurrentVersion": "3",
                        "TargetVersion": "4",
                    },
                }
            }
        ],
    }
    # Nothing running in the groups; each alias read, the group's history (no deployment yet), one
    # deployment (the worker's alias already serves its newest), polled to its end.
    assert [call[1:3] for call in aws.calls] == [
        ("deploy", "list-deployments"),
        ("deploy", "list-deployments"),
        ("lambda", "get-alias"),
        ("lambda", "get-alias"),
        ("deploy", "get-deployment-group"),
        ("deploy", "create-deployment"),
        ("deploy", "get-deployment"),
        ("deploy", "get-deployment"),
    ]
    assert {call[0] for call in aws.calls} == {REGION}
    assert capsys.readouterr().out.splitlines() == [
        "eu-west-1: shop-worker-eu-west-1-dev: live serves version 2, the newest: nothing to roll out",
        "eu-west-1: shop-fn-eu-west-1-dev: live from version 3 to 4, CodeDeployDefault.LambdaCanary10Percent5Minutes "
        "(deployment d-FN)",
        "eu-west-1: shop-fn-eu-west-1-dev: live serves version 4",
    ]


def test_aliases_at_their_newest_versions_start_nothing(tmp_path, monkeypatch):
    """The first deploy: Terraform created each alias at the version it published."""
    aws = FakeAws({"shop-fn-eu-west-1-dev": "4", "shop-worker-eu-west-1-dev": "2"}, [SUCCEEDED])
    assert run(tmp_path, monkeypatch, aws) == 0
    assert [call[1:3] for call in aws.calls] == [("deploy", "list-deployments")] * 2 + [("lambda", "get-alias")] * 2


def test_a_deployment_stopped_by_an_alarm_stops_the_others_and_fails_the_job(tmp_path, monkeypatch, capsys):
    aws = FakeAws({"shop-fn-eu-west-1-dev": "3", "shop-worker-eu-west-1-dev": "1"}, [ROLLED_BACK])
    aws.history["d-WORKER"] = {"status": "InProgress"}  # the worker's shift goes on when the API's stops
    assert run(tmp_path, monkeypatch, aws) == 1
    assert len(aws.created()) == 2
    assert [c[1:] for c in aws.calls if c[2] == "stop-deployment"] == [
        ("deploy", "stop-deployment", "--deployment-id", "d-WORKER", "--auto-rollback-enabled")
    ]
    out, errors = capsys.readouterr()
    assert errors.splitlines() == [
        "error: eu-west-1: shop-fn-eu-west-1-dev: deployment d-FN Stopped: One or more alarms have been activated: "
        "shop-fn-errors; rolled back: Rolled back by d-ROLLBACK",
        "error: eu-west-1: shop-worker-eu-west-1-dev: deployment d-WORKER Stopped: Deployment stopped by user; "
        "rolled back: d-WORKER-UNDO",
    ]
    assert out.splitlines()[2:] == [
        "eu-west-1: shop-worker-eu-west-1-dev: deployment d-WORKER stopped, its alias rolled back, since d-FN failed",
        "eu-west-1: shop-fn-eu-west-1-dev: rollback d-ROLLBACK of deployment d-FN succeeded: live is back",
        "eu-west-1: shop-worker-eu-west-1-dev: rollback d-WORKER-UNDO of deployment d-WORKER succeeded: live is back",
    ]


def test_a_rollback_that_fails_is_said_apart(tmp_path, monkeypatch, capsys):
    aws = FakeAws({"shop-fn-eu-west-1-dev": "3", "shop-worker-eu-west-1-dev": "2"}, [ROLLED_BACK])
    aws.rollback = {
        "status": "Failed",
        "errorInformation": {"code": "INTERNAL_ERROR", "message": "Alias update failed"},
    }
    assert run(tmp_path, monkeypatch, aws) == 1
    assert capsys.readouterr().err.splitlines()[-1] == (
        "error: eu-west-1: shop-fn-eu-west-1-dev: ROLLBACK FAILED: d-ROLLBACK (of deployment d-FN) Failed: "
        "Alias update failed: live may still send traffic to the new version (aws lambda get-alias)"
    )


def test_a_deployment_still_running_at_the_timeout_fails_the_job(tmp_path, monkeypatch, capsys):
    aws = FakeAws({"shop-fn-eu-west-1-dev": "3", "shop-worker-eu-west-1-dev": "2"}, [{"status": "InProgress"}])
    assert run(tmp_path, monkeypatch, aws, "--timeout-minutes", "0") == 1
    assert "deployment d-FN still runs after 0 minutes (it goes on in CodeDeploy" in capsys.readouterr().err


def test_the_wait_polls_until_the_strategys_shift_and_a_margin_are_over():
    [function, worker] = rollout.rollouts_of(Stack(STACK, Path("."), {}), {"rollouts": Output(ROLLOUTS, False)})
    assert rollout.timeout_minutes([function, worker], None) == 5 + rollout.MARGIN_MINUTES
    assert rollout.timeout_minutes([function], 7) == 7
    now = [0.0]
    sleeps: list[float] = []

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        now[0] += seconds

    aws = FakeAws({}, [{"status": "InProgress"}])
    lines: list[str] = []
    code = rollout.wait(
        {"d-FN": function}, aws, lines.append, timeout_seconds=60, poll_seconds=15, clock=lambda: now[0], sleep=sleep
    )
    assert (code, sleeps, len(aws.calls)) == (1, [15, 15, 15, 15], 5)


def test_a_deployment_already_running_in_a_group_is_waited_for_then_the_alias_read_again(tmp_path, monkeypatch, capsys):
    """A re-run after a timeout: CodeDeploy would refuse a second deployment in the group."""
    aws = FakeAws(
        {"shop-fn-eu-west-1-dev": "3", "shop-worker-eu-west-1-dev": "2"},
        [{"status": "InProgress"}, SUCCEEDED],
        running={"shop-fn-live-eu-west-1-dev": "d-EARLIER"},
    )

    def moved(region: str, *args: str) -> Any:
        if args[:2] == ("deploy", "get-deployment") and args[3] == "d-EARLIER":
            aws.serving["shop-fn-eu-west-1-dev"] = "4"  # it shifted the alias to the newest version
        return aws(region, *args)

    assert run(tmp_path, monkeypatch, moved) == 0
    assert aws.created() == []
    assert capsys.readouterr().out.splitlines() == [
        "eu-west-1: shop-fn-eu-west-1-dev: deployment d-EARLIER already runs: waiting for it",
        "eu-west-1: shop-fn-eu-west-1-dev: deployment d-EARLIER succeeded",
        "eu-west-1: shop-fn-eu-west-1-dev: live serves version 4, the newest: nothing to roll out",
        "eu-west-1: shop-worker-eu-west-1-dev: live serves version 2, the newest: nothing to roll out",
    ]


def rolled_back_before(aws: FakeAws, version: str, *, code: str = "ALARM_ACTIVE") -> FakeAws:
    """The fn group's last attempt: CodeDeploy's rollback of d-BAD, which shifted ``version``."""
    content = {"Resources": [{"f": {"Properties": {"TargetVersion": version}}}]}
    aws.last["shop-fn-live-eu-west-1-dev"] = "d-UNDO"
    aws.history["d-UNDO"] = {"status": "Succeeded", "rollbackInfo": {"rollbackTriggeringDeploymentId": "d-BAD"}}
    aws.history["d-BAD"] = {
        **ROLLED_BACK,
        "errorInformation": {"code": code},
        "revision": {"revisionType": "AppSpecContent", "appSpecContent": {"content": json.dumps(content)}},
    }
    return aws


def test_a_version_rolled_back_before_is_not_sent_out_again(tmp_path, monkeypatch, capsys):
    aws = rolled_back_before(
        FakeAws({"shop-fn-eu-west-1-dev": "3", "shop-worker-eu-west-1-dev": "1"}, [SUCCEEDED]), "4"
    )
    assert run(tmp_path, monkeypatch, aws) == 1
    assert aws.created() == []  # nor the worker's: the region's functions go together
    assert capsys.readouterr().err == (
        "error: eu-west-1: version 4 of shop-fn-eu-west-1-dev was rolled back in d-BAD: "
        "publish a fix (or pass --retry-rolled-back)\n"
    )


def test_a_rolled_back_version_whose_sibling_went_out_says_the_region_runs_apart(tmp_path, monkeypatch, capsys):
    """A run that died between the two deployments: the worker's went out, the function's rolled back."""
    aws = rolled_back_before(
        FakeAws({"shop-fn-eu-west-1-dev": "3", "shop-worker-eu-west-1-dev": "2"}, [SUCCEEDED]), "4"
    )
    assert run(tmp_path, monkeypatch, aws) == 1
    assert capsys.readouterr().err == (
        "error: eu-west-1: version 4 of shop-fn-eu-west-1-dev was rolled back in d-BAD: publish a fix (or pass "
        "--retry-rolled-back); shop-worker-eu-west-1-dev (version 2) already serves its newest version, apart "
        "from it until then (to go back: aws lambda update-alias --function-version <the one before>)\n"
    )


def test_a_rolled_back_version_goes_out_again_when_asked_to(tmp_path, monkeypatch):
    aws = rolled_back_before(
        FakeAws({"shop-fn-eu-west-1-dev": "3", "shop-worker-eu-west-1-dev": "2"}, [SUCCEEDED]), "4"
    )
    assert run(tmp_path, monkeypatch, aws, "--retry-rolled-back") == 0
    assert [r["deploymentGroupName"] for r in aws.created()] == ["shop-fn-live-eu-west-1-dev"]


@pytest.mark.parametrize(
    ("version", "code"), [("3", "ALARM_ACTIVE"), ("4", "MANUAL_STOP")], ids=["another-version", "stopped-by-hand"]
)
def test_a_rollback_of_another_version_or_a_stop_by_hand_does_not_hold_the_new_one(
    tmp_path, monkeypatch, version, code
):
    aws = FakeAws({"shop-fn-eu-west-1-dev": "3", "shop-worker-eu-west-1-dev": "2"}, [SUCCEEDED])
    assert run(tmp_path, monkeypatch, rolled_back_before(aws, version, code=code)) == 0
    assert len(aws.created()) == 1


THROTTLED = rollout.ToolError("aws deploy get-deployment failed in eu-west-1 (exit 254): Rate exceeded")


def test_failed_looks_at_a_deployment_are_said_and_tolerated_up_to_five_in_a_row(tmp_path, monkeypatch, capsys):
    statuses = [THROTTLED] * 2 + [{"status": "InProgress"}] + [THROTTLED] * 5 + [SUCCEEDED]
    aws = FakeAws({"shop-fn-eu-west-1-dev": "3", "shop-worker-eu-west-1-dev": "2"}, statuses)
    assert run(tmp_path, monkeypatch, aws) == 0
    out = capsys.readouterr().out
    assert out.count("deployment d-FN: aws deploy get-deployment failed in eu-west-1 (exit 254): Rate exceeded") == 7
    assert out.endswith("eu-west-1: shop-fn-eu-west-1-dev: live serves version 4\n")


def test_six_failed_looks_in_a_row_give_up_with_one_error_line(tmp_path, monkeypatch, capsys):
    aws = FakeAws({"shop-fn-eu-west-1-dev": "3", "shop-worker-eu-west-1-dev": "2"}, [THROTTLED] * 6 + [SUCCEEDED])
    assert run(tmp_path, monkeypatch, aws) == 2
    assert capsys.readouterr().err == (
        "error: aws deploy get-deployment failed in eu-west-1 (exit 254): Rate exceeded "
        "(6 looks at deployment d-FN in a row failed)\n"
    )


def test_a_stack_without_a_gradual_strategy_has_nothing_to_roll_out(tmp_path, monkeypatch, capsys):
    aws = FakeAws({}, [])
    assert run(tmp_path, monkeypatch, aws, gradual=False) == 0
    assert aws.calls == []
    assert capsys.readouterr().out == (
        f"{STACK}: no gradual deployment_strategy (all_at_once): Terraform moved the aliases\n"
    )


@pytest.mark.parametrize(
    ("outputs", "message"),
    [
        ({}, f"error: {STACK}: no rollouts output in its state: deploy the stack first (cdktf deploy)"),
        (
            {"rollouts": {REGION: {**ROLLOUTS[REGION], "deployment_config": "CodeDeployDefault.OneAtATime"}}},
            f"error: {STACK}: output rollouts: 'CodeDeployDefault.OneAtATime' is not a CodeDeploy configuration "
            "this tool knows",
        ),
        (
            {"rollouts": {REGION: {**ROLLOUTS[REGION], "functions": [{**FUNCTION, "version": None}]}}},
            "error: output rollouts: version is null, not a name or version: deploy the stack again",
        ),
    ],
    ids=["not-deployed", "unknown-configuration", "no-version"],
)
def test_unusable_outputs_are_one_error_line(tmp_path, monkeypatch, capsys, outputs, message):
    aws = FakeAws({}, [])
    assert run(tmp_path, monkeypatch, aws, outputs=outputs) == 2
    assert capsys.readouterr().err == message + "\n"
    assert aws.calls == []


FAKE_AWS = """#!/bin/sh
echo "$*" >> "$FAKE_AWS_LOG"
if [ "$2" = "get-alias" ]; then echo '{"FunctionVersion": "3"}'; exit 0; fi
echo "An error occurred (DeploymentGroupAlreadyHasActiveDeploymentException): one is running" >&2
exit 254
"""


def test_the_aws_cli_is_asked_in_the_functions_region_and_its_error_is_one_line(tmp_path, monkeypatch):
    fake, log = tmp_path / "aws", tmp_path / "aws.log"
    fake.write_text(FAKE_AWS)
    fake.chmod(0o755)
    monkeypatch.setenv("FAKE_AWS_LOG", str(log))
    aws = rollout.aws_cli(str(fake))
    assert aws(REGION, "lambda", "get-alias", "--function-name", "f", "--name", "live") == {"FunctionVersion": "3"}
    with pytest.raises(rollout.ToolError) as caught:
        aws(REGION, "deploy", "create-deployment", "--cli-input-json", "{}")
    assert str(caught.value) == (
        "aws deploy create-deployment failed in eu-west-1 (exit 254): An error occurred "
        "(DeploymentGroupAlreadyHasActiveDeploymentException): one is running"
    )
    assert log.read_text().splitlines() == [
        "lambda get-alias --function-name f --name live --region eu-west-1 --output json",
        "deploy create-deployment --cli-input-json {} --region eu-west-1 --output json",
    ]


def test_as_typed_it_loads_no_cdk_and_says_what_it_did(tmp_path):
    out = synth(tmp_path, gradual=False)
    result = subprocess.run(
        [sys.executable, "tools/rollout.py", STACK, "--outdir", str(out)],
        cwd=ROOT,
        env=subprocess_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert (result.returncode, result.stderr) == (0, "")
    assert "Terraform moved the aliases" in result.stdout


def test_before_an_apply_a_deployment_the_deployed_groups_still_run_is_waited_for(tmp_path, monkeypatch, capsys):
    """Whatever the new synth's strategy: switching to all_at_once must not delete a group, nor an
    apply move the alias, while CodeDeploy shifts it."""
    aws = FakeAws({}, [{"status": "InProgress"}, SUCCEEDED], running={"shop-worker-live-eu-west-1-dev": "d-RUNNING"})
    assert run(tmp_path, monkeypatch, aws, "--before-apply", gradual=False) == 0
    assert [call[1:3] for call in aws.calls] == [
        ("deploy", "list-deployments"),
        ("deploy", "list-deployments"),
        ("deploy", "get-deployment"),
        ("deploy", "get-deployment"),
    ]
    assert capsys.readouterr().out.splitlines() == [
        "eu-west-1: shop-worker-eu-west-1-dev: deployment d-RUNNING already runs: waiting for it",
        "eu-west-1: shop-worker-eu-west-1-dev: deployment d-RUNNING succeeded",
        f"{STACK}: no CodeDeploy deployment runs: the apply may go on",
    ]


def test_before_an_apply_a_deployment_that_rolled_back_lets_the_apply_go_on(tmp_path, monkeypatch, capsys):
    """Its alias is back on the version before: the apply (maybe the fix) goes on from there."""
    aws = FakeAws({}, [ROLLED_BACK], running={"shop-fn-live-eu-west-1-dev": "d-RUNNING"})
    assert run(tmp_path, monkeypatch, aws, "--before-apply") == 0
    assert aws.created() == []
    out = capsys.readouterr().out.splitlines()
    assert (
        "eu-west-1: shop-fn-eu-west-1-dev: rollback d-ROLLBACK of deployment d-RUNNING succeeded: live is back" in out
    )
    assert out[-1] == f"{STACK}: no CodeDeploy deployment runs: the apply may go on"


def test_before_an_apply_a_deployment_still_running_at_the_timeout_holds_the_apply(tmp_path, monkeypatch, capsys):
    aws = FakeAws({}, [{"status": "InProgress"}], running={"shop-fn-live-eu-west-1-dev": "d-RUNNING"})
    assert run(tmp_path, monkeypatch, aws, "--before-apply", "--timeout-minutes", "0") == 1
    assert aws.created() == []
    assert "deployment d-RUNNING still runs after 0 minutes" in capsys.readouterr().err


@pytest.mark.parametrize("deployed", [True, False], ids=["never-gradual", "not-deployed"])
def test_before_an_apply_a_stack_without_groups_in_its_state_waits_for_nothing(tmp_path, monkeypatch, capsys, deployed):
    aws = FakeAws({}, [])
    out = synth(tmp_path, outputs={"api_urls": {REGION: "https://example"}})
    if not deployed:
        (out / "stacks" / STACK / "terraform.tfstate").unlink()
    monkeypatch.setenv("TERRAFORM", str(tmp_path / "terraform"))
    assert rollout.main([STACK, "--outdir", str(out), "--before-apply"], aws=aws) == 0
    assert aws.calls == []
    said = capsys.readouterr().out
    assert said == f"{STACK}: no CodeDeploy group in its state: nothing to wait for before the apply\n"
