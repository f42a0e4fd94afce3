"""The app as a user runs it, `python main.py`, with settings from settings.json and
CDKTF_CONTEXT_JSON: its ``main()`` in this process, and a few refusals as typed (a whole synth as
typed: tests/slow/test_main_as_typed.py)."""

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import files, main_summary_problems, subprocess_env

ROOT = Path(__file__).resolve().parent.parent


def run_main(tmp_path, context):
    env = subprocess_env(CDKTF_CONTEXT_JSON=json.dumps(context))
    return subprocess.run(
        [sys.executable, str(ROOT / "main.py")], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300
    )


FROM = "(from CDKTF_CONTEXT_JSON)"
# Settings refused, each with (part of) its one line.
BAD_INPUT = [
    ({"regions": []}, f"regions {FROM}: [] must name at least one region"),
    ({"regions": "us-east-1"}, f'regions {FROM}: "us-east-1" must be a list of region names, not a single string'),
    (
        {"regions": ["us-east-1", "us-east-1"]},
        f'regions {FROM}: ["us-east-1", "us-east-1"] lists us-east-1 more than once',
    ),
    ({"regions": ["eu-north-9"]}, f'regions {FROM}: "eu-north-9" is not a known AWS commercial region'),
    ({"regions": ["mars-north-1"]}, f'regions {FROM}: "mars-north-1" is not a region name'),
    ({"project_name": "My_Project"}, f'project_name {FROM}: "My_Project" must be 2 to 24 lowercase letters'),
    ({"environment": ""}, f'environment {FROM}: "" must be 1 to 12 lowercase letters'),
    ({"home_region": "eu-west-1"}, f'home_region {FROM}: "eu-west-1" must be one of the configured regions'),
    ({"lambda_memory_mb": -1}, f"lambda_memory_mb {FROM}: -1 must be at least 128"),
    ({"tags": None}, f"tags {FROM}: null must be a mapping of tag names to values"),  # null is written too
    ({"secrets": ["Bad_Name"]}, f'secrets[0] {FROM}: "Bad_Name" must be 1 to 32 lowercase letters'),
    (
        {"lambda_timeout_seconds": "30"},
        f'lambda_timeout_seconds {FROM}: "30" must be a whole number (got a string)',
    ),
    ({"regoins": ["us-east-1"]}, f'regoins {FROM}: is not a known setting; did you mean "regions"?'),
    ({"Regions": ["us-east-1"]}, f'Regions {FROM}: is not a known setting; did you mean "regions"?'),
    ({"lambdaMemoryMb": 256}, f'lambdaMemoryMb {FROM}: is not a known setting; did you mean "lambda_memory_mb"?'),
    ({"regions": {"us-east-1": True}}, f'regions {FROM}: {{"us-east-1": true}} must be a list of region names'),
    ({"project_name": ["shop"]}, f'project_name {FROM}: ["shop"] must be a string (got a list)'),
    ({"project_name": "x" * 30}, f'project_name {FROM}: "{"x" * 30}" must be 2 to 24 lowercase letters'),
    ({"lambda_timeout_seconds": 0}, f"lambda_timeout_seconds {FROM}: 0 must be at least 8"),
    ({"alarm_errors_threshold": 2.5}, f"alarm_errors_threshold {FROM}: 2.5 must be a whole number (got a number)"),
    ({"api_auth": "password"}, f'api_auth {FROM}: "password" must be one of api_key, iam, cognito, none'),
    ({"cdktfRelativeModules": [], "regions": []}, f"regions {FROM}: [] must name at least one region"),
    ({"domain_name": "api.example.com"}, f'domain_name {FROM}: "api.example.com" needs hosted_zone_id too'),
    ({"queue_max_receive_count": 0}, f"queue_max_receive_count {FROM}: 0 must be positive"),
    (
        {"vpc_cidrs": {"us-east-1": "10.60.1.0/16"}},
        f'vpc_cidrs.us-east-1 {FROM}: "10.60.1.0/16" has host bits set; did you mean "10.60.0.0/16"?',
    ),
    (
        {"api_max_request_body_kb": 100},
        f"api_max_request_body_kb {FROM}: 100 must be one of 16, 32, 48, 64 (the body sizes WAF can inspect)",
    ),
    (
        {"environments": {"prod": {"memory_mb": 512}}},
        f"environments.prod.memory_mb {FROM}: is not a known setting; "
        'did you mean "lambda_memory_mb" or "worker_memory_mb"?',
    ),
]


def refused(code: int, stdout: str, stderr: str, message: str, earlier: Path) -> None:
    """Exit code 2, one line naming the setting, the value and the rule; nothing else said or written."""
    assert code == 2
    [line] = stderr.strip().splitlines()
    assert line.startswith("error: invalid configuration: ")
    assert message in stderr
    assert "Traceback" not in stderr + stdout
    assert files(earlier) == {"manifest.json": b'{"earlier": true}'}


