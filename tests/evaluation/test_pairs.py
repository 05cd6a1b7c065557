"""hybrid_plugin.evaluation.pairs and the pair sample through scoring / evaluate: the options, the counts, the draw
(seeded, independent of the order languages are given in), only the chosen pools ranked, the same numbers as the
full grid on the pairs both score, and one NTREX-128 cell of the sample reproduced by the stock commands."""

from __future__ import annotations

import ir_measures
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hybrid_plugin.cli import main
from hybrid_plugin.data.loading import load_parallel_qa
from hybrid_plugin.errors import UsageError
from hybrid_plugin.evaluation.pairs import PairChoice
from hybrid_plugin.evaluation.pipeline import EvaluateSettings
from hybrid_plugin.evaluation.scoring import evaluate_embeddings

LANGS = ["en", "de", "fr", "yo", "sw", "zu"]


@pytest.mark.parametrize("text", ["some", "sample", "sample:", "sample:x", "sample:0", "sample:-3", "sample:2:1:0",
                                  "sample:2:s", "all:1", "", 5])
def test_a_bad_spec_is_one_usage_error(text):
    with pytest.raises(UsageError, match="--pairs must be|--pairs N must be"):
        PairChoice.parse(text)


def test_the_spec_reads_and_records():
    assert PairChoice.parse("sample:12") == PairChoice("sample", 12, 0)
    assert PairChoice.parse("sample:12:3").spec == "sample:12:3"
    assert PairChoice.parse(None) == PairChoice.parse("all") == PairChoice()
    assert PairChoice().record() == {}  # the default adds nothing to earlier records
    assert PairChoice.parse("sample:4:1").record()["pairs"] == {"spec": "sample:4:1", "pivot": "en", "sampled": 4,
                                                                 "seed": 1}
    with pytest.raises(UsageError, match="--pairs all takes no N"):
        PairChoice("all", 3)
    with pytest.raises(UsageError, match="--pairs"):
        EvaluateSettings(pairs="sample:zero")


def test_the_sample_keeps_every_pivot_pair_and_n_others():
    chosen = PairChoice.parse("sample:5:0").select(LANGS)
    pivot = {p for p in chosen if "en" in p}
    assert pivot == {(x, "en") for x in LANGS[1:]} | {("en", x) for x in LANGS[1:]}
    assert len(chosen) == 2 * (len(LANGS) - 1) + 5
    assert all(x != y for x, y in chosen)
    # N at least the grid keeps the whole grid
    assert len(PairChoice.parse("sample:1000").select(LANGS)) == len(LANGS) * (len(LANGS) - 1)
    assert PairChoice.parse("sample:3").select(["de", "fr"]) == {("de", "fr"), ("fr", "de")}  # no pivot


@settings(max_examples=40, deadline=None)
@given(st.permutations(LANGS), st.integers(1, 25), st.integers(0, 1000))
def test_the_draw_is_seeded_and_does_not_depend_on_the_language_order(order, count, seed):
    choice = PairChoice("sample", count, seed)
    assert choice.select(order) == choice.select(LANGS)
    others = {p for p in choice.select(order) if "en" not in p}
    assert len(others) == min(count, (len(LANGS) - 1) * (len(LANGS) - 2))


def test_only_the_chosen_pairs_are_scored_with_the_same_numbers(xquad, grid):
    """Mono and multi are always there; the chosen cross pairs equal those of the full grid (ranking a pool is
    independent of the others), the multilingual cells and their bias too; the others are absent."""
    qa = xquad.select_languages(["en", "de", "zh", "ar", "el"]).limit(20)
    encoded = grid(qa, 3)
    full = evaluate_embeddings(qa, encoded, runs_dir=None)
    choice = PairChoice.parse("sample:3:1")
    some = evaluate_embeddings(qa, encoded, runs_dir=None, pairs=choice)
    chosen = choice.select(qa.languages)
    expected = {f"{x}-{x}" for x in qa.languages} | {f"{x}-{y}" for x, y in chosen}
    assert set(some.pairs) == expected and len(expected) == 5 + 8 + 3
    for key in expected:
        assert some.pairs[key].values == full.pairs[key].values
        assert some.per_query[key] == full.per_query[key]
    for x in qa.languages:
        assert some.multi[x].values == full.multi[x].values and some.multi[x].bias == full.multi[x].bias


