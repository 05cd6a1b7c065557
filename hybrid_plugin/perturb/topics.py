"""Perturbed questions as Pyserini topic files (``hybrid-plugin perturb``), so the stock commands reproduce any
perturbed cell.

``write_perturbed_topics(qa, perturbation, out)`` writes::

    OUT/topics/D.L.tsv       qid<TAB>perturbed question, the format and names ``prepare`` writes (whitespace runs
                             made one space), one file per language
    OUT/perturbation.json    the settings, what was done per language (PerturbationReport), the dataset, and the
                             SHA-256 of every topic file
    OUT/.hybrid-plugin.json  the marker: the plugin made this folder

The corpora and qrels do not change: take them from ``hybrid-plugin prepare`` of the same collection and pass the
perturbed file as ``--topics`` to ``pyserini.search.faiss`` (commands in docs/perturbations.md). The folder is
checked first (:func:`~hybrid_plugin.files.check_output`), built beside its place and swapped in complete.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hybrid_plugin.data.collection import ParallelQA
from hybrid_plugin.files import check_output, claim_output, staged_folder
from hybrid_plugin.perturb.collection import PerturbationReport, perturb_collection
from hybrid_plugin.perturb.kinds import Perturbation
from hybrid_plugin.pyserini.prepared import prepared_paths

__all__ = ["PERTURBATION_FILE", "PerturbedTopics", "write_perturbed_topics", "write_question_topics"]

PERTURBATION_FILE = "perturbation.json"


@dataclass(frozen=True)
class PerturbedTopics:
    """What :func:`write_perturbed_topics` wrote: the folder, the topic file of each language, the report."""

    root: Path
    topics: dict[str, Path]
    report: PerturbationReport


def topics_text(questions: dict[str, str]) -> str:
    """``qid<TAB>question`` lines, whitespace runs made one space (as ``prepare`` writes them)."""
    return "".join(f"{qid}\t{' '.join(text.split())}\n" for qid, text in questions.items())


def write_perturbed_topics(qa: ParallelQA, perturbation: Perturbation, out: str | Path, *,
                           overwrite: bool = False) -> PerturbedTopics:
    """Perturb every question of ``qa`` and write the topic files and ``perturbation.json`` under ``out``.

    Args:
        qa: the collection (already limited / restricted to languages).
        perturbation: the settings.
        out: the output folder (new, empty, or written by this command earlier with ``overwrite``).
        overwrite: replace an earlier output in ``out``.

    Returns:
        PerturbedTopics: the files and the report.

    Raises:
        UsageError: ``out`` may not be written (see :func:`~hybrid_plugin.files.check_output`), or a
            ``codeswitch`` donor the collection does not have.

    Example::

        written = write_perturbed_topics(qa, Perturbation("romanize", 1.0), "perturbed/romanize-1")
        written.topics["ru"]   # perturbed/romanize-1/topics/xquad-r.ru.tsv
    """
    out = Path(out)
    check_output(out, overwrite=overwrite)
    perturbed, report = perturb_collection(qa, perturbation)
    topics = write_question_topics(qa, perturbed, out, command="perturb", record_file=PERTURBATION_FILE,
                                   record=report.to_dict(), overwrite=overwrite)
    return PerturbedTopics(out, topics, report)


def write_question_topics(qa: ParallelQA, changed: ParallelQA, out: Path, *, command: str, record_file: str,
                          record: dict[str, Any], overwrite: bool) -> dict[str, Path]:
    """Write ``changed``'s questions as ``OUT/topics/D.L.tsv`` and ``OUT/<record_file>`` (``record``, the dataset
    ``qa`` and each topic file's SHA-256), staged and swapped in complete; return each language's topic file.
    ``out`` was checked by the caller (before the work that made ``changed``)."""
    files = prepared_paths(out, qa.name)
    texts = {lang: topics_text(changed.questions[lang]) for lang in qa.languages}
    record = {"written_by": f"hybrid-plugin {command}", **record,
              "dataset": {"name": qa.name, "languages": list(qa.languages), "checksum": qa.checksum,
                          "items": len(qa.qids)},
              "files": {files.topics(lang).relative_to(out).as_posix():
                        hashlib.sha256(text.encode("utf-8")).hexdigest() for lang, text in texts.items()}}
    with staged_folder(out, overwrite=overwrite) as staged:
        staged_files = prepared_paths(staged, qa.name)
        for lang, text in texts.items():
            path = staged_files.topics(lang)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        (staged / record_file).write_text(json.dumps(record, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        claim_output(staged, command)
    return {lang: files.topics(lang) for lang in qa.languages}
