"""Review every infrastructure change before it reaches AWS: a Markdown diff of two cdktf synths.

    python tools/synth_diff.py BASE_OUT HEAD_OUT > synth-diff.md        (or: make diff BASE=origin/main)

BASE_OUT and HEAD_OUT are two ``cdktf.out`` directories, e.g. a pull request's base and head, each
synthesized with ``CDKTF_OUTDIR=<dir> python main.py``. Only the JSON is read (no terraform, no AWS
credentials), so it runs on a fork's pull request and on a laptop; the workflow posts the Markdown as
a comment on the pull request. Exit code 0, or 2 with a one-line error for unusable input.

The report: a title, a verdict ("No infrastructure change." or Terraform-style counts), "⚠️
Replacements and destroys", then per stack its providers, backend, outputs, and resources and data
sources by region (the alias of the ``aws.<alias>`` provider; "global" without one): added, removed,
changed with each attribute path, old → new. JSON in strings (policies, dashboard bodies) is compared
as JSON; cdktf's ``//`` metadata is ignored; everything is sorted, so the same inputs give
byte-identical output. A replacement is predicted, without a plan, from a changed attribute that
FORCE_NEW lists for its type, or a changed ``provider``; and from a ForceNew attribute that refers to
the ``id`` or ``arn`` of a replaced resource (it becomes unknown, so Terraform replaces that one too).
A removed and an added resource of one type with the same body is a changed address (construct id):
destroyed and created again unless a ``moved`` block says otherwise. A review aid, not a plan: drift
and provider-side normalisation are invisible to it.
"""

from __future__ import annotations

import json
import re
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# The attributes whose change replaces a resource (ForceNew / RequiresReplace in the schemas of
# hashicorp/terraform-provider-aws 5.x-6.x), for the types this project uses and DynamoDB, SQS,
# EventBridge, Route 53 and ACM, which are coming. Top-level names: a change inside a block counts for
# the block; the ``*_prefix`` twins of ``name`` are left out. "*": every argument (no update exists);
# "-": none, all in place (aws_api_gateway_rest_api.name, aws_api_gateway_resource.path_part and
# parent_id; unlike aws_kms_alias.name). An indented line continues the type above. Also replaced:
# aws_api_gateway_authorizer when its type changes to or from COGNITO_USER_POOLS. Not listed: flagged.
FORCE_NEW_TABLE = """
aws_acm_certificate                       domain_name subject_alternative_names key_algorithm validation_method
                                          validation_option certificate_authority_arn
aws_acm_certificate_validation            *
aws_api_gateway_account                   -
aws_api_gateway_api_key                   value
aws_api_gateway_authorizer                rest_api_id
aws_api_gateway_deployment                rest_api_id triggers variables stage_name stage_description canary_settings
aws_api_gateway_integration               rest_api_id resource_id http_method type integration_http_method
                                          credentials passthrough_behavior
aws_api_gateway_method                    rest_api_id resource_id http_method
aws_api_gateway_method_settings           rest_api_id stage_name method_path
aws_api_gateway_request_validator         rest_api_id
aws_api_gateway_resource                  rest_api_id
aws_api_gateway_rest_api                  -
aws_api_gateway_stage                     rest_api_id stage_name
aws_api_gateway_usage_plan                -
aws_api_gateway_usage_plan_key            *
aws_cloudwatch_dashboard                  dashboard_name
aws_cloudwatch_event_bus                  name event_source_name
aws_cloudwatch_event_rule                 name event_bus_name
aws_cloudwatch_event_target               rule target_id event_bus_name
aws_cloudwatch_log_group                  name log_group_class
aws_cloudwatch_metric_alarm               alarm_name
aws_cognito_user_pool                     name alias_attributes username_attributes
aws_cognito_user_pool_client              user_pool_id generate_secret
aws_default_security_group                vpc_id
aws_dynamodb_table                        name hash_key range_key local_secondary_index
aws_flow_log                              *
aws_iam_role                              name path
aws_iam_role_policy                       name role
aws_kms_alias                             name
aws_kms_key                               key_usage customer_master_key_spec custom_key_store_id multi_region xks_key_id
aws_lambda_alias                          name function_name
aws_lambda_function                       function_name package_type
aws_lambda_permission                     *
aws_lambda_provisioned_concurrency_config function_name qualifier
aws_route53_record                        name zone_id
aws_route53_zone                          name delegation_set_id
aws_route_table                           vpc_id
aws_route_table_association               subnet_id gateway_id
aws_s3_bucket                             bucket object_lock_enabled
aws_s3_bucket_lifecycle_configuration     bucket expected_bucket_owner
aws_s3_bucket_notification                bucket
aws_s3_bucket_ownership_controls          bucket
aws_s3_bucket_policy                      bucket
aws_s3_bucket_public_access_block         bucket
aws_s3_bucket_server_side_encryption_configuration bucket expected_bucket_owner
aws_s3_bucket_versioning                  bucket expected_bucket_owner
aws_security_group                        name description vpc_id
aws_sns_topic                             name fifo_topic
aws_sns_topic_subscription                topic_arn protocol endpoint endpoint_auto_confirms
                                          confirmation_timeout_in_minutes
aws_sqs_queue                             name fifo_queue
aws_subnet                                vpc_id cidr_block availability_zone availability_zone_id outpost_arn
                                          ipv6_native
aws_vpc                                   cidr_block ipv4_ipam_pool_id ipv4_netmask_length
aws_vpc_endpoint                          vpc_id service_name vpc_endpoint_type service_region
aws_vpc_security_group_egress_rule        security_group_id
aws_vpc_security_group_ingress_rule       security_group_id
aws_wafv2_web_acl                         name scope
aws_wafv2_web_acl_association             *
aws_wafv2_web_acl_logging_configuration   resource_arn
"""
# Meta-arguments and tags: never a replacement, not even under "*".
IN_PLACE = frozenset({"tags", "tags_all", "depends_on", "lifecycle", "timeouts", "provisioner", "connection"})


