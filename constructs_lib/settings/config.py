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
from dataclasses import dataclass, field
from typing import Any

from ..blocks.rules import (
    API_AUTH_MODES,
    API_CACHE_SIZES_GB,
    LAMBDA_MEMORY_MB,
    LAMBDA_RUNTIMES,
    LAMBDA_TIMEOUT_SECONDS,
    LOG_RETENTION_DAYS,
    REGION_PATTERN,
    REQUEST_BODY_LIMITS_KB,
    WAF_RATE_LIMIT_PER_5_MINUTES,
    as_json,
    domain_name_problem,
    hosted_zone_id_problem,
    kind_of,
)
from .regions import KNOWN_REGIONS, default_vpc_cidr


class ConfigError(ValueError):
    """A setting that breaks a rule: the message names the setting as the user wrote it, the value
    (as JSON) and the rule, and where it helps, the likely fix."""

    def __init__(self, setting: str, detail: str) -> None:
        super().__init__(f"{setting}: {detail}")
        self.setting = setting
        self.detail = detail

    def at(self, setting: str) -> ConfigError:
        """The same error, naming the setting as written elsewhere (under an environment, say)."""
        return ConfigError(setting, self.detail)


_ZONE_ID_RE = re.compile(r"^[a-z]{2,8}\d-az\d{1,2}$")

_PROJECT_RE = re.compile(r"^[a-z](?:[a-z0-9]|-(?=[a-z0-9])){1,23}$")
_ENVIRONMENT_RE = re.compile(r"^[a-z](?:[a-z0-9]|-(?=[a-z0-9])){0,11}$")
_BUCKET_RE = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_SUFFIX_RE = re.compile(r"^[a-z0-9](?:[a-z0-9]|-(?=[a-z0-9])){0,31}$")
_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_TAG_KEY_RE = re.compile(r"^[\w .:/=+\-@]{1,128}$")
RESERVED_ENVIRONMENTS = ("bootstrap", "shared")
_RESERVED_TAGS = ("Project", "Environment", "ManagedBy", "Region")


def _fail(setting: str, value: Any, rule: str) -> ConfigError:
    return ConfigError(setting, f"{as_json(value)} {rule}")


def _int(setting: str, value: Any, *, minimum: int, maximum: int | None = None) -> None:
    # bool is an int in Python; `true` for a memory size is a mistake, not 1 MB.
    if isinstance(value, bool) or not isinstance(value, int):
        raise _fail(setting, value, f"must be a whole number (got {kind_of(value)})")
    if value < minimum:
        rule = "must be positive" if minimum == 1 else f"must be at least {minimum}"
        raise _fail(setting, value, rule)
    if maximum is not None and value > maximum:
        raise _fail(setting, value, f"must be at most {maximum}")


def _in(setting: str, value: Any, limits: tuple[int, int]) -> None:
    """``_int`` within one of the shared (minimum, maximum) limits above."""
    _int(setting, value, minimum=limits[0], maximum=limits[1])


def _number(setting: str, value: Any, *, minimum_exclusive: float = 0) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _fail(setting, value, f"must be a number (got {kind_of(value)})")
    if value <= minimum_exclusive:
        raise _fail(setting, value, "must be positive")


def _str(setting: str, value: Any) -> None:
    if not isinstance(value, str):
        raise _fail(setting, value, f"must be a string (got {kind_of(value)})")


def _ipv4_network(setting: str, cidr: Any) -> ipaddress.IPv4Network:
    """The network a CIDR names, or an error that says what is wrong with it and what was meant."""
    _str(setting, cidr)
    try:
        return ipaddress.IPv4Network(cidr)
    except ValueError:
        pass
    try:
        meant = ipaddress.IPv4Network(cidr, strict=False)
    except ValueError:
        raise _fail(setting, cidr, 'is not an IPv4 network in CIDR form (such as "10.20.0.0/16")') from None
    raise _fail(setting, cidr, f"has host bits set; did you mean {as_json(str(meant))}?")


def check_region(setting: str, region: Any) -> None:
    """Refuse a malformed or unknown region name."""
    _str(setting, region)
    if not REGION_PATTERN.match(region):
        raise _fail(setting, region, 'is not a region name (expected the form "us-east-1")')
    if region not in KNOWN_REGIONS:
        close = difflib.get_close_matches(region, KNOWN_REGIONS, n=1)
        hint = f"; did you mean {as_json(close[0])}?" if close else ""
        raise _fail(setting, region, f"is not a known AWS commercial region{hint} (known: {', '.join(KNOWN_REGIONS)})")


