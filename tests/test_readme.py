"""The README's stock Pyserini / ir_measures commands for one cell run as written and give the recorded numbers."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def readme_block() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    match = re.search(r"<!-- stock-cell:begin -->\s*```bash\n(.*?)```\s*<!-- stock-cell:end -->", text, re.S)
    assert match, "README.md lost its stock-cell block"
    return match.group(1)


def test_block_names_the_recorded_cell():
    block = readme_block()
    assert "python -m pyserini.search.faiss" in block and "ir_measures qrels/xquad-r.de.txt" in block


@pytest.mark.slow
@pytest.mark.java
def test_readme_stock_commands_reproduce_the_cell(tmp_path, shared_data, default_model_path):
    # the block runs from the project root, with ../shared/data beside it and .venv/bin/activate inside it
    work = tmp_path / "project"
    (work / ".venv" / "bin").mkdir(parents=True)
    (work / ".venv" / "bin" / "activate").write_text(f'export PATH="{Path(sys.executable).parent}:$PATH"\n')
    (tmp_path / "shared").symlink_to(shared_data.parent)
    env = {k: v for k, v in os.environ.items() if k not in ("JAVA_HOME", "VIRTUAL_ENV")}
    done = subprocess.run(["bash", "-euo", "pipefail", "-c", readme_block()], cwd=work, env=env,
                          capture_output=True, text=True, timeout=1200)
    assert done.returncode == 0, done.stderr[-3000:]
    got = dict(line.split("\t") for line in done.stdout.strip().splitlines()[-4:])
    recorded = json.loads((ROOT / "benchmarks/results/base-e5-small/xquad-r/results.json").read_text())["pairs"]["en-de"]
    for measure in ("AP@1000", "nDCG@10", "R@1", "R@10"):
        assert float(got[measure]) == pytest.approx(recorded[measure], abs=1e-4), measure
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for measure in ("AP@1000", "nDCG@10", "R@1", "R@10"):
        assert f"{measure}\t{recorded[measure]:.4f}" in readme, f"README's printed {measure} is stale"
