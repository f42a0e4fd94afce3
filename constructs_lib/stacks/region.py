"""One region of an environment: the construct whose id is the region, so every regional resource's
address is ``<region>_<part>_...``."""

from __future__ import annotations

from pathlib import Path

from ..blocks.api import Api, ApiConfig, Cors, FunctionTarget
from ..blocks.app_secrets import SecretCopies
from ..blocks.canary import Canary, CanaryConfig
from ..blocks.change_feed import ChangeFeed, ChangeFeedConfig
from ..blocks.domain import CustomDomain, CustomDomainConfig
from ..blocks.events import EventBus, EventBusConfig
from ..blocks.function import Function, FunctionConfig, QueueTrigger
from ..blocks.kms import KeyByAlias
from ..blocks.monitoring import AsyncWatch, Monitoring, MonitoringConfig, Watched
from ..blocks.naming import Namer, origin_secret_name
from ..blocks.network import Network, NetworkConfig
from ..blocks.queue import Queue, QueueConfig
from ..blocks.rollout import GradualRollout, GradualRolloutConfig, RolloutTarget
from ..blocks.rules import ALL_AT_ONCE
from ..blocks.sign_in import api_key_secret_name, user_pool_parameter_name
from ..blocks.storage import Storage, StorageConfig
from ..blocks.table import TableConfig, TableCopy
from ..blocks.tracing import Tracing, TracingConfig
from ..blocks.waf import WafConfig, WebApplicationFirewall
from ..cdk import aws
from ..cdk.core import Construct
from ..settings import StackConfig


