#!/usr/bin/env python3
"""The smallest useful app built from the building blocks: one region, one function, one API.

Creates, in one region through one aliased AWS provider, with a local state file: a KMS key, a
private network (no internet, no endpoints: the function calls nothing), a Python function from
``function/`` and a REST API in front of it that only IAM-signed callers may use (``GET
/api/health`` is open). Outputs the API's URL, the function's name and the VPC's id.

``python main.py`` (or ``npx cdktf synth``) writes the Terraform JSON into ``cdktf.out/`` next to
this file (``CDKTF_OUTDIR`` names another directory, as the cdktf CLI does). See README.md.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
# The examples live in the repository and use its constructs_lib as they find it in the working
# tree (the project is not an installed package): put the repository root on the import path,
# whichever directory this runs from.
REPO_ROOT = HERE.parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

# CDK names come from the project's seam (constructs_lib.cdk), never from cdktf itself: it picks
# the engine (cdktf or CDK Terrain, IAC_ENGINE) and loads the provider bindings lazily.
from constructs_lib.blocks.api import Api, ApiConfig, Cors, FunctionTarget
from constructs_lib.blocks.function import Function, FunctionConfig
from constructs_lib.blocks.kms import EncryptionKey, KeyConfig
from constructs_lib.blocks.naming import Namer
from constructs_lib.blocks.network import Network, NetworkConfig
from constructs_lib.cdk import aws
from constructs_lib.cdk.core import App, Construct, LocalBackend, TerraformOutput, TerraformStack
from constructs_lib.stacks.common import local_state_path, regional_provider

# The settings: change these.
PROJECT = "hello"  # the first part of every AWS name: {project}-{component}-{region}-{environment}
ENVIRONMENT = "dev"  # the last part, and the API's stage
REGION = "eu-west-1"
VPC_CIDR = "10.42.0.0/24"  # /16 to /24, split into two private subnets
LOG_RETENTION_DAYS = 30
STACK_NAME = f"{PROJECT}-{ENVIRONMENT}"
FUNCTION_SOURCE = HERE / "function"


class MinimalApiStack(TerraformStack):
    """One region's API: key, network, function, REST API (``iam`` auth), outputs."""

    def __init__(self, scope: Construct, stack_name: str) -> None:
        super().__init__(scope, stack_name)
        # A local state file next to cdktf.out, named relative to the stack's directory: no
        # machine's absolute path enters the JSON. (S3 state: see examples/production_app.)
        LocalBackend(self, path=local_state_path(stack_name))
        self.namer = Namer(PROJECT, ENVIRONMENT)
        tags = {"Project": PROJECT, "Environment": ENVIRONMENT, "ManagedBy": "cdktf"}
        # Aliased by the region's name: every resource names it (provider = "aws.eu-west-1").
        self.provider = regional_provider(self, REGION, tags)
        self.account_id = aws.DataAwsCallerIdentity(self, "caller-identity", provider=self.provider).account_id
        self.key = EncryptionKey(
            self,
            "key",
            provider=self.provider,
            account_id=self.account_id,
            config=KeyConfig(namer=self.namer, region=REGION, uses="logs and function settings"),
        )
        self.network = self._network()
        cors = Cors()
        self.function = self._function(cors)
        self.api = self._api(cors)
        TerraformOutput(self, "api_url", value=self.api.invoke_url, description="The invoke URL of /api")
        TerraformOutput(
            self, "function_name", value=self.function.deployed_function_name, description="The function's name"
        )
        TerraformOutput(self, "vpc_id", value=self.network.vpc_id, description="The function's VPC")

    def _network(self) -> Network:
        return Network(
            self,
            "network",
            provider=self.provider,
            account_id=self.account_id,
            kms_key_arn=self.key.key_arn,
            config=NetworkConfig(
                namer=self.namer,
                region=REGION,
                cidr_block=VPC_CIDR,
                flow_log_retention_days=LOG_RETENTION_DAYS,
                # The function calls no AWS service: no interface endpoints, no egress at all.
                interface_endpoints=(),
                gateway_egress=(),
            ),
        )

    def _function(self, cors: Cors) -> Function:
        return Function(
            self,
            "function",
            provider=self.provider,
            account_id=self.account_id,
            subnet_ids=self.network.subnet_ids,
            security_group_id=self.network.security_group_id,
            kms_key_arn=self.key.key_arn,
            environment={"REGION": REGION, "ENVIRONMENT": ENVIRONMENT, "CORS_ALLOW_ORIGIN": cors.allow_origin},
            config=FunctionConfig(
                namer=self.namer,
                region=REGION,
                source_dir=FUNCTION_SOURCE,
                handler="handler.handler",
                runtime="python3.12",
                log_retention_days=LOG_RETENTION_DAYS,
            ),
        )

    def _api(self, cors: Cors) -> Api:
        function = self.function
        return Api(
            self,
            "api",
            provider=self.provider,
            # References to the deployed function and its alias: the API waits for them.
            function=FunctionTarget(
                function_name=function.deployed_function_name,
                alias_name=function.alias_name,
                alias_invoke_arn=function.alias_invoke_arn,
            ),
            kms_key_arn=self.key.key_arn,
            config=ApiConfig(
                namer=self.namer,
                region=REGION,
                stage_name=ENVIRONMENT,
                # Callers sign requests with AWS credentials (SigV4): nothing else to create.
                auth="iam",
                log_retention_days=LOG_RETENTION_DAYS,
                cors=cors,
            ),
        )


def build_app(outdir: str) -> App:
    """The app with its one stack; nothing is written until ``synth()``."""
    app = App(outdir=outdir)
    MinimalApiStack(app, STACK_NAME)
    return app


def main() -> int:
    outdir = os.environ.get("CDKTF_OUTDIR") or str(HERE / "cdktf.out")
    build_app(outdir).synth()
    print(f"{STACK_NAME}: synthesized into {outdir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
