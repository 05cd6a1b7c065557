"""Language-bias removal in BEIR's evaluation: the transform applied per role and language equals the scoring of
the transformed embeddings by hand; fits on the target corpus (documents only) are recorded as such; a transform
of another model or fitted on the evaluated collection is refused before anything is written."""

from __future__ import annotations

import json

import numpy as np
import pytest

from hybrid_plugin.data.beir import read_beir_folder
from hybrid_plugin.data.beir_convert import beir_from_parallel_qa, write_beir
from hybrid_plugin.data.loading import load_parallel_qa
from hybrid_plugin.errors import UsageError
from hybrid_plugin.evaluation.beir_debias import CORPUS_DESCRIPTION, beir_fit_texts, corpus_checksum
from hybrid_plugin.evaluation.beir_eval import ALL, beir_run, evaluate_beir, score_beir_run

LANGUAGES = ["en", "de", "es"]


@pytest.fixture(scope="module")
def beir_folder(shared_data, tmp_path_factory):
    """A BEIR folder written by ``prepare --format beir`` from an XQuAD-R slice (three languages)."""
    qa = load_parallel_qa("xquad-r", data=shared_data / "xquad-r", languages=LANGUAGES).limit(10)
    return write_beir(beir_from_parallel_qa(qa), tmp_path_factory.mktemp("beir") / "xq")


@pytest.fixture(scope="module")
def ntrex_center(tiny_model, shared_data):
    """``center`` fitted with the tiny model on NTREX-128 sentences (other text, another domain)."""
    from hybrid_plugin.debias.fitting import fit_debias

    ntrex = load_parallel_qa("ntrex-128", data=shared_data / "ntrex-128", languages=LANGUAGES).limit(30)
    return fit_debias(str(tiny_model), ntrex, method="center", per_language=20, cache=False, show_progress=False)


def _by_hand(beir, model_path, transform_rows):
    """Encode as evaluate_beir does, transform with numpy, search by sorting, score with ir_measures."""
    from sentence_transformers import SentenceTransformer

    st = SentenceTransformer(str(model_path), device="cpu")
    q = st.encode(["query: " + x.text for x in beir.queries.values()], normalize_embeddings=True)
    d = st.encode([x.encoder_input("passage: ") for x in beir.corpus.values()], normalize_embeddings=True)
    q = transform_rows(q.astype(np.float64), [x.language for x in beir.queries.values()], "query")
    d = transform_rows(d.astype(np.float64), [x.language for x in beir.corpus.values()], "passage")
    unit = lambda m: m / np.linalg.norm(m, axis=1, keepdims=True)  # noqa: E731
    q, d = unit(q), unit(d)
    scores = q @ d.T
    docids = list(beir.corpus)
    run = {qid: {docids[j]: float(scores[i, j]) for j in np.argsort(-scores[i], kind="stable")}
           for i, qid in enumerate(beir.queries)}
    return score_beir_run(beir.qrels, run), run


def test_center_scores_equal_the_transformed_embeddings_by_hand(beir_folder, tiny_model, ntrex_center,
                                                                isolated_cache, one_torch_thread):
    beir = read_beir_folder(beir_folder)
    results = evaluate_beir(beir, str(tiny_model), device="cpu", debias=ntrex_center)
    means = ntrex_center.means
    expected, _ = _by_hand(beir, tiny_model, lambda m, langs, role: m - np.stack([means[role][x] for x in langs]))
    for qid, values in expected.items():
        for measure, value in values.items():
            assert results.per_query[qid][measure] == pytest.approx(value, abs=1e-6), (qid, measure)
    record = results.to_dict()["debias"]
    assert (record["method"], record["digest"]) == ("center", ntrex_center.digest)
    assert record["fitted_on"]["dataset"] == "ntrex-128"
    assert record["fitted_on_evaluated_data"] is False and record["fitted_on_target_corpus"] is False
    plain = evaluate_beir(beir, str(tiny_model), device="cpu")
    assert plain.debias is None and plain.per_query != results.per_query


def test_lsar_fitted_on_the_target_corpus_is_recorded_and_equals_the_projection(beir_folder, tiny_model,
                                                                                 isolated_cache, one_torch_thread):
    from hybrid_plugin.debias.fitting import fit_debias

    beir = read_beir_folder(beir_folder)
    texts = beir_fit_texts(beir)
    # only the corpus: no question is a query of the collection, every text is a document
    assert texts.languages == tuple(LANGUAGES) and not any(texts.relevant.values())
    assert {t for lang in LANGUAGES for t in texts.questions[lang].values()} == {d.contents for d in
                                                                                  beir.corpus.values()}
    lsar = fit_debias(str(tiny_model), texts, method="lsar", rank=2, per_language=12, cache=False,
                      show_progress=False, description=CORPUS_DESCRIPTION)
    results = evaluate_beir(beir, str(tiny_model), device="cpu", debias=lsar)
    assert results.debias["fitted_on_target_corpus"] is True and results.debias["fitted_on_evaluated_data"] is False
    assert results.debias["fitted_on"]["per_language"] == 12
    projection = lsar.projection
    expected, run = _by_hand(beir, tiny_model, lambda m, langs, role: m @ projection)
    for qid, values in expected.items():
        assert results.per_query[qid] == pytest.approx(values, abs=1e-6), qid
    assert results.cell(ALL).bias is not None


