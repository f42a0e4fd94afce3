"""Split the state of a 0.4 environment (one stack) into the state files of its 0.5 stacks.

    python tools/split_state.py ENVIRONMENT OLD_STATE [--outdir cdktf.out] [--into DIR]

Up to 0.4 an environment (``dev`` of project ``iac-aws-nova``) was one stack, ``iac-aws-nova-dev``,
with one Terraform state. From 0.5.0 it is ``<that>-global`` (the KMS keys, the table and its
replicas, the shared sign-in), one stack per region ``<that>-<region>``, and ``<that>-edge`` (the
dashboard, the health alarms, the latency routing). OLD_STATE is the old stack's state, version 4
JSON: the local ``terraform.iac-aws-nova-dev.tfstate``, or ``terraform state pull > old.tfstate``.
The new stacks are read from a synth (``<outdir>/manifest.json``, each stack's ``cdk.tf.json``).

Each resource of the old state goes to the new stack that holds its address (``type.name``): almost
every one keeps its address; RENAMES lists those whose construct path (so logical id) changed, found
in the new stack by pattern. Data sources are dropped (Terraform reads them again). Written to DIR
(default ``<outdir>/split-state``), one ``<stack>.tfstate`` per new stack, even an empty one: a new
state (serial 1, a new lineage), the same Terraform version, providers and instances as they were.
Nothing is overwritten, and the old state is only read.

Prints the plan: what moves where (and the renames), what no new stack holds (destroyed when the old
state is retired, unless removed from it), what the new stacks create, and the commands that push
each file, in deploy order (global, the regions with the home region first, edge).
Exit code 0, or 2 with a one-line ``error: ...`` for unusable input.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import sys
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

STATE_VERSION = 4
HASH = r"[0-9A-F]{8}"  # what cdktf appends to a logical id
# An AWS region as the regional stacks' names end (us-east-1, us-gov-west-1, eu-central-2).
REGION = re.compile(r"[a-z]{2}(?:-gov|-iso[a-z]?)?-[a-z]+-[0-9]+")
SYNTH_FIRST = "run the synth first (.venv/bin/python main.py)"

# The resources whose address changed in 0.5.0: type, old name (``<region>_<old>_<HASH>``), the new
# stack ("global" or "edge"), and the new name there (``<new>_<HASH>``, {region}: the old name's).
RENAMES = (
    ("aws_route53_health_check", "domain_health-check", "edge", "routing_health-check-{region}"),
    ("aws_route53_record", "domain_latency-record-a", "edge", "routing_latency-record-a-{region}"),
    ("aws_cognito_user_pool", "api_user-pool", "global", "sign-in_user-pool"),
    ("aws_cognito_user_pool_client", "api_user-pool-client", "global", "sign-in_user-pool-client"),
)


class Refusal(Exception):
    """Unusable input: said as one ``error:`` line, exit code 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise Refusal(message)


@dataclass
class Stacks:
    """The new stacks of one environment, in deploy order, with the managed resources each holds."""

    order: list[str]  # global, the regions (home first), edge
    addresses: dict[str, set[str]]  # stack -> {type.name}
    directories: dict[str, Path]  # stack -> its working directory

    @property
    def global_stack(self) -> str:
        return self.order[0]

    @property
    def edge_stack(self) -> str:
        return self.order[-1]


@dataclass
class Split:
    """Where the old state's resources go."""

    moved: dict[str, list[dict[str, Any]]]  # stack -> its state's resource entries
    renamed: dict[str, list[tuple[str, str]]]  # stack -> (old address, new address)
    left: list[str] = field(default_factory=list)  # old addresses no new stack holds
    created: dict[str, list[str]] = field(default_factory=dict)  # stack -> new addresses not in the old state
    data_sources: int = 0  # dropped


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = _Parser(prog="tools/split_state.py", description="Split a 0.4 environment's state into its 0.5 stacks.")
    parser.add_argument("environment", metavar="ENVIRONMENT")
    parser.add_argument("old_state", type=Path, metavar="OLD_STATE", help="the old stack's state (version 4 JSON)")
    parser.add_argument("--outdir", type=Path, default=Path("cdktf.out"), help="the synth's output (cdktf.out)")
    parser.add_argument("--into", type=Path, help="where to write the state files (<outdir>/split-state)")
    return parser.parse_args(argv)


