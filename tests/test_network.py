"""Network: a private VPC per region, reached from nowhere, reaching AWS endpoints only."""

import ipaddress

import pytest
from conftest import address, address_at, data_sources, one, policy_statements, region_key_arn, resource_at, resources

REGIONS = ("us-east-1", "us-west-2")


@pytest.mark.parametrize("region", REGIONS)
def test_vpc_has_dns_support_and_hostnames(dev, region):
    vpc = one(resources(dev, "aws_vpc", region))
    assert vpc["enable_dns_support"] is True
    assert vpc["enable_dns_hostnames"] is True


def test_vpc_cidrs_do_not_overlap_across_regions(dev):
    cidrs = [ipaddress.IPv4Network(one(resources(dev, "aws_vpc", r))["cidr_block"]) for r in REGIONS]
    assert not cidrs[0].overlaps(cidrs[1])


@pytest.mark.parametrize("region", REGIONS)
def test_two_private_subnets_in_two_zones_from_the_data_source(dev, region):
    subnets = resources(dev, "aws_subnet", region)
    assert len(subnets) == 2
    zones = [s["availability_zone"] for s in subnets]
    # Zone names come from the region's availability-zones data source, never "<region>a".
    assert all("data.aws_availability_zones." in z for z in zones)
    assert len(set(zones)) == 2
    assert all(s["map_public_ip_on_launch"] is False for s in subnets)


@pytest.mark.parametrize("region", REGIONS)
def test_subnets_lie_inside_the_vpc_and_apart(dev, region):
    vpc = ipaddress.IPv4Network(one(resources(dev, "aws_vpc", region))["cidr_block"])
    subnets = [ipaddress.IPv4Network(s["cidr_block"]) for s in resources(dev, "aws_subnet", region)]
    assert all(s.subnet_of(vpc) for s in subnets)
    assert not subnets[0].overlaps(subnets[1])


def test_zones_data_source_excludes_opt_in_zones(dev):
    for zones in data_sources(dev, "aws_availability_zones"):
        assert zones["state"] == "available"
        assert zones["filter"] == [{"name": "opt-in-status", "values": ["opt-in-not-required"]}]


def test_no_route_to_the_internet(dev):
    assert not resources(dev, "aws_internet_gateway")
    assert not resources(dev, "aws_nat_gateway")
    for table in resources(dev, "aws_route_table"):
        assert not table.get("route")


@pytest.mark.parametrize("region", REGIONS)
@pytest.mark.parametrize("service", ["s3", "dynamodb"])
def test_gateway_endpoints_on_the_private_route_table(dev, region, service):
    endpoint = resource_at(dev, "aws_vpc_endpoint", f"{region}/network/{service}-endpoint")
    assert endpoint["service_name"] == f"com.amazonaws.{region}.{service}"
    assert endpoint["vpc_endpoint_type"] == "Gateway"
    assert endpoint["route_table_ids"][0].startswith("${aws_route_table.")


@pytest.mark.parametrize("region", REGIONS)
def test_no_interface_endpoint_is_paid_for(dev, region):
    """The functions call DynamoDB only (the item events come from the table's stream), through its
    free gateway endpoint: no interface endpoint, no endpoint security group."""
    assert all(e["vpc_endpoint_type"] == "Gateway" for e in resources(dev, "aws_vpc_endpoint", region))
    [group] = resources(dev, "aws_security_group", region)
    assert group["//"]["metadata"]["path"].endswith("/network/function-security-group")


def test_an_interface_endpoint_when_a_function_needs_one(tmp_path):
    """NetworkConfig(interface_endpoints=...): in both subnets, private DNS on, admitting HTTPS from
    the functions' security group only."""
    import json

    from constructs_lib.blocks.naming import Namer
    from constructs_lib.blocks.network import Network, NetworkConfig
    from constructs_lib.cdk import aws
    from constructs_lib.cdk import core as cdk

    stack = cdk.TerraformStack(cdk.Testing.app(), "network")
    provider = aws.AwsProvider(stack, "aws", region="eu-west-1", alias="eu-west-1")
    config = NetworkConfig(
        namer=Namer("shop", "qa"), region="eu-west-1", cidr_block="10.1.0.0/16", interface_endpoints=("events",)
    )
    Network(stack, "network", provider=provider, account_id="123456789012", kms_key_arn="k", config=config)
    synthesized = json.loads(cdk.Testing.synth(stack))["resource"]
    [endpoint] = [e for e in synthesized["aws_vpc_endpoint"].values() if e["vpc_endpoint_type"] == "Interface"]
    assert endpoint["service_name"] == "com.amazonaws.eu-west-1.events"
    assert endpoint["private_dns_enabled"] is True and len(endpoint["subnet_ids"]) == 2
    [group] = [name for name in synthesized["aws_security_group"] if "endpoints-security-group" in name]
    assert endpoint["security_group_ids"] == [f"${{aws_security_group.{group}.id}}"]
    [rule] = synthesized["aws_vpc_security_group_ingress_rule"].values()
    assert (rule["ip_protocol"], rule["from_port"], rule["to_port"]) == ("tcp", 443, 443)
    assert rule["referenced_security_group_id"].startswith("${aws_security_group.network_function-security")


@pytest.mark.parametrize("region", REGIONS)
def test_function_security_group_has_no_ingress(dev, region):
    group = resource_at(dev, "aws_security_group", f"{region}/network/function-security-group")
    assert not group.get("ingress")
    function_group = "${" + address_at(dev, "aws_security_group", f"{region}/network/function-security-group") + ".id}"
    ingress = resources(dev, "aws_vpc_security_group_ingress_rule", region)
    assert all(r["security_group_id"] != function_group for r in ingress)


