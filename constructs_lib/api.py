"""A regional REST API in front of one region's function."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from . import aws
from .cdk import Construct, Fn, TerraformResourceLifecycle
from .config import API_AUTH_MODES, API_CACHE_SIZES_GB, LOG_RETENTION_DAYS
from .naming import Namer

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


@dataclass(frozen=True, kw_only=True)
class ApiConfig:
    """Settings of one region's REST API.

    namer, region: where and how resources are named.
    stage_name: the stage, named after the environment.
    auth: ``"api_key"`` (default), ``"iam"``, ``"cognito"`` or ``"none"``; ``GET /api/health`` is
        always open.
    throttle_rate_per_second: steady-state requests per second for every method. Default 100.
    throttle_burst_requests: burst capacity. Default 200.
    usage_quota_per_day: requests per day per API key (``api_key`` auth). Default 10000.
    cache_size_gb: stage cache size (encrypted); ``None`` (default) turns caching off.
    log_retention_days: retention of the access log group. Default 365.
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

    def __post_init__(self) -> None:
        if self.auth not in API_AUTH_MODES:
            raise ValueError(f"auth: {self.auth!r} must be one of {', '.join(API_AUTH_MODES)}")
        if self.throttle_rate_per_second <= 0:
            raise ValueError(f"throttle_rate_per_second: {self.throttle_rate_per_second!r} must be positive")
        if self.throttle_burst_requests < 1:
            raise ValueError(f"throttle_burst_requests: {self.throttle_burst_requests!r} must be positive")
        if self.usage_quota_per_day < 1:
            raise ValueError(f"usage_quota_per_day: {self.usage_quota_per_day!r} must be positive")
        if self.cache_size_gb is not None and self.cache_size_gb not in API_CACHE_SIZES_GB:
            raise ValueError(f"cache_size_gb: {self.cache_size_gb!r} must be one of {API_CACHE_SIZES_GB}")
        if self.log_retention_days not in LOG_RETENTION_DAYS:
            raise ValueError(f"log_retention_days: {self.log_retention_days!r} is not a CloudWatch retention")


