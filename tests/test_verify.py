"""tools/verify.py (make verify) against a deployment rehearsed in this process (tools/rehearsal.py):
the default stacks' synth built on moto's server, each region's API a tools/serve.py server in a
thread, the replication, pipes and worker trigger running. A passing run, then each failure it must
catch, with its reason; and its input refused in one line, exit code 2. ``make rehearse`` itself, as
typed, is in tests/slow/test_rehearse.py."""

from __future__ import annotations

import io
import json
import os
import re
import signal
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from conftest import Synth

from constructs_lib.settings import StackConfig
from tools import outputs, serve, verify
from tools.rehearsal import Api, LocalAws, Rehearsal, read_stacks

CONFIG = StackConfig()  # the default stacks: dev, us-east-1 and us-west-2, api_key auth
KEY = "rehearsal-key-7Hq2"
# Every wait short: the rehearsal answers within a few hundred milliseconds.
FAST = ["--request-timeout", "5", "--health-wait", "3", "--replication-wait", "3", "--processing-wait", "3"]
FAST += ["--poll-interval", "0.05"]


@dataclass
class Local:
    rehearsal: Rehearsal
    aws: LocalAws
    servers: dict[str, serve.LocalApiServer]
    outdir: Path

    def clients(self, service: str, region: str) -> Any:
        return self.aws.client(service, region)

    def queue_url(self, output: str, region: str) -> str:
        return str(self.rehearsal.outputs_document()[CONFIG.regional_stack_name(region)][output][region])


@pytest.fixture(scope="module")
def local(default_synth: Synth) -> Iterator[Local]:
    aws = LocalAws()
    servers: dict[str, serve.LocalApiServer] = {}

    def launch(api: Api) -> str:
        server = serve.make_server(
            "127.0.0.1",
            0,
            stage=api.stage,
            region=api.region,
            project=api.project,
            api_key=api.api_key,
            log=io.StringIO(),
        )
        server.environ.update(api.environment)
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        servers[api.region] = server
        return server.url.removesuffix("/api")

    stacks = read_stacks(default_synth.outdir, CONFIG)
    rehearsal = Rehearsal.build(CONFIG, stacks, aws, launch, api_key=KEY, visibility_timeout=0)
    try:
        yield Local(rehearsal, aws, servers, default_synth.outdir)
    finally:
        rehearsal.stop()
        for server in servers.values():
            server.shutdown()
            server.server_close()
        aws.stop()


