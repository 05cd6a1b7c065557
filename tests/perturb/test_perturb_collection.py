"""Properties of the perturbations over real XQuAD-R questions, in every script of the set."""

from __future__ import annotations

import math
import unicodedata

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from hybrid_plugin.errors import UsageError
from hybrid_plugin.perturb.collection import apply_perturbation, donor_language, perturb_collection
from hybrid_plugin.perturb.kinds import KINDS, Perturbation
from hybrid_plugin.perturb.segments import split_units
from hybrid_plugin.perturb.text import perturb_text

LANGUAGES = ("ar", "de", "el", "en", "es", "hi", "ru", "th", "tr", "vi", "zh")
SLOW_OK = settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture],
                   phases=[Phase.explicit, Phase.reuse, Phase.generate])  # a failure shows as drawn: no shrinking


def _one_language(qa, lang):
    return qa.select_languages([lang, "en" if lang != "en" else "de"])


def _sampling_tolerance(qa, lang, level):
    """Five standard errors of an error rate measured over the language's characters: short Han or Thai
    questions hold few characters, so a low level there is met only within a few thousandths more."""
    chars = sum(len(q) for q in qa.questions[lang].values())
    return max(0.006, 5 * math.sqrt(level * (1 - level) / chars))


@SLOW_OK
@given(lang=st.sampled_from(LANGUAGES), level=st.floats(0.02, 0.3), seed=st.integers(0, 10_000))
def test_typos_meet_the_error_rate_in_every_script(xquad_sample, lang, level, seed):
    qa = _one_language(xquad_sample, lang)
    _, report = perturb_collection(qa, Perturbation("typos", level, seed))
    assert report.cer[lang] == pytest.approx(level, rel=0.12, abs=_sampling_tolerance(qa, lang, level))


@SLOW_OK
@given(lang=st.sampled_from(LANGUAGES), level=st.floats(0.01, 0.5), seed=st.integers(0, 10_000))
def test_keyboard_typos_meet_the_error_rate_in_every_script(xquad_sample, lang, level, seed):
    qa = _one_language(xquad_sample, lang)
    _, report = perturb_collection(qa, Perturbation("keyboard", level, seed))
    assert report.cer[lang] == pytest.approx(level, rel=0.08, abs=_sampling_tolerance(qa, lang, level))


@SLOW_OK
@given(kind=st.sampled_from(sorted(KINDS)), level=st.floats(0.05, 1.0), seed=st.integers(0, 100))
def test_perturbation_is_deterministic_and_independent_of_the_other_questions(xquad_sample, kind, level, seed):
    p = Perturbation(kind, min(level, KINDS[kind].max_level), seed)
    small = xquad_sample.limit(30)
    whole, _ = perturb_collection(small, p)
    again, _ = perturb_collection(small, p)
    part, _ = perturb_collection(small.limit(10), p)
    assert whole.questions == again.questions
    for lang in part.languages:
        assert part.questions[lang] == {q: whole.questions[lang][q] for q in part.questions[lang]}


def test_another_seed_gives_other_noise(xquad_sample):
    a, _ = perturb_collection(xquad_sample.limit(20), Perturbation("typos", 0.1, 0))
    b, _ = perturb_collection(xquad_sample.limit(20), Perturbation("typos", 0.1, 1))
    assert a.questions["th"] != b.questions["th"]


TINY = ["?", "a", "猫", "ก่", "؟", "क़", "Ὁ", "¿?", "I"]


@SLOW_OK
@given(kind=st.sampled_from(sorted(KINDS)), level=st.floats(0.01, 1.0), seed=st.integers(0, 10_000),
       text=st.sampled_from(TINY) | st.text(min_size=1, max_size=6).filter(str.strip))
def test_a_perturbed_question_is_never_empty(kind, level, seed, text):
    p = Perturbation(kind, min(level, KINDS[kind].max_level), seed)
    out = perturb_text(text, p, language="th", key="q", donor_text="猫")
    assert out.strip()


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_no_question_of_the_collection_becomes_empty(xquad_sample, kind):
    perturbed, report = perturb_collection(xquad_sample, Perturbation(kind, KINDS[kind].max_level, 3))
    assert all(t.strip() for lang in perturbed.languages for t in perturbed.questions[lang].values())
    assert perturbed.candidates == xquad_sample.candidates and perturbed.relevant == xquad_sample.relevant
    assert perturbed.checksum != xquad_sample.checksum
    assert set(report.changed) == set(xquad_sample.languages)


