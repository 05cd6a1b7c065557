"""``hybrid-plugin beir DATASET``: BEIR's evaluation of a model on a BEIR folder with its graded qrels (nDCG@10,
R@100, MRR@10, AP@1000; language bias in a multilingual pool)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from hybrid_plugin.cli.arguments import positive_int
from hybrid_plugin.files import atomic_files, check_output, claim_output

BEIR_FILE = "beir.json"


def run(args: argparse.Namespace) -> None:
    # torch-loading modules imported here, so that `hybrid-plugin --help` stays fast
    from hybrid_plugin.data.beir import read_beir
    from hybrid_plugin.data.beir_sets import BEIR_SETS, fetch_beir_set
    from hybrid_plugin.debias.embeddings import read_debias
    from hybrid_plugin.debias.module import DEBIAS_FOLDER
    from hybrid_plugin.evaluation.beir_eval import beir_markdown, evaluate_beir

    out = Path(args.out)
    check_output(out, overwrite=args.overwrite)  # every option checked before anything is read or written
    named = args.dataset in BEIR_SETS
    folder = fetch_beir_set(args.dataset) if named else Path(args.dataset.removeprefix("beir:"))
    beir = read_beir(folder, split=args.split, name=args.dataset if named else None)
    debias = read_debias(args.debias)
    results = evaluate_beir(beir, args.model, depth=args.depth, batch_size=args.batch_size, device=args.device,
                            debias=debias, allow_same_data=args.allow_same_data, cache=not args.no_cache)
    markdown = beir_markdown(results)
    claim_output(out, "beir")
    if debias is not None:  # a copy of the transform applied, before the record that names it
        debias.save(out / DEBIAS_FOLDER)
    with atomic_files() as open_new:  # the record and its table change together
        for name, text in ((BEIR_FILE, json.dumps(results.to_dict(), indent=1) + "\n"), ("beir.md", markdown)):
            with open_new(out / name) as handle:
                handle.write(text)
    print(markdown, end="")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "beir",
        help="BEIR evaluation with graded qrels: nDCG@10, R@100, MRR@10, AP@1000 (docs/beir.md)",
        description="Every query against the whole corpus (exact inner product, titles joined as Pyserini joins "
                    "them), measured with ir_measures on the graded qrels of --split. Writes DIR/beir.json and "
                    "DIR/beir.md: a row per query language and 'all', with the language bias of a multilingual "
                    "pool.",
    )
    parser.add_argument("dataset", metavar="DATASET",
                        help="a BEIR folder (or beir:PATH), a folder of one BEIR folder per language, or a named "
                             "set (scifact, nfcorpus)")
    parser.add_argument("--split", default="test", metavar="NAME", help="the qrels split (default: test)")
    parser.add_argument("--model", metavar="M", help="model folder or hub id (default: the default model)")
    parser.add_argument("--depth", metavar="N", type=positive_int, default=1000, help="hits per query (1000)")
    parser.add_argument("--batch-size", metavar="N", type=positive_int, default=32, help="encoding batch size")
    parser.add_argument("--device", metavar="DEV", help="torch device (default: the best available)")
    parser.add_argument("--debias", metavar="DIR", default=None,
                        help="a language-bias removal fitted for --model (hybrid-plugin debias; --corpus-only fits "
                             "it on this corpus), applied to query and document embeddings; a copy goes to "
                             "DIR/debias/")
    parser.add_argument("--allow-same-data", action="store_true",
                        help="accept a --debias transform fitted on the evaluated collection itself (an oracle)")
    parser.add_argument("--no-cache", action="store_true",
                        help="encode everything again (do not read or add to the embedding cache)")
    parser.add_argument("--out", required=True, metavar="DIR", help="output folder")
    parser.add_argument("--overwrite", action="store_true", help="replace this command's earlier output in DIR")
    parser.set_defaults(func=run)
