"""``make rehearse``: ``make verify`` against a deployment rehearsed on this machine, with no AWS.

    python tools/rehearse.py [ENVIRONMENT] [--fault unhealthy|worker|replication] [--verbose]

1. Synthesizes the app (``python main.py``, with the settings ``make synth`` reads) into a temporary
   directory.
2. Builds ENVIRONMENT's deployment (default: the first the settings configure) from that synth
   (``tools/rehearsal.py``): moto in server mode as DynamoDB, DynamoDB Streams, EventBridge, SQS and
   CloudWatch Logs; one ``tools/serve.py`` process per region, each on a free port; the table's
   replication, the pipes and the worker's queue trigger emulated, each by what it stands for.
3. Writes the outputs file ``cdktf deploy --outputs-file`` would have written for it.
4. Runs the verification ``make verify`` runs (``tools/verify.py ENVIRONMENT --outdir <the synth>
   --outputs-file <the file>``, with waits sized for a local run) against it, and exits with its code.

Everything it started is stopped, and its temporary directory removed, on every way out: success,
failure, Ctrl-C, SIGTERM. The API key is made up for the run and reaches the local APIs and verify
through their environment and the outputs file (in the temporary directory): it is never printed.

``--fault`` breaks one thing on purpose, to see verify catch it: ``unhealthy`` (the last region's API
reads a table that does not exist), ``worker`` (the worker expects events of another source: every
event fails, and reaches the dead-letter queue), ``replication`` (the table's copies do not replicate).
``--verbose`` shows what the local APIs and the worker print.

Exit code: verify's (0 every check passed, 1 one failed); 2 with one ``error:`` line for what cannot
be rehearsed (an unknown environment, ``api_auth`` iam or cognito, a synth that fails); 130 on Ctrl-C.
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import deque
from collections.abc import Sequence
from pathlib import Path
from types import FrameType
from typing import NoReturn

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from constructs_lib.settings import ConfigError, StackConfig, load_settings  # noqa: E402
from tools.rehearsal import FAULTS, Api, LocalAws, Rehearsal, RehearsalError, read_stacks  # noqa: E402

KEY_VARIABLE = "IAC_REHEARSAL_API_KEY"  # how the local APIs get the key: not on their command line
START_SECONDS = 30  # for a local API to say where it listens
# The AWS settings of the user's shell stay out of every child: the rehearsal talks to moto only.
_AWS_VARIABLES = re.compile(r"^AWS_|^IAC_API_KEY$|^IAC_ID_TOKEN$")
# verify's waits: generous for this machine, short enough that a fault fails within seconds.
VERIFY_WAITS = ["--request-timeout", "5", "--health-wait", "10", "--replication-wait", "10"]
VERIFY_WAITS += ["--processing-wait", "20", "--poll-interval", "0.2"]


class Stopped(Exception):
    """SIGTERM: end as Ctrl-C does, everything stopped."""


def _stop(signum: int, frame: FrameType | None) -> NoReturn:
    raise Stopped(signum)


def child_environment(aws: LocalAws | None = None) -> dict[str, str]:
    """This process's environment without any AWS setting or credential, with moto's (once it runs)."""
    env = {k: v for k, v in os.environ.items() if not _AWS_VARIABLES.match(k)}
    env.update(PYTHONDONTWRITEBYTECODE="1", AWS_CONFIG_FILE=os.devnull, AWS_SHARED_CREDENTIALS_FILE=os.devnull)
    return {**env, **(aws.environ if aws is not None else {})}


class LocalApis:
    """One ``tools/serve.py`` process per region, each on a free port (it says which)."""

    def __init__(self, aws: LocalAws, verbose: bool) -> None:
        self._aws, self._verbose = aws, verbose
        self.processes: list[subprocess.Popen[str]] = []

    def launch(self, api: Api) -> str:
        argv = [sys.executable, str(ROOT / "tools" / "serve.py"), "--host", "127.0.0.1", "--port", "0"]
        argv += ["--stage", api.stage, "--region", api.region, "--project", api.project]
        env = {**child_environment(self._aws), **api.environment}
        if api.api_key is not None:
            argv += ["--api-key-env", KEY_VARIABLE]
            env[KEY_VARIABLE] = api.api_key
        # A session of its own: a terminal's Ctrl-C reaches this process and verify (which then deletes
        # its items through these APIs), not the APIs; stop() ends them after verify.
        process = subprocess.Popen(
            argv,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        self.processes.append(process)
        lines: queue.Queue[str | None] = queue.Queue()
        recent: deque[str] = deque(maxlen=20)
        started = threading.Event()
        drain = threading.Thread(target=self._drain, args=(process, api.region, lines, recent, started), daemon=True)
        drain.start()
        deadline = time.monotonic() + START_SECONDS
        while True:
            try:
                line = lines.get(timeout=max(0.1, deadline - time.monotonic()))
            except queue.Empty:
                raise RehearsalError(f"{api.region}'s local API did not start within {START_SECONDS} s") from None
            if line is None:
                said = " | ".join(recent) or "nothing"
                raise RehearsalError(f"{api.region}'s local API exited ({process.wait()}); it said: {said}")
            found = re.search(r" on (http://\S+)/api$", line)
            if found:
                started.set()
                return found.group(1)

    def _drain(
        self,
        process: subprocess.Popen[str],
        region: str,
        lines: queue.Queue[str | None],
        recent: deque[str],
        started: threading.Event,
    ) -> None:
        """Read what the API prints until it exits: handed over until it has started, then kept
        (the last lines) or, with --verbose, shown."""
        assert process.stdout is not None
        for line in process.stdout:
            line = line.rstrip("\n")
            recent.append(line)
            if not started.is_set():
                lines.put(line)
            if self._verbose:
                print(f"[api {region}] {line}", file=sys.stderr, flush=True)
        lines.put(None)

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def environment_of(name: str | None) -> StackConfig:
    try:
        configs = load_settings(ROOT).configs()
    except ConfigError as error:
        raise RehearsalError(f"invalid configuration: {error}") from None
    config = configs[0] if name is None else next((c for c in configs if c.environment == name), None)
    if config is None:
        known = ", ".join(c.environment for c in configs)
        raise RehearsalError(f"unknown environment {name!r}: the settings configure {known}")
    if config.api_auth in ("iam", "cognito"):
        raise RehearsalError(
            f"{config.environment}'s api_auth is {config.api_auth}: the local API (tools/serve.py) knows API keys "
            "only; rehearse an environment with api_key or none"
        )
    return config


def synthesize(workdir: Path) -> Path:
    """``python main.py`` into ``workdir/synth`` (its temporary files in ``workdir`` too)."""
    outdir, scratch = workdir / "synth", workdir / "tmp"
    scratch.mkdir()
    env = {**child_environment(), "CDKTF_OUTDIR": str(outdir), "TMPDIR": str(scratch)}
    result = subprocess.run(
        [sys.executable, str(ROOT / "main.py")], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600
    )
    if result.returncode != 0:
        said = (result.stderr.strip().splitlines() or ["no message"])[-1]
        raise RehearsalError(f"the synth failed (exit {result.returncode}): {said}")
    return outdir


class Run:
    """One rehearsal: what it started, stopped in ``close`` whatever happened."""

    def __init__(self, config: StackConfig, args: argparse.Namespace) -> None:
        self.config, self.args = config, args
        self.workdir = Path(tempfile.mkdtemp(prefix="iac-rehearsal-"))
        self.aws: LocalAws | None = None
        self.apis: LocalApis | None = None
        self.rehearsal: Rehearsal | None = None
        self.verify: subprocess.Popen[str] | None = None

    def say(self, text: str) -> None:
        print(f"rehearse {self.config.environment}: {text}", flush=True)

    def start(self) -> Path:
        """Synth, build, and the outputs file; its path."""
        self.say("synthesizing (python main.py, a few seconds) ...")
        stacks = read_stacks(synthesize(self.workdir), self.config)
        self.aws = LocalAws()
        self.apis = LocalApis(self.aws, self.args.verbose)
        self.rehearsal = Rehearsal.build(
            self.config,
            stacks,
            self.aws,
            self.apis.launch,
            api_key=secrets.token_urlsafe(24) if self.config.api_auth == "api_key" else None,
            fault=self.args.fault,
            log=lambda line: print(line, file=sys.stderr, flush=True),
        )
        if self.args.verbose:
            threading.Thread(target=self._echo_worker_logs, daemon=True).start()
        path = self.workdir / "outputs.json"
        path.write_text(json.dumps(self.rehearsal.outputs_document(), indent=2), encoding="utf-8")
        path.chmod(0o600)  # it holds the (made-up) key
        regions = ", ".join(self.config.regions)
        self.say(f"moto at {self.aws.endpoint}, a local API and a worker in each of {regions}")
        return path

    def _echo_worker_logs(self) -> None:
        seen: dict[str, int] = {}
        while self.rehearsal is not None:
            for function in list(self.rehearsal.functions):
                for line in function.shipped[seen.get(function.name, 0) :]:
                    print(f"[{function.name}] {line}", file=sys.stderr, flush=True)
                seen[function.name] = len(function.shipped)
            time.sleep(0.2)

    def run_verify(self, outputs_file: Path) -> int:
        argv = [sys.executable, str(ROOT / "tools" / "verify.py"), self.config.environment]
        argv += ["--outdir", str(self.workdir / "synth"), "--outputs-file", str(outputs_file), *VERIFY_WAITS]
        self.say(f"make verify ENV={self.config.environment}, against it (tools/verify.py)")
        assert self.aws is not None
        self.verify = subprocess.Popen(argv, env=child_environment(self.aws), stdin=subprocess.DEVNULL, text=True)
        return self.verify.wait()

    def close(self, interrupted: bool) -> None:
        """Stop everything started, in reverse order, and remove the temporary directory."""
        if self.verify is not None and self.verify.poll() is None:
            if not interrupted:
                self.verify.terminate()
            try:
                self.verify.wait(timeout=15)  # Ctrl-C reached it too: it cleans up
            except subprocess.TimeoutExpired:
                self.verify.kill()
                self.verify.wait()
        rehearsal, self.rehearsal = self.rehearsal, None
        if rehearsal is not None:
            rehearsal.stop()
        if self.apis is not None:
            self.apis.stop()
        if self.aws is not None:
            self.aws.stop()
        shutil.rmtree(self.workdir, ignore_errors=True)
        if self.workdir.exists():
            self.say(f"stopped everything it started, but could not remove {self.workdir}")
        else:
            self.say("stopped everything it started; nothing left on disk")


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="tools/rehearse.py", description=(__doc__ or "").splitlines()[0])
    parser.add_argument("environment", nargs="?", metavar="ENVIRONMENT", help="default: the first configured")
    parser.add_argument("--fault", choices=FAULTS, help="break one thing on purpose, to see verify catch it")
    parser.add_argument("--verbose", action="store_true", help="show what the local APIs and the worker print")
    return parser.parse_args(argv)


def main(argv: Sequence[str]) -> int:
    args = parse_args(argv)
    try:
        config = environment_of(args.environment)
    except RehearsalError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    signal.signal(signal.SIGTERM, _stop)
    run = Run(config, args)
    interrupted = False
    try:
        return run.run_verify(run.start())
    except RehearsalError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except (KeyboardInterrupt, Stopped) as stop:
        interrupted = isinstance(stop, KeyboardInterrupt)
        signum = stop.args[0] if isinstance(stop, Stopped) else signal.SIGINT
        print(f"rehearse: interrupted ({signal.Signals(signum).name})", file=sys.stderr, flush=True)
        return 128 + int(signum)
    finally:
        # A second Ctrl-C or SIGTERM must not cut the clean-up short.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        run.close(interrupted)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
