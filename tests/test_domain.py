"""The custom domain construct on its own, in a bare stack: one synth for the whole module."""

from __future__ import annotations

import json
from typing import Any

import pytest
from conftest import address, one, resources

from constructs_lib.blocks.domain import CustomDomain, CustomDomainConfig
from constructs_lib.blocks.naming import Namer
from constructs_lib.blocks.routing import LatencyRouting, RoutingConfig
from constructs_lib.cdk import aws
from constructs_lib.cdk import core as cdk

NAMER = Namer("shop", "qa")
REGION = "eu-west-1"
DOMAIN = "api.example.com"
REGIONAL = f"{REGION}.{DOMAIN}"
ZONE = "Z0123456789ABCDEFGHIJ"
REST_API_ID = "abc123defg"
STAGE = "qa"


def config(**overrides: Any) -> CustomDomainConfig:
    settings: dict[str, Any] = {"namer": NAMER, "region": REGION, "domain_name": DOMAIN, "hosted_zone_id": ZONE}
    return CustomDomainConfig(**{**settings, **overrides})


@pytest.fixture(scope="module")
def built() -> tuple[CustomDomain, dict[str, Any]]:
    """The construct (non-default threshold and interval, to see them flow through) and its
    stack's JSON."""
    stack = cdk.TerraformStack(cdk.Testing.app(), "isolated")
    provider = aws.AwsProvider(stack, "aws", region=REGION, alias=REGION)
    domain = CustomDomain(
        stack,
        "domain",
        provider=provider,
        rest_api_id=REST_API_ID,
        stage_name=STAGE,
        config=config(health_check_failure_threshold=5, health_check_interval_seconds=10),
    )
    return domain, json.loads(cdk.Testing.synth(stack))


@pytest.fixture(scope="module")
def stack(built: tuple[CustomDomain, dict[str, Any]]) -> dict[str, Any]:
    return built[1]


def test_certificate_covers_both_names_and_is_validated_by_dns(stack: dict[str, Any]) -> None:
    certificate = one(resources(stack, "aws_acm_certificate"))
    assert certificate["domain_name"] == DOMAIN
    assert certificate["subject_alternative_names"] == [REGIONAL]
    assert certificate["validation_method"] == "DNS"
    assert certificate["key_algorithm"] == "RSA_2048"
    assert certificate["lifecycle"] == {"create_before_destroy": True}


def test_validation_records_are_one_per_validation_option(stack: dict[str, Any]) -> None:
    record = one([r for r in resources(stack, "aws_route53_record") if "for_each" in r])
    [certificate_name] = stack["resource"]["aws_acm_certificate"]
    # Over the set, not tolist(set): a new certificate's list is unknown at plan time, so keys of a
    # list would be too, and the first plan would fail (make test-plan checks it with Terraform).
    assert record["for_each"] == (
        f"${{{{ for dvo in aws_acm_certificate.{certificate_name}.domain_validation_options : "
        "dvo.domain_name => dvo }}"
    )
    assert record["name"] == "${each.value.resource_record_name}"
    assert record["type"] == "${each.value.resource_record_type}"
    assert record["records"] == ["${each.value.resource_record_value}"]
    assert record["zone_id"] == ZONE
    assert record["ttl"] == 60
    # UPSERT: a record left by an earlier deployment is taken over.
    assert record["allow_overwrite"] is True


@pytest.fixture(scope="module")
def follower() -> dict[str, Any]:
    """A region that is not the owner of the shared validation record (given the owner's fqdn)."""
    stack = cdk.TerraformStack(cdk.Testing.app(), "follower")
    provider = aws.AwsProvider(stack, "aws", region="us-east-1", alias="us-east-1")
    CustomDomain(
        stack,
        "domain",
        provider=provider,
        rest_api_id=REST_API_ID,
        stage_name=STAGE,
        owns_shared_validation=False,
        shared_validation_fqdn="owner.example.com",
        config=config(region="us-east-1"),
    )
    return json.loads(cdk.Testing.synth(stack))


