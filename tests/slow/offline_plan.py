"""A synthesized stack, made plannable with no AWS account: ``terraform plan -refresh=false`` then
evaluates every expression, for_each and reference as a real plan would, reading nothing from AWS.

- The data sources that read AWS are replaced by fixed values: ``aws_caller_identity`` by an account
  id, ``aws_availability_zones`` by three zone names of its region, and what a regional or edge stack
  reads of the global stack's work (a key by its alias, the table's copy, the API key's secret, the
  user pool's parameter) by values of the right form for its region; the ephemeral generated API
  key by a fixed value.
  Policy documents stay (local).
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


# What each data source that reads another stack's work gives, by attribute ({region}: its provider's).
READS = {
    "aws_kms_alias": {"target_key_arn": "arn:aws:kms:{region}:" + ACCOUNT_ID + ":key/0000-stub"},
    "aws_dynamodb_table": {
        "name": "stub-items",
        "arn": "arn:aws:dynamodb:{region}:" + ACCOUNT_ID + ":table/stub-items",
        "stream_arn": "arn:aws:dynamodb:{region}:" + ACCOUNT_ID + ":table/stub-items/stream/2026-01-01T00:00:00.000",
    },
    "aws_secretsmanager_secret_version": {"secret_string": "stubApiKeyValue0123456789abcdefghijklmn"},
    "aws_ssm_parameter": {"insecure_value": "arn:aws:cognito-idp:{region}:" + ACCOUNT_ID + ":userpool/{region}_stub"},
    # AWS's managed CloudFront policies, found by name (their ids are AWS's, the same everywhere).
    "aws_cloudfront_cache_policy": {"id": "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"},
    "aws_cloudfront_origin_request_policy": {"id": "b689b0a8-53d0-40ab-baf2-68738e2966ac"},
    "aws_cloudfront_response_headers_policy": {"id": "67f7725c-6f97-4210-82d7-5512b31e9d03"},
}


# What each ephemeral resource opens to, by attribute (they are opened during a plan: AWS is asked).
OPENS = {"aws_secretsmanager_random_password": {"random_password": "stubApiKeyValue0123456789abcdefghijklmn"}}


def _opens(ephemeral: dict[str, Any]) -> list[tuple[re.Pattern[str], str]]:
    """Replacements for the references to the ephemeral resources in OPENS (removed)."""
    replacements = []
    for kind, attributes in OPENS.items():
        for name in ephemeral.pop(kind, {}):
            for attribute, value in attributes.items():
                address = rf"ephemeral\.{kind}\.{re.escape(name)}\.{attribute}"
                replacements.append((re.compile(rf"\$\{{{address}\}}"), value))
    return replacements


def _reads(data: dict[str, Any]) -> list[tuple[re.Pattern[str], str]]:
    """Replacements for the references to the data sources in READS (removed from ``data``): a whole
    ``${...}`` by the value, a reference inside a longer expression by the quoted value."""
    replacements = []
    for kind, attributes in READS.items():
        for name, block in data.pop(kind, {}).items():
            region = block["provider"].removeprefix("aws.")
            for attribute, value in attributes.items():
                value = value.format(region=region)
                address = rf"data\.{kind}\.{re.escape(name)}\.{attribute}"
                replacements.append((re.compile(rf"\$\{{{address}\}}"), value))
                replacements.append((re.compile(rf"\b{address}\b"), json.dumps(value)))
    return replacements


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
    replacements += _reads(data)
    if not data:
        stack.pop("data", None)
    replacements += _opens(stack.get("ephemeral", {}))
    if not stack.get("ephemeral", True):
        stack.pop("ephemeral")
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
