"""A WAF web ACL in front of one region's API stage."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..cdk import aws
from ..cdk.core import Construct
from .naming import Namer
from .rules import LOG_RETENTION, REQUEST_BODY_LIMIT, WAF_RATE_LIMIT

# AWS managed rule groups, in evaluation order: drop known-bad and anonymizing sources first, then
# common exploits (OWASP top 10 patterns), then known-bad inputs (Log4j, other RCE payloads).
MANAGED_RULE_GROUPS = (
    "AWSManagedRulesAmazonIpReputationList",
    "AWSManagedRulesAnonymousIpList",
    "AWSManagedRulesCommonRuleSet",
    "AWSManagedRulesKnownBadInputsRuleSet",
)
# Rules of those groups that only count (and label) instead of blocking: servers in cloud hosting
# networks are legitimate API callers; Tor exits and anonymizing proxies stay blocked. The common
# rule set's SizeRestrictions_BODY blocks bodies over 8 KB, below what the API accepts: the
# body-size rule below enforces the API's own limit instead.
COUNT_ONLY = {
    "AWSManagedRulesAnonymousIpList": ("HostingProviderIPList",),
    "AWSManagedRulesCommonRuleSet": ("SizeRestrictions_BODY",),
}
# Headers that carry credentials: never written to the WAF log (lower case, as WAF matches them).
REDACTED_HEADERS = ("authorization", "cookie", "x-api-key")
TOO_LARGE = "request-body-too-large"


@dataclass(frozen=True, kw_only=True)
class WafConfig:
    """namer, region: where and how it is named. rate_limit_per_5_minutes: requests one IP may send
    in any 5 minutes before it is blocked (100 to 2,000,000,000). Default 2000.
    log_retention_days: retention of the WAF log group. Default 365.
    max_request_body_kb: the API's body limit, 16, 32, 48 or 64 (KB): WAF inspects bodies up to it
        and answers larger ones with 413. Default 64.
    blocked_response_headers: headers on that 413 answer (the CORS headers, so a browser shows
        it). Default: none."""

    namer: Namer
    region: str
    rate_limit_per_5_minutes: int = 2000
    log_retention_days: int = 365
    max_request_body_kb: int = 64
    blocked_response_headers: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        REQUEST_BODY_LIMIT.check("max_request_body_kb", self.max_request_body_kb)
        WAF_RATE_LIMIT.check("rate_limit_per_5_minutes", self.rate_limit_per_5_minutes)
        LOG_RETENTION.check("log_retention_days", self.log_retention_days)


def _managed_group(group: str) -> dict[str, Any]:
    statement: dict[str, Any] = {"name": group, "vendor_name": "AWS"}
    if group in COUNT_ONLY:
        statement["rule_action_override"] = [
            {"name": rule, "action_to_use": {"count": {}}} for rule in COUNT_ONLY[group]
        ]
    return statement


def _visibility(metric: str) -> dict[str, Any]:
    return {"cloudwatch_metrics_enabled": True, "metric_name": metric, "sampled_requests_enabled": True}


def too_large_body(limit_kb: int) -> str:
    """The JSON of the 413 answer, shaped like the function's own errors."""
    message = f"Request body exceeds {limit_kb * 1024} bytes"
    return json.dumps({"error": {"code": "payload_too_large", "message": message}}, separators=(",", ":"))


def _body_size_rule(config: WafConfig, *, priority: int) -> aws.Wafv2WebAclRule:
    """Blocks, with a 413, a body larger than the API's limit; a body larger than WAF inspects
    (the same size) matches too, so nothing reaches the API uninspected."""
    return aws.Wafv2WebAclRule(
        name="body-size-limit",
        priority=priority,
        action=aws.Wafv2WebAclRuleAction(
            block=aws.Wafv2WebAclRuleActionBlock(
                custom_response=aws.Wafv2WebAclRuleActionBlockCustomResponse(
                    response_code=413,
                    custom_response_body_key=TOO_LARGE,
                    response_header=[
                        aws.Wafv2WebAclRuleActionBlockCustomResponseResponseHeader(name=name, value=value)
                        for name, value in sorted(config.blocked_response_headers.items())
                    ]
                    or None,
                )
            )
        ),
        statement={
            "size_constraint_statement": {
                "comparison_operator": "GT",
                "size": config.max_request_body_kb * 1024,
                "field_to_match": {"body": {"oversize_handling": "MATCH"}},
                "text_transformation": [{"priority": 0, "type": "NONE"}],
            }
        },
        visibility_config=aws.Wafv2WebAclRuleVisibilityConfig(**_visibility("body-size-limit")),
    )


