"""After a deploy: does the environment work, end to end, in every region? ``make verify ENV=dev``.

    python tools/verify.py ENVIRONMENT [--outdir cdktf.out] [--outputs-file FILE] [--region REGION]
                           [--request-timeout 10] [--health-wait 120] [--replication-wait 60]
                           [--processing-wait 120] [--poll-interval 2]

The environment's outputs come as for ``make outputs``: ``terraform output -json`` in each stack's
folder of the synth that was deployed, or ``--outputs-file`` from ``cdktf deploy --outputs-file``
(``tools/outputs.py``). Each region of the environment (less ``removing_regions``; ``--region``: that
one alone, as the deploy workflow does right after the region's deploy) is checked, in this order:

  health        ``GET <api_urls>/health`` answers 200 ``"status": "healthy"`` (it reads the region's
                table copy), retried for up to --health-wait: a new deployment takes a moment
  region        an authenticated ``GET <api_urls>`` answers 200 with ``"region"`` (the function's
                ``REGION``) the region it was sent to, and ``"environment"`` this one; retried
                within --health-wait on no answer, 403 (a key or the WAF still propagating), 429, 5xx
  write         ``PUT <api_urls>/items/<a new id>``: one item per region, 201 (sent once more, same
                id, on no answer or 5xx; then 200 too: the first one wrote it)
  replication   every other region's API reads each item, with the version and ``updated_region`` its
                writer gave it, within --replication-wait
  processed     the writer region's worker logged ``"item changed"`` for the item (its ``ItemPut`` went
                stream, pipe, bus, rule, work queue, worker), within --processing-wait
  cleanup       the item deleted (``DELETE``: 204) and gone (404) from every region, within
                --replication-wait; done whatever failed before, Ctrl-C included
  work queue    the region's work queue drains (nothing waiting, in flight or delayed), within
                --processing-wait
  dead letters  the region's dead-letter queue holds no more messages than at the start (those
                already there, say from the incident this deploy fixes, are the detail's)

With a domain (the ``api_url`` output), and without ``--region``: ``health`` and ``region`` through
the one address too, which must answer from one of the environment's regions.

Why the other regions' APIs, and not DynamoDB, for the replication check: it is the replication
callers see (the other region's function, its copy of the table, its key), the ``updated_region`` an
item carries tells a replicated copy from a local write, and it needs no permission on the table or
on each region's KMS key.

Authentication, as ``api_auth`` says: ``api_key``: ``IAC_API_KEY``, else the sensitive ``api_keys``
output (``terraform output`` has it; ``cdktf deploy`` writes it to its outputs file only with
``--outputs-file-include-sensitive-outputs``); ``iam``: the AWS SDK's credentials (SigV4);
``cognito``: an ID token in ``IAC_ID_TOKEN``. Behind CloudFront (``cdn_enabled``), requests sent to
a region directly carry ``x-origin-verify``, which the regions' WAFs require: ``IAC_ORIGIN_VERIFY``,
else read from the secret (``secretsmanager:GetSecretValue`` in the first region checked). The AWS
calls (``sqs:GetQueueAttributes`` on both queues, ``logs:FilterLogEvents`` on the worker's log
group) use the AWS SDK's credential chain. No key, token or credential is ever printed.

One table on stdout, a row per check as it completes (region, check, result, time, detail), then a
verdict. Exit code 0 when every check passed, 1 when one failed (the table says why), 2 with one
``error:`` line on stderr for unusable input (no synth, a missing outputs file, an unknown environment,
no API key); 130 on Ctrl-C and 143 on SIGTERM, each after the cleanup deleted the items written.
"""

from __future__ import annotations

import argparse
import dataclasses
import http.client
import json
import os
import secrets
import signal
import socket
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn, TextIO
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: `python tools/verify.py`
    sys.path.insert(0, str(ROOT))

from constructs_lib.blocks.naming import Namer, origin_secret_name  # noqa: E402  (plain Python: no CDK is loaded)
from constructs_lib.settings import StackConfig  # noqa: E402
from tools import outputs  # noqa: E402

API_KEY_VARIABLE = "IAC_API_KEY"
ORIGIN_VARIABLE = "IAC_ORIGIN_VERIFY"
ORIGIN_HEADER = "x-origin-verify"
ID_TOKEN_VARIABLE = "IAC_ID_TOKEN"
DEAD_LETTER_RUNBOOK = "docs/runbooks/dlq-messages.md"
LOG_LOOKBACK_MS = 5 * 60 * 1000  # the worker's log is searched from a little before the write

