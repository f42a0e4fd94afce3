"""The app run as a user runs it: `python main.py`, settings from cdktf.json and CDKTF_CONTEXT_JSON."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from test_snapshot import files

ROOT = Path(__file__).resolve().parent.parent


def run_main(tmp_path, context=None):
    env = {k: v for k, v in os.environ.items() if k not in ("CDKTF_CONTEXT_JSON", "CDKTF_OUTDIR")}
    env["JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION"] = "20"
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    if context is not None:
        env["CDKTF_CONTEXT_JSON"] = json.dumps(context)
    return subprocess.run([sys.executable, str(ROOT / "main.py")], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize(("context", "message"), [
    ({"regions": []}, "regions: [] must name at least one region"),
    ({"regions": "us-east-1"}, "regions: 'us-east-1' must be a list of region names, not a single string"),
    ({"regions": ["us-east-1", "us-east-1"]}, "regions: ['us-east-1', 'us-east-1'] lists us-east-1 more than once"),
    ({"regions": ["eu-north-9"]}, "regions: 'eu-north-9' is not a known AWS commercial region"),
    ({"regions": ["mars-north-1"]}, "regions: 'mars-north-1' is not a region name"),
    ({"project_name": "My_Project"}, "project_name: 'My_Project' must be 2 to 24 lowercase letters"),
    ({"environment": ""}, "environment: '' must be 1 to 12 lowercase letters"),
    ({"home_region": "eu-west-1"}, "home_region: 'eu-west-1' must be one of the configured regions"),
    ({"lambda_memory_mb": -1}, "lambda_memory_mb: -1 must be at least 128"),
    ({"lambda_timeout_seconds": "30"}, "lambda_timeout_seconds: '30' must be a whole number (got str)"),
    ({"regoins": ["us-east-1"]}, "regoins: is not a known setting; did you mean 'regions'?"),
])
def test_bad_input_exits_with_one_line_and_writes_nothing(tmp_path, context, message):
    earlier = tmp_path / "cdktf.out"
    earlier.mkdir()
    (earlier / "manifest.json").write_text('{"earlier": true}')
    result = run_main(tmp_path, context)
    assert result.returncode == 2
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("error: invalid configuration: ")
    assert message in result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert files(earlier) == {"manifest.json": b'{"earlier": true}'}


def test_main_synthesizes_the_same_bytes_as_the_tests(tmp_path, default_synth):
    result = run_main(tmp_path)
    assert result.returncode == 0, result.stderr
    assert "iac-aws-nova-dev:" in result.stdout and "regions us-east-1, us-west-2" in result.stdout
    assert "Traceback" not in result.stderr
    assert files(tmp_path / "cdktf.out") == files(default_synth.outdir)


def test_context_json_reaches_the_app(tmp_path):
    result = run_main(tmp_path, {"project_name": "shop", "regions": ["eu-west-1"], "environment": "qa"})
    assert result.returncode == 0, result.stderr
    stack = json.loads((tmp_path / "cdktf.out" / "stacks" / "shop-qa" / "cdk.tf.json").read_text())
    assert [p["region"] for p in stack["provider"]["aws"]] == ["eu-west-1"]
