"""One environment's stack: every configured region, side by side, plus the global dashboard."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from ..blocks.dashboard import Dashboard, DashboardConfig, RegionMetrics
from ..blocks.health_alarms import METRICS_REGION, HealthAlarms, HealthAlarmsConfig
from ..blocks.kms import EncryptionKey, KeyConfig
from ..blocks.naming import Namer
from ..blocks.table import GlobalTable, TableConfig
from ..cdk import aws
from ..cdk.core import Construct, LocalBackend, S3Backend, TerraformOutput, TerraformStack
from ..settings import StackConfig
from .region import FromHome, RegionalDeployment

MANAGED_BY = "cdktf"


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
        state = config.state
        configure_backend(self, stack_name=config.stack_name, bucket=state.bucket, key=state.key, region=state.region)
        namer = Namer(config.project_name, config.environment)
        tags = {
            **config.tags,
            "Project": config.project_name,
            "Environment": config.environment,
            "ManagedBy": MANAGED_BY,
        }
        home = config.home
        table_config = TableConfig(
            namer=namer,
            home_region=home,
            replica_regions=tuple(r for r in config.regions if r != home),
            **config.settings_for("table"),
        )

        self.providers = {region: regional_provider(self, region, tags) for region in config.regions}
        table = GlobalTable(self, "table", config=table_config)
        # The home region first: it adds the table itself, and the other regions take its API key,
        # user pool and validation record. (Construct ids, not this order, make the addresses.)
        deployments: dict[str, RegionalDeployment] = {}
        from_home = FromHome()
        for region in sorted(config.regions, key=lambda r: r != home):
            deployments[region] = RegionalDeployment(
                self,
                region,
                config=config,
                namer=namer,
                provider=self.providers[region],
                source_dir=source_dir,
                table=table,
                from_home=from_home,
            )
            if region == home:
                from_home = deployments[region].from_home_for_others()
        self.regions = {region: deployments[region] for region in config.regions}

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
        regional: list[tuple[str, Callable[[RegionalDeployment], str], str]] = [
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
            home_api = self.regions[config.home].api
            TerraformOutput(
                self,
                "user_pool_id",
                value=home_api.user_pool_id,
                description=f"The Cognito user pool (in {config.home}) every region's authorizer trusts",
            )
            TerraformOutput(
                self, "user_pool_client_id", value=home_api.user_pool_client_id, description="Its app client"
            )
        TerraformOutput(
            self,
            "dashboard_name",
            value=dashboard_name,
            description=f"The CloudWatch dashboard of all regions, in {config.home}",
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
                value=domains[config.home].url,
                description="The one address: the nearest healthy region answers",
            )
            TerraformOutput(
                self,
                "regional_api_urls",
                value={r: d.regional_url for r, d in domains.items()},
                description="Each region's own custom-domain URL of /api, keyed by region",
            )
