"""The stack an environment deploys last: the one address in front of its regions, and the view
over them."""

from __future__ import annotations

from ..blocks.api import Cors, api_name
from ..blocks.canary import canary_name, watch_canary_name
from ..blocks.cdn import CdnConfig, Distribution
from ..blocks.dashboard import Dashboard, DashboardConfig, RegionMetrics
from ..blocks.function import function_name
from ..blocks.health_alarms import METRICS_REGION, HealthAlarms, HealthAlarmsConfig
from ..blocks.kms import EncryptionKey, KeyByAlias, KeyConfig
from ..blocks.naming import Namer, origin_secret_name
from ..blocks.queue import queue_names
from ..blocks.routing import LatencyRouting, RoutingConfig
from ..blocks.table import TableConfig
from ..blocks.waf import CLOUDFRONT_REGION, WafConfig
from ..cdk import aws
from ..cdk.core import Construct, TerraformOutput, TerraformStack
from ..settings import StackConfig
from .common import configure_backend, regional_provider, stack_tags


class EdgeStack(TerraformStack):
    """Creates, after every regional stack: with ``domain_name`` and ``hosted_zone_id``, the latency
    routing of the one name to the routed regions (a health check and a latency record each: a
    region is routed to only once its deployment exists, and no longer once it is listed in
    ``removing_regions``) and an alarm on each health check in us-east-1, where Route 53 publishes
    their metrics, with a topic of its own; and the dashboard of every region, in the home region.
    Every name it shows it derives, as the regional stacks do.

    Outputs: ``dashboard_name``; with a domain, ``api_url``.
    """

    def __init__(self, scope: Construct, config: StackConfig) -> None:
        super().__init__(scope, config.edge_stack_name)
        configure_backend(self, stack_name=config.edge_stack_name, state=config.state_of("edge"))
        namer = Namer(config.project_name, config.environment)
        tags = stack_tags(config)
        home = config.home
        self.providers = {home: regional_provider(self, home, tags)}
        health_check_ids: dict[str, str] = {}
        if config.domain_name is not None and config.hosted_zone_id is not None:
            routing = LatencyRouting(
                self,
                "routing",
                provider=self.providers[home],
                config=RoutingConfig(
                    namer=namer,
                    regions=config.routed_regions,
                    domain_name=config.domain_name,
                    hosted_zone_id=config.hosted_zone_id,
                    **config.settings_for("routing"),
                ),
            )
            health_check_ids = routing.health_check_ids
            health_alarms = self._health_alarms(config, namer, tags, health_check_ids)
            if config.cdn_enabled:
                distribution = self._distribution(config, namer, routing)
                name, zone = distribution.alias_target
                routing.route_to_distribution(domain_name=name, hosted_zone_id=zone)
                distribution.alarm_on_errors(
                    provider=self.providers[CLOUDFRONT_REGION], namer=namer, topic_arn=health_alarms.topic_arn
                )
            TerraformOutput(
                self, "api_url", value=routing.url, description="The one address: the nearest healthy region answers"
            )
        dashboard = self._dashboard(config, namer, health_check_ids)
        TerraformOutput(
            self,
            "dashboard_name",
            value=dashboard.dashboard_name,
            description=f"The CloudWatch dashboard of all regions, in {home}",
        )
        # What the teardown of one region reads: none of its traffic may still come through the edge.
        TerraformOutput(
            self,
            "routed_regions",
            value=list(config.routed_regions) if health_check_ids else [],
            description="The regions the one address routes to (none without domain_name)",
        )

    def _us_east_1_key(self, config: StackConfig, namer: Namer) -> str:
        """us-east-1's key, for what this stack keeps there: found by its alias when us-east-1 is one
        of the regions, else a key of its own, whose alias is its own too (us-east-1 added to the
        regions later would bring the region's key)."""
        provider = self.providers[METRICS_REGION]
        scope = Construct(self, METRICS_REGION)
        if METRICS_REGION in config.regions:
            return KeyByAlias(scope, "key", namer=namer, region=METRICS_REGION, provider=provider).key_arn
        account_id = aws.DataAwsCallerIdentity(scope, "caller-identity", provider=provider).account_id
        uses = "the health alarms' topic" + (", the distribution's logs" if config.cdn_enabled else "")
        return EncryptionKey(
            scope,
            "key",
            provider=provider,
            account_id=account_id,
            config=KeyConfig(namer=namer, region=METRICS_REGION, uses=uses, component="health-key"),
        ).key_arn

    def _health_alarms(
        self, config: StackConfig, namer: Namer, tags: dict[str, str], health_check_ids: dict[str, str]
    ) -> HealthAlarms:
        """Alarms on the health checks, in us-east-1, with a topic encrypted by that region's key."""
        if METRICS_REGION not in self.providers:
            self.providers[METRICS_REGION] = regional_provider(self, METRICS_REGION, tags)
        provider = self.providers[METRICS_REGION]
        self._key_arn = key_arn = self._us_east_1_key(config, namer)
        return HealthAlarms(
            self,
            "health-alarms",
            config=HealthAlarmsConfig(
                namer=namer,
                regions=tuple(health_check_ids),
                alarm_email=config.alarm_email,
                subscriptions=config.alarm_subscriptions,
            ),
            provider=provider,
            health_check_ids=health_check_ids,
            kms_key_arn=key_arn,
        )

    def _distribution(self, config: StackConfig, namer: Namer, routing: LatencyRouting) -> Distribution:
        """CloudFront on the one name, in front of the routing's origin name, with us-east-1's key
        (the health alarms' key: they come first) and the origin header's value read in the home
        region, where the global stack keeps the secret."""
        origin_secret = aws.DataAwsSecretsmanagerSecretVersion(
            self, "origin-secret-value", provider=self.providers[config.home], secret_id=origin_secret_name(namer)
        ).secret_string
        return Distribution(
            self,
            "cdn",
            provider=self.providers[CLOUDFRONT_REGION],
            kms_key_arn=self._key_arn,
            origin_secret=origin_secret,
            origin_domain_name=routing.origin_records[0].name,
            config=CdnConfig(
                namer=namer,
                domain_name=routing.domain_name,
                hosted_zone_id=routing.hosted_zone_id,
                **config.settings_for("cdn"),
            ),
            waf=WafConfig(
                namer=namer,
                region=CLOUDFRONT_REGION,
                for_cloudfront=True,
                blocked_response_headers=Cors().response_headers(),
                **config.settings_for("waf"),
            ),
        )

    @staticmethod
    def _metrics(config: StackConfig, namer: Namer, region: str, health_check_id: str | None) -> RegionMetrics:
        """A region's names, derived by the rules its stack names them with."""
        queue_name, dead_letter_queue_name = queue_names(namer, region)
        watch = config.outside_watch
        watched = watch is not None and watch.watched == region
        return RegionMetrics(
            region=region,
            function_name=function_name(namer, region),
            api_name=api_name(namer, region),
            stage_name=config.environment,
            queue_name=queue_name,
            dead_letter_queue_name=dead_letter_queue_name,
            health_check_id=health_check_id,
            canary_name=canary_name(namer, region) if config.canary_interval_minutes is not None else None,
            watch_canary_name=watch_canary_name(namer, region) if watched else None,
            watcher_region=watch.watcher if watch is not None and watched else None,
        )

    def _dashboard(self, config: StackConfig, namer: Namer, health_check_ids: dict[str, str]) -> Dashboard:
        home = config.home
        return Dashboard(
            self,
            "dashboard",
            provider=self.providers[home],
            config=DashboardConfig(
                name=namer.name("dashboard", home, kind="cloudwatch_dashboard"),
                home_region=home,
                table_name=TableConfig.name_for(namer),
                business_namespace=config.project_name,
                environment=config.environment,
                regions=[
                    self._metrics(config, namer, region, health_check_ids.get(region)) for region in config.regions
                ],
            ),
        )
