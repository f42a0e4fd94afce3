"""The lazy loader of the provider bindings (constructs_lib/cdk/lazy_provider.py).

Checks of what an import does to a process run in a fresh interpreter; checks of how types resolve
run in this test process, which imported the bindings through the loader.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import textwrap
from pathlib import Path
from typing import Any

import pytest
from conftest import engine_name, subprocess_env

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "cdktf_cdktf_provider_aws"
ENGINE = engine_name()
# The Python half rewrites how cdktf's bindings import; CDK Terrain's import lazily already. The
# Node half applies to both engines.
cdktf_only = pytest.mark.skipif(
    ENGINE != "cdktf", reason="the Python half applies to cdktf's bindings (CDK Terrain's are lazy already)"
)
ASSEMBLY = {"cdktf": "@cdktf/provider-aws", "cdktn": "@cdktn/provider-aws"}[ENGINE]
WARNING = "warning: IAC_LAZY_PROVIDER: lazy provider loading disabled, using the plain import"


def create_on_the_javascript_side(fqn: str, props: dict[str, Any]) -> Any:
    """Create a provider resource through the jsii kernel only, so Python never imported its
    submodule, and get it back through the construct tree: jsii must resolve its type."""
    import cdktf
    from jsii._kernel import _make_reference_for_native
    from jsii._kernel.types import CreateRequest
    from jsii._runtime import kernel

    stack = cdktf.TerraformStack(cdktf.App(), "s")
    kernel.provider.create(CreateRequest(fqn=fqn, args=_make_reference_for_native(kernel, [stack, "r", props])))
    return stack.node.find_child("r")


def run_python(
    code: str, *args: str, env: dict[str, str] | None = None, timeout: float = 600
) -> subprocess.CompletedProcess[str]:
    environ = subprocess_env(**(env or {}))
    return subprocess.run(
        [sys.executable, "-c", code, *args], cwd=str(ROOT), env=environ, capture_output=True, text=True, timeout=timeout
    )


def ok(result: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    assert result.returncode == 0, result.stderr[-4000:]
    return result


@pytest.fixture(scope="module")
def tarball() -> tuple[dict[str, bytes], set[str]]:
    """The engine's bindings' jsii tarball read in one pass (cdktf's is 37 MB): the assembly, the
    JavaScript entry point, and every file name."""
    import importlib.util

    from constructs_lib.cdk.engine import current

    spec = importlib.util.find_spec(current().bindings)
    assert spec is not None and spec.origin is not None
    [tarball] = (Path(spec.origin).parent / "_jsii").glob("*.jsii.tgz")
    wanted, found, names = {"package/.jsii", "package/lib/index.js"}, {}, set()
    with tarfile.open(tarball) as archive:
        for member in archive:
            names.add(member.name)
            if member.name in wanted:
                file = archive.extractfile(member)
                assert file is not None
                found[member.name] = file.read()
    assert set(found) == wanted
    return found, names


def assembly_submodules(found: dict[str, bytes]) -> set[str]:
    """Every jsii submodule that holds a type, by its jsii name."""
    pattern = rb'"fqn": *"' + re.escape(ASSEMBLY.encode()) + rb"\.([A-Za-z0-9]+)\."
    return {f"{ASSEMBLY}.{name.decode()}" for name in re.findall(pattern, found["package/.jsii"])}


@cdktf_only
def test_submodule_map_matches_the_assembly(tarball) -> None:
    """camelCase(python submodule name) is the jsii submodule name, for every submodule."""
    from constructs_lib.cdk import lazy_provider

    finder = lazy_provider._prepare()  # checks and builds; changes no global state
    found, _ = tarball
    assert finder.assembly == "@cdktf/provider-aws"
    expected = assembly_submodules(found)
    assert len(expected) > 2000
    assert set(finder.fqn_map) == expected
    for fqn, module in finder.fqn_map.items():
        assert (Path(finder.origin).parent / module.split(".", 1)[1] / "__init__.py").is_file(), fqn


@cdktf_only
def test_type_returned_from_javascript_imports_its_submodule(default_synth) -> None:
    """In this test process (loader active): load balancers are used nowhere else in the suite."""
    module = "cdktf_cdktf_provider_aws.lb_target_group"
    assert module not in sys.modules
    props = {
        "name": "t",
        "port": 443,
        "protocol": "HTTPS",
        "healthCheck": {"enabled": True},
        "targetFailover": [{"onDeregistration": "rebalance", "onUnhealthy": "rebalance"}],
    }
    group = create_on_the_javascript_side("@cdktf/provider-aws.lbTargetGroup.LbTargetGroup", props)
    m = sys.modules[module]
    assert type(group) is m.LbTargetGroup, type(group)
    health = group.health_check
    assert type(health) is m.LbTargetGroupHealthCheckOutputReference, type(health)
    assert health.internal_value == m.LbTargetGroupHealthCheck(enabled=True)
    assert type(group.target_failover) is m.LbTargetGroupTargetFailoverList
    assert type(group.target_failover.get(0)) is m.LbTargetGroupTargetFailoverOutputReference
    assert group.terraform_resource_type == "aws_lb_target_group"


@cdktf_only
def test_type_of_an_unmapped_submodule_falls_back_to_importing_everything(default_synth, capsys) -> None:
    """Safety net: a type name whose submodule the map lacks imports all submodules, and resolves.
    "All submodules" is cut down to the one this type needs (importing all 2,212 for real costs
    14 s); Glacier is used nowhere else in the suite."""
    from jsii import _reference_map

    module, prefix = "cdktf_cdktf_provider_aws.glacier_vault", "@cdktf/provider-aws.glacierVault"
    assert module not in sys.modules
    finder = next(f for f in sys.meta_path if getattr(f, "_iac_lazy_provider", False))
    saved = finder.fqn_map.pop(prefix), _reference_map._submodule_fqn_map.pop(prefix), finder.order
    finder.order = ("glacier_vault",)
    try:
        vault = create_on_the_javascript_side(f"{prefix}.GlacierVault", {"name": "v"})
    finally:
        finder.fqn_map[prefix], _reference_map._submodule_fqn_map[prefix], finder.order = saved
    assert type(vault) is sys.modules[module].GlacierVault
    assert f"no submodule known for jsii type {prefix}.GlacierVault" in capsys.readouterr().err


@cdktf_only
def test_package_attributes_and_publication_are_those_of_the_real_package(default_synth) -> None:
    """Checked in this test process, which imported the bindings through the loader."""
    import cdktf_cdktf_provider_aws as aws
    from jsii import _reference_map

    assert aws.__spec__.loader.__class__.__name__ == "_HeadOnlyLoader"
    # Two submodules the stacks never use (loaded on first lookup).
    assert "cdktf_cdktf_provider_aws.xray_encryption_config" not in sys.modules
    assert (
        aws.xray_encryption_config.XrayEncryptionConfig.__jsii_type__
        == "@cdktf/provider-aws.xrayEncryptionConfig.XrayEncryptionConfig"
    )  # module __getattr__
    from cdktf_cdktf_provider_aws import xray_resource_policy

    assert xray_resource_policy.XrayResourcePolicy.__module__ == "cdktf_cdktf_provider_aws.xray_resource_policy"
    assert len(aws.__all__) == 2212 and "vpc" in aws.__all__
    assert not hasattr(aws, "no_such_submodule")
    assert not hasattr(aws, "check_type")  # published: private names live in aws._private
    assert callable(aws._private.check_type)
    assert aws._private.__jsii_assembly__.name == "@cdktf/provider-aws"  # from ._jsii import *
    assert _reference_map._assembly_to_module["@cdktf/provider-aws"] == "cdktf_cdktf_provider_aws"


@cdktf_only
def test_switch_already_imported_and_idempotence() -> None:
    """IAC_LAZY_PROVIDER=0 is the plain import; install() twice installs once; an imported package
    is left alone. (None of these start Node.)"""
    probe = textwrap.dedent("""
        import sys, types
        from constructs_lib.cdk.lazy_provider import install
        from jsii import _reference_map
        if sys.argv[1] == "imported":
            sys.modules["cdktf_cdktf_provider_aws"] = types.ModuleType("cdktf_cdktf_provider_aws")
        results = [install(), install()]
        finders = [f for f in sys.meta_path if getattr(f, "_iac_lazy_provider", False)]
        hook = _reference_map._try_import_type_module
        wrapped = getattr(hook, "__wrapped__", None)
        print(results, len(finders), getattr(hook, "_iac_lazy_provider", False),
              getattr(wrapped, "_iac_lazy_provider", False), len(_reference_map._submodule_fqn_map))
    """)
    assert ok(run_python(probe, "fresh")).stdout.split() == ["[True,", "True]", "1", "True", "False", "2212"]
    assert ok(run_python(probe, "fresh", env={"IAC_LAZY_PROVIDER": "0"})).stdout.split() == [
        "[False,",
        "False]",
        "0",
        "False",
        "False",
        "0",
    ]
    assert ok(run_python(probe, "imported")).stdout.split() == ["[False,", "False]", "0", "False", "False", "0"]


@cdktf_only
def test_bindings_without_the_expected_files_fall_back_with_a_warning(tmp_path: Path) -> None:
    """A package that has an __init__.py but no _jsii/__init__.py: plain import, one warning line."""
    import importlib.util

    spec = importlib.util.find_spec(PACKAGE)
    assert spec is not None and spec.origin is not None
    real = Path(spec.origin)
    fake = tmp_path / PACKAGE
    fake.mkdir()
    (fake / "__init__.py").write_bytes(real.read_bytes())
    result = ok(
        run_python(
            textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {str(tmp_path)!r})
        from constructs_lib.cdk.lazy_provider import install
        print(install(), any(getattr(f, "_iac_lazy_provider", False) for f in sys.meta_path))
    """)
        )
    )
    assert result.stdout.split() == ["False", "False"]
    [line] = result.stderr.splitlines()
    assert line.startswith(WARNING) and "FileNotFoundError" in line


