"""Benchmark of the query perturbations (issue #14): the cost of perturbing a whole XQuAD-R setting per kind, and
of the black-box attack per query.

1. Every perturbation kind at one level on the collection (``--limit`` items in all its languages; without
   ``--limit`` the full 13,090 questions): seconds for ``perturb_collection`` (which also measures the character
   error rate of every question), questions per second, and the mean character error rate reached per language.
2. The attack (``--attack-queries`` queries of ``--attack-language`` against its own pool) with a real model: the
   pool encoded once, then seconds and model queries per attacked query, success rate and mean rank drop.

Usage (from the project root; threads limited so that it can run beside other work)::

    OMP_NUM_THREADS=1 python benchmarks/perturb/bench_perturb.py --limit 200 --attack-queries 3 \
        --out benchmarks/perturb/perturb-200.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from datetime import datetime, timezone
from pathlib import Path

from hybrid_plugin.data.loading import load_parallel_qa
from hybrid_plugin.perturb.attack import AttackSettings, attack_queries
from hybrid_plugin.perturb.collection import perturb_collection
from hybrid_plugin.perturb.kinds import KINDS, Perturbation

ROOT = Path(__file__).resolve().parents[2]
LEVELS = {"typos": 0.1, "keyboard": 0.1, "lowercase": 1.0, "punctuation": 1.0, "diacritics": 1.0, "romanize": 1.0,
          "codeswitch": 0.3}


def bench_kinds(qa) -> dict:
    rows = {}
    for kind in KINDS:
        perturbation = Perturbation(kind, LEVELS[kind], seed=0)  # type: ignore[arg-type]
        started = time.perf_counter()
        _, report = perturb_collection(qa, perturbation)
        seconds = time.perf_counter() - started
        rows[perturbation.label] = {"seconds": round(seconds, 3),
                                    "questions_per_second": round(qa.num_questions() / seconds, 1),
                                    "changed": sum(report.changed.values()),
                                    "cer": {k: round(v, 4) for k, v in report.cer.items()}}
        print(f"{perturbation.label:<16} {seconds:7.2f} s  {qa.num_questions() / seconds:8.0f} questions/s")
    return rows


def bench_attack(qa, model: str | None, language: str, queries: int, settings: AttackSettings) -> dict:
    import torch
    from sentence_transformers import SentenceTransformer

    from hybrid_plugin.models.loading import resolve_model

    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
    loaded = SentenceTransformer(resolve_model(model), device="cpu")
    qids = [q for q in qa.questions[language] if q in qa.relevant[language]][:queries]
    started = time.perf_counter()
    report = attack_queries(qa, loaded, settings, query_language=language, qids=qids)
    seconds = time.perf_counter() - started
    print(f"attack {language}: {len(qids)} queries in {seconds:.1f} s (pool of {len(qa.candidates[language])} "
          f"encoded once), success rate {report.success_rate}, mean rank drop {report.mean_rank_drop}")
    return {"model": model or "default", "language": language, "pool": len(qa.candidates[language]),
            "seconds_total_with_pool": round(seconds, 2), "seconds_per_query_incl_pool": round(seconds / len(qids), 2),
            **{k: v for k, v in report.to_dict().items() if k != "outcomes"},
            "outcomes": [{k: v for k, v in o.to_dict().items() if k in ("qid", "rank_before", "rank_after",
                                                                          "model_queries", "edits")}
                         for o in report.outcomes]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "xquad-r")
    parser.add_argument("--limit", type=int, default=None, help="items (default: all 1,190)")
    parser.add_argument("--model", default=None, help="the attacked model (default: the default model)")
    parser.add_argument("--attack-language", default="en")
    parser.add_argument("--attack-queries", type=int, default=3)
    parser.add_argument("--budget", type=int, default=2)
    parser.add_argument("--candidates", type=int, default=16)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    qa = load_parallel_qa("xquad-r", data=args.data).limit(args.limit)
    record = {"created": datetime.now(timezone.utc).isoformat(timespec="seconds"), "machine": platform.machine(),
              "cpus": os.cpu_count(), "omp_num_threads": os.environ.get("OMP_NUM_THREADS"),
              "items": len(qa.qids), "questions": qa.num_questions(), "kinds": bench_kinds(qa)}
    if args.attack_queries > 0:
        settings = AttackSettings(budget=args.budget, candidates=args.candidates)
        record["attack"] = bench_attack(qa, args.model, args.attack_language, args.attack_queries, settings)
    if args.out is not None:
        args.out.write_text(json.dumps(record, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
