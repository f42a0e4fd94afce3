"""One environment's stack: every configured region, side by side, plus the global dashboard."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from . import aws
from .api import Api, ApiConfig
from .cdk import Construct, LocalBackend, S3Backend, TerraformOutput, TerraformStack
from .config import StackConfig
from .dashboard import Dashboard, DashboardConfig, RegionMetrics
from .function import Function, FunctionConfig
from .kms import EncryptionKey, KeyConfig
from .monitoring import Monitoring, MonitoringConfig
from .naming import Namer
from .network import Network, NetworkConfig
from .storage import Storage, StorageConfig
from .waf import WafConfig, WebApplicationFirewall

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


@dataclass(frozen=True)
class RegionStack:
    """What one region exposes to the global parts and the outputs."""

    key: EncryptionKey
    network: Network
    function: Function
    api: Api
    storage: Storage
    monitoring: Monitoring


class ServerlessStack(TerraformStack):
    """Creates, in every configured region (each through its own aliased provider): a KMS key, a private
    network, the Lambda function, a REST API in front of it behind a WAF web ACL, an artifacts
    bucket and alarms with an SNS topic; in the home region, one dashboard of all regions. Outputs
    maps keyed by region: ``api_urls``, ``lambda_arns``, ``s3_buckets``, ``vpc_ids``; and
    ``dashboard_name``.
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

        self.providers: dict[str, aws.AwsProvider] = {}
        self.regions: dict[str, RegionStack] = {}
        for region in config.regions:
            provider = regional_provider(self, region, tags)
            self.providers[region] = provider
            self.regions[region] = self._region(Construct(self, region), config, namer, region, provider, source_dir)

        home = str(config.home_region)
        dashboard = Dashboard(
            self,
            "dashboard",
            provider=self.providers[home],
            config=DashboardConfig(
                name=namer.name("dashboard", home, kind="cloudwatch_dashboard"),
                home_region=home,
                regions=[
                    RegionMetrics(
                        region=r,
                        function_name=s.function.function_name,
                        api_name=s.api.api_name,
                        stage_name=s.api.stage_name,
                    )
                    for r, s in self.regions.items()
                ],
            ),
        )

        def by_region(value: Callable[[RegionStack], str]) -> dict[str, str]:
            return {region: value(stack) for region, stack in self.regions.items()}

        TerraformOutput(
            self,
            "api_urls",
            value=by_region(lambda s: s.api.invoke_url),
            description="Invoke URL of each region's /api, keyed by region",
        )
        TerraformOutput(
            self,
            "lambda_arns",
            value=by_region(lambda s: s.function.function_arn),
            description="ARN of each region's function, keyed by region",
        )
        TerraformOutput(
            self,
            "s3_buckets",
            value=by_region(lambda s: s.storage.bucket_name),
            description="Name of each region's artifacts bucket, keyed by region",
        )
        TerraformOutput(
            self,
            "vpc_ids",
            value=by_region(lambda s: s.network.vpc_id),
            description="Id of each region's VPC, keyed by region",
        )
        TerraformOutput(
            self,
            "dashboard_name",
            value=dashboard.dashboard_name,
            description=f"The CloudWatch dashboard of all regions, in {home}",
        )
        if config.api_auth == "api_key":
            TerraformOutput(
                self,
                "api_keys",
                value=by_region(lambda s: str(s.api.api_key_value)),
                sensitive=True,
                description="The API key of each region (send it as x-api-key), keyed by region",
            )
        if config.api_auth == "cognito":
            TerraformOutput(
                self,
                "user_pool_ids",
                value=by_region(lambda s: str(s.api.user_pool_id)),
                description="Cognito user pool of each region, keyed by region",
            )
            TerraformOutput(
                self,
                "user_pool_client_ids",
                value=by_region(lambda s: str(s.api.user_pool_client_id)),
                description="Cognito app client of each region, keyed by region",
            )

    @staticmethod
    def _region(
        scope: Construct, config: StackConfig, namer: Namer, region: str, provider: aws.AwsProvider, source_dir: Path
    ) -> RegionStack:
        account_id = aws.DataAwsCallerIdentity(scope, "caller-identity", provider=provider).account_id
        key = EncryptionKey(
            scope, "key", provider=provider, account_id=account_id, config=KeyConfig(namer=namer, region=region)
        )
        zone_ids = config.availability_zone_ids.get(region)
        network = Network(
            scope,
            "network",
            provider=provider,
            account_id=account_id,
            kms_key_arn=key.key_arn,
            config=NetworkConfig(
                namer=namer,
                region=region,
                cidr_block=config.vpc_cidr(region),
                flow_log_retention_days=config.log_retention_days,
                availability_zone_ids=tuple(zone_ids) if zone_ids else None,
            ),
        )
        function = Function(
            scope,
            "function",
            provider=provider,
            account_id=account_id,
            subnet_ids=network.subnet_ids,
            security_group_id=network.security_group_id,
            kms_key_arn=key.key_arn,
            environment={"REGION": region, "ENVIRONMENT": config.environment, "PROJECT_NAME": config.project_name},
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
        api = Api(
            scope,
            "api",
            provider=provider,
            function_name=function.function_name,
            function_alias=function.alias_name,
            function_invoke_arn=function.alias_invoke_arn,
            kms_key_arn=key.key_arn,
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
            ),
        )
        if config.waf_enabled:
            WebApplicationFirewall(
                scope,
                "waf",
                provider=provider,
                stage_arn=api.stage_arn,
                kms_key_arn=key.key_arn,
                config=WafConfig(
                    namer=namer,
                    region=region,
                    rate_limit_per_5_minutes=config.waf_rate_limit_per_5_minutes,
                    log_retention_days=config.log_retention_days,
                ),
            )
        storage = Storage(
            scope,
            "storage",
            provider=provider,
            account_id=account_id,
            kms_key_arn=key.key_arn,
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
            function_name=function.function_name,
            api_name=api.api_name,
            stage_name=api.stage_name,
            kms_key_arn=key.key_arn,
            config=MonitoringConfig(
                namer=namer,
                region=region,
                alarm_email=config.alarm_email,
                errors_threshold=config.alarm_errors_threshold,
                duration_threshold_ms=config.alarm_duration_threshold_ms,
                api_4xx_threshold=config.alarm_api_4xx_threshold,
                api_5xx_threshold=config.alarm_api_5xx_threshold,
                throttles_threshold=config.alarm_throttles_threshold,
            ),
        )
        return RegionStack(key=key, network=network, function=function, api=api, storage=storage, monitoring=monitoring)
