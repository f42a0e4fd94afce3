"""A regional REST API in front of one region's function."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from typing import Any

from ..cdk import aws
from ..cdk.core import Construct, Fn, TerraformResourceLifecycle
from .naming import Namer
from .rules import API_AUTH, API_CACHE_SIZE, API_CACHE_SIZES, LOG_RETENTION, Positive, Whole
from .sign_in import user_pool_and_client

# One JSON object per request; the $context variables are API Gateway's, not Terraform's.
ACCESS_LOG_FORMAT = json.dumps(
    {
        "requestId": "$context.requestId",
        "extendedRequestId": "$context.extendedRequestId",
        "ip": "$context.identity.sourceIp",
        "userAgent": "$context.identity.userAgent",
        "requestTime": "$context.requestTime",
        "httpMethod": "$context.httpMethod",
        "resourcePath": "$context.resourcePath",
        "path": "$context.path",
        "status": "$context.status",
        "protocol": "$context.protocol",
        "responseLength": "$context.responseLength",
        "responseLatency": "$context.responseLatency",
        "integrationLatency": "$context.integration.latency",
        "integrationStatus": "$context.integration.status",
        "errorMessage": "$context.error.message",
        "xrayTraceId": "$context.xrayTraceId",
    },
    separators=(",", ":"),
)


_ORIGIN_RE = re.compile(r"^(\*|https?://[a-z0-9.-]+(:\d{1,5})?)$")
_TOKEN_RE = re.compile(r"^[A-Za-z0-9-]+$")
# Arguments that place a part of the API, not what it does: left out of the redeployment hash.
_NOT_BEHAVIOUR = ("provider", "depends_on", "lifecycle")
# What a cached read is keyed by: its path and the query the items API reads (lambda_src/items.py).
CACHE_KEYS = ("method.request.path.proxy", "method.request.querystring.cursor", "method.request.querystring.limit")


@dataclass(frozen=True, kw_only=True)
class Cors:
    """What browsers on other origins may do with the API: the one definition of the CORS headers,
    which API Gateway answers preflights with (``OPTIONS``, never authenticated) and adds to its own
    error answers, and which the function adds to its answers (``response_headers``).

    allow_origin: ``"*"`` (default) or one origin such as ``"https://app.example.com"``.
    allow_methods, allow_headers: what a preflight allows. Default: the methods the function
        serves, and the headers it reads (auth, content type, conditional writes).
    expose_headers: response headers scripts may read. Default ``ETag`` and ``Retry-After``.
    max_age_seconds: how long a browser caches a preflight answer, 0 to 7200. Default 600.
    """

    allow_origin: str = "*"
    allow_methods: tuple[str, ...] = ("GET", "POST", "PUT", "DELETE", "OPTIONS")
    allow_headers: tuple[str, ...] = (
        "Content-Type",
        "Authorization",
        "X-Api-Key",
        "X-Amz-Date",
        "X-Amz-Security-Token",
        "If-Match",
        "If-None-Match",
    )
    expose_headers: tuple[str, ...] = ("ETag", "Retry-After")
    max_age_seconds: int = 600

    def __post_init__(self) -> None:
        if not _ORIGIN_RE.match(self.allow_origin):
            raise ValueError(
                f"allow_origin: {self.allow_origin!r} must be '*' or an origin such as 'https://example.com'"
            )
        for name in ("allow_methods", "allow_headers", "expose_headers"):
            values = getattr(self, name)
            if not values or not all(isinstance(v, str) and _TOKEN_RE.match(v) for v in values):
                raise ValueError(f"{name}: {list(values)!r} must be a non-empty list of header or method names")
        if not 0 <= self.max_age_seconds <= 7200:
            raise ValueError(f"max_age_seconds: {self.max_age_seconds!r} must be 0 to 7200")

    def response_headers(self) -> dict[str, str]:
        """The headers every actual (non-preflight) answer carries."""
        return {
            "Access-Control-Allow-Origin": self.allow_origin,
            "Access-Control-Expose-Headers": ", ".join(self.expose_headers),
        }

    def preflight_headers(self) -> dict[str, str]:
        """The headers of the answer to a preflight."""
        return {
            "Access-Control-Allow-Origin": self.allow_origin,
            "Access-Control-Allow-Methods": ", ".join(self.allow_methods),
            "Access-Control-Allow-Headers": ", ".join(self.allow_headers),
            "Access-Control-Max-Age": str(self.max_age_seconds),
        }


def api_name(namer: Namer, region: str) -> str:
    """The REST API's name: how a stack that did not create it names it."""
    return namer.name("api", region, kind="rest_api")


