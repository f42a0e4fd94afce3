"""The one address: Route 53 answers each caller with the region of lowest latency among the
healthy ones."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..cdk import aws
from ..cdk.core import Construct, TerraformResourceLifecycle
from .domain import HEALTH_CHECK_PATH, CustomDomainConfig, origin_name, target_record_name
from .naming import Namer


@dataclass(frozen=True, kw_only=True)
class RoutingConfig:
    """namer: names the health checks' tags; regions: the regions callers are sent to; domain_name,
    hosted_zone_id, health_check_failure_threshold, health_check_interval_seconds, behind_cdn: as
    for ``CustomDomainConfig`` (and checked by it); behind a distribution the latency records answer
    ``origin.{domain_name}``."""

    namer: Namer
    regions: tuple[str, ...]
    domain_name: str
    hosted_zone_id: str
    health_check_failure_threshold: int = 3
    health_check_interval_seconds: int = 30
    behind_cdn: bool = False

    def __post_init__(self) -> None:
        if not self.regions:
            raise ValueError("regions: the one address needs at least one region to send callers to")
        for region in self.regions:
            self.domain_config(region)

    def domain_config(self, region: str) -> CustomDomainConfig:
        return CustomDomainConfig(
            namer=self.namer,
            region=region,
            domain_name=self.domain_name,
            hosted_zone_id=self.hosted_zone_id,
            health_check_failure_threshold=self.health_check_failure_threshold,
            health_check_interval_seconds=self.health_check_interval_seconds,
            behind_cdn=self.behind_cdn,
        )

    @property
    def routed_name(self) -> str:
        """The name the latency records answer: the domain name, or behind a distribution (which
        answers on the domain name) the origin name it sends its requests to."""
        return origin_name(self.domain_name) if self.behind_cdn else self.domain_name


class LatencyRouting(Construct):
    """Creates, for every region: an HTTPS Route 53 health check of ``/api/health`` on the region's
    own name ``{region}.{domain_name}``, and a latency-routed alias A record of the domain name to
    the region's target record (``CustomDomain`` creates it once the region can answer), which Route
    53 leaves out of its answers while the health check fails. Route 53 refuses an alias whose
    target does not exist, so a region is routed to only once its own deployment is complete.
    Route 53 is a global service: any region's provider creates these.
    """

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        config: RoutingConfig,
        provider: aws.AwsProvider,
        serves_after: Sequence[Any] = (),
    ) -> None:
        """``serves_after``: what the records must wait for when the regions are in the same stack
        (their target records)."""
        super().__init__(scope, id_)
        self._domain_name = config.domain_name
        self._hosted_zone_id = config.hosted_zone_id
        self._health_check_ids: dict[str, str] = {}
        self._records: list[aws.Route53Record] = []
        for region in config.regions:
            health_check_id = self._health_check(config, provider, region)
            self._health_check_ids[region] = health_check_id
            self._records.append(self._latency_record(config, provider, region, health_check_id, serves_after))

    def _health_check(self, config: RoutingConfig, provider: aws.AwsProvider, region: str) -> str:
        health_check = aws.Route53HealthCheck(
            self,
            f"health-check-{region}",
            provider=provider,
            type="HTTPS",
            fqdn=config.domain_config(region).regional_domain_name,
            port=443,
            resource_path=HEALTH_CHECK_PATH,
            failure_threshold=config.health_check_failure_threshold,
            request_interval=config.health_check_interval_seconds,
            measure_latency=True,
            # Without SNI, API Gateway cannot tell which custom domain's certificate to present.
            enable_sni=True,
            tags={"Name": config.namer.name("health", region, kind="tag_value")},
            # The interval and latency measuring cannot change in place: a replacement must exist
            # before the latency record lets go of the old check, or the record would point at a
            # deleted check in between.
            lifecycle=TerraformResourceLifecycle(create_before_destroy=True),
        )
        return health_check.id

    def _latency_record(
        self,
        config: RoutingConfig,
        provider: aws.AwsProvider,
        region: str,
        health_check_id: str,
        serves_after: Sequence[Any],
    ) -> aws.Route53Record:
        return aws.Route53Record(
            self,
            f"latency-record-a-{region}",
            provider=provider,
            zone_id=config.hosted_zone_id,
            name=config.routed_name,
            type="A",
            set_identifier=region,
            latency_routing_policy=aws.Route53RecordLatencyRoutingPolicy(region=region),
            health_check_id=health_check_id,
            # An alias of a record in the same zone: the region's target, named by rule.
            alias=aws.Route53RecordAlias(
                name=target_record_name(region, config.domain_name),
                zone_id=config.hosted_zone_id,
                evaluate_target_health=True,
            ),
            depends_on=list(serves_after) or None,
        )

    @property
    def health_check_ids(self) -> dict[str, str]:
        """Each region's health check id (a reference), keyed by region."""
        return dict(self._health_check_ids)

    @property
    def records(self) -> list[aws.Route53Record]:
        """The latency records, for what must be made after them."""
        return list(self._records)

    @property
    def domain_name(self) -> str:
        return self._domain_name

    @property
    def hosted_zone_id(self) -> str:
        return self._hosted_zone_id

    @property
    def url(self) -> str:
        """The ``/api`` resource through the global name (the nearest healthy region)."""
        return f"https://{self._domain_name}/api"
