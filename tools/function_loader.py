"""Load the function's code (``lambda_src/``) the way Lambda does, for tests and ``tools/serve.py``.

Lambda imports an entry point (``handler.py``, ``worker.py``) with the package's root on
``sys.path``, and the entry point imports its sibling modules (``web``, ``items``...) as plain
top-level modules. Every load here does the same in isolation, as a cold start would: the entry
point runs under a name of the caller's choosing, and every sibling it imports is a fresh module
too, never one left in ``sys.modules`` by an earlier load. So two loads share no state (a client
cache, a monkeypatched function), and afterwards neither ``sys.path`` nor ``sys.modules`` holds a
trace of the siblings: a test module that does ``import web`` gets whatever it would have got.

Siblings must therefore be imported at the top of a module, not inside a function: once a load is
done, their names no longer resolve to ``lambda_src/``.

``lambda_src/`` is zipped as-is into the deployment package, so nothing is ever compiled to a
``__pycache__`` there, whatever ``sys.dont_write_bytecode`` says elsewhere.
"""

from __future__ import annotations

import importlib.util
import os
import sys
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import TypeVar

LAMBDA_DIR = Path(__file__).resolve().parent.parent / "lambda_src"
HANDLER_FILE = LAMBDA_DIR / "handler.py"
WORKER_FILE = LAMBDA_DIR / "worker.py"

_LOCK = threading.Lock()  # a load swaps process-wide state (sys.path, sys.modules) for its duration
# In Lambda each function has a process of its own; here the functions served or triggered locally
# (tools/serve.py, tools/rehearsal.py) share one. A function reads its settings from os.environ,
# which is process-wide, so invocations are serialized, each with its own variables set.
_INVOKE_LOCK = threading.Lock()

T = TypeVar("T")


@dataclass(frozen=True)
class LoadedFunction:
    """One load: the entry point's module and the siblings it imported, by their import names."""

    module: ModuleType
    siblings: Mapping[str, ModuleType]


def load_function(path: Path = HANDLER_FILE, name: str = "lambda_src_handler_local") -> LoadedFunction:
    """Import the entry point at ``path`` as ``name`` (kept in ``sys.modules``, as importing does:
    dataclasses look their module up there) with fresh siblings from its directory."""
    source_dir = path.resolve().parent
    own = _module_names(source_dir)
    if name.partition(".")[0] in own:
        raise ValueError(f"name {name!r} is one of the function's own module names: choose another")
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    with _LOCK:
        saved = _take(own)  # what a test or another tool imported under these names
        sys.modules[name] = module
        previous = sys.dont_write_bytecode
        sys.dont_write_bytecode = True
        sys.path.insert(0, str(source_dir))
        try:
            spec.loader.exec_module(module)
        except BaseException:
            del sys.modules[name]
            raise
        finally:
            sys.path.remove(str(source_dir))
            sys.dont_write_bytecode = previous
            siblings = _take(own)
            sys.modules.update(saved)
    return LoadedFunction(module, siblings)


def load_handler_module(path: Path = HANDLER_FILE, name: str = "lambda_src_handler_local") -> ModuleType:
    """The entry point's module alone (``handler.py`` unless ``path`` says otherwise); see ``load_function``."""
    return load_function(path, name).module


def _module_names(source_dir: Path) -> frozenset[str]:
    """The top-level names the directory's modules and packages import as."""
    return frozenset(
        entry.stem if entry.suffix == ".py" else entry.name
        for entry in source_dir.iterdir()
        if entry.suffix == ".py" or (entry / "__init__.py").is_file()
    )


def _take(names: frozenset[str]) -> dict[str, ModuleType]:
    """Remove and return the entries of ``sys.modules`` for these names and their submodules."""
    return {key: sys.modules.pop(key) for key in list(sys.modules) if key.partition(".")[0] in names}


def call_with_environment(environ: Mapping[str, str], call: Callable[[], T]) -> T:
    """``call()`` with ``environ`` set in ``os.environ``, alone (no other invocation of this process
    runs meanwhile), then the variables as they were; exceptions propagate."""
    with _INVOKE_LOCK:
        saved = {name: os.environ.get(name) for name in environ}
        os.environ.update(environ)
        try:
            return call()
        finally:
            for name, value in saved.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value
