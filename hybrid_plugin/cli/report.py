"""``hybrid-plugin report RESULTS.json...``: several results side by side as a leaderboard (Markdown and CSV)."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from hybrid_plugin.analysis.leaderboard import leaderboard
from hybrid_plugin.evaluation.results import load_results
from hybrid_plugin.files import atomic_files

logger = logging.getLogger(__name__)


def run(args: argparse.Namespace) -> None:
    # read and check every file before writing anything: a bad input leaves no output behind
    results = [load_results(path) for path in args.results]
    board = leaderboard(results, include_paper=not args.no_paper)
    markdown, table = board.to_markdown(), board.to_csv()
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise NotADirectoryError(20, "exists and is not a folder", str(out))
    with atomic_files() as open_new:  # the two files change together
        for name, text in (("leaderboard.md", markdown), ("leaderboard.csv", table)):
            with open_new(out / name) as handle:
                handle.write(text)
    print(markdown, end="")
    logger.info("wrote %s and %s", out / "leaderboard.md", out / "leaderboard.csv")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "report",
        help="put several results side by side as a leaderboard (Markdown and CSV)",
        description="Read results.json files written by `hybrid-plugin evaluate` and write DIR/leaderboard.md and "
                    "DIR/leaderboard.csv: mono / cross / multi mAP, R@1, R@10 and language bias, grouped by dataset, "
                    "results of the same configuration with different seeds as mean ± std, and the paper's "
                    "figures (arXiv 2408.10536, Tables 1-2) for reference. The Markdown is also printed.",
    )
    parser.add_argument("results", nargs="+", metavar="RESULTS.json",
                        help="results files (or folders holding results.json)")
    parser.add_argument("--out", default=".", metavar="DIR", help="output folder (default: .)")
    parser.add_argument("--no-paper", action="store_true", help="leave out the paper's reference rows")
    parser.set_defaults(func=run)
