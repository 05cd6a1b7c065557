"""The cost of a training step of the presets' recipe (loss scale 100 + a same-paragraph hard negative per pair)
against the earlier recipe (scale 20, no hard negative), on this machine: seconds per step, per pair, peak memory.

Each measurement is one real ``hybrid-plugin train`` process (the ``full`` preset's settings: hybrid α = 0.5, batch
32, sequence 64, token embeddings frozen, lr 3e-5) on MLQA-R, with the recipes interleaved round by round so that a
change of load hits both alike. Seconds per step come from the run's ``training.json`` (training time after set-up,
over the steps); the peak resident memory of the process from ``os.wait4``. The scale does not change the work; the
hard negative adds one passage per pair (96 texts a step instead of 64)::

    python benchmarks/training/bench_step_cost.py --data ../shared/data/mlqa-r --steps 20 --rounds 2 \\
        --record benchmarks/training/step-cost.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RECIPES = {
    "previous (scale 20)": ["--scale", "20"],
    "chosen (scale 100 + hard negatives)": ["--scale", "100", "--hard-negatives"],
}
BATCH = 32


def _one_run(data: str | None, steps: int, extra: list[str], work: Path) -> dict[str, float]:
    out = work / f"run-{time.time_ns()}"
    command = [str(Path(sys.executable).with_name("hybrid-plugin")), "train", "--train", "mlqa-r", "--out", str(out),
               "--sampling", "hybrid", "--alpha", "0.5", "--max-steps", str(steps), "--batch-size", str(BATCH),
               "--max-seq-length", "64", "--freeze-embeddings", "--lr", "3e-5", "--save-steps", str(10 * steps),
               *(["--data", data] if data else []), *extra]
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    if status != 0:
        raise SystemExit(f"{' '.join(command)} failed: {process.stderr.read()[-2000:] if process.stderr else ''}")
    report = json.loads((out / "training.json").read_text(encoding="utf-8"))
    per_step = report["timings"]["seconds_per_step"]
    return {"seconds_per_step": per_step, "seconds_per_pair": round(per_step / BATCH, 4),
            "peak_rss_mib": round(usage.ru_maxrss / 1024, 1), "wall_s": round(wall, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default=None, help="local MLQA-R folder (e.g. ../shared/data/mlqa-r)")
    parser.add_argument("--steps", type=int, default=20, help="steps per run (default: 20)")
    parser.add_argument("--rounds", type=int, default=2, help="runs of each recipe, interleaved (default: 2)")
    parser.add_argument("--record", type=Path, default=None, help="write the measurements here (JSON)")
    args = parser.parse_args()
    runs: dict[str, list[dict[str, float]]] = {name: [] for name in RECIPES}
    with tempfile.TemporaryDirectory(prefix="step-cost-") as work:
        for round_number in range(args.rounds):
            for name, extra in RECIPES.items():
                runs[name].append(_one_run(args.data, args.steps, extra, Path(work)))
                print(f"round {round_number + 1}: {name}: {runs[name][-1]}", flush=True)
    summary = {name: {key: round(statistics.median(r[key] for r in found), 4) for key in found[0]}
               for name, found in runs.items()}
    record = {
        "command": "python benchmarks/training/bench_step_cost.py " + " ".join(sys.argv[1:]),
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "load_1min_at_end": os.getloadavg()[0]},
        "settings": {"steps": args.steps, "rounds": args.rounds, "batch_pairs": BATCH, "max_seq_length": 64,
                     "freeze_embeddings": True, "sampling": "hybrid, alpha 0.5"},
        "median": summary, "runs": runs,
    }
    for name, values in summary.items():
        print(f"{name}: {values['seconds_per_step']:.2f} s/step, {values['seconds_per_pair']:.3f} s/pair, "
              f"peak RSS {values['peak_rss_mib']:.0f} MiB")
    if args.record:
        args.record.write_text(json.dumps(record, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
