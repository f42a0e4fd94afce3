"""Application secrets: created once by the global stack, each with a copy in every region; each
region's functions read their own region's copy, by name (no region reads another)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence

from ..cdk.core import Construct
from .iam import Grantee, Statement
from .naming import Namer
from .rules import SECRET_NAMES
from .sign_in import RegionKey, replicated_secret

# The variable that tells a function its secrets: {"<short name>": "<secret name>"}, JSON.
ENVIRONMENT_VARIABLE = "APP_SECRETS"


def app_secret_name(namer: Namer, name: str) -> str:
    """``{project}-secret-{name}-{environment}``: the same in every region (a replica keeps its
    primary's name)."""
    return namer.global_name(f"secret-{name}", kind="secret")


class AppSecrets(Construct):
    """Creates, in the home region, a Secrets Manager secret per name, encrypted with the home
    region's key, each with a replica in every other region encrypted with that region's key. No
    value: an owner puts it (``aws secretsmanager put-secret-value`` in the home region; it
    replicates), so no value ever enters Terraform's plan or state."""

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        namer: Namer,
        names: Sequence[str],
        home_region: str,
        keys: Mapping[str, RegionKey],
    ) -> None:
        super().__init__(scope, id_)
        SECRET_NAMES.check("names", list(names))
        self._names = {name: app_secret_name(namer, name) for name in names}
        for name, secret_name in self._names.items():
            replicated_secret(
                self,
                name,
                name=secret_name,
                description=f"The application secret {name!r}: put its value in {home_region}, it replicates",
                home_region=home_region,
                keys=keys,
            )

    @property
    def secret_names(self) -> dict[str, str]:
        """Each secret's name, by short name."""
        return dict(self._names)


class SecretCopies:
    """This region's copies of the application secrets, known by name (nothing is read): what a
    function is told and may read. ``grant_read`` lets a role read these copies, in this region only."""

    def __init__(self, *, namer: Namer, names: Sequence[str], region: str, account_id: str) -> None:
        SECRET_NAMES.check("names", list(names))
        self._names = {name: app_secret_name(namer, name) for name in names}
        self._region, self._account_id = region, account_id

    @property
    def environment(self) -> dict[str, str]:
        """``APP_SECRETS``: the secrets' names by short name, for the function's reader."""
        return {ENVIRONMENT_VARIABLE: json.dumps(self._names, sort_keys=True, separators=(",", ":"))}

    def grant_read(self, grantee: Grantee, *, sid: str = "ReadTheAppSecrets") -> None:
        """``GetSecretValue`` on this region's copies (Secrets Manager adds six characters to a
        secret's ARN). Decrypting is the key's grant, through Secrets Manager."""
        grantee.add_to_role_policy(
            Statement(
                sid=sid,
                actions=["secretsmanager:GetSecretValue"],
                resources=[
                    f"arn:aws:secretsmanager:{self._region}:{self._account_id}:secret:{secret_name}-??????"
                    for secret_name in sorted(self._names.values())
                ],
            )
        )
