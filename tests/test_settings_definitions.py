"""The settings are defined once (``StackConfig``'s fields: default, rule, description, and the
building blocks' config fields they feed), and a setting and the config field it feeds refuse a
bad value with the same rule and the same words."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest

from constructs_lib.blocks.api import ApiConfig
from constructs_lib.blocks.canary import CanaryConfig
from constructs_lib.blocks.cdn import CdnConfig
from constructs_lib.blocks.domain import CustomDomainConfig
from constructs_lib.blocks.function import FunctionConfig
from constructs_lib.blocks.monitoring import MonitoringConfig
from constructs_lib.blocks.naming import Namer
from constructs_lib.blocks.network import NetworkConfig
from constructs_lib.blocks.queue import QueueConfig
from constructs_lib.blocks.routing import RoutingConfig
from constructs_lib.blocks.rules import Flag, OneOf, OrNull, Positive, RuleError, Whole
from constructs_lib.blocks.storage import StorageConfig
from constructs_lib.blocks.table import TableConfig
from constructs_lib.blocks.tracing import TracingConfig
from constructs_lib.blocks.waf import WafConfig
from constructs_lib.settings import StackConfig
from constructs_lib.settings.config import GROUPS

NAMER = Namer("shop", "qa")
SOURCE = Path(__file__).resolve().parent.parent / "lambda_src"
# Each part the stacks' wiring configures from settings (``into``), and a valid config of it.
PARTS: dict[str, tuple[type, dict[str, Any]]] = {
    "function": (FunctionConfig, {"namer": NAMER, "region": "eu-west-1", "source_dir": SOURCE}),
    "worker": (FunctionConfig, {"namer": NAMER, "region": "eu-west-1", "source_dir": SOURCE}),
    "api": (ApiConfig, {"namer": NAMER, "region": "eu-west-1", "stage_name": "qa"}),
    "waf": (WafConfig, {"namer": NAMER, "region": "eu-west-1"}),
    "network": (NetworkConfig, {"namer": NAMER, "region": "eu-west-1", "cidr_block": "10.0.0.0/16"}),
    "domain": (
        CustomDomainConfig,
        {"namer": NAMER, "region": "eu-west-1", "domain_name": "api.example.com", "hosted_zone_id": "Z123"},
    ),
    "routing": (
        RoutingConfig,
        {"namer": NAMER, "regions": ("eu-west-1",), "domain_name": "api.example.com", "hosted_zone_id": "Z123"},
    ),
    "cdn": (CdnConfig, {"namer": NAMER, "domain_name": "api.example.com", "hosted_zone_id": "Z123"}),
    "table": (TableConfig, {"namer": NAMER, "home_region": "eu-west-1"}),
    "queue": (QueueConfig, {"namer": NAMER, "region": "eu-west-1"}),
    "storage": (StorageConfig, {"namer": NAMER, "region": "eu-west-1"}),
    "monitoring": (MonitoringConfig, {"namer": NAMER, "region": "eu-west-1"}),
    "tracing": (TracingConfig, {"namer": NAMER, "region": "eu-west-1"}),
    "canary": (CanaryConfig, {"namer": NAMER, "region": "eu-west-1", "interval_minutes": 5}),
    "watch": (
        CanaryConfig,
        {"namer": NAMER, "region": "eu-west-1", "interval_minutes": 5, "watched_region": "us-east-1"},
    ),
}
DEFINITIONS = dataclasses.fields(StackConfig)
TARGETS = [(d.name, target) for d in DEFINITIONS for target in d.metadata["into"]]
# Fields whose building block accepts more than the setting (a function may be Node.js; the stack's
# own functions are Python): the same words, over its wider list.
WIDER = {"function.runtime": ", nodejs22.x;", "worker.runtime": ", nodejs22.x;"}


def _bad_value(rule: Any) -> Any:
    """A value ``rule`` refuses."""
    if isinstance(rule, OrNull):
        return _bad_value(rule.rule)
    if isinstance(rule, Whole):
        return rule.minimum - 1
    if isinstance(rule, Positive):
        return 0
    if isinstance(rule, Flag):
        return "yes"
    if isinstance(rule, OneOf):
        return "none of them"
    return 12345  # every other rule wants a string or a mapping


def test_every_setting_has_a_rule_a_description_and_a_known_group():
    for definition in DEFINITIONS:
        meta = definition.metadata
        assert callable(getattr(meta.get("rule"), "check", None)), definition.name
        assert meta["doc"].endswith((".", ")")), definition.name
        assert meta["group"] in GROUPS, definition.name


def test_every_default_passes_its_own_rule():
    for definition in DEFINITIONS:
        default = definition.default_factory() if definition.default is dataclasses.MISSING else definition.default  # type: ignore[misc]
        definition.metadata["rule"].check(definition.name, default)


@pytest.mark.parametrize(("setting", "target"), TARGETS)
def test_every_target_is_a_field_of_its_parts_config(setting, target):
    part, _, field_name = target.partition(".")
    assert part in PARTS, f"{setting} feeds {target}: {part!r} is not a part the region's wiring configures"
    config_class, _ = PARTS[part]
    assert field_name in {f.name for f in dataclasses.fields(config_class)}, f"{setting} -> {target}"


@pytest.mark.parametrize(("setting", "target"), TARGETS)
def test_a_setting_and_the_field_it_feeds_refuse_alike(setting, target):
    """One rule, one message: where a building block checks a value too, it says what the settings
    layer says (only the name differs: the config field's, not the setting's)."""
    definition = next(d for d in DEFINITIONS if d.name == setting)
    bad = _bad_value(definition.metadata["rule"])
    with pytest.raises(RuleError) as from_settings:
        StackConfig(**{setting: bad})
    part, _, field_name = target.partition(".")
    config_class, valid = PARTS[part]
    try:
        config_class(**{**valid, field_name: bad})
    except RuleError as from_block:
        expected = from_settings.value.detail
        if target in WIDER:
            expected = expected.replace(";", WIDER[target], 1)
        assert (from_block.setting, from_block.detail) == (field_name, expected)
    except (ValueError, TypeError) as other:
        pytest.fail(f"{target} refuses {bad!r} with other words or type: {other}")


def test_settings_for_gives_a_part_its_settings_by_field():
    config = StackConfig(lambda_memory_mb=512, worker_memory_mb=256, log_retention_days=30, lambda_runtime="python3.13")
    function, worker = config.settings_for("function"), config.settings_for("worker")
    assert (function["memory_mb"], worker["memory_mb"]) == (512, 256)
    assert function["runtime"] == worker["runtime"] == "python3.13"
    assert config.settings_for("network") == {"flow_log_retention_days": 30}


def test_a_part_without_settings_gets_none():
    assert StackConfig().settings_for("dashboard") == {}
