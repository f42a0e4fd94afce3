"""Which CDK runs the app: the one place the engine is chosen.

- ``cdktf``: HashiCorp's CDK for Terraform 0.21 and its AWS bindings (AWS provider 6.25). The
  default, and what this project was specified with. HashiCorp archived it on 2025-12-10.
- ``cdktn``: CDK Terrain, its maintained fork (cdktn 0.24, cdktn-provider-aws 25.8.1: AWS provider
  6.69.1). The same API and the same JSON, but the provider requirement and the metadata version.

Each engine lives in its own virtual environment (their ``constructs`` pins differ: see
requirements.txt and requirements-cdktn.txt). ``IAC_ENGINE`` names the engine; unset, it is the one
installed in this interpreter (cdktf when both are). Nothing else in the project knows which runs:
``cdk.py`` and ``aws.py`` import cdktf's module names, and under CDK Terrain ``activate()`` makes
those names load cdktn's modules (``cdktf`` -> ``cdktn``, ``cdktf_cdktf_provider_aws`` ->
``cdktn_provider_aws``, submodules included), which define the same classes.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

SWITCH = "IAC_ENGINE"


@dataclass(frozen=True)
class Engine:
    """name: what IAC_ENGINE and ``make ENGINE=`` say; core and bindings: its Python packages;
    lazy_bindings: its Python bindings import their submodules on first use already; title: its
    name in prose; environment: its virtual environment in the project (the Makefile's VENV)."""

    name: str
    core: str
    bindings: str
    lazy_bindings: bool
    title: str
    environment: str


CDKTF = Engine("cdktf", "cdktf", "cdktf_cdktf_provider_aws", False, "CDK for Terraform", ".venv")
CDKTN = Engine("cdktn", "cdktn", "cdktn_provider_aws", True, "CDK Terrain", ".venv-cdktn")
# The project's directory: settings.json, the function code, each engine's environment (make's).
PROJECT_DIR = Path(__file__).resolve().parents[2]
ENGINES = {engine.name: engine for engine in (CDKTF, CDKTN)}


class EngineError(RuntimeError):
    """The engine asked for is unknown or not installed in this interpreter."""


def _installed(engine: Engine) -> bool:
    """Both packages are on sys.path (PathFinder: the alias activate() adds must not count)."""
    return all(
        importlib.machinery.PathFinder.find_spec(package) is not None for package in (engine.core, engine.bindings)
    )


_chosen: Engine | None = None


def current() -> Engine:
    """The engine this process runs (see the module's docstring), decided on the first call: once
    ``activate()`` has mapped cdktf's names, they would look installed under any engine."""
    global _chosen
    if _chosen is None:
        _chosen = _choose()
    return _chosen


def _choose() -> Engine:
    asked = os.environ.get(SWITCH, "").strip()
    if asked:
        if asked not in ENGINES:
            raise EngineError(f"{SWITCH}: {asked!r} is not an engine ({', '.join(ENGINES)})")
        engine = ENGINES[asked]
        if not _installed(engine):
            raise EngineError(_not_installed(engine))
        return engine
    for engine in ENGINES.values():
        if _installed(engine):
            return engine
    raise EngineError(f"neither cdktf nor cdktn is installed in {sys.prefix}: run make install")


def _not_installed(engine: Engine) -> str:
    """Why the engine IAC_ENGINE names cannot run here, and what to run instead: its environment's
    Python when make has created it already (``make install`` would have nothing to do)."""
    problem = f"{SWITCH}: {engine.name} is not installed in {sys.prefix}"
    environment = PROJECT_DIR / engine.environment
    # Its environment is this one (half installed) or none yet: make install (again) is the fix.
    here = environment.resolve() == Path(sys.prefix).resolve()
    if here or not (environment / "bin" / "python").exists():
        return f"{problem} (make install ENGINE={engine.name} creates its environment)"
    shown = os.path.relpath(environment) if environment.is_relative_to(Path.cwd()) else str(environment)
    return (
        f"{problem}; {engine.title}'s environment is {shown}: run make synth ENGINE={engine.name}, "
        f"or {shown}/bin/python main.py, or unset {SWITCH}"
    )


def activate() -> Engine:
    """Make cdktf's module names load the current engine's modules; idempotent."""
    engine = current()
    if engine is not CDKTF and not any(isinstance(f, _Alias) for f in sys.meta_path):
        sys.meta_path.insert(0, _Alias({CDKTF.core: engine.core, CDKTF.bindings: engine.bindings}))
    return engine


class _Alias(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Imports ``cdktf...`` as the engine's module of the same place (``cdktn...``)."""

    def __init__(self, names: dict[str, str]) -> None:
        self.names = names
        self.specs: dict[str, importlib.machinery.ModuleSpec | None] = {}

    def _target(self, fullname: str) -> str | None:
        for alias, real in self.names.items():
            if fullname == alias or fullname.startswith(alias + "."):
                return real + fullname[len(alias) :]
        return None

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> importlib.machinery.ModuleSpec | None:
        real = self._target(fullname)
        if real is None:
            return None
        return importlib.machinery.ModuleSpec(fullname, self, is_package=True)

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType:
        real = self._target(spec.name)
        assert real is not None
        module = importlib.import_module(real)
        self.specs[spec.name] = module.__spec__
        return module

    def exec_module(self, module: ModuleType) -> None:
        # The real module ran when it was imported under its own name. The import system has set
        # its __spec__ to this alias's: give it its own back (find_spec and reloads read it).
        module.__spec__ = self.specs.pop(module.__spec__.name) if module.__spec__ else None
