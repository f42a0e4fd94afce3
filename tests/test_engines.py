"""How the engine is chosen (constructs_lib/cdk/engine.py). That both engines build the same
infrastructure is checked in tests/slow/test_engines_compared.py.
"""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

import pytest
from conftest import ROOT, engine_name, subprocess_env

from constructs_lib.cdk import engine


def test_the_engine_is_chosen_by_iac_engine_or_by_what_is_installed(monkeypatch, tmp_path):
    monkeypatch.setattr(engine, "_chosen", None)
    monkeypatch.setenv("IAC_ENGINE", "terraform-cdk")
    with pytest.raises(engine.EngineError, match=r"^IAC_ENGINE: 'terraform-cdk' is not an engine \(cdktf, cdktn\)$"):
        engine.current()
    monkeypatch.delenv("IAC_ENGINE")
    mine = engine_name()
    assert engine.current().name == mine  # what this environment has installed
    other = "cdktn" if mine == "cdktf" else "cdktf"
    monkeypatch.setattr(engine, "_chosen", None)
    monkeypatch.setattr(engine, "_installed", lambda e: e.name == mine)
    monkeypatch.setenv("IAC_ENGINE", other)
    monkeypatch.setattr(engine, "PROJECT_DIR", tmp_path)  # no environment of either engine there
    with pytest.raises(
        engine.EngineError, match=rf"^IAC_ENGINE: {other} is not installed in .* \(make install ENGINE={other}"
    ):
        engine.current()


@pytest.mark.parametrize(
    ("asked", "environment", "title"),
    [("cdktn", ".venv-cdktn", "CDK Terrain"), ("cdktf", ".venv", "CDK for Terraform")],
)
def test_an_engine_whose_environment_exists_says_to_run_that_environment(
    monkeypatch, tmp_path, asked, environment, title
):
    """`export IAC_ENGINE=cdktn` then `npx cdktf synth` said to run make install ENGINE=cdktn, which
    had nothing to do: the message names the environment that has the engine, and how to run it."""
    (tmp_path / environment / "bin").mkdir(parents=True)
    (tmp_path / environment / "bin" / "python").touch()
    monkeypatch.setattr(engine, "PROJECT_DIR", tmp_path)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(engine, "_chosen", None)
    monkeypatch.setattr(engine, "_installed", lambda e: e.name != asked)
    monkeypatch.setenv("IAC_ENGINE", asked)
    with pytest.raises(engine.EngineError) as raised:
        engine.current()
    assert str(raised.value) == (
        f"IAC_ENGINE: {asked} is not installed in {sys.prefix}; {title}'s environment is {environment}: "
        f"run make synth ENGINE={asked}, or {environment}/bin/python main.py, or unset IAC_ENGINE"
    )


def test_an_engine_missing_from_its_own_environment_says_to_install_it(monkeypatch, tmp_path):
    """IAC_ENGINE names this interpreter's own engine, half installed: running this environment's
    Python again is no advice; make install is."""
    mine = engine_name()
    monkeypatch.setattr(engine, "_chosen", None)
    monkeypatch.setattr(engine, "_installed", lambda e: False)
    monkeypatch.setattr(engine, "PROJECT_DIR", tmp_path)
    here = Path(sys.prefix).resolve()
    monkeypatch.setattr(engine, "ENGINES", {n: replace(e, environment=str(here)) for n, e in engine.ENGINES.items()})
    monkeypatch.setenv("IAC_ENGINE", mine)
    with pytest.raises(engine.EngineError) as raised:
        engine.current()
    assert str(raised.value).endswith(f"(make install ENGINE={mine} creates its environment)")


def test_a_wrong_engine_is_one_line_before_anything_is_written(tmp_path):
    """This interpreter's environment has one engine; asking for the other is refused in one line."""
    import subprocess

    other = "cdktn" if engine_name() == "cdktf" else "cdktf"
    result = subprocess.run(
        [sys.executable, str(ROOT / "main.py")],
        cwd=tmp_path,
        env=subprocess_env(IAC_ENGINE=other),
        capture_output=True,
        text=True,
        timeout=120,
    )
    environment = ROOT / {"cdktf": ".venv", "cdktn": ".venv-cdktn"}[other]
    if (environment / "bin" / "python").exists():  # run from elsewhere: the path in full
        title = {"cdktf": "CDK for Terraform", "cdktn": "CDK Terrain"}[other]
        advice = (
            f"; {title}'s environment is {environment}: run make synth ENGINE={other}, or "
            f"{environment}/bin/python main.py, or unset IAC_ENGINE"
        )
    else:
        advice = f" (make install ENGINE={other} creates its environment)"
    assert result.returncode == 2
    assert result.stderr.splitlines() == [f"error: IAC_ENGINE: {other} is not installed in {sys.prefix}{advice}"]
    assert not (tmp_path / "cdktf.out").exists()


def test_the_app_targets_terraform_1_11_for_write_only_arguments():
    """The global stack writes the API key's value into a write-only argument (Terraform 1.11);
    CDK Terrain refuses that for a project that targets older releases unless the App says so."""
    from constructs_lib.app import TARGET_VERSIONS, build_app
    from constructs_lib.settings import StackConfig

    app = build_app([StackConfig(regions=("eu-west-1",))], outdir=None, with_bootstrap=False)
    assert (
        app.node.try_get_context("targetVersions")
        == TARGET_VERSIONS
        == {
            "terraform": ">=1.11.0",
            "opentofu": ">=1.11.0",
        }
    )
