"""A region's event bus and the rule that delivers item changes to the work queue."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from ..cdk import aws
from ..cdk.core import Construct
from .iam import Condition, Grantee, Statement, policy_document
from .naming import Namer

# The detail types the items API publishes (lambda_src/publisher.py) and the worker accepts.
ITEM_CHANGE_TYPES = ("ItemPut", "ItemDeleted")
ONE_DAY = 24 * 3600
_SOURCE_RE = re.compile(r"^[A-Za-z0-9._-]{1,256}$")


@dataclass(frozen=True, kw_only=True)
class EventBusConfig:
    """Settings of one region's bus.

    namer, region: where and how the bus and rule are named (``{project}-events-{region}-{env}``).
    source: the ``source`` of the events the rule forwards, e.g. ``"shop.items"``.
    detail_types: the ``detail-type`` values the rule forwards. Default: the item changes.
    max_event_age_seconds: how long EventBridge retries delivery to the queue, 60 to 86400, before the
        event goes to the dead-letter queue. Default one day.
    """

    namer: Namer
    region: str
    source: str
    detail_types: tuple[str, ...] = ITEM_CHANGE_TYPES
    max_event_age_seconds: int = ONE_DAY

    def __post_init__(self) -> None:
        if not _SOURCE_RE.match(self.source) or self.source.startswith("aws."):
            raise ValueError(f"source: {self.source!r} must be 1 to 256 of [A-Za-z0-9._-] and not start with 'aws.'")
        if not self.detail_types:
            raise ValueError("detail_types: the rule needs at least one detail type")
        if not 60 <= self.max_event_age_seconds <= ONE_DAY:
            raise ValueError(f"max_event_age_seconds: {self.max_event_age_seconds!r} must be 60 to {ONE_DAY}")

    @property
    def bus_name(self) -> str:
        return self.namer.name("events", self.region, kind="event_bus")

    def event_pattern(self) -> str:
        return json.dumps({"detail-type": list(self.detail_types), "source": [self.source]}, sort_keys=True)


class EventBus(Construct):
    """Creates a custom EventBridge bus encrypted with the region's key (undeliverable encrypted
    events go to the dead-letter queue), a rule that matches the configured source and detail types,
    a target that sends matching events to the work queue with retries for ``max_event_age_seconds``
    and the dead-letter queue for what still fails, and queue policies that let exactly this rule
    (``aws:SourceArn``) send to the queue, and this rule and bus to the dead-letter queue.
    """

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        config: EventBusConfig,
        provider: aws.AwsProvider,
        kms_key_arn: str,
        queue_arn: str,
        queue_url: str,
        dead_letter_queue_arn: str,
        dead_letter_queue_url: str,
    ) -> None:
        super().__init__(scope, id_)
        self._bus_name = config.bus_name
        bus = aws.CloudwatchEventBus(
            self,
            "bus",
            provider=provider,
            name=self._bus_name,
            description="Item changes published by the API function",
            kms_key_identifier=kms_key_arn,
            dead_letter_config=aws.CloudwatchEventBusDeadLetterConfig(arn=dead_letter_queue_arn),
        )
        self._bus_arn, bus_name = bus.arn, bus.name
        self._deployed_name = bus_name
        rule = aws.CloudwatchEventRule(
            self,
            "rule",
            provider=provider,
            name=config.namer.name("item-changes", config.region, kind="event_rule"),
            description="Item changes to the work queue",
            event_bus_name=bus_name,
            event_pattern=config.event_pattern(),
            state="ENABLED",
        )
        rule_arn = rule.arn
        aws.CloudwatchEventTarget(
            self,
            "queue-target",
            provider=provider,
            rule=rule.name,
            event_bus_name=bus_name,
            target_id="work-queue",
            arn=queue_arn,
            retry_policy=aws.CloudwatchEventTargetRetryPolicy(
                maximum_event_age_in_seconds=config.max_event_age_seconds, maximum_retry_attempts=185
            ),
            dead_letter_config=aws.CloudwatchEventTargetDeadLetterConfig(arn=dead_letter_queue_arn),
        )
        # The bus itself sends to the dead-letter queue the events it cannot encrypt or decrypt.
        for key, arn, url, senders in (
            ("queue", queue_arn, queue_url, [rule_arn]),
            ("dead-letter-queue", dead_letter_queue_arn, dead_letter_queue_url, [rule_arn, self._bus_arn]),
        ):
            document = policy_document(
                self,
                f"{key}-policy-document",
                provider=provider,
                statements=[
                    Statement(
                        sid="ThisBusAndRuleSend",
                        actions=["sqs:SendMessage"],
                        resources=[arn],
                        principals={"Service": ["events.amazonaws.com"]},
                        conditions=[Condition(test="ArnEquals", variable="aws:SourceArn", values=senders)],
                    )
                ],
            )
            aws.SqsQueuePolicy(self, f"{key}-policy", provider=provider, queue_url=url, policy=document.json)

    @property
    def bus_name(self) -> str:
        """Known at synth time: the function's environment names it."""
        return self._bus_name

    def grant_put_events(self, grantee: Grantee, *, source: str, sid: str = "PutEvents") -> None:
        """Publish events to this bus with ``source`` only (the ``events:source`` condition)."""
        grantee.add_to_role_policy(
            Statement(
                sid=sid,
                actions=["events:PutEvents"],
                resources=[self._bus_arn],
                conditions=[Condition(test="StringEquals", variable="events:source", values=[source])],
            )
        )

    @property
    def deployed_bus_name(self) -> str:
        """The name as a reference to the bus: what names it waits for it."""
        return self._deployed_name

    @property
    def bus_arn(self) -> str:
        return self._bus_arn
