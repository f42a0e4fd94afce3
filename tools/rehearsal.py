"""One environment's deployment rehearsed on this machine, built from its synth: no AWS (``make rehearse``).

The synthesized stacks say what to build, and the rehearsal builds it locally, resource by resource,
with the names, patterns, templates and settings the synth gives (a reference between resources is
resolved to the local resource it names):

* **moto in server mode** (one loopback port, every region): the items table's copies with their
  streams, the event bus, its rule and its target (moto delivers matching events to the queue
  itself), the work queue with its redrive policy (moto moves a message to the dead-letter queue
  after ``maxReceiveCount`` receives) and the dead-letter queue, the functions' log groups.
* **What moto stores but does not run**, emulated here by threads that say what they stand for:
  ``GlobalTableReplication`` (DynamoDB global tables: each copy's writes, read from its stream,
  applied to the other copies), ``PipeRunner`` (an EventBridge Pipe: the stream's records that match
  its filter, rendered through its input template, put on its bus; a refused one goes to its
  dead-letter queue) and ``QueueTrigger`` (Lambda's SQS event source mapping: batches of the queue
  handed to the worker function of ``lambda_src/``, what it reports failed left on the queue, what
  it prints shipped to its log group).
* **One local API per region**, ``tools/serve.py``: the API function behind a local API Gateway, with
  the function's environment from the synth (its ``TABLE_NAME`` the local copy).

Times are shorter than deployed: the work queue's visibility timeout is ``visibility_timeout``
seconds (the synth's is six times the worker's timeout), so a failed message comes back, and reaches
the dead-letter queue, within seconds.

``outputs_document()`` is what ``cdktf deploy --outputs-file`` would have written: each stack's
outputs whose values reference resources the rehearsal runs (the API URLs, the key, the queues, the
table, ...), resolved to the local ones; the others (VPCs, buckets, the one address) are left out.
"""

from __future__ import annotations

import contextlib
import io
import json
import re
import sys
import threading
import time
import traceback
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from constructs_lib.settings import StackConfig  # noqa: E402
from tools.function_loader import LAMBDA_DIR, call_with_environment, load_function  # noqa: E402
from tools.serve import ACCOUNT_ID, LambdaContext  # noqa: E402

CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
FAULTS = ("unhealthy", "worker", "replication")
WRONG_SOURCE = "rehearsal.not-the-source"  # the worker fault: it expects events of another source
_REFERENCE = re.compile(r"\$\{((?:data\.)?[a-z0-9_]+\.[A-Za-z0-9_-]+)\.([a-z_]+)\}")
_PLACEHOLDER = re.compile(r"<([^<>]*)>")
_INGESTION_TIME = "aws.pipes.event.ingestion-time"


class RehearsalError(Exception):
    """The synth asks for something the rehearsal cannot build: one line, exit code 2."""


class Unresolved(LookupError):
    """A reference to a resource the rehearsal does not run."""


# ---- local AWS -----------------------------------------------------------------------------------


class LocalAws:
    """moto in server mode on a free loopback port; ``clients(service, region)`` talk to it."""

    def __init__(self) -> None:
        import logging

        from moto.server import ThreadedMotoServer

        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's server would log every call
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self._server.start()
        host, port = self._server.get_host_and_port()
        self.endpoint = f"http://{host}:{port}"
        self._clients: dict[tuple[str, str], Any] = {}
        self._lock = threading.Lock()

    @property
    def environ(self) -> dict[str, str]:
        """What a process (or a function) needs to talk to this moto and nothing else."""
        return {**CREDENTIALS, "AWS_ENDPOINT_URL": self.endpoint}

    def client(self, service: str, region: str) -> Any:
        with self._lock:
            made = self._clients.get((service, region))
            if made is None:
                import boto3

                session = boto3.session.Session(**{k.lower(): v for k, v in CREDENTIALS.items()}, region_name=region)
                made = self._clients[(service, region)] = session.client(service, endpoint_url=self.endpoint)
            return made

    def stop(self) -> None:
        self._server.stop()


# ---- the synth -----------------------------------------------------------------------------------


