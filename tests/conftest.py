"""Shared fixtures: each distinct app is synthesized once per run, shared by pytest-xdist's workers.

Loading the CDK and the provider bindings is paid once per process; after that, most of a synth is
its regional stacks. So tests share synthesized output instead of each synthesizing its own, add
the settings they need to a shared app (CUSTOM, OPEN, VARIANTS, ...), and synthesize only the stack
they read where that is all they read (docs/performance.md, The test suite).
"""

from __future__ import annotations

import atexit
import contextlib
import dataclasses
import fcntl
import gc
import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

# Helpers that assert, shared by test modules: their failures explained as a test's are.
pytest.register_assert_rewrite("serve_cli")

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
# Bytecode, pytest's rewritten test modules included, goes to one cache outside the sources: none may
# land in lambda_src/ or canary_src/ (each is zipped as it is), and a second run skips the rewriting.
sys.pycache_prefix = str(ROOT / ".cache" / "pycache")
sys.dont_write_bytecode = False
# Every temporary file of the session (pytest's, cdktf's Testing apps, jsii's, the children's, the
# project copies) in one directory that goes when the session ends: a run leaves nothing in /tmp.
SESSION_TMP = tempfile.mkdtemp(prefix="iac-suite-")
os.environ["TMPDIR"] = tempfile.tempdir = SESSION_TMP

from constructs_lib.settings import StackConfig


def _memoize_jsii_type_hints() -> None:
    """The bindings check the arguments of every call with typeguard (the suite keeps the checks on:
    a synth runs without them, under ``python -O``), and each check first evaluates the type hints
    of the call's stub, a function of string annotations, with ``typing.get_type_hints``: a quarter
    of the Python side of a synth, for the same answer every time. Here each stub's hints are
    evaluated once; every check still runs, against the same hints."""
    import typing

    evaluate = typing.get_type_hints
    known: dict[Any, dict[str, Any]] = {}

    def get_type_hints(obj: Any, globalns: Any = None, localns: Any = None, include_extras: bool = False) -> Any:
        if globalns is None and localns is None and not include_extras:
            if getattr(obj, "__name__", "").startswith("_typecheckingstub__"):
                if obj not in known:
                    known[obj] = evaluate(obj)
                return dict(known[obj])
        return evaluate(obj, globalns, localns, include_extras)

    typing.get_type_hints = get_type_hints


_memoize_jsii_type_hints()

# Set by a make that runs the suite (`make test`): a make the tests start would act as a sub-make.
_MAKE_VARIABLES = ("MAKEFLAGS", "MAKELEVEL", "MFLAGS", "MAKEOVERRIDES", "MAKE_TERMOUT", "MAKE_TERMERR")


def subprocess_env(**overrides: str) -> dict[str, str]:
    """The environment for running the app (or make) in a child process, as from a user's shell: no
    context, switches or make state leak in."""
    dropped = ("CDKTF_CONTEXT_JSON", "CDKTF_OUTDIR", "IAC_LAZY_PROVIDER", *_MAKE_VARIABLES)
    env = {k: v for k, v in os.environ.items() if k not in dropped}
    env.update(JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION="20", PYTHONDONTWRITEBYTECODE="1")
    env.update(overrides)
    return env


def parallel_worker() -> bool:
    """This process is one of several running the suite (pytest-xdist: ``make test`` runs two)."""
    return "PYTEST_XDIST_WORKER" in os.environ


