"""One environment's outputs, gathered from all of its stacks into one JSON document.

    python tools/outputs.py ENVIRONMENT [--outdir cdktf.out] [--outputs-file FILE]
                            [--show-sensitive] [--output NAME]            (or: make outputs ENV=dev)

An environment is several stacks: ``<project>-<env>-global`` (the table, the API key's secret or the
user pool), one ``<project>-<env>-<region>`` per region, whose outputs are maps keyed by that one
region (``api_urls``, ``lambda_arns``, ...), and ``<project>-<env>-edge`` (the dashboard, the one
``api_url``). This prints them as one document, as a single stack would have: each region-keyed map
merged over the regional stacks (keys in the order of the ``regions`` setting), the other outputs
as they are, output names sorted, indented by 2. Two stacks that disagree on a value are refused.

The values come from ``terraform output -json``, run in each stack's working directory
(``<outdir>/stacks/<stack>``; ``TERRAFORM``, else cdktf's own ``TERRAFORM_BINARY_NAME``, names the
binary), or with ``--outputs-file`` from the file ``cdktf deploy --outputs-file FILE`` wrote:
``{stack: {construct id: value}}``, nested by construct path, the construct ids mapped back to the
output names through the synthesized stack's ``"//"."outputs"``, and sensitive outputs left out
unless the deploy had ``--outputs-file-include-sensitive-outputs``. Both need the synth that was
deployed (``cdktf.out/manifest.json``).

Sensitive outputs (``api_keys``) print as ``"(sensitive: --show-sensitive prints it)"``;
``--output NAME`` prints one output's value alone, for scripts: a string as it is, anything else as
JSON. A stack without outputs (not deployed yet) is a ``note:`` on stderr and is skipped; anything
unusable is one ``error:`` line on stderr with the fix, exit code 2.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: `python tools/outputs.py`
    sys.path.insert(0, str(ROOT))

from constructs_lib.settings import ConfigError, StackConfig, load_settings  # noqa: E402  (plain Python: no CDK)

HIDDEN = "(sensitive: --show-sensitive prints it)"
# Sensitive whatever the source says: cdktf's outputs file carries no sensitivity flag.
SENSITIVE_NAMES = frozenset({"api_keys"})
TERRAFORM_TIMEOUT_SECONDS = 300  # a remote state read; a hung credential helper must not hang the tool


class ToolError(Exception):
    """An unusable input: printed as one ``error:`` line, exit code 2."""


class StateUnreadable(ToolError):
    """terraform output ran and failed, or did not answer: the stack's state could not be read (its
    region down, a backend not initialized); make outputs prints the other stacks all the same."""


@dataclass(frozen=True)
class Output:
    value: Any
    sensitive: bool


@dataclass(frozen=True)
class Stack:
    """A synthesized stack: its name, Terraform working directory and ``cdk.tf.json`` document."""

    name: str
    workdir: Path
    document: dict[str, Any]


Outputs = dict[str, Output]


def environment(name: str) -> StackConfig:
    """The environment's configuration, from settings.json (and CDKTF_CONTEXT_JSON), as main.py reads it."""
    try:
        settings = load_settings(ROOT)
        configs = settings.configs()
    except ConfigError as error:
        raise ToolError(f"invalid configuration: {error}") from None
    for config in configs:
        if config.environment == name:
            return config
    known = ", ".join(c.environment for c in configs)
    raise ToolError(f"unknown environment {name!r}: the settings ({settings.origin()}) configure {known}")


def _json_file(path: Path, fix: str) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ToolError(f"{path} not found: {fix}") from None
    except (OSError, UnicodeDecodeError) as error:
        raise ToolError(f"{path} cannot be read ({error}): {fix}") from None
    except json.JSONDecodeError as error:
        raise ToolError(f"{path} is not valid JSON (line {error.lineno}): {fix}") from None


