"""The one global CloudWatch dashboard: every region side by side."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

from . import aws
from .cdk import Construct

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


# (title, namespace, metric, statistic, which dimensions)
_PANELS = (
    ("Function invocations", "AWS/Lambda", "Invocations", "Sum", "function"),
    ("Function errors", "AWS/Lambda", "Errors", "Sum", "function"),
    ("Function duration (ms, p50 average)", "AWS/Lambda", "Duration", "Average", "function"),
    ("API requests", "AWS/ApiGateway", "Count", "Sum", "api"),
    ("API 4XX", "AWS/ApiGateway", "4XXError", "Sum", "api"),
    ("API 5XX", "AWS/ApiGateway", "5XXError", "Sum", "api"),
    ("API latency (ms, average)", "AWS/ApiGateway", "Latency", "Average", "api"),
)


@dataclass(frozen=True, kw_only=True)
class DashboardConfig:
    """name: the dashboard's name; home_region: where it lives (a dashboard is global to the account
    but is created through one region); regions: one entry a region, in the configured order."""

    name: str
    home_region: str
    regions: Sequence[RegionMetrics]

    def __post_init__(self) -> None:
        if not self.regions:
            raise ValueError("regions: a dashboard needs at least one region")

    def body(self) -> str:
        """The dashboard body: deterministic JSON (sorted keys) so snapshots stay stable."""
        widgets = []
        for index, (title, namespace, metric, statistic, kind) in enumerate(_PANELS):
            metrics = []
            for r in self.regions:
                dimensions = (
                    ["FunctionName", r.function_name]
                    if kind == "function"
                    else ["ApiName", r.api_name, "Stage", r.stage_name]
                )
                metrics.append([namespace, metric, *dimensions, {"region": r.region, "label": r.region}])
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
    invocations, errors and duration and API requests, 4XX, 5XX and latency; every panel has one
    line per region."""

    def __init__(self, scope: Construct, id_: str, *, config: DashboardConfig, provider: aws.AwsProvider) -> None:
        super().__init__(scope, id_)
        self._dashboard = aws.CloudwatchDashboard(
            self, "dashboard", provider=provider, dashboard_name=config.name, dashboard_body=config.body()
        )
        self._name = config.name

    @property
    def dashboard_name(self) -> str:
        return self._name