def _parse_table(text: str) -> dict[str, frozenset[str]]:
    table: dict[str, set[str]] = {}
    kind = ""
    for line in text.strip("\n").splitlines():
        words = line.split()
        kind = kind if line.startswith(" ") else words.pop(0)
        table.setdefault(kind, set()).update(w for w in words if w != "-")
    return {kind: frozenset(attributes) for kind, attributes in table.items()}


FORCE_NEW = _parse_table(FORCE_NEW_TABLE)
MISSING: Any = type("Missing", (), {"__repr__": lambda self: "(absent)"})()
SHORT, LARGE_JSON, LARGE, MAX_LINES, MAX_NAMES = 60, 200, 2000, 15, 6
SENSITIVE = re.compile(r"password|secret|private_key|token", re.I)
ASSET = re.compile(r"^(assets/.+/)([0-9A-F]{32})(/.+)$")  # cdktf asset paths: assets/<id>/<HASH>/<file>
REFERENCE = re.compile(r"(?<![\w.-])((?:data\.)?[a-z][a-z0-9_]*\.[A-Za-z0-9_-]+)\.([a-z0-9_]+)")
HOW = {"update": "update in place", "replace": "**replace**", "rename": "**destroy + create**"}
COUNTS = {"add": ("create", "rename"), "change": ("update",), "replace": ("replace",), "destroy": ("delete", "rename")}


def forces_replacement(kind: str, attribute: str) -> bool:
    """Whether a change of this top-level attribute replaces a resource of this type."""
    listed = FORCE_NEW.get(kind, frozenset())
    return attribute == "provider" or attribute not in IN_PLACE and (attribute in listed or "*" in listed)


class InputError(Exception):
    """An output directory that cannot be compared."""


@dataclass
class Item:
    """A resource or data source that is added (create), removed (delete), renamed or changed."""

    address: str
    region: str
    action: str  # create, delete, rename, update, replace
    lines: list[str] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)  # why it is replaced

    @property
    def is_data(self) -> bool:
        return self.address.startswith("data.")


@dataclass
class StackDiff:
    name: str
    status: str  # added, removed, changed, unchanged
    items: list[Item] = field(default_factory=list)
    providers: list[str] = field(default_factory=list)
    settings: list[str] = field(default_factory=list)
    outputs: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def count(self, *actions: str) -> int:
        return sum(1 for i in self.items if not i.is_data and i.action in actions)


# ---- reading ------------------------------------------------------------------------------------