class Api(Construct):
    """Creates a REGIONAL REST API with ``/api``, ``/api/{proxy+}`` and ``/api/health`` (Lambda proxy
    integration to the function's alias), where every method requires the configured auth (an API
    key with a usage plan, IAM, or a Cognito user pool and authorizer) except ``GET /api/health``;
    a request validator on every method; a deployment that is replaced whenever the API's shape
    changes; a stage named after the environment with JSON access logs (encrypted), X-Ray tracing,
    metrics, throttling and an optional encrypted cache; and a permission that lets only this API
    invoke the function. With ``api_key`` auth, ``api_key_value`` (another region's key) makes this
    region accept the same key; without it API Gateway generates one.

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
        function_name: str,
        function_alias: str,
        function_invoke_arn: str,
        kms_key_arn: str,
        api_key_value: str | None = None,
    ) -> None:
        super().__init__(scope, id_)
        self._shared_api_key_value = api_key_value
        namer, region = config.namer, config.region
        self._name = namer.name("api", region, kind="rest_api")
        self._stage_name = config.stage_name
        self._api_key: aws.ApiGatewayApiKey | None = None
        self._user_pool: aws.CognitoUserPool | None = None
        self._user_pool_client: aws.CognitoUserPoolClient | None = None

        self._api = aws.ApiGatewayRestApi(
            self,
            "rest-api",
            provider=provider,
            name=self._name,
            description=f"{self._name}: proxy to the Lambda function",
            endpoint_configuration=aws.ApiGatewayRestApiEndpointConfiguration(types=["REGIONAL"]),
            lifecycle=TerraformResourceLifecycle(create_before_destroy=True),
        )
        api_id = self._api.id
        validator = aws.ApiGatewayRequestValidator(
            self,
            "request-validator",
            provider=provider,
            rest_api_id=api_id,
            name="parameters",
            validate_request_parameters=True,
            validate_request_body=False,
        )
        api_resource = aws.ApiGatewayResource(
            self,
            "api-resource",
            provider=provider,
            rest_api_id=api_id,
            parent_id=self._api.root_resource_id,
            path_part="api",
        )
        # Each attribute read is a round trip to the jsii runtime: read each token once.
        api_resource_id, validator_id = api_resource.id, validator.id
        proxy_resource = aws.ApiGatewayResource(
            self,
            "proxy-resource",
            provider=provider,
            rest_api_id=api_id,
            parent_id=api_resource_id,
            path_part="{proxy+}",
        )
        health_resource = aws.ApiGatewayResource(
            self,
            "health-resource",
            provider=provider,
            rest_api_id=api_id,
            parent_id=api_resource_id,
            path_part="health",
        )

        protected = self._auth(config, provider, api_id)
        open_to_all = {"authorization": "NONE"}
        shape: list[str] = [validator_id]
        integrations = []
        proxy_resource_id, health_resource_id = proxy_resource.id, health_resource.id
        for key, resource_id, http_method, auth in (
            ("api", api_resource_id, "ANY", protected),
            ("proxy", proxy_resource_id, "ANY", protected),
            # Load balancers and uptime checks call health without credentials; it reveals nothing.
            ("health-get", health_resource_id, "GET", open_to_all),
            ("health", health_resource_id, "ANY", protected),
        ):
            # Construct ids are Terraform addresses: "api-any" and "proxy-any" predate the others.
            method_id = key if http_method == "GET" else f"{key}-any"
            method = aws.ApiGatewayMethod(
                self,
                method_id,
                provider=provider,
                rest_api_id=api_id,
                resource_id=resource_id,
                http_method=http_method,
                request_validator_id=validator_id,
                **auth,
            )
            integration = aws.ApiGatewayIntegration(
                self,
                f"{key}-integration",
                provider=provider,
                rest_api_id=api_id,
                resource_id=resource_id,
                http_method=method.http_method,
                type="AWS_PROXY",
                integration_http_method="POST",
                uri=function_invoke_arn,
            )
            integrations.append(integration)
            shape += [resource_id, method.id, integration.id]

        # A REST API deployment is a snapshot: without a new one, changes never reach the stage.
        deployment = aws.ApiGatewayDeployment(
            self,
            "deployment",
            provider=provider,
            rest_api_id=api_id,
            triggers={"redeployment": Fn.sha1(Fn.jsonencode(shape))},
            lifecycle=TerraformResourceLifecycle(create_before_destroy=True),
            depends_on=integrations,
        )
        access_logs = aws.CloudwatchLogGroup(
            self,
            "access-log-group",
            provider=provider,
            name=f"/aws/apigateway/{self._name}/{config.stage_name}/access",
            retention_in_days=config.log_retention_days,
            kms_key_id=kms_key_arn,
        )
        caching = config.cache_size_gb is not None
        self._stage = aws.ApiGatewayStage(
            self,
            "stage",
            provider=provider,
            rest_api_id=api_id,
            deployment_id=deployment.id,
            stage_name=config.stage_name,
            xray_tracing_enabled=True,
            cache_cluster_enabled=caching or None,
            cache_cluster_size=str(config.cache_size_gb) if caching else None,
            access_log_settings=aws.ApiGatewayStageAccessLogSettings(
                destination_arn=access_logs.arn, format=ACCESS_LOG_FORMAT
            ),
        )
        aws.ApiGatewayMethodSettings(
            self,
            "method-settings",
            provider=provider,
            rest_api_id=api_id,
            stage_name=self._stage.stage_name,
            method_path="*/*",
            settings=aws.ApiGatewayMethodSettingsSettings(
                metrics_enabled=True,
                logging_level="ERROR",
                data_trace_enabled=False,
                throttling_rate_limit=config.throttle_rate_per_second,
                throttling_burst_limit=config.throttle_burst_requests,
                caching_enabled=caching,
                cache_data_encrypted=caching or None,
            ),
        )
        if self._api_key is not None:
            plan = aws.ApiGatewayUsagePlan(
                self,
                "usage-plan",
                provider=provider,
                name=namer.name("api-plan", region, kind="usage_plan"),
                api_stages=[aws.ApiGatewayUsagePlanApiStages(api_id=api_id, stage=self._stage.stage_name)],
                quota_settings=aws.ApiGatewayUsagePlanQuotaSettings(limit=config.usage_quota_per_day, period="DAY"),
                throttle_settings=aws.ApiGatewayUsagePlanThrottleSettings(
                    rate_limit=config.throttle_rate_per_second, burst_limit=config.throttle_burst_requests
                ),
            )
            aws.ApiGatewayUsagePlanKey(
                self,
                "usage-plan-key",
                provider=provider,
                key_id=self._api_key.id,
                key_type="API_KEY",
                usage_plan_id=plan.id,
            )
        aws.LambdaPermission(
            self,
            "invoke-permission",
            provider=provider,
            statement_id="AllowThisApiOnly",
            action="lambda:InvokeFunction",
            function_name=function_name,
            qualifier=function_alias,
            principal="apigateway.amazonaws.com",
            source_arn=f"{self._api.execution_arn}/{config.stage_name}/*/*",
        )

    def _auth(self, config: ApiConfig, provider: aws.AwsProvider, api_id: str) -> dict[str, Any]:
        """The method arguments that enforce ``config.auth``, creating what it needs."""
        namer, region = config.namer, config.region
        if config.auth == "api_key":
            self._api_key = aws.ApiGatewayApiKey(
                self,
                "api-key",
                provider=provider,
                enabled=True,
                name=namer.name("api-key", region, kind="api_key"),
                # None: API Gateway generates the key. Another region's key value: one key for all
                # regions, so a caller routed to any region is let in.
                value=self._shared_api_key_value,
            )
            return {"authorization": "NONE", "api_key_required": True}
        if config.auth == "iam":
            return {"authorization": "AWS_IAM"}
        if config.auth == "cognito":
            self._user_pool = aws.CognitoUserPool(
                self,
                "user-pool",
                provider=provider,
                name=namer.name("users", region, kind="cognito_user_pool"),
                deletion_protection="ACTIVE",
                mfa_configuration="OPTIONAL",
                software_token_mfa_configuration=aws.CognitoUserPoolSoftwareTokenMfaConfiguration(enabled=True),
                auto_verified_attributes=["email"],
                username_attributes=["email"],
                password_policy=aws.CognitoUserPoolPasswordPolicy(
                    minimum_length=12,
                    require_lowercase=True,
                    require_uppercase=True,
                    require_numbers=True,
                    require_symbols=True,
                    temporary_password_validity_days=3,
                ),
            )
            self._user_pool_client = aws.CognitoUserPoolClient(
                self,
                "user-pool-client",
                provider=provider,
                name=namer.name("api-client", region, kind="cognito_user_pool"),
                user_pool_id=self._user_pool.id,
                generate_secret=False,
                prevent_user_existence_errors="ENABLED",
                explicit_auth_flows=["ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
            )
            authorizer = aws.ApiGatewayAuthorizer(
                self,
                "authorizer",
                provider=provider,
                rest_api_id=api_id,
                name="cognito",
                type="COGNITO_USER_POOLS",
                provider_arns=[self._user_pool.arn],
                identity_source="method.request.header.Authorization",
            )
            return {"authorization": "COGNITO_USER_POOLS", "authorizer_id": authorizer.id}
        return {"authorization": "NONE"}

    @property
    def api_name(self) -> str:
        """Known at synth time: the dashboard and alarms use it as the ApiName dimension."""
        return self._name

    @property
    def stage_name(self) -> str:
        return self._stage_name

    @property
    def deployed_stage_name(self) -> str:
        """The stage's name as a reference to the stage: what uses it (a base path mapping) waits
        until the stage exists."""
        return self._stage.stage_name

    @property
    def stage_arn(self) -> str:
        return self._stage.arn

    @property
    def rest_api_id(self) -> str:
        return self._api.id

    @property
    def invoke_url(self) -> str:
        """The URL of the ``/api`` resource on the stage."""
        return f"{self._stage.invoke_url}/api"

    @property
    def api_key_value(self) -> str | None:
        """The API key (sensitive), with ``api_key`` auth."""
        return self._api_key.value if self._api_key is not None else None

    @property
    def user_pool_id(self) -> str | None:
        return self._user_pool.id if self._user_pool is not None else None

    @property
    def user_pool_client_id(self) -> str | None:
        return self._user_pool_client.id if self._user_pool_client is not None else None
