"""tools/outputs.py: an environment's outputs over its global, regional and edge stacks, on a
hand-written synth (no CDK, no synth) and a stand-in ``terraform`` on PATH that prints canned
``terraform output -json`` per ``-chdir`` directory and logs each call. Its ``main`` runs in this
process; twice, the script runs as a user types it."""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from conftest import subprocess_env

from tools import outputs as outputs_tool

ROOT = Path(__file__).resolve().parents[1]
HIDDEN = "(sensitive: --show-sensitive prints it)"
PREFIX = "iac-aws-nova-dev"
GLOBAL, EAST, WEST, EDGE = (f"{PREFIX}-{s}" for s in ("global", "us-east-1", "us-west-2", "edge"))
# The environment the tests assume, pinned over settings.json as a user would override it.
SETTINGS = {
    "project_name": "iac-aws-nova",
    "regions": ["us-east-1", "us-west-2"],
    "home_region": "us-east-1",
    "api_auth": "api_key",
}

URL = "https://{}.execute-api.{}.amazonaws.com/dev/api"
OUTPUTS: dict[str, dict[str, Any]] = {
    GLOBAL: {"table_name": "iac-aws-nova-dev-items", "api_key_secret_name": "iac-aws-nova-dev/api-key"},
    EAST: {
        "api_urls": {"us-east-1": URL.format("e1", "us-east-1")},
        "lambda_arns": {"us-east-1": "arn:aws:lambda:us-east-1:123456789012:function:api"},
        "api_keys": {"us-east-1": "s3cr3t"},
    },
    WEST: {
        "api_urls": {"us-west-2": URL.format("w2", "us-west-2")},
        "lambda_arns": {"us-west-2": "arn:aws:lambda:us-west-2:123456789012:function:api"},
        "api_keys": {"us-west-2": "s3cr3t"},
    },
    EDGE: {"dashboard_name": "iac-aws-nova-dev"},
}
MERGED = {
    "api_key_secret_name": "iac-aws-nova-dev/api-key",
    "api_keys": HIDDEN,
    "api_urls": {"us-east-1": URL.format("e1", "us-east-1"), "us-west-2": URL.format("w2", "us-west-2")},
    "dashboard_name": "iac-aws-nova-dev",
    "lambda_arns": {
        "us-east-1": "arn:aws:lambda:us-east-1:123456789012:function:api",
        "us-west-2": "arn:aws:lambda:us-west-2:123456789012:function:api",
    },
    "table_name": "iac-aws-nova-dev-items",
}

FAKE_TERRAFORM = """#!/bin/sh
# `terraform -chdir=DIR output -json -no-color`: DIR/fake-output.json on stdout, DIR/fake-stderr on
# stderr, exit with DIR/fake-exit (0 without it); each call's arguments go to $FAKE_TERRAFORM_LOG.
dir=${1#-chdir=}
echo "$*" >> "$FAKE_TERRAFORM_LOG"
if [ -f "$dir/fake-stderr" ]; then cat "$dir/fake-stderr" >&2; fi
if [ -f "$dir/fake-output.json" ]; then cat "$dir/fake-output.json"; fi
exit "$(cat "$dir/fake-exit" 2>/dev/null || echo 0)"
"""


def stack_document(name: str, outputs: dict[str, Any]) -> dict[str, Any]:
    """A cdk.tf.json as cdktf writes it: the outputs' metadata, a local backend, the output blocks."""
    return {
        "//": {"outputs": {name: {key: key for key in outputs}}},
        "terraform": {"backend": {"local": {"path": f"../../../terraform.{name}.tfstate"}}},
        "output": {key: {"value": "${...}", **({"sensitive": True} if key == "api_keys" else {})} for key in outputs},
    }


