from __future__ import annotations

import pytest

from hybrid_plugin.errors import UsageError
from hybrid_plugin.perturb.kinds import KINDS, Perturbation, count_for, parse_perturbation, query_rng


def test_parse_reads_kind_level_and_donor():
    assert parse_perturbation("typos:0.1") == Perturbation("typos", 0.1, 0)
    assert parse_perturbation("romanize:1", seed=3) == Perturbation("romanize", 1.0, 3)
    assert parse_perturbation("codeswitch:0.3:en").donor == "en"


@pytest.mark.parametrize("text, message", [
    ("typos", "expects KIND:LEVEL"), ("typos:x", "is not a number"), ("typo:0.1", "unknown"),
    ("typos:0.7", "(0, 0.3]"), ("lowercase:0", "(0, 1]"), ("romanize:nan", "(0, 1]"),
    ("typos:0.1:en", "codeswitch only"), ("codeswitch:0.3:x/y", "donor language"), ("a:b:c:d", "KIND:LEVEL"),
])
def test_parse_refuses_bad_text_with_one_line(text, message):
    with pytest.raises(UsageError, match="^[^\n]*$") as info:
        parse_perturbation(text)
    assert message in str(info.value)


def test_seed_must_be_a_non_negative_integer():
    with pytest.raises(UsageError, match="seed"):
        Perturbation("typos", 0.1, -1)
    with pytest.raises(UsageError, match="seed"):
        Perturbation("typos", 0.1, True)  # type: ignore[arg-type]


def test_record_round_trips_and_label_parses_back():
    for kind, info in KINDS.items():
        p = Perturbation(kind, info.max_level / 2, seed=7)  # type: ignore[arg-type]
        assert Perturbation.from_record(p.record()) == p
        assert parse_perturbation(p.label, seed=7) == p


def test_query_rng_depends_on_settings_language_and_key_only():
    p = Perturbation("typos", 0.1, 1)
    assert query_rng(p, "de", "q1").random() == query_rng(p, "de", "q1").random()
    draws = {query_rng(p, "de", "q2").random(), query_rng(p, "en", "q1").random(),
             query_rng(Perturbation("typos", 0.1, 2), "de", "q1").random(), query_rng(p, "de", "q1").random()}
    assert len(draws) == 4


def test_count_for_is_unbiased():
    rng = query_rng(Perturbation("typos", 0.1), "en", "x")
    counts = [count_for(0.25, 6, rng) for _ in range(4000)]
    assert sum(counts) / len(counts) == pytest.approx(1.5, abs=0.05)
    assert set(counts) == {1, 2}
