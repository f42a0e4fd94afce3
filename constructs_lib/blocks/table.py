"""The items table: one DynamoDB global table with a replica in every configured region."""

from __future__ import annotations

from dataclasses import dataclass

from ..cdk import aws
from ..cdk.core import Construct, Fn, TerraformResourceLifecycle
from .iam import Grantee, Statement
from .naming import Namer
from .rules import TABLE_PARTITION_KEY

PARTITION_KEY = TABLE_PARTITION_KEY


@dataclass(frozen=True, kw_only=True)
class TableConfig:
    """Settings of the global table.

    namer: names the table ``{project}-items-{environment}`` (the same name in every region).
    home_region: where the table is created; every other region holds a replica of it.
    replica_regions: the other regions, each with a replica. Default: none (a one-region table).
    deletion_protection: refuse ``DeleteTable`` on the table and every replica. Default ``True``.
    """

    namer: Namer
    home_region: str
    replica_regions: tuple[str, ...] = ()
    deletion_protection: bool = True

    def __post_init__(self) -> None:
        if self.home_region in self.replica_regions:
            raise ValueError(f"replica_regions: {self.home_region!r} is the home region, which holds the table itself")
        if len(set(self.replica_regions)) != len(self.replica_regions):
            raise ValueError(f"replica_regions: {list(self.replica_regions)!r} lists a region more than once")

    @property
    def table_name(self) -> str:
        return self.namer.global_name("items", kind="dynamodb_table")


class GlobalTable(Construct):
    """Creates, as each region adds its copy: in the home region the DynamoDB table (on-demand
    billing, point-in-time recovery, encryption with the home region's key, deletion protection, a
    stream of new and old images, which global tables replicate through), and in each other region,
    through that region's provider, a replica encrypted with that region's own key, with
    point-in-time recovery and deletion protection. Replicas are separate resources, so each
    region's replica is planned with its region. The home region adds its copy first.

    Writes in any region reach every other region within about a second; concurrent writes to the
    same item in two regions resolve by "last writer wins". Conditional writes are exact within
    one region.
    """

    def __init__(self, scope: Construct, id_: str, *, config: TableConfig) -> None:
        super().__init__(scope, id_)
        self._config = config
        self._name = config.table_name
        self._table: aws.DynamodbTable | None = None
        self._deployed_name = ""
        self._arns: dict[str, str] = {}
        self._copies: dict[str, aws.DynamodbTable | aws.DynamodbTableReplicaA] = {}
        self._providers: dict[str, aws.AwsProvider] = {}

    def add_copy(self, region: str, *, provider: aws.AwsProvider, kms_key_arn: str) -> str:
        """The table (in the home region) or its replica in ``region``, encrypted with that region's
        key; returns its ARN, as a reference."""
        config = self._config
        if region in self._arns or region not in (config.home_region, *config.replica_regions):
            raise ValueError(f"region: {region!r} is not a region still without its copy of the table")
        if region == config.home_region:
            self._copies[region] = self._create_table(provider, kms_key_arn)
        elif self._table is None:
            raise ValueError(f"region: {region!r}: the home region ({config.home_region}) adds its copy first")
        else:
            self._copies[region] = aws.DynamodbTableReplicaA(
                self,
                f"replica-{region}",
                provider=provider,
                global_table_arn=self._arns[config.home_region],
                kms_key_arn=kms_key_arn,
                point_in_time_recovery=True,
                deletion_protection_enabled=config.deletion_protection,
                lifecycle=TerraformResourceLifecycle(prevent_destroy=config.deletion_protection or None),
            )
        self._arns[region] = self._copies[region].arn
        self._providers[region] = provider
        return self._arns[region]

    def _create_table(self, provider: aws.AwsProvider, kms_key_arn: str) -> aws.DynamodbTable:
        self._table = aws.DynamodbTable(
            self,
            "table",
            provider=provider,
            name=self._name,
            billing_mode="PAY_PER_REQUEST",
            hash_key=PARTITION_KEY,
            attribute=[aws.DynamodbTableAttribute(name=PARTITION_KEY, type="S")],
            stream_enabled=True,
            stream_view_type="NEW_AND_OLD_IMAGES",
            point_in_time_recovery=aws.DynamodbTablePointInTimeRecovery(enabled=True),
            server_side_encryption=aws.DynamodbTableServerSideEncryption(enabled=True, kms_key_arn=kms_key_arn),
            deletion_protection_enabled=self._config.deletion_protection,
            # The replicas are their own resources; the table's inline replica list must not
            # fight them (the provider documents this pairing).
            # With deletion protection, a plan that would destroy the table (a changed home region,
            # say) stops before it reaches AWS.
            lifecycle=TerraformResourceLifecycle(
                ignore_changes=["replica"], prevent_destroy=self._config.deletion_protection or None
            ),
        )
        self._deployed_name = self._table.name
        return self._table

    def copy_in(self, region: str) -> aws.DynamodbTable | aws.DynamodbTableReplicaA:
        """``region``'s copy (the table or its replica), for what must wait for it to exist."""
        if region not in self._copies:
            raise ValueError(f"region: {region!r} has no copy of the table ({', '.join(self._copies)})")
        return self._copies[region]

    def stream_arn_in(self, region: str) -> str:
        """The stream of ``region``'s copy, as a reference. A replica resource does not export its
        stream, so a replica's is read from the table in its region. The table's name is taken from
        the replica's ARN (``...:table/<name>``), not given by ``depends_on``: the read waits for the
        replica on its first apply only, while ``depends_on`` would defer it whenever the replica
        changes in place, and a stream ARN unknown at plan time replaces whatever it feeds."""
        copy = self.copy_in(region)
        if isinstance(copy, aws.DynamodbTable):
            return copy.stream_arn
        return aws.DataAwsDynamodbTable(
            self,
            f"replica-{region}-stream",
            provider=self._providers[region],
            name=Fn.element(Fn.split("/", self._arns[region]), 1),
        ).stream_arn

    def grant_read_write_items(self, grantee: Grantee, region: str) -> None:
        """Item by item (no batch, no table-level actions) on ``region``'s copy only."""
        grantee.add_to_role_policy(
            Statement(
                sid="ReadWriteItemsInThisRegionsReplica",
                actions=["dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:Scan", "dynamodb:UpdateItem"],
                resources=[self.arn_in(region)],
            )
        )

    @property
    def table_name(self) -> str:
        """Known at synth time: the same in every region (the dashboard's dimension)."""
        return self._name

    @property
    def deployed_table_name(self) -> str:
        """The name as a reference to the table: what names the table waits for it."""
        if self._table is None:
            raise ValueError("the home region has not added its copy of the table yet")
        return self._deployed_name

    def arn_in(self, region: str) -> str:
        """The ARN of the table's copy in ``region`` (the table itself in the home region, else that
        region's replica), as a reference: a policy on it waits for that copy to exist."""
        if region not in self._arns:
            raise ValueError(f"region: {region!r} has no copy of the table ({', '.join(self._arns)})")
        return self._arns[region]
