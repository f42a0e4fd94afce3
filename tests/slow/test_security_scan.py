"""The real security gate: one checkov run (seconds of CPU: the slow tier) over the default and
variant stacks, as `make security` runs it; the gate's logic is tested by hand-made reports in
tests/test_security_gate.py."""

from __future__ import annotations

import concurrent.futures
from typing import Any

import pytest
from conftest import VARIANTS, after_default_synth

from security import gate
from security.gate import Report

# --- the real gate over the default stacks (one checkov run per session) ------------------------


# Besides the defaults, the other secure settings must pass the gate too: Cognito and IAM auth, an
# encrypted stage cache, pinned zones. (api_auth "none" and waf_enabled false fail it, as they should.)
_scan: dict[str, Any] = {}


@after_default_synth
def _start_scan(default_synth: Any, synth: Any) -> None:
    """checkov takes seconds: it starts as soon as the default app exists, beside the other tests."""
    from constructs_lib.settings import configs_from_context

    variant = synth(*configs_from_context(VARIANTS))
    # Every stack of both apps, the variants' bootstrap (with AWS Config's recorder) included.
    dirs = gate.stack_dirs_under(default_synth.outdir / "stacks") + gate.stack_dirs_under(variant.outdir / "stacks")
    _scan["variant"] = variant
    _scan["report"] = concurrent.futures.ThreadPoolExecutor(max_workers=1).submit(gate.scan, dirs)


# Module-scoped: under pytest-xdist the scan starts with this module's first test (conftest's
# _after_default_synth_of_this_module), after session fixtures are made.
@pytest.fixture(scope="module")
def variant_synth(default_synth: Any) -> Any:
    return _scan["variant"]


@pytest.fixture(scope="module")
def gate_report(default_synth: Any) -> Report:
    return _scan["report"].result()


def test_default_stacks_scan_parses_every_stack_and_maps_real_addresses(
    gate_report: Report, default_synth: Any, variant_synth: Any
) -> None:
    stacks = {**default_synth.stacks, **variant_synth.stacks}
    assert set(gate_report.stacks) == set(stacks)
    assert gate_report.errors == []
    assert gate.coverage_problems(gate_report) == []
    for name, scan in gate_report.stacks.items():
        stack = stacks[name]
        # A regional stack holds most of the checks; the edge without a domain is one dashboard.
        assert scan.passed > (0 if name.endswith(("-global", "-edge")) else 50), name
        assert scan.addresses, name
        for address in scan.addresses | {f.address for f in scan.failed}:
            parts = address.split(".")
            if parts[0] == "data":
                assert parts[2] in stack["data"][parts[1]], address
            elif parts[0] == "provider":
                assert parts[1] in stack["provider"], address
            else:
                assert parts[1] in stack["resource"][parts[0]], address


def test_default_and_variant_stacks_pass_the_security_gate(gate_report: Report) -> None:
    result = gate.evaluate(gate_report, gate.load_accepted())
    report = gate.format_result(gate_report, result)
    assert result.open == [], report
    assert result.stale == [], report
    assert result.problems == [], report
