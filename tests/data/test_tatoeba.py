"""Tatoeba: the bitexts of the published files, one language with English as a collection, malformed files and
the download."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hybrid_plugin.data import DATASETS, fetch_dataset, load_parallel_qa, load_tatoeba
from hybrid_plugin.data.languages import dataset_code, dataset_languages
from hybrid_plugin.data.tatoeba import Bitext, TatoebaSet, english_item_id, read_tatoeba_folder, tatoeba_files
from hybrid_plugin.errors import DataError, DownloadError, UsageError
from hybrid_plugin.pyserini.prepared import prepare, read_prepared


@pytest.fixture(scope="module")
def tatoeba(shared_data):
    return load_tatoeba(data=shared_data / "tatoeba")


def _lines(path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines()


def test_every_language_is_read_as_its_bitext(tatoeba, shared_data):
    folder = shared_data / "tatoeba"
    assert len(tatoeba.languages) == 112 and "en" not in tatoeba.languages
    assert set(tatoeba.languages) == set(dataset_languages("tatoeba")) - {"en"}
    codes = [dataset_code(lang, "tatoeba") for lang in tatoeba.languages]
    assert codes == sorted(codes)
    for lang in tatoeba.languages:
        own, eng = tatoeba_files(lang)
        assert tatoeba[lang].sentences == tuple(_lines(folder / own))
        assert tatoeba[lang].english == tuple(_lines(folder / eng))
    assert tatoeba.num_pairs() == sum(len(_lines(p)) for p in folder.glob("tatoeba.*-eng.eng"))
    assert tatoeba.sources["tatoeba.cmn-eng.cmn"] == DATASETS["tatoeba"].sha256["tatoeba.cmn-eng.cmn"]


def test_the_plugins_codes_name_tatoebas_files():
    assert tatoeba_files("zh") == ("tatoeba.cmn-eng.cmn", "tatoeba.cmn-eng.eng")
    assert tatoeba_files("sw")[0] == "tatoeba.swh-eng.swh" and tatoeba_files("fa")[0] == "tatoeba.pes-eng.pes"
    with pytest.raises(UsageError, match="en has no bitext of its own"):
        tatoeba_files("en")


def test_a_language_with_english_is_a_two_language_collection(tatoeba):
    bitext = tatoeba["sw"]
    qa = tatoeba.pair("sw")
    assert qa.name == "tatoeba-sw" and qa.languages == ("sw", "en") and len(qa.qids) == len(bitext)
    for n in (1, len(bitext)):
        qid = str(n)
        assert qa.questions["sw"][qid] == qa.positive(qid, "sw").text == bitext.sentences[n - 1]
        assert qa.questions["en"][qid] == qa.positive(qid, "en").text == bitext.english[n - 1]
    assert qa.positive("1", "en").docid == "en-0-0"
    assert sorted(qa.sources) == sorted(tatoeba_files("sw"))
    qa.check_linked()


def test_a_pair_loads_by_name_and_the_whole_set_does_not(shared_data):
    qa = load_parallel_qa("tatoeba-de", data=shared_data / "tatoeba", languages=["en", "de"])
    assert qa.languages == ("en", "de")
    with pytest.raises(UsageError, match="tatoeba is one bitext with English per language"):
        load_parallel_qa("tatoeba")
    with pytest.raises(UsageError, match="unknown dataset 'tatoeba-xx'"):
        load_parallel_qa("tatoeba-xx")


def test_languages_are_read_alone_and_in_the_given_order(shared_data):
    tatoeba = read_tatoeba_folder(shared_data / "tatoeba", ["yue", "de"])
    assert tatoeba.languages == ("yue", "de") and len(tatoeba.sources) == 4
    with pytest.raises(UsageError, match="tatoeba has no language 'yo'"):
        read_tatoeba_folder(shared_data / "tatoeba", ["yo"])
    with pytest.raises(UsageError, match="no languages chosen"):
        read_tatoeba_folder(shared_data / "tatoeba", [])
    with pytest.raises(UsageError, match="tatoeba has no language 'ha' here"):
        tatoeba["ha"]


def test_prepare_writes_a_pair_that_reads_back_the_same(tatoeba, tmp_path):
    qa = tatoeba.pair("de").limit(30)
    back = read_prepared(prepare(qa, tmp_path).root)
    assert back.relevant == qa.relevant and back.questions == qa.questions


# ------------------------------------------------------------------------------------------- one English pool

_POOLED = ["de", "sw", "kab", "yue"]


def test_the_pool_counts_what_the_files_hold(shared_data):
    folder = shared_data / "tatoeba"
    qa = load_parallel_qa("tatoeba-pool", data=folder, languages=["en", *_POOLED])
    # an independent reading: each language's lines, each English sentence's first translation
    first: dict[str, dict[str, str]] = {}
    for lang in _POOLED:
        own, eng = (_lines(folder / f) for f in tatoeba_files(lang))
        first[lang] = {}
        for sentence, english in zip(own, eng):
            first[lang].setdefault(english, sentence)
    english = set().union(*first.values())
    assert qa.name == "tatoeba-pool" and qa.languages == ("en", *_POOLED)
    assert len(qa.qids) == len(english) == len(qa.candidates["en"]) < sum(len(first[lang]) for lang in _POOLED)
    assert {c.text for c in qa.candidates["en"]} == english == set(qa.questions["en"].values())
    assert list(qa.qids) == sorted(qa.qids) == list(qa.questions["en"])
    for lang in _POOLED:
        expected = {english_item_id(e): s for e, s in first[lang].items()}
        assert qa.questions[lang] == {q: expected[q] for q in qa.qids if q in expected}
        assert {c.text for c in qa.candidates[lang]} == set(first[lang].values())
        for qid, sentence in list(qa.questions[lang].items())[:50]:
            assert qa.positive(qid, lang).text == sentence
            assert english_item_id(qa.positive(qid, "en").text) == qid
    assert sorted(qa.sources) == sorted(f for lang in _POOLED for f in tatoeba_files(lang))
    qa.check_linked()


def test_item_ids_stay_when_languages_are_added(tatoeba):
    small, large = tatoeba.pool(["de", "sw"]), tatoeba.pool(["kab", "de", "yue", "sw"])
    assert set(small.qids) < set(large.qids)
    for lang in ("en", "de", "sw"):
        assert small.questions[lang] == {q: t for q, t in large.questions[lang].items() if q in small.qids}
    assert small.languages == ("en", "de", "sw") and large.languages == ("en", "kab", "de", "yue", "sw")


def test_the_pool_needs_its_languages(shared_data, tatoeba):
    with pytest.raises(UsageError, match=r"^tatoeba-pool needs --languages"):
        load_parallel_qa("tatoeba-pool", data=shared_data / "tatoeba")
    qa = load_parallel_qa("tatoeba-pool", data=shared_data / "tatoeba", languages=["sw"])
    assert qa.languages == ("en", "sw") and len(qa.qids) == len(tatoeba["sw"])
    with pytest.raises(UsageError, match="en is its pool"):
        tatoeba.pool(["de", "en"])
    with pytest.raises(UsageError, match="tatoeba has no language 'ha' here"):
        tatoeba.pool(["ha"])


def test_an_english_sentence_keeps_its_first_translation():
    tatoeba = TatoebaSet({"de": Bitext("de", ("Ja.", "Jawohl.", "Ja."), ("Yes.", "Yes.", "Yes!")),
                          "nl": Bitext("nl", ("Nee.",), ("No.",))})
    qa = tatoeba.pool()
    yes, yes_loud = english_item_id("Yes."), english_item_id("Yes!")
    assert qa.questions["de"] == {q: "Ja." for q in sorted((yes, yes_loud))}
    assert [c.text for c in qa.candidates["de"]] == ["Ja."]                 # "Jawohl." is left out
    assert qa.relevant["de"][yes] == qa.relevant["de"][yes_loud]            # one candidate, relevant to both
    assert qa.item_languages(english_item_id("No.")) == ("en", "nl")


_ENGLISH = st.lists(st.sampled_from(["Yes.", "No.", "Good.", "Hello."]), min_size=1, max_size=8)


@given(st.data())
def test_every_pooled_question_finds_its_english_and_the_pool_holds_each_once(data):
    bitexts = {}
    for lang in data.draw(st.lists(st.sampled_from(["de", "nl", "sw"]), min_size=1, max_size=3, unique=True)):
        eng = data.draw(_ENGLISH)
        own = data.draw(st.lists(st.sampled_from(["Ja.", "Nein.", "Gut."]), min_size=len(eng), max_size=len(eng)))
        bitexts[lang] = Bitext(lang, tuple(own), tuple(eng))
    qa = TatoebaSet(bitexts).pool()
    english = {e for b in bitexts.values() for e in b.english}
    assert sorted(c.text for c in qa.candidates["en"]) == sorted(english)
    for lang, bitext in bitexts.items():
        for qid, sentence in qa.questions[lang].items():
            assert (sentence, qa.positive(qid, "en").text) in bitext.pairs()
            assert qa.positive(qid, lang).text == sentence
        assert len(qa.questions[lang]) == len(set(bitext.english))
    qa.check_linked()


# ------------------------------------------------------------------------------------------- malformed files

def _folder(root, own: bytes, eng: bytes):
    folder = root / "tatoeba"
    folder.mkdir(exist_ok=True)
    (folder / "tatoeba.deu-eng.deu").write_bytes(own)
    (folder / "tatoeba.deu-eng.eng").write_bytes(eng)
    return folder


@pytest.mark.parametrize(("own", "eng", "message"), [
    (b"Ja.\nNein.\n", b"Yes.\n", r"tatoeba\.deu-eng\.eng: has 1 lines but its other side has 2 \(line 2 has no "
                                 r"translation\)"),
    (b"Ja.\n\nNein.\n", b"Yes.\nNo.\nNo!\n", r"tatoeba\.deu-eng\.deu: line 2: empty sentence"),
    (b"Ja.\n", b"Y\xe9s.\n", r"tatoeba\.deu-eng\.eng: line 1 byte 2: not UTF-8 text"),
])
def test_malformed_files_name_the_file_and_line(tmp_path, own, eng, message):
    with pytest.raises(DataError, match=message):
        read_tatoeba_folder(_folder(tmp_path, own, eng), ["de"])


def test_a_missing_file_is_named(tmp_path):
    folder = _folder(tmp_path, b"Ja.\n", b"Yes.\n")
    (folder / "tatoeba.deu-eng.eng").unlink()
    with pytest.raises(DataError, match=r"missing tatoeba\.deu-eng\.eng"):
        read_tatoeba_folder(folder, ["de"])


def test_a_bitext_checks_itself():
    with pytest.raises(DataError, match="de: 2 sentences but 1 English translations"):
        Bitext("de", ("a", "b"), ("x",))
    with pytest.raises(DataError, match="cannot be en"):
        Bitext("en", ("a",), ("x",))
    with pytest.raises(DataError, match="language 'd e' is not allowed"):
        Bitext("d e", ("a",), ("x",))


_SENTENCES = st.lists(st.sampled_from(["Ja.", "Nein.", "Gut.", "Ja!"]), min_size=1, max_size=10)


@given(st.data())
def test_every_pair_finds_its_own_sentences_and_pools_hold_each_text_once(data):
    own = data.draw(_SENTENCES)
    eng = data.draw(st.lists(st.sampled_from(["Yes.", "No.", "Good."]), min_size=len(own), max_size=len(own)))
    qa = TatoebaSet({"de": Bitext("de", tuple(own), tuple(eng))}).pair("de")
    for i, (sentence, english) in enumerate(zip(own, eng)):
        assert qa.positive(str(i + 1), "de").text == sentence and qa.positive(str(i + 1), "en").text == english
    assert sorted(c.text for c in qa.candidates["de"]) == sorted(set(own))
    assert sorted(c.text for c in qa.candidates["en"]) == sorted(set(eng))


# ------------------------------------------------------------------------------------------- the download

def test_download_from_a_mirror_is_verified_and_reads(loopback_mirror, serve_copy, shared_data, tmp_path):
    url, root = loopback_mirror
    serve_copy(shared_data / "tatoeba", root / "tatoeba")
    folder = fetch_dataset("tatoeba", mirrors=[url], cache=tmp_path / "cache")
    assert sorted(p.name for p in folder.iterdir()) == sorted(DATASETS["tatoeba"].sha256)
    assert len(load_tatoeba(data=folder, languages=["de"])["de"]) == len(_lines(shared_data / "tatoeba" /
                                                                             "tatoeba.deu-eng.deu"))


def test_a_tampered_file_is_refused_and_not_kept(loopback_mirror, serve_copy, shared_data, tmp_path):
    url, root = loopback_mirror
    serve_copy(shared_data / "tatoeba", root / "tatoeba", tampered="tatoeba.deu-eng.eng")
    cache = tmp_path / "cache"
    with pytest.raises(DownloadError, match=r"could not download tatoeba\.deu-eng\.eng: .*checksum mismatch"):
        fetch_dataset("tatoeba", mirrors=[url], cache=cache)
    assert not (cache / "tatoeba" / "tatoeba.deu-eng.eng").exists()
    assert not [p for p in cache.rglob("*") if p.name.endswith(".tmp")]


def test_release_addresses_are_pinned():
    laser = "https://raw.githubusercontent.com/facebookresearch/LASER/74bc6ae7ffb7cba670fe0f428d0ede9f666fb821/"
    assert DATASETS["tatoeba"].urls("tatoeba.deu-eng.deu", None)[-1] == f"{laser}data/tatoeba/v1/tatoeba.deu-eng.deu"
    assert DATASETS["tatoeba"].urls("LICENSE.LASER", None)[-1] == f"{laser}LICENSE"