@SLOW_OK
@given(level=st.floats(0.05, 1.0), seed=st.integers(0, 10_000), donor=st.sampled_from((None, "en", "zh", "th")))
def test_codeswitching_takes_words_only_from_the_parallel_question(xquad_sample, level, seed, donor):
    p = Perturbation("codeswitch", level, seed, donor)
    xquad_sample = xquad_sample.limit(40)
    perturbed, report = perturb_collection(xquad_sample, p)
    for lang in perturbed.languages:
        for qid, text in perturbed.questions[lang].items():
            source = xquad_sample.questions[lang][qid]
            other = xquad_sample.questions[donor_language(xquad_sample, p, lang, qid)][qid]
            allowed = set(split_units(source).words) | set(split_units(other).words)
            assert set(split_units(text).words) <= allowed, (lang, qid, text)
            if lang != donor and donor is not None:
                assert donor_language(xquad_sample, p, lang, qid) == donor
    assert sum(sum(c.values()) for c in report.donors.values()) == xquad_sample.num_questions()


def test_full_codeswitching_is_the_parallel_question(xquad_sample):
    p = Perturbation("codeswitch", 1.0, 0, "en")
    perturbed, _ = perturb_collection(xquad_sample, p)
    for qid, text in perturbed.questions["zh"].items():
        assert text.strip() == xquad_sample.questions["en"][qid].strip()


def test_full_romanisation_is_ascii_and_lowercase_punctuation_are_complete(xquad_sample):
    romanised, _ = perturb_collection(xquad_sample, Perturbation("romanize", 1.0))
    lowered, _ = perturb_collection(xquad_sample, Perturbation("lowercase", 1.0))
    bare, _ = perturb_collection(xquad_sample, Perturbation("punctuation", 1.0))
    for lang in xquad_sample.languages:
        for qid, text in xquad_sample.questions[lang].items():
            assert romanised.questions[lang][qid].isascii()
            assert lowered.questions[lang][qid] == text.lower()
            if any(not unicodedata.category(c).startswith("P") and not c.isspace() for c in text):
                assert not any(unicodedata.category(c).startswith("P") for c in bare.questions[lang][qid])


def _marks(text: str) -> list[str]:
    return [c for c in unicodedata.normalize("NFD", text) if unicodedata.category(c).startswith("M")]


def test_diacritics_follow_the_rules_of_each_script(xquad_sample):
    stripped, report = perturb_collection(xquad_sample, Perturbation("diacritics", 1.0))
    thai_tones = set("\u0e48\u0e49\u0e4a\u0e4b\u0e4c")
    for qid, text in xquad_sample.questions["vi"].items():
        assert not _marks(stripped.questions["vi"][qid]) and "đ" not in stripped.questions["vi"][qid].lower()
    for qid, text in xquad_sample.questions["hi"].items():  # matras, virama, anusvara stay; the nukta goes
        assert _marks(stripped.questions["hi"][qid]) == [m for m in _marks(text) if m != "\u093c"]
    for qid, text in xquad_sample.questions["th"].items():  # vowel signs stay; tone marks go
        assert _marks(stripped.questions["th"][qid]) == [m for m in _marks(text) if m not in thai_tones]
    assert stripped.questions["zh"] == xquad_sample.questions["zh"] and report.changed["zh"] == 0
    assert report.changed["vi"] == report.questions["vi"]


def test_apply_perturbation_parses_text_and_refuses_other_values(xquad_sample):
    qa, extra = apply_perturbation(xquad_sample, None)
    assert qa is xquad_sample and extra == {}
    _, extra = apply_perturbation(xquad_sample.limit(5), "lowercase:1")
    assert extra["perturbation"]["perturbation"]["kind"] == "lowercase"
    with pytest.raises(UsageError, match="Perturbation or 'KIND:LEVEL'"):
        apply_perturbation(xquad_sample, 0.1)  # type: ignore[arg-type]
    with pytest.raises(UsageError, match="donor 'fr' is not a language"):
        perturb_collection(xquad_sample, Perturbation("codeswitch", 0.2, 0, "fr"))
