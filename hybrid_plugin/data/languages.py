"""The languages of the named sets: one table of codes, and the resource level of a language for a model.

What lives here:

* :data:`LANGUAGES` -- every language of xquad-r, mlqa-r, afriqa, ntrex-128 and tatoeba, read from the table
  shipped beside this module (``languages.tsv``): the plugin's code, the ISO 639-3 code, the script, the name,
  the entry of XLM-R's 100 pre-training languages it falls under, and each set's own code for it;
* :func:`plugin_code` / :func:`dataset_code` -- a set's own code (ISO 639-3 and script or region: ``deu``,
  ``aze-Latn``, ``zho-TW``; AfriQA's ``hau``) to the plugin's code (ISO 639-1 where one exists: ``de``, ``az``,
  ``zh-TW``, ``ha``) and back; :func:`find_language` for any of them;
* :func:`in_training`, :func:`resource_level`, :func:`resource_levels` -- whether a language is in a training
  collection and among XLM-R's pre-training languages, and the group a report breaks results down by.

Codes: the plugin uses ISO 639-1 where a language has one (as xquad-r and mlqa-r do), else ISO 639-3, and adds a
BCP 47 region or script subtag only where one set holds several variants of a language (NTREX-128's ``en-GB``,
``en-IN``, ``en-US``, ``fr-CA``, ``pt-BR``, ``es-MX``, ``sr-Cyrl``, ``sr-Latn``, ``zh-TW``). Two codes name the
same language when their ISO 639-3 codes agree (``en-GB`` and ``en``; ``zh-TW`` and ``zh``).

The XLM-R column follows Conneau et al. 2020, "Unsupervised Cross-lingual Representation Learning at Scale"
(ACL 2020), appendix Table 6, the 100 CC-100 languages XLM-R was pre-trained on (also listed in fairseq's
``examples/xlmr/README.md``); the table's header says how the varieties were judged.

What does not live here: reading the sets (:mod:`hybrid_plugin.data.afriqa`, :mod:`hybrid_plugin.data.ntrex`,
:mod:`hybrid_plugin.data.tatoeba`, :mod:`hybrid_plugin.data.lareqa`).

Example::

    >>> plugin_code("aze-Latn", "ntrex-128"), dataset_code("zh", "tatoeba")
    ('az', 'cmn')
    >>> resource_level("yo", training=["en", "de"]).group
    'unseen'
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from importlib import resources
from typing import Literal, get_args

from hybrid_plugin.data.collection import ParallelQA
from hybrid_plugin.errors import UsageError

__all__ = [
    "check_chosen_languages",
    "DATASET_COLUMNS",
    "LANGUAGES",
    "RESOURCE_GROUPS",
    "XLMR_LANGUAGES",
    "XLMR_SOURCE",
    "Language",
    "ResourceGroup",
    "ResourceLevel",
    "dataset_code",
    "dataset_languages",
    "find_language",
    "get_language",
    "in_training",
    "plugin_code",
    "resource_level",
    "resource_levels",
]

DATASET_COLUMNS: tuple[str, ...] = ("xquad-r", "mlqa-r", "afriqa", "ntrex-128", "tatoeba")
"""The sets whose own codes the table records."""

XLMR_SOURCE = ("Conneau et al. 2020, Unsupervised Cross-lingual Representation Learning at Scale (ACL 2020), "
               "appendix Table 6; fairseq examples/xlmr/README.md")
"""Where :data:`XLMR_LANGUAGES` comes from."""

XLMR_LANGUAGES: tuple[str, ...] = tuple("""
    af am ar as az be bg bn bn-Latn br bs ca cs cy da de el en eo es et eu fa fi fr fy ga gd gl gu ha he hi
    hi-Latn hr hu hy id is it ja jv ka kk km kn ko ku ky la lo lt lv mg mk ml mn mr ms my my-x-zawgyi ne nl no
    om or pa pl ps pt ro ru sa sd si sk sl so sq sr su sv sw ta ta-Latn te te-Latn th tl tr ug uk ur ur-Latn uz
    vi xh yi zh-Hans zh-Hant""".split())
"""XLM-R's 100 pre-training languages (CC-100), romanised and Zawgyi variants included (:data:`XLMR_SOURCE`)."""

ResourceGroup = Literal["trained", "pretrained", "unseen", "unlisted"]
"""Where a language stands for a model fine-tuned from XLM-R: in the training collection; only among XLM-R's
pre-training languages; in neither; not in the plugin's table (a user's own code: XLM-R unknown)."""
RESOURCE_GROUPS: tuple[str, ...] = get_args(ResourceGroup)