@pytest.mark.parametrize("region", REGIONS)
def test_nothing_is_admitted_into_the_network(dev, region):
    assert not resources(dev, "aws_vpc_security_group_ingress_rule", region)


@pytest.mark.parametrize("region", REGIONS)
def test_function_egress_is_https_to_the_endpoints_only(dev, region):
    rules = resources(dev, "aws_vpc_security_group_egress_rule", region)
    # DynamoDB's gateway only. No rule to S3: no function uses it (NetworkConfig.gateway_egress adds
    # one for a function that does).
    assert len(rules) == 1
    for rule in rules:
        assert (rule["ip_protocol"], rule["from_port"], rule["to_port"]) == ("tcp", 443, 443)
        assert "cidr_ipv4" not in rule and "cidr_ipv6" not in rule
    targets = sorted(r.get("prefix_list_id") or r["referenced_security_group_id"] for r in rules)
    assert [t.split(".")[1].split("_")[-2] for t in targets] == ["dynamodb-endpoint"]


@pytest.mark.parametrize("region", REGIONS)
def test_default_security_group_is_left_without_rules(dev, region):
    group = one(resources(dev, "aws_default_security_group", region))
    assert not group.get("ingress") and not group.get("egress")


@pytest.mark.parametrize("region", REGIONS)
def test_flow_logs_capture_all_traffic_to_a_log_group_with_retention(dev, region):
    flow_log = one(resources(dev, "aws_flow_log", region))
    assert flow_log["traffic_type"] == "ALL"
    assert flow_log["log_destination_type"] == "cloud-watch-logs"
    group = dev["resource"]["aws_cloudwatch_log_group"][address(flow_log["log_destination"]).split(".")[1]]
    assert group["retention_in_days"] == 365
    assert group["kms_key_id"] == region_key_arn(dev, region)


def test_flow_log_role_trusts_only_this_accounts_flow_logs_service(dev):
    role = next(r for r in resources(dev, "aws_iam_role", "us-east-1") if "flow-logs" in r["name"])
    [statement] = policy_statements(dev, role["assume_role_policy"])
    assert statement["principals"] == [{"identifiers": ["vpc-flow-logs.amazonaws.com"], "type": "Service"}]
    assert statement["condition"][0]["variable"] == "aws:SourceAccount"


def test_pinned_zone_ids_place_the_subnets_without_the_data_source(global_stack):
    zones = {
        region: sorted(s["availability_zone_id"] for s in resources(global_stack, "aws_subnet", region))
        for region in ("us-east-1", "eu-west-1")
    }
    assert zones == {"us-east-1": ["use1-az4", "use1-az6"], "eu-west-1": ["euw1-az1", "euw1-az3"]}
    assert not data_sources(global_stack, "aws_availability_zones")


def test_custom_cidr_is_split_into_two_quarters(custom):
    stack = custom
    assert sorted(s["cidr_block"] for s in resources(stack, "aws_subnet")) == ["172.16.8.0/24", "172.16.9.0/24"]


def test_zones_where_older_accounts_cannot_create_subnets_are_never_chosen(dev):
    zones = {z["provider"]: z for z in data_sources(dev, "aws_availability_zones")}
    assert zones["aws.us-east-1"]["exclude_zone_ids"] == ["use1-az3"]
    assert "exclude_zone_ids" not in zones["aws.us-west-2"]


@pytest.mark.parametrize("stack_name", ["dev", "global_stack", "custom"])
def test_every_endpoint_admits_only_this_accounts_principals_and_resources(request, stack_name):
    """Without a policy an endpoint reaches any account's tables, buses and buckets: a way out for
    data, or in for another account's credentials."""
    stack = request.getfixturevalue(stack_name)
    endpoints = resources(stack, "aws_vpc_endpoint")
    assert len(endpoints) == 2 * len(resources(stack, "aws_vpc"))  # the DynamoDB and S3 gateways
    for endpoint in endpoints:
        service = endpoint["service_name"].rsplit(".", 1)[1]
        [statement] = policy_statements(stack, endpoint["policy"])
        region = endpoint["provider"].removeprefix("aws.")
        account = f"${{data.aws_caller_identity.{region}_caller-identity_"
        assert statement["actions"] == [f"{service}:*"]
        assert statement["principals"] == [{"identifiers": ["*"], "type": "AWS"}]
        conditions = {c["variable"]: c for c in statement["condition"]}
        assert sorted(conditions) == ["aws:PrincipalAccount", "aws:ResourceAccount"]
        for condition in conditions.values():
            assert condition["test"] == "StringEquals"
            [value] = condition["values"]
            assert value.startswith(account) and value.endswith(".account_id}")


@pytest.mark.parametrize("region", REGIONS)
def test_flow_log_role_may_find_its_log_group(dev, region):
    """AWS's flow-log role lists logs:DescribeLogGroups among what the service needs."""
    role = resource_at(dev, "aws_iam_role_policy", f"{region}/network/flow-log-role-policy")
    statements = {s["sid"]: s for s in policy_statements(dev, role["policy"])}
    assert statements["FindTheLogGroup"]["actions"] == ["logs:DescribeLogGroups"]
    [resource] = statements["FindTheLogGroup"]["resources"]
    assert resource.startswith(f"arn:aws:logs:{region}:${{data.aws_caller_identity.") and resource.endswith(
        ":log-group:*"
    )
