"""One address: with domain_name and hosted_zone_id, every regional stack gets a certificate, custom
domains and the records that reach it; the global stack owns the one name's validation record; the
edge stack, deployed last, routes the one name to the regions that exist, with health checks and
their alarms in us-east-1. Without a domain there is none of it. (The domain construct on its own:
test_domain.py.)"""

import json

import pytest
from conftest import CUSTOM, GLOBAL, address_at, one, region_key_arn, resource_at, resources

from constructs_lib.settings import StackConfig

GLOBAL_REGIONS = ("us-east-1", "eu-west-1")
ZONE = "Z0123456789ABCDEFGHIJ"
ROUTING_TYPES = (
    "aws_acm_certificate",
    "aws_acm_certificate_validation",
    "aws_api_gateway_domain_name",
    "aws_api_gateway_base_path_mapping",
    "aws_route53_health_check",
    "aws_route53_record",
)


@pytest.fixture(scope="module")
def stacks(synth):
    """The GLOBAL environment's stacks, by what they are: global, each region, edge."""
    found = synth(GLOBAL).environment_stacks("iac-aws-nova-dev")
    return {name.removeprefix("iac-aws-nova-dev-"): stack for name, stack in found.items()}


@pytest.mark.parametrize("kind", ROUTING_TYPES)
def test_without_a_domain_there_is_no_routing(dev, kind):
    assert not resources(dev, kind)


def test_without_a_domain_there_are_no_routing_outputs_and_no_health_panel(dev):
    assert not {"api_url", "regional_api_urls"} & set(dev["output"])
    body = json.loads(one(resources(dev, "aws_cloudwatch_dashboard"))["dashboard_body"])
    assert not any("Health" in w["properties"]["title"] for w in body["widgets"])


@pytest.mark.parametrize("region", GLOBAL_REGIONS)
def test_each_region_has_its_certificate_domains_and_records(stacks, region):
    stack = stacks[region]
    certificate = resource_at(stack, "aws_acm_certificate", f"{region}/domain/certificate")
    assert certificate["provider"] == f"aws.{region}"
    assert certificate["domain_name"] == "api.example.com"
    assert certificate["subject_alternative_names"] == [f"{region}.api.example.com"]
    records = {r["name"]: r for r in resources(stack, "aws_route53_record") if "alias" in r}
    assert sorted(records) == [f"{region}.api.example.com", f"{region}.target.api.example.com"]
    mapping = resource_at(stack, "aws_api_gateway_base_path_mapping", f"{region}/domain/base-path-mapping")
    assert mapping["api_id"] == "${" + address_at(stack, "aws_api_gateway_rest_api", f"{region}/api/rest-api") + ".id}"
    # A reference to the stage, so the mapping waits for it.
    stage = address_at(stack, "aws_api_gateway_stage", f"{region}/api/stage")
    assert mapping["stage_name"] == "${" + stage + ".stage_name}"


@pytest.mark.parametrize("region", GLOBAL_REGIONS)
def test_a_regions_target_record_exists_only_once_the_one_name_is_mapped_there(stacks, region):
    """The edge's latency record points at the target record, which Route 53 requires to exist:
    the target aliases the one name's custom domain and waits for its mapping to the stage."""
    stack = stacks[region]
    target = resource_at(stack, "aws_route53_record", f"{region}/domain/target-record-a")
    domain = address_at(stack, "aws_api_gateway_domain_name", f"{region}/domain/domain-name")
    mapping = address_at(stack, "aws_api_gateway_base_path_mapping", f"{region}/domain/base-path-mapping")
    assert target["name"] == f"{region}.target.api.example.com"
    assert target["alias"] == {
        "name": "${" + domain + ".regional_domain_name}",
        "zone_id": "${" + domain + ".regional_zone_id}",
        "evaluate_target_health": True,
    }
    assert target["depends_on"] == [mapping]


def test_one_latency_record_per_region_on_the_one_name_in_the_edge_stack(stacks):
    edge = stacks["edge"]
    records = resources(edge, "aws_route53_record")
    assert sorted(r["set_identifier"] for r in records) == sorted(GLOBAL_REGIONS)
    for record in records:
        region = record["set_identifier"]
        assert (record["name"], record["type"], record["zone_id"]) == ("api.example.com", "A", ZONE)
        assert record["latency_routing_policy"] == {"region": region}
        # An alias of the region's target record in the same zone: a name the edge derives.
        assert record["alias"] == {
            "name": f"{region}.target.api.example.com",
            "zone_id": ZONE,
            "evaluate_target_health": True,
        }
        check = address_at(edge, "aws_route53_health_check", f"routing/health-check-{region}")
        assert record["health_check_id"] == "${" + check + ".id}"
    for region in GLOBAL_REGIONS:
        assert not [r for r in resources(stacks[region], "aws_route53_record") if "latency_routing_policy" in r]