@dataclass(frozen=True)
class Language:
    """One row of the language table.

    Attributes:
        code: the plugin's code (``"de"``, ``"sr-Cyrl"``, ``"bem"``).
        iso639_3: the ISO 639-3 code (``"deu"``; ``"srp"`` for every script of Serbian).
        script: ISO 15924 code of the script the sets write it in (``"Latn"``, ``"Cyrl"``, ``"Hans"``).
        name: English name.
        xlmr: the entry of :data:`XLMR_LANGUAGES` it falls under (``"tl"`` for Filipino), None if none.
        codes: ``(set, the set's own code)`` for every set of :data:`DATASET_COLUMNS` that has it.
    """

    code: str
    iso639_3: str
    script: str
    name: str
    xlmr: str | None
    codes: tuple[tuple[str, str], ...]

    @property
    def in_xlmr(self) -> bool:
        """Whether XLM-R was pre-trained on the language."""
        return self.xlmr is not None

    def code_in(self, dataset: str) -> str | None:
        """The set's own code for the language (None when the set does not have it)."""
        return dict(self.codes).get(dataset)


def _read_table() -> dict[str, Language]:
    text = resources.files(__package__).joinpath("languages.tsv").read_text(encoding="utf-8")
    rows = [line.split("\t") for line in text.splitlines() if line and not line.startswith("#")]
    header, rows = rows[0], rows[1:]
    sets = header[4:9]
    table: dict[str, Language] = {}
    for row in rows:
        code, iso, script, xlmr, *own, name = row
        codes = tuple((d, c) for d, c in zip(sets, own) if c != "-")
        table[code] = Language(code, iso, script, name, None if xlmr == "-" else xlmr, codes)
    return table


LANGUAGES: dict[str, Language] = _read_table()
"""Every language of the named sets, by the plugin's code, in the table's (alphabetical) order."""


def _aliases() -> dict[str, Language]:
    """Codes other than the plugin's that name one language unambiguously: the sets' own codes, and the ISO
    639-3 code of a language without a region or script subtag."""
    found: dict[str, set[str]] = {}
    for lang in LANGUAGES.values():
        names = {own for _, own in lang.codes} | ({lang.iso639_3} if "-" not in lang.code else set())
        for name in names - {lang.code}:
            found.setdefault(name, set()).add(lang.code)
    return {name: LANGUAGES[codes.pop()] for name, codes in found.items()
            if len(codes) == 1 and name not in LANGUAGES}


_ALIASES = _aliases()
_BY_DATASET: dict[str, dict[str, Language]] = {
    d: {own: lang for lang in LANGUAGES.values() for s, own in lang.codes if s == d} for d in DATASET_COLUMNS}


def _check_dataset(dataset: str) -> None:
    if dataset not in _BY_DATASET:
        raise UsageError(f"no language codes are recorded for {dataset!r}: expected one of "
                         f"{', '.join(DATASET_COLUMNS)}")


def find_language(code: str, dataset: str | None = None) -> Language | None:
    """The table's row for ``code``, None if the table does not have it.

    Args:
        code: the plugin's code, or a set's own code or an ISO 639-3 code where it names one language.
        dataset: read ``code`` as that set's own code first (``"eng"`` of ntrex-128 is ``en``).

    Example::

        >>> find_language("deu").code, find_language("en-GB").iso639_3, find_language("xx")
        ('de', 'eng', None)
    """
    if dataset is not None:
        _check_dataset(dataset)
        found = _BY_DATASET[dataset].get(code)
        if found is not None:
            return found
    return LANGUAGES.get(code) or _ALIASES.get(code)


def get_language(code: str, dataset: str | None = None) -> Language:
    """Like :func:`find_language`, but an unknown code raises :class:`UsageError`.

    Example::

        >>> get_language("zu").name
        'Zulu'
    """
    found = find_language(code, dataset)
    if found is None:
        where = f" of {dataset}" if dataset else ""
        raise UsageError(f"unknown language {code!r}{where}: the language table (hybrid_plugin/data/languages.tsv) "
                         "has no such code")
    return found


def plugin_code(code: str, dataset: str) -> str:
    """The plugin's code for a set's own code (:class:`UsageError` if the set has no such language).

    Example::

        >>> plugin_code("zho-TW", "ntrex-128"), plugin_code("swh", "tatoeba"), plugin_code("hau", "afriqa")
        ('zh-TW', 'sw', 'ha')
    """
    _check_dataset(dataset)
    found = _BY_DATASET[dataset].get(code)
    if found is None:
        raise UsageError(f"{dataset} has no language {code!r}")
    return found.code


