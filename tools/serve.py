"""Serve the Lambda function on localhost the way the REST API in front of it would (issue 6).

No Docker, no AWS, standard library only::

    python tools/serve.py [--host 127.0.0.1] [--port 8000] [--stage dev] [--region us-east-1]
                          [--project iac-aws-nova] [--api-key KEY | --api-key-env VARIABLE]

Each HTTP request becomes an API Gateway REST API Lambda-proxy event (payload format 1.0) for the
resources the stack creates (``/api``, ``/api/{proxy+}``, ``/api/health``, method ANY), and the
handler's proxy response becomes the HTTP response. Requests may carry the stage prefix
(``/dev/api/...``, as on the execute-api domain) or not (``/api/...``). Paths outside ``/api``
get API Gateway's 403 ``Missing Authentication Token``; with ``--api-key`` every method except
``GET /api/health`` needs a matching ``x-api-key`` header (the ``api_key`` auth mode), else 403
``Forbidden``. A handler that raises, or returns a malformed response, gets 502 ``Internal server
error``, as API Gateway answers.

The function's other settings come from this process's environment, as its own do in Lambda: the
items routes (``/api/items``) need ``TABLE_NAME`` (else they answer 503), and ``GET /api/health``
reads that table when it is set (without it: 200, ``"table": "not configured"``); boto3 takes
``AWS_ENDPOINT_URL`` and credentials from there too, so a local moto server (``moto_server -p 5000``)
can stand in for AWS (``AWS_REGION`` is always ``--region``). ``--local-aws`` starts one in-process
with the stack's table. No events are sent locally: deployed, a write is announced by the table's
stream (an EventBridge Pipe), not by the function.

For tests: ``make_server(port=0, handler=spy)`` returns a ``ThreadingHTTPServer`` to run in a
thread; ``event_from_request(...)`` is the pure request -> event translation.

``lambda_src/`` is zipped as-is into the deployment package, so the handler is loaded by
``tools/function_loader.py``, as Lambda loads it and with bytecode writing disabled: nothing here
ever writes ``__pycache__`` there.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import hashlib
import json
import os
import signal
import socket
import sys
import time
import traceback
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import parse_qsl, unquote, urlsplit

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: `python tools/serve.py`
    sys.path.insert(0, str(ROOT))

from constructs_lib.blocks.naming import Namer  # noqa: E402  (plain Python: no CDK is loaded)
from tools.function_loader import HANDLER_FILE, call_with_environment, load_handler_module  # noqa: E402

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000
DEFAULT_STAGE = "dev"
DEFAULT_REGION = "us-east-1"
DEFAULT_PROJECT = "iac-aws-nova"

ACCOUNT_ID = "123456789012"
API_ID = "local"
MEMORY_MB = 128  # the stack's default lambda_memory_mb
TIMEOUT_SECONDS = 30  # the stack's default lambda_timeout_seconds
MAX_PAYLOAD_BYTES = 10 * 1024 * 1024  # API Gateway's request payload limit
API_METHODS = ("DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT")  # what ANY covers

# Request bodies of these types are passed base64-encoded (like an API with binaryMediaTypes).
BINARY_MEDIA_TYPES: tuple[str, ...] = (
    "application/octet-stream",
    "application/pdf",
    "application/zip",
    "application/gzip",
    "application/x-protobuf",
    "image/*",
    "audio/*",
    "video/*",
    "font/*",
)
# Framing is the server's business: never copied from the handler's response.
_FRAMING_HEADERS = frozenset({"content-length", "transfer-encoding", "connection", "keep-alive"})
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

Handler = Callable[[dict[str, Any], Any], Any]
HeaderPairs = Mapping[str, str] | Iterable[tuple[str, str]]


class MissingAuthenticationToken(LookupError):
    """The request path is no resource of the API (API Gateway's 403 for unknown routes)."""


class MalformedProxyResponse(ValueError):
    """The handler's return value is not a valid Lambda proxy response (API Gateway: 502)."""


# --------------------------------------------------------------------------- the handler


def load_handler(path: Path = HANDLER_FILE) -> Handler:
    """``handler.handler`` of the function's code."""
    handler: Handler = load_handler_module(path).handler
    return handler


def function_name(project: str, region: str, stage: str) -> str:
    """The deployed function's name, made by the stack's own naming helper."""
    return Namer(project, stage).name("fn", region, kind="lambda_function")


class LambdaContext:
    """The parts of the Python runtime's context object a handler uses."""

    def __init__(
        self, name: str, region: str, timeout_seconds: float = TIMEOUT_SECONDS, memory_mb: int = MEMORY_MB
    ) -> None:
        self.aws_request_id = str(uuid.uuid4())
        self.function_name = name
        self.function_version = "$LATEST"
        self.invoked_function_arn = f"arn:aws:lambda:{region}:{ACCOUNT_ID}:function:{name}:live"
        self.memory_limit_in_mb = str(memory_mb)  # a string in the real runtime, too
        self.log_group_name = f"/aws/lambda/{name}"
        self.log_stream_name = time.strftime("%Y/%m/%d", time.gmtime()) + f"/[$LATEST]{uuid.uuid4().hex}"
        self.identity = None
        self.client_context = None
        self._deadline = time.monotonic() + timeout_seconds

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


# --------------------------------------------------------------------------- request -> event


def match_route(raw_path: str, stage: str) -> tuple[str, str, str | None]:
    """Map a raw (still percent-encoded) request path to ``(path, resource, proxy)``.

    ``path`` is the request path without the stage prefix, as in the event; ``resource`` is the
    matched resource template; ``proxy`` the decoded ``{proxy+}`` value, or None. The stage
    prefix is stripped only when what follows it is under ``/api``, so ``/api/...`` works for
    any stage name. Raises MissingAuthenticationToken for anything outside ``/api``.
    """
    path = raw_path or "/"
    prefix = f"/{stage}"
    if path.startswith(prefix + "/") and _under_api(path[len(prefix) :]):
        path = path[len(prefix) :]
    if not _under_api(path):
        raise MissingAuthenticationToken(raw_path)
    rest = path[len("/api") :]
    if rest.strip("/") == "":  # "/api", "/api/"
        return path, "/api", None
    if unquote(rest).strip("/") == "health":  # "/api/health", "/api/health/"
        return path, "/api/health", None
    return path, "/api/{proxy+}", unquote(rest[1:])


def _under_api(path: str) -> bool:
    return path == "/api" or path.startswith("/api/")


def _header_pairs(headers: HeaderPairs) -> list[tuple[str, str]]:
    items = headers.items() if hasattr(headers, "items") else headers
    return [(str(name), str(value)) for name, value in items]


def _get_header(pairs: Sequence[tuple[str, str]], name: str) -> str | None:
    """The last value of a header, matched case-insensitively."""
    found = None
    for key, value in pairs:
        if key.lower() == name.lower():
            found = value
    return found


def is_binary(
    content_type: str | None,
    content_encoding: str | None = None,
    binary_media_types: Sequence[str] = BINARY_MEDIA_TYPES,
) -> bool:
    """True when the body must be passed base64-encoded because of its declared type."""
    if content_encoding and content_encoding.strip().lower() not in ("", "identity"):
        return True  # gzip and friends are bytes whatever the media type says
    media = (content_type or "").split(";", 1)[0].strip().lower()
    if not media:
        return False
    for pattern in binary_media_types:
        pattern = pattern.lower()
        if pattern == "*/*" or media == pattern or (pattern.endswith("/*") and media.startswith(pattern[:-1])):
            return True
    return False


def _multi(pairs: Iterable[tuple[str, str]]) -> tuple[dict[str, str] | None, dict[str, list[str]] | None]:
    """Single-value (last value wins) and multi-value maps, or (None, None) when empty."""
    single: dict[str, str] = {}
    multi: dict[str, list[str]] = {}
    for key, value in pairs:
        single[key] = value
        multi.setdefault(key, []).append(value)
    return (single, multi) if multi else (None, None)


def _request_time(epoch_ms: int) -> str:
    """API Gateway's ``requestTime``: ``09/Apr/2015:12:34:56 +0000`` (English month, always)."""
    t = time.gmtime(epoch_ms / 1000)
    return f"{t.tm_mday:02d}/{_MONTHS[t.tm_mon - 1]}/{t.tm_year}:{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d} +0000"


def event_from_request(
    method: str,
    target: str,
    headers: HeaderPairs = (),
    body: bytes = b"",
    *,
    stage: str = DEFAULT_STAGE,
    source_ip: str = "127.0.0.1",
    protocol: str = "HTTP/1.1",
    request_id: str | None = None,
    request_time_ms: int | None = None,
    api_key_required: bool = False,
    binary_media_types: Sequence[str] = BINARY_MEDIA_TYPES,
) -> dict[str, Any]:
    """Build the REST API proxy event (payload 1.0) for one HTTP request. Pure apart from the
    request id and time, which default to a fresh uuid4 and now.

    ``target`` is the request target as sent (``/dev/api/items/42?x=1&x=2``); ``headers`` a
    mapping or (name, value) pairs, repeated names allowed, case kept. Raises
    MissingAuthenticationToken for paths outside ``/api``.
    """
    split = urlsplit(target)
    path, resource, proxy = match_route(split.path, stage)
    method = method.upper()
    pairs = _header_pairs(headers)
    single_headers, multi_headers = _multi(pairs)
    # API Gateway decodes query strings ("+" and %XX); "?a" gives {"a": ""}; no query gives null.
    single_query, multi_query = _multi(parse_qsl(split.query, keep_blank_values=True))
    event_body, is_base64 = _event_body(body, pairs, binary_media_types)
    api_key = _get_header(pairs, "x-api-key") if api_key_required else None
    context = _request_context(
        resource,
        path,
        method,
        stage=stage,
        protocol=protocol,
        host=_get_header(pairs, "Host") or "localhost",
        epoch_ms=int(time.time() * 1000) if request_time_ms is None else request_time_ms,
        request_id=request_id or str(uuid.uuid4()),
        identity=_identity(source_ip, _get_header(pairs, "User-Agent"), api_key),
    )
    return {
        "resource": resource,
        "path": path,
        "httpMethod": method,
        "headers": single_headers,
        "multiValueHeaders": multi_headers,
        "queryStringParameters": single_query,
        "multiValueQueryStringParameters": multi_query,
        "pathParameters": None if proxy is None else {"proxy": proxy},
        "stageVariables": None,
        "requestContext": context,
        "body": event_body,
        "isBase64Encoded": is_base64,
    }


def _event_body(
    body: bytes, pairs: Sequence[tuple[str, str]], binary_media_types: Sequence[str]
) -> tuple[str | None, bool]:
    """``(body, isBase64Encoded)``: text as it is, binary types and undecodable bytes as base64."""
    if not body:
        return None, False
    if is_binary(_get_header(pairs, "Content-Type"), _get_header(pairs, "Content-Encoding"), binary_media_types):
        return base64.b64encode(body).decode("ascii"), True
    try:
        return body.decode("utf-8"), False
    except UnicodeDecodeError:
        return base64.b64encode(body).decode("ascii"), True


def _request_context(
    resource: str,
    path: str,
    method: str,
    *,
    stage: str,
    protocol: str,
    host: str,
    epoch_ms: int,
    request_id: str,
    identity: dict[str, Any],
) -> dict[str, Any]:
    """The event's ``requestContext``: what API Gateway knows about the request and the API."""
    return {
        "resourceId": hashlib.sha256(resource.encode()).hexdigest()[:6],
        "resourcePath": resource,
        "httpMethod": method,
        "extendedRequestId": base64.b64encode(os.urandom(12)).decode("ascii"),
        "requestTime": _request_time(epoch_ms),
        "path": f"/{stage}{path}",
        "accountId": ACCOUNT_ID,
        "protocol": protocol,
        "stage": stage,
        "domainPrefix": host.split(":", 1)[0].split(".", 1)[0],
        "requestTimeEpoch": epoch_ms,
        "requestId": request_id,
        "identity": identity,
        "domainName": host,
        "deploymentId": "local",
        "apiId": API_ID,
    }


def _identity(source_ip: str, user_agent: str | None, api_key: str | None) -> dict[str, Any]:
    """``requestContext.identity``: no IAM or Cognito caller locally; the API key only when required."""
    return {
        "cognitoIdentityPoolId": None,
        "accountId": None,
        "cognitoIdentityId": None,
        "caller": None,
        "sourceIp": source_ip,
        "principalOrgId": None,
        "accessKey": None,
        "cognitoAuthenticationType": None,
        "cognitoAuthenticationProvider": None,
        "userArn": None,
        "userAgent": user_agent,
        "user": None,
        **({"apiKey": api_key, "apiKeyId": "local"} if api_key is not None else {}),
    }


# --------------------------------------------------------------------------- response -> HTTP


def response_from_result(result: Any) -> tuple[int, list[tuple[str, str]], bytes]:
    """Turn a proxy response into ``(status, header pairs, body bytes)``.

    ``multiValueHeaders`` and ``headers`` are merged; for a name in both, the multi-value list
    wins, as in API Gateway. Raises MalformedProxyResponse where API Gateway answers 502.
    """
    if not isinstance(result, dict):
        raise MalformedProxyResponse(f"response is a {type(result).__name__}, not an object")
    status = result.get("statusCode")
    if isinstance(status, str) and status.isdigit():
        status = int(status)
    if isinstance(status, bool) or not isinstance(status, int) or not 100 <= status <= 599:
        raise MalformedProxyResponse(f"statusCode {status!r} is not an HTTP status")
    headers, multi = result.get("headers") or {}, result.get("multiValueHeaders") or {}
    if not isinstance(headers, dict) or not isinstance(multi, dict):
        raise MalformedProxyResponse("headers / multiValueHeaders must be objects")
    pairs: list[tuple[str, str]] = []
    multi_names = {str(name).lower() for name in multi}
    for name, value in headers.items():
        if str(name).lower() not in multi_names:
            pairs.append((str(name), _header_value(value)))
    for name, values in multi.items():
        if not isinstance(values, list):
            raise MalformedProxyResponse(f"multiValueHeaders[{name!r}] must be a list")
        pairs.extend((str(name), _header_value(value)) for value in values)
    pairs = [(n, v) for n, v in pairs if n.lower() not in _FRAMING_HEADERS]
    body = result.get("body")
    if body is None:
        raw = b""
    elif not isinstance(body, str):
        raise MalformedProxyResponse(f"body is a {type(body).__name__}, not a string")
    elif result.get("isBase64Encoded") is True:
        try:
            raw = base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError):
            raise MalformedProxyResponse("isBase64Encoded is true but body is not base64") from None
    else:
        raw = body.encode("utf-8", "surrogateescape")
    return status, pairs, raw


