"""A Lambda function in a region's private subnets, with its own log group, role and alias."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..cdk import aws
from ..cdk.core import AssetType, Construct, TerraformAsset, TerraformResourceLifecycle
from .iam import ServiceRole, Statement, service_role
from .kms import use_through
from .naming import Namer
from .packaging import build_package
from .rules import (
    ALL_AT_ONCE,
    DEPLOYMENT_STRATEGY,
    LAMBDA_MEMORY_MB,
    LAMBDA_RUNTIMES,
    LAMBDA_TIMEOUT_SECONDS,
    LOG_RETENTION,
    PC_SCHEDULES,
    PC_TARGET_UTILIZATION,
    QUEUE_TRIGGER_CONCURRENCY,
    UNSUPPORTED_RUNTIME,
    OneOf,
    OrNull,
    Whole,
    cron_problem,
)
from .scaling import ProvisionedConcurrencyScaling, ScalingConfig

_ENV_NAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
# The runtimes a function may use; the stack's own API function is Python (LAMBDA_RUNTIMES).
FUNCTION_RUNTIMES = (*LAMBDA_RUNTIMES, "nodejs22.x")
_RUNTIME = OneOf(FUNCTION_RUNTIMES, UNSUPPORTED_RUNTIME)
# "module.function" for Python ("handler.handler"), "file.export" for Node.js ("index.handler").
_HANDLER_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(?:[./][A-Za-z_][A-Za-z0-9_-]*)*\.[A-Za-z_$][A-Za-z0-9_$]*$")
# Lambda sets these itself and refuses them in a function's configuration.
_RESERVED_ENV = (
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "AWS_EXECUTION_ENV",
    "AWS_LAMBDA_FUNCTION_NAME",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "_HANDLER",
    "LAMBDA_TASK_ROOT",
    "LAMBDA_RUNTIME_DIR",
)


@dataclass(frozen=True, kw_only=True)
class QueueTrigger:
    """An SQS queue whose messages invoke the function, in batches; the function reports failed
    messages one by one (``{"batchItemFailures": [{"itemIdentifier": messageId}]}``), so only those
    are retried and, after the queue's receive limit, moved to its dead-letter queue.

    queue_arn: the queue (encrypted with the function's key, which the role may decrypt with).
    batch_size: messages per invocation, 1 to 10000. Default 10.
    max_batching_window_seconds: how long to gather a batch, 0 to 300. Default 0. Above 10 messages
        a batch needs a window of at least 1 second (an SQS rule).
    max_concurrency: concurrent invocations this queue may cause, 2 to 1000; ``None`` (default)
        leaves it to Lambda.
    """

    queue_arn: str
    batch_size: int = 10
    max_batching_window_seconds: int = 0
    max_concurrency: int | None = None

    def __post_init__(self) -> None:
        if not 1 <= self.batch_size <= 10_000:
            raise ValueError(f"batch_size: {self.batch_size!r} must be 1 to 10000")
        if not 0 <= self.max_batching_window_seconds <= 300:
            raise ValueError(f"max_batching_window_seconds: {self.max_batching_window_seconds!r} must be 0 to 300")
        if self.batch_size > 10 and self.max_batching_window_seconds < 1:
            raise ValueError(
                f"max_batching_window_seconds: {self.max_batching_window_seconds!r} must be at least 1 "
                f"with a batch_size above 10 (got {self.batch_size})"
            )
        OrNull(QUEUE_TRIGGER_CONCURRENCY).check("max_concurrency", self.max_concurrency)


def function_name(namer: Namer, region: str, component: str = "fn") -> str:
    """A function's name: how a stack that did not create it (the dashboard's) names it."""
    return namer.name(component, region, kind="lambda_function")


# EventBridge Scheduler's expressions: rate(...), cron(...) (six fields) or at(...) once.
_SCHEDULE_RE = re.compile(
    r"^(rate\(\d+ (minute|minutes|hour|hours|day|days)\)|cron\(.+\)|at\(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\))$"
)
_SCHEDULE_NAME_RE = re.compile(r"^[A-Za-z0-9_.-]{1,24}$")


@dataclass(frozen=True, kw_only=True)
class ScheduleTrigger:
    """An EventBridge Scheduler schedule that invokes the function's ``live`` alias.

    name: 1 to 24 letters, digits, ``.``, ``_`` or ``-`` (part of the schedule's name).
    expression: ``rate(5 minutes)``, ``cron(0 3 * * ? *)`` or ``at(2026-12-31T23:00:00)``.
    dead_letter_queue_arn: where an invocation that failed every retry goes (SQS; its key must
        let the schedule's role encrypt: ``dead_letter_queue_kms_key_arn``).
    timezone: of the expression. Default ``"UTC"``.
    payload: the event the function receives, as JSON. Default ``{}``.
    max_retries: 0 to 185. Default 3. max_event_age_seconds: 60 to 86400. Default 3600.
    """

    name: str
    expression: str
    dead_letter_queue_arn: str
    dead_letter_queue_kms_key_arn: str | None = None
    timezone: str = "UTC"
    payload: Mapping[str, Any] = field(default_factory=dict)
    max_retries: int = 3
    max_event_age_seconds: int = 3600

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not _SCHEDULE_NAME_RE.match(self.name):
            raise ValueError(f"name: {self.name!r} must be 1 to 24 letters, digits, '.', '_' or '-'")
        if not isinstance(self.expression, str) or not _SCHEDULE_RE.match(self.expression):
            raise ValueError(
                f"expression: {self.expression!r} must be rate(N minutes|hours|days), cron(six fields) or "
                "at(yyyy-mm-ddThh:mm:ss)"
            )
        if self.expression.startswith("cron("):
            problem = cron_problem(self.expression[5:-1])
            if problem:
                raise ValueError(f"expression: {self.expression!r} {problem}")
        Whole(0, 185).check("max_retries", self.max_retries)
        Whole(60, 86400).check("max_event_age_seconds", self.max_event_age_seconds)


@dataclass(frozen=True, kw_only=True)
class FunctionConfig:
    """Settings of one function in one region.

    namer, region: where and how resources are named; ``component`` names this function ("fn").
    source_dir: the directory zipped into the deployment package (caches and tests left out).
    handler: ``module.function`` (Python) or ``file.export`` (Node.js) inside the package. Default
        ``"handler.handler"``.
    runtime: ``python3.12`` (default), ``python3.13`` or ``nodejs22.x``.
    memory_mb: 128 to 10240. Default 128.
    timeout_seconds: 1 to 900. Default 30.
    reserved_concurrency: reserved concurrent executions; ``None`` (default) leaves it unreserved.
    provisioned_concurrency: warm instances on the ``live`` alias; 0 (default) turns it off.
    provisioned_concurrency_max: with it, Application Auto Scaling moves the provisioned concurrency
        between ``provisioned_concurrency`` and this, tracking ``provisioned_concurrency_target_utilization``
        (default 0.7), and ``provisioned_concurrency_schedules`` set other bounds for known peaks
        (``ScalingConfig``). Default ``None``: fixed.
    log_retention_days: retention of the function's log group. Default 365.
    environment: variables for the code, besides REGION, ENVIRONMENT and PROJECT_NAME which are
        always set. Default: none.
    queue_triggers: SQS queues that invoke the function (see ``QueueTrigger``). Default: none.
    schedule_triggers: schedules that invoke it (see ``ScheduleTrigger``). Default: none.
    deployment_strategy: ``"all_at_once"`` (default): each apply moves the ``live`` alias to the new
        version. Any other (``"canary_10_percent_5_minutes"``, ``"linear_10_percent_every_minute"``,
        ...): Terraform still publishes each new version, but leaves the alias, once created, to a
        CodeDeploy deployment (``TrafficShifting``, and the deploy workflow) that shifts it gradually.
    """

    namer: Namer
    region: str
    source_dir: Path
    component: str = "fn"
    handler: str = "handler.handler"
    runtime: str = "python3.12"
    memory_mb: int = 128
    timeout_seconds: int = 30
    reserved_concurrency: int | None = None
    provisioned_concurrency: int = 0
    provisioned_concurrency_max: int | None = None
    provisioned_concurrency_target_utilization: float = 0.7
    provisioned_concurrency_schedules: tuple[Mapping[str, Any], ...] = ()
    log_retention_days: int = 365
    environment: Mapping[str, str] = field(default_factory=dict)
    queue_triggers: tuple[QueueTrigger, ...] = ()
    schedule_triggers: tuple[ScheduleTrigger, ...] = ()
    deployment_strategy: str = ALL_AT_ONCE

    def __post_init__(self) -> None:
        # The limits are the settings layer's own rule objects: one rule, one message.
        _RUNTIME.check("runtime", self.runtime)
        if not _HANDLER_RE.match(self.handler):
            raise ValueError(f"handler: {self.handler!r} must be 'module.function' (Python) or 'file.export' (Node.js)")
        LAMBDA_MEMORY_MB.check("memory_mb", self.memory_mb)
        LAMBDA_TIMEOUT_SECONDS.check("timeout_seconds", self.timeout_seconds)
        OrNull(Whole(1)).check("reserved_concurrency", self.reserved_concurrency)
        Whole(0).check("provisioned_concurrency", self.provisioned_concurrency)
        OrNull(Whole(2)).check("provisioned_concurrency_max", self.provisioned_concurrency_max)
        PC_TARGET_UTILIZATION.check(
            "provisioned_concurrency_target_utilization", self.provisioned_concurrency_target_utilization
        )
        PC_SCHEDULES.check("provisioned_concurrency_schedules", self.provisioned_concurrency_schedules)
        self.scaling()  # the bounds together
        LOG_RETENTION.check("log_retention_days", self.log_retention_days)
        DEPLOYMENT_STRATEGY.check("deployment_strategy", self.deployment_strategy)
        if not Path(self.source_dir).is_dir():
            raise ValueError(f"source_dir: {str(self.source_dir)!r} is not a directory")
        for key in self.environment:
            if not _ENV_NAME_RE.match(key) or key in _RESERVED_ENV:
                raise ValueError(f"environment: {key!r} is not an allowed variable name")

    @property
    def gradual(self) -> bool:
        """CodeDeploy, not Terraform, moves the ``live`` alias to each new version."""
        return self.deployment_strategy != ALL_AT_ONCE

    def scaling(self) -> ScalingConfig | None:
        """The provisioned concurrency's scaling, when ``provisioned_concurrency_max`` is set."""
        if self.provisioned_concurrency_max is None:
            if self.provisioned_concurrency_schedules:
                raise ValueError(
                    "provisioned_concurrency_schedules: need provisioned_concurrency_max (a scaling to schedule)"
                )
            return None
        if self.provisioned_concurrency < 1:
            raise ValueError(
                "provisioned_concurrency_max: needs provisioned_concurrency of at least 1 (the floor it scales from)"
            )
        return ScalingConfig(
            minimum=self.provisioned_concurrency,
            maximum=self.provisioned_concurrency_max,
            target_utilization=self.provisioned_concurrency_target_utilization,
            schedules=self.provisioned_concurrency_schedules,
        )


class Function(Construct):
    """Creates a Lambda function packaged from ``source_dir`` (a deterministic zip, so the same code
    gives the same JSON) with X-Ray active tracing, JSON logs to its own log group with retention,
    environment variables and logs encrypted with the region's key,
    the private subnets and security group it is given, an execution role limited to its log group,
    its network interfaces, X-Ray, its trigger queues and the ``statements`` it is given, a ``live``
    alias (with provisioned concurrency when configured) that callers invoke, and an event source
    mapping per queue trigger (partial-batch failure reporting on) that invokes the alias.

    More permissions come from grants (``table.grant_read_write_items(function, region)``) or
    ``add_to_role_policy``. To add a function: put its code in a directory, then in the region's
    wiring (stacks/region.py)::

        Function(scope, "thumbnails", provider=provider, account_id=account_id,
                 subnet_ids=network.subnet_ids, security_group_id=network.security_group_id,
                 kms_key_arn=key.key_arn, environment={"BUCKET": storage.bucket_name},
                 config=FunctionConfig(namer=namer, region=region, component="thumbs",
                                       source_dir=Path("thumbnails"), runtime="nodejs22.x",
                                       handler="index.handler", memory_mb=512, timeout_seconds=60,
                                       queue_triggers=(QueueTrigger(queue_arn=queue.queue_arn),)),
                 statements=[Statement(sid="ReadUploads", actions=["s3:GetObject"],
                                       resources=[f"{storage.bucket_arn}/uploads/*"])])
    """

    ALIAS = "live"

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        config: FunctionConfig,
        provider: aws.AwsProvider,
        account_id: str,
        subnet_ids: list[str],
        security_group_id: str,
        environment: Mapping[str, str],
        kms_key_arn: str,
        statements: Sequence[Statement] = (),
    ) -> None:
        super().__init__(scope, id_)
        self._provider = provider
        self._name = function_name(config.namer, config.region, config.component)
        self._log_group = aws.CloudwatchLogGroup(
            self,
            "log-group",
            provider=provider,
            name=f"/aws/lambda/{self._name}",
            retention_in_days=config.log_retention_days,
            kms_key_id=kms_key_arn,
        )
        self._role = self._execution_role(config, account_id, subnet_ids, security_group_id, kms_key_arn, statements)
        self._function = self._lambda(config, subnet_ids, security_group_id, kms_key_arn, environment)
        self._version = self._function.version
        self._alias = aws.LambdaAlias(
            self,
            "alias",
            provider=provider,
            name=self.ALIAS,
            function_name=self._function.function_name,
            # Created at the first version; under a gradual strategy CodeDeploy moves it after that
            # (weights while it shifts), and Terraform must not move it back.
            function_version=self._version,
            lifecycle=(
                TerraformResourceLifecycle(ignore_changes=["function_version", "routing_config"])
                if config.gradual
                else None
            ),
        )
        # Each attribute read is a round trip to the jsii runtime: read each token once.
        self._alias_arn = self._alias.arn
        self._deployed_name, self._alias_name = self._function.function_name, self._alias.name
        self._queue_triggers(config)
        for trigger in config.schedule_triggers:
            self._schedule(config, account_id, trigger)
        if config.provisioned_concurrency:
            self._provisioned_concurrency(config, provider)

    def _provisioned_concurrency(self, config: FunctionConfig, provider: aws.AwsProvider) -> None:
        """Warm instances on the alias; with a scaling, Application Auto Scaling moves their number
        (so Terraform leaves it alone after the first apply)."""
        scaling = config.scaling()
        provisioned = aws.LambdaProvisionedConcurrencyConfig(
            self,
            "provisioned-concurrency",
            provider=provider,
            function_name=self._deployed_name,
            qualifier=self._alias_name,
            provisioned_concurrent_executions=config.provisioned_concurrency,
            lifecycle=(
                TerraformResourceLifecycle(ignore_changes=["provisioned_concurrent_executions"]) if scaling else None
            ),
        )
        if scaling is not None:
            ProvisionedConcurrencyScaling(
                self,
                "scaling",
                config=scaling,
                provider=provider,
                function_name=self._deployed_name,
                alias_name=self._alias_name,
                name_prefix=self._name,
                depends_on=[provisioned],
            )

    def add_to_role_policy(self, statement: Statement) -> None:
        """Let the function do more: a statement for its execution role (what grants call)."""
        self._role.add(statement)

    def _execution_role(
        self,
        config: FunctionConfig,
        account_id: str,
        subnet_ids: list[str],
        security_group_id: str,
        kms_key_arn: str,
        statements: Sequence[Statement],
    ) -> ServiceRole:
        """Its log group, network interfaces in its own subnets and security group, X-Ray, the
        queues that trigger it, and ``statements``."""
        ec2 = f"arn:aws:ec2:{config.region}:{account_id}"
        consume = Statement(
            sid="ConsumeTriggerQueues",
            actions=[
                "sqs:ChangeMessageVisibility",
                "sqs:DeleteMessage",
                "sqs:GetQueueAttributes",
                "sqs:ReceiveMessage",
            ],
            resources=[trigger.queue_arn for trigger in config.queue_triggers],
        )
        return service_role(
            self,
            "role",
            provider=self._provider,
            name=config.namer.name(config.component, config.region, kind="iam_role"),
            service="lambda.amazonaws.com",
            source_account=None,
            statements=[
                Statement(
                    sid="WriteOwnLogs",
                    actions=["logs:CreateLogStream", "logs:PutLogEvents"],
                    resources=[f"{self._log_group.arn}:*"],
                ),
                Statement(sid="DecryptOwnEnvironment", actions=["kms:Decrypt"], resources=[kms_key_arn]),
                Statement(
                    sid="CreateNetworkInterfacesInOwnSubnets",
                    actions=["ec2:CreateNetworkInterface"],
                    resources=[
                        f"{ec2}:network-interface/*",
                        f"{ec2}:security-group/{security_group_id}",
                        *(f"{ec2}:subnet/{subnet}" for subnet in subnet_ids),
                    ],
                ),
                Statement(
                    sid="ManageNetworkInterfaces",
                    actions=[
                        "ec2:AssignPrivateIpAddresses",
                        "ec2:DeleteNetworkInterface",
                        "ec2:UnassignPrivateIpAddresses",
                    ],
                    resources=[f"{ec2}:network-interface/*"],
                ),
                # EC2 Describe* and these X-Ray calls have no resource-level permissions: "*" is the
                # only resource IAM accepts for them.
                Statement(
                    sid="DescribeNetwork",
                    actions=["ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets"],
                    resources=["*"],
                ),
                Statement(
                    sid="WriteTraces", actions=["xray:PutTelemetryRecords", "xray:PutTraceSegments"], resources=["*"]
                ),
                *([consume] if config.queue_triggers else []),
                *statements,
            ],
        )

    def _lambda(
        self,
        config: FunctionConfig,
        subnet_ids: list[str],
        security_group_id: str,
        kms_key_arn: str,
        environment: Mapping[str, str],
    ) -> aws.LambdaFunction:
        package = build_package(Path(config.source_dir), config.component)
        asset = TerraformAsset(self, "package", path=str(package.path), type=AssetType.FILE)
        return aws.LambdaFunction(
            self,
            "function",
            provider=self._provider,
            function_name=self._name,
            role=self._role.arn,
            handler=config.handler,
            runtime=config.runtime,
            filename=asset.path,
            source_code_hash=package.sha256_base64,
            memory_size=config.memory_mb,
            timeout=config.timeout_seconds,
            publish=True,
            architectures=["arm64"],
            kms_key_arn=kms_key_arn,
            reserved_concurrent_executions=config.reserved_concurrency,
            vpc_config=aws.LambdaFunctionVpcConfig(subnet_ids=subnet_ids, security_group_ids=[security_group_id]),
            tracing_config=aws.LambdaFunctionTracingConfig(mode="Active"),
            logging_config=aws.LambdaFunctionLoggingConfig(log_format="JSON", log_group=self._log_group.name),
            environment=aws.LambdaFunctionEnvironment(
                variables=dict(sorted({**config.environment, **environment}.items()))
            ),
            depends_on=[self._log_group, self._role.policy],
        )

    def _schedule(self, config: FunctionConfig, account_id: str, trigger: ScheduleTrigger) -> None:
        """A schedule that invokes the alias, with a role of its own that may invoke that alias
        only and send to the dead-letter queue; retries, then the dead-letter queue."""
        statements = [
            Statement(sid="InvokeThisFunctionsAlias", actions=["lambda:InvokeFunction"], resources=[self._alias_arn]),
            Statement(
                sid="SendToTheDeadLetterQueue", actions=["sqs:SendMessage"], resources=[trigger.dead_letter_queue_arn]
            ),
        ]
        if trigger.dead_letter_queue_kms_key_arn is not None:
            statements.append(
                use_through(
                    trigger.dead_letter_queue_kms_key_arn,
                    config.region,
                    ("sqs",),
                    sid="EncryptDeadLettersThroughSqs",
                    actions=("kms:Decrypt", "kms:GenerateDataKey"),
                )
            )
        role = service_role(
            self,
            f"schedule-{trigger.name}-role",
            provider=self._provider,
            name=config.namer.name(f"{config.component}-{trigger.name}", config.region, kind="iam_role"),
            service="scheduler.amazonaws.com",
            source_account=account_id,
            statements=statements,
        )
        aws.SchedulerSchedule(
            self,
            f"schedule-{trigger.name}",
            provider=self._provider,
            name=config.namer.name(f"{config.component}-{trigger.name}", config.region, kind="schedule"),
            schedule_expression=trigger.expression,
            schedule_expression_timezone=trigger.timezone,
            flexible_time_window=aws.SchedulerScheduleFlexibleTimeWindow(mode="OFF"),
            target=aws.SchedulerScheduleTarget(
                arn=self._alias_arn,
                role_arn=role.arn,
                input=json.dumps(dict(trigger.payload), sort_keys=True),
                retry_policy=aws.SchedulerScheduleTargetRetryPolicy(
                    maximum_retry_attempts=trigger.max_retries,
                    maximum_event_age_in_seconds=trigger.max_event_age_seconds,
                ),
                dead_letter_config=aws.SchedulerScheduleTargetDeadLetterConfig(arn=trigger.dead_letter_queue_arn),
            ),
            # The role's policy must exist before the first invocation needs it.
            depends_on=[role.policy],
        )

    def _queue_triggers(self, config: FunctionConfig) -> None:
        """An event source mapping per trigger, invoking the alias; failures reported per message."""
        for index, trigger in enumerate(config.queue_triggers):
            aws.LambdaEventSourceMapping(
                self,
                f"queue-trigger-{index}",
                provider=self._provider,
                event_source_arn=trigger.queue_arn,
                function_name=self._alias_arn,
                batch_size=trigger.batch_size,
                maximum_batching_window_in_seconds=trigger.max_batching_window_seconds or None,
                function_response_types=["ReportBatchItemFailures"],
                scaling_config=(
                    aws.LambdaEventSourceMappingScalingConfig(maximum_concurrency=trigger.max_concurrency)
                    if trigger.max_concurrency is not None
                    else None
                ),
                # Lambda checks the role's queue permissions when the mapping is created.
                depends_on=[self._role.policy],
            )

    @property
    def function_name(self) -> str:
        """The name, known at synth time: for the dashboard, whose body is static JSON. Resources
        that name the function use ``deployed_function_name``."""
        return self._name

    @property
    def deployed_function_name(self) -> str:
        """The name as a reference to the function: what names it waits for it."""
        return self._deployed_name

    @property
    def function_arn(self) -> str:
        return self._function.arn

    @property
    def version(self) -> str:
        """The newest version Terraform published (what a gradual deployment shifts the alias to)."""
        return self._version

    @property
    def alias_name(self) -> str:
        """The ``live`` alias's name as a reference to the alias."""
        return self._alias_name

    @property
    def alias_arn(self) -> str:
        return self._alias_arn

    @property
    def alias_invoke_arn(self) -> str:
        return self._alias.invoke_arn

    @property
    def log_group_name(self) -> str:
        return self._log_group.name
