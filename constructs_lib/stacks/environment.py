"""One environment's stack: every configured region, side by side, plus the global dashboard."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..blocks.api import Api, ApiConfig, Cors, FunctionTarget
from ..blocks.dashboard import Dashboard, DashboardConfig, RegionMetrics
from ..blocks.domain import CustomDomain, CustomDomainConfig
from ..blocks.events import EventBus, EventBusConfig
from ..blocks.function import Function, FunctionConfig, QueueTrigger
from ..blocks.health_alarms import METRICS_REGION, HealthAlarms, HealthAlarmsConfig
from ..blocks.iam import Condition, Statement
from ..blocks.kms import EncryptionKey, KeyConfig
from ..blocks.monitoring import AsyncWatch, Monitoring, MonitoringConfig
from ..blocks.naming import Namer
from ..blocks.network import Network, NetworkConfig
from ..blocks.queue import Queue, QueueConfig
from ..blocks.storage import Storage, StorageConfig
from ..blocks.table import GlobalTable, TableConfig
from ..blocks.waf import WafConfig, WebApplicationFirewall
from ..cdk import aws
from ..cdk.core import Construct, LocalBackend, S3Backend, TerraformOutput, TerraformStack
from ..settings import StackConfig

MANAGED_BY = "cdktf"
WORKER_MAX_CONCURRENCY = 10


def local_state_path(stack_name: str) -> str:
    """The local state file, relative to the stack's directory (``<outdir>/stacks/<stack>``), where
    Terraform runs: next to the output directory, i.e. in the project, so deleting cdktf.out never
    deletes state, and no machine's absolute path enters the JSON."""
    return f"../../../terraform.{stack_name}.tfstate"


def configure_backend(stack: TerraformStack, *, stack_name: str, bucket: str | None, key: str, region: str) -> None:
    if bucket is None:
        LocalBackend(stack, path=local_state_path(stack_name))
        return
    S3Backend(stack, bucket=bucket, key=key, region=region, encrypt=True)
    # S3-native locking (Terraform >= 1.10) replaces the DynamoDB lock table; cdktf 0.21's
    # S3Backend has no argument for it.
    stack.add_override("terraform.backend.s3.use_lockfile", True)


def regional_provider(scope: Construct, region: str, tags: dict[str, str]) -> aws.AwsProvider:
    """The region's provider, aliased by the region's name; resources name it explicitly."""
    return aws.AwsProvider(
        scope,
        f"aws-{region}",
        region=region,
        alias=region,
        default_tags=[aws.AwsProviderDefaultTags(tags={**tags, "Region": region})],
    )


@dataclass(frozen=True)
class FromHome:
    """What every other region takes from the home region, so that one key, one sign-in and one
    validation record serve them all: its API key value (``api_key`` auth), its user pool's ARN
    (``cognito`` auth) and its custom domain's shared validation record."""

    api_key_value: str | None = None
    user_pool_arn: str | None = None
    validation_fqdn: str | None = None


@dataclass(frozen=True)
class RegionStack:
    """What one region exposes to the global parts and the outputs."""

    key: EncryptionKey
    network: Network
    function: Function
    api: Api
    storage: Storage
    monitoring: Monitoring
    queue: Queue
    bus: EventBus
    worker: Function
    domain: CustomDomain | None