def _header_value(value: Any) -> str:
    if isinstance(value, (dict, list)) or value is None:
        raise MalformedProxyResponse(f"header value {value!r} is not a scalar")
    text = str(value).lower() if isinstance(value, bool) else str(value)
    if "\r" in text or "\n" in text:
        raise MalformedProxyResponse("header value contains a line break")
    return text


# --------------------------------------------------------------------------- the server


class LocalApiServer(ThreadingHTTPServer):
    """A ThreadingHTTPServer that carries the API's settings; see ``make_server``."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(
        self,
        address: tuple[str, int],
        *,
        handler: Handler,
        stage: str,
        region: str,
        project: str,
        api_key: str | None,
        log: TextIO | None,
    ) -> None:
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        super().__init__(address, _RequestHandler)
        self.handler = handler
        self.stage, self.region, self.project, self.api_key = stage, region, project, api_key
        self.function_name = function_name(project, region, stage)
        self.environ = {
            "REGION": region,
            "ENVIRONMENT": stage,
            "PROJECT_NAME": project,
            "AWS_REGION": region,
            "AWS_DEFAULT_REGION": region,
            "AWS_LAMBDA_FUNCTION_NAME": self.function_name,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(MEMORY_MB),
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        }
        self._log = log

    @property
    def url(self) -> str:
        """The base URL of the API, e.g. ``http://127.0.0.1:8000/dev/api``."""
        host, port = str(self.server_address[0]), self.server_address[1]
        host = f"[{host}]" if ":" in host else host
        return f"http://{host}:{port}/{self.stage}/api"

    def log(self, line: str) -> None:
        stream = self._log if self._log is not None else sys.stderr  # looked up late: pytest swaps it
        try:
            stream.write(line + "\n")
            stream.flush()
        except (OSError, ValueError):
            pass


