"""AWS's own rules and limits, in plain Python (no CDK): what the building blocks enforce, and what
the settings layer checks early, before the CDK loads. Values are described in JSON's words
(``as_json``), as a user writes them."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

# CloudWatch Logs accepts only these retention periods.
LOG_RETENTION_DAYS = (
    1,
    3,
    5,
    7,
    14,
    30,
    60,
    90,
    120,
    150,
    180,
    365,
    400,
    545,
    731,
    1096,
    1827,
    2192,
    2557,
    2922,
    3288,
    3653,
)
LAMBDA_RUNTIMES = ("python3.12", "python3.13")
API_AUTH_MODES = ("api_key", "iam", "cognito", "none")
# AWS limits the stack settings and the construct configs both enforce: (minimum, maximum).
LAMBDA_MEMORY_MB = (128, 10240)
LAMBDA_TIMEOUT_SECONDS = (1, 900)
WAF_RATE_LIMIT_PER_5_MINUTES = (100, 2_000_000_000)
# The stage cache sizes API Gateway offers, in GB, and the exact string its API accepts for each
# (``str(118.0)`` is "118.0", which API Gateway refuses).
API_CACHE_SIZES = {0.5: "0.5", 1.6: "1.6", 6.1: "6.1", 13.5: "13.5", 28.4: "28.4", 58.2: "58.2", 118: "118", 237: "237"}
API_CACHE_SIZES_GB = tuple(API_CACHE_SIZES)
# The request body sizes a regional WAF web ACL can inspect in front of API Gateway (KB). The API's
# body limit is one of them, so WAF inspects every byte the API accepts and the same limit holds in
# WAF, in the function and in the docs (``api_max_request_body_kb``).
REQUEST_BODY_LIMITS_KB = (16, 32, 48, 64)
_DNS_LABEL_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
_HOSTED_ZONE_RE = re.compile(r"^Z[A-Z0-9]{1,31}$")
# The custom domain is the certificate's Common Name, which RFC 5280 limits to 64 characters (so
# ``<region>.<domain_name>`` always fits DNS's 253).
MAX_DOMAIN_NAME = 64
MAX_DNS_NAME = 253
# Zones, by region, where some older accounts cannot create new subnets: never chosen for the
# subnets, and a warning when a user pins one.
CONSTRAINED_ZONE_IDS: dict[str, tuple[str, ...]] = {"us-east-1": ("use1-az3",)}

# The shape of every AWS region name, e.g. "us-east-1", "ap-southeast-7", "us-gov-west-1".
REGION_PATTERN = re.compile(r"^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d{1,2}$")


def as_json(value: Any) -> str:
    """A value as the user wrote it in JSON: ``null``, ``true``, ``["a"]``, ``{}``."""
    try:
        return json.dumps(value, ensure_ascii=False, default=_plain)
    except (TypeError, ValueError):
        return repr(value)


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return dict(value)
    raise TypeError(type(value).__name__)


def kind_of(value: Any) -> str:
    """What a JSON value is, in JSON's words."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, (list, tuple)):
        return "a list"
    if isinstance(value, Mapping):
        return "an object"
    return type(value).__name__


def dns_name_problem(name: object) -> str | None:
    """What makes ``name`` not a lowercase DNS name of at least two labels, or ``None``."""
    if not isinstance(name, str):
        return f"must be a string (got {kind_of(name)})"
    if len(name) > MAX_DNS_NAME:
        return f"is {len(name)} characters long; a DNS name has at most {MAX_DNS_NAME}"
    labels = name.split(".")
    if len(labels) < 2:
        return 'must have at least two labels (such as "api.example.com")'
    for label in labels:
        if not _DNS_LABEL_RE.match(label):
            return (
                f"has the label {as_json(label)}: each label must be 1 to 63 of a-z, 0-9 and '-', "
                "not starting or ending with '-' (lowercase, no trailing dot)"
            )
    return None


def domain_name_problem(name: object) -> str | None:
    """Why ``name`` cannot be the stack's custom domain, or ``None``."""
    problem = dns_name_problem(name)
    if problem is None and isinstance(name, str) and len(name) > MAX_DOMAIN_NAME:
        problem = f"is {len(name)} characters long; the certificate's Common Name has at most {MAX_DOMAIN_NAME}"
    return problem


def hosted_zone_id_problem(zone_id: object) -> str | None:
    """Why ``zone_id`` is not a Route 53 hosted zone id, or ``None``."""
    if isinstance(zone_id, str) and _HOSTED_ZONE_RE.match(zone_id):
        return None
    return 'is not a Route 53 hosted zone id ("Z" and 1 to 31 of A-Z and 0-9, without "/hostedzone/")'