def test_a_region_whose_shared_record_is_in_another_stack_waits_for_its_own_records_only() -> None:
    """The provider checks a given list of fqdns against every name's record, and the shared
    one is another stack's: the wait lists none and depends on this region's records."""
    stack = cdk.TerraformStack(cdk.Testing.app(), "elsewhere")
    provider = aws.AwsProvider(stack, "aws", region="us-east-1", alias="us-east-1")
    CustomDomain(
        stack,
        "domain",
        provider=provider,
        rest_api_id=REST_API_ID,
        stage_name=STAGE,
        owns_shared_validation=False,
        config=config(region="us-east-1"),
    )
    synthesized = json.loads(cdk.Testing.synth(stack))
    validation = one(resources(synthesized, "aws_acm_certificate_validation"))
    [records_name] = [k for k, v in synthesized["resource"]["aws_route53_record"].items() if "for_each" in v]
    assert "validation_record_fqdns" not in validation
    assert validation["depends_on"] == [f"aws_route53_record.{records_name}"]


def test_an_owner_is_given_no_shared_record() -> None:
    stack = cdk.TerraformStack(cdk.Testing.app(), "confused")
    provider = aws.AwsProvider(stack, "aws", region="us-east-1", alias="us-east-1")
    with pytest.raises(ValueError, match="shared_validation_fqdn: given, so owns_shared_validation must be False"):
        CustomDomain(
            stack,
            "domain",
            provider=provider,
            rest_api_id=REST_API_ID,
            stage_name=STAGE,
            shared_validation_fqdn="owner.example.com",
            config=config(region="us-east-1"),
        )


def test_a_follower_region_writes_only_its_regional_names_validation_record(follower: dict[str, Any]) -> None:
    """ACM's record for the shared name is the same for every region's certificate: exactly one
    region owns it, so removing another region never deletes a record the others renew with."""
    record = one([r for r in resources(follower, "aws_route53_record") if "for_each" in r])
    [certificate_name] = follower["resource"]["aws_acm_certificate"]
    assert record["for_each"] == (
        f"${{{{ for dvo in aws_acm_certificate.{certificate_name}.domain_validation_options : "
        f'dvo.domain_name => dvo if dvo.domain_name != "{DOMAIN}" }}}}'
    )


def test_a_follower_waits_for_the_owners_shared_record_too(follower: dict[str, Any]) -> None:
    validation = one(resources(follower, "aws_acm_certificate_validation"))
    [records_name] = [k for k, v in follower["resource"]["aws_route53_record"].items() if "for_each" in v]
    assert validation["validation_record_fqdns"] == (
        f'${{concat(tolist([ for key, val in aws_route53_record.{records_name}: val.fqdn]), ["owner.example.com"])}}'
    )


def test_validation_waits_for_the_records_fqdns(stack: dict[str, Any]) -> None:
    validation = one(resources(stack, "aws_acm_certificate_validation"))
    [certificate_name] = stack["resource"]["aws_acm_certificate"]
    [records_name] = [k for k, v in stack["resource"]["aws_route53_record"].items() if "for_each" in v]
    assert validation["certificate_arn"] == f"${{aws_acm_certificate.{certificate_name}.arn}}"
    assert validation["validation_record_fqdns"] == (
        f"${{tolist([ for key, val in aws_route53_record.{records_name}: val.fqdn])}}"
    )


def test_both_domain_names_are_regional_tls12_on_the_validated_certificate(stack: dict[str, Any]) -> None:
    [validation_name] = stack["resource"]["aws_acm_certificate_validation"]
    domains = {d["domain_name"]: d for d in resources(stack, "aws_api_gateway_domain_name")}
    assert set(domains) == {DOMAIN, REGIONAL}
    for domain in domains.values():
        assert domain["endpoint_configuration"] == {"types": ["REGIONAL"]}
        assert domain["security_policy"] == "TLS_1_2"
        assert domain["regional_certificate_arn"] == (
            f"${{aws_acm_certificate_validation.{validation_name}.certificate_arn}}"
        )
        assert "certificate_arn" not in domain


def test_base_path_mappings_map_each_domain_root_to_the_stage(stack: dict[str, Any]) -> None:
    domain_addresses = {
        f"aws_api_gateway_domain_name.{k}": v["domain_name"]
        for k, v in stack["resource"]["aws_api_gateway_domain_name"].items()
    }
    mappings = resources(stack, "aws_api_gateway_base_path_mapping")
    assert len(mappings) == 2
    mapped = set()
    for mapping in mappings:
        assert mapping["api_id"] == REST_API_ID
        assert mapping["stage_name"] == STAGE
        assert "base_path" not in mapping  # the root
        assert mapping["domain_name"].endswith(".domain_name}")
        mapped.add(domain_addresses[address(mapping["domain_name"])])
    assert mapped == {DOMAIN, REGIONAL}


def _records(stack: dict[str, Any], name: str) -> list[dict[str, Any]]:
    return [r for r in resources(stack, "aws_route53_record") if r["name"] == name]


