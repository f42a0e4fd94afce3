"""A customer-managed KMS key per region, for everything the region encrypts at rest."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ..cdk import aws
from ..cdk.core import Construct
from .iam import Condition, Grantee, Statement, policy_document
from .naming import Namer

# What the account's administrators may do with the key, spelled out rather than "kms:*", so the
# policy grants no action added to KMS later. PutKeyPolicy keeps the key manageable (no lock-out).
ADMIN_ACTIONS = (
    "kms:CancelKeyDeletion",
    "kms:CreateAlias",
    "kms:CreateGrant",
    "kms:Decrypt",
    "kms:DeleteAlias",
    "kms:DescribeKey",
    "kms:DisableKey",
    "kms:DisableKeyRotation",
    "kms:EnableKey",
    "kms:EnableKeyRotation",
    "kms:Encrypt",
    "kms:GenerateDataKey",
    "kms:GenerateDataKeyWithoutPlaintext",
    "kms:GetKeyPolicy",
    "kms:GetKeyRotationStatus",
    "kms:ListAliases",
    "kms:ListGrants",
    "kms:ListKeyPolicies",
    "kms:ListKeyRotations",
    "kms:ListResourceTags",
    "kms:PutKeyPolicy",
    "kms:ReEncryptFrom",
    "kms:ReEncryptTo",
    "kms:RetireGrant",
    "kms:RevokeGrant",
    "kms:RotateKeyOnDemand",
    "kms:ScheduleKeyDeletion",
    "kms:TagResource",
    "kms:UntagResource",
    "kms:UpdateAlias",
    "kms:UpdateKeyDescription",
)


@dataclass(frozen=True, kw_only=True)
class KeyConfig:
    """namer, region: where and how the key is named; deletion_window_days: 7 to 30. Default 30.
    uses: what the key encrypts, for its description. Default ``"logs, topic, bucket and function
    settings"``. eventbridge: let EventBridge of this account encrypt with it (an encrypted event bus,
    deliveries to encrypted queues). Default ``False``. component: names its alias
    ``alias/{project}-{component}-{region}-{environment}``. Default ``"key"``: the region's key,
    which other stacks find by that alias (a key for another purpose takes another component)."""

    namer: Namer
    region: str
    deletion_window_days: int = 30
    uses: str = "logs, topic, bucket and function settings"
    eventbridge: bool = False
    component: str = "key"

    def __post_init__(self) -> None:
        if not 7 <= self.deletion_window_days <= 30:
            raise ValueError(f"deletion_window_days: {self.deletion_window_days!r} must be 7 to 30")


def _eventbridge_statements(account_id: str) -> list[Statement]:
    """The event bus encrypts events with the key, and EventBridge encrypts what it sends to the
    (encrypted) work and dead-letter queues."""
    return [
        Statement(
            sid="EventBridgeChecksTheKey",
            actions=["kms:DescribeKey"],
            resources=["*"],
            principals={"Service": ["events.amazonaws.com"]},
        ),
        Statement(
            sid="EventBridgeOfThisAccountEncrypts",
            actions=["kms:Decrypt", "kms:GenerateDataKey"],
            resources=["*"],
            principals={"Service": ["events.amazonaws.com"]},
            conditions=[Condition(test="StringEquals", variable="aws:SourceAccount", values=[account_id])],
        ),
    ]


def use_through(key_arn: str, region: str, services: Sequence[str], *, sid: str, actions: Sequence[str]) -> Statement:
    """``actions`` on the key only as ``services`` use it on the caller's behalf in ``region``
    (``kms:ViaService``): for a role whose key is known by its ARN alone."""
    return Statement(
        sid=sid,
        actions=list(actions),
        resources=[key_arn],
        conditions=[
            Condition(
                test="StringEquals",
                variable="kms:ViaService",
                values=[f"{service}.{region}.amazonaws.com" for service in services],
            )
        ],
    )


def key_alias_name(namer: Namer, region: str, component: str = "key") -> str:
    """The alias of the region's key: how a stack that did not create the key finds it."""
    return "alias/" + namer.name(component, region, kind="kms_alias")


