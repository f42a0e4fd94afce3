"""The naming helper: one pattern, every AWS limit respected, shortening stable and unique."""

import re

import pytest

from constructs_lib.blocks.naming import LIMITS, Namer

LONG = Namer("a-very-long-project-name", "staging-eu1")


def test_pattern_is_project_component_region_environment():
    assert Namer("shop", "prod").name("fn", "eu-west-1", kind="lambda_function") == "shop-fn-eu-west-1-prod"


@pytest.mark.parametrize("kind", sorted(LIMITS))
def test_long_names_fit_the_limit_of_their_kind(kind):
    name = LONG.name("component-with-a-long-name" * 3, "ap-southeast-5", kind=kind)
    assert len(name) <= LIMITS[kind]


def test_shortened_names_stay_unique_and_stable():
    a = LONG.name("api-4xx-alarm-component", "ap-southeast-5", kind="lambda_function")
    b = Namer("a-very-long-project-name", "staging-eu2").name(
        "api-4xx-alarm-component", "ap-southeast-5", kind="lambda_function"
    )
    assert a != b
    assert a == LONG.name("api-4xx-alarm-component", "ap-southeast-5", kind="lambda_function")
    assert re.search(r"-[0-9a-f]{8}$", a)


def test_unknown_kind_is_refused():
    with pytest.raises(ValueError, match="kind: 'queue' is not a known resource type"):
        LONG.name("x", "us-east-1", kind="queue")


def test_bucket_names_follow_s3_rules():
    name = LONG.bucket_name("artifacts", "ap-southeast-5", suffix="123456789012")
    assert len(name) <= 63
    assert re.fullmatch(r"[a-z0-9][a-z0-9-]{1,61}[a-z0-9]", name)


def test_bucket_prefix_leaves_room_for_the_account_id():
    prefix = LONG.bucket_prefix("artifacts", "ap-southeast-5", suffix_length=12)
    assert len(f"{prefix}-123456789012") <= 63


def test_short_bucket_names_are_not_shortened():
    assert (
        Namer("shop", "dev").bucket_name("artifacts", "us-east-1", suffix="abc") == "shop-artifacts-us-east-1-dev-abc"
    )