def strip_meta(value: Any) -> Any:
    """The value without cdktf's ``//`` metadata keys, at any depth."""
    if isinstance(value, dict):
        return {k: strip_meta(v) for k, v in value.items() if k != "//"}
    return [strip_meta(v) for v in value] if isinstance(value, list) else value


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise InputError(f"{path}: cannot read JSON ({error})") from None


def load(outdir: Path) -> dict[str, dict[str, Any]]:
    """Each stack's Terraform JSON in a cdktf.out directory (listed by manifest.json, else stacks/*)."""
    if not outdir.is_dir():
        raise InputError(f"{outdir}: no such directory")
    paths = {p.parent.name: p for p in outdir.glob("stacks/*/cdk.tf.json")}
    if (outdir / "manifest.json").is_file():
        manifest = _read_json(outdir / "manifest.json")
        stacks = manifest.get("stacks") if isinstance(manifest, dict) else None
        stacks = stacks if isinstance(stacks, dict) else {}
        paths = {n: outdir / s.get("synthesizedStackPath", f"stacks/{n}/cdk.tf.json") for n, s in stacks.items()}
    if not paths:
        raise InputError(f"{outdir}: no stacks (expected manifest.json or stacks/*/cdk.tf.json)")
    return {name: strip_meta(_read_json(path)) for name, path in sorted(paths.items())}


# ---- comparing values ---------------------------------------------------------------------------


def diff_values(old: Any, new: Any, path: str = "") -> list[tuple[str, Any, Any]]:
    """(path, old, new) for each difference, MISSING where one side has nothing. A list of plain values
    is one difference; a JSON document in a string is compared inside ("attribute (JSON) path")."""
    if old == new:
        return []
    if isinstance(old, dict) and isinstance(new, dict):
        prefix = path if not path or path.endswith(" ") else path + "."
        keys = sorted(set(old) | set(new))
        return [d for k in keys for d in diff_values(old.get(k, MISSING), new.get(k, MISSING), prefix + k)]
    if isinstance(old, list) and isinstance(new, list) and any(isinstance(v, (dict, list)) for v in old + new):
        pad = max(len(old), len(new))
        old, new = old + [MISSING] * (pad - len(old)), new + [MISSING] * (pad - len(new))
        return [d for i, (o, n) in enumerate(zip(old, new, strict=True)) for d in diff_values(o, n, f"{path}[{i}]")]
    if isinstance(old, str) and isinstance(new, str) and old[:1] in ("{", "[") and new[:1] in ("{", "["):
        try:  # policies, dashboard bodies
            return diff_values(json.loads(old), json.loads(new), f"{path} (JSON) ")
        except ValueError:
            pass
    return [(path.strip(), old, new)]


