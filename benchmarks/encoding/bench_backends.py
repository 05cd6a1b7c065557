"""Encoding backends side by side: speed, peak memory, agreement with PyTorch, and full XQuAD-R mAP / bias.

Each backend runs in its own process (so its peak memory is its own) on the same fixed subset of the distinct
XQuAD-R texts (queries with "query: ", candidates with "passage: ", a seeded sample in the evaluation's mix),
after its export is built (the export time is recorded apart). Then ``evaluate`` on the full XQuAD-R for the
backends named in --evaluate. See README.md for the command and the recorded output.

    python benchmarks/encoding/bench_backends.py --data ../shared/data/xquad-r --texts 3000 \
        --evaluate onnx-fp32,onnx-int8 --out benchmarks/encoding
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from hybrid_plugin.data.loading import load_parallel_qa
from hybrid_plugin.evaluation.encoding import encode_texts
from hybrid_plugin.evaluation.pipeline import evaluate
from hybrid_plugin.models.backends import exported_model
from hybrid_plugin.models.loading import load_model, model_prompts, resolve_model

CONFIGS = ("torch-fp32", "onnx-fp32", "onnx-int8", "openvino-fp32")


def subset(data: str, count: int, seed: int = 0) -> list[tuple[str, str]]:
    """(role, text) pairs: every distinct XQuAD-R text, then a seeded sample of ``count`` of them."""
    qa = load_parallel_qa("xquad-r", data=data)
    pairs = {("query", t) for lang in qa.languages for t in qa.questions[lang].values()}
    pairs |= {("passage", c.text) for lang in qa.languages for c in qa.candidates[lang]}
    ordered = sorted(pairs)
    print(f"{len(ordered)} distinct texts in XQuAD-R", file=sys.stderr)
    return random.Random(seed).sample(ordered, min(count, len(ordered)))


def one(config: str, data: str, count: int, vectors_out: str) -> dict:
    """Run one backend in this process: export (if needed), load, encode the subset; peak RSS at the end."""
    backend, precision = config.split("-")
    path = resolve_model(None)
    if vectors_out == "export":  # a process of its own, so that the export's memory is not counted
        started = time.perf_counter()
        if backend != "torch":
            exported_model(load_model(path), path, backend, precision)
        return {"export_s": round(time.perf_counter() - started, 1)}
    started = time.perf_counter()
    model = load_model(path, backend=backend, precision=precision)
    load_s = time.perf_counter() - started
    prompts = model_prompts(model)
    pairs = subset(data, count)
    out, seconds = [], 0.0
    for role in ("query", "passage"):
        texts = [t for r, t in pairs if r == role]
        started = time.perf_counter()
        out.append(encode_texts(model, texts, prompt=prompts[role], batch_size=32, show_progress=False))
        seconds += time.perf_counter() - started
    np.save(vectors_out, np.concatenate(out))
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"config": config, "texts": len(pairs), "encode_s": round(seconds, 2),
            "texts_per_s": round(len(pairs) / seconds, 2), "load_s": round(load_s, 1), "peak_rss_mib": round(peak_mib)}


def _run_one(config: str, data: str, count: int, target: str) -> dict:
    done = subprocess.run([sys.executable, __file__, "--one", config, "--data", data, "--texts", str(count),
                           "--vectors", target], check=True, capture_output=True, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def speed(configs: list[str], data: str, count: int, rounds: int = 1) -> list[dict]:
    """Each config in its own process, ``rounds`` times, interleaved (torch, onnx, ..., torch, onnx, ...), so that a
    change of the machine's load hits every backend alike; speed-ups are per round (against that round's torch run)
    and their median is reported."""
    rows, vectors = {c: {"config": c, "rounds": []} for c in configs}, {}
    with tempfile.TemporaryDirectory() as tmp:
        for config in configs:
            rows[config].update(_run_one(config, data, count, "export"))
        for round_no in range(rounds):
            for config in configs:
                out = os.path.join(tmp, f"{config}.npy")
                run = _run_one(config, data, count, out)
                run["load_avg_1min"] = round(os.getloadavg()[0], 2)
                rows[config]["rounds"].append(run)
                vectors[config] = np.load(out)
                print(round_no, run, file=sys.stderr)
    ref_name = configs[0]
    ref = vectors[ref_name]
    for config, row in rows.items():
        runs = row["rounds"]
        ratios = [r["texts_per_s"] / b["texts_per_s"] for r, b in zip(runs, rows[ref_name]["rounds"])]
        cos = np.sum(vectors[config] * ref, axis=1)
        row.update(texts=runs[0]["texts"], texts_per_s=round(float(np.median([r["texts_per_s"] for r in runs])), 2),
                   peak_rss_mib=max(r["peak_rss_mib"] for r in runs),
                   speedup=round(float(np.median(ratios)), 2), speedups=[round(x, 2) for x in ratios],
                   cosine_min=float(cos.min()), cosine_mean=float(cos.mean()),
                   max_abs_diff=float(np.abs(vectors[config] - ref).max()))
    return list(rows.values())


def full_evaluation(configs: list[str], data: str, limit: int | None) -> list[dict]:
    qa = load_parallel_qa("xquad-r", data=data).limit(limit)
    rows = []
    for config in configs:
        backend, precision = config.split("-")
        results = evaluate(qa, None, backend=backend, precision=precision, show_progress=False, per_query=False,
                           cache=False, limit=limit)
        rows.append({"config": config, **{s: results.map[s] for s in ("mono", "cross", "multi")},
                     "bias": results.bias, "encode_s": round(results.timings.get("encode", 0.0), 1)})
        print(rows[-1], file=sys.stderr)
    base = rows[0]
    for row in rows:
        row["delta_map"] = {s: round(row[s] - base[s], 4) for s in ("mono", "cross", "multi")}
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True)
    parser.add_argument("--texts", type=int, default=3000)
    parser.add_argument("--configs", default=",".join(CONFIGS))
    parser.add_argument("--rounds", type=int, default=1, help="interleaved repetitions of the speed part")
    parser.add_argument("--evaluate", default="", help="configs for the full evaluation (torch-fp32 is added first)")
    parser.add_argument("--eval-limit", type=int, default=None, help="evaluate on the first N items only")
    parser.add_argument("--out", type=Path)
    parser.add_argument("--one")
    parser.add_argument("--vectors")
    args = parser.parse_args()
    if args.one:
        print(json.dumps(one(args.one, args.data, args.texts, args.vectors)))
        return
    record = {"command": " ".join(["python", *sys.argv]), "load_before": os.getloadavg(), "cpus": os.cpu_count()}
    if args.configs:  # --configs "" skips the speed part
        record["speed"] = speed(args.configs.split(","), args.data, args.texts, args.rounds)
    evaluated = [c for c in args.evaluate.split(",") if c]
    if evaluated:
        record["full_xquad_r"] = full_evaluation(["torch-fp32", *evaluated], args.data, args.eval_limit)
        record["eval_limit"] = args.eval_limit
    record["load_after"] = os.getloadavg()
    text = json.dumps(record, indent=1)
    print(text)
    if args.out:
        name = "backends.json" if args.configs else f"evaluation-{args.eval_limit or 'full'}.json"
        (args.out / name).write_text(text + "\n")


if __name__ == "__main__":
    main()
