"""hybrid_plugin.evaluation.bitext (Tatoeba's protocol) and ``hybrid-plugin bitext``: pair counts against the files,
a three-language run with the tiny model equal to a brute-force numpy computation, ties counted as errors, the
record's JSON form, one-line errors."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hybrid_plugin import cli
from hybrid_plugin.data.languages import dataset_code
from hybrid_plugin.data.loading import load_tatoeba
from hybrid_plugin.errors import DataError
from hybrid_plugin.evaluation.bitext import BitextResults, bitext_ranks, evaluate_bitext
from hybrid_plugin.evaluation.encoding import encode_parallel_qa

LANGUAGES = ["de", "sw", "kab"]  # trained (with en, de), XLM-R only, neither


def test_ranks_count_a_tie_at_the_top_as_an_error():
    queries = np.eye(2, dtype=np.float32)
    pool = np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]], dtype=np.float32)
    assert bitext_ranks(queries, pool, np.array([0, 2])).tolist() == [2, 1]


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 6), st.integers(1, 7), st.data())
def test_ranks_equal_a_sorted_reference(n, m, data):
    """Small integer scores (many ties): rank = position of gold after sorting with gold placed last among ties."""
    queries = np.array(data.draw(st.lists(st.lists(st.integers(-2, 2), min_size=2, max_size=2), min_size=n,
                                          max_size=n)), dtype=np.float32)
    pool = np.array(data.draw(st.lists(st.lists(st.integers(-2, 2), min_size=2, max_size=2), min_size=m,
                                       max_size=m)), dtype=np.float32)
    gold = np.array(data.draw(st.lists(st.integers(0, m - 1), min_size=n, max_size=n)))
    ranks = bitext_ranks(queries, pool, gold, chunk=2)
    for i in range(n):
        scores = [float(queries[i] @ pool[j]) for j in range(m)]
        order = sorted(range(m), key=lambda j: (-scores[j], j == gold[i]))  # gold after its ties
        assert ranks[i] == order.index(gold[i]) + 1


@pytest.fixture(scope="module")
def tatoeba(shared_data):
    return load_tatoeba(data=shared_data / "tatoeba", languages=LANGUAGES)


def test_pair_counts_equal_the_files(tatoeba, shared_data):
    for lang in LANGUAGES:
        code = dataset_code(lang, "tatoeba")
        path = shared_data / "tatoeba" / f"tatoeba.{code}-eng.{code}"
        lines = path.read_text(encoding="utf-8").splitlines()
        english = path.with_suffix(".eng").read_text(encoding="utf-8").splitlines()
        assert len(tatoeba[lang]) == len(lines) == len(english)


def brute_force(queries: np.ndarray, pool: np.ndarray, gold: list[int]) -> tuple[float, float]:
    """(accuracy, mAP) with plain Python: float64 cosines rounded to six decimals, ties against the gold sentence."""
    hits, rr = [], []
    for i, g in enumerate(gold):
        scores = [round(float(np.dot(queries[i].astype(np.float64), pool[j].astype(np.float64))), 6)
                  for j in range(len(pool))]
        rank = 1 + sum(1 for j, s in enumerate(scores) if j != g and s >= scores[g])
        hits.append(rank == 1)
        rr.append(1.0 / rank)
    return float(np.mean(hits)), float(np.mean(rr))


def test_three_languages_with_the_tiny_model_equal_brute_force(tiny_model, tatoeba, tmp_path, isolated_cache):
    from sentence_transformers import SentenceTransformer

    results = evaluate_bitext(tatoeba, str(tiny_model), training=["en", "de"])
    assert list(results.languages) == LANGUAGES
    assert [results.languages[k].group for k in LANGUAGES] == ["trained", "pretrained", "unseen"]
    model = SentenceTransformer(str(tiny_model), device="cpu")
    for lang in LANGUAGES:
        qa = tatoeba.pair(lang)
        encoded = encode_parallel_qa(model, qa, prompts={"query": "query: ", "passage": "passage: "},
                                     show_progress=False)
        got = results.languages[lang]
        assert got.pairs == len(tatoeba[lang])
        for x, y, acc, mean_ap in ((lang, "en", got.accuracy_to_en, got.map_to_en),
                                   ("en", lang, got.accuracy_from_en, got.map_from_en)):
            docids = [c.docid for c in qa.candidates[y]]
            gold = [docids.index(qa.relevant[y][q]) for q in qa.questions[x]]
            expected = brute_force(encoded.queries[x], encoded.passages[y], gold)
            assert (acc, mean_ap) == pytest.approx(expected, abs=1e-12)
        assert got.error_rate == pytest.approx(1 - (got.accuracy_to_en + got.accuracy_from_en) / 2)
    again = BitextResults.from_json(results.to_json())
    assert again.languages == results.languages and again.training_languages == ("en", "de")
    # the second run reads every embedding from the cache and gives the same numbers
    assert evaluate_bitext(tatoeba, str(tiny_model), training=["en", "de"]).languages == results.languages


def test_record_errors_are_one_line(tmp_path):
    path = tmp_path / "bitext.json"
    path.write_text(json.dumps({"schema_version": 1, "protocol": "tatoeba", "model": {"name": "m"},
                                "training_languages": [], "languages": {"de": {"pairs": 3, "group": "trained",
                                "accuracy_to_en": 1.5, "accuracy_from_en": 0, "map_to_en": 0, "map_from_en": 0}}}))
    with pytest.raises(DataError) as caught:
        BitextResults.load(path)
    assert "languages.de.accuracy_to_en" in str(caught.value) and "\n" not in str(caught.value)


def test_command_writes_record_and_table(tiny_model, shared_data, tmp_path, isolated_cache, capsys):
    out = tmp_path / "out"
    argv = ["bitext", "--data", str(shared_data / "tatoeba"), "--languages", "sw,kab", "--model", str(tiny_model),
            "--training", "en", "--out", str(out), "--quiet"]
    assert cli.main(argv) == 0
    record = BitextResults.load(out)
    assert set(record.languages) == {"sw", "kab"}
    table = (out / "bitext.md").read_text(encoding="utf-8")
    assert "**mean pretrained** (1)" in table and "**mean unseen** (1)" in table and table in capsys.readouterr().out
    assert cli.main(argv) == 2  # the folder holds output: one line, nothing changed
    assert "--overwrite" in capsys.readouterr().err


@pytest.mark.parametrize("extra, needle", [
    (["--languages", "de,yo"], "tatoeba has no language 'yo'"),
    (["--batch-size", "0"], "--batch-size: expected a positive integer"),
])
def test_command_errors_are_one_line(shared_data, tmp_path, capsys, extra, needle):
    argv = ["bitext", "--data", str(shared_data / "tatoeba"), "--out", str(tmp_path / "o"), *extra]
    assert cli.main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and needle in err[0] and "Traceback" not in err[0]
    assert not (tmp_path / "o").exists()