Clients = Callable[[str, str], Any]  # (service, region) -> boto3 client
Http = Callable[["Request"], "Answer"]


class ToolError(Exception):
    """Unusable input: one ``error:`` line, exit code 2."""


# ---- what is verified --------------------------------------------------------------------------


@dataclass(frozen=True)
class Region:
    """One region's deployment, as its outputs describe it (None: the output is missing)."""

    name: str
    api_url: str | None
    queue_url: str | None
    dead_letter_queue_url: str | None
    worker_log_group: str
    api_key: str | None = field(default=None, repr=False)


@dataclass(frozen=True)
class Target:
    environment: str
    auth: str  # api_auth: api_key, iam, cognito, none
    regions: tuple[Region, ...]
    address: str | None = None  # the one address's /api (the api_url output), with a domain
    token: str | None = field(default=None, repr=False)  # cognito: IAC_ID_TOKEN
    domain: str | None = None  # domain_name, when the one address is to be checked
    # cdn_enabled: the header the regions' WAFs require of requests sent to a region directly, and
    # the secret that holds its value (read in the first region checked, from its own copy).
    origin_source: str | None = None
    origin_header: str | None = field(default=None, repr=False)


@dataclass(frozen=True)
class Waits:
    """Seconds: one HTTP request; each bounded wait; between two tries."""

    request: float = 10.0
    health: float = 120.0
    replication: float = 60.0
    processing: float = 120.0
    poll: float = 2.0


def worker_log_group(config: StackConfig, region: str) -> str:
    """The worker function's log group, named as the regional stack names it (``/aws/lambda/<name>``)."""
    return "/aws/lambda/" + Namer(config.project_name, config.environment).name(
        "worker", region, kind="lambda_function"
    )


# ---- HTTP --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Request:
    method: str
    url: str
    region: str | None  # the API's region (SigV4 signs for it); None: not known (the one address)
    body: bytes | None = None
    authenticated: bool = True


@dataclass(frozen=True)
class Answer:
    status: int | None  # None: no answer
    body: Any  # the JSON answer, or None
    reason: str  # why there is no answer, or the start of a body that is not JSON


class Unsignable(Exception):
    """The request cannot be authenticated (SigV4 without the API's region)."""


def http_client(target: Target, timeout: float, credentials: Callable[[], Any] | None = None) -> Http:
    """``Request -> Answer`` over HTTPS with the target's authentication; never raises but Unsignable."""

    def send(request: Request) -> Answer:
        headers = {"Accept": "application/json", "User-Agent": "iac-aws-nova-verify"}
        if request.body is not None:
            headers["Content-Type"] = "application/json"
        if request.authenticated:
            headers.update(_auth_headers(target, request, credentials))
        if target.origin_header and request.region is not None:  # a region directly, not the one address
            headers[ORIGIN_HEADER] = target.origin_header
        raw = urllib.request.Request(request.url, data=request.body, headers=headers, method=request.method)
        try:
            with urllib.request.urlopen(raw, timeout=timeout) as response:
                return _answer(response.status, response.read())
        except urllib.error.HTTPError as error:
            return _answer(error.code, error.read())
        except (http.client.HTTPException, ValueError) as error:  # a broken answer, a URL that is none
            return Answer(None, None, f"no answer ({type(error).__name__}: {error})")
        except (urllib.error.URLError, OSError) as error:
            reason = getattr(error, "reason", error)
            if isinstance(reason, socket.timeout | TimeoutError):
                return Answer(None, None, f"no answer within {timeout:g} s")
            return Answer(None, None, f"no answer ({reason})")

    return send


def _answer(status: int, payload: bytes) -> Answer:
    try:
        return Answer(status, json.loads(payload), "")
    except ValueError:
        return Answer(status, None, payload[:80].decode("utf-8", "replace"))


def _auth_headers(target: Target, request: Request, credentials: Callable[[], Any] | None) -> dict[str, str]:
    if target.auth == "api_key":
        keys = [r.api_key for r in target.regions if r.name == request.region and r.api_key]
        key = next(iter(keys), None) or next((r.api_key for r in target.regions if r.api_key), None)
        return {"x-api-key": key} if key else {}
    if target.auth == "cognito":
        return {"Authorization": target.token} if target.token else {}
    if target.auth == "iam":
        if request.region is None:
            raise Unsignable("iam auth: a request to the one address cannot be signed for an unknown region")
        return _sigv4(request, credentials)
    return {}