@cdktf_only
def test_unexpected_init_layout_falls_back_to_the_plain_import() -> None:
    """An __init__ whose eager section is not where expected: one warning, and no finder or jsii
    hook installed, so the next import is Python's plain one (not run here: it costs 14 s)."""
    result = ok(
        run_python(
            textwrap.dedent("""
        import sys
        from constructs_lib.cdk import lazy_provider
        from jsii import _reference_map
        lazy_provider._EAGER_PART = "# a marker a future version of the bindings no longer has"
        print(lazy_provider.install(), any(getattr(f, "_iac_lazy_provider", False) for f in sys.meta_path),
              getattr(_reference_map._try_import_type_module, "_iac_lazy_provider", False))
    """)
        )
    )
    [line] = result.stderr.splitlines()
    assert line.startswith(WARNING) and "LayoutError" in line
    assert result.stdout.split() == ["False", "False", "False"]


# --- The Node half: constructs_lib/cdk/lazy_provider_hook.js ---------------------------------------

HOOK = ROOT / "constructs_lib" / "cdk" / "lazy_provider_hook.js"
NODE = shutil.which("node")
needs_node = pytest.mark.skipif(NODE is None, reason="node is not on PATH (jsii needs it for any synth)")
# The layout tsc emits for `export * as a from "./a"`, as in the real lib/index.js.
TSC_INDEX = textwrap.dedent("""\
    "use strict";
    /**
     * Copyright (c) HashiCorp, Inc.
     */
    Object.defineProperty(exports, "__esModule", { value: true });
    exports.cLast = exports.bMiddle = exports.aFirst = void 0;
    // generated
    exports.aFirst = require("./a-first");
    exports.bMiddle = require("./b-middle");
    exports.cLast = require("./c-last");
    //# sourceMappingURL=data:application/json;base64,e30=
""")
# The layout of CDK Terrain's lib/index.js: tsc's helpers, then each export through __importStar.
TSC_STAR_INDEX = textwrap.dedent("""\
    "use strict";
    var __createBinding = (this && this.__createBinding) || (Object.create ? (function(o, m, k, k2) {
        if (k2 === undefined) k2 = k;
        Object.defineProperty(o, k2, { enumerable: true, get: function() { return m[k]; } });
    }) : (function(o, m, k, k2) {
        o[k2] = m[k];
    }));
    var __setModuleDefault = (this && this.__setModuleDefault) || (Object.create ? (function(o, v) {
        Object.defineProperty(o, "default", { enumerable: true, value: v });
    }) : function(o, v) {
        o["default"] = v;
    });
    var __importStar = (this && this.__importStar) || (function () {
        return function (mod) {
            if (mod && mod.__esModule) return mod;
            var result = {};
            __setModuleDefault(result, mod);
            return result;
        };
    })();
    Object.defineProperty(exports, "__esModule", { value: true });
    exports.cLast = exports.bMiddle = exports.aFirst = void 0;
    exports.aFirst = __importStar(require("./a-first/index"));
    exports.bMiddle = __importStar(require("./b-middle/index"));
    exports.cLast = __importStar(require("./c-last/index"));
""")
# Requires the fake package, then reports which submodules ran, before and after reading one.
PROBE = textwrap.dedent("""\
    globalThis.loaded = [];
    const pkg = require("@cdktf/provider-aws/lib/index.js");
    const before = [...globalThis.loaded];
    const first = pkg.bMiddle, again = pkg.bMiddle;
    console.log(JSON.stringify({before, after: globalThis.loaded, keys: Object.keys(pkg),
                                name: first.name, same: first === again, esModule: pkg.__esModule}));
""")


