"""tools/split_state.py, run as a user types it: a 0.4 environment's state (one stack) split into the
state files of its 0.5 stacks. On a fake synth (a manifest and a few resources per stack) and a fake
old state, no CDK: fast."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
SPLIT = ROOT / "tools" / "split_state.py"

PREFIX = "iac-aws-nova-dev"
GLOBAL, EDGE = f"{PREFIX}-global", f"{PREFIX}-edge"
WEST, EAST, EU = f"{PREFIX}-us-west-2", f"{PREFIX}-us-east-1", f"{PREFIX}-eu-west-1"
# Deploy order: global, the home region (us-west-2, where the table is) first, edge.
DEV = [GLOBAL, WEST, EU, EAST, EDGE]
AWS = 'provider["registry.terraform.io/hashicorp/aws"]'

# The new stacks' resources (a few of each kind) and data sources, by stack: type -> names.
NEW: dict[str, dict[str, list[str]]] = {
    GLOBAL: {
        "aws_dynamodb_table": ["table_43360BC0"],
        "aws_kms_key": ["us-east-1_key_53ABB8CB", "us-west-2_key_DBA3F56C"],
        "aws_cognito_user_pool": ["sign-in_user-pool_8347B8CF"],
        "aws_cognito_user_pool_client": ["sign-in_user-pool-client_D70CC1D0"],
        "aws_secretsmanager_secret": ["api-key_secret_53752553"],
    },
    WEST: {"aws_lambda_function": ["us-west-2_function_11BD42FE"], "aws_sqs_queue": ["us-west-2_queue_6FB77C4D"]},
    EAST: {"aws_lambda_function": ["us-east-1_function_C96F3A6E"], "aws_sqs_queue": ["us-east-1_queue_EEDFFDEB"]},
    EU: {"aws_lambda_function": ["eu-west-1_function_5CABC107"]},  # a region added with the upgrade
    EDGE: {
        "aws_cloudwatch_dashboard": ["dashboard_9E73CAB7"],
        "aws_route53_health_check": [
            "routing_health-check-us-east-1_91DB7EBD",
            "routing_health-check-us-west-2_B35284E0",
        ],
        "aws_route53_record": [
            "routing_latency-record-a-us-east-1_67BF3814",
            "routing_latency-record-a-us-west-2_2960B45E",
        ],
    },
}
HOME_PROVIDER = {"table_43360BC0": "aws.us-west-2"}

# The old stack's state: (mode, type, name, provider alias).
OLD: list[tuple[str, str, str, str]] = [
    ("managed", "aws_dynamodb_table", "table_43360BC0", "us-west-2"),
    ("managed", "aws_kms_key", "us-east-1_key_53ABB8CB", "us-east-1"),
    ("managed", "aws_kms_key", "us-west-2_key_DBA3F56C", "us-west-2"),
    ("managed", "aws_cognito_user_pool", "us-west-2_api_user-pool_4505BAD4", "us-west-2"),
    ("managed", "aws_cognito_user_pool_client", "us-west-2_api_user-pool-client_CA6F006C", "us-west-2"),
    ("managed", "aws_lambda_function", "us-west-2_function_11BD42FE", "us-west-2"),
    ("managed", "aws_sqs_queue", "us-west-2_queue_6FB77C4D", "us-west-2"),
    ("managed", "aws_lambda_function", "us-east-1_function_C96F3A6E", "us-east-1"),
    ("managed", "aws_sqs_queue", "us-east-1_queue_EEDFFDEB", "us-east-1"),
    ("managed", "aws_vpc_endpoint", "us-east-1_network_events-endpoint_3FA2B1C4", "us-east-1"),  # gone in 0.5
    ("managed", "aws_cloudwatch_dashboard", "dashboard_9E73CAB7", "us-west-2"),
    ("managed", "aws_route53_health_check", "us-east-1_domain_health-check_784D0163", "us-east-1"),
    ("managed", "aws_route53_health_check", "us-west-2_domain_health-check_34ED32C2", "us-west-2"),
    ("managed", "aws_route53_record", "us-east-1_domain_latency-record-a_8001FC7A", "us-east-1"),
    ("managed", "aws_route53_record", "us-west-2_domain_latency-record-a_E07771A2", "us-west-2"),
    ("managed", "aws_route53_record", "us-east-1_domain_regional-record-a_96F25B59", "us-east-1"),  # gone in 0.5
    ("data", "aws_iam_policy_document", "us-east-1_key_policy-document_087C3275", "us-east-1"),
    ("data", "aws_caller_identity", "caller-identity", "us-west-2"),
]
RENAMED = {
    "aws_cognito_user_pool.us-west-2_api_user-pool_4505BAD4": "aws_cognito_user_pool.sign-in_user-pool_8347B8CF",
    "aws_cognito_user_pool_client.us-west-2_api_user-pool-client_CA6F006C": (
        "aws_cognito_user_pool_client.sign-in_user-pool-client_D70CC1D0"
    ),
    "aws_route53_health_check.us-east-1_domain_health-check_784D0163": (
        "aws_route53_health_check.routing_health-check-us-east-1_91DB7EBD"
    ),
    "aws_route53_health_check.us-west-2_domain_health-check_34ED32C2": (
        "aws_route53_health_check.routing_health-check-us-west-2_B35284E0"
    ),
    "aws_route53_record.us-east-1_domain_latency-record-a_8001FC7A": (
        "aws_route53_record.routing_latency-record-a-us-east-1_67BF3814"
    ),
    "aws_route53_record.us-west-2_domain_latency-record-a_E07771A2": (
        "aws_route53_record.routing_latency-record-a-us-west-2_2960B45E"
    ),
}
LEFT = [
    "aws_route53_record.us-east-1_domain_regional-record-a_96F25B59",
    "aws_vpc_endpoint.us-east-1_network_events-endpoint_3FA2B1C4",
]
CREATED = [
    f"{GLOBAL}: aws_secretsmanager_secret.api-key_secret_53752553",
    f"{EU}: aws_lambda_function.eu-west-1_function_5CABC107",
]


def synth(outdir: Path, stacks: dict[str, dict[str, list[str]]]) -> Path:
    """A fake cdktf.out: the manifest, and each stack's cdk.tf.json with its resources and a data source."""
    outdir.mkdir(parents=True, exist_ok=True)
    entries = {name: {"name": name, "synthesizedStackPath": f"stacks/{name}/cdk.tf.json"} for name in stacks}
    (outdir / "manifest.json").write_text(json.dumps({"stacks": entries, "version": "0.21.0"}))
    for name, resources in stacks.items():
        body = {
            kind: {n: {"provider": HOME_PROVIDER.get(n, "aws.us-east-1")} for n in names}
            for kind, names in resources.items()
        }
        data = {"aws_caller_identity": {"caller-identity": {}}}
        (outdir / "stacks" / name).mkdir(parents=True)
        (outdir / "stacks" / name / "cdk.tf.json").write_text(json.dumps({"resource": body, "data": data}))
    return outdir


