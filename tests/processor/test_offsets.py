"""Commits never pass unfinished work, whatever order work finishes in."""

import random

import pytest

from lanes_processor.consumer.offsets import PartitionOffsets


def test_nothing_to_commit_until_the_first_offset_finishes() -> None:
    offsets = PartitionOffsets()
    for o in (10, 11, 12):
        offsets.track(o)
    offsets.finish(11)
    offsets.finish(12)
    assert offsets.commit_contiguous_offsets() is None
    offsets.finish(10)
    assert offsets.commit_contiguous_offsets() == 13


def test_commit_stops_below_the_first_unfinished_offset() -> None:
    offsets = PartitionOffsets()
    for o in range(5):
        offsets.track(o)
    for o in (0, 1, 3, 4):
        offsets.finish(o)
    assert offsets.commit_contiguous_offsets() == 2
    assert offsets.span == 3


def test_gaps_in_offsets_do_not_block_commits() -> None:
    offsets = PartitionOffsets()
    for o in (5, 9, 20):
        offsets.track(o)
    offsets.finish(9)
    offsets.finish(5)
    # Offsets never delivered (10-19) hold no work: the commit point is 20, unfinished.
    assert offsets.commit_contiguous_offsets() == 20


def test_a_commit_is_reported_once() -> None:
    offsets = PartitionOffsets()
    offsets.track(0)
    offsets.finish(0)
    assert offsets.commit_contiguous_offsets() == 1
    offsets.committed(1)
    assert offsets.commit_contiguous_offsets() is None


def test_offsets_must_arrive_in_order() -> None:
    offsets = PartitionOffsets()
    offsets.track(3)
    with pytest.raises(ValueError, match="arrived after"):
        offsets.track(3)


def test_random_completion_order_never_commits_past_unfinished_work() -> None:
    rng = random.Random(7)
    offsets = PartitionOffsets()
    for o in range(1000):
        offsets.track(o)
    order = list(range(1000))
    rng.shuffle(order)
    finished: set[int] = set()
    for o in order:
        offsets.finish(o)
        finished.add(o)
        commit = offsets.commit_contiguous_offsets()
        if commit is not None:
            assert set(range(commit)) <= finished
            offsets.committed(commit)
    assert offsets.commit_contiguous_offsets() is None
    assert offsets.span == 0


def test_offsets_at_or_below_the_last_received_are_behind() -> None:
    offsets = PartitionOffsets()
    assert not offsets.is_behind(0)
    offsets.track(4)
    offsets.track(5)
    assert offsets.is_behind(5)
    assert offsets.is_behind(3)
    assert not offsets.is_behind(6)
    offsets.finish(4)
    offsets.finish(5)
    assert offsets.is_behind(5)  # finished and gone from the pending list, still behind


def test_a_long_finished_run_behind_one_stuck_offset_costs_a_bit_each() -> None:
    offsets = PartitionOffsets()
    for o in range(100_000):
        offsets.track(o)
    for o in range(1, 100_000):
        offsets.finish(o)
    # One unfinished record holds the commit point; the rest is a bitmap.
    assert offsets.commit_contiguous_offsets() is None
    assert offsets.span == 100_000
    assert len(offsets._bits) <= 100_000 // 8 + 1
    offsets.finish(0)
    assert offsets.commit_contiguous_offsets() == 100_000
    assert len(offsets._bits) <= 1


def test_finished_offsets_are_known_until_committed_past() -> None:
    offsets = PartitionOffsets()
    for o in range(20):
        offsets.track(o)
    offsets.finish(7)
    assert offsets.is_finished(7)
    assert not offsets.is_finished(0)
    for o in range(7):
        offsets.finish(o)
    assert offsets.is_finished(3)
    assert offsets.commit_contiguous_offsets() == 8


def test_finishing_an_offset_not_yet_read_is_a_bug() -> None:
    offsets = PartitionOffsets()
    offsets.track(0)
    with pytest.raises(ValueError, match="before it was read"):
        offsets.finish(1)
