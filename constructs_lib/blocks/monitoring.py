"""One region's alarms and the SNS topic they notify."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..cdk import aws
from ..cdk.core import Construct
from .naming import Namer
from .rules import ALARM_SUBSCRIPTIONS, Whole

FIVE_MINUTES = 300
# What SNS keeps for a subscriber who wants to hear of alarms only (CloudWatch's message body).
ONLY_ALARM = {"NewStateValue": ["ALARM"]}

RUNBOOKS = "docs/runbooks"
TEN_MINUTES = 600
ONE_MINUTE = 60


@dataclass(frozen=True, kw_only=True)
class AlarmSpec:
    """One alarm: ``{project}-{what}-{region}-{environment}`` fires when ``statistic`` of ``metric``
    over ``period_seconds`` is greater than ``threshold``."""

    what: str
    namespace: str
    metric: str
    statistic: str
    threshold: float
    period_seconds: int
    description: str


@dataclass(frozen=True, kw_only=True)
class MonitoringConfig:
    """Settings of a region's alarms.

    namer, region: where and how resources are named.
    alarm_email: subscribed to the topic when set (the address must confirm). Default ``None``.
    errors_threshold: function errors in 10 minutes above which the alarm fires. Default 5.
    duration_threshold_ms: average duration over 10 minutes above which it fires. Default 25000.
    api_4xx_threshold: API 4XX responses in 10 minutes above which it fires. Default 10.
    api_5xx_threshold: API 5XX responses in a minute above which it fires. Default 0 (any).
    throttles_threshold: function throttles in a minute above which it fires. Default 0 (any).
    queue_age_threshold_seconds: age of the oldest message in the work queue above which its alarm
        fires (the consumer is falling behind or failing). Default 900.
    worker_failures_threshold: messages the worker failed in 5 minutes (its ``MessagesFailed``
        metric) above which its alarm fires. Default 0 (any).
    subscriptions: ``{"protocol", "endpoint", "only_alarm"}`` subscribed to the topic besides
        ``alarm_email``; ``only_alarm`` filters out the OK transitions. Default: none.

    The dead-letter queue's alarm fires on any message in it: it has no threshold, because each
    message is work that waits for a person.
    """

    namer: Namer
    region: str
    alarm_email: str | None = None
    errors_threshold: int = 5
    duration_threshold_ms: int = 25_000
    api_4xx_threshold: int = 10
    api_5xx_threshold: int = 0
    throttles_threshold: int = 0
    queue_age_threshold_seconds: int = 900
    worker_failures_threshold: int = 0
    subscriptions: Sequence[Mapping[str, Any]] = ()

    def __post_init__(self) -> None:
        for name in ("errors_threshold", "duration_threshold_ms", "api_4xx_threshold", "queue_age_threshold_seconds"):
            Whole(1).check(name, getattr(self, name))
        for name in ("api_5xx_threshold", "throttles_threshold", "worker_failures_threshold"):
            Whole(0).check(name, getattr(self, name))
        ALARM_SUBSCRIPTIONS.check("subscriptions", self.subscriptions)

    def function_alarms(self) -> list[AlarmSpec]:
        return [
            AlarmSpec(
                what="fn-errors",
                namespace="AWS/Lambda",
                metric="Errors",
                statistic="Sum",
                threshold=self.errors_threshold,
                period_seconds=TEN_MINUTES,
                description=f"More than {self.errors_threshold} function errors in 10 minutes",
            ),
            AlarmSpec(
                what="fn-duration",
                namespace="AWS/Lambda",
                metric="Duration",
                statistic="Average",
                threshold=self.duration_threshold_ms,
                period_seconds=TEN_MINUTES,
                description=f"Average function duration over {self.duration_threshold_ms} ms for 10 minutes",
            ),
            AlarmSpec(
                what="fn-throttles",
                namespace="AWS/Lambda",
                metric="Throttles",
                statistic="Sum",
                threshold=self.throttles_threshold,
                period_seconds=ONE_MINUTE,
                description=f"More than {self.throttles_threshold} throttled invocations in a minute",
            ),
        ]

    def api_alarms(self) -> list[AlarmSpec]:
        return [
            AlarmSpec(
                what="api-4xx",
                namespace="AWS/ApiGateway",
                metric="4XXError",
                statistic="Sum",
                threshold=self.api_4xx_threshold,
                period_seconds=TEN_MINUTES,
                description=f"More than {self.api_4xx_threshold} API 4XX responses in 10 minutes",
            ),
            AlarmSpec(
                what="api-5xx",
                namespace="AWS/ApiGateway",
                metric="5XXError",
                statistic="Sum",
                threshold=self.api_5xx_threshold,
                period_seconds=ONE_MINUTE,
                description=f"More than {self.api_5xx_threshold} API 5XX responses in a minute",
            ),
        ]

    def queue_alarms(self) -> list[AlarmSpec]:
        """Alarms of the work queue (``queue-``) and of its dead-letter queue (``dlq-``)."""
        return [
            AlarmSpec(
                what="queue-age",
                namespace="AWS/SQS",
                metric="ApproximateAgeOfOldestMessage",
                statistic="Maximum",
                threshold=self.queue_age_threshold_seconds,
                period_seconds=ONE_MINUTE,
                description=f"The oldest message in the work queue is older than {self.queue_age_threshold_seconds} s",
            ),
            AlarmSpec(
                what="worker-failures",
                namespace=self.namer.project,
                metric="MessagesFailed",
                statistic="Sum",
                threshold=self.worker_failures_threshold,
                period_seconds=FIVE_MINUTES,
                description=f"The worker failed more than {self.worker_failures_threshold} messages in 5 minutes "
                "(they are retried, then kept in the dead-letter queue)",
            ),
            AlarmSpec(
                what="dlq-messages",
                namespace="AWS/SQS",
                metric="ApproximateNumberOfMessagesVisible",
                statistic="Maximum",
                threshold=0,
                period_seconds=ONE_MINUTE,
                description="Messages in the dead-letter queue: work that failed every retry (inspect, then redrive)",
            ),
        ]


@dataclass(frozen=True, kw_only=True)
class AsyncWatch:
    """What Monitoring watches of a region's async path: the queues by name (references, so the
    alarms wait for them)."""

    queue_name: str
    dead_letter_queue_name: str


def with_runbook(description: str, what: str) -> str:
    """An alarm's description, with the page that says what to check first and how to mitigate."""
    return f"{description} (runbook: {RUNBOOKS}/{what}.md)"


