"""Configuration: defaults, every validation rule, and how context reaches the config."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from constructs_lib.settings import ConfigError, StackConfig, configs_from_context, load_settings
from constructs_lib.settings.config import StateLocation
from constructs_lib.settings.regions import KNOWN_REGIONS, zone_id_prefix


def refused(match: str, **settings):
    with pytest.raises(ConfigError, match=match) as info:
        StackConfig(**settings)
    return str(info.value)


def test_defaults():
    config = StackConfig()
    assert config.project_name == "iac-aws-nova"
    assert config.environment == "dev"
    assert config.regions == ("us-east-1", "us-west-2")
    assert config.home == "us-east-1"
    assert config.state_bucket is None
    assert config.lambda_memory_mb == 128
    assert config.lambda_timeout_seconds == 30
    assert config.lambda_provisioned_concurrency == 0


def test_home_region_defaults_to_the_only_region_or_us_east_1_with_the_default_two():
    assert (StackConfig(regions=("eu-west-1",)).home, StackConfig().home) == ("eu-west-1", "us-east-1")
    config = StackConfig(regions=("eu-west-1", "us-east-1"), home_region="us-east-1")
    assert (config.home_region, config.home) == ("us-east-1", "us-east-1")


@pytest.mark.parametrize("regions", [("eu-west-1", "us-east-1"), ("us-west-2", "us-east-1")])
def test_several_regions_need_an_explicit_home_region(regions):
    """Taken from the order of regions, the home region (and the global table with it) would move
    when the list is reordered: the default two regions in another order are refused too."""
    with pytest.raises(ConfigError) as refusal:
        StackConfig(regions=regions)
    assert str(refusal.value) == (
        f"home_region: must be set with more than one region: one of ({', '.join(regions)}), the region that "
        "holds the global table (taken from the order of regions, a reordered list would move the table and "
        "destroy a replica)"
    )


def test_state_defaults_resolve_from_the_home_region_project_and_environment():
    config = StackConfig(project_name="shop", environment="prod", regions=("eu-west-1",))
    assert config.state_of("global") == StateLocation(bucket=None, region="eu-west-1", key="shop/prod/global.tfstate")
    assert config.state_of("eu-west-1").key == "shop/prod/eu-west-1.tfstate"


def test_state_settings_as_set_win_over_the_defaults():
    config = StackConfig(state_bucket="tf-state", state_region="us-west-2", state_key="a/{stack}.tfstate")
    assert config.state_of("us-east-1") == StateLocation(
        bucket="tf-state", region="us-west-2", key="a/us-east-1.tfstate"
    )
    assert config.state_regions == ("us-west-2",)


def test_a_bucket_per_region_keeps_each_regions_state_in_that_region():
    config = StackConfig(state_bucket="acme-{region}-tfstate")
    assert config.state_of("us-west-2") == StateLocation(
        bucket="acme-us-west-2-tfstate", region="us-west-2", key="iac-aws-nova/dev/us-west-2.tfstate"
    )
    # The global and edge stacks: the home region.
    assert config.state_of("edge").bucket == "acme-us-east-1-tfstate"
    assert config.state_regions == ("us-east-1", "us-west-2")


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        (
            {"state_key": "a/b.tfstate"},
            'state_key: "a/b.tfstate" must contain {stack}: each of the environment\'s stacks (global, edge, one '
            'per region) keeps its own state, for example "a/{stack}.tfstate"',
        ),
        (
            {"state_bucket": "acme-{region}-{env}"},
            'state_bucket: "acme-{region}-{env}" may contain {region} and no other placeholder',
        ),
        (
            {"state_bucket": "a-very-long-state-bucket-name-for-every-region-of-ours-{region}"},
            'state_bucket: "a-very-long-state-bucket-name-for-every-region-of-ours-{region}" is not a valid S3 '
            "bucket name once {region} is a region such as ap-northeast-1 "
            "(3 to 63 lowercase letters, digits, dots, hyphens)",
        ),
        (
            {"state_bucket": "acme-{region}", "state_region": "us-east-1"},
            'state_region: "us-east-1" must not be set when state_bucket names one bucket per region '
            "(acme-{region}): each stack's state is in its own region",
        ),
        (
            {"bootstrap_state": "remote"},
            'bootstrap_state: "remote" needs state_bucket: the bootstrap keeps its remote state in the home '
            "region's state bucket",
        ),
        ({"bootstrap_state": "s3"}, 'bootstrap_state: "s3" must be local, remote'),
        (
            {"removing_regions": ["us-east-1"]},
            'removing_regions: ["us-east-1"] lists the home region us-east-1, which holds the table itself: '
            "it cannot be removed",
        ),
        (
            {"removing_regions": ["eu-west-9"]},
            'removing_regions: "eu-west-9" is not a known AWS commercial region; did you mean "eu-west-3"? '
            f"(known: {', '.join(KNOWN_REGIONS)})",
        ),
    ],
)
def test_state_and_region_removal_settings_are_refused_with_the_rule(settings, message):
    with pytest.raises(ConfigError) as caught:
        StackConfig(**settings)
    assert str(caught.value) == message


def test_a_removing_region_that_has_left_regions_is_retired_not_refused():
    """Step 3 of a region's removal: gone from regions, still in removing_regions (its provider stays)."""
    config = StackConfig(regions=("us-east-1",), removing_regions=("us-west-2", "us-west-2"))
    assert (config.retired_regions, config.leaving_regions, config.routed_regions) == (
        ("us-west-2",),
        (),
        ("us-east-1",),
    )
    leaving = StackConfig(removing_regions=("us-west-2",))
    assert (leaving.retired_regions, leaving.leaving_regions) == ((), ("us-west-2",))


