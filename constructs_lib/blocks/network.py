"""A private network for one region's function: no internet gateway, no NAT."""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

from ..cdk import aws
from ..cdk.core import Construct, Fn
from .iam import Condition, Statement, policy_document, service_role
from .naming import Namer
from .rules import CONSTRAINED_ZONE_IDS, LOG_RETENTION

HTTPS = 443
# Gateway endpoints cost nothing and need no security group: every region's network has both.
GATEWAY_SERVICES = ("s3", "dynamodb")


@dataclass(frozen=True, kw_only=True)
class NetworkConfig:
    """Settings of a region's network.

    namer, region: where and how resources are named.
    cidr_block: the VPC's IPv4 block, /16 to /24; split into two private subnets, each a quarter of it.
    flow_log_retention_days: retention of the VPC flow log group. Default 365.
    availability_zone_ids: the two zones of the subnets, by zone id; ``None`` (default): the
        region's first two available zones.
    interface_endpoints: AWS services the function reaches through interface endpoints in the
        subnets (private DNS on), e.g. ``"events"``. Default ``("events",)``. S3 and DynamoDB always
        have (free) gateway endpoints.
    gateway_egress: the gateway endpoints' services the function's security group may reach over
        HTTPS. Default ``("dynamodb",)``: no function uses S3; add ``"s3"`` for one that does.

    Every endpoint's policy admits only this account's principals calling this account's resources.
    """

    namer: Namer
    region: str
    cidr_block: str
    flow_log_retention_days: int = 365
    availability_zone_ids: tuple[str, ...] | None = None
    interface_endpoints: tuple[str, ...] = ("events",)
    gateway_egress: tuple[str, ...] = ("dynamodb",)

    def __post_init__(self) -> None:
        for service in self.gateway_egress:
            if service not in GATEWAY_SERVICES:
                raise ValueError(f"gateway_egress: {service!r} must be one of {', '.join(GATEWAY_SERVICES)}")
        for service in self.interface_endpoints:
            if not re.match(r"^[a-z0-9][a-z0-9.-]*$", service) or service in GATEWAY_SERVICES:
                raise ValueError(
                    f"interface_endpoints: {service!r} must be an AWS service endpoint name such as 'events' "
                    f"({', '.join(GATEWAY_SERVICES)} have gateway endpoints already)"
                )
        try:
            network = ipaddress.IPv4Network(self.cidr_block)
        except ValueError:
            raise ValueError(f"cidr_block: {self.cidr_block!r} is not an IPv4 CIDR block") from None
        if not 16 <= network.prefixlen <= 24:
            raise ValueError(f"cidr_block: {self.cidr_block!r} must be a /16 to /24 block")
        if self.availability_zone_ids is not None and (
            len(self.availability_zone_ids) != 2 or len(set(self.availability_zone_ids)) != 2
        ):
            raise ValueError(f"availability_zone_ids: {self.availability_zone_ids!r} must be two different zone ids")
        LOG_RETENTION.check("flow_log_retention_days", self.flow_log_retention_days)

    @property
    def subnet_cidrs(self) -> tuple[str, str]:
        quarters = list(ipaddress.IPv4Network(self.cidr_block).subnets(prefixlen_diff=2))
        return str(quarters[0]), str(quarters[1])


