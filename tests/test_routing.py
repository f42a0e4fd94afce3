"""One address: with domain_name and hosted_zone_id, every region gets a certificate, custom
domains, a health check and a latency record; health alarms live in us-east-1. Without a domain the
stack has none of it. (The domain construct on its own: test_domain.py.)"""

import json

import pytest
from conftest import address_at, one, resource_at, resources

GLOBAL_REGIONS = ("us-east-1", "eu-west-1")
ROUTING_TYPES = (
    "aws_acm_certificate",
    "aws_acm_certificate_validation",
    "aws_api_gateway_domain_name",
    "aws_api_gateway_base_path_mapping",
    "aws_route53_health_check",
    "aws_route53_record",
)


@pytest.mark.parametrize("kind", ROUTING_TYPES)
def test_without_a_domain_there_is_no_routing(dev, kind):
    assert not resources(dev, kind)


def test_without_a_domain_there_are_no_routing_outputs_and_no_health_panel(dev):
    assert not {"api_url", "regional_api_urls"} & set(dev["output"])
    body = json.loads(one(resources(dev, "aws_cloudwatch_dashboard"))["dashboard_body"])
    assert not any("Health" in w["properties"]["title"] for w in body["widgets"])


@pytest.mark.parametrize("region", GLOBAL_REGIONS)
def test_each_region_has_its_certificate_domains_and_health_check(global_stack, region):
    certificate = resource_at(global_stack, "aws_acm_certificate", f"{region}/domain/certificate")
    assert certificate["provider"] == f"aws.{region}"
    assert certificate["domain_name"] == "api.example.com"
    assert certificate["subject_alternative_names"] == [f"{region}.api.example.com"]
    check = resource_at(global_stack, "aws_route53_health_check", f"{region}/domain/health-check")
    regional_record = address_at(global_stack, "aws_route53_record", f"{region}/domain/regional-record-a")
    assert resource_at(global_stack, "aws_route53_record", f"{region}/domain/regional-record-a")["name"] == (
        f"{region}.api.example.com"
    )
    assert (check["fqdn"], check["resource_path"], check["type"]) == (
        "${" + regional_record + ".fqdn}",
        "/api/health",
        "HTTPS",
    )
    mapping = resource_at(global_stack, "aws_api_gateway_base_path_mapping", f"{region}/domain/base-path-mapping")
    assert (
        mapping["api_id"]
        == "${" + address_at(global_stack, "aws_api_gateway_rest_api", f"{region}/api/rest-api") + ".id}"
    )
    # A reference to the stage, so the mapping waits for it.
    stage = address_at(global_stack, "aws_api_gateway_stage", f"{region}/api/stage")
    assert mapping["stage_name"] == "${" + stage + ".stage_name}"


def test_one_latency_record_per_region_on_the_one_name(global_stack):
    records = [r for r in resources(global_stack, "aws_route53_record") if "latency_routing_policy" in r]
    assert sorted(r["set_identifier"] for r in records) == sorted(GLOBAL_REGIONS)
    for record in records:
        assert (record["name"], record["type"], record["zone_id"]) == ("api.example.com", "A", "Z0123456789ABCDEFGHIJ")
        assert record["latency_routing_policy"] == {"region": record["set_identifier"]}
        assert record["alias"]["evaluate_target_health"] is True
        region = record["set_identifier"]
        check = address_at(global_stack, "aws_route53_health_check", f"{region}/domain/health-check")
        assert record["health_check_id"] == "${" + check + ".id}"


@pytest.mark.parametrize("region", GLOBAL_REGIONS)
def test_a_region_takes_callers_only_once_its_mapping_and_table_copy_exist(global_stack, region):
    """The latency record waits for the stage's mapping on the global name and for the region's copy
    of the table (the table in the home region, a replica elsewhere): a region being added is not
    sent callers it cannot answer."""
    [record] = [
        r
        for r in resources(global_stack, "aws_route53_record")
        if "latency_routing_policy" in r and r["set_identifier"] == region
    ]
    mapping = address_at(global_stack, "aws_api_gateway_base_path_mapping", f"{region}/domain/base-path-mapping")
    kind, copy = (
        ("aws_dynamodb_table", "table/table")
        if region == "eu-west-1"  # the home region
        else ("aws_dynamodb_table_replica", f"table/replica-{region}")
    )
    assert record["depends_on"] == [mapping, address_at(global_stack, kind, copy)]


