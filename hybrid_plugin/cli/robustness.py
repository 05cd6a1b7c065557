"""``hybrid-plugin robustness --study DIR``: the models of a zero-shot study on perturbed and adversarial queries,
the drop from the clean queries, and paired tests of hybrid against each baseline on the per-query drop."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from hybrid_plugin.cli.arguments import name_list, positive_int
from hybrid_plugin.robustness.settings import BUDGETS, LEVELS, QUICK, RobustnessSettings


def _budgets(text: str) -> tuple[int, ...]:
    try:
        return tuple(positive_int(x) for x in text.split(",") if x.strip())
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(f"expected positive integers separated by commas, e.g. 1,3; got "
                                         f"{text!r}") from None


def run(args: argparse.Namespace) -> None:
    settings = RobustnessSettings(
        study=args.study, out=args.out, quick=args.quick, kinds=args.kinds, items=args.items,
        budgets=() if args.no_attack else args.budgets, attack_items=args.attack_items, candidates=args.candidates,
        unit=args.unit, seed=args.seed, trials=args.trials, batch_size=args.batch_size, seeds=args.seeds,
        trained_on=args.trained_on,
        data_root=args.data_root, publish=args.publish)
    # the runner loads torch and the models: not for `--help` or a bad option
    from hybrid_plugin.robustness.runner import run_robustness

    if args.quick:
        print(f"hybrid-plugin robustness --quick: {', '.join(settings.kinds)} at three levels and the attack at "
              f"budgets {', '.join(map(str, settings.budgets))} on the first {settings.items} items (attack: "
              f"{settings.attack_items} items per language), about ten minutes on 2 CPU cores; the full study: "
              "without --quick.", file=sys.stderr)
    summary = run_robustness(settings, progress=lambda m: print(m, file=sys.stderr))
    print(summary.to_markdown())
    print(f"robustness folder: {settings.out} (summary.md, summary.json, severity-*.png, cells/)")


def register(subparsers: argparse._SubParsersAction) -> None:
    levels = "; ".join(f"{k} {','.join(f'{v:g}' for v in values)}" for k, values in LEVELS.items())
    parser = subparsers.add_parser(
        "robustness",
        help="evaluate a study's models on perturbed and adversarial queries; paired tests on the drop",
        description="For every model of a study written by `hybrid-plugin reproduce` (untuned base, X-X, X-Y, "
                    "hybrid; each on its zero-shot evaluation set): evaluate on the clean questions, on every "
                    f"perturbation kind at three levels ({levels}) and on its own adversarial questions (the "
                    "attack at two budgets); report the drop per setting, kind, level and query language, test "
                    "hybrid against each baseline on the per-query drop (paired randomisation), and plot mAP "
                    "against severity. Only questions are re-encoded (the clean passages come from the embedding "
                    "cache). Finished cells are kept: run the same command again to continue.",
    )
    parser.add_argument("--study", required=True, type=Path, metavar="DIR",
                        help="a study folder written by hybrid-plugin reproduce (plan.json, models/)")
    parser.add_argument("--out", type=Path, metavar="DIR",
                        help="output folder (default: STUDY/robustness, or STUDY/robustness-quick with --quick)")
    parser.add_argument("--quick", action="store_true",
                        help=f"about ten minutes on 2 CPU cores: kinds {','.join(QUICK['kinds'])}, the first "
                             f"{QUICK['items']} items, attack budgets {','.join(map(str, QUICK['budgets']))} with "
                             f"{QUICK['candidates']} variants per step on {QUICK['attack_items']} items per language")
    parser.add_argument("--kinds", type=name_list, metavar="K,K,...",
                        help=f"perturbation kinds (default: all, {','.join(LEVELS)})")
    parser.add_argument("--items", type=positive_int, metavar="N", help="evaluate on the first N items (default: "
                                                                         "the study's own limit)")
    parser.add_argument("--budgets", type=_budgets, metavar="K,K",
                        help=f"the attack's budgets, edits per query (default: {','.join(map(str, BUDGETS))})")
    parser.add_argument("--no-attack", action="store_true", help="no attack cells")
    parser.add_argument("--attack-items", type=positive_int, metavar="N",
                        help="attack the first N items of each language (default: 100; a number at least the "
                             "collection's items attacks every item)")
    parser.add_argument("--candidates", type=positive_int, metavar="N", help="attack variants per step (default 16)")
    parser.add_argument("--unit", choices=("char", "word"), default="char", help="attack edits (default: char)")
    parser.add_argument("--seed", type=int, default=0, metavar="S", help="perturbation and attack seed (default: 0)")
    parser.add_argument("--trials", type=positive_int, default=10000, metavar="N",
                        help="sign flips of the randomisation tests (default: 10000)")
    parser.add_argument("--batch-size", type=positive_int, default=32, metavar="N", help="encoding batch size")
    parser.add_argument("--seeds", type=positive_int, default=None, metavar="K",
                        help="evaluate the trained models of seeds 0..K-1 only (default: every seed of the study's "
                             "plan; the base always)")
    parser.add_argument("--trained-on", type=name_list, metavar="SET,...",
                        help="only the directions trained on these collections: their trained models and the base on "
                             "their evaluation sets (default: every direction of the study's plan)")
    parser.add_argument("--data-root", type=Path, default=Path(os.environ["HYBRID_PLUGIN_DATA"])
                        if os.environ.get("HYBRID_PLUGIN_DATA") else None, metavar="DIR",
                        help="folder holding the evaluation sets (default: $HYBRID_PLUGIN_DATA, else download)")
    parser.add_argument("--publish", type=Path, metavar="DIR", help="copy the small outputs (settings, summary, "
                        "plots, each cell's results.md) to DIR as they are finished")
    parser.set_defaults(func=run)