@dataclass(frozen=True, kw_only=True)
class ApiConfig:
    """Settings of one region's REST API.

    namer, region: where and how resources are named.
    stage_name: the stage, named after the environment.
    auth: ``"api_key"`` (default), ``"iam"``, ``"cognito"`` or ``"none"``; ``GET /api/health`` and
        every ``OPTIONS`` (CORS preflight) are always open.
    throttle_rate_per_second: steady-state requests per second for every method. Default 100.
    throttle_burst_requests: burst capacity. Default 200.
    usage_quota_per_day: requests per day per API key (``api_key`` auth). Default 10000.
    cache_size_gb: stage cache size (encrypted), one of the sizes API Gateway offers; ``None``
        (default) turns caching off.
    log_retention_days: retention of the access and execution log groups. Default 365.
    cors: the CORS headers (see ``Cors``). Default ``Cors()``.
    """

    namer: Namer
    region: str
    stage_name: str
    auth: str = "api_key"
    throttle_rate_per_second: float = 100
    throttle_burst_requests: int = 200
    usage_quota_per_day: int = 10_000
    cache_size_gb: float | None = None
    log_retention_days: int = 365
    cors: Cors = Cors()

    def __post_init__(self) -> None:
        API_AUTH.check("auth", self.auth)
        Positive().check("throttle_rate_per_second", self.throttle_rate_per_second)
        Whole(1).check("throttle_burst_requests", self.throttle_burst_requests)
        Whole(1).check("usage_quota_per_day", self.usage_quota_per_day)
        API_CACHE_SIZE.check("cache_size_gb", self.cache_size_gb)
        LOG_RETENTION.check("log_retention_days", self.log_retention_days)

    @property
    def cache_cluster_size(self) -> str | None:
        """The stage's cache size as API Gateway spells it ("118", not "118.0"), or ``None``."""
        return None if self.cache_size_gb is None else API_CACHE_SIZES[self.cache_size_gb]


@dataclass(frozen=True, kw_only=True)
class FunctionTarget:
    """The function behind the API, as references to the deployed function and its alias, so that
    everything naming them waits for them and follows a replacement."""

    function_name: str
    alias_name: str
    alias_invoke_arn: str


