"""What the synthesized stacks cost each month before anyone uses them: ``make cost``.

    python tools/cost.py [OUTDIR] [--base BASE_OUTDIR]

Reads every stack of ``OUTDIR`` (default ``cdktf.out``), finds the resources that cost money by the
month whatever the traffic (KMS keys, interface endpoints, WAF web ACLs and their rules, dashboards,
alarms by the metrics they read, health checks, secrets and their replicas, canaries' scheduled
runs, provisioned concurrency) and prices them with ``PRICES`` (list prices in US dollars in
us-east-1 on ``PRICED_ON``; other regions differ by a few percent). Prints one row per stack and
region and the total; with ``--base``, the same for another synth (the base branch's) side by side
with the difference, which the pull-request comment shows. Then the usage-priced items the stacks
hold, per unit, which no synth can total. Exit 0; 2 when a directory holds no synthesized stacks.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PRICED_ON = "2026-12-01"
HOURS_PER_MONTH = 730
SECONDS_PER_MONTH = HOURS_PER_MONTH * 3600
# US dollars, list prices in us-east-1 (https://aws.amazon.com/<service>/pricing/).
PRICES = {
    "kms_key": 1.00,  # per key and month (rotations add $1 each for the first two years)
    "interface_endpoint_hour": 0.01,  # per endpoint, zone and hour
    "waf_web_acl": 5.00,  # per web ACL and month
    "waf_rule": 1.00,  # per rule and month
    "dashboard": 3.00,  # per dashboard and month
    "alarm_metric": 0.10,  # per metric an alarm reads (standard resolution), per month
    "health_check": 0.50,  # per health check of an AWS endpoint, per month
    "health_check_feature": 1.00,  # per optional feature (HTTPS, latency measurement, 10 s, string match)
    "secret": 0.40,  # per secret or replica, per month
    "canary_run": 0.0012,  # per canary run
    "provisioned_gb_second_arm64": 0.0000033334,
    "provisioned_gb_second_x86_64": 0.0000041667,
}
# What the stacks hold that is priced by use: resource type -> what you pay for.
USAGE = {
    "aws_api_gateway_rest_api": "API Gateway: $3.50 per million requests",
    "aws_lambda_function": "Lambda: $0.20 per million requests and $0.0000133334 per GB-second (arm64)",
    "aws_dynamodb_table": "DynamoDB on demand: $0.625 per million writes, $0.125 per million reads, "
    "$0.25 per GB-month, +$0.20 per GB-month of point-in-time recovery",
    "aws_dynamodb_table_replica": "DynamoDB replicas: each write again per replica region, and $0.09 per GB "
    "across regions",
    "aws_sqs_queue": "SQS: $0.40 per million requests (an idle long-polled queue costs about $0.30 a month)",
    "aws_cloudwatch_event_bus": "EventBridge: $1.00 per million events",
    "aws_pipes_pipe": "EventBridge Pipes: $0.40 per million requests",
    "aws_cloudwatch_log_group": "CloudWatch Logs: $0.50 per GB ingested, $0.03 per GB-month",
    "aws_wafv2_web_acl": "WAF: $0.60 per million requests",
    "aws_xray_sampling_rule": "X-Ray: $5.00 per million traces recorded",
    "aws_s3_bucket": "S3: $0.023 per GB-month and per request",
    "aws_backup_plan": "AWS Backup: $0.10 per GB-month of backups (and of copies), $0.02 per GB copied across regions",
    "aws_config_config_rule": "AWS Config: $0.001 per rule evaluation",
    "aws_config_configuration_recorder": "AWS Config: $0.003 per configuration item recorded",
    "aws_route53_record": "Route 53: $0.60 per million latency-based queries",
    "aws_vpc_endpoint": "Interface endpoints: $0.01 per GB processed",
    # Listed so that a gradual rollout's cost is said, not guessed: nothing (the alarms are priced above).
    "aws_codedeploy_deployment_group": "CodeDeploy: nothing for deployments to Lambda (`deployment_strategy`)",
    "aws_cloudfront_distribution": "CloudFront: $0.085 per GB out (North America, Europe) and $0.01 per 10,000 "
    "HTTPS requests, beyond 1 TB and 10 million requests a month free",
    "aws_cloudwatch_log_delivery": "CloudFront access logs: $0.50 per GB delivered to CloudWatch Logs",
}


@dataclass(frozen=True)
class Item:
    """One priced resource: where it is, what it is, and what it costs a month."""

    stack: str
    region: str
    what: str
    monthly: float


class NoStacks(Exception):
    pass


def stacks_of(outdir: Path) -> dict[str, dict[str, Any]]:
    """Every stack the last synth into ``outdir`` wrote, by name (``stacks/<name>/cdk.tf.json``):
    those its ``manifest.json`` lists, where it has one (a stack no longer configured can stay
    behind, holding a state file)."""
    manifest = outdir / "manifest.json"
    listed = set(json.loads(manifest.read_text())["stacks"]) if manifest.is_file() else None
    found = {
        d.name: json.loads((d / "cdk.tf.json").read_text())
        for d in sorted((outdir / "stacks").glob("*"))
        if (d / "cdk.tf.json").is_file() and (listed is None or d.name in listed)
    }
    if not found:
        raise NoStacks(f"{outdir}: no synthesized stacks (run make synth, or python main.py, first)")
    return found


def _region(resource: Mapping[str, Any], providers: Mapping[str, str]) -> str:
    alias = str(resource.get("provider", "aws")).removeprefix("aws.")
    return providers.get(alias, alias)


def _providers(stack: Mapping[str, Any]) -> dict[str, str]:
    """Each provider alias's region (a stack with one unaliased provider: ``aws``)."""
    found = {}
    for provider in stack.get("provider", {}).get("aws", []):
        found[provider.get("alias", "aws")] = provider.get("region", "?")
    return found


