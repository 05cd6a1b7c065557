"""How long finding an already-built default model takes (the promise: well under half a second).

Every command that uses the default model calls ``resolve_model(None)``, which calls ``build_default_model()``:
once the folder is built, that call only checks the build record and the required files. This script builds the
default model into a fresh cache root (10-20 s, once) unless ``--cache`` names one that holds it, then times
``build_default_model()`` and ``resolve_model(None)`` on the complete build and prints the median and the
largest of ``--repeat`` calls. It exits with status 1 when the largest exceeds ``--limit`` seconds.

(The test suite checks that a second call does not rebuild -- ``tests/models/test_default_model.py`` -- but never
asserts on wall-clock time: this script does.)

Usage (from the project root)::

    python benchmarks/models/bench_cached_build.py [--cache DIR] [--repeat 20] [--limit 0.5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", help="cache root that holds (or will hold) the build (default: a fresh one)")
    parser.add_argument("--repeat", type=int, default=20, help="timed calls of each function (default: 20)")
    parser.add_argument("--limit", type=float, default=0.5, help="largest allowed seconds per call (default: 0.5)")
    args = parser.parse_args()
    os.environ["HYBRID_PLUGIN_CACHE"] = args.cache or tempfile.mkdtemp(prefix="hp-bench-cache-")

    from hybrid_plugin.models.default_model import build_default_model
    from hybrid_plugin.models.loading import resolve_model

    started = time.perf_counter()
    path = build_default_model()
    print(f"first call (builds unless cached): {time.perf_counter() - started:.2f} s -> {path}")
    worst = 0.0
    for name, call in (("build_default_model()", build_default_model), ("resolve_model(None)",
                                                                         lambda: resolve_model(None))):
        seconds = []
        for _ in range(args.repeat):
            started = time.perf_counter()
            call()
            seconds.append(time.perf_counter() - started)
        worst = max(worst, max(seconds))
        print(f"{name}: median {statistics.median(seconds) * 1e3:.2f} ms, max {max(seconds) * 1e3:.2f} ms "
              f"({args.repeat} calls)")
    if worst > args.limit:
        print(f"slower than {args.limit} s", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
