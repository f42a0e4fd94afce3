"""Roll a regional stack's functions out to the versions its apply published, through CodeDeploy:
what the deploy workflow runs after each region's apply under a gradual ``deployment_strategy``.

    python tools/rollout.py STACK [--outdir cdktf.out] [--poll-seconds 15] [--timeout-minutes N]
    python tools/rollout.py STACK --before-apply [...]

Reads the stack in the synth that was deployed (``<outdir>/manifest.json``). A stack without a
``rollouts`` output (``deployment_strategy`` ``all_at_once``) has nothing to roll out: Terraform
moved its aliases. Otherwise the output's value comes from ``terraform output -json`` in the stack's
directory (``TERRAFORM`` names the binary) and, for each function, the version its alias serves
from ``aws lambda get-alias``: when that is the version Terraform published last, nothing to do;
else a CodeDeploy deployment in the function's group whose AppSpec shifts the alias from that
version to the new one (``aws deploy create-deployment``, the AppSpec inline). A deployment
already running in a group (``aws deploy list-deployments``: an earlier run timed out) is waited for
first, and the alias read again after it. A version whose deployment failed or an alarm stopped
last time in its group (``aws deploy get-deployment-group``: the last attempted one, or the one its
rollback undid) is not sent out again: exit 1 until a new version is published, unless
``--retry-rolled-back``. Then it waits for
every deployment it started (``aws deploy get-deployment`` every ``--poll-seconds``; up to 5 failed
looks in a row at one are said and tolerated), at most the strategy's shift time plus 20 minutes
(``--timeout-minutes`` overrides). The first that fails or is stopped stops the others with their
automatic rollback (``aws deploy stop-deployment --auto-rollback-enabled``); every rollback
CodeDeploy starts is waited for, and one that does not succeed is said apart (``ROLLBACK FAILED``).
``AWS`` names the aws CLI (default ``aws``); each call names the function's region.

``--before-apply`` (the deploy workflow runs it before each region's apply, whatever the strategy):
only waits for the deployments still running in the groups the *deployed* stack's ``rollouts``
output names (its state, read before the apply changes it). An apply in the middle of a deployment
would fight CodeDeploy for the alias, and switching to ``all_at_once`` would delete the group under
it. Nothing to wait for without that output (never gradual, or not deployed yet); exit 1 when one
still runs at the timeout, so that the apply waits for the next run.

Exit 0 when every deployment succeeded (or none was needed); 1 when one failed or was stopped
(CodeDeploy rolled the alias back: an alarm fired, or a step failed), still runs at the timeout
(it goes on in CodeDeploy) or its version was rolled back before; 2 with one ``error:`` line for
unusable input or a failed AWS call.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Protocol

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: python tools/rollout.py
    sys.path.insert(0, str(ROOT))

from constructs_lib.blocks.rules import SHIFT_MINUTES  # noqa: E402  (plain Python: no CDK)
from tools.outputs import (  # noqa: E402
    Outputs,
    Stack,
    ToolError,
    synthesized_stacks,
    terraform_binary,
    terraform_outputs,
)

OUTPUT = "rollouts"
MARGIN_MINUTES = 20  # beyond the shift: CodeDeploy's start, provisioned concurrency, the last alarm poll
AWS_TIMEOUT_SECONDS = 120
DONE = {"Succeeded", "Failed", "Stopped"}
ACTIVE = ("Created", "Queued", "InProgress", "Baking", "Ready")  # list-deployments' statuses of a running one
FAILED_POLLS = 5  # tolerated in a row per deployment while waiting; the next one gives up (exit 2)


@dataclass(frozen=True)
class Rollout:
    """One function's move: its group, the alias and the version Terraform published last."""

    region: str
    application: str
    deployment_config: str
    deployment_group: str
    function_name: str
    alias: str
    version: str


def appspec(rollout: Rollout, current: str) -> str:
    """The AppSpec (JSON) that shifts ``rollout``'s alias from ``current`` to its new version."""
    return json.dumps(
        {
            "version": 0.0,
            "Resources": [
                {
                    rollout.function_name: {
                        "Type": "AWS::Lambda::Function",
                        "Properties": {
                            "Name": rollout.function_name,
                            "Alias": rollout.alias,
                            "CurrentVersion": current,
                            "TargetVersion": rollout.version,
                        },
                    }
                }
            ],
        }
    )


