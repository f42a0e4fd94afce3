"""Gradual rollout (``deployment_strategy``): CodeDeploy's application and deployment groups per
region and function under a canary or linear strategy, the ``live`` alias left to them, and nothing
of it under the default. Checked over every region and function of the variants that roll out
gradually (``cognito``: linear over two regions; ``watched``: a canary of a warm alias)."""

from __future__ import annotations

from typing import Any

import pytest
from conftest import VARIANTS, address, address_at, one, policy_statements, resource_at, resources

from constructs_lib.blocks.monitoring import AlarmRef
from constructs_lib.blocks.naming import Namer
from constructs_lib.blocks.rollout import GradualRolloutConfig, RolloutTarget
from constructs_lib.blocks.rules import DEPLOYMENT_STRATEGIES, SHIFT_MINUTES
from constructs_lib.settings import ConfigError, StackConfig, configs_from_context

# CodeDeploy's predefined deployment configurations for Lambda (CodeDeploy User Guide, "Deployment
# configurations on an AWS Lambda compute platform").
PREDEFINED = {
    "CodeDeployDefault.LambdaAllAtOnce",
    "CodeDeployDefault.LambdaCanary10Percent5Minutes",
    "CodeDeployDefault.LambdaCanary10Percent10Minutes",
    "CodeDeployDefault.LambdaCanary10Percent15Minutes",
    "CodeDeployDefault.LambdaCanary10Percent30Minutes",
    "CodeDeployDefault.LambdaLinear10PercentEvery1Minute",
    "CodeDeployDefault.LambdaLinear10PercentEvery2Minutes",
    "CodeDeployDefault.LambdaLinear10PercentEvery3Minutes",
    "CodeDeployDefault.LambdaLinear10PercentEvery10Minutes",
}
# The alarms each function's deployments roll back on, by the function's construct id.
ROLLBACK_ALARMS = {"function": ("fn-errors", "api-5xx"), "worker": ("worker-errors", "worker-failures")}
GROUP_OF = {"function": "fn-group", "worker": "worker-group"}
ROLLBACK_OF = {"function": "fn-rollback-alarm", "worker": "worker-rollback-alarm"}


def gradual_regions(variants) -> list[tuple[str, str, dict[str, Any]]]:
    """(strategy, region, regional stack) for every region of every gradual variant."""
    found = []
    for config in configs_from_context(VARIANTS):
        if config.deployment_strategy != "all_at_once":
            for region in config.regions:
                found.append((config.deployment_strategy, region, variants.stacks[config.regional_stack_name(region)]))
    return found


@pytest.fixture(scope="module")
def rolled(variants) -> list[tuple[str, str, dict[str, Any]]]:
    found = gradual_regions(variants)
    assert len({region for _, region, _ in found}) == 2 and len({s for s, _, _ in found}) == 2
    return found


def test_the_strategies_are_codedeploys_predefined_lambda_configurations():
    assert {name for name, _ in DEPLOYMENT_STRATEGIES.values()} == PREDEFINED
    assert DEPLOYMENT_STRATEGIES["all_at_once"] == ("CodeDeployDefault.LambdaAllAtOnce", 0)
    assert SHIFT_MINUTES["CodeDeployDefault.LambdaCanary10Percent30Minutes"] == 30
    assert SHIFT_MINUTES["CodeDeployDefault.LambdaLinear10PercentEvery10Minutes"] == 100


def test_a_strategy_codedeploy_does_not_have_is_refused_in_one_line():
    with pytest.raises(ConfigError) as caught:
        StackConfig(deployment_strategy="canary_10_percent_1_minute")
    message = str(caught.value)
    assert message.startswith('deployment_strategy: "canary_10_percent_1_minute" must be one of all_at_once, ')
    assert "linear_10_percent_every_10_minutes" in message and "\n" not in message


def test_by_default_terraform_moves_the_alias_and_there_is_no_codedeploy(default_synth):
    for stack in default_synth.stacks.values():
        assert not [kind for kind in stack.get("resource", {}) if kind.startswith("aws_codedeploy_")]
        assert "rollouts" not in stack.get("output", {})
        for alias in resources(stack, "aws_lambda_alias"):
            assert "lifecycle" not in alias


