"""`terraform validate` on every synthesized stack, where the AWS provider can be installed.

Here the Terraform registry is not reachable, so `terraform init` cannot download the provider and
this test skips, saying so. With a provider mirror or plugin cache (TF_PLUGIN_CACHE_DIR, or a CLI
configuration named by IAC_TF_CLI_CONFIG_FILE) it runs for real.
"""

import json
import os
import shutil
import subprocess

import pytest

STACKS = ["iac-aws-nova-dev", "iac-aws-nova-bootstrap"]


def terraform(args, cwd, env):
    return subprocess.run(
        ["terraform", *args, "-no-color"], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )


@pytest.mark.parametrize("stack", STACKS)
def test_terraform_validate(default_synth, tmp_path, stack):
    if shutil.which("terraform") is None:
        pytest.skip("the Terraform CLI is not installed")
    env = dict(os.environ)
    cli_config = os.environ.get("IAC_TF_CLI_CONFIG_FILE")
    if cli_config is None:
        # An empty CLI configuration of our own: the machine's may point at a missing file, which
        # makes every command print a warning.
        cli_config = str(tmp_path / "terraformrc")
        open(cli_config, "w").close()
    env["TF_CLI_CONFIG_FILE"] = cli_config
    workdir = tmp_path / stack
    shutil.copytree(default_synth.outdir / "stacks" / stack, workdir)

    init = terraform(["init", "-backend=false", "-input=false"], workdir, env)
    if init.returncode != 0:
        reason = next(
            (line for line in init.stderr.splitlines() if "registry" in line or "provider" in line),
            init.stderr.strip().splitlines()[0] if init.stderr.strip() else "unknown error",
        )
        pytest.skip(f"terraform init cannot install the AWS provider here: {reason.strip()}")

    result = terraform(["validate", "-json"], workdir, env)
    report = json.loads(result.stdout)
    assert report["valid"], json.dumps(report["diagnostics"], indent=2)
