"""Configuration: defaults, every validation rule, and how context reaches the config."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from constructs_lib.config import ConfigError, StackConfig, configs_from_context, read_context


def refused(match: str, **settings):
    with pytest.raises(ConfigError, match=match) as info:
        StackConfig(**settings)
    return str(info.value)


def test_defaults():
    config = StackConfig()
    assert config.project_name == "iac-aws-nova"
    assert config.environment == "dev"
    assert config.regions == ("us-east-1", "us-west-2")
    assert config.home_region == "us-east-1"
    assert config.state_bucket is None
    assert config.lambda_memory_mb == 128
    assert config.lambda_timeout_seconds == 30
    assert config.lambda_provisioned_concurrency == 0


def test_home_region_defaults_to_first_region():
    assert StackConfig(regions=("eu-west-1", "us-east-1")).home_region == "eu-west-1"


def test_state_key_derives_from_project_and_environment():
    assert StackConfig(project_name="shop", environment="prod").state_key == "shop/prod/terraform.tfstate"


def test_default_vpc_cidrs_do_not_overlap_and_do_not_depend_on_order():
    a = StackConfig(regions=("us-east-1", "eu-west-1"))
    b = StackConfig(regions=("eu-west-1", "us-east-1"))
    assert a.vpc_cidr("us-east-1") == b.vpc_cidr("us-east-1")
    assert a.vpc_cidr("us-east-1") != a.vpc_cidr("eu-west-1")


# -- regions ------------------------------------------------------------------------------------
def test_unknown_region_is_refused_with_nearest_name():
    message = refused("regions", regions=("us-east-9",))
    assert "'us-east-9' is not a known AWS commercial region" in message


def test_misspelled_region_suggests_the_real_one():
    assert "did you mean 'eu-west-1'" in refused("regions", regions=("eu-wset-1",))


def test_malformed_region_is_refused():
    assert "is not a region name" in refused("regions", regions=("US_EAST_1",))


def test_duplicate_regions_are_refused():
    assert "lists us-east-1 more than once" in refused("regions", regions=("us-east-1", "us-west-2", "us-east-1"))


def test_empty_region_list_is_refused():
    assert "must name at least one region" in refused("regions", regions=())


def test_region_given_as_a_string_is_refused():
    assert "not a single string" in refused("regions", regions="us-east-1")


def test_home_region_outside_the_list_is_refused():
    message = refused("home_region", home_region="eu-west-1")
    assert "'eu-west-1' must be one of the configured regions (us-east-1, us-west-2)" in message


def test_other_partitions_are_refused():
    assert "not a known AWS commercial region" in refused("regions", regions=("us-gov-west-1",))


# -- names --------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["", "A", "Shop", "my_shop", "shop-", "-shop", "1shop", "sh--op", "x" * 25])
def test_bad_project_names_are_refused(name):
    assert "project_name" in refused("project_name", project_name=name)


@pytest.mark.parametrize("name", ["", "Prod", "pr_od", "prod-", "production-eu1"])
def test_bad_environment_names_are_refused(name):
    assert "environment" in refused("environment", environment=name)


def test_reserved_environment_name_is_refused():
    assert "is reserved" in refused("environment", environment="bootstrap")


def test_project_name_error_names_the_value_and_the_rule():
    message = refused("project_name", project_name="My_Shop")
    assert message.startswith("project_name: 'My_Shop' must be 2 to 24 lowercase letters")


# -- numbers ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "setting",
    [
        "lambda_timeout_seconds",
        "lambda_reserved_concurrency",
        "api_throttle_burst_requests",
        "alarm_errors_threshold",
        "alarm_duration_threshold_ms",
        "alarm_api_4xx_threshold",
        "artifacts_noncurrent_version_days",
    ],
)
@pytest.mark.parametrize("value", [0, -5])
def test_non_positive_numbers_are_refused(setting, value):
    assert "must be positive" in refused(setting, **{setting: value})


def test_memory_below_lambda_minimum_is_refused():
    assert "must be at least 128" in refused("lambda_memory_mb", lambda_memory_mb=0)


def test_throttle_rate_must_be_positive():
    assert "must be positive" in refused("api_throttle_rate_per_second", api_throttle_rate_per_second=0)


def test_negative_thresholds_that_may_be_zero_are_refused():
    assert "must be at least 0" in refused("alarm_api_5xx_threshold", alarm_api_5xx_threshold=-1)


def test_booleans_are_not_numbers():
    assert "must be a whole number (got bool)" in refused("lambda_memory_mb", lambda_memory_mb=True)


def test_strings_are_not_numbers():
    assert "must be a whole number (got str)" in refused("lambda_timeout_seconds", lambda_timeout_seconds="30")


def test_timeout_above_lambda_maximum_is_refused():
    assert "must be at most 900" in refused("lambda_timeout_seconds", lambda_timeout_seconds=901)


def test_provisioned_concurrency_above_reserved_is_refused():
    message = refused("lambda_provisioned_concurrency", lambda_reserved_concurrency=2, lambda_provisioned_concurrency=3)
    assert "must not exceed lambda_reserved_concurrency (2)" in message


def test_log_retention_must_be_a_cloudwatch_value():
    assert "is not a retention CloudWatch accepts" in refused("log_retention_days", log_retention_days=31)


def test_retired_runtime_is_refused():
    assert "3.9 is retired" in refused("lambda_runtime", lambda_runtime="python3.9")


# -- other settings -----------------------------------------------------------------------------
def test_overlapping_vpc_cidrs_are_refused():
    message = refused("vpc_cidrs", vpc_cidrs={"us-west-2": "10.10.0.0/20"})
    assert "overlaps the VPC of us-east-1" in message


def test_public_vpc_cidr_is_refused():
    assert "private" in refused("vpc_cidrs", vpc_cidrs={"us-east-1": "8.8.0.0/16"})


def test_vpc_cidr_for_unconfigured_region_is_refused():
    assert "is not one of the configured regions" in refused("vpc_cidrs", vpc_cidrs={"eu-west-1": "10.1.0.0/16"})


def test_invalid_state_bucket_is_refused():
    assert "is not a valid S3 bucket name" in refused("state_bucket", state_bucket="My_Bucket")


def test_invalid_alarm_email_is_refused():
    assert "is not an e-mail address" in refused("alarm_email", alarm_email="ops-at-example.com")


def test_domain_name_and_hosted_zone_id_come_together():
    refused(
        r"^hosted_zone_id: None must be set together with domain_name \('api.example.com'\)$",
        domain_name="api.example.com",
    )
    refused(r"^domain_name: None must be set together with hosted_zone_id \('Z123'\)$", hosted_zone_id="Z123")


@pytest.mark.parametrize(
    ("name", "rule"),
    [
        ("example", "must have at least two labels"),
        ("API.example.com", "has the label 'API': each label must be 1 to 63 of a-z, 0-9 and '-'"),
        ("api.example.com.", "has the label '': each label must be 1 to 63"),
        ("-api.example.com", "has the label '-api'"),
        ("a" * 60 + ".example.com", "is 72 characters long; the certificate's Common Name has at most 64"),
    ],
)
def test_bad_domain_names_are_refused(name, rule):
    message = refused("^domain_name: ", domain_name=name, hosted_zone_id="Z0123456789ABCDEFGHIJ")
    assert rule in message and repr(name) in message


@pytest.mark.parametrize("zone", ["z123", "/hostedzone/Z123", "Z", "Z" + "A" * 32])
def test_bad_hosted_zone_ids_are_refused(zone):
    refused("^hosted_zone_id: .* is not a Route 53 hosted zone id", domain_name="api.example.com", hosted_zone_id=zone)


def test_async_settings_have_defaults_and_limits():
    config = StackConfig()
    assert (config.table_deletion_protection, config.queue_max_receive_count) == (True, 5)
    assert (config.worker_memory_mb, config.worker_timeout_seconds, config.alarm_queue_age_threshold_seconds) == (
        128,
        30,
        900,
    )
    refused("^queue_max_receive_count: 1001 must be at most 1000$", queue_max_receive_count=1001)
    refused("^worker_memory_mb: 64 must be at least 128$", worker_memory_mb=64)
    refused("^worker_timeout_seconds: 901 must be at most 900$", worker_timeout_seconds=901)
    refused("^table_deletion_protection: 'no' must be true or false$", table_deletion_protection="no")


def test_reserved_tags_cannot_be_overridden():
    assert "cannot be set" in refused("tags.Project", tags={"Project": "other"})


# -- context ------------------------------------------------------------------------------------
def test_context_builds_one_config():
    [config] = configs_from_context({"project_name": "shop", "regions": ["eu-west-1"]})
    assert (config.project_name, config.regions) == ("shop", ("eu-west-1",))


def test_misspelled_setting_is_refused_with_nearest_name():
    with pytest.raises(
        ConfigError, match=r"^lambda_memroy_mb: is not a known setting; did you mean 'lambda_memory_mb'\?"
    ):
        configs_from_context({"lambda_memroy_mb": 256})


def test_cdktf_flags_in_context_pass():
    [config] = configs_from_context({"excludeStackIdFromLogicalIds": "true", "allowSepCharsInLogicalIds": "true"})
    assert config == StackConfig()


def test_environments_make_one_config_each_with_overrides():
    configs = configs_from_context({"environments": {"dev": {}, "prod": {"lambda_memory_mb": 512}}})
    assert [(c.environment, c.lambda_memory_mb) for c in configs] == [("dev", 128), ("prod", 512)]


def test_environments_as_a_list_of_names():
    configs = configs_from_context({"environments": ["dev", "staging"]})
    assert [c.stack_name for c in configs] == ["iac-aws-nova-dev", "iac-aws-nova-staging"]


def test_error_in_one_environment_names_it():
    with pytest.raises(ConfigError, match=r"^environments\.prod\.regions: \[\] must name at least one region"):
        configs_from_context({"environments": {"dev": {}, "prod": {"regions": []}}})


def test_environment_and_environments_together_are_refused():
    with pytest.raises(ConfigError, match="cannot be set together with 'environments'"):
        configs_from_context({"environment": "dev", "environments": ["prod"]})


def write_cdktf_json(directory: Path, context: dict) -> Path:
    (directory / "cdktf.json").write_text(json.dumps({"app": "python main.py", "context": context}))
    return directory


def test_context_is_read_from_cdktf_json(tmp_path):
    write_cdktf_json(tmp_path, {"project_name": "shop", "regions": ["eu-west-1"]})
    assert read_context(tmp_path, environ={}) == {"project_name": "shop", "regions": ["eu-west-1"]}


def test_cdktf_context_json_overrides_key_by_key(tmp_path):
    write_cdktf_json(tmp_path, {"project_name": "shop", "regions": ["eu-west-1"]})
    environ = {"CDKTF_CONTEXT_JSON": json.dumps({"regions": ["us-east-1", "eu-west-1"]})}
    assert read_context(tmp_path, environ=environ) == {"project_name": "shop", "regions": ["us-east-1", "eu-west-1"]}


def test_malformed_cdktf_context_json_is_refused(tmp_path):
    with pytest.raises(ConfigError, match="^CDKTF_CONTEXT_JSON: is not valid JSON"):
        read_context(tmp_path, environ={"CDKTF_CONTEXT_JSON": "{regions:"})


def test_project_cdktf_json_context_gives_the_defaults():
    root = Path(__file__).resolve().parent.parent
    assert configs_from_context(read_context(root, environ={})) == [StackConfig()]