def test_default_vpc_cidrs_do_not_overlap_and_do_not_depend_on_order():
    a = StackConfig(regions=("us-east-1", "eu-west-1"), home_region="us-east-1")
    b = StackConfig(regions=("eu-west-1", "us-east-1"), home_region="us-east-1")
    assert a.vpc_cidr("us-east-1") == b.vpc_cidr("us-east-1")
    assert a.vpc_cidr("us-east-1") != a.vpc_cidr("eu-west-1")


# -- regions ------------------------------------------------------------------------------------
def test_unknown_region_is_refused_with_nearest_name():
    message = refused("regions", regions=("us-east-9",))
    assert '"us-east-9" is not a known AWS commercial region' in message


def test_misspelled_region_suggests_the_real_one():
    assert 'did you mean "eu-west-1"' in refused("regions", regions=("eu-wset-1",))


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
    assert '"eu-west-1" must be one of the configured regions (us-east-1, us-west-2)' in message


def test_other_partitions_are_refused():
    assert "not a known AWS commercial region" in refused("regions", regions=("us-gov-west-1",))


# -- names --------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["", "A", "Shop", "my_shop", "shop-", "-shop", "1shop", "sh--op", "x" * 25])
def test_bad_project_names_are_refused(name):
    assert "project_name" in refused("project_name", project_name=name)


@pytest.mark.parametrize("name", ["", "Prod", "pr_od", "prod-", "production-eu1"])
def test_bad_environment_names_are_refused(name):
    assert "environment" in refused("environment", environment=name)


@pytest.mark.parametrize(
    ("name", "why"),
    [
        (
            "bootstrap",
            "the account's bootstrap stack is named <project_name>-bootstrap, which would be this "
            "environment's stack name",
        ),
        (
            "shared",
            'the account\'s bootstrap stack names its resources as environment "shared", so this '
            "environment's resources would have the same names",
        ),
    ],
)
def test_a_reserved_environment_name_is_refused_with_the_reason(name, why):
    message = refused("environment", environment=name)
    assert message == f'environment: "{name}" is a reserved environment name: {why}'


def test_project_name_error_names_the_value_and_the_rule():
    message = refused("project_name", project_name="My_Shop")
    assert message.startswith('project_name: "My_Shop" must be 2 to 24 lowercase letters')


# -- numbers ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "setting",
    [
        "lambda_reserved_concurrency",
        "api_throttle_burst_requests",
        "alarm_errors_threshold",
        "alarm_duration_threshold_ms",
        "alarm_api_latency_p99_ms",
        "artifacts_noncurrent_version_days",
    ],
)
@pytest.mark.parametrize("value", [0, -5])
def test_non_positive_numbers_are_refused(setting, value):
    assert "must be positive" in refused(setting, **{setting: value})


@pytest.mark.parametrize("value", [0, 7])
def test_an_api_function_timeout_too_short_for_one_table_read_is_refused(value):
    assert refused("lambda_timeout_seconds", lambda_timeout_seconds=value) == (
        f"lambda_timeout_seconds: {value} must be at least 8"
    )


def test_memory_below_lambda_minimum_is_refused():
    assert "must be at least 128" in refused("lambda_memory_mb", lambda_memory_mb=0)