def _sigv4(request: Request, credentials: Callable[[], Any] | None) -> dict[str, str]:
    import boto3
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest

    found = (credentials or (lambda: boto3.session.Session().get_credentials()))()
    if found is None:
        raise Unsignable("iam auth: no AWS credentials to sign with (the AWS SDK's chain found none)")
    signed = AWSRequest(method=request.method, url=request.url, data=request.body or b"")
    SigV4Auth(found.get_frozen_credentials(), "execute-api", str(request.region)).add_auth(signed)
    return {name: str(value) for name, value in signed.headers.items()}


def passing(answer: Answer) -> bool:
    """An answer a new deployment can give for a while: none (a cold start past the timeout), 403 (a
    key, its usage plan or the WAF still propagating), 429 (throttled) or 5xx."""
    return answer.status is None or answer.status in (403, 429) or answer.status >= 500


def describe(answer: Answer) -> str:
    """An answer in a few words for the table: its status and what the body says."""
    if answer.status is None:
        return answer.reason
    body = answer.body if isinstance(answer.body, dict) else {}
    error = body["error"] if isinstance(body.get("error"), dict) else {}
    said = body.get("reason") or error.get("message") or body.get("message") or answer.reason
    return f"{answer.status}" + (f" {str(said)[:100]}" if said else "")


# ---- the table ---------------------------------------------------------------------------------

CHECKS = ("health", "region", "write", "replication", "processed", "cleanup", "work queue", "dead letters")


@dataclass(frozen=True)
class Row:
    where: str  # a region, or the one address's host
    check: str
    result: str  # ok, FAIL, skip
    seconds: float
    detail: str


class Report:
    """The rows, printed one by one as the checks complete, in columns sized for every row to come."""

    def __init__(self, places: Iterable[str], out: TextIO) -> None:
        self.rows: list[Row] = []
        self._out = out
        self._width = max([len("region"), *(len(p) for p in places)])
        self._check_width = max(len(c) for c in CHECKS)
        self._line("region", "check", "result", "time", "detail")

    def add(self, where: str, check: str, ok: bool | None, seconds: float, detail: str) -> None:
        row = Row(where, check, "ok" if ok else "skip" if ok is None else "FAIL", seconds, detail)
        self.rows.append(row)
        self._line(row.where, row.check, row.result, f"{row.seconds:.1f} s", row.detail)

    def _line(self, where: str, check: str, result: str, seconds: str, detail: str) -> None:
        self._out.write(
            f"{where:<{self._width}}  {check:<{self._check_width}}  {result:<6}  {seconds:>7}  {detail}".rstrip() + "\n"
        )
        self._out.flush()

    @property
    def failed(self) -> list[Row]:
        return [row for row in self.rows if row.result == "FAIL"]


# ---- bounded waits -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    done: bool  # False: not yet; try again until the wait is over
    ok: bool | None  # None: not checked (a skip)
    detail: str


def not_yet(detail: str) -> Outcome:
    return Outcome(False, False, detail)


def final(ok: bool, detail: str) -> Outcome:
    return Outcome(True, ok, detail)


def wait_all(
    probes: Mapping[Any, Callable[[], Outcome]], wait: float, poll: float, sleep: Callable[[float], None] = time.sleep
) -> dict[Any, tuple[Outcome, float]]:
    """Try every probe until each has a final outcome or ``wait`` seconds have passed: the probes
    wait together, so N regions take no longer than one. A probe still not done at the end fails
    with its last reason. Returns each outcome with the seconds it took."""
    start = time.monotonic()
    pending = dict(probes)
    results: dict[Any, tuple[Outcome, float]] = {}
    while pending:
        for key, probe in list(pending.items()):
            outcome = probe()
            elapsed = time.monotonic() - start
            if outcome.done:
                results[key] = (outcome, elapsed)
                del pending[key]
            elif elapsed >= wait:
                results[key] = (final(False, f"{outcome.detail} (still, after {wait:g} s)"), elapsed)
                del pending[key]
        if pending:
            sleep(max(0.01, min(poll, wait - (time.monotonic() - start))))
    return results


