"""The commands a user types, run as typed in a copy of the project: what make prints for bad
settings, its exit codes, and what is left on disk. The runs through the cdktf CLI itself (which
starts in about 4 s) are in tests/slow/test_cli_runs.py, `make diff`'s in tests/slow/test_make_diff.py.

The two `make synth` runs start in the background (``BackgroundRun``) while the rest of the suite runs.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import ROOT, BackgroundRun, project_copy, subprocess_env

OVERRIDE = {"regions": ["eu-west-1", "eu-central-1"], "home_region": "eu-west-1"}
# No update check, and an empty Terraform CLI configuration (this machine's names a missing file).
QUIET = {"CHECKPOINT_DISABLE": "1", "TF_CLI_CONFIG_FILE": "/dev/null"}
BROKEN_SETTINGS = '{\n  "regions": ["us-east-1",]\n}\n'
BROKEN_LINE = (
    "error: invalid configuration: settings.json: line 2, column 27: Expecting value; "
    "remove the trailing comma (not valid JSON)"
)


def copy_with(name: str, text: str) -> Callable[[], Path]:
    """A project copy whose file ``name`` holds ``text``, made when the run starts."""

    def make() -> Path:
        copy = project_copy()
        (copy / name).write_text(text)
        return copy

    return make


MAKE_BROKEN = BackgroundRun(
    ["make", "synth"], cwd=copy_with("settings.json", BROKEN_SETTINGS), env=subprocess_env(**QUIET)
)
MAKE_BROKEN_CLI = BackgroundRun(
    ["make", "synth"],
    cwd=copy_with("cdktf.json", '{\n  "language": "python"\n  "app": ".venv/bin/python main.py"\n}\n'),
    env=subprocess_env(**QUIET),
)


@pytest.mark.after_background
def test_a_broken_settings_file_stops_make_synth_before_the_cli_with_one_line():
    result = MAKE_BROKEN.result()
    assert result.returncode == 2
    ours = [line for line in result.stderr.splitlines() if not line.startswith("make: ")]
    assert ours == [BROKEN_LINE]
    assert "cdktf synth" not in result.stdout  # the CLI never started


@pytest.mark.after_background
def test_a_broken_cdktf_json_is_one_line_with_line_and_column_under_make_synth():
    """The cdktf CLI parses cdktf.json before anything of this project runs (a bare `npx cdktf`
    shows its own error); make synth checks it first."""
    result = MAKE_BROKEN_CLI.result()
    assert result.returncode == 2
    ours = [line for line in result.stderr.splitlines() if not line.startswith("make: ")]
    assert ours == [
        "error: invalid configuration: cdktf.json: line 3, column 3: Expecting ',' delimiter (not valid JSON)"
    ]


def test_stale_stacks_go_but_never_a_state_file(tmp_path, capsys):
    """python main.py removes the folders of stacks no longer configured (tests/test_main.py runs it
    over one), except one that holds a state file."""
    from constructs_lib.app import remove_stale_stacks

    for name in ("iac-aws-nova-dev", "iac-aws-nova-prod", "iac-aws-nova-qa"):
        (tmp_path / "stacks" / name).mkdir(parents=True)
        (tmp_path / "stacks" / name / "cdk.tf.json").write_text("{}")
    (tmp_path / "stacks" / "iac-aws-nova-qa" / "terraform.tfstate").write_text("{}")
    (tmp_path / "manifest.json").write_text(json.dumps({"stacks": {"iac-aws-nova-dev": {}}}))
    assert remove_stale_stacks(tmp_path) == ["iac-aws-nova-prod"]
    assert sorted(p.name for p in (tmp_path / "stacks").iterdir()) == ["iac-aws-nova-dev", "iac-aws-nova-qa"]
    stale = tmp_path / "stacks" / "iac-aws-nova-qa"
    assert (
        capsys.readouterr().err == f"warning: {stale} is no longer configured but holds a state file: left in place\n"
    )


def test_the_security_gate_scans_the_manifests_stacks_only(tmp_path):
    from security import gate

    for name in ("iac-aws-nova-dev", "iac-aws-nova-prod"):
        (tmp_path / "stacks" / name).mkdir(parents=True)
        (tmp_path / "stacks" / name / "cdk.tf.json").write_text("{}")
    (tmp_path / "manifest.json").write_text(json.dumps({"stacks": {"iac-aws-nova-dev": {}}}))
    assert gate.stack_dirs_under(tmp_path / "stacks") == [tmp_path / "stacks" / "iac-aws-nova-dev"]


def test_make_help_lists_every_target():
    import re
    import subprocess

    makefile = (ROOT / "Makefile").read_text()
    targets = re.findall(r"^([a-z-]+):.*## ", makefile, flags=re.M)
    result = subprocess.run(
        ["make", "help"], cwd=ROOT, env=subprocess_env(), capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 0
    assert [line.split()[0] for line in result.stdout.splitlines()] == targets
    assert {"synth", "check", "test", "diff", "serve-local"} <= set(targets)


@pytest.mark.parametrize(("target", "exported"), [("outputs", True), ("verify", False)])
def test_make_without_env_on_its_command_line_says_an_exported_one_is_not_read(target, exported):
    """`ENV=dev make outputs`: make would take a shell's ENV (sh's startup file) for the environment,
    so only the command line's counts; the refusal says so when the shell has one."""
    import subprocess

    env = subprocess_env(**({"ENV": "dev"} if exported else {}))
    if not exported:
        env.pop("ENV", None)
    result = subprocess.run(["make", target], cwd=ROOT, env=env, capture_output=True, text=True, timeout=30)
    assert result.returncode == 2 and result.stdout == ""
    hint = " (an ENV exported by the shell is not read: shells use it for a startup file)" if exported else ""
    assert result.stderr.splitlines()[0] == f"error: name the environment: make {target} ENV=dev{hint}"


