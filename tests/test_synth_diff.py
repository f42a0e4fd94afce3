"""tools/synth_diff.py: the Markdown review of what a change does to AWS, on real synths of the app
(in-process, shared with the session) and on small hand-written stacks."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest
from conftest import CUSTOM, CUSTOM_MOVED, THREE_REGIONS, Synth

from constructs_lib.settings import StackConfig
from tools import synth_diff


def report(base: Path, head: Path) -> tuple[list[synth_diff.StackDiff], str]:
    stacks = synth_diff.compare(synth_diff.load(base), synth_diff.load(head))
    return stacks, synth_diff.render(stacks)


def top(markdown: str) -> str:
    """The verdict and the "Replacements and destroys" section: everything before the first stack."""
    return markdown.split("\n### Stack ", 1)[0]


def resources(stacks: list[synth_diff.StackDiff]) -> list[synth_diff.Item]:
    return [item for stack in stacks for item in stack.items if not item.is_data]


def resource_count(synth: Synth, region: str) -> int:
    return sum(
        1
        for stack in synth.stacks.values()
        for bodies in stack.get("resource", {}).values()
        for body in bodies.values()
        if body.get("provider") == f"aws.{region}"
    )


@pytest.fixture(scope="module")
def default(synth: Any) -> Synth:
    return synth(StackConfig())


@pytest.fixture(scope="module")
def three_regions(synth: Any) -> Synth:
    return synth(THREE_REGIONS)


# ---- real synths ---------------------------------------------------------------------------------


def test_same_app_synthesized_twice_is_no_change(
    main_run: Any, default: Synth, capsys: pytest.CaptureFixture[str]
) -> None:
    # main() with the repository's settings: an equal app, synthesized again into its own directory.
    again = main_run.synth
    assert again.outdir != default.outdir
    assert synth_diff.main([str(default.outdir), str(again.outdir)]) == 0
    assert capsys.readouterr().out == "## Infrastructure change (cdktf synth diff)\n\n**No infrastructure change.**\n"


def test_new_region_adds_resources_only_in_that_region(default: Synth, three_regions: Synth) -> None:
    """And, in each other region, the alarm on replication to it."""
    stacks, markdown = report(default.outdir, three_regions.outdir)
    added = [item for item in resources(stacks) if item.action == "create"]
    elsewhere = [item for item in added if item.region != "eu-west-1"]
    assert sorted((item.region, item.address.split(".")[1].split("_")[2]) for item in elsewhere) == [
        ("us-east-1", "replication-eu-west-1"),
        ("us-west-2", "replication-eu-west-1"),
    ]
    assert len(added) - len(elsewhere) == resource_count(three_regions, "eu-west-1")
    assert not [item for item in resources(stacks) if item.action in ("delete", "replace", "rename")]
    assert "None: nothing is replaced or destroyed." in top(markdown)
    assert "- added provider `aws.eu-west-1` (region `eu-west-1`)" in markdown


def test_memory_change_updates_only_the_functions_memory(synth: Any) -> None:
    """CUSTOM (one region, eu-west-1; 512 MB) with less memory for its function."""
    smaller = dataclasses.replace(CUSTOM, lambda_memory_mb=256)
    stacks, markdown = report(synth(CUSTOM).outdir, synth(smaller).outdir)
    changed = [(item.address.split(".")[0], item.region, item.action, item.lines) for item in resources(stacks)]
    assert changed == [("aws_lambda_function", "eu-west-1", "update", ["`memory_size`: `512` → `256`"])]
    assert "0 to add, 1 to change, 0 to replace, 0 to destroy" in top(markdown)


def test_vpc_cidr_change_is_flagged_at_the_top_as_a_replacement(synth: Any) -> None:
    """CUSTOM (one region, eu-west-1) with its network moved."""
    stacks, markdown = report(synth(CUSTOM).outdir, synth(CUSTOM_MOVED).outdir)
    flagged = [line for line in top(markdown).splitlines() if line.startswith("- **replace** ")]
    assert any(
        line.startswith("- **replace** `aws_vpc.") and line.endswith("`cidr_block` forces replacement")
        for line in flagged
    )
    assert len([line for line in flagged if line.startswith("- **replace** `aws_subnet.")]) == 2
    # What hangs on the VPC's id goes with it; everything stays in the region.
    assert any(
        line.startswith("- **replace** `aws_security_group.") and "`vpc_id` refers to `aws_vpc." in line
        for line in flagged
    )
    assert {item.region for item in resources(stacks) if item.action != "update"} == {"eu-west-1"}
    assert f"{len(flagged)} to replace, 0 to destroy" in top(markdown)


def test_removed_region_flags_its_destroys(default: Synth, three_regions: Synth) -> None:
    stacks, markdown = report(three_regions.outdir, default.outdir)
    destroyed = [item for item in resources(stacks) if item.action == "delete"]
    # And, in each other region, the alarm on replication to it.
    elsewhere = [item for item in destroyed if item.region != "eu-west-1"]
    assert {item.address.split(".")[1].split("_")[2] for item in elsewhere} == {"replication-eu-west-1"}
    assert len(destroyed) - len(elsewhere) == resource_count(three_regions, "eu-west-1")
    assert f"0 to replace, {len(destroyed)} to destroy" in top(markdown)
    # The region's own stack leaves the app whole: it says so, and how it is destroyed.
    assert "- **stack removed** `iac-aws-nova-dev-eu-west-1`: its " in top(markdown)
    # The global stack loses the region's key and copy of the table, each named.
    flagged = [line for line in top(markdown).splitlines() if line.startswith("- **destroy** ")]
    # (And the bootstrap stack its API Gateway account setting and AWS Config rules there, counted
    # by type, and each other region its alarm on replication to it.)
    assert flagged and all(
        "(iac-aws-nova-dev-global · eu-west-1)" in line
        or "in `eu-west-1` (iac-aws-nova-bootstrap)" in line
        or "_monitoring_replication-eu-west-1_" in line
        for line in flagged
    )
    assert any("aws_dynamodb_table_replica." in line for line in flagged)
    # Terraform cannot destroy them once their provider is gone too.
    assert "- **provider removed with its resources** `aws.eu-west-1` (iac-aws-nova-dev-global)" in top(markdown)


# A region's removal (docs/operations.md, Removing a region), the stacks that keep a provider per
# region: step 1 (eu-west-1 in removing_regions), step 3 (it has left regions: retired), step 4 (gone).
REMOVAL_STACKS = ("global", "bootstrap")
STEP_1 = dataclasses.replace(THREE_REGIONS, removing_regions=("eu-west-1",))
STEP_3 = StackConfig(removing_regions=("eu-west-1",))
STEP_4 = StackConfig()


def test_a_retired_region_is_destroyed_through_the_provider_it_keeps(synth: Any) -> None:
    before, after = (synth(config, only=REMOVAL_STACKS) for config in (STEP_1, STEP_3))
    stacks, markdown = report(before.outdir, after.outdir)
    destroyed = [item for item in resources(stacks) if item.action == "delete"]
    assert {item.region for item in destroyed} == {"eu-west-1"}
    assert any(item.address.startswith("aws_dynamodb_table_replica.") for item in destroyed)
    assert "provider removed with its resources" not in markdown


def test_the_retired_regions_provider_goes_alone_in_the_last_step(synth: Any) -> None:
    before, after = (synth(config, only=REMOVAL_STACKS) for config in (STEP_3, STEP_4))
    stacks, markdown = report(before.outdir, after.outdir)
    assert resources(stacks) == []
    assert [stack.name for stack in stacks if stack.providers] == ["iac-aws-nova-bootstrap", "iac-aws-nova-dev-global"]
    assert "provider removed with its resources" not in markdown


def test_same_inputs_give_byte_identical_output(
    default: Synth, three_regions: Synth, capsys: pytest.CaptureFixture[str]
) -> None:
    outputs = []
    for _ in range(2):
        assert synth_diff.main([str(default.outdir), str(three_regions.outdir)]) == 0
        outputs.append(capsys.readouterr().out)
    assert outputs[0] == outputs[1]


# ---- hand-written stacks ---------------------------------------------------------------------------


def write_out(root: Path, stack: dict[str, Any], name: str = "app") -> Path:
    """A cdktf.out directory with one stack."""
    (root / "stacks" / name).mkdir(parents=True)
    (root / "stacks" / name / "cdk.tf.json").write_text(json.dumps(stack))
    manifest = {"stacks": {name: {"synthesizedStackPath": f"stacks/{name}/cdk.tf.json"}}}
    (root / "manifest.json").write_text(json.dumps(manifest))
    return root


def one_resource(kind: str, name: str, body: dict[str, Any]) -> dict[str, Any]:
    meta = {"//": {"metadata": {"path": f"app/{name}", "uniqueId": name}}}
    return {"resource": {kind: {name: {**meta, "provider": "aws.us-east-1", **body}}}}


def diff_one(
    tmp_path: Path,
    kind: str,
    old: dict[str, Any],
    new: dict[str, Any],
    old_name: str = "thing",
    new_name: str = "thing",
) -> str:
    base = write_out(tmp_path / "base", one_resource(kind, old_name, old))
    head = write_out(tmp_path / "head", one_resource(kind, new_name, new))
    return report(base, head)[1]


def test_changed_construct_id_reads_as_a_rename(tmp_path: Path) -> None:
    markdown = diff_one(
        tmp_path,
        "aws_sns_topic",
        {"name": "alarms"},
        {"name": "alarms"},
        old_name="monitoring_topic_1A2B3C4D",
        new_name="alerts_topic_5E6F7A8B",
    )
    assert "1 to add, 0 to change, 0 to replace, 1 to destroy" in top(markdown)
    assert (
        "- **destroy + create** `aws_sns_topic.alerts_topic_5E6F7A8B` (app · us-east-1): address changed: "
        "looks like a rename of `aws_sns_topic.monitoring_topic_1A2B3C4D` → `aws_sns_topic.alerts_topic_5E6F7A8B` "
        "(same type and same attributes)"
    ) in top(markdown)


def test_json_string_attributes_are_compared_as_json(tmp_path: Path) -> None:
    def policy(service: str, reorder: bool = False) -> str:
        statement = {"Action": "sts:AssumeRole", "Effect": "Allow", "Principal": {"Service": service}}
        document = {"Statement": [statement], "Version": "2012-10-17"}
        return json.dumps(dict(reversed(document.items())) if reorder else document)

    markdown = diff_one(
        tmp_path,
        "aws_iam_role",
        {"name": "fn", "assume_role_policy": policy("lambda.amazonaws.com")},
        {"name": "fn", "assume_role_policy": policy("edgelambda.amazonaws.com", reorder=True)},
    )
    assert (
        '  - `assume_role_policy (JSON) Statement[0].Principal.Service`: `"lambda.amazonaws.com"` → '
        '`"edgelambda.amazonaws.com"`\n'
    ) in markdown
    assert "Version" not in markdown  # reordered keys are no change
    assert "- `aws_iam_role.thing`: update in place" in markdown
    assert "None: nothing is replaced or destroyed." in top(markdown)


def test_long_values_are_shortened_and_huge_json_hidden(tmp_path: Path) -> None:
    long = "x" * 150 + "-end"
    document = json.dumps({"Statement": [{"Sid": f"S{i}", "Effect": "Allow"} for i in range(20)]})
    markdown = diff_one(
        tmp_path,
        "aws_s3_bucket_policy",
        {"bucket": "b", "description": "short"},
        {"bucket": "b", "description": long, "policy": document},
    )
    line = next(line for line in markdown.splitlines() if "`description`" in line)
    assert "…" in line and line.endswith('-end"`') and len(line) < 120
    assert "  - `policy`: (absent) → (sensitive/large)" in markdown


def test_new_package_is_said_to_be_a_code_change(tmp_path: Path) -> None:
    old = {"function_name": "fn", "filename": f"assets/fn_package_1A2B3C4D/{'A' * 32}/fn.zip", "source_code_hash": "x="}
    new = {**old, "filename": f"assets/fn_package_1A2B3C4D/{'B' * 32}/fn.zip", "source_code_hash": "y="}
    markdown = diff_one(tmp_path, "aws_lambda_function", old, new)
    assert (
        "  - code changed: new deployment package (`filename` asset AAAAAAAA… → BBBBBBBB…, `source_code_hash` "
        "changed)\n"
    ) in markdown
    assert "`source_code_hash`:" not in markdown


def test_missing_directory_is_a_one_line_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    head = write_out(tmp_path / "head", one_resource("aws_sns_topic", "t", {"name": "t"}))
    assert synth_diff.main([str(tmp_path / "nowhere"), str(head)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == f"error: {tmp_path / 'nowhere'}: no such directory\n"


def test_directory_without_stacks_is_an_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert synth_diff.main([str(tmp_path), str(tmp_path)]) == 2
    assert capsys.readouterr().err.startswith(f"error: {tmp_path}: no stacks")
