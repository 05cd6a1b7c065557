"""The inference backends: refused values, real exports of the tiny model with each backend, agreement with
PyTorch, the export cache, the evaluator and ``evaluate`` on another backend, and the default model."""

from __future__ import annotations

import importlib.util
import sys

import numpy as np
import pytest

from hybrid_plugin.errors import UsageError
from hybrid_plugin.files import CACHE_ENV
from hybrid_plugin.models import backends
from hybrid_plugin.models.backends import OFFERED, check_backend, exported_model, runtime_copy
from hybrid_plugin.models.loading import load_model

TEXTS = ["query: who sat on the mat", "passage: the cat sat on the mat.", "passage: der katze sitzt auf matte",
         "query: où est le chat", "passage: " + " ".join(["moon"] * 30)]
CONFIGS = [pytest.param(b, p, marks=pytest.mark.skipif(
    b == "openvino" and importlib.util.find_spec("openvino") is None, reason="pip install 'hybrid-plugin[openvino]'"))
    for b, offered in OFFERED.items() for p in offered if b != "torch"]


@pytest.fixture()
def backend_cache(tmp_path, monkeypatch):
    root = tmp_path / "cache"
    monkeypatch.setenv(CACHE_ENV, str(root))
    return root


@pytest.mark.parametrize(("backend", "precision", "message"), [
    ("tensorrt", "fp32", "--backend must be one of torch, onnx, openvino but got 'tensorrt'"),
    ("onnx", "fp16", "--precision must be one of fp32, int8 but got 'fp16'"),
    ("torch", "int8", "--precision int8 is offered by the onnx backend only, not by torch"),
    ("openvino", "int8", "--precision int8 is offered by the onnx backend only, not by openvino"),
])
def test_bad_backend_or_precision_is_refused_in_one_line(backend, precision, message):
    with pytest.raises(UsageError) as caught:
        check_backend(backend, precision)
    assert str(caught.value) == message
    with pytest.raises(UsageError, match="--backend|--precision"):
        load_model("no-such-model-folder", backend=backend, precision=precision)  # refused before the model


def test_a_gpu_device_is_refused_for_a_cpu_backend(tiny_model, monkeypatch):
    from hybrid_plugin.models import loading

    monkeypatch.setattr(loading, "_available_devices", lambda: ["cpu", "cuda"])
    with pytest.raises(UsageError, match="runs on the CPU"):
        load_model(str(tiny_model), device="cuda", backend="onnx")


def test_a_missing_runtime_names_its_install_command(tiny_model, monkeypatch, backend_cache):
    monkeypatch.setitem(sys.modules, "openvino", None)  # import openvino now raises ImportError
    with pytest.raises(UsageError, match=r"--backend openvino needs the openvino package: pip install "
                                         r"'hybrid-plugin\[openvino\]'"):
        load_model(str(tiny_model), backend="openvino")


def test_the_cli_offers_the_backends(capsys):
    from hybrid_plugin.cli import main

    assert main(["evaluate", "--dataset", "x", "--backend", "tensorrt"]) == 2
    assert "--backend: invalid choice: 'tensorrt'" in capsys.readouterr().err
    assert main(["reproduce", "--precision", "fp16"]) == 2


@pytest.mark.slow
@pytest.mark.parametrize(("backend", "precision"), CONFIGS)
def test_tiny_model_agrees_with_torch_and_its_export_is_reused(tiny_model, backend_cache, monkeypatch, backend,
                                                              precision):
    reference = load_model(str(tiny_model)).encode(TEXTS)
    model = load_model(str(tiny_model), backend=backend, precision=precision)
    assert type(model[0].model).__name__ == "RuntimeTransformer"
    vectors = model.encode(TEXTS)
    cosine = np.sum(vectors * reference, axis=1)
    if precision == "fp32":
        assert cosine.min() >= 0.9999
        np.testing.assert_allclose(vectors, reference, atol=1e-4)
    else:
        assert cosine.min() >= 0.98
    exported = list((backend_cache / "backends").glob(f"*/{backend}-{precision}/backend.json"))
    assert len(exported) == 1
    assert sorted(p.name for p in exported[0].parent.iterdir()) == sorted(
        ["backend.json", "model.onnx"] if backend == "onnx" else ["backend.json", "model.xml", "model.bin"])

    def no_second_export(*args, **kwargs):
        raise AssertionError("exported again")

    monkeypatch.setattr(backends, "_build", no_second_export)
    again = load_model(str(tiny_model), backend=backend, precision=precision).encode(TEXTS)
    np.testing.assert_array_equal(again, vectors)