class WebApplicationFirewall(Construct):
    """Creates a REGIONAL web ACL (default allow) with the AWS managed rule groups for IP reputation,
    anonymous IPs (hosting providers only counted), common exploits (its 8 KB body rule only
    counted) and known bad inputs, a rate-based rule that blocks an IP above the limit, a rule that
    answers bodies above the API's limit with 413 (WAF inspects bodies up to that size), CloudWatch
    metrics, logging to a KMS-encrypted log group with credential headers redacted, and its
    association with the stage.
    """

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        config: WafConfig,
        provider: aws.AwsProvider,
        stage_arn: str,
        kms_key_arn: str,
    ) -> None:
        super().__init__(scope, id_)
        name = config.namer.name("waf", config.region, kind="waf_web_acl")
        self._acl = self._web_acl(config, provider, name)
        # Read once: every attribute read is a round trip to the jsii runtime.
        acl_arn = self._acl.arn
        self._logging(config, provider, name, acl_arn, kms_key_arn)
        aws.Wafv2WebAclAssociation(self, "association", provider=provider, resource_arn=stage_arn, web_acl_arn=acl_arn)

    @staticmethod
    def _rules(config: WafConfig) -> list[aws.Wafv2WebAclRule]:
        """The managed rule groups, the per-IP rate limit and the body size limit, in priority order."""
        rules = [
            aws.Wafv2WebAclRule(
                name=group,
                priority=priority,
                override_action=aws.Wafv2WebAclRuleOverrideAction(none=aws.Wafv2WebAclRuleOverrideActionNone()),
                # This binding types a rule's statement as "any": it is written as given, so the
                # keys are Terraform's own (snake_case). A test asserts they arrive.
                statement={"managed_rule_group_statement": _managed_group(group)},
                visibility_config=aws.Wafv2WebAclRuleVisibilityConfig(**_visibility(group)),
            )
            for priority, group in enumerate(MANAGED_RULE_GROUPS)
        ]
        rules.append(
            aws.Wafv2WebAclRule(
                name="rate-limit-per-ip",
                priority=len(rules),
                action=aws.Wafv2WebAclRuleAction(block=aws.Wafv2WebAclRuleActionBlock()),
                statement={
                    "rate_based_statement": {
                        "limit": config.rate_limit_per_5_minutes,
                        "aggregate_key_type": "IP",
                        "evaluation_window_sec": 300,
                    }
                },
                visibility_config=aws.Wafv2WebAclRuleVisibilityConfig(**_visibility("rate-limit-per-ip")),
            )
        )
        rules.append(_body_size_rule(config, priority=len(rules)))
        return rules

    def _web_acl(self, config: WafConfig, provider: aws.AwsProvider, name: str) -> aws.Wafv2WebAcl:
        """The REGIONAL web ACL (default allow) with its rules, inspecting bodies up to the API's limit."""
        return aws.Wafv2WebAcl(
            self,
            "web-acl",
            provider=provider,
            name=name,
            scope="REGIONAL",
            description=f"{name}: managed rule groups and a per-IP rate limit",
            default_action=aws.Wafv2WebAclDefaultAction(allow=aws.Wafv2WebAclDefaultActionAllow()),
            visibility_config=aws.Wafv2WebAclVisibilityConfig(**_visibility(name)),
            rule=self._rules(config),
            # Inspect as much of a body as the API accepts (API Gateway's default is 16 KB).
            association_config=aws.Wafv2WebAclAssociationConfig(
                request_body=[
                    aws.Wafv2WebAclAssociationConfigRequestBody(
                        api_gateway=aws.Wafv2WebAclAssociationConfigRequestBodyApiGateway(
                            default_size_inspection_limit=f"KB_{config.max_request_body_kb}"
                        )
                    )
                ]
            ),
            custom_response_body=[
                aws.Wafv2WebAclCustomResponseBody(
                    key=TOO_LARGE, content=too_large_body(config.max_request_body_kb), content_type="APPLICATION_JSON"
                )
            ],
        )

    def _logging(self, config: WafConfig, provider: aws.AwsProvider, name: str, acl_arn: str, kms_key_arn: str) -> None:
        """Logging to a KMS-encrypted log group, with credential headers redacted."""
        # WAF writes only to log groups whose names start with "aws-waf-logs-".
        log_group = aws.CloudwatchLogGroup(
            self,
            "log-group",
            provider=provider,
            name=f"aws-waf-logs-{name}",
            retention_in_days=config.log_retention_days,
            kms_key_id=kms_key_arn,
        )
        aws.Wafv2WebAclLoggingConfiguration(
            self,
            "logging",
            provider=provider,
            resource_arn=acl_arn,
            log_destination_configs=[log_group.arn],
            redacted_fields=[
                aws.Wafv2WebAclLoggingConfigurationRedactedFields(
                    single_header=aws.Wafv2WebAclLoggingConfigurationRedactedFieldsSingleHeader(name=header)
                )
                for header in REDACTED_HEADERS
            ],
        )

    @property
    def web_acl_arn(self) -> str:
        return self._acl.arn

    @property
    def web_acl_name(self) -> str:
        """The web ACL's name as a reference (its metrics' WebACL dimension: alarms wait for it)."""
        return self._acl.name
