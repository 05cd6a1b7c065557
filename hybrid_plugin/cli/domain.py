"""``hybrid-plugin domain --study DIR --out DIR``: the domain-transfer study (zero-shot and three adaptations)."""

from __future__ import annotations

import argparse
from pathlib import Path

from hybrid_plugin.cli.arguments import positive_int
from hybrid_plugin.domain.settings import ADAPTATIONS, DOMAINS, DomainSettings


def _names(text: str) -> tuple[str, ...]:
    return tuple(s.strip() for s in text.split(",") if s.strip())


def run(args: argparse.Namespace) -> None:
    settings = DomainSettings(study=args.study, out=args.out, data_root=args.data_root, quick=args.quick,
                              domains=args.domains, adaptations=args.adaptations, adapt_fraction=args.adapt_fraction,
                              split_seed=args.split_seed, steps=args.steps, batch_size=args.batch_size,
                              per_language=args.per_language, limit=args.limit, publish=args.publish)
    # the runner imports training and torch: not for `--help` or a bad option
    from hybrid_plugin.domain.runner import run_domain

    run_domain(settings, progress=print)
    print(f"summary: {settings.out / 'summary.md'}")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "domain",
        help="the domain-transfer study: a reproduce study's models on news, African QA and conversational "
             "sentences, zero-shot and adapted",
        description="Evaluate the base, X-X, X-Y and hybrid models of a `hybrid-plugin reproduce` folder (seed 0) "
                    "on other domains as BEIR collections -- news (NTREX-128: X -> en+de+es pool), African-language "
                    "Wikipedia QA (AfriQA: X -> en/fr passages) and conversational sentences (Tatoeba: X -> one "
                    "English pool) -- then adapt the hybrid model and the better baseline (chosen on the adaptation "
                    "side) with LSAR fitted on the domain's text, continued hybrid training with the domain's "
                    "parallel text, and TSDAE mixed with hybrid batches. Each domain is split by item: adaptations "
                    "never see an evaluated item. Resumable; a resumed study may add domains.",
    )
    parser.add_argument("--study", metavar="DIR", type=Path, required=True,
                        help="a folder written by hybrid-plugin reproduce (plan.json, models/)")
    parser.add_argument("--out", metavar="DIR", type=Path, required=True, help="the study's output folder")
    parser.add_argument("--data-root", metavar="DIR", type=Path, default=Path("../shared/data"),
                        help="the folder with ntrex-128/, afriqa/, tatoeba/ and the training collections "
                             "(../shared/data)")
    parser.add_argument("--quick", action="store_true",
                        help="a few languages and items per domain, 6 adaptation steps (about ten minutes on two "
                             "CPU cores; see hybrid_plugin.domain.settings.DOMAINS)")
    parser.add_argument("--domains", type=_names, default=None, metavar="A,B",
                        help=f"which domains (default: {','.join(DOMAINS)})")
    parser.add_argument("--adaptations", type=_names, default=None, metavar="A,B",
                        help=f"which adaptations (default: {','.join(ADAPTATIONS)})")
    parser.add_argument("--adapt-fraction", type=float, default=0.5, metavar="F",
                        help="share of a domain's items on the adaptation side (default: 0.5)")
    parser.add_argument("--split-seed", type=int, default=0, metavar="N", help="the item split's seed (default: 0)")
    parser.add_argument("--steps", type=positive_int, default=None, metavar="N",
                        help="training steps of each adaptation (default: 60, --quick 6)")
    parser.add_argument("--batch-size", type=positive_int, default=None, metavar="N",
                        help="pairs per training batch and texts per encoding batch (default: 32, --quick 16)")
    parser.add_argument("--per-language", type=positive_int, default=None, metavar="N",
                        help="LSAR fit texts per language and role (default: 200, --quick 25)")
    parser.add_argument("--limit", type=positive_int, default=None, metavar="N",
                        help="items per language of each domain instead of the preset's")
    parser.add_argument("--publish", metavar="DIR", type=Path, default=None,
                        help="copy the small outputs (records, summary, plot) here as they finish")
    parser.set_defaults(func=run)
