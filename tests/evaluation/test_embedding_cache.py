"""hybrid_plugin.evaluation.embedding_cache: the on-disk cache, its row keys, and the model identity."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest

from hybrid_plugin.errors import UsageError
from hybrid_plugin.evaluation.embedding_cache import EmbeddingCache, ModelIdentity, model_identity, text_digests

PROMPTS = {"query": "query: ", "passage": "passage: "}


def test_an_incomplete_cache_entry_is_ignored(tmp_path):
    cache = EmbeddingCache(tmp_path / "c")
    keys = text_digests(["a", "b"], "query", "q: ")
    stem = cache.store(keys, np.ones((2, 4), dtype=np.float32))
    assert stem is not None and json.loads(stem.with_suffix(".json").read_text())["rows"] == 2
    found, vectors = EmbeddingCache(tmp_path / "c").lookup(keys)
    assert found.all() and vectors.shape == (2, 4)
    stem.with_suffix(".json").unlink()  # as if the process died before the marker
    found, vectors = EmbeddingCache(tmp_path / "c").lookup(keys)
    assert not found.any() and vectors is None


def test_digests_depend_on_role_prompt_and_text():
    a = text_digests(["x", "x", "y"], "query", "query: ")
    assert a[0] == a[1] != a[2]
    assert text_digests(["x"], "passage", "query: ")[0] != a[0]
    assert text_digests(["x"], "query", "")[0] != a[0]


def test_model_identity_follows_the_folder_content(tmp_path):
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "config.json").write_text("{}")
    (folder / "model.safetensors").write_bytes(b"weights-1")
    (folder / "README.md").write_text("not part of the identity")
    first = model_identity(str(folder), prompts=PROMPTS, cache_root=tmp_path / "cache")
    assert first.path == str(folder.resolve()) and first.key
    (folder / "README.md").write_text("edited")
    assert model_identity(str(folder), prompts=PROMPTS, cache_root=tmp_path / "cache").key == first.key
    (folder / "model.safetensors").write_bytes(b"weights-2")
    assert model_identity(str(folder), prompts=PROMPTS, cache_root=tmp_path / "cache").key != first.key
    assert (tmp_path / "cache" / "embeddings" / "file-hashes.json").is_file()
    hub = model_identity("nobody/not-a-cached-model", cache_root=tmp_path / "cache")
    assert hub.digest is None and hub.key is None


def test_backend_and_precision_keep_their_embeddings_apart(tmp_path):
    torch = ModelIdentity("fake", None, "digest-1", PROMPTS)
    assert (torch.backend, torch.precision) == ("torch", "fp32")
    legacy = json.dumps({"digest": "digest-1", "prompts": dict(sorted(PROMPTS.items())), "format": 1}, sort_keys=True)
    assert torch.key == hashlib.sha256(legacy.encode()).hexdigest()[:24]  # the entries written before stay valid
    onnx = ModelIdentity("fake", None, "digest-1", PROMPTS, backend="onnx")
    int8 = ModelIdentity("fake", None, "digest-1", PROMPTS, backend="onnx", precision="int8")
    assert len({torch.key, onnx.key, int8.key}) == 3

    keys = text_digests(["a", "b"], "query", "query: ")
    stem = EmbeddingCache.for_model(torch, "checksum", root=tmp_path).store(keys, np.ones((2, 4), np.float32))
    assert json.loads(stem.with_suffix(".json").read_text())["backend"] == "torch"
    for other in (onnx, int8):  # another backend never sees the PyTorch numbers
        found, vectors = EmbeddingCache.for_model(other, "checksum", root=tmp_path).lookup(keys)
        assert not found.any() and vectors is None
    found, _ = EmbeddingCache.for_model(torch, "checksum", root=tmp_path).lookup(keys)
    assert found.all()

    with pytest.raises(UsageError, match="backend must be one of torch, onnx, openvino but got 'tensorrt'"):
        ModelIdentity("fake", None, "digest-1", backend="tensorrt")
    with pytest.raises(UsageError, match="precision"):
        model_identity("nobody/not-a-cached-model", precision="fp8", cache_root=tmp_path)
