#!/usr/bin/env python3
"""Entry point for `cdktf synth` and `python main.py`: synthesizes every environment's stack."""

import sys

from constructs_lib.app import main

if __name__ == "__main__":
    sys.exit(main())
