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
from .rules import ALARM_SUBSCRIPTIONS, NO_TRAFFIC_MINUTES, PERCENT, OrNull, Whole

FIVE_MINUTES = 300
# What SNS keeps for a subscriber who wants to hear of alarms only (CloudWatch's message body).
ONLY_ALARM = {"NewStateValue": ["ALARM"]}

RUNBOOKS = "docs/runbooks"
TEN_MINUTES = 600
ONE_MINUTE = 60


@dataclass(frozen=True, kw_only=True)
class Series:
    """One metric of an alarm: ``statistic`` of ``metric`` in ``namespace`` for ``subject`` (what
    Monitoring knows the dimensions of: ``"function"``, ``"worker"``, ``"api"``, ``"queue"``,
    ``"dlq"``, ``"business"``, ``"table"``, ``"account"``, ``"waf"``, ``"certificate"`` or
    ``"replica:<region>"``), with extra dimensions."""

    namespace: str
    metric: str
    statistic: str
    subject: str
    extra: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, kw_only=True)
class AlarmSpec:
    """One alarm, ``{project}-{what}-{region}-{environment}``: it fires when ``series`` (one metric)
    or ``expression`` over ``series`` named m0, m1, ... (metric math) compares to ``threshold`` over
    ``period_seconds``, ``periods`` times in a row. ``missing``: what no data means. ``runbook``:
    its page under docs/runbooks/ (default: ``what``)."""

    what: str
    series: tuple[Series, ...]
    threshold: float
    period_seconds: int
    description: str
    expression: str | None = None
    comparison: str = "GreaterThanThreshold"
    periods: int = 1
    missing: str = "notBreaching"
    runbook: str | None = None


def _one(what: str, namespace: str, metric: str, statistic: str, subject: str, **rest: Any) -> AlarmSpec:
    return AlarmSpec(
        what=what, series=(Series(namespace=namespace, metric=metric, statistic=statistic, subject=subject),), **rest
    )


# Below this many requests in a window, a rate says nothing (1 error in 2 requests is not 50%).
RATE_MIN_REQUESTS = 20


def _rate(what: str, errors: str, percent: int, description: str) -> AlarmSpec:
    """The share of the API's requests answered ``errors`` (4XXError, 5XXError) over 5 minutes."""
    return AlarmSpec(
        what=what,
        series=(
            Series(namespace="AWS/ApiGateway", metric=errors, statistic="Sum", subject="api"),
            Series(namespace="AWS/ApiGateway", metric="Count", statistic="Sum", subject="api"),
        ),
        expression=f"IF(m1 >= {RATE_MIN_REQUESTS}, 100 * m0 / m1, 0)",
        threshold=percent,
        period_seconds=FIVE_MINUTES,
        description=description,
    )


THROTTLED_METRIC = "ApiThrottled"


def throttled_namespace(namer: Namer) -> str:
    """Per project and environment: a metric filter's metric has no dimension to tell them apart."""
    return f"{namer.project}/{namer.environment}"


