"""The engine's batches (receiptcore.tools.batches): what waits is taken together, per key, in
order; a lone item is taken at once; one item's failure is its own; a caller that gave up is
not run. Driven on a real one-thread executor, held busy to make items wait."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from hypothesis import given
from hypothesis import strategies as st

from receiptcore.tools.batches import Batches


class Engine:
    """A one-thread executor and a ``run`` that records each batch it is given."""

    def __init__(self, fail_on: object = None) -> None:
        self.thread = ThreadPoolExecutor(1)
        self.batches: list[tuple[str, list]] = []
        self.fail_on = fail_on

    def run(self, key: str, items: list) -> list:
        self.batches.append((key, list(items)))
        if self.fail_on in items:
            raise ValueError(f"bad item {self.fail_on}")
        return [(key, item) for item in items]

    def hold(self) -> threading.Event:
        """Keep the thread busy until the returned event is set."""
        release = threading.Event()
        self.thread.submit(release.wait)
        return release


def test_a_lone_item_is_run_at_once_alone():
    engine = Engine()
    batches = Batches(engine.thread, engine.run)
    assert batches.submit("a", 1).result(timeout=5) == ("a", 1)
    assert batches.submit("a", 2).result(timeout=5) == ("a", 2)
    assert engine.batches == [("a", [1]), ("a", [2])]


@given(st.lists(st.tuples(st.sampled_from("abc"), st.integers()), min_size=1, max_size=20))
def test_what_waited_is_run_together_per_key_in_order(submitted):
    engine = Engine()
    batches = Batches(engine.thread, engine.run)
    release = engine.hold()
    futures = [batches.submit(key, item) for key, item in submitted]
    release.set()
    assert [f.result(timeout=5) for f in futures] == submitted  # each its own answer
    keys = list(dict.fromkeys(key for key, _ in submitted))
    assert engine.batches == [(k, [i for key, i in submitted if key == k]) for k in keys]
    engine.thread.shutdown()


def test_one_items_failure_is_its_own():
    engine = Engine(fail_on=2)
    batches = Batches(engine.thread, engine.run)
    release = engine.hold()
    futures = [batches.submit("a", item) for item in (1, 2, 3)]
    release.set()
    assert futures[0].result(timeout=5) == ("a", 1)
    with pytest.raises(ValueError, match="bad item 2"):
        futures[1].result(timeout=5)
    assert futures[2].result(timeout=5) == ("a", 3)
    assert engine.batches == [("a", [1, 2, 3]), ("a", [1]), ("a", [2]), ("a", [3])]


def test_an_answer_of_the_wrong_length_is_an_error_not_a_wrong_answer():
    thread = ThreadPoolExecutor(1)
    batches = Batches(thread, lambda key, items: [])
    with pytest.raises(RuntimeError, match="1 items answered 0 times"):
        batches.submit("a", 1).result(timeout=5)


def test_a_caller_that_gave_up_is_not_run():
    engine = Engine()
    batches = Batches(engine.thread, engine.run)
    release = engine.hold()
    gone, kept = batches.submit("a", 1), batches.submit("a", 2)
    assert gone.cancel()
    release.set()
    assert kept.result(timeout=5) == ("a", 2)
    assert engine.batches == [("a", [2])]
