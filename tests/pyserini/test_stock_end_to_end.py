"""End to end with the stock tools: prepare -> export -> pyserini.encode -> pyserini.search.faiss -> ir_measures.

The scores the stock tools give must equal those computed in-process from sentence-transformers embeddings.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

pytestmark = [pytest.mark.slow, pytest.mark.java]

BIN = Path(sys.executable).parent
LIMIT = 40




def in_process_scores(model, qa, query_lang: str, pool_lang: str) -> dict[str, float]:
    """AP (full ranking), nDCG@10 and R@1 from SentenceTransformer.encode, plain numpy."""
    qids = list(qa.questions[query_lang])
    queries = model.encode([qa.questions[query_lang][q] for q in qids], prompt_name="query")
    pool = qa.candidates[pool_lang]
    docs = model.encode([c.text for c in pool], prompt_name="passage")
    scores = queries @ docs.T
    docids = np.array([c.docid for c in pool])
    aps, ndcgs, r1 = [], [], []
    for i, qid in enumerate(qids):
        relevant = qa.relevant[pool_lang].get(qid)
        if relevant is None:
            continue
        order = np.argsort(-scores[i], kind="stable")
        rank = int(np.nonzero(docids[order] == relevant)[0][0]) + 1
        aps.append(1.0 / rank)  # one relevant candidate per pool
        ndcgs.append(1.0 / np.log2(rank + 1) if rank <= 10 else 0.0)
        r1.append(1.0 if rank == 1 else 0.0)
    return {"AP@1000": float(np.mean(aps)), "nDCG@10": float(np.mean(ndcgs)), "R@1": float(np.mean(r1))}


def test_stock_pyserini_reproduces_in_process_scores(tmp_path, shared_data, default_model_path, run_stock):
    run = run_stock
    from sentence_transformers import SentenceTransformer

    from hybrid_plugin.data.loading import load_parallel_qa
    from hybrid_plugin.pyserini.export import read_export

    run([str(BIN / "hybrid-plugin"), "prepare", "xquad-r", "--data", str(shared_data / "xquad-r"),
         "--languages", "en,de", "--limit", str(LIMIT), "--out", "."], tmp_path)
    run([str(BIN / "hybrid-plugin"), "export", "default", "encoder"], tmp_path)
    info = read_export(tmp_path / "encoder")
    for lang in ("en", "de"):
        args = info.encode_args(f"corpus/xquad-r/{lang}.jsonl", f"indexes/xquad-r.{lang}", batch_size=32)
        run([sys.executable, *args[1:]], tmp_path)
    qa = load_parallel_qa("xquad-r", data=shared_data / "xquad-r", languages=["en", "de"]).limit(LIMIT)
    model = SentenceTransformer(default_model_path, device="cpu")
    for query_lang, pool_lang in (("en", "en"), ("en", "de")):
        out = f"runs/{query_lang}-{pool_lang}.txt"
        args = info.search_args(f"indexes/xquad-r.{pool_lang}", f"topics/xquad-r.{query_lang}.tsv", out)
        run([sys.executable, *args[1:]], tmp_path)
        stdout = run([str(BIN / "ir_measures"), f"qrels/xquad-r.{pool_lang}.txt", out, "AP@1000", "nDCG@10", "R@1",
                      "--places", "6"], tmp_path)
        stock = {line.split("\t")[0]: float(line.split("\t")[1]) for line in stdout.strip().splitlines()}
        expected = in_process_scores(model, qa, query_lang, pool_lang)
        assert len((tmp_path / out).read_text().splitlines()) == LIMIT * len(qa.candidates[pool_lang])
        for measure, value in expected.items():
            assert stock[measure] == pytest.approx(value, abs=1e-5), (query_lang, pool_lang, measure)
        assert 0.3 < expected["AP@1000"] <= 1.0  # a real multilingual encoder, not noise
