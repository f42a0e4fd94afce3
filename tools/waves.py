"""The deploy waves of one environment, as JSON for GitHub Actions: which stack deploys when, and in
which region its job runs.

    python tools/waves.py ENVIRONMENT [--outdir cdktf.out] [--require-remote-state]
                          [--teardown REGION|all | --region-down REGION] [--if-configured] [--github-output]
    python tools/waves.py --plan-matrix [--outdir cdktf.out] [--github-output]

Prints ``{"environment", "bootstrap", "global", "regions", "edge", "skip"}``, each wave a ``{"stack",
"region"}`` (``regions`` a list, in deploy order: the home region first); ``skip`` lists the jobs the
deploy workflow skips (none, but with --region-down). The bootstrap, global and edge stacks' jobs run
in the home region, each regional stack's in its own. The settings come from settings.json and
CDKTF_CONTEXT_JSON, as for a synth; the stacks must be in the synth's manifest.

--require-remote-state  refuse a stack whose synthesized backend is local (a runner's state file is
                        gone with the runner), and the bootstrap stack unless bootstrap_state is remote.
--teardown REGION       the teardown of one region: refuse unless it is in removing_regions (the edge
                        no longer routes to it, its copy of the table is unprotected); ``regions``
                        lists its stack only. ``--teardown all``: ``regions`` in destroy order (home
                        last).
--region-down REGION    deploy what does not need REGION while its AWS APIs are down: ``regions``
                        without it, and ``skip`` each of the bootstrap, global and edge stacks that
                        reaches REGION (a provider or its state there: the bootstrap every region of
                        every environment, the global stack its environment's, the edge its home
                        and, with a domain, us-east-1), and the whole-environment verify when
                        REGION is the environment's or a stack it reads is skipped. An environment
                        without REGION deploys all but what reaches it; one with no other region,
                        or whose other regional stacks reach REGION too (their state there:
                        state_bucket without {region}), deploys nothing (``skip``: every job; a note
                        on stderr). Refused for an unknown region name.
--if-configured         an environment the settings do not configure is skipped, not refused:
                        ``configured`` is false in the GitHub output (``skip``: every job), and
                        stdout stays empty.
--github-output         also append each key (JSON, on one line), and ``configured``, to $GITHUB_OUTPUT.
--plan-matrix           instead, every stack of every environment and the bootstrap stack, each
                        ``{"stack", "region", "environment"}`` (whose plan role it uses): the plan
                        jobs' matrix (key ``matrix`` in the GitHub output).

Exit code 0, or 2 with a one-line ``error: ...`` for unusable input.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: python tools/waves.py
    sys.path.insert(0, str(ROOT))

from constructs_lib.settings import ConfigError, StackConfig, load_settings  # noqa: E402  (after the path set-up)
from constructs_lib.settings.regions import KNOWN_REGIONS  # noqa: E402

ALL = "all"
STATE_DOCS = "docs/operations.md, State"
REMOVAL_DOCS = "docs/operations.md, Removing a region"
DOWN_DOCS = "docs/operations.md, A region is down"
# The jobs of deploy-environment.yml that ``skip`` may name; the bootstrap and global stacks reach
# every region of the environment, the whole-environment verify every region too.
JOBS = ("bootstrap", "global", "regions", "edge", "verify")

Wave = dict[str, str]


class Refusal(Exception):
    """Unusable input: said as one ``error:`` line, exit code 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise Refusal(message)


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = _Parser(prog="tools/waves.py", description="The deploy waves of an environment, as JSON.")
    parser.add_argument("environment", nargs="?", metavar="ENVIRONMENT")
    parser.add_argument("--outdir", type=Path, default=Path("cdktf.out"), help="the synth's output (cdktf.out)")
    parser.add_argument("--require-remote-state", action="store_true", help="refuse a stack with local state")
    parser.add_argument("--teardown", metavar="REGION", help="a region in removing_regions, or all")
    parser.add_argument("--region-down", metavar="REGION", help="deploy the regions that do not need REGION")
    parser.add_argument("--if-configured", action="store_true", help="skip an unconfigured environment")
    parser.add_argument("--github-output", action="store_true", help="also write the keys to $GITHUB_OUTPUT")
    parser.add_argument("--plan-matrix", action="store_true", help="every stack with its region, to plan")
    args = parser.parse_args(argv)
    if args.plan_matrix and (args.environment or args.teardown or args.require_remote_state or args.if_configured):
        raise Refusal("--plan-matrix takes no ENVIRONMENT, --teardown, --require-remote-state or --if-configured")
    if args.region_down is not None and (args.plan_matrix or args.teardown):
        raise Refusal("--region-down takes no --plan-matrix or --teardown")
    if not args.plan_matrix and not args.environment:
        raise Refusal("ENVIRONMENT is required (or --plan-matrix)")
    if args.github_output and not os.environ.get("GITHUB_OUTPUT"):
        raise Refusal("--github-output: GITHUB_OUTPUT is not set (GitHub Actions sets it in every step)")
    return args


