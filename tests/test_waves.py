"""tools/waves.py, run as the workflows run it: the waves of an environment from the settings, checked
against a synth's output (fake ones here: a manifest and each stack's backend, no synth). Its
``main`` runs in this process; twice, the script runs as typed."""

from __future__ import annotations

import contextlib
import io
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tools import waves

ROOT = Path(__file__).resolve().parent.parent
WAVES = ROOT / "tools" / "waves.py"

# The repository's settings.json: project iac-aws-nova, environment dev, us-east-1 (home) and us-west-2.
DEV = ["iac-aws-nova-dev-global", "iac-aws-nova-dev-us-east-1", "iac-aws-nova-dev-us-west-2", "iac-aws-nova-dev-edge"]
BOOTSTRAP = "iac-aws-nova-bootstrap"
REMOTE = {"state_bucket": "acme-tfstate-{region}", "bootstrap_state": "remote"}
S3 = {"s3": {"bucket": "acme-tfstate-us-east-1", "key": "k", "region": "us-east-1"}}
LOCAL = {"local": {"path": "../../../terraform.tfstate"}}


def wave(stack: str, region: str) -> dict[str, str]:
    return {"stack": stack, "region": region}


DEV_WAVES: dict[str, Any] = {
    "environment": "dev",
    "bootstrap": wave(BOOTSTRAP, "us-east-1"),
    "global": wave("iac-aws-nova-dev-global", "us-east-1"),
    "regions": [wave("iac-aws-nova-dev-us-east-1", "us-east-1"), wave("iac-aws-nova-dev-us-west-2", "us-west-2")],
    "edge": wave("iac-aws-nova-dev-edge", "us-east-1"),
    "skip": [],
}


def synth(
    outdir: Path,
    stacks: list[str],
    backends: dict[str, dict[str, Any]] | None = None,
    providers: dict[str, list[str]] | None = None,
) -> Path:
    """A fake cdktf.out: the manifest, and each stack's cdk.tf.json with its backend (default s3)
    and its providers' regions (default none)."""
    outdir.mkdir(parents=True, exist_ok=True)
    manifest = {"stacks": {name: {"name": name, "workingDirectory": f"stacks/{name}"} for name in stacks}}
    (outdir / "manifest.json").write_text(json.dumps(manifest))
    for name in stacks:
        (outdir / "stacks" / name).mkdir(parents=True)
        document = {
            "terraform": {"backend": (backends or {}).get(name, S3)},
            "provider": {"aws": [{"region": region} for region in (providers or {}).get(name, [])]},
        }
        (outdir / "stacks" / name / "cdk.tf.json").write_text(json.dumps(document))
    return outdir


def s3_in(region: str) -> dict[str, Any]:
    return {"s3": {"bucket": f"acme-tfstate-{region}", "key": "k", "region": region}}


# dev as the synth writes it with state_bucket "acme-tfstate-{region}": each regional stack reaches its
# own region only; the global and bootstrap stacks every region; the edge the home region (us-east-1).
SPLIT_BACKENDS = {"iac-aws-nova-dev-us-west-2": s3_in("us-west-2")}
SPLIT_PROVIDERS = {
    BOOTSTRAP: ["us-east-1", "us-west-2"],
    "iac-aws-nova-dev-global": ["us-east-1", "us-west-2"],
    "iac-aws-nova-dev-us-east-1": ["us-east-1"],
    "iac-aws-nova-dev-us-west-2": ["us-west-2"],
    "iac-aws-nova-dev-edge": ["us-east-1"],
}


@pytest.fixture
def outdir(tmp_path: Path) -> Path:
    return synth(tmp_path / "cdktf.out", [BOOTSTRAP, *DEV])


def run(
    *args: str | Path, context: dict[str, Any] | None = None, github_output: Path | None = None, as_typed: bool = False
) -> subprocess.CompletedProcess[str]:
    """tools/waves.py's ``main`` with these arguments and settings, in this process (what the script
    runs, from the arguments to the exit code); ``as_typed``: the script in a process of its own."""
    env = {k: v for k, v in os.environ.items() if k not in ("CDKTF_CONTEXT_JSON", "GITHUB_OUTPUT")}
    if context is not None:
        env["CDKTF_CONTEXT_JSON"] = json.dumps(context)
    if github_output is not None:
        env["GITHUB_OUTPUT"] = str(github_output)
    command = [sys.executable, str(WAVES), *map(str, args)]
    if as_typed:
        return subprocess.run(command, capture_output=True, text=True, env=env, cwd=ROOT, timeout=60)
    out, err = io.StringIO(), io.StringIO()
    with pytest.MonkeyPatch.context() as patch, contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        for name in ("CDKTF_CONTEXT_JSON", "GITHUB_OUTPUT"):
            patch.delenv(name, raising=False)
            if name in env:
                patch.setenv(name, env[name])
        code = waves.main([str(arg) for arg in args])
    return subprocess.CompletedProcess(command, code, out.getvalue(), err.getvalue())


