"""The one home of the plugin's file helpers: atomic writes, folder swaps, digests, the cache folder, and the
marker that makes an output folder the plugin's own.

Every command writes through these helpers, so that the promises of the CLI hold in one place:

- a file is written under a hidden temporary name beside its target and renamed over it only when complete
  (:func:`atomic_write`); a folder is built beside its target and swapped in at the end (:func:`staged_folder`),
  the old one removed only after the new one is in place;
- an output folder is the plugin's only when the plugin made it (:data:`MARKER` inside it); a non-empty folder
  without the marker is never written into or replaced (:func:`check_output`), and a folder that holds
  files tracked by git (``qrels/``, ``benchmarks/``, a project root) is never replaced at all.

What does *not* live here: readers and writers of particular formats (they live with their format).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import IO

from hybrid_plugin.errors import UsageError

__all__ = [
    "CACHE_ENV",
    "FILE_MODE",
    "FOLDER_MODE",
    "MARKER",
    "atomic_write",
    "cache_dir",
    "check_output",
    "claim_output",
    "is_owned",
    "replace_folder",
    "sha256_file",
    "staged_folder",
]

CACHE_ENV = "HYBRID_PLUGIN_CACHE"
"""Environment variable that overrides the cache root (models, embeddings, downloads)."""

MARKER = ".hybrid-plugin.json"
"""File the plugin writes into every output folder it creates; its presence makes the folder the plugin's."""


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


FILE_MODE = 0o666 & ~_umask()
"""Mode of the files the plugin writes (``mkstemp`` makes owner-only files; outputs get the umask's mode)."""
FOLDER_MODE = 0o777 & ~_umask()
"""Mode of the folders the plugin stages (``mkdtemp`` makes owner-only folders)."""


def cache_dir() -> Path:
    """Return the plugin's cache root: ``$HYBRID_PLUGIN_CACHE``, else the platform's user cache folder.

    Built models live in its ``models`` subfolder, embeddings in ``embeddings``, downloads in ``data``.
    The folder is not created here.

    Example::

        >>> import os
        >>> os.environ["HYBRID_PLUGIN_CACHE"] = "/tmp/hp-cache"
        >>> cache_dir()
        PosixPath('/tmp/hp-cache')
    """
    override = os.environ.get(CACHE_ENV)
    if override:
        return Path(override).expanduser()
    import platformdirs  # light, but only needed when no override is set

    return Path(platformdirs.user_cache_dir("hybrid-plugin", appauthor=False))


def sha256_file(path: str | os.PathLike[str]) -> str:
    """Hex SHA-256 of a file's bytes, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike[str], mode: str = "w") -> Iterator[IO]:
    """Open a hidden temporary file beside ``path``; rename it over ``path`` only if the block succeeds.

    On any exit other than success (an exception, ``KeyboardInterrupt``, a full disk) the temporary file is
    removed and ``path`` keeps its previous content.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.chmod(tmp, FILE_MODE)
        binary = "b" in mode
        with os.fdopen(fd, mode, encoding=None if binary else "utf-8", newline=None if binary else "\n") as handle:
            yield handle
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def replace_folder(new: Path, final: Path) -> None:
    """Move the complete folder ``new`` to ``final``; an old ``final`` is removed only after the swap."""
    if not final.exists():
        os.replace(new, final)
        return
    old = final.with_name(f".{final.name}.old-{uuid.uuid4().hex[:12]}")
    os.replace(final, old)
    try:
        os.replace(new, final)
    except OSError:
        os.replace(old, final)
        raise
    shutil.rmtree(old, ignore_errors=True)


@contextlib.contextmanager
def staged_folder(final: str | os.PathLike[str]) -> Iterator[Path]:
    """A fresh hidden folder beside ``final`` (same file system); swapped into place when the block succeeds.

    The staging folder is removed on any other exit, so an interrupted or failed build leaves ``final`` as it
    was. Example::

        >>> import tempfile, pathlib
        >>> root = pathlib.Path(tempfile.mkdtemp())
        >>> with staged_folder(root / "out") as tmp:
        ...     _ = (tmp / "a.txt").write_text("done")
        >>> (root / "out" / "a.txt").read_text()
        'done'
    """
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.staging-", dir=final.parent))
    try:
        os.chmod(tmp, FOLDER_MODE)
        yield tmp
        replace_folder(tmp, final)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def is_owned(folder: str | os.PathLike[str]) -> bool:
    """Whether ``folder`` carries the plugin's :data:`MARKER` (the plugin made it)."""
    return (Path(folder) / MARKER).is_file()


def _tracked_by_git(folder: Path) -> bool:
    """Whether ``folder`` is (or holds) a git repository, or holds files that git tracks."""
    if (folder / ".git").exists():
        return True
    try:
        listed = subprocess.run(["git", "-C", str(folder), "ls-files", "--", "."], capture_output=True,
                                text=True, timeout=30, check=False)
    except (OSError, subprocess.SubprocessError):
        return False
    return listed.returncode == 0 and bool(listed.stdout.strip())


def _writable_ancestor(path: Path) -> Path:
    probe = path
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    return probe


def check_output(out: str | os.PathLike[str], *, overwrite: bool, flag: str = "--out",
                 resumable: bool = False) -> None:
    """Check an output folder before anything is touched; raise :class:`UsageError` if it may not be used.

    Allowed: a folder that does not exist yet, an empty folder, or a folder the plugin made (its
    :data:`MARKER`) when ``overwrite`` is set or the command ``resumable`` (it continues its own work).
    Refused: a file, a non-empty folder the plugin did not make (``--overwrite`` does not change that), a
    folder holding files tracked by git, and a folder that cannot be written.
    """
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise UsageError(f"{flag} {out} exists and is not a folder")
    if out.is_dir() and any(out.iterdir()):
        if not is_owned(out):
            raise UsageError(f"{flag} {out} is not empty and was not written by hybrid-plugin; choose a new or "
                             "empty folder (nothing was changed)")
        if _tracked_by_git(out):
            raise UsageError(f"{flag} {out} holds files tracked by git; the plugin never replaces them")
        if not (overwrite or resumable):
            raise UsageError(f"{flag} {out} already holds output; pass --overwrite to replace it or choose "
                             "another folder")
    anchor = _writable_ancestor(out)
    if not os.access(anchor, os.W_OK | os.X_OK):
        raise UsageError(f"{flag} {out}: {anchor} is not writable")


def claim_output(folder: str | os.PathLike[str], command: str) -> Path:
    """Create ``folder`` if needed and write the plugin's :data:`MARKER` into it (which command made it)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    marker = folder / MARKER
    if not marker.is_file():
        stamp = datetime.now(timezone.utc).isoformat(timespec="seconds")
        with atomic_write(marker) as handle:
            handle.write(json.dumps({"written_by": "hybrid-plugin", "command": command, "created": stamp}) + "\n")
    return folder
