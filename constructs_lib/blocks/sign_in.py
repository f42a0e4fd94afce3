"""What every region's API shares, created once by the global stack and read by each region in its
own region: the API key's value (a secret replicated to every region) and the Cognito user pool's
ARN (an SSM parameter in every region)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from ..cdk import aws
from ..cdk.core import Construct, TerraformStack
from .naming import Namer, origin_secret_name

API_KEY_LENGTH = 40
ORIGIN_SECRET_LENGTH = 48


def api_key_secret_name(namer: Namer) -> str:
    """The secret's name, the same in every region (a replica keeps its primary's name)."""
    return namer.global_name("api-key", kind="secret")


def user_pool_parameter_name(namer: Namer) -> str:
    return f"/{namer.global_name('sign-in', kind='ssm_parameter')}/user-pool-arn"


def user_pool_and_client(
    scope: Construct, *, provider: aws.AwsProvider, namer: Namer, region: str
) -> tuple[aws.CognitoUserPool, aws.CognitoUserPoolClient]:
    """A user pool (e-mail sign-in, optional TOTP MFA, strong passwords, deletion protection) and
    an app client without a secret, for SRP sign-in from a browser or app."""
    pool = aws.CognitoUserPool(
        scope,
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
    client = aws.CognitoUserPoolClient(
        scope,
        "user-pool-client",
        provider=provider,
        name=namer.name("api-client", region, kind="cognito_user_pool"),
        user_pool_id=pool.id,
        generate_secret=False,
        prevent_user_existence_errors="ENABLED",
        explicit_auth_flows=["ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
    )
    return pool, client


@dataclass(frozen=True, kw_only=True)
class RegionKey:
    """A region and its KMS key's ARN, for what the global stack puts in that region."""

    provider: aws.AwsProvider
    kms_key_arn: str


def replicated_secret(
    scope: Construct,
    id_: str,
    *,
    name: str,
    description: str,
    home_region: str,
    keys: Mapping[str, RegionKey],
    recovery_window_days: int = 30,
) -> aws.SecretsmanagerSecret:
    """A secret in the home region with a replica in every other region, each encrypted with its
    region's key, recoverable for ``recovery_window_days`` after a delete (0: deleted at once)."""
    return aws.SecretsmanagerSecret(
        scope,
        id_,
        provider=keys[home_region].provider,
        name=name,
        description=description,
        kms_key_id=keys[home_region].kms_key_arn,
        recovery_window_in_days=recovery_window_days,
        replica=[
            aws.SecretsmanagerSecretReplica(region=region, kms_key_id=key.kms_key_arn)
            for region, key in sorted(keys.items())
            if region != home_region
        ],
    )


class GeneratedSecret(Construct):
    """Creates, in the home region, a Secrets Manager secret holding a value from Secrets Manager's
    generator (``length`` letters and digits, written once and never kept in Terraform's state or
    plan: an ephemeral value into a write-only argument) with a replica in every other region, each
    encrypted with its region's key. Each region reads its own region's copy, so no region reads
    another at plan time. Rotating: put a new value (``aws secretsmanager put-secret-value``), then
    apply the stacks that read it.
    """

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        name: str,
        description: str,
        length: int,
        home_region: str,
        keys: Mapping[str, RegionKey],
        recovery_window_days: int = 30,
    ) -> None:
        super().__init__(scope, id_)
        home = keys[home_region]
        self._name = name
        secret = replicated_secret(
            self,
            "secret",
            name=name,
            description=description,
            home_region=home_region,
            keys=keys,
            recovery_window_days=recovery_window_days,
        )
        aws.SecretsmanagerSecretVersion(
            self,
            "value",
            provider=home.provider,
            secret_id=secret.id,
            secret_string_wo=self._generated_value(home.provider, length),
            # Written on create only: a value put by hand (a rotation) is never overwritten.
            secret_string_wo_version=1,
        )

    def _generated_value(self, provider: aws.AwsProvider, length: int) -> str:
        """A reference to an ephemeral value from Secrets Manager's generator: Terraform (1.10 or
        later) opens it during plan and apply and stores it nowhere. cdktf 0.21 has no ephemeral
        resource class, so the block is written into the stack's JSON as it is."""
        name = f"{self.node.id}_generated-value"
        stack = TerraformStack.of(self)
        # Write-only arguments need Terraform 1.11; an older one would refuse with a less clear error.
        stack.add_override("terraform.required_version", ">= 1.11.0")
        # Letters and digits only, so the value is safe in any header or shell.
        stack.add_override(
            f"ephemeral.aws_secretsmanager_random_password.{name}",
            {
                "provider": provider.fqn,
                "password_length": length,
                "exclude_punctuation": True,
                "include_space": False,
                "require_each_included_type": True,
            },
        )
        return f"${{ephemeral.aws_secretsmanager_random_password.{name}.random_password}}"

    @property
    def secret_name(self) -> str:
        return self._name


class SharedApiKey(GeneratedSecret):
    """Creates the API key every region's API accepts (``x-api-key``), as a ``GeneratedSecret`` of
    40 characters (API Gateway accepts keys of 20 to 128)."""

    def __init__(
        self, scope: Construct, id_: str, *, namer: Namer, home_region: str, keys: Mapping[str, RegionKey]
    ) -> None:
        super().__init__(
            scope,
            id_,
            name=api_key_secret_name(namer),
            description="The API key every region's API accepts (x-api-key)",
            length=API_KEY_LENGTH,
            home_region=home_region,
            keys=keys,
        )


class OriginSecret(GeneratedSecret):
    """Creates the value CloudFront sends every origin request in ``x-origin-verify`` and every
    region's WAF requires (``cdn_enabled``), as a ``GeneratedSecret`` of 48 characters: requests that
    call a region directly, without it, are refused."""

    def __init__(
        self, scope: Construct, id_: str, *, namer: Namer, home_region: str, keys: Mapping[str, RegionKey]
    ) -> None:
        super().__init__(
            scope,
            id_,
            name=origin_secret_name(namer),
            description="The header value CloudFront sends the regional APIs (x-origin-verify)",
            length=ORIGIN_SECRET_LENGTH,
            home_region=home_region,
            keys=keys,
            # A new value works as well as the old (the stacks that hold it are applied with it):
            # nothing to recover, and turning cdn_enabled off and on again must not meet a secret
            # of the same name scheduled for deletion.
            recovery_window_days=0,
        )


def publish_user_pool(
    scope: Construct, *, namer: Namer, pool_arn: str, providers: Mapping[str, aws.AwsProvider]
) -> None:
    """The user pool's ARN as an SSM parameter in every region, where that region's authorizer
    reads it (a plain ARN: nothing secret)."""
    for region, provider in sorted(providers.items()):
        aws.SsmParameter(
            scope,
            f"user-pool-arn-{region}",
            provider=provider,
            name=user_pool_parameter_name(namer),
            type="String",
            value=pool_arn,
            description="The Cognito user pool every region's API trusts",
        )
