"""Wires the app: configuration first (cheap, may refuse), then the CDK (expensive), then synth."""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from .config import ConfigError, StackConfig, configs_from_context, read_context
from .regions import CONSTRAINED_ZONE_IDS

if TYPE_CHECKING:  # the CDK loads only once the configuration is known to be valid
    from .cdk import App

PROJECT_DIR = Path(__file__).resolve().parent.parent
LAMBDA_SRC = PROJECT_DIR / "lambda_src"


def build_app(
    configs: Sequence[StackConfig],
    *,
    outdir: str | None = None,
    source_dir: Path = LAMBDA_SRC,
    with_bootstrap: bool = True,
) -> App:
    """An App with one stack per environment (and the bootstrap stack). Nothing is written until
    ``app.synth()``."""
    from .bootstrap import BootstrapConfig, BootstrapStack
    from .cdk import App
    from .stack import ServerlessStack

    app = App(outdir=outdir) if outdir else App()
    for config in configs:
        ServerlessStack(app, config, source_dir=source_dir)
    if with_bootstrap:
        BootstrapStack(app, BootstrapConfig.from_stacks(configs))
    return app


def _summary(outdir: Path, configs: Sequence[StackConfig], seconds: float) -> str:
    lines = [f"Synthesized in {seconds:.1f} s into {outdir}:"]
    for stack_dir in sorted((outdir / "stacks").iterdir()):
        document = json.loads((stack_dir / "cdk.tf.json").read_text())
        resources = sum(len(v) for v in document.get("resource", {}).values())
        regions = next((c.regions for c in configs if c.stack_name == stack_dir.name), None)
        where = f" regions {', '.join(regions)}" if regions else ""
        lines.append(f"  {stack_dir.name}: {resources} resources{where}")
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
        for region, zones in config.availability_zone_ids.items():
            for zone in sorted(set(zones) & set(CONSTRAINED_ZONE_IDS.get(region, ()))):
                found.append(
                    f"warning: {config.stack_name}: availability_zone_ids.{region} pins {zone}, where some older "
                    "accounts cannot create subnets; pin another zone if the apply fails there"
                )
    return found


def main() -> int:
    started = time.perf_counter()
    try:
        configs = configs_from_context(read_context(PROJECT_DIR))
    except ConfigError as error:
        print(f"error: invalid configuration: {error}", file=sys.stderr)
        return 2
    for warning in warnings(configs):
        print(warning, file=sys.stderr)
    app = build_app(configs)
    app.synth()
    outdir = Path(os.environ.get("CDKTF_OUTDIR", "cdktf.out"))
    print(_summary(outdir, configs, time.perf_counter() - started))
    return 0