def invoke(server: LocalApiServer, event: dict[str, Any]) -> Any:
    """Call the handler with the server's environment and a fresh context (serialized with every
    other local invocation of this process: one warm Lambda instance, in effect); exceptions propagate."""

    def call() -> Any:
        context = LambdaContext(server.function_name, server.region)  # its clock starts now
        return server.handler(event, context)

    return call_with_environment(server.environ, call)


class _BodyError(Exception):
    def __init__(self, status: int, message: str, error_type: str) -> None:
        super().__init__(message)
        self.status, self.message, self.error_type = status, message, error_type


class _RequestHandler(BaseHTTPRequestHandler):
    server: LocalApiServer
    protocol_version = "HTTP/1.1"

    def version_string(self) -> str:
        return "local-api-gateway"

    def do_GET(self) -> None:
        self._handle()

    do_DELETE = do_HEAD = do_OPTIONS = do_PATCH = do_POST = do_PUT = do_GET

    def log_request(self, code: Any = "-", size: Any = "-") -> None:
        pass  # one line per request is written by _send, with the time taken

    def log_message(self, format: str, *args: Any) -> None:
        self.server.log(f"{self.address_string()} - {format % args}")

    def _handle(self) -> None:
        self._started = time.perf_counter()
        self._serve(str(uuid.uuid4()))

    def _serve(self, request_id: str) -> int:
        target = self.path
        if not target.startswith("/"):  # absolute-form, as sent to a proxy
            split = urlsplit(target)
            target = (split.path or "/") + (f"?{split.query}" if split.query else "")
        try:
            body = self._read_body()
        except _BodyError as exc:  # the rest of the request is unread: close the connection
            return self._gateway_error(exc.status, exc.message, exc.error_type, request_id, close=True)
        server = self.server
        try:
            path, resource, _ = match_route(urlsplit(target).path, server.stage)
        except MissingAuthenticationToken:
            return self._gateway_error(
                403, "Missing Authentication Token", "MissingAuthenticationTokenException", request_id
            )
        # As API Gateway: GET /api/health and every preflight (OPTIONS) are open in every auth mode.
        key_required = server.api_key is not None and not (
            (self.command == "GET" and resource == "/api/health") or self.command == "OPTIONS"
        )
        if key_required and self.headers.get("x-api-key") != server.api_key:
            return self._gateway_error(403, "Forbidden", "ForbiddenException", request_id)
        event = event_from_request(
            self.command,
            target,
            self.headers.items(),
            body,
            stage=server.stage,
            source_ip=self.client_address[0],
            protocol=self.request_version,
            request_id=request_id,
            api_key_required=key_required,
        )
        try:
            result = invoke(server, event)
        except (Exception, SystemExit):
            server.log(
                f"handler raised for {self.command} {path} (request {request_id}):\n" + traceback.format_exc().rstrip()
            )
            return self._gateway_error(502, "Internal server error", "InternalServerErrorException", request_id)
        try:
            status, headers, payload = response_from_result(result)
        except MalformedProxyResponse as exc:
            server.log(f"malformed Lambda proxy response for {self.command} {path} (request {request_id}): {exc}")
            return self._gateway_error(502, "Internal server error", "InternalServerErrorException", request_id)
        self._send(status, headers, payload, request_id, event["requestContext"]["extendedRequestId"])
        return status

    def _read_body(self) -> bytes:
        """The request body, sized or chunked; raises _BodyError for API Gateway's 400 / 413."""
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks: list[bytes] = []
            total = 0
            while True:
                line = self.rfile.readline(65537)
                try:
                    size = int(line.split(b";", 1)[0].strip(), 16)
                except ValueError:
                    raise _BodyError(400, "Bad request", "BadRequestException") from None
                if size == 0:
                    while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    return b"".join(chunks)
                total += size
                if total > MAX_PAYLOAD_BYTES:
                    raise _BodyError(413, "Request Too Long", "RequestTooLongException")
                chunks.append(self.rfile.read(size))
                self.rfile.readline(65537)
        length_header = self.headers.get("Content-Length")
        if length_header is None:
            return b""
        try:
            length = int(length_header)
        except ValueError:
            length = -1
        if length < 0:
            raise _BodyError(400, "Bad request", "BadRequestException")
        if length > MAX_PAYLOAD_BYTES:
            raise _BodyError(413, "Request Too Long", "RequestTooLongException")
        return self.rfile.read(length) if length else b""

    def _gateway_error(
        self, status: int, message: str, error_type: str, request_id: str, *, close: bool = False
    ) -> int:
        """An answer from API Gateway itself, not from the function."""
        payload = json.dumps({"message": message}).encode()
        headers = [("Content-Type", "application/json"), ("x-amzn-ErrorType", error_type)]
        if close:
            headers.append(("Connection", "close"))
            self.close_connection = True
        self._send(status, headers, payload, request_id, None)
        return status

    def _send(
        self, status: int, headers: list[tuple[str, str]], payload: bytes, request_id: str, apigw_id: str | None
    ) -> None:
        # The request's log line is written before the answer, so it exists once a client has one.
        elapsed_ms = (time.perf_counter() - self._started) * 1000
        self.server.log(f"{self.command} {self.path} {status} {elapsed_ms:.1f}ms")
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("x-amzn-RequestId", request_id)
        if apigw_id:
            self.send_header("x-amz-apigw-id", apigw_id)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if self.command != "HEAD" and payload:
            self.wfile.write(payload)