# ---- reading ------------------------------------------------------------------------------------


def _read_json(path: Path, what: str) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise Refusal(f"{path} cannot be read ({error.strerror or error}){what}") from None
    except ValueError:
        raise Refusal(f"{path} is not JSON{what}") from None


def read_state(path: Path) -> dict[str, Any]:
    """The old state, checked to be a version 4 Terraform state."""
    not_state = f"{path} is not a Terraform state (version {STATE_VERSION} JSON, as terraform state pull writes it)"
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise Refusal(f"{path} cannot be read ({error.strerror or error})") from None
    except ValueError:
        raise Refusal(f"{not_state}: not JSON") from None
    if not isinstance(state, dict) or "version" not in state:
        raise Refusal(f"{not_state}: no version")
    if state["version"] != STATE_VERSION:
        raise Refusal(f"{not_state}: version {state['version']!r}")
    for key, kind in (("terraform_version", str), ("lineage", str), ("serial", int), ("resources", list)):
        if not isinstance(state.get(key), kind):
            raise Refusal(f"{not_state}: no {key}")
    for entry in state["resources"]:
        if not isinstance(entry, dict) or not all(isinstance(entry.get(k), str) for k in ("mode", "type", "name")):
            raise Refusal(f"{not_state}: a resource without mode, type and name")
    return state


def read_manifest(outdir: Path) -> dict[str, Any]:
    """The synth's stacks: name -> manifest entry."""
    path = outdir / "manifest.json"
    manifest = _read_json(path, f": {SYNTH_FIRST}")
    stacks = manifest.get("stacks") if isinstance(manifest, dict) else None
    if not isinstance(stacks, dict) or not all(isinstance(entry, dict) for entry in stacks.values()):
        raise Refusal(f"{path} is not a synth's manifest: {SYNTH_FIRST}")
    return stacks


def read_stack(outdir: Path, name: str, entry: dict[str, Any]) -> dict[str, Any]:
    """A stack's synthesized Terraform JSON."""
    relative = entry.get("synthesizedStackPath") or f"stacks/{name}/cdk.tf.json"
    stack = _read_json(outdir / str(relative), f": {SYNTH_FIRST}")
    return stack if isinstance(stack, dict) else {}


def managed_addresses(stack: dict[str, Any]) -> set[str]:
    """The ``type.name`` of each resource (not data source) of a stack's Terraform JSON."""
    resources = stack.get("resource")
    if not isinstance(resources, dict):
        return set()
    return {f"{kind}.{name}" for kind, bodies in resources.items() if isinstance(bodies, dict) for name in bodies}


def home_region(stack: dict[str, Any]) -> str | None:
    """The region of the global stack's table (its provider's alias): the home region."""
    resources = stack.get("resource")
    tables = resources.get("aws_dynamodb_table") if isinstance(resources, dict) else None
    bodies = tables.values() if isinstance(tables, dict) else []
    providers = [str(body.get("provider", "")) for body in bodies if isinstance(body, dict)]
    return next((p.removeprefix("aws.") for p in providers if p.startswith("aws.")), None)


def global_stack(manifest: dict[str, Any], environment: str, path: Path) -> str:
    """The environment's ``<project>-<environment>-global``: the one stack whose name ends so, or, when
    another environment's does too (``dev`` and ``eu-dev``), the one of the project whose
    ``<project>-bootstrap`` the synth has."""
    suffix = f"-{environment}-global"
    found = sorted(name for name in manifest if name.endswith(suffix))
    if len(found) > 1:
        found = [name for name in found if f"{name.removesuffix(suffix)}-bootstrap" in manifest] or found
    if len(found) != 1:
        raise Refusal(
            f"{path} has no single stack of environment {environment} (a name ending {suffix}: "
            f"{', '.join(found) or 'none'}; it has {', '.join(sorted(manifest)) or 'no stack'}): {SYNTH_FIRST}"
        )
    return found[0]


