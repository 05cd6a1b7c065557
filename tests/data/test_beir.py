"""BEIR folders: the reader (graded, many-to-many qrels; titles; errors naming file, line and field), the round
trip through ``prepare --format beir``, and conversion into a parallel collection."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hybrid_plugin import cli
from hybrid_plugin.data.beir import BeirCollection, is_beir_folder, read_beir, read_beir_folder
from hybrid_plugin.data.beir_convert import beir_from_parallel_qa, beir_to_parallel_qa, write_beir
from hybrid_plugin.data.collection import Candidate, ParallelQA
from hybrid_plugin.data.loading import load_parallel_qa
from hybrid_plugin.errors import DataError, UsageError
from hybrid_plugin.pyserini.prepared import read_prepared

CORPUS = [
    {"_id": "d1", "title": "Aspirin", "text": "Aspirin lowers fever."},
    {"_id": "d2", "title": "", "text": "Ibuprofen is an anti-inflammatory drug."},
    {"_id": "d3", "text": "Paracetamol has no title."},
]
QUERIES = [{"_id": "q1", "text": "what lowers fever"}, {"_id": "q2", "text": "anti-inflammatory"},
           {"_id": "q3", "text": "unjudged in test"}]
QRELS = "query-id\tcorpus-id\tscore\nq1\td1\t2\nq1\td3\t1\nq2\td2\t1\nq2\td1\t0\n"


def write_folder(root: Path, corpus=CORPUS, queries=QUERIES, qrels: str | bytes = QRELS, split="test") -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "corpus.jsonl").write_text("".join(json.dumps(d) + "\n" for d in corpus), encoding="utf-8")
    (root / "queries.jsonl").write_text("".join(json.dumps(q) + "\n" for q in queries), encoding="utf-8")
    (root / "qrels").mkdir(exist_ok=True)
    path = root / "qrels" / f"{split}.tsv"
    path.write_bytes(qrels if isinstance(qrels, bytes) else qrels.encode("utf-8"))
    return root


def test_reads_graded_many_to_many_qrels_and_joins_titles_as_pyserini(tmp_path):
    beir = read_beir_folder(write_folder(tmp_path / "med"))
    assert beir.name == "med" and beir.split == "test" and beir.languages == ("en",)
    assert beir.qrels == {"q1": {"d1": 2, "d3": 1}, "q2": {"d2": 1, "d1": 0}}
    assert list(beir.queries) == ["q1", "q2"]  # q3 is not judged in this split: dropped, as BEIR's loader does
    assert beir.relevant("q2") == {"d2": 1}
    assert beir.corpus["d1"].contents == "Aspirin Aspirin lowers fever."
    assert beir.corpus["d1"].encoder_input("passage: ") == "Aspirin passage: Aspirin lowers fever."  # as Pyserini
    assert beir.corpus["d2"].contents == "Ibuprofen is an anti-inflammatory drug."
    assert beir.corpus["d3"].title == "" and set(beir.sources) == {"corpus.jsonl", "queries.jsonl", "qrels/test.tsv"}
    assert is_beir_folder(tmp_path / "med")


def test_split_chooses_the_qrels_file(tmp_path):
    root = write_folder(tmp_path / "s")
    (root / "qrels" / "dev.tsv").write_text("query-id\tcorpus-id\tscore\nq3\td2\t1\n", encoding="utf-8")
    assert list(read_beir_folder(root, split="dev").queries) == ["q3"]
    with pytest.raises(DataError, match=r"no qrels for split 'train' \(splits here: dev, test\)"):
        read_beir_folder(root, split="train")


@pytest.mark.parametrize("change, needle", [
    (dict(corpus=[{"title": "t", "text": "x"}]), r"corpus\.jsonl: line 1: missing field '_id'"),
    (dict(queries=[{"_id": "q1"}]), r"queries\.jsonl: line 1: field 'text' must be a string, got missing"),
    (dict(corpus=[{"_id": 7, "text": "x"}]), r"corpus\.jsonl: line 1 field '_id': candidate id must be a string"),
    (dict(corpus=CORPUS + [CORPUS[0]]), r"corpus\.jsonl: line 4: document id d1 occurs twice"),
    (dict(qrels=QRELS + "q2\td9\t1\n"), r"test\.tsv: line 6: field 'corpus-id': 'd9' is not in corpus\.jsonl"),
    (dict(qrels=QRELS + "q9\td1\t1\n"), r"test\.tsv: line 6: field 'query-id': 'q9' is not in queries\.jsonl"),
    (dict(qrels=QRELS + "q2\td3\t0.5\n"), r"test\.tsv: line 6: field 'score': '0\.5' is not a non-negative integer"),
    (dict(qrels=QRELS + "q2\td3\t-1\n"), r"test\.tsv: line 6: field 'score': '-1' is not a non-negative"),
    (dict(qrels=QRELS + "q2 d3 1\n"), r"test\.tsv: line 6: expected query-id<TAB>corpus-id<TAB>score, got 1"),
    (dict(qrels="q1\td1\t1\n"), r"test\.tsv: line 1: expected the header 'query-id\\tcorpus-id\\tscore'"),
    (dict(qrels=b"query-id\tcorpus-id\tscore\nq1\td1\t1\xff\n"), r"test\.tsv: line 2 byte 8: not UTF-8"),
    (dict(corpus=[{"_id": "d1", "text": "x", "language": "a/b"}]), r"line 1 field 'language': language 'a/b'"),
])
def test_malformed_files_are_one_line_errors(tmp_path, change, needle):
    root = write_folder(tmp_path / "bad", **change)
    with pytest.raises(DataError, match=needle) as caught:
        read_beir_folder(root)
    assert "\n" not in str(caught.value)


def test_bad_json_and_non_objects(tmp_path):
    root = write_folder(tmp_path / "j")
    (root / "queries.jsonl").write_text('{"_id": "q1", "text": "a"}\n{"_id": "q2", \n', encoding="utf-8")
    with pytest.raises(DataError, match=r"queries\.jsonl: line 2: malformed JSON"):
        read_beir_folder(root)
    (root / "queries.jsonl").write_text('["q1", "a"]\n', encoding="utf-8")
    with pytest.raises(DataError, match=r"queries\.jsonl: line 1: expected a JSON object, got list"):
        read_beir_folder(root)


def test_a_bad_folder_through_prepare_is_one_line_and_writes_nothing(tmp_path, capsys):
    root = write_folder(tmp_path / "bad", qrels=QRELS + "q2\td9\t1\n")
    out = tmp_path / "out"
    assert cli.main(["prepare", f"beir:{root}", "--format", "beir", "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert "'d9' is not in corpus.jsonl" in err and len(err.splitlines()) == 1
    assert not out.exists()


def test_several_relevant_documents_in_one_pool_do_not_fit_a_parallel_collection(tmp_path):
    beir = read_beir_folder(write_folder(tmp_path / "g"))
    with pytest.raises(DataError, match=r"query q1 has several relevant documents in the en pool \(d1, d3\)"):
        beir_to_parallel_qa(beir)


def test_round_trip_through_prepare_format_beir(tmp_path, shared_data, capsys):
    data = str(shared_data / "xquad-r")
    common = ["--data", data, "--languages", "en,de,zh", "--limit", "25"]
    assert cli.main(["prepare", "xquad-r", *common, "--format", "beir", "--out", str(tmp_path / "beir")]) == 0
    assert cli.main(["prepare", "xquad-r", *common, "--out", str(tmp_path / "direct")]) == 0
    assert cli.main(["prepare", f"beir:{tmp_path / 'beir'}", "--out", str(tmp_path / "back")]) == 0
    direct, back = read_prepared(tmp_path / "direct"), read_prepared(tmp_path / "back")
    assert back.languages == direct.languages
    assert back.questions == direct.questions and back.relevant == direct.relevant
    assert back.candidates == direct.candidates
    # the same files, byte for byte, whichever way they came (the dataset name aside)
    for sub in ("topics", "corpus", "qrels"):
        mine = sorted(p.relative_to(tmp_path / "direct").as_posix().replace("xquad-r", "D")
                      for p in (tmp_path / "direct" / sub).rglob("*") if p.is_file())
        theirs = sorted(p.relative_to(tmp_path / "back").as_posix().replace("beir", "D")
                        for p in (tmp_path / "back" / sub).rglob("*") if p.is_file())
        assert mine == theirs
    beir = read_beir_folder(tmp_path / "beir")
    assert len(beir.queries) == 75 and all(len(beir.relevant(q)) == 3 for q in beir.queries)  # every pool
    assert cli.main(["prepare", "xquad-r", *common, "--limit", "5", "--format", "beir",
                     "--out", str(tmp_path / "beir")]) == 2  # other content: refused, files kept
    assert len(read_beir_folder(tmp_path / "beir").queries) == 75
    assert "--overwrite" in capsys.readouterr().err


def test_out_of_domain_sets_round_trip(shared_data, tmp_path):
    for name, languages in (("ntrex-128", ["en", "yo", "de"]), ("afriqa", ["yo", "en"])):
        qa = load_parallel_qa(name, data=shared_data / name, languages=languages).limit(30)
        folder = write_beir(beir_from_parallel_qa(qa), tmp_path / name)
        back = load_parallel_qa(folder)  # found by what the folder holds
        assert back.languages == qa.languages and back.questions == qa.questions, name
        assert back.relevant == qa.relevant and back.candidates == qa.candidates, name
        assert back.query_only == qa.query_only


def test_the_named_set_reads_a_local_copy(tmp_path):
    with pytest.raises(DataError, match="several relevant documents"):  # SciFact-like judgments: evaluate_beir
        load_parallel_qa("scifact", data=write_folder(tmp_path / "scifact"))
    with pytest.raises(UsageError, match="unknown dataset"):
        load_parallel_qa(str(tmp_path / "nothing-here"))


names = st.from_regex(r"[a-z][a-z0-9]{0,5}", fullmatch=True)
texts = st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc", "Zl", "Zp")), min_size=1, max_size=20)


@st.composite
def parallel_collections(draw) -> ParallelQA:
    languages = tuple(draw(st.lists(names, min_size=2, max_size=3, unique=True)))
    items = draw(st.lists(names, min_size=1, max_size=4, unique=True))
    questions = {lang: {q: draw(texts) for q in items} for lang in languages}
    candidates = {lang: [Candidate(f"{lang}-{i}-0", draw(texts), lang, i, 0) for i in range(len(items))]
                  for lang in languages}
    relevant = {lang: {q: f"{lang}-{i}-0" for i, q in enumerate(items)} for lang in languages}
    return ParallelQA("prop", languages, questions, candidates, relevant)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(qa=parallel_collections())
def test_write_then_read_is_the_identity(tmp_path_factory, qa):
    folder = write_beir(beir_from_parallel_qa(qa), tmp_path_factory.mktemp("prop") / "prop")
    beir = read_beir_folder(folder)
    assert isinstance(beir, BeirCollection)
    back = beir_to_parallel_qa(beir)
    assert back.languages == qa.languages and back.questions == qa.questions
    assert back.candidates == qa.candidates and back.relevant == qa.relevant


def test_one_folder_per_language_is_one_multilingual_collection(tmp_path):
    root = tmp_path / "mm"
    write_folder(root / "en")
    german = [{"_id": "d1", "title": "Aspirin", "text": "Aspirin senkt Fieber."},
              {"_id": "d2", "text": "Ibuprofen hemmt Entzündungen."}]
    write_folder(root / "de", corpus=german, queries=[{"_id": "q1", "text": "was senkt Fieber"}],
                 qrels="query-id\tcorpus-id\tscore\nq1\td1\t1\n")
    beir = read_beir(root)
    assert beir.languages == ("de", "en") and beir.name == "mm"
    assert beir.qrels["de.q1"] == {"de.d1": 1} and beir.qrels["en.q1"] == {"en.d1": 2, "en.d3": 1}
    assert beir.queries["de.q1"].item == beir.queries["en.q1"].item == "q1"  # mMARCO-style shared ids link
    assert set(beir.sources) >= {"de/corpus.jsonl", "en/qrels/test.tsv"}
    with pytest.raises(DataError, match="several relevant documents in the en pool"):
        load_parallel_qa(f"beir:{root}")
    with pytest.raises(DataError, match="holds no BEIR folder per language"):
        read_beir(tmp_path / "empty-folder-missing")


def test_one_pool_gives_the_x_to_y_protocol(shared_data, tmp_path, capsys):
    out = tmp_path / "tat"
    assert cli.main(["prepare", "tatoeba-de", "--data", str(shared_data / "tatoeba"), "--format", "beir",
                     "--pool", "en", "--out", str(out)]) == 0
    beir = read_beir_folder(out)
    assert {d.language for d in beir.corpus.values()} == {"en"} and len(beir.corpus) == 1000
    assert {q.language for q in beir.queries.values()} == {"de"} and len(beir.queries) == 1000
    assert all(len(beir.relevant(q)) == 1 for q in beir.queries)
    assert cli.main(["prepare", "tatoeba-de", "--data", str(shared_data / "tatoeba"), "--format", "beir",
                     "--pool", "yo", "--out", str(tmp_path / "no")]) == 2
    assert "--pool 'yo' is not a pool of tatoeba-de; its pools: de, en" in capsys.readouterr().err
    assert cli.main(["prepare", "tatoeba-de", "--pool", "en", "--out", str(tmp_path / "no")]) == 2
    assert "--pool is for --format beir" in capsys.readouterr().err and not (tmp_path / "no").exists()
