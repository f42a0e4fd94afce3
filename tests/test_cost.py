"""tools/cost.py (make cost): the fixed monthly cost of the synthesized stacks, priced resource by
resource, compared with a base synth, and the README's cost table held to it."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest
from conftest import CUSTOM, CUSTOM_MOVED, ROOT, THREE_REGIONS, subprocess_env

from tools import cost

COST = ROOT / "tools" / "cost.py"


def by_stack_region(outdir):
    return {(r.stack, r.region): r for r in cost.rows(list(cost.items(cost.stacks_of(outdir))))}


def test_each_regions_fixed_cost_is_its_waf_and_alarms(default_synth):
    rows = by_stack_region(default_synth.outdir)
    regional = rows[("iac-aws-nova-dev-us-west-2", "us-west-2")]
    alarms = default_synth.stacks["iac-aws-nova-dev-us-west-2"]["resource"]["aws_cloudwatch_metric_alarm"]
    metrics = sum(cost._alarm_metrics(a) for a in alarms.values())
    assert regional.monthly == pytest.approx(5 + 6 * 1 + metrics * 0.10)
    # The global stack's part of a region: its key, and the API key's replica.
    assert rows[("iac-aws-nova-dev-global", "us-west-2")].monthly == pytest.approx(1.40)
    assert rows[("iac-aws-nova-dev-edge", "us-east-1")].monthly == pytest.approx(3.00)


def test_the_readme_cost_table_is_what_the_tool_prices(default_synth):
    """The README's per-region figures are the default stacks' (a change that adds an alarm must
    update them)."""
    readme = (ROOT / "README.md").read_text()
    row = re.search(r"^\| (\d+) CloudWatch alarms, (\d+) metrics .*\| \$(\d+\.\d\d) \|$", readme, re.M)
    assert row, "the README's alarm row"
    alarms = default_synth.stacks["iac-aws-nova-dev-us-west-2"]["resource"]["aws_cloudwatch_metric_alarm"]
    metrics = sum(cost._alarm_metrics(a) for a in alarms.values())
    assert (int(row.group(1)), int(row.group(2)), float(row.group(3))) == (
        len(alarms),
        metrics,
        round(metrics * 0.1, 2),
    )
    per_region = float(re.search(r"\*\*per region\*\* \| \| \*\*≈ \$(\d+\.\d\d)\*\*", readme).group(1))
    rows = by_stack_region(default_synth.outdir)
    idle_queue = 0.30  # usage-priced: the README's estimate of an idle long-polled queue
    fixed = (
        rows[("iac-aws-nova-dev-us-west-2", "us-west-2")].monthly
        + rows[("iac-aws-nova-dev-global", "us-west-2")].monthly
    )
    assert per_region == pytest.approx(fixed + idle_queue)


def test_interface_endpoints_canaries_health_checks_and_provisioned_concurrency_are_priced(variants):
    """The watched variant: a secret (its endpoint), a canary every 5 minutes, provisioned concurrency 1."""
    stack = "variant-watched-eu-west-1"
    found = {item.what: item.monthly for item in cost.items(variants.stacks) if item.stack == stack}
    assert found["interface endpoint in 2 zones"] == pytest.approx(2 * 730 * 0.01)
    assert found["canary runs"] == pytest.approx(730 * 60 / 5 * 0.0012)
    function = variants.stacks[stack]["resource"]["aws_lambda_function"]
    [api] = [f for f in function.values() if f["function_name"] == "variant-fn-eu-west-1-watched"]
    price = cost.PRICES[f"provisioned_gb_second_{api['architectures'][0]}"]
    assert found["provisioned concurrency"] == pytest.approx(1 * api["memory_size"] / 1024 * 730 * 3600 * price)


def test_a_health_check_pays_for_https_and_latency(synth):
    from conftest import GLOBAL

    checks = [i for i in cost.items(synth(GLOBAL).stacks) if i.what == "Route 53 health check"]
    assert [c.monthly for c in checks] == [2.50, 2.50]


def test_compared_with_a_base_it_shows_before_after_and_the_change(default_synth, synth, capsys):
    assert cost.main([str(synth(THREE_REGIONS).outdir), "--base", str(default_synth.outdir)]) == 0
    out = capsys.readouterr().out
    assert "| iac-aws-nova-dev-eu-west-1 | eu-west-1 | 0.00 | 13.40 | +13.40 |" in out
    # Each region had an alarm on replication to each other one: one more now.
    assert "| iac-aws-nova-dev-us-west-2 | us-west-2 | 13.30 | 13.40 | +0.10 |" in out
    assert re.search(r"\| \*\*total\*\* \| \| \*\*\d+\.\d\d\*\* \| \*\*\d+\.\d\d\*\* \| \*\*\+\d+\.\d\d\*\* \|", out)
    assert cost.main([str(synth(CUSTOM_MOVED).outdir), "--base", str(synth(CUSTOM).outdir)]) == 0
    assert "**+0.00**" in capsys.readouterr().out  # a network's range changes nothing fixed


def test_usage_priced_items_are_listed_per_unit(default_synth):
    text = cost.report(default_synth.outdir)
    assert "- API Gateway: $3.50 per million requests" in text
    usage = text.split("Priced by use")[1]
    assert "- AWS Config: $0.001 per rule evaluation" in usage and "- AWS Backup: " in usage
    # Only what the stacks hold: the default has no recorder.
    assert "configuration item" not in usage


def test_a_gradual_rollout_is_said_to_cost_nothing(variants):
    usage = cost.report(variants.outdir).split("Priced by use")[1]
    assert "- CodeDeploy: nothing for deployments to Lambda (`deployment_strategy`)" in usage


def test_as_typed_no_stacks_is_one_line_and_exit_2(tmp_path):
    result = subprocess.run(
        [sys.executable, str(COST), str(tmp_path)], capture_output=True, text=True, env=subprocess_env(), timeout=30
    )
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr == f"error: {tmp_path}: no synthesized stacks (run make synth, or python main.py, first)\n"


def test_only_the_stacks_the_last_synth_wrote_are_priced(default_synth, tmp_path):
    """A stack no longer configured may stay in cdktf.out (it holds a state file): not priced."""
    import shutil

    copy = tmp_path / "out"
    shutil.copytree(default_synth.outdir / "stacks", copy / "stacks")
    shutil.copy(default_synth.outdir / "manifest.json", copy / "manifest.json")
    shutil.copytree(copy / "stacks" / "iac-aws-nova-dev-us-west-2", copy / "stacks" / "iac-aws-nova-old-us-west-2")
    assert "iac-aws-nova-old-us-west-2" not in cost.stacks_of(copy)
    assert set(cost.stacks_of(copy)) == set(default_synth.stacks)