def entry(mode: str, kind: str, name: str, alias: str) -> dict[str, Any]:
    """A resource of a version 4 state, with an instance as Terraform writes one."""
    instance = {
        "schema_version": 0,
        "attributes": {"id": f"{kind}/{name}", "arn": f"arn:aws:{alias}:{name}", "tags": {"Project": "nova"}},
        "sensitive_attributes": [],
        "dependencies": ["aws_kms_key.us-east-1_key_53ABB8CB"],
    }
    return {"mode": mode, "type": kind, "name": name, "provider": f"{AWS}.{alias}", "instances": [instance]}


def old_state(path: Path) -> Path:
    state = {
        "version": 4,
        "terraform_version": "1.9.8",
        "serial": 42,
        "lineage": "0c6b7a2e-4f1d-4e7b-9d5a-1f2e3d4c5b6a",
        "outputs": {"table_name": {"value": "nova-dev-items", "type": "string"}},
        "resources": [entry(*resource) for resource in OLD],
        "check_results": None,
    }
    path.write_text(json.dumps(state, indent=2))
    return path


def run(cwd: Path, *args: str | Path) -> subprocess.CompletedProcess[str]:
    """The tool as a user types it in the project directory: python tools/split_state.py ..."""
    command = [sys.executable, str(SPLIT), *map(str, args)]
    return subprocess.run(command, capture_output=True, text=True, cwd=cwd, timeout=60)


