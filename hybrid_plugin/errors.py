"""Errors a user can cause, reported by the CLI as one line and exit status 2."""

from __future__ import annotations

from pathlib import Path

__all__ = ["HybridPluginError", "DataError", "UsageError", "VerificationError", "DownloadError", "JavaError"]


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
