"""What every fault-injection test checks, in one place (imported by the ``test_fault_*`` modules beside it).

The promises of issue #12, checked after each case: the exit status (2 for bad input or a fault of the machine,
130 for an interrupt), one line on stderr that says so (``hybrid-plugin: error: ...`` or the interrupt line)
and no traceback, no byte or mode of the data that was there before changed (:func:`snapshot`), and no
staging folder or temporary file left behind (:func:`leftovers`).

Commands run in this process through :func:`hybrid_plugin.cli.main` where they can (:func:`run_main`, fast), and
in a subprocess where the fault needs one (a signal, a mount, another user): :func:`start` / :func:`finish`,
optionally paused at a function (:data:`PAUSE_AT`), and :data:`BATCH`, which runs several commands in one
interpreter after shell set-up steps (mounts), reporting each as JSON.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import logging
import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ERROR = "hybrid-plugin: error: "
INTERRUPTED = "hybrid-plugin: interrupted"
LEFTOVER = re.compile(r"^\..*\.staging-|\.tmp$|^\..*\.old-|^\.final-")
"""Names of what a finished command must not leave: staging folders, temporary files, swapped-out folders."""


# ------------------------------------------------------------------------------------------ the state on disk


def snapshot(*roots: Path) -> dict[str, tuple[int, str]]:
    """Every entry under ``roots``: ``"<root number>/<path inside it>"`` -> (mode, SHA-256 of the bytes |
    ``"folder"`` | ``"link:<target>"``). Copies of a tree have equal snapshots."""
    found: dict[str, tuple[int, str]] = {}
    for number, root in enumerate(roots):
        if not os.path.lexists(root):
            continue
        entries = [root, *root.rglob("*")] if root.is_dir() and not root.is_symlink() else [root]
        for path in entries:
            info = path.lstat()
            if path.is_symlink():
                what = f"link:{os.readlink(path)}"
            elif path.is_dir():
                what = "folder"
            else:
                what = hashlib.sha256(path.read_bytes()).hexdigest()
            found[f"{number}/{path.relative_to(root).as_posix()}"] = (info.st_mode, what)
    return found


def leftovers(*roots: Path) -> list[str]:
    """Staging folders, temporary files and swapped-out folders anywhere under ``roots``."""
    return sorted(str(p) for root in roots if root.is_dir() for p in root.rglob("*") if LEFTOVER.search(p.name))


def assert_unchanged(before: dict[str, tuple[int, str]], *roots: Path) -> None:
    """Nothing that ``before`` (a :func:`snapshot` of ``roots``) holds changed, and nothing was added."""
    after = snapshot(*roots)
    changed = sorted(p for p in before.keys() | after.keys() if before.get(p) != after.get(p))
    assert not changed, f"changed, added or removed: {changed[:10]}"


# ------------------------------------------------------------------------------------------ what a run says


@dataclass(frozen=True)
class Outcome:
    """What a command returned and printed."""

    status: int | None
    out: str
    err: str

    @property
    def lines(self) -> list[str]:
        """stderr as lines (progress bars split at carriage returns), blank ones dropped. A message that follows a
        progress bar the fault cut short (no newline after it) starts its own line here: the CLI prints it after
        the bar's text; the bar's last refresh may come after it."""
        text = re.sub(r"(?<=[|\]])(hybrid-plugin: )", r"\n\1", self.err)
        return [line.strip() for line in re.split(r"[\r\n]+", text) if line.strip()]

    @property
    def said(self) -> list[str]:
        """The lines that say how the command ended: errors and the interrupt line."""
        return [line for line in self.lines if line.startswith((ERROR, INTERRUPTED))]


def assert_refused(outcome: Outcome, needle: str | None = None) -> str:
    """Exit status 2, no traceback, and exactly one line that says how the command ended: ``hybrid-plugin: error:
    ...``, matching the regular expression ``needle``."""
    assert "Traceback" not in outcome.err, outcome.err[-3000:]
    assert outcome.status == 2, (outcome.status, outcome.err[-2000:])
    said = outcome.said
    assert len(said) == 1 and said[0].startswith(ERROR), outcome.lines[-5:]
    assert needle is None or re.search(needle, said[0]), (needle, said[0])
    return said[0]


def assert_interrupted(outcome: Outcome) -> None:
    """Exit status 130, the interrupt line once (a progress bar may close after it), no error, no traceback."""
    assert "Traceback" not in outcome.err, outcome.err[-3000:]
    assert outcome.status == 130, (outcome.status, outcome.err[-2000:])
    said = outcome.said
    assert len(said) == 1 and said[0].startswith(INTERRUPTED), outcome.lines[-5:]


def reset_plugin_logging() -> None:
    """Forget the handlers earlier in-process ``main`` calls gave the plugin's logger (each call adds one)."""
    plugin = logging.getLogger("hybrid_plugin")
    for handler in list(plugin.handlers):
        plugin.removeHandler(handler)
    plugin.propagate = True


def run_main(argv: list[str]) -> Outcome:
    """``hybrid_plugin.cli.main(argv)`` in this process, its stdout and stderr captured."""
    from hybrid_plugin.cli import main

    out, err = io.StringIO(), io.StringIO()
    reset_plugin_logging()
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            status = main([str(a) for a in argv])
    finally:
        reset_plugin_logging()
    return Outcome(status, out.getvalue(), err.getvalue())