def _alias_target(stack: dict[str, Any], domain_name: str) -> str:
    [key] = [k for k, v in stack["resource"]["aws_api_gateway_domain_name"].items() if v["domain_name"] == domain_name]
    return f"aws_api_gateway_domain_name.{key}"


def test_target_record_aliases_the_one_names_domain_once_it_is_mapped(stack: dict[str, Any]) -> None:
    record = one(_records(stack, f"{REGION}.target.{DOMAIN}"))
    assert (record["type"], record["zone_id"]) == ("A", ZONE)
    assert not {"set_identifier", "latency_routing_policy", "health_check_id"} & set(record)
    target = _alias_target(stack, DOMAIN)
    assert record["alias"] == {
        "name": f"${{{target}.regional_domain_name}}",
        "zone_id": f"${{{target}.regional_zone_id}}",
        "evaluate_target_health": True,
    }
    [mapping] = [k for k, v in stack["resource"]["aws_api_gateway_base_path_mapping"].items() if "regional" not in k]
    assert record["depends_on"] == [f"aws_api_gateway_base_path_mapping.{mapping}"]


def test_regional_record_is_a_simple_alias_to_its_own_domain(stack: dict[str, Any]) -> None:
    record = one(_records(stack, REGIONAL))
    assert record["type"] == "A"
    assert record["zone_id"] == ZONE
    assert not {"set_identifier", "latency_routing_policy", "health_check_id"} & set(record)
    target = _alias_target(stack, REGIONAL)
    assert record["alias"]["name"] == f"${{{target}.regional_domain_name}}"
    assert record["alias"]["zone_id"] == f"${{{target}.regional_zone_id}}"


def test_no_aaaa_records(stack: dict[str, Any]) -> None:
    assert {r["type"] for r in resources(stack, "aws_route53_record") if "for_each" not in r} == {"A"}


def test_every_resource_uses_the_regions_provider(stack: dict[str, Any]) -> None:
    everything = [r for kind in stack["resource"].values() for r in kind.values()]
    assert len(everything) == 9
    assert {r.get("provider") for r in everything} == {f"aws.{REGION}"}


def test_terraform_addresses_are_stable(stack: dict[str, Any]) -> None:
    """Renaming a construct id replaces the resource (a DNS record, a certificate): keep them."""
    names = {f"{kind}.{name.rsplit('_', 1)[0]}" for kind, found in stack["resource"].items() for name in found}
    assert names == {
        "aws_acm_certificate.domain_certificate",
        "aws_route53_record.domain_validation-records",
        "aws_acm_certificate_validation.domain_certificate-validation",
        "aws_api_gateway_domain_name.domain_domain-name",
        "aws_api_gateway_domain_name.domain_regional-domain-name",
        "aws_api_gateway_base_path_mapping.domain_base-path-mapping",
        "aws_api_gateway_base_path_mapping.domain_regional-base-path-mapping",
        "aws_route53_record.domain_regional-record-a",
        "aws_route53_record.domain_target-record-a",
    }


def test_properties(built: tuple[CustomDomain, dict[str, Any]]) -> None:
    domain = built[0]
    assert domain.domain_name == DOMAIN
    assert domain.regional_domain_name == REGIONAL
    assert domain.url == "https://api.example.com/api"
    assert domain.regional_url == "https://eu-west-1.api.example.com/api"
    # Tokens until resolved: checked by what the synthesized stack makes of them.
    assert domain.target_record_name == "eu-west-1.target.api.example.com"
    assert isinstance(domain.certificate_arn, str) and isinstance(domain.validation_fqdn, str)


# -- the latency routing on its own -----------------------------------------------------------------
@pytest.fixture(scope="module")
def routed() -> dict[str, Any]:
    stack = cdk.TerraformStack(cdk.Testing.app(), "routing")
    provider = aws.AwsProvider(stack, "aws", region="us-east-1", alias="us-east-1")
    LatencyRouting(
        stack,
        "routing",
        provider=provider,
        config=RoutingConfig(
            namer=NAMER,
            regions=(REGION, "us-east-1"),
            domain_name=DOMAIN,
            hosted_zone_id=ZONE,
            health_check_failure_threshold=5,
            health_check_interval_seconds=10,
        ),
    )
    return json.loads(cdk.Testing.synth(stack))