def alarm_topic(
    scope: Construct,
    *,
    provider: aws.AwsProvider,
    name: str,
    kms_key_arn: str,
    email: str | None,
    subscriptions: Sequence[Mapping[str, Any]] = (),
) -> str:
    """An SNS topic for alarms, encrypted with ``kms_key_arn`` (whose policy must let CloudWatch
    use it), with an e-mail subscription when ``email`` is set and one per ``subscriptions`` entry
    (``only_alarm``: a filter policy on the message body keeps the ALARM transitions only); returns
    the topic's ARN."""
    topic = aws.SnsTopic(scope, "alarm-topic", provider=provider, name=name, kms_master_key_id=kms_key_arn)
    # Read once: every attribute read is a round trip to the jsii runtime.
    topic_arn = topic.arn
    if email:
        aws.SnsTopicSubscription(
            scope, "alarm-email", provider=provider, topic_arn=topic_arn, protocol="email", endpoint=email
        )
    for subscription in subscriptions:
        protocol, endpoint = subscription["protocol"], subscription["endpoint"]
        only_alarm = subscription.get("only_alarm", False)
        # Named by what it reaches, not by its place in the list: a reordered list replaces
        # nothing (an e-mail address would have to confirm again).
        digest = hashlib.sha256(f"{protocol}:{endpoint}".encode()).hexdigest()[:8]
        aws.SnsTopicSubscription(
            scope,
            f"alarm-subscription-{protocol}-{digest}",
            provider=provider,
            topic_arn=topic_arn,
            protocol=protocol,
            endpoint=endpoint,
            filter_policy=json.dumps(ONLY_ALARM) if only_alarm else None,
            filter_policy_scope="MessageBody" if only_alarm else None,
        )
    return topic_arn


class Monitoring(Construct):
    """Creates an SNS topic encrypted with the region's key for the region's alarms (with an e-mail
    subscription and the configured subscriptions) and CloudWatch alarms on function errors,
    duration and throttles and on API 4XX and 5XX responses; given an ``AsyncWatch``, also alarms
    on the work queue's oldest message, on the worker's failed messages, and on any message in the
    dead-letter queue (an event the queue could not take, a message the worker kept failing, or a
    batch of item changes the bus kept refusing). Missing data counts as not breaching: a quiet API
    is not an incident.
    """

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        config: MonitoringConfig,
        provider: aws.AwsProvider,
        function_name: str,
        api_name: str,
        stage_name: str,
        kms_key_arn: str,
        async_watch: AsyncWatch | None = None,
    ) -> None:
        """``function_name``, ``api_name`` and ``stage_name`` name the watched resources; pass
        references to them (``Function.deployed_function_name``, ...) so each alarm waits for its
        subject."""
        super().__init__(scope, id_)
        namer, region = config.namer, config.region
        self._topic_arn = alarm_topic(
            self,
            provider=provider,
            name=namer.name("alarms", region, kind="sns_topic"),
            kms_key_arn=kms_key_arn,
            email=config.alarm_email,
            subscriptions=config.subscriptions,
        )
        self._alarm_names: list[str] = []
        function_dimensions = {"FunctionName": function_name}
        api_dimensions = {"ApiName": api_name, "Stage": stage_name}
        watched = [(s, function_dimensions) for s in config.function_alarms()] + [
            (s, api_dimensions) for s in config.api_alarms()
        ]
        if async_watch is not None:
            queue_age, worker_failures, dlq_messages = config.queue_alarms()
            watched += [
                (queue_age, {"QueueName": async_watch.queue_name}),
                # The worker's own metric (embedded metric format), by region and environment.
                (worker_failures, {"Region": region, "Environment": namer.environment}),
                (dlq_messages, {"QueueName": async_watch.dead_letter_queue_name}),
            ]
        for spec, dimensions in watched:
            name = namer.name(spec.what, region, kind="cloudwatch_alarm")
            aws.CloudwatchMetricAlarm(
                self,
                spec.what,
                provider=provider,
                alarm_name=name,
                alarm_description=with_runbook(spec.description, spec.what),
                namespace=spec.namespace,
                metric_name=spec.metric,
                dimensions=dimensions or None,
                statistic=spec.statistic,
                period=spec.period_seconds,
                evaluation_periods=1,
                threshold=spec.threshold,
                comparison_operator="GreaterThanThreshold",
                treat_missing_data="notBreaching",
                alarm_actions=[self._topic_arn],
                ok_actions=[self._topic_arn],
            )
            self._alarm_names.append(name)

    @property
    def topic_arn(self) -> str:
        return self._topic_arn

    @property
    def alarm_names(self) -> list[str]:
        return list(self._alarm_names)