# ---- the checks --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Item:
    id: str
    writer: Region
    version: int
    written_ms: int


class Verification:
    """Runs the checks of one target in order; ``report`` holds the rows."""

    def __init__(self, target: Target, waits: Waits, http: Http, clients: Clients, out: TextIO) -> None:
        self.target, self.waits, self.http, self.clients = target, waits, http, clients
        self.host = (urlsplit(target.address).hostname if target.address else None) or target.domain or ""
        self.report = Report([r.name for r in target.regions] + [self.host], out)
        self.dead_letters_at_start: dict[str, int | None] = {}  # by region: what run() found first

    def run(self) -> None:
        # Messages already dead-lettered (an incident this deploy may fix) are not this run's: only
        # more than these fail it.
        self.dead_letters_at_start = {r.name: self._dead_letter_count(r) for r in self.target.regions}
        healthy = self.health()
        answering = self.identity(healthy)
        if self.target.address:
            self.address()
        elif self.target.domain:
            why = "no api_url output: the edge stack is not deployed, or not in the outputs"
            self.report.add(self.host, "health", None, 0.0, why)
        attempted: list[Item] = []  # every item a PUT was sent for, written or not: cleanup deletes them all
        try:
            items = self.write(answering, attempted)
            self.replication(items, answering)
            self.processed(items)
        finally:
            self.cleanup(attempted, answering)
        self.queues()

    def health(self) -> list[Region]:
        probes = {r.name: self._health_probe(r.api_url, r.name) for r in self.target.regions if r.api_url}
        for region in self.target.regions:
            if not region.api_url:
                self.report.add(region.name, "health", False, 0.0, "no api_urls output for it: is its stack deployed?")
        results = wait_all(probes, self.waits.health, self.waits.poll)
        for name, (outcome, seconds) in results.items():
            self.report.add(name, "health", outcome.ok, seconds, outcome.detail)
        return [r for r in self.target.regions if r.name in results and results[r.name][0].ok]

    def _health_probe(self, api_url: str | None, region: str | None) -> Callable[[], Outcome]:
        def probe() -> Outcome:
            answer = self.http(Request("GET", f"{api_url}/health", region, authenticated=False))
            body = answer.body if isinstance(answer.body, dict) else {}
            if answer.status == 200 and body.get("status") == "healthy":
                return final(True, f"200 healthy (table {body.get('table', 'unknown')})")
            return not_yet(describe(answer) or "unhealthy")

        return probe

    def identity(self, healthy: Sequence[Region]) -> list[Region]:
        """Each healthy region's authenticated GET /api, retried within --health-wait while the
        answer may still change (``passing``): the regions wait together."""
        probes = {r.name: self._identity_probe(str(r.api_url), r.name, (r.name,)) for r in healthy}
        results = wait_all(probes, self.waits.health, self.waits.poll)
        answering = []
        for region in self.target.regions:
            if region.name not in results:
                self.report.add(region.name, "region", None, 0.0, "not checked: the region is not healthy")
                continue
            outcome, seconds = results[region.name]
            self.report.add(region.name, "region", outcome.ok, seconds, outcome.detail)
            if outcome.ok:
                answering.append(region)
        return answering

    def _identity_probe(self, api_url: str, region: str | None, expected: Sequence[str]) -> Callable[[], Outcome]:
        return lambda: self._identity(api_url, region, expected)

    def _identity(self, api_url: str, region: str | None, expected: Sequence[str]) -> Outcome:
        try:
            answer = self.http(Request("GET", api_url, region))
        except Unsignable as reason:
            return Outcome(True, None, str(reason))
        body = answer.body if isinstance(answer.body, dict) else {}
        if answer.status != 200:
            refused = " (the credentials were refused)" if answer.status in (401, 403) else ""
            detail = f"GET /api answered {describe(answer)}{refused}"
            return not_yet(detail) if passing(answer) else final(False, detail)
        said, environment = body.get("region"), body.get("environment")
        if environment != self.target.environment:
            return final(False, f"GET /api answered for environment {environment!r}, not {self.target.environment}")
        if said not in expected:
            return final(False, f"GET /api answered from {said!r}, not {' or '.join(expected)}")
        return final(True, f"GET /api answered from {said}")

    def address(self) -> None:
        url = str(self.target.address)
        results = wait_all({"health": self._health_probe(url, None)}, self.waits.health, self.waits.poll)
        outcome, seconds = results["health"]
        self.report.add(self.host, "health", outcome.ok, seconds, outcome.detail)
        probe = self._identity_probe(url, None, [r.name for r in self.target.regions])
        identity, seconds = wait_all({"region": probe}, self.waits.health, self.waits.poll)["region"]
        self.report.add(self.host, "region", identity.ok, seconds, identity.detail)

    def write(self, answering: Sequence[Region], attempted: list[Item]) -> list[Item]:
        """One new item per region, through its API; ``attempted`` gets each before its PUT is sent."""
        stamp = f"verify-{int(time.time())}-{secrets.token_hex(4)}"
        items = []
        for region in answering:
            item = Item(f"{stamp}-{region.name}", region, 0, int(time.time() * 1000))
            attempted.append(item)
            body = json.dumps({"data": {"written_by": "tools/verify.py", "region": region.name}}).encode()
            started = time.monotonic()
            request = Request("PUT", f"{region.api_url}/items/{item.id}", region.name, body)
            answer, again = self.http(request), False
            if answer.status is None or answer.status >= 500:  # once more, the same id: a PUT is idempotent
                answer, again = self.http(request), True
            version = answer.body.get("version") if isinstance(answer.body, dict) else None
            # 200 on the second try: the first one wrote it, its answer was lost.
            ok = (answer.status == 201 or (again and answer.status == 200)) and type(version) is int
            said = f"{answer.status}, version {version}" if ok else describe(answer)
            detail = f"PUT /api/items/{item.id}: {said}" + (" (second try)" if again else "")
            self.report.add(region.name, "write", ok, time.monotonic() - started, detail)
            if ok:
                items.append(Item(item.id, region, int(str(version)), item.written_ms))
        return items

    def replication(self, items: Sequence[Item], answering: Sequence[Region]) -> None:
        probes = {
            (item.id, reader.name): self._read_probe(item, reader)
            for item in items
            for reader in answering
            if reader.name != item.writer.name
        }
        for (_, reader), (outcome, seconds) in wait_all(probes, self.waits.replication, self.waits.poll).items():
            self.report.add(reader, "replication", outcome.ok, seconds, outcome.detail)

    def _read_probe(self, item: Item, reader: Region) -> Callable[[], Outcome]:
        writer = item.writer.name

        def probe() -> Outcome:
            answer = self.http(Request("GET", f"{reader.api_url}/items/{item.id}", reader.name))
            body = answer.body if isinstance(answer.body, dict) else {}
            if answer.status == 200:
                if body.get("updated_region") == writer and body.get("version") == item.version:
                    return final(True, f"{writer}'s item readable here (version {item.version})")
                return final(
                    False,
                    f"{writer}'s item reads as version {body.get('version')!r} from "
                    f"{body.get('updated_region')!r}, not version {item.version} from {writer}",
                )
            return not_yet(f"{writer}'s item not readable here: GET answered {describe(answer)}")

        return probe

    def processed(self, items: Sequence[Item]) -> None:
        probes = {item.id: self._log_probe(item) for item in items}
        results = wait_all(probes, self.waits.processing, self.waits.poll)
        for item in items:
            outcome, seconds = results[item.id]
            self.report.add(item.writer.name, "processed", outcome.ok, seconds, outcome.detail)

    def _log_probe(self, item: Item) -> Callable[[], Outcome]:
        region = item.writer

        def probe() -> Outcome:
            try:
                events = worker_lines(self.clients("logs", region.name), region.worker_log_group, item)
            except Exception as error:
                code = aws_code(error)
                done = code in ("ResourceNotFoundException", "AccessDeniedException", "NoCredentialsError")
                return Outcome(done, False, f"cannot read {region.worker_log_group} ({code})")
            if any(_is_processing_of(event.get("message", ""), item) for event in events):
                return final(True, f"the worker processed ItemPut of version {item.version}")
            return not_yet(f"no 'item changed' line for it in {region.worker_log_group}")

        return probe

    def cleanup(self, items: Sequence[Item], answering: Sequence[Region]) -> None:
        """Every item deleted first (what matters most if this is cut short), then gone everywhere."""
        started = time.monotonic()
        refused = {item.id: self._delete(item, answering) for item in items}
        probes = {
            (item.id, region.name): self._gone_probe(item, region)
            for item in items
            if refused[item.id] is None
            for region in answering
        }
        results = wait_all(probes, self.waits.replication, self.waits.poll)
        for item in items:
            still = [f"{where}: {o.detail}" for (i, where), (o, _) in results.items() if i == item.id and not o.ok]
            detail = refused[item.id] or "; ".join(still) or f"{item.id} deleted and gone from every region"
            ok = refused[item.id] is None and not still
            self.report.add(item.writer.name, "cleanup", ok, time.monotonic() - started, detail)

    def _delete(self, item: Item, answering: Sequence[Region]) -> str | None:
        """Delete the item through its writer's API, else any other; None when one did, else why not."""
        answers = []
        for region in sorted(answering, key=lambda r: r.name != item.writer.name):
            answer = self.http(Request("DELETE", f"{region.api_url}/items/{item.id}", region.name))
            if answer.status in (204, 404):
                return None
            answers.append(f"{region.name} {describe(answer)}")
        return f"{item.id} NOT deleted (DELETE answered {'; '.join(answers) or 'nothing'}): delete it by hand"

    def _gone_probe(self, item: Item, reader: Region) -> Callable[[], Outcome]:
        def probe() -> Outcome:
            answer = self.http(Request("GET", f"{reader.api_url}/items/{item.id}", reader.name))
            if answer.status == 404:
                return final(True, "gone")
            return not_yet(f"{item.id} still readable (GET answered {describe(answer)})")

        return probe

    def queues(self) -> None:
        probes = {r.name: self._queue_probe(r) for r in self.target.regions if r.queue_url}
        results = wait_all(probes, self.waits.processing, self.waits.poll)
        for region in self.target.regions:
            if region.name in results:
                outcome, seconds = results[region.name]
                self.report.add(region.name, "work queue", outcome.ok, seconds, outcome.detail)
            else:
                self.report.add(region.name, "work queue", False, 0.0, "no queue_urls output for it")
            started = time.monotonic()
            outcome = self._dead_letters(region)
            self.report.add(region.name, "dead letters", outcome.ok, time.monotonic() - started, outcome.detail)

    def _queue_probe(self, region: Region) -> Callable[[], Outcome]:
        def probe() -> Outcome:
            try:
                counts = queue_counts(self.clients("sqs", region.name), str(region.queue_url))
            except Exception as error:
                return final(False, f"cannot read the work queue ({aws_code(error)})")
            waiting, in_flight, delayed = counts
            if not any(counts):
                return final(True, "drained")
            return not_yet(f"{waiting} waiting, {in_flight} in flight, {delayed} delayed")

        return probe

    def _dead_letter_count(self, region: Region) -> int | None:
        """The messages in the region's dead-letter queue (waiting or in flight); None: unreadable."""
        if not region.dead_letter_queue_url:
            return None
        try:
            waiting, in_flight, _ = queue_counts(self.clients("sqs", region.name), region.dead_letter_queue_url)
        except Exception:
            return None
        return waiting + in_flight

    def _dead_letters(self, region: Region) -> Outcome:
        if not region.dead_letter_queue_url:
            return final(False, "no dead_letter_queue_urls output for it")
        try:
            waiting, in_flight, _ = queue_counts(self.clients("sqs", region.name), region.dead_letter_queue_url)
        except Exception as error:
            return final(False, f"cannot read the dead-letter queue ({aws_code(error)})")
        count, before = waiting + in_flight, self.dead_letters_at_start.get(region.name)
        at_start = f"{before} at the start" if before is not None else "unread at the start"
        if count > (before or 0):
            return final(
                False,
                f"{count} message(s) in {region.dead_letter_queue_url} ({at_start}): see {DEAD_LETTER_RUNBOOK}",
            )
        if count:
            return final(True, f"{count} message(s), {at_start}: none new (the old ones: {DEAD_LETTER_RUNBOOK})")
        return final(True, "empty")


