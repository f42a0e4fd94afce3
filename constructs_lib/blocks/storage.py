"""The region's artifacts bucket: private, versioned, encrypted, TLS only."""

from __future__ import annotations

from dataclasses import dataclass

from ..cdk import aws
from ..cdk.core import Construct
from .iam import Condition, Statement, policy_document
from .naming import Namer
from .rules import OrNull, Whole

ACCOUNT_ID_LENGTH = 12


@dataclass(frozen=True, kw_only=True)
class StorageConfig:
    """Settings of a region's artifacts bucket.

    namer, region: where and how it is named: ``{project}-{component}-{region}-{environment}-{suffix}``.
    component: what the bucket is for. Default ``"artifacts"``.
    bucket_suffix: makes the name globally unique; ``None`` (default) uses the AWS account id.
    bucket_name: the whole name, when it is chosen elsewhere (the state bucket). Default ``None``.
    noncurrent_version_days: days before an overwritten or deleted version expires. Default 90.
    current_version_days: days before an object itself expires (for artifacts nobody keeps, such as
        a canary's). Default ``None``: kept.
    """

    namer: Namer
    region: str
    component: str = "artifacts"
    bucket_suffix: str | None = None
    bucket_name: str | None = None
    noncurrent_version_days: int = 90
    current_version_days: int | None = None

    def __post_init__(self) -> None:
        Whole(1).check("noncurrent_version_days", self.noncurrent_version_days)
        OrNull(Whole(1)).check("current_version_days", self.current_version_days)


class Storage(Construct):
    """Creates a private S3 bucket with versioning, default encryption with the given KMS key (bucket keys
    on), object events to EventBridge, all four public-access blocks, bucket-owner-enforced
    ownership (no ACLs), a policy that denies any request not made over TLS, and a lifecycle rule
    that expires noncurrent versions and aborts stale multipart uploads.
    """

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        config: StorageConfig,
        provider: aws.AwsProvider,
        account_id: str,
        kms_key_arn: str,
    ) -> None:
        super().__init__(scope, id_)
        name = self._name(config, account_id)
        self._bucket = aws.S3Bucket(self, "bucket", provider=provider, bucket=name, force_destroy=False)
        # Read once: every attribute read is a round trip to the jsii runtime.
        bucket_id, self._bucket_arn = self._bucket.id, self._bucket.arn
        self._private_access(provider, bucket_id)
        self._versioning_and_encryption(provider, bucket_id, kms_key_arn)
        # Object events go to EventBridge, where rules (or an audit trail) can pick them up.
        aws.S3BucketNotification(self, "notifications", provider=provider, bucket=bucket_id, eventbridge=True)
        self._lifecycle(config, provider, bucket_id)
        self._tls_only_policy(provider, bucket_id)

    @staticmethod
    def _name(config: StorageConfig, account_id: str) -> str:
        """The bucket's name: as given, or from the namer, with the account id as suffix by default."""
        if config.bucket_name is not None:
            return config.bucket_name
        if config.bucket_suffix is not None:
            return config.namer.bucket_name(config.component, config.region, suffix=config.bucket_suffix)
        prefix = config.namer.bucket_prefix(config.component, config.region, suffix_length=ACCOUNT_ID_LENGTH)
        return f"{prefix}-{account_id}"

    def _private_access(self, provider: aws.AwsProvider, bucket_id: str) -> None:
        """All four public-access blocks, and bucket-owner-enforced ownership (no ACLs)."""
        aws.S3BucketPublicAccessBlock(
            self,
            "public-access-block",
            provider=provider,
            bucket=bucket_id,
            block_public_acls=True,
            block_public_policy=True,
            ignore_public_acls=True,
            restrict_public_buckets=True,
        )
        aws.S3BucketOwnershipControls(
            self,
            "ownership",
            provider=provider,
            bucket=bucket_id,
            rule=aws.S3BucketOwnershipControlsRule(object_ownership="BucketOwnerEnforced"),
        )

    def _versioning_and_encryption(self, provider: aws.AwsProvider, bucket_id: str, kms_key_arn: str) -> None:
        """Versioning, and default encryption with the KMS key (bucket keys on)."""
        aws.S3BucketVersioningA(
            self,
            "versioning",
            provider=provider,
            bucket=bucket_id,
            versioning_configuration=aws.S3BucketVersioningVersioningConfiguration(status="Enabled"),
        )
        aws.S3BucketServerSideEncryptionConfigurationA(
            self,
            "encryption",
            provider=provider,
            bucket=bucket_id,
            rule=[
                aws.S3BucketServerSideEncryptionConfigurationRuleA(
                    apply_server_side_encryption_by_default=(
                        aws.S3BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultA(
                            sse_algorithm="aws:kms", kms_master_key_id=kms_key_arn
                        )
                    ),
                    # One data key per bucket instead of a KMS call per object: cheaper, same protection.
                    bucket_key_enabled=True,
                )
            ],
        )

    def _lifecycle(self, config: StorageConfig, provider: aws.AwsProvider, bucket_id: str) -> None:
        """Noncurrent versions expire; stale multipart uploads are aborted."""
        aws.S3BucketLifecycleConfiguration(
            self,
            "lifecycle",
            provider=provider,
            bucket=bucket_id,
            rule=[
                aws.S3BucketLifecycleConfigurationRule(
                    id="expire-noncurrent-versions",
                    status="Enabled",
                    filter=[aws.S3BucketLifecycleConfigurationRuleFilter(prefix="")],
                    noncurrent_version_expiration=[
                        aws.S3BucketLifecycleConfigurationRuleNoncurrentVersionExpiration(
                            noncurrent_days=config.noncurrent_version_days
                        )
                    ],
                    abort_incomplete_multipart_upload=[
                        aws.S3BucketLifecycleConfigurationRuleAbortIncompleteMultipartUpload(days_after_initiation=7)
                    ],
                    expiration=(
                        [aws.S3BucketLifecycleConfigurationRuleExpiration(days=config.current_version_days)]
                        if config.current_version_days
                        else None
                    ),
                )
            ],
        )

    def _tls_only_policy(self, provider: aws.AwsProvider, bucket_id: str) -> None:
        """A bucket policy that denies any request not made over TLS."""
        tls_only = policy_document(
            self,
            "policy-document",
            provider=provider,
            statements=[
                Statement(
                    sid="DenyInsecureTransport",
                    effect="Deny",
                    actions=["s3:*"],
                    principals={"*": ["*"]},
                    resources=[self._bucket_arn, f"{self._bucket_arn}/*"],
                    conditions=[Condition(test="Bool", variable="aws:SecureTransport", values=["false"])],
                ),
            ],
        )
        aws.S3BucketPolicy(self, "policy", provider=provider, bucket=bucket_id, policy=tls_only.json)

    @property
    def bucket_name(self) -> str:
        return self._bucket.bucket

    @property
    def bucket_arn(self) -> str:
        return self._bucket_arn
