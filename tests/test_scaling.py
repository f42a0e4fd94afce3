"""Provisioned concurrency that scales: Application Auto Scaling on the API function's alias, by
utilization and on schedules."""

import pytest
from conftest import address_at, one, resource_at, resources

from constructs_lib.blocks.scaling import ScalingConfig
from constructs_lib.settings import ConfigError, StackConfig


@pytest.fixture(scope="module")
def scaled(custom):
    """CUSTOM scales its provisioned concurrency from 2 to 20 by utilization, and on two schedules."""
    return custom


def test_without_a_maximum_there_is_no_scaling(dev):
    assert not resources(dev, "aws_appautoscaling_target")
    assert not resources(dev, "aws_lambda_provisioned_concurrency_config")


def test_the_target_is_the_api_functions_live_alias_between_the_bounds(scaled):
    target = one(resources(scaled, "aws_appautoscaling_target"))
    function = address_at(scaled, "aws_lambda_function", "eu-west-1/function/function")
    alias = address_at(scaled, "aws_lambda_alias", "eu-west-1/function/alias")
    assert target["resource_id"] == f"function:${{{function}.function_name}}:${{{alias}.name}}"
    assert (target["service_namespace"], target["scalable_dimension"]) == (
        "lambda",
        "lambda:function:ProvisionedConcurrency",
    )
    assert (target["min_capacity"], target["max_capacity"]) == (2, 20)
    # After the alias's configuration exists; which the scaling then owns.
    provisioned = address_at(
        scaled, "aws_lambda_provisioned_concurrency_config", "eu-west-1/function/provisioned-concurrency"
    )
    assert target["depends_on"] == [provisioned]
    configuration = one(resources(scaled, "aws_lambda_provisioned_concurrency_config"))
    assert configuration["lifecycle"] == {"ignore_changes": ["provisioned_concurrent_executions"]}


def test_target_tracking_keeps_the_utilization(scaled):
    policy = one(resources(scaled, "aws_appautoscaling_policy"))
    target = address_at(scaled, "aws_appautoscaling_target", "eu-west-1/function/scaling/target")
    assert policy["policy_type"] == "TargetTrackingScaling"
    assert policy["resource_id"] == f"${{{target}.resource_id}}"
    assert policy["target_tracking_scaling_policy_configuration"] == {
        "target_value": 0.6,
        "predefined_metric_specification": {"predefined_metric_type": "LambdaProvisionedConcurrencyUtilization"},
    }


def test_a_schedule_becomes_a_scheduled_action_in_utc(scaled):
    action = resource_at(
        scaled, "aws_appautoscaling_scheduled_action", "eu-west-1/function/scaling/schedule-weekday-mornings"
    )
    assert (action["schedule"], action["timezone"]) == ("cron(0 7 ? * MON-FRI *)", "UTC")
    assert action["scalable_target_action"] == {"min_capacity": "10", "max_capacity": "20"}
    assert action["name"] == "iac-aws-nova-fn-eu-west-1-prod-weekday-mornings"


def test_the_worker_is_not_scaled(scaled):
    """The setting is the API function's: its worker keeps no provisioned concurrency."""
    [target] = resources(scaled, "aws_appautoscaling_target")
    assert "_worker_" not in target["resource_id"]
    assert [c["function_name"] for c in resources(scaled, "aws_lambda_provisioned_concurrency_config")] == [
        "${" + address_at(scaled, "aws_lambda_function", "eu-west-1/function/function") + ".function_name}"
    ]


