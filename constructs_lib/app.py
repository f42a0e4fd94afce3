"""Wires the app: configuration first (cheap, may refuse), then the CDK (expensive), then synth."""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import __version__
from .blocks.rules import CONSTRAINED_ZONE_IDS
from .cdk.engine import PROJECT_DIR as PROJECT_DIR  # re-exported: tools, benchmarks and tests read it here
from .cdk.engine import EngineError
from .cdk.engine import current as current_engine
from .settings import ConfigError, Settings, StackConfig, load_settings

if TYPE_CHECKING:  # the CDK loads only once the configuration is known to be valid
    from .cdk.core import App

TARGET_VERSIONS = {"terraform": ">=1.11.0", "opentofu": ">=1.11.0"}
LAMBDA_SRC = PROJECT_DIR / "lambda_src"


def build_app(
    configs: Sequence[StackConfig],
    *,
    outdir: str | None = None,
    source_dir: Path = LAMBDA_SRC,
    with_bootstrap: bool = True,
    cdktf_flags: Mapping[str, Any] | None = None,
) -> App:
    """An App with each environment's stacks (global, one per region, edge) and the bootstrap stack;
    ``cdktf_flags`` are cdktf's own context flags from the settings. Nothing is written until
    ``app.synth()``."""
    from .cdk.core import App
    from .stacks.bootstrap import BootstrapConfig, BootstrapStack
    from .stacks.environment import environment_stacks

    # The Terraform (and OpenTofu) releases the JSON is for: write-only arguments need 1.11, and
    # CDK Terrain refuses them for a project that targets older ones (cdktf ignores the key).
    context = {"targetVersions": dict(TARGET_VERSIONS), **(cdktf_flags or {})}
    app = App(outdir=outdir, context=context) if outdir else App(context=context)
    for config in configs:
        environment_stacks(app, config, source_dir=source_dir)
    if with_bootstrap:
        BootstrapStack(app, BootstrapConfig.from_stacks(configs))
    return app


def synthesized_stacks(outdir: Path) -> list[str]:
    """The stacks the last synth wrote, from its manifest (not whatever folders are in ``outdir``)."""
    return sorted(json.loads((outdir / "manifest.json").read_text())["stacks"])


def remove_stale_stacks(outdir: Path) -> list[str]:
    """Remove the folders of stacks that are no longer configured, as the cdktf CLI does after its
    own synth; a folder that holds a Terraform state file is kept, with a warning. Returns what was
    removed."""
    stacks_dir = outdir / "stacks"
    current = set(synthesized_stacks(outdir))
    removed = []
    for folder in sorted(p for p in stacks_dir.iterdir() if p.is_dir() and p.name not in current):
        if any(folder.rglob("*.tfstate")):
            print(f"warning: {folder} is no longer configured but holds a state file: left in place", file=sys.stderr)
            continue
        shutil.rmtree(folder)
        removed.append(folder.name)
    return removed


def _what(stack_name: str, configs: Sequence[StackConfig]) -> str:
    """What a stack holds, for the summary: its regions, or its region."""
    for config in configs:
        if stack_name in (config.global_stack_name, config.edge_stack_name):
            return f" (regions {', '.join(config.regions)})"
        for region in config.regions:
            if stack_name == config.regional_stack_name(region):
                return f" (region {region})"
    return ""


def _summary(outdir: Path, configs: Sequence[StackConfig], settings: Settings, engine: str, seconds: float) -> str:
    lines = [
        f"iac-aws-nova {__version__}: synthesized in {seconds:.1f} s into {outdir} "
        f"(settings: {settings.origin()}; engine {engine}):"
    ]
    synthesized = synthesized_stacks(outdir)
    in_order = [n for c in configs for n in c.stack_names if n in synthesized]
    for name in in_order + [n for n in synthesized if n not in in_order]:
        document = json.loads((outdir / "stacks" / name / "cdk.tf.json").read_text())
        resources = sum(len(v) for v in document.get("resource", {}).values())
        noun = "resource" if resources == 1 else "resources"
        lines.append(f"  {name}: {resources} {noun}{_what(name, configs)}")
    return "\n".join(lines)