class RegionalDeployment(Construct):
    """Creates, in one region through its provider, using what the global stack made there (the
    region's KMS key, its copy of the global table, the shared API key or the user pool's ARN: each
    read in this region by name): a private network; a work queue with its dead-letter queue and the
    event bus that feeds it; the change feed from the table copy's stream to the bus; the API
    function (granted its region's table copy and the key through DynamoDB) and the queue's worker;
    a REST API in front of the function, with a custom domain when one is configured and a WAF web
    ACL unless turned off; an artifacts bucket; and alarms with an SNS topic. Under a gradual
    ``deployment_strategy``, a CodeDeploy deployment group per function that rolls back on its alarms.
    """

    def __init__(
        self,
        scope: Construct,
        region: str,
        *,
        config: StackConfig,
        namer: Namer,
        provider: aws.AwsProvider,
        source_dir: Path,
    ) -> None:
        super().__init__(scope, region)
        self._config, self._namer, self._region, self._provider = config, namer, region, provider
        self._account_id = aws.DataAwsCallerIdentity(self, "caller-identity", provider=provider).account_id
        self.key = KeyByAlias(self, "key", namer=namer, region=region, provider=provider)
        self._key_arn = self.key.key_arn
        self._table = TableCopy(self, "table", table_name=TableConfig.name_for(namer), provider=provider)
        self._cors = Cors()
        self.network = self._network()
        self.queue = self._queue()
        self.bus = self._bus()
        self.changes = self._change_feed()
        self.function = self._api_function(source_dir)
        self.worker = self._worker(source_dir)
        self.api = self._api()
        self.domain = self._domain() if config.domain_name and config.hosted_zone_id else None
        self._web_acl_name = self._waf().web_acl_name if config.waf_enabled else None
        self.storage = self._storage()
        self.monitoring = self._monitoring()
        self.rollout = self._rollout() if config.deployment_strategy != ALL_AT_ONCE else None
        self._tracing()
        if config.canary_interval_minutes is not None:
            self._canary()
        watch = config.outside_watch
        if watch is not None and watch.watcher == region:
            self._outside_watch(watch.watched, watch.domain_name)

    @property
    def event_source(self) -> str:
        """The ``source`` of the item events the API function publishes."""
        return f"{self._config.project_name}.items"

    def _environment(self) -> dict[str, str]:
        """What every function of the region is told about where it runs."""
        config = self._config
        return {"REGION": self._region, "ENVIRONMENT": config.environment, "PROJECT_NAME": config.project_name}

    def _network(self) -> Network:
        config = self._config
        zone_ids = config.availability_zone_ids.get(self._region)
        return Network(
            self,
            "network",
            provider=self._provider,
            account_id=self._account_id,
            kms_key_arn=self._key_arn,
            config=NetworkConfig(
                namer=self._namer,
                region=self._region,
                cidr_block=config.vpc_cidr(self._region),
                availability_zone_ids=tuple(zone_ids) if zone_ids else None,
                # The functions reach DynamoDB (its free gateway endpoint): the events come from
                # the stream. An interface endpoint is paid for only where they read secrets.
                interface_endpoints=("secretsmanager",) if config.secrets else (),
                **config.settings_for("network"),
            ),
        )

    def _queue(self) -> Queue:
        return Queue(
            self,
            "queue",
            provider=self._provider,
            kms_key_arn=self._key_arn,
            config=QueueConfig(
                namer=self._namer,
                region=self._region,
                **self._config.settings_for("queue"),
            ),
        )

    def _bus(self) -> EventBus:
        queue = self.queue
        return EventBus(
            self,
            "events",
            provider=self._provider,
            kms_key_arn=self._key_arn,
            queue_arn=queue.queue_arn,
            queue_url=queue.queue_url,
            dead_letter_queue_arn=queue.dead_letter_queue_arn,
            dead_letter_queue_url=queue.dead_letter_queue_url,
            config=EventBusConfig(namer=self._namer, region=self._region, source=self.event_source),
        )

    def _api_function(self, source_dir: Path) -> Function:
        """The items API: its region's table copy, item by item, and the key only as DynamoDB uses
        it. It publishes nothing itself: the change feed announces its writes from the stream."""
        config = self._config
        secrets = SecretCopies(
            namer=self._namer, names=config.secrets, region=self._region, account_id=self._account_id
        )
        function = Function(
            self,
            "function",
            provider=self._provider,
            account_id=self._account_id,
            subnet_ids=self.network.subnet_ids,
            security_group_id=self.network.security_group_id,
            kms_key_arn=self._key_arn,
            environment={
                **self._environment(),
                # A reference: the function waits for the table it names.
                "TABLE_NAME": self._table.table_name,
                # The limit WAF enforces in front of the API, and the origin its preflights allow.
                "MAX_REQUEST_BODY_BYTES": str(config.api_max_request_body_kb * 1024),
                "CORS_ALLOW_ORIGIN": self._cors.allow_origin,
                **(secrets.environment if config.secrets else {}),
            },
            config=FunctionConfig(
                namer=self._namer,
                region=self._region,
                source_dir=source_dir,
                **config.settings_for("function"),
            ),
        )
        self._table.grant_read_write_items(function)
        self.key.grant_use_through(function, services=("dynamodb",), sid="UseTheKeyThroughTheTable")
        if config.secrets:
            secrets.grant_read(function)
            self.key.grant_use_through(function, services=("secretsmanager",), sid="UseTheKeyThroughSecrets")
        return function

    def _change_feed(self) -> ChangeFeed:
        """This region's writes, from its copy's stream to its bus."""
        return ChangeFeed(
            self,
            "changes",
            provider=self._provider,
            account_id=self._account_id,
            stream_arn=self._table.stream_arn,
            bus_arn=self.bus.bus_arn,
            dead_letter_queue_arn=self.queue.dead_letter_queue_arn,
            kms_key_arn=self._key_arn,
            config=ChangeFeedConfig(
                namer=self._namer, region=self._region, source=self.event_source, environment=self._config.environment
            ),
        )

    def _worker(self, source_dir: Path) -> Function:
        """The work queue's consumer (its trigger brings the permission to consume)."""
        config = self._config
        return Function(
            self,
            "worker",
            provider=self._provider,
            account_id=self._account_id,
            subnet_ids=self.network.subnet_ids,
            security_group_id=self.network.security_group_id,
            kms_key_arn=self._key_arn,
            # The table's name, for work that reads it; using it takes a grant of its own.
            environment={
                **self._environment(),
                "EVENT_SOURCE": self.event_source,
                "TABLE_NAME": self._table.table_name,
            },
            config=FunctionConfig(
                namer=self._namer,
                region=self._region,
                component="worker",
                source_dir=source_dir,
                handler="worker.handler",
                **config.settings_for("worker"),
                queue_triggers=(
                    QueueTrigger(queue_arn=self.queue.queue_arn, max_concurrency=config.worker_max_concurrency),
                ),
            ),
        )

    def _shared_api_key_value(self) -> str:
        """The API key every region accepts, from this region's copy of the global stack's secret."""
        return aws.DataAwsSecretsmanagerSecretVersion(
            self, "api-key-value", provider=self._provider, secret_id=api_key_secret_name(self._namer)
        ).secret_string

    def _shared_user_pool_arn(self) -> str:
        """The global stack's user pool, from its SSM parameter in this region."""
        # insecure_value: the parameter is a plain String (an ARN); value is marked sensitive, which
        # would hide the authorizer's pool, and why its deployment changes, in every plan.
        return aws.DataAwsSsmParameter(
            self, "user-pool-arn", provider=self._provider, name=user_pool_parameter_name(self._namer)
        ).insecure_value

    def _api(self) -> Api:
        config = self._config
        function = self.function
        return Api(
            self,
            "api",
            provider=self._provider,
            function=FunctionTarget(
                function_name=function.deployed_function_name,
                alias_name=function.alias_name,
                alias_invoke_arn=function.alias_invoke_arn,
            ),
            kms_key_arn=self._key_arn,
            api_key_value=self._shared_api_key_value() if config.api_auth == "api_key" else None,
            user_pool_arn=self._shared_user_pool_arn() if config.api_auth == "cognito" else None,
            config=ApiConfig(
                namer=self._namer,
                region=self._region,
                stage_name=config.environment,
                cors=self._cors,
                **config.settings_for("api"),
            ),
        )

    def _domain(self) -> CustomDomain:
        config = self._config
        return CustomDomain(
            self,
            "domain",
            provider=self._provider,
            rest_api_id=self.api.rest_api_id,
            stage_name=self.api.deployed_stage_name,
            # The home region's stack owns the domain name's validation record, which every region's
            # certificate shares (the home region is never removed before the others). The others
            # do not reference it: their plans never read the home region.
            owns_shared_validation=self._region == config.home,
            config=CustomDomainConfig(
                namer=self._namer,
                region=self._region,
                **config.settings_for("domain"),
            ),
        )

    def _origin_secret(self) -> str:
        """The value the distribution sends (``cdn_enabled``), from this region's copy of the global
        stack's secret."""
        return aws.DataAwsSecretsmanagerSecretVersion(
            self, "origin-secret-value", provider=self._provider, secret_id=origin_secret_name(self._namer)
        ).secret_string

    def _waf(self) -> WebApplicationFirewall:
        config = self._config
        return WebApplicationFirewall(
            self,
            "waf",
            provider=self._provider,
            stage_arn=self.api.stage_arn,
            origin_secret=self._origin_secret() if config.cdn_enabled else None,
            kms_key_arn=self._key_arn,
            config=WafConfig(
                namer=self._namer,
                region=self._region,
                blocked_response_headers=self._cors.response_headers(),
                **config.settings_for("waf"),
            ),
        )

    def _storage(self) -> Storage:
        return Storage(
            self,
            "storage",
            provider=self._provider,
            account_id=self._account_id,
            kms_key_arn=self._key_arn,
            config=StorageConfig(
                namer=self._namer,
                region=self._region,
                **self._config.settings_for("storage"),
            ),
        )

    def _canary(self) -> Canary:
        """The public API called from outside, on a schedule; its alarm on the region's topic."""
        config = self._config
        return Canary(
            self,
            "canary",
            provider=self._provider,
            account_id=self._account_id,
            kms_key_arn=self._key_arn,
            api_url=self.api.invoke_url,
            api_key_secret_name=api_key_secret_name(self._namer) if config.api_auth == "api_key" else None,
            origin_secret_name=origin_secret_name(self._namer) if config.cdn_enabled else None,
            topic_arn=self.monitoring.topic_arn,
            config=CanaryConfig(namer=self._namer, region=self._region, **config.settings_for("canary")),
        )

    def _outside_watch(self, watched_region: str, domain_name: str) -> Canary:
        """Another region's API called by its own name from here: its outage, which nothing in it
        can report, on this region's topic. A name by rule, not a reference: the stacks stay apart."""
        config = self._config
        watched_url = f"https://{CustomDomainConfig.regional_name(watched_region, domain_name)}/api"
        return Canary(
            self,
            "outside-watch",
            provider=self._provider,
            account_id=self._account_id,
            kms_key_arn=self._key_arn,
            api_url=watched_url,
            api_key_secret_name=None,
            topic_arn=self.monitoring.topic_arn,
            config=CanaryConfig(
                namer=self._namer,
                region=self._region,
                watched_region=watched_region,
                **config.settings_for("watch"),
            ),
        )

    def _tracing(self) -> Tracing:
        api = self.api
        return Tracing(
            self,
            "tracing",
            provider=self._provider,
            service_names=(
                self.function.function_name,
                self.worker.function_name,
                f"{api.api_name}/{api.stage_name}",
            ),
            config=TracingConfig(namer=self._namer, region=self._region, **self._config.settings_for("tracing")),
        )

    def _rollout(self) -> GradualRollout:
        """CodeDeploy moves each function's alias: the API function's deployments roll back on its
        errors and the API's 5XX rate, the worker's on its errors and its failed messages."""
        monitoring = self.monitoring
        watched = (
            ("fn", self.function, ("fn-errors", "api-5xx")),
            ("worker", self.worker, ("worker-errors", "worker-failures")),
        )
        return GradualRollout(
            self,
            "rollout",
            provider=self._provider,
            account_id=self._account_id,
            targets=[
                RolloutTarget(
                    component=component,
                    function_name=function.deployed_function_name,
                    function_arn=function.function_arn,
                    alias_name=function.alias_name,
                    version=function.version,
                    alarms=tuple(monitoring.alarm(what) for what in alarms),
                )
                for component, function, alarms in watched
            ],
            config=GradualRolloutConfig(
                namer=self._namer, region=self._region, deployment_strategy=self._config.deployment_strategy
            ),
        )

    def _monitoring(self) -> Monitoring:
        config = self._config
        return Monitoring(
            self,
            "monitoring",
            provider=self._provider,
            function_name=self.function.deployed_function_name,
            api_name=self.api.deployed_api_name,
            stage_name=self.api.deployed_stage_name,
            kms_key_arn=self._key_arn,
            async_watch=AsyncWatch(
                queue_name=self.queue.deployed_queue_name,
                dead_letter_queue_name=self.queue.deployed_dead_letter_queue_name,
                worker_function_name=self.worker.deployed_function_name,
            ),
            watched=Watched(
                table_name=self._table.table_name,
                other_regions=tuple(r for r in config.regions if r != self._region),
                web_acl_name=self._web_acl_name,
                certificate_arn=self.domain.certificate_arn if self.domain else None,
                access_log_group_name=self.api.access_log_group_name,
            ),
            config=MonitoringConfig(
                namer=self._namer,
                region=self._region,
                **config.settings_for("monitoring"),
            ),
        )