def canned(stack_dir: Path, outputs: dict[str, Any]) -> None:
    """What `terraform output -json` prints in ``stack_dir``."""
    terraform_json = {k: {"sensitive": k == "api_keys", "type": "dynamic", "value": v} for k, v in outputs.items()}
    (stack_dir / "fake-output.json").write_text(json.dumps(terraform_json))


def deployed_synth(base: Path) -> Path:
    """A synth of the dev environment's four stacks in ``base/cdktf.out``, each deployed (its local
    state file exists, its canned terraform output is in place)."""
    out = base / "cdktf.out"
    manifest: dict[str, Any] = {"stacks": {}, "version": "0.21.0"}
    for name, outputs in OUTPUTS.items():
        (out / "stacks" / name).mkdir(parents=True)
        (out / "stacks" / name / "cdk.tf.json").write_text(json.dumps(stack_document(name, outputs)))
        (base / f"terraform.{name}.tfstate").write_text("{}")  # the tool only checks that it exists
        canned(out / "stacks" / name, outputs)
        manifest["stacks"][name] = {
            "name": name,
            "workingDirectory": f"stacks/{name}",
            "synthesizedStackPath": f"stacks/{name}/cdk.tf.json",
            "dependencies": [],
        }
    (out / "manifest.json").write_text(json.dumps(manifest))
    return out


@pytest.fixture
def outdir(tmp_path: Path) -> Path:
    """The deployed synth, for a test to change."""
    return deployed_synth(tmp_path)


def start(
    base: Path, *args: str, settings: dict[str, Any] = SETTINGS, log: str = "calls", as_typed: bool = False
) -> subprocess.Popen[str] | subprocess.CompletedProcess[str]:
    """tools/outputs.py with these arguments, the stand-in terraform first on PATH and logging its
    calls to ``base/<log>.log``: its ``main`` in this process (what the script runs, from the
    arguments to the exit code), done when this returns; ``as_typed``: ``python tools/outputs.py
    ARGS`` from the repository, started."""
    bin_dir = base / "bin"
    bin_dir.mkdir(exist_ok=True)
    fake = bin_dir / "terraform"
    # Written once: rewriting it while an earlier run executes it would hand that run half a script.
    if not fake.exists():
        staged = bin_dir / "terraform.new"
        staged.write_text(FAKE_TERRAFORM)
        staged.chmod(0o755)
        staged.rename(fake)
    env = subprocess_env(CDKTF_CONTEXT_JSON=json.dumps(settings), FAKE_TERRAFORM_LOG=str(base / f"{log}.log"))
    env = {k: v for k, v in env.items() if k not in ("TERRAFORM", "TERRAFORM_BINARY_NAME", "TF_WORKSPACE")}
    env["PATH"] = f"{bin_dir}:{env.get('PATH', '')}"
    command = [sys.executable, "tools/outputs.py", *args]
    if as_typed:
        return subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    out, err = io.StringIO(), io.StringIO()
    with pytest.MonkeyPatch.context() as patch, contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        for name in set(os.environ) - set(env):
            patch.delenv(name)
        for name, value in env.items():
            patch.setenv(name, value)
        patch.chdir(ROOT)
        code = outputs_tool.main(args)
    return subprocess.CompletedProcess(command, code, out.getvalue(), err.getvalue())


def finish(process: subprocess.Popen[str] | subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    if isinstance(process, subprocess.CompletedProcess):
        return process
    stdout, stderr = process.communicate(timeout=30)
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)