def dataset_code(code: str, dataset: str) -> str:
    """A set's own code for the plugin's code (:class:`UsageError` if the set does not have the language).

    Example::

        >>> dataset_code("de", "ntrex-128"), dataset_code("en", "ntrex-128")
        ('deu', 'eng')
    """
    _check_dataset(dataset)
    own = get_language(code).code_in(dataset)
    if own is None:
        raise UsageError(f"{dataset} has no language {code!r}; it has {', '.join(dataset_languages(dataset))}")
    return own


def dataset_languages(dataset: str) -> tuple[str, ...]:
    """The plugin's codes of a set's languages, in the table's order.

    Example::

        >>> dataset_languages("afriqa")
        ('bem', 'en', 'fon', 'fr', 'ha', 'ig', 'rw', 'sw', 'tw', 'wo', 'yo', 'zu')
    """
    _check_dataset(dataset)
    return tuple(lang.code for lang in LANGUAGES.values() if lang.code_in(dataset) is not None)


def check_chosen_languages(name: str, available: Iterable[str], languages: Iterable[str]) -> tuple[str, ...]:
    """``languages`` as a tuple, checked against a set's ``available`` ones: not empty, each known, none twice
    (one-line :class:`UsageError` otherwise).

    Example::

        >>> check_chosen_languages("ntrex-128", ("en", "de"), ["de"])
        ('de',)
    """
    available, langs = tuple(available), tuple(languages)
    if not langs:
        raise UsageError(f"no languages chosen; {name} has {', '.join(available)}")
    unknown = [lang for lang in langs if lang not in available]
    if unknown:
        raise UsageError(f"{name} has no language {unknown[0]!r}; it has {', '.join(available)}")
    if len(set(langs)) != len(langs):
        raise UsageError(f"languages are listed twice: {', '.join(langs)}")
    return langs


def _identity(code: str) -> str:
    """What makes two codes the same language: the ISO 639-3 code where the table knows the code."""
    found = find_language(code)
    return code if found is None else found.iso639_3


def _training_languages(training: ParallelQA | Iterable[str]) -> tuple[str, ...]:
    if isinstance(training, ParallelQA):
        return tuple(training.languages)
    if isinstance(training, str):
        raise UsageError(f"training must be a collection or a list of languages, got the string {training!r}")
    return tuple(training)


def in_training(language: str, training: ParallelQA | Iterable[str]) -> bool:
    """Whether ``language`` is among the languages of a training collection.

    Codes are compared by language (their ISO 639-3 code when the table has them), so ``en-US`` is in a
    collection trained with ``en`` and NTREX-128's ``zh-TW`` in one trained with XQuAD-R's ``zh``.

    Args:
        language: a code (the plugin's, or any code :func:`find_language` knows).
        training: the training collection, or its languages.

    Example::

        >>> in_training("en-US", ["en", "de"]), in_training("yo", ["en", "de"])
        (True, False)
    """
    wanted = _identity(language)
    return any(_identity(code) == wanted for code in _training_languages(training))


@dataclass(frozen=True)
class ResourceLevel:
    """Where one language stands for a model fine-tuned from XLM-R on some training collection.

    Attributes:
        language: the code.
        in_training: in the training collection (:func:`in_training`).
        in_xlmr: among XLM-R's pre-training languages; None when the table does not know the code.
    """

    language: str
    in_training: bool
    in_xlmr: bool | None

    @property
    def group(self) -> ResourceGroup:
        """``trained``, else ``pretrained`` (XLM-R only), ``unseen`` (neither) or ``unlisted`` (unknown code)."""
        if self.in_training:
            return "trained"
        if self.in_xlmr is None:
            return "unlisted"
        return "pretrained" if self.in_xlmr else "unseen"


def resource_level(language: str, training: ParallelQA | Iterable[str]) -> ResourceLevel:
    """The :class:`ResourceLevel` of one language.

    Example::

        >>> resource_level("sw", training=["en"]).group, resource_level("de", training=["en", "de"]).group
        ('pretrained', 'trained')
    """
    found = find_language(language)
    return ResourceLevel(language, in_training(language, training), None if found is None else found.in_xlmr)


def resource_levels(languages: Iterable[str], training: ParallelQA | Iterable[str]) -> dict[str, ResourceLevel]:
    """The :class:`ResourceLevel` of each language, in the given order (``languages`` may be a collection's).

    Example::

        >>> levels = resource_levels(["de", "sw", "yo"], training=["en", "de"])
        >>> {code: level.group for code, level in levels.items()}
        {'de': 'trained', 'sw': 'pretrained', 'yo': 'unseen'}
    """
    training = _training_languages(training)
    return {code: resource_level(code, training) for code in languages}
