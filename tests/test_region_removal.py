"""A region's removal, step 3 (docs/operations.md, Removing a region): the region has left ``regions``
but is still in ``removing_regions`` ("retired"). The global and bootstrap stacks create nothing
there any more, yet keep the region's provider: Terraform needs it to destroy what they had there
("Error: Provider configuration not present" otherwise)."""

from __future__ import annotations

from typing import Any

import pytest

from constructs_lib.settings import StackConfig

RETIRED = "eu-west-1"
# Much in every region: backups (a vault per region), secrets replicated to every region, AWS
# Config rules in every region, and a state bucket per region.
MANY = {"backup_enabled": True, "secrets": ("db",), "config_rules": True, "state_bucket": "acme-tfstate-{region}"}
# Step 3: eu-west-1 has left regions and stays in removing_regions.
STEP_3 = StackConfig(regions=("us-east-1", "us-west-2"), home_region="us-east-1", removing_regions=(RETIRED,), **MANY)


def under(stack: dict[str, Any], region: str) -> list[str]:
    """The resources and data sources that go through the region's provider."""
    return [
        f"{section}.{kind}.{name}"
        for section in ("resource", "data")
        for kind, blocks in stack.get(section, {}).items()
        for name, body in blocks.items()
        if body.get("provider") == f"aws.{region}"
    ]


@pytest.fixture(scope="module")
def step_3(synth: Any) -> dict[str, dict[str, Any]]:
    return synth(STEP_3, only=("global", "bootstrap")).stacks


@pytest.mark.parametrize("stack", ["iac-aws-nova-dev-global", "iac-aws-nova-bootstrap"])
def test_a_retired_region_keeps_its_provider_and_nothing_under_it(step_3: dict[str, Any], stack: str) -> None:
    providers = {p["alias"]: p for p in step_3[stack]["provider"]["aws"]}
    assert providers[RETIRED]["region"] == RETIRED
    assert under(step_3[stack], RETIRED) == []
    # The regions that stay keep what they have.
    assert under(step_3[stack], "us-west-2")


def test_the_bootstrap_keeps_no_state_bucket_in_a_retired_region(step_3: dict[str, Any]) -> None:
    buckets = step_3["iac-aws-nova-bootstrap"]["resource"]["aws_s3_bucket"].values()
    assert sorted(b["bucket"] for b in buckets) == ["acme-tfstate-us-east-1", "acme-tfstate-us-west-2"]


def test_a_retired_region_of_one_environment_still_used_by_another_is_no_retired_provider(synth: Any) -> None:
    """The bootstrap is the account's: a region another environment deploys to keeps its resources."""
    prod = StackConfig(environment="prod", regions=("us-east-1", RETIRED), home_region="us-east-1")
    app = synth(StackConfig(regions=("us-east-1",), removing_regions=(RETIRED,)), prod, only=("bootstrap",))
    bootstrap = app.stacks["iac-aws-nova-bootstrap"]
    assert [p["alias"] for p in bootstrap["provider"]["aws"]] == ["us-east-1", RETIRED]
    assert under(bootstrap, RETIRED)
