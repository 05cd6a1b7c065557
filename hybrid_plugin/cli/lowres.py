"""``hybrid-plugin lowres --study DIR --out DIR``: the low-resource study over AfriQA, NTREX-128 and Tatoeba."""

from __future__ import annotations

import argparse
from pathlib import Path

from hybrid_plugin.cli.arguments import name_list, positive_int
from hybrid_plugin.debias.transform import METHODS
from hybrid_plugin.lowres.settings import LOWRES_SETS, LowresSettings


def _sets(text: str) -> tuple[str, ...]:
    return tuple(s.strip() for s in text.split(",") if s.strip())


def run(args: argparse.Namespace) -> None:
    settings = LowresSettings(study=args.study, out=args.out, quick=args.quick, sets=args.sets,
                              data_root=args.data_root, pairs=args.pairs, debias=not args.no_debias,
                              debias_method=args.debias_method, debias_per_language=args.debias_per_language,
                              limit=args.limit, seeds=args.seeds, trained_on=args.trained_on,
                              batch_size=args.batch_size, trials=args.trials, publish=args.publish)
    # the runner imports evaluation and torch: not for `--help` or a bad option
    from hybrid_plugin.lowres.runner import run_lowres

    run_lowres(settings, progress=print)
    print(f"summary: {settings.out / 'summary.md'}")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "lowres",
        help="the low-resource study: a reproduce study's models on AfriQA, NTREX-128 and Tatoeba",
        description="Evaluate the base, X-X, X-Y and hybrid models of a `hybrid-plugin reproduce` folder zero-shot "
                    "on AfriQA (X -> English / French passages), NTREX-128 (a seeded sample of X -> Y pairs, every "
                    "X <-> English, the multilingual pool) and Tatoeba (xx <-> eng accuracy), with and without "
                    "language-bias removal (never fitted on the set evaluated), by resource group, with paired "
                    "tests and per-language plots. Resumable: a rerun keeps finished cells.",
    )
    parser.add_argument("--study", metavar="DIR", type=Path, required=True,
                        help="a folder written by hybrid-plugin reproduce (plan.json, models/)")
    parser.add_argument("--out", metavar="DIR", type=Path, required=True, help="the study's output folder")
    parser.add_argument("--quick", action="store_true",
                        help="slices that fit about ten minutes on two CPU cores (a few languages per resource "
                             "group, the first items; see hybrid_plugin.lowres.settings.QUICK_SLICES)")
    parser.add_argument("--sets", type=_sets, default=LOWRES_SETS, metavar="A,B",
                        help=f"which sets, comma-separated (default: {','.join(LOWRES_SETS)})")
    parser.add_argument("--data-root", metavar="DIR", type=Path, default=None,
                        help="local copies DIR/<set> (../shared/data) instead of downloading")
    parser.add_argument("--pairs", metavar="SPEC", default=None,
                        help="NTREX-128 pairs: sample:N[:SEED] (every X->en, en->X plus N others; default "
                             "sample:200, --quick sample:6) or all")
    parser.add_argument("--no-debias", action="store_true", help="skip the runs with language-bias removal")
    parser.add_argument("--debias-method", choices=METHODS, default="lsar",
                        help="the language-bias removal (default: lsar, which applies to languages it did not fit)")
    parser.add_argument("--debias-per-language", type=positive_int, default=None, metavar="N",
                        help="fit sentences per language (default: 200, --quick 25)")
    parser.add_argument("--limit", type=positive_int, default=None, metavar="N",
                        help="items per set (AfriQA: questions per language) instead of the preset's")
    parser.add_argument("--batch-size", type=positive_int, default=32, metavar="N", help="encoding batch size")
    parser.add_argument("--seeds", type=positive_int, default=None, metavar="K",
                        help="evaluate the trained models of seeds 0..K-1 only (default: every seed of the study's "
                             "plan; the base always)")
    parser.add_argument("--trained-on", type=name_list, metavar="SET,...",
                        help="only the models trained on these collections, and the base (default: every direction "
                             "of the study's plan); finished cells are shared, so a folder can be filled one "
                             "direction at a time")
    parser.add_argument("--trials", type=positive_int, default=10000, metavar="N",
                        help="random sign patterns of the paired randomisation tests (default: 10000)")
    parser.add_argument("--publish", metavar="DIR", type=Path, default=None,
                        help="copy the small outputs (records, summary, plots) here as they finish")
    parser.set_defaults(func=run)