def test_throttle_rate_must_be_positive():
    assert "must be positive" in refused("api_throttle_rate_per_second", api_throttle_rate_per_second=0)


def test_negative_thresholds_that_may_be_zero_are_refused():
    assert "must be at least 0" in refused("alarm_throttles_threshold", alarm_throttles_threshold=-1)


@pytest.mark.parametrize("value", [0, 101])
def test_a_rate_is_a_percentage(value):
    assert refused("alarm_api_5xx_rate_percent", alarm_api_5xx_rate_percent=value).startswith(
        f"alarm_api_5xx_rate_percent: {value} must be "
    )


def test_booleans_are_not_numbers():
    assert "must be a whole number (got a boolean)" in refused("lambda_memory_mb", lambda_memory_mb=True)


def test_strings_are_not_numbers():
    assert "must be a whole number (got a string)" in refused("lambda_timeout_seconds", lambda_timeout_seconds="30")


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
    """The error names the key the user wrote, not the one they left out."""
    refused(
        r'^domain_name: "api.example.com" needs hosted_zone_id too: the Route 53 public hosted zone that holds it$',
        domain_name="api.example.com",
    )
    refused(r'^hosted_zone_id: "Z123" needs domain_name too: the one name callers use$', hosted_zone_id="Z123")


@pytest.mark.parametrize(
    ("name", "rule"),
    [
        ("example", "must have at least two labels"),
        ("API.example.com", """has the label "API": each label must be 1 to 63 of a-z, 0-9 and '-'"""),
        ("api.example.com.", 'has the label "": each label must be 1 to 63'),
        ("-api.example.com", 'has the label "-api"'),
        ("a" * 60 + ".example.com", "is 72 characters long; the certificate's Common Name has at most 64"),
    ],
)
def test_bad_domain_names_are_refused(name, rule):
    message = refused("^domain_name: ", domain_name=name, hosted_zone_id="Z0123456789ABCDEFGHIJ")
    assert rule in message and json.dumps(name) in message


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
    refused('^table_deletion_protection: "no" must be true or false$', table_deletion_protection="no")


def test_reserved_tags_cannot_be_overridden():
    assert "cannot be set" in refused("tags.Project", tags={"Project": "other"})


# -- settings: where they come from ----------------------------------------------------------------
ROOT = Path(__file__).resolve().parent.parent


def test_context_builds_one_config():
    [config] = configs_from_context({"project_name": "shop", "regions": ["eu-west-1"]})
    assert (config.project_name, config.regions) == ("shop", ("eu-west-1",))


@pytest.mark.parametrize(
    "key", ["lambda_memroy_mb", "lambdaMemoryMb", "LambdaMemoryMB", "lambda-memory-mb", "LAMBDA_MEMORY_MB"]
)
def test_a_misspelled_key_of_any_case_or_style_is_refused_with_the_nearest_setting(key):
    with pytest.raises(ConfigError) as info:
        configs_from_context({key: 256})
    assert (
        str(info.value)
        == f'{key}: is not a known setting; did you mean "lambda_memory_mb"? (see docs/configuration.md)'
    )


def test_a_capitalised_setting_is_not_taken_for_a_cdktf_flag():
    with pytest.raises(ConfigError, match=r'^Regions: is not a known setting; did you mean "regions"\?'):
        configs_from_context({"Regions": ["eu-west-1"]})


def test_only_cdktfs_own_flags_pass_through(tmp_path):
    (tmp_path / "settings.json").write_text(json.dumps({"cdktfStaticModuleAssetHash": "x", "regions": ["eu-west-1"]}))
    settings = load_settings(tmp_path, environ={})
    assert settings.cdktf_flags == {"cdktfStaticModuleAssetHash": "x"}
    assert settings.configs() == [StackConfig(regions=("eu-west-1",))]
    with pytest.raises(ConfigError, match=r"^cdktfStaticModuleAssetHsh: is not a known setting; cdktf's own flags"):
        configs_from_context({"cdktfStaticModuleAssetHsh": "x"})


def test_environments_make_one_config_each_with_overrides():
    configs = configs_from_context({"environments": {"dev": {}, "prod": {"lambda_memory_mb": 512}}})
    assert [(c.environment, c.lambda_memory_mb) for c in configs] == [("dev", 128), ("prod", 512)]


def test_environments_as_a_list_of_names():
    configs = configs_from_context({"environments": ["dev", "staging"]})
    assert [c.stack_name for c in configs] == ["iac-aws-nova-dev", "iac-aws-nova-staging"]


