"""Inference backends for encoding: PyTorch, ONNX Runtime and OpenVINO, in fp32 or dynamic int8.

A backend replaces only the transformer's forward pass of a loaded ``SentenceTransformer``: the tokenizer, the
prompts, pooling and normalisation stay sentence-transformers' own, so ``model.encode`` and everything built
on it (the evaluation, the evaluator, the studies) work unchanged. The exported model is built once per model
and kept in the plugin's cache, keyed by the model's identity (the SHA-256 of its files, as for the embedding
cache); the embedding cache keys name the backend and precision, so numbers from different backends never mix.

* ``onnx``: ``torch.onnx.export`` (eager attention), ONNX Runtime's transformer fusions
  (``onnxruntime.transformers.optimizer``), and for ``int8`` ONNX Runtime's dynamic quantisation of the MatMuls.
* ``openvino``: the fp32 ONNX export converted with ``openvino.convert_model``, run in f32 (never bf16).

Why by hand: sentence-transformers' own ``backend="onnx"|"openvino"`` goes through ``optimum`` /
``optimum-intel``, which do not install beside the pinned transformers 5.24; the three steps above are the ones
those libraries run, called directly.

What does not live here: choosing and loading a model (:mod:`hybrid_plugin.models.loading`), encoding
(:mod:`hybrid_plugin.evaluation.encoding`), the model identity (:mod:`hybrid_plugin.evaluation.embedding_cache`).

Example::

    >>> from hybrid_plugin.models import load_model
    >>> model = load_model(backend="onnx", precision="int8")   # exports once (about 40 s), then loads it
    >>> model.encode(["passage: the moon"]).shape
    (1, 384)
"""

from __future__ import annotations

import copy
import gc
import json
import logging
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

import numpy as np

from hybrid_plugin.errors import UsageError
from hybrid_plugin.evaluation.embedding_cache import (
    BACKENDS,
    DEFAULT_BACKEND,
    DEFAULT_PRECISION,
    PRECISIONS,
    Backend,
    Precision,
    model_identity,
)
from hybrid_plugin.files import atomic_write, cache_dir, staged_folder

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

__all__ = ["BACKENDS", "PRECISIONS", "OFFERED", "DEFAULT_EVAL_BACKEND", "DEFAULT_EVAL_PRECISION",
           "check_backend", "exported_model", "runtime_copy", "use_backend"]

logger = logging.getLogger(__name__)

OFFERED: dict[str, tuple[str, ...]] = {"torch": ("fp32",), "onnx": ("fp32", "int8"), "openvino": ("fp32",)}
"""The precisions each backend offers (int8: dynamic quantisation, which only ONNX Runtime gives here)."""
DEFAULT_EVAL_BACKEND: Backend = "torch"
"""The backend ``evaluate`` and ``reproduce`` encode with when none is given. ONNX Runtime and OpenVINO fp32 give
PyTorch's embeddings (cosine >= 0.9999998) but, measured on an idle 2-core machine with interleaved rounds, are only
1.08x and 1.17x faster, for ~25 % more peak memory and an export per model (benchmarks/encoding/README.md); they
are the faster choice where the cores are shared (1.8-2.1x). PyTorch stays the default (issue #17)."""
DEFAULT_EVAL_PRECISION: Precision = DEFAULT_PRECISION

_INSTALL = {"onnx": "pip install onnx onnxruntime", "openvino": "pip install 'hybrid-plugin[openvino]'"}
_FUSED_TYPES = ("bert", "xlm-roberta", "roberta", "camembert")
"""Model types whose graph ONNX Runtime's BERT optimizer fuses (attention, LayerNorm, GELU)."""
_FILES = {"onnx": "model.onnx", "openvino": "model.xml"}
_FORMAT = 1


def check_backend(backend: str, precision: str) -> None:
    """Refuse a backend or precision that is unknown or not offered, with one line that lists what is.

    Raises:
        UsageError: e.g. ``--precision int8 is offered by the onnx backend only, not by torch``.
    """
    if backend not in BACKENDS:
        raise UsageError(f"--backend must be one of {', '.join(BACKENDS)} but got {backend!r}")
    if precision not in PRECISIONS:
        raise UsageError(f"--precision must be one of {', '.join(PRECISIONS)} but got {precision!r}")
    if precision not in OFFERED[backend]:
        offering = [b for b, offered in OFFERED.items() if precision in offered]
        raise UsageError(f"--precision {precision} is offered by the {' / '.join(offering)} backend only, "
                         f"not by {backend}")


