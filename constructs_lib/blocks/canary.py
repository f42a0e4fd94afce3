"""A synthetic canary: the region's public API called from outside, on a schedule."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..cdk import aws
from ..cdk.core import AssetType, Construct, TerraformAsset
from .iam import Condition, ServiceRole, Statement, service_role
from .kms import use_through
from .monitoring import with_runbook
from .naming import Namer
from .packaging import build_package
from .rules import CANARY_INTERVAL_MINUTES, CANARY_RUNTIME, Whole
from .storage import Storage, StorageConfig

CANARY_SRC = Path(__file__).resolve().parent.parent.parent / "canary_src"
HANDLER = "api_canary.handler"
METRICS_NAMESPACE = "CloudWatchSynthetics"
ARTIFACT_DAYS = 30


@dataclass(frozen=True, kw_only=True)
class CanaryConfig:
    """namer, region: where and how it is named; interval_minutes: minutes between runs, 1 to 60;
    runtime_version: the Synthetics runtime (a Python one: the script is ``canary_src/python``).
    Default ``"syn-python-selenium-14.0"``; failure_threshold_percent: the success rate below which
    its alarm fires (two runs in a row), 1 to 100. Default 100 (failed runs); watched_region: another
    region whose API this canary watches from ``region`` (its health only, any ``api_auth``), for a
    region whose outage nothing in it can report. Default ``None``: its own region's API, both checks."""

    namer: Namer
    region: str
    interval_minutes: int
    runtime_version: str = "syn-python-selenium-14.0"
    failure_threshold_percent: int = 100
    watched_region: str | None = None

    def __post_init__(self) -> None:
        CANARY_INTERVAL_MINUTES.check("interval_minutes", self.interval_minutes)
        CANARY_RUNTIME.check("runtime_version", self.runtime_version)
        Whole(1, 100).check("failure_threshold_percent", self.failure_threshold_percent)
        if self.watched_region == self.region:
            raise ValueError(f"watched_region: {self.region!r} is the canary's own region; watch another one")

    @property
    def target_region(self) -> str:
        """The region whose API answers the canary."""
        return self.watched_region or self.region

    @property
    def component(self) -> str:
        """What names its canary, bucket, role and alarm: a watch of another region is not the region's canary."""
        return "canary" if self.watched_region is None else "watch"

    @property
    def name(self) -> str:
        if self.watched_region is None:
            return canary_name(self.namer, self.region)
        return watch_canary_name(self.namer, self.watched_region)


def canary_name(namer: Namer, region: str) -> str:
    """Synthetics allows 21 lowercase characters: ``{project}-canary-{region}-{environment}``,
    shortened (how the dashboard names it too)."""
    return namer.name("canary", region, kind="canary")


def watch_canary_name(namer: Namer, watched_region: str) -> str:
    """The canary that watches ``watched_region`` from another region, named after what it watches
    (one per watched region, wherever it runs)."""
    return namer.name("watch", watched_region, kind="canary")