def read_stacks(outdir: Path, config: StackConfig) -> dict[str, dict[str, Any]]:
    """The environment's synthesized stacks by name, from the synth's manifest."""
    try:
        manifest = json.loads((outdir / "manifest.json").read_text(encoding="utf-8"))["stacks"]
        return {
            name: json.loads((outdir / manifest[name]["synthesizedStackPath"]).read_text(encoding="utf-8"))
            for name in config.stack_names
        }
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise RehearsalError(f"{outdir} is not a synth of {config.environment}'s stacks ({error})") from None


def resources(stack: Mapping[str, Any], kind: str, block: str = "resource") -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = stack.get(block, {}).get(kind, {})
    return found


class Resolver:
    """The local values of the synth's references: ``${type.address.attribute}`` -> a value."""

    def __init__(self) -> None:
        self.values: dict[str, dict[str, str]] = {}

    def set(self, kind: str, address: str, **attributes: str) -> None:
        self.values.setdefault(f"{kind}.{address}", {}).update(attributes)

    def resolve(self, value: Any) -> Any:
        """``value`` with every reference replaced; Unresolved when one names what is not local."""
        if isinstance(value, dict):
            return {key: self.resolve(item) for key, item in value.items()}
        if isinstance(value, list):
            return [self.resolve(item) for item in value]
        if not isinstance(value, str):
            return value

        def local(match: re.Match[str]) -> str:
            found = self.values.get(match.group(1), {}).get(match.group(2))
            if found is None:
                raise Unresolved(match.group(0))
            return found

        return _REFERENCE.sub(local, value)

    def resolve_or_none(self, value: Any) -> Any:
        try:
            return self.resolve(value)
        except Unresolved:
            return None


# ---- the emulated services -------------------------------------------------------------------


class StreamReader:
    """A DynamoDB stream's new records, shard by shard (moto keeps one shard per table)."""

    def __init__(self, aws: LocalAws, region: str, stream_arn: str) -> None:
        self._streams = aws.client("dynamodbstreams", region)
        shards = self._streams.describe_stream(StreamArn=stream_arn)["StreamDescription"]["Shards"]
        self._iterators = [
            self._streams.get_shard_iterator(
                StreamArn=stream_arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
            )["ShardIterator"]
            for shard in shards
        ]

    def read(self) -> list[dict[str, Any]]:
        """The records since the last read, as a pipe sees them (times in epoch seconds, as JSON has them)."""
        records: list[dict[str, Any]] = []
        for index, iterator in enumerate(self._iterators):
            answer = self._streams.get_records(ShardIterator=iterator)
            records += [json.loads(json.dumps(record, default=_epoch)) for record in answer["Records"]]
            self._iterators[index] = answer.get("NextShardIterator") or iterator
        return records


def _epoch(value: Any) -> Any:
    if isinstance(value, datetime):
        return int(value.timestamp())
    raise TypeError(f"{type(value).__name__} is not JSON")


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


class GlobalTableReplication:
    """Stands for DynamoDB global tables: a write to one copy, read from its stream, is applied to
    every other copy. The copy that receives a replicated write streams it too; that echo is
    recognised (the same key and image in that region) and not replicated again."""

    def __init__(self, aws: LocalAws, table: str, streams: Mapping[str, StreamReader]) -> None:
        self._aws, self._table, self._streams = aws, table, streams
        self._echoes: Counter[tuple[str, str, str]] = Counter()

    def apply(self, region: str, records: Sequence[dict[str, Any]]) -> None:
        for record in records:
            change = record["dynamodb"]
            keys, image = change["Keys"], change.get("NewImage")
            signature = (_canonical(keys), _canonical(image))
            if self._echoes[(region, *signature)]:
                self._echoes[(region, *signature)] -= 1
                continue
            for other in self._streams:
                if other == region:
                    continue
                self._echoes[(other, *signature)] += 1
                dynamodb = self._aws.client("dynamodb", other)
                if image is not None:
                    dynamodb.put_item(TableName=self._table, Item=image)
                else:
                    dynamodb.delete_item(TableName=self._table, Key=keys)


