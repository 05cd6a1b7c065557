"""AfriQA: questions in their language and the pivot, gold passages as the pivot's pool, the choice of languages
and splits, malformed files and the download."""

from __future__ import annotations

import json

import pytest

from hybrid_plugin.data import DATASETS, fetch_dataset, load_parallel_qa
from hybrid_plugin.data.afriqa import AFRIQA_PIVOTS, question_languages, read_afriqa_folder
from hybrid_plugin.data.languages import dataset_code
from hybrid_plugin.errors import DataError, DownloadError, UsageError
from hybrid_plugin.training.dataset import build_training_dataset


def _usable(value) -> bool:
    return isinstance(value, str) and bool(value.strip())


def _published(folder, split: str) -> dict[str, tuple[str, str, str, str]]:
    """qid -> (pivot, question, translation, passage) of every gold line with all three texts, read directly."""
    items = {}
    for path in sorted(folder.glob(f"gold_passages/*/gold_span_passages.afriqa.*.{split}.json")):
        _, _, own, pivot, _, _ = path.name.split(".")
        lang = {dataset_code(code, "afriqa"): code for code in (*question_languages(), *AFRIQA_PIVOTS)}[own]
        for line in path.read_text(encoding="utf-8").splitlines():
            r = json.loads(line)
            if all(_usable(r[k]) for k in ("question_lang", "question_translated", "context")):
                items[f"{lang}-{split}-{r['id']}"] = (pivot, r["question_lang"], r["question_translated"], r["context"])
    return items


@pytest.fixture(scope="module")
def afriqa(shared_data):
    return load_parallel_qa("afriqa", data=shared_data / "afriqa")


def test_the_test_split_holds_every_question_with_a_gold_passage(afriqa, shared_data):
    published = _published(shared_data / "afriqa", "test")
    assert set(afriqa.qids) == set(published)
    for qid, (pivot, question, translation, passage) in published.items():
        lang = qid.split("-")[0]
        assert afriqa.questions[lang][qid] == question
        assert afriqa.questions[pivot][qid] == translation
        assert afriqa.positive(qid, pivot).text == passage
        assert afriqa.item_languages(qid) == (lang, pivot)


def test_question_languages_are_query_only_and_pivots_hold_the_passages(afriqa):
    assert afriqa.languages == ("bem", "fon", "ha", "ig", "rw", "sw", "tw", "yo", "zu", "en", "fr")  # no wo passages
    for lang in question_languages():
        if lang in afriqa.languages:
            assert afriqa.candidates[lang] == [] and afriqa.relevant[lang] == {}
    assert {afriqa.positive(q, "fr") is not None for q in afriqa.questions["fon"]} == {True}
    for pivot in AFRIQA_PIVOTS:
        texts = [c.text for c in afriqa.candidates[pivot]]
        assert len(texts) == len(set(texts)) == len({afriqa.positive(q, pivot).text for q in afriqa.relevant[pivot]})
        assert all(c.language == pivot and c.docid == f"{pivot}-{c.paragraph}-0" for c in afriqa.candidates[pivot])


def test_the_other_splits_load_by_name(shared_data):
    train = load_parallel_qa("afriqa-train", data=shared_data / "afriqa", languages=["yo", "en"])
    assert train.name == "afriqa-train" and train.languages == ("yo", "en")
    assert set(train.qids) == {q for q in _published(shared_data / "afriqa", "train") if q.startswith("yo-")}
    dev = load_parallel_qa("afriqa-dev", data=shared_data / "afriqa")
    assert "yo" not in dev.languages and "sw" not in dev.languages and dev.qids[0].startswith("bem-dev-")
    both = read_afriqa_folder(shared_data / "afriqa", ["ha", "en"], splits=["train", "test"])
    assert {q.split("-")[1] for q in both.qids} == {"train", "test"}


def test_a_pivot_alone_is_the_monolingual_reference(shared_data):
    qa = read_afriqa_folder(shared_data / "afriqa", ["fr"])
    assert qa.languages == ("fr",)
    assert set(qa.questions["fr"]) == {q for q in _published(shared_data / "afriqa", "test") if q.startswith("fon-")}


@pytest.mark.parametrize(("languages", "splits", "message"), [
    (["ha"], ["test"], "ha questions are judged against en passages; add en to the languages"),
    (["wo", "fr"], ["test"], "afriqa has no gold passages for wo questions in split test"),
    (["sw", "en"], ["train"], "afriqa has no gold passages for sw questions in split train"),
    (["ha", "en", "fr"], ["test"], "none of the chosen question languages is judged against fr passages"),
    (["xh", "en"], ["test"], "afriqa has no language 'xh'"),
    (["ha", "en"], ["validation"], "splits must be distinct values of train, dev, test, got validation"),
])
def test_choices_that_cannot_be_met_are_usage_errors(shared_data, languages, splits, message):
    with pytest.raises(UsageError, match=message):
        read_afriqa_folder(shared_data / "afriqa", languages, splits=splits)


def test_training_rows_pair_both_questions_with_the_passage(shared_data):
    qa = read_afriqa_folder(shared_data / "afriqa", ["ha", "en"]).limit(20)
    rows = build_training_dataset(qa)
    assert len(rows) == 2 * len(qa.qids)
    assert {row["positive"] for row in rows} == {c.text for c in qa.candidates["en"]}


