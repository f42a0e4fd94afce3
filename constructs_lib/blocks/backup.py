"""Backups of the global table: AWS Backup vaults, a daily plan whose copies go to a second
region, and alarms on failed jobs. Point-in-time recovery (35 days, to the second) stays on the
table and every replica; these backups outlive a deleted table and a region."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from ..cdk import aws
from ..cdk.core import Construct
from .iam import Condition, ServiceRole, Statement, service_role
from .monitoring import alarm_topic, with_runbook
from .naming import Namer
from .rules import BACKUP_RETENTION_DAYS
from .sign_in import RegionKey

# Every day at 03:00 UTC; AWS Backup starts within the start window and must finish within the
# completion window.
DAILY = "cron(0 3 ? * * *)"
START_WINDOW_MINUTES = 60
COMPLETION_WINDOW_MINUTES = 360
METRICS_NAMESPACE = "AWS/Backup"
ONE_DAY = 86_400


@dataclass(frozen=True, kw_only=True)
class BackupConfig:
    """namer; home_region: where the table is backed up; copy_region: the region its copies go to,
    ``None`` for none (one region); retention_days: how long a backup and its copy are kept, 1 to
    36500. Default 35; alarm_email, subscriptions: who hears about failed jobs (as for the regions'
    alarms); deletable_regions: the regions whose vault a destroy may empty of its recovery points
    (they are encrypted with the region's key, which the teardown or the region's removal schedules
    for deletion, so they would be unreadable anyway). Default none: a vault with recovery points
    refuses to be destroyed."""

    namer: Namer
    home_region: str
    copy_region: str | None
    retention_days: int = 35
    alarm_email: str | None = None
    subscriptions: tuple[Mapping[str, object], ...] = ()
    deletable_regions: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        BACKUP_RETENTION_DAYS.check("retention_days", self.retention_days)
        if self.copy_region == self.home_region:
            raise ValueError(f"copy_region: {self.copy_region!r} is the home region; copies go to another region")

    def vault_name(self, region: str) -> str:
        return self.namer.name("backup", region, kind="backup_vault")


class TableBackups(Construct):
    """Creates: an AWS Backup vault in every region of ``keys``, encrypted with that region's key; a
    plan in the home region that backs the table up daily (03:00 UTC) into the home vault and copies
    each backup to ``copy_region``'s vault, both kept ``retention_days``; a selection that names the
    table; a role for AWS Backup that may back up that table only and use the keys only through
    AWS Backup and DynamoDB; and, in the home region, alarms on failed backup and copy jobs to a
    topic of their own."""

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        config: BackupConfig,
        keys: Mapping[str, RegionKey],
        account_id: str,
        table_arn: str,
    ) -> None:
        super().__init__(scope, id_)
        home = keys[config.home_region]
        if config.copy_region is not None and config.copy_region not in keys:
            raise ValueError(f"copy_region: {config.copy_region!r} has no key here ({', '.join(sorted(keys))})")
        self._vaults = {region: self._vault(config, region, key) for region, key in sorted(keys.items())}
        role = self._role(config, keys, account_id, table_arn)
        plan = aws.BackupPlan(
            self,
            "plan",
            provider=home.provider,
            name=config.namer.name("backup", config.home_region, kind="backup_plan"),
            rule=[self._rule(config)],
        )
        aws.BackupSelection(
            self,
            "selection",
            provider=home.provider,
            name=config.namer.name("table", config.home_region, kind="backup_selection"),
            plan_id=plan.id,
            iam_role_arn=role.arn,
            resources=[table_arn],
            # The role's policy must exist before the first job assumes it.
            depends_on=[role.policy],
        )
        self._alarms(config, home)

    def _vault(self, config: BackupConfig, region: str, key: RegionKey) -> aws.BackupVault:
        return aws.BackupVault(
            self,
            f"vault-{region}",
            provider=key.provider,
            name=config.vault_name(region),
            kms_key_arn=key.kms_key_arn,
            force_destroy=(region in config.deletable_regions) or None,
        )

    def _rule(self, config: BackupConfig) -> aws.BackupPlanRule:
        lifecycle = aws.BackupPlanRuleLifecycle(delete_after=config.retention_days)
        copies = []
        if config.copy_region is not None:
            copies.append(
                aws.BackupPlanRuleCopyAction(
                    destination_vault_arn=self._vaults[config.copy_region].arn,
                    lifecycle=aws.BackupPlanRuleCopyActionLifecycle(delete_after=config.retention_days),
                )
            )
        return aws.BackupPlanRule(
            rule_name="daily",
            target_vault_name=self._vaults[config.home_region].name,
            schedule=DAILY,
            start_window=START_WINDOW_MINUTES,
            completion_window=COMPLETION_WINDOW_MINUTES,
            lifecycle=lifecycle,
            copy_action=copies or None,
        )

    def _role(
        self, config: BackupConfig, keys: Mapping[str, RegionKey], account_id: str, table_arn: str
    ) -> ServiceRole:
        """Back up this table (AWS Backup's own DynamoDB backups included), copy into this
        project's vaults, and use the keys through AWS Backup and DynamoDB only."""
        home = config.home_region
        key_arns = [keys[region].kms_key_arn for region in sorted(keys)]
        through = [f"backup.{region}.amazonaws.com" for region in sorted(keys)] + [f"dynamodb.{home}.amazonaws.com"]
        statements = [
            Statement(
                sid="BackUpTheTable",
                actions=[
                    "dynamodb:DescribeTable",
                    "dynamodb:CreateBackup",
                    "dynamodb:StartAwsBackupJob",
                    "dynamodb:ListTagsOfResource",
                ],
                resources=[table_arn],
            ),
            Statement(
                sid="ManageItsBackups",
                actions=["dynamodb:DescribeBackup", "dynamodb:DeleteBackup"],
                resources=[f"{table_arn}/backup/*"],
            ),
            Statement(
                sid="CopyIntoTheProjectsVaults",
                actions=["backup:DescribeBackupVault", "backup:CopyIntoBackupVault"],
                # By reference: the role waits for the vaults it names.
                resources=[self._vaults[region].arn for region in sorted(keys)],
            ),
            Statement(
                sid="CopyOutOfTheHomeVault",
                actions=["backup:CopyFromBackupVault"],
                resources=[self._vaults[home].arn],
            ),
            # An AWS Backup backup of DynamoDB carries the table's tags to its recovery points.
            Statement(
                sid="TagTheRecoveryPoints",
                actions=["backup:TagResource"],
                resources=[f"arn:aws:backup:{region}:{account_id}:recovery-point:*" for region in sorted(keys)],
            ),
            Statement(sid="DescribeTheKeys", actions=["kms:DescribeKey"], resources=key_arns),
            Statement(
                sid="UseTheKeysThroughBackupAndDynamoDB",
                actions=["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:ReEncryptFrom", "kms:ReEncryptTo"],
                resources=key_arns,
                conditions=[Condition(test="StringEquals", variable="kms:ViaService", values=through)],
            ),
            Statement(
                sid="GrantTheServicesTheKeys",
                actions=["kms:CreateGrant"],
                resources=key_arns,
                conditions=[
                    Condition(test="StringEquals", variable="kms:ViaService", values=through),
                    Condition(test="Bool", variable="kms:GrantIsForAWSResource", values=["true"]),
                ],
            ),
        ]
        role = service_role(
            self,
            "role",
            provider=keys[home].provider,
            name=config.namer.name("backup", home, kind="iam_role"),
            service="backup.amazonaws.com",
            # Not documented to send aws:SourceAccount when it assumes a role.
            source_account=None,
            statements=statements,
        )
        return role

    def _alarms(self, config: BackupConfig, home: RegionKey) -> None:
        """A failed backup job into the home vault, or a failed copy job: a day without a backup."""
        region = config.home_region
        topic_arn = alarm_topic(
            self,
            provider=home.provider,
            name=config.namer.name("backup-alarms", region, kind="sns_topic"),
            kms_key_arn=home.kms_key_arn,
            email=config.alarm_email,
            subscriptions=config.subscriptions,
        )
        # A job that never started in its window expires, one stopped is aborted: no backup either.
        watched = (
            ("backup-failed", ("NumberOfBackupJobsFailed", "NumberOfBackupJobsExpired", "NumberOfBackupJobsAborted")),
            ("backup-copy-failed", ("NumberOfCopyJobsFailed",)),
        )
        for what, metrics in watched:
            if what == "backup-copy-failed" and config.copy_region is None:
                continue
            job, missing = ("backup job", "no backup") if what == "backup-failed" else ("copy job", "no copy")
            queries = [
                aws.CloudwatchMetricAlarmMetricQuery(
                    id=f"m{index}",
                    return_data=False,
                    metric=aws.CloudwatchMetricAlarmMetricQueryMetric(
                        namespace=METRICS_NAMESPACE,
                        metric_name=metric,
                        dimensions={"BackupVaultName": self._vaults[region].name},
                        stat="Sum",
                        period=ONE_DAY,
                    ),
                )
                for index, metric in enumerate(metrics)
            ]
            total = " + ".join(f"FILL(m{index}, 0)" for index in range(len(metrics)))
            queries.append(aws.CloudwatchMetricAlarmMetricQuery(id="e", expression=total, return_data=True))
            aws.CloudwatchMetricAlarm(
                self,
                f"{what}-alarm",
                provider=home.provider,
                alarm_name=config.namer.name(what, region, kind="cloudwatch_alarm"),
                alarm_description=with_runbook(
                    f"An AWS Backup {job} of the items table failed, expired or was aborted in {region}: "
                    f"that day has {missing}",
                    "backup",
                ),
                metric_query=queries,
                evaluation_periods=1,
                threshold=0,
                comparison_operator="GreaterThanThreshold",
                # No job, no metric: only a job that did not complete is news.
                treat_missing_data="notBreaching",
                alarm_actions=[topic_arn],
                ok_actions=[topic_arn],
            )

    @property
    def vault_names(self) -> dict[str, str]:
        """Each region's vault name (a reference), by region."""
        return {region: vault.name for region, vault in self._vaults.items()}
