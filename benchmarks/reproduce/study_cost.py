"""What a published study cost: training and evaluation seconds summed from its own records.

Every trained model's ``training.json`` carries its training time and every ``results.json`` its evaluation time
(encoding, Faiss, runs, ir_measures), so the study's compute time is read back from what was published, not
timed again. Exporting the encoders and fitting the LSAR maps are not in those records; the study log's
"min so far" lines cover them (the README quotes both).

    python benchmarks/reproduce/study_cost.py benchmarks/reproduce/recipe \
        --record benchmarks/reproduce/recipe/cost.json
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def _seconds(folder: Path, pattern: str, *keys: str) -> dict[str, float]:
    """``record[keys[0]][keys[1]]...`` of every JSON file matching ``pattern``, keyed by its folder."""
    out = {}
    for path in sorted(folder.glob(pattern)):
        value = json.loads(path.read_text(encoding="utf-8"))
        for key in keys:
            value = value[key]
        out[str(path.parent.relative_to(folder))] = float(value)
    return out


def study_cost(folder: Path) -> dict:
    """Seconds of training and of evaluation per condition of the study published in ``folder``, with sums."""
    training = _seconds(folder, "models/*/*/*/training.json", "timings", "total_s")
    evaluation = _seconds(folder, "eval/**/results.json", "timings", "total")
    steps = [
        json.loads((folder / name / "training.json").read_text(encoding="utf-8"))["timings"]["seconds_per_step"]
        for name in training
    ]
    total = sum(training.values()) + sum(evaluation.values())
    return {
        "study": str(folder),
        "models": len(training),
        "evaluations": len(evaluation),
        "training_hours": round(sum(training.values()) / 3600, 2),
        "evaluation_hours": round(sum(evaluation.values()) / 3600, 2),
        "total_hours": round(total / 3600, 2),
        "seconds_per_step": {"min": min(steps, default=None), "max": max(steps, default=None)},
        "training_s": training,
        "evaluation_s": evaluation,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path, help="a study's --publish folder")
    parser.add_argument("--record", type=Path, help="write the JSON there")
    args = parser.parse_args()
    cost = study_cost(args.folder)
    text = json.dumps(cost, indent=1) + "\n"
    if args.record:
        args.record.write_text(text, encoding="utf-8")
    summary = {k: v for k, v in cost.items() if not k.endswith("_s")}
    print(json.dumps(summary, indent=1))


if __name__ == "__main__":
    main()
