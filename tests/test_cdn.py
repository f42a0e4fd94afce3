"""CloudFront in front of the one address (``cdn_enabled``, the VARIANTS app's ``cdn`` environment:
eu-west-1 (home) and us-west-2 behind api.example.org): the distribution and what it needs in
us-east-1, the origin name the regions answer on, the regional WAFs that refuse what bypassed the
distribution, the origin header's secret, and the settings that are refused."""

from __future__ import annotations

from typing import Any

import pytest
from conftest import address, one, policy_statements, resource_at, resources

from constructs_lib.blocks.cdn import ALL_METHODS, CdnConfig
from constructs_lib.blocks.naming import Namer
from constructs_lib.blocks.waf import OPEN_PATH, ORIGIN_HEADER, REDACTED_HEADERS, WafConfig
from constructs_lib.settings import ConfigError, StackConfig

DOMAIN = "api.example.org"
ZONE = "Z0123456789ABCDEFGHIJ"
REGIONS = ("eu-west-1", "us-west-2")
HOME = "eu-west-1"
SECRET_NAME = "variant-origin-verify-cdn"


@pytest.fixture(scope="module")
def stacks(variants) -> dict[str, dict[str, Any]]:
    return variants.environment_stacks("variant-cdn")


@pytest.fixture(scope="module")
def edge(stacks) -> dict[str, Any]:
    return stacks["variant-cdn-edge"]


@pytest.fixture(scope="module")
def distribution(edge) -> dict[str, Any]:
    return one(resources(edge, "aws_cloudfront_distribution"))


def regional(stacks: dict[str, dict[str, Any]], region: str) -> dict[str, Any]:
    return stacks[f"variant-cdn-{region}"]


def ref(reference: str, attribute: str) -> str:
    return "${" + address(reference) + "." + attribute + "}"


# --------------------------------------------------------------------------- the distribution


def test_the_distribution_answers_on_the_domain_with_tls_1_2_http_2_and_3_and_https_only(edge, distribution):
    certificate = resource_at(edge, "aws_acm_certificate", "cdn/certificate")
    assert distribution["aliases"] == [ref("${aws_acm_certificate." + _key(edge, certificate) + "}", "domain_name")]
    assert certificate["domain_name"] == DOMAIN
    viewer = distribution["viewer_certificate"]
    assert (viewer["ssl_support_method"], viewer["minimum_protocol_version"]) == ("sni-only", "TLSv1.2_2021")
    assert (distribution["http_version"], distribution["is_ipv6_enabled"]) == ("http2and3", True)
    assert distribution["default_cache_behavior"]["viewer_protocol_policy"] == "https-only"
    assert distribution["price_class"] == "PriceClass_All"


def test_its_certificate_is_in_us_east_1_and_issued_before_the_distribution_uses_it(edge, distribution):
    certificate = resource_at(edge, "aws_acm_certificate", "cdn/certificate")
    validation = resource_at(edge, "aws_acm_certificate_validation", "cdn/certificate-validation")
    assert certificate["provider"] == validation["provider"] == distribution["provider"] == "aws.us-east-1"
    assert distribution["viewer_certificate"]["acm_certificate_arn"].startswith(
        "${aws_acm_certificate_validation.cdn_certificate-validation_"
    )
    # The home region's stack writes the name's validation record: the edge writes none.
    assert "validation_record_fqdns" not in validation
    assert not [r for r in resources(edge, "aws_route53_record") if "for_each" in r]


def test_the_origin_is_the_routed_origin_name_over_https_with_the_origin_header(edge, distribution):
    [origin] = distribution["origin"]
    assert origin["domain_name"].startswith("${aws_route53_record.routing_origin-record-a-")
    config = origin["custom_origin_config"]
    assert (config["origin_protocol_policy"], config["origin_ssl_protocols"]) == ("https-only", ["TLSv1.2"])
    [header] = origin["custom_header"]
    assert header["name"] == ORIGIN_HEADER
    # Read from the home region's copy of the global stack's secret: never a value in the JSON.
    secret = edge["data"]["aws_secretsmanager_secret_version"][_data_key(header["value"])]
    assert (secret["secret_id"], secret["provider"]) == (SECRET_NAME, f"aws.{HOME}")
    assert distribution["default_cache_behavior"]["target_origin_id"] == origin["origin_id"]


