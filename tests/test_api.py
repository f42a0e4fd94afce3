"""API: a regional REST API proxying to the function, with logs, tracing, metrics and throttling."""

import json
import re

import pytest
from conftest import address_at, one, region_key_arn, resource_at, resources

from constructs_lib.blocks.api import Cors, settings_digest

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


def methods(stack, region="us-east-1", *, preflights=False):
    """http method and resource path part of every method (the CORS preflights only when asked)."""
    parts = {
        f"${{aws_api_gateway_resource.{k}.id}}": r["path_part"]
        for k, r in stack["resource"]["aws_api_gateway_resource"].items()
    }
    return {
        (parts[m["resource_id"]], m["http_method"]): m
        for m in resources(stack, "aws_api_gateway_method", region)
        if preflights or m["http_method"] != "OPTIONS"
    }


def test_any_method_on_every_resource_and_an_open_health_get(dev):
    assert sorted(methods(dev)) == [("api", "ANY"), ("health", "ANY"), ("health", "GET"), ("{proxy+}", "ANY")]


def test_every_method_has_the_request_validator(dev):
    for method in methods(dev, preflights=True).values():
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


def test_cognito_auth_has_a_user_pool_and_authorizer(variants):
    stack = variants.stack("variant-cognito")
    assert one(resources(stack, "aws_cognito_user_pool", "eu-west-1"))["name"] == "variant-users-eu-west-1-cognito"
    authorizer = one(resources(stack, "aws_api_gateway_authorizer", "eu-west-1"))
    assert authorizer["type"] == "COGNITO_USER_POOLS"
    assert authorizer["provider_arns"][0].startswith("${data.aws_ssm_parameter.eu-west-1_user-pool-arn_")
    found = methods(stack, "eu-west-1")
    assert found.pop(("health", "GET"))["authorization"] == "NONE"
    for method in found.values():
        assert method["authorization"] == "COGNITO_USER_POOLS"
        assert method["authorizer_id"].startswith("${aws_api_gateway_authorizer.")
    assert stack["output"]["user_pool_client_id"]["value"].startswith("${aws_cognito_user_pool_client.sign-in_")


def test_no_auth_only_when_asked(open_stack):
    stack = open_stack
    for method in methods(stack, "eu-west-1").values():
        assert method["authorization"] == "NONE" and "api_key_required" not in method


def test_caching_off_by_default(dev):
    stage = one(resources(dev, "aws_api_gateway_stage", "us-east-1"))
    assert "cache_cluster_enabled" not in stage
    assert one(resources(dev, "aws_api_gateway_method_settings", "us-east-1"))["settings"]["caching_enabled"] is False


def test_without_a_cache_there_is_no_cached_method(dev):
    assert len(resources(dev, "aws_api_gateway_method_settings", "us-east-1")) == 1
    assert all(m["http_method"] != "GET" or "health" in m["//"]["metadata"]["path"] for m in methods(dev).values())


def test_cache_when_configured_is_encrypted_and_only_for_reads_of_the_proxy(custom):
    stack = custom
    stage = one(resources(stack, "aws_api_gateway_stage"))
    assert (stage["cache_cluster_enabled"], stage["cache_cluster_size"]) == (True, "0.5")
    region = stage["provider"].split(".", 1)[1]
    everything = resource_at(stack, "aws_api_gateway_method_settings", f"{region}/api/method-settings")
    reads = resource_at(stack, "aws_api_gateway_method_settings", f"{region}/api/cached-reads-settings")
    # Writes (ANY) and health are never cached; the reads' own settings keep metrics, logs, throttling.
    assert (everything["method_path"], everything["settings"]["caching_enabled"]) == ("*/*", False)
    proxy = address_at(stack, "aws_api_gateway_resource", f"{region}/api/proxy-resource")
    assert reads["method_path"] == f'${{trimprefix({proxy}.path, "/")}}/GET'
    assert reads["settings"] == {**everything["settings"], "caching_enabled": True, "cache_data_encrypted": True}


def test_cached_reads_are_keyed_by_their_path_and_query(custom):
    stack = custom
    region = one(resources(stack, "aws_api_gateway_stage"))["provider"].split(".", 1)[1]
    method = resource_at(stack, "aws_api_gateway_method", f"{region}/api/proxy-get")
    integration = resource_at(stack, "aws_api_gateway_integration", f"{region}/api/proxy-get-integration")
    keys = ["method.request.path.proxy", "method.request.querystring.cursor", "method.request.querystring.limit"]
    assert method["http_method"] == "GET" and sorted(method["request_parameters"]) == keys
    assert method["request_parameters"]["method.request.path.proxy"] is True  # required: it is the path
    assert sorted(integration["cache_key_parameters"]) == keys
    proxy_any = resource_at(stack, "aws_api_gateway_method", f"{region}/api/proxy-any")
    assert method["authorization"] == proxy_any["authorization"]