def test_one_lambda_application_per_region(rolled):
    for _, region, stack in rolled:
        application = one(resources(stack, "aws_codedeploy_app"))
        assert application["compute_platform"] == "Lambda"
        assert application["provider"] == f"aws.{region}"
        assert application["name"].startswith("variant-rollout-" + region)


def test_a_deployment_group_per_function_and_region_shifting_by_the_strategy(rolled):
    for strategy, region, stack in rolled:
        application = address_at(stack, "aws_codedeploy_app", f"{region}/rollout/application")
        groups = resources(stack, "aws_codedeploy_deployment_group")
        assert len(groups) == len(GROUP_OF) == len(resources(stack, "aws_lambda_function"))
        for group in groups:
            assert group["provider"] == f"aws.{region}"
            assert group["app_name"] == f"${{{application}.name}}"
            assert group["deployment_config_name"] == DEPLOYMENT_STRATEGIES[strategy][0]
            assert group["deployment_style"] == {
                "deployment_option": "WITH_TRAFFIC_CONTROL",
                "deployment_type": "BLUE_GREEN",
            }
            assert group["auto_rollback_configuration"] == {
                "enabled": True,
                "events": ["DEPLOYMENT_FAILURE", "DEPLOYMENT_STOP_ON_ALARM"],
            }


def test_each_group_rolls_back_on_its_functions_alarms_of_its_region(rolled):
    for _, region, stack in rolled:
        for function, whats in ROLLBACK_ALARMS.items():
            group = resource_at(stack, "aws_codedeploy_deployment_group", f"{region}/rollout/{GROUP_OF[function]}")
            alarms = [
                "${" + address_at(stack, "aws_cloudwatch_metric_alarm", f"{region}/monitoring/{what}") + ".alarm_name}"
                for what in whats
            ]
            own = address_at(stack, "aws_cloudwatch_metric_alarm", f"{region}/rollout/{ROLLBACK_OF[function]}")
            alarms.append("${" + own + ".alarm_name}")
            assert group["alarm_configuration"] == {
                "alarms": alarms,
                "enabled": True,
                "ignore_poll_alarm_failure": False,
            }


def test_each_groups_role_may_move_only_its_functions_alias_and_read_only_its_alarms(rolled):
    for _, region, stack in rolled:
        for function, whats in ROLLBACK_ALARMS.items():
            group = resource_at(stack, "aws_codedeploy_deployment_group", f"{region}/rollout/{GROUP_OF[function]}")
            role_address = address(group["service_role_arn"])
            role = stack["resource"]["aws_iam_role"][role_address.split(".", 1)[1]]
            assert role["provider"] == f"aws.{region}"
            [trust] = policy_statements(stack, role["assume_role_policy"])
            assert trust["principals"] == [{"identifiers": ["codedeploy.amazonaws.com"], "type": "Service"}]
            assert [c["variable"] for c in trust["condition"]] == ["aws:SourceAccount"]
            [(key, policy)] = [
                (k, p)
                for k, p in stack["resource"]["aws_iam_role_policy"].items()
                if p["role"] == f"${{{role_address}.id}}"
            ]
            assert group["depends_on"] == [f"aws_iam_role_policy.{key}"]  # its permissions before any deployment
            statements = {s["sid"]: s for s in policy_statements(stack, policy["policy"])}
            arn = "${" + address_at(stack, "aws_lambda_function", f"{region}/{function}/function") + ".arn}"
            assert set(statements) == {"MoveTheFunctionsAlias", "ReadTheRollbackAlarms"}
            assert statements["MoveTheFunctionsAlias"]["actions"] == [
                "lambda:GetAlias",
                "lambda:GetProvisionedConcurrencyConfig",
                "lambda:UpdateAlias",
            ]
            assert statements["MoveTheFunctionsAlias"]["resources"] == [arn, f"{arn}:*"]
            assert statements["ReadTheRollbackAlarms"] == {
                "sid": "ReadTheRollbackAlarms",
                "effect": "Allow",
                "actions": ["cloudwatch:DescribeAlarms"],
                "resources": [
                    "${" + address_at(stack, "aws_cloudwatch_metric_alarm", f"{region}/monitoring/{w}") + ".arn}"
                    for w in whats
                ]
                + [
                    "${"
                    + address_at(stack, "aws_cloudwatch_metric_alarm", f"{region}/rollout/{ROLLBACK_OF[function]}")
                    + ".arn}"
                ],
            }


