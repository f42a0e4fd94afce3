"""The stack an environment deploys first: what spans its regions."""

from __future__ import annotations

from ..blocks.app_secrets import AppSecrets
from ..blocks.backup import BackupConfig, TableBackups
from ..blocks.kms import EncryptionKey, KeyConfig
from ..blocks.naming import Namer
from ..blocks.sign_in import OriginSecret, RegionKey, SharedApiKey, publish_user_pool, user_pool_and_client
from ..blocks.table import GlobalTable, TableConfig
from ..cdk import aws
from ..cdk.core import Construct, TerraformOutput, TerraformStack
from ..settings import StackConfig
from .common import configure_backend, regional_provider, stack_tags

# What each region's key encrypts: everything of the region, in both stacks.
KEY_USES = "logs, topic, bucket, table, queues, events and function settings"


class GlobalStack(TerraformStack):
    """Creates, for one environment, through a provider per region: each region's KMS key (which
    the regional stack finds by its alias); the global items table in the home region and a replica
    in every other region, each encrypted with its region's key; with ``api_key`` auth, the API
    key's value in a secret replicated to every region; with ``cognito`` auth, the user pool and its
    client in the home region and the pool's ARN in an SSM parameter of every region; with
    ``cdn_enabled``, the origin header's value in a secret replicated to every region. Deployed
    before the regional stacks, which read what they need of it in their own region only. A retired
    region (``StackConfig.retired_regions``) has its provider and nothing else.

    Outputs: ``table_name``; ``api_key_secret_name`` (``api_key`` auth); ``user_pool_id`` and
    ``user_pool_client_id`` (``cognito`` auth); ``origin_secret_name`` (``cdn_enabled``).
    """

    def __init__(self, scope: Construct, config: StackConfig) -> None:
        super().__init__(scope, config.global_stack_name)
        configure_backend(self, stack_name=config.global_stack_name, state=config.state_of("global"))
        namer = Namer(config.project_name, config.environment)
        tags = stack_tags(config)
        home = config.home
        # The home region first: its provider reads the account, and it holds the table.
        regions = sorted(config.regions, key=lambda r: r != home)
        self.providers = {region: regional_provider(self, region, tags) for region in regions}
        # A retired region keeps its provider, with nothing in it: Terraform destroys through it what
        # the stack had there (its key, replica and vault) once the region has left regions.
        for region in config.retired_regions:
            regional_provider(self, region, tags)
        account_id = aws.DataAwsCallerIdentity(self, "caller-identity", provider=self.providers[home]).account_id
        keys = {region: self._key(namer, region, account_id) for region in regions}
        table = self._table(config, namer, keys)
        TerraformOutput(
            self,
            "table_name",
            value=table.deployed_table_name,
            description="The global items table (the same name in every region)",
        )
        if config.api_auth == "api_key":
            self._api_key(config, namer, keys)
        if config.api_auth == "cognito":
            self._sign_in(config, namer)
        if config.secrets:
            self._app_secrets(config, namer, keys)
        if config.cdn_enabled:
            self._origin_secret(config, namer, keys)
        if config.backup_enabled:
            self._backups(config, namer, keys, account_id, table)

    def _key(self, namer: Namer, region: str, account_id: str) -> RegionKey:
        """The region's key; its address (``<region>_key_...``) is the one it had when each
        environment was one stack."""
        provider = self.providers[region]
        key = EncryptionKey(
            Construct(self, region),
            "key",
            provider=provider,
            account_id=account_id,
            config=KeyConfig(namer=namer, region=region, uses=KEY_USES, eventbridge=True),
        )
        return RegionKey(provider=provider, kms_key_arn=key.key_arn)

    def _table(self, config: StackConfig, namer: Namer, keys: dict[str, RegionKey]) -> GlobalTable:
        home = config.home
        table = GlobalTable(
            self,
            "table",
            config=TableConfig(
                namer=namer,
                home_region=home,
                replica_regions=tuple(r for r in config.regions if r != home),
                unprotected_regions=config.leaving_regions,
                **config.settings_for("table"),
            ),
        )
        for region, key in keys.items():  # the home region first
            table.add_copy(region, provider=key.provider, kms_key_arn=key.kms_key_arn)
        return table

    def _api_key(self, config: StackConfig, namer: Namer, keys: dict[str, RegionKey]) -> None:
        secret = SharedApiKey(self, "api-key", namer=namer, home_region=config.home, keys=keys)
        TerraformOutput(
            self,
            "api_key_secret_name",
            value=secret.secret_name,
            description="The secret that holds the API key (x-api-key), replicated to every region",
        )

    def _origin_secret(self, config: StackConfig, namer: Namer, keys: dict[str, RegionKey]) -> None:
        secret = OriginSecret(self, "origin-secret", namer=namer, home_region=config.home, keys=keys)
        TerraformOutput(
            self,
            "origin_secret_name",
            value=secret.secret_name,
            description="The secret that holds the header value CloudFront sends the regions (x-origin-verify)",
        )

    def _backups(
        self, config: StackConfig, namer: Namer, keys: dict[str, RegionKey], account_id: str, table: GlobalTable
    ) -> None:
        TableBackups(
            self,
            "backups",
            keys=keys,
            account_id=account_id,
            table_arn=table.copy_in(config.home).arn,
            config=BackupConfig(
                namer=namer,
                home_region=config.home,
                copy_region=config.backup_copy,
                retention_days=config.backup_retention_days,
                alarm_email=config.alarm_email,
                subscriptions=config.alarm_subscriptions,
                # The teardown lifts the table's protection, a region's removal its copy's: the
                # backups go with the table and the keys.
                deletable_regions=config.leaving_regions if config.table_deletion_protection else tuple(config.regions),
            ),
        )

    def _app_secrets(self, config: StackConfig, namer: Namer, keys: dict[str, RegionKey]) -> None:
        secrets = AppSecrets(self, "secrets", namer=namer, names=config.secrets, home_region=config.home, keys=keys)
        TerraformOutput(
            self,
            "secret_names",
            value=secrets.secret_names,
            description=f"The application secrets by short name: put their values in {config.home}, they replicate",
        )

    def _sign_in(self, config: StackConfig, namer: Namer) -> None:
        home = config.home
        pool, client = user_pool_and_client(
            Construct(self, "sign-in"), provider=self.providers[home], namer=namer, region=home
        )
        publish_user_pool(self, namer=namer, pool_arn=pool.arn, providers=self.providers)
        TerraformOutput(
            self,
            "user_pool_id",
            value=pool.id,
            description=f"The Cognito user pool (in {home}) every region's authorizer trusts",
        )
        TerraformOutput(self, "user_pool_client_id", value=client.id, description="Its app client")
