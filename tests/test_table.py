"""The global table: created in the home region, a replica in every other region, each encrypted
with its own region's key, with point-in-time recovery and deletion protection."""

import pytest
from conftest import address_at, one, resources

from constructs_lib.blocks.naming import Namer
from constructs_lib.blocks.table import TableConfig


def test_table_in_the_home_region_on_demand_with_a_stream(dev):
    table = one(resources(dev, "aws_dynamodb_table"))
    assert table["provider"] == "aws.us-east-1"
    assert table["name"] == "iac-aws-nova-items-dev"
    assert table["billing_mode"] == "PAY_PER_REQUEST"
    assert (table["hash_key"], table["attribute"]) == ("id", [{"name": "id", "type": "S"}])
    assert "range_key" not in table
    # Global tables replicate through the stream.
    assert (table["stream_enabled"], table["stream_view_type"]) == (True, "NEW_AND_OLD_IMAGES")


def test_table_has_point_in_time_recovery_and_deletion_protection(dev):
    table = one(resources(dev, "aws_dynamodb_table"))
    assert table["point_in_time_recovery"] == {"enabled": True}
    assert table["deletion_protection_enabled"] is True


def test_table_is_encrypted_with_the_home_regions_key(dev):
    encryption = one(resources(dev, "aws_dynamodb_table"))["server_side_encryption"]
    assert encryption["enabled"] is True
    assert encryption["kms_key_arn"] == "${" + address_at(dev, "aws_kms_key", "us-east-1/key/key") + ".arn}"


def test_table_leaves_its_replicas_to_the_replica_resources(dev):
    table = one(resources(dev, "aws_dynamodb_table"))
    assert table["lifecycle"]["ignore_changes"] == ["replica"]
    assert "replica" not in table


def test_one_replica_in_every_other_region_with_its_own_key(dev):
    replica = one(resources(dev, "aws_dynamodb_table_replica"))
    assert replica["provider"] == "aws.us-west-2"
    table = address_at(dev, "aws_dynamodb_table", "table/table")
    assert replica["global_table_arn"] == "${" + table + ".arn}"
    assert replica["kms_key_arn"] == "${" + address_at(dev, "aws_kms_key", "us-west-2/key/key") + ".arn}"
    assert (replica["point_in_time_recovery"], replica["deletion_protection_enabled"]) == (True, True)


def test_the_home_region_holds_the_table_wherever_it_is_listed(global_stack):
    assert one(resources(global_stack, "aws_dynamodb_table"))["provider"] == "aws.eu-west-1"
    assert one(resources(global_stack, "aws_dynamodb_table_replica"))["provider"] == "aws.us-east-1"


def test_a_single_region_table_has_no_replica(open_stack):
    assert one(resources(open_stack, "aws_dynamodb_table"))["provider"] == "aws.eu-west-1"
    assert not resources(open_stack, "aws_dynamodb_table_replica")


def test_deletion_protection_can_be_turned_off_on_the_table_and_every_replica(variants):
    stack = variants.stack("variant-cognito")  # two regions, table_deletion_protection off
    copies = resources(stack, "aws_dynamodb_table") + resources(stack, "aws_dynamodb_table_replica")
    assert [c["provider"] for c in copies] == ["aws.eu-west-1", "aws.eu-central-1"]
    assert all(c["deletion_protection_enabled"] is False for c in copies)
    # Teardown: the same switch lets Terraform plan their destruction.
    assert all("prevent_destroy" not in c.get("lifecycle", {}) for c in copies)


def test_a_plan_that_would_destroy_a_protected_copy_stops_before_aws(dev):
    """prevent_destroy on the table and every replica: a changed home region, or a region removed,
    fails the plan instead of deleting data (turn table_deletion_protection off first, on purpose)."""
    copies = resources(dev, "aws_dynamodb_table") + resources(dev, "aws_dynamodb_table_replica")
    assert len(copies) == 2
    assert all(c["lifecycle"]["prevent_destroy"] is True for c in copies)


def test_table_name_is_the_same_in_every_region_and_names_the_environment():
    config = TableConfig(namer=Namer("shop", "qa"), home_region="eu-west-1", replica_regions=("us-east-1",))
    assert config.table_name == "shop-items-qa"


@pytest.mark.parametrize(
    ("replicas", "message"),
    [
        (("eu-west-1",), "replica_regions: 'eu-west-1' is the home region"),
        (("us-east-1", "us-east-1"), "replica_regions: \\['us-east-1', 'us-east-1'\\] lists a region more than once"),
    ],
)
def test_table_config_refuses_bad_replica_lists(replicas, message):
    with pytest.raises(ValueError, match=message):
        TableConfig(namer=Namer("shop", "qa"), home_region="eu-west-1", replica_regions=replicas)
