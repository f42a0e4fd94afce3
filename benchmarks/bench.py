"""Synth and test-suite benchmark: `make bench` (or `.venv/bin/python benchmarks/bench.py`).

Prints one table: the default synth with the lazy provider loader and without it
(IAC_LAZY_PROVIDER=0), each over several runs (min, median, max wall time, peak memory of the
whole process tree: Python plus the Node process jsii starts, and its median CPU time, user and
system, which a busy shared machine inflates less than the wall time); synth time for 2, 4, 8 and
16 regions; the jsii kernel alone on the 2- and 16-region synths (their recorded requests replayed
into a fresh kernel, `kernel_floor.py`: the floor for anything done on the Python side); and the
test suite's time. Then checks the targets of issue 4. Each run is a fresh process, as a user's
`cdktf synth` is.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import kernel_floor

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


def _children_cpu() -> float:
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used.ru_utime + used.ru_stime


def measure(argv: list[str], env: dict[str, str], cwd: Path, *, every: float = 0.05) -> tuple[float, float, float]:
    """Wall seconds, peak resident memory (MB) of the process tree, sampled every ``every`` s, and
    CPU seconds (user and system) of the process and of the descendants it waited for."""
    cpu_before = _children_cpu()
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
    return seconds, peak / 1024, _children_cpu() - cpu_before


def synth_env(lazy: bool, regions: tuple[str, ...] | None = None, engine: str = "cdktf") -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("CDKTF_CONTEXT_JSON", "CDKTF_OUTDIR", "IAC_ENGINE")}
    env["IAC_ENGINE"] = engine
    env.update(
        JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION="20",
        PYTHONDONTWRITEBYTECODE="1",
        IAC_LAZY_PROVIDER="1" if lazy else "0",
    )
    if regions is not None:
        env["CDKTF_CONTEXT_JSON"] = json.dumps({"regions": list(regions), "home_region": regions[0]})
    return env


Samples = list[tuple[float, float | None, float | None]]  # wall s, peak MB, CPU s


@dataclass(frozen=True)
class Row:
    case: str
    runs: int
    min: float
    median: float
    max: float
    peak_mb: float | None  # None: not measured
    cpu: float | None  # median CPU seconds; None: not measured


def row(label: str, samples: Sequence[tuple[float, float | None, float | None]]) -> Row:
    times = [s for s, _, _ in samples]
    peaks = [m for _, m, _ in samples if m is not None]
    cpus = [c for _, _, c in samples if c is not None]
    return Row(
        label,
        len(samples),
        min(times),
        statistics.median(times),
        max(times),
        max(peaks) if peaks else None,
        statistics.median(cpus) if cpus else None,
    )


def kernel_alone(work: Path, python: str, runs: int) -> dict[int, Samples]:
    """The 2- and 16-region synths' requests, recorded once each and replayed ``runs`` times
    round-robin: the kernel's build and synth time with no Python work and no waiting."""
    recordings = {}
    for count in (2, 16):
        recording = work / f"kernel-{count}"
        recording.mkdir()
        argv = [python, "-O", str(ROOT / "benchmarks" / "kernel_floor.py"), "record", str(recording)]
        measure(argv, synth_env(True, REGIONS_16[:count]), work)
        recordings[count] = recording
    entry = kernel_floor.runtime(work)
    samples: dict[int, Samples] = {count: [] for count in recordings}
    for _ in range(runs):
        for count, recording in recordings.items():
            samples[count].append((sum(kernel_floor.replay(recording, entry)), None, None))
    return samples


LAZY, PLAIN = "default synth, lazy loader", "default synth, plain import (IAC_LAZY_PROVIDER=0)"
CDKTN_LAZY = "default synth, CDK Terrain engine (cdktn), lazy loader"
CDKTN_PLAIN = "default synth, CDK Terrain engine (cdktn), plain import"
CDKTN_PYTHON = ROOT / ".venv-cdktn" / "bin" / "python"
SUITE = "test suite (make test: pytest -n auto --ignore=tests/slow)"


# make test's options (the Makefile's FAST_TIER), read from the Makefile so the two cannot differ.
def _fast_tier() -> list[str]:
    found = re.search(r"^FAST_TIER := (.*)$", (ROOT / "Makefile").read_text(), re.M)
    if found is None:
        raise SystemExit("bench: the Makefile defines no FAST_TIER (make test's pytest options)")
    return found.group(1).replace("$(TEST_WORKERS)", "auto").split()


FAST_TIER = _fast_tier()


def regions_case(count: int) -> str:
    return f"{count} regions, lazy loader"


def kernel_case(count: int) -> str:
    return f"kernel alone, {count} regions (replayed)"


# (label, interpreter, engine, lazy loader, regions)
Case = tuple[str, str, str, bool, tuple[str, ...] | None]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="runs per synth case (default 5)")
    parser.add_argument("--skip-tests", action="store_true", help="do not time the test suite")
    parser.add_argument("--suite-runs", type=int, default=3, help="runs of the test suite (default 3)")
    args = parser.parse_args()
    python = sys.executable
    samples = synth_samples(synth_cases(python), python, args.runs)
    if not args.skip_tests:
        samples[SUITE] = suite_samples(python, args.suite_runs)
    rows = {label: row(label, runs) for label, runs in samples.items()}
    print_table(rows)
    targets = check_targets(rows)
    print()
    for name, met, detail in targets:
        print(f"{'met' if met else 'MISSED'}: {name} ({detail})")
    print_floor(rows)
    return 0 if all(met for _, met, _ in targets) else 1