def show(value: Any, path: str = "") -> str:
    """A short rendering: long values keep both ends; sensitive or huge JSON values are hidden."""
    if value is MISSING:
        return "(absent)"
    if SENSITIVE.search(path.rsplit(".", 1)[-1]):
        return "(sensitive)"
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    if len(text) > LARGE or (isinstance(value, str) and len(value) > LARGE_JSON and value[:1] in "{["):
        return "(sensitive/large)"
    if len(text) > SHORT:  # ARNs and paths differ at either end
        text = text[: SHORT * 2 // 3] + "…" + text[-(SHORT // 3) :]
    return "`" + text.replace("`", "'") + "`"


def describe(path: str, old: Any, new: Any) -> str:
    """One changed path as a Markdown line; for lists of plain values, what entered and what left."""
    if isinstance(old, list) and isinstance(new, list):
        parts = [f"+{show(v)}" for v in new if v not in old] + [f"−{show(v)}" for v in old if v not in new]
        more = f" … ({len(parts) - MAX_NAMES} more)" if len(parts) > MAX_NAMES else ""
        return f"`{path}`: " + (", ".join(parts[:MAX_NAMES]) + more if parts else "reordered")
    return f"`{path}`: {show(old, path)} → {show(new, path)}"


def top_attribute(path: str) -> str:
    return re.split(r"[.\[ ]", path, maxsplit=1)[0]


def change_lines(changes: list[tuple[str, Any, Any]], kind: str | None) -> list[str]:
    """Changed paths as lines (kind: the resource type; None for a data source). A new asset hash
    together with a new source_code_hash is said in words."""
    matches = {p: (ASSET.match(o), ASSET.match(n)) for p, o, n in changes if isinstance(o, str) and isinstance(n, str)}
    assets = {p: (a[2], b[2]) for p, (a, b) in matches.items() if a and b and (a[1], a[3]) == (b[1], b[3])}
    code_hash = any(p == "source_code_hash" for p, _, _ in changes)
    lines = []
    for path, old, new in changes:
        if path in assets:
            before, after = assets[path]
            also = ", `source_code_hash` changed" if code_hash else ""
            lines.append(f"code changed: new deployment package (`{path}` asset {before[:8]}… → {after[:8]}…{also})")
        elif path == "source_code_hash":
            lines += [] if assets else [describe(path, old, new) + " (code changed)"]
        else:
            forced = kind is not None and forces_replacement(kind, top_attribute(path))
            lines.append(describe(path, old, new) + (" **(forces replacement)**" if forced else ""))
    if len(lines) > MAX_LINES:
        lines[MAX_LINES:] = [f"… and {len(lines) - MAX_LINES} more changed paths"]
    return lines


# ---- comparing stacks ---------------------------------------------------------------------------


def _index(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Resources by address (``type.name``) and data sources (``data.type.name``)."""
    blocks = (("", doc.get("resource", {})), ("data.", doc.get("data", {})))
    return {f"{pre}{kind}.{name}": body for pre, b in blocks for kind, v in b.items() for name, body in v.items()}


def _type(address: str) -> str:
    return address.removeprefix("data.").split(".", 1)[0]


def region_of(body: dict[str, Any]) -> str:
    provider = body.get("provider")
    return provider.split(".", 1)[1] if isinstance(provider, str) and "." in provider else "global"


def _providers(doc: dict[str, Any]) -> dict[str, Any]:
    """Provider configurations by name: ``aws``, ``aws.<alias>``."""
    found = {}
    for name, configs in doc.get("provider", {}).items():
        for config in configs if isinstance(configs, list) else [configs]:
            found[f"{name}.{config['alias']}" if "alias" in config else name] = config
    return found


def _keyed_diff(old: dict[str, Any], new: dict[str, Any], what: str) -> list[str]:
    """Added, removed and changed entries (providers, outputs) as lines; sensitive values hidden."""
    lines = []
    for key in sorted(set(old) | set(new)):
        if key not in old:
            region = new[key].get("region") if isinstance(new[key], dict) else None
            lines.append(f"added {what} `{key}`" + (f" (region `{region}`)" if region else ""))
        elif key not in new:
            lines.append(f"removed {what} `{key}`")
        elif old[key] != new[key]:
            secret = any(isinstance(v, dict) and v.get("sensitive") for v in (old[key], new[key]))
            changes = [
                f"`{p}`: (sensitive)" if secret and p.startswith("value") else describe(p, o, n)
                for p, o, n in diff_values(old[key], new[key])
            ]
            more = f"; … ({len(changes) - MAX_NAMES} more)" if len(changes) > MAX_NAMES else ""
            lines.append(f"changed {what} `{key}`: " + "; ".join(changes[:MAX_NAMES]) + more)
    return lines


def diff_stack(name: str, old: dict[str, Any] | None, new: dict[str, Any] | None) -> StackDiff:
    status = "added" if old is None else "removed" if new is None else "changed" if old != new else "unchanged"
    stack, old, new = StackDiff(name, status), old or {}, new or {}
    before, after = _index(old), _index(new)
    items: dict[str, Item] = {}

    # A removed and an added resource of one type with the same body: the address changed.
    unmatched: dict[tuple[str, str], list[str]] = {}
    for addr in sorted(set(before) - set(after)):
        unmatched.setdefault((_type(addr), json.dumps(before[addr], sort_keys=True)), []).append(addr)
    renamed = {}
    for addr in sorted(set(after) - set(before)):
        candidates = unmatched.get((_type(addr), json.dumps(after[addr], sort_keys=True)))
        if candidates and not addr.startswith("data."):
            renamed[old_addr := candidates.pop(0)] = addr
            note = f"address changed: looks like a rename of `{old_addr}` → `{addr}` (same type and same attributes)"
            items[addr] = Item(addr, region_of(after[addr]), "rename", [note])
    for addr in sorted(set(before) - set(after) - set(renamed)):
        items[addr] = Item(addr, region_of(before[addr]), "delete")
    for addr in sorted(set(after) - set(before) - set(renamed.values())):
        items[addr] = Item(addr, region_of(after[addr]), "create")

    common = sorted(set(before) & set(after))
    for addr in common:
        if changes := diff_values(before[addr], after[addr]):
            kind = None if addr.startswith("data.") else _type(addr)
            forced = sorted({a for p, _, _ in changes if kind and forces_replacement(kind, a := top_attribute(p))})
            lines = change_lines(changes, kind)
            if kind and kind not in FORCE_NEW:
                lines.append("_type not in the ForceNew table: check the plan for a replacement_")
            reasons = [f"`{a}` forces replacement" for a in forced]
            items[addr] = Item(addr, region_of(after[addr]), "replace" if forced else "update", lines, reasons)
    _knock_on(items, after, common)

    stack.items = sorted(items.values(), key=lambda i: (i.region, i.address))
    stack.providers = _keyed_diff(_providers(old), _providers(new), "provider")
    settings = diff_values(old.get("terraform", {}), new.get("terraform", {}))
    stack.settings = [f"`terraform.{p}`: {show(o)} → {show(n)}" for p, o, n in settings]
    if any(p.startswith("backend") for p, _, _ in settings):
        stack.settings.append(
            "⚠️ the state backend changes: migrate the state (`terraform init -migrate-state`), "
            "or Terraform starts from an empty state and creates everything again"
        )
    known = ("resource", "data", "provider", "terraform", "output")
    stack.settings += [f"`{b}` changed" for b in sorted((set(old) | set(new)) - set(known)) if old.get(b) != new.get(b)]
    stack.outputs = _keyed_diff(old.get("output", {}), new.get("output", {}), "output")
    stack.warnings = _warnings(stack, before, set(_providers(old)) - set(_providers(new)))
    return stack


def _knock_on(items: dict[str, Item], after: dict[str, Any], common: list[str]) -> None:
    """Changes that follow from others: a replaced resource's id/arn becomes unknown; a changed data
    source gives another result. Whoever refers to them is updated, or replaced through a ForceNew one."""
    references = {
        addr: sorted(
            (attr, m[1], m[2])
            for attr, value in after[addr].items()
            if attr != "depends_on"
            for m in REFERENCE.finditer(json.dumps(value))
            if m[1] in after
        )
        for addr in common
    }
    progress = True
    while progress:
        progress = False
        for addr, refs in references.items():
            for attr, target, attribute in refs:
                if addr in items and items[addr].action == "replace":
                    break
                source = items.get(target)
                replaced = source is not None and source.action == "replace" and attribute in ("id", "arn")
                if not (replaced or source and source.is_data and source.action == "update"):
                    continue
                item = items.setdefault(addr, Item(addr, region_of(after[addr]), "update"))
                forces = not item.is_data and forces_replacement(_type(addr), attr)
                note = f"`{attr}` refers to `{target}.{attribute}`, which {'is replaced' if replaced else 'changes'}"
                if forces and replaced:
                    item.action = "replace"
                    item.reasons.append(note)
                    note += " **(forces replacement)**"
                elif forces:
                    note += " (replaced if its value changes)"
                if note not in item.lines:
                    item.lines.append(note)
                    progress = True


def _warnings(stack: StackDiff, before: dict[str, Any], providers_removed: set[str]) -> list[str]:
    """The lines for "Replacements and destroys"."""
    name, resources = stack.name, [i for i in stack.items if not i.is_data]
    if stack.status == "removed":
        return [
            f"**stack removed** `{name}`: its {len(resources)} resources leave the app (destroyed by "
            f"`cdktf destroy {name}`, otherwise left running unmanaged)"
        ]
    warnings = [f"**replace** `{i.address}` ({name} · {i.region}): {'; '.join(i.reasons)}" for i in resources
                if i.action == "replace"]  # fmt: skip
    warnings += [
        f"**destroy + create** `{i.address}` ({name} · {i.region}): {i.lines[0]}: destroyed and created "
        "again, unless a `moved` block keeps it"
        for i in resources
        if i.action == "rename"
    ]
    deleted: dict[str, list[str]] = {}
    for item in resources:
        if item.action == "delete":
            deleted.setdefault(item.region, []).append(item.address)
    for region, addresses in sorted(deleted.items()):
        if len(addresses) <= MAX_NAMES:
            warnings += [f"**destroy** `{a}` ({name} · {region}): removed" for a in addresses]
        else:
            kinds = ", ".join(f"`{k}` ×{n}" for k, n in sorted(Counter(map(_type, addresses)).items()))
            warnings.append(f"**destroy** {len(addresses)} resources in `{region}` ({name}): {kinds}")
    for provider in sorted(providers_removed):
        orphans = [i for i in resources if i.action == "delete" and before[i.address].get("provider") == provider]
        if orphans:
            warnings.append(
                f"**provider removed with its resources** `{provider}` ({name}): Terraform needs it to destroy "
                f'those {len(orphans)} ("Provider configuration not present"): destroy them first, then remove it'
            )
    return warnings


def compare(base: dict[str, dict[str, Any]], head: dict[str, dict[str, Any]]) -> list[StackDiff]:
    return [diff_stack(name, base.get(name), head.get(name)) for name in sorted(set(base) | set(head))]


# ---- rendering ----------------------------------------------------------------------------------


def verdict(stacks: list[StackDiff]) -> str:
    changed = [s for s in stacks if s.status != "unchanged"]
    if not changed:
        return "No infrastructure change."
    counts = ", ".join(f"{sum(s.count(*actions) for s in changed)} to {what}" for what, actions in COUNTS.items())
    also = {
        "data sources": any(i.is_data for s in changed for i in s.items),
        "outputs": any(s.outputs for s in changed),
        "providers": any(s.providers for s in changed),
        "backend/settings": any(s.settings for s in changed),
    }
    listed = ", ".join(what for what, present in also.items() if present)
    listed = f" (also: {listed})" if listed else ""
    return f"{len(changed)} stack{'s' * (len(changed) > 1)} changed: {counts}{listed}"


def _grouped(addresses: list[str]) -> list[str]:
    """Addresses as one line per type."""
    by_type: dict[str, list[str]] = {}
    for address in addresses:
        kind, name = address.rsplit(".", 1)
        by_type.setdefault(kind, []).append(f"`{name}`")
    return [f"`{kind}` ({len(names)}): " + ", ".join(names) for kind, names in by_type.items()]


def render(stacks: list[StackDiff]) -> str:
    out = ["## Infrastructure change (cdktf synth diff)", "", f"**{verdict(stacks)}**"]
    changed = [s for s in stacks if s.status != "unchanged"]
    if changed:
        out += ["", "### ⚠️ Replacements and destroys", ""]
        out += [f"- {w}" for s in changed for w in s.warnings] or ["None: nothing is replaced or destroyed."]
    for stack in changed:
        out += ["", f"### Stack `{stack.name}`" + ("" if stack.status == "changed" else f" ({stack.status})")]
        for title, lines in (("Providers", stack.providers), ("Backend", stack.settings), ("Outputs", stack.outputs)):
            out += ["", f"**{title}**", *[f"- {line}" for line in lines]] if lines else []
        for region in sorted({i.region for i in stack.items}, key=lambda r: (r == "global", r)):
            out += ["", f"#### {region}"]
            for noun, data in (("Resources", False), ("Data sources", True)):
                mine = [i for i in stack.items if i.region == region and i.is_data == data]
                for label, action in (("added", "create"), ("removed", "delete")):
                    if listed := [i.address for i in mine if i.action == action]:
                        out += ["", f"{noun} {label} ({len(listed)}):", *[f"- {x}" for x in _grouped(listed)]]
                if changes := [i for i in mine if i.action in HOW]:
                    out += ["", f"{noun} changed ({len(changes)}):"]
                for item in changes:
                    out += [f"- `{item.address}`: {'changes' if data else HOW[item.action]}"]
                    out += [f"  - {line}" for line in item.lines]
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2:
        print("usage: python tools/synth_diff.py BASE_OUT HEAD_OUT", file=sys.stderr)
        return 2
    try:
        base, head = load(Path(args[0])), load(Path(args[1]))
    except InputError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    sys.stdout.write(render(compare(base, head)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