class _UsableKey(Construct):
    """A key whose use can be granted: the created key and the key found by its alias alike."""

    _arn: str
    _region: str

    def grant_use_through(
        self, grantee: Grantee, *, services: Sequence[str], sid: str = "UseTheKeyThroughServices"
    ) -> None:
        """Encrypt and decrypt with the key only as ``services`` (``"dynamodb"``, ``"events"``...) use
        it on the grantee's behalf in the key's region (``kms:ViaService``)."""
        grantee.add_to_role_policy(
            use_through(
                self._arn,
                self._region,
                services,
                sid=sid,
                actions=("kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey"),
            )
        )

    @property
    def key_arn(self) -> str:
        return self._arn


class KeyByAlias(_UsableKey):
    """Reads (creates nothing) the region's key through its alias, in the provider's region: for a
    regional stack whose key the global stack creates, so nothing of another stack's state is read."""

    def __init__(self, scope: Construct, id_: str, *, namer: Namer, region: str, provider: aws.AwsProvider) -> None:
        super().__init__(scope, id_)
        self._region = region
        self._arn = aws.DataAwsKmsAlias(
            self, "alias", provider=provider, name=key_alias_name(namer, region)
        ).target_key_arn


class EncryptionKey(_UsableKey):
    """Creates a symmetric KMS key with yearly automatic rotation and an alias. Its policy lets the
    account's IAM policies grant its use (so roles get exactly what their policies say), CloudWatch
    Logs use it for this account's log groups in the region only, CloudWatch alarms publish to SNS
    topics it encrypts (the AWS-managed SNS key cannot allow that), and, with ``eventbridge``,
    EventBridge of this account encrypt events and queue deliveries with it.
    """

    def __init__(
        self, scope: Construct, id_: str, *, config: KeyConfig, provider: aws.AwsProvider, account_id: str
    ) -> None:
        super().__init__(scope, id_)
        region = self._region = config.region
        alias = key_alias_name(config.namer, region, config.component)
        name = alias.removeprefix("alias/")
        key_policy = policy_document(
            self,
            "policy-document",
            provider=provider,
            statements=[
                # In a key policy, "*" as the resource means this key and nothing else.
                Statement(
                    sid="AccountAdministersThroughIam",
                    actions=ADMIN_ACTIONS,
                    resources=["*"],
                    principals={"AWS": [f"arn:aws:iam::{account_id}:root"]},
                ),
                Statement(
                    sid="CloudWatchLogsOfThisAccountAndRegion",
                    actions=[
                        "kms:Decrypt",
                        "kms:DescribeKey",
                        "kms:Encrypt",
                        "kms:GenerateDataKey",
                        "kms:GenerateDataKeyWithoutPlaintext",
                        "kms:ReEncryptFrom",
                        "kms:ReEncryptTo",
                    ],
                    resources=["*"],
                    principals={"Service": [f"logs.{region}.amazonaws.com"]},
                    conditions=[
                        Condition(
                            test="ArnLike",
                            variable="kms:EncryptionContext:aws:logs:arn",
                            values=[f"arn:aws:logs:{region}:{account_id}:log-group:*"],
                        )
                    ],
                ),
                Statement(
                    sid="CloudWatchAlarmsPublishToEncryptedTopics",
                    actions=["kms:Decrypt", "kms:GenerateDataKey"],
                    resources=["*"],
                    principals={"Service": ["cloudwatch.amazonaws.com"]},
                    conditions=[Condition(test="StringEquals", variable="aws:SourceAccount", values=[account_id])],
                ),
                *(_eventbridge_statements(account_id) if config.eventbridge else []),
            ],
        )
        self._key = aws.KmsKey(
            self,
            "key",
            provider=provider,
            description=f"{name}: {config.uses}",
            enable_key_rotation=True,
            rotation_period_in_days=365,
            deletion_window_in_days=config.deletion_window_days,
            policy=key_policy.json,
        )
        # Read once: every attribute read is a round trip to the jsii runtime, and many resources use these.
        self._arn, self._id = self._key.arn, self._key.key_id
        aws.KmsAlias(self, "alias", provider=provider, name=alias, target_key_id=self._id)

    @property
    def key_id(self) -> str:
        return self._id
