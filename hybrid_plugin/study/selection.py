"""Which of a study's models a job reads or trains: ``--seeds K`` (the models of seeds 0..K-1) and ``--trained-on
SET[,SET]`` (the directions trained on those collections), checked against the study's plan -- for ``robustness``,
``lowres`` and ``reproduce --train-only``.

Example::

    >>> study_seeds(1, 3, Path("outputs/reproduce-recipe")), study_trained_on("xquad-r", DIRECTIONS, Path("."))
    (1, ('xquad-r',))
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hybrid_plugin.errors import UsageError
from hybrid_plugin.evaluation.cells import is_positive_int
from hybrid_plugin.study.settings import DIRECTIONS

__all__ = ["study_seeds", "study_trained_on"]


def study_seeds(seeds: Any, planned: int | None, study: Path) -> int | None:
    """Check the ``--seeds K`` of a study that reads a ``reproduce`` folder's models (``robustness``, ``lowres``):
    None (every seed of the plan) or K from 1 to the plan's ``seeds`` (the models of seeds 0..K-1; ``planned``
    None: the plan is not read, K is only checked to be a positive integer).

    Raises:
        UsageError: K not a positive integer, or more seeds than the plan of ``study`` has.

    Example::

        >>> study_seeds(1, 3, Path("outputs/reproduce-recipe"))
        1
    """
    if seeds is not None and not is_positive_int(seeds):
        raise UsageError(f"--seeds must be a positive integer, got {seeds!r}")
    if seeds is not None and planned is not None and seeds > planned:
        raise UsageError(f"--seeds {seeds}: the study {study} plans {planned} seed(s) (plan.json \"seeds\": "
                         f"{planned}); choose 1 to {planned}")
    return seeds


def study_trained_on(trained_on: Any, directions: tuple[tuple[str, str], ...] | None,
                     study: Path) -> tuple[str, ...] | None:
    """Check the ``--trained-on SET[,SET]`` of a job that reads or trains some of a study's models (``robustness``,
    ``lowres``, ``reproduce --train-only``): None (every direction) or the distinct training collections named (one name may
    be given as a string), each one the plan's ``directions`` train on (``directions`` None: the plan is not read).

    Raises:
        UsageError: an empty or repeated list, or a collection no direction of the plan trains on.

    Example::

        >>> study_trained_on("xquad-r", DIRECTIONS, Path("outputs/reproduce-recipe"))
        ('xquad-r',)
    """
    if trained_on is None:
        return None
    names = (trained_on,) if isinstance(trained_on, str) else tuple(trained_on)
    if not names or len(set(names)) != len(names):
        raise UsageError(f"--trained-on must name distinct training collections but got "
                         f"{','.join(map(str, names)) or 'none'}")
    planned = list(dict.fromkeys(train for train, _ in directions or ()))
    unknown = [name for name in names if directions is not None and name not in planned]
    if unknown:
        raise UsageError(f"--trained-on {unknown[0]}: the study {study} trains on {', '.join(planned)} only "
                         "(plan.json \"directions\")")
    return names
