"""The items table: one DynamoDB global table with a replica in every configured region."""

from __future__ import annotations

from dataclasses import dataclass

from ..cdk import aws
from ..cdk.core import Construct, TerraformResourceLifecycle
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
    deletion_protection: refuse ``DeleteTable`` on the table and every replica (DynamoDB's deletion
        protection and Terraform's ``prevent_destroy``). Default ``True``.
    unprotected_regions: replica regions whose copy goes without that protection, so the region
        can be removed while every other copy stays protected. Default: none.
    """

    namer: Namer
    home_region: str
    replica_regions: tuple[str, ...] = ()
    deletion_protection: bool = True
    unprotected_regions: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.home_region in self.replica_regions:
            raise ValueError(f"replica_regions: {self.home_region!r} is the home region, which holds the table itself")
        if len(set(self.replica_regions)) != len(self.replica_regions):
            raise ValueError(f"replica_regions: {list(self.replica_regions)!r} lists a region more than once")
        strays = [r for r in self.unprotected_regions if r not in self.replica_regions]
        if strays:
            raise ValueError(f"unprotected_regions: {strays!r} are not replica regions {list(self.replica_regions)!r}")

    def protected(self, region: str) -> bool:
        return self.deletion_protection and region not in self.unprotected_regions

    @property
    def table_name(self) -> str:
        return self.name_for(self.namer)

    @staticmethod
    def name_for(namer: Namer) -> str:
        """The table's name, the same in every region: how a regional stack finds its copy."""
        return namer.global_name("items", kind="dynamodb_table")


class GlobalTable(Construct):
    """Creates, as each region adds its copy: in the home region the DynamoDB table (on-demand
    billing, point-in-time recovery, encryption with the home region's key, deletion protection, a
    stream of new and old images, which global tables replicate through), and in each other region,
    through that region's provider, a replica encrypted with that region's own key, with
    point-in-time recovery and deletion protection (each protected, or not, on its own: see
    ``unprotected_regions``), and a create timeout of 4 hours (a large table's copy takes long).
    Replicas are separate resources, each through its region's provider. The home region adds its
    copy first. A stack of one region reads its copy with ``TableCopy``.

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
            protected = config.protected(region)
            self._copies[region] = aws.DynamodbTableReplicaA(
                self,
                f"replica-{region}",
                provider=provider,
                global_table_arn=self._arns[config.home_region],
                kms_key_arn=kms_key_arn,
                point_in_time_recovery=True,
                deletion_protection_enabled=protected,
                lifecycle=TerraformResourceLifecycle(prevent_destroy=protected or None),
                # Creating a replica copies every item: past the provider's default 30 minutes a
                # large table's replica would be left created but untracked.
                timeouts=aws.DynamodbTableReplicaTimeouts(create="4h", update="2h", delete="2h"),
            )
        self._arns[region] = self._copies[region].arn
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

    def copy_in(self, region: str) -> aws.DynamodbTable | aws.DynamodbTableReplicaA:
        """``region``'s copy (the table or its replica), for what must wait for it to exist."""
        if region not in self._copies:
            raise ValueError(f"region: {region!r} has no copy of the table ({', '.join(self._copies)})")
        return self._copies[region]

    def grant_read_write_items(self, grantee: Grantee, region: str) -> None:
        """Item by item on ``region``'s copy only, by reference to it: for a grantee in the same stack
        as the table (a stack of its own reads its region's copy with ``TableCopy``)."""
        self.copy_in(region)
        grantee.add_to_role_policy(_read_write_items(self._arns[region]))


def _read_write_items(arn: str) -> Statement:
    """Item by item (no batch, no table-level actions) on one copy of the table."""
    return Statement(
        sid="ReadWriteItemsInThisRegionsReplica",
        actions=["dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:Scan", "dynamodb:UpdateItem"],
        resources=[arn],
    )


class TableCopy(Construct):
    """Reads (creates nothing) the global table's copy in the provider's region, by its name: its
    ARN, its stream and its key, for a regional stack that grants and feeds from it without reading
    the global stack's state or any other region. The copy must exist: the global stack deploys
    first."""

    def __init__(self, scope: Construct, id_: str, *, table_name: str, provider: aws.AwsProvider) -> None:
        super().__init__(scope, id_)
        table = aws.DataAwsDynamodbTable(self, "table", provider=provider, name=table_name)
        # Read once: every attribute read is a round trip to the jsii runtime.
        self._name, self._arn, self._stream_arn = table.name, table.arn, table.stream_arn

    def grant_read_write_items(self, grantee: Grantee) -> None:
        """Item by item (no batch, no table-level actions) on this region's copy only."""
        grantee.add_to_role_policy(_read_write_items(self._arn))

    @property
    def table_name(self) -> str:
        """The name, read from the copy: what names it waits for the read."""
        return self._name

    @property
    def table_arn(self) -> str:
        return self._arn

    @property
    def stream_arn(self) -> str:
        """The stream of this region's copy (a replica has a stream of its own)."""
        return self._stream_arn
