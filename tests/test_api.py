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


def test_api_proxy_and_health_resources(dev):
    paths = sorted(r["path_part"] for r in resources(dev, "aws_api_gateway_resource", "us-east-1"))
    assert paths == ["api", "health", "{proxy+}"]
    proxy = next(r for r in resources(dev, "aws_api_gateway_resource", "us-east-1") if r["path_part"] == "{proxy+}")
    assert proxy["parent_id"].startswith("${aws_api_gateway_resource.")


def methods(stack, region="us-east-1"):
    """http method and resource path part of every method."""
    parts = {
        f"${{aws_api_gateway_resource.{k}.id}}": r["path_part"]
        for k, r in stack["resource"]["aws_api_gateway_resource"].items()
    }
    return {(parts[m["resource_id"]], m["http_method"]): m for m in resources(stack, "aws_api_gateway_method", region)}


def test_any_method_on_every_resource_and_an_open_health_get(dev):
    assert sorted(methods(dev)) == [("api", "ANY"), ("health", "ANY"), ("health", "GET"), ("{proxy+}", "ANY")]


def test_every_method_has_the_request_validator(dev):
    for method in methods(dev).values():
        assert method["request_validator_id"].startswith("${aws_api_gateway_request_validator.")
    validator = one(resources(dev, "aws_api_gateway_request_validator", "us-east-1"))
    assert validator["validate_request_parameters"] is True


def test_rest_api_is_created_before_the_old_one_is_destroyed(dev):
    assert one(resources(dev, "aws_api_gateway_rest_api", "us-east-1"))["lifecycle"] == {"create_before_destroy": True}


# -- auth modes ---------------------------------------------------------------------------------
def test_api_key_auth_is_the_default(dev):
    for (path, verb), method in methods(dev).items():
        if (path, verb) == ("health", "GET"):
            assert method["authorization"] == "NONE" and "api_key_required" not in method
        else:
            assert method["authorization"] == "NONE" and method["api_key_required"] is True


def test_api_key_auth_has_a_usage_plan_with_quota_and_throttling(dev):
    plan = one(resources(dev, "aws_api_gateway_usage_plan", "us-east-1"))
    assert plan["quota_settings"] == {"limit": 10000, "period": "DAY"}
    assert plan["throttle_settings"] == {"burst_limit": 200, "rate_limit": 100}
    assert plan["api_stages"][0]["stage"].startswith("${aws_api_gateway_stage.")
    key = one(resources(dev, "aws_api_gateway_usage_plan_key", "us-east-1"))
    assert key["key_type"] == "API_KEY" and key["key_id"].startswith("${aws_api_gateway_api_key.")


def test_api_keys_are_a_sensitive_output(dev):
    output = dev["output"]["api_keys"]
    assert output["sensitive"] is True
    assert sorted(output["value"]) == ["us-east-1", "us-west-2"]
    assert output["value"]["us-east-1"].endswith(".value}")


def test_iam_auth(custom):
    stack = custom
    found = methods(stack, "eu-west-1")
    assert found.pop(("health", "GET"))["authorization"] == "NONE"
    assert {m["authorization"] for m in found.values()} == {"AWS_IAM"}
    assert not resources(stack, "aws_api_gateway_api_key") and "api_keys" not in stack["output"]


def test_cognito_auth_has_a_user_pool_and_authorizer_per_region(variants):
    stack = variants.stack("variant-cognito")
    assert one(resources(stack, "aws_cognito_user_pool", "eu-west-1"))["name"] == "variant-users-eu-west-1-cognito"
    authorizer = one(resources(stack, "aws_api_gateway_authorizer", "eu-west-1"))
    assert authorizer["type"] == "COGNITO_USER_POOLS"
    assert authorizer["provider_arns"][0].startswith("${aws_cognito_user_pool.eu-west-1_")
    found = methods(stack, "eu-west-1")
    assert found.pop(("health", "GET"))["authorization"] == "NONE"
    for method in found.values():
        assert method["authorization"] == "COGNITO_USER_POOLS"
        assert method["authorizer_id"].startswith("${aws_api_gateway_authorizer.")
    assert sorted(stack["output"]["user_pool_client_ids"]["value"]) == ["eu-west-1"]


def test_no_auth_only_when_asked(open_stack):
    stack = open_stack
    for method in methods(stack, "eu-west-1").values():
        assert method["authorization"] == "NONE" and "api_key_required" not in method


def test_caching_off_by_default(dev):
    stage = one(resources(dev, "aws_api_gateway_stage", "us-east-1"))
    assert "cache_cluster_enabled" not in stage
    assert one(resources(dev, "aws_api_gateway_method_settings", "us-east-1"))["settings"]["caching_enabled"] is False


def test_cache_when_configured_is_encrypted(custom):
    stack = custom
    stage = one(resources(stack, "aws_api_gateway_stage"))
    assert (stage["cache_cluster_enabled"], stage["cache_cluster_size"]) == (True, "0.5")
    settings = one(resources(stack, "aws_api_gateway_method_settings"))["settings"]
    assert settings["caching_enabled"] is True and settings["cache_data_encrypted"] is True


def test_access_logs_are_encrypted_with_the_regions_key(dev):
    stage = one(resources(dev, "aws_api_gateway_stage", "us-east-1"))
    name = stage["access_log_settings"]["destination_arn"].split(".")[1]
    assert dev["resource"]["aws_cloudwatch_log_group"][name]["kms_key_id"].startswith("${aws_kms_key.us-east-1_")


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


def test_throttling_settings_from_config(custom):
    stack = custom
    settings = one(resources(stack, "aws_api_gateway_method_settings"))["settings"]
    assert (settings["throttling_rate_limit"], settings["throttling_burst_limit"]) == (7.5, 15)