class BackgroundRun:
    """A child process that runs while other tests run; ``result()`` waits for it. For the few
    checks that need a fresh interpreter (the app as a user runs it, make as typed). Alone, it starts
    when its test module is collected (on the second core); under pytest-xdist, where every worker
    collects every module, it starts when its module's first test runs in a worker (the other
    worker keeps the second core busy), so it runs once."""

    _running: list[subprocess.Popen[str]] = []
    _waiting: dict[str, list[BackgroundRun]] = {}  # by module, not yet started

    def __init__(
        self,
        argv: list[str] | Callable[[], list[str]],
        *,
        env: dict[str, str],
        cwd: Path | Callable[[], Path] | None = None,
        seed: Callable[[Path], None] | None = None,
    ) -> None:
        """``seed(workdir)`` puts files in the working directory before the process starts; ``argv``
        and ``cwd`` may be made then too (a project copy is work: only where the run happens)."""
        self._argv, self._env, self._cwd, self._seed = argv, env, cwd, seed
        self._process: subprocess.Popen[str] | None = None
        self._result: subprocess.CompletedProcess[str] | None = None
        self.workdir = Path(tempfile.mkdtemp(prefix="iac-test-"))
        if parallel_worker():
            self._waiting.setdefault(sys._getframe(1).f_globals["__name__"], []).append(self)
        else:
            self.start()

    def start(self) -> None:
        if self._process is not None:
            return
        if self._seed is not None:
            self._seed(self.workdir)
        argv = self._argv() if callable(self._argv) else self._argv
        cwd = self._cwd() if callable(self._cwd) else self._cwd
        self._process = subprocess.Popen(
            argv, cwd=cwd or self.workdir, env=self._env, text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        self._running.append(self._process)

    def result(self, timeout: float = 600) -> subprocess.CompletedProcess[str]:
        if self._result is None:
            self.start()
            assert self._process is not None
            stdout, stderr = self._process.communicate(timeout=timeout)
            self._result = subprocess.CompletedProcess(self._process.args, self._process.returncode, stdout, stderr)
        return self._result

    @classmethod
    def start_for(cls, module: str) -> None:
        for run in cls._waiting.pop(module, []):
            run.start()

    @classmethod
    def stop_all(cls) -> None:
        for process in cls._running:
            if process.poll() is None:
                process.kill()


def _end_of_session() -> None:
    BackgroundRun.stop_all()
    shutil.rmtree(SESSION_TMP, ignore_errors=True)


atexit.register(_end_of_session)


def pytest_configure(config: pytest.Config) -> None:
    # Under pytest-xdist a module's background runs and fixtures are made once only if its tests
    # stay in one worker.
    workers = getattr(config.option, "numprocesses", None)
    if workers and getattr(config.option, "dist", "no") not in ("loadscope", "loadfile"):
        raise pytest.UsageError("with -n, use --dist loadscope (as make test does) or --dist loadfile")
    if not workers or hasattr(config, "workerinput"):  # a process that collects (not pytest-xdist's controller)
        gc.disable()  # while collection imports the CDK and its bindings: nothing there is garbage
    config.addinivalue_line(
        "markers", "after_background: waits for a BackgroundRun; runs at the end of the session, so the wait overlaps"
    )


def pytest_collection_finish(session: pytest.Session) -> None:
    """The cyclic garbage collector, tuned for a test run: what collection loaded (the CDK and its
    bindings, moto, boto3: millions of objects) stays for the whole run, so it is frozen out of the
    collector's way (``gc.freeze``), as is what each module leaves (session fixtures, modules loaded
    on first use: ``pytest_runtest_setup``); and young objects are collected after 10,000
    allocations, not 700. (During collection the collector is off: ``pytest_configure``.) Without
    this, full collections went through all of it again and again: about a tenth of the suite's
    time. Garbage in a cycle that outlives its module stays until the process ends."""
    gc.set_threshold(10_000, 10, 10)
    gc.freeze()
    gc.enable()


_module_running: list[str] = []


def pytest_runtest_setup(item: pytest.Item) -> None:
    """Under pytest-xdist: a module's background runs start with its first test in this worker. As
    each module starts, what the one before left is frozen (``pytest_collection_finish``)."""
    module = getattr(item, "module", None)
    if module is not None:
        BackgroundRun.start_for(module.__name__)
        if _module_running[-1:] != [module.__name__]:
            _module_running[:] = [module.__name__]
            gc.freeze()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The tests marked ``after_background`` go last (in their order): the child they wait for has
    the whole session to finish on the second core, instead of holding up every test after them."""
    waiting = [item for item in items if item.get_closest_marker("after_background")]
    items[:] = [item for item in items if not item.get_closest_marker("after_background")] + waiting


# What each engine writes that the other does not (everything else is the same JSON): the CDK's
# version in the metadata, and the AWS provider it pins. Snapshots are cdktf's.
ENGINE_JSON = {
    "cdktf": {"version": "0.21.0", "aws": {"source": "aws", "version": "6.25.0"}},
    "cdktn": {"version": "0.24.0", "aws": {"source": "hashicorp/aws", "version": "6.69.1"}},
}


def engine_name() -> str:
    from constructs_lib.cdk.engine import current

    return current().name


def as_cdktf(stack: dict[str, Any], engine: str | None = None) -> dict[str, Any]:
    """A stack's JSON with the values only ``engine`` (default: this process's) writes checked to be
    exactly its own and replaced by cdktf's: the same infrastructure compares equal."""
    engine = engine or engine_name()
    stack = json.loads(json.dumps(stack))
    metadata, providers = stack["//"]["metadata"], stack["terraform"]["required_providers"]
    assert (metadata["version"], providers["aws"]) == (ENGINE_JSON[engine]["version"], ENGINE_JSON[engine]["aws"])
    metadata["version"], providers["aws"] = ENGINE_JSON["cdktf"]["version"], ENGINE_JSON["cdktf"]["aws"]
    return stack


