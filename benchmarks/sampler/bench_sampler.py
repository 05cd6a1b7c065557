"""Benchmark of HybridBatchSampler: planning an epoch at 10 million pairs, and its share of a real training step.

Part 1 plans epochs over synthetic parallel data (every item in every language, so ``items x L^2`` pairs) for
several sizes and modes: time of each phase and peak memory (tracemalloc, numpy's allocations included), to show
that planning takes seconds and memory linear in the pairs. Part 2 measures, on XQuAD-R (143,990 pairs), the
sampler's whole cost per training step (planning the epoch, amortised, plus handing out a batch) against a real
training step of the default model (multilingual-e5-small) through ``hybrid_plugin.training.train``.

Usage (from the project root; see README.md beside this file)::

    python benchmarks/sampler/bench_sampler.py --data ../shared/data --out benchmarks/sampler
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import shutil
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np


def synthetic(num_items: int, num_languages: int, hard_negatives: bool):
    from hybrid_plugin.sampling import PairMetadata

    L = num_languages
    item = np.repeat(np.arange(num_items, dtype=np.int64), L * L)
    q = np.tile(np.repeat(np.arange(L, dtype=np.int16), L), num_items)
    p = np.tile(np.tile(np.arange(L, dtype=np.int16), L), num_items)
    positive = item * L + p
    texts = positive[:, None]
    if hard_negatives:  # the next item's passage in the same language: often another pair's positive
        texts = np.stack([positive, ((item + 1) % num_items) * L + p], axis=1)
    return PairMetadata.from_arrays(item, q, p, [f"l{i}" for i in range(L)], texts=texts)


def plan_once(meta, *, batch_size: int, xy_mode: str, mixing: str, memory: bool) -> dict:
    from hybrid_plugin.sampling import HybridBatchSampler, conflict_mask

    gc.collect()
    if memory:
        tracemalloc.start()
    started = time.perf_counter()
    sampler = HybridBatchSampler(meta, batch_size, num_replicas=1, alpha=0.5, xy_mode=xy_mode, mixing=mixing)
    built = time.perf_counter()
    plan = sampler.plan()
    planned = time.perf_counter()
    batches = 0
    for _ in sampler:  # handing out every batch of the epoch as index lists (what the DataLoader asks for)
        batches += 1
    handed = time.perf_counter()
    peak = tracemalloc.get_traced_memory()[1] if memory else None
    if memory:
        tracemalloc.stop()
    ok = not conflict_mask(plan.rows[:2000], meta).any()
    return {
        "pairs": meta.num_rows, "batch_size": batch_size, "xy_mode": xy_mode, "mixing": mixing,
        "hard_negatives": meta.texts.shape[1] > 1, "steps": sampler.num_steps,
        "init_s": round(built - started, 3), "plan_s": round(planned - built, 3),
        "iterate_s": round(handed - planned, 3), "iterate_us_per_batch": round((handed - planned) / batches * 1e6, 2),
        "repair_rounds": plan.repair_rounds, "redrawn": plan.redrawn,
        "peak_bytes": peak, "peak_bytes_per_pair": None if peak is None else round(peak / meta.num_rows, 1),
        "first_2000_batches_valid": bool(ok),
    }


def part_one(sizes: list[int], languages: int) -> list[dict]:
    results = []
    for pairs in sizes:
        items = pairs // languages**2
        for hard in (False, True):
            meta = synthetic(items, languages, hard)
            modes = [("pair_per_batch", "batch")] if hard else [
                ("pair_per_batch", "batch"), ("pair_per_example", "batch"), ("pair_per_batch", "example")]
            for xy_mode, mixing in modes:
                timing = plan_once(meta, batch_size=100, xy_mode=xy_mode, mixing=mixing, memory=False)
                memory = plan_once(meta, batch_size=100, xy_mode=xy_mode, mixing=mixing, memory=True)
                timing.update({k: memory[k] for k in ("peak_bytes", "peak_bytes_per_pair")})
                results.append(timing)
                print(f"  {timing['pairs']:>10,} pairs  {xy_mode:16} {mixing:7} hard_neg={hard!s:5}  "
                      f"init {timing['init_s']:6.2f} s  plan {timing['plan_s']:6.2f} s  "
                      f"batches {timing['iterate_s']:5.2f} s  peak {timing['peak_bytes'] / 2**20:7.0f} MiB "
                      f"({timing['peak_bytes_per_pair']:.0f} B/pair)  rounds {timing['repair_rounds']}", flush=True)
            del meta
    return results


def part_two(data: Path, steps: int, batch_size: int, freeze: bool) -> dict:
    """Sampler cost per step vs a real step of the default model on XQuAD-R."""
    from hybrid_plugin.data import load_parallel_qa
    from hybrid_plugin.sampling import HybridBatchSampler
    from hybrid_plugin.training import TrainingSettings, build_training_dataset, train

    qa = load_parallel_qa("xquad-r", data=data / "xquad-r")
    started = time.perf_counter()
    rows = build_training_dataset(qa)
    dataset_s = time.perf_counter() - started
    started = time.perf_counter()
    sampler = HybridBatchSampler(rows, batch_size, num_replicas=1, alpha=0.5)
    init_s = time.perf_counter() - started
    started = time.perf_counter()
    sampler.plan()
    plan_s = time.perf_counter() - started
    started = time.perf_counter()
    for _ in sampler:
        pass
    iterate_s = time.perf_counter() - started
    per_step_s = (init_s + plan_s + iterate_s) / sampler.num_steps  # construction counted once per epoch too

    out = Path(tempfile.mkdtemp(prefix="bench-sampler-"))
    try:
        result = train(TrainingSettings(train="xquad-r", out=out / "run", max_steps=steps, batch_size=batch_size,
                                        freeze_embeddings=freeze, logging_steps=1, device="cpu"), qa=qa)
    finally:
        shutil.rmtree(out, ignore_errors=True)
    report = result.report
    step_s = report["timings"]["train_runtime_s"] / report["global_step"]
    in_run = report["timings"]["sampler_plan_s"]
    return {
        "dataset": "xquad-r", "pairs": len(rows), "batch_size": batch_size, "steps_per_epoch": sampler.num_steps,
        "build_training_dataset_s": round(dataset_s, 3),
        "sampler_init_s": round(init_s, 4), "plan_epoch_s": round(plan_s, 4), "hand_out_epoch_s": round(iterate_s, 4),
        "sampler_s_per_step": per_step_s,
        "training": {"model": "default (multilingual-e5-small)", "freeze_embeddings": freeze, "steps": steps,
                     "max_seq_length": report["settings"]["max_seq_length"], "seconds_per_step": round(step_s, 3),
                     "sampler_plan_s_inside_the_run": in_run},
        "sampler_share_of_step": per_step_s / step_s,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=Path("../shared/data"), help="folder with xquad-r/")
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent, help="where results go")
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000_000, 3_000_000, 10_000_000])
    parser.add_argument("--languages", type=int, default=10)
    parser.add_argument("--steps", type=int, default=6, help="training steps timed in part 2")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--skip-training", action="store_true")
    parser.add_argument("--skip-planning", action="store_true")
    parser.add_argument("--threads", type=int, help="torch threads (default: torch's choice)")
    args = parser.parse_args()

    import torch

    if args.threads:
        torch.set_num_threads(args.threads)

    environment = {
        "python": platform.python_version(), "numpy": np.__version__, "torch": torch.__version__,
        "cpus": os.cpu_count(), "torch_threads": torch.get_num_threads(), "load_average": os.getloadavg(),
        "machine": platform.machine(), "date": time.strftime("%Y-%m-%d %H:%M"),
    }
    print(f"environment: {environment}")
    if not args.skip_planning:
        print(f"part 1: planning an epoch (batch 100, alpha 0.5, {args.languages} languages, synthetic)")
    planning = None if args.skip_planning else part_one(args.sizes, args.languages)
    training = None
    if not args.skip_training:
        print(f"part 2: the sampler's share of a real training step (XQuAD-R, batch {args.batch_size})")
        for freeze in (False, True):
            training = training or []
            row = part_two(args.data, args.steps, args.batch_size, freeze)
            training.append(row)
            print(f"  freeze_embeddings={freeze!s:5}  step {row['training']['seconds_per_step']:.2f} s, sampler "
                  f"{row['sampler_s_per_step'] * 1e6:.1f} us/step ({row['sampler_share_of_step']:.5%} of a step); "
                  f"plan {row['plan_epoch_s']:.3f} s per epoch of {row['steps_per_epoch']} steps", flush=True)
    environment["load_average_end"] = os.getloadavg()
    args.out.mkdir(parents=True, exist_ok=True)
    payload = {"environment": environment, "planning": planning, "training_share": training}
    name = "results.json" if not (args.skip_planning or args.skip_training) else "results-partial.json"
    (args.out / name).write_text(json.dumps(payload, indent=2) + "\n")


if __name__ == "__main__":
    main()