# `npx cdktf ...` runs tools/cdktf.js (package.json "bin"), which checks cdktf.json before the CLI
# parses it (the CLI's own error is a Node stack trace). Run here with node directly: the same file.
@pytest.mark.parametrize(
    ("text", "line"),
    [
        (
            '{\n  "language": "python"\n  "app": "x"\n}\n',
            "line 3, column 3: Expected ',' or '}' after property value",
        ),
        (
            '{\n  "language": "python",\n}\n',
            "line 3, column 1: Expected double-quoted property name; remove the trailing comma",
        ),
        ('{\n  "language": python\n}\n', "line 2, column 15: Unexpected token 'p'"),
        ('{\n  "language": "python"\n', "line 3, column 1: Expected ',' or '}' after property value"),
        ("", "line 1, column 1: Unexpected end of JSON input"),
    ],
)
def test_npx_cdktf_says_a_broken_cdktf_json_in_one_line_before_the_cli_starts(tmp_path, text, line):
    import shutil
    import subprocess

    node = shutil.which("node")
    if node is None:
        pytest.fail("node is not installed: the project needs Node 20 (README)")
    (tmp_path / "cdktf.json").write_text(text)
    result = subprocess.run(
        [node, str(ROOT / "tools" / "cdktf.js"), "synth"], cwd=tmp_path, capture_output=True, text=True, timeout=30
    )
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr == f"error: invalid configuration: cdktf.json: {line} (not valid JSON)\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cdktf.json"]  # nothing written


