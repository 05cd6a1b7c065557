"""``hybrid-plugin perturb DATASET --perturb KIND:LEVEL --out DIR``: perturbed questions as Pyserini topics."""

from __future__ import annotations

import argparse

from hybrid_plugin.cli.arguments import add_dataset_arguments, load_dataset_arguments
from hybrid_plugin.files import check_output
from hybrid_plugin.perturb.kinds import KINDS, parse_perturbation

PERTURB_HELP = ("KIND:LEVEL, one of " + ", ".join(f"{kind} ({info.level}, at most {info.max_level:g})"
                                                   for kind, info in KINDS.items())
                + "; codeswitch:LEVEL:LANG names the donor language (default: one of the item's others)")


def run(args: argparse.Namespace) -> None:
    perturbation = parse_perturbation(args.perturb, seed=args.seed)  # checked before loading anything
    check_output(args.out, overwrite=args.overwrite)  # fail before loading anything
    from hybrid_plugin.perturb.topics import PERTURBATION_FILE, write_perturbed_topics  # textnoisr loads scipy

    qa = load_dataset_arguments(args)
    written = write_perturbed_topics(qa, perturbation, args.out, overwrite=args.overwrite)
    report = written.report
    print(f"{qa.name}: {perturbation.label} (seed {perturbation.seed}) on {qa.num_questions()} questions")
    for lang in qa.languages:
        print(f"  {lang:<6} changed {report.changed[lang]:>5} / {report.questions[lang]:<5}  "
              f"CER {report.cer[lang]:.3f}  {written.topics[lang]}")
    print(f"record: {written.root / PERTURBATION_FILE}")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "perturb",
        help="write perturbed questions (typos, romanised, code-switched, ...) as Pyserini topic files",
        description="Perturb every question of a collection, deterministically for --seed, and write "
                    "DIR/topics/D.L.tsv (the names `prepare` writes: search them with the stock "
                    "pyserini.search.faiss --topics against the indexes of the clean corpora) and "
                    "DIR/perturbation.json (settings, character error rate per language).",
    )
    add_dataset_arguments(parser)
    parser.add_argument("--perturb", required=True, metavar="KIND:LEVEL", help=PERTURB_HELP)
    parser.add_argument("--seed", type=int, default=0, metavar="S", help="perturbation seed (default: 0)")
    parser.add_argument("--out", required=True, metavar="DIR", help="output folder (new or empty)")
    parser.add_argument("--overwrite", action="store_true", help="replace an earlier perturb output in --out")
    parser.set_defaults(func=run)
