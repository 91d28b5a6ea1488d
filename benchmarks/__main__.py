"""``python -m benchmarks``: the performance benchmarks, the same as ``gpsim bench`` (see benchmarks/README.md).

The runner lives in the installed package (:mod:`gpsim.bench`) so that ``gpsim bench`` works without a
checkout; this entry point only forwards the command line to it.
"""

import sys

from gpsim.bench import main

if __name__ == "__main__":
    sys.exit(main())
