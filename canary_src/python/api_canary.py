"""The API's synthetic canary: a CloudWatch Synthetics canary in every region calls that region's API.

Two checks, each a Synthetics step (its own ``SuccessPercent`` and ``Duration`` metrics):

* ``health``: ``GET <API_BASE_URL>/health`` answers 200 with JSON ``{"status": "healthy", ...}``
  (unauthenticated, as Route 53's health checks call it); run alone, also from ``EXPECTED_REGION``
  where the answer names its region;
* ``region``: ``GET <API_BASE_URL>`` with the API key in ``x-api-key`` answers 200 with JSON whose
  ``region`` is ``EXPECTED_REGION``: the region's own function answered, not another region's.

Any other answer fails the step, and the run, with an error naming the URL, the status and what was
wrong (``CheckFailed``).

Runtime: ``syn-python-selenium-*`` (Python 3.11+). Zip this directory (``canary_src/``) as it is:
the file is ``python/api_canary.py`` in the zip, so the canary's handler is ``api_canary.handler``.
Standard library only, plus boto3 and the ``aws_synthetics`` library, which the runtime provides;
``aws_synthetics`` is looked up at run time, and without it (tests, a laptop) the checks run as
plain calls with the standard ``logging``.

The canary's environment (``run_config.environment_variables``):

* ``API_BASE_URL``: the API's base, e.g. ``https://abc.execute-api.us-east-1.amazonaws.com/dev/api``
* ``EXPECTED_REGION``: the region whose function must answer, e.g. ``us-east-1``
* ``CHECKS``: which checks run, comma-separated, in order: ``health,region`` (the default) or
  ``health`` alone (a watch of another region's own name from outside it: any ``api_auth``)
* ``API_KEY_SECRET_ID``: the name or ARN of the Secrets Manager secret whose ``SecretString`` is the
  API key, read from the canary's own region at every run (so a rotated key is picked up); empty or
  absent when the API takes no key. The canary's role needs ``secretsmanager:GetSecretValue`` on it
  and ``kms:Decrypt`` on its KMS key through Secrets Manager.
* ``ORIGIN_SECRET_ID``: behind a CloudFront distribution (``cdn_enabled``), the secret whose value
  every request carries in ``x-origin-verify``, as the distribution's do: the region's WAF refuses
  requests without it. Empty or absent otherwise. Read like the key, with the same permissions.

The key and the origin value are never logged, never put in an error, and never sent over plain
HTTP except to a loopback address; redirects are not followed, so they go to the API's host only.

Locally, against ``tools/serve.py``: ``API_BASE_URL=http://127.0.0.1:8000/dev/api
EXPECTED_REGION=us-east-1 python canary_src/python/api_canary.py``.
"""

from __future__ import annotations

import asyncio
import http.client
import inspect
import ipaddress
import json
import logging
import os
import sys
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

TIMEOUT_SECONDS = 10.0  # per request; the canary's own timeout must leave room for both
MAX_BODY_BYTES = 64 * 1024  # read no more of an answer than this
USER_AGENT = "iac-aws-nova-api-canary"
SHOWN_BODY_CHARS = 300  # how much of an unexpected answer an error quotes

Fetch = Callable[[str, Mapping[str, str]], tuple[int, bytes]]  # (url, headers) -> (status, body)

_fallback_log = logging.getLogger("api_canary")


class CheckFailed(Exception):
    """The API did not answer as it should: the canary run fails with this message."""


class CanaryConfigError(Exception):
    """The canary's own settings are missing or unusable, or its API key cannot be read."""


@dataclass(frozen=True)
class Settings:
    base_url: str
    expected_region: str
    api_key_secret_id: str | None
    checks: tuple[str, ...] = ("health", "region")
    origin_secret_id: str | None = None


CHECKS = ("health", "region")  # every check there is, in the order they run
ORIGIN_HEADER = "x-origin-verify"
SECRET_HEADERS = ("x-api-key", ORIGIN_HEADER)  # whose values no log line or error may show


# --------------------------------------------------------------------------- the checks (plain code)


def check(
    base_url: str,
    expected_region: str,
    api_key: str | None,
    fetch: Fetch | None = None,
    log: Any = None,
) -> dict[str, Any]:
    """Both checks, one after the other; returns what the API answered, raises CheckFailed."""
    return {
        "health": check_health(base_url, fetch, log),
        "greeting": check_region(base_url, expected_region, api_key, fetch, log),
    }


