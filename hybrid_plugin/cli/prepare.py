"""``hybrid-plugin prepare DATASET``: write Pyserini topics, corpora and qrels."""

from __future__ import annotations

import argparse

from hybrid_plugin.cli.arguments import add_dataset_arguments, load_dataset_arguments
from hybrid_plugin.pyserini.prepared import prepare


def run(args: argparse.Namespace) -> None:
    qa = load_dataset_arguments(args)
    files = prepare(qa, args.out, overwrite=args.overwrite)
    print(f"{qa.name}: {len(qa.languages)} languages, {len(qa.qids)} items, {qa.num_questions()} questions, "
          f"{qa.num_candidates()} candidates")
    print(f"topics:  {files.topics('<lang>')}\ncorpus:  {files.corpus('<lang>')}\n"
          f"qrels:   {files.qrels('<lang>')} and {files.qrels('multi')}\nsha256:  {files.checksums}")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "prepare",
        help="write Pyserini-format topics, corpora and qrels",
        description="Write DIR/topics/D.L.tsv, DIR/corpus/D/L.jsonl, DIR/qrels/D.L.txt and DIR/qrels/D.multi.txt.",
    )
    add_dataset_arguments(parser)
    parser.add_argument("--out", default=".", metavar="DIR", help="output root (default: .)")
    parser.add_argument("--overwrite", action="store_true", help="replace existing files with other content")
    parser.set_defaults(func=run)