def test_health_checks_probe_each_regions_own_name(stacks):
    checks = resources(stacks["edge"], "aws_route53_health_check")
    assert sorted(c["fqdn"] for c in checks) == sorted(f"{r}.api.example.com" for r in GLOBAL_REGIONS)
    for check in checks:
        assert (check["resource_path"], check["type"], check["port"], check["enable_sni"]) == (
            "/api/health",
            "HTTPS",
            443,
            True,
        )


def test_a_region_being_removed_is_no_longer_routed_to(synth):
    removing = StackConfig(**{**GLOBAL.__dict__, "removing_regions": ("us-east-1",)})
    edge = synth(removing).stacks["iac-aws-nova-dev-edge"]
    assert [r["set_identifier"] for r in resources(edge, "aws_route53_record")] == ["eu-west-1"]
    assert [c["fqdn"] for c in resources(edge, "aws_route53_health_check")] == ["eu-west-1.api.example.com"]
    # Still deployed: its stack is there, and its copy of the table loses its protection only.
    assert "iac-aws-nova-dev-us-east-1" in synth(removing).stacks
    replica = one(resources(synth(removing).stacks["iac-aws-nova-dev-global"], "aws_dynamodb_table_replica"))
    assert replica["deletion_protection_enabled"] is False and "prevent_destroy" not in replica.get("lifecycle", {})
    table = one(resources(synth(removing).stacks["iac-aws-nova-dev-global"], "aws_dynamodb_table"))
    assert table["deletion_protection_enabled"] is True and table["lifecycle"]["prevent_destroy"] is True


def test_the_edge_says_which_regions_it_routes_to_for_a_teardown_to_check(synth, default_synth):
    """A region's teardown reads this output: its deploy with the region in removing_regions must
    have reached the edge. Without a domain the edge routes to none."""
    removing = StackConfig(**{**GLOBAL.__dict__, "removing_regions": ("us-east-1",)})
    assert synth(removing).stacks["iac-aws-nova-dev-edge"]["output"]["routed_regions"]["value"] == ["eu-west-1"]
    assert default_synth.stacks["iac-aws-nova-dev-edge"]["output"]["routed_regions"]["value"] == []


def test_health_alarms_in_us_east_1_notify_a_topic_of_their_own(stacks):
    edge = stacks["edge"]
    alarms = resources(edge, "aws_cloudwatch_metric_alarm")
    assert sorted(a["alarm_name"] for a in alarms) == [
        "iac-aws-nova-health-eu-west-1-dev",
        "iac-aws-nova-health-us-east-1-dev",
    ]
    topic = resource_at(edge, "aws_sns_topic", "health-alarms/alarm-topic")
    assert (topic["provider"], topic["name"]) == ("aws.us-east-1", "iac-aws-nova-health-alarms-us-east-1-dev")
    # us-east-1 is a configured region: its key (the global stack's) is found by its alias.
    assert topic["kms_master_key_id"] == region_key_arn(edge, "us-east-1")
    for alarm in alarms:
        assert alarm["provider"] == "aws.us-east-1"
        assert (alarm["metric_name"], alarm["statistic"], alarm["comparison_operator"], alarm["threshold"]) == (
            "HealthCheckStatus",
            "Minimum",
            "LessThanThreshold",
            1,
        )
        assert alarm["treat_missing_data"] == "breaching"
        assert alarm["alarm_actions"] == [
            "${" + address_at(edge, "aws_sns_topic", "health-alarms/alarm-topic") + ".arn}"
        ]
    assert sorted(p["alias"] for p in edge["provider"]["aws"]) == ["eu-west-1", "us-east-1"]


def test_without_us_east_1_the_health_alarms_bring_their_own_provider_key_and_topic(synth):
    edge = synth(CUSTOM).stacks["iac-aws-nova-prod-edge"]
    providers = {p["alias"]: p for p in edge["provider"]["aws"]}
    assert sorted(providers) == ["eu-west-1", "us-east-1"]
    assert providers["us-east-1"]["default_tags"][0]["tags"]["Region"] == "us-east-1"
    topic = resource_at(edge, "aws_sns_topic", "health-alarms/alarm-topic")
    assert (topic["provider"], topic["name"]) == ("aws.us-east-1", "iac-aws-nova-health-alarms-us-east-1-prod")
    assert topic["kms_master_key_id"] == "${" + address_at(edge, "aws_kms_key", "us-east-1/key/key") + ".arn}"
    alarm = resource_at(edge, "aws_cloudwatch_metric_alarm", "health-alarms/health-eu-west-1")
    assert alarm["dimensions"] == {
        "HealthCheckId": "${" + address_at(edge, "aws_route53_health_check", "routing/health-check-eu-west-1") + ".id}"
    }
    subscription = resource_at(edge, "aws_sns_topic_subscription", "health-alarms/alarm-email")
    assert subscription["endpoint"] == "ops@example.org"