def environment_stacks(outdir: Path, environment: str) -> Stacks:
    """The environment's new stacks: ``<prefix>-global``, ``<prefix>-<region>``, ``<prefix>-edge``."""
    manifest = read_manifest(outdir)
    global_name = global_stack(manifest, environment, outdir / "manifest.json")
    prefix = global_name.removesuffix("-global")
    edge = f"{prefix}-edge"
    if edge not in manifest:
        raise Refusal(f"{outdir / 'manifest.json'} has no {edge}: {SYNTH_FIRST}")
    regional = {name: name.removeprefix(f"{prefix}-") for name in manifest if name.startswith(f"{prefix}-")}
    regional = {name: region for name, region in regional.items() if REGION.fullmatch(region)}
    bodies = {name: read_stack(outdir, name, manifest[name]) for name in [global_name, *regional, edge]}
    home = home_region(bodies[global_name])
    regions = sorted(regional, key=lambda name: (regional[name] != home, name))
    order = [global_name, *regions, edge]
    return Stacks(
        order=order,
        addresses={name: managed_addresses(bodies[name]) for name in order},
        directories={name: outdir / str(manifest[name].get("workingDirectory", f"stacks/{name}")) for name in order},
    )


# ---- splitting ----------------------------------------------------------------------------------


def address_of(entry: dict[str, Any]) -> str:
    """A state entry's address: ``type.name`` (``module.x.type.name`` in a module)."""
    module = entry.get("module")
    return f"{module}.{entry['type']}.{entry['name']}" if module else f"{entry['type']}.{entry['name']}"


def renamed_address(address: str, stacks: Stacks) -> tuple[str, str] | None:
    """(stack, new address) of an old address that RENAMES lists; None for any other."""
    kind, _, name = address.partition(".")
    for rename_kind, old, where, new in RENAMES:
        match = re.fullmatch(rf"(?P<region>[a-z0-9-]+)_{re.escape(old)}_{HASH}", name) if kind == rename_kind else None
        if match is None:
            continue
        stack = stacks.global_stack if where == "global" else stacks.edge_stack
        new_name = re.escape(new).replace(re.escape("{region}"), re.escape(match["region"]))
        pattern = re.compile(rf"{re.escape(kind)}\.{new_name}_{HASH}")
        found = sorted(a for a in stacks.addresses[stack] if pattern.fullmatch(a))
        if len(found) != 1:
            named = f"{kind}.{new.replace('{region}', match['region'])}_<HASH>"
            raise Refusal(
                f"{address} moved to {stack}, but it has {len(found)} resources named {named} "
                f"({', '.join(found) or 'none'}), not one: synthesize with the settings the old stack was deployed with"
            )
        return stack, found[0]
    return None


def new_home(address: str, stacks: Stacks) -> tuple[str, str] | None:
    """(stack, address there) of an old resource, None when no new stack holds it."""
    holders = [stack for stack in stacks.order if address in stacks.addresses[stack]]
    if len(holders) > 1:
        raise Refusal(f"{address} is in more than one new stack ({', '.join(holders)})")
    return (holders[0], address) if holders else renamed_address(address, stacks)


def split(state: dict[str, Any], stacks: Stacks) -> Split:
    """Each managed resource of the old state in the new stack that holds it, renamed as it is there."""
    result = Split(moved={name: [] for name in stacks.order}, renamed={name: [] for name in stacks.order})
    claimed: dict[str, str] = {}  # new address -> old address
    for entry in state["resources"]:
        if entry["mode"] != "managed":
            result.data_sources += 1
            continue
        old = address_of(entry)
        home = new_home(old, stacks)
        if home is None:
            result.left.append(old)
            continue
        stack, new = home
        if new in claimed:
            raise Refusal(f"{claimed[new]} and {old} would both be {new} in {stack}")
        claimed[new] = old
        if new != old:
            result.renamed[stack].append((old, new))
            entry = {**entry, "name": new.partition(".")[2]}
        result.moved[stack].append(entry)
    result.left.sort()
    for name in stacks.order:
        result.renamed[name].sort()
        result.created[name] = sorted(stacks.addresses[name] - set(claimed))
    return result


