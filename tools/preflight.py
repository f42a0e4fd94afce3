"""Before a first deploy: is this machine and this AWS account ready for these settings? ``make preflight``.

    python tools/preflight.py [--project-dir .]

One line per check, ``ok``, ``warn``, ``FAIL`` or ``skip`` (the account's checks, without usable
credentials), then a verdict; exit 0 when nothing failed, 1 otherwise, 2 for settings that do not
load. It changes nothing: every AWS call reads.

* Terraform on the PATH (``TERRAFORM`` names another binary), 1.11 or later (write-only secret values).
* The provider registry reachable over HTTPS, or a filesystem mirror (``IAC_TF_PROVIDER_MIRROR``)
  that holds hashicorp/aws, at the version the synth in ``cdktf.out`` requires where there is one
  (Terraform itself reads the mirror through a ``provider_installation`` block in its CLI config).
* Credentials in the usual places (the AWS SDK chain) and the account they belong to.
* The bootstrap stack applied: API Gateway's CloudWatch role set in every region; the state buckets
  there, where ``state_bucket`` is set.
* Per region: the Lambda concurrency the settings reserve leaves AWS's 100 unreserved; a VPC more per
  environment fits the VPC quota.
* With a domain: the hosted zone exists, is public and is the domain's.
* With ``config_rules`` and no ``config_recorder``: a configuration recorder in every region. With
  backups copied to another region: AWS Backup's advanced DynamoDB features on in the home region.

Credentials and their secrets are never printed; an AWS error shows its code.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from constructs_lib.settings import ConfigError, StackConfig, load_settings, regions_of  # noqa: E402

MIN_TERRAFORM = (1, 11)
REGISTRY = "https://registry.terraform.io/v1/providers/hashicorp/aws/versions"
UNRESERVED_FLOOR = 100  # Lambda keeps at least this much of the account's concurrency unreserved
VPC_QUOTA_CODE = "L-F678F1CE"  # VPCs per Region
DEFAULT_VPC_QUOTA = 5

Clients = Callable[[str, str], Any]  # (service, region) -> boto3 client


@dataclass(frozen=True)
class Check:
    status: str  # "ok", "warn", "FAIL" or "skip"
    name: str
    detail: str

    def line(self) -> str:
        return f"{self.status:<4}  {self.name}: {self.detail}"


def boto3_clients(service: str, region: str) -> Any:
    import boto3
    from botocore.config import Config

    config = Config(connect_timeout=5, read_timeout=10, retries={"mode": "standard", "max_attempts": 3})
    return boto3.session.Session().client(service, region_name=region, config=config)


def _code(error: Exception) -> str:
    return getattr(error, "response", {}).get("Error", {}).get("Code") or type(error).__name__


# --------------------------------------------------------------------------- this machine


def terraform_check(run: Callable[[list[str]], str] | None = None) -> Check:
    binary = os.environ.get("TERRAFORM") or shutil.which("terraform")
    if not binary:
        return Check("FAIL", "terraform", "not on the PATH: install Terraform 1.11 or later")
    try:
        output = (run or _run)([binary, "version", "-json"])
        version = json.loads(output)["terraform_version"]
    except (OSError, ValueError, KeyError, subprocess.SubprocessError) as error:
        return Check("FAIL", "terraform", f"{binary} version -json failed: {error}")
    numbers = tuple(int(n) for n in re.findall(r"\d+", version)[:2])
    if numbers < MIN_TERRAFORM:
        return Check("FAIL", "terraform", f"{version} is older than 1.11 (write-only secret values need 1.11)")
    return Check("ok", "terraform", version)


def _run(argv: list[str]) -> str:
    return subprocess.run(argv, capture_output=True, text=True, check=True, timeout=30).stdout


def registry_check(fetch: Callable[[str], int] | None = None, outdir: Path = ROOT / "cdktf.out") -> Check:
    mirror = os.environ.get("IAC_TF_PROVIDER_MIRROR")
    try:
        status = (fetch or _fetch)(REGISTRY)
    except OSError as error:
        status = None
        reason = str(getattr(error, "reason", error))
    why = "answers" if status == 200 else f"answered {status}" if status is not None else f"unreachable ({reason})"
    if mirror:  # Terraform may be told to install from it alone: it must hold what the stacks need
        return mirror_check(Path(mirror), why, required_aws_version(outdir))
    if status == 200:
        return Check("ok", "provider registry", "registry.terraform.io answers")
    return Check("FAIL", "provider registry", f"registry.terraform.io {why}; set IAC_TF_PROVIDER_MIRROR to a mirror")


def mirror_check(mirror: Path, why: str, required: str | None, platform: str | None = None) -> Check:
    """A filesystem mirror (Terraform's layout: registry.terraform.io/hashicorp/aws/<version>/<os_arch>/,
    or packed terraform-provider-aws_<version>_<os>_<arch>.zip files beside them) that holds the
    AWS provider for this machine's platform, at ``required`` where it is known."""
    platform = platform or terraform_platform()
    held = mirror_aws_versions(mirror, platform)
    name = f"registry.terraform.io {why}; the mirror {mirror}"
    if not held:
        return Check("FAIL", "provider registry", f"{name} holds no registry.terraform.io/hashicorp/aws for {platform}")
    listed = ", ".join(sorted(held, key=lambda v: tuple(int(p) if p.isdigit() else 0 for p in v.split("."))))
    if required is not None and required not in held:
        return Check("FAIL", "provider registry", f"{name} holds hashicorp/aws {listed}, not {required} (cdktf.out)")
    return Check("ok", "provider registry", f"{name} holds hashicorp/aws {listed}")


