"""The language table: complete for the five sets' files, codes that map back and forth, resource levels."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hybrid_plugin.data.collection import Candidate, ParallelQA, check_name
from hybrid_plugin.data.languages import (
    DATASET_COLUMNS,
    LANGUAGES,
    RESOURCE_GROUPS,
    XLMR_LANGUAGES,
    dataset_code,
    dataset_languages,
    find_language,
    get_language,
    in_training,
    plugin_code,
    resource_level,
    resource_levels,
)
from hybrid_plugin.errors import UsageError

ROWS = list(LANGUAGES.values())
PAIRS = [(lang, d) for lang in ROWS for d in DATASET_COLUMNS if lang.code_in(d) is not None]


def _codes_in_files(shared_data) -> dict[str, set[str]]:
    """Each set's own language codes, read off its file names (the sources' pivots and English sides added)."""
    ntrex = {p.name.split(".", 1)[1].rsplit(".", 1)[0]
             for p in (shared_data / "ntrex-128" / "NTREX-128").glob("newstest2019-ref.*.txt")}
    tatoeba = {p.name.split(".")[1].split("-")[0] for p in (shared_data / "tatoeba").glob("tatoeba.*-eng.*")}
    return {
        "xquad-r": {p.stem for p in (shared_data / "xquad-r").glob("*.json")},
        "mlqa-r": {p.stem for p in (shared_data / "mlqa-r").glob("*.json")},
        "afriqa": {p.name for p in (shared_data / "afriqa" / "queries").iterdir()} | {"en", "fr"},
        "ntrex-128": ntrex | {"eng"},
        "tatoeba": tatoeba | {"eng"},
    }


def test_the_table_has_every_language_of_every_set_and_no_other(shared_data):
    for dataset, codes in _codes_in_files(shared_data).items():
        assert {dataset_code(lang, dataset) for lang in dataset_languages(dataset)} == codes, dataset
    assert [len(dataset_languages(d)) for d in DATASET_COLUMNS] == [11, 7, 12, 128, 113]


def test_every_code_can_name_files_and_the_lareqa_sets_keep_theirs():
    for lang in ROWS:
        assert check_name(lang.code, "language") == lang.code
        assert len(lang.iso639_3) == 3 and lang.script[:1].isupper() and lang.name
    for dataset in ("xquad-r", "mlqa-r"):
        assert all(dataset_code(code, dataset) == code for code in dataset_languages(dataset))


def test_xlmr_has_its_hundred_languages_and_the_table_points_into_them():
    assert len(XLMR_LANGUAGES) == len(set(XLMR_LANGUAGES)) == 100
    assert {lang.xlmr for lang in ROWS if lang.xlmr} <= set(XLMR_LANGUAGES)
    assert [find_language(c).in_xlmr for c in ("sw", "ha", "yo", "zu", "fil", "nn", "zh-TW", "ckb")] == [
        True, True, False, False, True, False, True, False]


@given(st.sampled_from(PAIRS))
def test_codes_map_to_a_set_and_back(pair):
    lang, dataset = pair
    own = dataset_code(lang.code, dataset)
    assert plugin_code(own, dataset) == lang.code
    assert find_language(own, dataset) is lang
    assert get_language(lang.code) is lang


@given(st.sampled_from(ROWS))
def test_every_other_name_of_a_language_finds_it_or_nothing_else(lang):
    names = {own for _, own in lang.codes} | ({lang.iso639_3} if "-" not in lang.code else set())
    for name in names:
        found = find_language(name)
        assert found is lang or (found is not None and found.code == name), (name, lang.code)


def test_set_codes_and_plugin_codes_are_told_apart():
    assert plugin_code("eng", "ntrex-128") == "en" and plugin_code("eng-GB", "ntrex-128") == "en-GB"
    assert [plugin_code(c, "tatoeba") for c in ("cmn", "swh", "pes", "zsm", "lvs", "tgl")] == [
        "zh", "sw", "fa", "ms", "lv", "tl"]
    assert [plugin_code(c, "afriqa") for c in ("hau", "kin", "twi", "en")] == ["ha", "rw", "tw", "en"]
    assert find_language("zho").code == "zh" and find_language("srp").code == "sr"


def test_unknown_codes_are_usage_errors():
    with pytest.raises(UsageError, match="unknown language 'xx'"):
        get_language("xx")
    with pytest.raises(UsageError, match="ntrex-128 has no language 'deu-XX'"):
        plugin_code("deu-XX", "ntrex-128")
    with pytest.raises(UsageError, match="tatoeba has no language 'yo'"):
        dataset_code("yo", "tatoeba")
    with pytest.raises(UsageError, match="no language codes are recorded for 'squad'"):
        dataset_languages("squad")


def _collection(languages: tuple[str, ...]) -> ParallelQA:
    return ParallelQA("train", languages, {lang: {"q1": "Q"} for lang in languages},
                      {lang: [Candidate(f"{lang}-0-0", "P", lang, 0, 0)] for lang in languages},
                      {lang: {"q1": f"{lang}-0-0"} for lang in languages})


def test_in_training_reads_a_collection_and_compares_languages_not_spellings():
    train = _collection(("en", "de", "zh"))
    assert in_training("de", train) and in_training("en-GB", train) and in_training("zh-TW", train)
    assert in_training("deu", train) and not in_training("yue", train) and not in_training("yo", train)
    assert in_training("mine", ["mine"]) and not in_training("mine", train)
    with pytest.raises(UsageError, match="got the string 'en'"):
        in_training("en", "en")


def test_resource_levels_group_the_languages_of_a_collection():
    levels = resource_levels(["de", "sw", "yo", "klingon", "en-US"], _collection(("en", "de")))
    assert {code: level.group for code, level in levels.items()} == {
        "de": "trained", "sw": "pretrained", "yo": "unseen", "klingon": "unlisted", "en-US": "trained"}
    assert levels["klingon"].in_xlmr is None and levels["yo"].in_xlmr is False
    assert resource_level("yo", ["yo"]).group == "trained"


@given(st.sampled_from(ROWS), st.sampled_from(ROWS))
def test_in_training_is_symmetric_and_reflexive(a, b):
    assert in_training(a.code, [a.code])
    assert in_training(a.code, [b.code]) == in_training(b.code, [a.code]) == (a.iso639_3 == b.iso639_3)


@given(st.sampled_from(ROWS), st.lists(st.sampled_from(ROWS), max_size=5))
def test_the_group_follows_from_the_two_flags(lang, training):
    level = resource_level(lang.code, [t.code for t in training])
    assert level.group in RESOURCE_GROUPS
    assert (level.group == "trained") == level.in_training
    if not level.in_training:
        assert level.group == ("pretrained" if lang.xlmr else "unseen")