def _alarm_metrics(alarm: Mapping[str, Any]) -> int:
    queries = alarm.get("metric_query")
    return sum(1 for q in queries if "metric" in q) if queries else 1


def _health_check(check: Mapping[str, Any]) -> float:
    features = sum(
        (
            str(check.get("type", "")).startswith("HTTPS"),
            bool(check.get("measure_latency")),
            check.get("request_interval") == 10,
            "STR_MATCH" in str(check.get("type", "")),
        )
    )
    return PRICES["health_check"] + features * PRICES["health_check_feature"]


def _canary(canary: Mapping[str, Any]) -> float:
    expression = canary["schedule"]["expression"]  # rate(N minute[s]) or rate(N hour[s])
    amount, unit = expression.removeprefix("rate(").removesuffix(")").split()
    minutes = int(amount) * (60 if unit.startswith("hour") else 1)
    return HOURS_PER_MONTH * 60 / minutes * PRICES["canary_run"]


def _provisioned(config: Mapping[str, Any], stack: Mapping[str, Any]) -> float:
    """Provisioned concurrency: the function's memory, all month, at its architecture's price."""
    function = _referenced(stack, "aws_lambda_function", config["function_name"])
    gigabytes = function.get("memory_size", 128) / 1024
    architecture = (function.get("architectures") or ["x86_64"])[0]
    price = PRICES[f"provisioned_gb_second_{architecture}"]
    return config["provisioned_concurrent_executions"] * gigabytes * SECONDS_PER_MONTH * price


def _referenced(stack: Mapping[str, Any], kind: str, reference: str) -> Mapping[str, Any]:
    """The resource of ``kind`` that ``${kind.name.attr}`` names."""
    name = reference.strip("${}").split(".")[1]
    return stack["resource"][kind][name]


def items(stacks: Mapping[str, Mapping[str, Any]]) -> Iterator[Item]:
    """Every fixed-cost resource of the stacks, priced."""
    for stack_name, stack in stacks.items():
        yield from _stack_items(stack_name, stack)