def project_copy() -> Path:
    """A copy of the project's files as they are in the working tree, in a git repository of its
    own (one commit), with the project's environments (.venv, node_modules, and CDK Terrain's where
    installed) linked in: for running the
    commands a user types (make, npx cdktf) without touching the checkout."""
    target = Path(tempfile.mkdtemp(prefix="iac-project-"))
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.split(b"\0")
    for name in (n.decode() for n in listed if n):
        source = ROOT / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)  # mtimes kept: make sees its installs as current
    for link in (".venv", "node_modules", ".venv-cdktn", "engines/cdktn/node_modules"):
        if (ROOT / link).exists():
            (target / link).symlink_to(ROOT / link)
    git = ["git", "-c", "user.name=test", "-c", "user.email=test@example.com"]
    for command in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "base"]):
        subprocess.run([*git, *command], cwd=target, check=True, capture_output=True)
    return target


def files(outdir: Path) -> dict[str, bytes]:
    """Every file under a directory, by relative path: to compare two synth outputs byte for byte."""
    return {p.relative_to(outdir).as_posix(): p.read_bytes() for p in sorted(outdir.rglob("*")) if p.is_file()}


class Synth:
    """A synthesized app: its output directory and each stack's parsed JSON."""

    def __init__(self, outdir: Path) -> None:
        self.outdir = outdir
        self.stacks: dict[str, dict[str, Any]] = {
            d.name: json.loads((d / "cdk.tf.json").read_text()) for d in sorted((outdir / "stacks").iterdir())
        }

    def stack(self, name: str | None = None) -> dict[str, Any]:
        """The named stack; without a name, the only environment's stacks merged into one view
        (``environment()``)."""
        if name is None:
            return self.environment()
        if name not in self.stacks and f"{name}-global" in self.stacks:
            return self.environment(name)
        return self.stacks[name]

    def environment(self, prefix: str | None = None) -> dict[str, Any]:
        """Every stack of one environment (named ``prefix-...``; without a prefix, the only
        environment) merged: resources, data sources and providers of all its stacks, and each
        output whose per-region maps are joined. For rules that hold over every resource,
        whichever stack holds it; what a stack references is checked stack by stack."""
        merged: dict[str, Any] = {"resource": {}, "data": {}, "provider": {"aws": []}, "output": {}}
        for stack in self.environment_stacks(prefix).values():
            for block in ("resource", "data"):
                for kind, items in stack.get(block, {}).items():
                    merged[block].setdefault(kind, {}).update(items)
            merged["provider"]["aws"] += [p for p in stack["provider"]["aws"] if p not in merged["provider"]["aws"]]
            for output, body in stack.get("output", {}).items():
                known = merged["output"].setdefault(output, json.loads(json.dumps(body)))
                if isinstance(body["value"], dict) and known is not body:
                    known["value"] = {**known["value"], **body["value"]}
        return merged

    def environment_stacks(self, prefix: str | None = None) -> dict[str, dict[str, Any]]:
        """The environment's stacks by name (global, regions, edge)."""
        names = [n for n in self.stacks if not n.endswith("-bootstrap")]
        if prefix is None:
            [prefix] = {n.rsplit("-global", 1)[0] for n in names if n.endswith("-global")}
        return {n: self.stacks[n] for n in names if n.startswith(prefix + "-")}


def synth_app(configs: list[StackConfig], outdir: Path, **kwargs: Any) -> Synth:
    from constructs_lib.app import build_app

    build_app(configs, outdir=str(outdir), **kwargs).synth()
    return Synth(outdir)


