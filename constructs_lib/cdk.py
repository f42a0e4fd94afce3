"""The only module that imports the CDK framework (cdktf core and constructs).

Keeping these imports here, and the provider bindings in ``aws.py``, means a move to the community
fork (CDK Terrain, ``cdktn``) changes two modules.
"""

# The lazy loader of the provider bindings has a half in Node, which must be set before the first
# jsii import below starts the Node process (aws.py installs it too; whichever comes first).
from .lazy_provider import install as _install_lazy_provider

_install_lazy_provider()

from cdktf import (
    App,
    AssetType,
    Fn,
    LocalBackend,
    S3Backend,
    TerraformAsset,
    TerraformIterator,
    TerraformOutput,
    TerraformResourceLifecycle,
    TerraformStack,
    Testing,
    Token,
)
from constructs import Construct

__all__ = [
    "App",
    "AssetType",
    "Construct",
    "Fn",
    "LocalBackend",
    "S3Backend",
    "TerraformAsset",
    "TerraformIterator",
    "TerraformOutput",
    "TerraformResourceLifecycle",
    "TerraformStack",
    "Testing",
    "Token",
]
