"""Gradual rollout of new function code: CodeDeploy shifts a function's ``live`` alias to its new
version (a canary or a linear shift) and rolls it back when the function's alarms fire."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ..cdk import aws
from ..cdk.core import Construct
from .iam import Statement, service_role
from .monitoring import AlarmRef, with_runbook
from .naming import Namer
from .rules import ALL_AT_ONCE, DEPLOYMENT_STRATEGIES, DEPLOYMENT_STRATEGY

# CodeDeploy watches at most this many alarms per deployment group (one is the rollback alarm).
MAX_ALARMS = 10
# The rollback alarm's runbook page (docs/runbooks/), and what it watches: the function's errors
# through its alias, a minute at a time, so that even a 1-minute canary step can be stopped.
ROLLBACK_RUNBOOK = "rollback-errors"
ROLLBACK_PERIOD_SECONDS = 60
ROLLBACK_PERIODS = 2


@dataclass(frozen=True, kw_only=True)
class RolloutTarget:
    """A function whose alias CodeDeploy moves: ``component`` (its part of the names: ``"fn"``,
    ``"worker"``); its name, ARN, alias name and newest published version (what a deployment moves
    the alias to) as references; and the alarms (1 to 10, by reference) that stop a deployment and
    roll it back."""

    component: str
    function_name: str
    function_arn: str
    alias_name: str
    version: str
    alarms: tuple[AlarmRef, ...]

    def __post_init__(self) -> None:
        if not 1 <= len(self.alarms) <= MAX_ALARMS - 1:
            raise ValueError(
                f"alarms: {len(self.alarms)} given; a deployment group watches 1 to {MAX_ALARMS - 1} "
                "besides its rollback alarm"
            )


@dataclass(frozen=True, kw_only=True)
class GradualRolloutConfig:
    """namer, region: where and how resources are named. deployment_strategy: a gradual one
    (``"canary_10_percent_5_minutes"``, ``"linear_10_percent_every_minute"``, ...): with
    ``"all_at_once"`` Terraform moves the alias and there is nothing to roll out."""

    namer: Namer
    region: str
    deployment_strategy: str

    def __post_init__(self) -> None:
        DEPLOYMENT_STRATEGY.check("deployment_strategy", self.deployment_strategy)
        if self.deployment_strategy == ALL_AT_ONCE:
            raise ValueError(
                f"deployment_strategy: {ALL_AT_ONCE!r} needs no CodeDeploy (Terraform moves the alias); "
                "give a canary or linear strategy"
            )

    @property
    def deployment_config_name(self) -> str:
        """CodeDeploy's predefined configuration for the strategy."""
        return DEPLOYMENT_STRATEGIES[self.deployment_strategy][0]


@dataclass(frozen=True, kw_only=True)
class DeploymentGroupRef:
    """What a deployment of one function names: its group, the function and alias it moves, and the
    version it moves the alias to."""

    deployment_group_name: str
    function_name: str
    alias_name: str
    version: str