def refused(result: subprocess.CompletedProcess[str]) -> str:
    """The one error line of a refusal (exit code 2, nothing on stdout, never a traceback)."""
    assert (result.returncode, result.stdout) == (2, ""), result.stderr
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("error: "), result.stderr
    return result.stderr.rstrip("\n")


def project(tmp_path: Path) -> Path:
    """A project directory with a synth of two environments (and the bootstrap stack) and dev's old state."""
    # Environment eu-dev's global stack ends with -dev-global too: the bootstrap stack names the project.
    other = {
        f"iac-aws-nova-eu-dev-{part}": {"aws_sqs_queue": ["q_12345678"]} for part in ("global", "us-east-1", "edge")
    }
    synth(
        tmp_path / "cdktf.out", {"iac-aws-nova-bootstrap": {"aws_s3_bucket": ["state_bucket_803B4E61"]}, **NEW, **other}
    )
    old_state(tmp_path / "terraform.iac-aws-nova-dev.tfstate")
    return tmp_path


class Done:
    """One split of the fake project, shared by the tests that read its output."""

    def __init__(self, root: Path) -> None:
        self.root = project(root)
        self.old = (root / "terraform.iac-aws-nova-dev.tfstate").read_bytes()
        self.result = run(root, "dev", "terraform.iac-aws-nova-dev.tfstate")
        self.into = root / "cdktf.out" / "split-state"

    def state(self, stack: str) -> dict[str, Any]:
        state: dict[str, Any] = json.loads((self.into / f"{stack}.tfstate").read_text())
        return state

    def addresses(self, stack: str) -> list[str]:
        return [f"{r['type']}.{r['name']}" for r in self.state(stack)["resources"]]

    def section(self, title: str) -> list[str]:
        """The indented lines under the line that starts with title."""
        lines = self.result.stdout.splitlines()
        start = next(i for i, line in enumerate(lines) if line.startswith(title)) + 1
        end = next((i for i in range(start, len(lines)) if not lines[i].startswith("  ")), len(lines))
        return [line.strip() for line in lines[start:end]]


@pytest.fixture(scope="module")
def done(tmp_path_factory: pytest.TempPathFactory) -> Done:
    split = Done(tmp_path_factory.mktemp("project"))
    assert (split.result.returncode, split.result.stderr) == (0, ""), split.result.stderr
    return split


def test_each_resource_lands_in_the_stack_that_holds_its_address(done: Done) -> None:
    assert sorted(p.name for p in done.into.iterdir()) == sorted(f"{stack}.tfstate" for stack in DEV)
    moved = {stack: done.addresses(stack) for stack in DEV}
    assert moved == {
        GLOBAL: [
            "aws_dynamodb_table.table_43360BC0",
            "aws_kms_key.us-east-1_key_53ABB8CB",
            "aws_kms_key.us-west-2_key_DBA3F56C",
            "aws_cognito_user_pool.sign-in_user-pool_8347B8CF",
            "aws_cognito_user_pool_client.sign-in_user-pool-client_D70CC1D0",
        ],
        WEST: ["aws_lambda_function.us-west-2_function_11BD42FE", "aws_sqs_queue.us-west-2_queue_6FB77C4D"],
        EU: [],  # no old resource: still a file, so that every stack can be pushed
        EAST: ["aws_lambda_function.us-east-1_function_C96F3A6E", "aws_sqs_queue.us-east-1_queue_EEDFFDEB"],
        EDGE: [
            "aws_cloudwatch_dashboard.dashboard_9E73CAB7",
            "aws_route53_health_check.routing_health-check-us-east-1_91DB7EBD",
            "aws_route53_health_check.routing_health-check-us-west-2_B35284E0",
            "aws_route53_record.routing_latency-record-a-us-east-1_67BF3814",
            "aws_route53_record.routing_latency-record-a-us-west-2_2960B45E",
        ],
    }
    lines = done.result.stdout.splitlines()
    assert f"{GLOBAL}: 5 resources moved -> cdktf.out/split-state/{GLOBAL}.tfstate" in lines
    assert f"{EU}: 0 resources moved -> cdktf.out/split-state/{EU}.tfstate" in lines


