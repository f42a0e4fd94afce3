"""`make diff` along the ways it can end, in a project copy: python tests/make_diff_paths.py DIR.

Run in the background by tests/test_cli.py. Prints one JSON object: for each way out, make's exit
code and what git and the disk hold afterwards (a leftover .diff-base worktree makes every later
`make diff` fail).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path


def leftovers(project: Path) -> dict[str, object]:
    worktrees = subprocess.run(["git", "worktree", "list"], cwd=project, capture_output=True, text=True).stdout
    return {
        "worktrees": len(worktrees.strip().splitlines()),
        "dirs": sorted(p.name for p in project.glob(".diff-base*")),
    }


def failing_base(project: Path) -> dict[str, object]:
    """The base's synth fails (its settings.json is broken): make fails, nothing is left."""
    git = ["git", "-c", "user.name=test", "-c", "user.email=test@example.com"]
    subprocess.run([*git, "checkout", "-q", "-b", "broken"], cwd=project, check=True)
    (project / "settings.json").write_text('{"regions": [}')
    subprocess.run([*git, "commit", "-qam", "broken settings"], cwd=project, check=True)
    subprocess.run([*git, "checkout", "-q", "-"], cwd=project, check=True)
    result = subprocess.run(["make", "diff", "BASE=broken"], cwd=project, capture_output=True, text=True)
    return {"exit": result.returncode, "stderr": result.stderr[-2000:], **leftovers(project)}


def node_in_group(group: int) -> bool:
    """Whether a node process runs in this process group (the CDK's runtime, started by a synth)."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)
            name = fields[0].split("(", 1)[1]
            pgrp = int(fields[1].split()[2])
        except (OSError, IndexError, ValueError):
            continue  # the process ended while we read it
        if pgrp == group and name == "node":
            return True
    return False


def interrupted(project: Path) -> dict[str, object]:
    """Ctrl-C while the base synthesizes: make stops, nothing is left."""
    process = subprocess.Popen(
        ["make", "diff", "BASE=HEAD"],
        cwd=project,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    # Into the base's synth: its CDK runtime (node) has started, so Python's start-up, where a
    # Ctrl-C is a traceback in any Python program, is over. A fixed sleep was too short under load.
    deadline = time.monotonic() + 60
    while not node_in_group(process.pid) and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    seen = (project / ".diff-base" / "main.py").exists() and node_in_group(process.pid)
    os.killpg(process.pid, signal.SIGINT)  # what a terminal's Ctrl-C does: the whole foreground group
    _, stderr = process.communicate(timeout=60)
    return {"seen": seen, "exit": process.returncode, "stderr": stderr.decode()[-2000:], **leftovers(project)}


def main(project: Path) -> None:
    print(json.dumps({"failing_base": failing_base(project), "interrupted": interrupted(project)}))


if __name__ == "__main__":
    main(Path(sys.argv[1]))
