"""AWS's own rules and limits, in plain Python (no CDK), as rule objects that both layers use: the
settings layer checks what a user sets with them, early, before the CDK loads; the building blocks
check their configs with the same objects, so a rule and its message exist once. Values are
described in JSON's words (``as_json``), as a user writes them."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

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
# The one key of the items table (a string): the table, the items API and the local tools agree on it.
TABLE_PARTITION_KEY = "id"
API_AUTH_MODES = ("api_key", "iam", "cognito", "none")
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

# How new function code reaches the ``live`` alias (``deployment_strategy``): each strategy's
# predefined CodeDeploy deployment configuration for Lambda, and the most minutes its traffic shift
# takes (a canary: 10% for N minutes, then the rest; linear: 10% more every N minutes, ten steps).
# "all_at_once" is Terraform moving the alias itself (CodeDeploy's LambdaAllAtOnce, without CodeDeploy).
ALL_AT_ONCE = "all_at_once"
DEPLOYMENT_STRATEGIES: dict[str, tuple[str, int]] = {
    ALL_AT_ONCE: ("CodeDeployDefault.LambdaAllAtOnce", 0),
    "canary_10_percent_5_minutes": ("CodeDeployDefault.LambdaCanary10Percent5Minutes", 5),
    "canary_10_percent_10_minutes": ("CodeDeployDefault.LambdaCanary10Percent10Minutes", 10),
    "canary_10_percent_15_minutes": ("CodeDeployDefault.LambdaCanary10Percent15Minutes", 15),
    "canary_10_percent_30_minutes": ("CodeDeployDefault.LambdaCanary10Percent30Minutes", 30),
    "linear_10_percent_every_minute": ("CodeDeployDefault.LambdaLinear10PercentEvery1Minute", 10),
    "linear_10_percent_every_2_minutes": ("CodeDeployDefault.LambdaLinear10PercentEvery2Minutes", 20),
    "linear_10_percent_every_3_minutes": ("CodeDeployDefault.LambdaLinear10PercentEvery3Minutes", 30),
    "linear_10_percent_every_10_minutes": ("CodeDeployDefault.LambdaLinear10PercentEvery10Minutes", 100),
}
# The deployment configurations by name: what a deployment group's output says, and how long its
# shift takes.
SHIFT_MINUTES = dict(DEPLOYMENT_STRATEGIES.values())

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


class RuleError(ValueError):
    """A value that breaks a rule: the message names the setting (or config field) as written, the
    value (as JSON) and the rule, and where it helps, the likely fix."""

    def __init__(self, setting: str, detail: str) -> None:
        super().__init__(f"{setting}: {detail}")
        self.setting = setting
        self.detail = detail

    def at(self, setting: str) -> RuleError:
        """The same error, naming the setting as written elsewhere (under an environment, say)."""
        return RuleError(setting, self.detail)


def fail(setting: str, value: Any, rule: str) -> RuleError:
    """``<setting>: <value as JSON> <rule>``."""
    return RuleError(setting, f"{as_json(value)} {rule}")


def require_unique(setting: str, values: Sequence[Any]) -> None:
    """Refuse a list that names an item more than once, naming each such item."""
    duplicates = sorted({str(v) for v in values if values.count(v) > 1})
    if duplicates:
        raise fail(setting, list(values), f"lists {', '.join(duplicates)} more than once")


def require_string(setting: str, value: Any) -> None:
    """Refuse anything but a string, saying what it is instead."""
    if not isinstance(value, str):
        raise fail(setting, value, f"must be a string (got {kind_of(value)})")


class Rule(Protocol):
    """One rule for one value: ``check`` raises ``RuleError`` naming ``setting``; ``describe``
    says the rule in a few words for the generated docs."""

    def check(self, setting: str, value: Any) -> None: ...

    def describe(self) -> str: ...


@dataclass(frozen=True)
class Whole:
    """A whole number (``true`` is not 1) from ``minimum`` to ``maximum`` (no maximum: ``None``)."""

    minimum: int
    maximum: int | None = None

    def check(self, setting: str, value: Any) -> None:
        if isinstance(value, bool) or not isinstance(value, int):
            raise fail(setting, value, f"must be a whole number (got {kind_of(value)})")
        if value < self.minimum:
            raise fail(setting, value, "must be positive" if self.minimum == 1 else f"must be at least {self.minimum}")
        if self.maximum is not None and value > self.maximum:
            raise fail(setting, value, f"must be at most {self.maximum}")

    def describe(self) -> str:
        if self.maximum is not None:
            return f"whole number, {self.minimum} to {self.maximum}"
        return f"whole number, {self.minimum} or more"


@dataclass(frozen=True)
class Positive:
    """A number above zero (whole or not)."""

    def check(self, setting: str, value: Any) -> None:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise fail(setting, value, f"must be a number (got {kind_of(value)})")
        if value <= 0:
            raise fail(setting, value, "must be positive")

    def describe(self) -> str:
        return "number above 0"


@dataclass(frozen=True)
class OneOf:
    """One of ``values``; ``rule`` is the message, where ``{values}`` lists them."""

    values: tuple[Any, ...]
    rule: str = "must be one of {values}"

    def check(self, setting: str, value: Any) -> None:
        # 1 == True in Python: a boolean is never one of the numbers or names here.
        if isinstance(value, bool) or not isinstance(value, (str, int, float)) or value not in self.values:
            raise fail(setting, value, self.rule.format(values=", ".join(map(str, self.values))))

    def describe(self) -> str:
        return "one of " + ", ".join(f"`{as_json(v)}`" for v in self.values)


@dataclass(frozen=True)
class Flag:
    """``true`` or ``false``."""

    def check(self, setting: str, value: Any) -> None:
        if not isinstance(value, bool):
            raise fail(setting, value, "must be true or false")

    def describe(self) -> str:
        return "`true` or `false`"


@dataclass(frozen=True)
class Text:
    """A string matching ``pattern``; ``rule`` is the message when it does not (and the docs')."""

    pattern: str
    rule: str
    summary: str

    def check(self, setting: str, value: Any) -> None:
        require_string(setting, value)
        if not re.match(self.pattern, value):
            raise fail(setting, value, self.rule)

    def describe(self) -> str:
        return self.summary


@dataclass(frozen=True)
class Problem:
    """A string that a ``*_problem`` function finds nothing wrong with."""

    find: Any  # Callable[[object], str | None]; a dataclass field cannot be typed as a plain callable
    summary: str

    def check(self, setting: str, value: Any) -> None:
        require_string(setting, value)
        problem = self.find(value)
        if problem:
            raise fail(setting, value, problem)

    def describe(self) -> str:
        return self.summary


@dataclass(frozen=True)
class Both:
    """``first``, then ``then`` (whose words the docs use): a kind, then a list, say."""

    first: Rule
    then: Rule

    def check(self, setting: str, value: Any) -> None:
        self.first.check(setting, value)
        self.then.check(setting, value)

    def describe(self) -> str:
        return self.then.describe()


@dataclass(frozen=True)
class OrNull:
    """``rule``, or ``null`` (Python's ``None``) for "not set"."""

    rule: Rule

    def check(self, setting: str, value: Any) -> None:
        if value is not None:
            self.rule.check(setting, value)

    def describe(self) -> str:
        return f"{self.rule.describe()}, or `null`"


# The rules both layers share (a setting and the config field it feeds check the same object).
@dataclass(frozen=True)
class Fraction:
    """A number from ``minimum`` to ``maximum``, both included (a rate, a utilization)."""

    minimum: float
    maximum: float

    def check(self, setting: str, value: Any) -> None:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise fail(setting, value, f"must be a number (got {kind_of(value)})")
        if not self.minimum <= value <= self.maximum:
            raise fail(setting, value, f"must be from {self.minimum} to {self.maximum}")

    def describe(self) -> str:
        return f"number from {self.minimum} to {self.maximum}"


# AWS's cron: minutes hours day-of-month month day-of-week year, and "?" in exactly one of the
# two day fields (Application Auto Scaling refuses a schedule with both or neither).
_CRON_FIELD_RE = re.compile(r"^[0-9A-Za-z*?,/#L\-]+$")
_SCHEDULE_NAME_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
SCHEDULE_KEYS = ("name", "cron", "min", "max")


def cron_problem(cron: object) -> str | None:
    """Why ``cron`` is not one of AWS's six-field cron expressions (without ``cron(...)``), or ``None``."""
    if not isinstance(cron, str):
        return f"must be a string (got {kind_of(cron)})"
    fields = cron.split()
    if len(fields) != 6 or not all(_CRON_FIELD_RE.match(f) for f in fields):
        return (
            'must be six fields, "minutes hours day-of-month month day-of-week year", such as "0 8 ? * MON-FRI *" (UTC)'
        )
    if (fields[2] == "?") == (fields[4] == "?"):
        return 'must have "?" in exactly one of day-of-month (3rd) and day-of-week (5th), as AWS requires'
    return None


@dataclass(frozen=True)
class Schedules:
    """A list of ``{"name", "cron", "min", "max"}``: scheduled bounds of a scaled capacity."""

    def check(self, setting: str, schedules: Any) -> None:
        if not isinstance(schedules, (list, tuple)):
            raise fail(setting, schedules, 'must be a list of {"name", "cron", "min", "max"}')
        names = set()
        for index, schedule in enumerate(schedules):
            where = f"{setting}[{index}]"
            if not isinstance(schedule, Mapping) or set(schedule) != set(SCHEDULE_KEYS):
                raise fail(where, schedule, 'must have exactly the keys "name", "cron", "min" and "max"')
            if not isinstance(schedule["name"], str) or not _SCHEDULE_NAME_RE.match(schedule["name"]):
                raise fail(f"{where}.name", schedule["name"], "must be 1 to 64 letters, digits, - or _")
            if schedule["name"] in names:
                raise fail(f"{where}.name", schedule["name"], "is used by an earlier schedule")
            names.add(schedule["name"])
            problem = cron_problem(schedule["cron"])
            if problem:
                raise fail(f"{where}.cron", schedule["cron"], problem)
            Whole(0).check(f"{where}.min", schedule["min"])
            Whole(1).check(f"{where}.max", schedule["max"])
            if schedule["min"] > schedule["max"]:
                raise fail(f"{where}.min", schedule["min"], f"must not exceed its max ({schedule['max']})")

    def describe(self) -> str:
        return 'list of `{"name", "cron", "min", "max"}` (AWS cron in UTC, six fields)'


_SECRET_NAME_RE = re.compile(r"^[a-z](?:[a-z0-9-]{0,30}[a-z0-9])?$")
MAX_SECRETS = 20  # their names share the function's 4 KB of environment


@dataclass(frozen=True)
class SecretNames:
    """A list of application secrets' short names: each part of its secret's name and the key the
    function's reader takes."""

    def check(self, setting: str, names: Any) -> None:
        if not isinstance(names, (list, tuple)):
            raise fail(setting, names, 'must be a list of names such as ["db-password"]')
        if len(names) > MAX_SECRETS:
            raise fail(setting, list(names), f"must name at most {MAX_SECRETS} secrets")
        for index, name in enumerate(names):
            if not isinstance(name, str) or not _SECRET_NAME_RE.match(name):
                raise fail(
                    f"{setting}[{index}]",
                    name,
                    "must be 1 to 32 lowercase letters, digits or hyphens, start with a letter and not end "
                    "with a hyphen",
                )
            if name in names[:index]:
                raise fail(f"{setting}[{index}]", name, "is named by an earlier entry")

    def describe(self) -> str:
        return f"list of up to {MAX_SECRETS} names, each 1 to 32 lowercase letters, digits or hyphens"


SUBSCRIPTION_PROTOCOLS = ("email", "https", "sqs", "lambda")
_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_ENDPOINTS = {
    "email": (_EMAIL_RE, "an e-mail address"),
    "https": (re.compile(r"^https://[^\s/]+(/\S*)?$"), "an https:// URL"),
    "sqs": (re.compile(r"^arn:aws[a-z-]*:sqs:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,80}(\.fifo)?$"), "an SQS queue ARN"),
    "lambda": (
        re.compile(r"^arn:aws[a-z-]*:lambda:[a-z0-9-]+:\d{12}:function:[A-Za-z0-9_-]{1,64}(:[A-Za-z0-9_$-]+)?$"),
        "a Lambda function ARN",
    ),
}


@dataclass(frozen=True)
class Subscriptions:
    """A list of ``{"protocol", "endpoint", "only_alarm"}``: who else hears the alarms."""

    def check(self, setting: str, subscriptions: Any) -> None:
        if not isinstance(subscriptions, (list, tuple)):
            raise fail(setting, subscriptions, 'must be a list of {"protocol", "endpoint", "only_alarm"}')
        seen = set()
        for index, subscription in enumerate(subscriptions):
            where = f"{setting}[{index}]"
            if (
                not isinstance(subscription, Mapping)
                or not {"protocol", "endpoint"} <= set(subscription)
                or not set(subscription) <= {"protocol", "endpoint", "only_alarm"}
            ):
                raise fail(where, subscription, 'must have "protocol" and "endpoint", and may have "only_alarm"')
            protocol, endpoint = subscription["protocol"], subscription["endpoint"]
            OneOf(SUBSCRIPTION_PROTOCOLS, "must be one of {values}").check(f"{where}.protocol", protocol)
            pattern, what = _ENDPOINTS[protocol]
            if not isinstance(endpoint, str) or not pattern.match(endpoint):
                raise fail(f"{where}.endpoint", endpoint, f"is not {what} (protocol {protocol})")
            if not isinstance(subscription.get("only_alarm", False), bool):
                raise fail(f"{where}.only_alarm", subscription["only_alarm"], "must be true or false")
            if (protocol, endpoint) in seen:
                raise fail(f"{where}.endpoint", endpoint, "is subscribed by an earlier entry")
            seen.add((protocol, endpoint))

    def describe(self) -> str:
        return 'list of `{"protocol", "endpoint", "only_alarm"}`, protocol one of ' + ", ".join(
            f"`{p}`" for p in SUBSCRIPTION_PROTOCOLS
        )


UNSUPPORTED_RUNTIME = "is not supported (use one of {values}; 3.9 is retired, 3.10 deprecated)"
LAMBDA_RUNTIME = OneOf(LAMBDA_RUNTIMES, UNSUPPORTED_RUNTIME)
LAMBDA_MEMORY_MB = Whole(128, 10240)
LAMBDA_TIMEOUT_SECONDS = Whole(1, 900)
LOG_RETENTION = Both(Whole(1), OneOf(LOG_RETENTION_DAYS, "is not a retention CloudWatch accepts ({values})"))
API_AUTH = OneOf(API_AUTH_MODES)
DEPLOYMENT_STRATEGY = OneOf(tuple(DEPLOYMENT_STRATEGIES))
API_CACHE_SIZE = OrNull(OneOf(API_CACHE_SIZES_GB, "must be one of {values} (GB) or null"))
REQUEST_BODY_LIMIT = OneOf(REQUEST_BODY_LIMITS_KB, "must be one of {values} (the body sizes WAF can inspect)")
WAF_RATE_LIMIT = Whole(100, 2_000_000_000)
QUEUE_MAX_RECEIVE_COUNT = Whole(1, 1000)
# Concurrent invocations one SQS trigger may cause (Lambda's range for maximum_concurrency).
QUEUE_TRIGGER_CONCURRENCY = Whole(2, 1000)
# Application Auto Scaling's target tracking of provisioned concurrency, and its schedules.
PC_TARGET_UTILIZATION = Fraction(0.1, 0.9)
PC_SCHEDULES = Schedules()
XRAY_SAMPLING_RATE = Fraction(0.0, 1.0)
CANARY_RUNTIME = Text(
    r"^syn-python-[a-z]+-[0-9.]+$", "must be a syn-python-* Synthetics runtime", "syn-python-* runtime"
)
CANARY_INTERVAL_MINUTES = Whole(1, 60)
CDN_PRICE_CLASSES = ("PriceClass_100", "PriceClass_200", "PriceClass_All")
CDN_PRICE_CLASS = OneOf(CDN_PRICE_CLASSES, "must be one of {values} (CloudFront's price classes)")
PERCENT = Whole(1, 100)
NO_TRAFFIC_MINUTES = Whole(1, 1440)
ALARM_SUBSCRIPTIONS = Subscriptions()
SECRET_NAMES = SecretNames()
BACKUP_RETENTION_DAYS = Whole(1, 36500)
XRAY_RESERVOIR = Whole(0, 1000)
DOMAIN_NAME = Problem(domain_name_problem, "lowercase DNS name of at least two labels, at most 64 characters")
HOSTED_ZONE_ID = Problem(hosted_zone_id_problem, 'Route 53 hosted zone id ("Z...", without "/hostedzone/")')
