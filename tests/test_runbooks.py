"""The runbooks (docs/runbooks/): every alarm's description names a page that exists, every page is in
the index, has the same sections and only links to what exists, and names the settings that really
set its alarm. Reads the session's shared synths (no synth of its own): the default app, GLOBAL (a
domain: health alarms) and the variants (``watched``: a canary)."""

from __future__ import annotations

import re
from dataclasses import fields
from pathlib import Path
from typing import Any

import pytest
from conftest import GLOBAL, ROOT, VARIANTS
from test_docs import HEADING, broken_links, links, prose_lines

from constructs_lib.settings import StackConfig, configs_from_context

RUNBOOKS = ROOT / "docs" / "runbooks"
INDEX = RUNBOOKS / "README.md"
BLOCKS = ROOT / "constructs_lib" / "blocks"
# The runbooks these apps must name at least: the region's alarms, the edge's health alarms (GLOBAL)
# the canary's (``watched``) and the watch of us-east-1 from another region (GLOBAL).
REQUIRED = (
    "fn-errors",
    "fn-duration",
    "fn-throttles",
    "api-4xx",
    "api-5xx",
    "queue-age",
    "worker-failures",
    "dlq-messages",
    "health",
    "canary",
    "watch",
)
# The sections of every page, in this order.
SECTIONS = ("What it means", "Impact", "Check first", "Mitigate", "Settings", "Related")
# The setting that is each alarm's threshold, and the share of it the threshold is; a runbook not
# listed has a threshold fixed in code.
THRESHOLD_SETTINGS: dict[str, tuple[str, float]] = {
    "fn-errors": ("alarm_errors_threshold", 1),
    "fn-duration": ("alarm_duration_threshold_ms", 1),
    "fn-throttles": ("alarm_throttles_threshold", 1),
    "concurrency": ("alarm_account_concurrency_quota", 0.8),
    "api-4xx": ("alarm_api_4xx_rate_percent", 1),
    "api-5xx": ("alarm_api_5xx_rate_percent", 1),
    "api-latency": ("alarm_api_latency_p99_ms", 1),
    "waf-blocked": ("alarm_waf_blocked_threshold", 1),
    "replication": ("alarm_replication_latency_ms", 1),
    "queue-age": ("alarm_queue_age_threshold_seconds", 1),
    "worker-failures": ("alarm_worker_failures_threshold", 1),
}
RUNBOOK_SUFFIX = re.compile(r"\(runbook: docs/runbooks/([a-z0-9-]+)\.md\)$")
# Backticked names with these prefixes are settings or stack outputs, never anything else.
SETTING_PREFIXES = ("alarm_", "api_", "canary_", "lambda_", "queue_", "waf_", "worker_", "removing_", "domain_")
CODE_NAME = re.compile(r"`([a-z][a-z0-9_]*)`")
SETTINGS = {definition.name for definition in fields(StackConfig)}


def pages() -> list[Path]:
    """The runbook pages, the index left out."""
    return sorted(p for p in RUNBOOKS.glob("*.md") if p != INDEX)


def sections(path: Path) -> dict[str, str]:
    """Each ``##`` section's text (fenced blocks left out), by heading, in order."""
    found: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in prose_lines(path.read_text(encoding="utf-8")):
        match = HEADING.match(line)
        if match and len(match.group(1)) <= 2:
            current = found.setdefault(match.group(2), []) if len(match.group(1)) == 2 else None
        elif current is not None:
            current.append(line)
    return {heading: "\n".join(lines) for heading, lines in found.items()}


def runbook_of(alarm: dict[str, Any]) -> str:
    """The ``<what>`` of an alarm's ``(runbook: docs/runbooks/<what>.md)``."""
    return RUNBOOK_SUFFIX.search(alarm["alarm_description"]).group(1)


@pytest.fixture(scope="module")
def apps(default_synth, synth, variants) -> list[tuple[Any, list[StackConfig]]]:
    """Each shared app, with the configurations it was synthesized from."""
    return [
        (default_synth, [StackConfig()]),
        (synth(GLOBAL), [GLOBAL]),
        (variants, configs_from_context(VARIANTS)),
    ]


@pytest.fixture(scope="module")
def alarms(apps) -> list[tuple[str, StackConfig, dict[str, Any]]]:
    """(stack name, its configuration, alarm) for every alarm in every stack of those apps."""
    found = []
    for app, configs in apps:
        for stack_name, stack in app.stacks.items():
            [config] = [c for c in configs if stack_name.startswith(f"{c.project_name}-{c.environment}-")] or [None]
            for alarm in stack.get("resource", {}).get("aws_cloudwatch_metric_alarm", {}).values():
                found.append((stack_name, config, alarm))
    assert found
    return found