@pytest.mark.slow
def test_another_model_gets_its_own_export(tiny_model_builder, tiny_model, tmp_path, backend_cache):
    other = tiny_model_builder(tmp_path / "other", seed=1)
    first = exported_model(load_model(str(tiny_model)), str(tiny_model), "onnx", "fp32")
    second = exported_model(load_model(str(other)), str(other), "onnx", "fp32")
    assert first != second and first.is_file() and second.is_file()


@pytest.mark.slow
def test_runtime_copy_leaves_the_model_itself_on_torch(tiny_model, tmp_path):
    model = load_model(str(tiny_model))
    before = type(model[0].model)
    runtime = runtime_copy(model, "onnx", "fp32", tmp_path)
    assert type(model[0].model) is before and type(runtime[0].model).__name__ == "RuntimeTransformer"
    np.testing.assert_allclose(runtime.encode(TEXTS), model.encode(TEXTS), atol=1e-4)
    assert runtime_copy(model, "torch", "fp32", tmp_path) is model


@pytest.mark.slow
def test_evaluate_records_the_backend_and_never_mixes_cached_embeddings(tiny_model, xquad, backend_cache):
    from hybrid_plugin.evaluation.pipeline import evaluate

    qa = xquad.select_languages(["en", "de", "es"]).limit(8)
    torch_run = evaluate(qa, str(tiny_model), show_progress=False, backend="torch")
    onnx_run = evaluate(qa, str(tiny_model), show_progress=False, backend="onnx")
    assert onnx_run.settings["backend"] == "onnx" and onnx_run.settings["precision"] == "fp32"
    assert torch_run.settings["backend"] == "torch"
    assert onnx_run.encoding["from_cache"] == 0  # the torch run's embeddings are not taken
    again = evaluate(qa, str(tiny_model), show_progress=False, backend="onnx")
    assert again.encoding["texts_encoded"] == 0
    for setting in ("mono", "cross", "multi"):
        assert onnx_run.map[setting] == pytest.approx(torch_run.map[setting], abs=1e-3)


@pytest.mark.slow
def test_evaluator_encodes_with_a_backend(tiny_model, xquad):
    from hybrid_plugin.evaluation.evaluator import MultilingualRetrievalEvaluator

    model = load_model(str(tiny_model))
    kwargs = dict(max_questions=8, languages=["en", "de", "es"], name="xq", write_csv=False)
    on_torch = MultilingualRetrievalEvaluator(xquad, **kwargs)(model)
    on_onnx = MultilingualRetrievalEvaluator(xquad, backend="onnx", **kwargs)(model)
    assert on_onnx == pytest.approx(on_torch, abs=1e-3)
    with pytest.raises(UsageError, match="--precision int8"):
        MultilingualRetrievalEvaluator(xquad, backend="torch", precision="int8")


@pytest.mark.slow
@pytest.mark.parametrize(("backend", "precision"), CONFIGS)
def test_default_model_agrees_with_torch(default_model_path, backend, precision):
    reference = load_model(default_model_path).encode(TEXTS)
    vectors = load_model(default_model_path, backend=backend, precision=precision).encode(TEXTS)
    cosine = np.sum(vectors * reference, axis=1)
    assert cosine.min() >= (0.9999 if precision == "fp32" else 0.95)
