"""The function package: the same source gives the same bytes; caches and tests stay out."""

import base64
import hashlib
import io
import os
import zipfile

from constructs_lib.blocks.packaging import build_package, zip_bytes


def make_source(root):
    (root / "handler.py").write_text("def handler(event, context):\n    return {}\n")
    (root / "lib").mkdir()
    (root / "lib" / "util.py").write_text("X = 1\n")
    (root / "__pycache__").mkdir()
    (root / "__pycache__" / "handler.cpython-311.pyc").write_bytes(b"\x00cache")
    (root / "tests").mkdir()
    (root / "tests" / "test_handler.py").write_text("def test(): pass\n")
    (root / "test_local.py").write_text("def test(): pass\n")
    (root / ".env").write_text("SECRET=1\n")
    return root


def names(data: bytes) -> list[str]:
    return zipfile.ZipFile(io.BytesIO(data)).namelist()


def test_only_code_enters_the_package(tmp_path):
    assert names(zip_bytes(make_source(tmp_path))) == ["handler.py", "lib/util.py"]


def test_same_source_gives_same_bytes_whatever_the_timestamps(tmp_path):
    source = make_source(tmp_path)
    first = zip_bytes(source)
    os.utime(source / "handler.py", (1_000_000_000, 1_000_000_000))
    (source / "lib" / "util.py").chmod(0o755)
    assert zip_bytes(source) == first


def test_entries_have_fixed_time_and_mode(tmp_path):
    for info in zipfile.ZipFile(io.BytesIO(zip_bytes(make_source(tmp_path)))).infolist():
        assert info.date_time == (1980, 1, 1, 0, 0, 0)
        assert info.external_attr >> 16 == 0o100644


def test_changed_code_changes_the_bytes(tmp_path):
    source = make_source(tmp_path)
    first = zip_bytes(source)
    (source / "handler.py").write_text("def handler(event, context):\n    return {'changed': True}\n")
    assert zip_bytes(source) != first


def test_build_package_hash_is_base64_sha256_of_the_zip(tmp_path):
    source = tmp_path / "src"
    source.mkdir()
    package = build_package(make_source(source), "fn")
    data = package.path.read_bytes()
    assert package.sha256_base64 == base64.b64encode(hashlib.sha256(data).digest()).decode()
    assert package.path.name == "fn.zip"
