"""The item changes of one region's copy of the table, published to that region's bus from the
table's stream (EventBridge Pipes), so that no write goes unannounced whatever happens to the
request that made it."""

from __future__ import annotations

import json
from dataclasses import dataclass

from ..cdk import aws
from ..cdk.core import Construct
from .iam import ServiceRole, Statement, service_role
from .kms import use_through
from .naming import Namer
from .rules import Whole

ONE_DAY = 24 * 3600
# A stream keeps records for 24 hours: a record older than that is gone anyway.
RECORD_AGE_SECONDS = Whole(60, ONE_DAY)
RETRY_ATTEMPTS = Whole(0, 10_000)


@dataclass(frozen=True, kw_only=True)
class ChangeFeedConfig:
    """Settings of one region's change feed.

    namer, region: where and how the pipes and their role are named.
    source: the ``source`` of the events, e.g. ``"shop.items"``; environment: the ``environment`` in
        each event's detail.
    max_record_age_seconds: how long a change may wait for the bus before it goes to the dead-letter
        queue, 60 to 86400. Default one day (the stream's own retention).
    max_retry_attempts: retries of a batch the bus refuses, 0 to 10000, before it goes to the
        dead-letter queue (halved first, so one bad record does not hold back the others). Default 10.
    """

    namer: Namer
    region: str
    source: str
    environment: str
    max_record_age_seconds: int = ONE_DAY
    max_retry_attempts: int = 10

    def __post_init__(self) -> None:
        RECORD_AGE_SECONDS.check("max_record_age_seconds", self.max_record_age_seconds)
        RETRY_ATTEMPTS.check("max_retry_attempts", self.max_retry_attempts)

    def detail_template(self, image: str, updated_at: str) -> str:
        """The event's detail, from a stream record's ``image`` (``NewImage`` or ``OldImage``): the
        shape the worker reads (``{"id", "version", "region", "environment", "updated_at"}``).
        Every placeholder is quoted, as Pipes wants for values that are not objects: the version
        arrives as its digits."""
        return json.dumps(
            {
                "id": "<$.dynamodb.Keys.id.S>",
                "version": f"<$.dynamodb.{image}.version.N>",
                "region": f"<$.dynamodb.{image}.updated_region.S>",
                "environment": self.environment,
                "updated_at": updated_at,
            },
            sort_keys=True,
        )


# Each change kind: the stream events it covers, the image that describes the item, where its time
# comes from, and its detail type. A delete's record has no new image; its time is when the pipe
# read it (within a second or so of the delete).
_KINDS = (
    ("put", ("INSERT", "MODIFY"), "NewImage", "<$.dynamodb.NewImage.updated_at.S>", "ItemPut"),
    ("delete", ("REMOVE",), "OldImage", "<aws.pipes.event.ingestion-time>", "ItemDeleted"),
)


class ChangeFeed(Construct):
    """Creates a role that EventBridge Pipes assumes (for this account only), allowed to read the
    stream, send to the bus and to the dead-letter queue, and use the region's key only as DynamoDB,
    EventBridge and SQS do for it; and two pipes from the stream to the bus: ``ItemPut`` for each
    insert or update and ``ItemDeleted`` for each delete.

    Every region's stream carries every write, replicated ones included: each pipe keeps only the
    changes whose item says it was last written in this region (``updated_region``), so each change
    is published once, by the region that made it. (A delete is announced by the region that last
    wrote the item: the deleted item is all the stream shows.) A batch the bus keeps refusing goes,
    after the retries, to the dead-letter queue, whose alarm fires on any message.
    """

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        config: ChangeFeedConfig,
        provider: aws.AwsProvider,
        account_id: str,
        stream_arn: str,
        bus_arn: str,
        dead_letter_queue_arn: str,
        kms_key_arn: str,
    ) -> None:
        super().__init__(scope, id_)
        role = self._role(config, provider, account_id, stream_arn, bus_arn, dead_letter_queue_arn, kms_key_arn)
        for kind in _KINDS:
            self._pipe(kind, config, provider, role, stream_arn, bus_arn, dead_letter_queue_arn)

    def _pipe(
        self,
        kind: tuple[str, tuple[str, ...], str, str, str],
        config: ChangeFeedConfig,
        provider: aws.AwsProvider,
        role: ServiceRole,
        stream_arn: str,
        bus_arn: str,
        dead_letter_queue_arn: str,
    ) -> None:
        key, events, image, updated_at, detail_type = kind
        stream = aws.PipesPipeSourceParametersDynamodbStreamParameters(
            starting_position="LATEST",
            batch_size=10,
            maximum_record_age_in_seconds=config.max_record_age_seconds,
            maximum_retry_attempts=config.max_retry_attempts,
            on_partial_batch_item_failure="AUTOMATIC_BISECT",
            dead_letter_config=aws.PipesPipeSourceParametersDynamodbStreamParametersDeadLetterConfig(
                arn=dead_letter_queue_arn
            ),
        )
        only_this_regions_writes = aws.PipesPipeSourceParametersFilterCriteria(
            filter=[aws.PipesPipeSourceParametersFilterCriteriaFilter(pattern=_pattern(events, image, config))]
        )
        aws.PipesPipe(
            self,
            f"{key}-pipe",
            provider=provider,
            name=config.namer.name(f"item-{key}s", config.region, kind="pipe"),
            description=f"{detail_type} events from this region's writes to the items table",
            role_arn=role.arn,
            source=stream_arn,
            target=bus_arn,
            source_parameters=aws.PipesPipeSourceParameters(
                dynamodb_stream_parameters=stream, filter_criteria=only_this_regions_writes
            ),
            target_parameters=aws.PipesPipeTargetParameters(
                eventbridge_event_bus_parameters=aws.PipesPipeTargetParametersEventbridgeEventBusParameters(
                    detail_type=detail_type, source=config.source
                ),
                input_template=config.detail_template(image, updated_at),
            ),
            # The role's permissions first: Pipes checks them when it creates the pipe.
            depends_on=[role.policy],
        )

    def _role(
        self,
        config: ChangeFeedConfig,
        provider: aws.AwsProvider,
        account_id: str,
        stream_arn: str,
        bus_arn: str,
        dead_letter_queue_arn: str,
        kms_key_arn: str,
    ) -> ServiceRole:
        region = config.region
        return service_role(
            self,
            "role",
            provider=provider,
            name=config.namer.name("item-changes", region, kind="iam_role"),
            service="pipes.amazonaws.com",
            source_account=account_id,
            statements=[
                Statement(
                    sid="ReadTheStream",
                    actions=[
                        "dynamodb:DescribeStream",
                        "dynamodb:GetRecords",
                        "dynamodb:GetShardIterator",
                        "dynamodb:ListStreams",
                    ],
                    resources=[stream_arn],
                ),
                Statement(sid="PublishToTheBus", actions=["events:PutEvents"], resources=[bus_arn]),
                Statement(sid="SendFailedBatches", actions=["sqs:SendMessage"], resources=[dead_letter_queue_arn]),
                use_through(
                    kms_key_arn,
                    region,
                    ("dynamodb", "events", "sqs"),
                    sid="UseTheKeyThroughTheseServices",
                    actions=("kms:Decrypt", "kms:GenerateDataKey"),
                ),
            ],
        )


def _pattern(events: tuple[str, ...], image: str, config: ChangeFeedConfig) -> str:
    """The stream records of ``events`` whose ``image`` says this region wrote the item."""
    return json.dumps(
        {"eventName": list(events), "dynamodb": {image: {"updated_region": {"S": [config.region]}}}},
        sort_keys=True,
    )
