"""hybrid_plugin.export: the exported folder reproduces SentenceTransformer.encode in Pyserini's auto encoders,
in-process and through the stock ``python -m pyserini.encode`` / ``pyserini.search.faiss`` commands."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import E5_PROMPTS, build_tiny_model

from hybrid_plugin import export
from hybrid_plugin.errors import UsageError, VerificationError
from hybrid_plugin.export import ExportInfo, export_model, pyserini_flags, read_export

@pytest.fixture(scope="session")
def tiny_cls_model(tmp_path_factory) -> Path:
    return build_tiny_model(tmp_path_factory.mktemp("models") / "tiny-cls", pooling="cls", normalize=False,
                            prompts=None, seed=1)


def _st(folder: Path):
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(folder), device="cpu")


def _no_leftovers(parent: Path) -> bool:
    return not [p for p in parent.iterdir() if ".tmp-" in p.name or ".old-" in p.name]


# ------------------------------------------------------------------------------------------- flags only


def test_flags_of_an_e5_style_model(tiny_model):
    assert pyserini_flags(_st(tiny_model)) == {"pooling": "mean", "l2_norm": True, "query_prefix": "query:",
                                               "passage_prefix": "passage:", "max_length": 40,
                                               "prompts": E5_PROMPTS}


def test_flags_of_a_cls_model_without_prompts(tiny_cls_model):
    flags = pyserini_flags(_st(tiny_cls_model))
    assert (flags["pooling"], flags["l2_norm"], flags["query_prefix"], flags["passage_prefix"]) == \
           ("cls", False, None, None)


@pytest.mark.parametrize(("prompt", "prefix"), [("query: ", "query:"), ("query:", "query:"), ("", None),
                                                (None, None), (" ", None), ("Represent: ", "Represent:")])
def test_prompt_to_prefix(prompt, prefix):
    assert export._prefix(prompt) == prefix


def test_parts_pyserini_cannot_reproduce_are_refused(tiny_model):
    from sentence_transformers.sentence_transformer.modules import Dense

    model = _st(tiny_model)
    model[1].pooling_mode = "max"
    with pytest.raises(UsageError, match="pooling 'max'"):
        pyserini_flags(model)
    model = _st(tiny_model)
    model.append(Dense(32, 32))  # as in LaBSE
    with pytest.raises(UsageError, match="Dense"):
        pyserini_flags(model)


def test_existing_out_is_a_usage_error_and_stays_untouched(tiny_model, tmp_path):
    out = tmp_path / "enc"
    out.mkdir()
    (out / "mine.txt").write_text("keep")
    with pytest.raises(UsageError, match="exists; pass --overwrite"):
        export_model(str(tiny_model), out)
    assert [p.name for p in out.iterdir()] == ["mine.txt"]
    assert _no_leftovers(tmp_path)


@pytest.mark.parametrize("name", ["eclipse-model", "windset"])
def test_paths_that_trip_pyserinis_class_guessing_are_refused(tiny_model, tmp_path, name):
    with pytest.raises(UsageError, match="picks its encoder class"):
        export_model(str(tiny_model), tmp_path / name)
    assert not (tmp_path / name).exists()


def test_command_templates():
    info = ExportInfo(path=Path("/m/e5"), source="x", pooling="mean", l2_norm=True, query_prefix="query:",
                      passage_prefix="passage:", dimension=384, max_length=512, prompts=E5_PROMPTS)
    assert info.search_args("idx", "t.tsv", "run.txt") == [
        "python", "-m", "pyserini.search.faiss", "--index", "idx", "--topics", "t.tsv", "--output", "run.txt",
        "--encoder", "/m/e5", "--encoder-class", "auto", "--pooling", "mean", "--l2-norm",
        "--query-prefix", "query:", "--hits", "1000"]
    assert info.encode_args("output", "emb") == [
        "python", "-m", "pyserini.encode", "input", "--corpus", f".{os.sep}output", "output", "--embeddings", "emb",
        "--to-faiss", "encoder", "--encoder", "/m/e5", "--encoder-class", "auto", "--pooling", "mean", "--l2-norm",
        "--prefix", "passage:", "--max-length", "512", "--dimension", "384", "--batch-size", "64"]
    data = info.to_json()
    assert data["search_command"].startswith("python -m pyserini.search.faiss --index {index} --topics {topics}")


# ------------------------------------------------------------------------------------ export + verification


@pytest.fixture(scope="session")
def exported(tiny_model, tmp_path_factory) -> ExportInfo:
    return export_model(str(tiny_model), tmp_path_factory.mktemp("exports") / "tiny-e5")


@pytest.mark.java
def test_export_is_verified_and_described(exported, tiny_model):
    assert exported.max_abs_diff is not None and exported.max_abs_diff <= export.TOLERANCE
    assert (exported.pooling, exported.l2_norm, exported.query_prefix, exported.passage_prefix,
            exported.dimension, exported.max_length) == ("mean", True, "query:", "passage:", 32, 40)
    data = json.loads((exported.path / "pyserini.json").read_text())
    assert {k: data[k] for k in ("pooling", "l2_norm", "query_prefix", "passage_prefix", "dimension",
                                 "max_length")} == {"pooling": "mean", "l2_norm": True, "query_prefix": "query:",
                                                    "passage_prefix": "passage:", "dimension": 32, "max_length": 40}
    assert read_export(exported.path) == exported
    assert json.loads((exported.path / "tokenizer_config.json").read_text())["model_max_length"] == 40
    texts = ["Wo ist die Katze?", "猫在哪"]  # the folder is still a sentence-transformers model
    np.testing.assert_allclose(_st(exported.path).encode(texts, prompt="query: "),
                               _st(tiny_model).encode(texts, prompt="query: "), atol=1e-6)
    assert _no_leftovers(exported.path.parent)


@pytest.mark.java
def test_cls_model_without_prompts_is_verified(tiny_cls_model, tmp_path):
    info = export_model(str(tiny_cls_model), tmp_path / "cls")
    assert info.max_abs_diff <= export.TOLERANCE
    assert "--query-prefix" not in info.search_args("i", "t", "o") and "--l2-norm" not in info.encoder_flags()


@pytest.mark.java
def test_failed_verification_leaves_no_folder(tiny_model, tmp_path, monkeypatch):
    real = export.pyserini_flags
    monkeypatch.setattr(export, "pyserini_flags", lambda model: {**real(model), "pooling": "cls"})
    with pytest.raises(VerificationError, match="does not reproduce"):
        export_model(str(tiny_model), tmp_path / "bad")
    assert not (tmp_path / "bad").exists()
    assert _no_leftovers(tmp_path)


@pytest.mark.java
def test_overwrite_replaces_an_existing_export(tiny_model, tmp_path):
    out = tmp_path / "enc"
    out.mkdir()
    (out / "stale.txt").write_text("old")
    export_model(str(tiny_model), out, overwrite=True)
    assert not (out / "stale.txt").exists() and (out / "pyserini.json").is_file()
    assert _no_leftovers(tmp_path)


@pytest.mark.java
def test_cli_export(tiny_model, tmp_path, capsys):
    from hybrid_plugin.cli import main

    out = tmp_path / "cli-enc"
    assert main(["export", str(tiny_model), str(out)]) == 0
    printed = capsys.readouterr().out
    assert f"wrote {out.resolve()}" in printed and "--query-prefix query:" in printed and "--prefix passage:" in printed
    assert main(["export", str(tiny_model), str(out)]) == 2
    assert "exists; pass --overwrite" in capsys.readouterr().err


# ------------------------------------------------------------------------------- the stock Pyserini commands


def _clean_env(tmp_path: Path) -> dict[str, str]:
    """PATH (a Java < 21 first where the system has one, then this environment's bin), HOME, offline hub."""
    from hybrid_plugin import java

    path = [str(Path(sys.executable).parent)] + [p for p in ("/usr/bin", "/bin") if os.path.isdir(p)]
    found = shutil.which("java")
    if found:
        try:
            version = java._parse_version(java._java_properties(found).get("java.specification.version", ""))
        except java._ProbeError:
            version = None
        if version is not None and version < java.MIN_JAVA_VERSION:
            path.insert(0, str(Path(found).parent))
    (tmp_path / "home").mkdir(exist_ok=True)
    return {"PATH": os.pathsep.join(path), "HOME": str(tmp_path / "home"), "HF_HUB_OFFLINE": "1"}


def _run(args: list[str], env: dict[str, str], cwd: Path) -> None:
    args = [sys.executable, *args[1:]] if args[0] == "python" else args
    result = subprocess.run(args, env=env, cwd=cwd, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, f"{' '.join(args[:3])} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"


@pytest.mark.java
@pytest.mark.slow
def test_stock_encode_and_search_reproduce_sentence_transformers(exported, tiny_model, tmp_path):
    import faiss

    docs = {"en-1-0": "The cat sat on the mat.", "de-1-0": "Die Katze sitzt auf der Matte.",
            "ru-1-0": "Кошка сидит на коврике.", "zh-1-0": "猫在垫子上。", "en-2-0": "Dogs bark. " * 30}
    queries = {"1": "Where is the cat?", "2": "Wo ist die Katze?", "3": "猫在哪"}
    (tmp_path / "corpus").mkdir()
    (tmp_path / "corpus" / "docs.jsonl").write_text(
        "".join(json.dumps({"id": k, "contents": v}, ensure_ascii=False) + "\n" for k, v in docs.items()))
    (tmp_path / "topics.tsv").write_text("".join(f"{k}\t{v}\n" for k, v in queries.items()))
    env = _clean_env(tmp_path)
    _run(exported.encode_args("corpus/docs.jsonl", "index", batch_size=2), env, tmp_path)
    _run(exported.search_args("index", "topics.tsv", "run.txt", hits=10), env, tmp_path)

    model = _st(tiny_model)
    index = faiss.read_index(str(tmp_path / "index" / "index"))
    docids = (tmp_path / "index" / "docid").read_text().split()
    got = index.reconstruct_n(0, index.ntotal)
    want = model.encode([docs[d] for d in docids], prompt="passage: ")
    assert sorted(docids) == sorted(docs)
    assert np.abs(got - want).max() <= export.TOLERANCE

    scores = model.encode(list(queries.values()), prompt="query: ") @ want.T
    run = [line.split() for line in (tmp_path / "run.txt").read_text().splitlines()]
    assert len(run) == len(queries) * len(docs)
    for qid, _, docid, rank, score, _ in run:
        row = scores[list(queries).index(qid)]
        assert abs(float(score) - row[docids.index(docid)]) <= export.TOLERANCE  # the run file prints 6 decimals
        assert docids[np.argsort(-row)[int(rank) - 1]] == docid


@pytest.mark.java
@pytest.mark.slow
def test_default_model_exports_with_e5_flags(tmp_path):
    info = export_model(None, tmp_path / "e5")
    assert (info.pooling, info.l2_norm, info.query_prefix, info.passage_prefix, info.dimension,
            info.max_length) == ("mean", True, "query:", "passage:", 384, 512)
    assert info.max_abs_diff <= export.TOLERANCE
