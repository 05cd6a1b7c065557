"""``hybrid-plugin reproduce``: the paper's X-X / X-Y / hybrid comparison, zero-shot, resumable."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from hybrid_plugin.cli.arguments import add_backend_arguments, name_list, positive_float, positive_int, unit_float
from hybrid_plugin.errors import UsageError
from hybrid_plugin.study.settings import ReproduceSettings


def _alphas(text: str) -> tuple[float, ...]:
    values = tuple(unit_float(x) for x in text.split(",") if x.strip())
    if not values:
        raise argparse.ArgumentTypeError(f"expected numbers separated by commas, e.g. 0,0.5,1; got {text!r}")
    return values


def _default_data_root() -> Path | None:
    env = os.environ.get("HYBRID_PLUGIN_DATA")
    return Path(env) if env else None


def _check_options(args: argparse.Namespace) -> None:
    if args.outcomes and not args.check:
        raise UsageError("--outcomes goes with --check RECORD")
    for flag, value in (("--train-seeds", args.train_seeds), ("--trained-on", args.trained_on)):
        if value is not None and not args.train_only:
            raise UsageError(f"{flag} goes with --train-only")
    if args.train_only and args.check:
        raise UsageError("--train-only and --check are two different jobs: choose one")


def _check(args: argparse.Namespace) -> None:
    """``--check RECORD``: re-run a record's stock commands, one line per condition."""
    from hybrid_plugin.study.check_outcomes import write_outcomes
    from hybrid_plugin.study.record import check_record

    outcomes = check_record(args.check, args.workdir or ".", only=args.only, study=args.study, progress=print)
    if args.outcomes:  # FAIL is an outcome too: written before the exit status says so
        write_outcomes(outcomes, args.outcomes, record=args.check)
    width = max(len(o.name) for o in outcomes)
    for o in outcomes:
        got = ", ".join(f"{m} {o.got.get(m, float('nan')):.4f} (expected {v:.4f})" for m, v in o.expected.items())
        print(f"{o.status:<6} {o.name:<{width}}  {got}{'  ' + o.message if o.message else ''}")
    failed = [o for o in outcomes if o.status == "FAIL"]
    print(f"{len(outcomes) - len(failed)} passed, {len(failed)} failed")
    if failed:
        raise UsageError(f"{len(failed)} condition(s) of {args.check} did not reproduce")


def _settings(args: argparse.Namespace) -> ReproduceSettings:
    preset = "quick" if args.quick else args.preset
    settings = ReproduceSettings(
        out=Path(args.out or f"outputs/reproduce-{preset}"), preset=preset, model=args.model,
        data_root=args.data_root, alphas=args.alphas, seeds=args.seeds,
        max_steps=args.max_steps, batch_size=args.batch_size, eval_limit=args.eval_limit,
        train_limit=args.train_limit, export=not args.no_export, publish=args.publish, backend=args.backend,
        scale=args.scale, hard_negatives=args.hard_negatives, loss=args.loss, mini_batch_size=args.mini_batch_size,
        precision=args.precision, debias=args.debias_fit_on, debias_method=args.debias_method,
        debias_per_language=args.debias_per_language,
    )
    if args.train_seeds is not None and args.train_seeds > settings.seeds:
        raise UsageError(f"--train-seeds {args.train_seeds}: the study has {settings.seeds} seed(s) (--seeds "
                         f"{settings.seeds}); choose 1 to {settings.seeds}")
    return settings


def _say(message: str) -> None:
    print(message, file=sys.stderr)


def run(args: argparse.Namespace) -> None:
    _check_options(args)
    if args.check:  # the record imports evaluation (torch): not for `--help` or a bad option
        _check(args)
        return
    settings = _settings(args)
    # the runner imports training and evaluation (torch): not for `--help` or a bad option
    from hybrid_plugin.study.runner import run_reproduction, train_models
    from hybrid_plugin.study.summary import summary_markdown

    if args.train_only:
        models = train_models(settings, seeds=args.train_seeds, trained_on=args.trained_on, progress=_say)
        print("\n".join(map(str, models)))
        _say(f"{len(models)} model(s) trained in {settings.out}; the same command without --train-only evaluates them")
        return
    if settings.preset == "quick":
        _say(f"hybrid-plugin reproduce --quick: a small study ({settings.plan()['max_steps']} training steps per "
            f"model, evaluation on the first {settings.eval_limit} items) that runs in about ten minutes on 2 CPU "
            "cores; its numbers show the pipeline, not the paper's effect. The full study: --preset full.")
    summary = run_reproduction(settings, progress=_say, html=args.html)
    print(summary_markdown(summary))
    page = ", leaderboard.html" if args.html else ""
    print(f"study folder: {settings.out} (summary.md, leaderboard.md{page}, record.yaml, eval/*/*/results.json)")