# ------------------------------------------------------------------------------------------ subprocesses

MAIN = "import sys; from hybrid_plugin.cli import main; sys.exit(main())"

PAUSE_AT = """
import importlib, sys, time
target = sys.argv.pop(1)
module_name, name = target.split(":")
module = importlib.import_module(module_name)
original = getattr(module, name)
def paused(*args, **kwargs):
    print(f"fault-injection: paused at {target}", file=sys.stderr, flush=True)
    time.sleep(300)
    return original(*args, **kwargs)
setattr(module, name, paused)
from hybrid_plugin.cli import main
sys.exit(main())
"""
"""``python -c PAUSE_AT MODULE:FUNCTION ARGS...``: the CLI, stopped (and announced on stderr) when the named
function is first called: a staged point for a signal where no progress line marks one."""

BATCH = """
import contextlib, io, json, logging, os, resource, signal, subprocess, sys, traceback
from hybrid_plugin.cli import main
cases, report = json.loads(open(sys.argv[1]).read()), []
for case in cases:
    for command in case.get("before", []):
        subprocess.run(command, shell=True, check=True)
    plugin = logging.getLogger("hybrid_plugin")
    for handler in list(plugin.handlers):
        plugin.removeHandler(handler)
    limit, err, saved = case.get("file_size_limit"), io.StringIO(), dict(os.environ)
    os.environ.update(case.get("env", {}))
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    if limit is not None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, hard))
    try:
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            status = main(case["argv"])
    except BaseException:  # a bug: reported like the CLI's own traceback would be
        status = None
        err.write(traceback.format_exc())
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        os.environ.clear()
        os.environ.update(saved)
    for command in case.get("after", []):
        subprocess.run(command, shell=True, check=True)
    report.append({"status": status, "err": err.getvalue()})
open(sys.argv[2], "w").write(json.dumps(report))
"""
"""``python -c BATCH CASES.json REPORT.json``: each case's ``before`` shell commands, ``main(argv)`` (with the
case's ``env`` added, under its ``file_size_limit`` if given), its ``after`` commands; the statuses and stderr as
JSON. Several commands in one
interpreter (one start-up), inside whatever the whole batch runs in (a private mount namespace, another user)."""


def environment(cache: Path) -> dict[str, str]:
    """The environment of a subprocess: offline, the given plugin cache, one torch thread."""
    return {**os.environ, "HYBRID_PLUGIN_CACHE": str(cache), "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
            "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1", "TOKENIZERS_PARALLELISM": "false"}


def start(argv: list[str], *, env: dict[str, str], cwd: Path | None = None, pause_at: str | None = None,
          stdout: Path | None = None, **popen: object) -> subprocess.Popen:
    """Start the CLI in a subprocess (paused at ``pause_at`` = ``"module:function"`` when given); stderr is piped."""
    code = [PAUSE_AT, pause_at] if pause_at else [MAIN]
    out = open(stdout, "w") if stdout else subprocess.DEVNULL  # noqa: SIM115 - closed with the process
    return subprocess.Popen([sys.executable, "-c", *code, *[str(a) for a in argv]], env=env, cwd=cwd,
                            stdout=out, stderr=subprocess.PIPE, **popen)


def finish(proc: subprocess.Popen, *, stop_at: str | None = None, signum: int = signal.SIGINT,
           timeout: float = 240) -> tuple[Outcome, bool]:
    """Read the process's stderr line by line (bars split at carriage returns); send ``signum`` once when a line
    matches the regular expression ``stop_at``. Returns the outcome and whether the signal was sent."""
    deadline, buffer, sent = time.monotonic() + timeout, b"", False
    pattern = re.compile(stop_at) if stop_at else None
    chunks: list[bytes] = []
    while True:
        if time.monotonic() > deadline:
            proc.kill()
            raise AssertionError(f"no end within {timeout} s; stderr: {b''.join(chunks)[-2000:]!r}")
        chunk = os.read(proc.stderr.fileno(), 65536)
        if not chunk:
            break
        chunks.append(chunk)
        buffer += chunk
        *complete, buffer = re.split(rb"[\r\n]", buffer)
        if pattern and not sent and any(pattern.search(part.decode("utf-8", "replace")) for part in complete):
            proc.send_signal(signum)
            sent = True
    status = proc.wait(timeout=max(1.0, deadline - time.monotonic()))
    return Outcome(status, "", b"".join(chunks).decode("utf-8", "replace")), sent


def run_batch(cases: list[dict], folder: Path, *, env: dict[str, str], prefix: list[str] = (),
              **popen: object) -> list[Outcome]:
    """Run :data:`BATCH` over ``cases`` (in ``prefix``, e.g. ``unshare --mount``); one outcome per case."""
    spec, report = folder / "cases.json", folder / "report.json"
    spec.write_text(json.dumps(cases))
    done = subprocess.run([*prefix, sys.executable, "-c", BATCH, str(spec), str(report)], env=env,
                          capture_output=True, text=True, timeout=600, **popen)
    assert done.returncode == 0 and report.is_file(), done.stderr[-3000:]
    return [Outcome(r["status"], "", r["err"]) for r in json.loads(report.read_text())]