def worker_lines(logs: Any, group: str, item: Item, pages: int = 10) -> list[dict[str, Any]]:
    """The worker's log events that name the item (CloudWatch Logs may answer a search of a large
    group in pages, some of them empty: a few are followed)."""
    found: list[dict[str, Any]] = []
    request = {"logGroupName": group, "filterPattern": f'"{item.id}"', "startTime": item.written_ms - LOG_LOOKBACK_MS}
    for _ in range(pages):
        answer = logs.filter_log_events(**request)
        found += answer.get("events", [])
        if not answer.get("nextToken"):
            break
        request["nextToken"] = answer["nextToken"]
    return found


def queue_counts(sqs: Any, url: str) -> tuple[int, int, int]:
    """A queue's approximate messages: waiting, in flight, delayed."""
    names = (
        "ApproximateNumberOfMessages",
        "ApproximateNumberOfMessagesNotVisible",
        "ApproximateNumberOfMessagesDelayed",
    )
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=list(names))["Attributes"]
    waiting, in_flight, delayed = (int(attributes.get(name, 0)) for name in names)
    return waiting, in_flight, delayed


def _is_processing_of(message: str, item: Item) -> bool:
    """A worker log line saying it processed the item's put (its own JSON line, or that line inside
    a JSON record of the Lambda runtime)."""
    try:
        record = json.loads(message)
        if isinstance(record, dict) and isinstance(record.get("message"), str) and record["message"].startswith("{"):
            record = json.loads(record["message"])
    except ValueError:
        return False
    return (
        isinstance(record, dict)
        and record.get("message") == "item changed"
        and record.get("id") == item.id
        and record.get("change") == "put"
        and record.get("version") == item.version
    )