def test_access_logs_are_encrypted_with_the_regions_key(dev):
    stage = one(resources(dev, "aws_api_gateway_stage", "us-east-1"))
    name = stage["access_log_settings"]["destination_arn"].split(".")[1]
    assert dev["resource"]["aws_cloudwatch_log_group"][name]["kms_key_id"] == region_key_arn(dev, "us-east-1")


def test_lambda_proxy_integration_to_the_alias(dev):
    proxied = [i for i in resources(dev, "aws_api_gateway_integration", "us-east-1") if i["type"] != "MOCK"]
    assert len(proxied) == 4
    for integration in proxied:
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


def test_only_this_stage_may_invoke_the_alias_named_by_reference(dev):
    permission = one(resources(dev, "aws_lambda_permission", "us-east-1"))
    assert permission["principal"] == "apigateway.amazonaws.com"
    assert permission["action"] == "lambda:InvokeFunction"
    # References, so Terraform creates the permission after the function and its alias.
    assert (
        permission["function_name"]
        == f"${{{address_at(dev, 'aws_lambda_function', 'us-east-1/function/function')}.function_name}}"
    )
    assert permission["qualifier"] == f"${{{address_at(dev, 'aws_lambda_alias', 'us-east-1/function/alias')}.name}}"
    assert (
        permission["source_arn"]
        == f"${{{address_at(dev, 'aws_api_gateway_stage', 'us-east-1/api/stage')}.execution_arn}}/*/*"
    )
    # A replacement exists before the old permission goes: no window of 500s.
    assert permission["statement_id_prefix"] == "AllowThisStage" and "statement_id" not in permission
    assert permission["lifecycle"] == {"create_before_destroy": True}


def test_api_url_output_ends_in_api(dev):
    for region in REGIONS:
        url = dev["output"]["api_urls"]["value"][region]
        assert url.startswith("${aws_api_gateway_stage.") and url.endswith(".invoke_url}/api")


def test_throttling_settings_from_config(custom):
    for settings in resources(custom, "aws_api_gateway_method_settings"):
        assert (settings["settings"]["throttling_rate_limit"], settings["settings"]["throttling_burst_limit"]) == (
            7.5,
            15,
        )


def test_one_user_pool_for_every_region(variants):
    """A token from the home region's pool is accepted wherever latency routing sends the caller
    (API Gateway accepts a user pool of another region in a Cognito authorizer)."""
    stacks = variants.environment_stacks("variant-cognito")
    global_stack = stacks["variant-cognito-global"]
    pool = one(resources(global_stack, "aws_cognito_user_pool"))
    assert pool["provider"] == "aws.eu-west-1"  # the home region
    assert len(resources(global_stack, "aws_cognito_user_pool_client")) == 1
    # The global stack puts the pool's ARN in every region; each region's authorizer reads its own.
    pool_arn = f"${{{address_at(global_stack, 'aws_cognito_user_pool', 'sign-in/user-pool')}.arn}}"
    parameters = resources(global_stack, "aws_ssm_parameter")
    assert sorted(p["provider"] for p in parameters) == ["aws.eu-central-1", "aws.eu-west-1"]
    assert {(p["name"], p["value"], p["type"]) for p in parameters} == {
        ("/variant-sign-in-cognito/user-pool-arn", pool_arn, "String")
    }
    for region in ("eu-west-1", "eu-central-1"):
        regional = stacks[f"variant-cognito-{region}"]
        [(name, read)] = regional["data"]["aws_ssm_parameter"].items()
        assert (read["provider"], read["name"]) == (f"aws.{region}", "/variant-sign-in-cognito/user-pool-arn")
        [authorizer] = resources(regional, "aws_api_gateway_authorizer")
        # insecure_value: a plain ARN; value is sensitive and would hide the pool in every plan.
        assert authorizer["provider_arns"] == [f"${{data.aws_ssm_parameter.{name}.insecure_value}}"]
        assert not resources(regional, "aws_cognito_user_pool")


# -- CORS ----------------------------------------------------------------------------------------
PREFLIGHT = Cors().preflight_headers()