def test_nothing_is_cached_and_every_viewer_header_but_host_is_forwarded(edge, distribution):
    behavior = distribution["default_cache_behavior"]
    assert behavior["allowed_methods"] == list(ALL_METHODS)
    named = {
        "cache_policy_id": ("aws_cloudfront_cache_policy", "Managed-CachingDisabled"),
        "origin_request_policy_id": ("aws_cloudfront_origin_request_policy", "Managed-AllViewerExceptHostHeader"),
        "response_headers_policy_id": ("aws_cloudfront_response_headers_policy", "Managed-SecurityHeadersPolicy"),
    }
    for argument, (kind, name) in named.items():
        policy = edge["data"][kind][_data_key(behavior[argument])]
        assert (policy["name"], policy["provider"]) == (name, "aws.us-east-1"), argument
    assert "forwarded_values" not in behavior


def test_a_cloudfront_web_acl_in_us_east_1_guards_it_with_the_regions_limits(edge, distribution, stacks):
    acl = resource_at(edge, "aws_wafv2_web_acl", "cdn/waf/web-acl")
    assert (acl["scope"], acl["provider"]) == ("CLOUDFRONT", "aws.us-east-1")
    assert distribution["web_acl_id"] == ref("${aws_wafv2_web_acl." + _key(edge, acl) + "}", "arn")
    assert acl["association_config"]["request_body"] == [{"cloudfront": {"default_size_inspection_limit": "KB_64"}}]
    regional_acl = one(resources(regional(stacks, HOME), "aws_wafv2_web_acl"))
    assert _rate_limit(acl) == _rate_limit(regional_acl) == 2000
    assert "only-through-cloudfront" not in [rule["name"] for rule in acl["rule"]]
    assert not resources(edge, "aws_wafv2_web_acl_association")


def test_its_web_acl_logs_encrypted_without_credentials(edge):
    logging = one(resources(edge, "aws_wafv2_web_acl_logging_configuration"))
    headers = [field["single_header"]["name"] for field in logging["redacted_fields"]]
    assert headers == list(REDACTED_HEADERS)
    group = resource_at(edge, "aws_cloudwatch_log_group", "cdn/waf/log-group")
    assert group["name"].startswith("aws-waf-logs-") and group["kms_key_id"].startswith("${aws_kms_key.us-east-1_key_")


def test_access_logs_go_to_an_encrypted_log_group_in_us_east_1(edge, distribution):
    group = resource_at(edge, "aws_cloudwatch_log_group", "cdn/access-log-group")
    assert group["name"].startswith("/aws/vendedlogs/cloudfront/")
    assert group["kms_key_id"].startswith("${aws_kms_key.us-east-1_key_") and group["retention_in_days"] == 365
    source = one(resources(edge, "aws_cloudwatch_log_delivery_source"))
    destination = one(resources(edge, "aws_cloudwatch_log_delivery_destination"))
    delivery = one(resources(edge, "aws_cloudwatch_log_delivery"))
    assert source["log_type"] == "ACCESS_LOGS"
    assert source["resource_arn"] == ref("${aws_cloudfront_distribution." + _key(edge, distribution) + "}", "arn")
    [configuration] = destination["delivery_destination_configuration"]
    assert configuration["destination_resource_arn"] == ref(
        "${aws_cloudwatch_log_group." + _key(edge, group) + "}", "arn"
    )
    assert destination["output_format"] == "json"
    assert delivery["delivery_source_name"].endswith(".name}")
    assert delivery["delivery_destination_arn"].endswith(".arn}")
    assert {source["provider"], destination["provider"], delivery["provider"]} == {"aws.us-east-1"}


# --------------------------------------------------------------------------- the names


def test_the_domains_latency_records_alias_the_distribution_in_place(edge, distribution, variants):
    """The same resources as without a distribution (the iam variant's): turning it on or off changes
    their target in place, so the name answers all along."""
    alias = ref("${aws_cloudfront_distribution." + _key(edge, distribution) + "}", "domain_name")
    records = {
        k: r for k, r in edge["resource"]["aws_route53_record"].items() if r["name"] == DOMAIN and r["type"] == "A"
    }
    assert sorted(r["set_identifier"] for r in records.values()) == sorted(REGIONS)
    for record in records.values():
        assert record["alias"]["name"] == alias and record["alias"]["evaluate_target_health"] is False
        assert record["alias"]["zone_id"].endswith(".hosted_zone_id}")
        assert record["health_check_id"].startswith("${aws_route53_health_check.routing_health-check-")
    without = variants.stacks["variant-iam-edge"]["resource"]["aws_route53_record"]  # eu-west-1 only
    assert [k for k in without if k.startswith("routing_latency-record-a-")] == [
        k for k in records if k.startswith("routing_latency-record-a-eu-west-1_")
    ]


