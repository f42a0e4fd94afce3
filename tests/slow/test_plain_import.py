"""The lazy loader changes nothing but speed: the default app synthesized with the plain import of
the bindings (IAC_LAZY_PROVIDER=0, ~8 to 18 s) is byte for byte this session's synth, which went
through the loader. Slow tier (`make test-slow`): the plain import is the single most expensive
process of the suite.
"""

from __future__ import annotations

import json
import re
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from conftest import ROOT, BackgroundRun, engine_name, files, subprocess_env

ENGINE = engine_name()
WARNING = "warning: IAC_LAZY_PROVIDER: lazy provider loading disabled, using the plain import"
cdktf_only = pytest.mark.skipif(
    ENGINE != "cdktf", reason="the Python half applies to cdktf's bindings (CDK Terrain's are lazy already)"
)

# Builds and synthesizes the default app into argv[1], then reports what got imported.
SYNTH = f"ROOT = {str(ROOT)!r}\n" + textwrap.dedent("""
    import json, sys
    sys.path.insert(0, ROOT)
    from constructs_lib.app import build_app
    from constructs_lib.settings import StackConfig
    build_app([StackConfig()], outdir=sys.argv[1]).synth()
    names = [m for m in sys.modules if m.startswith("cdktf_cdktf_provider_aws.")]
    print(json.dumps({"provider_modules": len(names),
                      "unused_submodule_loaded": "cdktf_cdktf_provider_aws.accessanalyzer_analyzer" in sys.modules}))
    from constructs_lib.cdk.lazy_provider import fast_exit
    fast_exit(0)
""")


# The plain-import synth starts when this module is collected and runs beside the rest of the
# suite: the plain import alone takes ~8 s. It runs as main.py does (python -O), the lazy synth to
# compare it with is the test session's own (loader on, type checks on): neither changes the JSON.
PLAIN = BackgroundRun([sys.executable, "-O", "-c", SYNTH, "out"], env=subprocess_env(IAC_LAZY_PROVIDER="0"))


@pytest.fixture(scope="module")
def plain() -> tuple[Path, dict[str, Any]]:
    """The default app synthesized with the plain import, and what that import loaded."""
    completed = PLAIN.result()
    assert completed.returncode == 0, completed.stderr[-4000:]
    assert WARNING not in completed.stderr
    return PLAIN.workdir / "out", json.loads(completed.stdout.strip().splitlines()[-1])


@pytest.mark.after_background
def test_lazy_synth_is_byte_identical_to_the_plain_import(plain, default_synth) -> None:
    if ENGINE == "cdktf":
        assert sys.modules["cdktf_cdktf_provider_aws"].__spec__.loader.__class__.__name__ == "_HeadOnlyLoader"
    plain_files, lazy_files = files(plain[0]), files(default_synth.outdir)
    documents = sorted(name for name in plain_files if name.endswith("/cdk.tf.json"))
    assert documents == [
        f"stacks/{name}/cdk.tf.json"
        for name in (
            "iac-aws-nova-bootstrap",
            "iac-aws-nova-dev-edge",
            "iac-aws-nova-dev-global",
            "iac-aws-nova-dev-us-east-1",
            "iac-aws-nova-dev-us-west-2",
        )
    ]
    assets = "stacks/iac-aws-nova-dev-us-east-1/assets/"
    assert any(name.startswith(assets) for name in plain_files), sorted(plain_files)
    assert sorted(lazy_files) == sorted(plain_files)  # the same files, assets included
    for name in plain_files:
        assert lazy_files[name] == plain_files[name], f"{name} differs"


@cdktf_only
@pytest.mark.after_background
def test_lazy_mode_does_not_run_the_eager_package_init(plain, default_synth) -> None:
    assert plain[1]["provider_modules"] > 2000 and plain[1]["unused_submodule_loaded"]
    lazy = [m for m in sys.modules if m.startswith("cdktf_cdktf_provider_aws.")]
    # The submodules the app uses (constructs_lib/cdk/aws.py) and their _private twins, and the
    # package's own few: never the thousands the eager __init__ loads.
    aws_py = (ROOT / "constructs_lib" / "cdk" / "aws.py").read_text()
    used = set(re.findall(r"^from cdktf_cdktf_provider_aws\.(\w+) import", aws_py, flags=re.M))
    assert len(lazy) <= 2 * len(used) + 5, (len(lazy), len(used))
    assert "cdktf_cdktf_provider_aws.accessanalyzer_analyzer" not in sys.modules