def aws_code(error: Exception) -> str:
    """An AWS error's code (never its message, which can name the account or the role)."""
    return str(getattr(error, "response", {}).get("Error", {}).get("Code") or type(error).__name__)


def boto3_clients(service: str, region: str) -> Any:
    """A client of the AWS SDK's chain (credentials and ``AWS_ENDPOINT_URL`` from the usual places)."""
    import boto3
    from botocore.config import Config

    config = Config(connect_timeout=5, read_timeout=10, retries={"mode": "standard", "max_attempts": 3})
    return boto3.session.Session().client(service, region_name=region, config=config)


def verify(
    target: Target, waits: Waits, *, http: Http | None = None, clients: Clients = boto3_clients, out: TextIO
) -> list[Row]:
    """Run every check (cleanup even on Ctrl-C), printing the table to ``out``; the rows."""
    verification = Verification(target, waits, http or http_client(target, waits.request), clients, out)
    verification.run()
    return verification.report.rows


# ---- the command -------------------------------------------------------------------------------


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise ToolError(message)


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = _Parser(prog="tools/verify.py", description=(__doc__ or "").splitlines()[0])
    outputs.add_source_arguments(parser)
    parser.add_argument("--region", help="verify this region alone (no replication, no one address)")
    waits = Waits()
    for name, default, what in (
        ("request-timeout", waits.request, "one HTTP request"),
        ("health-wait", waits.health, "each region to answer healthy"),
        ("replication-wait", waits.replication, "an item (or its deletion) to reach the other regions"),
        ("processing-wait", waits.processing, "the worker to process an item and the work queue to drain"),
        ("poll-interval", waits.poll, "between two tries"),
    ):
        parser.add_argument(
            f"--{name}", type=_seconds, default=default, metavar="S", help=f"{what} (default {default:g})"
        )
    return parser.parse_args(argv)


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 <= value <= 3600:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds from 0 to 3600")
    return value