@dataclass(frozen=True)
class Pipe:
    """An EventBridge Pipe from a table's stream to a bus, as the synth defines it."""

    name: str
    filters: tuple[str, ...]  # event patterns: a record passes when it matches one
    template: str
    bus_name: str
    source: str
    detail_type: str
    dead_letter_queue_url: str | None


class PipeRunner:
    """Stands for EventBridge Pipes: the stream's records that match a pipe's filter, rendered
    through its input template and put on its bus as its source and detail type; an entry the bus
    refuses goes to the pipe's dead-letter queue."""

    def __init__(self, aws: LocalAws, region: str, pipes: Sequence[Pipe]) -> None:
        from moto.events.models import EventPattern

        self._aws, self._region, self._pipes = aws, region, pipes
        self._filters = {pipe.name: [EventPattern.load(f) for f in pipe.filters] for pipe in pipes}

    def apply(self, records: Sequence[dict[str, Any]]) -> None:
        for pipe in self._pipes:
            for record in records:
                if any(pattern.matches_event(record) for pattern in self._filters[pipe.name]):  # type: ignore[arg-type]
                    self._put(pipe, record)

    def _put(self, pipe: Pipe, record: dict[str, Any]) -> None:
        detail = render(pipe.template, record, datetime.now(UTC))
        entry = {"Source": pipe.source, "DetailType": pipe.detail_type, "Detail": detail, "EventBusName": pipe.bus_name}
        answer = self._aws.client("events", self._region).put_events(Entries=[entry])
        if answer.get("FailedEntryCount") and pipe.dead_letter_queue_url:
            self._aws.client("sqs", self._region).send_message(
                QueueUrl=pipe.dead_letter_queue_url, MessageBody=_canonical(record)
            )


def render(template: str, record: Mapping[str, Any], now: datetime) -> str:
    """A Pipes input template for one record: ``<$.a.b>`` is the record's value at that path (as a
    string inside quotes, as JSON outside them), ``<aws.pipes.event.ingestion-time>`` the time now."""

    def value(match: re.Match[str]) -> str:
        path = match.group(1)
        found: Any
        if path == _INGESTION_TIME:
            found = now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"
        else:
            found = record
            for key in path[2:].split("."):
                found = found.get(key) if isinstance(found, dict) else None
        quoted = match.string[match.start() - 1 : match.start()] == '"' == match.string[match.end() : match.end() + 1]
        return json.dumps(found)[1:-1] if quoted and isinstance(found, str) else json.dumps(found)

    return _PLACEHOLDER.sub(value, template)


def check_template(name: str, template: str) -> None:
    for placeholder in _PLACEHOLDER.findall(template):
        if placeholder != _INGESTION_TIME and not re.fullmatch(r"\$(\.[A-Za-z0-9_-]+)+", placeholder):
            raise RehearsalError(f"pipe {name}: the rehearsal cannot render the placeholder <{placeholder}>")


@dataclass
class Function:
    """A Lambda function of the synth: its name, entry point and environment (references resolved)."""

    name: str
    handler: str  # "module.function" in lambda_src/
    environment: dict[str, str]
    log_group: str | None
    timeout_seconds: float = 30.0
    region: str = ""
    shipped: list[str] = field(default_factory=list)  # what it printed, for --verbose