def test_ipv6_callers_get_the_distribution_too(edge, distribution):
    record = resource_at(edge, "aws_route53_record", "cdn/record-aaaa")
    assert (record["name"], record["type"], record["zone_id"]) == (DOMAIN, "AAAA", ZONE)
    assert record["alias"]["name"] == ref(
        "${aws_cloudfront_distribution." + _key(edge, distribution) + "}", "domain_name"
    )


def test_the_origin_name_is_latency_routed_to_each_regions_origin_target(edge, distribution):
    records = [r for r in resources(edge, "aws_route53_record") if r["name"] == f"origin.{DOMAIN}"]
    assert sorted(r["set_identifier"] for r in records) == sorted(REGIONS)
    for record in records:
        region = record["set_identifier"]
        assert record["alias"] == {
            "name": f"{region}.origin-target.{DOMAIN}",
            "zone_id": ZONE,
            "evaluate_target_health": True,
        }
        assert record["health_check_id"].startswith(f"${{aws_route53_health_check.routing_health-check-{region}_")
    # The distribution names them by reference: it waits for them.
    assert distribution["origin"][0]["domain_name"] == "${aws_route53_record." + _key(edge, records[0]) + ".name}"


@pytest.mark.parametrize("region", REGIONS)
def test_each_region_answers_on_the_origin_name_under_a_target_of_its_own(stacks, region):
    stack = regional(stacks, region)
    origin = resource_at(stack, "aws_api_gateway_domain_name", f"{region}/domain/origin-domain-name")
    assert origin["domain_name"] == f"origin.{DOMAIN}" and origin["security_policy"] == "TLS_1_2"
    mapping = resource_at(stack, "aws_api_gateway_base_path_mapping", f"{region}/domain/origin-base-path-mapping")
    assert mapping["domain_name"] == ref("${aws_api_gateway_domain_name." + _key(stack, origin) + "}", "domain_name")
    certificate = resource_at(stack, "aws_acm_certificate", f"{region}/domain/certificate")
    assert certificate["subject_alternative_names"] == [f"{region}.{DOMAIN}", f"origin.{DOMAIN}"]
    target = resource_at(stack, "aws_route53_record", f"{region}/domain/origin-target-record-a")
    assert target["name"] == f"{region}.origin-target.{DOMAIN}"
    assert target["alias"]["name"] == ref(
        "${aws_api_gateway_domain_name." + _key(stack, origin) + "}", "regional_domain_name"
    )
    # The domain name's own target stays the domain name's custom domain: turning CloudFront on in
    # the regions first changes nothing callers use.
    domain = resource_at(stack, "aws_api_gateway_domain_name", f"{region}/domain/domain-name")
    own = resource_at(stack, "aws_route53_record", f"{region}/domain/target-record-a")
    assert own["alias"]["name"] == ref(
        "${aws_api_gateway_domain_name." + _key(stack, domain) + "}", "regional_domain_name"
    )


@pytest.mark.parametrize("region", REGIONS)
def test_only_the_home_region_writes_the_shared_validation_records(stacks, region):
    records = resource_at(regional(stacks, region), "aws_route53_record", f"{region}/domain/validation-records")
    shared = f'!contains(["{DOMAIN}", "origin.{DOMAIN}"], dvo.domain_name)'
    assert (shared in records["for_each"]) == (region != HOME)


# --------------------------------------------------------------------------- the regional WAFs


