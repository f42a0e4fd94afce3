"""The bootstrap stack: what must exist once per account before the environment stacks deploy."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ..blocks.iam import Statement, service_role
from ..blocks.kms import EncryptionKey, KeyConfig
from ..blocks.naming import Namer
from ..blocks.storage import Storage, StorageConfig
from ..cdk import aws
from ..cdk.core import Construct, TerraformOutput, TerraformStack
from ..settings import StackConfig
from .environment import MANAGED_BY, configure_backend, regional_provider

SHARED = "shared"


@dataclass(frozen=True, kw_only=True)
class BootstrapConfig:
    """project_name: the project; regions: every region any environment uses (API Gateway's
    CloudWatch role is set per region); state_region: where the state bucket lives; state_buckets:
    the bucket names the environments configure (none: one bucket named from the account id);
    tags: extra tags."""

    project_name: str
    regions: tuple[str, ...]
    state_region: str
    state_buckets: tuple[str, ...] = ()
    tags: dict[str, str] | None = None

    @classmethod
    def from_stacks(cls, configs: Sequence[StackConfig]) -> BootstrapConfig:
        if not configs:
            raise ValueError("configs: the bootstrap stack needs at least one environment")
        regions: list[str] = []
        for config in configs:
            regions += [r for r in config.regions if r not in regions]
        buckets = sorted({c.state_bucket for c in configs if c.state_bucket is not None})
        return cls(
            project_name=configs[0].project_name,
            regions=tuple(regions),
            state_region=configs[0].state.region,
            state_buckets=tuple(buckets),
            tags=dict(configs[0].tags),
        )

    @property
    def stack_name(self) -> str:
        return f"{self.project_name}-bootstrap"


class BootstrapStack(TerraformStack):
    """Creates, with local state (it makes the remote state's bucket): the state bucket(s) in the state
    region, versioned, encrypted with a KMS key of their own, non-public and TLS-only; and in every
    region, API Gateway's account-level CloudWatch role, which stage access and execution logs need.
    One per account: run it once per account, before the first environment.
    """

    def __init__(self, scope: Construct, config: BootstrapConfig) -> None:
        super().__init__(scope, config.stack_name)
        configure_backend(self, stack_name=config.stack_name, bucket=None, key="", region=config.state_region)
        namer = Namer(config.project_name, SHARED)
        providers = self._providers(config)
        home = providers[config.state_region]
        account_id = aws.DataAwsCallerIdentity(self, "caller-identity", provider=home).account_id
        self._state_buckets(config, namer, home, account_id)
        self._api_gateway_logging(config, namer, providers, account_id)

    def _providers(self, config: BootstrapConfig) -> dict[str, aws.AwsProvider]:
        """One provider per region, the state region's included."""
        tags = {**(config.tags or {}), "Project": config.project_name, "Environment": SHARED, "ManagedBy": MANAGED_BY}
        providers = {region: regional_provider(self, region, tags) for region in config.regions}
        if config.state_region not in providers:
            providers[config.state_region] = regional_provider(self, config.state_region, tags)
        return providers

    def _state_buckets(self, config: BootstrapConfig, namer: Namer, home: aws.AwsProvider, account_id: str) -> None:
        """The state bucket(s), encrypted with a key of their own, and their names as an output."""
        key = EncryptionKey(
            self,
            "state-key",
            provider=home,
            account_id=account_id,
            config=KeyConfig(namer=namer, region=config.state_region),
        )
        bucket_names = []
        for name in config.state_buckets or (None,):
            storage = Storage(
                self,
                f"state-{name}" if name else "state",
                provider=home,
                account_id=account_id,
                kms_key_arn=key.key_arn,
                config=StorageConfig(
                    namer=namer,
                    region=config.state_region,
                    component="tfstate",
                    bucket_name=name,
                    noncurrent_version_days=365,
                ),
            )
            bucket_names.append(storage.bucket_name)
        TerraformOutput(
            self,
            "state_buckets",
            value=bucket_names,
            description="Buckets for the environments' remote state: set state_bucket to one",
        )

    def _api_gateway_logging(
        self, config: BootstrapConfig, namer: Namer, providers: dict[str, aws.AwsProvider], account_id: str
    ) -> None:
        """API Gateway's account-level CloudWatch role, set in every region, and its ARN as an output."""
        role = service_role(
            self,
            "api-gateway-cloudwatch-role",
            provider=providers[config.state_region],
            name=namer.name("apigw-logs", config.state_region, kind="iam_role"),
            service="apigateway.amazonaws.com",
            source_account=None,
            statements=[
                Statement(
                    sid="WriteApiGatewayLogs",
                    actions=[
                        "logs:CreateLogGroup",
                        "logs:CreateLogStream",
                        "logs:DescribeLogGroups",
                        "logs:DescribeLogStreams",
                        "logs:FilterLogEvents",
                        "logs:GetLogEvents",
                        "logs:PutLogEvents",
                    ],
                    resources=[f"arn:aws:logs:{region}:{account_id}:log-group:*" for region in config.regions]
                    + [f"arn:aws:logs:{region}:{account_id}:log-group:*:log-stream:*" for region in config.regions],
                )
            ],
        )
        # Read once: every attribute read is a round trip to the jsii runtime.
        role_arn = role.arn
        for region in config.regions:
            aws.ApiGatewayAccount(
                self,
                f"api-gateway-account-{region}",
                provider=providers[region],
                cloudwatch_role_arn=role_arn,
                depends_on=[role.policy],
            )
        TerraformOutput(
            self,
            "api_gateway_cloudwatch_role_arn",
            value=role_arn,
            description="API Gateway's account-level CloudWatch role, set in every region",
        )