def test_corpus_identity_ignores_split_and_files(beir_folder, shared_data):
    beir = read_beir_folder(beir_folder)
    qa = load_parallel_qa("xquad-r", data=shared_data / "xquad-r", languages=LANGUAGES).limit(10)
    assert corpus_checksum(beir) == corpus_checksum(beir_from_parallel_qa(qa))
    with pytest.raises(UsageError, match="no document in language 'zh'"):
        beir_fit_texts(beir, languages=["en", "zh"])


def test_a_transform_of_another_model_or_of_the_collection_is_refused(beir_folder, tiny_model, tiny_xquad_model,
                                                                      ntrex_center, tmp_path, capsys,
                                                                      isolated_cache, one_torch_thread):
    from hybrid_plugin import cli
    from hybrid_plugin.debias.fitting import fit_debias

    beir = read_beir_folder(beir_folder)
    with pytest.raises(UsageError, match="not on the model evaluated"):
        evaluate_beir(beir, str(tiny_xquad_model), device="cpu", debias=ntrex_center)
    # fitted on the collection itself (its queries and documents, as load_parallel_qa reads a BEIR folder)
    itself = fit_debias(str(tiny_model), load_parallel_qa(f"beir:{beir_folder}"), method="center", cache=False,
                        show_progress=False)
    with pytest.raises(UsageError, match="the texts evaluated"):
        evaluate_beir(beir, str(tiny_model), device="cpu", debias=itself)
    oracle = evaluate_beir(beir, str(tiny_model), device="cpu", debias=itself, allow_same_data=True)
    assert oracle.debias["fitted_on_evaluated_data"] is True
    itself.save(tmp_path / "itself")
    out = tmp_path / "out"
    argv = ["beir", f"beir:{beir_folder}", "--model", str(tiny_model), "--device", "cpu", "--debias",
            str(tmp_path / "itself"), "--out", str(out)]
    capsys.readouterr()  # what the in-process calls above logged (through a handler an earlier main() installed)
    assert cli.main(argv) == 2
    err = capsys.readouterr().err  # after the model's loading bars: one error line
    assert "Traceback" not in err and err.splitlines()[-1].startswith("hybrid-plugin: error: the transform was fitted")
    assert "the texts evaluated" in err.splitlines()[-1]
    assert not out.exists()
    assert cli.main([*argv[:2], "--model", str(tiny_xquad_model), *argv[4:]]) == 2
    assert "not on the model evaluated" in capsys.readouterr().err and not out.exists()


def test_commands_fit_on_the_corpus_and_evaluate_with_it(beir_folder, tiny_model, tmp_path, capsys,
                                                         isolated_cache, one_torch_thread):
    from hybrid_plugin import cli
    from hybrid_plugin.debias.transform import LanguageDebias

    fitted = tmp_path / "corpus-lsar"
    assert cli.main(["debias", "--model", str(tiny_model), "--fit-on", f"beir:{beir_folder}", "--corpus-only",
                     "--per-language", "10", "--rank", "2", "--out", str(fitted), "-q"]) == 0
    debias = LanguageDebias.load(fitted)
    assert f"hybrid-plugin beir beir:{beir_folder}" in capsys.readouterr().out
    assert debias.source.dataset == "xq-corpus" and debias.source.description == CORPUS_DESCRIPTION
    out = tmp_path / "eval"
    assert cli.main(["beir", f"beir:{beir_folder}", "--model", str(tiny_model), "--device", "cpu", "--debias",
                     str(fitted), "--out", str(out)]) == 0
    record = json.loads((out / "beir.json").read_text(encoding="utf-8"))
    assert record["debias"]["digest"] == debias.digest and record["debias"]["fitted_on_target_corpus"] is True
    assert LanguageDebias.load(out / "debias").digest == debias.digest
    assert "+ lsar (xq-corpus)" in (out / "beir.md").read_text(encoding="utf-8")
    capsys.readouterr()
    assert cli.main(["debias", "--model", str(tiny_model), "--fit-on", "mlqa-r", "--corpus-only", "--out",
                     str(tmp_path / "x")]) == 2
    assert "--corpus-only fits on the documents of a BEIR collection" in capsys.readouterr().err


def test_run_order_is_the_flat_index_order():
    """The hand reference sorts by score; the Faiss run holds the same documents and scores."""
    rng = np.random.default_rng(0)
    docs = rng.normal(size=(6, 4)).astype(np.float32)
    run = beir_run(["q"], docs[:1], list("abcdef"), docs, depth=6)
    order = np.argsort(-(docs[:1] @ docs.T)[0], kind="stable")
    assert list(run["q"]) == [list("abcdef")[j] for j in order]