def warnings(configs: Sequence[StackConfig]) -> list[str]:
    """Settings that are allowed but weaken the defaults: said on every synth."""
    found = []
    for config in configs:
        if config.api_auth == "none":
            found.append(f"warning: {config.stack_name}: api_auth is 'none': anyone on the internet can call the API")
        if not config.waf_enabled:
            found.append(f"warning: {config.stack_name}: waf_enabled is false: no web application firewall")
        if config.api_auth == "iam" and config.domain_name is not None and len(config.regions) > 1:
            found.append(
                f"warning: {config.stack_name}: api_auth is 'iam' with domain_name: a SigV4 signature names one "
                f"region, so signed callers must use <region>.{config.domain_name}, not {config.domain_name}"
            )
        for region in config.retired_regions:
            found.append(
                f"warning: {config.stack_name}: removing_regions names {region}, which is not in regions: retired "
                "(step 3 of docs/operations.md, Removing a region); once that deploy is done, remove it from "
                "removing_regions too. If it was never deployed, a region name may be mistyped"
            )
        for region, zones in config.availability_zone_ids.items():
            for zone in sorted(set(zones) & set(CONSTRAINED_ZONE_IDS.get(region, ()))):
                found.append(
                    f"warning: {config.stack_name}: availability_zone_ids.{region} pins {zone}, where some older "
                    "accounts cannot create subnets; pin another zone if the apply fails there"
                )
    return found


def hcl_refusal() -> str | None:
    """Why this run must not synthesize, when ``cdktf synth --hcl`` started it: the CLI sets
    SYNTH_HCL_OUTPUT for its app (``false`` without the flag) and the CDK then writes cdk.tf instead
    of cdk.tf.json, which the summary, the tools and the security gate read (and an earlier synth's
    cdk.tf.json would stay beside it: Terraform would load both). ``1`` is HCL to the stacks too."""
    value = os.environ.get("SYNTH_HCL_OUTPUT")
    if value not in ("true", "1"):
        return None
    return (
        f"SYNTH_HCL_OUTPUT={value} (cdktf synth --hcl): this project writes JSON only (its tools and security "
        "gate read cdk.tf.json); run cdktf synth without --hcl"
    )


def outdir_refusal(outdir: Path) -> str | None:
    """Make ``outdir``/stacks, where the CDK writes, before it loads: a path that cannot be a
    directory (a file on the way, /proc) is one line here, where the CDK's mkdir is a jsii stack trace."""
    try:
        (outdir / "stacks").mkdir(parents=True, exist_ok=True)
    except OSError as error:
        named = "CDKTF_OUTDIR: " if os.environ.get("CDKTF_OUTDIR") else "output directory "
        return f"{named}{outdir} cannot be created ({error.strerror or error})"
    return None


def say(text: str) -> None:
    """Print ``text`` to stdout, which a reader may have closed (`main.py | head -1`): then the rest
    of the output goes to /dev/null, quietly (Python's docs, "Note on SIGPIPE"). Only what main()
    prints last goes through here, so nothing else is lost."""
    try:
        print(text, flush=True)
    except BrokenPipeError:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)


def main(argv: Sequence[str] = ()) -> int:
    """Synthesize every configured stack; with ``--check``, only validate the settings (and
    cdktf.json) and say so, before anything slow or anything written."""
    started = time.perf_counter()
    if "--version" in argv:
        say(f"iac-aws-nova {__version__}")
        return 0
    try:
        settings = load_settings(PROJECT_DIR)
        configs = settings.configs()
    except ConfigError as error:
        print(f"error: invalid configuration: {error}", file=sys.stderr)
        return 2
    try:
        engine = current_engine()
    except EngineError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    outdir = Path(os.environ.get("CDKTF_OUTDIR") or "cdktf.out")  # empty: unset, as tools/outputs.py reads it
    refusal = hcl_refusal() or (None if "--check" in argv else outdir_refusal(outdir))
    if refusal is not None:
        print(f"error: {refusal}", file=sys.stderr)
        return 2
    for warning in warnings(configs):
        print(warning, file=sys.stderr)
    if "--check" in argv:
        names = ", ".join(c.stack_name for c in configs)
        say(f"Settings are valid ({settings.origin()}): {names} (engine {engine.name})")
        return 0
    build_app(configs, outdir=str(outdir), cdktf_flags=settings.cdktf_flags).synth()
    # The cdktf CLI (which sets SYNTH_HCL_OUTPUT for its app) removes them itself, from a list it
    # made before the app ran: removing them here too would make it fail.
    if "SYNTH_HCL_OUTPUT" not in os.environ:
        remove_stale_stacks(outdir)
    say(_summary(outdir, configs, settings, engine.name, time.perf_counter() - started))
    return 0
