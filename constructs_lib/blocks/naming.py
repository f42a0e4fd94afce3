"""The one place that makes AWS resource names: ``{project}-{component}-{region}-{environment}``.

Each AWS resource type has its own length limit and alphabet. A name that would be too long is
shortened with a stable hash of the full name, so it stays unique and the same on every synth
(never truncated into a collision with another environment's name).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

# Name limits per resource type, from the AWS service quotas and API references.
LIMITS: dict[str, int] = {
    "lambda_function": 64,
    "iam_role": 64,
    "iam_policy": 128,
    "cloudwatch_alarm": 255,
    "cloudwatch_dashboard": 255,
    "log_group": 512,
    "sns_topic": 256,
    "s3_bucket": 63,
    "rest_api": 1024,
    "security_group": 255,
    "tag_value": 256,
    "kms_alias": 250,  # 256 with the "alias/" prefix
    "waf_web_acl": 128,
    "cognito_user_pool": 128,
    "api_key": 1024,
    "usage_plan": 1024,
    "dynamodb_table": 255,
    "sqs_queue": 80,
    "event_bus": 256,
    "event_rule": 64,
    "pipe": 64,
    "secret": 512,
    "ssm_parameter": 1000,
    "route53_record": 253,
    "xray_name": 32,
    "schedule": 64,
    "canary": 21,
    "backup_vault": 50,
    "backup_plan": 50,
    "backup_selection": 50,
    "config_rule": 128,
    "config_recorder": 256,
    "codedeploy_app": 100,
    "codedeploy_group": 100,
    "log_delivery": 60,
}

_S3_RE = re.compile(r"^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$")
_HASH_LEN = 8


def _shorten(name: str, limit: int) -> str:
    if len(name) <= limit:
        return name
    digest = hashlib.sha256(name.encode()).hexdigest()[:_HASH_LEN]
    return f"{name[: limit - _HASH_LEN - 1].rstrip('-')}-{digest}"


@dataclass(frozen=True)
class Namer:
    """Names for one project and environment."""

    project: str
    environment: str

    def name(self, component: str, region: str, *, kind: str) -> str:
        """``{project}-{component}-{region}-{environment}``, within the limit of ``kind``."""
        if kind not in LIMITS:
            raise ValueError(f"kind: {kind!r} is not a known resource type ({', '.join(sorted(LIMITS))})")
        return _shorten(f"{self.project}-{component}-{region}-{self.environment}", LIMITS[kind])

    def global_name(self, component: str, *, kind: str) -> str:
        """``{project}-{component}-{environment}``: one resource known by the same name in every region
        (a global table and its replicas)."""
        if kind not in LIMITS:
            raise ValueError(f"kind: {kind!r} is not a known resource type ({', '.join(sorted(LIMITS))})")
        return _shorten(f"{self.project}-{component}-{self.environment}", LIMITS[kind])

    def bucket_name(self, component: str, region: str, *, suffix: str) -> str:
        """A globally unique S3 bucket name ``{project}-{component}-{region}-{environment}-{suffix}``.

        Valid under S3's rules: lowercase, 3 to 63 characters, letters, digits and hyphens.
        """
        name = _shorten(f"{self.project}-{component}-{region}-{self.environment}-{suffix}".lower(), LIMITS["s3_bucket"])
        if not _S3_RE.match(name):
            raise ValueError(f"bucket name: {name!r} breaks S3's naming rules")
        return name

    def bucket_prefix(self, component: str, region: str, *, suffix_length: int) -> str:
        """The part before ``-{suffix}`` of a bucket whose suffix is known only at apply time
        (the account id, 12 digits), shortened so that the whole name fits 63 characters."""
        return _shorten(
            f"{self.project}-{component}-{region}-{self.environment}".lower(), LIMITS["s3_bucket"] - suffix_length - 1
        )


def origin_secret_name(namer: Namer) -> str:
    """The secret of the value CloudFront sends the regions in ``x-origin-verify`` (``cdn_enabled``),
    the same in every region (tools that load no CDK read it too)."""
    return namer.global_name("origin-verify", kind="secret")