def deployment_input(rollout: Rollout, current: str) -> dict[str, Any]:
    """``aws deploy create-deployment --cli-input-json``: the group and the AppSpec as its revision."""
    return {
        "applicationName": rollout.application,
        "deploymentGroupName": rollout.deployment_group,
        "revision": {"revisionType": "AppSpecContent", "appSpecContent": {"content": appspec(rollout, current)}},
        "description": f"{rollout.function_name}: {rollout.alias} from version {current} to {rollout.version}",
    }


class RolledBack(Exception):
    """The version to deploy is the one CodeDeploy rolled back last time (exit 1)."""


class Aws(Protocol):
    """What the tool asks AWS: ``aws <args> --region <region> --output json``, parsed."""

    def __call__(self, region: str, *args: str) -> Any: ...


def aws_cli(binary: str) -> Aws:
    """The aws CLI: one call, its JSON answer, or a ``ToolError`` with the CLI's own message."""

    def call(region: str, *args: str) -> Any:
        command = [binary, *args, "--region", region, "--output", "json"]
        try:
            result = subprocess.run(
                command, capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=AWS_TIMEOUT_SECONDS
            )
        except FileNotFoundError:
            raise ToolError(f"{binary} not found: install the AWS CLI or set AWS to its path") from None
        except (OSError, subprocess.TimeoutExpired) as error:
            raise ToolError(f"aws {' '.join(args[:2])} did not run ({error})") from None
        if result.returncode != 0:
            message = next((line for line in reversed(result.stderr.splitlines()) if line.strip()), "no message")
            raise ToolError(
                f"aws {' '.join(args[:2])} failed in {region} (exit {result.returncode}): {message.strip()}"
            )
        try:
            return json.loads(result.stdout) if result.stdout.strip() else {}
        except json.JSONDecodeError:
            raise ToolError(f"aws {' '.join(args[:2])} printed no JSON: {result.stdout[:80]!r}") from None

    return call


def _text(value: Any, what: str, fix: str = "deploy the stack again") -> str:
    """A non-empty string, or a ``ToolError`` naming what it is instead."""
    if not isinstance(value, str) or not value:
        raise ToolError(f"{what} is {json.dumps(value)}, not a name or version: {fix}")
    return value


def rollouts_of(stack: Stack, outputs: Outputs | None) -> list[Rollout]:
    """The functions the stack's ``rollouts`` output names, one region's."""
    if outputs is None or OUTPUT not in outputs:
        raise ToolError(f"{stack.name}: no {OUTPUT} output in its state: deploy the stack first (cdktf deploy)")
    value = outputs[OUTPUT].value
    if not isinstance(value, dict) or len(value) != 1:
        raise ToolError(f"{stack.name}: output {OUTPUT} is not one region's map: deploy the stack again")
    [(region, body)] = value.items()
    if not isinstance(body, dict) or not isinstance(body.get("functions"), list):
        raise ToolError(f"{stack.name}: output {OUTPUT} lists no functions: deploy the stack again")
    config = _text(body.get("deployment_config"), f"output {OUTPUT}: deployment_config")
    if config not in SHIFT_MINUTES:
        raise ToolError(f"{stack.name}: output {OUTPUT}: {config!r} is not a CodeDeploy configuration this tool knows")
    return [
        Rollout(
            region=region,
            application=_text(body.get("application"), f"output {OUTPUT}: application"),
            deployment_config=config,
            deployment_group=_text(function.get("deployment_group"), f"output {OUTPUT}: deployment_group"),
            function_name=_text(function.get("function_name"), f"output {OUTPUT}: function_name"),
            alias=_text(function.get("alias"), f"output {OUTPUT}: alias"),
            version=_text(function.get("version"), f"output {OUTPUT}: version"),
        )
        for function in body["functions"]
        if isinstance(function, dict)
    ]


def serving(rollout: Rollout, aws: Aws) -> str:
    """The version the function's alias serves (the primary one, while weights shift traffic)."""
    alias = aws(
        rollout.region, "lambda", "get-alias", "--function-name", rollout.function_name, "--name", rollout.alias
    )
    what = f"aws lambda get-alias: the FunctionVersion of {rollout.function_name}'s {rollout.alias}"
    return _text(alias.get("FunctionVersion"), what, "is the alias there?")