class ServerlessStack(TerraformStack):
    """Creates, in every configured region (each through its own aliased provider): a KMS key, a private
    network, the API function, a REST API in front of it behind a WAF web ACL, a replica of the
    global items table, an event bus whose rule feeds a work queue (with a dead-letter queue) that a
    worker function consumes, an artifacts bucket, and alarms with an SNS topic; in the home region,
    the global table itself and one dashboard of all regions. With ``domain_name`` and
    ``hosted_zone_id``: per region a certificate, custom domains, a health check and a latency record,
    so that one name reaches the nearest healthy region, and alarms on the health checks in us-east-1.

    Outputs (maps keyed by region): ``api_urls``, ``lambda_arns``, ``s3_buckets``, ``vpc_ids``,
    ``event_bus_names``, ``queue_urls``, ``dead_letter_queue_urls``; and ``dashboard_name``,
    ``table_name``; with a domain, ``api_url`` and ``regional_api_urls``.
    """

    def __init__(self, scope: Construct, config: StackConfig, *, source_dir: Path) -> None:
        super().__init__(scope, config.stack_name)
        self.config = config
        configure_backend(
            self,
            stack_name=config.stack_name,
            bucket=config.state_bucket,
            key=str(config.state_key),
            region=str(config.state_region),
        )
        namer = Namer(config.project_name, config.environment)
        tags = {
            **config.tags,
            "Project": config.project_name,
            "Environment": config.environment,
            "ManagedBy": MANAGED_BY,
        }
        home = str(config.home_region)
        table_config = TableConfig(
            namer=namer,
            home_region=home,
            replica_regions=tuple(r for r in config.regions if r != home),
            deletion_protection=config.table_deletion_protection,
        )

        self.providers: dict[str, aws.AwsProvider] = {}
        self.regions: dict[str, RegionStack] = {}
        for region in config.regions:
            self.providers[region] = regional_provider(self, region, tags)
        # Each region's key and account first: the global table encrypts every copy with its
        # region's key, and the regions' functions name the table's copies by reference.
        scopes = {region: Construct(self, region) for region in config.regions}
        account_ids = {
            r: aws.DataAwsCallerIdentity(scopes[r], "caller-identity", provider=self.providers[r]).account_id
            for r in config.regions
        }
        keys = {r: _region_key(scopes[r], namer, r, self.providers[r], account_ids[r]) for r in config.regions}
        table = GlobalTable(
            self,
            "table",
            config=table_config,
            providers=self.providers,
            kms_key_arns={r: key.key_arn for r, key in keys.items()},
        )
        # The home region first: the other regions take its API key, user pool and validation record.
        # (Construct ids, not this order, make the Terraform addresses.)
        from_home = FromHome()
        for region in sorted(config.regions, key=lambda r: r != home):
            built = self._region(
                scopes[region],
                config,
                namer,
                region,
                self.providers[region],
                source_dir,
                account_id=account_ids[region],
                key=keys[region],
                table=table,
                from_home=from_home,
            )
            self.regions[region] = built
            if region == home:
                from_home = FromHome(
                    api_key_value=built.api.api_key_value,
                    user_pool_arn=built.api.user_pool_arn,
                    validation_fqdn=built.domain.validation_fqdn if built.domain else None,
                )
        self.regions = {region: self.regions[region] for region in config.regions}

        if config.domain_name is not None:
            self._health_alarms(config, namer, tags)

        dashboard = Dashboard(
            self,
            "dashboard",
            provider=self.providers[home],
            config=DashboardConfig(
                name=namer.name("dashboard", home, kind="cloudwatch_dashboard"),
                home_region=home,
                table_name=table.table_name,
                regions=[
                    RegionMetrics(
                        region=r,
                        function_name=s.function.function_name,
                        api_name=s.api.api_name,
                        stage_name=s.api.stage_name,
                        queue_name=s.queue.queue_name,
                        dead_letter_queue_name=s.queue.dead_letter_queue_name,
                        health_check_id=s.domain.health_check_id if s.domain else None,
                    )
                    for r, s in self.regions.items()
                ],
            ),
        )
        self._outputs(config, dashboard.dashboard_name, table.deployed_table_name)

    def _health_alarms(self, config: StackConfig, namer: Namer, tags: dict[str, str]) -> None:
        """Alarms on the health checks, in us-east-1 (the only region with Route 53's metrics):
        through that region's provider and topic when it is configured, else through a provider of
        its own with a key and topic there."""
        health_check_ids = {r: s.domain.health_check_id for r, s in self.regions.items() if s.domain}
        alarms_config = HealthAlarmsConfig(namer=namer, regions=tuple(config.regions), alarm_email=config.alarm_email)
        if METRICS_REGION in self.regions:
            HealthAlarms(
                self,
                "health-alarms",
                config=alarms_config,
                provider=self.providers[METRICS_REGION],
                health_check_ids=health_check_ids,
                topic_arn=self.regions[METRICS_REGION].monitoring.topic_arn,
            )
            return
        provider = regional_provider(self, METRICS_REGION, tags)
        scope = Construct(self, METRICS_REGION)
        account_id = aws.DataAwsCallerIdentity(scope, "caller-identity", provider=provider).account_id
        key = EncryptionKey(
            scope,
            "key",
            provider=provider,
            account_id=account_id,
            config=KeyConfig(namer=namer, region=METRICS_REGION, uses="the health alarms' topic"),
        )
        HealthAlarms(
            self,
            "health-alarms",
            config=alarms_config,
            provider=provider,
            health_check_ids=health_check_ids,
            kms_key_arn=key.key_arn,
        )

    def _outputs(self, config: StackConfig, dashboard_name: str, table_name: str) -> None:
        regional: list[tuple[str, Callable[[RegionStack], str], str]] = [
            ("api_urls", lambda s: s.api.invoke_url, "Invoke URL of each region's /api"),
            ("lambda_arns", lambda s: s.function.function_arn, "ARN of each region's function"),
            ("s3_buckets", lambda s: s.storage.bucket_name, "Name of each region's artifacts bucket"),
            ("vpc_ids", lambda s: s.network.vpc_id, "Id of each region's VPC"),
            ("event_bus_names", lambda s: s.bus.bus_name, "Each region's event bus of item changes"),
            ("queue_urls", lambda s: s.queue.queue_url, "Each region's work queue"),
            (
                "dead_letter_queue_urls",
                lambda s: s.queue.dead_letter_queue_url,
                "Each region's dead-letter queue (inspect and redrive from here)",
            ),
        ]
        if config.api_auth == "api_key":
            regional.append(
                (
                    "api_keys",
                    lambda s: str(s.api.api_key_value),
                    "The API key of each region (the same key; send it as x-api-key)",
                )
            )
        for name, value, description in regional:
            TerraformOutput(
                self,
                name,
                value={region: value(stack) for region, stack in self.regions.items()},
                sensitive=True if name == "api_keys" else None,
                description=f"{description}, keyed by region",
            )
        if config.api_auth == "cognito":
            home_api = self.regions[str(config.home_region)].api
            TerraformOutput(
                self,
                "user_pool_id",
                value=home_api.user_pool_id,
                description=f"The Cognito user pool (in {config.home_region}) every region's authorizer trusts",
            )
            TerraformOutput(
                self, "user_pool_client_id", value=home_api.user_pool_client_id, description="Its app client"
            )
        TerraformOutput(
            self,
            "dashboard_name",
            value=dashboard_name,
            description=f"The CloudWatch dashboard of all regions, in {config.home_region}",
        )
        TerraformOutput(
            self, "table_name", value=table_name, description="The global items table (the same name in every region)"
        )
        domains = {r: s.domain for r, s in self.regions.items() if s.domain is not None}
        if domains:
            TerraformOutput(
                self,
                "api_url",
                # Every region's domain has the same global URL.
                value=domains[str(config.home_region)].url,
                description="The one address: the nearest healthy region answers",
            )
            TerraformOutput(
                self,
                "regional_api_urls",
                value={r: d.regional_url for r, d in domains.items()},
                description="Each region's own custom-domain URL of /api, keyed by region",
            )

    @staticmethod
    def _region(
        scope: Construct,
        config: StackConfig,
        namer: Namer,
        region: str,
        provider: aws.AwsProvider,
        source_dir: Path,
        *,
        account_id: str,
        key: EncryptionKey,
        table: GlobalTable,
        from_home: FromHome,
    ) -> RegionStack:
        key_arn = key.key_arn
        cors = Cors()
        zone_ids = config.availability_zone_ids.get(region)
        network = Network(
            scope,
            "network",
            provider=provider,
            account_id=account_id,
            kms_key_arn=key_arn,
            config=NetworkConfig(
                namer=namer,
                region=region,
                cidr_block=config.vpc_cidr(region),
                flow_log_retention_days=config.log_retention_days,
                availability_zone_ids=tuple(zone_ids) if zone_ids else None,
            ),
        )
        subnet_ids, security_group_id = network.subnet_ids, network.security_group_id
        queue = Queue(
            scope,
            "queue",
            provider=provider,
            kms_key_arn=key_arn,
            config=QueueConfig(
                namer=namer,
                region=region,
                consumer_timeout_seconds=config.worker_timeout_seconds,
                max_receive_count=config.queue_max_receive_count,
            ),
        )
        event_source = f"{config.project_name}.items"
        bus = EventBus(
            scope,
            "events",
            provider=provider,
            kms_key_arn=key_arn,
            queue_arn=queue.queue_arn,
            queue_url=queue.queue_url,
            dead_letter_queue_arn=queue.dead_letter_queue_arn,
            dead_letter_queue_url=queue.dead_letter_queue_url,
            config=EventBusConfig(namer=namer, region=region, source=event_source),
        )
        common_environment = {"REGION": region, "ENVIRONMENT": config.environment, "PROJECT_NAME": config.project_name}
        function = Function(
            scope,
            "function",
            provider=provider,
            account_id=account_id,
            subnet_ids=subnet_ids,
            security_group_id=security_group_id,
            kms_key_arn=key_arn,
            environment={
                **common_environment,
                # References: the function waits for the table and the bus it names.
                "TABLE_NAME": table.deployed_table_name,
                "EVENT_BUS_NAME": bus.deployed_bus_name,
                "EVENT_SOURCE": event_source,
                # The limit WAF enforces in front of the API, and the origin its preflights allow.
                "MAX_REQUEST_BODY_BYTES": str(config.api_max_request_body_kb * 1024),
                "CORS_ALLOW_ORIGIN": cors.allow_origin,
            },
            statements=_items_access(region, table.arn_in(region), bus.bus_arn, event_source, key_arn),
            config=FunctionConfig(
                namer=namer,
                region=region,
                source_dir=source_dir,
                runtime=config.lambda_runtime,
                memory_mb=config.lambda_memory_mb,
                timeout_seconds=config.lambda_timeout_seconds,
                reserved_concurrency=config.lambda_reserved_concurrency,
                provisioned_concurrency=config.lambda_provisioned_concurrency,
                log_retention_days=config.log_retention_days,
            ),
        )
        worker = Function(
            scope,
            "worker",
            provider=provider,
            account_id=account_id,
            subnet_ids=subnet_ids,
            security_group_id=security_group_id,
            kms_key_arn=key_arn,
            # The table's name, for work that reads it; using it takes a statement of its own.
            environment={**common_environment, "EVENT_SOURCE": event_source, "TABLE_NAME": table.deployed_table_name},
            config=FunctionConfig(
                namer=namer,
                region=region,
                component="worker",
                source_dir=source_dir,
                handler="worker.handler",
                runtime=config.lambda_runtime,
                memory_mb=config.worker_memory_mb,
                timeout_seconds=config.worker_timeout_seconds,
                log_retention_days=config.log_retention_days,
                # Bounded, so a flood of changes cannot take the account's whole concurrency.
                queue_triggers=(QueueTrigger(queue_arn=queue.queue_arn, max_concurrency=WORKER_MAX_CONCURRENCY),),
            ),
        )
        api = Api(
            scope,
            "api",
            provider=provider,
            function=FunctionTarget(
                function_name=function.deployed_function_name,
                alias_name=function.alias_name,
                alias_invoke_arn=function.alias_invoke_arn,
            ),
            kms_key_arn=key_arn,
            api_key_value=from_home.api_key_value,
            user_pool_arn=from_home.user_pool_arn,
            config=ApiConfig(
                namer=namer,
                region=region,
                stage_name=config.environment,
                auth=config.api_auth,
                throttle_rate_per_second=config.api_throttle_rate_per_second,
                throttle_burst_requests=config.api_throttle_burst_requests,
                usage_quota_per_day=config.api_usage_quota_per_day,
                cache_size_gb=config.api_cache_size_gb,
                log_retention_days=config.log_retention_days,
                cors=cors,
            ),
        )
        domain = None
        if config.domain_name is not None and config.hosted_zone_id is not None:
            domain = CustomDomain(
                scope,
                "domain",
                provider=provider,
                rest_api_id=api.rest_api_id,
                stage_name=api.deployed_stage_name,
                shared_validation_fqdn=from_home.validation_fqdn,
                config=CustomDomainConfig(
                    namer=namer, region=region, domain_name=config.domain_name, hosted_zone_id=config.hosted_zone_id
                ),
            )
        if config.waf_enabled:
            WebApplicationFirewall(
                scope,
                "waf",
                provider=provider,
                stage_arn=api.stage_arn,
                kms_key_arn=key_arn,
                config=WafConfig(
                    namer=namer,
                    region=region,
                    rate_limit_per_5_minutes=config.waf_rate_limit_per_5_minutes,
                    log_retention_days=config.log_retention_days,
                    max_request_body_kb=config.api_max_request_body_kb,
                    blocked_response_headers=cors.response_headers(),
                ),
            )
        storage = Storage(
            scope,
            "storage",
            provider=provider,
            account_id=account_id,
            kms_key_arn=key_arn,
            config=StorageConfig(
                namer=namer,
                region=region,
                bucket_suffix=config.bucket_suffix,
                noncurrent_version_days=config.artifacts_noncurrent_version_days,
            ),
        )
        monitoring = Monitoring(
            scope,
            "monitoring",
            provider=provider,
            function_name=function.deployed_function_name,
            api_name=api.deployed_api_name,
            stage_name=api.deployed_stage_name,
            kms_key_arn=key_arn,
            async_watch=AsyncWatch(
                queue_name=queue.deployed_queue_name,
                dead_letter_queue_name=queue.deployed_dead_letter_queue_name,
                publisher_log_group_name=function.log_group_name,
            ),
            config=MonitoringConfig(
                namer=namer,
                region=region,
                alarm_email=config.alarm_email,
                errors_threshold=config.alarm_errors_threshold,
                duration_threshold_ms=config.alarm_duration_threshold_ms,
                api_4xx_threshold=config.alarm_api_4xx_threshold,
                api_5xx_threshold=config.alarm_api_5xx_threshold,
                throttles_threshold=config.alarm_throttles_threshold,
                queue_age_threshold_seconds=config.alarm_queue_age_threshold_seconds,
            ),
        )
        return RegionStack(
            key=key,
            network=network,
            function=function,
            api=api,
            storage=storage,
            monitoring=monitoring,
            queue=queue,
            bus=bus,
            worker=worker,
            domain=domain,
        )