@dataclass(frozen=True, kw_only=True)
class MonitoringConfig:
    """Settings of a region's alarms.

    namer, region: where and how resources are named.
    alarm_email: subscribed to the topic when set (the address must confirm). Default ``None``.
    errors_threshold: function errors in 10 minutes above which the alarm fires. Default 5.
    duration_threshold_ms: average duration over 10 minutes above which it fires. Default 25000.
    api_4xx_rate_percent: share of requests answered 4XX over 5 minutes above which it fires (404,
        412 and 429 are normal answers in small numbers). Default 20.
    api_5xx_rate_percent: share answered 5XX over 5 minutes above which it fires. Default 1.
        Both rates count from 20 requests in the window.
    api_latency_p99_ms: the API's p99 latency over 5 minutes above which it fires. Default 5000.
    throttles_threshold: function throttles in a minute above which it fires. Default 0 (any).
    queue_age_threshold_seconds: age of the oldest message in the work queue above which its alarm
        fires (the consumer is falling behind or failing). Default 900.
    worker_failures_threshold: messages the worker failed in 5 minutes (its ``MessagesFailed``
        metric) above which its alarm fires. Default 0 (any).
    replication_latency_ms: average replication latency from this region to another over 5 minutes
        above which it fires. Default 60000.
    account_concurrency_quota: the account's Lambda concurrency quota in the region; the alarm
        fires at 80% of it. Default 1000 (a raised quota: set it).
    waf_blocked_threshold: requests the WAF blocked in 5 minutes above which it fires. Default 1000.
    throttled_threshold: requests the API answered 429 (usage plan quota or throttling, stage
        throttling) in 5 minutes above which it fires, counted from the access log. Default 100.
    no_traffic_minutes: with it, an alarm fires when the API answered no request for that long
        (absence is failure where traffic is steady, such as with a canary). Default ``None``: off.
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
    api_4xx_rate_percent: int = 20
    api_5xx_rate_percent: int = 1
    api_latency_p99_ms: int = 5000
    throttles_threshold: int = 0
    queue_age_threshold_seconds: int = 900
    worker_failures_threshold: int = 0
    replication_latency_ms: int = 60_000
    account_concurrency_quota: int = 1000
    waf_blocked_threshold: int = 1000
    throttled_threshold: int = 100
    no_traffic_minutes: int | None = None
    subscriptions: Sequence[Mapping[str, Any]] = ()

    def __post_init__(self) -> None:
        for name in (
            "errors_threshold",
            "duration_threshold_ms",
            "api_latency_p99_ms",
            "queue_age_threshold_seconds",
            "replication_latency_ms",
            "account_concurrency_quota",
            "waf_blocked_threshold",
            "throttled_threshold",
        ):
            Whole(1).check(name, getattr(self, name))
        for name in ("api_4xx_rate_percent", "api_5xx_rate_percent"):
            PERCENT.check(name, getattr(self, name))
        for name in ("throttles_threshold", "worker_failures_threshold"):
            Whole(0).check(name, getattr(self, name))
        OrNull(NO_TRAFFIC_MINUTES).check("no_traffic_minutes", self.no_traffic_minutes)
        ALARM_SUBSCRIPTIONS.check("subscriptions", self.subscriptions)

    def function_alarms(self) -> list[AlarmSpec]:
        """The API function's errors, duration and throttles, and the account's concurrency."""
        quota_share = int(self.account_concurrency_quota * 0.8)
        return [
            _one(
                "fn-errors",
                "AWS/Lambda",
                "Errors",
                "Sum",
                "function",
                threshold=self.errors_threshold,
                period_seconds=TEN_MINUTES,
                description=f"More than {self.errors_threshold} function errors in 10 minutes",
            ),
            _one(
                "fn-duration",
                "AWS/Lambda",
                "Duration",
                "Average",
                "function",
                threshold=self.duration_threshold_ms,
                period_seconds=TEN_MINUTES,
                description=f"Average function duration over {self.duration_threshold_ms} ms for 10 minutes",
            ),
            _one(
                "fn-throttles",
                "AWS/Lambda",
                "Throttles",
                "Sum",
                "function",
                threshold=self.throttles_threshold,
                period_seconds=ONE_MINUTE,
                description=f"More than {self.throttles_threshold} throttled invocations in a minute",
            ),
            _one(
                "concurrency",
                "AWS/Lambda",
                "ClaimedAccountConcurrency",
                "Maximum",
                "account",
                threshold=quota_share,
                period_seconds=ONE_MINUTE,
                description=f"The account's Lambda concurrency in the region is above {quota_share}, 80% of its "
                f"quota ({self.account_concurrency_quota}): every function of the account is about to be throttled",
            ),
        ]

    def api_alarms(self) -> list[AlarmSpec]:
        """Rates of 4XX and 5XX answers, p99 latency, and (when set) an API that answers nothing."""
        alarms = [
            _rate(
                "api-4xx",
                "4XXError",
                self.api_4xx_rate_percent,
                f"More than {self.api_4xx_rate_percent}% of API requests answered 4XX over 5 minutes",
            ),
            _rate(
                "api-5xx",
                "5XXError",
                self.api_5xx_rate_percent,
                f"More than {self.api_5xx_rate_percent}% of API requests answered 5XX over 5 minutes",
            ),
            AlarmSpec(
                what="api-latency",
                series=(Series(namespace="AWS/ApiGateway", metric="Latency", statistic="p99", subject="api"),),
                threshold=self.api_latency_p99_ms,
                period_seconds=FIVE_MINUTES,
                description=f"The API's p99 latency is above {self.api_latency_p99_ms} ms over 5 minutes",
            ),
        ]
        if self.no_traffic_minutes is not None:
            alarms.append(
                AlarmSpec(
                    what="no-traffic",
                    series=(Series(namespace="AWS/ApiGateway", metric="Count", statistic="Sum", subject="api"),),
                    threshold=1,
                    comparison="LessThanThreshold",
                    period_seconds=ONE_MINUTE,
                    periods=self.no_traffic_minutes,
                    # No data is no traffic: exactly what this alarm is for.
                    missing="breaching",
                    description=f"The API answered no request for {self.no_traffic_minutes} minutes",
                )
            )
        return alarms

    def table_alarms(self, other_regions: Sequence[str]) -> list[AlarmSpec]:
        """Throttled and failed requests on this region's copy, and replication from it."""
        operations = ("GetItem", "UpdateItem", "DeleteItem", "Scan")
        throttles = tuple(
            Series(namespace="AWS/DynamoDB", metric=m, statistic="Sum", subject="table")
            for m in ("ReadThrottleEvents", "WriteThrottleEvents")
        )
        errors = tuple(
            Series(
                namespace="AWS/DynamoDB",
                metric="SystemErrors",
                statistic="Sum",
                subject="table",
                extra=(("Operation", o),),
            )
            for o in operations
        )
        alarms = [
            AlarmSpec(
                what="table-throttles",
                series=throttles,
                expression="m0 + m1",
                threshold=0,
                period_seconds=FIVE_MINUTES,
                description="Requests to this region's copy of the table were throttled",
            ),
            AlarmSpec(
                what="table-errors",
                series=errors,
                expression=" + ".join(f"m{i}" for i in range(len(errors))),
                threshold=0,
                period_seconds=FIVE_MINUTES,
                description="DynamoDB answered requests to this region's copy of the table with system errors",
            ),
        ]
        for other in other_regions:
            alarms.append(
                _one(
                    f"replication-{other}",
                    "AWS/DynamoDB",
                    "ReplicationLatency",
                    "Average",
                    f"replica:{other}",
                    threshold=self.replication_latency_ms,
                    period_seconds=FIVE_MINUTES,
                    periods=2,
                    runbook="replication",
                    description=f"Writes made here reach {other} after more than {self.replication_latency_ms} ms",
                )
            )
        return alarms

    def queue_alarms(self) -> list[AlarmSpec]:
        """The work queue (``queue-``), the worker and its dead-letter queue (``dlq-``)."""
        return [
            _one(
                "queue-age",
                "AWS/SQS",
                "ApproximateAgeOfOldestMessage",
                "Maximum",
                "queue",
                threshold=self.queue_age_threshold_seconds,
                period_seconds=ONE_MINUTE,
                description=f"The oldest message in the work queue is older than {self.queue_age_threshold_seconds} s",
            ),
            _one(
                "worker-failures",
                self.namer.project,
                "MessagesFailed",
                "Sum",
                "business",
                threshold=self.worker_failures_threshold,
                period_seconds=FIVE_MINUTES,
                description=f"The worker failed more than {self.worker_failures_threshold} messages in 5 minutes "
                "(they are retried, then kept in the dead-letter queue)",
            ),
            _one(
                "worker-errors",
                "AWS/Lambda",
                "Errors",
                "Sum",
                "worker",
                threshold=0,
                period_seconds=FIVE_MINUTES,
                description="The worker's invocations failed (a whole batch is retried)",
            ),
            _one(
                "worker-throttles",
                "AWS/Lambda",
                "Throttles",
                "Sum",
                "worker",
                threshold=0,
                period_seconds=FIVE_MINUTES,
                description="The worker was throttled: the work queue waits",
            ),
            _one(
                "dlq-messages",
                "AWS/SQS",
                "ApproximateNumberOfMessagesVisible",
                "Maximum",
                "dlq",
                threshold=0,
                period_seconds=ONE_MINUTE,
                description="Messages in the dead-letter queue: work that failed every retry (inspect, then redrive)",
            ),
        ]

    def throttled_alarm(self) -> AlarmSpec:
        """429 answers, from the access log's metric filter (API Gateway publishes no metric of its own)."""
        return _one(
            "api-throttled",
            throttled_namespace(self.namer),
            THROTTLED_METRIC,
            "Sum",
            "account",
            threshold=self.throttled_threshold,
            period_seconds=FIVE_MINUTES,
            description=f"The API answered more than {self.throttled_threshold} requests 429 in 5 minutes: callers "
            "reach a usage plan's quota or rate, or the stage's throttling",
        )

    def perimeter_alarms(self, *, waf: bool, certificate: bool) -> list[AlarmSpec]:
        """The WAF's blocked requests, and the custom domain's certificate expiry."""
        alarms = []
        if waf:
            alarms.append(
                _one(
                    "waf-blocked",
                    "AWS/WAFV2",
                    "BlockedRequests",
                    "Sum",
                    "waf",
                    threshold=self.waf_blocked_threshold,
                    period_seconds=FIVE_MINUTES,
                    description=f"The WAF blocked more than {self.waf_blocked_threshold} requests in 5 minutes",
                )
            )
        if certificate:
            alarms.append(
                _one(
                    "certificate-expiry",
                    "AWS/CertificateManager",
                    "DaysToExpiry",
                    "Minimum",
                    "certificate",
                    threshold=30,
                    comparison="LessThanThreshold",
                    period_seconds=86_400,
                    description="The custom domain's certificate expires in under 30 days: ACM has not renewed it",
                )
            )
        return alarms


