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
