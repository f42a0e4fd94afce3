"""The one address: Route 53 answers each caller with the region of lowest latency among the
healthy ones."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..cdk import aws
from ..cdk.core import Construct, TerraformResourceLifecycle
from .domain import (
    HEALTH_CHECK_PATH,
    CustomDomainConfig,
    origin_name,
    origin_target_record_name,
    target_record_name,
)
from .naming import Namer


@dataclass(frozen=True, kw_only=True)
class RoutingConfig:
    """namer: names the health checks' tags; regions: the regions callers are sent to; domain_name,
    hosted_zone_id, health_check_failure_threshold, health_check_interval_seconds, behind_cdn: as
    for ``CustomDomainConfig`` (and checked by it); behind a distribution, ``origin.{domain_name}``
    is latency-routed too."""

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


class LatencyRouting(Construct):
    """Creates, for every region: an HTTPS Route 53 health check of ``/api/health`` on the region's
    own name ``{region}.{domain_name}``, and a latency-routed alias A record of the domain name to
    the region's target record (``CustomDomain`` creates it once the region can answer), which Route
    53 leaves out of its answers while the health check fails. Route 53 refuses an alias whose
    target does not exist, so a region is routed to only once its own deployment is complete.
    Route 53 is a global service: any region's provider creates these.

    Behind a distribution (``behind_cdn``), the latency records of ``origin.{domain_name}`` route to
    the regions' origin targets instead, and the domain name's records (the same resources) alias
    the distribution once ``route_to_distribution`` names it: an in-place change of their target,
    so the name answers all along when the distribution is turned on or off.
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
        self._config, self._provider = config, provider
        self._health_check_ids: dict[str, str] = {}
        self._origin_records: list[aws.Route53Record] = []
        for region in config.regions:
            health_check_id = self._health_check(config, provider, region)
            self._health_check_ids[region] = health_check_id
            target = aws.Route53RecordAlias(
                name=(origin_target_record_name if config.behind_cdn else target_record_name)(
                    region, config.domain_name
                ),
                zone_id=config.hosted_zone_id,
                evaluate_target_health=True,
            )
            if config.behind_cdn:
                record = self._latency_record(
                    f"origin-record-a-{region}", origin_name(config.domain_name), region, target, serves_after
                )
                self._origin_records.append(record)
            else:
                self._latency_record(f"latency-record-a-{region}", config.domain_name, region, target, serves_after)

    def route_to_distribution(self, *, domain_name: str, hosted_zone_id: str) -> None:
        """Behind a distribution: the domain name's latency records alias it (``domain_name``,
        ``hosted_zone_id``: references to the distribution's)."""
        if not self._config.behind_cdn:
            raise ValueError("route_to_distribution: only behind_cdn routing has a distribution in front")
        # CloudFront answers wherever a caller is: every region's record names it, and Route 53
        # takes no target health from a distribution.
        target = aws.Route53RecordAlias(name=domain_name, zone_id=hosted_zone_id, evaluate_target_health=False)
        for region in self._config.regions:
            self._latency_record(f"latency-record-a-{region}", self._config.domain_name, region, target, ())

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
        self, id_: str, name: str, region: str, alias: aws.Route53RecordAlias, serves_after: Sequence[Any]
    ) -> aws.Route53Record:
        config = self._config
        return aws.Route53Record(
            self,
            id_,
            provider=self._provider,
            zone_id=config.hosted_zone_id,
            name=name,
            type="A",
            set_identifier=region,
            latency_routing_policy=aws.Route53RecordLatencyRoutingPolicy(region=region),
            health_check_id=self._health_check_ids[region],
            alias=alias,
            depends_on=list(serves_after) or None,
        )

    @property
    def health_check_ids(self) -> dict[str, str]:
        """Each region's health check id (a reference), keyed by region."""
        return dict(self._health_check_ids)

    @property
    def origin_records(self) -> list[aws.Route53Record]:
        """Behind a distribution, the origin name's latency records (its origin names them)."""
        return list(self._origin_records)

    @property
    def domain_name(self) -> str:
        return self._config.domain_name

    @property
    def hosted_zone_id(self) -> str:
        return self._config.hosted_zone_id

    @property
    def url(self) -> str:
        """The ``/api`` resource through the global name (the nearest healthy region)."""
        return f"https://{self._config.domain_name}/api"