def waves_of(config: StackConfig) -> dict[str, Any]:
    """The environment's waves, regions in the order of ``config.stack_names`` (home first)."""
    region_of = {config.regional_stack_name(region): region for region in config.regions}
    home = config.home
    return {
        "environment": config.environment,
        "bootstrap": {"stack": config.bootstrap_stack_name, "region": home},
        "global": {"stack": config.global_stack_name, "region": home},
        "regions": [{"stack": name, "region": region_of[name]} for name in config.stack_names if name in region_of],
        "edge": {"stack": config.edge_stack_name, "region": home},
        "skip": [],
    }


def environment_stacks(waves: dict[str, Any]) -> list[str]:
    """The environment's own stacks, in deploy order (the bootstrap stack is the account's)."""
    return [waves["global"]["stack"], *(wave["stack"] for wave in waves["regions"]), waves["edge"]["stack"]]


def find_environment(configs: Sequence[StackConfig], environment: str) -> StackConfig | None:
    return next((config for config in configs if config.environment == environment), None)


def configured(configs: Sequence[StackConfig]) -> str:
    return f"settings.json configures: {', '.join(config.environment for config in configs)}"


def unknown_environment(configs: Sequence[StackConfig], environment: str) -> Refusal:
    return Refusal(f"{environment} is not a configured environment ({configured(configs)})")


def read_manifest(outdir: Path) -> dict[str, Any]:
    """The synth's stacks: name -> manifest entry."""
    path = outdir / "manifest.json"
    try:
        stacks = json.loads(path.read_text(encoding="utf-8"))["stacks"]
    except OSError:
        raise Refusal(f"{path} cannot be read: run the synth first (.venv/bin/python main.py)") from None
    except (ValueError, KeyError, TypeError):
        raise Refusal(f"{path} is not a synth's manifest: run the synth first (.venv/bin/python main.py)") from None
    if not isinstance(stacks, dict):
        raise Refusal(f"{path} is not a synth's manifest: run the synth first (.venv/bin/python main.py)")
    return stacks


def require_synthesized(names: Sequence[str], manifest: dict[str, Any], outdir: Path) -> None:
    missing = [name for name in names if name not in manifest]
    if missing:
        raise Refusal(
            f"{outdir / 'manifest.json'} has no {', '.join(missing)}: run the synth first (.venv/bin/python main.py)"
        )


def stack_json(stack: str, outdir: Path) -> tuple[Path, dict[str, Any]]:
    """The stack's cdk.tf.json, and where it is."""
    path = outdir / "stacks" / stack / "cdk.tf.json"
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except OSError:
        raise Refusal(f"{path} cannot be read: run the synth first (.venv/bin/python main.py)") from None
    except ValueError:
        raise Refusal(f"{path} is not JSON: run the synth again (.venv/bin/python main.py)") from None
    return path, document if isinstance(document, dict) else {}


