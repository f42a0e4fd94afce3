"""`make cost` as typed in a project copy: it synthesizes, then prints the fixed monthly cost of
every stack and region and what is priced by use; exit 0."""

from __future__ import annotations

import pytest
from conftest import BackgroundRun, project_copy, subprocess_env

MAKE_COST = BackgroundRun(["make", "-s", "cost"], cwd=project_copy, env=subprocess_env(CHECKPOINT_DISABLE="1"))


@pytest.mark.after_background
def test_make_cost_prints_each_stack_and_region_and_the_total():
    result = MAKE_COST.result()
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("## Fixed monthly cost (US dollars, list prices of ")
    assert "| iac-aws-nova-dev-us-west-2 | us-west-2 | 13.30 |" in result.stdout
    assert any(line.startswith("| **total** | | **") for line in lines)
    assert "- API Gateway: $3.50 per million requests" in lines