def make_server(
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    *,
    stage: str = DEFAULT_STAGE,
    region: str = DEFAULT_REGION,
    project: str = DEFAULT_PROJECT,
    api_key: str | None = None,
    handler: Handler | None = None,
    log: TextIO | None = None,
) -> LocalApiServer:
    """A bound, not yet serving, server. ``port=0`` picks a free port (see ``server.url``);
    ``handler`` defaults to ``lambda_src/handler.py``; ``log`` to stderr at write time.
    Run it with ``serve_forever()`` (in a thread, for tests) and stop it with ``shutdown()``
    and ``server_close()``."""
    return LocalApiServer(
        (host, port),
        handler=handler or load_handler(),
        stage=stage,
        region=region,
        project=project,
        api_key=api_key,
        log=log,
    )


ITEMS_HELP = """\
the items routes (/api/items) in one command, against a local table (moto, in-process, from the
project's .venv):
  make serve-local            # or: .venv/bin/python tools/serve.py --local-aws

or against a table of your own, through the function's environment (as in Lambda):
  TABLE_NAME        DynamoDB table of the items routes; unset: they answer 503, and
                    GET /api/health answers 200 without reading a table
  AWS_ENDPOINT_URL  where boto3 sends the calls; AWS credentials as usual.
                    AWS_REGION is always --region, so the table must be in that region.
No ItemPut / ItemDeleted events are sent locally: deployed, the table's stream announces writes.
"""


