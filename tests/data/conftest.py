"""Fixtures of the data tests: a tiny LAReQA folder (two languages, two questions) written inline."""

from __future__ import annotations

import json
from pathlib import Path

import pytest


def squad(paragraphs: list[dict]) -> dict:
    return {"version": "1.1", "data": [{"title": "t", "paragraphs": paragraphs}]}


def paragraph(sentences: list[str], qas: list[tuple[str, str, int]]) -> dict:
    context, breaks = "", []
    for s in sentences:
        start = len(context) + (1 if context else 0)
        context = f"{context} {s}" if context else s
        breaks.append([start, start + len(s)])
    return {
        "context": context,
        "sentences": sentences,
        "sentence_breaks": breaks,
        "qas": [{"id": qid, "question": q, "answers": [{"answer_start": a, "text": "x"}]} for qid, q, a in qas],
    }


@pytest.fixture
def tiny_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "tiny"
    folder.mkdir()
    en = squad([paragraph(["Alpha one.", "Beta two."], [("q1", "Which is beta?", 12), ("q2", "Which is alpha?", 0)])])
    de = squad([paragraph(["Eins alpha.", "Zwei beta."], [("q1", "Welches ist beta?", 13), ("q2", "Alpha?", 1)])])
    (folder / "en.json").write_text(json.dumps(en))
    (folder / "de.json").write_text(json.dumps(de))
    return folder