def refused(result: subprocess.CompletedProcess[str]) -> str:
    """The one error line of a refusal (exit code 2, nothing on stdout, never a traceback)."""
    assert (result.returncode, result.stdout) == (2, ""), result.stderr
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("error: "), result.stderr
    return result.stderr.rstrip("\n")


@pytest.mark.parametrize("as_typed", [False, True], ids=["main", "as typed"])
def test_the_waves_of_an_environment_home_region_first(outdir: Path, as_typed: bool) -> None:
    result = run("dev", "--outdir", outdir, as_typed=as_typed)
    assert (result.returncode, result.stderr) == (0, "")
    assert json.loads(result.stdout) == DEV_WAVES


def test_the_home_region_is_where_the_bootstrap_global_and_edge_jobs_run_and_deploys_first(outdir: Path) -> None:
    result = run("dev", "--outdir", outdir, context={"home_region": "us-west-2"})
    waves = json.loads(result.stdout)
    assert [waves[k]["region"] for k in ("bootstrap", "global", "edge")] == ["us-west-2"] * 3
    assert waves["regions"] == [
        wave("iac-aws-nova-dev-us-west-2", "us-west-2"),
        wave("iac-aws-nova-dev-us-east-1", "us-east-1"),
    ]


def test_github_output_writes_each_key_as_compact_json(outdir: Path, tmp_path: Path) -> None:
    output = tmp_path / "github_output"
    output.write_text("earlier=kept\n")
    result = run("dev", "--outdir", outdir, "--github-output", github_output=output)
    assert result.returncode == 0, result.stderr
    lines = output.read_text().splitlines()
    assert lines[:3] == ["earlier=kept", "configured=true", "environment=dev"]
    written = dict(line.split("=", 1) for line in lines[3:])
    assert list(written) == ["bootstrap", "global", "regions", "edge", "skip"]
    assert {k: json.loads(v) for k, v in written.items()} == {k: DEV_WAVES[k] for k in written}
    assert " " not in written["regions"]


def test_a_stack_missing_from_the_manifest_means_the_synth_did_not_run(tmp_path: Path) -> None:
    outdir = synth(tmp_path / "cdktf.out", [BOOTSTRAP, *DEV[:-1]])
    synth_first = "run the synth first (.venv/bin/python main.py)"
    assert refused(run("dev", "--outdir", outdir)) == (
        f"error: {outdir / 'manifest.json'} has no iac-aws-nova-dev-edge: {synth_first}"
    )
    missing = tmp_path / "nothing"
    assert (
        refused(run("dev", "--outdir", missing)) == f"error: {missing / 'manifest.json'} cannot be read: {synth_first}"
    )


def test_remote_state_is_required_of_every_stack_when_asked(tmp_path: Path) -> None:
    local_region = synth(tmp_path / "a", [BOOTSTRAP, *DEV], {"iac-aws-nova-dev-us-west-2": LOCAL})
    assert run("dev", "--outdir", local_region, context=REMOTE).returncode == 0  # not asked
    assert refused(run("dev", "--outdir", local_region, "--require-remote-state", context=REMOTE)) == (
        "error: iac-aws-nova-dev-us-west-2 keeps local state: set state_bucket in settings.json "
        "(docs/operations.md, State) before deploying from CI"
    )
    everywhere = synth(tmp_path / "b", [BOOTSTRAP, *DEV])
    result = run("dev", "--outdir", everywhere, "--require-remote-state", context=REMOTE)
    assert (result.returncode, json.loads(result.stdout)) == (0, DEV_WAVES)