def check_health(
    base_url: str,
    fetch: Fetch | None = None,
    log: Any = None,
    expected_region: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """``GET <base>/health``, without the key (with ``headers``, such as the origin header): 200
    and ``"status": "healthy"``, and, with ``expected_region``, from that region where the answer
    names one."""
    url = _join(base_url, "health")
    body = _get_json(url, _guarded(url, headers), None, fetch or http_fetch, log or _fallback_log)
    if body.get("status") != "healthy":
        raise CheckFailed(f"GET {url} answered 200 but status is {body.get('status')!r}, not 'healthy'")
    region = body.get("region")
    if expected_region is not None and region is not None and region != expected_region:
        raise CheckFailed(f"GET {url} answered healthy but from region {region!r}, expected {expected_region!r}")
    return body


def check_region(
    base_url: str,
    expected_region: str,
    api_key: str | None,
    fetch: Fetch | None = None,
    log: Any = None,
    headers: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """``GET <base>`` with the key (and ``headers``): 200 and ``"region": expected_region``."""
    url = _join(base_url, "")
    headers = _guarded(url, headers)
    if api_key:
        _refuse_clear_text(url)
        headers["x-api-key"] = api_key
    body = _get_json(url, headers, api_key, fetch or http_fetch, log or _fallback_log)
    region = body.get("region")
    if region != expected_region:
        raise CheckFailed(f"GET {url} answered 200 but ran in region {region!r}, expected {expected_region!r}")
    return body


def _join(base_url: str, path: str) -> str:
    split = urlsplit(base_url)
    if split.scheme not in ("http", "https") or not split.hostname:
        raise CanaryConfigError(f"API_BASE_URL {base_url!r} is not an http(s) URL")
    if split.query or split.fragment:
        raise CanaryConfigError(f"API_BASE_URL {base_url!r} must not have a query or fragment")
    base = base_url.rstrip("/")
    return f"{base}/{path}" if path else base


def _guarded(url: str, headers: Mapping[str, str] | None) -> dict[str, str]:
    """Extra headers to send; one that carries a secret goes over HTTPS (or to this machine) only."""
    if headers and any(name in SECRET_HEADERS for name in headers):
        _refuse_clear_text(url, what="the origin header")
    return dict(headers or {})


def _refuse_clear_text(url: str, what: str = "the API key") -> None:
    """The key goes over HTTPS, or to this machine (a local server) only."""
    split = urlsplit(url)
    if split.scheme == "https" or _is_loopback(split.hostname or ""):
        return
    raise CanaryConfigError(f"refusing to send {what} over plain HTTP to {split.hostname}: use https")


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _get_json(url: str, headers: dict[str, str], secret: str | None, fetch: Fetch, log: Any) -> dict[str, Any]:
    """One GET: a 200 with a JSON object, or CheckFailed saying what came instead."""
    sent = {"Accept": "application/json", "User-Agent": _user_agent(), **headers}
    status, raw = fetch(url, sent)
    text = raw[:MAX_BODY_BYTES].decode("utf-8", "replace")
    for value in (secret, *(headers.get(name) for name in SECRET_HEADERS)):
        text = _redact(text, value)
    log.info("GET %s -> %s", url, status)
    if status != 200:
        raise CheckFailed(f"GET {url} answered {status}, expected 200: {_why(status, text, secret)}")
    try:
        body = json.loads(text)
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise CheckFailed(f"GET {url} answered 200 but not with a JSON object: {_shown(text)}")
    return body


def _why(status: int, text: str, secret: str | None) -> str:
    """What an unexpected answer says, for the error."""
    try:
        body = json.loads(text)
    except ValueError:
        body = None
    details = _shown(text)
    if isinstance(body, dict):
        error = body.get("error")
        reason = (
            body.get("reason") or body.get("message") or (error.get("message") if isinstance(error, dict) else error)
        )
        if isinstance(reason, str):
            details = f"{body['status']}: {reason}" if "status" in body else reason
    if status == 403:
        cause = "the API key was refused" if secret else "no API key was sent (API_KEY_SECRET_ID is empty)"
        return f"{cause} ({details})"
    return details


def _shown(text: str) -> str:
    text = " ".join(text.split())
    return repr(text if len(text) <= SHOWN_BODY_CHARS else text[: SHOWN_BODY_CHARS - 3] + "...")


def _redact(text: str, secret: str | None) -> str:
    return text.replace(secret, "***") if secret else text


# --------------------------------------------------------------------------- HTTP


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A redirect is an answer to report, not to follow (it would carry the key to another host)."""

    def redirect_request(self, req: Any, fp: Any, code: int, msg: str, headers: Any, newurl: str) -> None:
        return None


_OPENER = urllib.request.build_opener(_NoRedirects)


def http_fetch(url: str, headers: Mapping[str, str]) -> tuple[int, bytes]:
    """GET ``url``: its status and (at most ``MAX_BODY_BYTES`` of) its body, whatever the status.
    No answer at all is CheckFailed."""
    request = urllib.request.Request(url, headers=dict(headers), method="GET")
    try:
        with _OPENER.open(request, timeout=TIMEOUT_SECONDS) as response:
            return response.status, response.read(MAX_BODY_BYTES)
    except urllib.error.HTTPError as exc:  # any status but 2xx: still an answer
        with exc:
            return exc.code, exc.read(MAX_BODY_BYTES)
    except (urllib.error.URLError, http.client.HTTPException, OSError) as exc:  # refused, DNS, TLS, timeout
        reason = getattr(exc, "reason", exc)
        raise CheckFailed(f"GET {url} got no answer: {reason}") from None


def _user_agent() -> str:
    """The Synthetics canary user agent (so the API's logs can tell canary calls apart), if known."""
    synthetics = _synthetics()
    if synthetics is not None:
        try:
            return f"{synthetics.webdriver.get_canary_user_agent_string()} {USER_AGENT}"
        except Exception:
            pass
    return USER_AGENT


# --------------------------------------------------------------------------- the canary's entry


def settings_from(environ: Mapping[str, str]) -> Settings:
    """The canary's settings from its environment variables; CanaryConfigError names what is missing."""
    base_url = environ.get("API_BASE_URL", "").strip()
    expected_region = environ.get("EXPECTED_REGION", "").strip()
    missing = [name for name, value in (("API_BASE_URL", base_url), ("EXPECTED_REGION", expected_region)) if not value]
    if missing:
        raise CanaryConfigError(f"environment variable(s) not set: {', '.join(missing)}")
    _join(base_url, "")  # validated now, not in the middle of a step
    checks = tuple(name.strip() for name in environ.get("CHECKS", ",".join(CHECKS)).split(",") if name.strip())
    if not checks or checks[0] != "health" or not set(checks) <= set(CHECKS) or len(set(checks)) != len(checks):
        raise CanaryConfigError(f"CHECKS {environ.get('CHECKS')!r} must be 'health,region' or 'health'")
    return Settings(
        base_url,
        expected_region,
        environ.get("API_KEY_SECRET_ID", "").strip() or None,
        checks,
        environ.get("ORIGIN_SECRET_ID", "").strip() or None,
    )


def secrets_client() -> Any:
    """A Secrets Manager client of the canary's own region (the secret is replicated to every one)."""
    import boto3
    from botocore.config import Config

    config = Config(connect_timeout=5, read_timeout=5, retries={"mode": "standard", "max_attempts": 3})
    return boto3.client("secretsmanager", config=config)


def read_api_key(secret_id: str | None, client_factory: Callable[[], Any] | None = None) -> str | None:
    """The API key: the secret's ``SecretString``, or None without a secret."""
    return read_secret(secret_id, "the API key", client_factory)


def read_secret(secret_id: str | None, what: str, client_factory: Callable[[], Any] | None = None) -> str | None:
    """``what``: the secret's ``SecretString``, or None without a secret."""
    if not secret_id:
        return None
    try:
        answer = (client_factory or secrets_client)().get_secret_value(SecretId=secret_id)
    except Exception as exc:  # ClientError, no credentials, no connection: the code, not the value
        code = getattr(exc, "response", {}).get("Error", {}).get("Code") or type(exc).__name__
        raise CanaryConfigError(f"cannot read {what} from secret {secret_id!r}: {code}") from None
    value = answer.get("SecretString")
    if not isinstance(value, str) or not value.strip():
        raise CanaryConfigError(f"secret {secret_id!r} has no SecretString to use as {what}")
    return value.strip()


@dataclass(frozen=True)
class _Synthetics:
    webdriver: Any
    logger: Any
    configuration: Any


def _synthetics() -> _Synthetics | None:
    """The Synthetics runtime's library, or None where it is not installed."""
    try:
        from aws_synthetics.common import synthetics_configuration, synthetics_logger
        from aws_synthetics.selenium import synthetics_webdriver
    except ImportError:
        return None
    return _Synthetics(synthetics_webdriver, synthetics_logger, synthetics_configuration)


async def _step(synthetics: _Synthetics | None, name: str, function: Callable[[], Any]) -> Any:
    """Run ``function`` as a Synthetics step (its own metrics), or as a plain call without the library."""
    if synthetics is None:
        return function()
    result = synthetics.webdriver.execute_step(name, function)
    return await result if inspect.isawaitable(result) else result


async def handler(event: Any = None, context: Any = None) -> str:
    """The canary's entry point (``api_canary.handler``)."""
    synthetics = _synthetics()
    log = synthetics.logger if synthetics is not None else _fallback_log
    if synthetics is not None:
        try:  # no browser in this canary: nothing to take screenshots of
            synthetics.configuration.disable_step_screenshots()
        except Exception:
            pass
    settings = settings_from(os.environ)
    api_key = read_api_key(settings.api_key_secret_id)
    origin = read_secret(settings.origin_secret_id, "the origin header's value")
    headers = {ORIGIN_HEADER: origin} if origin else {}
    log.info(
        "Checking %s (expected region %s), API key %s",
        settings.base_url,
        settings.expected_region,
        f"from secret {settings.api_key_secret_id}" if api_key else "none",
    )
    # Alone, the health check also makes sure the watched region answered (the region check does otherwise).
    health_region = None if "region" in settings.checks else settings.expected_region
    await _step(synthetics, "health", lambda: check_health(settings.base_url, None, log, health_region, headers))
    if "region" in settings.checks:
        await _step(
            synthetics,
            "region",
            lambda: check_region(settings.base_url, settings.expected_region, api_key, None, log, headers),
        )
    message = f"{settings.base_url} is healthy and answered from {settings.expected_region}"
    log.info(message)
    return message


if __name__ == "__main__":  # a run from a shell, against any deployment or tools/serve.py
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    try:
        print(asyncio.run(handler()))
    except (CheckFailed, CanaryConfigError) as exc:
        print(f"FAILED: {exc}", file=sys.stderr)
        sys.exit(1)