def synth_cases(python: str) -> list[Case]:
    """The cdktf engine's cases, and CDK Terrain's default synth where its environment is installed
    (make install ENGINE=cdktn)."""
    cases: list[Case] = [
        (LAZY, python, "cdktf", True, None),
        (PLAIN, python, "cdktf", False, None),
        *((regions_case(count), python, "cdktf", True, REGIONS_16[:count]) for count in (2, 4, 8, 16)),
    ]
    if CDKTN_PYTHON.is_file():
        cases += [
            (CDKTN_LAZY, str(CDKTN_PYTHON), "cdktn", True, None),
            (CDKTN_PLAIN, str(CDKTN_PYTHON), "cdktn", False, None),
        ]
    return cases


def synth_samples(cases: list[Case], python: str, runs: int) -> dict[str, Samples]:
    """Each case's synths, ``runs`` times, then the kernel alone."""
    samples: dict[str, Samples] = {label: [] for label, *_ in cases}
    with tempfile.TemporaryDirectory(prefix="bench-") as work:
        # Round-robin over the cases, so that a shared machine getting faster or slower affects
        # every case alike instead of skewing the ratios between them.
        for run in range(runs):
            for label, interpreter, engine, lazy_loader, regions in cases:
                env = synth_env(lazy_loader, regions, engine)
                samples[label].append(measure([interpreter, str(ROOT / "main.py")], env, Path(work)))
            print(f"  run {run + 1}/{runs} done", file=sys.stderr)
        for count, replays in kernel_alone(Path(work), python, runs).items():
            samples[kernel_case(count)] = replays
    return samples


def suite_samples(python: str, runs: int) -> Samples:
    # The suite's tree has many processes; sampling it every 50 ms would take CPU from the suite
    # on a 2-core machine. Its memory is for information only: every half second is enough.
    return [
        measure(
            [python, "-m", "pytest", "-q", "-p", "no:cacheprovider", *FAST_TIER],
            synth_env(True),
            ROOT,
            every=0.5,
        )
        for _ in range(runs)
    ]


def print_table(rows: dict[str, Row]) -> None:
    print(
        f"\nMachine: {os.cpu_count()} cores, {platform.machine()}, Python {platform.python_version()}, "
        f"{_memory_gib():.0f} GiB; {time.strftime('%Y-%m-%d')}\n"
    )
    print("| case | runs | min s | median s | max s | peak MB | median CPU s |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for r in rows.values():
        peak = "-" if r.peak_mb is None else f"{r.peak_mb:.0f}"
        cpu = "-" if r.cpu is None else f"{r.cpu:.2f}"
        print(f"| {r.case} | {r.runs} | {r.min:.2f} | {r.median:.2f} | {r.max:.2f} | {peak} | {cpu} |")


def check_targets(rows: dict[str, Row]) -> list[tuple[str, bool, str]]:
    """The targets of issue 4: (name, met, detail)."""
    lazy, plain = rows[LAZY].median, rows[PLAIN].median
    lazy_peak = rows[LAZY].peak_mb or 0.0
    two, sixteen = rows[regions_case(2)].median, rows[regions_case(16)].median
    per_region = (sixteen - two) / 14
    targets = [
        ("lazy synth <= 1/3 of the plain one", lazy <= plain / 3, f"{lazy:.2f} s vs {plain:.2f} s; {lazy / plain:.2f}"),
        ("lazy synth peak memory < 1 GB", lazy_peak < 1000, f"{lazy_peak:.0f} MB"),
        (
            "16 regions <= 1.5 x 2 regions",
            sixteen <= 1.5 * two,
            f"{sixteen:.2f} s vs {two:.2f} s; {sixteen / two:.2f}; {per_region:.3f} s per added region",
        ),
    ]
    if CDKTN_LAZY in rows:
        cdktn = rows[CDKTN_LAZY].median
        targets.append(("CDK Terrain's synth no slower than cdktf's", cdktn <= lazy, f"{cdktn:.2f} s vs {lazy:.2f} s"))
    if SUITE in rows:
        targets.append(("test suite < 30 s", rows[SUITE].median < 30, f"{rows[SUITE].median:.2f} s"))
    return targets


def print_floor(rows: dict[str, Row]) -> None:
    """How much of each added region's time the kernel alone takes, against what the target allows."""
    two, sixteen = rows[regions_case(2)].median, rows[regions_case(16)].median
    per_region = (sixteen - two) / 14
    # With T(n) = fixed + n x per_region, T(16) <= 1.5 x T(2) holds when per_region <= fixed / 26.
    fixed = two - 2 * per_region
    kernel_per_region = (rows[kernel_case(16)].median - rows[kernel_case(2)].median) / 14
    allowed = fixed / 26
    print(
        f"floor: the kernel alone takes {kernel_per_region:.3f} s of each added region's {per_region:.3f} s; "
        f"16 <= 1.5 x 2 allows {allowed:.3f} s per added region (fixed cost {fixed:.2f} s / 26), which leaves "
        f"{allowed - kernel_per_region:.3f} s for the Python side and the round trips (they take "
        f"{per_region - kernel_per_region:.3f} s)"
    )


def _memory_gib() -> float:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) / 1024 / 1024
    return 0.0


if __name__ == "__main__":
    sys.exit(main())