def active(rollouts: Sequence[Rollout], aws: Aws, say: Callable[[str], None]) -> dict[str, Rollout]:
    """The deployments already running in the functions' groups (an earlier run that timed out, one
    started by hand), by id: CodeDeploy refuses a second one in a group until they end."""
    running = {}
    for rollout in rollouts:
        answer = aws(
            rollout.region,
            "deploy",
            "list-deployments",
            "--application-name",
            rollout.application,
            "--deployment-group-name",
            rollout.deployment_group,
            "--include-only-statuses",
            *ACTIVE,
        )
        for deployment_id in answer.get("deployments") or []:
            what = "aws deploy list-deployments: a deployment id"
            running[_text(deployment_id, what, "retry")] = replace(rollout, version="")  # its own target
            say(f"{rollout.region}: {rollout.function_name}: deployment {deployment_id} already runs: waiting for it")
    return running


def _deployment(rollout: Rollout, deployment_id: str, aws: Aws) -> Mapping[str, Any]:
    """``aws deploy get-deployment``'s ``deploymentInfo``."""
    answer = aws(rollout.region, "deploy", "get-deployment", "--deployment-id", deployment_id)
    return answer.get("deploymentInfo") or {}


def target_version(info: Mapping[str, Any]) -> str | None:
    """The TargetVersion of a deployment's AppSpec (as this tool writes it), else None."""
    content = ((info.get("revision") or {}).get("appSpecContent") or {}).get("content")
    if not isinstance(content, str):
        return None
    try:
        [resource] = json.loads(content)["Resources"]
        [body] = resource.values()
        version = body["Properties"]["TargetVersion"]
    except (TypeError, ValueError, KeyError, AttributeError):
        return None
    return str(version)


def rolled_back(rollout: Rollout, aws: Aws) -> str | None:
    """The group's newest deployment when it failed, or an alarm stopped it, on the way to the version
    to deploy (through the rollback CodeDeploy made of it, when that came last), else None. One
    stopped by hand (or by this tool, for another function's failure) is no verdict on the version."""
    group = aws(
        rollout.region,
        "deploy",
        "get-deployment-group",
        "--application-name",
        rollout.application,
        "--deployment-group-name",
        rollout.deployment_group,
    ).get("deploymentGroupInfo", {})
    newest = (group.get("lastAttemptedDeployment") or {}).get("deploymentId")
    if not newest:
        return None
    info = _deployment(rollout, newest, aws)
    triggering = (info.get("rollbackInfo") or {}).get("rollbackTriggeringDeploymentId")
    if triggering:
        newest, info = triggering, _deployment(rollout, triggering, aws)
    code = (info.get("errorInformation") or {}).get("code")
    failed = info.get("status") == "Failed" or (info.get("status") == "Stopped" and code == "ALARM_ACTIVE")
    return newest if failed and target_version(info) == rollout.version else None


def start(
    rollouts: Sequence[Rollout], aws: Aws, say: Callable[[str], None], *, retry_rolled_back: bool = False
) -> dict[str, Rollout]:
    """A deployment for each function whose alias serves another version than the newest: by id.
    None at all when one of those versions was rolled back before (``RolledBack``)."""
    behind = []
    for rollout in rollouts:
        current = serving(rollout, aws)
        if current == rollout.version:
            say(
                f"{rollout.region}: {rollout.function_name}: {rollout.alias} serves version {current}, the newest: "
                "nothing to roll out"
            )
        else:
            behind.append((rollout, current))
    for rollout, _ in [] if retry_rolled_back else behind:
        refused = rolled_back(rollout, aws)
        if refused:
            raise RolledBack(
                f"{rollout.region}: version {rollout.version} of {rollout.function_name} was rolled back in "
                f"{refused}: publish a fix (or pass --retry-rolled-back){_ahead(rollouts, behind)}"
            )
    started = {}
    for rollout, current in behind:
        request = json.dumps(deployment_input(rollout, current))
        answer = aws(rollout.region, "deploy", "create-deployment", "--cli-input-json", request)
        deployment_id = _text(answer.get("deploymentId"), "aws deploy create-deployment: deploymentId", "retry")
        say(
            f"{rollout.region}: {rollout.function_name}: {rollout.alias} from version {current} to "
            f"{rollout.version}, {rollout.deployment_config} (deployment {deployment_id})"
        )
        started[deployment_id] = rollout
    return started


def _ahead(rollouts: Sequence[Rollout], behind: Sequence[tuple[Rollout, str]]) -> str:
    """The region's functions already on their newest version while another's was rolled back (a run
    that died between their deployments): they run apart from it until the fix goes out."""
    waiting = {rollout.function_name for rollout, _ in behind}
    ahead = [r for r in rollouts if r.function_name not in waiting]
    if not ahead:
        return ""
    named = ", ".join(f"{r.function_name} (version {r.version})" for r in ahead)
    verb = "serves its" if len(ahead) == 1 else "serve their"
    return (
        f"; {named} already {verb} newest version, apart from it until then (to go back: aws lambda "
        "update-alias --function-version <the one before>)"
    )