def test_an_error_in_one_environment_names_it():
    with pytest.raises(ConfigError, match=r"^environments\.prod\.regions: \[\] must name at least one region"):
        configs_from_context({"environments": {"dev": {}, "prod": {"regions": []}}})


def test_an_error_in_a_shared_setting_names_the_key_as_written():
    """Not environments.dev.regions: the user wrote regions at the top."""
    with pytest.raises(ConfigError) as info:
        configs_from_context({"regions": [], "environments": ["dev"]})
    assert str(info.value) == "regions: [] must name at least one region"


def test_a_shared_setting_that_an_environments_own_breaks_names_the_environment():
    """staging's own regions leave out the shared home_region: the key is home_region, as written,
    and the environment is named beside it, with the likely fix."""
    context = {"home_region": "us-east-1", "environments": {"staging": {"regions": ["eu-west-1"]}, "prod": {}}}
    with pytest.raises(ConfigError) as info:
        configs_from_context(context)
    assert str(info.value) == (
        'home_region (for environments.staging): "us-east-1" must be one of the configured regions (eu-west-1): '
        "a change of regions may need home_region too"
    )


def test_a_shared_setting_wrong_for_every_environment_is_not_blamed_on_one():
    context = {"lambda_memory_mb": 1, "environments": {"dev": {"regions": ["eu-west-1"]}, "prod": {}}}
    with pytest.raises(ConfigError) as info:
        configs_from_context(context)
    assert str(info.value) == "lambda_memory_mb: 1 must be at least 128"


def test_an_error_in_an_override_says_so():
    with pytest.raises(ConfigError) as info:
        configs_from_context({"regions": ["eu-wset-1"]}, overridden=["regions"])
    assert str(info.value).startswith(
        'regions (from CDKTF_CONTEXT_JSON): "eu-wset-1" is not a known AWS commercial region; did you mean "eu-west-1"?'
    )


@pytest.mark.parametrize(
    ("context", "message"),
    [
        ({"environments": []}, "environments: [] must be a non-empty list of names or an object"),
        ({"lambda_memory_mb": True}, "lambda_memory_mb: true must be a whole number (got a boolean)"),
        ({"lambda_memory_mb": None}, "lambda_memory_mb: null must be a whole number (got null)"),
        ({"environments": {"prod": None}}, "environments.prod: null must be an object of settings"),
        (
            {"environments": {"dev": {}, "prod": {"config_recorder": True}}},
            "environments.prod.config_recorder: true is account-wide (the bootstrap stack's, one per account): "
            "set it at the top level",
        ),
        ({"domain_name": "api.example.com"}, 'domain_name: "api.example.com" needs hosted_zone_id too'),
        ({"hosted_zone_id": "Z1"}, 'hosted_zone_id: "Z1" needs domain_name too'),
    ],
)
def test_values_are_shown_as_json(context, message):
    with pytest.raises(ConfigError) as info:
        configs_from_context(context)
    assert str(info.value).startswith(message)


def test_a_cidr_with_host_bits_says_which_network_was_meant():
    with pytest.raises(ConfigError) as info:
        StackConfig(regions=("eu-west-1",), vpc_cidrs={"eu-west-1": "10.60.1.0/16"})
    assert str(info.value) == 'vpc_cidrs.eu-west-1: "10.60.1.0/16" has host bits set; did you mean "10.60.0.0/16"?'


def test_a_reserved_name_in_environments_names_environments():
    with pytest.raises(ConfigError, match=r'^environments: "shared" is a reserved environment name: '):
        configs_from_context({"environments": ["dev", "shared"]})


def test_environment_and_environments_together_are_refused():
    with pytest.raises(ConfigError, match='cannot be set together with "environments"'):
        configs_from_context({"environment": "dev", "environments": ["prod"]})


def project(directory: Path, settings: str | None, cdktf: str = '{"app": "python main.py"}') -> Path:
    (directory / "cdktf.json").write_text(cdktf)
    if settings is not None:
        (directory / "settings.json").write_text(settings)
    return directory


def test_settings_are_read_from_settings_json(tmp_path):
    project(tmp_path, json.dumps({"project_name": "shop", "regions": ["eu-west-1"]}))
    settings = load_settings(tmp_path, environ={})
    assert settings.context == {"project_name": "shop", "regions": ["eu-west-1"]}
    assert settings.origin() == "settings.json"


