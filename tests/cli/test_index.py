"""``hybrid-plugin index``: its options, one-line errors with exit status 2, and a sharded encoding end to end."""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from hybrid_plugin import cli
from hybrid_plugin.cli.index import device_list
from hybrid_plugin.pyserini.export import export_model
from hybrid_plugin.pyserini.sharded import RECORD_FILE, read_sharded_index


@pytest.fixture(scope="module")
def exported(tiny_model, tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("encoders") / "tiny"
    export_model(str(tiny_model), folder, verify=False)
    return folder


@pytest.fixture()
def corpus(tmp_path) -> Path:
    texts = ["the cat sat on the mat", "der katze sitzt auf der matte", "el gato está en la alfombra",
             "кошка сидит на коврике", "猫 在 垫 子 上", "dogs bark", "the moon is old", "who sat on the mat"]
    path = tmp_path / "docs.jsonl"
    path.write_text("".join(json.dumps({"id": f"d{i}", "contents": t}, ensure_ascii=False) + "\n"
                            for i, t in enumerate(texts)), encoding="utf-8")
    return path


def _one_line_error(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("hybrid-plugin: error: "), err
    return err[0]


def test_device_list():
    assert device_list("cuda:0, cuda:1") == ("cuda:0", "cuda:1")
    with pytest.raises(argparse.ArgumentTypeError, match="expected devices separated by commas"):
        device_list(" , ")


@pytest.mark.parametrize("extra, needle", [
    (["--shards", "0"], "--shards: expected a positive integer, got 0"),
    (["--shards", "2", "--parallel", "x"], "--parallel: expected a positive integer, got 'x'"),
])
def test_bad_options_are_one_line(extra, needle, capsys, tmp_path):
    argv = ["index", "--encoder", "e", "--corpus", "c", "--out", str(tmp_path / "o"), *extra]
    assert cli.main(argv) == 2
    assert needle in _one_line_error(capsys)


def test_bad_input_is_one_line_and_writes_nothing(exported, corpus, tmp_path, capsys):
    out = tmp_path / "index"
    argv = ["index", "--encoder", str(exported), "--out", str(out), "--shards", "2"]
    assert cli.main([*argv, "--corpus", str(tmp_path / "missing.jsonl")]) == 2
    assert "does not exist" in _one_line_error(capsys)
    assert cli.main([*argv, "--corpus", str(corpus), "--shards", "9"]) == 2
    assert "--shards 9 is more than the 8 documents" in _one_line_error(capsys)
    assert cli.main([*argv[:2], str(corpus.parent), *argv[3:], "--corpus", str(corpus)]) == 2
    assert "not an exported encoder" in _one_line_error(capsys)
    assert not out.exists()


@pytest.mark.slow
@pytest.mark.java
def test_index_writes_a_merged_index(exported, corpus, tmp_path, capsys):
    out = tmp_path / "index"
    argv = ["index", "--encoder", str(exported), "--corpus", str(corpus), "--out", str(out), "--shards", "3",
            "--parallel", "2", "--batch-size", "2", "--threads", "1"]
    assert cli.main(argv) == 0
    stdout = capsys.readouterr().out
    assert f"wrote {out.resolve()}: 8 documents, 32 dimensions, 3 shards (2 at a time, 1 threads each)" in stdout
    assert "documents per shard: 2 2 4" in stdout
    assert "python -m pyserini.search.faiss --index" in stdout and f"{out / RECORD_FILE}" in stdout
    record = read_sharded_index(out)
    assert (record.docs_per_shard, record.parallel, record.threads) == ((2, 2, 4), 2, 1)
    assert (out / "docid").read_text().split() == [f"d{i}" for i in range(8)]
    assert cli.main(argv) == 2  # an earlier output without --overwrite
    assert "pass --overwrite" in _one_line_error(capsys)


@pytest.mark.slow
@pytest.mark.java
def test_an_interrupt_ends_the_shards_and_leaves_nothing(exported, corpus, tmp_path):
    """SIGTERM while the shards run: exit 130, the shard processes ended, no output and no staging folder."""
    out = tmp_path / "index"
    args = [sys.executable, "-m", "hybrid_plugin", "index", "--encoder", str(exported), "--corpus", str(corpus),
            "--out", str(out), "--shards", "2"]
    proc = subprocess.Popen(args, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
    pids, seen = [], []
    for line in proc.stderr:  # the plugin's progress lines: "hybrid-plugin: shard 1 of 2 started (pid N)"
        seen.append(line)
        found = re.search(r"shard \d of 2 started \(pid (\d+)\)", line)
        if found:
            pids.append(int(found[1]))
        if len(pids) == 2:
            break
    proc.send_signal(signal.SIGTERM)
    rest = proc.stderr.read()
    assert proc.wait(timeout=120) == 130, "".join(seen) + rest
    assert "interrupted" in rest and "Traceback" not in rest
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
    assert not out.exists() and not [p for p in tmp_path.iterdir() if p.name.startswith(".")]
