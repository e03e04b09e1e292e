"""The lifecycle only moves forward."""

import pytest

from lanes_common.states import OPEN_STATES, TERMINAL_STATES, RequestState, can_transition

S = RequestState


@pytest.mark.parametrize(
    ("current", "new", "allowed"),
    [
        (None, S.QUEUED, True),
        (None, S.PROCESSING, True),
        (S.QUEUED, S.PROCESSING, True),
        (S.QUEUED, S.CANCELLED, True),
        (S.PROCESSING, S.PROCESSING, True),  # a retry records its attempt
        (S.PROCESSING, S.SUCCEEDED, True),
        (S.PROCESSING, S.DEAD_LETTERED, True),
        (S.PROCESSING, S.QUEUED, False),
        (S.SUCCEEDED, S.PROCESSING, False),
        (S.SUCCEEDED, S.FAILED, False),
        (S.CANCELLED, S.PROCESSING, False),
        (S.QUEUED, S.QUEUED, False),
    ],
)
def test_transitions_only_move_forward(
    current: RequestState | None, new: RequestState, allowed: bool
) -> None:
    assert can_transition(current, new) is allowed


def test_every_state_is_open_or_terminal() -> None:
    assert set(RequestState) == OPEN_STATES | TERMINAL_STATES
    assert not OPEN_STATES & TERMINAL_STATES
    assert {S.QUEUED, S.PROCESSING} == OPEN_STATES