def _stack_items(stack_name: str, stack: Mapping[str, Any]) -> Iterator[Item]:
    providers = _providers(stack)
    resources = stack.get("resource", {})

    def each(kind: str) -> Iterator[tuple[str, Mapping[str, Any]]]:
        for body in resources.get(kind, {}).values():
            yield _region(body, providers), body

    for region, _ in each("aws_kms_key"):
        yield Item(stack_name, region, "KMS key", PRICES["kms_key"])
    for region, endpoint in each("aws_vpc_endpoint"):
        if endpoint.get("vpc_endpoint_type") == "Interface":
            zones = len(endpoint.get("subnet_ids", []))
            monthly = zones * HOURS_PER_MONTH * PRICES["interface_endpoint_hour"]
            yield Item(stack_name, region, f"interface endpoint in {zones} zones", monthly)
    for region, acl in each("aws_wafv2_web_acl"):
        rules = len(acl.get("rule", []))
        yield Item(
            stack_name, region, f"WAF web ACL, {rules} rules", PRICES["waf_web_acl"] + rules * PRICES["waf_rule"]
        )
    for region, _ in each("aws_cloudwatch_dashboard"):
        yield Item(stack_name, region, "dashboard", PRICES["dashboard"])
    for region, alarm in each("aws_cloudwatch_metric_alarm"):
        metrics = _alarm_metrics(alarm)
        what = f"alarm ({metrics} metric{'s' if metrics > 1 else ''})"
        yield Item(stack_name, region, what, metrics * PRICES["alarm_metric"])
    for region, check in each("aws_route53_health_check"):
        yield Item(stack_name, region, "Route 53 health check", _health_check(check))
    for region, secret in each("aws_secretsmanager_secret"):
        yield Item(stack_name, region, "secret", PRICES["secret"])
        for replica in secret.get("replica", []):
            yield Item(stack_name, replica["region"], "secret replica", PRICES["secret"])
    for region, canary in each("aws_synthetics_canary"):
        yield Item(stack_name, region, "canary runs", _canary(canary))
    for region, config in each("aws_lambda_provisioned_concurrency_config"):
        yield Item(stack_name, region, "provisioned concurrency", _provisioned(config, stack))


@dataclass(frozen=True)
class Row:
    stack: str
    region: str
    monthly: float
    detail: str


def rows(found: Sequence[Item]) -> list[Row]:
    """One row per stack and region: its monthly total and what makes it up."""
    grouped: dict[tuple[str, str], list[Item]] = defaultdict(list)
    for item in found:
        grouped[(item.stack, item.region)].append(item)
    result = []
    for (stack, region), group in sorted(grouped.items()):
        counts: dict[str, list[float]] = defaultdict(list)
        for item in group:
            counts[item.what].append(item.monthly)
        detail = ", ".join(
            f"{len(costs)} × {what}" if len(costs) > 1 else what for what, costs in sorted(counts.items())
        )
        result.append(Row(stack, region, round(sum(i.monthly for i in group), 2), detail))
    return result


def usage_lines(stacks: Mapping[str, Mapping[str, Any]]) -> list[str]:
    kinds = {kind for stack in stacks.values() for kind in stack.get("resource", {})}
    return [USAGE[kind] for kind in sorted(USAGE) if kind in kinds]


def report(outdir: Path, base: Path | None = None) -> str:
    stacks = stacks_of(outdir)
    now = rows(list(items(stacks)))
    lines = [f"## Fixed monthly cost (US dollars, list prices of {PRICED_ON}, before any traffic)", ""]
    if base is None:
        lines += ["| stack | region | $ / month | what |", "| --- | --- | ---: | --- |"]
        lines += [f"| {r.stack} | {r.region} | {r.monthly:.2f} | {r.detail} |" for r in now]
        lines += [f"| **total** | | **{sum(r.monthly for r in now):.2f}** | |"]
    else:
        before = {(r.stack, r.region): r.monthly for r in rows(list(items(stacks_of(base))))}
        after = {(r.stack, r.region): r.monthly for r in now}
        lines += ["| stack | region | before | after | change |", "| --- | --- | ---: | ---: | ---: |"]
        for key in sorted(set(before) | set(after)):
            old, new = before.get(key, 0.0), after.get(key, 0.0)
            lines.append(f"| {key[0]} | {key[1]} | {old:.2f} | {new:.2f} | {new - old:+.2f} |")
        old_total, new_total = sum(before.values()), sum(after.values())
        lines.append(f"| **total** | | **{old_total:.2f}** | **{new_total:.2f}** | **{new_total - old_total:+.2f}** |")
    lines += ["", "Priced by use, on top:", ""] + [f"- {line}" for line in usage_lines(stacks)]
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("outdir", nargs="?", default="cdktf.out", type=Path)
    parser.add_argument("--base", type=Path, help="another synth's output directory to compare with")
    args = parser.parse_args(argv)
    try:
        print(report(args.outdir, args.base), end="")
    except NoStacks as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
