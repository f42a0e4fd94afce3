"""Synth and test-suite benchmark: `make bench` (or `.venv/bin/python benchmarks/bench.py`).

Prints one table: the default synth with the lazy provider loader and without it
(IAC_LAZY_PROVIDER=0), each over several runs (min, median, max wall time, peak memory of the
whole process tree: Python plus the Node process jsii starts); synth time for 2, 4, 8 and 16
regions; and the test suite's time. Then checks the targets of issue 4. Each run is a fresh
process, as a user's `cdktf synth` is.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REGIONS_16 = (
    "us-east-1",
    "us-west-2",
    "eu-west-1",
    "eu-central-1",
    "ap-northeast-1",
    "ap-southeast-2",
    "us-east-2",
    "us-west-1",
    "eu-west-2",
    "eu-north-1",
    "ap-south-1",
    "ap-southeast-1",
    "ca-central-1",
    "sa-east-1",
    "eu-west-3",
    "ap-northeast-2",
)


def _descendants(root: int) -> list[int]:
    """The process and its descendants, from /proc/<pid>/task/<tid>/children (cheap: no scan of
    every process, so the sampler steals little CPU from what it measures on a 2-core machine)."""
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        for task in Path(f"/proc/{pid}/task").glob("*/children"):
            try:
                todo.extend(int(child) for child in task.read_text().split())
            except OSError:
                pass
    return found


def _rss_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def _tree_rss_kib(root: int) -> int:
    return sum(_rss_kib(pid) for pid in _descendants(root))


def measure(argv: list[str], env: dict[str, str], cwd: Path, *, every: float = 0.05) -> tuple[float, float]:
    """Wall seconds and peak resident memory (MB) of the process tree, sampled every ``every`` s."""
    started = time.perf_counter()
    process = subprocess.Popen(argv, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    peak = 0
    stop = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not stop.is_set():
            peak = max(peak, _tree_rss_kib(process.pid))
            stop.wait(every)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _, stderr = process.communicate()
    seconds = time.perf_counter() - started
    stop.set()
    sampler.join()
    if process.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed:\n{stderr.decode()[-2000:]}")
    return seconds, peak / 1024


def synth_env(lazy: bool, regions: tuple[str, ...] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("CDKTF_CONTEXT_JSON", "CDKTF_OUTDIR")}
    env.update(
        JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION="20",
        PYTHONDONTWRITEBYTECODE="1",
        IAC_LAZY_PROVIDER="1" if lazy else "0",
    )
    if regions is not None:
        env["CDKTF_CONTEXT_JSON"] = json.dumps({"regions": list(regions)})
    return env


def row(label: str, samples: list[tuple[float, float]]) -> dict[str, object]:
    times = [s for s, _ in samples]
    return {
        "case": label,
        "runs": len(samples),
        "min": min(times),
        "median": statistics.median(times),
        "max": max(times),
        "peak_mb": max(m for _, m in samples),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="runs per synth case (default 5)")
    parser.add_argument("--skip-tests", action="store_true", help="do not time the test suite")
    parser.add_argument("--suite-runs", type=int, default=3, help="runs of the test suite (default 3)")
    args = parser.parse_args()
    python = sys.executable
    cases: list[tuple[str, bool, tuple[str, ...] | None]] = [
        ("default synth, lazy loader", True, None),
        ("default synth, plain import (IAC_LAZY_PROVIDER=0)", False, None),
        *((f"{count} regions, lazy loader", True, REGIONS_16[:count]) for count in (2, 4, 8, 16)),
    ]
    samples: dict[str, list[tuple[float, float]]] = {label: [] for label, _, _ in cases}
    with tempfile.TemporaryDirectory(prefix="bench-") as work:
        # Round-robin over the cases, so that a shared machine getting faster or slower affects
        # every case alike instead of skewing the ratios between them.
        for run in range(args.runs):
            for label, lazy, regions in cases:
                samples[label].append(measure([python, str(ROOT / "main.py")], synth_env(lazy, regions), Path(work)))
            print(f"  run {run + 1}/{args.runs} done", file=sys.stderr)
    rows = [row(label, samples[label]) for label, _, _ in cases]
    if not args.skip_tests:
        # The suite's tree has many processes; sampling it every 50 ms would take CPU from the suite
        # on a 2-core machine. Its memory is for information only: every half second is enough.
        suite = [
            measure([python, "-m", "pytest", "-q", "-p", "no:cacheprovider"], synth_env(True), ROOT, every=0.5)
            for _ in range(args.suite_runs)
        ]
        rows.append(row("test suite (pytest, whole)", suite))

    print(
        f"\nMachine: {os.cpu_count()} cores, {platform.machine()}, Python {platform.python_version()}, "
        f"{_memory_gib():.0f} GiB; {time.strftime('%Y-%m-%d')}\n"
    )
    print("| case | runs | min s | median s | max s | peak MB |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for r in rows:
        print(
            f"| {r['case']} | {r['runs']} | {r['min']:.2f} | {r['median']:.2f} | {r['max']:.2f} | {r['peak_mb']:.0f} |"
        )

    by_case = {r["case"]: r for r in rows}
    lazy, plain = by_case["default synth, lazy loader"], by_case["default synth, plain import (IAC_LAZY_PROVIDER=0)"]
    two, sixteen = by_case["2 regions, lazy loader"], by_case["16 regions, lazy loader"]
    targets = [
        (
            "lazy synth <= 1/3 of the plain one",
            lazy["median"] <= plain["median"] / 3,
            f"{lazy['median']:.2f} s vs {plain['median']:.2f} s; {lazy['median'] / plain['median']:.2f}",
        ),
        ("lazy synth peak memory < 1 GB", lazy["peak_mb"] < 1000, f"{lazy['peak_mb']:.0f} MB"),
        (
            "16 regions <= 1.5 x 2 regions",
            sixteen["median"] <= 1.5 * two["median"],
            f"{sixteen['median']:.2f} s vs {two['median']:.2f} s; {sixteen['median'] / two['median']:.2f}; "
            f"{(sixteen['median'] - two['median']) / 14:.3f} s per added region",
        ),
    ]
    if "test suite (pytest, whole)" in by_case:
        suite = by_case["test suite (pytest, whole)"]
        targets.append(("test suite < 30 s", suite["median"] < 30, f"{suite['median']:.2f} s"))
    print()
    for name, met, detail in targets:
        print(f"{'met' if met else 'MISSED'}: {name} ({detail})")
    return 0 if all(met for _, met, _ in targets) else 1


def _memory_gib() -> float:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) / 1024 / 1024
    return 0.0


if __name__ == "__main__":
    sys.exit(main())