class GradualRollout(Construct):
    """Creates, in one region through its provider, a CodeDeploy application for Lambda and, per
    target function, a deployment group: blue/green with traffic control, the strategy's predefined
    deployment configuration, its alarms and a rollback alarm of its own (``_rollback_alarm``; a
    deployment stops when one is in ALARM, and polls that fail stop it too), and automatic rollback
    of a failed or alarm-stopped deployment. Each group has a service role of its own that
    CodeDeploy assumes for this account only, allowed to read and move that function's aliases (and
    read their provisioned concurrency, which CodeDeploy waits for) and to read those alarms: the
    actions of AWS's ``AWSCodeDeployRoleForLambdaLimited``, narrowed to the one function and its
    alarms; no S3 (the workflow sends the AppSpec inline), no hook functions, no SNS (no triggers).

    Terraform creates no deployment: the deploy workflow starts one per function after each apply
    (``tools/rollout.py``), with the version Terraform published (``Function.version``)."""

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        config: GradualRolloutConfig,
        provider: aws.AwsProvider,
        account_id: str,
        targets: Sequence[RolloutTarget],
    ) -> None:
        super().__init__(scope, id_)
        self._config, self._provider, self._account_id = config, provider, account_id
        application = aws.CodedeployApp(
            self,
            "application",
            provider=provider,
            name=config.namer.name("rollout", config.region, kind="codedeploy_app"),
            compute_platform="Lambda",
        )
        self._application_name = application.name
        self._groups = [self._group(target) for target in targets]

    def _rollback_alarm(self, target: RolloutTarget) -> AlarmRef:
        """The function's errors through its alias, a minute at a time: the region's own errors
        alarms look at 5 or 10 minutes, longer than a short strategy's steps. No actions: it only
        stops the group's deployment (the region's alarms page people)."""
        config, component = self._config, target.component
        alarm = aws.CloudwatchMetricAlarm(
            self,
            f"{component}-rollback-alarm",
            provider=self._provider,
            alarm_name=config.namer.name(f"{ROLLBACK_RUNBOOK}-{component}", config.region, kind="cloudwatch_alarm"),
            alarm_description=with_runbook(
                f"Errors of {component} through its {target.alias_name} alias in {ROLLBACK_PERIODS} minutes "
                "in a row: stops a gradual deployment, which rolls back",
                ROLLBACK_RUNBOOK,
            ),
            namespace="AWS/Lambda",
            metric_name="Errors",
            dimensions={
                "FunctionName": target.function_name,
                "Resource": f"{target.function_name}:{target.alias_name}",
            },
            statistic="Sum",
            period=ROLLBACK_PERIOD_SECONDS,
            evaluation_periods=ROLLBACK_PERIODS,
            threshold=1,
            comparison_operator="GreaterThanOrEqualToThreshold",
            treat_missing_data="notBreaching",
        )
        return AlarmRef(name=alarm.alarm_name, arn=alarm.arn)

    def _group(self, target: RolloutTarget) -> DeploymentGroupRef:
        config, component = self._config, target.component
        alarms = (*target.alarms, self._rollback_alarm(target))
        role = service_role(
            self,
            f"{component}-role",
            provider=self._provider,
            name=config.namer.name(f"{component}-rollout", config.region, kind="iam_role"),
            service="codedeploy.amazonaws.com",
            source_account=self._account_id,
            statements=[
                # IAM matches the function's ARN for calls on the function, its alias's or
                # version's for calls on them.
                Statement(
                    sid="MoveTheFunctionsAlias",
                    actions=["lambda:GetAlias", "lambda:GetProvisionedConcurrencyConfig", "lambda:UpdateAlias"],
                    resources=[target.function_arn, f"{target.function_arn}:*"],
                ),
                Statement(
                    sid="ReadTheRollbackAlarms",
                    actions=["cloudwatch:DescribeAlarms"],
                    resources=[alarm.arn for alarm in alarms],
                ),
            ],
        )
        group = aws.CodedeployDeploymentGroup(
            self,
            f"{component}-group",
            provider=self._provider,
            app_name=self._application_name,
            deployment_group_name=config.namer.name(f"{component}-live", config.region, kind="codedeploy_group"),
            service_role_arn=role.arn,
            deployment_config_name=config.deployment_config_name,
            deployment_style=aws.CodedeployDeploymentGroupDeploymentStyle(
                deployment_option="WITH_TRAFFIC_CONTROL", deployment_type="BLUE_GREEN"
            ),
            alarm_configuration=aws.CodedeployDeploymentGroupAlarmConfiguration(
                alarms=[alarm.name for alarm in alarms], enabled=True, ignore_poll_alarm_failure=False
            ),
            auto_rollback_configuration=aws.CodedeployDeploymentGroupAutoRollbackConfiguration(
                enabled=True, events=["DEPLOYMENT_FAILURE", "DEPLOYMENT_STOP_ON_ALARM"]
            ),
            # The role's permissions exist before any deployment of the group needs them.
            depends_on=[role.policy],
        )
        return DeploymentGroupRef(
            deployment_group_name=group.deployment_group_name,
            function_name=target.function_name,
            alias_name=target.alias_name,
            version=target.version,
        )

    @property
    def application_name(self) -> str:
        return self._application_name

    @property
    def deployment_config_name(self) -> str:
        return self._config.deployment_config_name

    @property
    def groups(self) -> list[DeploymentGroupRef]:
        return list(self._groups)