def _add_train_only_and_check_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--train-only", action="store_true", help="train the study's models (and check its plan) "
                        "without evaluating them, e.g. for `robustness` or `lowres` on some of them")
    parser.add_argument("--train-seeds", type=positive_int, metavar="K", help="with --train-only: the models of "
                        "seeds 0..K-1 only (default: every seed of --seeds)")
    parser.add_argument("--trained-on", type=name_list, metavar="SET,...", help="with --train-only: the models "
                        "trained on these collections only (default: every direction)")
    parser.add_argument("--check", metavar="RECORD", help="re-run the stock commands of a record.yaml and mark each "
                        "condition OK / OKish / FAIL")
    parser.add_argument("--outcomes", metavar="FILE", help="with --check: also write each condition's status to "
                        "FILE (JSON, merged with the conditions it holds); the leaderboard page shows the statuses "
                        "of record-check.json beside a study's record.yaml")
    parser.add_argument("--workdir", metavar="DIR", help="with --check: where to prepare and run (default: .)")
    parser.add_argument("--only", metavar="TEXT", help="with --check: conditions whose name contains TEXT")
    parser.add_argument("--study", metavar="DIR", help="with --check: the study folder holding the record's "
                        "encoders/ (default: the record's folder)")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "reproduce",
        help="train X-X, X-Y and hybrid models and compare them zero-shot (the paper's study)",
        description="Train the same base model with X-X (alpha 1), X-Y (alpha 0) and hybrid (alpha 0.5) batches on "
                    "MLQA-R and XQuAD-R, evaluate each zero-shot on the other set next to the untuned base, and "
                    "write the side-by-side table, heatmaps, run files, exported encoders and a 2CR-style record. "
                    "Finished steps are kept: run the same command again to continue an interrupted study.",
    )
    parser.add_argument("--quick", action="store_true", help="the ten-minute CPU study (same as --preset quick)")
    parser.add_argument("--preset", choices=("quick", "full", "paper"), default="quick",
                        help="quick: minutes on a CPU; full: the recorded study on this machine; paper: the paper's "
                             "scale (batch 100, a full epoch, no frozen embeddings) for a GPU (default: quick)")
    parser.add_argument("--out", metavar="DIR", help="study folder (default: outputs/reproduce-<preset>)")
    parser.add_argument("--model", metavar="M", help="base model (default: the embedded multilingual-e5-small)")
    parser.add_argument("--data-root", type=Path, default=_default_data_root(), metavar="DIR",
                        help="folder holding xquad-r/ and mlqa-r/ (default: $HYBRID_PLUGIN_DATA, else download)")
    parser.add_argument("--alphas", type=_alphas, default=(1.0, 0.0, 0.5), metavar="A,A,...",
                        help="alpha values to train (1 = X-X, 0 = X-Y; default: 1,0,0.5); more than two also plot "
                             "mono / cross / multi against alpha")
    parser.add_argument("--seeds", type=positive_int, default=1, metavar="N",
                        help="seeds per configuration (default: 1); more seeds (or more --alphas) than a finished "
                             "study in --out extend it")
    parser.add_argument("--max-steps", type=positive_int, metavar="N", help="training steps per model (preset's default)")
    parser.add_argument("--batch-size", type=positive_int, metavar="N", help="pairs per batch (preset's default)")
    parser.add_argument("--eval-limit", type=positive_int, metavar="N", help="evaluate on the first N items only")
    parser.add_argument("--train-limit", type=positive_int, metavar="N", help="train on the first N items only")
    parser.add_argument("--scale", type=positive_float, metavar="S",
                        help="the loss's similarity scale, 1/temperature (preset's default: 100, E5's own)")
    parser.add_argument("--hard-negatives", action=argparse.BooleanOptionalAction, default=None,
                        help="add a same-paragraph hard negative to every pair (preset's default: on; "
                             "--no-hard-negatives --scale 20 is the recipe of the studies recorded before it)")
    parser.add_argument("--loss", choices=("mnrl", "cached-mnrl"),
                        help="cached-mnrl: the cached (GradCache) loss, large batches in flat memory")
    parser.add_argument("--mini-batch-size", type=positive_int, metavar="M", help="mini-batch of cached-mnrl")
    parser.add_argument("--debias-fit-on", metavar="DATASET", help="also evaluate every model with a language-bias "
                        "removal fitted for it on DATASET (e.g. ntrex-128; not a collection of the study): the "
                        "'+lsar' rows; adding it to a finished study extends it (docs/debias.md)")
    parser.add_argument("--debias-method", choices=("center", "lir", "lsar"), default="lsar",
                        help="with --debias-fit-on: the method (default: lsar)")
    parser.add_argument("--debias-per-language", type=positive_int, default=200, metavar="N",
                        help="with --debias-fit-on: sentences drawn per language for the fit (default: 200)")
    add_backend_arguments(parser)
    parser.add_argument("--no-export", action="store_true", help="do not export encoders (no record.yaml)")
    parser.add_argument("--publish", type=Path, metavar="DIR", help="copy the small outputs (results, tables, "
                        "heatmaps, record; no models, indexes or runs) to DIR as they are finished")
    parser.add_argument("--html", action="store_true", help="also write OUT/leaderboard.html: the leaderboard as "
                        "one self-contained page (sortable tables, commands, 2CR status, heatmaps and plots)")
    _add_train_only_and_check_arguments(parser)
    parser.set_defaults(func=run)
