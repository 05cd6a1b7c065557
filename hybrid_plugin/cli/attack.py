"""``hybrid-plugin attack DATASET --model M --budget K --out DIR``: the black-box greedy attack on every question,
written as Pyserini topic files and a JSON report."""

from __future__ import annotations

import argparse

from hybrid_plugin.cli.arguments import add_dataset_arguments, load_dataset_arguments, positive_int
from hybrid_plugin.errors import UsageError
from hybrid_plugin.files import check_output
from hybrid_plugin.perturb.attack import AttackSettings


def run(args: argparse.Namespace) -> None:
    settings = AttackSettings(budget=args.budget, unit=args.unit, candidates=args.candidates, seed=args.seed)
    check_output(args.out, overwrite=args.overwrite)  # fail before loading anything
    # the attack loads torch and the model: not for `--help` or a bad option
    from hybrid_plugin.models.loading import DEFAULT_MODEL_NAME, check_device, load_model, resolve_model
    from hybrid_plugin.perturb.attack_topics import ATTACK_FILE, write_attacked_topics

    check_device(args.device)
    qa = load_dataset_arguments(args)
    if args.pool is not None and args.pool not in qa.languages:  # before the model is loaded
        raise UsageError(f"--pool {args.pool!r} is not a language of {qa.name} ({', '.join(qa.languages)})")
    model = load_model(resolve_model(args.model), device=args.device)
    written = write_attacked_topics(qa, model, settings, args.out, model_name=args.model or DEFAULT_MODEL_NAME,
                                    pool=args.pool, batch_size=args.batch_size, overwrite=args.overwrite)
    summary = written.summary
    print(f"{qa.name}: attack of {args.model or DEFAULT_MODEL_NAME}, budget {settings.budget} {settings.unit} "
          f"edit(s), {settings.candidates} variants per step, seed {settings.seed}, pool {args.pool or 'same'}")
    for report in summary.reports:
        rate = "–" if report.success_rate is None else f"{report.success_rate:.3f}"
        print(f"  {report.query_language:<6} {len(report.outcomes):>5} queries  success rate {rate}  "
              f"mean rank drop {report.mean_rank_drop or 0.0:.2f}  {written.topics[report.query_language]}")
    rate = "–" if summary.success_rate is None else f"{summary.success_rate:.3f}"
    record = summary.record()
    print(f"all: success rate {rate}, mean rank drop {summary.mean_rank_drop or 0.0:.2f}, model queries "
          f"{record['model_queries']} (bound {record['model_queries_bound']})")
    print(f"record: {written.root / ATTACK_FILE}")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "attack",
        help="attack every question with a budget of k character / word edits against a model; Pyserini topics",
        description="A black-box greedy attack: per question, at most --budget steps, each trying --candidates "
                    "one-edit variants and keeping the one that ranks the relevant candidate lowest (the model is "
                    "asked for at most 1 + budget x candidates query embeddings per question). Writes "
                    "DIR/topics/D.L.tsv (the names `prepare` and `perturb` write: search them with the stock "
                    "pyserini.search.faiss --topics) and DIR/attack.json (success rate, mean rank drop, model "
                    "queries used and their bound, every question's edits).",
    )
    add_dataset_arguments(parser)
    parser.add_argument("--model", metavar="M", help="model folder or hub id (default: the embedded "
                                                      "multilingual-e5-small)")
    parser.add_argument("--budget", type=positive_int, default=2, metavar="K", help="edits per question (1 to 20; "
                                                                                     "default: 2)")
    parser.add_argument("--unit", choices=("char", "word"), default="char", help="edit characters or words "
                                                                                  "(default: char)")
    parser.add_argument("--candidates", type=positive_int, default=16, metavar="N",
                        help="variants tried per step (1 to 256; default: 16)")
    parser.add_argument("--pool", metavar="LANG", help="attack every language against LANG's pool (default: each "
                                                       "language against its own pool, the mono setting)")
    parser.add_argument("--seed", type=int, default=0, metavar="S", help="seed of the variants drawn (default: 0)")
    parser.add_argument("--batch-size", type=positive_int, default=32, metavar="N", help="encoding batch size")
    parser.add_argument("--device", metavar="D", help="torch device (default: the best available)")
    parser.add_argument("--out", required=True, metavar="DIR", help="output folder (new or empty)")
    parser.add_argument("--overwrite", action="store_true", help="replace an earlier attack output in --out")
    parser.set_defaults(func=run)
