"""``hybrid-plugin export MODEL OUT``: a folder for Pyserini's ``auto`` encoders, with its exact flags."""

from __future__ import annotations

import argparse
import shlex

from hybrid_plugin.pyserini.export import PYSERINI_JSON, export_model


def run(args: argparse.Namespace) -> None:
    info = export_model(args.model, args.out, verify=not args.no_verify, overwrite=args.overwrite)
    check = ("not verified (--no-verify)" if info.max_abs_diff is None
             else f"verified: max abs difference {info.max_abs_diff:.2g} from sentence-transformers")
    print(f"wrote {info.path} ({info.source}; {check})")
    print(f"flags: --encoder-class auto --pooling {info.pooling}{' --l2-norm' if info.l2_norm else ''} "
          f"--max-length {info.max_length} --dimension {info.dimension}")
    print(f"       query prefix (pyserini.search.faiss --query-prefix): {info.query_prefix!r}")
    print(f"       passage prefix (pyserini.encode --prefix): {info.passage_prefix!r}")
    print("encode a corpus:")
    print("  " + shlex.join(info.encode_args("CORPUS.jsonl", "INDEX_DIR")))
    print("search it:")
    print("  " + shlex.join(info.search_args("INDEX_DIR", "TOPICS.tsv", "RUN.txt")))
    print(f"(all of it, machine-readable: {info.path / PYSERINI_JSON})")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "export",
        help="write a model folder for Pyserini's auto encoders, with its exact flags",
        description="Write OUT: MODEL as a folder that `python -m pyserini.encode` and `python -m "
                    "pyserini.search.faiss` load with --encoder-class auto, plus OUT/pyserini.json with the flags "
                    "(pooling, --l2-norm, prefixes, dimension, max length) and ready-to-run commands. The export "
                    "checks that Pyserini's embeddings equal sentence-transformers' (max abs difference 1e-5).",
    )
    parser.add_argument("model", metavar="MODEL",
                        help='a sentence-transformers folder or hub id, or "default" for the default model')
    parser.add_argument("out", metavar="OUT", help="the folder to create")
    parser.add_argument("--overwrite", action="store_true",
                        help="replace an earlier export in OUT (a folder the plugin did not make is never replaced)")
    parser.add_argument("--no-verify", action="store_true",
                        help="skip the embedding check (and Pyserini's JVM start, about 5 s)")
    parser.set_defaults(func=run)
