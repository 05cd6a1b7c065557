from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from hybrid_plugin.perturb.measure import character_error_rate, edit_distance, mean_character_error_rate


def _reference(a, b) -> int:
    """The textbook dynamic programme."""
    row = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        prev, row[0] = row[0], i
        for j, y in enumerate(b, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (x != y))
    return row[-1]


@given(st.text(alphabet="abcé猫 ", max_size=12), st.text(alphabet="abcé猫 ", max_size=12))
def test_edit_distance_matches_the_textbook_programme(a, b):
    assert edit_distance(a, b) == _reference(a, b)


def test_known_distances_and_rates():
    assert edit_distance("kitten", "sitting") == 3
    assert edit_distance("who wrote it".split(), ["who", "it"]) == 1
    assert character_error_rate("abcd", "abce") == 0.25
    assert mean_character_error_rate([("ab", "ab"), ("abcd", "")]) == 0.5
    assert mean_character_error_rate([]) == 0.0