@pytest.mark.parametrize("stack_name", ["dev", "custom", "variant-cognito"])
def test_every_resource_answers_an_unauthenticated_preflight(request, variants, stack_name):
    """A browser's preflight carries no key or token: API Gateway answers it itself (MOCK), on every
    resource and in every auth mode, without calling the function."""
    stack = variants.stack(stack_name) if stack_name.startswith("variant") else request.getfixturevalue(stack_name)
    for region in sorted({r["provider"].removeprefix("aws.") for r in resources(stack, "aws_api_gateway_rest_api")}):
        preflights = {
            path: m for (path, verb), m in methods(stack, region, preflights=True).items() if verb == "OPTIONS"
        }
        assert sorted(preflights) == ["api", "health", "{proxy+}"]
        for method in preflights.values():
            assert method["authorization"] == "NONE" and "api_key_required" not in method
        for integration in resources(stack, "aws_api_gateway_integration", region):
            if integration["type"] == "MOCK":
                assert integration["request_templates"] == {"application/json": '{"statusCode": 204}'}
        responses = resources(stack, "aws_api_gateway_integration_response", region)
        assert len(responses) == 3
        for response in responses:
            assert response["status_code"].endswith(".status_code}")  # the method response's, by reference
            assert response["response_parameters"] == {
                f"method.response.header.{name}": f"'{value}'" for name, value in PREFLIGHT.items()
            }
        for response in resources(stack, "aws_api_gateway_method_response", region):
            assert response["response_parameters"] == {f"method.response.header.{name}": True for name in PREFLIGHT}


def test_a_preflight_allows_every_header_and_method_the_function_reads():
    from tools.function_loader import load_handler_module

    handler = load_handler_module(name="lambda_src_handler_for_cors")
    allowed = {h.strip().lower() for h in PREFLIGHT["Access-Control-Allow-Headers"].split(",")}
    assert {h.strip().lower() for h in handler.ALLOWED_HEADERS.split(",")} <= allowed
    methods_allowed = {m.strip() for m in PREFLIGHT["Access-Control-Allow-Methods"].split(",")}
    assert {m.strip() for m in handler.ALLOWED_METHODS.split(",")} <= methods_allowed


@pytest.mark.parametrize("region", REGIONS)
def test_api_gateways_own_errors_carry_the_cors_headers(dev, region):
    """A missing key (403), a throttled caller (429) or a gateway fault (5XX): the browser shows the
    error instead of a CORS failure. The origin is the one the function answers with."""
    responses = {r["response_type"]: r for r in resources(dev, "aws_api_gateway_gateway_response", region)}
    assert sorted(responses) == ["DEFAULT_4XX", "DEFAULT_5XX"]
    function = resource_at(dev, "aws_lambda_function", f"{region}/function/function")
    origin = function["environment"]["variables"]["CORS_ALLOW_ORIGIN"]
    for response in responses.values():
        assert response["response_parameters"] == {
            "gatewayresponse.header.Access-Control-Allow-Origin": f"'{origin}'",
            "gatewayresponse.header.Access-Control-Expose-Headers": "'ETag, Retry-After'",
        }


def test_cors_refuses_what_a_header_value_cannot_hold():
    with pytest.raises(ValueError, match="allow_origin: 'https://x.com/' must be"):
        Cors(allow_origin="https://x.com/")
    with pytest.raises(ValueError, match="allow_headers"):
        Cors(allow_headers=("X-Ok", "Bad'Quote"))
    with pytest.raises(ValueError, match="max_age_seconds: 9000 must be 0 to 7200"):
        Cors(max_age_seconds=9000)


# -- the deployment follows every change of behaviour ----------------------------------------------
PARTS = (
    "aws_api_gateway_resource",
    "aws_api_gateway_method",
    "aws_api_gateway_integration",
    "aws_api_gateway_method_response",
    "aws_api_gateway_integration_response",
    "aws_api_gateway_gateway_response",
    "aws_api_gateway_authorizer",
    "aws_api_gateway_request_validator",
)