def test_each_function_has_a_rollback_alarm_on_its_alias_errors_a_minute_at_a_time(rolled):
    """The region's errors alarms look at 5 or 10 minutes: a 1-minute step would end before them."""
    for _, region, stack in rolled:
        for function, component in (("function", "fn"), ("worker", "worker")):
            alarm = resource_at(stack, "aws_cloudwatch_metric_alarm", f"{region}/rollout/{ROLLBACK_OF[function]}")
            name = "${" + address_at(stack, "aws_lambda_function", f"{region}/{function}/function") + ".function_name}"
            alias = "${" + address_at(stack, "aws_lambda_alias", f"{region}/{function}/alias") + ".name}"
            assert alarm["alarm_name"].startswith(f"variant-rollback-errors-{component}-{region}-")
            assert (alarm["namespace"], alarm["metric_name"], alarm["statistic"]) == ("AWS/Lambda", "Errors", "Sum")
            assert alarm["dimensions"] == {"FunctionName": name, "Resource": f"{name}:{alias}"}
            assert (alarm["period"], alarm["evaluation_periods"], alarm["threshold"]) == (60, 2, 1)
            assert alarm["comparison_operator"] == "GreaterThanOrEqualToThreshold"
            assert "alarm_actions" not in alarm and "ok_actions" not in alarm  # it stops deployments, pages no one
            assert alarm["provider"] == f"aws.{region}"


def test_all_at_once_makes_no_rollback_alarm(variants):
    for config in configs_from_context(VARIANTS):
        if config.deployment_strategy == "all_at_once":
            for region in config.regions:
                alarms = variants.stacks[config.regional_stack_name(region)]["resource"]["aws_cloudwatch_metric_alarm"]
                assert not [a for a in alarms.values() if "-rollback-errors-" in a["alarm_name"]]


def test_under_a_gradual_strategy_terraform_creates_the_alias_then_leaves_it_to_codedeploy(rolled):
    for _, region, stack in rolled:
        for function in ROLLBACK_ALARMS:
            alias = resource_at(stack, "aws_lambda_alias", f"{region}/{function}/alias")
            published = address_at(stack, "aws_lambda_function", f"{region}/{function}/function")
            # Created at the first published version; every later version is still published.
            assert alias["function_version"] == f"${{{published}.version}}"
            assert stack["resource"]["aws_lambda_function"][published.split(".", 1)[1]]["publish"] is True
            assert alias["lifecycle"] == {"ignore_changes": ["function_version", "routing_config"]}


def test_the_rollouts_output_names_each_functions_group_alias_and_newest_version(rolled):
    for strategy, region, stack in rolled:
        value = stack["output"]["rollouts"]["value"]
        application = address_at(stack, "aws_codedeploy_app", f"{region}/rollout/application")
        expected = []
        for function in ROLLBACK_ALARMS:
            published = address_at(stack, "aws_lambda_function", f"{region}/{function}/function")
            group = address_at(stack, "aws_codedeploy_deployment_group", f"{region}/rollout/{GROUP_OF[function]}")
            alias = address_at(stack, "aws_lambda_alias", f"{region}/{function}/alias")
            expected.append(
                {
                    "deployment_group": f"${{{group}.deployment_group_name}}",
                    "function_name": f"${{{published}.function_name}}",
                    "alias": f"${{{alias}.name}}",
                    "version": f"${{{published}.version}}",
                }
            )
        assert value == {
            region: {
                "application": f"${{{application}.name}}",
                "deployment_config": DEPLOYMENT_STRATEGIES[strategy][0],
                "functions": expected,
            }
        }


def test_the_blocks_refuse_all_at_once_and_more_alarms_than_codedeploy_watches():
    with pytest.raises(ValueError, match="needs no CodeDeploy"):
        GradualRolloutConfig(namer=Namer("shop", "qa"), region="eu-west-1", deployment_strategy="all_at_once")
    alarm = AlarmRef(name="a", arn="arn:aws:cloudwatch:eu-west-1:1:alarm:a")
    with pytest.raises(ValueError, match="1 to 9 besides its rollback alarm"):
        RolloutTarget(
            component="fn", function_name="f", function_arn="a", alias_name="live", version="1", alarms=(alarm,) * 10
        )
