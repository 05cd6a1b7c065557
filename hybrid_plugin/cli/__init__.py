"""``hybrid-plugin`` command line: a thin shell over the library's functions.

One module per subcommand (``prepare``, ``export``, ``evaluate``, ``train``, ``report``, ``reproduce``), each
with ``register(subparsers)`` that sets ``func`` on its parser to a callable taking the parsed arguments;
argument types and groups shared by several subcommands live in :mod:`hybrid_plugin.cli.arguments`.

What the shell promises (``main``): a user's mistake or a fault of the machine (a missing file, a folder that
cannot be written, a full disk, undecodable input) is one line on stderr and exit status 2, never a traceback;
an interrupt (Ctrl-C or SIGTERM) unwinds every staging folder and exits with 130; anything else is a bug and
keeps its traceback. Logging: warnings by default plus the plugin's own progress lines; ``-v`` shows the
plugin's details and the libraries' INFO logs.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import signal
import sys

from hybrid_plugin import __version__
from hybrid_plugin.errors import HybridPluginError

__all__ = ["SUBCOMMANDS", "build_parser", "main"]

SUBCOMMANDS = ("prepare", "export", "evaluate", "train", "report", "reproduce", "index", "debias", "bitext", "perturb",
               "attack", "robustness", "lowres", "beir", "domain")


class _Parser(argparse.ArgumentParser):
    """argparse, with a bad option reported as one line (not the whole usage text) and exit status 2."""

    def error(self, message: str):  # type: ignore[override]
        self.exit(2, f"hybrid-plugin: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    """The parser with every subcommand registered."""
    parser = _Parser(
        prog="hybrid-plugin",
        description="Train multilingual dense retrievers with hybrid batches and evaluate them with Pyserini.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true",
                        help="details: the plugin's debug messages and the libraries' logs")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in SUBCOMMANDS:
        importlib.import_module(f"hybrid_plugin.cli.{name}").register(subparsers)
    return parser


def _configure_logging(verbose: bool) -> None:
    """Default: warnings, and the plugin's own progress lines as ``hybrid-plugin: <message>``; ``-v``: the
    plugin's debug messages and every library's INFO logs, with times and logger names."""
    loggers = [logging.getLogger(), *(v for v in logging.root.manager.loggerDict.values()
                                      if isinstance(v, logging.Logger))]
    for handler in [h for lg in loggers for h in lg.handlers if isinstance(h, logging.StreamHandler)]:
        if getattr(handler.stream, "closed", False):  # set up under a stream closed since (a test's capture)
            handler.stream = sys.stderr  # not setStream(): it flushes the closed stream first
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s", datefmt="%H:%M:%S")
    plugin = logging.getLogger("hybrid_plugin")
    plugin.setLevel(logging.DEBUG if verbose else logging.INFO)
    plugin.propagate = verbose
    for handler in [h for h in plugin.handlers if getattr(h, "_hybrid_plugin_cli", False)]:
        plugin.removeHandler(handler)  # an earlier main() in this process (tests, notebooks) added it
    if not verbose:
        handler = logging.StreamHandler(sys.stderr)
        handler._hybrid_plugin_cli = True  # type: ignore[attr-defined]
        handler.setFormatter(logging.Formatter("hybrid-plugin: %(message)s"))
        plugin.addHandler(handler)
        # the libraries' own chatter (model-card widget bars, INFO lines) stays out of the default output
        os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
        os.environ.setdefault("HF_DATASETS_DISABLE_PROGRESS_BARS", "1")
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
        # libraries imported already read those variables before they were set: tell them directly
        hub = sys.modules.get("huggingface_hub")
        if hub is not None:
            hub.utils.disable_progress_bars()
        transformers_logging = sys.modules.get("transformers.utils.logging")
        if transformers_logging is not None:
            transformers_logging.disable_progress_bar()
            transformers_logging.set_verbosity_error()
    logging.getLogger("faiss").setLevel(logging.WARNING)  # its loader logs every SIMD build it tries at INFO


def _raise_interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(signal.Signals(signum).name)


def _close_progress_bars() -> None:
    """End any progress bar cut short, so that the last line of the output starts on a line of its own."""
    tqdm = sys.modules.get("tqdm")  # imported by whatever showed a bar; nothing to close otherwise
    if tqdm is not None:
        for bar in list(tqdm.tqdm._instances):
            bar.close()


def _one_line(exc: BaseException) -> str:
    if isinstance(exc, UnicodeDecodeError):
        return f"input is not UTF-8 text ({exc.reason} at byte {exc.start})"
    if isinstance(exc, OSError):
        where = ": ".join(str(p) for p in (exc.filename, exc.filename2) if p is not None)
        reason = exc.strerror or str(exc)
        return f"{where}: {reason}" if where else reason
    return str(exc)


def main(argv: list[str] | None = None) -> int:
    """Run one subcommand; return the exit status (0 done, 2 bad input or environment, 130 interrupted)."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version, or a bad option (already reported on one line)
        return exc.code if isinstance(exc.code, int) else 2
    _configure_logging(args.verbose)
    previous = signal.signal(signal.SIGTERM, _raise_interrupt)  # SIGTERM unwinds like Ctrl-C: staging removed
    try:
        args.func(args)
    except HybridPluginError as exc:
        _close_progress_bars()
        print(f"hybrid-plugin: error: {exc}", file=sys.stderr)
        return 2
    except (OSError, UnicodeDecodeError) as exc:  # permissions, not a folder, no space left, undecodable input
        _close_progress_bars()
        print(f"hybrid-plugin: error: {_one_line(exc)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        _close_progress_bars()
        print("hybrid-plugin: interrupted; outputs are as they were before this run (or resumable)", file=sys.stderr)
        return 130
    finally:
        signal.signal(signal.SIGTERM, previous)
    return 0


if __name__ == "__main__":
    sys.exit(main())
