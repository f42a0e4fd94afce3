"""IAM policies as ``aws_iam_policy_document`` data sources, never as JSON strings.

Terraform (and scanners such as checkov) can only reason about a policy built by the data source; a
hand-written JSON string is opaque to both. ``Statement`` is a small typed description that is turned
into the provider's struct classes, because plain dicts for nested blocks can be silently dropped.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

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


def _statement(s: Statement) -> aws.DataAwsIamPolicyDocumentStatement:
    return aws.DataAwsIamPolicyDocumentStatement(
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
            aws.DataAwsIamPolicyDocumentStatementCondition(test=c.test, variable=c.variable, values=list(c.values))
            for c in s.conditions
        ]
        or None,
    )


def policy_document(
    scope: Construct, id_: str, *, statements: Sequence[Statement], provider: aws.AwsProvider
) -> aws.DataAwsIamPolicyDocument:
    """An ``aws_iam_policy_document`` data source; its ``.json`` is the rendered policy."""
    return aws.DataAwsIamPolicyDocument(scope, id_, provider=provider, statement=[_statement(s) for s in statements])


class Grantee(Protocol):
    """What a grant gives permissions to (a function, say): it takes a statement for its role."""

    def add_to_role_policy(self, statement: Statement) -> None: ...


class ServiceRole:
    """A role and its one inline policy, which takes more statements until synth (grants)."""

    def __init__(
        self,
        role: aws.IamRole,
        policy: aws.IamRolePolicy,
        document: aws.DataAwsIamPolicyDocument,
        statements: Sequence[Statement],
    ) -> None:
        self.role = role
        # Resources that use the role depend on this, so that the permissions exist before they are
        # used (Lambda checks its network-interface permissions when the function is created).
        self.policy = policy
        self._document = document
        self._statements = list(statements)

    @property
    def arn(self) -> str:
        return self.role.arn

    def add(self, statement: Statement) -> None:
        """Add a statement to the role's policy (after those it has)."""
        if any(s.sid == statement.sid for s in self._statements):
            raise ValueError(f"sid: the role's policy has a statement {statement.sid!r} already")
        self._statements.append(statement)
        self._document.put_statement([_statement(s) for s in self._statements])


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
    return ServiceRole(role, policy, permissions, statements)
