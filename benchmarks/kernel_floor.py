"""The jsii kernel's share of a synth, measured alone (a part of `make bench`).

A synth is a conversation: for every object it creates and every attribute it reads, the Python
side sends the jsii kernel (a Node process) a request and waits for the answer. ``record``
synthesizes the app once, as main.py does, and keeps every request and answer. ``replay`` starts a
fresh kernel the same way, sends it the same requests all at once and times it, from the first
request after the assemblies are loaded to the last answer (the synth). Nothing runs on the Python
side in between and no request waits for the one before it, so the replay costs what a synth
would cost if Python and the round trips took no time: the floor that no change on the Python side
can go below. The difference between two region counts is the kernel's cost of a region.

A replay must do the work the synth did: each answer is compared with the recorded one (object
ids and token names included) and any difference is an error, not a number.

    python -O benchmarks/kernel_floor.py record DIR    # with CDKTF_CONTEXT_JSON, as for main.py

Uses two internals of jsii's Python runtime (``_NodeProcess`` and the embedded runtime files);
if a jsii release moves them, recording fails with a message saying so.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
REQUESTS, ANSWERS, NODE = "requests.jsonl", "answers.jsonl", "node.json"


class _Tee:
    """A pipe that also copies what passes through it into a list, line by line."""

    def __init__(self, stream: Any, lines: list[bytes]) -> None:
        self._stream, self._lines, self._pending = stream, lines, b""

    def write(self, data: bytes) -> int:
        self._pending += data
        *complete, self._pending = self._pending.split(b"\n")
        self._lines.extend(complete)
        return int(self._stream.write(data))

    def readline(self) -> bytes:
        line = bytes(self._stream.readline())
        self._lines.append(line.rstrip(b"\n"))
        return line

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def record(workdir: Path) -> None:
    """Synthesize the configured app into ``workdir/out`` and keep the conversation in ``workdir``."""
    sys.path.insert(0, str(ROOT))
    try:
        from jsii._kernel.providers.process import _NodeProcess
    except ImportError as error:
        raise SystemExit(f"kernel_floor: this jsii has no _NodeProcess to record ({error})") from error

    requests: list[bytes] = []
    answers: list[bytes] = []
    node: dict[str, Any] = {}
    start = _NodeProcess.start

    def recording_start(self: Any) -> None:
        node["node_options"] = os.environ.get("NODE_OPTIONS")  # the lazy loader's Node hook, if any
        start(self)  # type: ignore[no-untyped-call]  # starts Node and reads its hello
        node["argv"] = list(self._process.args)
        self._process.stdin = _Tee(self._process.stdin, requests)
        self._process.stdout = _Tee(self._process.stdout, answers)

    _NodeProcess.start = recording_start  # type: ignore[method-assign]

    from constructs_lib.app import PROJECT_DIR, build_app
    from constructs_lib.cdk.lazy_provider import fast_exit
    from constructs_lib.settings import load_settings

    build_app(load_settings(PROJECT_DIR).configs(), outdir=str(workdir / "out")).synth()
    if not node.get("argv") or not answers or len(requests) != len(answers):
        raise SystemExit("kernel_floor: the conversation with the kernel was not recorded")
    # The function packages live in a temporary directory that goes when this process ends.
    assets = workdir / "assets"
    assets.mkdir()
    for index, line in enumerate(requests):
        request = json.loads(line)
        if request.get("api") == "create" and request.get("fqn") == "cdktf.TerraformAsset":
            data = request["args"][2]["$jsii.struct"]["data"]
            kept = assets / str(index) / Path(data["path"]).name  # the name enters the output
            kept.parent.mkdir()
            shutil.copyfile(data["path"], kept)
            data["path"] = str(kept)
            requests[index] = json.dumps(request).encode()
    (workdir / REQUESTS).write_bytes(b"\n".join(requests) + b"\n")
    (workdir / ANSWERS).write_bytes(b"\n".join(answers) + b"\n")
    (workdir / NODE).write_text(json.dumps(node))
    fast_exit(0)


def runtime(workdir: Path) -> Path:
    """jsii's Node runtime, as jsii itself unpacks it for every process (into a directory that goes
    with that process): unpacked once into ``workdir/runtime``. Returns its entry point."""
    import importlib.resources

    try:
        import jsii._embedded.jsii as embedded
    except ImportError as error:
        raise SystemExit(f"kernel_floor: this jsii has no embedded runtime to start ({error})") from error

    target = workdir / "runtime"
    for resource, name in embedded.EMBEDDED_FILES.items():
        path = target / name
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(importlib.resources.files(embedded).joinpath(resource).read_bytes())
    return target / embedded.EMBEDDED_FILES[embedded.ENTRYPOINT]


def replay(recording: Path, entry: Path) -> tuple[float, float]:
    """Seconds the kernel takes for the recorded build (all requests but the last) and for the
    synth (the last), with every request sent at once."""
    requests = (recording / REQUESTS).read_bytes().splitlines(keepends=True)
    answers = (recording / ANSWERS).read_bytes().splitlines()
    node = json.loads((recording / NODE).read_text())
    env = {k: v for k, v in os.environ.items() if k != "NODE_OPTIONS"}
    if node["node_options"]:
        env["NODE_OPTIONS"] = node["node_options"]
    argv = [*node["argv"][:-1], str(entry)]
    process = subprocess.Popen(argv, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    assert process.stdin is not None and process.stdout is not None
    try:
        process.stdout.readline()  # hello
        loads = next(i for i, line in enumerate(requests) if b'"api": "load"' not in line)
        process.stdin.writelines(requests[:loads])
        process.stdin.flush()
        for index in range(loads):
            _check(index, process.stdout.readline(), answers)
        started = time.perf_counter()
        stdin = process.stdin

        def send_the_rest() -> None:
            stdin.writelines(requests[loads:])
            stdin.flush()

        writer = threading.Thread(target=send_the_rest, daemon=True)
        writer.start()
        for index in range(loads, len(requests) - 1):
            _check(index, process.stdout.readline(), answers)
        built = time.perf_counter()
        _check(len(requests) - 1, process.stdout.readline(), answers)
        done = time.perf_counter()
        writer.join()
        stdin.write(b'{"exit":0}\n')
        stdin.close()
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    return built - started, done - built


def _check(index: int, answer: bytes, recorded: list[bytes]) -> None:
    if answer.rstrip(b"\n") != recorded[index]:
        raise SystemExit(
            f"kernel_floor: the replayed kernel answered request {index} differently:\n"
            f"  recorded {recorded[index][:200]!r}\n  replayed {answer[:200]!r}"
        )


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] != "record":
        raise SystemExit(__doc__)
    record(Path(sys.argv[2]))
