"""X-Ray for one region: what is sampled, and a group of the traces that went wrong."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ..cdk import aws
from ..cdk.core import Construct
from .naming import Namer
from .rules import XRAY_RESERVOIR, XRAY_SAMPLING_RATE

# Below X-Ray's default rule (priority 10000): ours is matched first.
PRIORITY = 1000


@dataclass(frozen=True, kw_only=True)
class TracingConfig:
    """namer, region: where and how the rule and group are named; sampling_rate: the share of
    requests traced beyond the reservoir, 0 to 1. Default 0.05; reservoir_per_second: requests
    traced each second before the rate applies, 0 to 1000. Default 1."""

    namer: Namer
    region: str
    sampling_rate: float = 0.05
    reservoir_per_second: int = 1

    def __post_init__(self) -> None:
        XRAY_SAMPLING_RATE.check("sampling_rate", self.sampling_rate)
        XRAY_RESERVOIR.check("reservoir_per_second", self.reservoir_per_second)


class Tracing(Construct):
    """Creates an X-Ray sampling rule for this project's services in the region (its API stage and
    its functions, by the name pattern they share: ``{project}-*-{region}-{environment}*``) at the
    configured reservoir and rate, instead of X-Ray's default 1 a second and 5% for everything; and
    an X-Ray group of this project's traces with an error (4XX) or a fault (5XX), for the console's
    service map and trace search. API Gateway samples by the rule; the functions follow the
    caller's decision, and sample on their own (1 a second and 5%) when invoked otherwise."""

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        config: TracingConfig,
        provider: aws.AwsProvider,
        service_names: Sequence[str],
    ) -> None:
        """``service_names``: the exact X-Ray service names of the group (function names, and the
        API's ``{api name}/{stage}``)."""
        super().__init__(scope, id_)
        namer, region = config.namer, config.region
        aws.XraySamplingRule(
            self,
            "sampling-rule",
            provider=provider,
            rule_name=namer.name("xray", region, kind="xray_name"),
            priority=PRIORITY,
            version=1,
            reservoir_size=config.reservoir_per_second,
            fixed_rate=config.sampling_rate,
            service_name=f"{namer.project}-*-{region}-{namer.environment}*",
            service_type="*",
            host="*",
            http_method="*",
            url_path="*",
            resource_arn="*",
        )
        # A service's own errors and faults, as X-Ray's examples scope them: service("x") { ... }.
        services = " OR ".join(f'service("{name}") {{ error = true OR fault = true }}' for name in service_names)
        aws.XrayGroup(
            self,
            "errors-group",
            provider=provider,
            group_name=namer.name("errs", region, kind="xray_name"),
            filter_expression=services,
        )