def backend_of(stack: str, outdir: Path) -> str:
    """The kind of the stack's Terraform backend (``s3``, ``local``) in its cdk.tf.json."""
    path, document = stack_json(stack, outdir)
    try:
        return str(next(iter(document["terraform"]["backend"])))
    except (KeyError, TypeError, StopIteration):
        raise Refusal(f"{path} has no terraform.backend: run the synth again (.venv/bin/python main.py)") from None


def regions_reached(stack: str, outdir: Path) -> set[str]:
    """The AWS regions the stack's plan and apply reach: its providers' and its S3 state's."""
    path, document = stack_json(stack, outdir)
    try:
        regions = {str(provider["region"]) for provider in document["provider"]["aws"]}
        s3 = document["terraform"]["backend"].get("s3")
        return regions | ({str(s3["region"])} if s3 is not None else set())
    except (KeyError, TypeError, AttributeError):
        raise Refusal(f"{path} has no provider.aws regions: run the synth again (.venv/bin/python main.py)") from None


def region_down(config: StackConfig, waves: dict[str, Any], region: str, outdir: Path) -> dict[str, Any]:
    """The waves that can deploy while ``region`` is down: each stack that does not reach it (its
    providers' and its state's regions). Regional stacks reach their own region only (unless their
    state is elsewhere); the global stack reaches every region of the environment, the account-wide
    bootstrap every region of every environment, the edge its home and, with a domain, us-east-1. An
    environment without the region deploys all but what reaches it (the bootstrap, most often)."""
    name = config.environment
    if region not in KNOWN_REGIONS:
        raise Refusal(f"--region-down {region}: not a known AWS commercial region")
    healthy = [wave for wave in waves["regions"] if wave["region"] != region]
    # An environment that cannot deploy is skipped whole, not refused: deploy.yml's later environments
    # need this one's run to succeed.
    if region in config.regions and not healthy:
        return _nothing_deploys(waves, f"{name} has no other region to deploy")
    for wave in healthy:
        if region in regions_reached(wave["stack"], outdir):
            return _nothing_deploys(
                waves, f"{wave['stack']} reaches {region} too (its state there: put {{region}} in state_bucket)"
            )
    reaching = {
        job for job in ("bootstrap", "global", "edge") if region in regions_reached(waves[job]["stack"], outdir)
    }
    # verify reads every region of the environment, and the global and edge stacks' states.
    if region in config.regions or reaching & {"global", "edge"}:
        reaching.add("verify")
    return {**waves, "regions": healthy, "skip": [job for job in JOBS if job in reaching]}


def _nothing_deploys(waves: dict[str, Any], why: str) -> dict[str, Any]:
    print(f"note: {why}: nothing of it deploys while the region is down ({DOWN_DOCS})", file=sys.stderr)
    return {**waves, "regions": [], "skip": list(JOBS)}


def require_remote_state(config: StackConfig, waves: dict[str, Any], outdir: Path) -> None:
    for stack in environment_stacks(waves):
        if backend_of(stack, outdir) != "s3":
            raise Refusal(
                f"{stack} keeps local state: set state_bucket in settings.json ({STATE_DOCS}) before deploying from CI"
            )
    bootstrap = waves["bootstrap"]["stack"]
    if config.bootstrap_state != "remote" or backend_of(bootstrap, outdir) != "s3":
        raise Refusal(
            f'{bootstrap} keeps local state: set bootstrap_state to "remote" in settings.json and deploy it once '
            f"with --migrate-state ({STATE_DOCS}) before deploying from CI"
        )