def new_state(old: dict[str, Any], resources: list[dict[str, Any]]) -> dict[str, Any]:
    """A new version 4 state (serial 1, its own lineage) holding these resources."""
    return {
        "version": STATE_VERSION,
        "terraform_version": old["terraform_version"],
        "serial": 1,
        "lineage": str(uuid.uuid4()),
        "outputs": {},
        "resources": resources,
        "check_results": None,
    }


# ---- writing ------------------------------------------------------------------------------------


def state_files(into: Path, stacks: Stacks) -> dict[str, Path]:
    """Each stack's state file in DIR (made if need be), none of which may exist yet."""
    try:
        into.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise Refusal(f"--into {into}: not a directory") from None
    except OSError as error:
        raise Refusal(f"--into {into}: cannot be made ({error.strerror or error})") from None
    files = {name: into / f"{name}.tfstate" for name in stacks.order}
    for path in files.values():
        if path.exists() or path.is_symlink():
            raise Refusal(f"{path} exists: it is never overwritten (move it away, or choose another --into)")
    return files


def write_state(path: Path, state: dict[str, Any]) -> None:
    """A new file readable by its owner only (a state holds secrets); an existing one is refused."""
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise Refusal(f"{path} exists: it is never overwritten (move it away, or choose another --into)") from None
    except OSError as error:
        raise Refusal(f"{path} cannot be written ({error.strerror or error})") from None
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as file:
            file.write(json.dumps(state, indent=2) + "\n")
    except OSError as error:
        path.unlink(missing_ok=True)
        raise Refusal(f"{path} cannot be written ({error.strerror or error})") from None


def write_states(state: dict[str, Any], result: Split, files: dict[str, Path]) -> None:
    """Each stack's state, all or none: the files written before a failure are removed again."""
    written: list[Path] = []
    try:
        for stack, path in files.items():
            write_state(path, new_state(state, result.moved[stack]))
            written.append(path)
    except Refusal:
        for path in written:
            path.unlink(missing_ok=True)
        raise


# ---- the plan -----------------------------------------------------------------------------------


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def render(
    args: argparse.Namespace, state: dict[str, Any], stacks: Stacks, result: Split, files: dict[str, Path]
) -> str:
    """The plan: what moves where, what is left and created, and the push commands in deploy order."""
    out = [
        f"{args.old_state} (Terraform {state['terraform_version']}, serial {state['serial']}) split into the "
        f"{len(stacks.order)} stacks of {args.environment} ({_plural(result.data_sources, 'data source')} dropped: "
        "Terraform reads them again):",
        "",
    ]
    for stack in stacks.order:
        out.append(f"{stack}: {_plural(len(result.moved[stack]), 'resource')} moved -> {files[stack]}")
        out += [f"  renamed: {old} -> {new}" for old, new in result.renamed[stack]]
    out += [
        "",
        f"Left in the old state: destroyed when you retire it, unless you remove them from it ({len(result.left)}):",
    ]
    out += [f"  {address}" for address in result.left] or ["  none"]
    created = [(stack, address) for stack in stacks.order for address in result.created[stack]]
    out += ["", f"Created by the first apply ({len(created)}):"]
    out += [f"  {stack}: {address}" for stack, address in created] or ["  none"]
    out += [
        "",
        "WARNING: take a backup of the old state first (terraform state pull > backup.tfstate), "
        "and apply nothing until every stack is pushed.",
        "Push each stack's state, in deploy order:",
    ]
    for stack in stacks.order:
        chdir = shlex.quote(f"-chdir={stacks.directories[stack]}")
        out += [
            f"  terraform {chdir} init",
            f"  terraform {chdir} state push {shlex.quote(str(files[stack].resolve()))}",
        ]
    return "\n".join(out) + "\n"


def main(argv: Sequence[str]) -> int:
    try:
        args = parse_args(argv)
        state = read_state(args.old_state)
        stacks = environment_stacks(args.outdir, args.environment)
        result = split(state, stacks)
        files = state_files(args.into or args.outdir / "split-state", stacks)
        write_states(state, result, files)
    except Refusal as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    sys.stdout.write(render(args, state, stacks, result, files))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
