#!/usr/bin/env python3
"""A production-shaped app built from the building blocks: an orders API in two environments
(staging and prod, one stack each), each in two regions, with remote state in S3.

Per environment and region (each region through its own aliased provider): a KMS key, the
region's copy of one global orders table, a private network, a work queue with its dead-letter
queue, the orders API (a Node.js function that puts each order on the queue) behind a REST API with
API keys, a WAF web ACL and a custom domain routed by latency, the queue's worker (a Node.js
function that stores the orders in the table) and alarms. A bootstrap stack creates what the
environments need once per account: the state bucket and API Gateway's logging role.

``python main.py`` (or ``npx cdktf synth``) writes the Terraform JSON into ``cdktf.out/`` next to
this file (``CDKTF_OUTDIR`` names another directory, as the cdktf CLI does). See README.md.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
# The examples live in the repository and use its constructs_lib as they find it in the working
# tree (the project is not an installed package): put the repository root on the import path,
# whichever directory this runs from.
REPO_ROOT = HERE.parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

# CDK names come from the project's seam (constructs_lib.cdk), never from cdktf itself: it picks
# the engine (cdktf or CDK Terrain, IAC_ENGINE) and loads the provider bindings lazily.
from constructs_lib.blocks.api import Api, ApiConfig, Cors, FunctionTarget
from constructs_lib.blocks.domain import CustomDomain, CustomDomainConfig
from constructs_lib.blocks.function import Function, FunctionConfig, QueueTrigger
from constructs_lib.blocks.kms import EncryptionKey, KeyConfig
from constructs_lib.blocks.monitoring import Monitoring, MonitoringConfig
from constructs_lib.blocks.naming import Namer
from constructs_lib.blocks.network import Network, NetworkConfig
from constructs_lib.blocks.queue import Queue, QueueConfig
from constructs_lib.blocks.routing import LatencyRouting, RoutingConfig
from constructs_lib.blocks.table import GlobalTable, TableConfig
from constructs_lib.blocks.waf import WafConfig, WebApplicationFirewall
from constructs_lib.cdk import aws
from constructs_lib.cdk.core import App, Construct, TerraformOutput, TerraformStack
from constructs_lib.settings.config import StateLocation
from constructs_lib.stacks.bootstrap import BootstrapConfig, BootstrapStack, StateBucket
from constructs_lib.stacks.common import configure_backend, regional_provider

# The settings: change these (see README.md).
PROJECT = "shop"
# Remote state: the bucket the bootstrap stack creates (deploy it first), in this region; each
# environment's state is {PROJECT}/{environment}/terraform.tfstate in it, locked with S3's lock file.
STATE_BUCKET = "shop-tfstate-123456789012"
STATE_REGION = "eu-west-1"
FUNCTIONS = HERE / "functions"
WORKER_TIMEOUT_SECONDS = 30


@dataclass(frozen=True, kw_only=True)
class Environment:
    """One environment: its stack is ``{PROJECT}-{name}``.

    regions: where it runs, the home region first (the table, the API key and the certificates'
        shared validation record are made there; the other regions take them).
    vpc_cidrs: each region's VPC block (/16 to /24).
    domain_name, hosted_zone_id: the one address of the API, in a public Route 53 hosted zone;
        ``{region}.{domain_name}`` reaches one region.
    alarm_email: who the alarms e-mail (the address must confirm), or ``None``.
    protect_data: the table's deletion protection.
    log_retention_days: of every log group.
    """

    name: str
    regions: tuple[str, ...]
    vpc_cidrs: Mapping[str, str]
    domain_name: str
    hosted_zone_id: str
    alarm_email: str | None = None
    protect_data: bool = True
    log_retention_days: int = 365

    @property
    def home_region(self) -> str:
        return self.regions[0]


ENVIRONMENTS = (
    Environment(
        name="staging",
        regions=("eu-west-1", "eu-central-1"),
        vpc_cidrs={"eu-west-1": "10.20.0.0/22", "eu-central-1": "10.21.0.0/22"},
        domain_name="api.staging.shop.example.com",
        hosted_zone_id="Z0123456789ABCDEFGHIJ",
        protect_data=False,
        log_retention_days=30,
    ),
    Environment(
        name="prod",
        regions=("eu-west-1", "us-east-1"),
        vpc_cidrs={"eu-west-1": "10.30.0.0/22", "us-east-1": "10.31.0.0/22"},
        domain_name="api.shop.example.com",
        hosted_zone_id="Z0123456789ABCDEFGHIJ",
        alarm_email="oncall@shop.example.com",
    ),
)


class OrdersRegion(Construct):
    """One region of an environment; its construct id is the region, so every address in it starts
    with the region's name. ``home``: the home region's, for every other region (``None`` for the
    home region itself, which is built first)."""

    def __init__(
        self,
        scope: Construct,
        region: str,
        *,
        env: Environment,
        provider: aws.AwsProvider,
        table: GlobalTable,
        home: OrdersRegion | None,
    ) -> None:
        super().__init__(scope, region)
        self.region, self.env, self.provider = region, env, provider
        self.namer = Namer(PROJECT, env.name)
        self.account_id = aws.DataAwsCallerIdentity(self, "caller-identity", provider=provider).account_id
        self.key = EncryptionKey(
            self,
            "key",
            provider=provider,
            account_id=self.account_id,
            config=KeyConfig(namer=self.namer, region=region, uses="logs, table, queues, topic and function settings"),
        )
        table.add_copy(region, provider=provider, kms_key_arn=self.key.key_arn)
        self.cors = Cors()
        self.network = self._network()
        self.queue = Queue(
            self,
            "queue",
            provider=provider,
            kms_key_arn=self.key.key_arn,
            config=QueueConfig(
                namer=self.namer, region=region, component="orders", consumer_timeout_seconds=WORKER_TIMEOUT_SECONDS
            ),
        )
        self.api_function = self._api_function()
        self.worker = self._worker(table)
        self.api = self._api(home)
        self.domain = self._domain(home)
        self._waf()
        self._alarms()

    def _network(self) -> Network:
        """Private subnets without internet access: the API function reaches SQS through an
        interface endpoint, the worker DynamoDB through the (free) gateway endpoint."""
        return Network(
            self,
            "network",
            provider=self.provider,
            account_id=self.account_id,
            kms_key_arn=self.key.key_arn,
            config=NetworkConfig(
                namer=self.namer,
                region=self.region,
                cidr_block=self.env.vpc_cidrs[self.region],
                flow_log_retention_days=self.env.log_retention_days,
                interface_endpoints=("sqs",),
                gateway_egress=("dynamodb",),
            ),
        )

    def _function(
        self,
        component: str,
        *,
        source: str,
        environment: Mapping[str, str],
        memory_mb: int = 128,
        timeout_seconds: int = 30,
        queue_triggers: tuple[QueueTrigger, ...] = (),
    ) -> Function:
        """A Node.js function of ``functions/<source>/index.js`` in the region's network; its
        construct id is its ``component`` (``{PROJECT}-{component}-{region}-{environment}``)."""
        return Function(
            self,
            component,
            provider=self.provider,
            account_id=self.account_id,
            subnet_ids=self.network.subnet_ids,
            security_group_id=self.network.security_group_id,
            kms_key_arn=self.key.key_arn,
            environment={"REGION": self.region, "ENVIRONMENT": self.env.name, **environment},
            config=FunctionConfig(
                namer=self.namer,
                region=self.region,
                component=component,
                source_dir=FUNCTIONS / source,
                runtime="nodejs22.x",
                handler="index.handler",
                memory_mb=memory_mb,
                timeout_seconds=timeout_seconds,
                log_retention_days=self.env.log_retention_days,
                queue_triggers=queue_triggers,
            ),
        )

    def _api_function(self) -> Function:
        """The orders API: sends to this region's queue only (an explicit statement), and uses the
        key only as SQS does on its behalf (a grant of the key)."""
        function = self._function(
            "orders-api",
            source="orders_api",
            # A reference: the function waits for the queue it names.
            environment={"QUEUE_URL": self.queue.queue_url, "CORS_ALLOW_ORIGIN": self.cors.allow_origin},
            memory_mb=256,
            timeout_seconds=10,
        )
        self.queue.grant_send_messages(function, sid="SendOrdersToTheQueue")
        self.key.grant_use_through(function, services=("sqs",), sid="EncryptOrdersThroughSqs")
        return function

    def _worker(self, table: GlobalTable) -> Function:
        """The queue's consumer (the trigger brings the right to receive): item reads and writes on
        this region's copy of the table, and the key as DynamoDB uses it."""
        worker = self._function(
            "orders-worker",
            source="orders_worker",
            environment={"TABLE_NAME": table.deployed_table_name},
            timeout_seconds=WORKER_TIMEOUT_SECONDS,
            queue_triggers=(
                QueueTrigger(
                    queue_arn=self.queue.queue_arn, batch_size=10, max_batching_window_seconds=1, max_concurrency=5
                ),
            ),
        )
        table.grant_read_write_items(worker, self.region)
        self.key.grant_use_through(worker, services=("dynamodb",), sid="UseTheKeyThroughTheTable")
        return worker

    def _api(self, home: OrdersRegion | None) -> Api:
        """API keys: the home region's key is accepted in every region (one key per caller)."""
        function = self.api_function
        return Api(
            self,
            "api",
            provider=self.provider,
            function=FunctionTarget(
                function_name=function.deployed_function_name,
                alias_name=function.alias_name,
                alias_invoke_arn=function.alias_invoke_arn,
            ),
            kms_key_arn=self.key.key_arn,
            api_key_value=home.api.api_key_value if home else None,
            config=ApiConfig(
                namer=self.namer,
                region=self.region,
                stage_name=self.env.name,
                auth="api_key",
                throttle_rate_per_second=50,
                throttle_burst_requests=100,
                log_retention_days=self.env.log_retention_days,
                cors=self.cors,
            ),
        )

    def _domain(self, home: OrdersRegion | None) -> CustomDomain:
        return CustomDomain(
            self,
            "domain",
            provider=self.provider,
            rest_api_id=self.api.rest_api_id,
            stage_name=self.api.deployed_stage_name,
            # The home region owns the validation record every region's certificate shares.
            owns_shared_validation=home is None,
            shared_validation_fqdn=home.domain.validation_fqdn if home else None,
            config=CustomDomainConfig(
                namer=self.namer,
                region=self.region,
                domain_name=self.env.domain_name,
                hosted_zone_id=self.env.hosted_zone_id,
            ),
        )

    def _waf(self) -> WebApplicationFirewall:
        return WebApplicationFirewall(
            self,
            "waf",
            provider=self.provider,
            stage_arn=self.api.stage_arn,
            kms_key_arn=self.key.key_arn,
            config=WafConfig(
                namer=self.namer,
                region=self.region,
                rate_limit_per_5_minutes=1000,
                log_retention_days=self.env.log_retention_days,
                # Orders are small: WAF answers larger bodies with 413 before they reach the function.
                max_request_body_kb=16,
                blocked_response_headers=self.cors.response_headers(),
            ),
        )

    def _alarms(self) -> None:
        """The API's and its function's alarms (the Monitoring block), and one of this app's own, a
        plain provider resource on the same topic: any order in the dead-letter queue."""
        monitoring = Monitoring(
            self,
            "monitoring",
            provider=self.provider,
            function_name=self.api_function.deployed_function_name,
            api_name=self.api.deployed_api_name,
            stage_name=self.api.deployed_stage_name,
            kms_key_arn=self.key.key_arn,
            config=MonitoringConfig(namer=self.namer, region=self.region, alarm_email=self.env.alarm_email),
        )
        aws.CloudwatchMetricAlarm(
            self,
            "dead-letter-alarm",
            provider=self.provider,
            alarm_name=self.namer.name("orders-dlq", self.region, kind="cloudwatch_alarm"),
            alarm_description="Orders the worker could not store: inspect them, then redrive the dead-letter queue",
            namespace="AWS/SQS",
            metric_name="ApproximateNumberOfMessagesVisible",
            dimensions={"QueueName": self.queue.deployed_dead_letter_queue_name},
            statistic="Maximum",
            period=60,
            evaluation_periods=1,
            threshold=0,
            comparison_operator="GreaterThanThreshold",
            treat_missing_data="notBreaching",
            alarm_actions=[monitoring.topic_arn],
            ok_actions=[monitoring.topic_arn],
        )