def test_providers_and_instances_are_kept_and_only_the_name_changes(done: Done) -> None:
    old = {f"{kind}.{name}": entry(mode, kind, name, alias) for mode, kind, name, alias in OLD}
    for stack in DEV:
        for resource in done.state(stack)["resources"]:
            address = f"{resource['type']}.{resource['name']}"
            before = old[next((o for o, n in RENAMED.items() if n == address), address)]
            assert resource == {**before, "name": address.partition(".")[2]}
    assert done.state(EDGE)["resources"][1]["provider"] == f"{AWS}.us-east-1"


def test_each_file_is_a_new_version_4_state(done: Done) -> None:
    lineages = set()
    for stack in DEV:
        state = done.state(stack)
        assert {k: v for k, v in state.items() if k not in ("lineage", "resources")} == {
            "version": 4,
            "terraform_version": "1.9.8",
            "serial": 1,
            "outputs": {},
            "check_results": None,
        }
        assert uuid.UUID(state["lineage"]).version == 4
        lineages.add(state["lineage"])
        assert (done.into / f"{stack}.tfstate").stat().st_mode & 0o077 == 0  # it holds secrets
    assert len(lineages) == len(DEV) and "0c6b7a2e-4f1d-4e7b-9d5a-1f2e3d4c5b6a" not in lineages


def test_the_old_state_is_untouched_and_other_environments_are_not_split(done: Done) -> None:
    assert (done.root / "terraform.iac-aws-nova-dev.tfstate").read_bytes() == done.old
    assert not any("eu-dev" in p.name or "bootstrap" in p.name for p in done.into.iterdir())


def test_renamed_resources_are_listed_under_their_stack(done: Done) -> None:
    renamed = [line.split(": ", 1)[1] for line in done.result.stdout.splitlines() if line.startswith("  renamed: ")]
    assert renamed == [f"{old} -> {new}" for old, new in sorted(RENAMED.items())]
    assert done.section(f"{GLOBAL}:") == [f"renamed: {o} -> {n}" for o, n in sorted(RENAMED.items())[:2]]


def test_data_sources_are_dropped(done: Done) -> None:
    modes = {r["mode"] for stack in DEV for r in done.state(stack)["resources"]}
    assert modes == {"managed"}
    assert "(2 data sources dropped: Terraform reads them again)" in done.result.stdout.splitlines()[0]


def test_old_resources_no_stack_holds_are_listed_as_left(done: Done) -> None:
    assert done.section("Left in the old state: destroyed when you retire it, unless you remove them from it (2)") == (
        LEFT
    )


def test_new_resources_are_listed_as_created(done: Done) -> None:
    assert done.section("Created by the first apply (2)") == CREATED


def test_the_push_commands_come_in_deploy_order_after_the_warning(done: Done) -> None:
    commands = done.section("Push each stack's state, in deploy order")
    expected = []
    for stack in DEV:
        chdir = f"terraform -chdir=cdktf.out/stacks/{stack}"
        expected += [f"{chdir} init", f"{chdir} state push {done.into / f'{stack}.tfstate'}"]
    assert commands == expected
    lines = done.result.stdout.splitlines()
    warning = lines.index(
        "WARNING: take a backup of the old state first (terraform state pull > backup.tfstate), "
        "and apply nothing until every stack is pushed."
    )
    assert lines[warning + 1] == "Push each stack's state, in deploy order:"


