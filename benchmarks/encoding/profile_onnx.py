"""Where the time of an ONNX Runtime encoder goes: per operator type, fp32 and int8, and the share outside the
runtime (tokenization, pooling). Writes profile.json beside this file.

    python benchmarks/encoding/profile_onnx.py --data ../shared/data/xquad-r --texts 256
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
import onnxruntime

from hybrid_plugin.data.loading import load_parallel_qa
from hybrid_plugin.models.backends import exported_model
from hybrid_plugin.models.loading import load_model, resolve_model


def profile(path: Path, batches: list[dict[str, np.ndarray]]) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        options = onnxruntime.SessionOptions()
        options.enable_profiling = True
        options.profile_file_prefix = str(Path(tmp) / "ort")
        session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        started = time.perf_counter()
        for feed in batches:
            session.run(None, feed)
        seconds = time.perf_counter() - started
        events = json.loads(Path(session.end_profiling()).read_text())
    by_op: dict[str, float] = defaultdict(float)
    for event in events:
        if event.get("cat") == "Node" and event["name"].endswith("_kernel_time"):
            by_op[event["args"]["op_name"]] += event["dur"] / 1e6
    total = sum(by_op.values())
    top = sorted(by_op.items(), key=lambda kv: -kv[1])[:8]
    return {"run_s": round(seconds, 2), "kernel_s": round(total, 2),
            "share_by_op": {op: round(s / total, 3) for op, s in top}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True)
    parser.add_argument("--texts", type=int, default=256)
    args = parser.parse_args()
    qa = load_parallel_qa("xquad-r", data=args.data)
    texts = sorted({c.text for lang in qa.languages for c in qa.candidates[lang]})
    texts = ["passage: " + t for t in random.Random(0).sample(texts, args.texts)]
    source = resolve_model(None)
    model = load_model(source)
    tokenizer = model[0].tokenizer
    started = time.perf_counter()
    batches = [dict(tokenizer(texts[i:i + 32], padding=True, truncation=True, max_length=512, return_tensors="np"))
               for i in range(0, len(texts), 32)]
    tokenize_s = time.perf_counter() - started
    batches = [{k: v.astype(np.int64) for k, v in b.items() if k in ("input_ids", "attention_mask")} for b in batches]
    record = {"command": f"python benchmarks/encoding/profile_onnx.py --data {args.data} --texts {args.texts}",
              "tokenize_s": round(tokenize_s, 2),
              "tokens_per_text": float(np.mean([b["attention_mask"].sum(1).mean() for b in batches])),
              "onnx-fp32": profile(exported_model(model, source, "onnx", "fp32"), batches),
              "onnx-int8": profile(exported_model(model, source, "onnx", "int8"), batches)}
    text = json.dumps(record, indent=1)
    print(text)
    (Path(__file__).parent / "profile.json").write_text(text + "\n")


if __name__ == "__main__":
    main()