def earlier_output(tmp_path: Path) -> Path:
    """What an earlier synth left in cdktf.out: a refused run must leave it as it is."""
    earlier = tmp_path / "cdktf.out"
    earlier.mkdir()
    (earlier / "manifest.json").write_text('{"earlier": true}')
    return earlier


@pytest.mark.parametrize(("context", "message"), BAD_INPUT)
def test_bad_input_exits_with_one_line_and_writes_nothing(tmp_path, monkeypatch, capsys, context, message):
    """What ``python main.py`` runs, from the settings to the exit code, in this process (the
    process itself: below)."""
    from constructs_lib import app

    earlier = earlier_output(tmp_path)
    monkeypatch.setenv("CDKTF_CONTEXT_JSON", json.dumps(context))
    monkeypatch.delenv("CDKTF_OUTDIR", raising=False)
    monkeypatch.chdir(tmp_path)
    code = app.main([])
    out, err = capsys.readouterr()
    refused(code, out, err, message, earlier)


@pytest.mark.parametrize(("context", "message"), [BAD_INPUT[1], BAD_INPUT[-1]])
def test_bad_input_as_typed_exits_2_with_one_line_and_writes_nothing(tmp_path, context, message):
    earlier = earlier_output(tmp_path)
    result = run_main(tmp_path, context)
    refused(result.returncode, result.stdout, result.stderr, message, earlier)


def no_cdk(configs, **_):
    raise AssertionError("the CDK loaded: the run should have been refused before it")


@pytest.mark.parametrize("argv", [[], ["--check"]])
@pytest.mark.parametrize("value", ["true", "1"])
def test_cdktf_synth_hcl_is_refused_in_one_line_before_anything_is_written(tmp_path, monkeypatch, capsys, argv, value):
    """`cdktf synth --hcl` sets SYNTH_HCL_OUTPUT=true for the app: the CDK would write cdk.tf, which
    nothing here reads, beside any earlier cdk.tf.json (Terraform would load both)."""
    from constructs_lib import app

    earlier = earlier_output(tmp_path)
    monkeypatch.setenv("SYNTH_HCL_OUTPUT", value)
    monkeypatch.delenv("CDKTF_CONTEXT_JSON", raising=False)
    monkeypatch.delenv("CDKTF_OUTDIR", raising=False)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(app, "build_app", no_cdk)
    assert app.main(argv) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err == (
        f"error: SYNTH_HCL_OUTPUT={value} (cdktf synth --hcl): this project writes JSON only (its tools and "
        "security gate read cdk.tf.json); run cdktf synth without --hcl\n"
    )
    assert files(earlier) == {"manifest.json": b'{"earlier": true}'}


def test_cdktf_synth_without_hcl_is_not_refused(monkeypatch, capsys):
    """The CLI sets SYNTH_HCL_OUTPUT=false for a plain `cdktf synth`."""
    from constructs_lib import app

    monkeypatch.setenv("SYNTH_HCL_OUTPUT", "false")
    monkeypatch.delenv("CDKTF_CONTEXT_JSON", raising=False)
    assert app.main(["--check"]) == 0
    assert capsys.readouterr().out.startswith("Settings are valid (settings.json)")


@pytest.mark.parametrize(
    ("outdir", "line"),
    [
        ("afile", "error: CDKTF_OUTDIR: {tmp}/afile cannot be created (Not a directory)"),
        ("afile/out", "error: CDKTF_OUTDIR: {tmp}/afile/out cannot be created (Not a directory)"),
        ("/proc/nope", "error: CDKTF_OUTDIR: /proc/nope cannot be created (No such file or directory)"),
        (None, "error: output directory cdktf.out cannot be created (Not a directory)"),
    ],
    ids=["a file", "under a file", "/proc", "the default"],
)
def test_an_output_directory_that_cannot_be_created_is_one_line(tmp_path, monkeypatch, capsys, outdir, line):
    """Before the CDK loads (its own mkdir fails with a jsii stack trace); nothing written. Unset,
    CDKTF_OUTDIR is cdktf.out, here a file."""
    from constructs_lib import app

    (tmp_path / "afile").write_text("a file")
    (tmp_path / "cdktf.out").write_text("a file")
    monkeypatch.delenv("CDKTF_CONTEXT_JSON", raising=False)
    monkeypatch.delenv("SYNTH_HCL_OUTPUT", raising=False)
    if outdir is None:
        monkeypatch.delenv("CDKTF_OUTDIR", raising=False)
    else:
        monkeypatch.setenv("CDKTF_OUTDIR", outdir if outdir.startswith("/") else str(tmp_path / outdir))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(app, "build_app", no_cdk)
    assert app.main([]) == 2
    assert capsys.readouterr() == ("", line.format(tmp=tmp_path) + "\n")
    assert files(tmp_path) == {"afile": b"a file", "cdktf.out": b"a file"}