def test_cdktf_context_json_overrides_key_by_key_and_says_which(tmp_path):
    project(tmp_path, json.dumps({"project_name": "shop", "regions": ["eu-west-1"]}))
    overrides = {"regions": ["us-east-1", "eu-west-1"], "project_name": "shop", "cdktfRelativeModules": []}
    settings = load_settings(tmp_path, environ={"CDKTF_CONTEXT_JSON": json.dumps(overrides)})
    assert settings.context == {"project_name": "shop", "regions": ["us-east-1", "eu-west-1"]}
    # The CLI adds cdktfRelativeModules; a key set to the value it already had is no change.
    assert settings.cdktf_flags == {"cdktfRelativeModules": []}
    assert settings.origin() == "settings.json, with CDKTF_CONTEXT_JSON setting regions"


def test_without_settings_json_the_origin_says_built_in_defaults(tmp_path):
    project(tmp_path, None)
    assert load_settings(tmp_path, environ={}).origin() == "built-in defaults, no settings.json"
    overridden = load_settings(tmp_path, environ={"CDKTF_CONTEXT_JSON": '{"regions": ["eu-west-1"]}'})
    assert overridden.origin() == "built-in defaults, no settings.json, with CDKTF_CONTEXT_JSON setting regions"


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        (
            '{\n  "regions": ["us-east-1",]\n}',
            "settings.json: line 2, column 27: Expecting value; remove the trailing comma",
        ),
        (
            '{\n  "regions" ["us-east-1"]\n}',
            "settings.json: line 2, column 13: Expecting ':' delimiter (not valid JSON)",
        ),
        ('["us-east-1"]', 'settings.json: ["us-east-1"] must be a JSON object of settings'),
    ],
)
def test_a_broken_settings_file_is_one_line_with_line_and_column(tmp_path, settings, message):
    project(tmp_path, settings)
    with pytest.raises(ConfigError) as info:
        load_settings(tmp_path, environ={})
    assert str(info.value).startswith(message) and "\n" not in str(info.value)


def test_a_settings_file_that_starts_with_a_byte_order_mark_is_read(tmp_path):
    """Some Windows editors write one; json.loads refuses it ("Unexpected UTF-8 BOM")."""
    (tmp_path / "settings.json").write_bytes(b"\xef\xbb\xbf" + b'{"regions": ["eu-west-1"]}')
    assert load_settings(tmp_path, environ={}).context == {"regions": ["eu-west-1"]}


def test_a_broken_override_is_one_line_with_line_and_column(tmp_path):
    with pytest.raises(ConfigError, match=r"^CDKTF_CONTEXT_JSON: line 1, column 2: Expecting property name"):
        load_settings(project(tmp_path, None), environ={"CDKTF_CONTEXT_JSON": "{regions:"})


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("\ufeff{}", "starts with a UTF-8 byte-order mark (invisible in most editors): remove it"),
        ('{"lambda_memory_mb": ' + "9" * 5000 + "}", "cannot be read as JSON: Exceeds the limit (4300 digits)"),
        ('{"tags": ' + "[" * 3000 + "]" * 3000 + "}", "cannot be read as JSON: nested too deeply"),
    ],
    ids=["byte-order mark", "huge integer", "deep nesting"],
)
def test_json_the_parser_cannot_take_is_one_line_not_a_traceback(tmp_path, override, message):
    with pytest.raises(ConfigError) as info:
        load_settings(project(tmp_path, None), environ={"CDKTF_CONTEXT_JSON": override})
    assert str(info.value).startswith(f"CDKTF_CONTEXT_JSON: {message}") and "\n" not in str(info.value)


def test_a_key_set_twice_in_settings_json_is_refused_with_both_places(tmp_path):
    """json.loads keeps the last silently: the first value would look set and count for nothing."""
    project(tmp_path, '{\n  "regions": ["us-east-1"],\n  "regions": ["eu-west-1"]\n}')
    with pytest.raises(ConfigError) as info:
        load_settings(tmp_path, environ={})
    assert str(info.value) == (
        'settings.json: line 3, column 3: "regions" is set a second time in the same object '
        "(first at line 2, column 3); only the last would count: remove one"
    )


def test_a_key_set_twice_in_a_nested_object_is_refused(tmp_path):
    project(tmp_path, '{"environments": {"prod": {"lambda_memory_mb": 256, "lambda_memory_mb": 512}}}')
    with pytest.raises(ConfigError, match=r'^settings.json: line 1, column 53: "lambda_memory_mb" is set a second'):
        load_settings(tmp_path, environ={})


