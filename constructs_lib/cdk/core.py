"""The only module that imports the CDK framework (cdktf core and constructs).

Written against cdktf's names; under CDK Terrain (``IAC_ENGINE=cdktn``, see ``engine.py``) they load
cdktn's modules, which have the same API. The provider bindings are imported in ``aws.py``.
"""

# The engine first (it decides what `cdktf` names), then the lazy loader of the provider bindings,
# whose Node half must be set before the first jsii import below starts the Node process (aws.py
# does both too; whichever module comes first).
from .engine import activate as _activate_engine
from .lazy_provider import install as _install_lazy_provider

_activate_engine()
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

from .lazy_provider import node_started as _node_started

_node_started()  # jsii's Node process runs now: later child processes need not carry the hook

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
