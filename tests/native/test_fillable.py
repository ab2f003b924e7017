"""``FillableBytes``: a ``bytes`` written in place through its buffer, handed over once whole.
What a fetch into memory is received into (``receiptcore.runtime._sink``)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from receiptcore._core import FillableBytes


@given(st.lists(st.binary(max_size=5000), max_size=20))
def test_pieces_written_through_views_are_the_bytes_handed_over(pieces):
    whole = b"".join(pieces)
    fillable = FillableBytes(len(whole))
    view, at = memoryview(fillable), 0
    for piece in pieces:
        fillable.populate(at, at + len(piece))
        view[at:at + len(piece)] = piece
        at += len(piece)
    view.release()
    data = fillable.finish()
    assert type(data) is bytes and data == whole and hash(data) == hash(whole)


def test_the_bytes_are_not_handed_over_while_a_view_of_them_lives():
    fillable = FillableBytes(8)
    view = memoryview(fillable)
    piece = view[2:4]  # a slice keeps the storage exported after the view itself is released
    view.release()
    with pytest.raises(BufferError, match="still in use"):
        fillable.finish()
    del piece
    assert len(fillable.finish()) == 8


def test_no_view_can_be_made_once_handed_over_and_it_is_handed_over_once():
    fillable = FillableBytes(4)
    fillable.finish()
    with pytest.raises(BufferError, match="handed over"):
        memoryview(fillable)
    with pytest.raises(BufferError, match="already finished"):
        fillable.finish()


def test_populate_stays_inside_the_bytes():
    fillable = FillableBytes(1 << 20)
    fillable.populate(0, 1 << 20)
    fillable.populate(5, 4096 * 3 + 7)
    for begin, end in [(0, (1 << 20) + 1), (10, 5)]:
        with pytest.raises(ValueError, match="outside the bytes"):
            fillable.populate(begin, end)
    assert len(fillable) == 1 << 20


def test_a_size_no_process_can_hold_is_a_memory_error():
    with pytest.raises((MemoryError, ValueError)):
        FillableBytes(1 << 62)