class OneStackApp:
    """Stands in for the CDK's app in main(): writes what its summary reads, one stack (the
    environment's edge) with ``resources`` resources."""

    def __init__(self, outdir: str, resources: int) -> None:
        self.outdir, self.resources = Path(outdir), resources

    def synth(self) -> None:
        (self.outdir / "manifest.json").write_text(json.dumps({"stacks": {"iac-aws-nova-dev-edge": {}}}))
        stack = self.outdir / "stacks" / "iac-aws-nova-dev-edge"
        stack.mkdir(parents=True)
        document = {"resource": {"aws_route53_record": {f"r{n}": {} for n in range(self.resources)}}}
        (stack / "cdk.tf.json").write_text(json.dumps(document))


def closed_pipe(monkeypatch) -> io.TextIOWrapper:
    """sys.stdout as `| head -1` leaves it: a pipe whose reader has gone (line-buffered, so each
    print writes at once, as under PYTHONUNBUFFERED)."""
    read, write = os.pipe()
    os.close(read)
    stream = os.fdopen(write, "w", buffering=1)
    monkeypatch.setattr(sys, "stdout", stream)
    return stream


@pytest.mark.parametrize("argv", [["--version"], ["--check"], []], ids=["version", "check", "synth"])
def test_a_reader_that_goes_away_ends_the_output_quietly(tmp_path, monkeypatch, argv):
    """`main.py | head -1`: no BrokenPipeError out of main(), the exit code it would have had."""
    from constructs_lib import app

    monkeypatch.delenv("CDKTF_CONTEXT_JSON", raising=False)
    monkeypatch.delenv("SYNTH_HCL_OUTPUT", raising=False)
    monkeypatch.setenv("CDKTF_OUTDIR", str(tmp_path / "out"))
    monkeypatch.setattr(app, "build_app", lambda configs, outdir, **_: OneStackApp(outdir, 2))
    stream = closed_pipe(monkeypatch)
    try:
        assert app.main(argv) == 0
        stream.flush()  # stdout is /dev/null now: what is left goes nowhere, without an error
    finally:
        stream.close()


def test_a_reader_that_goes_away_ends_the_output_quietly_as_typed():
    read, write = os.pipe()
    os.close(read)
    try:
        result = subprocess.run(
            [sys.executable, str(ROOT / "main.py"), "--check"],
            stdout=write,
            stderr=subprocess.PIPE,
            env=subprocess_env(PYTHONUNBUFFERED="1"),
            text=True,
            timeout=60,
        )
    finally:
        os.close(write)
    assert (result.returncode, result.stderr) == (0, "")


@pytest.mark.parametrize(("resources", "said"), [(1, "1 resource"), (2, "2 resources"), (0, "0 resources")])
def test_the_summary_counts_one_resource_in_the_singular(tmp_path, monkeypatch, capsys, resources, said):
    from constructs_lib import app

    monkeypatch.delenv("CDKTF_CONTEXT_JSON", raising=False)
    monkeypatch.delenv("SYNTH_HCL_OUTPUT", raising=False)
    monkeypatch.setenv("CDKTF_OUTDIR", str(tmp_path / "out"))
    monkeypatch.setattr(app, "build_app", lambda configs, outdir, **_: OneStackApp(outdir, resources))
    assert app.main([]) == 0
    assert capsys.readouterr().out.splitlines()[1:] == [
        f"  iac-aws-nova-dev-edge: {said} (regions us-east-1, us-west-2)"
    ]


def test_main_synthesizes_the_same_bytes_as_the_tests(main_run, default_synth):
    """main() over a cdktf.out an earlier synth left (as typed, in a process of its own:
    tests/slow/test_main_as_typed.py)."""
    assert main_run.code == 0, main_run.stderr
    assert "Traceback" not in main_run.stderr
    # Byte for byte what the tests synthesize, and nothing else: the stale stack is gone.
    assert files(main_run.synth.outdir) == files(default_synth.outdir)
    # The summary lists what was synthesized, in the order they deploy, and where the settings
    # came from.
    assert main_summary_problems(main_run.stdout) == []


def test_insecure_opt_outs_are_warned_about():
    from constructs_lib.app import warnings
    from constructs_lib.settings import StackConfig, configs_from_context

    assert warnings([StackConfig()]) == []
    found = warnings(configs_from_context({"environments": {"dev": {"api_auth": "none", "waf_enabled": False}}}))
    assert found == [
        "warning: iac-aws-nova-dev: api_auth is 'none': anyone on the internet can call the API",
        "warning: iac-aws-nova-dev: waf_enabled is false: no web application firewall",
    ]


