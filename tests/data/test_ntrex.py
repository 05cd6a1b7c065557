"""NTREX-128: the reader on the published files and on malformed ones, its download, and the round trip through
prepare."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hybrid_plugin.data import DATASETS, fetch_dataset, load_parallel_qa
from hybrid_plugin.data.languages import dataset_languages
from hybrid_plugin.data.ntrex import ntrex_file, read_document_ids, read_ntrex_folder
from hybrid_plugin.errors import DataError, DownloadError, UsageError
from hybrid_plugin.pyserini.prepared import prepare, read_prepared


@pytest.fixture(scope="module")
def ntrex(shared_data):
    return load_parallel_qa("ntrex-128", data=shared_data / "ntrex-128")


def _lines(path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines()


def test_all_128_languages_are_read_under_the_plugins_codes(ntrex, shared_data):
    folder = shared_data / "ntrex-128"
    assert len(ntrex.languages) == 128 and ntrex.languages[0] == "en"
    assert set(ntrex.languages) == set(dataset_languages("ntrex-128"))
    assert {"de", "zh", "zh-TW", "en-GB", "sr-Cyrl", "yo"} <= set(ntrex.languages)
    assert len(ntrex.qids) == len(_lines(folder / "DOCUMENT_IDS.tsv"))
    assert ntrex.num_questions() == len(ntrex.qids) * 128
    assert ntrex.sources[ntrex_file("zh-TW")] == DATASETS["ntrex-128"].sha256[ntrex_file("zh-TW")]


@pytest.mark.parametrize("lang", ["en", "de", "zh-TW", "yo", "sr-Latn"])
def test_line_n_is_item_n_its_question_and_its_answer(ntrex, shared_data, lang):
    sentences = _lines(shared_data / "ntrex-128" / ntrex_file(lang))
    for n in (1, 2, 500, len(sentences)):
        qid = str(n)
        assert ntrex.questions[lang][qid] == sentences[n - 1]
        assert ntrex.positive(qid, lang).text == sentences[n - 1]
    assert len(ntrex.candidates[lang]) == len(set(sentences))


def test_candidates_sit_in_their_documents(ntrex, shared_data):
    documents = _lines(shared_data / "ntrex-128" / "DOCUMENT_IDS.tsv")
    first = ntrex.positive("1", "de")
    assert first.docid == "de-0-0" and (first.paragraph, first.sentence) == (0, 0)
    last = ntrex.positive(str(len(documents)), "de")
    assert last.paragraph == len(dict.fromkeys(documents)) - 1
    assert last.sentence == documents.count(documents[-1]) - 1
    assert [c.text for c in ntrex.paragraph_of(first)][:2] == [ntrex.questions["de"][q] for q in ("1", "2")]


def test_equal_sentences_are_one_candidate_relevant_to_both_items(ntrex):
    by_text: dict[str, list[str]] = {}
    for qid, text in ntrex.questions["de"].items():
        by_text.setdefault(text, []).append(qid)
    twice = [qids for qids in by_text.values() if len(qids) > 1]
    assert twice
    for qids in twice:
        assert len({ntrex.relevant["de"][q] for q in qids}) == 1


def test_languages_are_read_alone_and_in_the_given_order(shared_data):
    qa = load_parallel_qa("ntrex-128", data=shared_data / "ntrex-128", languages=["yo", "en"])
    assert qa.languages == ("yo", "en")
    assert sorted(qa.sources) == sorted(["DOCUMENT_IDS.tsv", ntrex_file("yo"), ntrex_file("en")])
    with pytest.raises(UsageError, match="ntrex-128 has no language 'xx'"):
        read_ntrex_folder(shared_data / "ntrex-128", ["en", "xx"])
    with pytest.raises(UsageError, match="listed twice"):
        read_ntrex_folder(shared_data / "ntrex-128", ["en", "en"])
    with pytest.raises(UsageError, match="no languages chosen"):
        read_ntrex_folder(shared_data / "ntrex-128", [])


def test_prepare_writes_files_that_read_back_the_same(shared_data, tmp_path):
    qa = load_parallel_qa("ntrex-128", data=shared_data / "ntrex-128", languages=["en", "de", "ja"]).limit(40)
    back = read_prepared(prepare(qa, tmp_path).root)
    for lang in qa.languages:
        assert back.relevant[lang] == qa.relevant[lang]
        assert [c.docid for c in back.candidates[lang]] == [c.docid for c in qa.candidates[lang]]


# ------------------------------------------------------------------------------------------- malformed files

def _folder(root, *, en="A.\nB.\nC.\n", de="Ah.\nBe.\nCe.\n", documents="d1\nd1\nd2\n", raw_de: bytes | None = None):
    folder = root / "ntrex"
    (folder / "NTREX-128").mkdir(parents=True, exist_ok=True)
    (folder / "DOCUMENT_IDS.tsv").write_text(documents, encoding="utf-8")
    (folder / ntrex_file("en")).write_text(en, encoding="utf-8")
    (folder / ntrex_file("de")).write_bytes(raw_de if raw_de is not None else de.encode("utf-8"))
    return folder


def test_a_small_folder_reads_by_its_content(tmp_path):
    qa = load_parallel_qa(_folder(tmp_path, de="Ah.\r\nBe.\r\nCe.\r\n"), languages=["de", "en"])
    assert qa.name == "ntrex" and qa.languages == ("de", "en")
    assert qa.questions["de"] == {"1": "Ah.", "2": "Be.", "3": "Ce."}
    assert [c.docid for c in qa.candidates["en"]] == ["en-0-0", "en-0-1", "en-1-0"]
    assert read_document_ids(tmp_path / "ntrex" / "DOCUMENT_IDS.tsv") == [(0, 0), (0, 1), (1, 0)]


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"de": "Ah.\nBe.\n"}, r"newstest2019-ref\.deu\.txt: has 2 sentences, expected 3 \(one per line of "
                           r"DOCUMENT_IDS\.tsv"),
    ({"de": "Ah.\n\nCe.\n"}, r"newstest2019-ref\.deu\.txt: line 2: empty sentence"),
    ({"raw_de": b"Ah.\nB\xffe.\nCe.\n"}, r"newstest2019-ref\.deu\.txt: line 2 byte 2: not UTF-8 text"),
    ({"documents": "d1\nd1\textra\nd2\n"}, r"DOCUMENT_IDS\.tsv: line 2: expected one document id, got 2 column"),
])
def test_malformed_files_name_the_file_and_line(tmp_path, kwargs, message):
    with pytest.raises(DataError, match=message):
        read_ntrex_folder(_folder(tmp_path, **kwargs), ["en", "de"])


def test_a_missing_language_file_is_named(tmp_path):
    folder = _folder(tmp_path)
    with pytest.raises(DataError, match=r"missing NTREX-128/newstest2019-ref\.yor\.txt"):
        read_ntrex_folder(folder, ["en", "yo"])


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.sampled_from(["Ja.", "Nein.", "Vielleicht.", "Gut so.", "Ja!"]), min_size=1, max_size=12))
def test_every_item_finds_its_own_sentence_and_pools_hold_each_text_once(tmp_path, sentences):
    n = len(sentences)
    folder = _folder(tmp_path, en="".join(f"S{i}.\n" for i in range(n)), de="".join(s + "\n" for s in sentences),
                     documents="".join(f"d{i // 4}\n" for i in range(n)))
    qa = read_ntrex_folder(folder, ["de", "en"])
    assert [qa.positive(str(i + 1), "de").text for i in range(n)] == sentences
    assert sorted(c.text for c in qa.candidates["de"]) == sorted(set(sentences))
    assert all(qa.positive(str(i + 1), "en").paragraph == i // 4 for i in range(n))


# ------------------------------------------------------------------------------------------- the download

def test_download_from_a_mirror_is_verified_and_reads(loopback_mirror, serve_copy, shared_data, tmp_path):
    url, root = loopback_mirror
    serve_copy(shared_data / "ntrex-128", root / "ntrex-128")
    folder = fetch_dataset("ntrex-128", mirrors=[url], cache=tmp_path / "cache")
    assert sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()) == sorted(
        DATASETS["ntrex-128"].sha256)
    assert load_parallel_qa("ntrex-128", data=folder, languages=["en", "bem"]).languages == ("en", "bem")


def test_a_tampered_file_is_refused_and_not_kept(loopback_mirror, serve_copy, shared_data, tmp_path):
    url, root = loopback_mirror
    tampered = ntrex_file("de")
    serve_copy(shared_data / "ntrex-128", root / "ntrex-128", tampered=tampered)
    cache = tmp_path / "cache"
    with pytest.raises(DownloadError, match=rf"could not download {tampered}: .*checksum mismatch"):
        fetch_dataset("ntrex-128", mirrors=[url], cache=cache)
    assert not (cache / "ntrex-128" / tampered).exists()
    assert not [p for p in cache.rglob("*") if p.name.endswith(".tmp")]


def test_release_addresses_are_pinned():
    assert DATASETS["ntrex-128"].urls(ntrex_file("en"), None)[-1] == (
        "https://raw.githubusercontent.com/MicrosoftTranslator/NTREX/8561f6a622db9edad1217683e5c83daefd8bb2bf/"
        "NTREX-128/newstest2019-src.eng.txt")