def _outcome(info: Mapping[str, Any]) -> str:
    """Why a deployment ended as it did, from ``deploymentInfo``."""
    error = info.get("errorInformation") or {}
    rollback = info.get("rollbackInfo") or {}
    parts = [str(error.get("message") or error.get("code") or "")]
    if rollback.get("rollbackDeploymentId") or rollback.get("rollbackMessage"):
        parts.append(f"rolled back: {rollback.get('rollbackMessage') or rollback.get('rollbackDeploymentId')}")
    return "; ".join(p for p in parts if p) or "no reason given"


def _poll(
    deployment_id: str, rollout: Rollout, aws: Aws, say: Callable[[str], None], misses: dict[str, int]
) -> Mapping[str, Any]:
    """The deployment's ``deploymentInfo``; ``{}`` (not over) when the look failed, said, up to
    ``FAILED_POLLS`` times in a row (a blip, throttling, an expiring session): the deployment goes on."""
    try:
        info = aws(rollout.region, "deploy", "get-deployment", "--deployment-id", deployment_id)
    except ToolError as error:
        misses[deployment_id] = misses.get(deployment_id, 0) + 1
        if misses[deployment_id] > FAILED_POLLS:
            raise ToolError(
                f"{error} ({FAILED_POLLS + 1} looks at deployment {deployment_id} in a row failed)"
            ) from None
        say(f"{rollout.region}: {rollout.function_name}: deployment {deployment_id}: {error}: trying again")
        return {}
    misses.pop(deployment_id, None)
    return info.get("deploymentInfo", {})


def stop_others(pending: Mapping[str, Rollout], cause: str, aws: Aws, say: Callable[[str], None]) -> None:
    """Stop the region's other deployments, rolling their aliases back: the region's functions go
    together (a new API with the old worker, or the other way round, is no state to leave)."""
    for deployment_id, rollout in pending.items():
        where = f"{rollout.region}: {rollout.function_name}"
        try:
            aws(
                rollout.region, "deploy", "stop-deployment", "--deployment-id", deployment_id, "--auto-rollback-enabled"
            )
        except ToolError as error:  # it may have ended meanwhile: the wait reads how
            say(f"{where}: deployment {deployment_id} not stopped: {error}")
            continue
        say(f"{where}: deployment {deployment_id} stopped, its alias rolled back, since {cause} failed")


def _ended(
    deployment_id: str, rollout: Rollout, info: Mapping[str, Any], undoes: str | None, say: Callable[[str], None]
) -> bool:
    """Say how a deployment ended; True when it succeeded."""
    where, status = f"{rollout.region}: {rollout.function_name}", info.get("status")
    if undoes and status == "Succeeded":
        say(f"{where}: rollback {deployment_id} of deployment {undoes} succeeded: {rollout.alias} is back")
    elif undoes:
        say(
            f"error: {where}: ROLLBACK FAILED: {deployment_id} (of deployment {undoes}) {status}: {_outcome(info)}: "
            f"{rollout.alias} may still send traffic to the new version (aws lambda get-alias)"
        )
    elif status == "Succeeded" and not rollout.version:
        say(f"{where}: deployment {deployment_id} succeeded")
    elif status == "Succeeded":
        say(f"{where}: {rollout.alias} serves version {rollout.version}")
    else:
        say(f"error: {where}: deployment {deployment_id} {status}: {_outcome(info)}")
    return status == "Succeeded"


def wait(
    started: Mapping[str, Rollout],
    aws: Aws,
    say: Callable[[str], None],
    *,
    timeout_seconds: float,
    poll_seconds: float,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
    only_the_timeout_fails: bool = False,
) -> int:
    """Poll each deployment until it ends; 0 when all succeeded, 1 otherwise (with
    ``only_the_timeout_fails``: 1 only when one still runs at the timeout). The first that fails
    stops the others (``stop_others``); each rollback CodeDeploy starts is waited for too."""
    deadline, failed, pending = clock() + timeout_seconds, 0, dict(started)
    misses: dict[str, int] = {}
    undoes: dict[str, str] = {}  # rollback deployment -> the deployment it undoes
    while pending:
        for deployment_id, rollout in list(pending.items()):
            info = _poll(deployment_id, rollout, aws, say, misses)
            if info.get("status") not in DONE:
                continue
            del pending[deployment_id]
            if _ended(deployment_id, rollout, info, undoes.get(deployment_id), say):
                continue
            rollback = (info.get("rollbackInfo") or {}).get("rollbackDeploymentId")
            if isinstance(rollback, str) and rollback and deployment_id not in undoes:
                pending[rollback], undoes[rollback] = rollout, deployment_id
            if not failed:
                stop_others({d: r for d, r in pending.items() if d not in undoes}, deployment_id, aws, say)
            failed += 1
        if pending and clock() >= deadline:
            for deployment_id, rollout in pending.items():
                say(
                    f"error: {rollout.region}: {rollout.function_name}: deployment {deployment_id} still runs after "
                    f"{timeout_seconds / 60:.0f} minutes (it goes on in CodeDeploy: aws deploy get-deployment)"
                )
            return 1
        if pending:
            sleep(poll_seconds)
    return 1 if failed and not only_the_timeout_fails else 0


