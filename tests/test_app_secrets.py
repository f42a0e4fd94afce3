"""Application secrets (the ``secrets`` setting): the secrets and their replicas in the global
stack, what each region's function may read and is told, and the function's reader
(lambda_src/app_secrets.py) against moto's Secrets Manager."""

from __future__ import annotations

import json
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import pytest
from conftest import address_at, policy_statements, region_key_arn, resource_at, resources
from moto import mock_aws

from constructs_lib.settings import ConfigError, StackConfig
from tools.function_loader import LAMBDA_DIR, load_function

SECRETS = StackConfig(regions=("eu-west-1", "eu-central-1"), home_region="eu-west-1", secrets=("db-password", "token"))
NAMES = {"db-password": "iac-aws-nova-secret-db-password-dev", "token": "iac-aws-nova-secret-token-dev"}


@pytest.fixture(scope="module")
def app(synth):
    return synth(SECRETS)


@pytest.fixture(scope="module")
def global_stack(app):
    return app.stacks["iac-aws-nova-dev-global"]


# --------------------------------------------------------------------------- the stacks


def test_each_secret_is_made_in_the_home_region_with_a_replica_in_every_other(global_stack):
    for name, secret_name in NAMES.items():
        secret = resource_at(global_stack, "aws_secretsmanager_secret", f"secrets/{name}")
        assert (secret["name"], secret["provider"]) == (secret_name, "aws.eu-west-1")
        assert secret["kms_key_id"].startswith("${aws_kms_key.eu-west-1_key_")
        [replica] = secret["replica"]
        assert replica["region"] == "eu-central-1"
        assert replica["kms_key_id"].startswith("${aws_kms_key.eu-central-1_key_")


def test_no_value_is_in_the_stack(global_stack):
    """Values are put by hand: nothing of them reaches Terraform's plan or state."""
    versions = resources(global_stack, "aws_secretsmanager_secret_version")
    assert all("api-key" in v["//"]["metadata"]["path"] for v in versions)


def test_the_names_are_an_output(global_stack):
    assert global_stack["output"]["secret_names"]["value"] == NAMES


@pytest.mark.parametrize("region", ["eu-west-1", "eu-central-1"])
def test_the_function_reads_its_own_regions_copies_only(app, region):
    stack = app.stacks[f"iac-aws-nova-dev-{region}"]
    function = resource_at(stack, "aws_lambda_function", f"{region}/function/function")
    assert json.loads(function["environment"]["variables"]["APP_SECRETS"]) == NAMES
    [policy] = [p for p in resources(stack, "aws_iam_role_policy") if f"{region}_function_" in p["role"]]
    statements = {s["sid"]: s for s in policy_statements(stack, policy["policy"])}
    account = "${data.aws_caller_identity." + next(iter(stack["data"]["aws_caller_identity"])) + ".account_id}"
    assert statements["ReadTheAppSecrets"]["actions"] == ["secretsmanager:GetSecretValue"]
    assert statements["ReadTheAppSecrets"]["resources"] == [
        f"arn:aws:secretsmanager:{region}:{account}:secret:{name}-??????" for name in sorted(NAMES.values())
    ]
    key = statements["UseTheKeyThroughSecrets"]
    assert key["resources"] == [region_key_arn(stack, region)]
    assert key["condition"][0]["values"] == [f"secretsmanager.{region}.amazonaws.com"]


@pytest.mark.parametrize("region", ["eu-west-1", "eu-central-1"])
def test_the_function_reaches_secrets_manager_through_an_endpoint_in_its_subnets(app, region):
    stack = app.stacks[f"iac-aws-nova-dev-{region}"]
    endpoint = resource_at(stack, "aws_vpc_endpoint", f"{region}/network/secretsmanager-endpoint")
    assert endpoint["service_name"] == f"com.amazonaws.{region}.secretsmanager"
    assert (endpoint["vpc_endpoint_type"], endpoint["private_dns_enabled"]) == ("Interface", True)
    subnets = {f"${{{address_at(stack, 'aws_subnet', p)}.id}}" for p in _subnet_paths(stack, region)}
    assert set(endpoint["subnet_ids"]) == subnets


def _subnet_paths(stack: dict[str, Any], region: str) -> list[str]:
    return [
        s["//"]["metadata"]["path"].split("/", 1)[1]
        for s in stack["resource"]["aws_subnet"].values()
        if s["provider"] == f"aws.{region}"
    ]


def test_without_secrets_no_endpoint_no_variable_no_grant(dev):
    assert not [e for e in resources(dev, "aws_vpc_endpoint") if e["vpc_endpoint_type"] == "Interface"]
    for function in resources(dev, "aws_lambda_function"):
        assert "APP_SECRETS" not in function["environment"]["variables"]
    assert not [s for s in resources(dev, "aws_secretsmanager_secret") if "-secret-" in s["name"]]


