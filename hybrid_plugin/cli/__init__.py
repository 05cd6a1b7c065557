"""``hybrid-plugin`` command line: a thin shell over the library's functions.

Each subcommand lives in its own module with ``register(subparsers)``; the module sets
``func`` on its parser to a callable taking the parsed arguments.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

from hybrid_plugin.errors import HybridPluginError

__all__ = ["main", "build_parser"]

SUBCOMMANDS = ("prepare", "export", "evaluate", "train", "report", "reproduce")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hybrid-plugin",
        description="Train multilingual dense retrievers with hybrid batches and evaluate them with Pyserini.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in SUBCOMMANDS:
        try:
            module = importlib.import_module(f"hybrid_plugin.cli.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"hybrid_plugin.cli.{name}":
                raise
            continue  # subcommand not built yet
        module.register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        datefmt="%H:%M:%S",
    )
    # faiss's loader logs every SIMD build it tries (and fails to find) at INFO
    logging.getLogger("faiss").setLevel(logging.WARNING)
    try:
        args.func(args)
    except HybridPluginError as exc:
        print(f"hybrid-plugin: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("hybrid-plugin: interrupted", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
