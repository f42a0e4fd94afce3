"""A work queue with a dead-letter queue, both encrypted with the region's key."""

from __future__ import annotations

import json
from dataclasses import dataclass

from ..cdk import aws
from ..cdk.core import Construct
from .iam import Grantee, Statement
from .naming import Namer
from .rules import QUEUE_MAX_RECEIVE_COUNT, Whole

FOUR_DAYS = 4 * 24 * 3600
FOURTEEN_DAYS = 14 * 24 * 3600  # SQS's maximum retention: the longest time to notice and redrive
# AWS's advice for a queue that triggers a function: at least six times the function's timeout, so
# a message is not handed out again while a retried invocation still works on it.
VISIBILITY_PER_FUNCTION_TIMEOUT = 6
MAX_VISIBILITY_SECONDS = 43_200


def queue_names(namer: Namer, region: str, component: str = "events") -> tuple[str, str]:
    """A queue's name and its dead-letter queue's: how a stack that did not create them names them."""
    return namer.name(component, region, kind="sqs_queue"), namer.name(f"{component}-dlq", region, kind="sqs_queue")


@dataclass(frozen=True, kw_only=True)
class QueueConfig:
    """Settings of one region's work queue.

    namer, region: where and how the queues are named; ``component`` names them (default "events":
        ``{project}-events-{region}-{environment}`` and ``...-events-dlq-...``).
    consumer_timeout_seconds: the consuming function's timeout; the visibility timeout is six times
        it. Default 30.
    max_receive_count: receives after which a message moves to the dead-letter queue, 1 to 1000.
        Default 5.
    retention_seconds: how long the queue keeps a message, 60 to 1209600. Default 4 days. The
        dead-letter queue always keeps messages 14 days, the maximum.
    """

    namer: Namer
    region: str
    component: str = "events"
    consumer_timeout_seconds: int = 30
    max_receive_count: int = 5
    retention_seconds: int = FOUR_DAYS

    def __post_init__(self) -> None:
        # Six times it is the visibility timeout, which SQS caps at 12 hours.
        Whole(1, MAX_VISIBILITY_SECONDS // VISIBILITY_PER_FUNCTION_TIMEOUT).check(
            "consumer_timeout_seconds", self.consumer_timeout_seconds
        )
        QUEUE_MAX_RECEIVE_COUNT.check("max_receive_count", self.max_receive_count)
        Whole(60, FOURTEEN_DAYS).check("retention_seconds", self.retention_seconds)


class Queue(Construct):
    """Creates an SQS queue and its dead-letter queue, both encrypted with the region's key (data keys
    reused for 5 minutes, which bounds KMS calls), a redrive policy that moves a message to the
    dead-letter queue after ``max_receive_count`` receives, and a redrive-allow policy that accepts
    moved messages from this queue only. Who may send to the queues is granted by the producer
    (a queue policy of the event rule), who may receive by the consumer's role.
    """

    def __init__(
        self, scope: Construct, id_: str, *, config: QueueConfig, provider: aws.AwsProvider, kms_key_arn: str
    ) -> None:
        super().__init__(scope, id_)
        namer, region = config.namer, config.region
        self._name, self._dlq_name = queue_names(namer, region, config.component)
        self._dlq = aws.SqsQueue(
            self,
            "dead-letter-queue",
            provider=provider,
            name=self._dlq_name,
            message_retention_seconds=FOURTEEN_DAYS,
            kms_master_key_id=kms_key_arn,
            kms_data_key_reuse_period_seconds=300,
        )
        dlq_arn = self._dlq.arn
        self._queue = aws.SqsQueue(
            self,
            "queue",
            provider=provider,
            name=self._name,
            message_retention_seconds=config.retention_seconds,
            visibility_timeout_seconds=config.consumer_timeout_seconds * VISIBILITY_PER_FUNCTION_TIMEOUT,
            # Long polling: fewer empty receives, lower cost.
            receive_wait_time_seconds=20,
            kms_master_key_id=kms_key_arn,
            kms_data_key_reuse_period_seconds=300,
            redrive_policy=json.dumps(
                {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": config.max_receive_count}, sort_keys=True
            ),
        )
        self._queue_arn, self._queue_url = self._queue.arn, self._queue.url
        self._dlq_arn, self._dlq_url = dlq_arn, self._dlq.url
        self._deployed_names = (self._queue.name, self._dlq.name)
        aws.SqsQueueRedriveAllowPolicy(
            self,
            "dead-letter-queue-sources",
            provider=provider,
            queue_url=self._dlq_url,
            redrive_allow_policy=json.dumps(
                {"redrivePermission": "byQueue", "sourceQueueArns": [self._queue_arn]}, sort_keys=True
            ),
        )

    @property
    def queue_name(self) -> str:
        """Known at synth time: alarms and the dashboard use it as the QueueName dimension."""
        return self._name

    @property
    def deployed_queue_name(self) -> str:
        """The work queue's name as a reference (alarms on it wait for it)."""
        return self._deployed_names[0]

    @property
    def deployed_dead_letter_queue_name(self) -> str:
        return self._deployed_names[1]

    @property
    def queue_arn(self) -> str:
        return self._queue_arn

    def grant_send_messages(self, grantee: Grantee, *, sid: str = "SendToTheWorkQueue") -> None:
        """Send messages to the work queue (its key's use is a grant of the key's own:
        ``key.grant_use_through(fn, services=("sqs",))``)."""
        grantee.add_to_role_policy(Statement(sid=sid, actions=["sqs:SendMessage"], resources=[self._queue_arn]))

    def grant_consume_messages(self, grantee: Grantee, *, sid: str = "ConsumeTheWorkQueue") -> None:
        """Receive, delete and extend the visibility of the work queue's messages: for a function
        that polls it itself. A ``QueueTrigger`` brings this permission with it (Lambda checks it
        when the trigger is created), so a triggered function needs no grant."""
        grantee.add_to_role_policy(
            Statement(
                sid=sid,
                actions=[
                    "sqs:ChangeMessageVisibility",
                    "sqs:DeleteMessage",
                    "sqs:GetQueueAttributes",
                    "sqs:ReceiveMessage",
                ],
                resources=[self._queue_arn],
            )
        )

    @property
    def queue_url(self) -> str:
        return self._queue_url

    @property
    def dead_letter_queue_name(self) -> str:
        return self._dlq_name

    @property
    def dead_letter_queue_arn(self) -> str:
        return self._dlq_arn

    @property
    def dead_letter_queue_url(self) -> str:
        return self._dlq_url
