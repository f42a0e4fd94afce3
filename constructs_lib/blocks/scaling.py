"""Provisioned concurrency that follows the load: Application Auto Scaling on a function's alias."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..cdk import aws
from ..cdk.core import Construct
from .rules import PC_SCHEDULES, PC_TARGET_UTILIZATION, Whole

DIMENSION = "lambda:function:ProvisionedConcurrency"


@dataclass(frozen=True, kw_only=True)
class ScalingConfig:
    """minimum: the provisioned concurrency kept at least (at least 1); maximum: the most it scales
    to (above ``minimum``); target_utilization: the share of provisioned concurrency in use that
    target tracking keeps (0.1 to 0.9). Default 0.7. schedules: ``{"name", "cron", "min", "max"}``
    (AWS cron, UTC) that set other bounds for known peaks. Default: none."""

    minimum: int
    maximum: int
    target_utilization: float = 0.7
    schedules: Sequence[Mapping[str, Any]] = ()

    def __post_init__(self) -> None:
        Whole(1).check("minimum", self.minimum)
        Whole(2).check("maximum", self.maximum)
        if self.maximum <= self.minimum:
            raise ValueError(f"maximum: {self.maximum} must be above minimum ({self.minimum})")
        PC_TARGET_UTILIZATION.check("target_utilization", self.target_utilization)
        PC_SCHEDULES.check("schedules", list(self.schedules))


class ProvisionedConcurrencyScaling(Construct):
    """Creates, for a function's alias (whose provisioned concurrency configuration already exists):
    an Application Auto Scaling target from ``minimum`` to ``maximum``, a target tracking policy on
    the predefined ``LambdaProvisionedConcurrencyUtilization``, and a scheduled action per schedule.
    Application Auto Scaling uses its service-linked role for Lambda (it creates it itself)."""

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        config: ScalingConfig,
        provider: aws.AwsProvider,
        function_name: str,
        alias_name: str,
        name_prefix: str,
        depends_on: Sequence[Any] = (),
    ) -> None:
        """``function_name`` and ``alias_name`` as references, so the target waits for both;
        ``depends_on``: the alias's provisioned concurrency configuration."""
        super().__init__(scope, id_)
        target = aws.AppautoscalingTarget(
            self,
            "target",
            provider=provider,
            service_namespace="lambda",
            resource_id=f"function:{function_name}:{alias_name}",
            scalable_dimension=DIMENSION,
            min_capacity=config.minimum,
            max_capacity=config.maximum,
            depends_on=list(depends_on) or None,
        )
        # Read once: every attribute read is a round trip to the jsii runtime.
        resource_id, namespace, dimension = target.resource_id, target.service_namespace, target.scalable_dimension
        aws.AppautoscalingPolicy(
            self,
            "utilization",
            provider=provider,
            name=f"{name_prefix}-utilization",
            policy_type="TargetTrackingScaling",
            resource_id=resource_id,
            service_namespace=namespace,
            scalable_dimension=dimension,
            target_tracking_scaling_policy_configuration=aws.AppautoscalingPolicyTargetTrackingScalingPolicyConfiguration(
                target_value=config.target_utilization,
                predefined_metric_specification=aws.AppautoscalingPolicyTargetTrackingScalingPolicyConfigurationPredefinedMetricSpecification(
                    predefined_metric_type="LambdaProvisionedConcurrencyUtilization"
                ),
            ),
        )
        for schedule in config.schedules:
            aws.AppautoscalingScheduledAction(
                self,
                f"schedule-{schedule['name']}",
                provider=provider,
                name=f"{name_prefix}-{schedule['name']}",
                resource_id=resource_id,
                service_namespace=namespace,
                scalable_dimension=dimension,
                schedule=f"cron({schedule['cron']})",
                timezone="UTC",
                scalable_target_action=aws.AppautoscalingScheduledActionScalableTargetAction(
                    min_capacity=str(schedule["min"]), max_capacity=str(schedule["max"])
                ),
            )