def synth_parts(configs: list[StackConfig], outdir: Path, only: tuple[str, ...]) -> Synth:
    """An app of some of the stacks only: of each environment its ``"global"`` or ``"edge"`` stack,
    or the stack of a region it names, and the ``"bootstrap"`` stack. No stack references another
    (tests/test_stack_isolation.py), so each is the same JSON as in the whole app (checked there),
    for the price of that stack alone: most of a synth is its regional stacks."""
    from constructs_lib.app import LAMBDA_SRC, TARGET_VERSIONS
    from constructs_lib.cdk.core import App
    from constructs_lib.stacks.bootstrap import BootstrapConfig, BootstrapStack
    from constructs_lib.stacks.edge import EdgeStack
    from constructs_lib.stacks.global_stack import GlobalStack
    from constructs_lib.stacks.regional_stack import RegionalStack

    app = App(outdir=str(outdir), context={"targetVersions": dict(TARGET_VERSIONS)})
    for config in configs:
        if "global" in only:
            GlobalStack(app, config)
        for region in (r for r in config.regions if r in only):
            RegionalStack(app, config, region, source_dir=LAMBDA_SRC)
        if "edge" in only:
            EdgeStack(app, config)
    if "bootstrap" in only:
        BootstrapStack(app, BootstrapConfig.from_stacks(configs))
    app.synth()
    return Synth(outdir)


class SynthCache:
    """Each distinct app synthesized once per run, in a directory of the run's that every process of
    it shares: under pytest-xdist the first worker to ask for an app synthesizes it (holding the
    app's lock) while another that asks for it meanwhile waits, then reads the same files. A synth
    is deterministic (the same bytes in any process: tests/test_main.py, tests/test_snapshot.py),
    so which process made it does not matter; a worker that dies mid-synth releases the lock and
    the next one starts afresh."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._here: dict[str, Synth] = {}

    def get(self, key: str, make: Callable[[Path], Synth]) -> Synth:
        if key not in self._here:
            entry = self.root / hashlib.sha256(key.encode()).hexdigest()[:24]
            entry.mkdir(parents=True, exist_ok=True)
            with open(entry / "lock", "w") as lock:
                fcntl.flock(lock, fcntl.LOCK_EX)
                if not (entry / "done").exists():
                    shutil.rmtree(entry / "out", ignore_errors=True)
                    make(entry / "out")
                    (entry / "done").write_text(key)
            self._here[key] = Synth(entry / "out")
        return self._here[key]


# The run's shared synths: in the directory of the process that started the run (pytest-xdist's
# controller hands it to its workers).
SYNTHS = Path(SESSION_TMP) / "synths"


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    node.workerinput["iac_synths"] = str(SYNTHS)


@pytest.fixture(scope="session")
def synth_cache(pytestconfig: pytest.Config) -> SynthCache:
    workerinput = getattr(pytestconfig, "workerinput", {})
    return SynthCache(Path(workerinput.get("iac_synths", SYNTHS)))


@pytest.fixture(scope="session")
def synth(synth_cache: SynthCache) -> Callable[..., Synth]:
    """``synth(StackConfig(...), ...)``: the synthesized app of these configurations, made once per
    run (``SynthCache``). ``only=("global",)`` and the like: only those stacks (``synth_parts``),
    where a test reads nothing else."""

    def _synth(*configs: StackConfig, only: tuple[str, ...] = ()) -> Synth:
        key = repr((engine_name(), configs, only))
        if only:
            return synth_cache.get(key, lambda outdir: synth_parts(list(configs), outdir, only))
        return synth_cache.get(key, lambda outdir: synth_app(list(configs), outdir))

    return _synth


@dataclass(frozen=True)
class MainRun:
    """What ``main()`` returned, printed and wrote."""

    code: int
    stdout: str
    stderr: str
    synth: Synth


def stale_stack(outdir: Path) -> None:
    """A stack an earlier synth left in ``outdir`` that is no longer configured."""
    (outdir / "stacks" / "iac-aws-nova-prod").mkdir(parents=True)
    (outdir / "stacks" / "iac-aws-nova-prod" / "cdk.tf.json").write_text("{}")


def main_into(outdir: Path) -> Synth:
    """``python main.py``'s ``main()`` in this process, with the repository's settings, into
    ``outdir`` over a stack no longer configured; what it returned and printed goes beside it."""
    from constructs_lib import app

    stale_stack(outdir)
    out, err = io.StringIO(), io.StringIO()
    with pytest.MonkeyPatch.context() as patch, contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        for name in ("CDKTF_CONTEXT_JSON", "SYNTH_HCL_OUTPUT"):
            patch.delenv(name, raising=False)
        patch.setenv("CDKTF_OUTDIR", str(outdir))
        code = app.main([])
    printed = {"code": code, "stdout": out.getvalue(), "stderr": err.getvalue()}
    (outdir.parent / "main.json").write_text(json.dumps(printed))
    return Synth(outdir)


@pytest.fixture(scope="session")
def main_run(synth_cache: SynthCache) -> MainRun:
    """``main()`` with the repository's settings (the default app), once per run (as typed, in a
    process of its own: tests/slow/test_main_as_typed.py)."""
    made = synth_cache.get(repr((engine_name(), "main()")), main_into)
    printed = json.loads((made.outdir.parent / "main.json").read_text())
    return MainRun(printed["code"], printed["stdout"], printed["stderr"], made)


def main_summary_problems(stdout: str) -> list[str]:
    """What is wrong with main()'s summary of the default app: it names where the settings came
    from, and each stack in the order they deploy (the environment's global stack, its regions,
    home first, its edge; then the bootstrap stack)."""
    stacks = [line.split(":")[0].strip() for line in stdout.splitlines()[1:]]
    expected = ["iac-aws-nova-dev-global", "iac-aws-nova-dev-us-east-1", "iac-aws-nova-dev-us-west-2"]
    expected += ["iac-aws-nova-dev-edge", "iac-aws-nova-bootstrap"]
    problems = [] if stacks == expected else [f"stacks {stacks}, not {expected}"]
    origin = f"(settings: settings.json; engine {engine_name()}):"
    for wanted in ("iac-aws-nova-dev-global:", "(regions us-east-1, us-west-2)", origin):
        if wanted not in stdout:
            problems.append(f"no {wanted!r}")
    return problems


_after_default_synth: dict[str, list[Callable[[Synth, Callable[..., Synth]], None]]] = {}


def after_default_synth(callback: Callable[[Synth, Callable[..., Synth]], None]) -> Callable[..., None]:
    """Register ``callback(default_synth, synth)`` to run (in the main thread, where jsii lives) as
    soon as the default app is synthesized: it can start slow work on that output in the background.
    Under pytest-xdist, only in the worker that runs the callback's module, when it starts to."""
    _after_default_synth.setdefault(callback.__module__, []).append(callback)
    return callback


