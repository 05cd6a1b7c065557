"""Reading evaluations after the fact: reports, leaderboards, plots and significance tests.

Every function here takes the typed results record
(:class:`~hybrid_plugin.evaluation.results.EvaluationResults`, read with ``load_results``):

- ``tables``: ``results.md`` of one evaluation (:func:`write_markdown_table`);
- ``plots``: the per-pair heatmap (:func:`plot_pair_heatmap`) and the α sweep (:func:`plot_alpha_sweep`);
- ``leaderboard``: several evaluations side by side, seeds aggregated (:func:`leaderboard`, :class:`Column`);
- ``paper``: the published figures of arXiv 2408.10536 shown for reference (:data:`PAPER_ROWS`);
- ``significance``: paired randomisation and t-tests over per-query AP (:func:`compare_results`);
- ``html_page``: the leaderboard as one static page to browse (:func:`leaderboard_page`,
  :func:`write_leaderboard_page`), with its figures (``page_figures``), each row's command and 2CR status
  (``reproduction``), its HTML (``html_render``) and inline style and script (``html_assets``).

What does not live here: the results record and its file format (``hybrid_plugin.evaluation.results``), computing
the measures (``hybrid_plugin.evaluation``), the study's own summary (``hybrid_plugin.study``).

matplotlib loads only when a figure is drawn, scipy only when a significance test is asked for.

Example::

    from hybrid_plugin.analysis import leaderboard
    from hybrid_plugin.evaluation.results import load_results

    print(leaderboard([load_results("runs/xx"), load_results("runs/hybrid")]).to_markdown())
"""

from __future__ import annotations


from hybrid_plugin.analysis.leaderboard import (
    ALL_COLUMNS,
    DEFAULT_COLUMNS,
    Column,
    Leaderboard,
    LeaderboardRow,
    leaderboard,  # binds the name to the function, not to the module of the same name
)
from hybrid_plugin.analysis.paper import PAPER_ROWS, SAMPLING_NAMES, PaperRow
from hybrid_plugin.analysis.plots import plot_alpha_sweep, plot_pair_heatmap
from hybrid_plugin.analysis.tables import write_markdown_table
from hybrid_plugin.lazy import lazy_exports

# scipy (about 0.6 s to import) loads only when a significance test is asked for
_LAZY = {name: "hybrid_plugin.analysis.significance" for name in (
    "TestResult", "compare_all", "compare_results", "group_per_query", "paired_randomization_test", "paired_t_test")}
# the page reads study folders (plans, 2CR records): loaded when a page is asked for
_LAZY.update({name: "hybrid_plugin.analysis.html_page" for name in (
    "LeaderboardPage", "leaderboard_page", "write_leaderboard_page")})

__all__ = [
    "ALL_COLUMNS",
    "DEFAULT_COLUMNS",
    "PAPER_ROWS",
    "SAMPLING_NAMES",
    "Column",
    "Leaderboard",
    "LeaderboardRow",
    "PaperRow",
    "leaderboard",
    "plot_alpha_sweep",
    "plot_pair_heatmap",
    "write_markdown_table",
    *_LAZY,
]


__getattr__, __dir__ = lazy_exports(__name__, _LAZY, __all__)
