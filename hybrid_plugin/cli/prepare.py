"""``hybrid-plugin prepare DATASET``: write Pyserini topics, corpora and qrels, or (``--format beir``) a BEIR
folder."""

from __future__ import annotations

import argparse

from hybrid_plugin.cli.arguments import add_dataset_arguments, load_dataset_arguments
from hybrid_plugin.data.beir_convert import beir_files, beir_from_parallel_qa, write_beir
from hybrid_plugin.errors import UsageError
from hybrid_plugin.pyserini.prepared import prepare

FORMATS = ("pyserini", "beir")


def run(args: argparse.Namespace) -> None:
    if args.pool is not None and args.format != "beir":
        raise UsageError("--pool is for --format beir (the pyserini format writes every pool)")
    qa = load_dataset_arguments(args)
    print(f"{qa.name}: {len(qa.languages)} languages, {len(qa.qids)} items, {qa.num_questions()} questions, "
          f"{qa.num_candidates()} candidates")
    if args.format == "beir":
        pool = args.pool.split(",") if args.pool and "," in args.pool else args.pool
        beir = beir_from_parallel_qa(qa, split=args.split, pool=pool)
        root = write_beir(beir, args.out, overwrite=args.overwrite)
        corpus, queries, qrels = beir_files(root, beir.split)
        print(f"corpus:  {corpus}\nqueries: {queries}\nqrels:   {qrels}")
        return
    files = prepare(qa, args.out, overwrite=args.overwrite)
    print(f"topics:  {files.topics('<lang>')}\ncorpus:  {files.corpus('<lang>')}\n"
          f"qrels:   {files.qrels('<lang>')} and {files.qrels('multi')}\nsha256:  {files.checksums}")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "prepare",
        help="write Pyserini-format topics, corpora and qrels (or a BEIR folder)",
        description="Write DIR/topics/D.L.tsv, DIR/corpus/D/L.jsonl, DIR/qrels/D.L.txt and DIR/qrels/D.multi.txt; "
                    "with --format beir, DIR/corpus.jsonl, DIR/queries.jsonl and DIR/qrels/SPLIT.tsv "
                    "(docs/beir.md).",
    )
    add_dataset_arguments(parser)
    parser.add_argument("--out", default=".", metavar="DIR", help="output root (default: .)")
    parser.add_argument("--format", choices=FORMATS, default="pyserini",
                        help="pyserini (topics / corpus / qrels per language) or beir (one BEIR folder; --split "
                             "names its qrels file) (default: pyserini)")
    parser.add_argument("--pool", metavar="LANG[,LANG...]",
                        help="--format beir: the corpus is this language's pool alone, searched by the queries of "
                             "the other languages (X->LANG; several: X->a pool of those languages, queried from "
                             "the others; default: every pool and every query)")
    parser.add_argument("--overwrite", action="store_true", help="replace existing files with other content")
    parser.set_defaults(func=run)