@pytest.fixture(scope="session")
def default_synth(synth: Callable[..., Synth]) -> Synth:
    result = synth(StackConfig())
    if not parallel_worker():
        for module in list(_after_default_synth):
            for callback in _after_default_synth.pop(module):
                callback(result, synth)
    return result


@pytest.fixture(autouse=True, scope="module")
def _after_default_synth_of_this_module(request: pytest.FixtureRequest) -> None:
    callbacks = _after_default_synth.pop(request.module.__name__, [])
    if callbacks:
        result, synth = request.getfixturevalue("default_synth"), request.getfixturevalue("synth")
        for callback in callbacks:
            callback(result, synth)


@pytest.fixture(scope="session")
def dev(default_synth: Synth) -> dict[str, Any]:
    """The default environment stack's JSON."""
    return default_synth.stack()


# One single-region environment with every non-default setting the construct tests look at, and
# one with the insecure opt-outs: two synths instead of a dozen.
CUSTOM = StackConfig(
    regions=("eu-west-1",),
    environment="prod",
    tags={"CostCenter": "42"},
    state_bucket="acme-tfstate",
    state_region="eu-west-1",
    vpc_cidrs={"eu-west-1": "172.16.8.0/22"},
    lambda_runtime="python3.13",
    lambda_memory_mb=512,
    lambda_timeout_seconds=10,
    lambda_reserved_concurrency=20,
    lambda_provisioned_concurrency=2,
    lambda_provisioned_concurrency_max=20,
    lambda_provisioned_concurrency_target_utilization=0.6,
    lambda_provisioned_concurrency_schedules=[
        {"name": "weekday-mornings", "cron": "0 7 ? * MON-FRI *", "min": 10, "max": 20},
        {"name": "weekday-evenings", "cron": "0 19 ? * MON-FRI *", "min": 2, "max": 20},
    ],
    api_auth="iam",
    api_throttle_rate_per_second=7.5,
    api_throttle_burst_requests=15,
    api_cache_size_gb=0.5,
    api_max_request_body_kb=32,
    waf_rate_limit_per_5_minutes=500,
    # A custom domain without us-east-1 among the regions: the health alarms need a provider there.
    domain_name="api.example.org",
    hosted_zone_id="Z0123456789ABCDEFGHIJ",
    table_deletion_protection=False,
    backup_retention_days=7,
    queue_max_receive_count=3,
    worker_memory_mb=256,
    worker_timeout_seconds=60,
    worker_max_concurrency=7,
    alarm_queue_age_threshold_seconds=300,
    alarm_email="ops@example.org",
    # Two more subscriptions (one for ALARM only), and the alarm on no traffic.
    alarm_subscriptions=[
        {"protocol": "https", "endpoint": "https://pager.example.com/hook", "only_alarm": True},
        {"protocol": "sqs", "endpoint": "arn:aws:sqs:eu-west-1:123456789012:alarms"},
    ],
    alarm_no_traffic_minutes=15,
)
OPEN = StackConfig(regions=("eu-west-1",), api_auth="none", waf_enabled=False, backup_enabled=False)
# Three regions, the first the home region: a region added to the default app.
THREE_REGIONS = StackConfig(regions=("us-east-1", "us-west-2", "eu-west-1"), home_region="us-east-1")
# CUSTOM with its network moved: a change that replaces resources and costs nothing.
CUSTOM_MOVED = dataclasses.replace(CUSTOM, vpc_cidrs={"eu-west-1": "172.16.12.0/22"})
# Global routing over two regions, one of them us-east-1, with the home region listed second;
# also alarm e-mail and pinned zones over more than one region.
GLOBAL = StackConfig(
    regions=("us-east-1", "eu-west-1"),
    home_region="eu-west-1",
    domain_name="api.example.com",
    hosted_zone_id="Z0123456789ABCDEFGHIJ",
    alarm_email="oncall@example.com",
    alarm_errors_threshold=3,
    availability_zone_ids={"us-east-1": ["use1-az4", "use1-az6"], "eu-west-1": ["euw1-az1", "euw1-az3"]},
)