@pytest.mark.parametrize("stack_name", ["dev", "custom", "variant-cognito"])
def test_the_redeployment_trigger_covers_every_argument_of_every_part(request, variants, stack_name):
    """In-place changes of a method (auth, key), an authorizer, the validator, an integration's URI,
    a gateway response... all change the trigger, so the stage never keeps serving an old
    deployment (the provider's documentation of aws_api_gateway_deployment warns of exactly this).
    References are in the trigger as they are; the values known at synth time as their digest."""
    stack = variants.stack(stack_name) if stack_name.startswith("variant") else request.getfixturevalue(stack_name)
    for deployment in resources(stack, "aws_api_gateway_deployment"):
        trigger = deployment["triggers"]["redeployment"]
        region = deployment["provider"]
        parts = [r for kind in PARTS for r in resources(stack, kind) if r["provider"] == region]
        assert trigger.count('{"part" = ') == len(parts)
        for part in parts:
            arguments = {k: v for k, v in part.items() if k not in ("//", "provider", "rest_api_id", "depends_on")}
            known = {k: v for k, v in arguments.items() if "${" not in json.dumps(v)}
            assert f'"settings" = "{settings_digest(known)}"' in trigger, part["//"]["metadata"]["path"]
            for argument, value in arguments.items():
                if argument not in known:
                    written = f"[{', '.join(v[2:-1] for v in value)}]" if isinstance(value, list) else value[2:-1]
                    assert f'"{argument}" = {written}' in trigger, (part["//"]["metadata"]["path"], argument)


def test_the_trigger_is_an_expression_terraform_can_parse(dev):
    """No string with a quote inside the expression (cdktf would not escape it)."""
    for deployment in resources(dev, "aws_api_gateway_deployment"):
        inner = deployment["triggers"]["redeployment"].removeprefix("${sha1(jsonencode(").removesuffix("))}")
        assert re.fullmatch(r'(\[|\]|\{|\}|, | = |"[^"\\]*"|[A-Za-z0-9_.\-\[\]]+|true|false)*', inner), inner


def _isolated_api(auth):
    """The API construct alone, with ``auth``; the deployment's trigger expression."""
    from constructs_lib.blocks.api import Api, ApiConfig, FunctionTarget
    from constructs_lib.blocks.naming import Namer
    from constructs_lib.cdk import aws
    from constructs_lib.cdk import core as cdk

    stack = cdk.TerraformStack(cdk.Testing.app(), "api")
    provider = aws.AwsProvider(stack, "aws", region="eu-west-1", alias="eu-west-1")
    Api(
        stack,
        "api",
        provider=provider,
        function=FunctionTarget(function_name="fn", alias_name="live", alias_invoke_arn="arn:invoke"),
        kms_key_arn="arn:key",
        config=ApiConfig(namer=Namer("shop", "qa"), region="eu-west-1", stage_name="qa", auth=auth),
    )
    return one(resources(json.loads(cdk.Testing.synth(stack)), "aws_api_gateway_deployment"))["triggers"]


def test_a_change_of_auth_changes_the_trigger():
    assert len({_isolated_api(auth)["redeployment"] for auth in ("none", "api_key", "iam")}) == 3


# -- logs, cache ----------------------------------------------------------------------------------
@pytest.mark.parametrize("region", REGIONS)
def test_execution_logs_go_to_a_log_group_terraform_creates_first(dev, region):
    """Otherwise API Gateway creates it on the first error: unencrypted, kept forever, and left
    behind by a destroy."""
    group = resource_at(dev, "aws_cloudwatch_log_group", f"{region}/api/execution-log-group")
    api = address_at(dev, "aws_api_gateway_rest_api", f"{region}/api/rest-api")
    stage = address_at(dev, "aws_api_gateway_stage", f"{region}/api/stage")
    assert group["name"] == f"API-Gateway-Execution-Logs_${{{api}.id}}/${{{stage}.stage_name}}"
    assert group["kms_key_id"] == region_key_arn(dev, region)
    assert group["retention_in_days"] == 365
    settings = resource_at(dev, "aws_api_gateway_method_settings", f"{region}/api/method-settings")
    assert settings["settings"]["logging_level"] == "ERROR"
    assert address_at(dev, "aws_cloudwatch_log_group", f"{region}/api/execution-log-group") in settings["depends_on"]


@pytest.mark.parametrize(
    ("size", "written"),
    [
        (0.5, "0.5"),
        (1.6, "1.6"),
        (6.1, "6.1"),
        (13.5, "13.5"),
        (28.4, "28.4"),
        (58.2, "58.2"),
        (118, "118"),
        (118.0, "118"),
        (237.0, "237"),
    ],
)
def test_cache_size_is_written_as_api_gateway_spells_it(size, written):
    from constructs_lib.blocks.api import ApiConfig
    from constructs_lib.blocks.naming import Namer

    config = ApiConfig(namer=Namer("shop", "qa"), region="eu-west-1", stage_name="qa", cache_size_gb=size)
    assert config.cache_cluster_size == written