def environment_given_to_the_cli(tmp_path: Path, **variables: str) -> dict[str, str]:
    """CHECKPOINT_DISABLE and TF_CLI_CONFIG_FILE as tools/cdktf.js passes them to the CLI, given
    ``variables`` (neither set unless named): run from a copy whose cdktf-cli prints them."""
    import shutil
    import subprocess

    (tmp_path / "tools").mkdir(parents=True)
    shutil.copy2(ROOT / "tools" / "cdktf.js", tmp_path / "tools" / "cdktf.js")
    fake = tmp_path / "node_modules" / "cdktf-cli" / "bundle" / "bin" / "cdktf.js"
    fake.parent.mkdir(parents=True)
    fake.write_text(
        "const names = ['CHECKPOINT_DISABLE', 'TF_CLI_CONFIG_FILE'];\n"
        "console.log(JSON.stringify(Object.fromEntries(names.filter((n) => n in process.env)"
        ".map((n) => [n, process.env[n]]))));\n"
    )
    env = {k: v for k, v in subprocess_env().items() if k not in ("CHECKPOINT_DISABLE", "TF_CLI_CONFIG_FILE")}
    result = subprocess.run(
        ["node", str(tmp_path / "tools" / "cdktf.js"), "synth"],
        cwd=tmp_path,
        env={**env, **variables},
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert (result.returncode, result.stderr) == (0, "")
    return json.loads(result.stdout)


def test_npx_cdktf_turns_off_the_update_check_unless_the_user_set_it(tmp_path):
    """Offline, the check printed `[ERROR] getaddrinfo ENOTFOUND checkpoint-api.hashicorp.com` on every run."""
    assert environment_given_to_the_cli(tmp_path / "unset") == {"CHECKPOINT_DISABLE": "1"}
    assert environment_given_to_the_cli(tmp_path / "set", CHECKPOINT_DISABLE="") == {"CHECKPOINT_DISABLE": ""}


def test_npx_cdktf_replaces_a_missing_terraform_cli_configuration_as_make_does(tmp_path):
    (tmp_path / "terraformrc").write_text("")
    given = environment_given_to_the_cli(tmp_path / "missing", TF_CLI_CONFIG_FILE=str(tmp_path / "nothing"))
    assert given["TF_CLI_CONFIG_FILE"] == "/dev/null"
    given = environment_given_to_the_cli(tmp_path / "there", TF_CLI_CONFIG_FILE=str(tmp_path / "terraformrc"))
    assert given["TF_CLI_CONFIG_FILE"] == str(tmp_path / "terraformrc")


def test_every_npm_script_that_runs_cdktf_goes_through_the_checking_wrapper():
    """`npm run synth` ran the bare CLI (its cdktf.json error is a Node stack trace), not tools/cdktf.js."""
    scripts = json.loads((ROOT / "package.json").read_text())["scripts"]
    cdktf = {name: command for name, command in scripts.items() if "cdktf" in command}
    assert set(cdktf) >= {"synth", "diff", "deploy"}
    assert {name: command.split()[:2] for name, command in cdktf.items()} == {
        name: ["node", "tools/cdktf.js"] for name in cdktf
    }


def test_npm_run_synth_says_a_broken_cdktf_json_in_one_line(tmp_path):
    import shutil
    import subprocess

    npm = shutil.which("npm")
    if npm is None:
        pytest.fail("npm is not installed: the project needs Node 20 (README)")
    shutil.copy2(ROOT / "package.json", tmp_path / "package.json")
    (tmp_path / "tools").mkdir()
    shutil.copy2(ROOT / "tools" / "cdktf.js", tmp_path / "tools" / "cdktf.js")
    (tmp_path / "cdktf.json").write_text('{\n  "language": "python",\n}\n')
    result = subprocess.run([npm, "run", "--silent", "synth"], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr == (
        "error: invalid configuration: cdktf.json: line 3, column 1: Expected double-quoted property name; "
        "remove the trailing comma (not valid JSON)\n"
    )


def test_npx_cdktf_resolves_to_the_checking_wrapper():
    """npm runs a project's own bin for `npx <name>` in it (npm 7 and later)."""
    package = json.loads((ROOT / "package.json").read_text())
    wrapper = ROOT / package["bin"]["cdktf"]
    assert wrapper == ROOT / "tools" / "cdktf.js" and wrapper.stat().st_mode & 0o111
    assert wrapper.read_text().startswith("#!/usr/bin/env node\n")
