"""tools/preflight.py (make preflight): the checks before a first deploy, against moto's AWS (sts,
API Gateway, S3, EC2, Service Quotas, Route 53, AWS Config) and botocore's Stubber for the two calls
moto does not implement (Lambda's account settings, AWS Backup's region settings)."""

from __future__ import annotations

import functools
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from conftest import ROOT, subprocess_env
from moto import mock_aws

from constructs_lib.settings import StackConfig
from tools import preflight

REGIONS = ("eu-west-1", "eu-central-1")
ZONE_DOMAIN = "example.org"


@functools.cache
def _client(service: str, region: str) -> Any:
    """One client per service and region for the module: making one costs a tenth of a second, and
    moto's state is reset between tests, not the clients'."""
    return boto3.client(service, region_name=region)


def _stubbed(service: str, region: str, method: str, answer: dict[str, Any]) -> Any:
    client = boto3.client(service, region_name=region)
    stubber = Stubber(client)
    for _ in range(3):
        stubber.add_response(method, answer)
    stubber.activate()
    return client


class Account:
    """moto's AWS, set up as a ready account, and a client factory with the stand-ins."""

    def __init__(self, unreserved: int = 1000, advanced_backup: bool = True) -> None:
        self.unreserved, self.advanced_backup = unreserved, advanced_backup
        # moto's zone ids do not look like Route 53's (which the settings check): ours -> moto's.
        self.zone_ids: dict[str, str] = {}

    def clients(self, service: str, region: str) -> Any:
        if service == "lambda":
            limit = {"ConcurrentExecutions": 1000, "UnreservedConcurrentExecutions": self.unreserved}
            return _stubbed(service, region, "get_account_settings", {"AccountLimit": limit, "AccountUsage": {}})
        if service == "backup":
            preference = {"DynamoDB": self.advanced_backup}
            return _stubbed(
                service, region, "describe_region_settings", {"ResourceTypeManagementPreference": preference}
            )
        if service == "route53":
            return _Route53(_client(service, region), self.zone_ids)
        return _client(service, region)

    def bootstrap(self, *regions: str) -> None:
        for region in regions:
            _client("apigateway", region).update_account(
                patchOperations=[
                    {"op": "replace", "path": "/cloudwatchRoleArn", "value": "arn:aws:iam::123456789012:role/logs"}
                ]
            )

    def record(self, *regions: str) -> None:
        for region in regions:
            _client("config", region).put_configuration_recorder(
                ConfigurationRecorder={"name": "default", "roleARN": "arn:aws:iam::123456789012:role/config"}
            )

    def zone(self, private: bool = False) -> str:
        client = boto3.client("route53", region_name="us-east-1")
        extra = {"VPC": {"VPCRegion": "eu-west-1", "VPCId": self.vpc()}} if private else {}
        answer = client.create_hosted_zone(
            Name=ZONE_DOMAIN, CallerReference=str(private), HostedZoneConfig={"PrivateZone": private}, **extra
        )
        ours = f"Z{len(self.zone_ids):020d}"
        self.zone_ids[ours] = answer["HostedZone"]["Id"].split("/")[-1]
        return ours

    def vpc(self) -> str:
        return boto3.client("ec2", region_name="eu-west-1").create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]


class _Route53:
    def __init__(self, client: Any, ids: dict[str, str]) -> None:
        self._client, self._ids = client, ids

    def get_hosted_zone(self, Id: str) -> Any:
        return self._client.get_hosted_zone(Id=self._ids.get(Id, Id))


LOCAL = {"terraform": lambda argv: json.dumps({"terraform_version": "1.11.4"}), "fetch": lambda url: 200}


@pytest.fixture(scope="module")
def aws() -> Any:
    """moto, started once for the module (starting it costs most of a second); reset per test.
    Without the thousands of AMIs moto's EC2 otherwise loads into each region it is asked about:
    the checks read VPCs, never images."""
    with pytest.MonkeyPatch.context() as patch:
        settings = {
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "MOTO_EC2_LOAD_DEFAULT_AMIS": "false",
        }
        for name, value in settings.items():
            patch.setenv(name, value)
        with mock_aws() as mocked:
            yield mocked