def test_signed_callers_are_told_to_use_the_regional_names():
    """A SigV4 signature names one region; latency routing may send the request to another."""
    from constructs_lib.app import warnings
    from constructs_lib.settings import StackConfig

    routed = {"domain_name": "api.example.com", "hosted_zone_id": "Z1", "api_auth": "iam"}
    assert warnings([StackConfig(**routed)]) == [
        "warning: iac-aws-nova-dev: api_auth is 'iam' with domain_name: a SigV4 signature names one region, so "
        "signed callers must use <region>.api.example.com, not api.example.com"
    ]
    assert warnings([StackConfig(**routed, regions=("eu-west-1",))]) == []


def test_pinning_a_zone_where_older_accounts_cannot_create_subnets_is_warned_about():
    from constructs_lib.app import warnings
    from constructs_lib.settings import StackConfig

    pinned = StackConfig(availability_zone_ids={"us-east-1": ["use1-az3", "use1-az4"]})
    assert warnings([pinned]) == [
        "warning: iac-aws-nova-dev: availability_zone_ids.us-east-1 pins use1-az3, where some older accounts "
        "cannot create subnets; pin another zone if the apply fails there"
    ]


def test_a_retired_region_is_said_on_every_synth():
    """Step 3 of removing a region: a reminder of step 4, and a mistyped name gets noticed."""
    from constructs_lib.app import warnings
    from constructs_lib.settings import StackConfig

    retired = StackConfig(regions=("us-east-1",), removing_regions=("us-west-2",))
    assert warnings([retired]) == [
        "warning: iac-aws-nova-dev: removing_regions names us-west-2, which is not in regions: retired (step 3 of "
        "docs/operations.md, Removing a region); once that deploy is done, remove it from removing_regions too. If "
        "it was never deployed, a region name may be mistyped"
    ]


def test_check_without_settings_json_says_the_built_in_defaults_are_used(monkeypatch, capsys, tmp_path):
    from constructs_lib import app

    (tmp_path / "cdktf.json").write_text('{"app": "python main.py"}')
    monkeypatch.setattr(app, "PROJECT_DIR", tmp_path)
    monkeypatch.delenv("CDKTF_CONTEXT_JSON", raising=False)
    assert app.main(["--check"]) == 0
    assert capsys.readouterr().out.startswith("Settings are valid (built-in defaults, no settings.json): ")


def test_main_prints_the_warnings_before_synthesizing(monkeypatch, capsys):
    from constructs_lib import app
    from constructs_lib.settings import Settings

    monkeypatch.setattr(app, "load_settings", lambda _: Settings({"api_auth": "none", "regoins": []}, {}))
    assert app.main() == 2  # the misspelled setting stops it before any warning or synth
    assert "warning" not in capsys.readouterr().err
    monkeypatch.setattr(app, "load_settings", lambda _: Settings({"api_auth": "none"}, {}))
    monkeypatch.setattr(app, "build_app", lambda configs, **_: (_ for _ in ()).throw(SystemExit("synth")))
    with pytest.raises(SystemExit, match="synth"):
        app.main()
    assert "api_auth is 'none'" in capsys.readouterr().err


def test_one_version_in_the_package_the_project_file_and_the_changelog():
    import re
    import tomllib

    from constructs_lib import __version__

    assert re.fullmatch(r"\d+\.\d+\.\d+", __version__)
    assert tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"] == __version__
    newest = re.search(r"^## \[(\d+\.\d+\.\d+)\] - \d{4}-\d{2}-\d{2}$", (ROOT / "CHANGELOG.md").read_text(), re.M)
    assert newest is not None and newest.group(1) == __version__


def test_main_reports_its_version():
    result = subprocess.run(
        [sys.executable, str(ROOT / "main.py"), "--version"], capture_output=True, text=True, timeout=60
    )
    from constructs_lib import __version__

    assert (result.returncode, result.stdout) == (0, f"iac-aws-nova {__version__}\n")


def test_an_empty_output_directory_setting_means_the_default(tmp_path, monkeypatch, capsys):
    """CDKTF_OUTDIR="" (an export with nothing after it) is cdktf.out, as the tools read it, not the
    current directory."""
    from constructs_lib import app

    monkeypatch.delenv("CDKTF_CONTEXT_JSON", raising=False)
    monkeypatch.delenv("SYNTH_HCL_OUTPUT", raising=False)
    monkeypatch.setenv("CDKTF_OUTDIR", "")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(app, "build_app", lambda configs, outdir, **_: OneStackApp(outdir, 1))
    assert app.main([]) == 0
    assert (tmp_path / "cdktf.out" / "stacks" / "iac-aws-nova-dev-edge" / "cdk.tf.json").is_file()
    assert " into cdktf.out " in capsys.readouterr().out.splitlines()[0]
