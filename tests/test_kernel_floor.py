"""The benchmark's kernel replay (benchmarks/kernel_floor.py), against a stand-in kernel: `make bench`
runs it on real synths; here, that it keeps whole lines, sends everything, and refuses a replay
that answers differently from the recording."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))

import kernel_floor

# Answers each request line with its number of characters; a request with "shift" in it gets one
# more, so a recording made without the shift no longer matches.
FAKE_KERNEL = """
import sys
print("hello", flush=True)
for line in sys.stdin:
    if line.startswith('{"exit"'):
        break
    print('{"ok":%d}' % (len(line.rstrip()) + ("shift" in line)), flush=True)
"""


def test_tee_keeps_whole_lines_of_chunked_writes_and_reads() -> None:
    written: list[bytes] = []
    sink = io.BytesIO()
    tee = kernel_floor._Tee(sink, written)
    for chunk in (b'{"a": 1}\n{"b"', b": 2}\n", b'{"c": 3}'):
        tee.write(chunk)
    assert written == [b'{"a": 1}', b'{"b": 2}']  # the third is not finished yet
    assert sink.getvalue() == b'{"a": 1}\n{"b": 2}\n{"c": 3}'

    read: list[bytes] = []
    source = kernel_floor._Tee(io.BytesIO(b'{"ok": 1}\n{"ok": 2}\n'), read)
    assert source.readline() == b'{"ok": 1}\n'
    assert read == [b'{"ok": 1}']


def _recording(tmp_path: Path, requests: list[str]) -> tuple[Path, Path]:
    kernel = tmp_path / "kernel.py"
    kernel.write_text(FAKE_KERNEL)
    recording = tmp_path / "recording"
    recording.mkdir()
    (recording / kernel_floor.REQUESTS).write_text("".join(f"{r}\n" for r in requests))
    (recording / kernel_floor.ANSWERS).write_text("".join(f'{{"ok":{len(r)}}}\n' for r in requests))
    (recording / kernel_floor.NODE).write_text(json.dumps({"argv": [sys.executable, "kernel"], "node_options": None}))
    return recording, kernel


LOADS = ['{"name": "constructs", "api": "load"}', '{"name": "cdktf", "api": "load"}']


def test_replay_sends_every_request_and_times_the_build_and_the_synth(tmp_path: Path) -> None:
    # ~0.6 MB each way: far more than a pipe holds, so sending and reading must go on together.
    requests = [*LOADS, *(f'{{"fqn": "x{i}", "api": "create"}}' for i in range(20000)), '{"api": "invoke"}']
    recording, kernel = _recording(tmp_path, requests)
    build, synth = kernel_floor.replay(recording, kernel)
    # The build is everything up to the synth's request (20,000 creates), the synth that one.
    assert build > synth > 0


def test_replay_refuses_a_kernel_that_answers_differently(tmp_path: Path) -> None:
    requests = [*LOADS, '{"fqn": "a", "api": "create"}', '{"fqn": "shift", "api": "create"}', '{"api": "invoke"}']
    recording, kernel = _recording(tmp_path, requests)
    with pytest.raises(SystemExit, match="answered request 3 differently"):
        kernel_floor.replay(recording, kernel)
