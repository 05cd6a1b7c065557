"""What --freeze-embeddings costs: the same short hybrid run with and without the token-embedding matrix trained.

Trains the default model (multilingual-e5-small) on XQuAD-R with hybrid batches (α = 0.5) for a fixed number of
steps, twice (embeddings trained / frozen), and evaluates the base model and both results on MLQA-R (zero-shot,
the first ``--eval-limit`` items) with :class:`~hybrid_plugin.evaluation.MultilingualRetrievalEvaluator`: mono /
cross / multi mAP and language bias, plus seconds per step.

Usage (from the project root)::

    python benchmarks/sampler/freeze_embeddings.py --data ../shared/data --steps 100 --threads 1
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=Path("../shared/data"))
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent)
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--eval-limit", type=int, default=300)
    parser.add_argument("--threads", type=int)
    args = parser.parse_args()

    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    from hybrid_plugin.data.loading import load_parallel_qa
    from hybrid_plugin.evaluation.evaluator import MultilingualRetrievalEvaluator
    from hybrid_plugin.models.loading import load_model
    from hybrid_plugin.training.settings import TrainingSettings
    from hybrid_plugin.training.trainer import train

    train_qa = load_parallel_qa("xquad-r", data=args.data / "xquad-r")
    eval_qa = load_parallel_qa("mlqa-r", data=args.data / "mlqa-r")
    evaluator = MultilingualRetrievalEvaluator(eval_qa, max_questions=args.eval_limit, name="mlqa_r", write_csv=False)

    def scores(model) -> dict:
        started = time.perf_counter()
        metrics = evaluator(model)
        return {**{k.removeprefix("mlqa_r_"): round(v, 4) for k, v in metrics.items()},
                "eval_s": round(time.perf_counter() - started, 1)}

    rows = {"base": scores(load_model(device="cpu"))}
    print("base", rows["base"], flush=True)
    scratch = Path(tempfile.mkdtemp(prefix="freeze-"))
    try:
        for freeze in (False, True):
            name = "frozen" if freeze else "trained"
            result = train(TrainingSettings(train="xquad-r", out=scratch / name, max_steps=args.steps,
                                            batch_size=args.batch_size, freeze_embeddings=freeze, device="cpu",
                                            logging_steps=10), qa=train_qa)
            from sentence_transformers import SentenceTransformer

            rows[name] = {**scores(SentenceTransformer(str(scratch / name), device="cpu")),
                          "seconds_per_step": round(result.report["timings"]["train_runtime_s"] / args.steps, 2),
                          "trainable_parameters": result.report["model"]["trainable_parameters"],
                          "final_loss": round(result.report["final_loss"], 4)}
            print(name, rows[name], flush=True)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    payload = {"settings": {"train": "xquad-r", "eval": f"mlqa-r (first {args.eval_limit} items)",
                            "steps": args.steps, "batch_size": args.batch_size, "alpha": 0.5,
                            "max_seq_length": 64, "lr": 3e-5, "threads": torch.get_num_threads(),
                            "load_average": os.getloadavg()},
               "results": rows}
    (args.out / "freeze_embeddings.json").write_text(json.dumps(payload, indent=2) + "\n")


if __name__ == "__main__":
    main()
