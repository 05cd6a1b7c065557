"""Argument types and argument groups that several subcommands share (defined once, here).

Every type checks its value where it is parsed, so that a bad option is a one-line error before anything is
loaded or written: argparse prints ``hybrid-plugin evaluate: error: argument --batch-size: expected a positive
integer, got 0`` and exits with status 2.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

from hybrid_plugin.data.collection import ParallelQA
from hybrid_plugin.data.loading import load_parallel_qa
from hybrid_plugin.models.backends import BACKENDS, DEFAULT_EVAL_BACKEND, DEFAULT_EVAL_PRECISION, PRECISIONS

__all__ = [
    "add_backend_arguments",
    "DATASET_HELP",
    "add_dataset_arguments",
    "finite_float",
    "positive_float",
    "language_list",
    "load_dataset_arguments",
    "positive_int",
    "unit_float",
]

DATASET_HELP = ("xquad-r, mlqa-r, a LAReQA-style folder, a parallel .jsonl file, a prepared folder or a BEIR folder "
                "(beir:PATH)")


def positive_int(text: str) -> int:
    """An integer >= 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value}")
    return value


def finite_float(text: str) -> float:
    """A finite number (``nan`` and ``inf`` are refused)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}")
    return value


def positive_float(text: str) -> float:
    """A finite number > 0."""
    value = finite_float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a number > 0, got {text!r}")
    return value


def unit_float(text: str) -> float:
    """A finite number in [0, 1]."""
    value = finite_float(text)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"expected a number between 0 and 1, got {text!r}")
    return value


def language_list(text: str) -> list[str]:
    """``en,de,es`` -> ``["en", "de", "es"]`` (empty entries dropped; at least one language)."""
    found = [code.strip() for code in text.split(",") if code.strip()]
    if not found:
        raise argparse.ArgumentTypeError(f"expected languages separated by commas, e.g. en,de; got {text!r}")
    return found


def name_list(text: str) -> tuple[str, ...]:
    """``typos,romanize`` -> ``("typos", "romanize")`` (empty entries dropped; at least one name)."""
    values = tuple(x.strip() for x in text.split(",") if x.strip())
    if not values:
        raise argparse.ArgumentTypeError(f"expected names separated by commas, e.g. typos,romanize; got {text!r}")
    return values


def add_dataset_arguments(parser: argparse.ArgumentParser, flag: str | None = None) -> None:
    """The DATASET (or ``flag``) / --data / --languages / --limit arguments."""
    if flag is None:
        parser.add_argument("dataset", metavar="DATASET", help=DATASET_HELP)
    else:
        parser.add_argument(flag, dest="dataset", metavar="DATASET", required=True, help=DATASET_HELP)
    parser.add_argument("--data", metavar="DIR", type=Path,
                        help="local copy of a named set's files (no download)")
    parser.add_argument("--languages", metavar="L,L,...", type=language_list, help="keep only these languages")
    parser.add_argument("--limit", metavar="N", type=positive_int, help="keep the first N items (quick checks)")
    parser.add_argument("--split", default="test", metavar="NAME",
                        help="the qrels split of a BEIR folder (qrels/NAME.tsv; default: test)")


def load_dataset_arguments(args: argparse.Namespace) -> ParallelQA:
    """Load the collection named by :func:`add_dataset_arguments`' options."""
    qa = load_parallel_qa(args.dataset, data=args.data, languages=args.languages,
                          split=getattr(args, "split", "test"))
    return qa.limit(args.limit)


def add_backend_arguments(parser: argparse.ArgumentParser) -> None:
    """``--backend`` / ``--precision`` (shared with ``reproduce``)."""
    parser.add_argument("--backend", choices=BACKENDS, default=DEFAULT_EVAL_BACKEND,
                        help="inference backend for encoding: the model exported once per model and cached "
                             f"(default: {DEFAULT_EVAL_BACKEND}; benchmarks/encoding/README.md)")
    parser.add_argument("--precision", choices=PRECISIONS, default=DEFAULT_EVAL_PRECISION,
                        help="fp32, or int8 (dynamic quantisation; --backend onnx only; the results say so) "
                             f"(default: {DEFAULT_EVAL_PRECISION})")