@pytest.fixture
def account(aws: Any, monkeypatch: pytest.MonkeyPatch):
    aws.reset()
    monkeypatch.setenv("TERRAFORM", "terraform")
    monkeypatch.delenv("IAC_TF_PROVIDER_MIRROR", raising=False)
    return Account()


def _config(**settings: Any) -> StackConfig:
    return StackConfig(regions=REGIONS, home_region="eu-west-1", **settings)


def _by_name(checks: list[preflight.Check]) -> dict[str, list[preflight.Check]]:
    found: dict[str, list[preflight.Check]] = {}
    for check in checks:
        found.setdefault(check.name, []).append(check)
    return found


def test_a_ready_account_passes_every_check(account):
    account.bootstrap(*REGIONS)
    account.record(*REGIONS)
    checks = preflight.run([_config()], account.clients, **LOCAL)
    assert [c.status for c in checks] == ["ok"] * len(checks), [c.line() for c in checks]
    names = _by_name(checks)
    assert names["credentials"][0].detail == "account 123456789012 as arn:aws:sts::123456789012:user/moto"
    assert len(names["VPCs"]) == len(REGIONS) and len(names["AWS Config"]) == len(REGIONS)
    assert names["VPCs"][0].detail == "eu-west-1: 1 of 5, the environments add 1"


def test_each_account_check_prints_only_the_names_it_declares(account):
    """The names the skip line lists without credentials are the ones the checks print."""
    account.bootstrap(*REGIONS)
    account.record(*REGIONS)
    configs = [_config(domain_name="api.example.com", hosted_zone_id="Z1", state_bucket="acme-tfstate")]
    for group, names in preflight.ACCOUNT_GROUPS:
        printed = {check.name for check in group(account.clients, configs)}
        assert printed and printed <= set(names), (group.__name__, printed)


def test_without_the_bootstrap_stack_it_says_to_deploy_it(account):
    account.bootstrap("eu-west-1")
    account.record(*REGIONS)
    [bootstrap] = list(preflight.bootstrap_checks(account.clients, [_config()]))
    assert (bootstrap.status, bootstrap.detail) == (
        "FAIL",
        "API Gateway has no CloudWatch role in eu-central-1: deploy the bootstrap stack first",
    )


def test_a_state_bucket_that_is_not_there_fails(account):
    account.bootstrap(*REGIONS)
    account.record(*REGIONS)
    checks = _by_name(list(preflight.bootstrap_checks(account.clients, [_config(state_bucket="acme-tfstate")])))
    assert [(c.status, c.detail.split(":")[0]) for c in checks["state bucket"]] == [
        ("FAIL", "acme-tfstate in eu-west-1")
    ]
    boto3.client("s3", region_name="eu-west-1").create_bucket(
        Bucket="acme-tfstate", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
    )
    checks = _by_name(list(preflight.bootstrap_checks(account.clients, [_config(state_bucket="acme-tfstate")])))
    assert checks["state bucket"][0].status == "ok"


def test_reserved_concurrency_must_leave_lambda_its_100(account):
    account.bootstrap(*REGIONS)
    account.record(*REGIONS)
    account.unreserved = 150
    checks = _by_name(list(preflight.capacity_checks(account.clients, [_config(lambda_reserved_concurrency=60)])))
    assert {c.status for c in checks["lambda concurrency"]} == {"FAIL"}
    assert checks["lambda concurrency"][0].detail.startswith(
        "eu-west-1: 150 unreserved, the settings reserve 60, 90 would"
    )


def test_a_full_vpc_quota_fails(account):
    account.bootstrap(*REGIONS)
    account.record(*REGIONS)
    for _ in range(4):
        account.vpc()  # moto's default VPC and these: 5 of 5 in eu-west-1
    vpcs = _by_name(list(preflight.capacity_checks(account.clients, [_config()])))["VPCs"]
    assert [(c.status, c.detail) for c in vpcs][0] == ("FAIL", "eu-west-1: 5 of 5, the environments add 1")


