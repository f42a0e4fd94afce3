"""The only module that imports the CDK framework (cdktf core and constructs).

Keeping these imports here, and the provider bindings in ``aws.py``, means a move to the community
fork (CDK Terrain, ``cdktn``) changes two modules.
"""

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
]