def test_every_alarm_names_its_runbook_page_and_the_page_exists(alarms):
    for stack_name, _, alarm in alarms:
        description = alarm["alarm_description"]
        assert RUNBOOK_SUFFIX.search(description), f"{stack_name}: {alarm['alarm_name']}: no runbook in {description!r}"
        what = runbook_of(alarm)
        assert (RUNBOOKS / f"{what}.md").is_file(), f"{alarm['alarm_name']}: docs/runbooks/{what}.md is missing"
        assert f"-{what}-" in alarm["alarm_name"], f"{alarm['alarm_name']} names the runbook of {what}"


def test_the_apps_hold_every_kind_of_alarm_and_no_page_is_left_over(alarms):
    """GLOBAL brings the health alarms and ``watched`` the canary's, so every required runbook is
    named; a page no alarm could name (its alarm removed or renamed) is left over: every page's name
    is a string the blocks give an alarm (an alarm off by default, no-traffic, is in no app here)."""
    named = {runbook_of(alarm) for _, _, alarm in alarms}
    assert set(REQUIRED) <= named
    assert named <= {p.stem for p in pages()}
    source = "\n".join(path.read_text(encoding="utf-8") for path in sorted(BLOCKS.glob("*.py")))
    for page in pages():
        assert f'"{page.stem}"' in source, f"docs/runbooks/{page.name}: no alarm of constructs_lib/blocks names it"


def test_each_threshold_setting_a_page_names_is_the_one_that_sets_the_alarm(alarms):
    """The alarm's threshold follows the setting in the configuration it was synthesized from
    (GLOBAL sets alarm_errors_threshold to 3), and the page's Settings section names that setting."""
    checked = set()
    for stack_name, config, alarm in alarms:
        what = runbook_of(alarm)
        if what not in THRESHOLD_SETTINGS:
            continue
        setting, share = THRESHOLD_SETTINGS[what]
        assert config is not None, f"{stack_name}: no configuration found for it"
        expected = int(getattr(config, setting) * share)
        assert alarm["threshold"] == expected, f"{alarm['alarm_name']}: not set by {setting}"
        checked.add(what)
    assert checked == set(THRESHOLD_SETTINGS)
    for what, (setting, _) in THRESHOLD_SETTINGS.items():
        assert f"`{setting}`" in sections(RUNBOOKS / f"{what}.md")["Settings"], f"{what}.md: {setting}"


def test_the_index_links_every_page_and_names_each_alarm_by_the_pattern():
    linked = {target for target in links(INDEX) if "/" not in target and "#" not in target}
    assert linked == {p.name for p in pages()}
    rows = [line for line in INDEX.read_text(encoding="utf-8").splitlines() if line.startswith("| `{project}-")]
    for page in pages():
        [row] = [row for row in rows if f"]({page.name})" in row]
        assert row.startswith(f"| `{{project}}-{page.stem}-") and "-{region}-{environment}`" in row, row


@pytest.mark.parametrize("path", pages(), ids=lambda p: p.name)
def test_every_page_has_the_same_sections_in_order(path):
    assert tuple(sections(path)) == SECTIONS
    assert all(text.strip() for text in sections(path).values()), "an empty section"
    title = path.read_text(encoding="utf-8").splitlines()[0]
    assert title.startswith(f"# {path.stem}: "), title


@pytest.mark.parametrize("path", [INDEX, *pages()], ids=lambda p: p.name)
def test_every_relative_link_in_the_runbooks_resolves(path):
    """The rule tests/test_docs.py holds docs/*.md to: every file and heading linked exists."""
    assert broken_links(path) == []


def test_every_setting_a_page_names_exists(apps):
    """A backticked name that looks like a setting is a setting or a stack output (a renamed setting
    would otherwise leave a page pointing at nothing), and each Settings section names one at least."""
    outputs = {name for app, _ in apps for stack in app.stacks.values() for name in stack.get("output", {})}
    for path in [INDEX, *pages()]:
        text = "\n".join(prose_lines(path.read_text(encoding="utf-8")))
        unknown = {
            name
            for name in CODE_NAME.findall(text)
            if name.startswith(SETTING_PREFIXES) and name not in SETTINGS and name not in outputs
        }
        assert not unknown, f"{path.name}: neither a setting nor an output: {sorted(unknown)}"
    for path in pages():
        named = set(CODE_NAME.findall(sections(path)["Settings"])) & SETTINGS
        assert named, f"{path.name}: its Settings section names no setting"