class QueueTrigger:
    """Stands for Lambda's SQS event source mapping: a batch of the queue's messages as an SQS event
    to the function; the messages it does not report failed are deleted, the others come back after
    the visibility timeout (and, past ``maxReceiveCount``, moto moves them to the dead-letter queue).
    What the function prints goes to its log group, one event per line, as Lambda ships it."""

    def __init__(
        self, aws: LocalAws, function: Function, queue_url: str, queue_arn: str, batch_size: int, report_failures: bool
    ) -> None:
        self._aws, self._function, self._queue_url, self._queue_arn = aws, function, queue_url, queue_arn
        self._batch_size, self._report_failures = min(batch_size, 10), report_failures
        module_name, _, self._entry = function.handler.rpartition(".")
        path = LAMBDA_DIR / f"{module_name}.py"
        self._module = load_function(path, f"rehearsal_{module_name}_{function.region.replace('-', '_')}").module
        self._stream = f"{time.strftime('%Y/%m/%d')}/[$LATEST]{uuid.uuid4().hex}"
        if function.log_group:
            aws.client("logs", function.region).create_log_stream(
                logGroupName=function.log_group, logStreamName=self._stream
            )

    def poll(self) -> bool:
        """Hand one batch to the function; False when the queue had nothing."""
        sqs = self._aws.client("sqs", self._function.region)
        messages = sqs.receive_message(
            QueueUrl=self._queue_url,
            MaxNumberOfMessages=self._batch_size,
            WaitTimeSeconds=0,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        ).get("Messages", [])
        if not messages:
            return False
        failed = self._invoke({"Records": [self._record(m) for m in messages]}, [m["MessageId"] for m in messages])
        done = [m for m in messages if m["MessageId"] not in failed]
        if done:
            sqs.delete_message_batch(
                QueueUrl=self._queue_url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(done)],
            )
        return True

    def _record(self, message: Mapping[str, Any]) -> dict[str, Any]:
        return {
            "messageId": message["MessageId"],
            "receiptHandle": message["ReceiptHandle"],
            "body": message["Body"],
            "attributes": message.get("Attributes", {}),
            "messageAttributes": message.get("MessageAttributes", {}),
            "md5OfBody": message.get("MD5OfBody"),
            "eventSource": "aws:sqs",
            "eventSourceARN": self._queue_arn,
            "awsRegion": self._function.region,
        }

    def _invoke(self, event: dict[str, Any], message_ids: list[str]) -> set[str]:
        """The function's answer to one batch: the ids to leave on the queue."""
        function, printed = self._function, io.StringIO()

        def call() -> Any:
            context = LambdaContext(function.name, function.region, function.timeout_seconds)
            with contextlib.redirect_stdout(printed):
                return getattr(self._module, self._entry)(event, context)

        try:
            answer = call_with_environment(function.environment, call)
            failures = answer.get("batchItemFailures", []) if isinstance(answer, dict) else []
            failed = {str(f.get("itemIdentifier")) for f in failures if isinstance(f, dict)}
            if failed and not self._report_failures:
                failed = set(message_ids)
        except Exception:
            printed.write(traceback.format_exc())
            failed = set(message_ids)
        self._ship(printed.getvalue().splitlines())
        return failed

    def _ship(self, lines: list[str]) -> None:
        lines = [line for line in lines if line.strip()]
        self._function.shipped.extend(lines)
        if lines and self._function.log_group:
            now = int(time.time() * 1000)
            self._aws.client("logs", self._function.region).put_log_events(
                logGroupName=self._function.log_group,
                logStreamName=self._stream,
                logEvents=[{"timestamp": now, "message": line} for line in lines],
            )


class Engine:
    """One thread that keeps the emulated services going: each tick reads every copy's stream once
    (for the replication and the pipes alike) and gives each queue trigger a batch; it ticks faster
    while there is work."""

    IDLE, BUSY = 0.2, 0.02

    def __init__(self, streams: Mapping[str, StreamReader], log: Callable[[str], None]) -> None:
        self.streams = streams
        self.replication: GlobalTableReplication | None = None
        self.pipes: dict[str, PipeRunner] = {}
        self.triggers: list[QueueTrigger] = []
        self._log = log
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rehearsal-engine", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)

    def _run(self) -> None:
        interval, said = self.BUSY, ""
        while not self._stop.wait(interval):
            try:
                busy = self.tick()
            except Exception:  # a failing tick is said (once while it repeats), and the next one tries again
                failure = traceback.format_exc().rstrip()
                if failure != said:
                    self._log("rehearsal engine: " + failure)
                said, busy = failure, False
            interval = self.BUSY if busy else min(self.IDLE, interval * 2)

    def tick(self) -> bool:
        busy = False
        for region, stream in self.streams.items():
            records = stream.read()
            if records:
                busy = True
                if self.replication is not None:
                    self.replication.apply(region, records)
                if region in self.pipes:
                    self.pipes[region].apply(records)
        for trigger in self.triggers:
            busy = trigger.poll() or busy
        return busy


# ---- building it from the synth ---------------------------------------------------------------


