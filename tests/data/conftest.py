"""Fixtures of the data tests: a tiny LAReQA folder (two languages, two questions) written inline, and a download
mirror on loopback serving a copy of a set (possibly with a tampered file)."""

from __future__ import annotations

import functools
import http.server
import json
import os
import shutil
import threading
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



@pytest.fixture
def loopback_mirror(tmp_path):
    """A download mirror on 127.0.0.1 serving a folder; yields (base_url, served_folder). Put a set into the
    folder with the ``serve_copy`` fixture."""
    root = tmp_path / "www"
    root.mkdir()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    handler.log_message = lambda *a, **k: None
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", root
    httpd.shutdown()
    httpd.server_close()


def _serve_copy(source: Path, target: Path, *, tampered: str | None = None) -> None:
    shutil.copytree(source, target, copy_function=os.symlink)
    if tampered is not None:
        data = bytearray((source / tampered).read_bytes())
        data[len(data) // 2] ^= 0x01
        (target / tampered).unlink()
        (target / tampered).write_bytes(bytes(data))


@pytest.fixture
def serve_copy():
    """``serve_copy(source, target, tampered=None)``: put a set's folder at ``target`` (a tree of links to its
    files); the file ``tampered`` (a path inside the set), if given, becomes a copy with one byte changed."""
    return _serve_copy