def fake_provider(root: Path, index: str, scope: str = "@cdktf") -> None:
    lib = root / "node_modules" / scope / "provider-aws" / "lib"
    for name in ("a-first", "b-middle", "c-last"):
        (lib / name).mkdir(parents=True)
        (lib / name / "index.js").write_text(f'globalThis.loaded.push("{name}"); exports.name = "{name}";\n')
    (lib / "index.js").write_text(index)


def run_node(code: str, cwd: Path, **env: str) -> tuple[dict[str, Any], str]:
    assert NODE is not None
    environ = subprocess_env(NODE_OPTIONS=f'--require "{HOOK}"', **env)
    result = ok(subprocess.run([NODE, "-e", code], cwd=cwd, env=environ, capture_output=True, text=True, timeout=60))
    return json.loads(result.stdout), result.stderr


@needs_node
def test_node_hook_requires_a_submodule_on_first_use(tmp_path: Path) -> None:
    fake_provider(tmp_path, TSC_INDEX)
    report, stderr = run_node(PROBE, tmp_path)
    assert report == {
        "before": [],
        "after": ["b-middle"],
        "keys": ["aFirst", "bMiddle", "cLast"],
        "name": "b-middle",
        "same": True,
        "esModule": True,
    }
    assert stderr == ""


@needs_node
def test_node_hook_understands_cdk_terrains_layout(tmp_path: Path) -> None:
    """__importStar of an ES module is the module itself; of a CommonJS one, a namespace of it."""
    fake_provider(tmp_path, TSC_STAR_INDEX, scope="@cdktn")
    report, stderr = run_node(PROBE.replace("@cdktf/", "@cdktn/"), tmp_path)
    assert (report["before"], report["after"], report["keys"]) == ([], ["b-middle"], ["aFirst", "bMiddle", "cLast"])
    assert (report["name"], report["same"], stderr) == ("b-middle", True, "")
    code = f"""const {{importStar}} = require({str(HOOK)!r});
        const es = {{__esModule: true, x: 1}}, cjs = {{x: 2}};
        const star = importStar(cjs);
        console.log(JSON.stringify({{es: importStar(es) === es, x: star.x, default: star.default === cjs}}))"""
    semantics, _ = run_node(code, tmp_path)
    assert semantics == {"es": True, "x": 2, "default": True}