def test_an_existing_state_file_is_never_overwritten(tmp_path: Path) -> None:
    root = project(tmp_path)
    into = root / "split"
    into.mkdir()
    (into / f"{EAST}.tfstate").write_text("mine")
    assert refused(run(root, "dev", "terraform.iac-aws-nova-dev.tfstate", "--into", into)) == (
        f"error: {into / f'{EAST}.tfstate'} exists: it is never overwritten (move it away, or choose another --into)"
    )
    assert [p.name for p in into.iterdir()] == [f"{EAST}.tfstate"]
    assert (into / f"{EAST}.tfstate").read_text() == "mine"


@pytest.mark.parametrize(
    "content, reason",
    [
        ("terraform {}\n", "not JSON"),
        ('{"resource": {"aws_sqs_queue": {}}}', "no version"),
        ('{"version": 3, "terraform_version": "0.11.14", "serial": 1, "lineage": "x", "modules": []}', "version 3"),
        ('{"version": 4, "terraform_version": "1.9.8", "serial": 1, "lineage": "x"}', "no resources"),
    ],
    ids=["HCL", "cdk.tf.json", "version 3", "no resources"],
)
def test_anything_but_a_version_4_state_is_refused(tmp_path: Path, content: str, reason: str) -> None:
    root = project(tmp_path)
    (root / "old.tfstate").write_text(content)
    assert refused(run(root, "dev", "old.tfstate")) == (
        f"error: old.tfstate is not a Terraform state (version 4 JSON, as terraform state pull writes it): {reason}"
    )
    assert not (root / "cdktf.out" / "split-state").exists()


def test_an_environment_without_stacks_in_the_synth_is_refused(tmp_path: Path) -> None:
    root = project(tmp_path)
    assert refused(run(root, "staging", "terraform.iac-aws-nova-dev.tfstate")) == (
        "error: cdktf.out/manifest.json has no single stack of environment staging (a name ending "
        "-staging-global: none; it has iac-aws-nova-bootstrap, "
        + ", ".join(
            sorted([*NEW, "iac-aws-nova-eu-dev-edge", "iac-aws-nova-eu-dev-global", "iac-aws-nova-eu-dev-us-east-1"])
        )
        + "): run the synth first (.venv/bin/python main.py)"
    )


def test_a_renamed_resource_must_match_exactly_one_new_address(tmp_path: Path) -> None:
    """A synth without the old domain (or another region) cannot say where the health check went."""
    root = project(tmp_path)
    state = json.loads((root / "terraform.iac-aws-nova-dev.tfstate").read_text())
    state["resources"].append(
        entry("managed", "aws_route53_health_check", "eu-west-1_domain_health-check_0A1B2C3D", "x")
    )
    (root / "old.tfstate").write_text(json.dumps(state))
    assert refused(run(root, "dev", "old.tfstate")) == (
        f"error: aws_route53_health_check.eu-west-1_domain_health-check_0A1B2C3D moved to {EDGE}, but it has 0 "
        "resources named aws_route53_health_check.routing_health-check-eu-west-1_<HASH> (none), not one: "
        "synthesize with the settings the old stack was deployed with"
    )


@pytest.mark.skipif(shutil.which("terraform") is None, reason="terraform is not on PATH")
def test_terraform_reads_a_produced_state_without_init(done: Done, tmp_path: Path) -> None:
    """``terraform state list -state=FILE`` in an empty directory: no configuration, so no init."""
    env = {**os.environ, "CHECKPOINT_DISABLE": "1", "TF_CLI_CONFIG_FILE": os.devnull, "TF_IN_AUTOMATION": "1"}
    command = ["terraform", "state", "list", "-no-color", f"-state={done.into / f'{EDGE}.tfstate'}"]
    result = subprocess.run(command, capture_output=True, text=True, cwd=tmp_path, env=env, timeout=60)
    assert (result.returncode, result.stderr) == (0, "")
    assert result.stdout.splitlines() == sorted(done.addresses(EDGE))
