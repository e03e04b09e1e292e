"""Backpressure decisions: only the partition at its bound pauses, and resumes below half."""

from __future__ import annotations

from lanes_processor.consumer.backpressure import HeldBounds, PartitionLoad, decide_pauses

BOUNDS = HeldBounds(per_user=10, per_partition=100, total=1_000, max_span=10_000)


def test_only_the_full_partition_pauses() -> None:
    loads = {0: PartitionLoad(100), 1: PartitionLoad(3), 2: PartitionLoad(99)}
    decision = decide_pauses(loads, set(), BOUNDS)
    assert decision.pause == {0}
    assert decision.resume == frozenset()


def test_a_paused_partition_resumes_at_half_its_bound_not_before() -> None:
    assert decide_pauses({0: PartitionLoad(51)}, {0}, BOUNDS).resume == frozenset()
    assert decide_pauses({0: PartitionLoad(50)}, {0}, BOUNDS).resume == {0}


def test_paused_and_still_full_is_left_alone() -> None:
    decision = decide_pauses({0: PartitionLoad(120), 1: PartitionLoad(0)}, {0}, BOUNDS)
    assert decision.pause == frozenset()
    assert decision.resume == frozenset()


def test_the_total_bound_shrinks_each_partitions_share() -> None:
    bounds = HeldBounds(per_user=10, per_partition=100, total=120)
    assert bounds.partition_bound(1) == 100
    assert bounds.partition_bound(4) == 30
    loads = {p: PartitionLoad(30 if p == 3 else 29) for p in range(4)}
    assert decide_pauses(loads, set(), bounds).pause == {3}


def test_a_long_unfinished_span_pauses_its_partition() -> None:
    # One stuck record under a stream: few held, but the bitmap grows with every read.
    decision = decide_pauses({0: PartitionLoad(1, span=10_000), 1: PartitionLoad(1)}, set(), BOUNDS)
    assert decision.pause == {0}
    still_long = decide_pauses({0: PartitionLoad(0, span=6_000)}, {0}, BOUNDS)
    assert still_long.resume == frozenset()
    assert decide_pauses({0: PartitionLoad(0, span=10)}, {0}, BOUNDS).resume == {0}


def test_a_stuck_record_behind_a_stream_does_not_pause_when_little_is_held() -> None:
    # What used to pause every partition: many finished records behind one unfinished.
    decision = decide_pauses({0: PartitionLoad(2, span=5_000)}, set(), BOUNDS)
    assert decision.pause == frozenset()