def _require(backend: str) -> None:
    modules = {"onnx": ("onnx", "onnxruntime"), "openvino": ("onnx", "onnxruntime", "openvino")}[backend]
    for module in modules:
        try:
            __import__(module)
        except ImportError as exc:
            raise UsageError(f"--backend {backend} needs the {module} package: {_INSTALL[backend]}") from exc


# ---------------------------------------------------------------------------------------------------- export


def _input_names(model: SentenceTransformer) -> list[str]:
    names = list(getattr(model[0].tokenizer, "model_input_names", None) or ["input_ids", "attention_mask"])
    return [n for n in ("input_ids", "attention_mask", "token_type_ids") if n in names]


def _export_onnx(model: SentenceTransformer, path: Path) -> None:
    """``torch.onnx.export`` of the transformer (eager attention, which the optimizer can fuse)."""
    import torch  # heavy: only when exporting

    hf = model[0].model
    hf.set_attn_implementation("eager")
    names = _input_names(model)

    class _Hidden(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.inner = hf

        def forward(self, *inputs: Any) -> Any:
            return self.inner(**dict(zip(names, inputs))).last_hidden_state

    sample = model[0].tokenizer(["query: a b", "passage: a longer sample text"], padding=True, return_tensors="pt")
    axes = {name: {0: "batch", 1: "tokens"} for name in [*names, "last_hidden_state"]}
    with torch.no_grad():
        torch.onnx.export(_Hidden().eval(), tuple(sample[n] for n in names), str(path), dynamo=False,
                          input_names=names, output_names=["last_hidden_state"], dynamic_axes=axes, opset_version=17)


def _optimise_onnx(model: SentenceTransformer, source: Path, target: Path) -> None:
    """ONNX Runtime's offline transformer fusions where the architecture is one it knows; else a copy."""
    from onnxruntime.transformers import optimizer  # heavy optional library

    config = model[0].model.config
    kind = "bert" if getattr(config, "model_type", "") in _FUSED_TYPES else None
    if kind is None:
        target.write_bytes(source.read_bytes())
        return
    fused = optimizer.optimize_model(str(source), model_type=kind, num_heads=config.num_attention_heads,
                                     hidden_size=config.hidden_size, opt_level=1)
    fused.save_model_to_file(str(target))


def _quantise_onnx(source: Path, target: Path) -> None:
    """Dynamic int8 quantisation of the MatMuls (weights int8 per tensor, activations quantised per batch)."""
    import onnx  # heavy optional library
    from onnxruntime.quantization import QuantType, quantize_dynamic  # heavy optional library

    quantize_dynamic(str(source), str(target), weight_type=QuantType.QInt8, op_types_to_quantize=["MatMul"],
                     extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT})


def _convert_openvino(source: Path, target: Path) -> None:
    import openvino  # heavy optional library

    openvino.save_model(openvino.convert_model(str(source)), str(target), compress_to_fp16=False)


def _build(model: SentenceTransformer, backend: str, precision: str, folder: Path) -> None:
    """Export, then fuse (onnx), quantise (onnx int8) or convert (openvino): only the final file is kept."""
    raw = folder / "exported.onnx"
    _export_onnx(model, raw)
    if backend == "openvino":
        _convert_openvino(raw, folder / _FILES["openvino"])
    elif precision == "fp32":
        _optimise_onnx(model, raw, folder / _FILES["onnx"])
    else:
        _optimise_onnx(model, raw, folder / "fp32.onnx")
        _quantise_onnx(folder / "fp32.onnx", folder / _FILES["onnx"])
    for path in (raw, folder / "fp32.onnx"):
        path.unlink(missing_ok=True)


def _cache_folder(source: str, backend: str, precision: str, root: Path | None) -> Path | None:
    digest = model_identity(source, cache_root=root).digest
    if digest is None:
        return None
    key = digest.replace("/", "--").replace("@", "-")[:80]
    return (root or cache_dir()) / "backends" / key / f"{backend}-{precision}"