def load_target(args: argparse.Namespace) -> Target:
    """The environment's settings and outputs as a Target; ToolError for unusable input."""
    if args.outputs_file is not None and not args.outputs_file.is_file():
        raise ToolError(f"{args.outputs_file} not found: pass the file cdktf deploy --outputs-file wrote")
    try:
        config = outputs.environment(args.environment)
        names = _regions(config, args.region)
        stacks = [config.regional_stack_name(r) for r in names]
        if args.region is None and config.domain_name:
            stacks.append(config.edge_stack_name)
        found, _ = outputs.gather(config, _outputs_args(args), [s for s in config.stack_names if s in stacks])
        merged = outputs.merge(found)
    except outputs.ToolError as error:
        raise ToolError(str(error)) from None
    if not found:
        where = args.outputs_file or "terraform output"
        raise ToolError(f"nothing of {config.environment} to verify: {where} has no outputs of {', '.join(stacks)}")
    value = {name: output.value for name, output in merged.items()}
    return _target(config, names, value, with_address=args.region is None)


def _regions(config: StackConfig, region: str | None) -> list[str]:
    if region is None:
        return list(config.routed_regions)
    if region not in config.regions:
        raise ToolError(f"--region {region}: not a region of {config.environment} ({', '.join(config.regions)})")
    return [region]


