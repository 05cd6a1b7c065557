"""Errors a user can cause, reported by the CLI as one line and exit status 2 (and the faults of the machine that
libraries report in other forms, turned into the ``OSError`` they are: :func:`library_os_errors`)."""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterator
from pathlib import Path

__all__ = ["HybridPluginError", "DataError", "UsageError", "VerificationError", "DownloadError", "JavaError",
           "library_os_errors"]


class HybridPluginError(Exception):
    """Base class of every error caused by user input or the environment (not by a bug).

    Args:
        message: what is wrong and what was expected.
        path: the file or folder concerned, if any.
        where: a location inside that file (``"paragraph 12"``, ``"line 3"``), if any.
    """

    def __init__(self, message: str, path: str | Path | None = None, where: str | None = None) -> None:
        self.message = message
        self.path = None if path is None else str(path)
        self.where = where
        super().__init__(self.__str__())

    def __str__(self) -> str:
        parts = [p for p in (self.path, self.where) if p]
        parts.append(self.message)
        return ": ".join(parts)


class DataError(HybridPluginError):
    """A data file is missing, malformed, or inconsistent with the others."""


class UsageError(HybridPluginError):
    """An argument has a value that is not allowed (unknown dataset, existing output folder, ...)."""


class VerificationError(HybridPluginError):
    """A result failed its own check (e.g. Pyserini's embeddings differ from sentence-transformers')."""


class DownloadError(HybridPluginError):
    """A download failed or its checksum did not match."""


class JavaError(HybridPluginError):
    """No usable Java runtime (21 or newer) was found."""


_LIBRARY_OS_ERROR = re.compile(r"\(os error (\d+)\)")


@contextlib.contextmanager
def library_os_errors(path: str | os.PathLike[str] | None = None) -> Iterator[None]:
    """Re-raise the I/O failures of Rust-backed libraries (tokenizers, safetensors: plain exceptions whose message
    holds ``(os error N)``, e.g. a full disk while a model is saved) as the :class:`OSError` they are, naming
    ``path``; every other exception passes unchanged."""
    try:
        yield
    except OSError:
        raise
    except Exception as exc:
        found = _LIBRARY_OS_ERROR.search(str(exc))
        if found is None:
            raise
        code = int(found[1])
        raise OSError(code, os.strerror(code), None if path is None else os.fspath(path)) from exc
