"""hybrid_plugin.pyserini.sharded: the stock ``pyserini.encode`` in shards on two processes, merged with Pyserini's
own tool, gives the index of one unsharded encode (same docids, same order, same vectors, same runs); bad input
is refused in one line before anything runs, and a failed shard leaves no output."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from hybrid_plugin.errors import DataError, UsageError
from hybrid_plugin.files import MARKER, claim_output, is_owned
from hybrid_plugin.pyserini.corpus_check import corpus_files, shard_sizes
from hybrid_plugin.pyserini.export import TOLERANCE, export_model, read_export
from hybrid_plugin.pyserini.sharded import (RECORD_FILE, ShardedIndex, ShardSettings, encode_corpus_sharded,
                                            read_sharded_index)


@pytest.fixture(scope="module")
def exported(tiny_xquad_model, tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("encoders") / "tiny-xquad"
    export_model(str(tiny_xquad_model), folder, verify=False)  # test_export proves the flags
    return folder


@pytest.fixture(scope="module")
def prepared(xquad, tmp_path_factory):
    from hybrid_plugin.pyserini.prepared import prepare

    return prepare(xquad.select_languages(["en", "de", "es"]).limit(12), tmp_path_factory.mktemp("prepared"))


@pytest.fixture(scope="module")
def corpus(prepared) -> Path:
    return prepared.corpus("en").parent  # a folder: en.jsonl, de.jsonl, es.jsonl


def _docids_in_pyserini_order(corpus: Path) -> list[str]:
    return [json.loads(line)["id"] for path in corpus_files(corpus)
            for line in path.read_text(encoding="utf-8").splitlines()]


def _no_leftovers(parent: Path) -> bool:
    return not [p for p in parent.iterdir() if p.name.startswith(".")]  # staging folders


# --------------------------------------------------------------------------------------- settings and record


@pytest.mark.parametrize("kwargs, needle", [
    ({"shards": 0}, "shards must be a positive integer but got 0"),
    ({"shards": True}, "shards must be a positive integer"),
    ({"shards": 2.0}, "shards must be a positive integer"),
    ({"parallel": 0}, "parallel must be a positive integer or None but got 0"),
    ({"batch_size": -1}, "batch_size must be a positive integer but got -1"),
    ({"max_length": 0}, "max_length must be a positive integer or None"),
    ({"threads": 0}, "threads must be a positive integer or None"),
    ({"devices": ()}, "devices must name at least one device"),
    ({"devices": ("cpu", "")}, "devices must name at least one device"),
])
def test_bad_settings_are_refused(kwargs, needle):
    with pytest.raises(UsageError, match=needle):
        ShardSettings(**kwargs)


def test_settings_defaults():
    settings = ShardSettings(shards=3)
    assert (settings.parallel, settings.devices, settings.threads >= 1) == (3, ("cpu",), True)
    assert ShardSettings(shards=2, parallel=8).parallel == 2  # never more processes than shards
    assert ShardSettings(shards=2, parallel=1, threads=5).threads == 5
    cycled = ShardSettings(shards=3, devices="cuda:0")
    assert cycled.devices == ("cuda:0",)
    assert [ShardSettings(shards=3, devices=("cuda:0", "cuda:1")).device(i) for i in range(3)] == \
           ["cuda:0", "cuda:1", "cuda:0"]


def test_record_has_one_json_form(tmp_path):
    record = ShardedIndex(path=tmp_path / "idx", encoder=tmp_path / "enc", corpus=tmp_path / "c.jsonl", dimension=32,
                          docs_per_shard=(3, 4), seconds_per_shard=(1.5, 2.25), merge_seconds=0.5, parallel=2,
                          threads=1, devices=("cpu",))
    data = json.loads(json.dumps(record.to_json()))
    assert (data["shards"], data["docs"], data["format"]) == (2, 7, 1)
    assert ShardedIndex.from_json(data) == record
    (tmp_path / "idx").mkdir()
    (tmp_path / "idx" / RECORD_FILE).write_text(json.dumps(data))
    assert read_sharded_index(tmp_path / "idx") == record
    with pytest.raises(UsageError, match=f"not a sharded index \\(no valid {RECORD_FILE}\\)"):
        read_sharded_index(tmp_path)


# ---------------------------------------------------------------------------------------------- bad input


def _plugin_output(tmp_path: Path) -> Path:
    return claim_output(tmp_path / "earlier", "index")


def _foreign_output(tmp_path: Path) -> Path:
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "notes.txt").write_text("keep")
    return folder


@pytest.mark.parametrize("case, needle", [
    ("missing corpus", "--corpus .* does not exist"),
    ("zero shards", "shards must be a positive integer but got 0"),
    ("no pyserini.json", "not an exported encoder \\(no valid pyserini.json\\)"),
    ("foreign output", "is not empty and was not written by hybrid-plugin"),
    ("earlier output", "already holds output; pass --overwrite"),
    ("output inside corpus", "is inside --corpus"),
    ("too many shards", "--shards 9999 is more than the"),
    ("max length too long", "max_length 4096 is longer than the export's 64"),
    ("unknown device", "device 'cuda:7' is not available"),
])
def test_bad_input_is_one_line_and_writes_nothing(case, needle, exported, tiny_xquad_model, corpus, tmp_path):
    args = {"encoder": exported, "corpus": corpus, "out": tmp_path / "index"}
    options = {"shards": 2}
    if case == "missing corpus":
        args["corpus"] = tmp_path / "missing.jsonl"
    elif case == "zero shards":
        options["shards"] = 0
    elif case == "no pyserini.json":
        args["encoder"] = tiny_xquad_model  # a sentence-transformers folder, not exported
    elif case == "foreign output":
        args["out"] = _foreign_output(tmp_path)
    elif case == "earlier output":
        args["out"] = _plugin_output(tmp_path)
    elif case == "output inside corpus":
        args["out"] = corpus / "index"
    elif case == "too many shards":
        options["shards"] = 9999
    elif case == "max length too long":
        options["max_length"] = 4096
    elif case == "unknown device":
        options["device"] = ["cpu", "cuda:7"]
    before = {p: p.stat().st_mtime_ns for p in Path(args["out"]).glob("*")} if Path(args["out"]).exists() else None
    with pytest.raises(UsageError, match=needle) as caught:
        encode_corpus_sharded(args["encoder"], args["corpus"], args["out"], **options)
    assert "\n" not in str(caught.value)
    out = Path(args["out"])
    assert (before is None and not out.exists()) or before == {p: p.stat().st_mtime_ns for p in out.glob("*")}
    assert _no_leftovers(out.parent)


def test_a_corpus_pyserini_cannot_read_is_refused_before_any_process(exported, tmp_path):
    corpus = tmp_path / "c.jsonl"
    corpus.write_text('{"id": "a", "contents": "fine"}\n{"id": "b", "contents": "two\\nfields"}\n')
    with pytest.raises(DataError, match="line 2: .*line break"):
        encode_corpus_sharded(exported, corpus, tmp_path / "index")
    assert not (tmp_path / "index").exists() and _no_leftovers(tmp_path)


# ------------------------------------------------------------------------------------ the stock commands


def _search(encoder: Path, index: Path, topics: Path, run: Path) -> list[tuple[str, str, int, float]]:
    from hybrid_plugin.pyserini.java import pyserini_env

    args = read_export(encoder).search_args(index, topics, run, hits=10)
    done = subprocess.run([sys.executable, *args[1:]], env=pyserini_env(), capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    rows = [line.split() for line in run.read_text().splitlines()]
    return [(qid, docid, int(rank), float(score)) for qid, _, docid, rank, score, _ in rows]


@pytest.mark.slow
@pytest.mark.java
def test_two_shards_on_two_processes_equal_one_shard(exported, tiny_xquad_model, prepared, corpus, tmp_path):
    import faiss
    from sentence_transformers import SentenceTransformer

    two = encode_corpus_sharded(exported, corpus, tmp_path / "two", shards=2, parallel=2, batch_size=8)
    one = encode_corpus_sharded(exported, corpus, tmp_path / "one", shards=1, batch_size=8)
    order = _docids_in_pyserini_order(corpus)
    assert (two.shards, two.parallel, two.docs_per_shard) == (2, 2, tuple(shard_sizes(len(order), 2)))
    assert (one.shards, one.docs_per_shard, one.merge_seconds) == (1, (len(order),), 0.0)
    assert read_sharded_index(tmp_path / "two") == two and is_owned(tmp_path / "two")
    assert sorted(p.name for p in (tmp_path / "two").iterdir()) == sorted([MARKER, RECORD_FILE, "docid", "index"])

    vectors = {}
    for name in ("two", "one"):
        assert (tmp_path / name / "docid").read_text().split() == order  # the corpus order, each docid once
        index = faiss.read_index(str(tmp_path / name / "index"))
        vectors[name] = index.reconstruct_n(0, index.ntotal)
    assert np.abs(vectors["two"] - vectors["one"]).max() <= 1e-5
    texts = {json.loads(line)["id"]: json.loads(line)["contents"] for path in corpus_files(corpus)
             for line in path.read_text(encoding="utf-8").splitlines()}
    model = SentenceTransformer(str(tiny_xquad_model), device="cpu")
    expected = model.encode([texts[d] for d in order], prompt="passage: ", convert_to_numpy=True)
    assert np.abs(vectors["two"] - expected).max() <= TOLERANCE

    topics = tmp_path / "topics.tsv"
    en, de = (prepared.topics(lang).read_text(encoding="utf-8").splitlines(keepends=True) for lang in ("en", "de"))
    topics.write_text("".join(en[:3] + de[3:6]), encoding="utf-8")  # the languages share qids: 6 distinct
    run_two = _search(exported, tmp_path / "two", topics, tmp_path / "two.txt")
    run_one = _search(exported, tmp_path / "one", topics, tmp_path / "one.txt")
    assert len(run_two) == 6 * 10
    assert [r[:3] for r in run_two] == [r[:3] for r in run_one]
    assert max(abs(a[3] - b[3]) for a, b in zip(run_two, run_one)) <= 1e-5


@pytest.mark.slow
@pytest.mark.java
def test_a_failed_shard_names_itself_and_leaves_no_output(exported, corpus, tmp_path):
    broken = tmp_path / "broken-encoder"
    shutil.copytree(exported, broken)
    (broken / "model.safetensors").write_bytes(b"not a safetensors file")
    earlier = claim_output(tmp_path / "index", "index")
    (earlier / "docid").write_text("kept\n")
    with pytest.raises(DataError, match=r"^shard [01] of 2 failed \(exit status 1\): \S") as caught:
        encode_corpus_sharded(broken, corpus, earlier, shards=2, parallel=2, overwrite=True)
    assert "\n" not in str(caught.value)
    assert (earlier / "docid").read_text() == "kept\n"  # the earlier output, as it was
    assert _no_leftovers(tmp_path)
