"""WAF: a web ACL with managed rule groups and a rate limit on every stage, on by default."""

import json

import pytest
from conftest import one, resource_at, resources

REGIONS = ("us-east-1", "us-west-2")


def acl(stack, region="us-east-1"):
    return one(resources(stack, "aws_wafv2_web_acl", region))


@pytest.mark.parametrize("region", REGIONS)
def test_regional_acl_associated_with_the_stage(dev, region):
    assert acl(dev, region)["scope"] == "REGIONAL"
    association = one(resources(dev, "aws_wafv2_web_acl_association", region))
    assert association["resource_arn"].startswith("${aws_api_gateway_stage.") and association["resource_arn"].endswith(
        ".arn}"
    )
    assert association["web_acl_arn"].startswith("${aws_wafv2_web_acl.")


def test_default_action_allows(dev):
    assert acl(dev)["default_action"] == {"allow": {}}


def test_managed_rule_groups_in_order(dev):
    # The statement is typed "any" in the bindings: assert the nested keys really arrive.
    groups = [r["statement"]["managed_rule_group_statement"]["name"] for r in acl(dev)["rule"][:4]]
    assert groups == [
        "AWSManagedRulesAmazonIpReputationList",
        "AWSManagedRulesAnonymousIpList",
        "AWSManagedRulesCommonRuleSet",
        "AWSManagedRulesKnownBadInputsRuleSet",
    ]
    assert all(r["statement"]["managed_rule_group_statement"]["vendor_name"] == "AWS" for r in acl(dev)["rule"][:4])
    assert all(r["override_action"] == {"none": {}} for r in acl(dev)["rule"][:4])


def test_hosting_providers_are_only_counted(dev):
    anonymous = acl(dev)["rule"][1]["statement"]["managed_rule_group_statement"]
    assert anonymous["rule_action_override"] == [{"action_to_use": {"count": {}}, "name": "HostingProviderIPList"}]


def test_rate_based_rule_blocks_per_ip(dev):
    rule = acl(dev)["rule"][4]
    assert rule["action"] == {"block": {}}
    assert rule["statement"]["rate_based_statement"] == {
        "aggregate_key_type": "IP",
        "evaluation_window_sec": 300,
        "limit": 2000,
    }


def test_metrics_on_every_rule(dev):
    for rule in acl(dev)["rule"]:
        assert rule["visibility_config"]["cloudwatch_metrics_enabled"] is True


def test_logs_to_an_encrypted_waf_log_group(dev):
    logging = one(resources(dev, "aws_wafv2_web_acl_logging_configuration", "us-east-1"))
    name = logging["log_destination_configs"][0].split(".")[1]
    group = dev["resource"]["aws_cloudwatch_log_group"][name]
    assert group["name"].startswith("aws-waf-logs-")
    assert group["kms_key_id"].startswith("${data.aws_kms_alias.")


def test_rate_limit_from_config(custom):
    stack = custom
    assert acl(stack, "eu-west-1")["rule"][4]["statement"]["rate_based_statement"]["limit"] == 500


def test_waf_can_be_turned_off(open_stack):
    stack = open_stack
    assert not resources(stack, "aws_wafv2_web_acl")
    assert not resources(stack, "aws_wafv2_web_acl_association")


# -- one body limit in WAF, the function and the docs ----------------------------------------------
CASES = [("dev", "us-east-1", 64), ("dev", "us-west-2", 64), ("custom", "eu-west-1", 32)]


def body_rule(stack, region):
    return one([r for r in acl(stack, region)["rule"] if r["name"] == "body-size-limit"])


def test_the_common_rule_sets_8_kb_body_rule_only_counts(dev):
    """It would block every body over 8 KB, below what the API accepts; the body-size rule enforces
    the API's own limit instead."""
    common = acl(dev)["rule"][2]["statement"]["managed_rule_group_statement"]
    assert common["name"] == "AWSManagedRulesCommonRuleSet"
    assert common["rule_action_override"] == [{"action_to_use": {"count": {}}, "name": "SizeRestrictions_BODY"}]


