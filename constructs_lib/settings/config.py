"""The stack's configuration: one typed, validated object per environment (``StackConfig``), built
in code (``StackConfig(project_name="shop", regions=("eu-west-1",))``) or from settings.json
(``loading.py``).

Everything here is plain Python (no cdktf, no provider bindings), so a bad setting is refused in a
fraction of a second, before the expensive bindings load and before anything is written. The
rules that are AWS's own come from ``blocks/rules.py``, which the building blocks enforce too.
"""

from __future__ import annotations

import difflib
import ipaddress
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import Any

from ..blocks.rules import (
    ALARM_SUBSCRIPTIONS,
    API_AUTH,
    API_CACHE_SIZE,
    BACKUP_RETENTION_DAYS,
    CANARY_INTERVAL_MINUTES,
    CANARY_RUNTIME,
    CDN_PRICE_CLASS,
    DEPLOYMENT_STRATEGY,
    DOMAIN_NAME,
    HOSTED_ZONE_ID,
    LAMBDA_MEMORY_MB,
    LAMBDA_RUNTIME,
    LAMBDA_TIMEOUT_SECONDS,
    LOG_RETENTION,
    NO_TRAFFIC_MINUTES,
    PC_SCHEDULES,
    PC_TARGET_UTILIZATION,
    PERCENT,
    QUEUE_MAX_RECEIVE_COUNT,
    QUEUE_TRIGGER_CONCURRENCY,
    REGION_PATTERN,
    REQUEST_BODY_LIMIT,
    SECRET_NAMES,
    WAF_RATE_LIMIT,
    XRAY_RESERVOIR,
    XRAY_SAMPLING_RATE,
    Flag,
    OneOf,
    OrNull,
    Positive,
    Rule,
    RuleError,
    Text,
    Whole,
    as_json,
    fail,
    require_string,
    require_unique,
)
from .regions import KNOWN_REGIONS, default_vpc_cidr, zone_id_prefix

# One error type for both layers: a setting and the config field it feeds fail alike.
ConfigError = RuleError

_ZONE_ID_RE = re.compile(r"^[a-z]{2,8}\d-az\d{1,2}$")
_PROJECT_RE = r"^[a-z](?:[a-z0-9]|-(?=[a-z0-9])){1,23}$"
_ENVIRONMENT_RE = re.compile(r"^[a-z](?:[a-z0-9]|-(?=[a-z0-9])){0,11}$")
_BUCKET_RE = r"^(?!.*\.\.)[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$"
_SUFFIX_RE = r"^[a-z0-9](?:[a-z0-9]|-(?=[a-z0-9])){0,31}$"
_EMAIL_RE = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
_TAG_KEY_RE = re.compile(r"^[\w .:/=+\-@]{1,128}$")
# Names the account's bootstrap stack uses, and how an environment of that name would collide with it.
RESERVED_ENVIRONMENTS = {
    "bootstrap": "the account's bootstrap stack is named <project_name>-bootstrap, which would be this "
    "environment's stack name",
    "shared": 'the account\'s bootstrap stack names its resources as environment "shared", so this '
    "environment's resources would have the same names",
}
REGION_PLACEHOLDER, STACK_PLACEHOLDER = "{region}", "{stack}"
_RESERVED_TAGS = ("Project", "Environment", "ManagedBy", "Region")
_NAME_RULE = "lowercase letters, digits or single hyphens, start with a letter and not end with a hyphen"


def _ipv4_network(setting: str, cidr: Any) -> ipaddress.IPv4Network:
    """The network a CIDR names, or an error that says what is wrong with it and what was meant."""
    require_string(setting, cidr)
    try:
        return ipaddress.IPv4Network(cidr)
    except ValueError:
        pass
    try:
        meant = ipaddress.IPv4Network(cidr, strict=False)
    except ValueError:
        raise fail(setting, cidr, 'is not an IPv4 network in CIDR form (such as "10.20.0.0/16")') from None
    raise fail(setting, cidr, f"has host bits set; did you mean {as_json(str(meant))}?")


def check_region(setting: str, region: Any) -> None:
    """Refuse a malformed or unknown region name."""
    require_string(setting, region)
    if not REGION_PATTERN.match(region):
        raise fail(setting, region, 'is not a region name (expected the form "us-east-1")')
    if region not in KNOWN_REGIONS:
        close = difflib.get_close_matches(region, KNOWN_REGIONS, n=1)
        hint = f"; did you mean {as_json(close[0])}?" if close else ""
        raise fail(setting, region, f"is not a known AWS commercial region{hint} (known: {', '.join(KNOWN_REGIONS)})")


# -- the rules of settings that no building block has -----------------------------------------------
@dataclass(frozen=True)
class _Region:
    def check(self, setting: str, value: Any) -> None:
        check_region(setting, value)

    def describe(self) -> str:
        return "a known AWS commercial region"


@dataclass(frozen=True)
class _Regions:
    def check(self, setting: str, regions: Any) -> None:
        if isinstance(regions, str):
            raise fail(
                setting, regions, f"must be a list of region names, not a single string (write [{as_json(regions)}])"
            )
        if not isinstance(regions, (list, tuple)):
            raise fail(setting, regions, "must be a list of region names")
        if not regions:
            raise fail(setting, list(regions), "must name at least one region")
        for region in regions:
            check_region(setting, region)
        require_unique(setting, regions)

    def describe(self) -> str:
        return "list of known AWS commercial regions, at least one, no duplicates"


@dataclass(frozen=True)
class _RegionList:
    def check(self, setting: str, regions: Any) -> None:
        if not isinstance(regions, (list, tuple)):
            raise fail(setting, regions, "must be a list of region names")
        for region in regions:
            check_region(setting, region)

    def describe(self) -> str:
        return "list of region names"


@dataclass(frozen=True)
class _Environment:
    def check(self, setting: str, value: Any) -> None:
        require_string(setting, value)
        if value in RESERVED_ENVIRONMENTS:
            raise fail(setting, value, f"is a reserved environment name: {RESERVED_ENVIRONMENTS[value]}")
        if not _ENVIRONMENT_RE.match(value):
            raise fail(setting, value, f"must be 1 to 12 {_NAME_RULE} (it is part of every AWS resource name)")

    def describe(self) -> str:
        return f"1 to 12 {_NAME_RULE}; not {' or '.join(RESERVED_ENVIRONMENTS)}"