class OrdersStack(TerraformStack):
    """One environment: its regions side by side, the global table, S3 state, outputs."""

    def __init__(self, scope: Construct, env: Environment) -> None:
        stack_name = f"{PROJECT}-{env.name}"
        super().__init__(scope, stack_name)
        configure_backend(
            self,
            stack_name=stack_name,
            state=StateLocation(
                bucket=STATE_BUCKET, key=f"{PROJECT}/{env.name}/terraform.tfstate", region=STATE_REGION
            ),
        )
        tags = {"Project": PROJECT, "Environment": env.name, "ManagedBy": "cdktf"}
        table = GlobalTable(
            self,
            "table",
            config=TableConfig(
                namer=Namer(PROJECT, env.name),
                home_region=env.home_region,
                replica_regions=env.regions[1:],
                deletion_protection=env.protect_data,
            ),
        )
        regions: dict[str, OrdersRegion] = {}
        for region in env.regions:  # the home region first: the others take its key and record
            provider = regional_provider(self, region, tags)
            home = regions.get(env.home_region)
            regions[region] = OrdersRegion(self, region, env=env, provider=provider, table=table, home=home)
        # The one name, to the region of lowest latency among the healthy ones (Route 53 is
        # global: the home region's provider creates it); each record waits for its target.
        LatencyRouting(
            self,
            "routing",
            provider=regions[env.home_region].provider,
            config=RoutingConfig(
                namer=Namer(PROJECT, env.name),
                regions=env.regions,
                domain_name=env.domain_name,
                hosted_zone_id=env.hosted_zone_id,
            ),
            serves_after=[r.domain.target_record for r in regions.values()],
        )
        self._outputs(env, regions, table)

    def _outputs(self, env: Environment, regions: Mapping[str, OrdersRegion], table: GlobalTable) -> None:
        home = regions[env.home_region]
        TerraformOutput(
            self, "api_url", value=home.domain.url, description="The one address: the nearest healthy region answers"
        )
        TerraformOutput(
            self,
            "regional_api_urls",
            value={region: r.domain.regional_url for region, r in regions.items()},
            description="Each region's own address, keyed by region",
        )
        TerraformOutput(
            self,
            "queue_urls",
            value={region: r.queue.queue_url for region, r in regions.items()},
            description="Each region's orders queue, keyed by region",
        )
        TerraformOutput(
            self,
            "api_key",
            value=str(home.api.api_key_value),
            sensitive=True,
            description="The API key every region accepts (send it as x-api-key)",
        )
        TerraformOutput(self, "table_name", value=table.deployed_table_name, description="The global orders table")


def build_app(outdir: str) -> App:
    """The app: the bootstrap stack and one stack per environment; nothing is written until
    ``synth()``."""
    app = App(outdir=outdir)
    all_regions = tuple(dict.fromkeys(region for env in ENVIRONMENTS for region in env.regions))
    BootstrapStack(
        app,
        BootstrapConfig(
            project_name=PROJECT,
            regions=all_regions,
            state_region=STATE_REGION,
            state_buckets=(StateBucket(name=STATE_BUCKET, region=STATE_REGION),),
        ),
    )
    for env in ENVIRONMENTS:
        OrdersStack(app, env)
    return app


def main() -> int:
    outdir = os.environ.get("CDKTF_OUTDIR") or str(HERE / "cdktf.out")
    build_app(outdir).synth()
    stacks = ", ".join([f"{PROJECT}-bootstrap", *(f"{PROJECT}-{env.name}" for env in ENVIRONMENTS)])
    print(f"{stacks}: synthesized into {outdir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