def terraform_platform() -> str:
    """This machine as Terraform names platforms: linux_amd64, darwin_arm64, ..."""
    machine = os.uname().machine.lower()
    arch = {"x86_64": "amd64", "aarch64": "arm64", "arm64": "arm64"}.get(machine, machine)
    return f"{sys.platform.rstrip('0123456789')}_{arch}"


def mirror_aws_versions(mirror: Path, platform: str) -> set[str]:
    """The AWS provider versions the mirror holds for ``platform``, unpacked or packed."""
    provider = mirror / "registry.terraform.io" / "hashicorp" / "aws"
    if not provider.is_dir():
        return set()
    packed = re.compile(rf"^terraform-provider-aws_([0-9][^_]*)_{re.escape(platform)}\.zip$")
    versions = {entry.name for entry in provider.iterdir() if (entry / platform).is_dir()}
    return versions | {m[1] for entry in provider.iterdir() if (m := packed.match(entry.name))}


def required_aws_version(outdir: Path) -> str | None:
    """The AWS provider version the synthesized stacks require (any stack: they are one app), or None."""
    for stack in sorted((outdir / "stacks").glob("*/cdk.tf.json")):
        try:
            document = json.loads(stack.read_text())
            version = document["terraform"]["required_providers"]["aws"]["version"]
        except (OSError, ValueError, KeyError, TypeError):
            continue
        if isinstance(version, str) and re.fullmatch(r"[0-9]+\.[0-9]+\.[0-9]+", version):
            return version
    return None


def _fetch(url: str) -> int:
    with urllib.request.urlopen(url, timeout=5) as response:
        return int(response.status)


# --------------------------------------------------------------------------- the account


def identity_check(clients: Clients, region: str) -> tuple[Check, str | None]:
    try:
        who = clients("sts", region).get_caller_identity()
    except Exception as error:  # no credentials, expired, no network
        return Check("FAIL", "credentials", f"none usable ({_code(error)}): aws sts get-caller-identity"), None
    return Check("ok", "credentials", f"account {who['Account']} as {who['Arn']}"), who["Account"]