# The security gate scans these stacks too (tests/test_security_gate.py): one app, two environments.
VARIANTS = {
    "project_name": "variant",
    "regions": ["eu-west-1"],
    # The variants' bootstrap stack (scanned by the security gate) makes AWS Config's recorder too.
    "config_recorder": True,
    "environments": {
        # Two regions: one user pool (the home region's) that every region's authorizer trusts.
        "cognito": {
            "regions": ["eu-west-1", "eu-central-1"],
            "home_region": "eu-west-1",
            "api_auth": "cognito",
            "table_deletion_protection": False,
            "api_cache_size_gb": 0.5,
            "availability_zone_ids": {"eu-west-1": ["euw1-az1", "euw1-az2"]},
            # A gradual rollout in every region: CodeDeploy's application and groups in each.
            "deployment_strategy": "linear_10_percent_every_minute",
        },
        # With a custom domain: certificates, custom domains, health checks, records, and the
        # health alarms' own provider, key and topic in us-east-1.
        "iam": {
            "api_auth": "iam",
            "alarm_email": "ops@example.com",
            "domain_name": "api.example.com",
            "hosted_zone_id": "Z0123456789ABCDEFGHIJ",
        },
        # CloudFront in front of two regions outside us-east-1 (so the edge stack's us-east-1 key is
        # its own): the distribution, its certificate and web ACL, the origin name, the regional
        # WAFs' origin rule, and a canary that sends the origin header.
        "cdn": {
            "regions": ["eu-west-1", "us-west-2"],
            "home_region": "eu-west-1",
            "domain_name": "api.example.org",
            "hosted_zone_id": "Z0123456789ABCDEFGHIJ",
            "cdn_enabled": True,
            "canary_interval_minutes": 5,
        },
        # What watches and warms: a canary, provisioned concurrency that scales on a schedule, and
        # alarm subscriptions; and application secrets (their endpoint and grants). A canary rollout
        # of that warm alias.
        "watched": {
            "deployment_strategy": "canary_10_percent_5_minutes",
            "secrets": ["db-password"],
            "canary_interval_minutes": 5,
            "lambda_provisioned_concurrency": 1,
            "lambda_provisioned_concurrency_max": 4,
            "lambda_provisioned_concurrency_schedules": [
                {"name": "mornings", "cron": "0 7 ? * MON-FRI *", "min": 2, "max": 4},
                {"name": "evenings", "cron": "0 19 ? * MON-FRI *", "min": 1, "max": 4},
            ],
            "alarm_subscriptions": [
                {"protocol": "https", "endpoint": "https://pager.example.com/hook", "only_alarm": True}
            ],
        },
    },
}