def synthesized_stacks(outdir: Path, names: Sequence[str]) -> list[Stack]:
    """The named stacks of the synth in ``outdir``, from its manifest, in the order given."""
    if not (outdir / "manifest.json").is_file():
        raise ToolError(f"no synth in {outdir} ({outdir / 'manifest.json'} not found): run make synth first")
    again = "run make synth again"
    manifest = _json_file(outdir / "manifest.json", again)
    stacks = manifest.get("stacks") if isinstance(manifest, dict) else None
    if not isinstance(stacks, dict):
        raise ToolError(f"{outdir / 'manifest.json'} lists no stacks: {again}")
    found = []
    for name in names:
        entry = stacks.get(name)
        if not isinstance(entry, dict):
            raise ToolError(
                f"stack {name} is not in {outdir / 'manifest.json'}: "
                f"that synth is of other settings or older code; {again}"
            )
        workdir = outdir / str(entry.get("workingDirectory", f"stacks/{name}"))
        synthesized = outdir / str(entry.get("synthesizedStackPath", f"stacks/{name}/cdk.tf.json"))
        document = _json_file(synthesized, again)
        if not isinstance(document, dict):
            raise ToolError(f"{synthesized} is not a Terraform JSON document: {again}")
        found.append(Stack(name, workdir, document))
    return found


def _sensitive(stack: Stack, name: str) -> bool:
    declared = stack.document.get("output", {}).get(name, {})
    return name in SENSITIVE_NAMES or (isinstance(declared, dict) and declared.get("sensitive") is True)


# ---- terraform output -json --------------------------------------------------------------------


def terraform_binary() -> str:
    """The terraform to run: ``TERRAFORM``, else the one the cdktf CLI runs (``TERRAFORM_BINARY_NAME``)."""
    return os.environ.get("TERRAFORM") or os.environ.get("TERRAFORM_BINARY_NAME") or "terraform"


def _local_state_missing(stack: Stack) -> bool:
    """True when the stack keeps its state in a local file that does not exist: never deployed. Checked
    before terraform runs because terraform would only ask for ``init`` in a folder a synth recreated."""
    if os.environ.get("TF_WORKSPACE", "default") != "default":
        return False  # another workspace's state is elsewhere (terraform.tfstate.d/): let terraform look
    backend = stack.document.get("terraform", {}).get("backend")
    if backend is not None and not (isinstance(backend, dict) and "local" in backend):
        return False  # remote state: only terraform can tell
    local = backend.get("local") if backend else None
    path = Path(str(local.get("path", "terraform.tfstate")) if isinstance(local, dict) else "terraform.tfstate")
    return not (stack.workdir / path).is_file()  # a relative path is from the working directory


def _terraform_failure(stack: Stack, terraform: str, result: subprocess.CompletedProcess[str]) -> ToolError:
    lines = [line.strip(" │╷╵") for line in result.stderr.splitlines()]
    message = next((line for line in lines if line.startswith("Error:")), None) or next(
        (line for line in reversed(lines) if line), "no message"
    )
    where = f"{terraform} -chdir={stack.workdir}"
    if "terraform init" in message:
        fix = f"run {where} init (cdktf deploy does it), then retry"
    else:
        fix = "fix that and retry, or pass --outputs-file FILE from cdktf deploy --outputs-file FILE"
    return StateUnreadable(f"{stack.name}: {where} output failed (exit {result.returncode}): {message}; {fix}")