@pytest.mark.parametrize(("stack_name", "region", "limit_kb"), CASES)
def test_waf_inspects_and_blocks_at_the_limit_the_function_enforces(request, stack_name, region, limit_kb):
    stack = request.getfixturevalue(stack_name)
    limit = limit_kb * 1024
    web_acl = acl(stack, region)
    # WAF sees every byte the API accepts ...
    assert web_acl["association_config"] == {
        "request_body": [{"api_gateway": {"default_size_inspection_limit": f"KB_{limit_kb}"}}]
    }
    # ... and blocks anything larger, including what it could not inspect.
    statement = body_rule(stack, region)["statement"]["size_constraint_statement"]
    assert statement == {
        "comparison_operator": "GT",
        "size": limit,
        "field_to_match": {"body": {"oversize_handling": "MATCH"}},
        "text_transformation": [{"priority": 0, "type": "NONE"}],
    }
    function = resource_at(stack, "aws_lambda_function", f"{region}/function/function")
    assert function["environment"]["variables"]["MAX_REQUEST_BODY_BYTES"] == str(limit)


@pytest.mark.parametrize(("stack_name", "region", "limit_kb"), CASES)
def test_waf_and_the_function_answer_a_body_over_the_limit_alike(request, monkeypatch, stack_name, region, limit_kb):
    """The function, given the environment the stack gives it, accepts a body of exactly the limit
    and answers one byte more as WAF does: 413 with the same JSON error."""
    from tools.function_loader import load_handler_module

    stack = request.getfixturevalue(stack_name)
    function = resource_at(stack, "aws_lambda_function", f"{region}/function/function")
    monkeypatch.setenv("MAX_REQUEST_BODY_BYTES", function["environment"]["variables"]["MAX_REQUEST_BODY_BYTES"])
    handler = load_handler_module(name="lambda_src_handler_for_waf")
    limit = limit_kb * 1024

    def echo(size):
        body = '{"k": "' + "x" * (size - 9) + '"}'
        assert len(body) == size
        return handler.handler({"httpMethod": "POST", "path": "/api/echo", "body": body}, None)

    assert echo(limit)["statusCode"] == 200
    too_large = echo(limit + 1)
    rule = body_rule(stack, region)
    custom = rule["action"]["block"]["custom_response"]
    assert too_large["statusCode"] == custom["response_code"] == 413
    [waf_body] = [
        b for b in acl(stack, region)["custom_response_body"] if b["key"] == custom["custom_response_body_key"]
    ]
    assert waf_body["content_type"] == "APPLICATION_JSON"
    assert json.loads(too_large["body"])["error"] == json.loads(waf_body["content"])["error"]
    # The browser can read WAF's answer too.
    assert {"name": "Access-Control-Allow-Origin", "value": "*"} in custom["response_header"]


def test_an_item_of_the_documented_size_fits_the_default_limit(dev):
    """PUT /api/items/{id} takes 32 KiB of data: its body must pass WAF with room to spare."""
    from tools.function_loader import load_handler_module

    handler = load_handler_module(name="lambda_src_handler_for_item_size")
    # The largest item the function stores (its canonical JSON is exactly the limit), sent indented.
    data = {"text": "x" * (handler.MAX_ITEM_DATA_BYTES - len('{"text":""}'))}
    assert len(json.dumps(data, separators=(",", ":"))) == handler.MAX_ITEM_DATA_BYTES
    body = json.dumps({"data": data}, indent=2).encode()
    limit = body_rule(dev, "us-east-1")["statement"]["size_constraint_statement"]["size"]
    assert len(body) < limit


@pytest.mark.parametrize("region", REGIONS)
def test_logs_never_hold_credentials(dev, region):
    logging = one(resources(dev, "aws_wafv2_web_acl_logging_configuration", region))
    assert logging["redacted_fields"] == [
        {"single_header": {"name": "authorization"}},
        {"single_header": {"name": "cookie"}},
        {"single_header": {"name": "x-api-key"}},
    ]
