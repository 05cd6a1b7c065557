"""The one home of the plugin's file helpers: atomic writes, folder swaps, digests, the cache folder, and the
marker that makes an output folder the plugin's own.

Every command writes through these helpers, so that the promises of the CLI hold in one place:

- a file is written under a hidden temporary name beside its target and renamed over it only when complete
  (:func:`atomic_write`; files that change together: :func:`atomic_files`); a folder is built beside its target
  and swapped in at the end (:func:`staged_folder`), the old one removed only after the new one is in place;
- the renames that commit an output run with SIGINT / SIGTERM held back for those few milliseconds, so an
  interrupt leaves the old output or the new one, never a mix (:func:`signals_deferred`); swaps beside each other
  take turns, and a run without ``--overwrite`` never replaces what another run swapped in meanwhile;
- an output folder is the plugin's only when the plugin made it (:data:`MARKER` inside it); a non-empty folder
  without the marker is never written into or replaced (:func:`check_output`), and a folder that holds
  files tracked by git (``qrels/``, ``benchmarks/``, a project root) is never replaced at all, nor is the working
  folder (or a folder holding it);
- a folder that a long run writes into in place (training) is held by one run at a time (:func:`output_lock`).

What does *not* live here: readers and writers of particular formats (they live with their format).
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import IO

from hybrid_plugin.errors import UsageError

try:
    import fcntl
except ImportError:  # pragma: no cover - not on POSIX: no folder locks
    fcntl = None  # type: ignore[assignment]

__all__ = [
    "CACHE_ENV",
    "FILE_MODE",
    "FOLDER_MODE",
    "MARKER",
    "atomic_files",
    "atomic_write",
    "cache_dir",
    "check_output",
    "claim_output",
    "is_owned",
    "output_lock",
    "replace_folder",
    "sha256_file",
    "signals_deferred",
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
def signals_deferred() -> Iterator[None]:
    """Hold SIGINT and SIGTERM back while the block runs (a few renames that belong together), then deliver them.

    An interrupt that arrives meanwhile takes effect right after the block, as it would have without it. Only the
    main thread receives signals in Python; elsewhere the block runs as it is.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: list[int] = []
    held = {}
    for signum in (signal.SIGINT, signal.SIGTERM):
        handler = signal.getsignal(signum)
        if handler is not None:  # None: a handler Python did not install, left alone
            held[signum] = signal.signal(signum, lambda number, frame: caught.append(number))
    try:
        yield
    finally:
        for signum, handler in held.items():
            signal.signal(signum, handler)
        for signum in caught[:1]:
            signal.raise_signal(signum)


def _temporary_beside(path: Path) -> tuple[int, str]:
    """A hidden temporary file beside ``path`` (its folder created), with the mode of the plugin's outputs."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.chmod(tmp, FILE_MODE)
    except BaseException:
        os.close(fd)
        os.unlink(tmp)
        raise
    return fd, tmp


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike[str], mode: str = "w") -> Iterator[IO]:
    """Open a hidden temporary file beside ``path``; rename it over ``path`` only if the block succeeds.

    On any exit other than success (an exception, ``KeyboardInterrupt``, a full disk) the temporary file is
    removed and ``path`` keeps its previous content.
    """
    path = Path(path)
    fd, tmp = _temporary_beside(path)
    try:
        binary = "b" in mode
        with os.fdopen(fd, mode, encoding=None if binary else "utf-8", newline=None if binary else "\n") as handle:
            yield handle
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


@contextlib.contextmanager
def atomic_files() -> Iterator[Callable[[str | os.PathLike[str]], IO[str]]]:
    """Write several text files that change together: each to a hidden temporary name beside its target, all
    renamed into place when the block succeeds (signals held back meanwhile, :func:`signals_deferred`).

    On any other exit every temporary file is removed and every target keeps its previous content. Example::

        >>> import tempfile, pathlib
        >>> root = pathlib.Path(tempfile.mkdtemp())
        >>> with atomic_files() as open_new:
        ...     for name in ("a.txt", "b.txt"):
        ...         with open_new(root / name) as handle:
        ...             _ = handle.write(name)
        >>> sorted(p.name for p in root.iterdir())
        ['a.txt', 'b.txt']
    """
    pending: list[tuple[str, Path]] = []

    def open_new(path: str | os.PathLike[str]) -> IO[str]:
        fd, tmp = _temporary_beside(Path(path))
        pending.append((tmp, Path(path)))
        return os.fdopen(fd, "w", encoding="utf-8", newline="\n")

    try:
        yield open_new
        with signals_deferred():
            for tmp, path in pending:
                os.replace(tmp, path)
    finally:
        for tmp, _ in pending:
            if os.path.exists(tmp):
                os.unlink(tmp)


@contextlib.contextmanager
def _folder_lock(folder: Path, *, wait_s: float) -> Iterator[bool]:
    """An exclusive ``flock`` on ``folder`` itself (nothing is written); yields whether it is held, after waiting
    up to ``wait_s`` seconds for another holder (a process, or another open of the folder) to let go."""
    if fcntl is None:
        yield True
        return
    try:
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:  # a folder that cannot be opened for reading: no lock, as without fcntl
        yield True
        return
    try:
        deadline = time.monotonic() + wait_s
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    yield False
                    return
                time.sleep(0.05)
        yield True
    finally:
        os.close(fd)  # releases the lock


@contextlib.contextmanager
def output_lock(folder: str | os.PathLike[str]) -> Iterator[None]:
    """Hold ``folder`` (created if needed) for one run; a second run on it is refused with :class:`UsageError`.

    For commands that write into their output folder in place over a long time (training, whose checkpoints
    make it resumable): two such runs at once would mix their files. The lock ends with the process.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    with _folder_lock(folder, wait_s=0) as held:
        if not held:
            raise UsageError(f"{folder} is in use by another hybrid-plugin run; wait for it to end or choose "
                             "another folder (nothing was changed)")
        yield