def test_the_hosted_zone_must_be_public_and_the_domains(account):
    account.bootstrap(*REGIONS)
    account.record(*REGIONS)
    public, private = account.zone(), account.zone(private=True)
    for zone, domain, expected in (
        (public, "api.example.org", "ok"),
        (public, "api.example.com", "FAIL"),
        (private, "api.example.org", "FAIL"),
        ("Z0000000000000000000", "api.example.org", "FAIL"),
    ):
        [check] = list(preflight.domain_checks(account.clients, [_config(domain_name=domain, hosted_zone_id=zone)]))
        assert check.status == expected, check.line()


def test_rules_without_a_recorder_fail_unless_the_stack_makes_one(account):
    account.bootstrap(*REGIONS)
    account.record("eu-west-1")
    config = list(preflight.recorder_checks(account.clients, [_config()]))
    assert [(c.status, c.detail) for c in config] == [
        ("ok", "eu-west-1 records (default)"),
        ("FAIL", "eu-central-1 has no configuration recorder: set config_recorder true, or config_rules false"),
    ]
    assert "AWS Config" not in _by_name(
        list(preflight.recorder_checks(account.clients, [_config(config_recorder=True)]))
    )


def test_copies_need_advanced_dynamodb_backup(account):
    account.bootstrap(*REGIONS)
    account.record(*REGIONS)
    account.advanced_backup = False
    [backup] = list(preflight.backup_checks(account.clients, [_config()]))
    assert backup.status == "warn" and "advanced DynamoDB backup is off" in backup.detail


def test_no_credentials_stops_before_any_aws_check(monkeypatch):
    def refuse(service: str, region: str) -> Any:
        from botocore.exceptions import NoCredentialsError

        class Refusing:
            def get_caller_identity(self) -> None:
                raise NoCredentialsError()

        return Refusing()

    checks = preflight.run([_config()], refuse, **LOCAL)
    assert [c.name for c in checks] == ["terraform", "provider registry", "credentials", "account"]
    assert checks[2].line() == "FAIL  credentials: none usable (NoCredentialsError): aws sts get-caller-identity"
    # What was not looked at is said, not left out.
    assert checks[3].line() == (
        "skip  account: not checked without credentials: bootstrap, state bucket, lambda concurrency, VPCs, "
        "hosted zone, AWS Config, AWS Backup"
    )


@pytest.mark.parametrize(("version", "status"), [("1.11.4", "ok"), ("1.10.5", "FAIL"), ("1.12.0-alpha20250101", "ok")])
def test_terraform_must_be_1_11_or_later(monkeypatch, version, status):
    monkeypatch.setenv("TERRAFORM", "terraform")
    check = preflight.terraform_check(lambda argv: json.dumps({"terraform_version": version}))
    assert check.status == status


def _unreachable(url: str) -> int:
    raise OSError("no route")


def _mirror(root: Path, *entries: str, platform: str | None = None) -> Path:
    """A filesystem mirror holding ``entries`` under registry.terraform.io/hashicorp/aws/ (versions
    unpacked for ``platform``, default this machine's, or packed .zip names)."""
    platform = platform or preflight.terraform_platform()
    provider = root / "mirror" / "registry.terraform.io" / "hashicorp" / "aws"
    provider.mkdir(parents=True)
    for entry in entries:
        if entry.endswith(".zip"):
            (provider / entry.replace("PLATFORM", platform)).write_bytes(b"PK")
        else:
            (provider / entry / platform).mkdir(parents=True)
            (provider / entry / platform / f"terraform-provider-aws_v{entry}_x5").write_bytes(b"")
    return root / "mirror"


def _synth_requiring(root: Path, version: str) -> Path:
    stack = root / "cdktf.out" / "stacks" / "iac-aws-nova-dev-global"
    stack.mkdir(parents=True)
    document = {"terraform": {"required_providers": {"aws": {"source": "aws", "version": version}}}}
    (stack / "cdk.tf.json").write_text(json.dumps(document))
    return root / "cdktf.out"


def test_an_unreachable_registry_fails_without_a_mirror(monkeypatch, tmp_path):
    monkeypatch.delenv("IAC_TF_PROVIDER_MIRROR", raising=False)
    check = preflight.registry_check(_unreachable, tmp_path / "cdktf.out")
    assert check.line() == (
        "FAIL  provider registry: registry.terraform.io unreachable (no route); set IAC_TF_PROVIDER_MIRROR to a mirror"
    )


