"""`terraform validate` and an offline `terraform plan` of every kind of stack: what only Terraform
itself reveals (for_each keys unknown until apply, expressions it cannot evaluate, references to
nothing, arguments the provider refuses). Slow tier (`make test-slow`): each plan takes Terraform 10
to 20 s. Run in the cdktf engine's session (CDK Terrain's JSON is the same but for the provider pin,
tests/slow/test_engines_compared.py).

The provider comes from the registry where it is reachable (CI), at the pinned version, or from a
filesystem mirror (IAC_TF_PROVIDER_MIRROR, default /opt/tf-plugins: this machine's image holds
hashicorp/aws 5.100.0 there, and the plan then uses that version); with neither, the tests skip
and say why. See tests/offline_plan.py for what is stubbed.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import GLOBAL, VARIANTS, engine_name
from offline_plan import cli_config, mirror_version, prepare

pytestmark = pytest.mark.skipif(
    engine_name() != "cdktf", reason="planned in the cdktf engine's session: CDK Terrain's JSON is the same"
)


@pytest.fixture(scope="module")
def terraform_env(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, str], str | None]:
    """The environment Terraform runs in, and the provider version to plan with (None: the pin)."""
    if shutil.which("terraform") is None:
        pytest.skip("the Terraform CLI is not installed")
    mirror = Path(os.environ.get("IAC_TF_PROVIDER_MIRROR", "/opt/tf-plugins"))
    version = mirror_version(mirror) if mirror.is_dir() else None
    config = cli_config(tmp_path_factory.mktemp("terraform") / "terraformrc", mirror if version else None)
    env = {**os.environ, "TF_CLI_CONFIG_FILE": str(config), "CHECKPOINT_DISABLE": "1", "TF_IN_AUTOMATION": "1"}
    return env, version


def terraform(args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["terraform", *args, "-no-color"], cwd=cwd, env=env, capture_output=True, text=True, timeout=600
    )


def stack_dir(request: pytest.FixtureRequest, which: str) -> Path:
    if which.startswith("iac-aws-nova-"):
        return request.getfixturevalue("default_synth").outdir / "stacks" / which
    synth = request.getfixturevalue("synth")
    if which.startswith("routed:"):
        return synth(GLOBAL).outdir / "stacks" / which.removeprefix("routed:")
    from constructs_lib.settings import configs_from_context

    return synth(*configs_from_context(VARIANTS)).outdir / "stacks" / which


# Every default stack; with a custom domain over two regions (the validation record, certificates,
# target records, latency routing), the global stack, a region that is not the home and the edge;
# the Cognito variant's global stack (pool, parameters) and a region (authorizer); the
# IAM-with-domain variant's region and edge (health alarms with a provider, key and topic of their own);
# the watched variant's region (canary, scaled provisioned concurrency, alarm subscriptions); the
# CloudFront variant's global stack (the origin secret), a region (origin domain, WAF origin rule) and edge.
@pytest.mark.parametrize(
    "which",
    [
        "iac-aws-nova-dev-global",
        "iac-aws-nova-dev-us-east-1",
        "iac-aws-nova-dev-us-west-2",
        "iac-aws-nova-dev-edge",
        "iac-aws-nova-bootstrap",
        "routed:iac-aws-nova-dev-global",
        "routed:iac-aws-nova-dev-us-east-1",
        "routed:iac-aws-nova-dev-edge",
        "variant-cognito-global",
        "variant-cognito-eu-central-1",
        "variant-iam-eu-west-1",
        "variant-iam-edge",
        "variant-watched-eu-west-1",
        "variant-cdn-global",
        "variant-cdn-us-west-2",
        "variant-cdn-edge",
    ],
)
def test_the_stack_validates_and_plans(request, tmp_path, terraform_env, which):
    env, version = terraform_env
    workdir = prepare(stack_dir(request, which), tmp_path / which.replace(":", "-"), version)
    init = terraform(["init", "-input=false"], workdir, env)
    if init.returncode != 0:
        reason = next(
            (line for line in init.stderr.splitlines() if "provider" in line.lower()), init.stderr.strip()[:200]
        )
        pytest.skip(f"terraform init cannot install the AWS provider here: {reason.strip()}")
    validate = terraform(["validate", "-json"], workdir, env)
    report = json.loads(validate.stdout)
    assert report["valid"], json.dumps(report["diagnostics"], indent=2)
    plan = terraform(["plan", "-refresh=false", "-input=false", "-lock=false"], workdir, env)
    assert plan.returncode == 0, plan.stderr[-4000:]
    summary = re.search(r"^Plan: (\d+) to add, (\d+) to change, (\d+) to destroy\.$", plan.stdout, flags=re.M)
    assert summary is not None, plan.stdout[-2000:]
    resources = sum(len(kind) for kind in json.loads((workdir / "cdk.tf.json").read_text())["resource"].values())
    assert int(summary.group(1)) >= resources and summary.group(2, 3) == ("0", "0")