@pytest.fixture
def outputs_file(local: Local, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The rehearsal's outputs file, read as the default configuration's (not settings.json's)."""
    monkeypatch.setattr(outputs, "environment", lambda name: CONFIG)
    monkeypatch.delenv(verify.API_KEY_VARIABLE, raising=False)
    path = tmp_path / "outputs.json"
    path.write_text(json.dumps(local.rehearsal.outputs_document()))
    return path


ROW = re.compile(r"^(\S+)  +(" + "|".join(verify.CHECKS) + r")  +(ok|FAIL|skip)  +([0-9.]+) s(?:  (.*))?$")


def run(local: Local, outputs_file: Path, *extra: str) -> tuple[int, list[verify.Row], str]:
    """verify's exit code, its table read back into rows, and all it printed."""
    out = io.StringIO()
    argv = ["dev", "--outdir", str(local.outdir), "--outputs-file", str(outputs_file), *FAST, *extra]
    code = verify.main(argv, clients=local.clients, out=out)
    header, *lines, verdict = out.getvalue().splitlines()
    assert header.split() == ["region", "check", "result", "time", "detail"]
    matches = [ROW.match(line) for line in lines]
    assert all(matches), lines
    rows = [verify.Row(m[1], m[2], m[3], float(m[4]), m[5] or "") for m in matches if m]
    return code, rows, out.getvalue()


def rows_of(rows: list[verify.Row], check: str) -> dict[str, verify.Row]:
    return {row.where: row for row in rows if row.check == check}


def test_a_rehearsed_deployment_passes_every_check(local: Local, outputs_file: Path) -> None:
    code, rows, printed = run(local, outputs_file)
    assert code == 0, printed
    checks = ["health", "region", "write", "replication", "processed", "cleanup", "work queue", "dead letters"]
    for region in CONFIG.regions:
        assert [row.check for row in rows if row.where == region] == checks, printed
        assert all(row.result == "ok" for row in rows if row.where == region), printed
    assert rows_of(rows, "region")["us-west-2"].detail == "GET /api answered from us-west-2"
    assert rows_of(rows, "replication")["us-west-2"].detail == "us-east-1's item readable here (version 1)"
    assert rows_of(rows, "processed")["us-east-1"].detail == "the worker processed ItemPut of version 1"
    assert printed.splitlines()[-1].startswith("verify dev: all 16 checks passed in ")
    assert KEY not in printed


def test_nothing_is_left_in_the_table_or_the_queues(local: Local, outputs_file: Path) -> None:
    assert run(local, outputs_file)[0] == 0
    for region in CONFIG.regions:
        assert local.clients("dynamodb", region).scan(TableName="iac-aws-nova-items-dev")["Items"] == []
        for output in ("queue_urls", "dead_letter_queue_urls"):
            assert verify.queue_counts(local.clients("sqs", region), local.queue_url(output, region)) == (0, 0, 0)


def test_an_unhealthy_region_fails_with_the_reason(local: Local, outputs_file: Path) -> None:
    environ = local.servers["us-west-2"].environ
    table = environ["TABLE_NAME"]
    environ["TABLE_NAME"] = "not-the-table"
    try:
        code, rows, printed = run(local, outputs_file, "--health-wait", "0.2")
    finally:
        environ["TABLE_NAME"] = table
    assert code == 1
    health = rows_of(rows, "health")["us-west-2"]
    assert health.result == "FAIL"
    assert health.detail.startswith(
        "503 the items table refused the read (ResourceNotFoundException) (still, after 0.2 s"
    )
    assert rows_of(rows, "region")["us-west-2"].result == "skip"
    assert "(us-west-2 health)" in printed.splitlines()[-1]


def test_a_message_dead_lettered_before_the_run_does_not_fail_it(local: Local, outputs_file: Path) -> None:
    """Say from the incident the deploy fixes: it is said, and every later verify still passes."""
    sqs, url = local.clients("sqs", "us-east-1"), local.queue_url("dead_letter_queue_urls", "us-east-1")
    sqs.send_message(QueueUrl=url, MessageBody="{}")
    try:
        code, rows, printed = run(local, outputs_file)
    finally:
        sqs.purge_queue(QueueUrl=url)
    assert code == 0, printed
    assert rows_of(rows, "dead letters")["us-east-1"].detail == (
        "1 message(s), 1 at the start: none new (the old ones: docs/runbooks/dlq-messages.md)"
    )
    assert rows_of(rows, "dead letters")["us-west-2"].detail == "empty"


def test_a_message_dead_lettered_during_the_run_fails_it() -> None:
    region = verify.Region("eu-west-1", None, None, "https://sqs/dlq", "/aws/lambda/w")
    counts = iter([2, 3])

    class Sqs:
        def get_queue_attributes(self, QueueUrl: str, AttributeNames: list[str]) -> dict[str, Any]:
            return {"Attributes": {"ApproximateNumberOfMessages": str(next(counts))}}

    target = verify.Target("dev", "none", (region,))
    verification = verify.Verification(target, verify.Waits(), print, lambda *_: Sqs(), io.StringIO())
    verification.dead_letters_at_start = {"eu-west-1": verification._dead_letter_count(region)}
    assert verification._dead_letters(region) == verify.final(
        False, "3 message(s) in https://sqs/dlq (2 at the start): see docs/runbooks/dlq-messages.md"
    )


def test_an_event_the_worker_refuses_fails_processed_and_ends_in_the_dead_letters(
    local: Local, outputs_file: Path
) -> None:
    """The worker expects another event source: it reports every record failed, the queue hands
    them out again until moto moves them to the dead-letter queue (its redrive policy)."""
    [worker] = [f for f in local.rehearsal.functions if f.region == "us-west-2" and f.handler == "worker.handler"]
    source = worker.environment["EVENT_SOURCE"]
    worker.environment["EVENT_SOURCE"] = "not.the-source"
    dead_letters = local.queue_url("dead_letter_queue_urls", "us-west-2")
    try:
        code, rows, _ = run(local, outputs_file, "--processing-wait", "1")
    finally:
        worker.environment["EVENT_SOURCE"] = source
        local.clients("sqs", "us-west-2").purge_queue(QueueUrl=dead_letters)
    assert code == 1
    assert rows_of(rows, "processed")["us-west-2"].result == "FAIL"
    assert (
        "no 'item changed' line for it in /aws/lambda/iac-aws-nova-worker-us-west-2-dev"
        in rows_of(rows, "processed")["us-west-2"].detail
    )
    assert rows_of(rows, "processed")["us-east-1"].result == "ok"
    # The put's event at least (the delete's follows it there, maybe after the check).
    dead = rows_of(rows, "dead letters")["us-west-2"]
    assert dead.result == "FAIL" and re.fullmatch(
        rf"[12] message\(s\) in {dead_letters} \(0 at the start\): see \S+dlq-messages.md", dead.detail
    )


def test_an_item_that_does_not_replicate_fails_and_is_deleted_all_the_same(local: Local, outputs_file: Path) -> None:
    assert local.rehearsal.engine is not None
    replication, local.rehearsal.engine.replication = local.rehearsal.engine.replication, None
    try:
        code, rows, _ = run(local, outputs_file, "--replication-wait", "0.3")
    finally:
        local.rehearsal.engine.replication = replication
    assert code == 1
    assert rows_of(rows, "replication")["us-west-2"].result == "FAIL"
    assert (
        "us-east-1's item not readable here: GET answered 404 No item with id"
        in rows_of(rows, "replication")["us-west-2"].detail
    )
    assert all(row.result == "ok" for row in rows_of(rows, "cleanup").values())
    assert local.clients("dynamodb", "us-east-1").scan(TableName="iac-aws-nova-items-dev")["Items"] == []


def test_an_interrupted_run_still_deletes_its_items(local: Local, outputs_file: Path) -> None:
    """Ctrl-C while waiting for replication: the items written are deleted before it stops."""
    target = verify.load_target(
        verify.parse_args(["dev", "--outdir", str(local.outdir), "--outputs-file", str(outputs_file)])
    )
    send, pressed = verify.http_client(target, 5), []

    def interrupted(request: verify.Request) -> verify.Answer:
        if request.method == "GET" and "/items/" in request.url and not pressed:
            pressed.append(request.url)
            raise KeyboardInterrupt
        return send(request)

    out = io.StringIO()
    with pytest.raises(KeyboardInterrupt):
        verify.verify(target, verify.Waits(poll=0.05), http=interrupted, clients=local.clients, out=out)
    assert pressed and [line.split()[1] for line in out.getvalue().splitlines()[-2:]] == ["cleanup", "cleanup"]
    # Deleted where written; the other copies lose them as the (emulated) replication catches up.
    deadline = time.monotonic() + 10
    left = {"start": [None]}
    while left and time.monotonic() < deadline:
        left = {
            region: items
            for region in CONFIG.regions
            if (items := local.clients("dynamodb", region).scan(TableName="iac-aws-nova-items-dev")["Items"])
        }
        time.sleep(0.05)
    assert left == {}


def test_verify_names_the_worker_log_group_the_stack_creates(local: Local) -> None:
    workers = {f.region: f.log_group for f in local.rehearsal.functions if f.handler == "worker.handler"}
    assert workers == {region: verify.worker_log_group(CONFIG, region) for region in CONFIG.regions}


# ---- input -------------------------------------------------------------------------------------


def test_a_missing_outputs_file_is_one_line_and_exit_2(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert verify.main(["dev", "--outputs-file", str(tmp_path / "none.json")]) == 2
    assert capsys.readouterr().err == (
        f"error: {tmp_path / 'none.json'} not found: pass the file cdktf deploy --outputs-file wrote\n"
    )


def test_an_unknown_environment_is_one_line_and_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert verify.main(["nowhere"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: unknown environment 'nowhere': the settings") and err.count("\n") == 1


def test_without_an_api_key_it_stops_before_any_request(
    local: Local, outputs_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    document = json.loads(outputs_file.read_text())
    for stack in document.values():
        stack.pop("api_keys", None)
    outputs_file.write_text(json.dumps(document))
    assert verify.main(["dev", "--outdir", str(local.outdir), "--outputs-file", str(outputs_file)]) == 2
    assert capsys.readouterr().err.startswith("error: no API key: set IAC_API_KEY, or let verify read the api_keys")


def test_the_key_from_the_environment_wins_and_a_wrong_one_fails_every_region(
    local: Local, outputs_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(verify.API_KEY_VARIABLE, "not-the-key")
    # A refused key is retried (a new key takes a moment to work) as long as the health wait.
    code, rows, printed = run(local, outputs_file, "--health-wait", "0.5")
    assert code == 1
    assert {row.detail for row in rows_of(rows, "region").values()} == {
        "GET /api answered 403 Forbidden (the credentials were refused) (still, after 0.5 s)"
    }
    assert "not-the-key" not in printed


# ---- the parts -----------------------------------------------------------------------------------


def test_the_probes_wait_together_and_a_late_one_fails_with_its_last_reason() -> None:
    slept: list[float] = []
    tries = {"a": 0}

    def soon() -> verify.Outcome:
        tries["a"] += 1
        return verify.final(True, "done") if tries["a"] == 3 else verify.not_yet("not yet")

    results = verify.wait_all({"a": soon, "b": lambda: verify.not_yet("still 503")}, 0.0, 0.0, sleep=slept.append)
    assert results["b"][0] == verify.Outcome(True, False, "still 503 (still, after 0 s)")
    assert results["a"][0].ok is False  # a wait of 0: one try each
    results = verify.wait_all({"a": soon}, 5.0, 0.01, sleep=lambda s: None)
    assert results["a"][0] == verify.Outcome(True, True, "done") and tries["a"] == 3


def _scripted(*answers: verify.Answer) -> tuple[verify.Verification, list[verify.Request]]:
    """A verification of one region whose API gives ``answers`` one after the other (the last from
    then on), and the requests it was sent."""
    sent: list[verify.Request] = []

    def http(request: verify.Request) -> verify.Answer:
        sent.append(request)
        return answers[min(len(sent), len(answers)) - 1]

    region = verify.Region("eu-west-1", "https://x/api", None, None, "/aws/lambda/w")
    target = verify.Target("dev", "api_key", (region,))
    waits = verify.Waits(health=5, poll=0)
    return verify.Verification(target, waits, http, lambda *_: None, io.StringIO()), sent


IDENTITY = verify.Answer(200, {"region": "eu-west-1", "environment": "dev"}, "")


def test_the_first_authenticated_get_is_retried_while_a_new_deployment_settles() -> None:
    verification, sent = _scripted(
        verify.Answer(None, None, "no answer within 10 s"),  # a cold start
        verify.Answer(403, {"message": "Forbidden"}, ""),  # the key or the WAF still propagating
        verify.Answer(429, {"message": "Too Many Requests"}, ""),
        verify.Answer(503, {"message": "Service Unavailable"}, ""),
        IDENTITY,
    )
    [region] = verification.target.regions
    assert verification.identity([region]) == [region]
    assert len(sent) == 5
    assert verification.report.rows[0].detail == "GET /api answered from eu-west-1"


def test_an_answer_that_will_not_change_fails_the_identity_at_once() -> None:
    verification, sent = _scripted(verify.Answer(401, {"message": "Unauthorized"}, ""), IDENTITY)
    assert verification.identity(verification.target.regions) == []
    assert len(sent) == 1
    assert verification.report.rows[0].detail == "GET /api answered 401 Unauthorized (the credentials were refused)"


def test_a_put_without_an_answer_is_sent_once_more_with_the_same_id() -> None:
    verification, sent = _scripted(
        verify.Answer(None, None, "no answer within 10 s"), verify.Answer(200, {"version": 2}, "")
    )
    attempted: list[verify.Item] = []
    [item] = verification.write(verification.target.regions, attempted)
    assert [r.method for r in sent] == ["PUT", "PUT"] and sent[0] == sent[1]
    assert (item.id, item.version) == (attempted[0].id, 2)  # the first one wrote it: the second replaced it
    assert verification.report.rows[0].detail == f"PUT /api/items/{item.id}: 200, version 2 (second try)"


def test_a_put_refused_is_not_sent_again() -> None:
    verification, sent = _scripted(verify.Answer(400, {"message": "bad"}, ""), verify.Answer(201, {"version": 1}, ""))
    assert verification.write(verification.target.regions, []) == []
    assert len(sent) == 1


def test_sigterm_ends_the_run_as_ctrl_c_does_its_items_deleted_first() -> None:
    sent: list[str] = []

    def http(request: verify.Request) -> verify.Answer:
        sent.append(request.method)
        if request.method == "PUT":
            os.kill(os.getpid(), signal.SIGTERM)  # while the write waits for its answer
        if request.method == "DELETE":
            return verify.Answer(204, None, "")
        if "/items/" in request.url:
            return verify.Answer(404, {"message": "not found"}, "")  # gone
        return verify.Answer(200, {"status": "healthy", "region": "eu-west-1", "environment": "dev"}, "")

    region = verify.Region("eu-west-1", "https://x/api", None, None, "/aws/lambda/w")
    target = verify.Target("dev", "none", (region,))
    previous = signal.signal(signal.SIGTERM, verify._terminate)  # as ``python tools/verify.py`` does
    try:
        with pytest.raises(verify.Terminated):
            verify.verify(target, verify.Waits(health=1, poll=0), http=http, clients=lambda *_: None, out=io.StringIO())
    finally:
        signal.signal(signal.SIGTERM, previous)
    assert sent == ["GET", "GET", "PUT", "DELETE", "GET"]  # health, region, the write cut short, the cleanup
    assert issubclass(verify.Terminated, KeyboardInterrupt)


def test_iam_auth_signs_each_request_for_its_region_and_skips_the_one_address() -> None:
    from botocore.credentials import Credentials

    target = verify.Target("dev", "iam", ())
    credentials = Credentials("AKIDEXAMPLE", "secret", None)
    request = verify.Request("GET", "https://abc.execute-api.us-west-2.amazonaws.com/dev/api", "us-west-2")
    headers = verify._auth_headers(target, request, lambda: credentials)
    assert headers["Authorization"].startswith("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/")
    assert "/us-west-2/execute-api/aws4_request" in headers["Authorization"]
    with pytest.raises(verify.Unsignable):
        verify._auth_headers(target, verify.Request("GET", "https://api.example.com/api", None), lambda: credentials)


def test_a_key_never_shows_in_a_target_or_a_region() -> None:
    region = verify.Region("us-east-1", "https://x/api", None, None, "/aws/lambda/w", api_key="secret-key")
    target = verify.Target("dev", "cognito", (region,), token="secret-token")
    assert "secret" not in repr(target)


def _address_only(answers_from: str, domain: str = "api.example.com") -> list[verify.Row]:
    """The one address's checks alone (a target with no region output), against a fake API."""

    def http(request: verify.Request) -> verify.Answer:
        if request.url == f"https://{domain}/api/health":
            return verify.Answer(200, {"status": "healthy", "table": "reachable"}, "")
        assert request.url == f"https://{domain}/api" and request.region is None
        return verify.Answer(200, {"region": answers_from, "environment": "dev"}, "")

    regions = tuple(verify.Region(r, None, None, None, "") for r in CONFIG.regions)
    target = verify.Target("dev", "none", regions, f"https://{domain}/api", domain=domain)
    rows = verify.verify(target, verify.Waits(health=0), http=http, clients=lambda *_: None, out=io.StringIO())
    return [row for row in rows if row.where == domain]


def test_the_one_address_must_answer_from_one_of_the_regions() -> None:
    assert [(r.check, r.result, r.detail) for r in _address_only("us-west-2")] == [
        ("health", "ok", "200 healthy (table reachable)"),
        ("region", "ok", "GET /api answered from us-west-2"),
    ]
    [_, region] = _address_only("eu-west-9")
    assert (region.result, region.detail) == ("FAIL", "GET /api answered from 'eu-west-9', not us-east-1 or us-west-2")


def test_a_domain_without_its_api_url_output_is_a_skip_said_so() -> None:
    target = verify.Target("dev", "none", (), domain="api.example.com")
    rows = verify.verify(
        target, verify.Waits(), http=lambda r: verify.Answer(None, None, ""), clients=print, out=io.StringIO()
    )
    assert rows == [
        verify.Row(
            "api.example.com",
            "health",
            "skip",
            0.0,
            "no api_url output: the edge stack is not deployed, or not in the outputs",
        )
    ]
    assert verify.verdict(rows, "dev", 1.0) == "verify dev: passed: 0 checks ok, 1 skipped, in 1.0 s"


# ---- behind CloudFront (cdn_enabled): the origin header ----------------------------------------


def _cdn_target(**changes: Any) -> verify.Target:
    region = verify.Region("eu-west-1", "http://127.0.0.1:1/dev/api", None, None, "/aws/lambda/w")
    return verify.Target("dev", "none", (region,), origin_source="p-origin-verify-dev", **changes)


def test_the_origin_headers_value_is_read_from_the_first_regions_secret() -> None:
    asked: list[tuple[str, str, str]] = []

    class Secrets:
        def get_secret_value(self, SecretId: str) -> dict[str, str]:
            asked.append(("secretsmanager", region, SecretId))
            return {"SecretString": "value48"}

    def clients(service: str, name: str) -> Any:
        nonlocal region
        region = name
        return Secrets()

    region = ""
    target = verify.with_origin_header(_cdn_target(), clients)
    assert target.origin_header == "value48" and asked == [("secretsmanager", "eu-west-1", "p-origin-verify-dev")]
    assert "value48" not in repr(target)
    given = _cdn_target(origin_header="from-the-environment")
    assert verify.with_origin_header(given, clients) is given and len(asked) == 1


def test_an_unreadable_origin_secret_is_one_line_that_says_what_to_do() -> None:
    class Denied:
        def get_secret_value(self, SecretId: str) -> dict[str, str]:
            error = Exception("denied")
            error.response = {"Error": {"Code": "AccessDeniedException"}}  # type: ignore[attr-defined]
            raise error

    with pytest.raises(verify.ToolError) as failure:
        verify.with_origin_header(_cdn_target(), lambda service, region: Denied())
    assert str(failure.value) == (
        "cannot read the origin header's value from secret p-origin-verify-dev in eu-west-1 (AccessDeniedException): "
        "set IAC_ORIGIN_VERIFY, or allow secretsmanager:GetSecretValue on it"
    )


def test_requests_to_a_region_carry_the_origin_header_and_the_one_address_none() -> None:
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    seen: list[str | None] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.append(self.headers.get("x-origin-verify"))
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/api"
        send = verify.http_client(_cdn_target(origin_header="value48"), timeout=5)
        send(verify.Request("GET", url, "eu-west-1"))
        send(verify.Request("GET", url, None))
    finally:
        server.shutdown()
        server.server_close()
    assert seen == ["value48", None]
