"""A WAF web ACL in front of one region's API stage."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..cdk import aws
from ..cdk.core import Construct
from .naming import Namer
from .rules import LOG_RETENTION, REQUEST_BODY_LIMIT, WAF_RATE_LIMIT, fail

# CloudFront's web ACLs, certificates and metrics live in us-east-1.
CLOUDFRONT_REGION = "us-east-1"

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
# The header CloudFront sends every origin request with the origin secret (cdn_enabled).
ORIGIN_HEADER = "x-origin-verify"
# Headers that carry credentials: never written to the WAF log (lower case, as WAF matches them);
# behind a distribution, its origin header too.
REDACTED_HEADERS = ("authorization", "cookie", "x-api-key")
TOO_LARGE = "request-body-too-large"
# What a region answers without the origin header: Route 53's health checks (and the watch of
# us-east-1) call each region's own name, and cannot send a header.
OPEN_PATH = "/api/health"


@dataclass(frozen=True, kw_only=True)
class WafConfig:
    """namer, region: where and how it is named. rate_limit_per_5_minutes: requests one IP may send
    in any 5 minutes before it is blocked (100 to 2,000,000,000). Default 2000.
    log_retention_days: retention of the WAF log group. Default 365.
    max_request_body_kb: the API's body limit, 16, 32, 48 or 64 (KB): WAF inspects bodies up to it
        and answers larger ones with 413. Default 64.
    blocked_response_headers: headers on that 413 answer (the CORS headers, so a browser shows
        it). Default: none.
    for_cloudfront: a web ACL of CLOUDFRONT scope (``region`` must be us-east-1) for a distribution,
        instead of a REGIONAL one for a stage. Default False.
    origin_enforced: behind a distribution (an ``origin_secret``), block what lacks its header;
        ``False`` only counts it. Default True."""

    namer: Namer
    region: str
    rate_limit_per_5_minutes: int = 2000
    log_retention_days: int = 365
    max_request_body_kb: int = 64
    blocked_response_headers: Mapping[str, str] = field(default_factory=dict)
    for_cloudfront: bool = False
    origin_enforced: bool = True

    def __post_init__(self) -> None:
        REQUEST_BODY_LIMIT.check("max_request_body_kb", self.max_request_body_kb)
        WAF_RATE_LIMIT.check("rate_limit_per_5_minutes", self.rate_limit_per_5_minutes)
        LOG_RETENTION.check("log_retention_days", self.log_retention_days)
        if self.for_cloudfront and self.region != CLOUDFRONT_REGION:
            raise fail("region", self.region, f"must be {CLOUDFRONT_REGION} for a web ACL of CLOUDFRONT scope")

    @property
    def scope(self) -> str:
        return "CLOUDFRONT" if self.for_cloudfront else "REGIONAL"

    @property
    def name(self) -> str:
        return self.namer.name("cdn-waf" if self.for_cloudfront else "waf", self.region, kind="waf_web_acl")


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


def _exactly(field_to_match: dict[str, Any], value: str) -> dict[str, Any]:
    return {
        "byte_match_statement": {
            "field_to_match": field_to_match,
            "positional_constraint": "EXACTLY",
            "search_string": value,
            "text_transformation": [{"priority": 0, "type": "NONE"}],
        }
    }


def _not(statement: dict[str, Any]) -> dict[str, Any]:
    return {"not_statement": {"statement": [statement]}}


def _from_cloudfront(origin_secret: str) -> dict[str, Any]:
    """The request carries the origin header with the secret's value: it came through the distribution."""
    return _exactly({"single_header": {"name": ORIGIN_HEADER}}, origin_secret)


