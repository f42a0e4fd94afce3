"""A deterministic zip of a function's source directory.

The same source must give the same bytes on every machine and every run, so that the synthesized
JSON (asset path and ``source_code_hash``) changes only when the code does. Python's zipfile writes
each file's modification time and mode; here both are fixed, and entries are sorted.
Caches, compiled files, tests and hidden files never enter the package.
"""

from __future__ import annotations

import atexit
import base64
import hashlib
import io
import shutil
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

_FIXED_TIME = (1980, 1, 1, 0, 0, 0)  # the earliest time a zip can store
_EXCLUDED_DIRS = {"__pycache__", "tests", "test", ".pytest_cache", ".mypy_cache", ".ruff_cache", "node_modules"}
_EXCLUDED_SUFFIXES = (".pyc", ".pyo")


@dataclass(frozen=True)
class Package:
    path: Path
    sha256_base64: str  # what Lambda's source_code_hash expects


def _included(relative: Path) -> bool:
    parts = relative.parts
    if any(part.startswith(".") for part in parts):
        return False
    if any(part in _EXCLUDED_DIRS for part in parts[:-1]):
        return False
    name = parts[-1]
    if name.endswith(_EXCLUDED_SUFFIXES):
        return False
    return not (name.startswith("test_") or name.endswith("_test.py") or name == "conftest.py")


def package_files(source_dir: Path) -> list[Path]:
    """The files that go into the package, relative to ``source_dir``, in archive order."""
    relative = (p.relative_to(source_dir) for p in source_dir.rglob("*") if p.is_file())
    return sorted((p for p in relative if _included(p)), key=lambda p: p.as_posix())


def zip_bytes(source_dir: Path) -> bytes:
    files = package_files(source_dir)
    if not files:
        raise ValueError(f"source_dir: {str(source_dir)!r} holds no files to package")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for relative in files:
            info = zipfile.ZipInfo(relative.as_posix(), date_time=_FIXED_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o100644 << 16  # a regular file, rw-r--r--, whatever the checkout says
            info.create_system = 3  # Unix, so the mode above is honoured on every OS
            archive.writestr(info, (source_dir / relative).read_bytes())
    return buffer.getvalue()


_build_root: Path | None = None
_built: dict[tuple[Path, str], Package] = {}


def _cleanup() -> None:
    if _build_root is not None:
        shutil.rmtree(_build_root, ignore_errors=True)


def build_package(source_dir: Path, name: str) -> Package:
    """The zip of ``source_dir`` as ``{name}.zip`` in a private build directory, with its base64
    SHA-256. Built once per process however many regions use it; cdktf copies it into cdktf.out."""
    global _build_root
    key = (source_dir.resolve(), name)
    if key not in _built:
        if _build_root is None:
            _build_root = Path(tempfile.mkdtemp(prefix="lambda-build-"))
            atexit.register(_cleanup)
        data = zip_bytes(source_dir)
        digest = hashlib.sha256(data)
        path = _build_root / digest.hexdigest()[:16] / f"{name}.zip"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        _built[key] = Package(path=path, sha256_base64=base64.b64encode(digest.digest()).decode())
    return _built[key]
