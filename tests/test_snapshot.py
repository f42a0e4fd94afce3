"""Snapshots of the synthesized JSON of the default stacks, and byte-identical synthesis.

Update on purpose with ``make snapshot-update`` (``pytest tests/test_snapshot.py --snapshot-update``),
then review the diff of tests/__snapshots__ like any other change. The snapshots are cdktf's; under
CDK Terrain (``make test ENGINE=cdktn``) the stacks must equal them but for the CDK's version and the
AWS provider it pins (``as_cdktf``).
"""

import pytest
from conftest import GLOBAL, as_cdktf, files
from syrupy.extensions.json import JSONSnapshotExtension

from constructs_lib.settings import StackConfig


@pytest.fixture
def json_snapshot(snapshot):
    return snapshot.use_extension(JSONSnapshotExtension)


@pytest.mark.parametrize("stack", [*StackConfig().stack_names, "iac-aws-nova-bootstrap"])
def test_default_stack_matches_snapshot(default_synth, json_snapshot, stack):
    assert as_cdktf(default_synth.stack(stack)) == json_snapshot(name=stack)


@pytest.mark.parametrize("stack", GLOBAL.stack_names)
def test_global_routing_stack_matches_snapshot(synth, json_snapshot, stack):
    """Two regions, home listed second, with a custom domain: the routing resources' shape."""
    part = stack.removeprefix(GLOBAL.stack_name + "-")
    assert as_cdktf(synth(GLOBAL).stacks[stack]) == json_snapshot(name=f"global-routing-{part}")


def test_synthesizing_twice_gives_identical_bytes(default_synth, main_run):
    """main() synthesizes the default app a second time (from the repository's settings)."""
    again = main_run.synth
    assert again.outdir != default_synth.outdir
    first, second = files(default_synth.outdir), files(again.outdir)
    assert sorted(first) == sorted(second)
    for name in first:
        assert first[name] == second[name], name