def test_a_mirror_with_the_required_provider_version_passes(monkeypatch, tmp_path):
    monkeypatch.setenv("IAC_TF_PROVIDER_MIRROR", str(_mirror(tmp_path, "6.25.0")))
    check = preflight.registry_check(_unreachable, _synth_requiring(tmp_path, "6.25.0"))
    assert check.status == "ok" and check.detail.endswith("holds hashicorp/aws 6.25.0")


def test_a_packed_mirror_counts_too(monkeypatch, tmp_path):
    packed = _mirror(tmp_path, "terraform-provider-aws_6.25.0_PLATFORM.zip")
    monkeypatch.setenv("IAC_TF_PROVIDER_MIRROR", str(packed))
    assert preflight.registry_check(_unreachable, _synth_requiring(tmp_path, "6.25.0")).status == "ok"


def test_a_mirror_without_the_required_version_fails_naming_both(monkeypatch, tmp_path):
    monkeypatch.setenv("IAC_TF_PROVIDER_MIRROR", str(_mirror(tmp_path, "5.100.0")))
    check = preflight.registry_check(_unreachable, _synth_requiring(tmp_path, "6.25.0"))
    assert check.status == "FAIL" and check.detail.endswith("holds hashicorp/aws 5.100.0, not 6.25.0 (cdktf.out)")


def test_any_directory_is_not_a_mirror(monkeypatch, tmp_path):
    monkeypatch.setenv("IAC_TF_PROVIDER_MIRROR", str(tmp_path))
    check = preflight.registry_check(_unreachable, tmp_path / "cdktf.out")
    platform = preflight.terraform_platform()
    assert check.status == "FAIL" and check.detail.endswith(
        f"holds no registry.terraform.io/hashicorp/aws for {platform}"
    )


def test_a_mirror_for_another_platform_only_fails(monkeypatch, tmp_path):
    monkeypatch.setenv("IAC_TF_PROVIDER_MIRROR", str(_mirror(tmp_path, "6.25.0", platform="windows_386")))
    assert preflight.registry_check(_unreachable, _synth_requiring(tmp_path, "6.25.0")).status == "FAIL"


def test_a_mirror_is_checked_even_with_the_registry_reachable(monkeypatch, tmp_path):
    """Terraform may be configured to install from the mirror alone."""
    monkeypatch.setenv("IAC_TF_PROVIDER_MIRROR", str(_mirror(tmp_path, "5.100.0")))
    check = preflight.registry_check(lambda url: 200, _synth_requiring(tmp_path, "6.25.0"))
    assert check.line() == (
        f"FAIL  provider registry: registry.terraform.io answers; the mirror {tmp_path / 'mirror'} holds "
        "hashicorp/aws 5.100.0, not 6.25.0 (cdktf.out)"
    )


def test_without_a_synth_any_version_in_the_mirror_passes(monkeypatch, tmp_path):
    monkeypatch.setenv("IAC_TF_PROVIDER_MIRROR", str(_mirror(tmp_path, "6.100.0", "6.25.0")))
    check = preflight.registry_check(_unreachable, tmp_path / "cdktf.out")
    assert check.status == "ok" and check.detail.endswith("holds hashicorp/aws 6.25.0, 6.100.0")  # by version


def test_as_typed_bad_settings_are_one_line_and_exit_2(tmp_path):
    (tmp_path / "settings.json").write_text('{"regions": "eu-west-1"}')
    result = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "preflight.py"), "--project-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        env=subprocess_env(),
        timeout=60,
    )
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.startswith("error: invalid configuration: regions: ") and result.stderr.count("\n") == 1


def test_main_prints_a_line_per_check_and_the_verdict(account, capsys, tmp_path):
    (tmp_path / "settings.json").write_text(json.dumps({"regions": ["eu-west-1"]}))
    assert preflight.main(["--project-dir", str(tmp_path)], account.clients, **LOCAL) == 1  # no bootstrap yet
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "ok    terraform: 1.11.4"
    assert out[-1].startswith("not ready: ") and "FAIL  bootstrap: " in "\n".join(out)
