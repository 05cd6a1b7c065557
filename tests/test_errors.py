"""hybrid_plugin.errors: the faults of the machine that libraries report as plain exceptions become OSError."""

from __future__ import annotations

import errno

import pytest

from hybrid_plugin.errors import library_os_errors


def test_library_io_errors_become_os_errors(tmp_path):
    with pytest.raises(OSError) as caught:
        with library_os_errors(tmp_path / "model"):
            raise Exception("No space left on device (os error 28)")  # what tokenizers raises
    assert caught.value.errno == errno.ENOSPC and caught.value.filename == str(tmp_path / "model")
    with pytest.raises(ValueError, match="a bug"):
        with library_os_errors():
            raise ValueError("a bug")
