#!/usr/bin/env python3
"""Entry point for `cdktf synth` and `python main.py`: synthesizes every environment's stack."""

from constructs_lib.app import main
from constructs_lib.lazy_provider import fast_exit

if __name__ == "__main__":
    # The JSON is written and flushed when main() returns: skip the interpreter's slow teardown.
    fast_exit(main())