def _region_key(
    scope: Construct, namer: Namer, region: str, provider: aws.AwsProvider, account_id: str
) -> EncryptionKey:
    """The region's key for everything the region encrypts at rest."""
    return EncryptionKey(
        scope,
        "key",
        provider=provider,
        account_id=account_id,
        config=KeyConfig(
            namer=namer,
            region=region,
            uses="logs, topic, bucket, table, queues, events and function settings",
            eventbridge=True,
        ),
    )


def _items_access(region: str, table_arn: str, bus_arn: str, event_source: str, key_arn: str) -> list[Statement]:
    """What the items API needs: its own region's copy of the table, item by item (no batch, no
    table-level actions), and publishing its own events (the ``events:source`` condition) to its
    region's bus, both through the region's key only as those services use it."""
    return [
        Statement(
            sid="ReadWriteItemsInThisRegionsReplica",
            actions=["dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:Scan", "dynamodb:UpdateItem"],
            resources=[table_arn],
        ),
        Statement(
            sid="PublishItemEvents",
            actions=["events:PutEvents"],
            resources=[bus_arn],
            conditions=[Condition(test="StringEquals", variable="events:source", values=[event_source])],
        ),
        Statement(
            sid="UseTheKeyThroughTheTableAndBus",
            actions=["kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey"],
            resources=[key_arn],
            conditions=[
                Condition(
                    test="StringEquals",
                    variable="kms:ViaService",
                    values=[f"dynamodb.{region}.amazonaws.com", f"events.{region}.amazonaws.com"],
                )
            ],
        ),
    ]
