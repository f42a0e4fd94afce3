"""`make serve-local` as a user types it (tools/serve.py --local-aws): a process that starts moto
and the stack's table, then serves the items and health routes against it. Slow tier: moto's
start-up in a fresh process; the fast tier serves the same local table from the test process
(tests/test_serve.py)."""

from __future__ import annotations

import re

from serve_cli import TIMEOUT, serves_items_and_a_health_that_reads_the_table, start_cli, stop_cli


def test_cli_with_local_aws_serves_items_and_a_health_that_reads_the_table() -> None:
    """``make serve-local``: a local table (moto, in-process) for the items and health routes."""
    process, lines = start_cli("--local-aws", "--region", "eu-west-1", timeout=30)
    try:
        url = lines[0].rsplit(" on ", 1)[1]
        table = "iac-aws-nova-items-dev"
        assert re.fullmatch(
            rf"Items routes: on, table {table} at http://127\.0\.0\.1:\d+; no events "
            r"\(deployed, the table's stream sends them\)",
            lines[2],
        ), lines
        assert lines[3] == f"Health: reads table {table} (503 when it cannot)"
        serves_items_and_a_health_that_reads_the_table(url)
        stop_cli(process)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate(timeout=TIMEOUT)
