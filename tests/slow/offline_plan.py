"""A synthesized stack, made plannable with no AWS account: ``terraform plan -refresh=false`` then
evaluates every expression, for_each and reference as a real plan would, reading nothing from AWS.

- The data sources that read AWS are replaced by fixed values: ``aws_caller_identity`` by an account
  id, ``aws_availability_zones`` by three zone names of its region. Policy documents stay (local).
- Every AWS provider gets fake credentials and skips each call it would make on its own.
- The backend goes (a plan here must not read or lock real state).
- With a provider mirror (``/opt/tf-plugins`` on this machine's image holds hashicorp/aws 5.100.0)
  the provider version is set to the mirror's; with a reachable registry the pinned one stays.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

ACCOUNT_ID = "123456789012"
FAKE_PROVIDER = {
    "access_key": "AKIAIOSFODNN7EXAMPLE",
    "secret_key": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    "skip_credentials_validation": True,
    "skip_requesting_account_id": True,
    "skip_metadata_api_check": True,
    "skip_region_validation": True,
}


def mirror_version(mirror: Path) -> str | None:
    """The hashicorp/aws version a filesystem mirror holds, if any."""
    versions = sorted((mirror / "registry.terraform.io" / "hashicorp" / "aws").glob("*/linux_amd64"))
    return versions[-1].parent.name if versions else None


def cli_config(path: Path, mirror: Path | None) -> Path:
    """A Terraform CLI configuration: the provider from ``mirror`` when given, else the registry."""
    text = ""
    if mirror is not None:
        text = (
            "provider_installation {\n"
            f'  filesystem_mirror {{\n    path = "{mirror}"\n'
            '    include = ["registry.terraform.io/hashicorp/aws"]\n  }\n'
            '  direct {\n    exclude = ["registry.terraform.io/hashicorp/aws"]\n  }\n}\n'
        )
    path.write_text(text)
    return path


def _replace_strings(value: Any, replacements: list[tuple[re.Pattern[str], str]]) -> Any:
    if isinstance(value, str):
        for pattern, literal in replacements:
            value = pattern.sub(literal, value)
        return value
    if isinstance(value, dict):
        return {k: _replace_strings(v, replacements) for k, v in value.items()}
    if isinstance(value, list):
        return [_replace_strings(v, replacements) for v in value]
    return value


def offline(stack: dict[str, Any], provider_version: str | None) -> dict[str, Any]:
    """The stack's JSON, made plannable offline (see the module's docstring)."""
    stack = json.loads(json.dumps(stack))
    data = stack.get("data", {})
    replacements: list[tuple[re.Pattern[str], str]] = []
    for name in data.pop("aws_caller_identity", {}):
        replacements.append(
            (re.compile(rf"\$\{{data\.aws_caller_identity\.{re.escape(name)}\.account_id\}}"), ACCOUNT_ID)
        )
    for name, zones in data.pop("aws_availability_zones", {}).items():
        region = zones["provider"].removeprefix("aws.")
        names = ", ".join(f'"{region}{letter}"' for letter in "abc")
        replacements.append((re.compile(rf"data\.aws_availability_zones\.{re.escape(name)}\.names"), f"[{names}]"))
    if not data:
        stack.pop("data", None)
    stack = _replace_strings(stack, replacements)
    for provider in stack["provider"]["aws"]:
        provider.update(FAKE_PROVIDER)
    stack["terraform"].pop("backend", None)
    if provider_version is not None:
        stack["terraform"]["required_providers"]["aws"]["version"] = provider_version
    return stack


def prepare(stack_dir: Path, workdir: Path, provider_version: str | None) -> Path:
    """A copy of ``stack_dir`` (with its assets) whose cdk.tf.json plans offline."""
    shutil.copytree(stack_dir, workdir)
    document = json.loads((stack_dir / "cdk.tf.json").read_text())
    (workdir / "cdk.tf.json").write_text(json.dumps(offline(document, provider_version), indent=1))
    return workdir