def bootstrap_checks(clients: Clients, configs: Sequence[StackConfig]) -> Iterator[Check]:
    regions = regions_of(configs)
    missing = []
    for region in regions:
        try:
            role = clients("apigateway", region).get_account().get("cloudwatchRoleArn")
        except Exception as error:
            yield Check("warn", "bootstrap", f"cannot read API Gateway's account in {region} ({_code(error)})")
            continue
        if not role:
            missing.append(region)
    if missing:
        yield Check(
            "FAIL",
            "bootstrap",
            f"API Gateway has no CloudWatch role in {', '.join(missing)}: deploy the bootstrap stack first",
        )
    else:
        yield Check("ok", "bootstrap", f"API Gateway's CloudWatch role is set in {', '.join(regions)}")
    buckets = sorted({(loc.bucket, loc.region) for c in configs for loc in _state_locations(c) if loc.bucket})
    for bucket, region in buckets:
        try:
            clients("s3", region).head_bucket(Bucket=bucket)
        except Exception as error:
            yield Check("FAIL", "state bucket", f"{bucket} in {region}: {_code(error)} (the bootstrap stack makes it)")
        else:
            yield Check("ok", "state bucket", f"{bucket} in {region}")


def _state_locations(config: StackConfig) -> list[Any]:
    return [config.state_of(stack) for stack in ("global", *config.regions)]


def capacity_checks(clients: Clients, configs: Sequence[StackConfig]) -> Iterator[Check]:
    for region in regions_of(configs):
        using = [c for c in configs if region in c.regions]
        reserved = sum(c.lambda_reserved_concurrency or 0 for c in using)
        try:
            account = clients("lambda", region).get_account_settings()["AccountLimit"]
            unreserved = account["UnreservedConcurrentExecutions"]
        except Exception as error:
            yield Check("warn", "lambda concurrency", f"cannot read it in {region} ({_code(error)})")
        else:
            left = unreserved - reserved
            status = "ok" if left >= UNRESERVED_FLOOR else "FAIL"
            yield Check(
                status,
                "lambda concurrency",
                f"{region}: {unreserved} unreserved, the settings reserve {reserved}, {left} would be left "
                f"(Lambda needs {UNRESERVED_FLOOR}; ask for a higher quota if short)",
            )
        yield _vpc_check(clients, region, len(using))


def _vpc_check(clients: Clients, region: str, needed: int) -> Check:
    try:
        vpcs = len(clients("ec2", region).describe_vpcs()["Vpcs"])
    except Exception as error:
        return Check("warn", "VPCs", f"cannot count them in {region} ({_code(error)})")
    try:
        quota = int(
            clients("service-quotas", region).get_service_quota(ServiceCode="vpc", QuotaCode=VPC_QUOTA_CODE)["Quota"][
                "Value"
            ]
        )
    except Exception:
        quota = DEFAULT_VPC_QUOTA
    status = "ok" if vpcs + needed <= quota else "FAIL"
    return Check(status, "VPCs", f"{region}: {vpcs} of {quota}, the environments add {needed}")


def domain_checks(clients: Clients, configs: Sequence[StackConfig]) -> Iterator[Check]:
    for config in configs:
        if not (config.domain_name and config.hosted_zone_id):
            continue
        try:
            zone = clients("route53", "us-east-1").get_hosted_zone(Id=config.hosted_zone_id)["HostedZone"]
        except Exception as error:
            yield Check("FAIL", "hosted zone", f"{config.hosted_zone_id}: {_code(error)}")
            continue
        name = zone["Name"].rstrip(".")
        private = zone.get("Config", {}).get("PrivateZone", False)
        fits = config.domain_name == name or config.domain_name.endswith("." + name)
        if private or not fits:
            why = "is private" if private else f"is {name}, not a parent of {config.domain_name}"
            yield Check("FAIL", "hosted zone", f"{config.hosted_zone_id} {why}")
        else:
            yield Check("ok", "hosted zone", f"{config.hosted_zone_id} ({name}) for {config.domain_name}")