def _origin_rule(origin_secret: str, *, priority: int, enforced: bool) -> aws.Wafv2WebAclRule:
    """Blocks (403) what did not come through the distribution, but the health path; or, not
    enforced, counts it."""
    return aws.Wafv2WebAclRule(
        name="only-through-cloudfront",
        priority=priority,
        action=aws.Wafv2WebAclRuleAction(block=aws.Wafv2WebAclRuleActionBlock())
        if enforced
        else aws.Wafv2WebAclRuleAction(count=aws.Wafv2WebAclRuleActionCount()),
        statement={
            "and_statement": {
                "statement": [
                    _not(_from_cloudfront(origin_secret)),
                    _not(_exactly({"uri_path": {}}, OPEN_PATH)),
                ]
            }
        },
        visibility_config=aws.Wafv2WebAclRuleVisibilityConfig(**_visibility("only-through-cloudfront")),
    )


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
    """Creates a web ACL (default allow; REGIONAL for a stage, or CLOUDFRONT for a distribution) with
    the AWS managed rule groups for IP reputation, anonymous IPs (hosting providers only counted),
    common exploits (its 8 KB body rule only counted) and known bad inputs, a rate-based rule that
    blocks an IP above the limit, a rule that answers bodies above the API's limit with 413 (WAF
    inspects bodies up to that size), CloudWatch metrics, logging to a KMS-encrypted log group with
    credential headers redacted, and (REGIONAL) its association with the stage. With an
    ``origin_secret`` (REGIONAL, behind a distribution), a first rule refuses (403) every request
    without the ``x-origin-verify`` header of that value, but ``/api/health``.
    """

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        config: WafConfig,
        provider: aws.AwsProvider,
        kms_key_arn: str,
        stage_arn: str | None = None,
        origin_secret: str | None = None,
    ) -> None:
        """``stage_arn``: the stage a REGIONAL web ACL guards (a CLOUDFRONT one is named by its
        distribution instead). ``origin_secret``: a reference to the value the distribution sends."""
        super().__init__(scope, id_)
        if (stage_arn is None) != config.for_cloudfront:
            raise ValueError("stage_arn: a REGIONAL web ACL guards a stage; a CLOUDFRONT one none")
        if origin_secret is not None and config.for_cloudfront:
            raise ValueError("origin_secret: only a REGIONAL web ACL behind a distribution requires it")
        name = config.name
        self._acl = self._web_acl(config, provider, name, origin_secret)
        # Read once: every attribute read is a round trip to the jsii runtime.
        acl_arn = self._acl.arn
        redacted = REDACTED_HEADERS if origin_secret is None else (*REDACTED_HEADERS, ORIGIN_HEADER)
        self._logging(config, provider, name, acl_arn, kms_key_arn, redacted)
        if stage_arn is not None:
            aws.Wafv2WebAclAssociation(
                self, "association", provider=provider, resource_arn=stage_arn, web_acl_arn=acl_arn
            )

    @staticmethod
    def _rules(config: WafConfig, origin_secret: str | None) -> list[aws.Wafv2WebAclRule]:
        """With an origin secret, first the refusal of what bypassed the distribution; then the
        managed rule groups, the per-IP rate limit (of direct callers only, with an origin secret:
        behind a distribution every caller's IP is CloudFront's, and its own web ACL limits each
        caller) and the body size limit, in priority order."""
        rules = (
            [] if origin_secret is None else [_origin_rule(origin_secret, priority=0, enforced=config.origin_enforced)]
        )
        rules += [
            aws.Wafv2WebAclRule(
                name=group,
                priority=len(rules) + index,
                override_action=aws.Wafv2WebAclRuleOverrideAction(none=aws.Wafv2WebAclRuleOverrideActionNone()),
                # This binding types a rule's statement as "any": it is written as given, so the
                # keys are Terraform's own (snake_case). A test asserts they arrive.
                statement={"managed_rule_group_statement": _managed_group(group)},
                visibility_config=aws.Wafv2WebAclRuleVisibilityConfig(**_visibility(group)),
            )
            for index, group in enumerate(MANAGED_RULE_GROUPS)
        ]
        rate: dict[str, Any] = {
            "limit": config.rate_limit_per_5_minutes,
            "aggregate_key_type": "IP",
            "evaluation_window_sec": 300,
        }
        if origin_secret is not None:
            rate["scope_down_statement"] = _not(_from_cloudfront(origin_secret))
        rules.append(
            aws.Wafv2WebAclRule(
                name="rate-limit-per-ip",
                priority=len(rules),
                action=aws.Wafv2WebAclRuleAction(block=aws.Wafv2WebAclRuleActionBlock()),
                statement={"rate_based_statement": rate},
                visibility_config=aws.Wafv2WebAclRuleVisibilityConfig(**_visibility("rate-limit-per-ip")),
            )
        )
        rules.append(_body_size_rule(config, priority=len(rules)))
        return rules

    def _web_acl(
        self, config: WafConfig, provider: aws.AwsProvider, name: str, origin_secret: str | None
    ) -> aws.Wafv2WebAcl:
        """The web ACL (default allow) with its rules, inspecting bodies up to the API's limit."""
        # Inspect as much of a body as the API accepts (API Gateway's and CloudFront's default is 16 KB).
        limit = f"KB_{config.max_request_body_kb}"
        body = (
            aws.Wafv2WebAclAssociationConfigRequestBody(
                cloudfront=aws.Wafv2WebAclAssociationConfigRequestBodyCloudfront(default_size_inspection_limit=limit)
            )
            if config.for_cloudfront
            else aws.Wafv2WebAclAssociationConfigRequestBody(
                api_gateway=aws.Wafv2WebAclAssociationConfigRequestBodyApiGateway(default_size_inspection_limit=limit)
            )
        )
        return aws.Wafv2WebAcl(
            self,
            "web-acl",
            provider=provider,
            name=name,
            scope=config.scope,
            description=f"{name}: managed rule groups and a per-IP rate limit",
            default_action=aws.Wafv2WebAclDefaultAction(allow=aws.Wafv2WebAclDefaultActionAllow()),
            visibility_config=aws.Wafv2WebAclVisibilityConfig(**_visibility(name)),
            rule=self._rules(config, origin_secret),
            association_config=aws.Wafv2WebAclAssociationConfig(request_body=[body]),
            custom_response_body=[
                aws.Wafv2WebAclCustomResponseBody(
                    key=TOO_LARGE, content=too_large_body(config.max_request_body_kb), content_type="APPLICATION_JSON"
                )
            ],
        )

    def _logging(
        self,
        config: WafConfig,
        provider: aws.AwsProvider,
        name: str,
        acl_arn: str,
        kms_key_arn: str,
        redacted: tuple[str, ...],
    ) -> None:
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
                for header in redacted
            ],
        )

    @property
    def web_acl_arn(self) -> str:
        return self._acl.arn

    @property
    def web_acl_name(self) -> str:
        """The web ACL's name as a reference (its metrics' WebACL dimension: alarms wait for it)."""
        return self._acl.name