SCHEDULE = {"name": "peak", "cron": "0 8 ? * MON-FRI *", "min": 5, "max": 10}
BACK = {"name": "back", "cron": "0 18 ? * MON-FRI *", "min": 1, "max": 5}


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        (
            {"lambda_provisioned_concurrency_max": 10},
            "lambda_provisioned_concurrency_max: 10 needs lambda_provisioned_concurrency of at least 1: the floor "
            "the scaling keeps",
        ),
        (
            {"lambda_provisioned_concurrency": 4, "lambda_provisioned_concurrency_max": 4},
            "lambda_provisioned_concurrency_max: 4 must be above lambda_provisioned_concurrency (4)",
        ),
        (
            {"lambda_provisioned_concurrency_schedules": [SCHEDULE]},
            'lambda_provisioned_concurrency_schedules: [{"name": "peak", "cron": "0 8 ? * MON-FRI *", "min": 5, '
            '"max": 10}] need lambda_provisioned_concurrency_max: a scaling whose bounds they set',
        ),
        (
            {
                "lambda_provisioned_concurrency": 1,
                "lambda_provisioned_concurrency_max": 5,
                "lambda_provisioned_concurrency_schedules": [{**SCHEDULE, "cron": "0 8 * * * *"}],
            },
            'lambda_provisioned_concurrency_schedules[0].cron: "0 8 * * * *" must have "?" in exactly one of '
            "day-of-month (3rd) and day-of-week (5th), as AWS requires",
        ),
        (
            {
                "lambda_provisioned_concurrency": 1,
                "lambda_provisioned_concurrency_max": 5,
                "lambda_provisioned_concurrency_schedules": [{**SCHEDULE, "cron": "at 8"}],
            },
            'lambda_provisioned_concurrency_schedules[0].cron: "at 8" must be six fields, "minutes hours '
            'day-of-month month day-of-week year", such as "0 8 ? * MON-FRI *" (UTC)',
        ),
        (
            {
                "lambda_provisioned_concurrency": 1,
                "lambda_provisioned_concurrency_max": 5,
                "lambda_provisioned_concurrency_schedules": [{**SCHEDULE, "min": 11}],
            },
            "lambda_provisioned_concurrency_schedules[0].min: 11 must not exceed its max (10)",
        ),
        (
            {
                "lambda_provisioned_concurrency": 1,
                "lambda_provisioned_concurrency_max": 5,
                "lambda_provisioned_concurrency_schedules": [{"name": "peak", "cron": "0 8 ? * MON-FRI *"}],
            },
            'lambda_provisioned_concurrency_schedules[0]: {"name": "peak", "cron": "0 8 ? * MON-FRI *"} must have '
            'exactly the keys "name", "cron", "min" and "max"',
        ),
        (
            {
                "lambda_reserved_concurrency": 8,
                "lambda_provisioned_concurrency": 1,
                "lambda_provisioned_concurrency_max": 5,
                "lambda_provisioned_concurrency_schedules": [SCHEDULE, BACK],
            },
            "lambda_provisioned_concurrency_schedules[0].max: 10 must not exceed lambda_reserved_concurrency (8)",
        ),
        (
            {
                "lambda_provisioned_concurrency": 1,
                "lambda_provisioned_concurrency_max": 5,
                "lambda_provisioned_concurrency_schedules": [SCHEDULE],
            },
            'lambda_provisioned_concurrency_schedules: [{"name": "peak", "cron": "0 8 ? * MON-FRI *", "min": 5, '
            '"max": 10}] never set the bounds back to min 1, max 5 (lambda_provisioned_concurrency and its max): a '
            "scheduled action's bounds stay until another changes them; add one that ends the peak",
        ),
        (
            {"lambda_provisioned_concurrency_target_utilization": 0.95},
            "lambda_provisioned_concurrency_target_utilization: 0.95 must be from 0.1 to 0.9",
        ),
    ],
)
def test_bad_combinations_are_refused_in_one_line(settings, message):
    with pytest.raises(ConfigError) as caught:
        StackConfig(**settings)
    assert str(caught.value) == message


def test_the_scaling_config_refuses_alike():
    with pytest.raises(ValueError, match="maximum: 3 must be above minimum"):
        ScalingConfig(minimum=3, maximum=3)