@dataclass(frozen=True)
class Api:
    """What a region's local API needs: the function's environment, the stage, the key."""

    region: str
    stage: str
    project: str
    environment: dict[str, str]
    api_key: str | None = field(repr=False)


ApiLauncher = Callable[[Api], str]  # starts a region's API; its stage's URL (``.../<stage>``)


class Rehearsal:
    """A rehearsed environment: ``build`` makes it, ``stop`` ends everything it started."""

    def __init__(self, config: StackConfig, stacks: Mapping[str, dict[str, Any]], aws: LocalAws) -> None:
        self.config, self.stacks, self.aws = config, stacks, aws
        self.resolvers: dict[str, Resolver] = {name: Resolver() for name in stacks}
        self.functions: list[Function] = []
        self.engine: Engine | None = None

    @classmethod
    def build(
        cls,
        config: StackConfig,
        stacks: Mapping[str, dict[str, Any]],
        aws: LocalAws,
        launch: ApiLauncher,
        *,
        api_key: str | None,
        fault: str | None = None,
        visibility_timeout: int = 1,
        log: Callable[[str], None] = lambda line: print(line, file=sys.stderr),
    ) -> Rehearsal:
        if fault is not None and fault not in FAULTS:
            raise RehearsalError(f"fault {fault!r}: one of {', '.join(FAULTS)}")
        rehearsal = cls(config, stacks, aws)
        streams = rehearsal._tables()
        rehearsal.engine = Engine(streams, log)
        if fault != "replication":
            [table] = [
                str(t["name"]) for t in resources(stacks[config.global_stack_name], "aws_dynamodb_table").values()
            ]
            rehearsal.engine.replication = GlobalTableReplication(aws, table, streams)
        for region in config.regions:
            rehearsal._region(region, launch, api_key, fault, visibility_timeout)
        rehearsal.engine.start()
        return rehearsal

    def stop(self) -> None:
        if self.engine is not None:
            self.engine.stop()

    def _tables(self) -> dict[str, StreamReader]:
        """The global stack's table, a copy in each region (the home one and each replica's), each
        with its stream; the regional stacks' data sources resolve to their region's copy."""
        stack = self.stacks[self.config.global_stack_name]
        [(address, table)] = resources(stack, "aws_dynamodb_table").items()
        regions = [self.config.home] + [
            str(body["provider"]).removeprefix("aws.")
            for body in resources(stack, "aws_dynamodb_table_replica").values()
        ]
        streams = {}
        for region in regions:
            described = self.aws.client("dynamodb", region).create_table(
                TableName=table["name"],
                BillingMode="PAY_PER_REQUEST",
                AttributeDefinitions=[
                    {"AttributeName": a["name"], "AttributeType": a["type"]} for a in table["attribute"]
                ],
                KeySchema=[{"AttributeName": table["hash_key"], "KeyType": "HASH"}],
                StreamSpecification={"StreamEnabled": True, "StreamViewType": table["stream_view_type"]},
            )["TableDescription"]
            streams[region] = StreamReader(self.aws, region, described["LatestStreamArn"])
            copy = {"name": table["name"], "arn": described["TableArn"], "stream_arn": described["LatestStreamArn"]}
            if region == self.config.home:
                self.resolvers[self.config.global_stack_name].set("aws_dynamodb_table", address, **copy)
            regional = self.config.regional_stack_name(region)
            for data in resources(self.stacks[regional], "aws_dynamodb_table", "data"):
                self.resolvers[regional].set("data.aws_dynamodb_table", data, **copy)
        return streams

    def _region(
        self, region: str, launch: ApiLauncher, api_key: str | None, fault: str | None, visibility: int
    ) -> None:
        name = self.config.regional_stack_name(region)
        stack, resolver = self.stacks[name], self.resolvers[name]
        queues = self._queues(region, stack, resolver, visibility)
        self._events(region, stack, resolver)
        self._log_groups(region, stack, resolver)
        functions = self._functions(region, stack, resolver)
        assert self.engine is not None
        self.engine.pipes[region] = PipeRunner(self.aws, region, self._pipes(stack, resolver, queues))
        for trigger in self._triggers(stack, resolver, functions, queues, fault):
            self.engine.triggers.append(trigger)
        self._api(region, stack, resolver, functions, launch, api_key, fault)

    def _queues(self, region: str, stack: dict[str, Any], resolver: Resolver, visibility: int) -> dict[str, str]:
        """The queues, dead-letter queues first (a redrive policy names one); their ARN -> URL."""
        sqs, urls = self.aws.client("sqs", region), {}
        ordered = sorted(resources(stack, "aws_sqs_queue").items(), key=lambda item: "redrive_policy" in item[1])
        for address, queue in ordered:
            attributes = {"MessageRetentionPeriod": str(queue.get("message_retention_seconds", 345600))}
            if "redrive_policy" in queue:
                attributes["RedrivePolicy"] = resolver.resolve(queue["redrive_policy"])
                attributes["VisibilityTimeout"] = str(visibility)
            url = sqs.create_queue(QueueName=queue["name"], Attributes=attributes)["QueueUrl"]
            arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
            resolver.set("aws_sqs_queue", address, name=queue["name"], arn=arn, url=url, id=url)
            urls[arn] = url
        return urls

    def _events(self, region: str, stack: dict[str, Any], resolver: Resolver) -> None:
        """The bus, its rules and their targets, as the synth has them (moto delivers to SQS)."""
        events = self.aws.client("events", region)
        for address, bus in resources(stack, "aws_cloudwatch_event_bus").items():
            arn = events.create_event_bus(Name=bus["name"])["EventBusArn"]
            resolver.set("aws_cloudwatch_event_bus", address, name=bus["name"], arn=arn)
        for address, rule in resources(stack, "aws_cloudwatch_event_rule").items():
            bus_name = resolver.resolve(rule.get("event_bus_name", "default"))
            arn = events.put_rule(
                Name=rule["name"], EventBusName=bus_name, EventPattern=rule["event_pattern"], State=rule["state"]
            )["RuleArn"]
            resolver.set("aws_cloudwatch_event_rule", address, name=rule["name"], arn=arn)
        for target in resources(stack, "aws_cloudwatch_event_target").values():
            entry: dict[str, Any] = {"Id": target["target_id"], "Arn": resolver.resolve(target["arn"])}
            if "dead_letter_config" in target:
                entry["DeadLetterConfig"] = {"Arn": resolver.resolve(target["dead_letter_config"]["arn"])}
            events.put_targets(
                Rule=resolver.resolve(target["rule"]),
                EventBusName=resolver.resolve(target.get("event_bus_name", "default")),
                Targets=[entry],
            )

    def _log_groups(self, region: str, stack: dict[str, Any], resolver: Resolver) -> None:
        logs = self.aws.client("logs", region)
        for address, group in resources(stack, "aws_cloudwatch_log_group").items():
            name = resolver.resolve_or_none(group["name"])  # some name another resource (an API's id)
            if name is not None:
                logs.create_log_group(logGroupName=name)
                resolver.set("aws_cloudwatch_log_group", address, name=name)

    def _functions(self, region: str, stack: dict[str, Any], resolver: Resolver) -> dict[str, Function]:
        """The functions by ARN, and by the ARN of each alias of them."""
        found: dict[str, Function] = {}
        for address, body in resources(stack, "aws_lambda_function").items():
            variables = body.get("environment", {}).get("variables", {})
            function = Function(
                name=body["function_name"],
                handler=body["handler"],
                environment={
                    **{
                        k: v
                        for k, v in ((k, resolver.resolve_or_none(v)) for k, v in variables.items())
                        if v is not None
                    },
                    **self.aws.environ,
                    "AWS_REGION": region,
                    "AWS_DEFAULT_REGION": region,
                    "AWS_LAMBDA_FUNCTION_NAME": body["function_name"],
                },
                log_group=resolver.resolve_or_none(body.get("logging_config", {}).get("log_group")),
                timeout_seconds=float(body.get("timeout", 30)),
                region=region,
            )
            self.functions.append(function)
            arn = f"arn:aws:lambda:{region}:{ACCOUNT_ID}:function:{function.name}"
            resolver.set("aws_lambda_function", address, function_name=function.name, arn=arn)
            found[arn] = function
        for address, alias in resources(stack, "aws_lambda_alias").items():
            function_arn = f"arn:aws:lambda:{region}:{ACCOUNT_ID}:function:{resolver.resolve(alias['function_name'])}"
            resolver.set("aws_lambda_alias", address, arn=f"{function_arn}:{alias['name']}")
            found[f"{function_arn}:{alias['name']}"] = found[function_arn]
        return found

    def _pipes(self, stack: dict[str, Any], resolver: Resolver, queues: Mapping[str, str]) -> list[Pipe]:
        pipes = []
        for pipe in resources(stack, "aws_pipes_pipe").values():
            source, target = pipe["source_parameters"], pipe["target_parameters"]
            bus_arn = resolver.resolve(pipe["target"])
            [bus_name] = [v["name"] for v in resolver.values.values() if v.get("arn") == bus_arn and "name" in v]
            check_template(pipe["name"], target["input_template"])
            dead_letters = source.get("dynamodb_stream_parameters", {}).get("dead_letter_config", {}).get("arn")
            pipes.append(
                Pipe(
                    name=pipe["name"],
                    filters=tuple(f["pattern"] for f in source.get("filter_criteria", {}).get("filter", [])),
                    template=target["input_template"],
                    bus_name=bus_name,
                    source=target["eventbridge_event_bus_parameters"]["source"],
                    detail_type=target["eventbridge_event_bus_parameters"]["detail_type"],
                    dead_letter_queue_url=queues.get(resolver.resolve(dead_letters)) if dead_letters else None,
                )
            )
        return pipes

    def _triggers(
        self,
        stack: dict[str, Any],
        resolver: Resolver,
        functions: Mapping[str, Function],
        queues: Mapping[str, str],
        fault: str | None,
    ) -> Iterator[QueueTrigger]:
        for mapping in resources(stack, "aws_lambda_event_source_mapping").values():
            function = functions[resolver.resolve(mapping["function_name"])]
            if fault == "worker":
                function.environment["EVENT_SOURCE"] = WRONG_SOURCE
            queue_arn = resolver.resolve(mapping["event_source_arn"])
            yield QueueTrigger(
                self.aws,
                function,
                queues[queue_arn],
                queue_arn,
                int(mapping.get("batch_size", 10)),
                "ReportBatchItemFailures" in mapping.get("function_response_types", []),
            )

    def _api(
        self,
        region: str,
        stack: dict[str, Any],
        resolver: Resolver,
        functions: Mapping[str, Function],
        launch: ApiLauncher,
        api_key: str | None,
        fault: str | None,
    ) -> None:
        """The region's local API: ``tools/serve.py`` serves ``handler.handler``, the stage's name."""
        # ``functions`` holds each function under its ARN and its alias's: one of them serves the API.
        [function] = {id(f): f for f in functions.values() if f.handler == "handler.handler"}.values()
        [(stage_address, stage)] = resources(stack, "aws_api_gateway_stage").items()
        environment = dict(function.environment)
        if fault == "unhealthy" and region == self.config.regions[-1]:
            environment["TABLE_NAME"] += "-missing"
        url = launch(Api(region, stage["stage_name"], self.config.project_name, environment, api_key))
        resolver.set("aws_api_gateway_stage", stage_address, invoke_url=url, stage_name=stage["stage_name"])
        for address in resources(stack, "aws_api_gateway_api_key"):
            if api_key is not None:
                resolver.set("aws_api_gateway_api_key", address, value=api_key)

    def outputs_document(self) -> dict[str, dict[str, Any]]:
        """What ``cdktf deploy --outputs-file`` (with the sensitive outputs) would have written: each
        stack's outputs whose value references what the rehearsal runs, resolved."""
        document: dict[str, dict[str, Any]] = {}
        for name, stack in self.stacks.items():
            values = {}
            for output, body in stack.get("output", {}).items():
                if _REFERENCE.search(json.dumps(body["value"])):
                    value = self.resolvers[name].resolve_or_none(body["value"])
                    if value is not None:
                        values[output] = value
            if values:
                document[name] = values
        return document
