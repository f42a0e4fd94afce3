"""Every resource names another through a reference, never a copied literal: Terraform orders the
apply, and follows a replacement, only through references. Checked over every resource and data
source of every stack the suite synthesizes, so a new resource is covered the day it is added."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

# The attribute that holds each resource type's own name: what other resources would copy.
OWN_NAME = {
    "aws_acm_certificate": "domain_name",
    "aws_api_gateway_api_key": "name",
    "aws_api_gateway_authorizer": "name",
    "aws_api_gateway_domain_name": "domain_name",
    "aws_api_gateway_request_validator": "name",
    "aws_api_gateway_rest_api": "name",
    "aws_api_gateway_stage": "stage_name",
    "aws_api_gateway_usage_plan": "name",
    "aws_cloudwatch_dashboard": "dashboard_name",
    "aws_cloudwatch_event_bus": "name",
    "aws_cloudwatch_event_rule": "name",
    "aws_cloudwatch_log_group": "name",
    "aws_cloudwatch_log_metric_filter": "name",
    "aws_cloudwatch_metric_alarm": "alarm_name",
    "aws_codedeploy_app": "name",
    "aws_codedeploy_deployment_group": "deployment_group_name",
    "aws_cognito_user_pool": "name",
    "aws_cognito_user_pool_client": "name",
    "aws_dynamodb_table": "name",
    "aws_iam_role": "name",
    "aws_iam_role_policy": "name",
    "aws_kms_alias": "name",
    "aws_lambda_alias": "name",
    "aws_lambda_function": "function_name",
    "aws_pipes_pipe": "name",
    "aws_route53_record": "name",
    "aws_s3_bucket": "bucket",
    "aws_security_group": "name",
    "aws_sns_topic": "name",
    "aws_sqs_queue": "name",
    "aws_secretsmanager_secret": "name",
    "aws_ssm_parameter": "name",
    "aws_appautoscaling_policy": "name",
    "aws_appautoscaling_scheduled_action": "name",
    "aws_xray_sampling_rule": "rule_name",
    "aws_xray_group": "group_name",
    "aws_synthetics_canary": "name",
    "aws_backup_vault": "name",
    "aws_backup_plan": "name",
    "aws_backup_selection": "name",
    "aws_config_config_rule": "name",
    "aws_config_configuration_recorder": "name",
    "aws_config_delivery_channel": "name",
    "aws_wafv2_web_acl": "name",
    "aws_cloudwatch_log_delivery_source": "name",
    "aws_cloudwatch_log_delivery_destination": "name",
}
# Types that have no name of their own (they are known by their id, or by what they attach to).
NAMELESS = {
    "aws_acm_certificate_validation",
    # Known by its id; its aliases are the names it answers on, not a resource's.
    "aws_cloudfront_distribution",
    "aws_cloudwatch_log_delivery",
    # The recorder's status is named after its recorder (by reference); an attachment by its role.
    "aws_config_configuration_recorder_status",
    "aws_iam_role_policy_attachment",
    "aws_api_gateway_account",
    "aws_api_gateway_base_path_mapping",
    "aws_api_gateway_deployment",
    "aws_api_gateway_gateway_response",
    "aws_api_gateway_integration",
    "aws_api_gateway_integration_response",
    "aws_api_gateway_method",
    "aws_api_gateway_method_response",
    "aws_api_gateway_method_settings",
    "aws_api_gateway_resource",
    "aws_api_gateway_usage_plan_key",
    "aws_cloudwatch_event_target",
    "aws_default_security_group",
    "aws_dynamodb_table_replica",
    "aws_flow_log",
    "aws_kms_key",
    "aws_lambda_event_source_mapping",
    "aws_lambda_permission",
    "aws_lambda_provisioned_concurrency_config",
    "aws_route53_health_check",
    "aws_route_table",
    "aws_route_table_association",
    "aws_s3_bucket_lifecycle_configuration",
    "aws_s3_bucket_notification",
    "aws_s3_bucket_ownership_controls",
    "aws_s3_bucket_policy",
    "aws_s3_bucket_public_access_block",
    "aws_s3_bucket_server_side_encryption_configuration",
    "aws_s3_bucket_versioning",
    "aws_sns_topic_subscription",
    "aws_secretsmanager_secret_version",
    "aws_appautoscaling_target",
    "aws_sqs_queue_policy",
    "aws_sqs_queue_redrive_allow_policy",
    "aws_subnet",
    "aws_vpc",
    "aws_vpc_endpoint",
    "aws_vpc_security_group_egress_rule",
    "aws_vpc_security_group_ingress_rule",
    "aws_wafv2_web_acl_association",
    "aws_wafv2_web_acl_logging_configuration",
}
# Text for people, not a name another resource acts on.
PROSE = {"//", "tags", "description", "alarm_description"}
# Places where a value equal to a resource's name is not a reference to that resource, and why.
NOT_A_REFERENCE = {
    # A dashboard names metrics, not resources, in static JSON; it need not wait for them.
    ("aws_cloudwatch_dashboard", "dashboard_body"),
    # The names a certificate covers: it is issued before any record or domain uses them.
    ("aws_acm_certificate", "subject_alternative_names"),
    # The environment's name, which the stage is named after, tells the code where it runs.
    ("aws_lambda_function", "environment.variables.ENVIRONMENT"),
    # The functions' own metrics are dimensioned by the environment's name, not by the stage.
    ("aws_cloudwatch_metric_alarm", "dimensions.Environment"),
}


def leaves(value: Any, path: str = "") -> Iterator[tuple[str, str]]:
    """Every string in a block, with its dotted path (list positions left out)."""
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for key, inner in value.items():
            yield from leaves(inner, f"{path}.{key}" if path else key)
    elif isinstance(value, list):
        for inner in value:
            yield from leaves(inner, path)


def own_names(stack: dict[str, Any]) -> dict[str, set[str]]:
    """Every literal resource name in the stack -> the resources that own it (names scoped to a
    parent, such as metric filters', can repeat)."""
    found: dict[str, set[str]] = {}
    for kind, blocks in stack.get("resource", {}).items():
        if kind not in OWN_NAME:
            continue
        for key, block in blocks.items():
            name = block.get(OWN_NAME[kind])
            if isinstance(name, str) and "${" not in name:
                found.setdefault(name, set()).add(f"{kind}.{key}")
    return found


def names_in(text: str, name: str) -> bool:
    """``text`` is ``name``, or an ARN whose resource part names it."""
    if text == name:
        return True
    parts = text.split(":", 5)
    return (
        text.startswith("arn:") and len(parts) == 6 and bool(re.search(rf"(^|[:/]){re.escape(name)}($|[:/])", parts[5]))
    )


def copied_names(stack: dict[str, Any]) -> list[str]:
    """Each place where a resource or data source holds another resource's name as a literal."""
    names = own_names(stack)
    problems = []
    blocks = [("resource", kind, key, b) for kind, bs in stack.get("resource", {}).items() for key, b in bs.items()]
    blocks += [("data", kind, key, b) for kind, bs in stack.get("data", {}).items() for key, b in bs.items()]
    for section, kind, key, block in blocks:
        for attribute, inner in block.items():
            if attribute in PROSE or (section == "resource" and OWN_NAME.get(kind) == attribute):
                continue
            for path, text in leaves(inner, attribute):
                if (kind, path) in NOT_A_REFERENCE:
                    continue
                for name, owners in names.items():
                    # A resource may repeat its own name (a web ACL's metric is named after it).
                    if f"{kind}.{key}" not in owners and names_in(text, name):
                        owner = ", ".join(sorted(owners))
                        problems.append(f"{section}.{kind}.{key}: {path} = {text!r} copies the name of {owner}")
    return problems


@pytest.fixture(scope="module")
def every_stack(default_synth, synth, variants) -> dict[str, dict[str, Any]]:
    """Every stack as Terraform plans it, alone: a stack cannot reference another's resources, and
    what one stack names of another's (the edge's records, a region's table copy) it names by rule,
    deployed in waves."""
    from conftest import CUSTOM, GLOBAL, OPEN

    found = {**default_synth.stacks, **variants.stacks}
    for label, config in (("global", GLOBAL), ("custom", CUSTOM), ("open", OPEN)):
        found.update({f"{label}:{name}": stack for name, stack in synth(config).stacks.items()})
    return found


def test_every_resource_type_is_classified(every_stack):
    """A new resource type must say which attribute is its name (or that it has none)."""
    kinds = {kind for stack in every_stack.values() for kind in stack.get("resource", {})}
    assert kinds - set(OWN_NAME) - NAMELESS == set()


def test_no_resource_names_another_by_a_copied_literal(every_stack):
    problems = [f"{name}: {p}" for name, stack in every_stack.items() for p in copied_names(stack)]
    assert problems == []


def test_the_rule_finds_a_copied_function_name():
    """The check itself: a permission that names a function by its literal name is caught."""
    stack = {
        "resource": {
            "aws_lambda_function": {"fn": {"function_name": "shop-fn-eu-west-1-dev"}},
            "aws_lambda_permission": {"p": {"function_name": "shop-fn-eu-west-1-dev", "qualifier": "live"}},
            "aws_lambda_alias": {"a": {"name": "live", "function_name": "${aws_lambda_function.fn.function_name}"}},
        },
        "data": {
            "aws_iam_policy_document": {
                "d": {"statement": [{"resources": ["arn:aws:lambda:eu-west-1:1:function:shop-fn-eu-west-1-dev:*"]}]}
            }
        },
    }
    assert sorted(copied_names(stack)) == [
        "data.aws_iam_policy_document.d: statement.resources = "
        "'arn:aws:lambda:eu-west-1:1:function:shop-fn-eu-west-1-dev:*' copies the name of aws_lambda_function.fn",
        "resource.aws_lambda_permission.p: function_name = 'shop-fn-eu-west-1-dev' copies the name of "
        "aws_lambda_function.fn",
        "resource.aws_lambda_permission.p: qualifier = 'live' copies the name of aws_lambda_alias.a",
    ]
