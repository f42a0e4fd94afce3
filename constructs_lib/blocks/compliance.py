"""AWS Config: managed rules that check, continuously, what this project promises of its resources;
and, for an account that has none, a configuration recorder (AWS allows one per account and
region) with its delivery channel."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..cdk import aws
from ..cdk.core import Construct
from .iam import ServiceRole, Statement, service_role
from .naming import Namer
from .storage import Storage, StorageConfig


@dataclass(frozen=True)
class ManagedRule:
    """An AWS Config managed rule: ``what`` names it, ``identifier`` is AWS's; a periodic rule runs
    every 24 hours over every resource of its type, a change-triggered one on each change of a
    resource tagged with the project."""

    what: str
    identifier: str
    periodic: bool = False


# What the project promises, each checked by AWS's own rule (docs/security.md lists the defaults).
RULES = (
    ManagedRule("lambda-in-vpc", "LAMBDA_INSIDE_VPC"),
    ManagedRule("s3-tls-only", "S3_BUCKET_SSL_REQUESTS_ONLY"),
    ManagedRule("s3-encrypted", "S3_BUCKET_SERVER_SIDE_ENCRYPTION_ENABLED"),
    ManagedRule("api-execution-logging", "API_GW_EXECUTION_LOGGING_ENABLED"),
    ManagedRule("api-behind-waf", "API_GW_ASSOCIATED_WITH_WAF"),
    ManagedRule("dynamodb-pitr", "DYNAMODB_PITR_ENABLED"),
    ManagedRule("dynamodb-kms", "DYNAMODB_TABLE_ENCRYPTED_KMS"),
    ManagedRule("sns-kms", "SNS_ENCRYPTED_KMS"),
    ManagedRule("log-groups-encrypted", "CLOUDWATCH_LOG_GROUP_ENCRYPTED", periodic=True),
    ManagedRule("kms-rotation", "CMK_BACKING_KEY_ROTATION_ENABLED", periodic=True),
)
# Tagged by every provider of the project (default tags): what the change-triggered rules look at.
PROJECT_TAG = "Project"
RECORDER_ROLE_POLICY = "arn:aws:iam::aws:policy/service-role/AWS_ConfigRole"


@dataclass(frozen=True, kw_only=True)
class ComplianceConfig:
    """namer: the project's shared names; project_name: the value of the ``Project`` tag the
    change-triggered rules look at; recorder_region: where a recorder's bucket is and the global
    resource types are recorded; recorder: also create a configuration recorder and delivery
    channel in every region (for an account that has none: AWS allows one per region). Default
    ``False``."""

    namer: Namer
    project_name: str
    recorder_region: str
    recorder: bool = False


class ComplianceRules(Construct):
    """Creates, in every region of ``providers``: the managed rules of ``RULES`` (change-triggered
    ones scoped to resources tagged ``Project = <project>``, periodic ones daily), named
    ``<project>-<what>``; with ``recorder``, before them, a configuration recorder of every supported
    resource type (global types in the recorder region only), its delivery channel to a private,
    versioned, KMS-encrypted bucket in the recorder region, and the recorder started. Without it,
    AWS refuses the rules in a region that has no recorder (NoAvailableConfigurationRecorder)."""

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        config: ComplianceConfig,
        providers: Mapping[str, aws.AwsProvider],
        account_id: str,
        kms_key_arn: str | None = None,
        recorder_provider: aws.AwsProvider | None = None,
    ) -> None:
        """``providers``: the regions the rules (and recorders) go to; ``recorder_provider``: the
        recorder region's, where its bucket and role are (default: its entry in ``providers``)."""
        super().__init__(scope, id_)
        recorders: dict[str, list[Any]] = {region: [] for region in providers}
        if config.recorder:
            if kms_key_arn is None:
                raise ValueError("kms_key_arn: the recorder's bucket needs a key of the recorder region")
            home = recorder_provider or providers.get(config.recorder_region)
            if home is None:
                raise ValueError(f"recorder_provider: none for the recorder region {config.recorder_region!r}")
            recorders = self._recorders(config, providers, home, account_id, kms_key_arn)
        for region, provider in sorted(providers.items()):
            for rule in RULES:
                self._rule(config, region, provider, rule, recorders[region])

    def _rule(
        self,
        config: ComplianceConfig,
        region: str,
        provider: aws.AwsProvider,
        rule: ManagedRule,
        after: list[Any],
    ) -> None:
        aws.ConfigConfigRule(
            self,
            f"{rule.what}-{region}",
            provider=provider,
            name=config.namer.global_name(rule.what, kind="config_rule"),
            description=f"{rule.identifier}: a promise of {config.project_name}'s stacks",
            source=aws.ConfigConfigRuleSource(owner="AWS", source_identifier=rule.identifier),
            scope=None
            if rule.periodic
            else aws.ConfigConfigRuleScope(tag_key=PROJECT_TAG, tag_value=config.project_name),
            maximum_execution_frequency="TwentyFour_Hours" if rule.periodic else None,
            depends_on=after or None,
        )

    def _delivery(
        self, config: ComplianceConfig, home_provider: aws.AwsProvider, account_id: str, kms_key_arn: str
    ) -> tuple[Storage, ServiceRole, aws.IamRolePolicyAttachment]:
        """The recorders' bucket in the recorder region, and their role: read the configuration
        (AWS's managed policy, attached: the third value), deliver to that bucket, encrypt with its key."""
        home = config.recorder_region
        bucket = Storage(
            self,
            "bucket",
            provider=home_provider,
            account_id=account_id,
            kms_key_arn=kms_key_arn,
            config=StorageConfig(namer=config.namer, region=home, component="config", noncurrent_version_days=365),
        )
        role = service_role(
            self,
            "role",
            provider=home_provider,
            name=config.namer.name("config", home, kind="iam_role"),
            service="config.amazonaws.com",
            source_account=account_id,
            statements=[
                Statement(sid="FindTheBucket", actions=["s3:GetBucketAcl"], resources=[bucket.bucket_arn]),
                Statement(
                    sid="DeliverToTheBucket",
                    actions=["s3:PutObject"],
                    resources=[f"{bucket.bucket_arn}/AWSLogs/{account_id}/Config/*"],
                ),
                Statement(
                    sid="EncryptDeliveries", actions=["kms:GenerateDataKey", "kms:Decrypt"], resources=[kms_key_arn]
                ),
            ],
        )
        reads = aws.IamRolePolicyAttachment(
            self,
            "role-reads-configuration",
            provider=home_provider,
            role=role.role.id,
            policy_arn=RECORDER_ROLE_POLICY,
        )
        return bucket, role, reads

    def _recorders(
        self,
        config: ComplianceConfig,
        providers: Mapping[str, aws.AwsProvider],
        home_provider: aws.AwsProvider,
        account_id: str,
        kms_key_arn: str,
    ) -> dict[str, list[Any]]:
        """A recorder, a delivery channel and the recorder's status in every region; returns, by
        region, what a rule must wait for. Global resource types are recorded once: in the recorder
        region, or the first region where no recorder runs there."""
        home = config.recorder_region
        global_types = home if home in providers else sorted(providers)[0]
        bucket, role, reads = self._delivery(config, home_provider, account_id, kms_key_arn)
        # Read once: every attribute read is a round trip to the jsii runtime.
        name, role_arn, bucket_name = (
            config.namer.global_name("config", kind="config_recorder"),
            role.arn,
            bucket.bucket_name,
        )
        waits: dict[str, list[Any]] = {}
        for region, provider in sorted(providers.items()):
            recorder = aws.ConfigConfigurationRecorder(
                self,
                f"recorder-{region}",
                provider=provider,
                name=name,
                role_arn=role_arn,
                recording_group=aws.ConfigConfigurationRecorderRecordingGroup(
                    all_supported=True, include_global_resource_types=region == global_types
                ),
            )
            channel = aws.ConfigDeliveryChannel(
                self,
                f"channel-{region}",
                provider=provider,
                name=name,
                s3_bucket_name=bucket_name,
                s3_kms_key_arn=kms_key_arn,
                depends_on=[recorder, role.policy],
            )
            status = aws.ConfigConfigurationRecorderStatus(
                self,
                f"recording-{region}",
                provider=provider,
                name=recorder.name,
                is_enabled=True,
                # Started before the role may describe resources, the first evaluations fail (AccessDenied).
                depends_on=[channel, reads],
            )
            waits[region] = [status]
        return waits
