"""The layers of constructs_lib and what each may import: settings (plain Python), building blocks
(one construct per AWS concept; nothing of the settings, the stacks or the app), stacks (the
wiring), and the CDK seam (the only modules that import the CDK)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "constructs_lib"
LAYERS = ("settings", "blocks", "stacks", "cdk")
# What each layer may import from the package (besides itself).
ALLOWED = {
    "settings": {"blocks.rules"},  # AWS's own rules, plain Python
    "blocks": {"cdk"},
    "stacks": {"blocks", "cdk", "settings"},
    "cdk": set(),
}
CDK_PACKAGES = ("cdktf", "cdktn", "constructs", "cdktf_cdktf_provider_aws", "cdktn_provider_aws", "jsii")


def imports(path: Path) -> list[str]:
    """The package-relative modules a file imports (``blocks.rules``, ``cdk.core``...) and the
    absolute ones, as written."""
    found = []
    package = path.parent.relative_to(PACKAGE).parts
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = list(package[: len(package) - node.level + 1])
                module = ".".join([*base, *(node.module.split(".") if node.module else [])])
                names = [f"{module}.{alias.name}" if not node.module else module for alias in node.names]
                found += names
            elif node.module:
                found.append(node.module)
        elif isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
    return found


@pytest.mark.parametrize("layer", LAYERS)
def test_each_layer_imports_only_what_it_may(layer):
    for path in sorted((PACKAGE / layer).glob("*.py")):
        for module in imports(path):
            top = module.split(".")[0]
            if top in LAYERS and top != layer:
                assert any(module == a or module.startswith(a + ".") for a in ALLOWED[layer]), (path.name, module)
            if layer != "cdk":
                assert top not in CDK_PACKAGES, (path.name, module)


def test_the_settings_layer_loads_no_cdk():
    import subprocess
    import sys

    probe = "import sys, constructs_lib.settings; print(sorted(m for m in sys.modules if m.split('.')[0] in %r))"
    result = subprocess.run(
        [sys.executable, "-c", probe % (CDK_PACKAGES,)],
        cwd=PACKAGE.parent,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert (result.returncode, result.stdout.strip()) == (0, "[]"), result.stderr


MAX_FUNCTION_LINES = 80
# The project's own code (the tests aside): every function in it reads in one screen.
SOURCES = ("constructs_lib", "lambda_src", "tools", "benchmarks", "security", "examples", "main.py")


def test_no_function_is_longer_than_80_lines():
    """A function longer than a screen hides what it does; a construct's body should read as the
    list of the parts it creates (``_vpc()``, ``_subnets()``...). Counted from the ``def`` line to
    the body's last line."""
    root = PACKAGE.parent
    paths = []
    for source in SOURCES:
        path = root / source
        paths += sorted(path.rglob("*.py")) if path.is_dir() else [path] if path.is_file() else []
    too_long = [
        f"{path.relative_to(root)}:{node.lineno} {node.name}: {node.end_lineno - node.lineno + 1} lines"
        for path in paths
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path)))
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
        and node.end_lineno is not None
        and node.end_lineno - node.lineno + 1 > MAX_FUNCTION_LINES
    ]
    assert not too_long, f"functions longer than {MAX_FUNCTION_LINES} lines:\n" + "\n".join(too_long)


def test_the_examples_reach_the_cdk_only_through_the_seam():
    """The examples (examples/*) use the project as a library: the CDK through ``constructs_lib.cdk``,
    which picks the engine (cdktf or CDK Terrain), never cdktf, constructs or the bindings themselves."""
    examples = sorted((PACKAGE.parent / "examples").rglob("*.py"))
    assert examples
    for path in examples:
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom) and node.module:
                names.append(node.module)
            assert not [n for n in names if n.split(".")[0] in CDK_PACKAGES], (path.name, names)
