"""hybrid_plugin.evaluation.scoring: which runs are written (``runs``), that the numbers do not depend on it,
that the files written are the same bytes whichever choice wrote them, Pyserini's run lines, and bad input."""

from __future__ import annotations

import numpy as np
import pytest

from hybrid_plugin.errors import DataError, UsageError
from hybrid_plugin.evaluation.encoding import EncodedQA
from hybrid_plugin.evaluation.pipeline import verify_run_files
from hybrid_plugin.evaluation.scoring import evaluate_embeddings, writes_run
from hybrid_plugin.pyserini.trec_runs import quantize_scores, write_trec_run


def test_run_writer_writes_pyserinis_trec_lines(tmp_path):
    docids = ["d0", "doc-1", "x-12-3"]
    docs = np.array([[2, 0, 1], [1, 2, 0]])
    raw = np.array([[1.25, 0.0000004, -0.0000004], [12.5, -3.1415926, 0.999999]], dtype=np.float32)
    scores = quantize_scores(raw)
    path = write_trec_run(tmp_path / "run.txt", ["q1", "q22"], docs, scores, docids, tag="tiny",
                          lengths=np.array([3, 2]))
    lines = path.read_text().splitlines()
    expected = [f"{q} Q0 {docids[d]} {r} {float(s) / 1e6:.6f} tiny"
                for q, row, srow, n in (("q1", docs[0], scores[0], 3), ("q22", docs[1], scores[1], 2))
                for r, (d, s) in enumerate(zip(row[:n], srow[:n]), start=1)]
    assert lines == expected
    assert lines[0] == "q1 Q0 x-12-3 1 1.250000 tiny"
    assert lines[4] == "q22 Q0 x-12-3 2 -3.141593 tiny"
    with pytest.raises(UsageError, match="tag"):
        write_trec_run(tmp_path / "bad.txt", ["q"], docs[:1], scores[:1], docids, tag="two words")


def test_writes_run_chooses_mono_and_multi_by_default():
    assert writes_run("default", "en", "en") and writes_run("default", "en", "multi")
    assert not writes_run("default", "en", "de")
    assert writes_run("all", "en", "de") and not writes_run("none", "en", "en")


@pytest.mark.parametrize("depth", [1000, 7])
def test_the_numbers_do_not_depend_on_which_runs_are_written(xquad_slice, mlqa_slice, grid, tmp_path, depth):
    """``runs="default" | "all" | "none"``: the same cells (every TREC-side measure of every setting, from
    ir_measures), and the files written under "default" are byte for byte those of "all"."""
    outcomes = {}
    for qa in (xquad_slice, mlqa_slice):
        encoded = grid(qa, seed=6)
        for runs in ("default", "all", "none"):
            folder = tmp_path / qa.name / runs
            outcomes[qa.name, runs] = evaluate_embeddings(qa, encoded, runs_dir=folder, runs=runs, depth=depth)
        in_memory = evaluate_embeddings(qa, encoded, depth=depth)  # no runs_dir at all
        for runs in ("all", "none"):
            assert outcomes[qa.name, runs].pairs == outcomes[qa.name, "default"].pairs
            assert outcomes[qa.name, runs].multi == outcomes[qa.name, "default"].multi
            assert outcomes[qa.name, runs].per_query == outcomes[qa.name, "default"].per_query
        assert in_memory.pairs == outcomes[qa.name, "all"].pairs and in_memory.multi == outcomes[qa.name, "all"].multi
        for cell in (*in_memory.pairs.values(), *in_memory.multi.values()):
            assert set(cell.values) == {"map", "R@1", "R@10", "nDCG@10", "AP@1000"}

        default, every = tmp_path / qa.name / "default", tmp_path / qa.name / "all"
        expected = {f"{x}-{x}.txt" for x in qa.languages} | {f"{x}-multi.txt" for x in qa.languages}
        assert {p.name for p in default.iterdir()} == expected
        assert sorted(f"{x}-{p}.txt" for x, p in outcomes[qa.name, "default"].written) == sorted(expected)
        searched_pairs = {f"{k}.txt" for k in outcomes[qa.name, "all"].pairs}
        assert {p.name for p in every.iterdir()} == searched_pairs | {f"{x}-multi.txt" for x in qa.languages}
        for name in expected:
            assert (default / name).read_bytes() == (every / name).read_bytes(), name
        assert not (tmp_path / qa.name / "none").exists() and outcomes[qa.name, "none"].written == ()
        verify_run_files(qa, outcomes[qa.name, "default"], default)
        verify_run_files(qa, outcomes[qa.name, "all"], every)


def test_depth_0_ranks_only(xquad_slice, grid):
    outcome = evaluate_embeddings(xquad_slice, grid(xquad_slice, seed=6), depth=0)
    assert all(set(c.values) == {"map"} for c in (*outcome.pairs.values(), *outcome.multi.values()))


def test_bad_input_is_refused(xquad_slice, grid, tmp_path):
    encoded = grid(xquad_slice, seed=5)
    short = EncodedQA({**encoded.queries, "de": encoded.queries["de"][:-1]}, encoded.passages)
    with pytest.raises(DataError, match="de embeddings"):
        evaluate_embeddings(xquad_slice, short)
    nan = EncodedQA(encoded.queries, {**encoded.passages, "en": encoded.passages["en"] * np.nan})
    with pytest.raises(DataError, match="non-finite"):
        evaluate_embeddings(xquad_slice, nan)
    with pytest.raises(UsageError, match="depth"):
        evaluate_embeddings(xquad_slice, encoded, runs_dir=tmp_path, depth=0)
    with pytest.raises(UsageError, match="runs must be one of"):
        evaluate_embeddings(xquad_slice, encoded, runs="some")  # type: ignore[arg-type]
    assert not any(tmp_path.iterdir())