def run(base: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return finish(start(base, *args))


def calls(base: Path, log: str = "calls") -> list[str]:
    log_file = base / f"{log}.log"
    return sorted(log_file.read_text().splitlines()) if log_file.exists() else []


def document(outputs: dict[str, Any]) -> str:
    """The tool's stdout for these outputs."""
    return json.dumps(outputs, indent=2) + "\n"


OUTPUT_CASES = {
    "map": (["--output", "api_urls"], 0, json.dumps(MERGED["api_urls"], indent=2) + "\n", ""),
    "string": (["--output", "table_name"], 0, "iac-aws-nova-dev-items\n", ""),  # unquoted, for $(...)
    "sensitive": (
        ["--output", "api_keys"],
        2,
        "",
        "error: output api_keys is sensitive: add --show-sensitive (make outputs ... SHOW_SENSITIVE=1)\n",
    ),
    "unknown": (
        ["--output", "api_ulrs"],
        2,
        "",
        "error: no output 'api_ulrs'; the environment's outputs: api_key_secret_name, api_keys, api_urls, "
        "dashboard_name, lambda_arns, table_name\n",
    ),
    # The one address exists only with a custom domain: the docs' example asked for it on the default.
    "api_url without a domain": (
        ["--output", "api_url"],
        2,
        "",
        "error: no output 'api_url' (only with a custom domain, domain_name, which dev has not; each region's "
        "address is in api_urls); the environment's outputs: api_key_secret_name, api_keys, api_urls, "
        "dashboard_name, lambda_arns, table_name\n",
    ),
}


@dataclass(frozen=True)
class Runs:
    """The tool's runs over one deployed synth in ``base``, by name; each logs its terraform calls to
    ``base/<name>.log``."""

    base: Path
    outdir: Path
    results: dict[str, subprocess.CompletedProcess[str]]

    def __getitem__(self, name: str) -> subprocess.CompletedProcess[str]:
        return self.results[name]


@pytest.fixture(scope="module")
def deployed(tmp_path_factory: pytest.TempPathFactory) -> Runs:
    """The runs that change nothing; the two as typed started first, to run meanwhile."""
    base = tmp_path_factory.mktemp("deployed")
    out = str(deployed_synth(base))
    west_first = {**SETTINGS, "regions": ["us-west-2", "us-east-1"]}
    processes = {  # two of them as typed, in processes of their own
        "all": start(base, "dev", "--outdir", out, log="all", as_typed=True),
        "unknown-environment": start(base, "qa", "--outdir", out, log="unknown-environment", as_typed=True),
        "west-first": start(base, "dev", "--outdir", out, settings=west_first, log="west-first"),
        "show-sensitive": start(base, "dev", "--outdir", out, "--show-sensitive", log="show-sensitive"),
        "no-synth": start(base, "dev", "--outdir", str(base / "nothing"), log="no-synth"),
    }
    for name, (args, *_) in OUTPUT_CASES.items():
        processes[name] = start(base, "dev", "--outdir", out, *args, log=name)
    return Runs(base, Path(out), {name: finish(process) for name, process in processes.items()})


def test_merges_the_regional_maps_and_keeps_the_global_and_edge_values(deployed: Runs) -> None:
    result = deployed["all"]
    assert (result.returncode, result.stderr) == (0, "")
    assert result.stdout == document(MERGED)  # names sorted, regions in order, indent 2, the key hidden
    expected = [f"-chdir={deployed.outdir}/stacks/{name} output -json -no-color" for name in sorted(OUTPUTS)]
    assert calls(deployed.base, "all") == expected


def test_region_maps_follow_the_regions_setting_not_the_alphabet(deployed: Runs) -> None:
    result = deployed["west-first"]
    assert (result.returncode, result.stderr) == (0, "")
    assert list(json.loads(result.stdout)["api_urls"]) == ["us-west-2", "us-east-1"]


def test_show_sensitive_prints_the_api_keys(deployed: Runs) -> None:
    result = deployed["show-sensitive"]
    assert (result.returncode, result.stderr) == (0, "")
    assert result.stdout == document({**MERGED, "api_keys": {"us-east-1": "s3cr3t", "us-west-2": "s3cr3t"}})


@pytest.mark.parametrize("case", OUTPUT_CASES)
def test_output_prints_one_value(deployed: Runs, case: str) -> None:
    _, returncode, stdout, stderr = OUTPUT_CASES[case]
    result = deployed[case]
    assert (result.returncode, result.stdout, result.stderr) == (returncode, stdout, stderr)


def test_an_unknown_environment_is_refused(deployed: Runs) -> None:
    result = deployed["unknown-environment"]
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr.startswith("error: unknown environment 'qa': the settings (settings.json")
    assert result.stderr.endswith(") configure dev\n") and result.stderr.count("\n") == 1
    assert calls(deployed.base, "unknown-environment") == []


def test_a_missing_synth_is_refused(deployed: Runs) -> None:
    missing = deployed.base / "nothing"
    result = deployed["no-synth"]
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr == f"error: no synth in {missing} ({missing}/manifest.json not found): run make synth first\n"


def test_a_stack_not_deployed_is_noted_and_skipped(tmp_path: Path, outdir: Path) -> None:
    (tmp_path / f"terraform.{WEST}.tfstate").unlink()  # local state never written: terraform is not asked
    (outdir / "stacks" / EDGE / "fake-output.json").write_text("{}")  # what an initialized, empty state says
    result = run(tmp_path, "dev", "--outdir", str(outdir))
    assert result.returncode == 0
    assert result.stderr == f"note: {WEST}: not deployed (no outputs)\nnote: {EDGE}: not deployed (no outputs)\n"
    expected = {k: v for k, v in MERGED.items() if k != "dashboard_name"}
    expected["api_urls"] = {"us-east-1": URL.format("e1", "us-east-1")}
    expected["lambda_arns"] = {"us-east-1": OUTPUTS[EAST]["lambda_arns"]["us-east-1"]}
    assert result.stdout == document(expected)
    assert not any(WEST in call for call in calls(tmp_path))


def test_stacks_that_disagree_are_refused_without_printing_a_key(tmp_path: Path, outdir: Path) -> None:
    # A regional stack deployed from an older synth, still claiming another region's value.
    canned(outdir / "stacks" / WEST, {**OUTPUTS[WEST], "api_keys": {"us-west-2": "s3cr3t", "us-east-1": "old-key"}})
    result = run(tmp_path, "dev", "--outdir", str(outdir), "--show-sensitive")
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr == (
        f"error: output api_keys: {WEST} and {EAST} disagree on us-east-1 ((sensitive) vs (sensitive)): "
        "deploy the environment's stacks from one synth\n"
    )


def test_a_synth_without_the_environments_stacks_is_refused(tmp_path: Path, outdir: Path) -> None:
    manifest = json.loads((outdir / "manifest.json").read_text())
    del manifest["stacks"][EDGE]  # e.g. a synth from before the environment was split into stacks
    (outdir / "manifest.json").write_text(json.dumps(manifest))
    result = run(tmp_path, "dev", "--outdir", str(outdir))
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr == (
        f"error: stack {EDGE} is not in {outdir}/manifest.json: that synth is of other settings or older code; "
        "run make synth again\n"
    )


def _failing(stack_dir: Path) -> None:
    (stack_dir / "fake-exit").write_text("1")
    (stack_dir / "fake-stderr").write_text(
        '╷\n│ Error: Backend initialization required, please run "terraform init"\n│\n'
        '│ Reason: Initial configuration of the requested backend "s3"\n╵\n'
    )


def _failure_line(stack: str, stack_dir: Path) -> str:
    return (
        f"error: {stack}: terraform -chdir={stack_dir} output failed (exit 1): Error: Backend initialization "
        f'required, please run "terraform init"; run terraform -chdir={stack_dir} init (cdktf deploy does it), '
        "then retry\n"
    )


def test_a_terraform_failure_is_one_line_with_the_fix(tmp_path: Path, outdir: Path) -> None:
    """Every stack unreadable: nothing to print but the first failure, in deploy order."""
    for stack in json.loads((outdir / "manifest.json").read_text())["stacks"]:
        _failing(outdir / "stacks" / stack)
    result = run(tmp_path, "dev", "--outdir", str(outdir))
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr == _failure_line(GLOBAL, outdir / "stacks" / GLOBAL)


def test_a_stack_that_cannot_be_read_leaves_the_others_printed_and_exit_1(tmp_path: Path, outdir: Path) -> None:
    """A region's outage (its state bucket unreachable) must not hide the healthy regions' outputs,
    which the runbooks read with make outputs."""
    stack_dir = outdir / "stacks" / GLOBAL
    _failing(stack_dir)
    result = run(tmp_path, "dev", "--outdir", str(outdir))
    assert result.returncode == 1
    printed = json.loads(result.stdout)
    assert "api_urls" in printed and "table_name" not in printed  # the regions' outputs, not the global one's
    assert result.stderr == _failure_line(GLOBAL, stack_dir) + f"error: not read, so left out above: {GLOBAL}\n"


def test_one_output_of_a_stack_that_cannot_be_read_names_that_stack_and_exit_1(tmp_path: Path, outdir: Path) -> None:
    stack_dir = outdir / "stacks" / GLOBAL
    _failing(stack_dir)
    result = run(tmp_path, "dev", "--outdir", str(outdir), "--output", "table_name")
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr == (
        _failure_line(GLOBAL, stack_dir) + f"error: no output 'table_name' read: it may be in {GLOBAL}\n"
    )


def test_a_synth_without_a_stacks_folder_is_still_unusable_input(tmp_path: Path, outdir: Path) -> None:
    """Only a state that cannot be read leaves the others printed; a broken synth is exit 2 as before."""
    shutil.rmtree(outdir / "stacks" / EDGE)
    result = run(tmp_path, "dev", "--outdir", str(outdir))
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr == f"error: {outdir}/stacks/{EDGE}/cdk.tf.json not found: run make synth again\n"


def cdktf_outputs_file(tmp_path: Path, *, sensitive: bool) -> Path:
    """What `cdktf deploy --outputs-file` writes: {stack: {construct id: value}}, sensitive values only
    with --outputs-file-include-sensitive-outputs."""
    written = {
        name: {k: v for k, v in outputs.items() if sensitive or k != "api_keys"} for name, outputs in OUTPUTS.items()
    }
    path = tmp_path / "outputs.json"
    path.write_text(json.dumps(written, indent=2))
    return path


def test_reads_the_file_cdktf_deploy_writes(tmp_path: Path, outdir: Path) -> None:
    # The edge's output sits in a nested construct: the file nests it, the metadata names it.
    edge = json.loads((outdir / "stacks" / EDGE / "cdk.tf.json").read_text())
    edge["//"]["outputs"] = {EDGE: {"monitoring": {"dashboard": "dashboard_name"}}}
    (outdir / "stacks" / EDGE / "cdk.tf.json").write_text(json.dumps(edge))
    path = cdktf_outputs_file(tmp_path, sensitive=True)
    written = json.loads(path.read_text())
    written[EDGE] = {"monitoring": {"dashboard": OUTPUTS[EDGE]["dashboard_name"]}}
    path.write_text(json.dumps(written))
    result = run(tmp_path, "dev", "--outdir", str(outdir), "--outputs-file", str(path))
    assert (result.returncode, result.stderr, result.stdout) == (0, "", document(MERGED))
    assert calls(tmp_path) == []


def test_an_outputs_file_without_the_sensitive_values_says_so(tmp_path: Path, outdir: Path) -> None:
    path = cdktf_outputs_file(tmp_path, sensitive=False)
    result = run(tmp_path, "dev", "--outdir", str(outdir), "--outputs-file", str(path), "--show-sensitive")
    assert result.returncode == 0
    assert result.stderr == (
        f"note: api_keys: not in {path} (cdktf deploy writes sensitive outputs there only with "
        "--outputs-file-include-sensitive-outputs)\n"
    )
    assert result.stdout == document({k: v for k, v in MERGED.items() if k != "api_keys"})