class Api(Construct):
    """Creates a REGIONAL REST API with ``/api``, ``/api/{proxy+}`` and ``/api/health`` (Lambda proxy
    integration to the function's alias), where every method requires the configured auth (an API
    key with a usage plan, IAM, or a Cognito authorizer) except ``GET /api/health`` and the CORS
    preflights (an unauthenticated ``OPTIONS`` on every resource, answered by API Gateway itself);
    CORS headers on API Gateway's own 4XX and 5XX answers; a request validator on every method; a
    deployment replaced whenever any argument of any part that shapes the API's behaviour changes;
    a stage named after the environment with JSON access logs and execution logs (both in log groups
    encrypted with the region's key, with retention), X-Ray tracing, metrics, throttling and an
    optional encrypted cache; and a permission that lets only this stage invoke the alias.

    With ``api_key`` auth, ``api_key_value`` (another region's key) makes this region accept the same
    key; without it API Gateway generates one. With ``cognito`` auth, ``user_pool_arn`` (the home
    region's pool) makes this region's authorizer trust that pool; without it the construct creates
    the pool and its app client.

    Access and execution logging need API Gateway's account-level CloudWatch role in the region,
    which the bootstrap stack creates.
    """

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        config: ApiConfig,
        provider: aws.AwsProvider,
        function: FunctionTarget,
        kms_key_arn: str,
        api_key_value: str | None = None,
        user_pool_arn: str | None = None,
    ) -> None:
        super().__init__(scope, id_)
        self._provider = provider
        self._shared_api_key_value = api_key_value
        self._shared_user_pool_arn = user_pool_arn
        self._name = api_name(config.namer, config.region)
        self._stage_name = config.stage_name
        self._api_key: aws.ApiGatewayApiKey | None = None
        self._user_pool: aws.CognitoUserPool | None = None
        self._user_pool_client: aws.CognitoUserPoolClient | None = None
        # Every argument of every part that shapes what callers get, in creation order: the
        # deployment's trigger hashes them all, so no change can miss the stage.
        self._behaviour: list[dict[str, Any]] = []
        self._deployment_needs: list[Any] = []

        self._api = aws.ApiGatewayRestApi(
            self,
            "rest-api",
            provider=provider,
            name=self._name,
            description=f"{self._name}: proxy to the Lambda function",
            endpoint_configuration=aws.ApiGatewayRestApiEndpointConfiguration(types=["REGIONAL"]),
            lifecycle=TerraformResourceLifecycle(create_before_destroy=True),
        )
        self._api_id = self._api.id
        validator_id = self._part(
            aws.ApiGatewayRequestValidator,
            "request-validator",
            name="parameters",
            validate_request_parameters=True,
            validate_request_body=False,
        ).id
        resources = self._resources()
        self._proxy_methods(config, resources, function.alias_invoke_arn, validator_id)
        for key, resource_id in resources.items():
            self._preflight(key, resource_id, config.cors, validator_id)
        self._gateway_responses(config.cors)
        deployment = aws.ApiGatewayDeployment(
            self,
            "deployment",
            provider=provider,
            rest_api_id=self._api_id,
            triggers={"redeployment": Fn.sha1(Fn.jsonencode(self._behaviour))},
            lifecycle=TerraformResourceLifecycle(create_before_destroy=True),
            depends_on=self._deployment_needs,
        )
        self._stage = self._stage_with_logs(config, deployment.id, kms_key_arn)
        self._stage_ref = self._stage.stage_name
        if self._api_key is not None:
            self._usage_plan(config, self._api_key)
        aws.LambdaPermission(
            self,
            "invoke-permission",
            provider=provider,
            # A unique id per permission, so a replacement is created before the old one goes and
            # callers never meet a stage without the right to invoke.
            statement_id_prefix="AllowThisStage",
            lifecycle=TerraformResourceLifecycle(create_before_destroy=True),
            action="lambda:InvokeFunction",
            # References, not names: the permission waits for the alias, and follows a replacement.
            function_name=function.function_name,
            qualifier=function.alias_name,
            principal="apigateway.amazonaws.com",
            source_arn=f"{self._stage.execution_arn}/*/*",
        )

    def _part(self, kind: Any, id_: str, **args: Any) -> Any:
        """Create a part of the API with ``args`` and record them for the redeployment trigger:
        references as they are (Terraform resolves them), and the values known now as their digest
        (cdktf does not escape quotes inside an expression, so a template such as
        ``{"statusCode": 204}`` cannot be written into one)."""
        behaviour = {k: v for k, v in args.items() if v is not None and k not in _NOT_BEHAVIOUR}
        known = {k: v for k, v in behaviour.items() if not _has_reference(v)}
        references = {k: v for k, v in sorted(behaviour.items()) if k not in known}
        self._behaviour.append({"part": id_, "settings": settings_digest(known), **references})
        return kind(self, id_, provider=self._provider, rest_api_id=self._api_id, **args)

    def _resources(self) -> dict[str, str]:
        """``/api``, ``/api/{proxy+}`` and ``/api/health``: their ids by key."""
        api = self._part(aws.ApiGatewayResource, "api-resource", parent_id=self._api.root_resource_id, path_part="api")
        # Each attribute read is a round trip to the jsii runtime: read each token once.
        api_id = api.id
        proxy = self._part(aws.ApiGatewayResource, "proxy-resource", parent_id=api_id, path_part="{proxy+}")
        self._proxy_path = proxy.path
        health = self._part(aws.ApiGatewayResource, "health-resource", parent_id=api_id, path_part="health")
        return {"api": api_id, "proxy": proxy.id, "health": health.id}

    def _proxy_methods(self, config: ApiConfig, resources: dict[str, str], invoke_arn: str, validator_id: str) -> None:
        """The methods that reach the function, each with its Lambda proxy integration."""
        protected = self._auth(config)
        methods: list[tuple[str, str, str, dict[str, Any]]] = [
            ("api", resources["api"], "ANY", protected),
            ("proxy", resources["proxy"], "ANY", protected),
            # Load balancers and uptime checks call health without credentials; it reveals nothing.
            ("health-get", resources["health"], "GET", {"authorization": "NONE"}),
            ("health", resources["health"], "ANY", protected),
        ]
        if config.cache_cluster_size is not None:
            # The one cached method: reads of /api/{proxy+}, keyed by their path and query (without
            # cache keys, /api/items/a and /api/items/b would share one entry). Writes stay on ANY,
            # never cached; health is never cached, so the health checks see the region as it is.
            cached = {**protected, "request_parameters": {p: p.endswith(".proxy") for p in CACHE_KEYS}}
            methods.append(("proxy-get", resources["proxy"], "GET", cached))
        for key, resource_id, http_method, auth in methods:
            # Construct ids are Terraform addresses: "api-any" and "proxy-any" predate the others.
            method = self._part(
                aws.ApiGatewayMethod,
                key if http_method == "GET" else f"{key}-any",
                resource_id=resource_id,
                http_method=http_method,
                request_validator_id=validator_id,
                **auth,
            )
            self._deployment_needs.append(
                self._part(
                    aws.ApiGatewayIntegration,
                    f"{key}-integration",
                    resource_id=resource_id,
                    http_method=method.http_method,
                    type="AWS_PROXY",
                    integration_http_method="POST",
                    uri=invoke_arn,
                    cache_key_parameters=list(CACHE_KEYS) if key == "proxy-get" else None,
                )
            )

    def _preflight(self, key: str, resource_id: str, cors: Cors, validator_id: str) -> None:
        """An unauthenticated ``OPTIONS`` that API Gateway answers itself (a MOCK integration): a
        browser's preflight carries no key or token, so ``ANY`` with auth would refuse it, and the
        function never sees an unauthenticated request."""
        headers = cors.preflight_headers()
        method = self._part(
            aws.ApiGatewayMethod,
            f"{key}-options",
            resource_id=resource_id,
            http_method="OPTIONS",
            authorization="NONE",
            request_validator_id=validator_id,
        )
        http_method = method.http_method
        response = self._part(
            aws.ApiGatewayMethodResponse,
            f"{key}-options-response",
            resource_id=resource_id,
            http_method=http_method,
            status_code="204",
            response_parameters={f"method.response.header.{name}": True for name in headers},
        )
        integration = self._part(
            aws.ApiGatewayIntegration,
            f"{key}-options-integration",
            resource_id=resource_id,
            http_method=http_method,
            type="MOCK",
            request_templates={"application/json": '{"statusCode": 204}'},
        )
        self._deployment_needs.append(
            self._part(
                aws.ApiGatewayIntegrationResponse,
                f"{key}-options-integration-response",
                resource_id=resource_id,
                # References: created after the integration and the method response it maps to.
                http_method=integration.http_method,
                status_code=response.status_code,
                response_parameters={
                    f"method.response.header.{name}": _quoted(value) for name, value in headers.items()
                },
            )
        )

    def _gateway_responses(self, cors: Cors) -> None:
        """API Gateway's own answers (a missing key, a throttled caller, an authorizer's refusal, its
        own faults) carry the CORS headers too, so a browser shows the caller the real error."""
        parameters = {f"gatewayresponse.header.{name}": _quoted(v) for name, v in cors.response_headers().items()}
        for response_type in ("DEFAULT_4XX", "DEFAULT_5XX"):
            self._deployment_needs.append(
                self._part(
                    aws.ApiGatewayGatewayResponse,
                    f"gateway-response-{response_type[-3:].lower()}",
                    response_type=response_type,
                    response_parameters=parameters,
                )
            )

    def _stage_with_logs(self, config: ApiConfig, deployment_id: str, kms_key_arn: str) -> aws.ApiGatewayStage:
        """The stage, its access log group, its execution log group (API Gateway would otherwise
        create that one itself, unencrypted and never expiring, and leave it behind on destroy) and
        its method settings, which turn execution logging on only once that group exists."""
        access_logs = self._log_group(
            "access-log-group", f"/aws/apigateway/{self._name}/{config.stage_name}/access", config, kms_key_arn
        )
        self._access_log_group_name = access_logs.name
        stage = aws.ApiGatewayStage(
            self,
            "stage",
            provider=self._provider,
            rest_api_id=self._api_id,
            deployment_id=deployment_id,
            stage_name=config.stage_name,
            xray_tracing_enabled=True,
            cache_cluster_enabled=config.cache_cluster_size is not None or None,
            cache_cluster_size=config.cache_cluster_size,
            access_log_settings=aws.ApiGatewayStageAccessLogSettings(
                destination_arn=access_logs.arn, format=ACCESS_LOG_FORMAT
            ),
        )
        stage_name = stage.stage_name
        # The name API Gateway writes execution logs to; nothing else can be configured.
        execution_logs = self._log_group(
            "execution-log-group", f"API-Gateway-Execution-Logs_{self._api_id}/{stage_name}", config, kms_key_arn
        )
        self._method_settings("method-settings", "*/*", config, stage_name, execution_logs, cached=False)
        if config.cache_cluster_size is not None:
            # A method's own settings replace the stage's for it: all of them, not only the cache.
            reads = f"{Fn.trimprefix(self._proxy_path, '/')}/GET"
            self._method_settings("cached-reads-settings", reads, config, stage_name, execution_logs, cached=True)
        return stage

    def _method_settings(
        self, id_: str, path: str, config: ApiConfig, stage_name: str, execution_logs: Any, *, cached: bool
    ) -> None:
        aws.ApiGatewayMethodSettings(
            self,
            id_,
            provider=self._provider,
            rest_api_id=self._api_id,
            stage_name=stage_name,
            method_path=path,
            settings=aws.ApiGatewayMethodSettingsSettings(
                metrics_enabled=True,
                logging_level="ERROR",
                data_trace_enabled=False,
                throttling_rate_limit=config.throttle_rate_per_second,
                throttling_burst_limit=config.throttle_burst_requests,
                caching_enabled=cached,
                cache_data_encrypted=cached or None,
            ),
            depends_on=[execution_logs],
        )

    def _log_group(self, id_: str, name: str, config: ApiConfig, kms_key_arn: str) -> aws.CloudwatchLogGroup:
        return aws.CloudwatchLogGroup(
            self,
            id_,
            provider=self._provider,
            name=name,
            retention_in_days=config.log_retention_days,
            kms_key_id=kms_key_arn,
        )

    def _usage_plan(self, config: ApiConfig, api_key: aws.ApiGatewayApiKey) -> None:
        plan = aws.ApiGatewayUsagePlan(
            self,
            "usage-plan",
            provider=self._provider,
            name=config.namer.name("api-plan", config.region, kind="usage_plan"),
            api_stages=[aws.ApiGatewayUsagePlanApiStages(api_id=self._api_id, stage=self._stage_ref)],
            quota_settings=aws.ApiGatewayUsagePlanQuotaSettings(limit=config.usage_quota_per_day, period="DAY"),
            throttle_settings=aws.ApiGatewayUsagePlanThrottleSettings(
                rate_limit=config.throttle_rate_per_second, burst_limit=config.throttle_burst_requests
            ),
        )
        aws.ApiGatewayUsagePlanKey(
            self,
            "usage-plan-key",
            provider=self._provider,
            key_id=api_key.id,
            key_type="API_KEY",
            usage_plan_id=plan.id,
            # A new key value (a rotation) replaces the key: the new one is in the plan before the
            # old one goes, so callers are never refused in between.
            lifecycle=TerraformResourceLifecycle(create_before_destroy=True),
        )

    def _auth(self, config: ApiConfig) -> dict[str, Any]:
        """The method arguments that enforce ``config.auth``, creating what it needs."""
        if config.auth == "api_key":
            self._api_key = aws.ApiGatewayApiKey(
                self,
                "api-key",
                provider=self._provider,
                enabled=True,
                name=config.namer.name("api-key", config.region, kind="api_key"),
                # None: API Gateway generates the key. The shared value: one key for all regions, so a
                # caller routed to any region is let in.
                value=self._shared_api_key_value,
                # The value cannot change in place: a rotated key is created before the old one goes.
                lifecycle=TerraformResourceLifecycle(create_before_destroy=True),
            )
            return {"authorization": "NONE", "api_key_required": True}
        if config.auth == "iam":
            return {"authorization": "AWS_IAM"}
        if config.auth == "cognito":
            pool_arn = self._shared_user_pool_arn or self._user_pool_and_client(config)
            authorizer = self._part(
                aws.ApiGatewayAuthorizer,
                "authorizer",
                name="cognito",
                type="COGNITO_USER_POOLS",
                provider_arns=[pool_arn],
                identity_source="method.request.header.Authorization",
            )
            return {"authorization": "COGNITO_USER_POOLS", "authorizer_id": authorizer.id}
        return {"authorization": "NONE"}

    def _user_pool_and_client(self, config: ApiConfig) -> str:
        """A user pool of this API's own (no ``user_pool_arn`` given) and its app client; returns
        the pool's ARN."""
        self._user_pool, self._user_pool_client = user_pool_and_client(
            self, provider=self._provider, namer=config.namer, region=config.region
        )
        return self._user_pool.arn

    @property
    def api_name(self) -> str:
        """Known at synth time: the dashboard uses it as the ApiName dimension."""
        return self._name

    @property
    def deployed_api_name(self) -> str:
        """The API's name as a reference (alarms on its metrics wait for it)."""
        return self._api.name

    @property
    def stage_name(self) -> str:
        """Known at synth time (the dashboard's Stage dimension)."""
        return self._stage_name

    @property
    def deployed_stage_name(self) -> str:
        """The stage's name as a reference to the stage: what uses it (a base path mapping) waits
        until the stage exists."""
        return self._stage_ref

    @property
    def stage_arn(self) -> str:
        return self._stage.arn

    @property
    def rest_api_id(self) -> str:
        return self._api_id

    @property
    def access_log_group_name(self) -> str:
        """The stage's access log group (a reference): one JSON line per request, with its status."""
        return self._access_log_group_name

    @property
    def invoke_url(self) -> str:
        """The URL of the ``/api`` resource on the stage."""
        return f"{self._stage.invoke_url}/api"

    @property
    def api_key_value(self) -> str | None:
        """The API key (sensitive), with ``api_key`` auth."""
        return self._api_key.value if self._api_key is not None else None

    @property
    def user_pool_arn(self) -> str | None:
        """The user pool this region created (``cognito`` auth, no ``user_pool_arn`` given)."""
        return self._user_pool.arn if self._user_pool is not None else None

    @property
    def user_pool_id(self) -> str | None:
        return self._user_pool.id if self._user_pool is not None else None

    @property
    def user_pool_client_id(self) -> str | None:
        return self._user_pool_client.id if self._user_pool_client is not None else None


def settings_digest(settings: dict[str, Any]) -> str:
    """A stable digest of a part's arguments that are known at synth time."""
    return hashlib.sha256(json.dumps(settings, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def _has_reference(value: Any) -> bool:
    # An unresolved cdktf token is a string holding "${...}" (alone, in a list or a map).
    return "${" in json.dumps(value)


def _quoted(value: str) -> str:
    """A static header value in an API Gateway mapping: single-quoted."""
    return f"'{value}'"