def test_every_region_takes_the_api_key_from_its_own_copy_of_the_shared_secret(stacks):
    secret = one(resources(stacks["global"], "aws_secretsmanager_secret"))
    assert secret["provider"] == "aws.eu-west-1"  # the home region
    assert secret["kms_key_id"] == "${" + address_at(stacks["global"], "aws_kms_key", "eu-west-1/key/key") + ".arn}"
    us_key = "${" + address_at(stacks["global"], "aws_kms_key", "us-east-1/key/key") + ".arn}"
    assert secret["replica"] == [{"kms_key_id": us_key, "region": "us-east-1"}]
    # The value: generated by an ephemeral resource into a write-only argument, once (version 1), so
    # it is in no plan and no state, and a value put by hand (a rotation) is never overwritten.
    version = one(resources(stacks["global"], "aws_secretsmanager_secret_version"))
    [(generator, arguments)] = stacks["global"]["ephemeral"]["aws_secretsmanager_random_password"].items()
    assert (arguments["provider"], arguments["password_length"], arguments["exclude_punctuation"]) == (
        "aws.eu-west-1",
        40,
        True,
    )
    assert (
        version["secret_string_wo"] == f"${{ephemeral.aws_secretsmanager_random_password.{generator}.random_password}}"
    )
    assert version["secret_string_wo_version"] == 1 and "secret_string" not in version
    for region in GLOBAL_REGIONS:
        stack = stacks[region]
        [(name, read)] = stack["data"]["aws_secretsmanager_secret_version"].items()
        assert (read["provider"], read["secret_id"]) == (f"aws.{region}", secret["name"])
        key = one(resources(stack, "aws_api_gateway_api_key"))
        assert key["value"] == f"${{data.aws_secretsmanager_secret_version.{name}.secret_string}}"
        # A rotated value replaces the key: the new key (and its usage plan entry) first.
        assert key["lifecycle"] == {"create_before_destroy": True}
        assert one(resources(stack, "aws_api_gateway_usage_plan_key"))["lifecycle"] == {"create_before_destroy": True}


def test_one_address_and_the_regional_addresses_are_outputs(global_stack):
    outputs = global_stack["output"]
    assert outputs["api_url"]["value"] == "https://api.example.com/api"
    assert outputs["regional_api_urls"]["value"] == {
        "eu-west-1": "https://eu-west-1.api.example.com/api",
        "us-east-1": "https://us-east-1.api.example.com/api",
    }


def test_dashboard_shows_the_health_checks_from_us_east_1(stacks):
    edge = stacks["edge"]
    body = json.loads(one(resources(edge, "aws_cloudwatch_dashboard"))["dashboard_body"])
    [panel] = [w["properties"] for w in body["widgets"] if w["properties"]["title"].startswith("Health checks")]
    assert [m[-1] for m in panel["metrics"]] == [
        {"label": "us-east-1", "region": "us-east-1"},
        {"label": "eu-west-1", "region": "us-east-1"},
    ]
    assert all(m[2] == "HealthCheckId" and m[3].startswith("${aws_route53_health_check.") for m in panel["metrics"])


def test_the_home_regions_stack_alone_owns_the_shared_validation_record(stacks):
    """ACM's validation record for the one name is the same for every region's certificate: the
    home region's stack (eu-west-1, removed last) writes it; every other region writes only its
    regional name's and waits without naming the shared record, so its plan never reads the home
    region."""
    home = stacks["eu-west-1"]
    owner = resource_at(home, "aws_route53_record", "eu-west-1/domain/validation-records")
    assert " if " not in owner["for_each"]
    validation = resource_at(home, "aws_acm_certificate_validation", "eu-west-1/domain/certificate-validation")
    assert validation["validation_record_fqdns"].startswith("${tolist([ for key, val in aws_route53_record.")
    assert not resources(stacks["global"], "aws_acm_certificate")
    other = stacks["us-east-1"]
    records = address_at(other, "aws_route53_record", "us-east-1/domain/validation-records")
    follower = resource_at(other, "aws_route53_record", "us-east-1/domain/validation-records")
    assert follower["for_each"].endswith(' if dvo.domain_name != "api.example.com" }}')
    validation = resource_at(other, "aws_acm_certificate_validation", "us-east-1/domain/certificate-validation")
    assert "validation_record_fqdns" not in validation
    assert validation["depends_on"] == [records]