@pytest.mark.parametrize(
    "backends, context",
    [
        ({BOOTSTRAP: LOCAL}, REMOTE),
        ({}, {**REMOTE, "bootstrap_state": "local"}),
    ],
    ids=["local backend", "bootstrap_state local"],
)
def test_the_bootstrap_stack_needs_remote_state_in_its_json_and_its_setting(
    tmp_path: Path, backends: dict[str, dict[str, Any]], context: dict[str, Any]
) -> None:
    outdir = synth(tmp_path / "cdktf.out", [BOOTSTRAP, *DEV], backends)
    assert refused(run("dev", "--outdir", outdir, "--require-remote-state", context=context)) == (
        'error: iac-aws-nova-bootstrap keeps local state: set bootstrap_state to "remote" in settings.json and '
        "deploy it once with --migrate-state (docs/operations.md, State) before deploying from CI"
    )


def test_an_unknown_environment_is_refused_with_the_configured_ones(outdir: Path) -> None:
    assert refused(run("prod", "--outdir", outdir)) == (
        "error: prod is not a configured environment (settings.json configures: dev)"
    )
    context = {"environments": ["dev", "staging"]}
    assert refused(run("prod", "--outdir", outdir, context=context)) == (
        "error: prod is not a configured environment (settings.json configures: dev, staging)"
    )


def test_if_configured_skips_an_unknown_environment_for_the_workflow(outdir: Path, tmp_path: Path) -> None:
    output = tmp_path / "github_output"
    result = run("prod", "--outdir", outdir, "--if-configured", "--github-output", github_output=output)
    assert (result.returncode, result.stdout) == (0, "")
    assert result.stderr == "prod is not configured (settings.json configures: dev): skipped\n"
    # Every job skipped, said in the output the jobs read whatever the environment.
    skip = '["bootstrap","global","regions","edge","verify"]'
    assert output.read_text() == f"configured=false\nenvironment=prod\nskip={skip}\n"


def test_teardown_of_one_region_needs_it_in_removing_regions(outdir: Path) -> None:
    assert refused(run("dev", "--outdir", outdir, "--teardown", "us-west-2")) == (
        "error: us-west-2 is not in dev's removing_regions: add it there and deploy first, so that the edge no "
        "longer routes to it and its copy of the table loses its protection (docs/operations.md, Removing a region)"
    )
    result = run("dev", "--outdir", outdir, "--teardown", "us-west-2", context={"removing_regions": ["us-west-2"]})
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {**DEV_WAVES, "regions": [wave("iac-aws-nova-dev-us-west-2", "us-west-2")]}


def test_a_region_on_its_way_out_is_not_deployed_again(outdir: Path) -> None:
    """Between its teardown and its removal from regions, a deploy must not bring it back."""
    result = run("dev", "--outdir", outdir, context={"removing_regions": ["us-west-2"]})
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {**DEV_WAVES, "regions": [wave("iac-aws-nova-dev-us-east-1", "us-east-1")]}


RETIRED = {"regions": ["us-east-1"], "removing_regions": ["us-west-2"]}


def test_a_retired_region_is_in_no_wave(outdir: Path, tmp_path: Path) -> None:
    """Left regions, still in removing_regions (its provider stays in the global stack): no stack to deploy."""
    result = run("dev", "--outdir", outdir, context=RETIRED)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {**DEV_WAVES, "regions": [wave("iac-aws-nova-dev-us-east-1", "us-east-1")]}
    result = run("--plan-matrix", "--outdir", outdir, context=RETIRED)
    assert result.returncode == 0, result.stderr
    assert "us-west-2" not in result.stdout


def test_teardown_refuses_a_retired_region_saying_it_has_no_stack(outdir: Path) -> None:
    assert refused(run("dev", "--outdir", outdir, "--teardown", "us-west-2", context=RETIRED)) == (
        "error: us-west-2 has left dev's regions (removing_regions keeps it only for the global stack's destroys): "
        "its stack is no longer synthesized, nothing to tear down (docs/operations.md, Removing a region)"
    )


def test_teardown_refuses_the_home_region_and_a_region_not_configured(outdir: Path) -> None:
    assert refused(run("dev", "--outdir", outdir, "--teardown", "us-east-1")) == (
        "error: us-east-1 is dev's home region, which holds the table itself: it cannot be removed alone "
        "(--teardown all tears the whole environment down)"
    )
    assert refused(run("dev", "--outdir", outdir, "--teardown", "eu-west-1")) == (
        "error: eu-west-1 is not a region of dev (us-east-1, us-west-2), nor all"
    )


def test_teardown_of_everything_destroys_the_home_region_last(outdir: Path) -> None:
    result = run("dev", "--outdir", outdir, "--teardown", "all")
    assert json.loads(result.stdout)["regions"] == DEV_WAVES["regions"][::-1]


