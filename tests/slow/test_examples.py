"""The examples (examples/*/main.py) run as a user runs them, and what they build. Slow tier: a
run is a fresh process of 2 to 5 s, and even in the suite's process (the CDK loaded already) the
two examples take about 2.3 s to synthesize, more than the fast tier can spare. Each example runs
twice, in two copies of the project at different paths, once from its own directory and once from
the copy's root, into a temporary output directory; the minimal one runs a third time through the
cdktf CLI. They start when this module is collected and run on the second core.
"""

from __future__ import annotations

import atexit
import json
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import pytest
from conftest import (
    ROOT,
    BackgroundRun,
    address_at,
    engine_name,
    files,
    policy_statements,
    project_copy,
    resource_at,
    resources,
    subprocess_env,
)

EXAMPLES = ("minimal_api", "production_app")
# What project_copy() links in from the checkout (ignored by git): everything else a run leaves
# in a copy would be a file written outside its output directory.
LINKED = {".venv", ".venv-cdktn", "node_modules", "engines/cdktn/node_modules"}
QUIET = {"CHECKPOINT_DISABLE": "1", "TF_CLI_CONFIG_FILE": "/dev/null"}
OUT = Path(tempfile.mkdtemp(prefix="iac-examples-"))
FIRST, SECOND = project_copy(), project_copy()
for _made in (OUT, FIRST, SECOND):
    atexit.register(shutil.rmtree, _made, ignore_errors=True)


def _start(name: str, copy: Path, *, from_root: bool, outdir: Path) -> BackgroundRun:
    """``cd examples/<name> && python main.py``, or ``python examples/<name>/main.py`` from the root."""
    script = f"examples/{name}/main.py" if from_root else "main.py"
    cwd = copy if from_root else copy / "examples" / name
    return BackgroundRun([sys.executable, script], cwd=cwd, env=subprocess_env(CDKTF_OUTDIR=str(outdir)))


RUNS = {
    (name, index): _start(name, copy, from_root=index == 1, outdir=OUT / f"{name}-{index}")
    for name in EXAMPLES
    for index, copy in enumerate((FIRST, SECOND))
}
# The CLI runs cdktf.json's app; CDK Terrain's CLI is another command (see tests/slow/test_cli_runs.py).
CLI = (
    BackgroundRun(
        ["npx", "--no-install", "cdktf", "synth", "--output", str(OUT / "minimal_api-cli")],
        cwd=FIRST / "examples" / "minimal_api",
        env=subprocess_env(**QUIET),
    )
    if engine_name() == "cdktf"
    else None
)


def synthesized(name: str, index: int = 0) -> Path:
    result = RUNS[name, index].result()
    assert result.returncode == 0, result.stdout + result.stderr
    return OUT / f"{name}-{index}"


def stacks(name: str) -> dict[str, dict[str, Any]]:
    outdir = synthesized(name)
    listed = json.loads((outdir / "manifest.json").read_text())["stacks"]
    return {stack: json.loads((outdir / "stacks" / stack / "cdk.tf.json").read_text()) for stack in sorted(listed)}