class Network(Construct):
    """Creates a VPC with DNS support, two private subnets in two availability zones of the region
    (pinned by zone id, or read from the availability-zones data source; never assumed), a route table with no route to
    the internet, S3 and DynamoDB gateway endpoints, interface endpoints (EventBridge by default)
    behind their own security group, the function's security group (no ingress; egress only HTTPS
    to those endpoints), the VPC's default security group stripped of all rules, and VPC flow logs
    to a CloudWatch log group encrypted with the region's key.
    """

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        config: NetworkConfig,
        provider: aws.AwsProvider,
        account_id: str,
        kms_key_arn: str,
    ) -> None:
        super().__init__(scope, id_)
        name = config.namer.name("vpc", config.region, kind="security_group")
        vpc_id = self._vpc_and_default_group(config, provider, name)
        zone_ids, zone_names = self._zones(config, provider)
        route_table_id = self._private_subnets(config, provider, vpc_id, name, zone_ids, zone_names)
        self._function_security_group(config, provider, vpc_id)
        self._gateway_endpoints(config, provider, vpc_id, name, account_id, route_table_id)
        if config.interface_endpoints:
            self._interface_endpoints(config, provider, vpc_id, name, account_id)
        self._flow_logs(config, provider, vpc_id, name, account_id, kms_key_arn)

    def _vpc_and_default_group(self, config: NetworkConfig, provider: aws.AwsProvider, name: str) -> str:
        """The VPC, with DNS support, and its default security group stripped of all rules. Returns the VPC's id."""
        self._vpc = aws.Vpc(
            self,
            "vpc",
            provider=provider,
            cidr_block=config.cidr_block,
            enable_dns_support=True,
            enable_dns_hostnames=True,
            tags={"Name": name},
        )
        # Each attribute read is a round trip to the jsii runtime: read each token once.
        vpc_id = self._vpc_id = self._vpc.id
        # A default security group with no rules: anything launched into it by mistake is isolated.
        aws.DefaultSecurityGroup(
            self, "default-security-group", provider=provider, vpc_id=vpc_id, tags={"Name": f"{name}-default"}
        )
        return vpc_id

    def _zones(self, config: NetworkConfig, provider: aws.AwsProvider) -> tuple[list[str | None], list[str | None]]:
        """The two subnets' zones, as (zone ids, zone names): one of the two is given per subnet."""
        if config.availability_zone_ids:
            # Zone ids name the same physical zone in every account: a closed, stable set.
            return list(config.availability_zone_ids), [None, None]
        # Local Zones and Wavelength Zones are opt-in and lack services; use the region's own.
        constrained = list(CONSTRAINED_ZONE_IDS.get(config.region, ()))
        zones = aws.DataAwsAvailabilityZones(
            self,
            "zones",
            provider=provider,
            state="available",
            filter=[aws.DataAwsAvailabilityZonesFilter(name="opt-in-status", values=["opt-in-not-required"])],
            exclude_zone_ids=constrained or None,
        )
        return [None, None], [Fn.element(zones.names, index) for index in range(2)]

    def _private_subnets(
        self,
        config: NetworkConfig,
        provider: aws.AwsProvider,
        vpc_id: str,
        name: str,
        zone_ids: list[str | None],
        zone_names: list[str | None],
    ) -> str:
        """The route table with no route to the internet and the two private subnets it serves.
        Returns the route table's id."""
        route_table = aws.RouteTable(
            self, "private-route-table", provider=provider, vpc_id=vpc_id, tags={"Name": f"{name}-private"}
        )
        route_table_id = route_table.id
        self._subnet_ids: list[str] = []
        for index, cidr in enumerate(config.subnet_cidrs):
            subnet = aws.Subnet(
                self,
                f"private-subnet-{index}",
                provider=provider,
                vpc_id=vpc_id,
                cidr_block=cidr,
                map_public_ip_on_launch=False,
                tags={"Name": f"{name}-private-{index}"},
                availability_zone=zone_names[index],
                availability_zone_id=zone_ids[index],
            )
            subnet_id = subnet.id
            self._subnet_ids.append(subnet_id)
            aws.RouteTableAssociation(
                self,
                f"private-subnet-{index}-routes",
                provider=provider,
                subnet_id=subnet_id,
                route_table_id=route_table_id,
            )
        return route_table_id

    def _function_security_group(self, config: NetworkConfig, provider: aws.AwsProvider, vpc_id: str) -> None:
        """The function's security group: no ingress; its egress rules come with the endpoints."""
        self._security_group = aws.SecurityGroup(
            self,
            "function-security-group",
            provider=provider,
            vpc_id=vpc_id,
            name=config.namer.name("fn", config.region, kind="security_group"),
            # Kept as first written: a new description replaces the group (and detaches the function);
            # each egress rule describes what it allows.
            description="Lambda function: no ingress, HTTPS egress to S3 only",
            tags={"Name": config.namer.name("fn", config.region, kind="security_group")},
        )
        self._security_group_id = self._security_group.id

    def _gateway_endpoints(
        self,
        config: NetworkConfig,
        provider: aws.AwsProvider,
        vpc_id: str,
        name: str,
        account_id: str,
        route_table_id: str,
    ) -> None:
        """The S3 and DynamoDB gateway endpoints, and the function's HTTPS egress to those of
        ``config.gateway_egress``."""
        region = config.region
        # The function reaches DynamoDB (and S3, if it is allowed to) through these endpoints
        # instead of a NAT gateway. Construct ids are Terraform addresses: the S3 ones predate the loop.
        for service, endpoint_id, egress_id in (
            ("s3", "s3-endpoint", "function-egress-s3"),
            ("dynamodb", "dynamodb-endpoint", "function-egress-dynamodb"),
        ):
            gateway = aws.VpcEndpoint(
                self,
                endpoint_id,
                provider=provider,
                vpc_id=vpc_id,
                service_name=f"com.amazonaws.{region}.{service}",
                vpc_endpoint_type="Gateway",
                route_table_ids=[route_table_id],
                policy=self._endpoint_policy(service, provider, account_id),
                tags={"Name": f"{name}-{service}"},
            )
            if service in config.gateway_egress:
                aws.VpcSecurityGroupEgressRule(
                    self,
                    egress_id,
                    provider=provider,
                    security_group_id=self._security_group_id,
                    description=f"HTTPS to {service} through the gateway endpoint",
                    ip_protocol="tcp",
                    from_port=HTTPS,
                    to_port=HTTPS,
                    prefix_list_id=gateway.prefix_list_id,
                )

    def _flow_logs(
        self,
        config: NetworkConfig,
        provider: aws.AwsProvider,
        vpc_id: str,
        name: str,
        account_id: str,
        kms_key_arn: str,
    ) -> None:
        """VPC flow logs to a log group encrypted with the region's key, written through a role of their own."""
        region = config.region
        flow_log_group = aws.CloudwatchLogGroup(
            self,
            "flow-log-group",
            provider=provider,
            name=f"/aws/vpc/flow-logs/{name}",
            retention_in_days=config.flow_log_retention_days,
            kms_key_id=kms_key_arn,
        )
        flow_log_group_arn = flow_log_group.arn
        flow_log_role = service_role(
            self,
            "flow-log-role",
            provider=provider,
            name=config.namer.name("flow-logs", region, kind="iam_role"),
            service="vpc-flow-logs.amazonaws.com",
            source_account=account_id,
            statements=[
                Statement(
                    sid="WriteFlowLogs",
                    actions=["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
                    resources=[flow_log_group_arn, f"{flow_log_group_arn}:*"],
                ),
                # AWS's flow-log role lists it: the service looks its log group up among the account's.
                Statement(
                    sid="FindTheLogGroup",
                    actions=["logs:DescribeLogGroups"],
                    resources=[f"arn:aws:logs:{region}:{account_id}:log-group:*"],
                ),
            ],
        )
        aws.FlowLog(
            self,
            "flow-log",
            provider=provider,
            vpc_id=vpc_id,
            traffic_type="ALL",
            log_destination_type="cloud-watch-logs",
            log_destination=flow_log_group_arn,
            iam_role_arn=flow_log_role.arn,
            max_aggregation_interval=60,
            tags={"Name": f"{name}-flow-log"},
            depends_on=[flow_log_role.policy],
        )

    def _endpoint_policy(self, service: str, provider: aws.AwsProvider, account_id: str) -> str:
        """An endpoint policy that lets only this account's principals reach only this account's
        resources of ``service``: a stolen credential of another account, or code tricked into
        naming another account's table, bus or bucket, cannot use the endpoint."""
        return policy_document(
            self,
            f"{service}-endpoint-policy",
            provider=provider,
            statements=[
                Statement(
                    sid="ThisAccountOnly",
                    actions=[f"{service}:*"],
                    resources=["*"],
                    principals={"AWS": ["*"]},
                    conditions=[
                        Condition(test="StringEquals", variable="aws:PrincipalAccount", values=[account_id]),
                        Condition(test="StringEquals", variable="aws:ResourceAccount", values=[account_id]),
                    ],
                )
            ],
        ).json

    def _interface_endpoints(
        self, config: NetworkConfig, provider: aws.AwsProvider, vpc_id: str, name: str, account_id: str
    ) -> None:
        """Interface endpoints in both subnets, behind a security group that admits HTTPS from the
        function only, with private DNS so the SDK's default endpoint names resolve to them."""
        region = config.region
        endpoints_group = aws.SecurityGroup(
            self,
            "endpoints-security-group",
            provider=provider,
            vpc_id=vpc_id,
            name=config.namer.name("endpoints", region, kind="security_group"),
            description="Interface endpoints: HTTPS from the function only",
            tags={"Name": config.namer.name("endpoints", region, kind="security_group")},
        )
        endpoints_group_id = endpoints_group.id
        aws.VpcSecurityGroupIngressRule(
            self,
            "endpoints-ingress-function",
            provider=provider,
            security_group_id=endpoints_group_id,
            description="HTTPS from the function",
            ip_protocol="tcp",
            from_port=HTTPS,
            to_port=HTTPS,
            referenced_security_group_id=self._security_group_id,
        )
        aws.VpcSecurityGroupEgressRule(
            self,
            "function-egress-endpoints",
            provider=provider,
            security_group_id=self._security_group_id,
            description="HTTPS to the interface endpoints",
            ip_protocol="tcp",
            from_port=HTTPS,
            to_port=HTTPS,
            referenced_security_group_id=endpoints_group_id,
        )
        for service in config.interface_endpoints:
            aws.VpcEndpoint(
                self,
                f"{service}-endpoint",
                provider=provider,
                vpc_id=vpc_id,
                service_name=f"com.amazonaws.{region}.{service}",
                vpc_endpoint_type="Interface",
                subnet_ids=list(self._subnet_ids),
                security_group_ids=[endpoints_group_id],
                private_dns_enabled=True,
                policy=self._endpoint_policy(service, provider, account_id),
                tags={"Name": f"{name}-{service}"},
            )

    @property
    def vpc_id(self) -> str:
        return self._vpc_id

    @property
    def subnet_ids(self) -> list[str]:
        return list(self._subnet_ids)

    @property
    def security_group_id(self) -> str:
        return self._security_group_id
