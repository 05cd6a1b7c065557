"""Named BEIR sets: BEIR's public archives (``<name>.zip`` at the UKP host), their published MD5, the verified
download and unpacking into the cache.

BEIR publishes each set as one zip archive holding a folder ``<name>/`` in BEIR's layout, with the archive's
MD5 in its dataset table. A set is added here only with that published checksum. A download streams into a
temporary file while its MD5 is computed; an archive whose MD5 differs is refused (nothing is kept), a good one
is unpacked beside its place (member paths checked to stay inside) and renamed into place complete. The mirrors
(``mirrors=`` or ``HYBRID_PLUGIN_DATA_URL``, base URLs holding ``<name>.zip``) are tried before the release.

Checksums: ``scifact`` and ``nfcorpus`` as BEIR's dataset table publishes them (quoted identically by several
independent projects that verify the same archives, e.g. LexiSharp's evaluation harness and meilisearch's
benchmark records); sets whose published MD5 could not be found are not listed.

Example::

    folder = fetch_beir_set("scifact")           # downloads once into the cache, verified
    read_beir_folder(folder, split="test")
"""

from __future__ import annotations

import hashlib
import http.client
import logging
import os
import urllib.error
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path

from hybrid_plugin.data.beir import is_beir_folder
from hybrid_plugin.data.registry import DATA_URL_ENV, data_cache_dir
from hybrid_plugin.errors import DataError, DownloadError, UsageError
from hybrid_plugin.files import atomic_write, staged_folder

__all__ = ["BEIR_SETS", "BEIR_URL", "BeirSetSpec", "fetch_beir_set"]

logger = logging.getLogger(__name__)

BEIR_URL = "https://public.ukp.informatik.tu-darmstadt.de/thakur/BEIR/datasets/{name}.zip"
"""Where BEIR publishes its archives."""


@dataclass(frozen=True)
class BeirSetSpec:
    """A named BEIR set: its name (the archive's and the folder's), the archive's published MD5, its licence and
    the splits of its qrels."""

    name: str
    md5: str
    licence: str
    splits: tuple[str, ...]

    def urls(self, mirrors: list[str] | None = None) -> list[str]:
        """Addresses of the archive in the order tried: ``mirrors`` if given, else the mirror of
        ``HYBRID_PLUGIN_DATA_URL`` (if set) and the release.

        Example::

            BEIR_SETS["scifact"].urls()[-1]
            # 'https://public.ukp.informatik.tu-darmstadt.de/thakur/BEIR/datasets/scifact.zip'
        """
        if mirrors is None:
            env = os.environ.get(DATA_URL_ENV)
            mirrors = [env] if env else []
            return [f"{m.rstrip('/')}/{self.name}.zip" for m in mirrors] + [BEIR_URL.format(name=self.name)]
        return [f"{m.rstrip('/')}/{self.name}.zip" for m in mirrors]


BEIR_SETS: dict[str, BeirSetSpec] = {
    "scifact": BeirSetSpec("scifact", "5f7d1de60b170fc8027bb7898e2efca1", "CC BY-NC 2.0", ("train", "test")),
    "nfcorpus": BeirSetSpec("nfcorpus", "a89dba18a62ef92f7d323ec890a0d38d", "CC BY-SA 4.0",
                            ("train", "dev", "test")),
    "fiqa": BeirSetSpec("fiqa", "17918ed23cd04fb15047f73e6c3bd9d9", "not recorded here: see BEIR",
                        ("train", "dev", "test")),
    "arguana": BeirSetSpec("arguana", "8ad3e3c2a5867cdced806d6503f29b99", "not recorded here: see BEIR", ("test",)),
    "scidocs": BeirSetSpec("scidocs", "38121350fc3a4d2f48850f6aff52e4a9", "not recorded here: see BEIR", ("test",)),
}
"""The named BEIR sets with their published archive MD5: the md5 column of the "Available Datasets" table in
beir-cellar/beir's README (checked there for all five)."""


def _download(url: str, target: Path, expected: str) -> None:
    """Stream ``url`` into ``target`` checking its MD5; nothing is left at ``target`` on failure."""
    digest = hashlib.md5(usedforsecurity=False)
    with atomic_write(target, "wb") as out, urllib.request.urlopen(url, timeout=60) as response:
        for chunk in iter(lambda: response.read(1 << 16), b""):
            digest.update(chunk)
            out.write(chunk)
        got = digest.hexdigest()
        if got != expected:
            raise DownloadError(f"checksum mismatch: expected md5 {expected}, got {got}", url)


def _unpack(archive: Path, spec: BeirSetSpec, folder: Path) -> None:
    """Unpack the archive's ``<name>/`` folder into ``folder`` (staged, renamed in complete)."""
    with zipfile.ZipFile(archive) as zipped, staged_folder(folder) as staging:
        prefix = f"{spec.name}/"
        for member in zipped.infolist():
            name = member.filename
            if member.is_dir() or not name.startswith(prefix):
                continue
            relative = Path(name[len(prefix):])
            if relative.is_absolute() or ".." in relative.parts:
                raise DataError(f"archive member {name!r} leaves its folder", archive)
            target = staging / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            with zipped.open(member) as source, open(target, "wb") as out:
                for chunk in iter(lambda: source.read(1 << 16), b""):
                    out.write(chunk)
        if not is_beir_folder(staging):
            raise DataError(f"archive holds no BEIR folder {prefix} (corpus.jsonl, queries.jsonl, qrels/)", archive)


def fetch_beir_set(name: str, *, mirrors: list[str] | None = None, cache: Path | None = None) -> Path:
    """A folder in BEIR's layout holding the named set, downloaded once (MD5 verified) and unpacked.

    Args:
        name: a key of :data:`BEIR_SETS`.
        mirrors: base URLs holding ``<name>.zip`` to use instead of the defaults.
        cache: where sets are kept (default: ``beir/`` in :func:`~hybrid_plugin.data.registry.data_cache_dir`).

    Raises:
        UsageError: an unknown name. DownloadError: no address gave the archive with the published MD5.
        DataError: the archive does not hold the set's folder.

    Example::

        fetch_beir_set("scifact", mirrors=["http://127.0.0.1:8000"])
    """
    spec = BEIR_SETS.get(name)
    if spec is None:
        raise UsageError(f"unknown BEIR set {name!r}: expected one of {', '.join(BEIR_SETS)}")
    root = cache or data_cache_dir() / "beir"
    folder = root / name
    if is_beir_folder(folder):
        return folder
    archive = root / f"{name}.zip"
    errors = []
    for url in spec.urls(mirrors):
        logger.info("downloading %s", url)
        try:
            _download(url, archive, spec.md5)
            break
        except (urllib.error.URLError, http.client.HTTPException, ValueError, OSError) as exc:
            errors.append(f"{url}: {getattr(exc, 'reason', exc)}")
        except DownloadError as exc:
            errors.append(str(exc))
    else:
        raise DownloadError(f"could not download {name}.zip: {'; '.join(errors)}", name)
    try:
        _unpack(archive, spec, folder)
    finally:
        archive.unlink(missing_ok=True)
    return folder