@pytest.fixture
def split(tmp_path: Path) -> Path:
    """dev's synth with each regional stack's state in its own region."""
    return synth(tmp_path / "split", [BOOTSTRAP, *DEV], SPLIT_BACKENDS, SPLIT_PROVIDERS)


def test_region_down_deploys_the_other_regions_and_the_edge_but_not_what_reaches_every_region(
    split: Path, tmp_path: Path
) -> None:
    output = tmp_path / "github_output"
    result = run("dev", "--outdir", split, "--region-down", "us-west-2", "--github-output", github_output=output)
    assert result.returncode == 0, result.stderr
    expected = {
        **DEV_WAVES,
        "regions": [wave("iac-aws-nova-dev-us-east-1", "us-east-1")],
        "skip": ["bootstrap", "global", "verify"],  # the edge reaches us-east-1 only: it deploys
    }
    assert json.loads(result.stdout) == expected
    written = dict(line.split("=", 1) for line in output.read_text().splitlines())
    assert json.loads(written["skip"]) == expected["skip"] and json.loads(written["regions"]) == expected["regions"]


def test_the_home_region_down_leaves_the_other_regions_deployable_but_not_the_edge(split: Path) -> None:
    """No regional stack reads the home region (each reads its own copy of the table, secret and
    keys); the edge keeps its dashboard and its state there."""
    result = run("dev", "--outdir", split, "--region-down", "us-east-1")
    assert result.returncode == 0, result.stderr
    waves = json.loads(result.stdout)
    assert waves["regions"] == [wave("iac-aws-nova-dev-us-west-2", "us-west-2")]
    assert waves["skip"] == ["bootstrap", "global", "edge", "verify"]


def test_region_down_skips_an_edge_whose_health_alarms_are_in_us_east_1(tmp_path: Path) -> None:
    """With a domain, the edge keeps its health checks' alarms (and CloudFront) in us-east-1."""
    providers = {**SPLIT_PROVIDERS, "iac-aws-nova-dev-edge": ["us-west-2", "us-east-1"]}
    backends = {**SPLIT_BACKENDS, "iac-aws-nova-dev-us-east-1": s3_in("us-east-1"), "iac-aws-nova-dev-edge": S3}
    outdir = synth(tmp_path / "cdktf.out", [BOOTSTRAP, *DEV], backends, providers)
    context = {"home_region": "us-west-2"}
    waves = json.loads(run("dev", "--outdir", outdir, "--region-down", "us-east-1", context=context).stdout)
    assert waves["regions"] == [wave("iac-aws-nova-dev-us-west-2", "us-west-2")]
    assert "edge" in waves["skip"]


def test_region_down_refuses_an_unknown_region(split: Path) -> None:
    assert refused(run("dev", "--outdir", split, "--region-down", "us-wset-2")) == (
        "error: --region-down us-wset-2: not a known AWS commercial region"
    )


def test_an_environment_without_the_region_down_deploys_all_but_what_reaches_it(tmp_path: Path) -> None:
    """deploy.yml hands region_down to every environment: one that does not use the region deploys
    as usual, but for the account-wide bootstrap when another environment's region is down."""
    providers = {**SPLIT_PROVIDERS, BOOTSTRAP: ["us-east-1", "us-west-2", "eu-west-1"]}
    outdir = synth(tmp_path / "cdktf.out", [BOOTSTRAP, *DEV], SPLIT_BACKENDS, providers)
    result = run("dev", "--outdir", outdir, "--region-down", "eu-west-1")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {**DEV_WAVES, "skip": ["bootstrap"]}


def test_region_down_deploys_nothing_when_every_state_is_in_that_region(tmp_path: Path) -> None:
    """state_bucket without {region}: the regional stacks' state is in one bucket, here us-east-1's.
    Skipped whole with a note, not refused: deploy.yml's later environments need this run to pass."""
    outdir = synth(tmp_path / "cdktf.out", [BOOTSTRAP, *DEV], providers=SPLIT_PROVIDERS)
    result = run("dev", "--outdir", outdir, "--region-down", "us-east-1")
    assert result.returncode == 0
    assert json.loads(result.stdout) == {**DEV_WAVES, "regions": [], "skip": list(waves.JOBS)}
    assert result.stderr == (
        "note: iac-aws-nova-dev-us-west-2 reaches us-east-1 too (its state there: put {region} in state_bucket): "
        "nothing of it deploys while the region is down (docs/operations.md, A region is down)\n"
    )
    assert run("dev", "--outdir", outdir, "--region-down", "us-west-2").returncode == 0  # the state is not there