def _outputs_args(args: argparse.Namespace) -> argparse.Namespace:
    return argparse.Namespace(outdir=args.outdir, outputs_file=args.outputs_file, show_sensitive=False, output=None)


def _target(config: StackConfig, names: Sequence[str], value: Mapping[str, Any], *, with_address: bool) -> Target:
    def of(output: str, region: str) -> Any:
        found = value.get(output)
        return found.get(region) if isinstance(found, dict) else None

    key = os.environ.get(API_KEY_VARIABLE) or None
    regions = tuple(
        Region(
            name=region,
            api_url=of("api_urls", region),
            queue_url=of("queue_urls", region),
            dead_letter_queue_url=of("dead_letter_queue_urls", region),
            worker_log_group=worker_log_group(config, region),
            api_key=key or of("api_keys", region),
        )
        for region in names
    )
    token = os.environ.get(ID_TOKEN_VARIABLE) or None
    if config.api_auth == "api_key" and any(r.api_url and not r.api_key for r in regions):
        raise ToolError(
            f"no API key: set {API_KEY_VARIABLE}, or let verify read the api_keys output (terraform output "
            "has it; cdktf deploy writes it to its outputs file only with --outputs-file-include-sensitive-outputs)"
        )
    if config.api_auth == "cognito" and token is None:
        raise ToolError(f"api_auth is cognito: set {ID_TOKEN_VARIABLE} to an ID token of a user of the user pool")
    address = value.get("api_url") if with_address and isinstance(value.get("api_url"), str) else None
    domain = config.domain_name if with_address else None
    origin = origin_secret_name(Namer(config.project_name, config.environment)) if config.cdn_enabled else None
    return Target(
        config.environment,
        config.api_auth,
        regions,
        address,
        token,
        domain,
        origin_source=origin,
        origin_header=(os.environ.get(ORIGIN_VARIABLE) or None) if origin else None,
    )


def with_origin_header(target: Target, clients: Clients) -> Target:
    """Behind CloudFront, the target with the origin header's value: ``IAC_ORIGIN_VERIFY``, else read
    from the first region's copy of the secret; ToolError when it cannot be read."""
    if target.origin_source is None or target.origin_header is not None or not target.regions:
        return target
    region = target.regions[0].name
    try:
        answer = clients("secretsmanager", region).get_secret_value(SecretId=target.origin_source)
    except Exception as error:  # ClientError, no credentials, no connection: the code, never a value
        raise ToolError(
            f"cannot read the origin header's value from secret {target.origin_source} in {region} "
            f"({aws_code(error)}): set {ORIGIN_VARIABLE}, or allow secretsmanager:GetSecretValue on it"
        ) from None
    return dataclasses.replace(target, origin_header=answer["SecretString"])


def verdict(rows: Sequence[Row], environment: str, seconds: float) -> str:
    failed = [row for row in rows if row.result == "FAIL"]
    skipped = [row for row in rows if row.result == "skip"]
    if not failed and skipped:
        passed = len(rows) - len(skipped)
        return f"verify {environment}: passed: {passed} checks ok, {len(skipped)} skipped, in {seconds:.1f} s"
    if not failed:
        return f"verify {environment}: all {len(rows)} checks passed in {seconds:.1f} s"
    which = ", ".join(f"{row.where} {row.check}" for row in failed)
    return f"verify {environment}: FAILED: {len(failed)} of {len(rows)} checks ({which})"


def main(argv: Sequence[str] = (), *, clients: Clients = boto3_clients, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    started = time.monotonic()
    try:
        args = parse_args(argv)
        target = with_origin_header(load_target(args), clients)
    except ToolError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    waits = Waits(
        args.request_timeout, args.health_wait, args.replication_wait, args.processing_wait, args.poll_interval
    )
    rows = verify(target, waits, clients=clients, out=out)
    print(verdict(rows, target.environment, time.monotonic() - started), file=out)
    return 1 if any(row.result == "FAIL" for row in rows) else 0


class Terminated(KeyboardInterrupt):
    """SIGTERM: ends the run as Ctrl-C does (its items deleted first), exit code 143."""


def _terminate(signum: int, frame: Any) -> NoReturn:
    raise Terminated(signum)


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, _terminate)
    try:
        sys.exit(main(sys.argv[1:]))
    except Terminated:
        sys.exit(128 + signal.SIGTERM)
    except KeyboardInterrupt:
        sys.exit(130)
