"""X-Ray per region: the project's sampling rule (instead of X-Ray's default for everything) and a
group of its traces that went wrong."""

import pytest
from conftest import one, resources

from constructs_lib.blocks.naming import Namer
from constructs_lib.blocks.tracing import TracingConfig
from constructs_lib.settings import ConfigError, StackConfig

REGIONS = ("us-east-1", "us-west-2")


@pytest.mark.parametrize("region", REGIONS)
def test_each_region_samples_its_own_services_at_the_configured_rate(dev, region):
    rule = one(resources(dev, "aws_xray_sampling_rule", region))
    assert (rule["fixed_rate"], rule["reservoir_size"]) == (0.05, 1)
    # Ahead of X-Ray's default rule (priority 10000), for this project's names in this region only.
    assert rule["priority"] < 10000
    assert rule["service_name"] == f"iac-aws-nova-*-{region}-dev*"
    assert all(rule[k] == "*" for k in ("host", "http_method", "url_path", "resource_arn", "service_type"))
    assert rule["rule_name"] == f"iac-aws-nova-xray-{region}-dev" and len(rule["rule_name"]) <= 32


@pytest.mark.parametrize("region", REGIONS)
def test_the_errors_group_holds_the_regions_api_and_functions(dev, region):
    group = one(resources(dev, "aws_xray_group", region))
    names = {f["function_name"] for f in resources(dev, "aws_lambda_function", region)}
    [api] = [a["name"] for a in resources(dev, "aws_api_gateway_rest_api", region)]
    for service in (*sorted(names), f"{api}/dev"):
        assert f'service("{service}") {{ error = true OR fault = true }}' in group["filter_expression"]
    assert group["group_name"] == f"iac-aws-nova-errs-{region}-dev"


def test_the_sampling_settings_reach_every_region(two_environments):
    """The prod environment of TWO_ENVIRONMENTS samples at 0.5 with a reservoir of 10."""
    stack = two_environments.stack("iac-aws-nova-prod")
    rules = resources(stack, "aws_xray_sampling_rule")
    assert sorted(r["provider"] for r in rules) == [f"aws.{region}" for region in REGIONS]
    assert {(r["fixed_rate"], r["reservoir_size"]) for r in rules} == {(0.5, 10)}


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"xray_sampling_rate": 1.5}, "xray_sampling_rate: 1.5 must be from 0.0 to 1.0"),
        ({"xray_sampling_rate": "5%"}, 'xray_sampling_rate: "5%" must be a number (got a string)'),
        ({"xray_sampling_reservoir_per_second": -1}, "xray_sampling_reservoir_per_second: -1 must be at least 0"),
    ],
)
def test_bad_sampling_settings_are_refused(settings, message):
    with pytest.raises(ConfigError) as caught:
        StackConfig(**settings)
    assert str(caught.value) == message


def test_the_config_refuses_alike():
    with pytest.raises(ValueError, match="sampling_rate: 2 must be from 0.0 to 1.0"):
        TracingConfig(namer=Namer("shop", "qa"), region="eu-west-1", sampling_rate=2)
