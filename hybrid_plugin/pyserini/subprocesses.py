"""Stock commands as subprocesses: several at a time, each with its math libraries limited to a few threads, and a
failure reported as one line.

:func:`run_parallel` starts commands ``parallel`` at a time, each writing its output (stdout and stderr) to its
own log file, and returns each one's wall-clock seconds; when one fails it ends the others (the processes it
started, by their handles) and raises :class:`~hybrid_plugin.errors.DataError` with the command's name, how it
ended and the last line of its log (for a Python traceback: the exception). An interrupt ends them too.
:func:`thread_limits` gives the environment that keeps N processes from each starting one thread per core.

What does *not* live here: which commands to run (:mod:`hybrid_plugin.pyserini.sharded`), the Java runtime in
their environment (:func:`hybrid_plugin.pyserini.java.pyserini_env`).

Example::

    >>> import sys, tempfile, pathlib
    >>> log = pathlib.Path(tempfile.mkdtemp()) / "a.log"
    >>> seconds = run_parallel({"echo": [sys.executable, "-c", "print(1)"]}, {"echo": log}, parallel=1, env={})
    >>> log.read_text()
    '1\\n'
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import time
from collections.abc import Mapping
from pathlib import Path

from hybrid_plugin.errors import DataError

__all__ = ["available_cores", "run_parallel", "thread_limits"]

logger = logging.getLogger(__name__)

THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMEXPR_NUM_THREADS",
                    "VECLIB_MAXIMUM_THREADS")
"""What torch (``OMP_NUM_THREADS`` sets its intra-op threads), numpy, faiss and the BLAS libraries read."""

_POLL_S = 0.1
_TAIL_CHARS = 300
_STOP_WAIT_S = 30


def available_cores() -> int:
    """The CPU cores this process may run on (its affinity mask where the system has one)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def thread_limits(threads: int, base: Mapping[str, str] | None = None) -> dict[str, str]:
    """``base`` (default: ``os.environ``) with every math library of a subprocess limited to ``threads`` threads.

    Example::

        >>> thread_limits(2, {})["OMP_NUM_THREADS"]
        '2'
    """
    env = dict(os.environ if base is None else base)
    env.update({name: str(threads) for name in THREAD_VARIABLES})
    env["TOKENIZERS_PARALLELISM"] = "false"
    return env


def _failure(name: str, code: int, log: Path) -> DataError:
    """The one-line error for a command that ended with ``code``: its name, how it ended, its log's last line."""
    try:
        lines = [line.strip() for line in log.read_text(encoding="utf-8", errors="replace").splitlines()]
    except OSError:
        lines = []
    last = next((line for line in reversed(lines) if line), "")
    if code >= 0:
        how = f"exit status {code}"
    else:
        how = f"killed by {signal.Signals(-code).name}"
        last = last or "no output (out of memory?)"
    last = last if len(last) <= _TAIL_CHARS else "..." + last[-_TAIL_CHARS:]
    return DataError(f"{name} failed ({how}): {last or 'no output'}")


def _stop(running: Mapping[str, tuple[subprocess.Popen, float]]) -> None:
    """End the processes still running (the ones this run started)."""
    for proc, _ in running.values():
        proc.terminate()
    for proc, _ in running.values():
        try:
            proc.wait(timeout=_STOP_WAIT_S)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _start(args: list[str], log: Path, env: Mapping[str, str]) -> subprocess.Popen:
    with open(log, "wb") as handle:  # the child keeps its own descriptor
        return subprocess.Popen(args, env=dict(env), stdin=subprocess.DEVNULL, stdout=handle,
                                stderr=subprocess.STDOUT)


def run_parallel(commands: Mapping[str, list[str]], logs: Mapping[str, Path], *, parallel: int,
                 env: Mapping[str, str]) -> dict[str, float]:
    """Run ``commands`` (name -> argv), ``parallel`` at a time in their order, each one's output to its log.

    Args:
        commands: the commands by name (the name is what an error calls it).
        logs: the log file of each command (written; its last line goes into the error of a failure).
        parallel: how many run at a time (at least 1).
        env: the environment of every command.

    Returns:
        dict[str, float]: each command's wall-clock seconds, start-up included.

    Raises:
        DataError: a command failed or could not start; the others were ended first.
    """
    pending = list(commands)
    running: dict[str, tuple[subprocess.Popen, float]] = {}
    seconds: dict[str, float] = {}
    try:
        while pending or running:
            while pending and len(running) < max(1, parallel):
                name = pending.pop(0)
                try:
                    running[name] = (_start(commands[name], logs[name], env), time.monotonic())
                except OSError as exc:
                    raise DataError(f"{name} cannot start: {exc.strerror or exc}") from None
                logger.info("%s started (pid %d)", name, running[name][0].pid)
            for name, (proc, started) in list(running.items()):
                code = proc.poll()
                if code is None:
                    continue
                del running[name]
                seconds[name] = time.monotonic() - started
                if code != 0:
                    raise _failure(name, code, logs[name])
                logger.info("%s done in %.1f s", name, seconds[name])
            if running:
                time.sleep(_POLL_S)
    finally:
        _stop(running)
    return {name: seconds[name] for name in commands}