def local_aws(project: str, stage: str, region: str) -> tuple[Any, dict[str, str]]:
    """moto on a free loopback port, with the stack's items table (the name the stack gives it);
    returns the server (``stop()`` it) and the function's environment for it. No event bus: the
    function publishes nothing (deployed, the table's stream does)."""
    import logging

    import boto3
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's server would log every call

    # rules.py is plain Python: the local table costs no CDK start-up.
    from constructs_lib.blocks.rules import TABLE_PARTITION_KEY as PARTITION_KEY

    namer = Namer(project, stage)
    table = namer.global_name("items", kind="dynamodb_table")
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    credentials = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
    endpoint = f"http://{host}:{port}"
    session = boto3.session.Session(aws_access_key_id="testing", aws_secret_access_key="testing", region_name=region)
    session.client("dynamodb", endpoint_url=endpoint).create_table(
        TableName=table,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": PARTITION_KEY, "AttributeType": "S"}],
        KeySchema=[{"AttributeName": PARTITION_KEY, "KeyType": "HASH"}],
    )
    return server, {**credentials, "AWS_ENDPOINT_URL": endpoint, "TABLE_NAME": table}


def routes_banner(routes: Mapping[str, Mapping[str, Any]], environ: Mapping[str, str]) -> list[str]:
    """Which routes answer, and what the items and health routes talk to (or why they do not)."""
    lines = ["Routes: " + ", ".join(f"{'|'.join(methods)} {route}" for route, methods in routes.items())]
    table = (environ.get("TABLE_NAME") or "").strip()
    if not table:
        lines.append(
            "Items routes: off (no TABLE_NAME: they answer 503); `make serve-local` runs them on a local table"
        )
        lines.append("Health: 200 without reading a table (no TABLE_NAME)")
    else:
        where = environ.get("AWS_ENDPOINT_URL") or "AWS"
        lines.append(f"Items routes: on, table {table} at {where}; no events (deployed, the table's stream sends them)")
        lines.append(f"Health: reads table {table} (503 when it cannot)")
    return lines