def teardown(config: StackConfig, waves: dict[str, Any], region: str) -> dict[str, Any]:
    """The waves with ``regions`` as a teardown destroys them: all (home last), or the one region
    on its way out."""
    if region == ALL:
        return {**waves, "regions": waves["regions"][::-1]}
    name = config.environment
    if region in config.retired_regions:
        raise Refusal(
            f"{region} has left {name}'s regions (removing_regions keeps it only for the global stack's destroys): "
            f"its stack is no longer synthesized, nothing to tear down ({REMOVAL_DOCS})"
        )
    if region not in config.regions:
        raise Refusal(f"{region} is not a region of {name} ({', '.join(config.regions)}), nor {ALL}")
    if region == config.home:
        raise Refusal(
            f"{region} is {name}'s home region, which holds the table itself: it cannot be removed alone "
            f"(--teardown {ALL} tears the whole environment down)"
        )
    if region not in config.removing_regions:
        raise Refusal(
            f"{region} is not in {name}'s removing_regions: add it there and deploy first, so that the edge no "
            f"longer routes to it and its copy of the table loses its protection ({REMOVAL_DOCS})"
        )
    return {**waves, "regions": [wave for wave in waves["regions"] if wave["region"] == region]}


def plan_matrix(configs: Sequence[StackConfig]) -> list[Wave]:
    """Every stack with the region its plan runs in and the environment whose plan role it uses;
    the bootstrap stack (one per account) once, with the first environment's."""
    matrix: list[Wave] = []
    for config in configs:
        waves = waves_of(config)
        for wave in (waves["global"], *waves["regions"], waves["edge"]):
            matrix.append({**wave, "environment": config.environment})
    first = waves_of(configs[0])
    return [*matrix, {**first["bootstrap"], "environment": configs[0].environment}]


def write_github_output(values: dict[str, Any]) -> None:
    """``key=value`` lines: strings as they are, anything else as JSON on one line."""
    path = os.environ["GITHUB_OUTPUT"]  # parse_args made sure it is set
    lines = [
        f"{key}={value if isinstance(value, str) else json.dumps(value, separators=(',', ':'))}\n"
        for key, value in values.items()
    ]
    try:
        with open(path, "a", encoding="utf-8") as output:
            output.writelines(lines)
    except OSError as error:
        raise Refusal(f"--github-output: {path} cannot be written ({error.strerror or error})") from None


def environment_waves(args: argparse.Namespace, configs: Sequence[StackConfig]) -> dict[str, Any] | None:
    """The environment's waves, checked against the synth; None: not configured, skipped."""
    config = find_environment(configs, args.environment)
    if config is None:
        if args.if_configured:
            return None
        raise unknown_environment(configs, args.environment)
    waves = waves_of(config)
    require_synthesized(
        [waves["bootstrap"]["stack"], *environment_stacks(waves)], read_manifest(args.outdir), args.outdir
    )
    if args.require_remote_state:
        require_remote_state(config, waves, args.outdir)
    if args.teardown:
        return teardown(config, waves, args.teardown)
    # A region on its way out is left as it is: deploying it again would undo its teardown.
    waves = {**waves, "regions": [w for w in waves["regions"] if w["region"] not in config.removing_regions]}
    if args.region_down is not None:
        return region_down(config, waves, args.region_down, args.outdir)
    return waves


def print_plan_matrix(args: argparse.Namespace, configs: Sequence[StackConfig]) -> None:
    matrix = plan_matrix(configs)
    require_synthesized([wave["stack"] for wave in matrix], read_manifest(args.outdir), args.outdir)
    if args.github_output:
        write_github_output({"matrix": matrix})
    print(json.dumps(matrix, indent=2))


def print_waves(args: argparse.Namespace, configs: Sequence[StackConfig]) -> None:
    waves = environment_waves(args, configs)
    if args.github_output:
        outputs = waves if waves is not None else {"environment": args.environment, "skip": list(JOBS)}
        write_github_output({"configured": "false" if waves is None else "true", **outputs})
    if waves is None:
        print(f"{args.environment} is not configured ({configured(configs)}): skipped", file=sys.stderr)
    else:
        print(json.dumps(waves, indent=2))


def main(argv: Sequence[str]) -> int:
    try:
        args = parse_args(argv)
        configs = load_settings(ROOT).configs()
        (print_plan_matrix if args.plan_matrix else print_waves)(args, configs)
    except ConfigError as error:
        print(f"error: invalid configuration: {error}", file=sys.stderr)
        return 2
    except Refusal as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
