"""The one global CloudWatch dashboard: every region side by side."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..cdk import aws
from ..cdk.core import Construct

WIDGET_WIDTH = 8
WIDGET_HEIGHT = 6
PER_ROW = 24 // WIDGET_WIDTH


@dataclass(frozen=True, kw_only=True)
class RegionMetrics:
    """What the dashboard shows of one region. Names, not references, so the body is static JSON."""

    region: str
    function_name: str
    api_name: str
    stage_name: str
    queue_name: str | None = None
    dead_letter_queue_name: str | None = None
    # A token (the health check's id is known only after apply); Route 53 publishes its metrics in
    # us-east-1.
    health_check_id: str | None = None
    canary_name: str | None = None
    # The canary that calls this region from another one (``watcher_region``), where there is one.
    watch_canary_name: str | None = None
    watcher_region: str | None = None


# The namespace of the functions' business metrics: the project's (``DashboardConfig.business_namespace``).
BUSINESS = "{business}"

# (title, namespace, metric, statistic, which dimensions); a panel whose dimensions a region lacks
# has no line for it, and a panel with no line at all is left out.
_PANELS = (
    ("Function invocations", "AWS/Lambda", "Invocations", "Sum", "function"),
    ("Function errors", "AWS/Lambda", "Errors", "Sum", "function"),
    ("Function duration (ms, p50 average)", "AWS/Lambda", "Duration", "Average", "function"),
    ("API requests", "AWS/ApiGateway", "Count", "Sum", "api"),
    ("API 4XX", "AWS/ApiGateway", "4XXError", "Sum", "api"),
    ("API 5XX", "AWS/ApiGateway", "5XXError", "Sum", "api"),
    ("API latency (ms, average)", "AWS/ApiGateway", "Latency", "Average", "api"),
    ("Table writes (write units)", "AWS/DynamoDB", "ConsumedWriteCapacityUnits", "Sum", "table"),
    ("Table reads (read units)", "AWS/DynamoDB", "ConsumedReadCapacityUnits", "Sum", "table"),
    ("Replication latency from the home region (ms)", "AWS/DynamoDB", "ReplicationLatency", "Average", "replication"),
    ("Work queue depth", "AWS/SQS", "ApproximateNumberOfMessagesVisible", "Maximum", "queue"),
    ("Dead-letter queue depth", "AWS/SQS", "ApproximateNumberOfMessagesVisible", "Maximum", "dlq"),
    ("Health checks (1 healthy, 0 not)", "AWS/Route53", "HealthCheckStatus", "Minimum", "health"),
    ("Canary success (%)", "CloudWatchSynthetics", "SuccessPercent", "Average", "canary"),
    ("Called from another region (success %)", "CloudWatchSynthetics", "SuccessPercent", "Average", "watch"),
    # The functions' own metrics (embedded metric format), in the project's namespace.
    ("Items created", BUSINESS, "ItemsCreated", "Sum", "business"),
    ("Items updated", BUSINESS, "ItemsUpdated", "Sum", "business"),
    ("Items deleted", BUSINESS, "ItemsDeleted", "Sum", "business"),
    ("Worker messages processed", BUSINESS, "MessagesProcessed", "Sum", "business"),
    ("Worker messages failed", BUSINESS, "MessagesFailed", "Sum", "business"),
)
HEALTH_CHECK_METRICS_REGION = "us-east-1"


@dataclass(frozen=True, kw_only=True)
class DashboardConfig:
    """name: the dashboard's name; home_region: where it lives (a dashboard is global to the account
    but is created through one region); regions: one entry a region, in the configured order;
    table_name: the global table, when there is one. Default ``None``. business_namespace and
    environment: where the functions' business metrics are (the project's namespace, dimensions
    Region and Environment). Default ``None``: no business panels."""

    name: str
    home_region: str
    regions: Sequence[RegionMetrics]
    table_name: str | None = None
    business_namespace: str | None = None
    environment: str | None = None

    def __post_init__(self) -> None:
        if not self.regions:
            raise ValueError("regions: a dashboard needs at least one region")

    def _line(self, kind: str, r: RegionMetrics) -> tuple[list[str], str] | None:
        """The dimensions of region ``r``'s line on a panel of ``kind`` and the region the metric
        lives in, or ``None`` when the region has nothing of that kind."""
        dimensions: dict[str, list[str] | None] = {
            "function": ["FunctionName", r.function_name],
            "api": ["ApiName", r.api_name, "Stage", r.stage_name],
            "table": ["TableName", self.table_name] if self.table_name else None,
            "replication": (
                ["TableName", self.table_name, "ReceivingRegion", r.region]
                if self.table_name and r.region != self.home_region
                else None
            ),
            "queue": ["QueueName", r.queue_name] if r.queue_name else None,
            "dlq": ["QueueName", r.dead_letter_queue_name] if r.dead_letter_queue_name else None,
            "health": ["HealthCheckId", r.health_check_id] if r.health_check_id else None,
            "canary": ["CanaryName", r.canary_name] if r.canary_name else None,
            "watch": ["CanaryName", r.watch_canary_name] if r.watch_canary_name else None,
            "business": (
                ["Region", r.region, "Environment", self.environment]
                if self.business_namespace and self.environment
                else None
            ),
        }
        chosen = dimensions[kind]
        if chosen is None:
            return None
        # Replication latency is measured where the change was made; health checks report to us-east-1.
        where = {
            "replication": self.home_region,
            "health": HEALTH_CHECK_METRICS_REGION,
            "watch": r.watcher_region or r.region,
        }.get(kind, r.region)
        return chosen, where

    def body(self) -> str:
        """The dashboard body: deterministic JSON (sorted keys) so snapshots stay stable."""
        widgets: list[dict[str, Any]] = []
        for title, namespace, metric, statistic, kind in _PANELS:
            metrics = []
            for r in self.regions:
                line = self._line(kind, r)
                if line is not None:
                    dimensions, where = line
                    space = self.business_namespace if namespace == BUSINESS else namespace
                    metrics.append([space, metric, *dimensions, {"region": where, "label": r.region}])
            if not metrics:
                continue
            index = len(widgets)
            widgets.append(
                {
                    "type": "metric",
                    "x": (index % PER_ROW) * WIDGET_WIDTH,
                    "y": (index // PER_ROW) * WIDGET_HEIGHT,
                    "width": WIDGET_WIDTH,
                    "height": WIDGET_HEIGHT,
                    "properties": {
                        "title": title,
                        "view": "timeSeries",
                        "stat": statistic,
                        "period": 300,
                        "region": self.home_region,
                        "metrics": metrics,
                    },
                }
            )
        return json.dumps({"widgets": widgets}, sort_keys=True, separators=(",", ":"))


class Dashboard(Construct):
    """Creates one CloudWatch dashboard, in the home region, with a panel each for function
    invocations, errors and duration, API requests, 4XX, 5XX and latency, table writes, reads and
    replication latency, work and dead-letter queue depths, (with a custom domain) the health
    checks, and the functions' business metrics (items created, updated, deleted; the worker's
    messages processed and failed); every panel has one line per region."""

    def __init__(self, scope: Construct, id_: str, *, config: DashboardConfig, provider: aws.AwsProvider) -> None:
        super().__init__(scope, id_)
        self._dashboard = aws.CloudwatchDashboard(
            self, "dashboard", provider=provider, dashboard_name=config.name, dashboard_body=config.body()
        )
        self._name = config.name

    @property
    def dashboard_name(self) -> str:
        return self._name