def replace_folder(new: Path, final: Path, *, overwrite: bool = True) -> None:
    """Move the complete folder ``new`` to ``final``; an old ``final`` is removed only after the swap.

    Swaps in the same parent folder take turns (a lock on the parent, waited for up to a minute), and the renames
    run with signals held back, so ``final`` is always the old folder or the new one. Without ``overwrite``,
    ``final`` may only be missing or empty: one that another run filled meanwhile is kept, and
    :class:`UsageError` raised.
    """
    with _folder_lock(final.parent, wait_s=60):
        if not overwrite or not final.exists():
            try:
                os.replace(new, final)  # atomic; replaces a missing or empty folder only
            except OSError as exc:
                if exc.errno not in (errno.ENOTEMPTY, errno.EEXIST):
                    raise
                raise UsageError(f"{final} was filled by another run meanwhile; it was kept, and this run's output "
                                 "dropped (pass --overwrite to replace it)") from None
            return
        old, swapped = final.with_name(f".{final.name}.old-{uuid.uuid4().hex[:12]}"), False
        try:
            with signals_deferred():  # an interrupt now takes effect once the swap is complete
                os.replace(final, old)
                try:
                    os.replace(new, final)
                    swapped = True
                except OSError:
                    os.replace(old, final)
                    raise
        finally:
            if swapped:
                shutil.rmtree(old, ignore_errors=True)


def _working_folder_inside(folder: Path) -> bool:
    """Whether ``folder`` (absolute) is the working folder or holds it."""
    try:
        cwd = Path.cwd()
    except OSError:  # the working folder was removed
        return False
    return folder == cwd or folder in cwd.parents


def _no_working_folder(folder: Path, flag: str, given: str | os.PathLike[str]) -> None:
    if _working_folder_inside(folder):
        raise UsageError(f"{flag} {given} is the working folder (or holds it); the output is built beside it and "
                         f"swapped in, so choose a subfolder (e.g. {flag} ./output)")


@contextlib.contextmanager
def staged_folder(final: str | os.PathLike[str], *, overwrite: bool = True) -> Iterator[Path]:
    """A fresh hidden folder beside ``final`` (same file system); swapped into place when the block succeeds
    (:func:`replace_folder`; without ``overwrite`` only over a missing or empty ``final``).

    The staging folder is removed on any other exit, so an interrupted or failed build leaves ``final`` as it
    was. ``final`` may not be the working folder or hold it. Example::

        >>> import tempfile, pathlib
        >>> root = pathlib.Path(tempfile.mkdtemp())
        >>> with staged_folder(root / "out") as tmp:
        ...     _ = (tmp / "a.txt").write_text("done")
        >>> (root / "out" / "a.txt").read_text()
        'done'
    """
    given, final = final, Path(os.path.abspath(final))
    _no_working_folder(final, "the output folder", given)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.staging-", dir=final.parent))
    try:
        os.chmod(tmp, FOLDER_MODE)
        yield tmp
        replace_folder(tmp, final, overwrite=overwrite)
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
    folder holding files tracked by git, a folder that cannot be written, and (unless ``resumable``: written in
    place) the working folder or one that holds it, which a swap would pull from under the user's shell.
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
    if not resumable:
        _no_working_folder(Path(os.path.abspath(out)), flag, out)
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