@dataclass(frozen=True, kw_only=True)
class AlarmRef:
    """An alarm's name and ARN, as references to it."""

    name: str
    arn: str


@dataclass(frozen=True, kw_only=True)
class AsyncWatch:
    """What Monitoring watches of a region's async path: the queues and the worker by name
    (references, so the alarms wait for them)."""

    queue_name: str
    dead_letter_queue_name: str
    worker_function_name: str


@dataclass(frozen=True, kw_only=True)
class Watched:
    """What else Monitoring watches, when the region has it: its copy of the table (and the other
    regions it replicates to), its WAF web ACL, its custom domain's certificate."""

    table_name: str | None = None
    other_regions: tuple[str, ...] = ()
    web_acl_name: str | None = None
    certificate_arn: str | None = None
    access_log_group_name: str | None = None


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
    subscription and the configured subscriptions) and CloudWatch alarms: the API function's
    errors, duration and throttles; the account's Lambda concurrency against its quota; the API's
    4XX and 5XX rates and p99 latency (and, when set, no traffic at all). Given an ``AsyncWatch``:
    the work queue's oldest message, the worker's failed messages, errors and throttles, and any
    message in the dead-letter queue. Given a ``Watched``: throttled and failed requests on the
    region's copy of the table and replication latency to each other region, the WAF's blocked
    requests, the certificate's days to expiry. Each alarm's description names its runbook
    (``docs/runbooks/``). Missing data counts as not breaching where a quiet API is not an
    incident, and as breaching where absence is the failure.
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
        watched: Watched | None = None,
    ) -> None:
        """``function_name``, ``api_name`` and ``stage_name`` name the watched resources; pass
        references to them (``Function.deployed_function_name``, ...) so each alarm waits for its
        subject."""
        super().__init__(scope, id_)
        namer, region = config.namer, config.region
        watched = watched or Watched()
        self._topic_arn = alarm_topic(
            self,
            provider=provider,
            name=namer.name("alarms", region, kind="sns_topic"),
            kms_key_arn=kms_key_arn,
            email=config.alarm_email,
            subscriptions=config.subscriptions,
        )
        self._subjects = self._dimensions(config, function_name, api_name, stage_name, async_watch, watched)
        specs = config.function_alarms() + config.api_alarms()
        if async_watch is not None:
            specs += config.queue_alarms()
        if watched.table_name is not None:
            specs += config.table_alarms(watched.other_regions)
        specs += config.perimeter_alarms(
            waf=watched.web_acl_name is not None, certificate=watched.certificate_arn is not None
        )
        if watched.access_log_group_name is not None:
            self._count_throttled(config, provider, watched.access_log_group_name)
            specs.append(config.throttled_alarm())
        self._alarms = {spec.what: self._alarm(config, provider, spec) for spec in specs}
        self._alarm_names = [namer.name(spec.what, region, kind="cloudwatch_alarm") for spec in specs]

    @staticmethod
    def _dimensions(
        config: MonitoringConfig,
        function_name: str,
        api_name: str,
        stage_name: str,
        async_watch: AsyncWatch | None,
        watched: Watched,
    ) -> dict[str, dict[str, str]]:
        """The dimensions of each subject an alarm's series may name."""
        subjects = {
            "function": {"FunctionName": function_name},
            "api": {"ApiName": api_name, "Stage": stage_name},
            "account": {},
            # The functions' own metrics (embedded metric format), by region and environment.
            "business": {"Region": config.region, "Environment": config.namer.environment},
        }
        if async_watch is not None:
            subjects["queue"] = {"QueueName": async_watch.queue_name}
            subjects["dlq"] = {"QueueName": async_watch.dead_letter_queue_name}
            subjects["worker"] = {"FunctionName": async_watch.worker_function_name}
        if watched.table_name is not None:
            subjects["table"] = {"TableName": watched.table_name}
            for other in watched.other_regions:
                subjects[f"replica:{other}"] = {"TableName": watched.table_name, "ReceivingRegion": other}
        if watched.web_acl_name is not None:
            subjects["waf"] = {"WebACL": watched.web_acl_name, "Region": config.region, "Rule": "ALL"}
        if watched.certificate_arn is not None:
            subjects["certificate"] = {"CertificateArn": watched.certificate_arn}
        return subjects

    def _alarm(self, config: MonitoringConfig, provider: aws.AwsProvider, spec: AlarmSpec) -> aws.CloudwatchMetricAlarm:
        name = config.namer.name(spec.what, config.region, kind="cloudwatch_alarm")
        common: dict[str, Any] = {
            "alarm_name": name,
            "alarm_description": with_runbook(spec.description, spec.runbook or spec.what),
            "evaluation_periods": spec.periods,
            "threshold": spec.threshold,
            "comparison_operator": spec.comparison,
            "treat_missing_data": spec.missing,
            "alarm_actions": [self._topic_arn],
            "ok_actions": [self._topic_arn],
        }
        if spec.expression is None:
            [series] = spec.series
            percentile = series.statistic.startswith("p")
            return aws.CloudwatchMetricAlarm(
                self,
                spec.what,
                provider=provider,
                namespace=series.namespace,
                metric_name=series.metric,
                dimensions=self._series_dimensions(series) or None,
                statistic=None if percentile else series.statistic,
                extended_statistic=series.statistic if percentile else None,
                period=spec.period_seconds,
                **common,
            )
        queries = [
            aws.CloudwatchMetricAlarmMetricQuery(
                id=f"m{index}",
                return_data=False,
                metric=aws.CloudwatchMetricAlarmMetricQueryMetric(
                    namespace=series.namespace,
                    metric_name=series.metric,
                    dimensions=self._series_dimensions(series) or None,
                    stat=series.statistic,
                    period=spec.period_seconds,
                ),
            )
            for index, series in enumerate(spec.series)
        ]
        queries.append(aws.CloudwatchMetricAlarmMetricQuery(id="e", expression=spec.expression, return_data=True))
        return aws.CloudwatchMetricAlarm(self, spec.what, provider=provider, metric_query=queries, **common)

    def _count_throttled(self, config: MonitoringConfig, provider: aws.AwsProvider, log_group_name: str) -> None:
        """A metric of the requests the API answered 429, from its JSON access log."""
        aws.CloudwatchLogMetricFilter(
            self,
            "throttled-filter",
            provider=provider,
            name="api-throttled",
            log_group_name=log_group_name,
            pattern='{ $.status = "429" }',
            metric_transformation=aws.CloudwatchLogMetricFilterMetricTransformation(
                name=THROTTLED_METRIC, namespace=throttled_namespace(config.namer), value="1", unit="Count"
            ),
        )

    def _series_dimensions(self, series: Series) -> dict[str, str]:
        return {**self._subjects[series.subject], **dict(series.extra)}

    @property
    def topic_arn(self) -> str:
        return self._topic_arn

    @property
    def alarm_names(self) -> list[str]:
        return list(self._alarm_names)

    def alarm(self, what: str) -> AlarmRef:
        """One of the region's alarms (``"fn-errors"``, ``"api-5xx"``, ...) by reference: what
        watches it waits for it."""
        if what not in self._alarms:
            raise ValueError(f"alarm: {what!r} is not one of this region's alarms ({', '.join(self._alarms)})")
        alarm = self._alarms[what]
        return AlarmRef(name=alarm.alarm_name, arn=alarm.arn)
