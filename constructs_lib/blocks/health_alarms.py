"""Alarms on the regions' Route 53 health checks, in us-east-1 where Route 53 publishes their metrics."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..cdk import aws
from ..cdk.core import Construct
from .monitoring import alarm_topic, with_runbook
from .naming import Namer

# Route 53 health check metrics exist only in this region, whatever region the checks watch.
METRICS_REGION = "us-east-1"


@dataclass(frozen=True, kw_only=True)
class HealthAlarmsConfig:
    """namer: names the alarms ``{project}-health-{region}-{environment}``; regions: the regions whose
    health checks are watched, in order; alarm_email: subscribed to the topic this construct creates
    when it is given none. Default ``None``; failure_periods: consecutive failing minutes before an
    alarm fires, 1 to 10. Default 2; subscriptions: as ``MonitoringConfig``'s, on that topic.
    Default: none."""

    namer: Namer
    regions: tuple[str, ...]
    alarm_email: str | None = None
    failure_periods: int = 2
    subscriptions: Sequence[Mapping[str, Any]] = ()

    def __post_init__(self) -> None:
        if not self.regions:
            raise ValueError("regions: there must be at least one health check to watch")
        if not 1 <= self.failure_periods <= 10:
            raise ValueError(f"failure_periods: {self.failure_periods!r} must be 1 to 10")


class HealthAlarms(Construct):
    """Creates, through a us-east-1 provider, one CloudWatch alarm per region's health check that
    fires when the check reports the region unhealthy (``HealthCheckStatus`` below 1) for
    ``failure_periods`` minutes, notifying ``topic_arn``. Without a topic (no configured region is
    us-east-1), it creates one there, encrypted with ``kms_key_arn``, with an e-mail subscription when
    configured. Latency routing already sends callers elsewhere; the alarm tells a person.
    """

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        config: HealthAlarmsConfig,
        provider: aws.AwsProvider,
        health_check_ids: Mapping[str, str],
        topic_arn: str | None = None,
        kms_key_arn: str | None = None,
    ) -> None:
        super().__init__(scope, id_)
        missing = [r for r in config.regions if r not in health_check_ids]
        if missing:
            raise ValueError(f"health_check_ids: no health check for {', '.join(missing)}")
        namer = config.namer
        if topic_arn is None:
            if kms_key_arn is None:
                raise ValueError("kms_key_arn: needed to encrypt the topic this construct creates (no topic_arn given)")
            topic_arn = alarm_topic(
                self,
                provider=provider,
                name=namer.name("health-alarms", METRICS_REGION, kind="sns_topic"),
                kms_key_arn=kms_key_arn,
                email=config.alarm_email,
                subscriptions=config.subscriptions,
            )
        for region in config.regions:
            name = namer.name("health", region, kind="cloudwatch_alarm")
            aws.CloudwatchMetricAlarm(
                self,
                f"health-{region}",
                provider=provider,
                alarm_name=name,
                alarm_description=with_runbook(
                    f"The health check of {region} fails: callers are routed to other regions", "health"
                ),
                namespace="AWS/Route53",
                metric_name="HealthCheckStatus",
                dimensions={"HealthCheckId": health_check_ids[region]},
                statistic="Minimum",
                period=60,
                evaluation_periods=config.failure_periods,
                threshold=1,
                comparison_operator="LessThanThreshold",
                # A check that reports nothing is not known to be healthy.
                treat_missing_data="breaching",
                alarm_actions=[topic_arn],
                ok_actions=[topic_arn],
            )
        self._topic_arn = topic_arn

    @property
    def topic_arn(self) -> str:
        """The topic the alarms notify (for other alarms of the edge in us-east-1)."""
        return self._topic_arn
