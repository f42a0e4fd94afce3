"""Snapshots of the synthesized JSON of the default stacks, and byte-identical synthesis.

Update on purpose with ``make snapshot-update`` (``pytest tests/test_snapshot.py --snapshot-update``),
then review the diff of tests/__snapshots__ like any other change. The snapshots are cdktf's; under
CDK Terrain (``make test ENGINE=cdktn``) the stacks must equal them but for the CDK's version and the
AWS provider it pins (``as_cdktf``).
"""

import pytest
from conftest import as_cdktf, files, synth_app
from syrupy.extensions.json import JSONSnapshotExtension

from constructs_lib.settings import StackConfig


@pytest.fixture
def json_snapshot(snapshot):
    return snapshot.use_extension(JSONSnapshotExtension)


@pytest.mark.parametrize("stack", ["iac-aws-nova-dev", "iac-aws-nova-bootstrap"])
def test_default_stack_matches_snapshot(default_synth, json_snapshot, stack):
    assert as_cdktf(default_synth.stack(stack)) == json_snapshot(name=stack)


def test_global_routing_stack_matches_snapshot(global_stack, json_snapshot):
    """Two regions, home listed second, with a custom domain: the routing resources' shape."""
    assert as_cdktf(global_stack) == json_snapshot(name="global-routing")


def test_synthesizing_twice_gives_identical_bytes(default_synth, tmp_path):
    again = synth_app([StackConfig()], tmp_path)
    first, second = files(default_synth.outdir), files(again.outdir)
    assert sorted(first) == sorted(second)
    for name in first:
        assert first[name] == second[name], name