def test_a_key_set_twice_in_the_override_is_refused(tmp_path):
    override = '{"regions": ["us-east-1"], "regions": ["eu-west-1"]}'
    with pytest.raises(ConfigError) as info:
        load_settings(project(tmp_path, None), environ={"CDKTF_CONTEXT_JSON": override})
    assert str(info.value) == (
        'CDKTF_CONTEXT_JSON: line 1, column 28: "regions" is set a second time in the same object '
        "(first at line 1, column 2); only the last would count: remove one"
    )


def test_the_same_key_in_different_objects_is_no_duplicate(tmp_path):
    text = '{"regions": ["eu-west-1"], "environments": {"dev": {"regions": ["eu-west-1"]}, "prod": {}}}'
    assert load_settings(project(tmp_path, text), environ={}).context == json.loads(text)


def test_an_environment_listed_twice_is_refused_like_a_region_listed_twice():
    with pytest.raises(ConfigError) as info:
        configs_from_context({"environments": ["dev", "prod", "dev"]})
    assert str(info.value) == 'environments: ["dev", "prod", "dev"] lists dev more than once'


def test_a_broken_cdktf_json_is_one_line_with_line_and_column(tmp_path):
    with pytest.raises(ConfigError, match=r"^cdktf.json: line 1, column 8: Expecting ':' delimiter"):
        load_settings(project(tmp_path, None, cdktf='{"app" "python main.py"}'), environ={})


def test_settings_in_cdktf_jsons_context_are_refused_with_the_reason(tmp_path):
    """The cdktf CLI replaces CDKTF_CONTEXT_JSON with that context: an override would be ignored."""
    project(tmp_path, None, cdktf=json.dumps({"app": "python main.py", "context": {"regions": ["eu-west-1"]}}))
    with pytest.raises(
        ConfigError, match=r'^cdktf.json: "context" must not be set: .*move the settings to settings.json'
    ):
        load_settings(tmp_path, environ={})


def test_the_projects_own_files_give_the_defaults_and_cdktf_json_has_no_context():
    assert "context" not in json.loads((ROOT / "cdktf.json").read_text())
    # settings.json names the default home region explicitly, as a project with two regions must.
    assert load_settings(ROOT, environ={}).configs() == [StackConfig(home_region="us-east-1")]
    assert StackConfig(home_region="us-east-1").home == StackConfig().home


def test_a_retired_setting_names_the_one_that_replaced_it():
    with pytest.raises(ConfigError) as caught:
        configs_from_context({"alarm_api_5xx_threshold": 0})
    assert str(caught.value) == (
        'alarm_api_5xx_threshold: was replaced in 0.6.0 by "alarm_api_5xx_rate_percent", a share of requests in '
        "percent, not a count (see CHANGELOG.md)"
    )


@pytest.mark.parametrize(
    ("region", "prefix"),
    [
        ("us-east-1", "use1"),
        ("us-west-2", "usw2"),
        ("eu-central-1", "euc1"),
        ("eu-south-2", "eus2"),
        ("ap-southeast-2", "apse2"),
        ("ap-northeast-1", "apne1"),
        ("sa-east-1", "sae1"),
        ("ca-west-1", "caw1"),
        ("mx-central-1", "mxc1"),
        ("us-gov-west-1", "usgw1"),
        ("us-gov-east-1", "usge1"),
    ],
)
def test_a_regions_zone_id_prefix_abbreviates_its_name(region, prefix):
    assert zone_id_prefix(region) == prefix


def test_every_known_region_has_a_zone_id_prefix_of_its_own_that_the_settings_accept():
    prefixes = {region: zone_id_prefix(region) for region in KNOWN_REGIONS}
    assert len(set(prefixes.values())) == len(prefixes)
    for region, prefix in prefixes.items():
        zones = {region: [f"{prefix}-az1", f"{prefix}-az2"]}
        assert StackConfig(regions=(region,), availability_zone_ids=zones).availability_zone_ids == {
            region: (f"{prefix}-az1", f"{prefix}-az2")
        }


def test_a_zone_id_of_another_region_is_refused():
    """us-west-2's zones pinned in us-east-1 synthesized; the apply failed creating the subnets."""
    message = refused(
        "availability_zone_ids",
        regions=("us-east-1",),
        availability_zone_ids={"us-east-1": ["use1-az1", "usw2-az2"]},
    )
    assert message == (
        'availability_zone_ids.us-east-1: "usw2-az2" is not a zone of us-east-1: its zone ids start with "use1-" '
        '(such as "use1-az1")'
    )