def terraform_outputs(stack: Stack, terraform: str) -> Outputs | None:
    """The stack's outputs from ``terraform output -json``; None when it has none (not deployed)."""
    if not stack.workdir.is_dir():
        raise ToolError(f"{stack.name}: {stack.workdir} is missing: run make synth again")
    if _local_state_missing(stack):
        return None
    command = [terraform, f"-chdir={stack.workdir}", "output", "-json", "-no-color"]
    env = {**os.environ, "CHECKPOINT_DISABLE": "1"}  # no update check against HashiCorp per stack
    try:
        result = subprocess.run(
            command,
            capture_output=True,
            text=True,
            env=env,
            stdin=subprocess.DEVNULL,
            timeout=TERRAFORM_TIMEOUT_SECONDS,
        )
    except FileNotFoundError:
        raise ToolError(
            f"{terraform} not found: install Terraform, set TERRAFORM to its path, "
            "or pass --outputs-file FILE from cdktf deploy --outputs-file FILE"
        ) from None
    except (OSError, subprocess.TimeoutExpired) as error:
        raise StateUnreadable(f"{stack.name}: {terraform} output did not run ({error})") from None
    if result.returncode != 0:
        raise _terraform_failure(stack, terraform, result)
    try:
        raw = json.loads(result.stdout)
    except json.JSONDecodeError:
        raise ToolError(f"{stack.name}: {terraform} output -json printed no JSON: {result.stdout[:80]!r}") from None
    if not isinstance(raw, dict) or not all(isinstance(v, dict) and "value" in v for v in raw.values()):
        raise ToolError(f"{stack.name}: {terraform} output -json printed no outputs object")
    outputs = {
        name: Output(o["value"], o.get("sensitive") is True or _sensitive(stack, name)) for name, o in raw.items()
    }
    return outputs or None  # {}: initialized, but nothing applied yet


# ---- cdktf deploy --outputs-file ----------------------------------------------------------------


def _output_ids(mapping: Mapping[str, Any], path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], str]]:
    """(construct path, output name) of each output in a stack's ``"//"."outputs"`` metadata."""
    for key, value in mapping.items():
        if isinstance(value, str):
            yield (*path, key), value
        elif isinstance(value, Mapping):
            yield from _output_ids(value, (*path, key))


def file_outputs(document: Mapping[str, Any], stack: Stack) -> tuple[Outputs | None, list[str]]:
    """The stack's outputs in a cdktf outputs file (None: the stack is not in it), and the names of
    its sensitive outputs the file leaves out."""
    # cdktf writes each output under its construct path, the stack's id first; the synth's metadata
    # maps each path to the output's name. Without metadata (cdktf < 0.15) the names are the keys.
    mapping = stack.document.get("//", {}).get("outputs")
    if isinstance(mapping, dict):
        ids = list(_output_ids(mapping))
    else:
        entry = document.get(stack.name)
        ids = [((stack.name, name), name) for name in entry] if isinstance(entry, dict) else []
    if not any(path[0] in document for path, _ in ids):
        return None, []
    found: Outputs = {}
    withheld = []
    for path, name in ids:
        value: Any = document
        for key in path:
            value = value.get(key, KeyError) if isinstance(value, dict) else KeyError
        if value is not KeyError:
            found[name] = Output(value, _sensitive(stack, name))
        elif _sensitive(stack, name):
            withheld.append(name)  # left out by cdktf unless --outputs-file-include-sensitive-outputs
    return found or None, withheld


def read_outputs_file(path: Path) -> dict[str, Any]:
    document = _json_file(path, "pass the file cdktf deploy --outputs-file wrote")
    if not isinstance(document, dict):
        raise ToolError(f"{path} is not a cdktf outputs file (an object of stack name to outputs)")
    return document


# ---- merge and print ----------------------------------------------------------------------------


def _disagreement(
    name: str, key: str | None, stacks: tuple[str, str], values: tuple[Any, Any], sensitive: bool
) -> ToolError:
    shown = ["(sensitive)" if sensitive else json.dumps(value)[:80] for value in values]  # never print a key
    on = f" on {key}" if key is not None else ""
    return ToolError(
        f"output {name}: {stacks[0]} and {stacks[1]} disagree{on} ({shown[0]} vs {shown[1]}): "
        "deploy the environment's stacks from one synth"
    )


