"""WAF: a web ACL with managed rule groups and a rate limit on every stage, on by default."""

import pytest
from conftest import one, resources

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
    assert group["kms_key_id"].startswith("${aws_kms_key.")


def test_rate_limit_from_config(custom):
    stack = custom
    assert acl(stack, "eu-west-1")["rule"][4]["statement"]["rate_based_statement"]["limit"] == 500


def test_waf_can_be_turned_off(open_stack):
    stack = open_stack
    assert not resources(stack, "aws_wafv2_web_acl")
    assert not resources(stack, "aws_wafv2_web_acl_association")