def test_region_down_deploys_nothing_of_an_environment_with_no_other_region(split: Path) -> None:
    context = {"removing_regions": ["us-west-2"]}
    result = run("dev", "--outdir", split, "--region-down", "us-east-1", context=context)
    assert result.returncode == 0 and json.loads(result.stdout)["skip"] == list(waves.JOBS)
    assert result.stderr.startswith("note: dev has no other region to deploy: nothing of it deploys")


def test_region_down_needs_each_stacks_providers_in_the_synth(tmp_path: Path) -> None:
    outdir = synth(tmp_path / "cdktf.out", [BOOTSTRAP, *DEV])
    (outdir / "stacks" / "iac-aws-nova-dev-us-east-1" / "cdk.tf.json").write_text('{"terraform": {}}')
    path = outdir / "stacks" / "iac-aws-nova-dev-us-east-1" / "cdk.tf.json"
    assert refused(run("dev", "--outdir", outdir, "--region-down", "us-west-2")) == (
        f"error: {path} has no provider.aws regions: run the synth again (.venv/bin/python main.py)"
    )


def test_the_plan_matrix_has_every_stack_with_its_region_and_role(tmp_path: Path) -> None:
    prod = ["iac-aws-nova-prod-global", "iac-aws-nova-prod-us-west-2", "iac-aws-nova-prod-us-east-1"]
    outdir = synth(tmp_path / "cdktf.out", [BOOTSTRAP, *DEV, *prod, "iac-aws-nova-prod-edge"])
    context = {"environments": {"dev": {}, "prod": {"home_region": "us-west-2"}}}
    output = tmp_path / "github_output"
    result = run("--plan-matrix", "--outdir", outdir, "--github-output", context=context, github_output=output)
    assert result.returncode == 0, result.stderr
    rows = [(row["stack"], row["region"], row["environment"]) for row in json.loads(result.stdout)]
    assert rows == [
        ("iac-aws-nova-dev-global", "us-east-1", "dev"),
        ("iac-aws-nova-dev-us-east-1", "us-east-1", "dev"),
        ("iac-aws-nova-dev-us-west-2", "us-west-2", "dev"),
        ("iac-aws-nova-dev-edge", "us-east-1", "dev"),
        ("iac-aws-nova-prod-global", "us-west-2", "prod"),
        ("iac-aws-nova-prod-us-west-2", "us-west-2", "prod"),
        ("iac-aws-nova-prod-us-east-1", "us-east-1", "prod"),
        ("iac-aws-nova-prod-edge", "us-west-2", "prod"),
        (BOOTSTRAP, "us-east-1", "dev"),  # once: the account's
    ]
    [line] = output.read_text().splitlines()
    assert line.startswith("matrix=[") and json.loads(line.removeprefix("matrix=")) == json.loads(result.stdout)


@pytest.mark.parametrize(
    "args, context, line",
    [
        ((), None, "error: ENVIRONMENT is required (or --plan-matrix)"),
        (("dev", "--bogus"), None, "error: unrecognized arguments: --bogus"),
        (("dev", "--plan-matrix"), None, "error: --plan-matrix takes no ENVIRONMENT, --teardown, "),
        (("dev", "--github-output"), None, "error: --github-output: GITHUB_OUTPUT is not set"),
        (("dev", "--teardown", "all", "--region-down", "us-west-2"), None, "error: --region-down takes no "),
        (("dev",), {"regions": 3}, "error: invalid configuration: regions (from CDKTF_CONTEXT_JSON): "),
    ],
    ids=[
        "no environment",
        "unknown flag",
        "plan matrix and environment",
        "no GITHUB_OUTPUT",
        "region down and teardown",
        "invalid settings",
    ],
)
def test_bad_input_is_one_error_line(
    outdir: Path, args: tuple[str, ...], context: dict[str, Any] | None, line: str
) -> None:
    assert refused(run(*args, "--outdir", outdir, context=context)).startswith(line)


def test_as_typed_bad_input_is_one_error_line_and_exit_2(outdir: Path) -> None:
    result = run("dev", "--outdir", outdir, context={"regions": 3}, as_typed=True)
    assert refused(result).startswith("error: invalid configuration: regions (from CDKTF_CONTEXT_JSON): ")