def test_health_alarms_in_us_east_1_notify_its_regional_topic(global_stack):
    alarms = [a for a in resources(global_stack, "aws_cloudwatch_metric_alarm") if a["namespace"] == "AWS/Route53"]
    assert sorted(a["alarm_name"] for a in alarms) == [
        "iac-aws-nova-health-eu-west-1-dev",
        "iac-aws-nova-health-us-east-1-dev",
    ]
    topic = "${" + address_at(global_stack, "aws_sns_topic", "us-east-1/monitoring/alarm-topic") + ".arn}"
    for alarm in alarms:
        assert alarm["provider"] == "aws.us-east-1"
        assert (alarm["metric_name"], alarm["statistic"], alarm["comparison_operator"], alarm["threshold"]) == (
            "HealthCheckStatus",
            "Minimum",
            "LessThanThreshold",
            1,
        )
        assert alarm["treat_missing_data"] == "breaching"
        assert alarm["alarm_actions"] == [topic]
    # No provider of its own: us-east-1 is a configured region.
    assert [p["alias"] for p in global_stack["provider"]["aws"]] == list(GLOBAL_REGIONS)


def test_without_us_east_1_the_health_alarms_bring_their_own_provider_key_and_topic(custom):
    providers = {p["alias"]: p for p in custom["provider"]["aws"]}
    assert sorted(providers) == ["eu-west-1", "us-east-1"]
    assert providers["us-east-1"]["default_tags"][0]["tags"]["Region"] == "us-east-1"
    topic = resource_at(custom, "aws_sns_topic", "health-alarms/alarm-topic")
    assert (topic["provider"], topic["name"]) == ("aws.us-east-1", "iac-aws-nova-health-alarms-us-east-1-prod")
    assert topic["kms_master_key_id"] == "${" + address_at(custom, "aws_kms_key", "us-east-1/key/key") + ".arn}"
    alarm = resource_at(custom, "aws_cloudwatch_metric_alarm", "health-alarms/health-eu-west-1")
    assert alarm["provider"] == "aws.us-east-1"
    assert alarm["dimensions"] == {
        "HealthCheckId": "${" + address_at(custom, "aws_route53_health_check", "eu-west-1/domain/health-check") + ".id}"
    }
    subscription = resource_at(custom, "aws_sns_topic_subscription", "health-alarms/alarm-email")
    assert subscription["endpoint"] == "ops@example.org"


def test_the_home_regions_api_key_is_the_key_of_every_region(global_stack):
    home = resource_at(global_stack, "aws_api_gateway_api_key", "eu-west-1/api/api-key")
    other = resource_at(global_stack, "aws_api_gateway_api_key", "us-east-1/api/api-key")
    assert "value" not in home
    assert (
        other["value"]
        == "${" + address_at(global_stack, "aws_api_gateway_api_key", "eu-west-1/api/api-key") + ".value}"
    )


def test_one_address_and_the_regional_addresses_are_outputs(global_stack):
    outputs = global_stack["output"]
    assert outputs["api_url"]["value"] == "https://api.example.com/api"
    assert outputs["regional_api_urls"]["value"] == {
        "eu-west-1": "https://eu-west-1.api.example.com/api",
        "us-east-1": "https://us-east-1.api.example.com/api",
    }


def test_dashboard_shows_the_health_checks_from_us_east_1(global_stack):
    body = json.loads(one(resources(global_stack, "aws_cloudwatch_dashboard"))["dashboard_body"])
    [panel] = [w["properties"] for w in body["widgets"] if w["properties"]["title"].startswith("Health checks")]
    assert [m[-1] for m in panel["metrics"]] == [
        {"label": "us-east-1", "region": "us-east-1"},
        {"label": "eu-west-1", "region": "us-east-1"},
    ]
    assert all(m[2] == "HealthCheckId" and m[3].startswith("${aws_route53_health_check.") for m in panel["metrics"])


def test_the_home_region_alone_owns_the_shared_validation_record(global_stack):
    """ACM's validation record for the one name is the same for every region's certificate: the
    home region (eu-west-1) writes it, the other regions only their regional name's and wait for
    the home region's record."""
    owner = address_at(global_stack, "aws_route53_record", "eu-west-1/domain/validation-records")
    assert (
        " if " not in resource_at(global_stack, "aws_route53_record", "eu-west-1/domain/validation-records")["for_each"]
    )
    follower = resource_at(global_stack, "aws_route53_record", "us-east-1/domain/validation-records")
    assert follower["for_each"].endswith(' if dvo.domain_name != "api.example.com" }}')
    validation = resource_at(global_stack, "aws_acm_certificate_validation", "us-east-1/domain/certificate-validation")
    assert validation["validation_record_fqdns"].endswith(f'[{owner}["api.example.com"].fqdn])}}')
