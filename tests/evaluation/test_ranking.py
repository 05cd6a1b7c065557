"""hybrid_plugin.evaluation.ranking: full-ranking mAP and bias against a plain numpy reference (one query at a
time, trec_eval's order), the AP / bias helpers, and the score quantisation the ranking sorts by."""

from __future__ import annotations

import numpy as np
import pytest

from hybrid_plugin.evaluation.encoding import EncodedQA
from hybrid_plugin.evaluation.ranking import full_ranking_ap, language_bias
from hybrid_plugin.evaluation.results import DatasetInfo, EvaluationResults, ModelInfo
from hybrid_plugin.evaluation.scoring import evaluate_embeddings
from hybrid_plugin.pyserini.trec_runs import quantize_scores


def reference(qa, encoded: EncodedQA) -> dict:
    """Per-setting full-ranking AP and bias, one query at a time: score with float64, round to 6 decimals, sort
    by (score desc, docid desc) -- the order trec_eval gives a run file -- and read off the relevant ranks."""
    docids = [c.docid for lang in qa.languages for c in qa.candidates[lang]]
    pool_of = np.array([lang for lang in qa.languages for _ in qa.candidates[lang]])
    pool = np.concatenate([encoded.passages[lang] for lang in qa.languages]).astype(np.float64)
    docid_order = np.argsort(np.argsort(np.array(docids, dtype=object)))  # ascending docid rank
    out: dict = {"pairs": {}, "multi": {}, "bias": {}}
    for x in qa.languages:
        scores = np.round(encoded.queries[x].astype(np.float64) @ pool.T, 6)
        per_pair = {y: [] for y in qa.languages}
        multi_ap, bias = [], []
        for i, qid in enumerate(qa.questions[x]):
            for y in qa.languages + ("multi",):
                cols = np.arange(len(docids)) if y == "multi" else np.flatnonzero(pool_of == y)
                order = cols[np.lexsort((-docid_order[cols], -scores[i, cols]))]
                ranked = [docids[c] for c in order]
                if y == "multi":
                    rel = [qa.relevant[z][qid] for z in qa.languages if qid in qa.relevant[z]]
                    ranks = sorted(ranked.index(d) + 1 for d in rel)
                    multi_ap.append(np.mean([(k + 1) / r for k, r in enumerate(ranks)]))
                    bias.append(ranks[-1] - ranks[0])
                elif qid in qa.relevant[y]:
                    per_pair[y].append(1.0 / (ranked.index(qa.relevant[y][qid]) + 1))
        for y, aps in per_pair.items():
            if aps:
                out["pairs"][f"{x}-{y}"] = (float(np.mean(aps)), len(aps))
        out["multi"][x] = float(np.mean(multi_ap))
        out["bias"][x] = float(np.mean(bias))
    return out


@pytest.mark.parametrize("which", ["xquad", "mlqa"])
def test_full_ranking_map_and_bias_match_a_plain_numpy_reference(which, xquad_slice, mlqa_slice, grid):
    qa = xquad_slice if which == "xquad" else mlqa_slice
    encoded = grid(qa, seed=1)
    outcome = evaluate_embeddings(qa, encoded)
    ref = reference(qa, encoded)
    assert set(outcome.pairs) == set(ref["pairs"])
    for key, (value, queries) in ref["pairs"].items():
        assert outcome.pairs[key].values["map"] == pytest.approx(value, abs=1e-6), key
        assert outcome.pairs[key].queries == queries
    for x in qa.languages:
        assert outcome.multi[x].values["map"] == pytest.approx(ref["multi"][x], abs=1e-6)
        assert outcome.multi[x].bias == pytest.approx(ref["bias"][x], abs=1e-6)
    summary = EvaluationResults.from_cells(model=ModelInfo("grid"), dataset=DatasetInfo(qa.name, qa.languages),
                                           pairs=outcome.pairs.values(), multi=outcome.multi.values())
    mono = [v for k, (v, _) in ref["pairs"].items() if k.split("-")[0] == k.split("-")[1]]
    cross = [v for k, (v, _) in ref["pairs"].items() if k.split("-")[0] != k.split("-")[1]]
    assert summary.map["mono"] == pytest.approx(np.mean(mono), abs=1e-6)
    assert summary.map["cross"] == pytest.approx(np.mean(cross), abs=1e-6)
    assert summary.map["multi"] == pytest.approx(np.mean(list(ref["multi"].values())), abs=1e-6)
    assert summary.bias == pytest.approx(np.mean(list(ref["bias"].values())), abs=1e-6)


def test_mlqa_pairs_search_only_the_items_that_exist_in_the_pool(mlqa_slice, grid):
    outcome = evaluate_embeddings(mlqa_slice, grid(mlqa_slice, seed=2))
    for x in mlqa_slice.languages:
        for y in mlqa_slice.languages:
            shared = set(mlqa_slice.questions[x]) & set(mlqa_slice.relevant[y])
            if shared:
                assert outcome.pairs[f"{x}-{y}"].queries == len(shared)
            else:
                assert f"{x}-{y}" not in outcome.pairs
        assert outcome.multi[x].queries == len(mlqa_slice.questions[x])


def test_ap_and_bias_helpers():
    ranks = np.array([[1, 3, 0], [2, 0, 0], [0, 0, 0]])
    ap = full_ranking_ap(ranks)
    assert ap[0] == pytest.approx((1 / 1 + 2 / 3) / 2)
    assert ap[1] == pytest.approx(0.5)
    assert np.isnan(ap[2])
    bias = language_bias(ranks)
    assert bias[:2].tolist() == [2.0, 0.0] and np.isnan(bias[2])


def test_quantized_scores_round_like_the_run_file_format():
    rng = np.random.default_rng(0)
    scores = (rng.standard_normal(20000) * 0.4).astype(np.float32)
    scores[:4] = [0.5e-6, 1.5e-6, -2.5e-6, 0.1234565]
    expected = np.array([round(float(f"{s:.6f}") * 1e6) for s in scores.tolist()])
    assert np.array_equal(quantize_scores(scores), expected)
