"""Evaluate a model on every mono / cross / multilingual setting and print the summary.

    python examples/evaluate.py --data ../shared/data/xquad-r --limit 50 [--model outputs/example-hybrid]
"""

from __future__ import annotations

import argparse

from hybrid_plugin import load_parallel_qa
from hybrid_plugin.evaluation.pipeline import evaluate

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--model", default=None, help="model folder (default: the embedded multilingual-e5-small)")
parser.add_argument("--data", default=None, help="local copy of XQuAD-R (default: download)")
parser.add_argument("--limit", type=int, default=50)
parser.add_argument("--out", default="outputs/example-eval")
args = parser.parse_args()

qa = load_parallel_qa("xquad-r", data=args.data).limit(args.limit)
results = evaluate(qa, args.model, out=args.out, limit=args.limit, overwrite=True)
print("mAP", results["map"], "bias", round(results["bias"], 1))
print("en-de", results["pairs"]["en-de"])
