"""The recipe ablation of issue #13 on a development split of the training collection (a thin command line over
:func:`hybrid_plugin.study.ablation.run_ablation`).

Every variant trains on the train side of MLQA-R (10 % of its items held out, whole paragraphs, seed 0) and is
evaluated on the held-out dev side with the ONNX backend, next to the untuned base model on the same items. One
JSON per variant goes to ``benchmarks/training/ablation/`` as soon as it is done (a rerun skips it; a variant
killed while training resumes from its checkpoint in ``--work``), and ``ablation.md`` is regenerated from them::

    python benchmarks/training/ablation.py --data ../shared/data/mlqa-r                  # every variant, 200 steps
    python benchmarks/training/ablation.py --data ../shared/data/mlqa-r --variants scale20,scale100 --steps 400 \\
        --out benchmarks/training/ablation-400 --work outputs/ablation-400
    python benchmarks/training/ablation.py --list                                         # the variants
"""

from __future__ import annotations

import argparse
import logging
import shlex
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from hybrid_plugin.errors import HybridPluginError  # noqa: E402  (the repository's package, not an installed one)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--train", default="mlqa-r", help="the training collection (default: mlqa-r)")
    parser.add_argument("--data", default=None, help="its local folder (e.g. ../shared/data/mlqa-r)")
    parser.add_argument("--model", default=None, help="base model (default: the embedded multilingual-e5-small)")
    parser.add_argument("--variants", default=None, help="comma-separated variant names (default: all; --list)")
    parser.add_argument("--steps", type=int, default=None, help="steps of every variant (default: 200)")
    parser.add_argument("--dev-fraction", type=float, default=0.1, help="share of items held out (default: 0.1)")
    parser.add_argument("--dev-seed", type=int, default=0, help="which split (default: 0)")
    parser.add_argument("--limit", type=int, default=None, help="keep the first N items before splitting (quick "
                                                                "checks)")
    parser.add_argument("--backend", default="onnx", help="evaluation backend (default: onnx)")
    parser.add_argument("--device", default=None, help="torch device (default: the trainer's choice)")
    parser.add_argument("--save-steps", type=int, default=50, help="checkpoint every N steps (default: 50)")
    parser.add_argument("--seed", type=int, default=0, help="training seed (default: 0)")
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "training" / "ablation"),
                        help="records folder (default: benchmarks/training/ablation)")
    parser.add_argument("--work", default="outputs/ablation", help="models and full results (default: "
                                                                   "outputs/ablation)")
    parser.add_argument("--debias-data", default=None, help="local folder of the debias fit collection (NTREX-128, "
                        "e.g. ../shared/data/ntrex-128) for the *-lsar-* variants")
    parser.add_argument("--list", action="store_true", help="print the variants and exit")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    from hybrid_plugin.study.ablation import BASE_RECIPE, VARIANTS, AblationSettings, run_ablation  # loads torch

    if args.list:
        print(f"base recipe: {BASE_RECIPE}")
        for variant in VARIANTS.values():
            print(f"{variant.name}: {variant.training}" + (f", evaluate {variant.evaluation}"
                                                           if variant.evaluation else "")
                  + (f", LSAR {variant.debias} training" if variant.debias else "")
                  + (f", the model of {variant.model_from}" if variant.model_from else ""))
        return 0
    options = {"steps": args.steps} if args.steps is not None else {}
    if args.variants is not None:
        options["variants"] = tuple(v.strip() for v in args.variants.split(",") if v.strip())
    command = shlex.join(["python", "benchmarks/training/ablation.py", *(sys.argv[1:] if argv is None else argv)])
    try:
        settings = AblationSettings(out=args.out, work=args.work, train=args.train, data=args.data, model=args.model,
                                    dev_fraction=args.dev_fraction, dev_seed=args.dev_seed, limit=args.limit,
                                    backend=args.backend, device=args.device, save_steps=args.save_steps,
                                    seed=args.seed, debias_data=args.debias_data, **options)
        records = run_ablation(settings, command=command)
    except HybridPluginError as exc:
        print(f"ablation: error: {exc}", file=sys.stderr)
        return 2
    for record in records:
        shown = ", ".join(f"{s} {record.map[s]:.4f}" for s in ("mono", "cross", "multi") if record.map.get(s) is not None)
        print(f"{record.name}: {shown}")
    print(f"table: {Path(settings.out) / 'ablation.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