def _merge_one(name: str, before: Output | None, output: Output, stack: str, givers: dict[str | None, str]) -> Output:
    """``output`` of ``stack`` added to what the stacks before it gave; ``givers``: the stack that
    gave each map key first, and (under None) the output itself."""
    sensitive = output.sensitive or (before is not None and before.sensitive)
    givers.setdefault(None, stack)
    if isinstance(output.value, dict) and (before is None or isinstance(before.value, dict)):
        previous: dict[str, Any] = before.value if before is not None else {}
        for key, value in output.value.items():
            if key in previous and previous[key] != value:
                raise _disagreement(name, key, (stack, givers[key]), (value, previous[key]), sensitive)
            givers.setdefault(key, stack)
        return Output({**previous, **output.value}, sensitive)
    if before is not None and before.value != output.value:
        raise _disagreement(name, None, (stack, givers[None]), (output.value, before.value), sensitive)
    return Output(output.value, sensitive)


def merge(found: Sequence[tuple[str, Outputs]]) -> Outputs:
    """One output per name over the stacks, in the order given: maps are united key by key (a key
    given twice must have one value), anything else must be the same in each stack that has it."""
    merged: Outputs = {}
    givers: dict[str, dict[str | None, str]] = {}
    for stack, outputs in found:
        for name, output in outputs.items():
            merged[name] = _merge_one(name, merged.get(name), output, stack, givers.setdefault(name, {}))
    return merged


def _ordered(value: Any, regions: Sequence[str]) -> Any:
    """A map's keys in the order of the ``regions`` setting, any other keys after them, sorted."""
    if not isinstance(value, dict):
        return value
    rank = {region: index for index, region in enumerate(regions)}
    return {key: value[key] for key in sorted(value, key=lambda k: (rank.get(k, len(rank)), k))}


def render(merged: Outputs, regions: Sequence[str], *, show_sensitive: bool) -> dict[str, Any]:
    """The document to print: names sorted, region maps in region order, sensitive values hidden."""
    return {
        name: HIDDEN if merged[name].sensitive and not show_sensitive else _ordered(merged[name].value, regions)
        for name in sorted(merged)
    }


def _missing_hint(name: str, config: StackConfig, withheld: Sequence[str]) -> str:
    """Why an asked output may be missing: withheld from an outputs file, or (``api_url``, the one
    address) an environment without a custom domain."""
    if name in withheld:
        return " (cdktf deploy writes it only with --outputs-file-include-sensitive-outputs)"
    if name == "api_url" and config.domain_name is None:
        return (
            f" (only with a custom domain, domain_name, which {config.environment} has not; "
            "each region's address is in api_urls)"
        )
    return ""


def one_output(
    merged: Outputs, name: str, config: StackConfig, *, show_sensitive: bool, withheld: Sequence[str]
) -> str:
    """``--output NAME``: a string as it is (for ``$(...)``), anything else as JSON."""
    if name not in merged:
        known = ", ".join(sorted(merged)) or "none (nothing is deployed)"
        raise ToolError(
            f"no output {name!r}{_missing_hint(name, config, withheld)}; the environment's outputs: {known}"
        )
    if merged[name].sensitive and not show_sensitive:
        # A script would take the placeholder for the value: refuse instead.
        raise ToolError(f"output {name} is sensitive: add --show-sensitive (make outputs ... SHOW_SENSITIVE=1)")
    value = _ordered(merged[name].value, config.regions)
    return value if isinstance(value, str) else json.dumps(value, indent=2)


def add_source_arguments(parser: argparse.ArgumentParser) -> None:
    """ENVIRONMENT, and where its outputs come from: ``--outdir``, ``--outputs-file`` (also tools/verify.py's)."""
    parser.add_argument("environment", metavar="ENVIRONMENT", help="an environment of settings.json, e.g. dev")
    parser.add_argument(
        "--outdir",
        type=Path,
        default=Path(os.environ.get("CDKTF_OUTDIR") or "cdktf.out"),
        help="the synth that was deployed (default: $CDKTF_OUTDIR or cdktf.out)",
    )
    parser.add_argument(
        "--outputs-file", type=Path, help="read the file cdktf deploy --outputs-file wrote, not terraform"
    )


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="tools/outputs.py", description="An environment's outputs over all of its stacks, as one JSON document."
    )
    add_source_arguments(parser)
    parser.add_argument("--show-sensitive", action="store_true", help="print sensitive outputs (the API keys)")
    parser.add_argument("--output", metavar="NAME", help="print only this output's value (a string unquoted)")
    return parser.parse_args(argv)


