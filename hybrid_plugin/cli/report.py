"""``hybrid-plugin report RESULTS.json...``: several results side by side as a leaderboard (Markdown and CSV, and
with ``--html FILE`` a self-contained page to browse)."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from hybrid_plugin.analysis.html_page import leaderboard_page
from hybrid_plugin.analysis.leaderboard import leaderboard
from hybrid_plugin.errors import UsageError
from hybrid_plugin.evaluation.results import load_results
from hybrid_plugin.files import atomic_files

logger = logging.getLogger(__name__)


def run(args: argparse.Namespace) -> None:
    # read and check every file before writing anything: a bad input leaves no output behind
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise NotADirectoryError(20, "exists and is not a folder", str(out))
    outputs = {}
    if args.html is not None:
        html = Path(args.html)
        if html.is_dir():
            raise UsageError(f"--html {html} is a folder; give the page's file name, e.g. {html / 'index.html'}")
        page = leaderboard_page(args.results, out=html, include_paper=not args.no_paper)
        results = list(page.results)
        outputs[html] = page.to_html()
    else:
        results = [load_results(path) for path in args.results]
    board = leaderboard(results, include_paper=not args.no_paper)
    markdown = board.to_markdown()
    outputs = {out / "leaderboard.md": markdown, out / "leaderboard.csv": board.to_csv(), **outputs}
    with atomic_files() as open_new:  # the files change together
        for path, text in outputs.items():
            with open_new(path) as handle:
                handle.write(text)
    print(markdown, end="")
    logger.info("wrote %s", ", ".join(map(str, outputs)))


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "report",
        help="put several results side by side as a leaderboard (Markdown, CSV, and an HTML page with --html)",
        description="Read results.json files written by `hybrid-plugin evaluate` (or `reproduce`) and write "
                    "DIR/leaderboard.md and DIR/leaderboard.csv: mono / cross / multi mAP, R@1, R@10 and language "
                    "bias, grouped by dataset, results of the same configuration with different seeds as mean ± "
                    "std, and the paper's figures (arXiv 2408.10536, Tables 1-2) for reference. The Markdown is "
                    "also printed. With --html FILE, also one static page (no server, no network) with sortable "
                    "tables, the best value per column marked, each row's command and 2CR status, and the "
                    "heatmaps and plots embedded.",
    )
    parser.add_argument("results", nargs="+", metavar="RESULTS.json",
                        help="results files (or folders holding results.json)")
    parser.add_argument("--out", default=".", metavar="DIR", help="output folder (default: .)")
    parser.add_argument("--html", metavar="FILE", help="also write the leaderboard as one self-contained HTML page")
    parser.add_argument("--no-paper", action="store_true", help="leave out the paper's reference rows")
    parser.set_defaults(func=run)