@dataclass(frozen=True)
class _Tags:
    def check(self, setting: str, tags: Any) -> None:
        if not isinstance(tags, Mapping):
            raise fail(setting, tags, "must be a mapping of tag names to values")
        for key, value in tags.items():
            if not isinstance(key, str) or not _TAG_KEY_RE.match(key) or key.startswith("aws:"):
                raise fail(setting, key, 'is not a valid tag key (1 to 128 characters, not "aws:...")')
            if key in _RESERVED_TAGS:
                raise fail(f"{setting}.{key}", value, f"cannot be set: the stack sets {', '.join(_RESERVED_TAGS)}")
            if not isinstance(value, str) or len(value) > 256:
                raise fail(f"{setting}.{key}", value, "must be a string of at most 256 characters")

    def describe(self) -> str:
        return f"object of tag names to strings; not {', '.join(_RESERVED_TAGS)}"


@dataclass(frozen=True)
class _ByRegion:
    """An object keyed by configured regions (the keys are checked against ``regions``)."""

    of: str

    def check(self, setting: str, value: Any) -> None:
        if not isinstance(value, Mapping):
            raise fail(setting, value, f"must be a mapping of region to {self.of}")

    def describe(self) -> str:
        return f"object of configured region to {self.of}"


@dataclass(frozen=True)
class _StateKey:
    def check(self, setting: str, key: Any) -> None:
        require_string(setting, key)
        if not key or key.startswith("/") or len(key) > 1024:
            raise fail(setting, key, "must be a relative S3 key of 1 to 1024 characters")
        if STACK_PLACEHOLDER not in key:
            raise fail(
                setting,
                key,
                f"must contain {STACK_PLACEHOLDER}: each of the environment's stacks (global, edge, one per region) "
                f'keeps its own state, for example "{key.rsplit("/", 1)[0] + "/" if "/" in key else ""}'
                f'{STACK_PLACEHOLDER}.tfstate"',
            )

    def describe(self) -> str:
        return f"relative S3 key, 1 to 1024 characters, containing {STACK_PLACEHOLDER}"


@dataclass(frozen=True)
class _StateBucket:
    """A bucket name, or a pattern with ``{region}`` that names one bucket per region."""

    def check(self, setting: str, bucket: Any) -> None:
        require_string(setting, bucket)
        longest = max(KNOWN_REGIONS, key=len)
        name = bucket.replace(REGION_PLACEHOLDER, longest)
        if "{" in name or "}" in name:
            raise fail(setting, bucket, f"may contain {REGION_PLACEHOLDER} and no other placeholder")
        if not re.match(_BUCKET_RE, name):
            where = f" once {REGION_PLACEHOLDER} is a region such as {longest}" if REGION_PLACEHOLDER in bucket else ""
            raise fail(
                setting,
                bucket,
                f"is not a valid S3 bucket name{where} (3 to 63 lowercase letters, digits, dots, hyphens)",
            )

    def describe(self) -> str:
        return f"S3 bucket name; {REGION_PLACEHOLDER} names one bucket per region"


def setting(
    default: Any = None,
    *,
    rule: Rule,
    doc: str,
    group: str,
    into: tuple[str, ...] = (),
    default_doc: str | None = None,
    factory: Any = None,
) -> Any:
    """One setting: its default, its rule, what it does (the docs are generated from these), and
    ``into``: the building blocks' config fields it feeds, as ``"part.field"`` (the region's wiring
    passes them on, so a new setting needs no wiring of its own)."""
    metadata = {"rule": rule, "doc": doc, "group": group, "into": into, "default_doc": default_doc}
    if factory is not None:
        return field(default_factory=factory, metadata=metadata)
    return field(default=default, metadata=metadata)


def bootstrap_stack_name(project_name: str) -> str:
    """The bootstrap stack's name: the stacks name it, and so do tools that must not load the CDK."""
    return f"{project_name}-bootstrap"


@dataclass(frozen=True)
class StateLocation:
    """Where an environment's state is: ``bucket`` ``None`` for a local state file."""

    bucket: str | None
    region: str
    key: str


DEFAULT_REGIONS = ("us-east-1", "us-west-2")


def regions_of(configs: Sequence[StackConfig]) -> tuple[str, ...]:
    """Every region any of the environments uses, in the order they first name them: the
    account-wide stack's regions."""
    regions: list[str] = []
    for config in configs:
        regions += [r for r in config.regions if r not in regions]
    return tuple(regions)


@dataclass(frozen=True)
class OutsideWatch:
    """A region (``watcher``) whose stack calls another region's API (``watched``) by its own name
    under ``domain_name``."""

    watcher: str
    watched: str
    domain_name: str


# Route 53 publishes its health checks' metrics here, so their alarms live here too: the one region
# whose outage they cannot report, and so the one watched from another region.
WATCHED_REGION = "us-east-1"
IDENTITY, STATE, NETWORK, FUNCTION, API = "Identity", "State", "Network", "Function", "API"
ROUTING, DATA, STORAGE, MONITORING = "Global routing", "Data and async work", "Storage", "Monitoring"
GROUPS = (IDENTITY, STATE, NETWORK, FUNCTION, API, ROUTING, DATA, STORAGE, MONITORING)
_ALARM = "fires above it"