def every_block(stack: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """Every resource and data source, with its construct path below the stack."""
    return [
        (block["//"]["metadata"]["path"].split("/", 1)[1], block)
        for section in ("resource", "data")
        for kind in stack.get(section, {}).values()
        for block in kind.values()
    ]


def ref(stack: dict[str, Any], kind: str, path: str, attribute: str) -> str:
    """The reference to an attribute of the resource at a construct path."""
    [key] = [k for k, r in stack["resource"][kind].items() if r["//"]["metadata"]["path"].split("/", 1)[1] == path]
    return f"${{{kind}.{key}.{attribute}}}"


@pytest.mark.after_background
@pytest.mark.parametrize("name", EXAMPLES)
def test_each_example_synthesizes_from_its_directory_and_from_the_root(name):
    for index in (0, 1):
        result = RUNS[name, index].result()
        assert result.returncode == 0, result.stdout + result.stderr
        assert f"synthesized into {OUT / f'{name}-{index}'}" in result.stdout
        assert "Traceback" not in result.stderr and "warning" not in result.stderr.lower(), result.stderr


@pytest.mark.after_background
@pytest.mark.parametrize("name", EXAMPLES)
def test_the_synth_is_byte_identical_in_another_copy_from_another_directory(name):
    """No timestamp, no absolute path, nothing of the directory it ran from: two runs in two
    copies at two paths write the same bytes (the function packages included)."""
    first, second = files(synthesized(name, 0)), files(synthesized(name, 1))
    assert first == second
    assert any(path.endswith(".zip") for path in first)
    for path, content in first.items():
        for place in (str(FIRST), str(SECOND), str(OUT), str(Path.home())):
            assert place.encode() not in content, (path, place)


@pytest.mark.after_background
def test_nothing_is_written_outside_the_output_directory():
    for name, index in RUNS:
        synthesized(name, index)
    for copy in (FIRST, SECOND):
        status = subprocess.run(
            ["git", "status", "--porcelain", "--ignored", "--untracked-files=all"],
            cwd=copy,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.splitlines()
        assert [line for line in status if line[3:].rstrip("/") not in LINKED] == []


@pytest.mark.after_background
def test_the_cdktf_cli_runs_the_minimal_example_from_its_cdktf_json():
    if CLI is None:
        pytest.skip(f"the cdktf CLI runs the cdktf engine's app; this run's engine is {engine_name()}")
    result = CLI.result()
    assert result.returncode == 0, result.stdout + result.stderr
    stack = "stacks/hello-dev/cdk.tf.json"
    assert (OUT / "minimal_api-cli" / stack).read_bytes() == (synthesized("minimal_api") / stack).read_bytes()


# The minimal example


@pytest.mark.after_background
def test_minimal_is_one_region_through_one_aliased_provider_with_local_state():
    [(name, stack)] = stacks("minimal_api").items()
    assert name == "hello-dev"
    assert [(p["alias"], p["region"]) for p in stack["provider"]["aws"]] == [("eu-west-1", "eu-west-1")]
    assert {block.get("provider") for _, block in every_block(stack)} == {"aws.eu-west-1"}
    assert stack["terraform"]["backend"] == {"local": {"path": "../../../terraform.hello-dev.tfstate"}}


@pytest.mark.after_background
def test_minimal_is_a_python_function_behind_an_iam_api_and_nothing_else():
    [stack] = stacks("minimal_api").values()
    [function] = resources(stack, "aws_lambda_function")
    assert (function["runtime"], function["handler"], function["function_name"]) == (
        "python3.12",
        "handler.handler",
        "hello-fn-eu-west-1-dev",
    )
    with zipfile.ZipFile(synthesized("minimal_api") / "stacks" / "hello-dev" / function["filename"]) as package:
        assert package.namelist() == ["handler.py"]
    # Every method that reaches the function needs a SigV4 signature, but the open health check.
    methods = {
        m["//"]["metadata"]["path"].rsplit("/", 1)[1]: m["authorization"]
        for m in resources(stack, "aws_api_gateway_method")
    }
    assert {k: v for k, v in methods.items() if k.endswith("-any")} == {
        "api-any": "AWS_IAM",
        "proxy-any": "AWS_IAM",
        "health-any": "AWS_IAM",
    }
    assert methods["health-get"] == "NONE"
    kinds = set(stack["resource"])
    assert not {k for k in kinds if k.startswith(("aws_wafv2", "aws_acm", "aws_route53", "aws_api_gateway_domain"))}
    assert not {k for k in kinds if k.startswith(("aws_sqs", "aws_dynamodb", "aws_cloudwatch_event"))}
    assert not [r for r in resources(stack, "aws_vpc_endpoint") if r["vpc_endpoint_type"] == "Interface"]
    assert (
        stack["output"]["api_url"]["value"] == ref(stack, "aws_api_gateway_stage", "api/stage", "invoke_url") + "/api"
    )
    assert stack["output"]["function_name"]["value"] == ref(
        stack, "aws_lambda_function", "function/function", "function_name"
    )


# The production example

ENVIRONMENTS = {
    "shop-staging": ("eu-west-1", "eu-central-1", "api.staging.shop.example.com"),
    "shop-prod": ("eu-west-1", "us-east-1", "api.shop.example.com"),
}


@pytest.mark.after_background
def test_production_is_a_bootstrap_and_two_environments_each_in_two_regions():
    built = stacks("production_app")
    assert sorted(built) == ["shop-bootstrap", "shop-prod", "shop-staging"]
    for name, (home, other, _) in ENVIRONMENTS.items():
        stack = built[name]
        providers = {p["alias"]: p for p in stack["provider"]["aws"]}
        assert sorted(providers) == sorted([home, other])
        assert all(p["region"] == alias for alias, p in providers.items())
        # Every regional block goes through its own region's provider; the table's replica through
        # its region's, the table through the home region's.
        for path, block in every_block(stack):
            region = path.split("/")[0]
            expected = region if region in providers else other if "replica" in path else home
            assert block["provider"] == f"aws.{expected}", path


@pytest.mark.after_background
def test_production_state_is_in_the_bucket_the_bootstrap_stack_creates_with_s3_locking():
    built = stacks("production_app")
    [bucket] = resources(built["shop-bootstrap"], "aws_s3_bucket")
    for name in ENVIRONMENTS:
        environment = name.removeprefix("shop-")
        assert built[name]["terraform"]["backend"] == {
            "s3": {
                "bucket": bucket["bucket"],
                "key": f"shop/{environment}/terraform.tfstate",
                "region": bucket["provider"].removeprefix("aws."),
                "encrypt": True,
                "use_lockfile": True,
            }
        }
    # API Gateway's logging role, which every stage's logs need, in every region of every environment.
    regions = {r["provider"] for r in resources(built["shop-bootstrap"], "aws_api_gateway_account")}
    assert regions == {f"aws.{region}" for home, other, _ in ENVIRONMENTS.values() for region in (home, other)}


@pytest.mark.after_background
@pytest.mark.parametrize("name", sorted(ENVIRONMENTS))
def test_production_workers_are_node_functions_that_the_queue_of_their_region_triggers(name):
    stack = stacks("production_app")[name]
    outdir = synthesized("production_app") / "stacks" / name
    for region in ENVIRONMENTS[name][:2]:
        for component in ("orders-api", "orders-worker"):
            function = resource_at(stack, "aws_lambda_function", f"{region}/{component}/function")
            assert (function["runtime"], function["handler"]) == ("nodejs22.x", "index.handler")
            with zipfile.ZipFile(outdir / function["filename"]) as package:
                assert package.namelist() == ["index.js"]
        [mapping] = [m for m in resources(stack, "aws_lambda_event_source_mapping", region)]
        assert mapping["event_source_arn"] == ref(stack, "aws_sqs_queue", f"{region}/queue/queue", "arn")
        assert mapping["function_name"] == ref(stack, "aws_lambda_alias", f"{region}/orders-worker/alias", "arn")
        assert mapping["function_response_types"] == ["ReportBatchItemFailures"]
        assert mapping["scaling_config"] == {"maximum_concurrency": 5}
        # The API function names its region's queue by reference, and the worker the table.
        api = resource_at(stack, "aws_lambda_function", f"{region}/orders-api/function")
        assert api["environment"]["variables"]["QUEUE_URL"] == ref(
            stack, "aws_sqs_queue", f"{region}/queue/queue", "url"
        )


def role_statements(stack: dict[str, Any], region: str, component: str) -> dict[str, dict[str, Any]]:
    policy = resource_at(stack, "aws_iam_role_policy", f"{region}/{component}/role-policy")
    return {s["sid"]: s for s in policy_statements(stack, policy["policy"])}


@pytest.mark.after_background
@pytest.mark.parametrize("name", sorted(ENVIRONMENTS))
def test_production_grants_are_scoped_to_their_regions_table_copy_queue_and_key(name):
    stack = stacks("production_app")[name]
    home, other, _ = ENVIRONMENTS[name]
    table_copies = {
        home: ref(stack, "aws_dynamodb_table", "table/table", "arn"),
        other: ref(stack, "aws_dynamodb_table_replica", f"table/replica-{other}", "arn"),
    }
    for region in (home, other):
        key = ref(stack, "aws_kms_key", f"{region}/key/key", "arn")
        worker = role_statements(stack, region, "orders-worker")
        items = worker["ReadWriteItemsInThisRegionsReplica"]
        assert items["resources"] == [table_copies[region]]
        assert all(re.fullmatch(r"dynamodb:[A-Z][A-Za-z]*Item|dynamodb:Scan", a) for a in items["actions"])
        assert worker["UseTheKeyThroughTheTable"]["resources"] == [key]
        assert worker["UseTheKeyThroughTheTable"]["condition"][0]["values"] == [f"dynamodb.{region}.amazonaws.com"]
        assert worker["ConsumeTriggerQueues"]["resources"] == [
            ref(stack, "aws_sqs_queue", f"{region}/queue/queue", "arn")
        ]
        api = role_statements(stack, region, "orders-api")
        assert api["SendOrdersToTheQueue"] == {
            "sid": "SendOrdersToTheQueue",
            "effect": "Allow",
            "actions": ["sqs:SendMessage"],
            "resources": [ref(stack, "aws_sqs_queue", f"{region}/queue/queue", "arn")],
        }
        assert api["EncryptOrdersThroughSqs"]["condition"][0]["values"] == [f"sqs.{region}.amazonaws.com"]
        assert "ReadWriteItemsInThisRegionsReplica" not in api and "SendOrdersToTheQueue" not in worker


@pytest.mark.after_background
@pytest.mark.parametrize("name", sorted(ENVIRONMENTS))
def test_production_api_is_behind_a_waf_and_one_custom_domain_in_each_region(name):
    stack = stacks("production_app")[name]
    home, other, domain = ENVIRONMENTS[name]
    for region in (home, other):
        association = resource_at(stack, "aws_wafv2_web_acl_association", f"{region}/waf/association")
        assert association["resource_arn"] == ref(stack, "aws_api_gateway_stage", f"{region}/api/stage", "arn")
        assert association["web_acl_arn"] == ref(stack, "aws_wafv2_web_acl", f"{region}/waf/web-acl", "arn")
        certificate = resource_at(stack, "aws_acm_certificate", f"{region}/domain/certificate")
        assert (certificate["domain_name"], certificate["subject_alternative_names"]) == (
            domain,
            [f"{region}.{domain}"],
        )
        record = resource_at(stack, "aws_route53_record", f"routing/latency-record-a-{region}")
        assert (record["name"], record["set_identifier"]) == (domain, region)
        # In one stack, the latency record waits for the region's target record it aliases.
        target = address_at(stack, "aws_route53_record", f"{region}/domain/target-record-a")
        assert record["alias"]["name"] == f"{region}.target.{domain}" and record["depends_on"] == [
            address_at(stack, "aws_route53_record", f"{r}/domain/target-record-a") for r in (home, other)
        ]
        assert target in record["depends_on"]
    # One API key value, generated in the home region, accepted in both.
    home_key = resource_at(stack, "aws_api_gateway_api_key", f"{home}/api/api-key")
    other_key = resource_at(stack, "aws_api_gateway_api_key", f"{other}/api/api-key")
    assert "value" not in home_key
    assert other_key["value"] == ref(stack, "aws_api_gateway_api_key", f"{home}/api/api-key", "value")
    assert stack["output"]["api_url"]["value"] == f"https://{domain}/api"
    assert stack["output"]["api_key"]["sensitive"] is True


# The Node.js functions' code, with the AWS SDK stubbed (it is part of the Lambda runtime, not of
# the package): the contracts the stack relies on.

SDK_STUB = """
const sent = (globalThis.sent = globalThis.sent || []);
class Client { async send(command) {
  sent.push(command.input);
  if (JSON.stringify(command.input).includes("refuse")) { const e = new Error("no"); e.name = "Refused"; throw e; }
  return {};
} }
class Command { constructor(input) { this.input = input; } }
module.exports = { SQSClient: Client, SendMessageCommand: Command, DynamoDBClient: Client, UpdateItemCommand: Command };
"""
DRIVER = """
const { handler } = require(process.argv[2]);
(async () => {
  const answers = [];
  for (const event of JSON.parse(process.argv[3])) answers.push(await handler(event));
  console.log(JSON.stringify({ answers, sent: globalThis.sent || [] }));
})();
"""


def run_node(function: str, events: list[dict[str, Any]], env: dict[str, str], tmp_path: Path) -> dict[str, Any]:
    if shutil.which("node") is None:
        pytest.skip("node is not installed")
    shutil.copytree(ROOT / "examples" / "production_app" / "functions" / function, tmp_path / "fn")
    for package in ("client-sqs", "client-dynamodb"):
        (tmp_path / "node_modules" / "@aws-sdk" / package).mkdir(parents=True)
        (tmp_path / "node_modules" / "@aws-sdk" / package / "index.js").write_text(SDK_STUB)
    (tmp_path / "driver.js").write_text(DRIVER)
    result = subprocess.run(
        ["node", "driver.js", str(tmp_path / "fn" / "index.js"), json.dumps(events)],
        cwd=tmp_path,
        env={**subprocess_env(), "REGION": "eu-west-1", **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_the_orders_api_queues_each_order_and_answers_202(tmp_path):
    post = {"httpMethod": "POST", "path": "/api/orders", "body": '{"sku": "A-1", "quantity": 2}'}
    refused = {**post, "body": '{"sku": "refuse"}'}
    events = [
        {"httpMethod": "GET", "path": "/api/health"},
        post,
        {**post, "body": "[1, 2]"},
        {**post, "httpMethod": "GET"},
        refused,
        {"httpMethod": "GET", "path": "/api/nothing"},
    ]
    run = run_node("orders_api", events, {"QUEUE_URL": "https://sqs.example/orders"}, tmp_path)
    health, accepted, not_an_object, wrong_method, unavailable, unknown = run["answers"]
    assert (health["statusCode"], json.loads(health["body"])) == (200, {"status": "ok", "region": "eu-west-1"})
    assert accepted["statusCode"] == 202
    order_id = json.loads(accepted["body"])["order_id"]
    first = run["sent"][0]
    assert first["QueueUrl"] == "https://sqs.example/orders"
    assert json.loads(first["MessageBody"]) == {
        "order_id": order_id,
        "order": {"sku": "A-1", "quantity": 2},
        "received_region": "eu-west-1",
    }
    assert [a["statusCode"] for a in (not_an_object, wrong_method, unavailable, unknown)] == [400, 405, 503, 404]
    assert unavailable["headers"]["Retry-After"] == "1"
    assert len(run["sent"]) == 2  # the order and the refused one; nothing for the others


def test_the_worker_stores_orders_and_reports_only_the_failed_messages(tmp_path):
    def record(message_id: str, body: str) -> dict[str, str]:
        return {"messageId": message_id, "body": body}

    good = json.dumps({"order_id": "o-1", "order": {"sku": "A-1"}, "received_region": "eu-central-1"})
    batch = {
        "Records": [
            record("m-1", good),
            record("m-2", "not json"),
            record("m-3", '{"order": {}}'),
            record("m-4", json.dumps({"order_id": "o-4", "order": {"sku": "refuse"}})),
        ]
    }
    run = run_node("orders_worker", [batch], {"TABLE_NAME": "shop-items-prod"}, tmp_path)
    assert run["answers"] == [{"batchItemFailures": [{"itemIdentifier": m} for m in ("m-2", "m-3", "m-4")]}]
    stored = run["sent"][0]
    assert (stored["TableName"], stored["Key"]) == ("shop-items-prod", {"id": {"S": "o-1"}})
    assert stored["ExpressionAttributeValues"][":order"] == {"S": '{"sku":"A-1"}'}
    assert stored["ExpressionAttributeValues"][":stored"] == {"S": "eu-west-1"}
