"""What every stack shares: its state backend, its providers and their tags."""

from __future__ import annotations

from ..cdk import aws
from ..cdk.core import Construct, LocalBackend, S3Backend, TerraformStack
from ..settings import StackConfig
from ..settings.config import StateLocation

MANAGED_BY = "cdktf"


def local_state_path(stack_name: str) -> str:
    """The local state file, relative to the stack's directory (``<outdir>/stacks/<stack>``), where
    Terraform runs: next to the output directory, i.e. in the project, so deleting cdktf.out never
    deletes state, and no machine's absolute path enters the JSON."""
    return f"../../../terraform.{stack_name}.tfstate"


def configure_backend(stack: TerraformStack, *, stack_name: str, state: StateLocation) -> None:
    if state.bucket is None:
        LocalBackend(stack, path=local_state_path(stack_name))
        return
    S3Backend(stack, bucket=state.bucket, key=state.key, region=state.region, encrypt=True)
    # S3-native locking (Terraform >= 1.10) replaces the DynamoDB lock table; cdktf 0.21's
    # S3Backend has no argument for it.
    stack.add_override("terraform.backend.s3.use_lockfile", True)


def stack_tags(config: StackConfig) -> dict[str, str]:
    return {
        **config.tags,
        "Project": config.project_name,
        "Environment": config.environment,
        "ManagedBy": MANAGED_BY,
    }


def regional_provider(scope: Construct, region: str, tags: dict[str, str]) -> aws.AwsProvider:
    """The region's provider, aliased by the region's name; resources name it explicitly."""
    return aws.AwsProvider(
        scope,
        f"aws-{region}",
        region=region,
        alias=region,
        default_tags=[aws.AwsProviderDefaultTags(tags={**tags, "Region": region})],
    )