@needs_node
@pytest.mark.parametrize(
    ("change", "why"),
    [
        (("var __importStar", "var __somethingElse"), "a helper that is not tsc's"),
        (("return mod;\n", 'return require("./x");\n'), "a require among the helpers"),
        (('exports.cLast = __importStar(require("./c-last/index"));', 'exports.cLast = require("./c-last");'), "mixed"),
    ],
)
def test_node_hook_refuses_a_star_layout_it_does_not_know(tmp_path: Path, change, why) -> None:
    assert change[0] in TSC_STAR_INDEX
    (tmp_path / "index.js").write_text(TSC_STAR_INDEX.replace(*change))
    code = f"""console.log(JSON.stringify(require({str(HOOK)!r}).parseIndex(
        require("fs").readFileSync("index.js", "utf8"))))"""
    parsed, _ = run_node(code, tmp_path)
    assert parsed is None, why


@needs_node
def test_node_hook_loads_an_unexpected_index_as_usual_with_a_warning(tmp_path: Path) -> None:
    fake_provider(tmp_path, TSC_INDEX + "exports.version = 1;\n")
    report, stderr = run_node(PROBE, tmp_path)
    assert report["before"] == ["a-first", "b-middle", "c-last"]  # what plain Node does
    assert report["keys"] == ["aFirst", "bMiddle", "cLast", "version"]
    [line] = stderr.splitlines()
    assert line.startswith("warning: IAC_LAZY_PROVIDER: ") and line.endswith(
        "index.js is not laid out as expected; loading all of it"
    )