@pytest.mark.parametrize("region", REGIONS)
def test_each_regional_waf_first_refuses_what_lacks_the_origin_header_but_health(stacks, region):
    stack = regional(stacks, region)
    rule = one(resources(stack, "aws_wafv2_web_acl"))["rule"][0]
    assert (rule["name"], rule["priority"], rule["action"]) == ("only-through-cloudfront", 0, {"block": {}})
    header, path = (
        s["not_statement"]["statement"][0]["byte_match_statement"]
        for s in rule["statement"]["and_statement"]["statement"]
    )
    assert header["field_to_match"] == {"single_header": {"name": ORIGIN_HEADER}}
    assert (path["field_to_match"], path["search_string"]) == ({"uri_path": {}}, OPEN_PATH)
    assert header["positional_constraint"] == path["positional_constraint"] == "EXACTLY"
    secret = stack["data"]["aws_secretsmanager_secret_version"][_data_key(header["search_string"])]
    assert (secret["secret_id"], secret["provider"]) == (SECRET_NAME, f"aws.{region}")


@pytest.mark.parametrize("region", REGIONS)
def test_each_regional_waf_rate_limits_direct_callers_only(stacks, region):
    """Behind the distribution every caller's address is CloudFront's: its own web ACL limits each caller."""
    acl = one(resources(regional(stacks, region), "aws_wafv2_web_acl"))
    [rate] = [rule for rule in acl["rule"] if rule["name"] == "rate-limit-per-ip"]
    scope_down = rate["statement"]["rate_based_statement"]["scope_down_statement"]
    [match] = scope_down["not_statement"]["statement"]
    assert match["byte_match_statement"]["field_to_match"] == {"single_header": {"name": ORIGIN_HEADER}}
    assert [rule["priority"] for rule in acl["rule"]] == list(range(len(acl["rule"])))


@pytest.mark.parametrize("region", REGIONS)
def test_each_regional_waf_log_leaves_out_the_origin_header(stacks, region):
    logging = one(resources(regional(stacks, region), "aws_wafv2_web_acl_logging_configuration"))
    assert ORIGIN_HEADER in [field["single_header"]["name"] for field in logging["redacted_fields"]]


def test_not_enforced_the_origin_rule_only_counts():
    """cdn_origin_enforced false: for turning CloudFront on while callers still reach the regions."""
    from constructs_lib.blocks.waf import WebApplicationFirewall

    counted = WafConfig(namer=Namer("shop", "qa"), region="eu-west-1", origin_enforced=False)
    [rule, *_] = WebApplicationFirewall._rules(counted, "value")
    assert (rule.name, rule.action.count is not None, rule.action.block) == ("only-through-cloudfront", True, None)
    [rule, *_] = WebApplicationFirewall._rules(WafConfig(namer=Namer("shop", "qa"), region="eu-west-1"), "value")
    assert (rule.action.block is not None, rule.action.count) == (True, None)


def test_without_the_distribution_no_region_requires_the_header(default_synth):
    for stack in default_synth.environment_stacks().values():
        for acl in resources(stack, "aws_wafv2_web_acl"):
            assert "only-through-cloudfront" not in [rule["name"] for rule in acl["rule"]]
            assert acl["scope"] == "REGIONAL"
        assert not resources(stack, "aws_cloudfront_distribution")


# --------------------------------------------------------------------------- the secret and the canary


def test_the_origin_value_is_generated_into_a_replicated_secret_never_into_the_json(stacks):
    stack = stacks["variant-cdn-global"]
    secret = resource_at(stack, "aws_secretsmanager_secret", "origin-secret/secret")
    assert (secret["name"], secret["provider"]) == (SECRET_NAME, f"aws.{HOME}")
    assert [r["region"] for r in secret["replica"]] == ["us-west-2"]
    version = resource_at(stack, "aws_secretsmanager_secret_version", "origin-secret/value")
    assert "secret_string" not in version
    assert version["secret_string_wo"].startswith("${ephemeral.aws_secretsmanager_random_password.origin-secret_")
    generated = stack["ephemeral"]["aws_secretsmanager_random_password"]["origin-secret_generated-value"]
    assert (generated["password_length"], generated["exclude_punctuation"]) == (48, True)
    assert stack["output"]["origin_secret_name"]["value"] == SECRET_NAME
    # A new value serves as well: turning CloudFront off and on again finds no secret awaiting deletion.
    assert secret["recovery_window_in_days"] == 0