# ------------------------------------------------------------------------------------------- malformed files

def _gold(root, lines: list[str]):
    folder = root / "afriqa"
    path = folder / "gold_passages" / "hau" / "gold_span_passages.afriqa.hau.en.test.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return folder


def _line(qid="0", question="Q?", translation="T?", context="A passage.") -> str:
    return json.dumps({"id": qid, "question_lang": question, "question_translated": translation,
                       "context": context, "title": "x", "answer_pivot": {"answer_start": [0], "text": ["A"]}})


def test_lines_without_text_are_left_out_and_the_rest_read_by_content(tmp_path):
    folder = _gold(tmp_path, [_line("0"), _line("1", context=None), _line("2", context=""),
                              _line("3").replace('"Q?"', "NaN"), _line("4", context="A passage.")])
    qa = load_parallel_qa(folder)
    assert qa.name == "afriqa" and qa.languages == ("ha", "en") and qa.qids == ("ha-test-0", "ha-test-4")
    assert len(qa.candidates["en"]) == 1 and qa.relevant["en"] == {"ha-test-0": "en-0-0", "ha-test-4": "en-0-0"}


@pytest.mark.parametrize(("lines", "message"), [
    ([_line("0"), "{not json"], r"gold_span_passages\.afriqa\.hau\.en\.test\.json: line 2: malformed JSON"),
    ([_line("0"), "[1, 2]"], "line 2: expected an object with id, question_lang"),
    ([_line("0").replace('"id": "0"', '"id": null')], 'line 1: "id" must be a non-empty string or integer'),
    ([_line("0"), _line("0")], "line 2: id 0 occurs twice"),
    ([_line("0", context=17)], 'line 1: "context" must be text or null, got int 17'),
    ([_line("a b")], "line 1: question id 'ha-test-a b' is not allowed"),
])
def test_malformed_lines_name_the_file_line_and_field(tmp_path, lines, message):
    with pytest.raises(DataError, match=message):
        read_afriqa_folder(_gold(tmp_path, lines))


def test_a_file_with_an_unknown_pivot_is_refused(tmp_path):
    folder = _gold(tmp_path, [_line("0")])
    path = next(folder.rglob("*.json"))
    path.rename(path.with_name("gold_span_passages.afriqa.hau.xx.test.json"))
    with pytest.raises(DataError, match=r"the pivot language of gold_span_passages\.afriqa\.hau\.xx\.test\.json is not "
                                        "one of en, fr"):
        read_afriqa_folder(folder)
    with pytest.raises(UsageError, match="no languages chosen"):
        read_afriqa_folder(folder, [])


def test_bad_utf8_names_the_line(tmp_path):
    folder = _gold(tmp_path, [_line("0"), _line("1")])
    path = next(folder.rglob("*.json"))
    path.write_bytes(path.read_bytes().replace(b"A passage.", b"A pa\xffssage.", 1))
    with pytest.raises(DataError, match=r"line 1 byte \d+: not UTF-8 text"):
        read_afriqa_folder(folder)


# ------------------------------------------------------------------------------------------- the download

def test_download_from_a_mirror_is_verified_and_reads(loopback_mirror, serve_copy, shared_data, tmp_path):
    url, root = loopback_mirror
    serve_copy(shared_data / "afriqa", root / "afriqa")
    folder = fetch_dataset("afriqa", mirrors=[url], cache=tmp_path / "cache")
    assert sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()) == sorted(
        DATASETS["afriqa"].sha256)
    assert load_parallel_qa("afriqa", data=folder, languages=["zu", "en"]).languages == ("zu", "en")


def test_a_tampered_file_is_refused_and_not_kept(loopback_mirror, serve_copy, shared_data, tmp_path):
    url, root = loopback_mirror
    tampered = "gold_passages/hau/gold_span_passages.afriqa.hau.en.test.json"
    serve_copy(shared_data / "afriqa", root / "afriqa", tampered=tampered)
    cache = tmp_path / "cache"
    with pytest.raises(DownloadError, match=f"could not download {tampered}: .*checksum mismatch"):
        fetch_dataset("afriqa", mirrors=[url], cache=cache)
    assert not (cache / "afriqa" / tampered).exists()
    assert not [p for p in cache.rglob("*") if p.name.endswith(".tmp")]


def test_a_local_copy_must_be_complete(shared_data, tmp_path, serve_copy):
    serve_copy(shared_data / "afriqa", tmp_path / "copy")
    (tmp_path / "copy" / "queries" / "wol" / "queries.afriqa.wol.fr.dev.json").unlink()
    with pytest.raises(DataError, match=r"missing file queries/wol/queries\.afriqa\.wol\.fr\.dev\.json"):
        load_parallel_qa("afriqa", data=tmp_path / "copy")


def test_release_addresses_are_pinned():
    afriqa = "https://raw.githubusercontent.com/masakhane-io/afriqa/5c29933753692c28773c34ac1f68482007f1d2bb/"
    file = "gold_passages/yor/gold_span_passages.afriqa.yor.en.test.json"
    assert DATASETS["afriqa"].urls(file, None)[-1] == f"{afriqa}data/{file}"
    assert DATASETS["afriqa"].urls("LICENSE", None)[-1] == f"{afriqa}LICENSE"
    with pytest.raises(UsageError, match="afriqa has no file 'data/x.json'"):
        DATASETS["afriqa"].urls("data/x.json")
