"""A regional REST API in front of one region's function."""

from __future__ import annotations

import json
from dataclasses import dataclass

from . import aws
from .cdk import Construct, Fn, TerraformResourceLifecycle
from .config import LOG_RETENTION_DAYS
from .naming import Namer

# One JSON object per request; the $context variables are API Gateway's, not Terraform's.
ACCESS_LOG_FORMAT = json.dumps({
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
}, separators=(",", ":"))


@dataclass(frozen=True, kw_only=True)
class ApiConfig:
    """Settings of one region's REST API.

    namer, region: where and how resources are named.
    stage_name: the stage, named after the environment.
    throttle_rate_per_second: steady-state requests per second for every method. Default 100.
    throttle_burst_requests: burst capacity. Default 200.
    log_retention_days: retention of the access log group. Default 365.
    """

    namer: Namer
    region: str
    stage_name: str
    throttle_rate_per_second: float = 100
    throttle_burst_requests: int = 200
    log_retention_days: int = 365

    def __post_init__(self) -> None:
        if self.throttle_rate_per_second <= 0:
            raise ValueError(f"throttle_rate_per_second: {self.throttle_rate_per_second!r} must be positive")
        if self.throttle_burst_requests < 1:
            raise ValueError(f"throttle_burst_requests: {self.throttle_burst_requests!r} must be positive")
        if self.log_retention_days not in LOG_RETENTION_DAYS:
            raise ValueError(f"log_retention_days: {self.log_retention_days!r} is not a CloudWatch retention")


class Api(Construct):
    """Creates a REGIONAL REST API with ``/api`` and ``/api/{proxy+}`` (method ANY, Lambda proxy
    integration to the function's alias), a deployment that is replaced whenever the API's shape
    changes, a stage named after the environment with JSON access logs, X-Ray tracing, metrics and
    throttling, and a permission that lets only this API invoke the function.

    Access and execution logging need API Gateway's account-level CloudWatch role in the region,
    which the bootstrap stack creates.
    """

    def __init__(self, scope: Construct, id_: str, *, config: ApiConfig, provider: aws.AwsProvider,
                 function_name: str, function_alias: str, function_invoke_arn: str) -> None:
        super().__init__(scope, id_)
        self._name = config.namer.name("api", config.region, kind="rest_api")
        self._stage_name = config.stage_name

        self._api = aws.ApiGatewayRestApi(
            self, "rest-api", provider=provider, name=self._name,
            description=f"{self._name}: proxy to the Lambda function",
            endpoint_configuration=aws.ApiGatewayRestApiEndpointConfiguration(types=["REGIONAL"]),
        )
        api_resource = aws.ApiGatewayResource(self, "api-resource", provider=provider, rest_api_id=self._api.id,
                                              parent_id=self._api.root_resource_id, path_part="api")
        proxy_resource = aws.ApiGatewayResource(self, "proxy-resource", provider=provider,
                                                rest_api_id=self._api.id, parent_id=api_resource.id,
                                                path_part="{proxy+}")
        shape: list[str] = []
        integrations = []
        for key, resource in (("api", api_resource), ("proxy", proxy_resource)):
            method = aws.ApiGatewayMethod(self, f"{key}-any", provider=provider, rest_api_id=self._api.id,
                                          resource_id=resource.id, http_method="ANY", authorization="NONE")
            integration = aws.ApiGatewayIntegration(
                self, f"{key}-integration", provider=provider, rest_api_id=self._api.id,
                resource_id=resource.id, http_method=method.http_method, type="AWS_PROXY",
                integration_http_method="POST", uri=function_invoke_arn,
            )
            integrations.append(integration)
            shape += [resource.id, method.id, integration.id]

        # A REST API deployment is a snapshot: without a new one, changes never reach the stage.
        deployment = aws.ApiGatewayDeployment(
            self, "deployment", provider=provider, rest_api_id=self._api.id,
            triggers={"redeployment": Fn.sha1(Fn.jsonencode(shape))},
            lifecycle=TerraformResourceLifecycle(create_before_destroy=True),
            depends_on=integrations,
        )
        access_logs = aws.CloudwatchLogGroup(
            self, "access-log-group", provider=provider,
            name=f"/aws/apigateway/{self._name}/{config.stage_name}/access",
            retention_in_days=config.log_retention_days,
        )
        self._stage = aws.ApiGatewayStage(
            self, "stage", provider=provider, rest_api_id=self._api.id, deployment_id=deployment.id,
            stage_name=config.stage_name, xray_tracing_enabled=True,
            access_log_settings=aws.ApiGatewayStageAccessLogSettings(destination_arn=access_logs.arn,
                                                                     format=ACCESS_LOG_FORMAT),
        )
        aws.ApiGatewayMethodSettings(
            self, "method-settings", provider=provider, rest_api_id=self._api.id,
            stage_name=self._stage.stage_name, method_path="*/*",
            settings=aws.ApiGatewayMethodSettingsSettings(
                metrics_enabled=True, logging_level="ERROR", data_trace_enabled=False,
                throttling_rate_limit=config.throttle_rate_per_second,
                throttling_burst_limit=config.throttle_burst_requests,
            ),
        )
        aws.LambdaPermission(
            self, "invoke-permission", provider=provider, statement_id="AllowThisApiOnly",
            action="lambda:InvokeFunction", function_name=function_name, qualifier=function_alias,
            principal="apigateway.amazonaws.com",
            source_arn=f"{self._api.execution_arn}/{config.stage_name}/*/*",
        )

    @property
    def api_name(self) -> str:
        """Known at synth time: the dashboard and alarms use it as the ApiName dimension."""
        return self._name

    @property
    def stage_name(self) -> str:
        return self._stage_name

    @property
    def rest_api_id(self) -> str:
        return self._api.id

    @property
    def invoke_url(self) -> str:
        """The URL of the ``/api`` resource on the stage."""
        return f"{self._stage.invoke_url}/api"