@pytest.mark.parametrize("region", REGIONS)
def test_each_canary_sends_the_origin_header_it_may_read(stacks, region):
    stack = regional(stacks, region)
    canary = resource_at(stack, "aws_synthetics_canary", f"{region}/canary/canary")
    assert canary["run_config"]["environment_variables"]["ORIGIN_SECRET_ID"] == SECRET_NAME
    role_policy = resource_at(stack, "aws_iam_role_policy", f"{region}/canary/role-policy")
    [read] = [s for s in policy_statements(stack, role_policy["policy"]) if s.get("sid") == "ReadItsSecrets"]
    assert sorted(r.rsplit(":", 1)[1] for r in read["resources"]) == sorted(
        [f"{SECRET_NAME}-??????", "variant-api-key-cdn-??????"]
    )


# --------------------------------------------------------------------------- refused


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"cdn_enabled": True}, "cdn_enabled: true needs domain_name: the name the distribution answers on"),
        (
            {"cdn_enabled": True, "domain_name": DOMAIN, "hosted_zone_id": ZONE, "waf_enabled": False},
            "cdn_enabled: true needs waf_enabled: the regional WAFs refuse the requests that bypass the distribution",
        ),
        (
            {"cdn_enabled": True, "domain_name": DOMAIN, "hosted_zone_id": ZONE, "api_auth": "iam"},
            "cdn_enabled: true cannot front api_auth 'iam': CloudFront sends the origin's Host header",
        ),
        ({"cdn_price_class": "PriceClass_300"}, 'cdn_price_class: "PriceClass_300" must be one of'),
    ],
)
def test_bad_settings_are_refused(settings, message):
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        StackConfig(**settings)


def test_a_cloudfront_web_acl_lives_in_us_east_1():
    with pytest.raises(ValueError, match='region: "eu-west-1" must be us-east-1 for a web ACL of CLOUDFRONT scope'):
        WafConfig(namer=Namer("shop", "qa"), region="eu-west-1", for_cloudfront=True)


def test_the_distributions_settings_are_checked_as_the_domains():
    with pytest.raises(ValueError, match="hosted_zone_id"):
        CdnConfig(namer=Namer("shop", "qa"), domain_name=DOMAIN, hosted_zone_id="not-a-zone")


# --------------------------------------------------------------------------- helpers


def _key(stack: dict[str, Any], resource: dict[str, Any]) -> str:
    """The logical id of a resource of the stack."""
    return resource["//"]["metadata"]["uniqueId"]


def _data_key(reference: str) -> str:
    """``${data.aws_x.key.attribute}`` -> ``key``."""
    return reference.strip("${}").split(".")[2]


def _rate_limit(acl: dict[str, Any]) -> int:
    [rule] = [r for r in acl["rule"] if r["name"] == "rate-limit-per-ip"]
    return rule["statement"]["rate_based_statement"]["limit"]


def test_its_web_acl_is_a_fixed_cost_in_us_east_1_and_its_traffic_is_priced_by_use(variants):
    from tools import cost

    rows = {(r.stack, r.region): r for r in cost.rows(list(cost.items(cost.stacks_of(variants.outdir))))}
    edge = rows[("variant-cdn-edge", "us-east-1")]
    assert "WAF web ACL, 6 rules" in edge.detail
    usage = cost.report(variants.outdir).split("Priced by use")[1]
    assert "- CloudFront: $0.085 per GB out" in usage and "- CloudFront access logs: $0.50 per GB" in usage


def test_5xx_answers_through_cloudfront_page_on_the_health_alarms_topic(edge, distribution):
    alarm = resource_at(edge, "aws_cloudwatch_metric_alarm", "cdn/errors-alarm")
    assert (alarm["alarm_name"], alarm["provider"]) == ("variant-cdn-5xx-us-east-1-cdn", "aws.us-east-1")
    assert (alarm["namespace"], alarm["metric_name"], alarm["threshold"]) == ("AWS/CloudFront", "5xxErrorRate", 5)
    assert alarm["dimensions"] == {
        "DistributionId": ref("${aws_cloudfront_distribution." + _key(edge, distribution) + "}", "id"),
        "Region": "Global",
    }
    topic = one(resources(edge, "aws_sns_topic"))
    assert alarm["alarm_actions"] == alarm["ok_actions"] == [ref("${aws_sns_topic." + _key(edge, topic) + "}", "arn")]
    assert "docs/runbooks/cdn-5xx.md" in alarm["alarm_description"]
