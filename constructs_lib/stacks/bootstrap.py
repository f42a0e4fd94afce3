"""The bootstrap stack: what must exist once per account before the environment stacks deploy."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ..blocks.compliance import ComplianceConfig, ComplianceRules
from ..blocks.iam import Statement, service_role
from ..blocks.kms import EncryptionKey, KeyConfig
from ..blocks.naming import Namer
from ..blocks.storage import Storage, StorageConfig
from ..cdk import aws
from ..cdk.core import Construct, TerraformOutput, TerraformStack
from ..settings import StackConfig, regions_of
from ..settings.config import StateLocation, bootstrap_stack_name
from .common import MANAGED_BY, configure_backend, regional_provider

SHARED = "shared"


@dataclass(frozen=True, kw_only=True)
class StateBucket:
    """A state bucket the environments configure, and its region."""

    name: str
    region: str


@dataclass(frozen=True, kw_only=True)
class BootstrapConfig:
    """project_name: the project; regions: every region any environment uses (API Gateway's
    CloudWatch role is set per region); state_region: where the bootstrap's own state (once remote)
    and the default state bucket live; state_buckets: the buckets the environments configure, one
    per region where ``state_bucket`` has ``{region}`` (none: one bucket named from the account id);
    remote_state: keep the bootstrap's own state in ``state_region``'s bucket (``bootstrap_state``
    ``"remote"``); tags: extra tags; config_rules, config_recorder: AWS Config's managed rules, and a
    recorder for them, in every region (``ComplianceRules``); retired_regions: regions an environment
    has retired (``StackConfig.retired_regions``) that none uses any more: their provider only, so
    that Terraform can destroy what the stack had there."""

    project_name: str
    regions: tuple[str, ...]
    state_region: str
    state_buckets: tuple[StateBucket, ...] = ()
    remote_state: bool = False
    tags: dict[str, str] | None = None
    config_rules: bool = False
    config_recorder: bool = False
    retired_regions: tuple[str, ...] = ()

    @classmethod
    def from_stacks(cls, configs: Sequence[StackConfig]) -> BootstrapConfig:
        if not configs:
            raise ValueError("configs: the bootstrap stack needs at least one environment")
        buckets = {
            StateBucket(name=location.bucket, region=location.region)
            for config in configs
            for location in (config.state_of(stack) for stack in ("global", *config.regions))
            if location.bucket is not None
        }
        first = configs[0]
        regions = regions_of(configs)
        retired = [r for config in configs for r in config.retired_regions if r not in regions]
        return cls(
            project_name=first.project_name,
            regions=regions,
            retired_regions=tuple(dict.fromkeys(retired)),
            state_region=first.state_of("global").region,
            state_buckets=tuple(sorted(buckets, key=lambda b: (b.region != first.state_of("global").region, b.name))),
            remote_state=first.bootstrap_state == "remote",
            tags=dict(first.tags),
            config_rules=first.config_rules,
            config_recorder=first.config_recorder,
        )

    @property
    def own_state(self) -> StateLocation:
        """Where the bootstrap keeps its state: local until ``remote_state``, then in the state
        region's bucket."""
        if not self.remote_state:
            return StateLocation(bucket=None, region=self.state_region, key="")
        bucket = next((b.name for b in self.state_buckets if b.region == self.state_region), None)
        return StateLocation(bucket=bucket, region=self.state_region, key=f"{self.project_name}/bootstrap.tfstate")

    @property
    def stack_name(self) -> str:
        return bootstrap_stack_name(self.project_name)


class BootstrapStack(TerraformStack):
    """Creates the state buckets, each in its region (with ``{region}`` in ``state_bucket``, one in
    every region an environment keeps state in), versioned, encrypted with a KMS key of their own
    in that region, non-public and TLS-only; and in every region, API Gateway's account-level
    CloudWatch role, which stage access and execution logs need. One per account: run it once per
    account, before the first environment, with local state (it makes the buckets); then, with
    ``bootstrap_state`` ``"remote"``, it keeps its state in the state region's bucket.
    """

    def __init__(self, scope: Construct, config: BootstrapConfig) -> None:
        super().__init__(scope, config.stack_name)
        configure_backend(self, stack_name=config.stack_name, state=config.own_state)
        namer = Namer(config.project_name, SHARED)
        providers = self._providers(config)
        home = providers[config.state_region]
        account_id = aws.DataAwsCallerIdentity(self, "caller-identity", provider=home).account_id
        state_keys = self._state_buckets(config, namer, providers, account_id)
        self._api_gateway_logging(config, namer, providers, account_id)
        if config.config_rules:
            ComplianceRules(
                self,
                "compliance",
                providers={region: providers[region] for region in config.regions},
                account_id=account_id,
                kms_key_arn=state_keys[config.state_region],
                recorder_provider=providers[config.state_region],
                config=ComplianceConfig(
                    namer=namer,
                    project_name=config.project_name,
                    recorder_region=config.state_region,
                    recorder=config.config_recorder,
                ),
            )

    def _providers(self, config: BootstrapConfig) -> dict[str, aws.AwsProvider]:
        """One provider per region, the state region's and the retired regions' included."""
        tags = {**(config.tags or {}), "Project": config.project_name, "Environment": SHARED, "ManagedBy": MANAGED_BY}
        providers = {region: regional_provider(self, region, tags) for region in config.regions}
        for region in (config.state_region, *(b.region for b in config.state_buckets), *config.retired_regions):
            if region not in providers:
                providers[region] = regional_provider(self, region, tags)
        return providers

    def _state_buckets(
        self, config: BootstrapConfig, namer: Namer, providers: dict[str, aws.AwsProvider], account_id: str
    ) -> dict[str, str]:
        """The state buckets, each encrypted with a key of its region, and their names as an output;
        returns the keys' ARNs by region."""
        keys: dict[str, str] = {}
        buckets = config.state_buckets or (StateBucket(name="", region=config.state_region),)
        bucket_names = []
        for bucket in buckets:
            region = bucket.region
            if region not in keys:
                # The state region's key keeps the address it had when there was one state region.
                keys[region] = EncryptionKey(
                    self,
                    "state-key" if region == config.state_region else f"state-key-{region}",
                    provider=providers[region],
                    account_id=account_id,
                    config=KeyConfig(namer=namer, region=region),
                ).key_arn
            storage = Storage(
                self,
                f"state-{bucket.name}" if bucket.name else "state",
                provider=providers[region],
                account_id=account_id,
                kms_key_arn=keys[region],
                config=StorageConfig(
                    namer=namer,
                    region=region,
                    component="tfstate",
                    bucket_name=bucket.name or None,
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
        return keys

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
