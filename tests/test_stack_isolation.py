"""An environment is a global stack, a stack per region and an edge stack. A regional stack declares
one provider and references nothing outside itself (no remote state, no other region): with any
region down, every other region's stack can still be planned and applied. Checked on every stack
of every configuration the suite synthesizes."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from conftest import CUSTOM, GLOBAL, OPEN, files

from constructs_lib.settings import StackConfig

# An address inside an expression: `aws_x.name` or `data.aws_x.name`.
REFERENCE = re.compile(r"(?<![\w.])(data\.)?(aws_[a-z0-9_]+)\.([A-Za-z0-9_-]+)")


@pytest.fixture(scope="module")
def environments(default_synth, synth, variants) -> dict[str, tuple[StackConfig, dict[str, dict[str, Any]]]]:
    """Each configuration with its environment's stacks, by name."""
    from conftest import VARIANTS

    from constructs_lib.settings import configs_from_context

    found = {"default": (StackConfig(), default_synth.environment_stacks())}
    for label, config in (("global", GLOBAL), ("custom", CUSTOM), ("open", OPEN)):
        found[label] = (config, synth(config).environment_stacks(config.stack_name))
    for config in configs_from_context(VARIANTS):
        found[config.environment] = (config, variants.environment_stacks(config.stack_name))
    return found


def blocks(stack: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [
        (f"{section}.{kind}.{key}" if section == "data" else f"{kind}.{key}", block)
        for section in ("resource", "data")
        for kind, found in stack.get(section, {}).items()
        for key, block in found.items()
    ]


def references(value: Any) -> set[str]:
    text = json.dumps(value)
    found = set()
    for expression in re.findall(r"\$\{(.*?)\}(?=\"|,|\]|$)", text):
        for data, kind, key in REFERENCE.findall(expression):
            found.add(f"{data}{kind}.{key}")
    return found


def test_each_environment_has_a_global_stack_its_regions_and_an_edge(environments):
    for config, stacks in environments.values():
        assert sorted(stacks) == sorted(config.stack_names)


def test_a_regional_stack_declares_one_provider_and_every_block_names_it(environments):
    for config, stacks in environments.values():
        for region in config.regions:
            stack = stacks[config.regional_stack_name(region)]
            [provider] = stack["provider"]["aws"]
            assert (provider["alias"], provider["region"]) == (region, region)
            for where, block in blocks(stack):
                assert block["provider"] == f"aws.{region}", where


def test_no_stack_references_anything_outside_itself(environments):
    """No remote state, no cross-stack reference: what a stack names of another's it derives."""
    for _config, stacks in environments.values():
        for name, stack in stacks.items():
            own = {where for where, _ in blocks(stack)}
            assert "terraform_remote_state" not in stack.get("data", {}), name
            for where, block in blocks(stack):
                outside = references(block) - own
                assert not outside, f"{name}: {where} references {sorted(outside)}"
            for output, body in stack.get("output", {}).items():
                assert not references(body) - own, f"{name}: output {output}"


def test_the_regions_deploy_after_the_global_stack_and_before_the_edge(default_synth):
    manifest = json.loads((default_synth.outdir / "manifest.json").read_text())["stacks"]
    config = StackConfig()
    assert manifest[config.global_stack_name]["dependencies"] == []
    for region in config.regions:
        assert manifest[config.regional_stack_name(region)]["dependencies"] == [config.global_stack_name]
    assert sorted(manifest[config.edge_stack_name]["dependencies"]) == sorted(
        config.regional_stack_name(r) for r in config.regions
    )


def test_the_global_stack_spans_every_region_and_the_edge_only_what_it_watches(environments):
    config, stacks = environments["global"]
    aliases = {name: sorted(p["alias"] for p in stack["provider"]["aws"]) for name, stack in stacks.items()}
    assert aliases[config.global_stack_name] == sorted(config.regions)
    # The dashboard in the home region; the health alarms in us-east-1.
    assert aliases[config.edge_stack_name] == ["eu-west-1", "us-east-1"]
    _, default = environments["default"]
    assert [p["alias"] for p in default["iac-aws-nova-dev-edge"]["provider"]["aws"]] == ["us-east-1"]


def test_every_address_of_an_environment_lives_in_exactly_one_stack(environments):
    """So moving from one state to the stacks' states is a move of each address, none renamed."""
    for _config, stacks in environments.values():
        seen: dict[str, str] = {}
        for name, stack in stacks.items():
            for kind, found in stack.get("resource", {}).items():
                for key in found:
                    assert f"{kind}.{key}" not in seen, f"{kind}.{key} in {seen.get(f'{kind}.{key}')} and {name}"
                    seen[f"{kind}.{key}"] = name


def test_the_reference_rule_finds_a_reference_to_another_stack():
    stack = {"resource": {"aws_sns_topic": {"t": {"kms_master_key_id": "${aws_kms_key.elsewhere.arn}"}}}}
    [(where, block)] = blocks(stack)
    assert references(block) - {where} == {"aws_kms_key.elsewhere"}
    data = {"x": "${data.aws_dynamodb_table.copy.stream_arn}", "y": "${element(aws_vpc.v.*.id, 0)}"}
    assert references(data) == {"data.aws_dynamodb_table.copy", "aws_vpc.v"}


def test_a_stack_synthesized_alone_is_byte_for_byte_the_one_of_the_whole_app(default_synth, synth):
    """What lets a test synthesize only the stacks it reads (``synth(..., only=...)``)."""
    alone = synth(StackConfig(), only=("global", "edge", "bootstrap"))
    names = ["iac-aws-nova-bootstrap", "iac-aws-nova-dev-edge", "iac-aws-nova-dev-global"]
    assert sorted(alone.stacks) == names
    for name in names:
        assert files(alone.outdir / "stacks" / name) == files(default_synth.outdir / "stacks" / name), name