def recorder_checks(clients: Clients, configs: Sequence[StackConfig]) -> Iterator[Check]:
    first = configs[0]
    if not first.config_rules or first.config_recorder:
        return
    for region in regions_of(configs):
        try:
            recorders = clients("config", region).describe_configuration_recorders()["ConfigurationRecorders"]
        except Exception as error:
            yield Check("warn", "AWS Config", f"cannot read the recorders in {region} ({_code(error)})")
            continue
        if recorders:
            yield Check("ok", "AWS Config", f"{region} records ({recorders[0]['name']})")
        else:
            yield Check(
                "FAIL",
                "AWS Config",
                f"{region} has no configuration recorder: set config_recorder true, or config_rules false",
            )


def backup_checks(clients: Clients, configs: Sequence[StackConfig]) -> Iterator[Check]:
    for config in configs:
        if not config.backup_enabled or config.backup_copy is None:
            continue
        try:
            settings = clients("backup", config.home).describe_region_settings()
        except Exception as error:
            yield Check("warn", "AWS Backup", f"cannot read the settings in {config.home} ({_code(error)})")
            continue
        enabled = settings.get("ResourceTypeManagementPreference", {}).get("DynamoDB")
        if enabled is False:
            yield Check(
                "warn",
                "AWS Backup",
                f"{config.home}: advanced DynamoDB backup is off, so copies to {config.backup_copy} fail "
                "(the first backup of a plan turns it on; docs/runbooks/backup.md)",
            )
        else:
            yield Check("ok", "AWS Backup", f"{config.home}: backups can be copied to {config.backup_copy}")


# The account's checks, in order, each with the names of the lines it may print (where the settings
# ask for them): named together when they cannot run.
ACCOUNT_GROUPS: tuple[tuple[Callable[[Clients, Sequence[StackConfig]], Iterator[Check]], tuple[str, ...]], ...] = (
    (bootstrap_checks, ("bootstrap", "state bucket")),
    (capacity_checks, ("lambda concurrency", "VPCs")),
    (domain_checks, ("hosted zone",)),
    (recorder_checks, ("AWS Config",)),
    (backup_checks, ("AWS Backup",)),
)


def run(configs: Sequence[StackConfig], clients: Clients = boto3_clients, **local: Any) -> list[Check]:
    """Every check, in order; the account's only with credentials (one line says they were skipped)."""
    outdir = local.get("outdir", ROOT / "cdktf.out")
    checks = [terraform_check(local.get("terraform")), registry_check(local.get("fetch"), outdir)]
    identity, account = identity_check(clients, configs[0].home)
    checks.append(identity)
    if account is None:
        skipped = ", ".join(name for _, names in ACCOUNT_GROUPS for name in names)
        return [*checks, Check("skip", "account", f"not checked without credentials: {skipped}")]
    for group, _ in ACCOUNT_GROUPS:
        checks += list(group(clients, configs))
    return checks


def main(argv: Sequence[str] | None = None, clients: Clients = boto3_clients, **local: Any) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--project-dir", type=Path, default=ROOT)
    args = parser.parse_args(argv)
    try:
        configs = load_settings(args.project_dir).configs()
    except ConfigError as error:
        print(f"error: invalid configuration: {error}", file=sys.stderr)
        return 2
    checks = run(configs, clients, **{"outdir": args.project_dir / "cdktf.out", **local})
    for check in checks:
        print(check.line())
    failed = [c for c in checks if c.status == "FAIL"]
    warned = [c for c in checks if c.status == "warn"]
    if failed:
        print(f"not ready: {len(failed)} check(s) failed" + (f", {len(warned)} warning(s)" if warned else ""))
        return 1
    print("ready" + (f", with {len(warned)} warning(s)" if warned else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
