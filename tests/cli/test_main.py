"""The command-line shell: --version, one-line errors for bad options and machine faults, interrupts."""

from __future__ import annotations

import argparse
import errno
import signal
import subprocess
import sys

import pytest

import hybrid_plugin
from hybrid_plugin import cli
from hybrid_plugin.cli import arguments
from hybrid_plugin.errors import DataError
from hybrid_plugin.lazy import lazy_exports


def _one_line_error(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("hybrid-plugin: error: "), err
    assert "Traceback" not in err[0]
    return err[0]


def test_version(capsys):
    assert cli.main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"hybrid-plugin {hybrid_plugin.__version__}"


def test_every_subcommand_has_help(capsys):
    for name in cli.SUBCOMMANDS:
        assert cli.main([name, "--help"]) == 0
        assert f"usage: hybrid-plugin {name}" in capsys.readouterr().out


@pytest.mark.parametrize("argv, needle", [
    (["evaluate", "--dataset", "xquad-r", "--limit", "0"], "--limit: expected a positive integer, got 0"),
    (["train", "--train", "x", "--out", "o", "--lr", "nan"], "--lr: expected a finite number, got 'nan'"),
    (["train", "--train", "x", "--out", "o", "--alpha", "1.5"], "--alpha: expected a number between 0 and 1"),
    (["reproduce", "--alphas", "0,inf"], "--alphas: expected a finite number, got 'inf'"),
    (["reproduce", "--seeds", "-1"], "--seeds: expected a positive integer, got -1"),
    (["evaluate", "--dataset", "x", "--runs", "some"], "--runs: invalid choice: 'some'"),
    (["nope"], "invalid choice: 'nope'"),
], ids=["limit-0", "lr-nan", "alpha-range", "alphas-inf", "seeds-negative", "runs-choice", "subcommand"])
def test_a_bad_option_is_one_line_and_status_2(capsys, argv, needle):
    assert cli.main(argv) == 2
    assert needle in _one_line_error(capsys)


def _with_subcommand(monkeypatch, name: str, func) -> None:
    """Make subcommand ``name`` call ``func`` (the fault is raised where a real command would raise it)."""
    original = cli.build_parser

    def build() -> argparse.ArgumentParser:
        parser = original()
        parser._subparsers._group_actions[0].choices[name].set_defaults(func=func)
        return parser

    monkeypatch.setattr(cli, "build_parser", build)


@pytest.mark.parametrize("exc, needle", [
    (OSError(errno.ENOSPC, "No space left on device", "/out/results.json"), "/out/results.json: No space left"),
    (PermissionError(errno.EACCES, "Permission denied", "/ro"), "/ro: Permission denied"),
    (UnicodeDecodeError("utf-8", b"\xff", 0, 1, "bad"), "not UTF-8 text (bad at byte 0)"),
    (DataError("malformed", "f.json", "line 3"), "f.json: line 3: malformed"),
], ids=["no-space", "permission", "undecodable", "data-error"])
def test_faults_of_the_machine_are_one_line_and_status_2(monkeypatch, capsys, exc, needle):
    def fail(args: argparse.Namespace) -> None:
        raise exc

    _with_subcommand(monkeypatch, "prepare", fail)
    assert cli.main(["prepare", "xquad-r"]) == 2
    assert needle in _one_line_error(capsys)


def test_sigterm_unwinds_like_an_interrupt(monkeypatch, capsys):
    unwound = []

    def run(args: argparse.Namespace) -> None:
        try:
            signal.raise_signal(signal.SIGTERM)
        finally:
            unwound.append(True)

    _with_subcommand(monkeypatch, "report", run)
    assert cli.main(["report", "x.json"]) == 130
    assert unwound == [True]
    assert signal.getsignal(signal.SIGTERM) is not cli._raise_interrupt  # restored afterwards
    assert "interrupted" in capsys.readouterr().err


def test_argument_types():
    assert arguments.positive_int("3") == 3
    assert arguments.finite_float("1e-5") == 1e-5
    assert arguments.unit_float("0") == 0.0
    assert arguments.language_list("en, de,,es") == ["en", "de", "es"]
    for parse, text in [(arguments.positive_int, "x"), (arguments.finite_float, "-inf"),
                        (arguments.unit_float, "-0.1"), (arguments.language_list, ",")]:
        with pytest.raises(argparse.ArgumentTypeError):
            parse(text)


def test_lazy_exports_import_on_first_use():
    getattr_, dir_ = lazy_exports("pkg", {"sqrt": "math"}, ["own"])
    assert getattr_("sqrt")(9.0) == 3.0
    assert dir_() == ["own", "sqrt"]
    with pytest.raises(AttributeError, match="module 'pkg' has no attribute 'nope'"):
        getattr_("nope")


def test_the_parser_imports_neither_torch_nor_scipy():
    """`hybrid-plugin --help` and a bad option stay light: the heavy libraries load only when a command runs."""
    code = ("import sys, hybrid_plugin.cli as c; c.build_parser(); "
            "print(sorted(m for m in ('torch', 'transformers', 'sentence_transformers', 'scipy', 'pyserini') "
            "if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
