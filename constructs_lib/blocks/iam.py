"""IAM policies as ``aws_iam_policy_document`` data sources, never as JSON strings.

Terraform (and scanners such as checkov) can only reason about a policy built by the data source; a
hand-written JSON string is opaque to both. ``Statement`` is a small typed description that is turned
into the provider's struct classes, because plain dicts for nested blocks can be silently dropped.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from ..cdk import aws
from ..cdk.core import Construct


@dataclass(frozen=True, kw_only=True)
class Condition:
    test: str
    variable: str
    values: Sequence[str]


@dataclass(frozen=True, kw_only=True)
class Statement:
    sid: str
    actions: Sequence[str]
    resources: Sequence[str] = ()
    effect: str = "Allow"
    # principal type ("Service", "AWS", "*") -> identifiers
    principals: dict[str, Sequence[str]] = field(default_factory=dict)
    conditions: Sequence[Condition] = ()

    def __post_init__(self) -> None:
        if self.effect not in ("Allow", "Deny"):
            raise ValueError(f"effect: {self.effect!r} must be 'Allow' or 'Deny'")
        if not self.actions:
            raise ValueError(f"actions: statement {self.sid!r} needs at least one action")
        if self.effect == "Allow" and "*" in self.actions:
            raise ValueError(f"actions: statement {self.sid!r} allows '*'; name the actions it needs")


def policy_document(
    scope: Construct, id_: str, *, statements: Sequence[Statement], provider: aws.AwsProvider
) -> aws.DataAwsIamPolicyDocument:
    """An ``aws_iam_policy_document`` data source; its ``.json`` is the rendered policy."""
    return aws.DataAwsIamPolicyDocument(
        scope,
        id_,
        provider=provider,
        statement=[
            aws.DataAwsIamPolicyDocumentStatement(
                sid=s.sid,
                effect=s.effect,
                actions=list(s.actions),
                resources=list(s.resources) or None,
                principals=[
                    aws.DataAwsIamPolicyDocumentStatementPrincipals(type=kind, identifiers=list(ids))
                    for kind, ids in sorted(s.principals.items())
                ]
                or None,
                condition=[
                    aws.DataAwsIamPolicyDocumentStatementCondition(
                        test=c.test, variable=c.variable, values=list(c.values)
                    )
                    for c in s.conditions
                ]
                or None,
            )
            for s in statements
        ],
    )


@dataclass(frozen=True)
class ServiceRole:
    role: aws.IamRole
    # Resources that use the role depend on this, so that the permissions exist before they are
    # used (Lambda checks its network-interface permissions when the function is created).
    policy: aws.IamRolePolicy

    @property
    def arn(self) -> str:
        return self.role.arn


def service_role(
    scope: Construct,
    id_: str,
    *,
    name: str,
    service: str,
    source_account: str | None,
    statements: Sequence[Statement],
    provider: aws.AwsProvider,
) -> ServiceRole:
    """An IAM role that ``service`` can assume, with one inline policy of ``statements``.

    With ``source_account``, an ``aws:SourceAccount`` condition stops the confused-deputy problem
    (another account's use of the same service cannot assume this role). Pass ``None`` only for
    services that do not send that key when they assume a role (Lambda's execution role).
    """
    conditions = (
        [Condition(test="StringEquals", variable="aws:SourceAccount", values=[source_account])]
        if source_account is not None
        else []
    )
    trust = policy_document(
        scope,
        f"{id_}-trust",
        provider=provider,
        statements=[
            Statement(
                sid="AssumeByService",
                actions=["sts:AssumeRole"],
                principals={"Service": [service]},
                conditions=conditions,
            )
        ],
    )
    role = aws.IamRole(scope, id_, provider=provider, name=name, assume_role_policy=trust.json)
    permissions = policy_document(scope, f"{id_}-permissions", provider=provider, statements=statements)
    policy = aws.IamRolePolicy(
        scope, f"{id_}-policy", provider=provider, role=role.id, name=name, policy=permissions.json
    )
    return ServiceRole(role=role, policy=policy)
