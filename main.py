#!/usr/bin/env python3
"""Entry point for `cdktf synth` and `python main.py`: synthesizes every environment's stack.

`python main.py --check` only validates the settings (settings.json and CDKTF_CONTEXT_JSON);
`python main.py --version` prints the project's version.
"""

import os
import signal
import sys

# The provider bindings type-check every argument of every construct at run time (typeguard, under
# `if __debug__`): about a fifth of a synth. The test suite runs with those checks on, so a synth can
# run optimized. IAC_TYPECHECKS=1 keeps them (for debugging a construct).
if sys.flags.optimize == 0 and os.environ.get("IAC_TYPECHECKS") != "1":
    os.execv(sys.executable, [sys.executable, "-O", *sys.argv])


def _stop(signum: int, frame: object) -> None:
    # Ctrl-C reaches the CDK's Node process too: without this, its broken pipe is a traceback.
    print("interrupted", file=sys.stderr, flush=True)
    os._exit(128 + signum)


# Before the imports, which take most of a second: Ctrl-C during them is "interrupted" too, never
# a traceback out of some module being loaded.
if __name__ == "__main__":
    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)

from constructs_lib.app import main  # noqa: E402
from constructs_lib.cdk.lazy_provider import fast_exit  # noqa: E402

if __name__ == "__main__":
    # The JSON is written and flushed when main() returns: skip the interpreter's slow teardown.
    fast_exit(main(sys.argv[1:]))