def _arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Serve lambda_src/handler.py behind a local imitation of the API Gateway REST API.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=ITEMS_HELP,
    )
    parser.add_argument("--host", default=DEFAULT_HOST, help="address to bind (default %(default)s)")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="0 picks a free port (default %(default)s)")
    parser.add_argument("--stage", default=DEFAULT_STAGE, help="stage / environment name (default %(default)s)")
    parser.add_argument("--region", default=DEFAULT_REGION, help="REGION for the function (default %(default)s)")
    parser.add_argument(
        "--project", default=DEFAULT_PROJECT, help="PROJECT_NAME for the function (default %(default)s)"
    )
    keys = parser.add_mutually_exclusive_group()
    keys.add_argument("--api-key", default=None, help="require this x-api-key on all but GET /api/health")
    keys.add_argument(
        "--api-key-env",
        metavar="VARIABLE",
        help="the same, with the key read from this environment variable (kept out of the process list)",
    )
    parser.add_argument(
        "--local-aws",
        action="store_true",
        help="start a local DynamoDB table (moto, in-process) for the items and health routes",
    )
    args = parser.parse_args(argv)
    if not 0 <= args.port <= 65535:
        parser.error(f"--port: {args.port} is not a port number")
    if not args.stage or "/" in args.stage:
        parser.error(f"--stage: {args.stage!r} is not a stage name")
    if args.api_key_env is not None:
        args.api_key = os.environ.get(args.api_key_env) or None
        if args.api_key is None:
            parser.error(f"--api-key-env: the environment variable {args.api_key_env} is not set")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    sys.dont_write_bytecode = True  # lambda_src/ must never get a __pycache__
    args = _arguments(argv)
    try:
        server = make_server(
            args.host, args.port, stage=args.stage, region=args.region, project=args.project, api_key=args.api_key
        )
    except OSError as exc:
        print(f"error: cannot listen on {args.host}:{args.port}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    moto = None
    function_env = {k: v for k, v in os.environ.items() if k in ("TABLE_NAME", "AWS_ENDPOINT_URL")}
    if args.local_aws:
        moto, local = local_aws(args.project, args.stage, args.region)
        server.environ.update(local)
        function_env = local

    def stop(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, signal.default_int_handler)  # Ctrl-C, even when started in the background
    print(f"Serving {args.project} (stage {args.stage}) on {server.url}", flush=True)
    for line in routes_banner(load_handler_module(name="lambda_src_handler_routes").ROUTES, function_env):
        print(line, flush=True)
    if args.api_key is not None:
        print("API key required (header x-api-key) on every method except GET /api/health", file=sys.stderr, flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        print("Stopped.", file=sys.stderr, flush=True)
    finally:
        server.server_close()
        if moto is not None:
            moto.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
