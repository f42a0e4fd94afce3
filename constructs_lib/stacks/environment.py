"""One environment: a global stack, a stack per region and an edge stack, deployed in that order."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..cdk.core import Construct
from ..settings import StackConfig
from .edge import EdgeStack
from .global_stack import GlobalStack
from .regional_stack import RegionalStack


@dataclass(frozen=True)
class Environment:
    """An environment's stacks. Each keeps its own state and plans alone: a regional stack reads
    only its own region (by names every stack derives alike), so while a region is down every other
    region can still be planned and applied. The dependencies order ``cdktf deploy``: global first
    (the keys, the table and what the regions share must exist), then the regions, then the edge
    (it routes to what the regions made)."""

    global_stack: GlobalStack
    regional: dict[str, RegionalStack]
    edge: EdgeStack


def environment_stacks(scope: Construct, config: StackConfig, *, source_dir: Path) -> Environment:
    global_stack = GlobalStack(scope, config)
    regional = {}
    for region in sorted(config.regions, key=lambda r: r != config.home):
        stack = RegionalStack(scope, config, region, source_dir=source_dir)
        stack.add_dependency(global_stack)
        regional[region] = stack
    edge = EdgeStack(scope, config)
    for stack in regional.values():
        edge.add_dependency(stack)
    return Environment(global_stack=global_stack, regional={r: regional[r] for r in config.regions}, edge=edge)