def gather(
    config: StackConfig,
    args: argparse.Namespace,
    names: Sequence[str] | None = None,
    unreadable: list[str] | None = None,
) -> tuple[list[tuple[str, Outputs]], list[str]]:
    """Each deployed stack's outputs (of the stacks ``names``, default all of the environment's), in
    deploy order, and the sensitive names an outputs file left out; a stack without outputs is a
    note on stderr. With ``unreadable`` (a list), a stack whose state cannot be read (its region
    down) is an error line on stderr and its name appended there, the others read all the same;
    without it, the first such stack raises, unless every stack failed."""
    stacks = synthesized_stacks(args.outdir, config.stack_names if names is None else names)
    withheld: list[str] = []
    if args.outputs_file is not None:
        document = read_outputs_file(args.outputs_file)
        results = []
        for stack in stacks:
            outputs, left_out = file_outputs(document, stack)
            results.append(outputs)
            withheld += left_out
    else:
        results = _read_states(stacks, unreadable)
    found = []
    for stack, outputs in zip(stacks, results, strict=True):
        if outputs is None and stack.name in (unreadable or ()):
            continue  # said already
        if outputs is None:
            print(f"note: {stack.name}: not deployed (no outputs)", file=sys.stderr)
        else:
            found.append((stack.name, outputs))
    for name in sorted(set(withheld)) if args.show_sensitive and args.output is None else ():
        print(
            f"note: {name}: not in {args.outputs_file} (cdktf deploy writes sensitive outputs there only "
            "with --outputs-file-include-sensitive-outputs)",
            file=sys.stderr,
        )
    return found, withheld


def _read_states(stacks: Sequence[Stack], unreadable: list[str] | None) -> list[Outputs | None]:
    """Each stack's outputs from its state, read in parallel (each may be a remote state)."""
    terraform = terraform_binary()
    with ThreadPoolExecutor(max_workers=len(stacks)) as pool:
        futures = [pool.submit(terraform_outputs, stack, terraform) for stack in stacks]
        errors = [future.exception() for future in futures]
    failed = [error for error in errors if error is not None]
    if not failed:
        return [future.result() for future in futures]
    if unreadable is None or len(failed) == len(stacks) or not all(isinstance(e, StateUnreadable) for e in failed):
        raise failed[0]  # the first in deploy order
    results: list[Outputs | None] = []
    for stack, future, error in zip(stacks, futures, errors, strict=True):
        if error is not None:
            print(f"error: {error}", file=sys.stderr)
            unreadable.append(stack.name)
        results.append(None if error is not None else future.result())
    return results


def main(argv: Sequence[str] = ()) -> int:
    """Print the environment's outputs (or one of them); 2 and one error line for unusable input;
    1 when some stacks' states could not be read (what the others hold is printed: a region's outage
    must not hide the healthy regions' addresses)."""
    args = parse_args(argv)
    unreadable: list[str] = []
    try:
        config = environment(args.environment)
        found, withheld = gather(config, args, unreadable=unreadable)
        merged = merge(found)
        if args.output is not None and args.output not in merged and unreadable:
            print(f"error: no output {args.output!r} read: it may be in {', '.join(unreadable)}", file=sys.stderr)
            return 1
        if args.output is not None:
            text = one_output(merged, args.output, config, show_sensitive=args.show_sensitive, withheld=withheld)
        else:
            text = json.dumps(render(merged, config.regions, show_sensitive=args.show_sensitive), indent=2)
    except ToolError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    try:
        print(text)
        sys.stdout.flush()
    except BrokenPipeError:  # `... | head -1`: the reader has what it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    if unreadable:
        print(f"error: not read, so left out above: {', '.join(unreadable)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except KeyboardInterrupt:
        sys.exit(130)