def test_health_check_probes_each_regions_own_name(routed: dict[str, Any]) -> None:
    checks = {c["fqdn"]: c for c in resources(routed, "aws_route53_health_check")}
    assert sorted(checks) == [f"eu-west-1.{DOMAIN}", f"us-east-1.{DOMAIN}"]
    check = checks[REGIONAL]
    assert (check["type"], check["port"], check["resource_path"]) == ("HTTPS", 443, "/api/health")
    assert (check["failure_threshold"], check["request_interval"]) == (5, 10)
    assert check["measure_latency"] is True and check["enable_sni"] is True
    assert check["tags"] == {"Name": "shop-health-eu-west-1-qa"}
    assert check["lifecycle"] == {"create_before_destroy": True}


def test_latency_record_routes_to_the_regions_target_while_healthy(routed: dict[str, Any]) -> None:
    checks = {c["fqdn"]: k for k, c in routed["resource"]["aws_route53_health_check"].items()}
    for record in resources(routed, "aws_route53_record"):
        region = record["set_identifier"]
        assert (record["name"], record["type"], record["zone_id"]) == (DOMAIN, "A", ZONE)
        assert record["latency_routing_policy"] == {"region": region}
        assert record["health_check_id"] == f"${{aws_route53_health_check.{checks[f'{region}.{DOMAIN}']}.id}}"
        assert record["alias"] == {"name": f"{region}.target.{DOMAIN}", "zone_id": ZONE, "evaluate_target_health": True}


def test_routing_needs_a_region() -> None:
    with pytest.raises(ValueError, match="regions: the one address needs at least one region"):
        RoutingConfig(namer=NAMER, regions=(), domain_name=DOMAIN, hosted_zone_id=ZONE)


def test_config_defaults() -> None:
    defaults = config()
    assert defaults.health_check_failure_threshold == 3
    assert defaults.health_check_interval_seconds == 30
    assert defaults.regional_domain_name == REGIONAL


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"domain_name": "API.example.com"}, r'domain_name: "API\.example\.com" has the label "API"'),
        ({"domain_name": "localhost"}, 'domain_name: "localhost" must have at least two labels'),
        ({"domain_name": "api.example.com."}, r'domain_name: "api\.example\.com\." has the label ""'),
        ({"domain_name": "-api.example.com"}, 'has the label "-api"'),
        ({"domain_name": "api_v1.example.com"}, 'has the label "api_v1"'),
        ({"domain_name": f"{'a' * 64}.example.com"}, 'domain_name: "a{64}.example.com" has the label "a{64}"'),
        (
            {"domain_name": "a" * 30 + "." + "b" * 30 + ".com"},
            "domain_name: .* the certificate's Common Name has at most 64",
        ),
        (
            {"hosted_zone_id": "/hostedzone/Z0123"},
            'hosted_zone_id: "/hostedzone/Z0123" is not a Route 53 hosted zone id',
        ),
        ({"hosted_zone_id": "z0123"}, 'hosted_zone_id: "z0123"'),
        ({"hosted_zone_id": "Z" + "1" * 32}, 'hosted_zone_id: "Z1{32}"'),
        ({"health_check_failure_threshold": 0}, "health_check_failure_threshold: 0 must be positive"),
        ({"health_check_failure_threshold": 11}, "health_check_failure_threshold: 11 must be at most 10"),
        ({"health_check_interval_seconds": 15}, "health_check_interval_seconds: 15 must be one of 10, 30"),
        ({"region": "EU-WEST-1"}, 'region: "EU-WEST-1" is not a region name'),
    ],
)
def test_config_refuses(overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        config(**overrides)


def test_the_common_name_limit_keeps_every_regional_name_within_dns_limits() -> None:
    # A valid DNS name of 253 characters, whose regional name would be 263: refused by the
    # certificate's 64-character limit first, so no regional name can exceed 253.
    long_name = ".".join(["a" * 63] * 3 + ["b" * 61])
    assert len(long_name) == 253
    with pytest.raises(ValueError, match=r"is 253 characters long; the certificate's Common Name has at most 64"):
        config(domain_name=long_name)
    longest = config(domain_name="a" * 60 + ".com", region="ap-southeast-7")
    assert len(longest.regional_domain_name) <= 253


def test_config_accepts_the_edges() -> None:
    edge = config(
        domain_name=f"{'a' * 30}.{'b' * 29}.com",  # 64 characters: the longest Common Name
        hosted_zone_id="Z1",
        health_check_failure_threshold=10,
        health_check_interval_seconds=10,
    )
    assert len(edge.domain_name) == 64
    assert config(health_check_failure_threshold=1).health_check_failure_threshold == 1