@pytest.mark.parametrize(
    ("secrets", "message"),
    [
        ("db", 'secrets: "db" must be a list of names such as ["db-password"]'),
        (
            ["Db"],
            'secrets[0]: "Db" must be 1 to 32 lowercase letters, digits or hyphens, start with a letter and not '
            "end with a hyphen",
        ),
        (["db", "db"], 'secrets[1]: "db" is named by an earlier entry'),
        ([f"s{i}" for i in range(21)], "must name at most 20 secrets"),
    ],
)
def test_bad_secret_names_are_refused(secrets, message):
    with pytest.raises(ConfigError) as caught:
        StackConfig(secrets=secrets)
    assert message in str(caught.value) and str(caught.value).startswith("secrets")


# --------------------------------------------------------------------------- the reader, against moto


@pytest.fixture
def reader(monkeypatch: pytest.MonkeyPatch) -> Iterator[ModuleType]:
    """A fresh load of the reader (a cold start) with moto's Secrets Manager behind it."""
    for variable, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "eu-west-1",
        "AWS_REGION": "eu-west-1",
        "APP_SECRETS": json.dumps(NAMES),
    }.items():
        monkeypatch.setenv(variable, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("APP_SECRETS_CACHE_SECONDS", raising=False)
    with mock_aws():
        yield load_function(LAMBDA_DIR / "app_secrets.py", name="lambda_src_app_secrets_test").module


def _secrets_manager() -> Any:
    import boto3

    return boto3.client("secretsmanager", region_name="eu-west-1")


def _put(name: str, value: str) -> None:
    client = _secrets_manager()
    try:
        client.put_secret_value(SecretId=name, SecretString=value)
    except client.exceptions.ResourceNotFoundException:
        client.create_secret(Name=name, SecretString=value)


def test_reads_a_secret_by_its_short_name(reader):
    _put(NAMES["db-password"], "s3cret-value")
    assert reader.get("db-password") == "s3cret-value"


def test_a_value_is_kept_for_the_cache_time_then_read_again(reader, monkeypatch):
    now = [100.0]
    monkeypatch.setattr(reader, "clock", lambda: now[0])
    _put(NAMES["token"], "first")
    assert reader.get("token") == "first"
    _put(NAMES["token"], "rotated")
    now[0] += reader.CACHE_SECONDS - 1
    assert reader.get("token") == "first"  # no read within the cache time
    now[0] += 1
    assert reader.get("token") == "rotated"


def test_the_cache_time_can_be_set_and_a_bad_one_is_ignored(reader, monkeypatch):
    monkeypatch.setenv("APP_SECRETS_CACHE_SECONDS", "0")
    _put(NAMES["token"], "first")
    assert reader.get("token") == "first"
    _put(NAMES["token"], "second")
    assert reader.get("token") == "second"
    for bad in ("-1", "many", "86400"):
        monkeypatch.setenv("APP_SECRETS_CACHE_SECONDS", bad)
        assert reader.cache_seconds() == reader.CACHE_SECONDS


def test_a_name_not_configured_says_which_are(reader):
    with pytest.raises(reader.SecretUnavailable) as failed:
        reader.get("api-password")
    assert str(failed.value) == "secret 'api-password' is not one of this function's secrets (db-password, token)"


def test_a_secret_without_a_value_says_how_to_put_one(reader):
    _secrets_manager().create_secret(Name=NAMES["db-password"])
    with pytest.raises(reader.SecretUnavailable) as failed:
        reader.get("db-password")
    assert str(failed.value).startswith(f"secret '{NAMES['db-password']}' cannot be read: it has no value yet")
    assert "put-secret-value" in str(failed.value)


def test_errors_never_carry_the_value(reader, monkeypatch):
    _put(NAMES["db-password"], "do-not-show-me")
    monkeypatch.setenv("APP_SECRETS", json.dumps({"db-password": 7}))
    with pytest.raises(reader.SecretUnavailable) as failed:
        reader.get("db-password")
    assert str(failed.value) == "APP_SECRETS is not a JSON object of names"
    assert "do-not-show-me" not in str(failed.value)


def test_without_secrets_there_is_nothing_to_read(reader, monkeypatch):
    monkeypatch.delenv("APP_SECRETS")
    assert reader.names() == {}
    with pytest.raises(reader.SecretUnavailable, match=r"\(none\)$"):
        reader.get("db-password")


def test_the_stack_and_the_reader_agree_on_the_variable(app):
    from constructs_lib.blocks.app_secrets import ENVIRONMENT_VARIABLE

    module = load_function(LAMBDA_DIR / "app_secrets.py", name="lambda_src_app_secrets_variable").module
    assert module.ENVIRONMENT_VARIABLE == ENVIRONMENT_VARIABLE == "APP_SECRETS"
    function = resource_at(
        app.stacks["iac-aws-nova-dev-eu-west-1"], "aws_lambda_function", "eu-west-1/function/function"
    )
    assert set(json.loads(function["environment"]["variables"][ENVIRONMENT_VARIABLE])) == set(SECRETS.secrets)
