"""The commands a user types, run as typed through the CLI itself (slow tier: the cdktf CLI starts
in about 4 s): an override through `make synth`, a broken settings file under `npx cdktf synth`,
and what is left in cdktf.out. They start when this module is collected and run on the second core.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import BackgroundRun, engine_name, project_copy, subprocess_env

OVERRIDE = {"regions": ["eu-west-1", "eu-central-1"], "home_region": "eu-west-1"}
# No update check, and an empty Terraform CLI configuration (this machine's names a missing file).
QUIET = {"CHECKPOINT_DISABLE": "1", "TF_CLI_CONFIG_FILE": "/dev/null"}
BROKEN_SETTINGS = '{\n  "regions": ["us-east-1",]\n}\n'
BROKEN_LINE = (
    "error: invalid configuration: settings.json: line 2, column 27: Expecting value; "
    "remove the trailing comma (not valid JSON)"
)

SYNTH_COPY = project_copy()
# A stack an earlier synth wrote that is no longer configured.
(SYNTH_COPY / "cdktf.out" / "stacks" / "iac-aws-nova-prod").mkdir(parents=True)
(SYNTH_COPY / "cdktf.out" / "stacks" / "iac-aws-nova-prod" / "cdk.tf.json").write_text("{}")
MAKE_SYNTH = BackgroundRun(
    ["make", "synth"], cwd=SYNTH_COPY, env=subprocess_env(CDKTF_CONTEXT_JSON=json.dumps(OVERRIDE), **QUIET)
)
BROKEN_COPY = project_copy()
(BROKEN_COPY / "settings.json").write_text(BROKEN_SETTINGS)
NPX_BROKEN = BackgroundRun(["npx", "--no-install", "cdktf", "synth"], cwd=BROKEN_COPY, env=subprocess_env(**QUIET))
BROKEN_CLI_COPY = project_copy()
(BROKEN_CLI_COPY / "cdktf.json").write_text('{\n  "language": "python"\n  "app": ".venv/bin/python main.py"\n}\n')
NPX_BROKEN_CLI = BackgroundRun(
    ["npx", "--no-install", "cdktf", "synth"], cwd=BROKEN_CLI_COPY, env=subprocess_env(**QUIET)
)
NPX_VERSION = BackgroundRun(["npx", "--no-install", "cdktf", "--version"], cwd=SYNTH_COPY, env=subprocess_env(**QUIET))


def regions_of(stack_dir: Path) -> list[str]:
    document = json.loads((stack_dir / "cdk.tf.json").read_text())
    return sorted(provider["region"] for provider in document["provider"]["aws"])


@pytest.mark.after_background
def test_make_synth_builds_what_the_override_says_through_the_cdktf_cli():
    """The README's example: CDKTF_CONTEXT_JSON='{"regions": [...]}' make synth. The cdktf CLI
    used to replace the variable with cdktf.json's context; now the override is what gets built."""
    result = MAKE_SYNTH.result()
    assert result.returncode == 0, result.stdout + result.stderr
    assert (
        "Settings are valid (settings.json, with CDKTF_CONTEXT_JSON setting regions, home_region): iac-aws-nova-dev"
        in (result.stdout)
    )
    # It went through the engine's CLI.
    assert {"cdktf": "npx --no-install cdktf synth", "cdktn": "cdktn synth --app"}[engine_name()] in result.stdout
    outdir = SYNTH_COPY / "cdktf.out"
    assert regions_of(outdir / "stacks" / "iac-aws-nova-dev-global") == ["eu-central-1", "eu-west-1"]
    assert regions_of(outdir / "stacks" / "iac-aws-nova-dev-eu-central-1") == ["eu-central-1"]


@pytest.mark.after_background
def test_a_synth_leaves_exactly_the_configured_stacks():
    assert MAKE_SYNTH.result().returncode == 0
    outdir = SYNTH_COPY / "cdktf.out"
    expected = [
        "iac-aws-nova-bootstrap",
        "iac-aws-nova-dev-edge",
        "iac-aws-nova-dev-eu-central-1",
        "iac-aws-nova-dev-eu-west-1",
        "iac-aws-nova-dev-global",
    ]
    assert sorted(json.loads((outdir / "manifest.json").read_text())["stacks"]) == expected
    assert sorted(p.name for p in (outdir / "stacks").iterdir()) == expected


@pytest.mark.after_background
def test_a_broken_settings_file_is_one_clear_line_under_npx_cdktf_synth():
    result = NPX_BROKEN.result()
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert BROKEN_LINE in output
    assert "Traceback" not in output and "    at " not in output  # no Python or Node stack
    assert not (BROKEN_COPY / "cdktf.out" / "manifest.json").exists()


@pytest.mark.after_background
def test_a_broken_cdktf_json_is_one_line_under_npx_cdktf_synth():
    """The CLI parses cdktf.json before it starts the app; the project's wrapper says it first."""
    result = NPX_BROKEN_CLI.result()
    output = result.stdout + result.stderr
    assert result.returncode == 2, output
    assert (
        "error: invalid configuration: cdktf.json: line 3, column 3: Expected ',' or '}' after property value "
        "(not valid JSON)"
    ) in output
    assert "    at " not in output and "Traceback" not in output
    assert not (BROKEN_CLI_COPY / "cdktf.out" / "manifest.json").exists()


@pytest.mark.after_background
def test_npx_cdktf_still_runs_the_pinned_cli_behind_the_wrapper():
    result = NPX_VERSION.result()
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0] == "0.21.0"


def _handles_sigterm(pid: int) -> bool:
    """Whether the process catches SIGTERM: main.py's handlers are installed (the interpreter's
    own start-up, before main.py's first line, is no longer in the way)."""
    import signal

    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    caught = int(next(line for line in status.splitlines() if line.startswith("SigCgt:")).split()[1], 16)
    return bool(caught & (1 << (signal.SIGTERM - 1)))


@pytest.mark.parametrize("delay_seconds", [0.0, 0.3, 0.8])
def test_ctrl_c_at_any_moment_of_python_main_py_is_one_line(tmp_path, delay_seconds):
    """Ctrl-C while main.py still imports the CDK (most of its first second), or later: the user
    sees "interrupted" and exit code 130, never a traceback."""
    import signal
    import subprocess
    import sys
    import time

    process = subprocess.Popen(
        [sys.executable, "main.py"],
        cwd=Path(__file__).resolve().parents[2],
        env=subprocess_env(CDKTF_OUTDIR=str(tmp_path / "out")),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 30
    while not _handles_sigterm(process.pid) and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)
    # main.py re-executes itself under python -O: the handlers must be those of the second run.
    assert "-O" in Path(f"/proc/{process.pid}/cmdline").read_text().split("\0")
    time.sleep(delay_seconds)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=60)
    if process.returncode == 0:
        pytest.skip(f"the synth finished within {delay_seconds} s")
    assert (process.returncode, stderr.strip().splitlines()[-1:]) == (130, ["interrupted"]), stderr
    assert "Traceback" not in stderr
