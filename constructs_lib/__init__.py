"""Constructs of the multi-region serverless stack (see README.md)."""

import os

# The project's version: pyproject.toml and the newest CHANGELOG.md entry say the same (tested).
__version__ = "0.6.0"

# jsii prints a large end-of-life banner for Node 20 on every run; the cdktf 0.21 toolchain
# supports Node 20, so the banner is noise in synth output and tests.
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
