"""API: a regional REST API proxying to the function, with logs, tracing, metrics and throttling."""

import json

import pytest

from conftest import one, resources

REGIONS = ("us-east-1", "us-west-2")


@pytest.mark.parametrize("region", REGIONS)
def test_rest_api_is_regional(dev, region):
    api = one(resources(dev, "aws_api_gateway_rest_api", region))
    assert api["endpoint_configuration"] == {"types": ["REGIONAL"]}
    assert api["name"] == f"iac-aws-nova-api-{region}-dev"


def test_api_and_proxy_resources(dev):
    paths = sorted(r["path_part"] for r in resources(dev, "aws_api_gateway_resource", "us-east-1"))
    assert paths == ["api", "{proxy+}"]
    proxy = next(r for r in resources(dev, "aws_api_gateway_resource", "us-east-1") if r["path_part"] == "{proxy+}")
    assert proxy["parent_id"].startswith("${aws_api_gateway_resource.")


def test_any_method_on_both_resources(dev):
    methods = resources(dev, "aws_api_gateway_method", "us-east-1")
    assert len(methods) == 2
    assert {m["http_method"] for m in methods} == {"ANY"}


def test_lambda_proxy_integration_to_the_alias(dev):
    for integration in resources(dev, "aws_api_gateway_integration", "us-east-1"):
        assert integration["type"] == "AWS_PROXY"
        assert integration["integration_http_method"] == "POST"
        assert integration["uri"].startswith("${aws_lambda_alias.") and integration["uri"].endswith(".invoke_arn}")


def test_deployment_is_replaced_when_the_api_changes(dev):
    deployment = one(resources(dev, "aws_api_gateway_deployment", "us-east-1"))
    trigger = deployment["triggers"]["redeployment"]
    assert trigger.startswith("${sha1(jsonencode([")
    for kind in ("aws_api_gateway_resource", "aws_api_gateway_method", "aws_api_gateway_integration"):
        assert kind in trigger
    assert deployment["lifecycle"] == {"create_before_destroy": True}


def test_stage_named_after_environment_with_tracing_and_json_access_logs(dev):
    stage = one(resources(dev, "aws_api_gateway_stage", "us-east-1"))
    assert stage["stage_name"] == "dev"
    assert stage["xray_tracing_enabled"] is True
    log_format = json.loads(stage["access_log_settings"]["format"])
    assert log_format["requestId"] == "$context.requestId"
    assert stage["access_log_settings"]["destination_arn"].startswith("${aws_cloudwatch_log_group.")


def test_metrics_and_throttling_on_every_method(dev):
    settings = one(resources(dev, "aws_api_gateway_method_settings", "us-east-1"))
    assert settings["method_path"] == "*/*"
    assert settings["settings"]["metrics_enabled"] is True
    assert settings["settings"]["throttling_rate_limit"] == 100
    assert settings["settings"]["throttling_burst_limit"] == 200
    assert settings["settings"]["data_trace_enabled"] is False


def test_only_this_api_may_invoke_the_function(dev):
    permission = one(resources(dev, "aws_lambda_permission", "us-east-1"))
    assert permission["principal"] == "apigateway.amazonaws.com"
    assert permission["action"] == "lambda:InvokeFunction"
    assert permission["qualifier"] == "live"
    assert permission["source_arn"].startswith("${aws_api_gateway_rest_api.")
    assert permission["source_arn"].endswith(".execution_arn}/dev/*/*")


def test_api_url_output_ends_in_api(dev):
    for region in REGIONS:
        url = dev["output"]["api_urls"]["value"][region]
        assert url.startswith("${aws_api_gateway_stage.") and url.endswith(".invoke_url}/api")


def test_throttling_settings_from_config(synth):
    from constructs_lib.config import StackConfig

    stack = synth(StackConfig(regions=("eu-west-1",), api_throttle_rate_per_second=7.5,
                              api_throttle_burst_requests=15)).stack()
    settings = one(resources(stack, "aws_api_gateway_method_settings"))["settings"]
    assert (settings["throttling_rate_limit"], settings["throttling_burst_limit"]) == (7.5, 15)