@dataclass(frozen=True, kw_only=True)
class StackConfig:
    """Settings of one environment's stack. Every field has a documented default.

    Identity
        project_name: lowercase letters, digits and single hyphens, 2 to 24 characters, starting
            with a letter. Default ``"iac-aws-nova"``.
        environment: same alphabet, 1 to 12 characters. Default ``"dev"``.
        regions: the regions to deploy to, at least one, no duplicates. Default
            ``("us-east-1", "us-west-2")``.
        home_region: where global resources (the dashboard) live; must be one of ``regions``.
            Default: the first region.
        tags: extra tags on every taggable resource (the Project, Environment, ManagedBy and Region
            tags are always set and cannot be overridden). Default: none.

    State
        state_bucket: S3 bucket of the remote state. Default ``None``: a local state file, so synth
            needs no AWS account.
        state_region: the state bucket's region. Default: the home region.
        state_key: the state object's key. Default ``"{project}/{environment}/terraform.tfstate"``.

    Network
        vpc_cidrs: per-region VPC CIDR (a /16 to /24 block) overriding the default, which is a fixed,
            non-overlapping ``10.N.0.0/16`` per region. Default: none.
        availability_zone_ids: per region, the two zone ids (e.g. ``["use1-az1", "use1-az2"]``) of
            the private subnets. Zone ids name the same zone in every account. Default: none, the
            region's first two available zones.

    Function
        lambda_runtime: ``"python3.12"`` (default) or ``"python3.13"``.
        lambda_memory_mb: 128 to 10240. Default 128.
        lambda_timeout_seconds: 1 to 900. Default 30.
        lambda_reserved_concurrency: reserved concurrent executions. Default ``None`` (unreserved).
        lambda_provisioned_concurrency: provisioned concurrency on the ``live`` alias, 0 to turn it
            off. Default 0.
        log_retention_days: retention of every log group; a value CloudWatch accepts. Default 365.

    API
        api_auth: who may call the API (``GET /api/health`` stays open for health checks):
            ``"api_key"`` (default: a usage plan with quota and throttling, key in ``x-api-key``),
            ``"iam"`` (SigV4-signed requests), ``"cognito"`` (a user pool and authorizer per
            region), or ``"none"`` (anyone; allowed only when set explicitly, with a warning).
        api_throttle_rate_per_second: steady-state request rate of the stage. Default 100.
        api_throttle_burst_requests: burst capacity of the stage. Default 200.
        api_usage_quota_per_day: requests per day per API key (``api_key`` auth). Default 10000.
        api_cache_size_gb: stage cache size, encrypted; ``None`` (default) turns caching off.
        api_max_request_body_kb: the largest request body the API accepts, 16, 32, 48 or 64 (KB). WAF
        inspects bodies up to this size and answers 413 above it, and so does the function. Each 16
        KB above 16 adds WAF's body-inspection fee. Default 64.
    waf_enabled: a WAF web ACL on each stage. Default ``True``.
        waf_rate_limit_per_5_minutes: requests one IP may send in 5 minutes. Default 2000.

    Global routing (all or nothing: set both to turn it on)
        domain_name: the one name callers use, e.g. ``"api.example.com"``; each region also gets
            ``<region>.<domain_name>``. Default ``None``: each region only has its own API URL.
        hosted_zone_id: the Route 53 public hosted zone of ``domain_name`` (certificates are
            validated and records written there). Default ``None``.

    Data and async work
        table_deletion_protection: refuse deleting the global table and its replicas. Default ``True``.
        queue_max_receive_count: receives after which a work message moves to the dead-letter queue,
            1 to 1000. Default 5.
        worker_memory_mb: memory of the queue's consumer function, 128 to 10240. Default 128.
        worker_timeout_seconds: its timeout, 1 to 900 (the queue's visibility timeout is six times
            it). Default 30.

    Storage
        bucket_suffix: makes the artifacts bucket name globally unique. Default ``None``: the AWS
            account id.
        artifacts_noncurrent_version_days: days before noncurrent object versions expire. Default 90.

    Monitoring
        alarm_email: address subscribed to each region's alarm topic. Default ``None``.
        alarm_errors_threshold: function errors in 10 minutes above which the alarm fires. Default 5.
        alarm_duration_threshold_ms: average duration over 10 minutes above which it fires. Default
            25000.
        alarm_api_4xx_threshold: API 4XX responses in 10 minutes above which it fires. Default 10.
        alarm_api_5xx_threshold: API 5XX responses in a minute above which it fires. Default 0.
        alarm_throttles_threshold: function throttles in a minute above which it fires. Default 0.
        alarm_queue_age_threshold_seconds: age of the work queue's oldest message above which it
            fires. Default 900. (The dead-letter queue's alarm fires on any message.)
    """

    project_name: str = "iac-aws-nova"
    environment: str = "dev"
    regions: tuple[str, ...] = ("us-east-1", "us-west-2")
    home_region: str | None = None
    tags: Mapping[str, str] = field(default_factory=dict)

    state_bucket: str | None = None
    state_region: str | None = None
    state_key: str | None = None

    vpc_cidrs: Mapping[str, str] = field(default_factory=dict)
    availability_zone_ids: Mapping[str, Sequence[str]] = field(default_factory=dict)

    lambda_runtime: str = "python3.12"
    lambda_memory_mb: int = 128
    lambda_timeout_seconds: int = 30
    lambda_reserved_concurrency: int | None = None
    lambda_provisioned_concurrency: int = 0
    log_retention_days: int = 365

    api_auth: str = "api_key"
    api_throttle_rate_per_second: float = 100
    api_throttle_burst_requests: int = 200
    api_usage_quota_per_day: int = 10_000
    api_cache_size_gb: float | None = None
    api_max_request_body_kb: int = 64
    waf_enabled: bool = True
    waf_rate_limit_per_5_minutes: int = 2000

    domain_name: str | None = None
    hosted_zone_id: str | None = None

    table_deletion_protection: bool = True
    queue_max_receive_count: int = 5
    worker_memory_mb: int = 128
    worker_timeout_seconds: int = 30

    bucket_suffix: str | None = None
    artifacts_noncurrent_version_days: int = 90

    alarm_email: str | None = None
    alarm_errors_threshold: int = 5
    alarm_duration_threshold_ms: int = 25_000
    alarm_api_4xx_threshold: int = 10
    alarm_api_5xx_threshold: int = 0
    alarm_throttles_threshold: int = 0
    alarm_queue_age_threshold_seconds: int = 900

    def __post_init__(self) -> None:
        self._check_identity()
        self._check_regions()
        self._check_zones()
        self._check_state()
        self._check_function()
        self._check_rest()
        self._check_routing()
        self._check_async()

    # Normalising setters for a frozen dataclass: a list given in code becomes a tuple, a missing
    # home region becomes the first region, so the rest of the code sees one shape.
    def _set(self, name: str, value: Any) -> None:
        object.__setattr__(self, name, value)

    def _check_identity(self) -> None:
        _str("project_name", self.project_name)
        if not _PROJECT_RE.match(self.project_name):
            raise _fail(
                "project_name",
                self.project_name,
                "must be 2 to 24 lowercase letters, digits or single hyphens, start with a "
                "letter and not end with a hyphen (it is part of every AWS resource name)",
            )
        _str("environment", self.environment)
        if self.environment in RESERVED_ENVIRONMENTS:
            raise _fail(
                "environment",
                self.environment,
                f"is reserved ({', '.join(RESERVED_ENVIRONMENTS)} name the shared bootstrap stack)",
            )
        if not _ENVIRONMENT_RE.match(self.environment):
            raise _fail(
                "environment",
                self.environment,
                "must be 1 to 12 lowercase letters, digits or single hyphens, start with a "
                "letter and not end with a hyphen (it is part of every AWS resource name)",
            )
        if not isinstance(self.tags, Mapping):
            raise _fail("tags", self.tags, "must be a mapping of tag names to values")
        for key, value in self.tags.items():
            if not isinstance(key, str) or not _TAG_KEY_RE.match(key) or key.startswith("aws:"):
                raise _fail("tags", key, 'is not a valid tag key (1 to 128 characters, not "aws:...")')
            if key in _RESERVED_TAGS:
                raise _fail(f"tags.{key}", value, f"cannot be set: the stack sets {', '.join(_RESERVED_TAGS)}")
            if not isinstance(value, str) or len(value) > 256:
                raise _fail(f"tags.{key}", value, "must be a string of at most 256 characters")
        self._set("tags", dict(sorted(self.tags.items())))

    def _check_regions(self) -> None:
        regions = self.regions
        if isinstance(regions, str):
            raise _fail(
                "regions", regions, f"must be a list of region names, not a single string (write [{as_json(regions)}])"
            )
        if not isinstance(regions, (list, tuple)):
            raise _fail("regions", regions, "must be a list of region names")
        if not regions:
            raise _fail("regions", list(regions), "must name at least one region")
        for region in regions:
            check_region("regions", region)
        duplicates = sorted({r for r in regions if regions.count(r) > 1})
        if duplicates:
            raise _fail("regions", list(regions), f"lists {', '.join(duplicates)} more than once")
        self._set("regions", tuple(regions))

        if self.home_region is None:
            self._set("home_region", regions[0])
        check_region("home_region", self.home_region)
        if self.home_region not in regions:
            raise _fail(
                "home_region", self.home_region, f"must be one of the configured regions ({', '.join(regions)})"
            )

        if not isinstance(self.vpc_cidrs, Mapping):
            raise _fail("vpc_cidrs", self.vpc_cidrs, "must be a mapping of region to CIDR")
        for region in self.vpc_cidrs:
            if region not in regions:
                raise _fail("vpc_cidrs", region, f"is not one of the configured regions ({', '.join(regions)})")
        networks: dict[str, ipaddress.IPv4Network] = {}
        for region in regions:
            cidr = self.vpc_cidr(region)
            setting = f"vpc_cidrs.{region}"
            network = _ipv4_network(setting, cidr)
            if not 16 <= network.prefixlen <= 24:
                raise _fail(setting, cidr, "must be a /16 to /24 block (AWS VPC limits, two subnets)")
            if not network.is_private:
                raise _fail(setting, cidr, "must be a private (RFC 1918) range")
            for other, other_net in networks.items():
                if network.overlaps(other_net):
                    raise _fail(setting, cidr, f"overlaps the VPC of {other} ({other_net})")
            networks[region] = network

    def _check_zones(self) -> None:
        if not isinstance(self.availability_zone_ids, Mapping):
            raise _fail(
                "availability_zone_ids", self.availability_zone_ids, "must be a mapping of region to two zone ids"
            )
        for region, zones in self.availability_zone_ids.items():
            setting = f"availability_zone_ids.{region}"
            if region not in self.regions:
                raise _fail(
                    "availability_zone_ids", region, f"is not one of the configured regions ({', '.join(self.regions)})"
                )
            if (
                not isinstance(zones, (list, tuple))
                or len(zones) != 2
                or len(set(zones)) != 2
                or not all(isinstance(z, str) and _ZONE_ID_RE.match(z) for z in zones)
            ):
                raise _fail(setting, zones, 'must be two different zone ids such as ["use1-az1", "use1-az2"]')
        self._set("availability_zone_ids", {r: tuple(z) for r, z in self.availability_zone_ids.items()})

    def _check_state(self) -> None:
        if self.state_bucket is not None:
            _str("state_bucket", self.state_bucket)
            if not _BUCKET_RE.match(self.state_bucket) or ".." in self.state_bucket:
                raise _fail(
                    "state_bucket",
                    self.state_bucket,
                    "is not a valid S3 bucket name (3 to 63 lowercase letters, digits, dots, hyphens)",
                )
        if self.state_region is None:
            self._set("state_region", self.home_region)
        check_region("state_region", self.state_region)
        if self.state_key is None:
            self._set("state_key", f"{self.project_name}/{self.environment}/terraform.tfstate")
        _str("state_key", self.state_key)
        if not self.state_key or self.state_key.startswith("/") or len(self.state_key) > 1024:
            raise _fail("state_key", self.state_key, "must be a relative S3 key of 1 to 1024 characters")

    def _check_function(self) -> None:
        if self.lambda_runtime not in LAMBDA_RUNTIMES:
            raise _fail(
                "lambda_runtime",
                self.lambda_runtime,
                f"is not supported (use one of {', '.join(LAMBDA_RUNTIMES)}; 3.9 is retired, 3.10 deprecated)",
            )
        _in("lambda_memory_mb", self.lambda_memory_mb, LAMBDA_MEMORY_MB)
        _in("lambda_timeout_seconds", self.lambda_timeout_seconds, LAMBDA_TIMEOUT_SECONDS)
        if self.lambda_reserved_concurrency is not None:
            _int("lambda_reserved_concurrency", self.lambda_reserved_concurrency, minimum=1)
        _int("lambda_provisioned_concurrency", self.lambda_provisioned_concurrency, minimum=0)
        reserved = self.lambda_reserved_concurrency
        if reserved is not None and self.lambda_provisioned_concurrency > reserved:
            raise _fail(
                "lambda_provisioned_concurrency",
                self.lambda_provisioned_concurrency,
                f"must not exceed lambda_reserved_concurrency ({reserved})",
            )
        _int("log_retention_days", self.log_retention_days, minimum=1)
        if self.log_retention_days not in LOG_RETENTION_DAYS:
            raise _fail(
                "log_retention_days",
                self.log_retention_days,
                f"is not a retention CloudWatch accepts ({', '.join(map(str, LOG_RETENTION_DAYS))})",
            )

    def _check_rest(self) -> None:
        if self.api_auth not in API_AUTH_MODES:
            raise _fail("api_auth", self.api_auth, f"must be one of {', '.join(API_AUTH_MODES)}")
        _number("api_throttle_rate_per_second", self.api_throttle_rate_per_second)
        _int("api_throttle_burst_requests", self.api_throttle_burst_requests, minimum=1)
        _int("api_usage_quota_per_day", self.api_usage_quota_per_day, minimum=1)
        if self.api_cache_size_gb is not None and (
            isinstance(self.api_cache_size_gb, bool) or self.api_cache_size_gb not in API_CACHE_SIZES_GB
        ):
            raise _fail(
                "api_cache_size_gb",
                self.api_cache_size_gb,
                f"must be one of {', '.join(map(str, API_CACHE_SIZES_GB))} (GB) or null",
            )
        if isinstance(self.api_max_request_body_kb, bool) or self.api_max_request_body_kb not in REQUEST_BODY_LIMITS_KB:
            raise _fail(
                "api_max_request_body_kb",
                self.api_max_request_body_kb,
                f"must be one of {', '.join(map(str, REQUEST_BODY_LIMITS_KB))} (the body sizes WAF can inspect)",
            )
        if not isinstance(self.waf_enabled, bool):
            raise _fail("waf_enabled", self.waf_enabled, "must be true or false")
        _in("waf_rate_limit_per_5_minutes", self.waf_rate_limit_per_5_minutes, WAF_RATE_LIMIT_PER_5_MINUTES)
        if self.bucket_suffix is not None:
            _str("bucket_suffix", self.bucket_suffix)
            if not _SUFFIX_RE.match(self.bucket_suffix):
                raise _fail(
                    "bucket_suffix", self.bucket_suffix, "must be 1 to 32 lowercase letters, digits or single hyphens"
                )
        _int("artifacts_noncurrent_version_days", self.artifacts_noncurrent_version_days, minimum=1)
        if self.alarm_email is not None:
            _str("alarm_email", self.alarm_email)
            if not _EMAIL_RE.match(self.alarm_email):
                raise _fail("alarm_email", self.alarm_email, "is not an e-mail address")
        _int("alarm_errors_threshold", self.alarm_errors_threshold, minimum=1)
        _int("alarm_duration_threshold_ms", self.alarm_duration_threshold_ms, minimum=1)
        _int("alarm_api_4xx_threshold", self.alarm_api_4xx_threshold, minimum=1)
        # "Any 5XX" and "any throttle" are the defaults: 0 is a meaningful threshold here.
        _int("alarm_api_5xx_threshold", self.alarm_api_5xx_threshold, minimum=0)
        _int("alarm_throttles_threshold", self.alarm_throttles_threshold, minimum=0)

    def _check_routing(self) -> None:
        if self.domain_name is not None and self.hosted_zone_id is None:
            raise _fail(
                "domain_name",
                self.domain_name,
                "needs hosted_zone_id too: the Route 53 public hosted zone that holds it",
            )
        if self.hosted_zone_id is not None and self.domain_name is None:
            raise _fail("hosted_zone_id", self.hosted_zone_id, "needs domain_name too: the one name callers use")
        if self.domain_name is not None:
            _str("domain_name", self.domain_name)
            problem = domain_name_problem(self.domain_name)
            if problem:
                raise _fail("domain_name", self.domain_name, problem)
        if self.hosted_zone_id is not None:
            _str("hosted_zone_id", self.hosted_zone_id)
            problem = hosted_zone_id_problem(self.hosted_zone_id)
            if problem:
                raise _fail("hosted_zone_id", self.hosted_zone_id, problem)

    def _check_async(self) -> None:
        if not isinstance(self.table_deletion_protection, bool):
            raise _fail("table_deletion_protection", self.table_deletion_protection, "must be true or false")
        _int("queue_max_receive_count", self.queue_max_receive_count, minimum=1, maximum=1000)
        _in("worker_memory_mb", self.worker_memory_mb, LAMBDA_MEMORY_MB)
        _in("worker_timeout_seconds", self.worker_timeout_seconds, LAMBDA_TIMEOUT_SECONDS)
        _int("alarm_queue_age_threshold_seconds", self.alarm_queue_age_threshold_seconds, minimum=1)

    # -- derived values ---------------------------------------------------------------------------
    @property
    def stack_name(self) -> str:
        return f"{self.project_name}-{self.environment}"

    def vpc_cidr(self, region: str) -> str:
        return self.vpc_cidrs.get(region) or default_vpc_cidr(region)