@dataclass(frozen=True, kw_only=True)
class StackConfig:
    """Settings of one environment's stack. Each field is one setting: its default, its rule and
    what it does (``setting(...)``); docs/configuration.md is generated from them. Fields hold what
    the user set (``None``: the documented default); ``home`` and ``state`` resolve the defaults
    that depend on other settings.
    """

    project_name: str = setting(
        "iac-aws-nova",
        rule=Text(
            _PROJECT_RE,
            f"must be 2 to 24 {_NAME_RULE} (it is part of every AWS resource name)",
            f"2 to 24 {_NAME_RULE}",
        ),
        doc="Part of every AWS resource name.",
        group=IDENTITY,
    )
    environment: str = setting(
        "dev",
        rule=_Environment(),
        doc="Part of every resource name; the stack is `{project_name}-{environment}`. "
        "Several environments: `environments` (see Several environments).",
        group=IDENTITY,
    )
    regions: tuple[str, ...] = setting(
        DEFAULT_REGIONS, rule=_Regions(), doc="The regions to deploy to.", group=IDENTITY
    )
    home_region: str | None = setting(
        rule=OrNull(_Region()),
        doc="One of `regions`: holds the global table, the dashboard and the shared sign-in and API key. "
        "Required with more than one region (but the default two): taken from the order of `regions`, a "
        "reordered list would move the table.",
        group=IDENTITY,
        default_doc='the only region; `"us-east-1"` with the default regions',
    )
    removing_regions: tuple[str, ...] = setting(
        (),
        rule=_RegionList(),
        doc="Regions on their way out: still deployed, but no longer routed to, and their copy of the table "
        "unprotected, so the teardown workflow can destroy them. A region listed here but no longer in `regions` "
        "is retired: the global and bootstrap stacks destroy what they had there through its provider, which "
        "they keep until the region leaves this list too (docs/operations.md, Removing a region).",
        group=IDENTITY,
        default_doc="none",
    )
    tags: Mapping[str, str] = setting(
        rule=_Tags(),
        doc="Extra tags on every taggable resource (Project, Environment, ManagedBy and Region are always set).",
        group=IDENTITY,
        factory=dict,
        default_doc="none",
    )

    state_bucket: str | None = setting(
        rule=OrNull(_StateBucket()),
        doc="S3 bucket of the remote state (encrypted, S3-native locking); `null`: a local state file, "
        'so synth needs no AWS account. With `{region}` in the name (`"acme-tfstate-{region}"`), each '
        "regional stack keeps its state in its own region and the global and edge stacks in the home "
        "region, so a region's outage blocks no other region's deploy (recommended).",
        group=STATE,
    )
    state_region: str | None = setting(
        rule=OrNull(_Region()),
        doc="The state bucket's region, when `state_bucket` has no `{region}`.",
        group=STATE,
        default_doc="the home region",
    )
    state_key: str | None = setting(
        rule=OrNull(_StateKey()),
        doc="The state object's key; `{stack}` is `global`, `edge` or the region.",
        group=STATE,
        default_doc="`{project_name}/{environment}/{stack}.tfstate`",
    )
    bootstrap_state: str = setting(
        "local",
        rule=OneOf(("local", "remote"), "must be {values}"),
        doc="Where the bootstrap stack keeps its state: `local` for its first apply (it creates the state "
        "buckets), then `remote` (in the home region's state bucket) once they exist: deploy it again "
        "with `--migrate-state`.",
        group=STATE,
    )

    config_rules: bool = setting(
        True,
        rule=Flag(),
        doc="AWS Config managed rules in every region the environments use, created by the bootstrap stack: "
        "Lambda in a VPC, S3 TLS-only and encrypted, API Gateway execution logging and WAF, DynamoDB "
        "point-in-time recovery and KMS, SNS KMS, encrypted log groups, KMS rotation (docs/security.md). "
        "They need a configuration recorder in each region: the account's own, or `config_recorder`. "
        "Account-wide: set at the top level, not under `environments`. About $0.001 per evaluation.",
        group=STATE,
    )
    config_recorder: bool = setting(
        False,
        rule=Flag(),
        doc="Also create AWS Config's recorder (every supported resource type) and delivery channel, to an "
        "encrypted bucket, in every region the environments use: for an account that has none (AWS allows "
        "one per region; docs/operations.md: which case you are in). Account-wide: set at the top level, "
        "not under `environments`. About $0.003 per configuration item recorded.",
        group=STATE,
    )

    vpc_cidrs: Mapping[str, str] = setting(
        rule=_ByRegion("a private /16 to /24 IPv4 CIDR"),
        doc="A region's VPC block, overriding the default, a fixed non-overlapping `10.N.0.0/16` per region.",
        group=NETWORK,
        factory=dict,
        default_doc="none",
    )
    availability_zone_ids: Mapping[str, Sequence[str]] = setting(
        rule=_ByRegion('two zone ids of that region such as ["use1-az1", "use1-az2"]'),
        doc="A region's two subnet zones, by zone id (the same zone in every account).",
        group=NETWORK,
        factory=dict,
        default_doc="the region's first two available zones",
    )

    lambda_runtime: str = setting(
        "python3.12",
        rule=LAMBDA_RUNTIME,
        doc="Runtime of the API function and the worker.",
        group=FUNCTION,
        into=("function.runtime", "worker.runtime"),
    )
    lambda_memory_mb: int = setting(
        128, rule=LAMBDA_MEMORY_MB, doc="Memory of the API function.", group=FUNCTION, into=("function.memory_mb",)
    )
    lambda_timeout_seconds: int = setting(
        30,
        # One DynamoDB attempt takes up to 6 s and the function stops 1 s before its timeout
        # (lambda_src/budget.py): below 8 s no items request could ever be tried.
        rule=Whole(8, 900),
        doc="Timeout of the API function, at least 8 (one DynamoDB attempt and the answer). API Gateway waits "
        "29 s at most, and each request stops its own work after 25 s, so more than 30 buys nothing.",
        group=FUNCTION,
        into=("function.timeout_seconds",),
    )
    lambda_reserved_concurrency: int | None = setting(
        rule=OrNull(Whole(1)),
        doc="Reserved concurrent executions of the API function; `null`: unreserved.",
        group=FUNCTION,
        into=("function.reserved_concurrency",),
    )
    lambda_provisioned_concurrency: int = setting(
        0,
        rule=Whole(0),
        doc="Provisioned concurrency on the `live` alias (0: off); at most `lambda_reserved_concurrency`.",
        group=FUNCTION,
        into=("function.provisioned_concurrency",),
    )
    lambda_provisioned_concurrency_max: int | None = setting(
        rule=OrNull(Whole(2)),
        doc="With it, Application Auto Scaling moves the provisioned concurrency between "
        "`lambda_provisioned_concurrency` (at least 1) and this, tracking the utilization below.",
        group=FUNCTION,
        into=("function.provisioned_concurrency_max",),
        default_doc="fixed provisioned concurrency",
    )
    lambda_provisioned_concurrency_target_utilization: float = setting(
        0.7,
        rule=PC_TARGET_UTILIZATION,
        doc="The share of provisioned concurrency in use that the scaling keeps (target tracking).",
        group=FUNCTION,
        into=("function.provisioned_concurrency_target_utilization",),
    )
    lambda_provisioned_concurrency_schedules: tuple[Mapping[str, Any], ...] = setting(
        (),
        rule=PC_SCHEDULES,
        doc='Bounds for known peaks, `[{"name": "weekday-mornings", "cron": "0 7 ? * MON-FRI *", '
        '"min": 10, "max": 50}, {"name": "weekday-evenings", "cron": "0 19 ? * MON-FRI *", "min": 2, '
        '"max": 50}]` (AWS cron, UTC): scheduled actions of the scaling. A scheduled action\'s bounds stay '
        "until another sets them: one schedule must set them back to `lambda_provisioned_concurrency` and "
        "the max.",
        group=FUNCTION,
        into=("function.provisioned_concurrency_schedules",),
        default_doc="none",
    )
    deployment_strategy: str = setting(
        "all_at_once",
        rule=DEPLOYMENT_STRATEGY,
        doc="How new code of the API function and the worker reaches their `live` alias: `all_at_once` "
        "(Terraform moves it), or through CodeDeploy, a canary (`canary_10_percent_N_minutes`: 10% of the "
        "traffic for N minutes, then all) or a linear shift (`linear_10_percent_every_N_minutes`: 10% more "
        "each time). The deploy workflow starts one deployment per function after each region's apply and "
        "waits for it; CodeDeploy rolls back when an alarm fires: the API function's errors or the API's "
        "5XX rate, the worker's errors or failed messages (docs/operations.md, Gradual rollout). Free: "
        "CodeDeploy charges nothing for Lambda.",
        group=FUNCTION,
        into=("function.deployment_strategy", "worker.deployment_strategy"),
    )
    secrets: tuple[str, ...] = setting(
        (),
        rule=SECRET_NAMES,
        doc="Application secrets, by short name: each a Secrets Manager secret "
        "`{project_name}-secret-{name}-{environment}` in the home region with a replica in every other "
        "region, encrypted with each region's key. The API function may read its own region's copy only "
        "(through an interface endpoint in its subnets) and finds the names in `APP_SECRETS`; "
        "`lambda_src/app_secrets.py` reads them with a cache. Values never enter Terraform's state: put them "
        "with `aws secretsmanager put-secret-value` (README). $0.40 a month per secret and region, and "
        "$14.60 per region for the endpoint.",
        group=FUNCTION,
        default_doc="none",
    )
    log_retention_days: int = setting(
        365,
        rule=LOG_RETENTION,
        doc="Retention of every log group.",
        group=FUNCTION,
        into=(
            "function.log_retention_days",
            "worker.log_retention_days",
            "api.log_retention_days",
            "waf.log_retention_days",
            "network.flow_log_retention_days",
        ),
    )

    api_auth: str = setting(
        "api_key",
        rule=API_AUTH,
        doc="Who may call the API (`GET /api/health` stays open): `api_key` (a usage plan, key in `x-api-key`), "
        "`iam` (SigV4), `cognito` (one user pool, an authorizer per region) or `none` (anyone; a warning).",
        group=API,
        into=("api.auth",),
    )
    api_throttle_rate_per_second: float = setting(
        100,
        rule=Positive(),
        doc="Steady request rate of each region's stage: size it for one region carrying all the traffic "
        "(on failover the others' callers come here).",
        group=API,
        into=("api.throttle_rate_per_second",),
    )
    api_throttle_burst_requests: int = setting(
        200,
        rule=Whole(1),
        doc="Burst capacity of each region's stage (sized, like the rate, for one region alone).",
        group=API,
        into=("api.throttle_burst_requests",),
    )
    api_usage_quota_per_day: int = setting(
        10_000,
        rule=Whole(1),
        doc="Requests per day per API key in each region (`api_key` auth): a caller sent to another "
        "region on failover starts that region's count.",
        group=API,
        into=("api.usage_quota_per_day",),
    )
    api_cache_size_gb: float | None = setting(
        rule=API_CACHE_SIZE,
        doc="Stage cache size, encrypted; `null`: no cache.",
        group=API,
        into=("api.cache_size_gb",),
    )
    api_max_request_body_kb: int = setting(
        64,
        rule=REQUEST_BODY_LIMIT,
        doc="The largest request body: WAF inspects bodies up to it and answers 413 above it, and so does "
        "the function. Each 16 KB above 16 adds WAF's body-inspection fee.",
        group=API,
        into=("waf.max_request_body_kb",),
    )
    waf_enabled: bool = setting(True, rule=Flag(), doc="A WAF web ACL on each stage.", group=API)
    waf_rate_limit_per_5_minutes: int = setting(
        2000,
        rule=WAF_RATE_LIMIT,
        doc="Requests one IP may send in 5 minutes.",
        group=API,
        into=("waf.rate_limit_per_5_minutes",),
    )

    domain_name: str | None = setting(
        rule=OrNull(DOMAIN_NAME),
        doc="The one name callers use (each region also gets `<region>.<domain_name>`); needs `hosted_zone_id`.",
        group=ROUTING,
        into=("domain.domain_name",),
    )
    hosted_zone_id: str | None = setting(
        rule=OrNull(HOSTED_ZONE_ID),
        doc="The Route 53 public hosted zone of `domain_name`; needs `domain_name`.",
        group=ROUTING,
        into=("domain.hosted_zone_id",),
    )

    cdn_enabled: bool = setting(
        False,
        rule=Flag(),
        doc="A CloudFront distribution answers on `domain_name` (certificate in us-east-1, TLS 1.2+, HTTP/2 "
        "and 3, a WAF web ACL of its own, access logs) in front of the latency-routed regions under "
        "`origin.<domain_name>`; the regional WAFs refuse requests that bypass it (a secret origin header) "
        "but for `/api/health`. Needs `domain_name` and `waf_enabled`; not with `api_auth` `iam` (CloudFront "
        "changes the Host header a signature covers).",
        group=ROUTING,
        into=("domain.behind_cdn", "routing.behind_cdn"),
    )
    cdn_origin_enforced: bool = setting(
        True,
        rule=Flag(),
        doc="With `cdn_enabled`: the regional WAFs block (403) requests without the distribution's origin header; "
        "`false` only counts them (WAF metrics and logs), for turning `cdn_enabled` on in a running environment "
        "before the edge stack routes the name to the distribution (docs/operations.md).",
        group=ROUTING,
        into=("waf.origin_enforced",),
    )
    cdn_price_class: str = setting(
        "PriceClass_All",
        rule=CDN_PRICE_CLASS,
        doc="The CloudFront edge locations that serve callers (`PriceClass_100`: North America and Europe; "
        "`PriceClass_200`: and most of Asia; `PriceClass_All`: every one, as near as callers are).",
        group=ROUTING,
        into=("cdn.price_class",),
    )

    canary_interval_minutes: int | None = setting(
        rule=OrNull(CANARY_INTERVAL_MINUTES),
        doc="Minutes between runs of a CloudWatch Synthetics canary in every region that calls the region's "
        "`/api/health` and an authenticated `GET /api` from outside, with an alarm on its success rate "
        "(about $0.0012 a run: $10.40 a month per region every 5 minutes). `api_auth` `api_key` or `none`.",
        group=MONITORING,
        into=("canary.interval_minutes",),
        default_doc="no canary",
    )
    canary_runtime_version: str = setting(
        "syn-python-selenium-14.0",
        rule=CANARY_RUNTIME,
        doc="The canary's Synthetics runtime (its script is Python); take the newest AWS lists.",
        group=MONITORING,
        into=("canary.runtime_version", "watch.runtime_version"),
    )
    outside_watch_interval_minutes: int | None = setting(
        5,
        rule=OrNull(CANARY_INTERVAL_MINUTES),
        doc="With `domain_name` and us-east-1 among two or more routed regions: minutes between runs of a "
        "canary in another region (the home region, else the first listed) that calls "
        "`https://us-east-1.<domain_name>/api/health`, with an alarm on that region's topic. The health "
        "checks' alarms live in us-east-1 (where Route 53 publishes), so nothing else reports us-east-1's "
        "own outage (about $10.40 a month every 5 minutes). `null`: no such watch.",
        group=MONITORING,
        into=("watch.interval_minutes",),
    )
    xray_sampling_rate: float = setting(
        0.05,
        rule=XRAY_SAMPLING_RATE,
        doc="The share of API requests X-Ray traces beyond the reservoir (the project's own sampling rule).",
        group=MONITORING,
        into=("tracing.sampling_rate",),
    )
    xray_sampling_reservoir_per_second: int = setting(
        1,
        rule=XRAY_RESERVOIR,
        doc="API requests X-Ray traces each second before the rate applies.",
        group=MONITORING,
        into=("tracing.reservoir_per_second",),
    )

    table_deletion_protection: bool = setting(
        True,
        rule=Flag(),
        doc="Refuse deleting the global table and its replicas.",
        group=DATA,
        into=("table.deletion_protection",),
    )
    backup_enabled: bool = setting(
        True,
        rule=Flag(),
        doc="AWS Backup of the global table: a vault per region (its key), a daily backup at 03:00 UTC into "
        "the home region's vault, copied to `backup_copy_region`'s, and alarms on failed jobs. Point-in-time "
        "recovery stays on either way. About $0.10 per GB-month of backups, again for each copy.",
        group=DATA,
    )
    backup_retention_days: int = setting(
        35,
        rule=BACKUP_RETENTION_DAYS,
        doc="Days each backup and its copy are kept.",
        group=DATA,
    )
    backup_copy_region: str | None = setting(
        rule=OrNull(_Region()),
        doc="Where each backup is copied: one of `regions`, not the home region. With one region there is no "
        "other region to copy to.",
        group=DATA,
        default_doc="the first of `regions` other than the home region and not being removed",
    )
    queue_max_receive_count: int = setting(
        5,
        rule=QUEUE_MAX_RECEIVE_COUNT,
        doc="Receives after which a work message moves to the dead-letter queue.",
        group=DATA,
        into=("queue.max_receive_count",),
    )
    worker_memory_mb: int = setting(
        128, rule=LAMBDA_MEMORY_MB, doc="Memory of the queue's worker.", group=DATA, into=("worker.memory_mb",)
    )
    worker_max_concurrency: int = setting(
        2,
        rule=QUEUE_TRIGGER_CONCURRENCY,
        doc="Concurrent executions of the worker per region: low, so that a flood of changes cannot take a "
        "new account's whole Lambda concurrency (as little as 10) from the API; raise it with your quota.",
        group=DATA,
    )
    worker_timeout_seconds: int = setting(
        30,
        rule=LAMBDA_TIMEOUT_SECONDS,
        doc="Timeout of the worker (the queue's visibility timeout is six times it).",
        group=DATA,
        into=("worker.timeout_seconds", "queue.consumer_timeout_seconds"),
    )

    bucket_suffix: str | None = setting(
        rule=OrNull(
            Text(_SUFFIX_RE, "must be 1 to 32 lowercase letters, digits or single hyphens", "1 to 32 a-z, 0-9, -")
        ),
        doc="Makes the artifacts bucket's name globally unique.",
        group=STORAGE,
        into=("storage.bucket_suffix",),
        default_doc="the AWS account id",
    )
    artifacts_noncurrent_version_days: int = setting(
        90,
        rule=Whole(1),
        doc="Days before noncurrent object versions expire.",
        group=STORAGE,
        into=("storage.noncurrent_version_days",),
    )

    alarm_email: str | None = setting(
        rule=OrNull(Text(_EMAIL_RE, "is not an e-mail address", "e-mail address")),
        doc="Subscribed to each region's alarm topic.",
        group=MONITORING,
        into=("monitoring.alarm_email",),
    )
    alarm_errors_threshold: int = setting(
        5,
        rule=Whole(1),
        doc=f"Function errors in 10 minutes; {_ALARM}.",
        group=MONITORING,
        into=("monitoring.errors_threshold",),
    )
    alarm_duration_threshold_ms: int = setting(
        25_000,
        rule=Whole(1),
        doc=f"Average function duration over 10 minutes; {_ALARM}.",
        group=MONITORING,
        into=("monitoring.duration_threshold_ms",),
    )
    alarm_api_4xx_rate_percent: int = setting(
        20,
        rule=PERCENT,
        doc=f"Share of API requests answered 4XX over 5 minutes (from 20 requests); {_ALARM}. 404, 412 and "
        "429 are normal answers in small numbers.",
        group=MONITORING,
        into=("monitoring.api_4xx_rate_percent",),
    )
    alarm_api_5xx_rate_percent: int = setting(
        1,
        rule=PERCENT,
        doc=f"Share of API requests answered 5XX over 5 minutes (from 20 requests); {_ALARM}.",
        group=MONITORING,
        into=("monitoring.api_5xx_rate_percent",),
    )
    alarm_api_latency_p99_ms: int = setting(
        5000,
        rule=Whole(1),
        doc=f"The API's p99 latency over 5 minutes; {_ALARM}.",
        group=MONITORING,
        into=("monitoring.api_latency_p99_ms",),
    )
    alarm_no_traffic_minutes: int | None = setting(
        rule=OrNull(NO_TRAFFIC_MINUTES),
        doc="An alarm when the API answered no request for this long, where traffic is steady (a canary).",
        group=MONITORING,
        into=("monitoring.no_traffic_minutes",),
        default_doc="off",
    )
    alarm_throttles_threshold: int = setting(
        0,
        rule=Whole(0),
        doc=f"Function throttles in a minute; {_ALARM} (0: any).",
        group=MONITORING,
        into=("monitoring.throttles_threshold",),
    )
    alarm_queue_age_threshold_seconds: int = setting(
        900,
        rule=Whole(1),
        doc=f"Age of the work queue's oldest message; {_ALARM}. (Any dead letter fires its own alarm.)",
        group=MONITORING,
        into=("monitoring.queue_age_threshold_seconds",),
    )
    alarm_worker_failures_threshold: int = setting(
        0,
        rule=Whole(0),
        doc="Messages the worker failed in 5 minutes (its `MessagesFailed` metric) above which its alarm fires.",
        group=MONITORING,
        into=("monitoring.worker_failures_threshold",),
    )
    alarm_replication_latency_ms: int = setting(
        60_000,
        rule=Whole(1),
        doc=f"Average replication latency from a region to another over 10 minutes; {_ALARM}.",
        group=MONITORING,
        into=("monitoring.replication_latency_ms",),
    )
    alarm_account_concurrency_quota: int = setting(
        1000,
        rule=Whole(1),
        doc="The account's Lambda concurrency quota in each region (Service Quotas); an alarm fires at 80% of it.",
        group=MONITORING,
        into=("monitoring.account_concurrency_quota",),
    )
    alarm_waf_blocked_threshold: int = setting(
        1000,
        rule=Whole(1),
        doc=f"Requests the WAF blocked in 5 minutes; {_ALARM}.",
        group=MONITORING,
        into=("monitoring.waf_blocked_threshold",),
    )
    alarm_throttled_threshold: int = setting(
        100,
        rule=Whole(1),
        doc=f"Requests the API answered 429 (a usage plan's quota or rate, the stage's throttling) in 5 "
        f"minutes; {_ALARM}.",
        group=MONITORING,
        into=("monitoring.throttled_threshold",),
    )
    alarm_subscriptions: tuple[Mapping[str, Any], ...] = setting(
        (),
        rule=ALARM_SUBSCRIPTIONS,
        doc='Who else hears every alarm, in every region and the health alarms: `[{"protocol": "https", '
        '"endpoint": "https://events.pagerduty.com/...", "only_alarm": true}]`; protocol `email`, `https`, '
        "`sqs` or `lambda` (an SQS queue or function must let SNS deliver); `only_alarm` filters out the OK "
        "transitions.",
        group=MONITORING,
        into=("monitoring.subscriptions",),
        default_doc="none",
    )

    def __post_init__(self) -> None:
        for definition in fields(self):
            definition.metadata["rule"].check(definition.name, getattr(self, definition.name))
        self._normalize()
        self._check_regions_named()
        self._check_networks()
        self._check_zones()
        self._check_pairs()

    def _normalize(self) -> None:
        # One shape whatever the caller gave (a list or a tuple; tags in any order), so equal
        # settings make equal configs and identical JSON. Types do not change.
        object.__setattr__(self, "regions", tuple(self.regions))
        object.__setattr__(self, "removing_regions", tuple(self.removing_regions))
        object.__setattr__(self, "secrets", tuple(self.secrets))
        subscriptions = tuple(dict(s) for s in self.alarm_subscriptions)
        object.__setattr__(self, "alarm_subscriptions", subscriptions)
        schedules = tuple(dict(s) for s in self.lambda_provisioned_concurrency_schedules)
        object.__setattr__(self, "lambda_provisioned_concurrency_schedules", schedules)
        object.__setattr__(self, "tags", dict(sorted(self.tags.items())))
        object.__setattr__(self, "availability_zone_ids", {r: tuple(z) for r, z in self.availability_zone_ids.items()})

    # -- rules between settings -----------------------------------------------------------------------
    def _check_regions_named(self) -> None:
        listed = f"({', '.join(self.regions)})"
        if self.home_region is None and len(self.regions) > 1 and self.regions != DEFAULT_REGIONS:
            raise RuleError(
                "home_region",
                f"must be set with more than one region: one of {listed}, the region that holds the global table "
                "(taken from the order of regions, a reordered list would move the table and destroy a replica)",
            )
        if self.home_region is not None and self.home_region not in self.regions:
            raise fail(
                "home_region",
                self.home_region,
                f"must be one of the configured regions {listed}: a change of regions may need home_region too",
            )
        # removing_regions may name a region that has left regions: retired (retired_regions).
        for name in ("vpc_cidrs", "availability_zone_ids"):
            for region in getattr(self, name):
                if region not in self.regions:
                    raise fail(name, region, f"is not one of the configured regions {listed}")
        if self.home in self.removing_regions:
            raise fail(
                "removing_regions",
                list(self.removing_regions),
                f"lists the home region {self.home}, which holds the table itself: it cannot be removed",
            )

    def _check_networks(self) -> None:
        networks: dict[str, ipaddress.IPv4Network] = {}
        for region in self.regions:
            cidr = self.vpc_cidr(region)
            setting_name = f"vpc_cidrs.{region}"
            network = _ipv4_network(setting_name, cidr)
            if not 16 <= network.prefixlen <= 24:
                raise fail(setting_name, cidr, "must be a /16 to /24 block (AWS VPC limits, two subnets)")
            if not network.is_private:
                raise fail(setting_name, cidr, "must be a private (RFC 1918) range")
            for other, other_net in networks.items():
                if network.overlaps(other_net):
                    raise fail(setting_name, cidr, f"overlaps the VPC of {other} ({other_net})")
            networks[region] = network

    def _check_zones(self) -> None:
        for region, zones in self.availability_zone_ids.items():
            if (
                len(zones) != 2
                or len(set(zones)) != 2
                or not all(isinstance(z, str) and _ZONE_ID_RE.match(z) for z in zones)
            ):
                raise fail(
                    f"availability_zone_ids.{region}",
                    zones,
                    'must be two different zone ids such as ["use1-az1", "use1-az2"]',
                )
            prefix = zone_id_prefix(region)
            for zone in zones:
                if zone.rsplit("-az", 1)[0] != prefix:
                    raise fail(
                        f"availability_zone_ids.{region}",
                        zone,
                        f'is not a zone of {region}: its zone ids start with "{prefix}-" (such as "{prefix}-az1")',
                    )

    def _check_canary(self) -> None:
        if self.canary_interval_minutes is not None and self.alarm_no_traffic_minutes is not None:
            raise fail(
                "alarm_no_traffic_minutes",
                self.alarm_no_traffic_minutes,
                f"cannot fire with a canary: its requests (every {self.canary_interval_minutes} minutes) are traffic; "
                "the canary's own alarm reports an API that answers nothing",
            )
        if self.canary_interval_minutes is not None and self.api_auth not in ("api_key", "none"):
            raise fail(
                "canary_interval_minutes",
                self.canary_interval_minutes,
                f"needs api_auth api_key or none (with {self.api_auth!r} the canary cannot call GET /api)",
            )

    def _check_scaling(self) -> None:
        """The provisioned concurrency's scaling: a floor to scale from, a ceiling above it, within
        the reserved concurrency, and schedules only with a scaling."""
        ceiling = self.lambda_provisioned_concurrency_max
        reserved = self.lambda_reserved_concurrency
        if ceiling is None:
            if self.lambda_provisioned_concurrency_schedules:
                raise fail(
                    "lambda_provisioned_concurrency_schedules",
                    list(self.lambda_provisioned_concurrency_schedules),
                    "need lambda_provisioned_concurrency_max: a scaling whose bounds they set",
                )
            return
        if self.lambda_provisioned_concurrency < 1:
            raise fail(
                "lambda_provisioned_concurrency_max",
                ceiling,
                "needs lambda_provisioned_concurrency of at least 1: the floor the scaling keeps",
            )
        if ceiling <= self.lambda_provisioned_concurrency:
            raise fail(
                "lambda_provisioned_concurrency_max",
                ceiling,
                f"must be above lambda_provisioned_concurrency ({self.lambda_provisioned_concurrency})",
            )
        base = (self.lambda_provisioned_concurrency, ceiling)
        schedules = self.lambda_provisioned_concurrency_schedules
        if schedules and not any((s["min"], s["max"]) == base for s in schedules):
            raise fail(
                "lambda_provisioned_concurrency_schedules",
                list(schedules),
                f"never set the bounds back to min {base[0]}, max {base[1]} (lambda_provisioned_concurrency and "
                "its max): a scheduled action's bounds stay until another changes them; add one that ends the peak",
            )
        if reserved is None:
            return
        if ceiling > reserved:
            raise fail(
                "lambda_provisioned_concurrency_max",
                ceiling,
                f"must not exceed lambda_reserved_concurrency ({reserved})",
            )
        for index, schedule in enumerate(self.lambda_provisioned_concurrency_schedules):
            if schedule["max"] > reserved:
                raise fail(
                    f"lambda_provisioned_concurrency_schedules[{index}].max",
                    schedule["max"],
                    f"must not exceed lambda_reserved_concurrency ({reserved})",
                )

    def _check_compliance(self) -> None:
        if self.config_recorder and not self.config_rules:
            raise fail(
                "config_recorder",
                self.config_recorder,
                "needs config_rules: the recorder exists for the rules (an account's own recording is not "
                "this project's to create)",
            )

    def _check_backups(self) -> None:
        copy = self.backup_copy_region
        if copy is None:
            return
        if copy not in self.regions or copy == self.home:
            others = [r for r in self.regions if r != self.home]
            raise fail(
                "backup_copy_region",
                copy,
                f"must be one of regions other than the home region ({', '.join(others) or 'none: one region'})",
            )
        if copy in self.removing_regions:
            raise fail("backup_copy_region", copy, "is being removed (removing_regions): copy to a region that stays")

    def _check_pairs(self) -> None:
        self._check_scaling()
        self._check_canary()
        self._check_backups()
        self._check_compliance()
        if self.bootstrap_state == "remote" and self.state_bucket is None:
            raise fail(
                "bootstrap_state",
                self.bootstrap_state,
                "needs state_bucket: the bootstrap keeps its remote state in the home region's state bucket",
            )
        if self.splits_state_by_region and self.state_region is not None:
            raise fail(
                "state_region",
                self.state_region,
                f"must not be set when state_bucket names one bucket per region ({self.state_bucket}): "
                "each stack's state is in its own region",
            )
        reserved = self.lambda_reserved_concurrency
        if reserved is not None and self.lambda_provisioned_concurrency > reserved:
            raise fail(
                "lambda_provisioned_concurrency",
                self.lambda_provisioned_concurrency,
                f"must not exceed lambda_reserved_concurrency ({reserved})",
            )
        if self.domain_name is not None and self.hosted_zone_id is None:
            raise fail(
                "domain_name",
                self.domain_name,
                "needs hosted_zone_id too: the Route 53 public hosted zone that holds it",
            )
        if self.hosted_zone_id is not None and self.domain_name is None:
            raise fail("hosted_zone_id", self.hosted_zone_id, "needs domain_name too: the one name callers use")
        if self.cdn_enabled and self.domain_name is None:
            raise fail("cdn_enabled", self.cdn_enabled, "needs domain_name: the name the distribution answers on")
        if self.cdn_enabled and self.api_auth == "iam":
            raise fail(
                "cdn_enabled",
                self.cdn_enabled,
                "cannot front api_auth 'iam': CloudFront sends the origin's Host header, so a SigV4 signature "
                "made for domain_name no longer matches (use api_key, cognito or none)",
            )
        if self.cdn_enabled and not self.waf_enabled:
            raise fail(
                "cdn_enabled",
                self.cdn_enabled,
                "needs waf_enabled: the regional WAFs refuse the requests that bypass the distribution",
            )

    # -- derived values ---------------------------------------------------------------------------------
    @property
    def stack_name(self) -> str:
        return f"{self.project_name}-{self.environment}"

    @property
    def home(self) -> str:
        """The home region: ``home_region``, or the only region (or the first of the default two)."""
        return self.home_region or self.regions[0]

    @property
    def bootstrap_stack_name(self) -> str:
        """The account's bootstrap stack (one for every environment of the project)."""
        return bootstrap_stack_name(self.project_name)

    @property
    def global_stack_name(self) -> str:
        """The stack deployed first: the keys, the table and its replicas, what every region shares."""
        return f"{self.stack_name}-global"

    def regional_stack_name(self, region: str) -> str:
        return f"{self.stack_name}-{region}"

    @property
    def edge_stack_name(self) -> str:
        """The stack deployed last: the routing to the regions and the dashboard over them."""
        return f"{self.stack_name}-edge"

    @property
    def stack_names(self) -> tuple[str, ...]:
        """The environment's stacks in the order they deploy: global, the regions (home first), edge."""
        regions = sorted(self.regions, key=lambda r: r != self.home)
        return (self.global_stack_name, *(self.regional_stack_name(r) for r in regions), self.edge_stack_name)

    @property
    def routed_regions(self) -> tuple[str, ...]:
        """The regions the one address sends callers to: all but those being removed."""
        return tuple(r for r in self.regions if r not in self.removing_regions)

    @property
    def leaving_regions(self) -> tuple[str, ...]:
        """The regions being removed that are still deployed: not routed to, their copy of the table
        unprotected, their stack left to the teardown."""
        return tuple(r for r in dict.fromkeys(self.removing_regions) if r in self.regions)

    @property
    def retired_regions(self) -> tuple[str, ...]:
        """The regions in ``removing_regions`` that have left ``regions``: nothing is created there any
        more, but the global and bootstrap stacks keep the region's provider, which Terraform needs to
        destroy what they had there ("Provider configuration not present" otherwise)."""
        return tuple(r for r in dict.fromkeys(self.removing_regions) if r not in self.regions)

    @property
    def backup_copy(self) -> str | None:
        """The region backups are copied to: the one set, else the first other region not being
        removed; ``None`` with one region."""
        if self.backup_copy_region is not None:
            return self.backup_copy_region
        return next((r for r in self.routed_regions if r != self.home), None)

    @property
    def outside_watch(self) -> OutsideWatch | None:
        """Which region's stack watches us-east-1's API from outside it; ``None`` without a domain, a
        watch interval, us-east-1 among the routed regions or another routed region to watch from."""
        routed = self.routed_regions
        if self.domain_name is None or self.outside_watch_interval_minutes is None or WATCHED_REGION not in routed:
            return None
        others = [r for r in routed if r != WATCHED_REGION]
        if not others:
            return None
        watcher = self.home if self.home in others else others[0]
        return OutsideWatch(watcher=watcher, watched=WATCHED_REGION, domain_name=self.domain_name)

    @property
    def splits_state_by_region(self) -> bool:
        return self.state_bucket is not None and REGION_PLACEHOLDER in self.state_bucket

    def state_of(self, stack: str) -> StateLocation:
        """Where a stack's state is: ``stack`` is ``"global"``, ``"edge"`` or a region. With
        ``{region}`` in the bucket, a regional stack's state is in its own region, the others' in the
        home region; without it, every state is in the one bucket's region."""
        if self.splits_state_by_region:
            region = stack if stack in self.regions else self.home
        else:
            region = self.state_region or self.home
        key = self.state_key or f"{self.project_name}/{self.environment}/{STACK_PLACEHOLDER}.tfstate"
        return StateLocation(
            bucket=self.state_bucket.replace(REGION_PLACEHOLDER, region) if self.state_bucket else None,
            region=region,
            key=key.replace(STACK_PLACEHOLDER, stack),
        )

    @property
    def state_regions(self) -> tuple[str, ...]:
        """The regions that hold this environment's state buckets."""
        return tuple(sorted({self.state_of(s).region for s in ("global", *self.regions)}))

    def vpc_cidr(self, region: str) -> str:
        return self.vpc_cidrs.get(region) or default_vpc_cidr(region)

    def settings_for(self, part: str) -> dict[str, Any]:
        """The values of the settings that feed ``part``'s config (``into``), by config field."""
        values = {}
        for definition in fields(self):
            for target in definition.metadata["into"]:
                target_part, _, config_field = target.partition(".")
                if target_part == part:
                    values[config_field] = getattr(self, definition.name)
        return values
