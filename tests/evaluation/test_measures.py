"""hybrid_plugin.evaluation.measures: the TREC-side measures (ir_measures over prefix runs) against the run files
read back by stock ir_measures, and against the full ranking when the runs hold every candidate."""

from __future__ import annotations

import ir_measures
import numpy as np
import pytest
from ir_measures import AP, R, nDCG

from hybrid_plugin.errors import VerificationError
from hybrid_plugin.evaluation.measures import prefix_lengths
from hybrid_plugin.evaluation.pipeline import verify_run_files
from hybrid_plugin.evaluation.scoring import evaluate_embeddings


@pytest.mark.parametrize("which", ["xquad", "mlqa"])
def test_ir_measures_on_the_run_files_equal_the_full_ranking(which, xquad_slice, mlqa_slice, grid, tmp_path):
    """Depth >= pool size: AP@1000 from stock ir_measures reading the files equals the full-ranking mAP."""
    qa = xquad_slice if which == "xquad" else mlqa_slice
    assert max(len(p) for p in qa.candidates.values()) <= 1000
    encoded = grid(qa, seed=3)
    outcome = evaluate_embeddings(qa, encoded, runs_dir=tmp_path, depth=1000, tag="t")
    verify_run_files(qa, outcome, tmp_path)  # every file, all four measures, stock read_trec_run
    for key, cell in outcome.pairs.items():
        assert cell.values["AP@1000"] == pytest.approx(cell.values["map"], abs=1e-9), key
    multi_pool = sum(len(p) for p in qa.candidates.values())
    for x, cell in outcome.multi.items():
        if multi_pool <= 1000:
            assert cell.values["AP@1000"] == pytest.approx(cell.values["map"], abs=1e-9), x
        else:  # relevant candidates below rank 1000 add to the full ranking only
            assert cell.values["AP@1000"] <= cell.values["map"] + 1e-12
    # one pair by hand: stock readers, str paths, qrels restricted to the queries searched
    x, y = qa.languages[0], qa.languages[1]
    qrels_path = tmp_path / "qrels.txt"
    qrels_path.write_text("".join(f"{q} 0 {d} 1\n" for q, d in qa.relevant[y].items()))
    run = list(ir_measures.read_trec_run(str(tmp_path / f"{x}-{y}.txt")))
    searched = {r.query_id for r in run}
    qrels = [q for q in ir_measures.read_trec_qrels(str(qrels_path)) if q.query_id in searched]
    stock = ir_measures.calc_aggregate([AP @ 1000, R @ 1, nDCG @ 10], qrels, run)
    assert stock[AP @ 1000] == pytest.approx(outcome.pairs[f"{x}-{y}"].values["map"], abs=1e-9)
    assert stock[R @ 1] == pytest.approx(outcome.pairs[f"{x}-{y}"].values["R@1"], abs=1e-9)
    assert stock[nDCG @ 10] == pytest.approx(outcome.pairs[f"{x}-{y}"].values["nDCG@10"], abs=1e-9)
    lines = (tmp_path / f"{x}-{y}.txt").read_text().splitlines()
    assert len(lines) == len(searched) * len(qa.candidates[y])


def test_shallow_runs_score_the_same_when_read_back(xquad_slice, grid, tmp_path):
    """Depth < pool size: the in-process TREC measures (prefix runs) equal those of the files read back, and
    AP@k <= full-ranking AP."""
    outcome = evaluate_embeddings(xquad_slice, grid(xquad_slice, seed=4), runs_dir=tmp_path, depth=7)
    verify_run_files(xquad_slice, outcome, tmp_path)
    for cell in (*outcome.pairs.values(), *outcome.multi.values()):
        assert cell.values["AP@1000"] <= cell.values["map"] + 1e-12
    first = (tmp_path / "en-de.txt").read_text().splitlines()
    assert len(first) == 7 * outcome.pairs["en-de"].queries


def test_a_run_file_that_scores_differently_fails_verification(xquad_slice, grid, tmp_path):
    outcome = evaluate_embeddings(xquad_slice, grid(xquad_slice, seed=4), runs_dir=tmp_path, runs="default")
    path = tmp_path / "de-de.txt"
    lines = path.read_text().splitlines(keepends=True)
    path.write_text("".join(lines[1:]))  # the first query's best hit is gone
    with pytest.raises(VerificationError, match="de-de.txt"):
        verify_run_files(xquad_slice, outcome, tmp_path)


def test_prefix_lengths_reach_the_last_relevant_hit_and_rank_10():
    top = np.arange(40).reshape(2, 20)
    relevant = np.array([[3, 25], [-1, -1]])
    assert prefix_lengths(top, relevant, np.array([20, 20])).tolist() == [10, 10]
    relevant = np.array([[14, 2], [39, -1]])
    assert prefix_lengths(top, relevant, np.array([20, 12])).tolist() == [15, 12]
