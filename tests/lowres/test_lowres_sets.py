"""hybrid_plugin.lowres.sets: the quick slices and the fit texts, counted against an independent reading of the
source files."""

from __future__ import annotations

import json

import pytest

from hybrid_plugin.data.languages import dataset_code
from hybrid_plugin.lowres.sets import LowresData, first_per_language
from hybrid_plugin.lowres.settings import QUICK_SLICES, LowresSettings


@pytest.fixture()
def data(tmp_path, shared_data):
    study = tmp_path / "study"
    study.mkdir()
    (study / "plan.json").write_text(json.dumps({"alphas": [1.0], "seeds": 1, "directions": [["mlqa-r", "xquad-r"]]}))
    return LowresData(LowresSettings(study=study, out=tmp_path / "out", quick=True, limit=7, data_root=shared_data))


def _afriqa_questions(shared_data, lang: str) -> list[str]:
    code = dataset_code(lang, "afriqa")
    path = next((shared_data / "afriqa" / "gold_passages" / code).glob(f"*.{code}.*.test.json"))
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [r["question_lang"] for r in rows if r.get("question_lang", "").strip() and r.get("context", "").strip()]


def test_afriqa_keeps_the_first_questions_of_each_language(data, shared_data):
    qa = data.collection("afriqa")
    assert qa.languages == QUICK_SLICES["afriqa"].languages and qa.query_only == ("ha", "sw", "yo", "zu")
    for lang in qa.query_only:
        assert list(qa.questions[lang].values()) == _afriqa_questions(shared_data, lang)[:7]
    assert len(qa.questions["en"]) == len(qa.candidates["en"]) == 4 * 7  # the translations, their gold passages


def test_first_per_language_without_query_only_languages_is_limit(data):
    qa = data.collection("ntrex-128")
    assert list(qa.qids) == [str(n) for n in range(1, 8)] and not qa.query_only
    assert first_per_language(qa, 3).qids == qa.limit(3).qids


def test_tatoeba_keeps_the_first_pairs_of_each_file(data, shared_data):
    tatoeba = data.tatoeba()
    assert tatoeba.languages == QUICK_SLICES["tatoeba"].languages
    for bitext in tatoeba:
        code = dataset_code(bitext.language, "tatoeba")
        side = (shared_data / "tatoeba" / f"tatoeba.{code}-eng.{code}").read_text(encoding="utf-8").splitlines()
        english = (shared_data / "tatoeba" / f"tatoeba.{code}-eng.eng").read_text(encoding="utf-8").splitlines()
        assert list(bitext.sentences) == [s.strip() for s in side[:7]] and list(bitext.english) == \
            [s.strip() for s in english[:7]]
    assert data.evaluated_languages("tatoeba")[-1] == "en"


def test_fit_texts_are_the_other_set_in_the_evaluated_languages(data):
    ntrex = data.fit_texts("ntrex-128", ["ha", "yo", "ast", "kab"])  # ast and kab: not in NTREX-128
    assert ntrex.name == "ntrex-128" and ntrex.languages == ("ha", "yo", "en") and len(ntrex.qids) == 1997
    tatoeba = data.fit_texts("tatoeba", ["de", "sw", "bem"])  # bem: not in Tatoeba
    assert sorted(tatoeba) == ["de", "en", "sw"]
    assert len(tatoeba["de"]) == len(set(tatoeba["de"])) > 7  # whole, distinct: the fit is not the slice
    assert set(tatoeba["en"]) >= set(data.tatoeba()["de"].english)