@needs_node
def test_node_hook_is_off_with_the_switch(tmp_path: Path) -> None:
    """A process that inherited NODE_OPTIONS from one with the loader on still obeys the switch."""
    fake_provider(tmp_path, TSC_INDEX)
    report, stderr = run_node(PROBE, tmp_path, IAC_LAZY_PROVIDER="0")
    assert report["before"] == ["a-first", "b-middle", "c-last"]
    assert stderr == ""


@needs_node
def test_node_hook_understands_every_line_of_the_real_index(tarball, tmp_path: Path) -> None:
    """The installed engine's bindings' lib/index.js: one lazy export per submodule that holds a
    type, each requiring the submodule's directory, named as jsii names the submodule (cdktf's
    plain requires; CDK Terrain's wrapped in __importStar)."""
    found, files = tarball
    (tmp_path / "index.js").write_bytes(found["package/lib/index.js"])
    code = f"""console.log(JSON.stringify(require({str(HOOK)!r}).parseIndex(
        require("fs").readFileSync("index.js", "utf8"))))"""
    parsed, _ = run_node(code, tmp_path)
    assert parsed is not None and parsed["star"] is (ENGINE == "cdktn")
    entries = parsed["entries"]
    assert len(entries) == {"cdktf": 2212, "cdktn": 2433}[ENGINE]
    assert {f"{ASSEMBLY}.{name}" for name, _ in entries} >= assembly_submodules(found)
    for name, request in entries:
        path = f"package/lib/{request[2:]}" + ("" if request.endswith("/index") else "/index")
        assert f"{path}.js" in files, (name, request)


def test_jsii_node_process_got_the_hook_and_later_children_do_not(default_synth) -> None:
    """This test process loaded the bindings through the loader: the Node process jsii started
    carries the hook, and NODE_OPTIONS is back to what it was for processes started since."""
    from jsii._runtime import kernel

    pid = kernel.provider._process._process.pid
    environ = dict(item.split("=", 1) for item in Path(f"/proc/{pid}/environ").read_text().split("\0") if "=" in item)
    assert f'--require "{HOOK}"' in environ["NODE_OPTIONS"]
    assert str(HOOK) not in os.environ.get("NODE_OPTIONS", "")


@cdktf_only
def test_node_hook_is_left_out_when_node_has_started_or_the_path_cannot_be_quoted() -> None:
    """Either way the Python half stays on and NODE_OPTIONS is untouched: Node then loads the
    whole package, as without the loader (slower, same output)."""
    probe = textwrap.dedent("""
        import os, sys
        from pathlib import Path
        from constructs_lib.cdk import lazy_provider
        if sys.argv[1] == "started":
            import constructs  # loads its jsii assembly: Node is running
        else:
            lazy_provider.NODE_HOOK = Path('/tmp/a "quoted" dir/lazy_provider_hook.js')
        print(lazy_provider.install(), repr(os.environ.get("NODE_OPTIONS")))
    """)
    started = ok(run_python(probe, "started", env={"NODE_OPTIONS": "--no-warnings"}))
    assert (started.stdout.split(), started.stderr) == (["True", "'--no-warnings'"], "")
    quoted = ok(run_python(probe, "quoted", env={"NODE_OPTIONS": "--no-warnings"}))
    assert quoted.stdout.split() == ["True", "'--no-warnings'"]
    assert quoted.stderr.splitlines() == [
        'warning: IAC_LAZY_PROVIDER: /tmp/a "quoted" dir/lazy_provider_hook.js cannot be used; '
        "Node loads all of cdktf_cdktf_provider_aws"
    ]
