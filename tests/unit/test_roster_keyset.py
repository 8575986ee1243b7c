"""The planner's duplicate-key memory: exact, and compact once a file is past the product's limit."""

from __future__ import annotations

import functools
import tracemalloc
from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lambdas.roster import planner as planner_module
from lambdas.roster.codes import Code
from lambdas.roster.contract import Issue
from lambdas.roster.keyset import KeySet
from lambdas.roster.planner import Planner


def test_a_key_is_new_once_then_seen() -> None:
    # Given an empty key set
    keys = KeySet()
    # When the same key is added twice
    first, second = keys.add("user001"), keys.add("user001")
    # Then only the first is new
    assert (first, second) == (True, False)


def test_keys_stay_exact_after_moving_to_byte_buckets() -> None:
    # Given a key set that spills after 4 keys, and keys that are prefixes or suffixes of others
    keys = KeySet(spill_at=4)
    words = ["ab", "abc", "b", "bc", "a\u00e9", "x#y", "", "abcd", "c"]
    # When every key is added, then every key again
    firsts = [keys.add(word) for word in words]
    seconds = [keys.add(word) for word in words]
    # Then the set spilled, each key was new once, and each repeat is seen, including pre-spill keys
    assert keys.compact
    assert firsts == [True] * len(words)
    assert seconds == [False] * len(words)


def test_a_key_with_a_nul_character_is_exact_after_the_spill() -> None:
    # Given a spilled key set holding "a" and "b"
    keys = KeySet(spill_at=1)
    keys.add("a")
    keys.add("b")
    # When "a\0b" (whose bytes contain the separator around "a" and "b") is added twice
    # Then it is new once and not mistaken for "a" or "b"
    assert (keys.add("a\0b"), keys.add("a\0b")) == (True, False)
    assert keys.add("a\0") is True


def test_spilled_keys_take_a_fraction_of_a_set_of_strings() -> None:
    # Given 200,000 usernames of 11 characters
    names = [f"user{n:07d}" for n in range(200_000)]

    def traced_peak(add_all: Callable[[], object]) -> int:
        tracemalloc.start()
        add_all()
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        return peak

    # When they are kept the set way and the compact way (fresh strings each, as the CSV reader makes them)
    as_set = traced_peak(lambda: {f"user{n:07d}" for n in range(200_000)})
    compact = traced_peak(lambda: _fill(names))
    # Then the compact form needs less than a third of the memory
    assert compact < as_set / 3, (compact, as_set)


def _fill(names: list[str]) -> KeySet:
    keys = KeySet(spill_at=1)
    for name in names:
        keys.add(name)
    return keys


def test_planner_finds_a_duplicate_key_after_its_keys_went_compact(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a planner whose key set spills after 3 keys
    monkeypatch.setattr(planner_module, "KeySet", functools.partial(KeySet, spill_at=3))
    planner = Planner.start(["user_username", "user_name"])
    for row, name in enumerate(["u1", "u2", "u3", "u4"], start=2):
        assert not isinstance(planner.check(row, [name, "Name"]), Issue)
    # When the first username appears again
    again = planner.check(6, ["u1", "Name"])
    # Then it is a duplicate of the earlier row
    assert isinstance(again, Issue) and again.code == Code.DUPLICATE_KEY


@given(
    batches=st.lists(st.lists(st.sampled_from([f"k{i}" for i in range(40)]), max_size=12), max_size=8),
    spill_at=st.integers(min_value=1, max_value=30),
)
def test_add_many_answers_like_add_one_by_one(batches: list[list[str]], spill_at: int) -> None:
    # Given two key sets fed the same batches, one in bulk and one key at a time
    bulk, single = KeySet(spill_at=spill_at), KeySet(spill_at=spill_at)
    for keys in batches:
        # Then every answer is the same, across repeats, earlier batches and the spill
        assert bulk.add_many(keys) == [single.add(key) for key in keys]
    assert bulk.compact == single.compact
