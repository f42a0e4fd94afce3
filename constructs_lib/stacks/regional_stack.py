"""One region of an environment, as a stack of its own: its own provider, state and plan."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from ..blocks.naming import Namer
from ..blocks.rollout import GradualRollout
from ..cdk.core import Construct, TerraformOutput, TerraformStack
from ..settings import StackConfig
from .common import configure_backend, regional_provider, stack_tags
from .region import RegionalDeployment

# (output, value, description): each a map keyed by this stack's one region, so the maps of an
# environment's regional stacks merge into the ones the README shows (`make outputs`).
_OUTPUTS: tuple[tuple[str, Callable[[RegionalDeployment], str], str], ...] = (
    ("api_urls", lambda r: r.api.invoke_url, "Invoke URL of the region's /api"),
    ("lambda_arns", lambda r: r.function.function_arn, "ARN of the region's function"),
    ("s3_buckets", lambda r: r.storage.bucket_name, "Name of the region's artifacts bucket"),
    ("vpc_ids", lambda r: r.network.vpc_id, "Id of the region's VPC"),
    ("event_bus_names", lambda r: r.bus.bus_name, "The region's event bus of item changes"),
    ("queue_urls", lambda r: r.queue.queue_url, "The region's work queue"),
    (
        "dead_letter_queue_urls",
        lambda r: r.queue.dead_letter_queue_url,
        "The region's dead-letter queue (inspect and redrive from here)",
    ),
)


class RegionalStack(TerraformStack):
    """Creates one region's deployment (``RegionalDeployment``) through the stack's only provider,
    with its state in that region when ``state_bucket`` names one bucket per region. It reads
    nothing from another stack's state and nothing from another region, so it can be planned and
    applied while any other region is down.

    Outputs, each a map with this region as its only key: ``api_urls``, ``lambda_arns``,
    ``s3_buckets``, ``vpc_ids``, ``event_bus_names``, ``queue_urls``, ``dead_letter_queue_urls``;
    ``api_keys`` (sensitive, ``api_key`` auth); ``regional_api_urls`` (with a domain); ``rollouts``
    (under a gradual ``deployment_strategy``: what ``tools/rollout.py`` deploys).
    """

    def __init__(self, scope: Construct, config: StackConfig, region: str, *, source_dir: Path) -> None:
        name = config.regional_stack_name(region)
        super().__init__(scope, name)
        configure_backend(self, stack_name=name, state=config.state_of(region))
        provider = regional_provider(self, region, stack_tags(config))
        self.deployment = RegionalDeployment(
            self,
            region,
            config=config,
            namer=Namer(config.project_name, config.environment),
            provider=provider,
            source_dir=source_dir,
        )
        self._outputs(config, region)

    def _outputs(self, config: StackConfig, region: str) -> None:
        deployment = self.deployment
        for name, value, description in _OUTPUTS:
            TerraformOutput(
                self, name, value={region: value(deployment)}, description=f"{description}, keyed by region"
            )
        if config.api_auth == "api_key":
            TerraformOutput(
                self,
                "api_keys",
                value={region: str(deployment.api.api_key_value)},
                sensitive=True,
                description="The API key (the same in every region; send it as x-api-key), keyed by region",
            )
        if deployment.rollout is not None:
            self._rollout_output(deployment.rollout, region)
        if deployment.domain is not None:
            TerraformOutput(
                self,
                "regional_api_urls",
                value={region: deployment.domain.regional_url},
                description="The region's own custom-domain URL of /api, keyed by region",
            )

    def _rollout_output(self, rollout: GradualRollout, region: str) -> None:
        """What the deploy workflow needs to start each function's deployment (tools/rollout.py)."""
        TerraformOutput(
            self,
            "rollouts",
            value={
                region: {
                    "application": rollout.application_name,
                    "deployment_config": rollout.deployment_config_name,
                    "functions": [
                        {
                            "deployment_group": group.deployment_group_name,
                            "function_name": group.function_name,
                            "alias": group.alias_name,
                            "version": group.version,
                        }
                        for group in rollout.groups
                    ],
                }
            },
            description="Each function's CodeDeploy deployment group and newest version (tools/rollout.py), "
            "keyed by region",
        )
