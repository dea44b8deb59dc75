#!/usr/bin/env python3
"""Entry point of the `cos` command-line tool (invoked by the `cos` shim at
the repository root). All logic lives in the `coslib` package next to this
file; only the Python standard library is used."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from coslib.cli import main  # noqa: E402  (path set up above)

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