def test_runs_all_writes_only_the_chosen_pairs(xquad, grid, tmp_path):
    qa = xquad.select_languages(["en", "de", "zh"]).limit(10)
    some = evaluate_embeddings(qa, grid(qa, 1), runs_dir=tmp_path, runs="all", pairs="sample:1:0")
    chosen = {f"{x}-{y}" for x, y in PairChoice.parse("sample:1:0").select(qa.languages)}
    names = {p.stem for p in tmp_path.iterdir()}
    assert names == {f"{x}-{x}" for x in qa.languages} | {f"{x}-multi" for x in qa.languages} | chosen
    assert {f"{x}-{y}" for x, y in some.written} == names


@pytest.mark.slow
@pytest.mark.java
def test_an_ntrex_cell_of_the_sample_is_what_the_stock_commands_give(tiny_model, shared_data, tmp_path,
                                                                      isolated_cache, stock_faiss_search):
    """NTREX-128 with ``--pairs sample:2:0``: a sampled X -> Y cell (neither English) searched by the stock
    ``pyserini.search.faiss`` on the index and pre-encoded queries ``evaluate`` wrote, and scored by stock
    ``ir_measures`` against the qrels it wrote, gives the cell's nDCG@10 and AP@1000."""
    from hybrid_plugin.pyserini.prepared import prepare

    qa = load_parallel_qa("ntrex-128", data=shared_data / "ntrex-128", languages=["en", "de", "sw", "yo"]).limit(12)
    out = tmp_path / "out"
    assert main(["evaluate", "--dataset", "ntrex-128", "--data", str(shared_data / "ntrex-128"), "--languages",
                 "en,de,sw,yo", "--limit", "12", "--model", str(tiny_model), "--out", str(out), "--pairs",
                 "sample:2:0", "--runs", "all", "-q"]) == 0
    from hybrid_plugin.evaluation.results import load_results

    results = load_results(out)
    assert results.settings["pairs"]["spec"] == "sample:2:0"
    sampled = sorted(k for k, c in results.pairs.items() if "en" not in k.split("-") and
                     c.query_language != c.pool_language)
    assert len(sampled) == 2 and len(results.pairs) == 4 + 6 + 2
    x, y = sampled[0].split("-")
    prepared = prepare(qa, tmp_path / "prepared")
    lines = stock_faiss_search(out / "indexes" / y, prepared.topics(x), out / "encoded-queries" / x)
    run = [ir_measures.ScoredDoc(qid, docid, float(score)) for qid, _, docid, _, score, _ in lines]
    qrels = list(ir_measures.read_trec_qrels(str(out / "qrels" / f"{y}.txt")))
    searched = {q for q, *_ in lines}
    qrels = [q for q in qrels if q.query_id in searched]
    got = ir_measures.calc_aggregate([ir_measures.nDCG @ 10, ir_measures.AP @ 1000], qrels, run)
    cell = results.pairs[f"{x}-{y}"]
    assert got[ir_measures.nDCG @ 10] == pytest.approx(cell.values["nDCG@10"], abs=1e-4)
    assert got[ir_measures.AP @ 1000] == pytest.approx(cell.values["AP@1000"], abs=1e-4)


def test_the_ranking_never_holds_the_whole_score_matrix(xquad, grid, monkeypatch):
    """The scorer is asked for a few query rows at a time (about 8 MiB of int64 keys), whatever the pool size:
    NTREX-128's 255k x 255k matrix is never made. A small chunk budget makes it visible on a small pool."""
    from hybrid_plugin.evaluation import scoring

    qa = xquad.select_languages(["en", "de", "zh"]).limit(20)
    encoded = grid(qa, 2)
    pool = np.concatenate([encoded.passages[lang] for lang in qa.languages])
    asked: list[int] = []

    def score(x, rows):
        asked.append(rows.stop - rows.start)
        return encoded.queries[x][rows] @ pool.T

    monkeypatch.setattr(scoring, "_CHUNK_BYTES", 8 * len(pool) * 3)  # three rows of keys
    some = scoring.evaluate_scores(qa, score, pairs="sample:1:0", workers=1)
    assert max(asked) == 3 and sum(asked) == sum(len(qa.questions[x]) for x in qa.languages)
    assert some.pairs == evaluate_embeddings(qa, encoded, pairs="sample:1:0").pairs


@pytest.mark.parametrize("extra, message", [(["--pairs", "sample:0"], "--pairs N must be"),
                                            (["--pairs", "sample:3", "--bm25"], "does not go with --bm25")])
def test_the_cli_reports_a_bad_pairs_option_in_one_line(shared_data, tmp_path, capsys, extra, message):
    out = tmp_path / "out"
    argv = ["evaluate", "--dataset", "ntrex-128", "--data", str(shared_data / "ntrex-128"), "--out", str(out), *extra]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err and not out.exists()
