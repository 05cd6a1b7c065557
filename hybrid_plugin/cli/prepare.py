"""``hybrid-plugin prepare DATASET``: write Pyserini topics, corpora and qrels."""

from __future__ import annotations

import argparse
import logging

from hybrid_plugin.data import load_parallel_qa
from hybrid_plugin.pyserini_io import prepare

logger = logging.getLogger(__name__)


def add_dataset_arguments(parser: argparse.ArgumentParser, flag: str | None = None) -> None:
    """The DATASET / --data / --languages / --limit arguments shared by several subcommands."""
    if flag is None:
        parser.add_argument("dataset", metavar="DATASET",
                            help="xquad-r, mlqa-r, a LAReQA-style folder, a parallel .jsonl file or a prepared folder")
    else:
        parser.add_argument(flag, dest="dataset", metavar="DATASET", required=True,
                            help="xquad-r, mlqa-r, a LAReQA-style folder, a parallel .jsonl file or a prepared folder")
    parser.add_argument("--data", metavar="DIR", help="local copy of a named set's <lang>.json files (no download)")
    parser.add_argument("--languages", metavar="L,L,...", type=lambda s: [x for x in s.split(",") if x],
                        help="keep only these languages")
    parser.add_argument("--limit", metavar="N", type=int, help="keep the first N question ids (quick checks)")


def load_dataset_arguments(args: argparse.Namespace):
    qa = load_parallel_qa(args.dataset, data=args.data, languages=args.languages)
    return qa.limit(args.limit)


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
