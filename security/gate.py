"""Security gate: checkov over the synthesized Terraform JSON, less the accepted findings.

    python -m security.gate [STACK_DIR ...]      # default: every stack in cdktf.out/manifest.json

Exit status: 0 when every failed check is accepted, 1 when the gate fails (an open finding, a stale
accepted entry, a scan that parsed too little), 2 when it cannot give a verdict (checkov missing
or crashed, report unreadable, invalid accepted list).

How it works, and the scanner's traps it works around:

* Each stack's ``cdk.tf.json`` is copied to a temporary directory, and in the copy only, the
  ``terraform.required_version`` key is removed (with it checkov parses nothing, reports zero
  checks and exits 0) and every JSON null is dropped (nulls can hide findings). Nothing else
  changes; the originals are never touched.
* checkov runs once for all stacks (its start-up is most of the cost), with the ``checkov`` of
  this Python (``sys.executable -m checkov.main``), no network, and no configuration from the
  environment: ``CKV_*``/``BC_*``/``CHECKOV_*``/``PRISMA_*`` variables are dropped and ``HOME`` and
  the working directory are the temporary directory, so no ``.checkov.yaml`` can skip checks.
* checkov names most findings ``resource.NAME`` or ``data.NAME``, graph checks (``CKV2_*``)
  ``TYPE.NAME``: every finding is mapped back to its Terraform address from the stack's JSON
  (``TYPE.NAME`` for resources, ``data.TYPE.NAME`` for data sources, ``provider.aws.ALIAS`` for
  providers). A name found under two types is resolved by the line range checkov reports.
* A scan that parsed nothing must not pass: a stack with no resources in its JSON, a stack with no
  result at all, fewer passed checks than half its resources, a parsing error or a skipped check
  fail the gate.
* JSON has no inline suppressions: accepted findings live in ``security/accepted_findings.toml``
  (check id, a glob on the address, optionally a glob on the stack, and a reason). An accepted
  entry that matches no finding is stale and fails the gate too.

The matching (``evaluate``) is separate from running checkov (``scan``) so it can be tested
without the scanner.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from pathlib import Path, PurePosixPath
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_STACKS_DIR = ROOT / "cdktf.out" / "stacks"
DEFAULT_ACCEPTED = ROOT / "security" / "accepted_findings.toml"
STACK_FILE = "cdk.tf.json"
DEFAULT_TIMEOUT_S = 600.0
# A real scan passes several checks per resource; fewer than this many passed checks per resource
# in the JSON means checkov parsed only part of the stack.
MIN_PASSED_PER_RESOURCE = 0.5
# Environment variables that configure checkov (check selection, skips, API, ...): never inherited.
_CHECKOV_ENV_PREFIXES = ("CKV_", "BC_", "CHECKOV_", "PRISMA_")

EXIT_PASS, EXIT_FAIL, EXIT_ERROR = 0, 1, 2


class GateError(Exception):
    """The gate cannot give a verdict: checkov not runnable, report unreadable, bad input."""


class AcceptedListError(GateError):
    """The accepted-findings file is invalid."""


# ---------------------------------------------------------------------------------------------
# Data


@dataclass(frozen=True)
class Finding:
    """One failed check on one Terraform address of one stack."""

    check_id: str
    address: str
    stack: str
    check_name: str = ""

    def __str__(self) -> str:
        return f"{self.check_id} {self.address} ({self.stack}): {self.check_name}"


@dataclass(frozen=True)
class Accepted:
    """An accepted finding: ``check`` equal, ``resource`` and ``stack`` globs on address and stack."""

    check: str
    resource: str
    reason: str
    stack: str = "*"

    def matches(self, finding: Finding) -> bool:
        return (
            self.check == finding.check_id
            and fnmatchcase(finding.address, self.resource)
            and fnmatchcase(finding.stack, self.stack)
        )

    def __str__(self) -> str:
        return f"{self.check} {self.resource} (stack {self.stack}): {self.reason}"


@dataclass
class StackScan:
    """What the scan saw of one stack."""

    name: str
    resources: int  # resource blocks in the stack's JSON
    data_sources: int = 0
    passed: int = 0
    skipped: int = 0
    failed: list[Finding] = field(default_factory=list)
    addresses: set[str] = field(default_factory=set)  # every address with a passed or failed check
    parse_error: bool = False


@dataclass
class Report:
    """A scan of one or more stacks, before the accepted findings are applied."""

    stacks: dict[str, StackScan]
    errors: list[str] = field(default_factory=list)  # results the gate could not attribute or map
    checkov_version: str | None = None
    seconds: float = 0.0


@dataclass
class Result:
    """The verdict: what is open, what was accepted, which entries are stale, what went wrong."""

    open: list[Finding]
    accepted: list[tuple[Finding, Accepted]]
    stale: list[Accepted]
    problems: list[str]

    @property
    def ok(self) -> bool:
        return not (self.open or self.stale or self.problems)


# ---------------------------------------------------------------------------------------------
# Accepted findings


_ENTRY_KEYS = {"check", "resource", "reason", "stack"}


def load_accepted(path: Path | str = DEFAULT_ACCEPTED) -> list[Accepted]:
    """Read and validate the accepted-findings TOML file (a missing ``accepted`` key is no entry)."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise AcceptedListError(f"{path}: cannot read: {exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise AcceptedListError(f"{path}: invalid TOML: {exc}") from exc
    return parse_accepted(data, source=str(path))


def parse_accepted(data: Mapping[str, Any], source: str = "accepted findings") -> list[Accepted]:
    unknown = set(data) - {"accepted"}
    if unknown:
        raise AcceptedListError(f"{source}: unknown top-level keys {sorted(unknown)} (expected [[accepted]])")
    entries = data.get("accepted", [])
    if not isinstance(entries, list):
        raise AcceptedListError(f"{source}: 'accepted' must be a list of [[accepted]] tables")
    result: list[Accepted] = []
    for number, entry in enumerate(entries, 1):
        where = f"{source}: entry {number}"
        if not isinstance(entry, dict):
            raise AcceptedListError(f"{where}: must be a table")
        extra = set(entry) - _ENTRY_KEYS
        if extra:
            raise AcceptedListError(f"{where}: unknown keys {sorted(extra)} (allowed: {sorted(_ENTRY_KEYS)})")
        values: dict[str, str] = {}
        for key in ("check", "resource", "reason", "stack"):
            value = entry.get(key, "*" if key == "stack" else None)
            if not isinstance(value, str) or not value.strip():
                raise AcceptedListError(f"{where}: '{key}' must be a non-empty string, got {value!r}")
            values[key] = value.strip()
        accepted = Accepted(**values)
        if any((a.check, a.resource, a.stack) == (accepted.check, accepted.resource, accepted.stack) for a in result):
            raise AcceptedListError(f"{where}: duplicate of an earlier entry ({accepted.check} {accepted.resource})")
        result.append(accepted)
    return result


# ---------------------------------------------------------------------------------------------
# Preparing the copies


def strip_nulls(value: Any) -> Any:
    """``value`` without any JSON null, at any depth (null object members and list items)."""
    if isinstance(value, dict):
        return {k: strip_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [strip_nulls(v) for v in value if v is not None]
    return value


def prepare(stack: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of a stack's JSON that checkov reads fully: no ``required_version``, no nulls."""
    prepared = strip_nulls(dict(stack))
    terraform = prepared.get("terraform")
    if isinstance(terraform, dict):
        terraform.pop("required_version", None)
    return prepared


def render(stack: Mapping[str, Any]) -> str:
    """The text the gate writes for checkov (``line_index`` relies on this exact layout)."""
    return json.dumps(stack, indent=2) + "\n"


def prepare_copy(stack_dir: Path, dest_dir: Path) -> dict[str, Any]:
    """Write the prepared copy of ``stack_dir/cdk.tf.json`` to ``dest_dir``; return its JSON."""
    source = Path(stack_dir) / STACK_FILE
    try:
        stack = json.loads(source.read_text(encoding="utf-8"))
    except OSError as exc:
        raise GateError(f"{source}: cannot read: {exc}") from exc
    except json.JSONDecodeError as exc:
        raise GateError(f"{source}: invalid JSON: {exc}") from exc
    if not isinstance(stack, dict):
        raise GateError(f"{source}: not a Terraform JSON object")
    prepared = prepare(stack)
    dest_dir.mkdir(parents=True, exist_ok=True)
    (dest_dir / STACK_FILE).write_text(render(prepared), encoding="utf-8")
    return prepared


# ---------------------------------------------------------------------------------------------
# Mapping checkov's names to Terraform addresses


_KEY_LINE = re.compile(r'^(?P<indent> *)(?P<key>"(?:[^"\\]|\\.)*"): (?:\{|\[|\{\}|\[\])$')


def line_index(stack: Mapping[str, Any]) -> dict[int, str]:
    """Start line (1-based, in ``render(stack)``) of each resource, data source and provider block
    -> its Terraform address. checkov's ``file_line_range`` starts on these lines."""
    index: dict[int, str] = {}
    block: str | None = None
    kind: str | None = None
    provider_number = 0
    for number, line in enumerate(render(stack).splitlines(), 1):
        indent = len(line) - len(line.lstrip(" "))
        match = _KEY_LINE.match(line)
        if match:
            key = json.loads(match["key"])
            if indent == 2:
                block, kind = key, None
            elif indent == 4:
                kind, provider_number = key, 0
                if (
                    block == "provider"
                    and isinstance(stack.get("provider"), dict)
                    and isinstance(stack["provider"].get(key), dict)
                ):
                    index[number] = f"provider.{key}"
            elif indent == 6 and kind is not None and block in ("resource", "data"):
                index[number] = f"{kind}.{key}" if block == "resource" else f"data.{kind}.{key}"
        elif indent == 6 and block == "provider" and kind is not None and line.strip() in ("{", "{},", "{}"):
            providers = stack.get("provider")
            configs = providers.get(kind) if isinstance(providers, dict) else None
            alias = None
            if (
                isinstance(configs, list)
                and provider_number < len(configs)
                and isinstance(configs[provider_number], dict)
            ):
                alias = configs[provider_number].get("alias")
            index[number] = f"provider.{kind}.{alias}" if alias else f"provider.{kind}"
            provider_number += 1
    return index


def resolve_address(
    name: str,
    stack: Mapping[str, Any],
    start_line: int | None = None,
    lines: Mapping[int, str] | None = None,
) -> str | None:
    """The Terraform address of a resource as checkov names it, or None if it cannot be mapped.

    ``resource.NAME`` -> ``TYPE.NAME``; ``data.NAME`` -> ``data.TYPE.NAME``; ``TYPE.NAME`` (graph
    checks) -> ``TYPE.NAME`` or ``data.TYPE.NAME``; ``provider.aws`` -> ``provider.aws.ALIAS``.
    """
    head, _, rest = name.partition(".")
    if not rest:
        return None
    by_line = lines.get(start_line) if (lines is not None and start_line is not None) else None
    if head == "provider":
        if by_line and (by_line == name or by_line.startswith(name + ".")):
            return by_line
        return name if rest in stack.get("provider", {}) else None
    if head in ("resource", "data"):
        types = stack.get(head, {})
        prefix = "" if head == "resource" else "data."
        candidates = [
            f"{prefix}{kind}.{rest}" for kind, named in types.items() if isinstance(named, dict) and rest in named
        ]
    else:
        candidates = []
        if rest in stack.get("resource", {}).get(head, {}):
            candidates.append(f"{head}.{rest}")
        if rest in stack.get("data", {}).get(head, {}):
            candidates.append(f"data.{head}.{rest}")
    if len(candidates) == 1:
        return candidates[0]
    if by_line in candidates:
        return by_line
    return None


def count_blocks(stack: Mapping[str, Any], block: str) -> int:
    return sum(len(named) for named in stack.get(block, {}).values() if isinstance(named, dict))


# ---------------------------------------------------------------------------------------------
# Parsing checkov's report


def _check_type_reports(raw: Any) -> list[dict[str, Any]]:
    """The per-framework reports in checkov's JSON output (a dict, a list of them, or a bare
    summary when nothing was scanned)."""
    items = raw if isinstance(raw, list) else [raw]
    reports: list[dict[str, Any]] = []
    for item in items:
        if not isinstance(item, dict):
            raise GateError(f"unrecognised checkov report: expected objects, got {type(item).__name__}")
        if "results" in item:
            if not isinstance(item["results"], dict):
                raise GateError("unrecognised checkov report: 'results' is not an object")
            reports.append(item)
        elif {"passed", "failed"} <= set(item):
            continue  # a bare summary: checkov found nothing to scan
        else:
            raise GateError(f"unrecognised checkov report: keys {sorted(item)[:8]}")
    return reports


def _stack_of(result: Mapping[str, Any], known: Iterable[str]) -> str | None:
    known = set(known)
    for key in ("file_path", "file_abs_path", "repo_file_path"):
        value = result.get(key)
        if isinstance(value, str):
            parts = PurePosixPath(value.replace("\\", "/")).parts
            if len(parts) >= 2 and parts[-1] == STACK_FILE and parts[-2] in known:
                return parts[-2]
    return None


def parse_report(raw: Any, stacks: Mapping[str, Mapping[str, Any]]) -> Report:
    """A ``Report`` from checkov's JSON output and each stack's (prepared) JSON, keyed by name."""
    report = Report(
        stacks={
            name: StackScan(name, resources=count_blocks(stack, "resource"), data_sources=count_blocks(stack, "data"))
            for name, stack in stacks.items()
        }
    )
    indexes = {name: line_index(stack) for name, stack in stacks.items()}
    for part in _check_type_reports(raw):
        if part.get("check_type") not in (None, "terraform_json"):
            raise GateError(f"unexpected checkov framework in report: {part.get('check_type')!r}")
        summary = part.get("summary")
        if isinstance(summary, dict) and summary.get("checkov_version"):
            report.checkov_version = str(summary["checkov_version"])
        results = part["results"]
        for error in results.get("parsing_errors") or []:
            name = _stack_of({"file_path": error}, stacks) if isinstance(error, str) else None
            if name:
                report.stacks[name].parse_error = True
            else:
                report.errors.append(f"checkov could not parse {error}")
        for kind in ("passed_checks", "failed_checks", "skipped_checks"):
            entries = results.get(kind) or []
            if not isinstance(entries, list):
                raise GateError(f"unrecognised checkov report: '{kind}' is not a list")
            for entry in entries:
                if not isinstance(entry, dict) or not isinstance(entry.get("check_id"), str):
                    raise GateError(f"unrecognised checkov result in '{kind}': {str(entry)[:200]}")
                name = _stack_of(entry, stacks)
                if name is None:
                    report.errors.append(
                        f"{entry['check_id']} on {entry.get('resource')!r}: result for a file that is not a"
                        f" scanned stack ({entry.get('file_path')!r})"
                    )
                    continue
                scan = report.stacks[name]
                line_range = entry.get("file_line_range")
                start = line_range[0] if isinstance(line_range, list) and line_range else None
                address = resolve_address(str(entry.get("resource", "")), stacks[name], start, indexes[name])
                if address is None:
                    report.errors.append(
                        f"{entry['check_id']} ({name}): cannot map checkov's {entry.get('resource')!r} to a"
                        " Terraform address in the stack's JSON"
                    )
                    address = str(entry.get("resource", "?"))
                scan.addresses.add(address)
                if kind == "passed_checks":
                    scan.passed += 1
                elif kind == "skipped_checks":
                    scan.skipped += 1
                else:
                    scan.failed.append(Finding(entry["check_id"], address, name, str(entry.get("check_name") or "")))
    return report


# ---------------------------------------------------------------------------------------------
# Running checkov


def checkov_command() -> list[str]:
    """checkov of this very Python (the pinned one in the venv)."""
    return [sys.executable, "-W", "ignore", "-m", "checkov.main"]


def checkov_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(_CHECKOV_ENV_PREFIXES)}
    env.update(HOME=str(home), CKV_SKIP_PACKAGE_UPDATE_CHECK="true", LOG_LEVEL="WARNING", PYTHONDONTWRITEBYTECODE="1")
    return env


def run_checkov(
    scan_dir: Path,
    *,
    workdir: Path,
    timeout: float = DEFAULT_TIMEOUT_S,
    command: Sequence[str] | None = None,
) -> Any:
    """Run checkov once over ``scan_dir``; return its parsed JSON report."""
    if command is None:
        if importlib.util.find_spec("checkov") is None:
            raise GateError(
                f"checkov is not installed for {sys.executable}: pip install -r requirements-dev.txt -c constraints.txt"
            )
        command = checkov_command()
    argv = [
        *command,
        "--directory", str(scan_dir),
        "--framework", "terraform_json",
        "--skip-download",
        "--output", "json",
        "--compact",
    ]  # fmt: skip
    workdir.mkdir(parents=True, exist_ok=True)
    try:
        proc = subprocess.run(
            argv, cwd=workdir, env=checkov_env(workdir), capture_output=True, text=True, timeout=timeout, check=False
        )
    except FileNotFoundError as exc:
        raise GateError(f"checkov is not runnable: {exc}") from exc
    except subprocess.TimeoutExpired as exc:
        raise GateError(f"checkov did not finish within {timeout:g} s") from exc
    stderr_tail = "\n".join(proc.stderr.strip().splitlines()[-15:])
    # 0: no failed check, 1: failed checks; anything else is a crash or a usage error.
    if proc.returncode not in (0, 1):
        raise GateError(f"checkov exited with status {proc.returncode}:\n{stderr_tail}")
    try:
        return json.loads(proc.stdout)
    except json.JSONDecodeError as exc:
        raise GateError(
            f"checkov's report is not JSON ({exc}); output starts {proc.stdout[:200]!r}\n{stderr_tail}"
        ) from exc


def stack_dirs_under(stacks_dir: Path = DEFAULT_STACKS_DIR) -> list[Path]:
    """The stacks the last synth wrote, as its manifest lists them: a folder left by a stack that is
    no longer configured is not scanned."""
    manifest = stacks_dir.parent / "manifest.json"
    if not stacks_dir.is_dir() or not manifest.is_file():
        raise GateError(f"{stacks_dir}: no synthesized stacks (run `make synth` first)")
    try:
        names = sorted(json.loads(manifest.read_text())["stacks"])
    except (ValueError, KeyError, TypeError) as exc:
        raise GateError(f"{manifest}: not a cdktf manifest ({exc})") from None
    dirs = [stacks_dir / name for name in names]
    missing = [d.name for d in dirs if not (d / "cdk.tf.json").is_file()]
    if not dirs or missing:
        raise GateError(f"{stacks_dir}: the manifest's stacks {missing or names} are missing (run `make synth` again)")
    return dirs


def scan(
    stack_dirs: Iterable[Path | str], *, timeout: float = DEFAULT_TIMEOUT_S, command: Sequence[str] | None = None
) -> Report:
    """Prepare a copy of each stack, run checkov once over all of them, and parse its report."""
    dirs = [Path(d) for d in stack_dirs]
    if not dirs:
        raise GateError("no stack directories to scan")
    names = [d.name for d in dirs]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise GateError(f"two stack directories with the same name: {duplicates}")
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="security-gate-") as tmp:
        scan_dir = Path(tmp) / "stacks"
        prepared = {d.name: prepare_copy(d, scan_dir / d.name) for d in dirs}
        raw = run_checkov(scan_dir, workdir=Path(tmp) / "work", timeout=timeout, command=command)
    report = parse_report(raw, prepared)
    report.seconds = time.monotonic() - started
    return report


# ---------------------------------------------------------------------------------------------
# The verdict


def coverage_problems(report: Report, min_passed_per_resource: float = MIN_PASSED_PER_RESOURCE) -> list[str]:
    """Reasons to distrust the scan: a gate that cannot fail is worse than none."""
    if not report.stacks:
        return ["no stack was scanned"]
    problems: list[str] = []
    for name, stack in sorted(report.stacks.items()):
        if stack.parse_error:
            problems.append(f"{name}: checkov could not parse the stack's JSON")
        if stack.resources == 0:
            problems.append(f"{name}: no resources in {STACK_FILE}: nothing to scan")
            continue
        if not stack.addresses:
            problems.append(
                f"{name}: checkov parsed nothing: no resource of the stack appears in its results"
                f" ({stack.resources} resources in the JSON)"
            )
        elif stack.passed < stack.resources * min_passed_per_resource:
            problems.append(
                f"{name}: only {stack.passed} checks passed for {stack.resources} resources:"
                " checkov parsed too little of the stack"
            )
        if stack.skipped:
            problems.append(
                f"{name}: checkov skipped {stack.skipped} checks: suppressions belong in accepted_findings.toml"
            )
    return problems


def evaluate(
    report: Report, accepted: Sequence[Accepted], *, complete: bool = True, present_only: bool = False
) -> Result:
    """Apply the accepted findings to a report.

    A failed check is accepted when an entry has the same check id and its globs match the
    address and the stack. An entry that matches no finding is stale. With ``complete=False``
    (a subset of the stacks was scanned), entries whose stack glob matches no scanned stack are
    not judged stale. With ``present_only`` (one configuration's stacks, which may not use every
    feature: no domain, no Cognito), an entry is judged stale only where a resource it names was
    scanned; the suite, which scans every kind of stack, judges every entry.
    """
    open_findings: list[Finding] = []
    accepted_findings: list[tuple[Finding, Accepted]] = []
    used: set[int] = set()
    for name in sorted(report.stacks):
        for finding in sorted(report.stacks[name].failed, key=lambda f: (f.check_id, f.address)):
            matching = [i for i, entry in enumerate(accepted) if entry.matches(finding)]
            if matching:
                used.update(matching)
                accepted_findings.append((finding, accepted[matching[0]]))
            else:
                open_findings.append(finding)
    stale = [
        entry
        for i, entry in enumerate(accepted)
        if i not in used
        and (complete or any(fnmatchcase(name, entry.stack) for name in report.stacks))
        and (not present_only or _names_a_scanned_resource(report, entry))
    ]
    return Result(
        open=open_findings,
        accepted=accepted_findings,
        stale=stale,
        problems=[*report.errors, *coverage_problems(report)],
    )


def _names_a_scanned_resource(report: Report, entry: Accepted) -> bool:
    return any(
        fnmatchcase(address, entry.resource)
        for name, stack in report.stacks.items()
        if fnmatchcase(name, entry.stack)
        for address in stack.addresses
    )


def format_result(report: Report, result: Result) -> str:
    accepted_per_stack: dict[str, int] = {}
    for finding, _ in result.accepted:
        accepted_per_stack[finding.stack] = accepted_per_stack.get(finding.stack, 0) + 1
    width = max([len("stack"), *(len(n) for n in report.stacks)])
    version = f"checkov {report.checkov_version}" if report.checkov_version else "checkov"
    lines = [
        f"security gate: {version}, {len(report.stacks)} stack(s), {report.seconds:.1f} s",
        f"  {'stack':<{width}}  resources  passed  failed  accepted",
    ]
    for name, stack in sorted(report.stacks.items()):
        lines.append(
            f"  {name:<{width}}  {stack.resources:>9}  {stack.passed:>6}  {len(stack.failed):>6}"
            f"  {accepted_per_stack.get(name, 0):>8}"
        )
    if result.open:
        lines.append(f"open findings ({len(result.open)}):")
        lines += [f"  {finding}" for finding in result.open]
    if result.stale:
        lines.append(f"stale accepted entries, matching no finding ({len(result.stale)}):")
        lines += [f"  {entry}" for entry in result.stale]
    if result.problems:
        lines.append(f"problems ({len(result.problems)}):")
        lines += [f"  {problem}" for problem in result.problems]
    if result.ok:
        lines.append(f"PASSED ({len(result.accepted)} accepted findings)")
    else:
        lines.append(
            f"FAILED: {len(result.open)} open findings, {len(result.stale)} stale accepted entries,"
            f" {len(result.problems)} problems"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m security.gate", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "stack_dirs",
        nargs="*",
        type=Path,
        metavar="STACK_DIR",
        help=f"default: every stack in {DEFAULT_STACKS_DIR.parent / 'manifest.json'}",
    )
    parser.add_argument("--accepted", type=Path, default=DEFAULT_ACCEPTED, help="accepted-findings TOML file")
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT_S, help="seconds checkov may take")
    args = parser.parse_args(argv)
    try:
        accepted = load_accepted(args.accepted)
        dirs = args.stack_dirs or stack_dirs_under()
        report = scan(dirs, timeout=args.timeout)
    except GateError as exc:
        print(f"security gate: ERROR: {exc}", file=sys.stderr)
        return EXIT_ERROR
    # The stacks of this project's own configuration: an entry for a feature it does not use
    # (a domain, Cognito) is not stale here; the test suite judges every entry over every kind.
    result = evaluate(report, accepted, complete=not args.stack_dirs, present_only=True)
    print(format_result(report, result))
    return EXIT_PASS if result.ok else EXIT_FAIL


if __name__ == "__main__":
    sys.exit(main())