def timeout_minutes(rollouts: Sequence[Rollout], given: float | None) -> float:
    """How long to wait: ``given``, else the longest shift of the deployments plus a margin."""
    if given is not None:
        return given
    return max((SHIFT_MINUTES[r.deployment_config] for r in rollouts), default=0) + MARGIN_MINUTES


def before_apply(stack: Stack, args: argparse.Namespace, aws: Aws, say: Callable[[str], None]) -> int:
    """Wait for what the deployed stack's groups still run (read from its state, not the synth)."""
    outputs = terraform_outputs(stack, terraform_binary())
    if outputs is None or OUTPUT not in outputs:
        say(f"{stack.name}: no CodeDeploy group in its state: nothing to wait for before the apply")
        return 0
    rollouts = rollouts_of(stack, outputs)
    # One that ended in a rollback left its alias on the version before: the apply may go on from there.
    code = wait(
        active(rollouts, aws, say),
        aws,
        say,
        timeout_seconds=timeout_minutes(rollouts, args.timeout_minutes) * 60,
        poll_seconds=args.poll_seconds,
        only_the_timeout_fails=True,
    )
    if code == 0:
        say(f"{stack.name}: no CodeDeploy deployment runs: the apply may go on")
    return code


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="tools/rollout.py", description="Roll a regional stack's functions out through CodeDeploy."
    )
    parser.add_argument("stack", metavar="STACK", help="a regional stack of the synth, e.g. iac-aws-nova-dev-us-east-1")
    parser.add_argument("--outdir", type=Path, default=Path(os.environ.get("CDKTF_OUTDIR") or "cdktf.out"))
    parser.add_argument("--poll-seconds", type=float, default=15.0, help="between two looks at a deployment")
    parser.add_argument("--timeout-minutes", type=float, help="default: the shift's minutes plus 20")
    parser.add_argument(
        "--before-apply",
        action="store_true",
        help="only wait for the deployments the deployed stack's groups still run (before an apply)",
    )
    parser.add_argument(
        "--retry-rolled-back",
        action="store_true",
        help="roll a version out again although CodeDeploy rolled it back last time",
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] = (), *, aws: Aws | None = None) -> int:
    """Start and wait for the stack's deployments (``aws``: the AWS CLI unless given)."""
    args = parse_args(argv)

    def say(line: str) -> None:
        print(line, file=sys.stderr if line.startswith("error:") else sys.stdout, flush=True)

    try:
        [stack] = synthesized_stacks(args.outdir, [args.stack])
        if args.before_apply:
            return before_apply(stack, args, aws or aws_cli(os.environ.get("AWS") or "aws"), say)
        if OUTPUT not in stack.document.get("output", {}):
            say(f"{stack.name}: no gradual deployment_strategy (all_at_once): Terraform moved the aliases")
            return 0
        rollouts = rollouts_of(stack, terraform_outputs(stack, terraform_binary()))
        aws = aws or aws_cli(os.environ.get("AWS") or "aws")
        deadline = time.monotonic() + timeout_minutes(rollouts, args.timeout_minutes) * 60
        phases: list[Callable[..., dict[str, Rollout]]] = [active, start]
        for phase in phases:  # what already runs, then what the aliases still lack
            options = {"retry_rolled_back": args.retry_rolled_back} if phase is start else {}
            code = wait(
                phase(rollouts, aws, say, **options),
                aws,
                say,
                timeout_seconds=max(0.0, deadline - time.monotonic()),
                poll_seconds=args.poll_seconds,
            )
            if code:
                return code
        return 0
    except RolledBack as error:
        say(f"error: {error}")
        return 1
    except ToolError as error:
        say(f"error: {error}")
        return 2


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except KeyboardInterrupt:
        sys.exit(130)
