"""hybrid_plugin.pyserini.export: the exported folder reproduces SentenceTransformer.encode in Pyserini's auto
encoders, in-process and through the stock ``python -m pyserini.encode`` / ``pyserini.search.faiss`` commands; the
export is staged, replaces only an earlier export, and leaves nothing behind when it fails or is interrupted."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from hybrid_plugin.errors import UsageError, VerificationError
from hybrid_plugin.files import MARKER, claim_output, is_owned
from hybrid_plugin.models.default_model import E5_PROMPTS
from hybrid_plugin.pyserini import export, java
from hybrid_plugin.pyserini.export import ExportInfo, export_model, pyserini_flags, read_export

@pytest.fixture(scope="session")
def tiny_cls_model(tiny_model_builder, tmp_path_factory) -> Path:
    return tiny_model_builder(tmp_path_factory.mktemp("models") / "tiny-cls", pooling="cls", normalize=False,
                              prompts=None, seed=1)


def _st(folder: Path):
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(folder), device="cpu")


def _no_leftovers(parent: Path) -> bool:
    return not [p for p in parent.iterdir() if p.name.startswith(".")]  # staging and swapped-out folders


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


@pytest.mark.parametrize("overwrite", [False, True])
def test_a_folder_the_plugin_did_not_make_is_refused_and_stays_untouched(tiny_model, tmp_path, overwrite):
    out = tmp_path / "enc"
    out.mkdir()
    (out / "mine.txt").write_text("keep")
    with pytest.raises(UsageError, match="was not written by hybrid-plugin"):
        export_model(str(tiny_model), out, overwrite=overwrite)
    assert [p.name for p in out.iterdir()] == ["mine.txt"]
    assert _no_leftovers(tmp_path)


def test_an_earlier_export_is_refused_without_overwrite(tiny_model, tmp_path):
    out = claim_output(tmp_path / "enc", "export")
    (out / "pyserini.json").write_text("{}")
    with pytest.raises(UsageError, match="pass --overwrite"):
        export_model(str(tiny_model), out)
    assert sorted(p.name for p in out.iterdir()) == sorted([MARKER, "pyserini.json"])
    assert _no_leftovers(tmp_path)


def test_an_export_without_verification_is_marked_as_the_plugins(tiny_model, tmp_path):
    out = tmp_path / "empty"
    out.mkdir()  # an empty folder may be used
    info = export_model(str(tiny_model), out, verify=False)
    assert info.max_abs_diff is None and is_owned(out) and (out / "pyserini.json").is_file()
    assert _no_leftovers(tmp_path)


@pytest.mark.parametrize("interrupt", [KeyboardInterrupt, SystemExit])  # SIGINT, and SIGTERM turned into one
def test_an_interrupt_during_the_self_check_leaves_no_staging_folder(tiny_model, tmp_path, monkeypatch, interrupt):
    out = claim_output(tmp_path / "enc", "export")
    (out / "pyserini.json").write_text("old")

    def interrupted(model, folder, flags):
        assert (folder / "config.json").is_file()  # the model is written: the self-check runs on it
        raise interrupt()

    monkeypatch.setattr(export, "_verify", interrupted)
    with pytest.raises(interrupt):
        export_model(str(tiny_model), out, overwrite=True)
    assert (out / "pyserini.json").read_text() == "old"  # the earlier export is untouched
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
    out = claim_output(tmp_path / "enc", "export")  # an earlier export
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
    assert "pass --overwrite" in capsys.readouterr().err


# ------------------------------------------------------------------------------- the stock Pyserini commands


def _clean_env(tmp_path: Path) -> dict[str, str]:
    """PATH (a Java < 21 first where the system has one, then this environment's bin), HOME, offline hub."""
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


# ------------------------------------------------------------------------------------- real signals (a subprocess)

_INTERRUPTED_EXPORT = """
import signal, sys, time
from hybrid_plugin.pyserini import export
if sys.argv[3] == "SIGTERM":  # as the CLI does: SIGTERM becomes an exception that runs the clean-up
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(143))
real = export._verify
def verify_then_wait(model, folder, flags):
    result = real(model, folder, flags)  # Pyserini's JVM runs in this process from here on
    print("SELF-CHECK", flush=True)
    time.sleep(120)
    return result
export._verify = verify_then_wait
export.export_model(sys.argv[1], sys.argv[2], overwrite=True)
"""


@pytest.mark.java
@pytest.mark.parametrize("signame", ["SIGINT", "SIGTERM"])
def test_a_signal_during_the_self_check_leaves_the_old_export_and_no_staging(tiny_model, tmp_path, signame):
    """Pyserini's JVM would take SIGINT / SIGTERM and end the process at once; the plugin's leaves them to
    Python, so the staging folder is removed (the signal is sent at a staged point, not after a guessed time)."""
    import signal

    out = claim_output(tmp_path / "enc", "export")
    (out / "pyserini.json").write_text("old")
    proc = subprocess.Popen([sys.executable, "-c", _INTERRUPTED_EXPORT, str(tiny_model), str(out), signame],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        for line in proc.stdout:
            if line.strip() == "SELF-CHECK":
                break
        assert any(p.name.startswith(".enc.staging-") for p in tmp_path.iterdir())  # the export is staged
        proc.send_signal(getattr(signal, signame))
        _, stderr = proc.communicate(timeout=120)
    finally:
        proc.kill()
    # an uncaught KeyboardInterrupt ends Python by SIGINT (-2); SystemExit(143) with status 143
    assert proc.returncode == (-signal.SIGINT if signame == "SIGINT" else 143), stderr[-2000:]
    assert (out / "pyserini.json").read_text() == "old"
    assert _no_leftovers(tmp_path)