def exported_model(model: SentenceTransformer, source: str | None, backend: str, precision: str, *,
                   cache_root: str | Path | None = None) -> Path:
    """The exported model file for ``backend`` / ``precision``, built on first use.

    Args:
        model: the loaded PyTorch model (exported from; its transformer may be changed to eager attention).
        source: the folder or hub id it was loaded from (its identity keys the cache); None: not cached.
        backend, precision: see :func:`check_backend` (``torch`` has no export).
        cache_root: the plugin's cache folder (default :func:`files.cache_dir`).

    Returns:
        Path: ``<cache>/backends/<model digest>/<backend>-<precision>/model.{onnx,xml}``.
    """
    check_backend(backend, precision)
    if backend == "torch":
        raise UsageError("the torch backend runs the model itself; there is nothing to export")
    _require(backend)
    root = Path(cache_root) if cache_root is not None else None
    folder = _cache_folder(source, backend, precision, root) if source is not None else None
    if folder is None:  # no identity to key it by: built afresh in a temporary folder (inside cache_root if given)
        folder = Path(tempfile.mkdtemp(prefix="backend-", dir=root)) / f"{backend}-{precision}"
    target = folder / _FILES[backend]
    if (folder / "backend.json").is_file() and target.is_file():
        return target
    logger.info("exporting %s to %s %s (once per model) into %s", source, backend, precision, folder)
    with staged_folder(folder) as staged:
        _build(model, backend, precision, staged)
        with atomic_write(staged / "backend.json") as handle:
            json.dump({"format": _FORMAT, "source": source, "backend": backend, "precision": precision}, handle)
    return target


# ------------------------------------------------------------------------------------------------- runtime


def _onnx_runner(path: Path) -> Callable[[dict[str, np.ndarray]], np.ndarray]:
    import onnxruntime  # heavy optional library

    options = onnxruntime.SessionOptions()
    options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
    session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    return lambda feed: session.run(["last_hidden_state"], feed)[0]


def _openvino_runner(path: Path) -> Callable[[dict[str, np.ndarray]], np.ndarray]:
    import openvino  # heavy optional library

    compiled = openvino.Core().compile_model(str(path), "CPU", {"INFERENCE_PRECISION_HINT": "f32",
                                                                 "PERFORMANCE_HINT": "LATENCY"})
    return lambda feed: np.asarray(compiled(feed)[0])


def use_backend(model: SentenceTransformer, source: str | None, backend: str = DEFAULT_BACKEND,
                precision: str = DEFAULT_PRECISION, *, cache_root: str | Path | None = None) -> SentenceTransformer:
    """Make ``model`` run its transformer on ``backend`` / ``precision`` (in place; the model is returned).

    The PyTorch transformer is replaced by a module that feeds the tokenizer's output to the exported model and
    returns its ``last_hidden_state``; tokenization, pooling and normalisation are unchanged. ``torch`` / ``fp32``
    returns the model as it is.

    Raises:
        UsageError: a backend or precision not offered, or its package missing (the message says what to install).
    """
    check_backend(backend, precision)
    if backend == "torch":
        return model
    import torch  # heavy: the replacement is a torch module, as sentence-transformers expects

    path = exported_model(model, source, backend, precision, cache_root=cache_root)
    names, config = _input_names(model), model[0].model.config
    model[0].model = torch.nn.Identity()  # the PyTorch weights go before the runtime loads its copy (peak memory)
    gc.collect()
    run = _onnx_runner(path) if backend == "onnx" else _openvino_runner(path)

    class RuntimeTransformer(torch.nn.Module):
        """The transformer's forward pass on another runtime (CPU)."""

        def __init__(self, config: Any) -> None:
            super().__init__()
            self.config = config
            self.backend, self.precision, self.path = backend, precision, str(path)

        def forward(self, **features: Any) -> dict[str, Any]:
            feed = {n: features[n].cpu().numpy().astype(np.int64) for n in names}
            return {"last_hidden_state": torch.from_numpy(np.ascontiguousarray(run(feed), dtype=np.float32))}

    model[0].model = RuntimeTransformer(config)
    model.backend_info = {"backend": backend, "precision": precision, "exported": str(path)}
    return model


def runtime_copy(model: SentenceTransformer, backend: str, precision: str, folder: str | Path) -> SentenceTransformer:
    """A copy of ``model`` (e.g. one being trained) running on ``backend``, exported into ``folder`` (not cached:
    the weights change between calls); ``model`` itself is left as it is. ``torch`` returns ``model``."""
    check_backend(backend, precision)
    if backend == "torch":
        return model
    return use_backend(copy.deepcopy(model).to("cpu"), None, backend, precision, cache_root=folder)