@pytest.fixture(scope="session")
def variants(synth: Callable[..., Synth]) -> Synth:
    """The VARIANTS app (stacks ``variant-cognito`` and ``variant-iam``, in eu-west-1)."""
    from constructs_lib.settings import configs_from_context

    return synth(*configs_from_context(VARIANTS))


# Two environments of one app: dev in one region, prod in the default two with settings of its own
# (tests/test_stack.py, tests/test_tracing.py).
TWO_ENVIRONMENTS = {
    "environments": {
        "dev": {"regions": ["us-east-1"]},
        "prod": {"lambda_memory_mb": 512, "xray_sampling_rate": 0.5, "xray_sampling_reservoir_per_second": 10},
    }
}


@pytest.fixture(scope="session")
def two_environments(synth: Callable[..., Synth]) -> Synth:
    """The TWO_ENVIRONMENTS app (stacks ``iac-aws-nova-dev-...`` and ``iac-aws-nova-prod-...``)."""
    from constructs_lib.settings import configs_from_context

    return synth(*configs_from_context(TWO_ENVIRONMENTS))


@pytest.fixture(scope="session")
def custom(synth: Callable[..., Synth]) -> dict[str, Any]:
    """The CUSTOM environment's stack JSON."""
    return synth(CUSTOM).stack()


@pytest.fixture(scope="session")
def global_stack(synth: Callable[..., Synth]) -> dict[str, Any]:
    """The GLOBAL environment's stack JSON (custom domain, latency routing over two regions)."""
    return synth(GLOBAL).stack()


@pytest.fixture(scope="session")
def open_stack(synth: Callable[..., Synth]) -> dict[str, Any]:
    """The OPEN environment's stack JSON (no auth, no WAF)."""
    return synth(OPEN).stack()


def resources(stack: dict[str, Any], kind: str, region: str | None = None) -> list[dict[str, Any]]:
    """The resources of a type, optionally only those of one region's provider."""
    found = list(stack.get("resource", {}).get(kind, {}).values())
    if region is not None:
        found = [r for r in found if r.get("provider") == f"aws.{region}"]
    return found


def address_at(stack: dict[str, Any], kind: str, path: str) -> str:
    """The Terraform address (``kind.logical_id``) of the one resource of a type whose construct
    path (below the stack) is ``path``, e.g. ``"us-east-1/function/function"``."""
    [key] = [
        k for k, r in stack["resource"].get(kind, {}).items() if r["//"]["metadata"]["path"].split("/", 1)[1] == path
    ]
    return f"{kind}.{key}"


def resource_at(stack: dict[str, Any], kind: str, path: str) -> dict[str, Any]:
    """The resource at ``address_at``: for types the stack has several of in a region."""
    return stack["resource"][kind][address_at(stack, kind, path).split(".", 1)[1]]


def data_sources(stack: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return list(stack.get("data", {}).get(kind, {}).values())


def one(items: list[dict[str, Any]]) -> dict[str, Any]:
    assert len(items) == 1, f"expected exactly one, found {len(items)}"
    return items[0]


def policy_statements(stack: dict[str, Any], reference: str) -> list[dict[str, Any]]:
    """The statements of the policy document a ``${data.aws_iam_policy_document.X.json}`` names."""
    name = reference.removeprefix("${data.aws_iam_policy_document.").removesuffix(".json}")
    return stack["data"]["aws_iam_policy_document"][name]["statement"]


def address(reference: str) -> str:
    """``${aws_vpc.x.id}`` -> ``aws_vpc.x``."""
    return ".".join(reference.strip("${}").split(".")[:2])


def region_key_arn(stack: dict[str, Any], region: str) -> str:
    """The reference a regional stack uses for its region's key (the global stack creates it; the
    region finds it by its alias)."""
    [key] = [k for k in stack["data"]["aws_kms_alias"] if k.startswith(f"{region}_key_")]
    return "${data.aws_kms_alias." + key + ".target_key_arn}"


def table_copy(stack: dict[str, Any], region: str, attribute: str) -> str:
    """The reference to an attribute of the table's copy a regional stack reads in its region."""
    [key] = [k for k in stack["data"]["aws_dynamodb_table"] if k.startswith(f"{region}_table_")]
    return "${data.aws_dynamodb_table." + key + "." + attribute + "}"