class Canary(Construct):
    """Creates, in the provider's region: a CloudWatch Synthetics canary running ``canary_src``'s
    script every ``interval_minutes`` against ``api_url`` (``/health``, then an authenticated GET that
    must answer from this region; the key read from this region's copy of ``api_key_secret_name``;
    with ``watched_region``, that region's ``/health`` only, which must answer from it);
    its artifacts bucket (the project's private, versioned, KMS-encrypted, TLS-only bucket) whose
    objects expire after 30 days; a role that may write there, publish its metrics and logs, and read
    that secret (and, behind a distribution, ``origin_secret_name``'s, sent in ``x-origin-verify``);
    and an alarm on its success rate that also fires when it stops reporting."""

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        config: CanaryConfig,
        provider: aws.AwsProvider,
        account_id: str,
        kms_key_arn: str,
        api_url: str,
        api_key_secret_name: str | None,
        topic_arn: str,
        origin_secret_name: str | None = None,
    ) -> None:
        """``origin_secret_name``: behind a distribution, the secret whose value every request
        carries in ``x-origin-verify`` (the region's WAF refuses requests without it)."""
        super().__init__(scope, id_)
        region, name = config.region, config.name
        if config.watched_region is not None and api_key_secret_name is not None:
            raise ValueError("api_key_secret_name: a watch of another region checks its health only, without a key")
        bucket = Storage(
            self,
            "artifacts",
            provider=provider,
            account_id=account_id,
            kms_key_arn=kms_key_arn,
            config=StorageConfig(
                namer=config.namer, region=region, component=config.component, current_version_days=ARTIFACT_DAYS
            ),
        )
        secrets = [name for name in (api_key_secret_name, origin_secret_name) if name is not None]
        role = self._role(
            config, provider, account_id, kms_key_arn, bucket.bucket_arn, secrets, origin_secret_name is not None
        )
        package = build_package(CANARY_SRC, "canary")
        asset = TerraformAsset(self, "package", path=str(package.path), type=AssetType.FILE)
        environment = {"API_BASE_URL": api_url, "EXPECTED_REGION": config.target_region}
        if config.watched_region is not None:
            environment["CHECKS"] = "health"
        if api_key_secret_name is not None:
            environment["API_KEY_SECRET_ID"] = api_key_secret_name
        if origin_secret_name is not None:
            environment["ORIGIN_SECRET_ID"] = origin_secret_name
        canary = aws.SyntheticsCanary(
            self,
            "canary",
            provider=provider,
            name=name,
            runtime_version=config.runtime_version,
            handler=HANDLER,
            zip_file=asset.path,
            execution_role_arn=role.arn,
            artifact_s3_location=f"s3://{bucket.bucket_name}/{name}/",
            artifact_config=aws.SyntheticsCanaryArtifactConfig(
                s3_encryption=aws.SyntheticsCanaryArtifactConfigS3Encryption(
                    encryption_mode="SSE_KMS", kms_key_arn=kms_key_arn
                )
            ),
            schedule=aws.SyntheticsCanarySchedule(
                expression=f"rate({config.interval_minutes} minute{'s' if config.interval_minutes > 1 else ''})"
            ),
            # No active tracing: Synthetics traces Node.js canaries only.
            run_config=aws.SyntheticsCanaryRunConfig(timeout_in_seconds=60, environment_variables=environment),
            start_canary=True,
            # A destroy (or a replacement) deletes the canary's own function and layers with it.
            delete_lambda=True,
            success_retention_period=ARTIFACT_DAYS,
            failure_retention_period=ARTIFACT_DAYS,
            # The role's policy must exist before the first run needs it.
            depends_on=[role.policy],
        )
        # By reference: the alarm waits for the canary it watches.
        self._alarm(config, provider, topic_arn, canary.name)

    def _role(
        self,
        config: CanaryConfig,
        provider: aws.AwsProvider,
        account_id: str,
        kms_key_arn: str,
        bucket_arn: str,
        secret_names: list[str],
        reads_origin: bool,
    ) -> ServiceRole:
        """Write its artifacts, publish its metrics and logs, read the API key (and origin value)."""
        region, name = config.region, config.name
        statements = [
            Statement(
                sid="WriteArtifacts", actions=["s3:PutObject", "s3:GetObject"], resources=[f"{bucket_arn}/{name}/*"]
            ),
            Statement(sid="FindTheArtifactsBucket", actions=["s3:GetBucketLocation"], resources=[bucket_arn]),
            # Synthetics checks the buckets it may list; ListAllMyBuckets has no resource to scope.
            Statement(sid="ListBuckets", actions=["s3:ListAllMyBuckets"], resources=["*"]),
            Statement(
                sid="PublishCanaryMetrics",
                actions=["cloudwatch:PutMetricData"],
                resources=["*"],
                conditions=[
                    Condition(test="StringEquals", variable="cloudwatch:namespace", values=[METRICS_NAMESPACE])
                ],
            ),
            Statement(
                sid="WriteItsLogs",
                actions=["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
                resources=[f"arn:aws:logs:{region}:{account_id}:log-group:/aws/lambda/cwsyn-{name}-*"],
            ),
            use_through(
                kms_key_arn,
                region,
                ("s3", "secretsmanager"),
                sid="UseTheKeyThroughS3AndSecrets",
                actions=("kms:Decrypt", "kms:GenerateDataKey"),
            ),
        ]
        if secret_names:
            statements.append(
                Statement(
                    # The name it had when the key was its only secret.
                    sid="ReadItsSecrets" if reads_origin else "ReadTheApiKey",
                    actions=["secretsmanager:GetSecretValue"],
                    resources=[
                        f"arn:aws:secretsmanager:{region}:{account_id}:secret:{name}-??????" for name in secret_names
                    ],
                )
            )
        return service_role(
            self,
            "role",
            provider=provider,
            name=config.namer.name(config.component, region, kind="iam_role"),
            # A canary runs as a Lambda function.
            service="lambda.amazonaws.com",
            source_account=None,
            statements=statements,
        )

    def _alarm(self, config: CanaryConfig, provider: aws.AwsProvider, topic_arn: str, canary_name: str) -> None:
        """Below the threshold two runs in a row, or no result at all: a canary that stopped is a failure."""
        if config.watched_region is None:
            description = with_runbook(
                f"The canary's success rate in {config.region} is below {config.failure_threshold_percent}%: "
                "the public API fails from outside",
                "canary",
            )
        else:
            description = with_runbook(
                f"{config.watched_region}'s API does not answer healthy when called from {config.region}: "
                f"{config.watched_region} may be down (its own alarms and the health checks' cannot report it)",
                "watch",
            )
        aws.CloudwatchMetricAlarm(
            self,
            "alarm",
            provider=provider,
            alarm_name=config.namer.name(config.component, config.target_region, kind="cloudwatch_alarm"),
            alarm_description=description,
            namespace=METRICS_NAMESPACE,
            metric_name="SuccessPercent",
            dimensions={"CanaryName": canary_name},
            statistic="Average",
            period=config.interval_minutes * 60,
            # Two runs in a row: one network blip is not an incident.
            evaluation_periods=2,
            threshold=config.failure_threshold_percent,
            comparison_operator="LessThanThreshold",
            treat_missing_data="breaching",
            alarm_actions=[topic_arn],
            ok_actions=[topic_arn],
        )
