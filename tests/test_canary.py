"""canary_src/python/api_canary.py: the synthetic canary's checks, run against the real function.

The checks run against ``tools/serve.py`` servers in this process (127.0.0.1, port 0, background
threads, as ``tests/test_serve.py`` runs them): a healthy one, one that requires a key, and one whose
table cannot be reached (its health answers 503). A stub server stands in for answers the function
never gives (a refusing gateway, a redirect, a body that is not JSON). ``handler()`` runs end to end
with its environment set and Secrets Manager stubbed (botocore's Stubber: no AWS), with and without
a stand-in for the Synthetics runtime's library. Loopback only, short timeouts, no child processes.
"""

from __future__ import annotations

import asyncio
import functools
import importlib.util
import io
import json
import logging
import socket
import sys
import threading
import types
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tools import serve

ROOT = Path(__file__).resolve().parents[1]
CANARY_DIR = ROOT / "canary_src"
CANARY_FILE = CANARY_DIR / "python" / "api_canary.py"
REGION = "eu-west-1"
API_KEY = "CanaryTestKey0123456789abcdefghijklmnopq"  # 40 letters and digits, as the stack makes them
SECRET_ID = "iac-aws-nova-api-key-dev"
TIMEOUT = 5


def _load_canary() -> types.ModuleType:
    """The script as the runtime imports it: a top-level module from its own file."""
    spec = importlib.util.spec_from_file_location("api_canary_under_test", CANARY_FILE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


canary = _load_canary()


@contextmanager
def _serving(server: ThreadingHTTPServer) -> Iterator[ThreadingHTTPServer]:
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(TIMEOUT)


def _local_api(api_key: str | None = None, **environ: str) -> serve.LocalApiServer:
    """tools/serve.py's server; its function sees no table of this shell's unless given one."""
    server = serve.make_server("127.0.0.1", 0, stage="dev", region=REGION, api_key=api_key, log=io.StringIO())
    server.environ.update({"TABLE_NAME": "", **environ})
    return server


@pytest.fixture(scope="module")
def api() -> Iterator[serve.LocalApiServer]:
    with _serving(_local_api()) as server:
        yield server


@pytest.fixture(scope="module")
def keyed_api() -> Iterator[serve.LocalApiServer]:
    with _serving(_local_api(api_key=API_KEY)) as server:
        yield server


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def sick_api() -> Iterator[serve.LocalApiServer]:
    """The function with a table it cannot reach (nothing listens at the endpoint): health is 503."""
    server = _local_api(
        TABLE_NAME="iac-aws-nova-items-dev",
        AWS_ENDPOINT_URL=f"http://127.0.0.1:{_closed_port()}",
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
    )
    with _serving(server):
        yield server


class Stub:
    """Answers each path with what a test puts in ``routes``; records every request's headers."""

    def __init__(self) -> None:
        self.routes: dict[str, tuple[int, bytes, dict[str, str]]] = {}
        self.requests: list[tuple[str, dict[str, str]]] = []
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                stub.requests.append((self.path, {k.lower(): v for k, v in self.headers.items()}))
                status, body, headers = stub.routes.get(self.path, (404, b'{"message": "Not Found"}', {}))
                self.send_response(status)
                for name, value in {"Content-Type": "application/json", **headers}.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/dev/api"

    def answer(self, path: str, status: int, body: Any, **headers: str) -> None:
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.routes[f"/dev/api{path}"] = (status, raw, headers)

    def healthy(self, region: str = REGION) -> None:
        self.answer("/health", 200, {"status": "healthy", "region": region})
        self.answer("", 200, {"message": "Hello from iac-aws-nova", "region": region})


@pytest.fixture
def stub() -> Iterator[Stub]:
    made = Stub()
    with _serving(made.server):
        yield made


# --------------------------------------------------------------------------- check() against serve.py


def test_passes_against_the_local_api(api: serve.LocalApiServer) -> None:
    answered = canary.check(api.url, REGION, None)
    assert (answered["health"]["status"], answered["health"]["region"]) == ("healthy", REGION)
    assert (answered["greeting"]["region"], answered["greeting"]["environment"]) == (REGION, "dev")


def test_passes_with_the_key_where_the_api_wants_one(keyed_api: serve.LocalApiServer) -> None:
    answered = canary.check(keyed_api.url + "/", REGION, API_KEY)  # a trailing slash is fine
    assert answered["greeting"]["region"] == REGION


def test_fails_when_another_region_answers(api: serve.LocalApiServer) -> None:
    with pytest.raises(canary.CheckFailed) as failed:
        canary.check(api.url, "us-east-1", None)
    assert str(failed.value) == f"GET {api.url} answered 200 but ran in region 'eu-west-1', expected 'us-east-1'"


def test_fails_when_health_answers_503(sick_api: serve.LocalApiServer) -> None:
    with pytest.raises(canary.CheckFailed) as failed:
        canary.check(sick_api.url, REGION, None)
    message = str(failed.value)
    assert message.startswith(f"GET {sick_api.url}/health answered 503, expected 200: unhealthy: ")
    assert "items table" in message


def test_fails_when_the_key_is_refused(keyed_api: serve.LocalApiServer) -> None:
    with pytest.raises(canary.CheckFailed) as failed:
        canary.check(keyed_api.url, REGION, "NotTheKey0123456789")
    assert str(failed.value) == f"GET {keyed_api.url} answered 403, expected 200: the API key was refused (Forbidden)"
    assert "NotTheKey0123456789" not in str(failed.value)
    with pytest.raises(canary.CheckFailed, match=r"answered 403, expected 200: no API key was sent"):
        canary.check(keyed_api.url, REGION, None)


# --------------------------------------------------------------------------- check() against a stub


def test_sends_the_key_only_with_the_region_check(stub: Stub) -> None:
    stub.healthy()
    canary.check(stub.url, REGION, API_KEY)
    (health_path, health), (path, greeting) = stub.requests
    assert (health_path, path) == ("/dev/api/health", "/dev/api")
    assert "x-api-key" not in health and greeting["x-api-key"] == API_KEY
    assert greeting["user-agent"] == canary.USER_AGENT


def test_a_gateway_refusing_the_key_fails_without_showing_it(stub: Stub) -> None:
    stub.healthy()
    stub.answer("", 403, {"message": f"Forbidden for {API_KEY}"})  # even if a gateway echoed it
    with pytest.raises(canary.CheckFailed) as failed:
        canary.check(stub.url, REGION, API_KEY)
    assert (
        str(failed.value) == f"GET {stub.url} answered 403, expected 200: the API key was refused (Forbidden for ***)"
    )


@pytest.mark.parametrize(
    "status, body, expected",
    [
        (503, {"status": "unhealthy", "reason": "no table"}, "answered 503, expected 200: unhealthy: no table"),
        (502, {"message": "Internal server error"}, "answered 502, expected 200: Internal server error"),
        (500, b"<html>oops</html>", "answered 500, expected 200: '<html>oops</html>'"),
        (200, {"status": "degraded"}, "answered 200 but status is 'degraded', not 'healthy'"),
        (200, b"not json", "answered 200 but not with a JSON object: 'not json'"),
        (200, [1, 2], "answered 200 but not with a JSON object: '[1, 2]'"),
    ],
)
def test_health_failures_name_the_url_status_and_problem(stub: Stub, status: int, body: Any, expected: str) -> None:
    stub.healthy()
    stub.answer("/health", status, body)
    with pytest.raises(canary.CheckFailed) as failed:
        canary.check(stub.url, REGION, None)
    assert str(failed.value) == f"GET {stub.url}/health {expected}"
    assert [path for path, _ in stub.requests] == ["/dev/api/health"]  # the region check never ran


def test_a_redirect_is_reported_not_followed(stub: Stub) -> None:
    stub.healthy()
    stub.answer("", 302, {"message": "moved"}, Location=stub.url + "/elsewhere")
    with pytest.raises(canary.CheckFailed, match=r"answered 302, expected 200"):
        canary.check(stub.url, REGION, API_KEY)
    assert [path for path, _ in stub.requests] == ["/dev/api/health", "/dev/api"]


def test_no_answer_at_all_fails() -> None:
    url = f"http://127.0.0.1:{_closed_port()}/dev/api"
    with pytest.raises(canary.CheckFailed, match=rf"^GET {url}/health got no answer: "):
        canary.check(url, REGION, None)


def test_the_key_never_goes_over_plain_http_to_another_host() -> None:
    calls: list[str] = []

    def fetch(url: str, headers: Any) -> tuple[int, bytes]:
        calls.append(url)
        return 200, b'{"region": "eu-west-1"}'

    with pytest.raises(canary.CanaryConfigError, match="plain HTTP to api.example.com"):
        canary.check_region("http://api.example.com/dev/api", REGION, API_KEY, fetch)
    assert calls == []
    canary.check_region("https://api.example.com/dev/api", REGION, API_KEY, fetch)
    canary.check_region("http://api.example.com/dev/api", REGION, None, fetch)  # no key: nothing to leak
    assert calls == ["https://api.example.com/dev/api", "http://api.example.com/dev/api"]


ORIGIN = "OriginValue0123456789abcdefghijklmnopqrstuvwxyzAB"  # 48 letters and digits, as the stack makes it


def test_behind_a_distribution_both_checks_send_the_origin_header() -> None:
    sent: list[tuple[str, dict[str, str]]] = []

    def fetch(url: str, headers: Any) -> tuple[int, bytes]:
        sent.append((url, dict(headers)))
        return 200, b'{"status": "healthy", "region": "eu-west-1"}'

    headers = {canary.ORIGIN_HEADER: ORIGIN}
    canary.check_health("https://api.example.com/dev/api", fetch, headers=headers)
    canary.check_region("https://api.example.com/dev/api", REGION, API_KEY, fetch, headers=headers)
    assert [h.get("x-origin-verify") for _, h in sent] == [ORIGIN, ORIGIN]
    assert sent[1][1]["x-api-key"] == API_KEY


def test_the_origin_value_never_shows_in_an_error_nor_goes_over_plain_http() -> None:
    def echo(url: str, headers: Any) -> tuple[int, bytes]:
        return 403, json.dumps({"message": f"Forbidden: {headers['x-origin-verify']}"}).encode()

    with pytest.raises(canary.CheckFailed) as failure:
        canary.check_health("https://api.example.com/dev/api", echo, headers={canary.ORIGIN_HEADER: ORIGIN})
    assert ORIGIN not in str(failure.value) and "***" in str(failure.value)
    with pytest.raises(canary.CanaryConfigError, match="refusing to send the origin header over plain HTTP"):
        canary.check_health("http://api.example.com/dev/api", echo, headers={canary.ORIGIN_HEADER: ORIGIN})


def test_the_origin_secret_is_named_by_the_environment() -> None:
    settings = canary.settings_from(
        {"API_BASE_URL": "https://x/api", "EXPECTED_REGION": REGION, "ORIGIN_SECRET_ID": "o "}
    )
    assert settings.origin_secret_id == "o"
    assert canary.settings_from({"API_BASE_URL": "https://x/api", "EXPECTED_REGION": REGION}).origin_secret_id is None


# --------------------------------------------------------------------------- settings and the key


def test_settings_come_from_the_environment() -> None:
    settings = canary.settings_from(
        {"API_BASE_URL": " https://abc.execute-api.eu-west-1.amazonaws.com/dev/api ", "EXPECTED_REGION": REGION}
    )
    assert settings == canary.Settings("https://abc.execute-api.eu-west-1.amazonaws.com/dev/api", REGION, None)
    assert canary.settings_from({"API_BASE_URL": "http://x/api", "EXPECTED_REGION": "r", "API_KEY_SECRET_ID": "s"})
    with pytest.raises(canary.CanaryConfigError, match="not set: API_BASE_URL, EXPECTED_REGION"):
        canary.settings_from({"API_KEY_SECRET_ID": SECRET_ID})
    for bad in ("abc.execute-api.amazonaws.com/dev/api", "ftp://host/api", "https://host/api?x=1"):
        with pytest.raises(canary.CanaryConfigError, match="API_BASE_URL"):
            canary.settings_from({"API_BASE_URL": bad, "EXPECTED_REGION": REGION})


@functools.cache
def _session() -> Any:
    """One boto3 session for every test: making one costs a fifth of a second, a client then little."""
    import boto3

    return boto3.session.Session(aws_access_key_id="testing", aws_secret_access_key="testing", region_name=REGION)


def _secrets(*responses: tuple[str, Any]) -> tuple[Any, Any]:
    """A real Secrets Manager client that answers from a Stubber (no AWS), and the stubber."""
    from botocore.stub import Stubber

    client = _session().client("secretsmanager")
    stubber = Stubber(client)
    for kind, value in responses:
        if kind == "value":
            answer = {"ARN": f"arn:aws:secretsmanager:{REGION}:123456789012:secret:{SECRET_ID}-AbCdEf"}
            stubber.add_response("get_secret_value", {**answer, "Name": SECRET_ID, **value}, {"SecretId": SECRET_ID})
        else:
            stubber.add_client_error("get_secret_value", service_error_code=value, http_status_code=400)
    stubber.activate()
    return client, stubber


def test_the_key_is_read_from_the_secret() -> None:
    client, stubber = _secrets(("value", {"SecretString": f"{API_KEY}\n"}))
    assert canary.read_api_key(SECRET_ID, lambda: client) == API_KEY
    stubber.assert_no_pending_responses()


def test_no_secret_no_key_and_no_call() -> None:
    def no_client() -> Any:
        raise AssertionError("Secrets Manager was called")

    assert canary.read_api_key(None, no_client) is None
    assert canary.read_api_key("", no_client) is None


def test_an_unreadable_secret_fails_with_its_error_code() -> None:
    client, _ = _secrets(("error", "AccessDeniedException"), ("value", {"SecretBinary": b"\x00"}))
    with pytest.raises(canary.CanaryConfigError, match=rf"read the API key from secret '{SECRET_ID}': AccessDenied"):
        canary.read_api_key(SECRET_ID, lambda: client)
    with pytest.raises(canary.CanaryConfigError, match="has no SecretString"):
        canary.read_api_key(SECRET_ID, lambda: client)


# --------------------------------------------------------------------------- handler(), end to end


def _canary_env(monkeypatch: pytest.MonkeyPatch, url: str, secret_id: str | None = SECRET_ID) -> None:
    monkeypatch.setenv("API_BASE_URL", url)
    monkeypatch.setenv("EXPECTED_REGION", REGION)
    if secret_id is None:
        monkeypatch.delenv("API_KEY_SECRET_ID", raising=False)
    else:
        monkeypatch.setenv("API_KEY_SECRET_ID", secret_id)


def _run_handler() -> str:
    result: str = asyncio.run(canary.handler({}, None))
    return result


def _logs_and_output(caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]) -> str:
    out, err = capsys.readouterr()
    return caplog.text + out + err


def test_handler_checks_the_api_with_the_key_from_secrets_manager(
    keyed_api: serve.LocalApiServer,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    client, stubber = _secrets(("value", {"SecretString": API_KEY}))
    monkeypatch.setattr(canary, "secrets_client", lambda: client)
    _canary_env(monkeypatch, keyed_api.url)
    caplog.set_level(logging.DEBUG)
    assert _run_handler() == f"{keyed_api.url} is healthy and answered from {REGION}"
    stubber.assert_no_pending_responses()
    logged = _logs_and_output(caplog, capsys)
    assert f"GET {keyed_api.url}/health -> 200" in logged and f"GET {keyed_api.url} -> 200" in logged
    assert f"API key from secret {SECRET_ID}" in logged
    assert API_KEY not in logged


def test_handler_fails_when_the_secret_holds_a_refused_key(
    keyed_api: serve.LocalApiServer,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    stale = "StaleKey0123456789abcdefghijklmnopqrstuv"
    client, _ = _secrets(("value", {"SecretString": stale}))
    monkeypatch.setattr(canary, "secrets_client", lambda: client)
    _canary_env(monkeypatch, keyed_api.url)
    caplog.set_level(logging.DEBUG)
    with pytest.raises(canary.CheckFailed, match="answered 403, expected 200: the API key was refused") as failed:
        _run_handler()
    assert stale not in str(failed.value) and stale not in _logs_and_output(caplog, capsys)


def test_handler_without_a_secret_sends_no_key(
    api: serve.LocalApiServer, keyed_api: serve.LocalApiServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_client() -> Any:
        raise AssertionError("Secrets Manager was called")

    monkeypatch.setattr(canary, "secrets_client", no_client)
    _canary_env(monkeypatch, api.url, secret_id=None)
    assert _run_handler().endswith(f"answered from {REGION}")
    _canary_env(monkeypatch, keyed_api.url, secret_id="")
    with pytest.raises(canary.CheckFailed, match="no API key was sent"):
        _run_handler()


def test_a_watch_checks_health_only_and_sends_no_key_even_where_the_api_wants_one(
    keyed_api: serve.LocalApiServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``CHECKS=health``: another region's API watched from outside, whatever its auth."""
    monkeypatch.setattr(canary, "secrets_client", lambda: pytest.fail("Secrets Manager was called"))
    _canary_env(monkeypatch, keyed_api.url, secret_id=None)
    monkeypatch.setenv("CHECKS", "health")
    assert _run_handler() == f"{keyed_api.url} is healthy and answered from {REGION}"


def test_a_watch_fails_when_another_region_answers_its_health(stub: Stub, monkeypatch: pytest.MonkeyPatch) -> None:
    """A name that routes elsewhere (a mis-mapped record) is not the watched region answering."""
    stub.healthy(region="us-west-2")
    _canary_env(monkeypatch, stub.url, secret_id=None)
    monkeypatch.setenv("CHECKS", "health")
    with pytest.raises(canary.CheckFailed) as failed:
        _run_handler()
    assert str(failed.value) == (
        f"GET {stub.url}/health answered healthy but from region 'us-west-2', expected '{REGION}'"
    )
    assert [path for path, _ in stub.requests] == ["/dev/api/health"]  # the region step did not run


@pytest.mark.parametrize("checks", ["region", "health,health", "health,greeting", " , "])
def test_unknown_or_reordered_checks_are_refused(checks: str) -> None:
    with pytest.raises(canary.CanaryConfigError, match="must be 'health,region' or 'health'"):
        canary.settings_from({"API_BASE_URL": "https://x/api", "EXPECTED_REGION": REGION, "CHECKS": checks})
    assert canary.settings_from({"API_BASE_URL": "https://x/api", "EXPECTED_REGION": REGION}).checks == (
        "health",
        "region",
    )


def test_handler_names_missing_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("API_BASE_URL", "EXPECTED_REGION", "API_KEY_SECRET_ID"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(canary.CanaryConfigError, match="API_BASE_URL, EXPECTED_REGION"):
        _run_handler()


# --------------------------------------------------------------------------- with the Synthetics library


class FakeSynthetics:
    """Stands in for the runtime's ``aws_synthetics`` package: ``execute_step`` as a coroutine (as
    documented) or as a plain function, ``synthetics_logger`` as a logger."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, *, awaitable: bool) -> None:
        self.steps: list[tuple[str, str]] = []
        self.screenshots_disabled = False
        self.logger = logging.getLogger("fake_synthetics_logger")
        webdriver = types.ModuleType("aws_synthetics.selenium.synthetics_webdriver")
        webdriver.execute_step = self._async_step if awaitable else self._step  # type: ignore[attr-defined]
        webdriver.get_canary_user_agent_string = lambda: "CloudWatchSynthetics/arn:test"  # type: ignore[attr-defined]
        configuration = types.ModuleType("aws_synthetics.common.synthetics_configuration")
        configuration.disable_step_screenshots = self._disable  # type: ignore[attr-defined]
        common = types.ModuleType("aws_synthetics.common")
        common.synthetics_configuration, common.synthetics_logger = configuration, self.logger  # type: ignore[attr-defined]
        selenium = types.ModuleType("aws_synthetics.selenium")
        selenium.synthetics_webdriver = webdriver  # type: ignore[attr-defined]
        for name, module in {
            "aws_synthetics": types.ModuleType("aws_synthetics"),
            "aws_synthetics.common": common,
            "aws_synthetics.selenium": selenium,
        }.items():
            monkeypatch.setitem(sys.modules, name, module)

    def _disable(self) -> None:
        self.screenshots_disabled = True

    def _step(self, name: str, function: Callable[[], Any]) -> Any:
        try:
            result = function()
        except Exception:
            self.steps.append((name, "failed"))
            raise
        self.steps.append((name, "passed"))
        return result

    async def _async_step(self, name: str, function: Callable[[], Any]) -> Any:
        return self._step(name, function)


@pytest.mark.parametrize("awaitable", [True, False], ids=["async-execute_step", "sync-execute_step"])
def test_handler_runs_each_check_as_a_synthetics_step(
    stub: Stub,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
    awaitable: bool,
) -> None:
    synthetics = FakeSynthetics(monkeypatch, awaitable=awaitable)
    client, _ = _secrets(("value", {"SecretString": API_KEY}), ("value", {"SecretString": API_KEY}))  # two runs
    monkeypatch.setattr(canary, "secrets_client", lambda: client)
    _canary_env(monkeypatch, stub.url)
    caplog.set_level(logging.DEBUG)
    stub.healthy()
    _run_handler()
    assert synthetics.steps == [("health", "passed"), ("region", "passed")]
    assert synthetics.screenshots_disabled
    logger_names = {r.name for r in caplog.records if not r.name.startswith(("asyncio", "botocore"))}
    assert logger_names == {"fake_synthetics_logger"}  # the runtime's logger, not the fallback
    assert stub.requests[1][1]["user-agent"] == f"CloudWatchSynthetics/arn:test {canary.USER_AGENT}"
    stub.healthy(region="us-east-1")
    with pytest.raises(canary.CheckFailed, match="ran in region 'us-east-1', expected 'eu-west-1'"):
        _run_handler()
    assert synthetics.steps[2:] == [("health", "passed"), ("region", "failed")]
    assert API_KEY not in _logs_and_output(caplog, capsys)


def test_nothing_wrote_bytecode_into_canary_src() -> None:
    assert sorted(p.relative_to(CANARY_DIR).as_posix() for p in CANARY_DIR.rglob("*") if p.is_file()) == [
        "python/api_canary.py"
    ]
