"""Tests for ``asynkit.tools`` (spec: eager-tasks.md §9, priority.md §7)."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import math
import random
import sys
from collections import deque
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
)

import asynkit
import asynkit.tools as tools
from asynkit.tools import PriEntry, PriorityQueue, cancelling, deque_pop

# ---------------------------------------------------------------------------
# module surface
# ---------------------------------------------------------------------------


def test_create_task_is_original_asyncio_create_task() -> None:
    # asyncio.tasks.create_task is never patched by asynkit.compat
    assert tools.create_task is asyncio.tasks.create_task


def test_cancelling_same_object_as_package() -> None:
    assert asynkit.cancelling is tools.cancelling


def test_import_paths() -> None:
    for name in (
        "deque_pop",
        "PriorityQueue",
        "PriEntry",
        "Cancellable",
        "Sortable",
        "create_task",
        "cancelling",
        "T",
        "P",
        "CA",
        "_TaskAny",
    ):
        assert hasattr(tools, name), name


def test_protocols_and_typevars() -> None:
    assert getattr(tools.Cancellable, "_is_protocol", False)
    assert getattr(tools.Sortable, "_is_protocol", False)
    assert callable(tools.Cancellable.cancel)
    assert callable(tools.Cancellable.cancelled)
    assert "__lt__" in vars(tools.Sortable)
    assert tools.P.__bound__ is tools.Sortable
    assert tools.CA.__bound__ is tools.Cancellable
    assert tools.T.__bound__ is None
    assert tools._TaskAny is asyncio.Task


def test_priority_queue_generic_subscription() -> None:
    alias = PriorityQueue[int, str]
    q = alias()
    assert isinstance(q, PriorityQueue)
    assert PriEntry[int, str] is not None


# ---------------------------------------------------------------------------
# deque_pop
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("n", range(0, 8))
def test_deque_pop_matches_list_pop(n: int) -> None:
    for pos in range(-n - 3, n + 3):
        ref = list(range(n))
        d = deque(range(n))
        try:
            expected = ref.pop(pos)
        except IndexError:
            with pytest.raises(IndexError, match="pop index out of range"):
                deque_pop(d, pos)
            assert list(d) == list(range(n))  # untouched on error
        else:
            ident = d
            assert deque_pop(d, pos) == expected
            assert d is ident
            assert list(d) == ref


def test_deque_pop_default_is_last() -> None:
    d = deque("abc")
    assert deque_pop(d) == "c"
    assert list(d) == ["a", "b"]


def test_deque_pop_empty() -> None:
    for pos in (-1, 0, 1, -5, 5):
        with pytest.raises(IndexError, match="pop index out of range"):
            deque_pop(deque(), pos)
    with pytest.raises(IndexError, match="pop index out of range"):
        deque_pop(deque())


def test_deque_pop_first_and_middle_keep_order() -> None:
    d = deque(range(10))
    assert deque_pop(d, 0) == 0
    assert deque_pop(d, 4) == 5
    assert deque_pop(d, -2) == 8
    assert list(d) == [1, 2, 3, 4, 6, 7, 9]


def test_deque_pop_index_like_and_type_error() -> None:
    d = deque("abc")
    assert deque_pop(d, True) == "b"  # bool is an index, like list.pop(True)
    with pytest.raises(TypeError):
        deque_pop(d, "1")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        deque_pop(d, 1.0)  # type: ignore[arg-type]
    assert list(d) == ["a", "c"]


def test_deque_pop_with_maxlen() -> None:
    d = deque(range(5), maxlen=5)
    assert deque_pop(d, 2) == 2
    assert list(d) == [0, 1, 3, 4]
    assert d.maxlen == 5


@given(st.lists(st.integers(), max_size=30), st.integers(min_value=-40, max_value=40))
def test_deque_pop_property(items: list[int], pos: int) -> None:
    ref = list(items)
    d = deque(items)
    try:
        expected = ref.pop(pos)
    except IndexError:
        with pytest.raises(IndexError):
            deque_pop(d, pos)
        assert list(d) == items
    else:
        assert deque_pop(d, pos) == expected
        assert list(d) == ref


def test_deque_pop_on_loop_ready_queue() -> None:
    async def main() -> list[str]:
        loop = asyncio.get_running_loop()
        log: list[str] = []
        for c in "abc":
            loop.call_soon(log.append, c)
        ready = loop._ready  # type: ignore[attr-defined]
        handle = deque_pop(ready, -2)  # remove "b"
        handle.cancel()
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        return log

    assert asyncio.run(main()) == ["a", "c"]


# ---------------------------------------------------------------------------
# cancelling
# ---------------------------------------------------------------------------


class Recorder:
    def __init__(self) -> None:
        self.calls: list[tuple[tuple[Any, ...], dict[str, Any]]] = []

    def cancel(self, *args: Any, **kwargs: Any) -> bool:
        self.calls.append((args, kwargs))
        return True

    def cancelled(self) -> bool:
        return bool(self.calls)


def test_cancelling_yields_target_and_cancels_positionally() -> None:
    r = Recorder()
    with cancelling(r) as v:
        assert v is r
        assert r.calls == []
    assert r.calls == [((None,), {})]

    r2 = Recorder()
    with cancelling(r2, "bye") as v:
        assert v is r2
    assert r2.calls == [(("bye",), {})]

    r3 = Recorder()
    with cancelling(r3, msg="kw") as v:
        pass
    assert r3.calls == [(("kw",), {})]


def test_cancelling_on_exception_propagates_same_instance() -> None:
    r = Recorder()
    exc = ValueError("boom")
    with pytest.raises(ValueError) as info:
        with cancelling(r, "m"):
            raise exc
    assert info.value is exc
    assert r.calls == [(("m",), {})]


def test_cancelling_on_base_exception() -> None:
    r = Recorder()
    with pytest.raises(KeyboardInterrupt):
        with cancelling(r):
            raise KeyboardInterrupt
    assert len(r.calls) == 1


def test_cancelling_on_return() -> None:
    r = Recorder()

    def f() -> int:
        with cancelling(r, "ret"):
            return 5
        raise AssertionError("unreachable")  # pragma: no cover

    assert f() == 5
    assert r.calls == [(("ret",), {})]


def test_cancelling_is_context_manager_object() -> None:
    cm = cancelling(Recorder())
    assert hasattr(cm, "__enter__") and hasattr(cm, "__exit__")
    assert isinstance(cm, contextlib.AbstractContextManager)


def test_cancelling_future_message() -> None:
    async def main() -> None:
        fut = asyncio.get_running_loop().create_future()
        with cancelling(fut, "the message") as f:
            assert f is fut
            assert not fut.cancelled()
        assert fut.cancelled()
        with pytest.raises(asyncio.CancelledError) as info:
            await fut
        assert info.value.args == ("the message",)

    asyncio.run(main())


def test_cancelling_done_future_keeps_result() -> None:
    async def main() -> None:
        fut = asyncio.get_running_loop().create_future()
        with cancelling(fut):
            fut.set_result(7)
        assert not fut.cancelled()
        assert await fut == 7

    asyncio.run(main())


def test_cancelling_task() -> None:
    async def main() -> None:
        started = asyncio.Event()

        async def body() -> None:
            started.set()
            await asyncio.sleep(10)

        with cancelling(asyncio.create_task(body()), "stop it") as task:
            await started.wait()
            assert not task.done()
        with pytest.raises(asyncio.CancelledError) as info:
            await task
        assert task.cancelled()
        if sys.version_info >= (3, 11):
            assert info.value.args == ("stop it",)

    asyncio.run(main())


# ---------------------------------------------------------------------------
# PriEntry
# ---------------------------------------------------------------------------


def test_prientry_record() -> None:
    e = PriEntry(3, 7, "x")
    assert (e.priority, e.sequence, e.obj) == (3, 7, "x")
    assert repr(e) == "PriEntry(3, 7, 'x')"
    e.priority = 1
    e.sequence = 2
    e.obj = None
    assert repr(e) == "PriEntry(1, 2, None)"
    assert PriEntry.sequence == 0


def test_prientry_ordering() -> None:
    assert PriEntry(1, 5, "a") < PriEntry(2, 0, "b")
    assert not PriEntry(2, 0, "b") < PriEntry(1, 5, "a")
    assert PriEntry(1, 0, "a") < PriEntry(1, 1, "b")
    assert not PriEntry(1, 1, "a") < PriEntry(1, 0, "b")
    assert not PriEntry(1, 1, "a") < PriEntry(1, 1, "b")
    # NaN is mutually not-less with everything: sequence decides
    nan = math.nan
    assert PriEntry(nan, 0, "a") < PriEntry(0, 1, "b")
    assert PriEntry(0, 0, "a") < PriEntry(nan, 1, "b")
    assert not PriEntry(nan, 1, "a") < PriEntry(0, 0, "b")


class LtOnly:
    """A priority that only supports ``<``; any other comparison fails the test."""

    def __init__(self, v: float) -> None:
        self.v = v

    def __lt__(self, other: LtOnly) -> bool:
        return self.v < other.v

    def __eq__(self, other: object) -> bool:
        raise AssertionError("== used on priority")

    def __ne__(self, other: object) -> bool:
        raise AssertionError("!= used on priority")

    def __gt__(self, other: object) -> bool:
        raise AssertionError("> used on priority")

    def __le__(self, other: object) -> bool:
        raise AssertionError("<= used on priority")

    def __ge__(self, other: object) -> bool:
        raise AssertionError(">= used on priority")

    __hash__ = object.__hash__

    def __repr__(self) -> str:
        return f"LtOnly({self.v})"


# ---------------------------------------------------------------------------
# PriorityQueue basics
# ---------------------------------------------------------------------------


def test_empty_queue() -> None:
    q: PriorityQueue[int, str] = PriorityQueue()
    assert len(q) == 0
    assert not q
    assert list(q) == []
    assert list(q.items()) == []
    assert q._pq == [] and type(q._pq) is list
    assert q._sequence == 0
    for meth in (q.pop, q.popitem, q.peek, q.peekitem):
        with pytest.raises(IndexError):
            meth()
    assert list(q.ordered()) == []
    assert list(q.ordereditems()) == []
    assert q.find(lambda o: True) is None
    assert q.reschedule(lambda o: True, 1) is None
    with pytest.raises(ValueError):
        q.remove("x")


def test_add_pop_order_and_len() -> None:
    q: PriorityQueue[int, str] = PriorityQueue()
    for pri, obj in [(5, "e"), (1, "a"), (3, "c"), (2, "b"), (4, "d")]:
        q.add(pri, obj)
    assert len(q) == 5 and q
    assert q.peek() == "a"
    assert q.peekitem() == (1, "a")
    assert len(q) == 5
    assert q.pop() == "a"
    assert q.popitem() == (2, "b")
    assert [q.pop() for _ in range(3)] == ["c", "d", "e"]
    assert not q


def test_fifo_ties() -> None:
    q: PriorityQueue[int, int] = PriorityQueue()
    for i in range(50):
        q.add(i % 3, i)
    out = [q.pop() for _ in range(50)]
    expected = [i for p in range(3) for i in range(50) if i % 3 == p]
    assert out == expected


def test_only_lt_used_on_priorities() -> None:
    q: PriorityQueue[LtOnly, int] = PriorityQueue()
    pris = [LtOnly(v) for v in (3, 1, 2, 1, 3, 0, 2)]
    for i, p in enumerate(pris):
        q.add(p, i)
    q.extend([(LtOnly(1), 100), (LtOnly(0), 101)])
    q.refresh()
    assert q.reschedule(lambda o: o == 4, LtOnly(-1)) == 4
    assert q.reschedule(lambda o: o == 0, LtOnly(5)) == 0
    assert q.remove(2) is pris[2]
    assert q.find(lambda o: o == 6, remove=True) == (pris[6], 6)
    ordered = list(q.ordered())
    q.sort()
    assert list(q) == ordered
    s = q.sorted()
    assert list(s) == ordered
    assert [q.pop() for _ in range(len(q))] == [4, 5, 101, 1, 3, 100, 0]


def test_nan_priorities_tie_fifo() -> None:
    q: PriorityQueue[float, str] = PriorityQueue()
    q.add(math.nan, "a")
    q.add(math.nan, "b")
    q.add(math.nan, "c")
    assert [q.pop() for _ in range(3)] == ["a", "b", "c"]


def test_sequence_counter() -> None:
    q: PriorityQueue[int, str] = PriorityQueue()
    assert q._sequence == 0
    q.add(1, "a")
    q.add(1, "b")
    assert q._sequence == 2
    assert sorted(e.sequence for e in q._pq) == [0, 1]
    q.extend([(0, "c"), (0, "d")])
    assert q._sequence == 4
    assert {e.obj: e.sequence for e in q._pq} == {"a": 0, "b": 1, "c": 2, "d": 3}
    q.pop()
    assert q._sequence == 4  # not empty yet: no reset
    q.popitem()
    q.remove("a")
    assert q._sequence == 4
    q.find(lambda o: o == "b", remove=True)
    assert not q
    assert q._sequence == 0  # reset when emptied by find(remove=True)


@pytest.mark.parametrize(
    "empty_it",
    [
        lambda q: q.pop(),
        lambda q: q.popitem(),
        lambda q: q.remove("only"),
        lambda q: q.find(lambda o: True, remove=True),
        lambda q: q.clear(),
    ],
    ids=["pop", "popitem", "remove", "find", "clear"],
)
def test_sequence_resets_when_emptied(empty_it: Any) -> None:
    q: PriorityQueue[int, str] = PriorityQueue()
    q.add(1, "x")
    q.pop()
    q.add(1, "only")
    assert q._sequence == 1
    empty_it(q)
    assert not q
    assert q._sequence == 0
    q.add(1, "new")
    assert q._pq[0].sequence == 0


def test_find_without_remove_does_not_reset() -> None:
    q: PriorityQueue[int, str] = PriorityQueue()
    q.add(1, "x")
    assert q.find(lambda o: True) == (1, "x")
    assert len(q) == 1 and q._sequence == 1


def test_iter_and_items_storage_order() -> None:
    q: PriorityQueue[int, str] = PriorityQueue()
    for pri, obj in [(3, "c"), (1, "a"), (2, "b"), (0, "z")]:
        q.add(pri, obj)
    assert list(q) == [e.obj for e in q._pq]
    assert list(q.items()) == [(e.priority, e.obj) for e in q._pq]
    assert "a" in q and "nope" not in q
    assert not hasattr(PriorityQueue, "__contains__")


def test_extend_then_heapify() -> None:
    q: PriorityQueue[int, str] = PriorityQueue()
    q.add(2, "x")
    q.extend(iter([(3, "c"), (1, "a"), (1, "b"), (2, "y")]))
    assert len(q) == 5
    assert [q.pop() for _ in range(5)] == ["a", "b", "x", "y", "c"]


def test_extend_empty_iterable() -> None:
    q: PriorityQueue[int, str] = PriorityQueue()
    q.extend([])
    assert not q and q._sequence == 0


def test_remove() -> None:
    q: PriorityQueue[int, str] = PriorityQueue()
    for pri, obj in [(4, "d"), (1, "a"), (3, "c"), (2, "b"), (5, "e"), (0, "z")]:
        q.add(pri, obj)
    assert q.remove("c") == 3
    assert q.remove("z") == 0
    assert q.remove("e") == 5
    assert len(q) == 3
    with pytest.raises(ValueError) as info:
        q.remove("c")
    assert str(info.value) == "'c' not in queue"
    assert [q.pop() for _ in range(3)] == ["a", "b", "d"]


def test_remove_first_in_storage_order_uses_eq() -> None:
    q: PriorityQueue[int, Any] = PriorityQueue()
    q.add(1, 1)
    q.add(2, 1.0)  # == 1
    first = q._pq[0]
    assert q.remove(1.0) == first.priority
    assert q.pop() == 1.0 and isinstance(q._pq, list)


def test_remove_keeps_heap_valid_everywhere() -> None:
    for n in range(1, 16):
        for victim in range(n):
            q: PriorityQueue[int, int] = PriorityQueue()
            vals = list(range(n))
            random.Random(n * 31 + victim).shuffle(vals)
            for v in vals:
                q.add(v, v)
            q.remove(victim)
            rest = sorted(v for v in vals if v != victim)
            assert [q.pop() for _ in range(len(q))] == rest


def test_remove_needing_sift_up() -> None:
    # heap: 0, 10, 1, 11, 12, 2, 3 ; removing 11 moves last (3) into a slot whose
    # parent (10) is larger -> must sift towards the root.
    q: PriorityQueue[int, int] = PriorityQueue()
    q._pq[:] = [PriEntry(v, i, v) for i, v in enumerate([0, 10, 1, 11, 12, 2, 3])]
    q._sequence = 7
    assert q.remove(11) == 11
    assert [q.pop() for _ in range(len(q))] == [0, 1, 2, 3, 10, 12]


def test_find_scans_from_back() -> None:
    q: PriorityQueue[int, str] = PriorityQueue()
    q.add(1, "a1")
    q.add(1, "a2")
    q.add(1, "a3")
    # equal priorities appended in order stay in storage order
    assert [e.obj for e in q._pq] == ["a1", "a2", "a3"]
    seen: list[str] = []

    def key(o: str) -> bool:
        seen.append(o)
        return o.startswith("a") and o != "a3"

    assert q.find(key) == (1, "a2")
    assert seen == ["a3", "a2"]
    assert len(q) == 3
    assert q.find(lambda o: o == "missing") is None
    assert len(q) == 3


def test_find_truthiness_and_remove() -> None:
    q: PriorityQueue[int, str] = PriorityQueue()
    for pri, obj in [(3, "c"), (1, "a"), (2, "b"), (0, "z"), (5, "e")]:
        q.add(pri, obj)
    assert q.find(lambda o: 1 if o == "b" else 0, remove=True) == (2, "b")
    assert q.find(lambda o: o == "b") is None
    assert q.find(lambda o: "" if o == "a" else None) is None
    assert q.find(lambda o: o == "z", remove=True) == (0, "z")
    assert [q.pop() for _ in range(len(q))] == ["a", "c", "e"]


def test_reschedule() -> None:
    q: PriorityQueue[int, str] = PriorityQueue()
    for pri, obj in [(1, "a"), (2, "b"), (3, "c"), (4, "d")]:
        q.add(pri, obj)
    entry_d = next(e for e in q._pq if e.obj == "d")
    assert q.reschedule(lambda o: o == "d", 0) == "d"
    assert entry_d.priority == 0 and entry_d.sequence == 3
    assert q.peek() == "d"
    assert q.reschedule(lambda o: o == "d", 9) == "d"
    assert q.reschedule(lambda o: o == "b", 2) == "b"  # unchanged, still returned
    assert q.reschedule(lambda o: o == "x", 0) is None
    assert [q.pop() for _ in range(4)] == ["a", "b", "c", "d"]


def test_reschedule_keeps_sequence_for_ties() -> None:
    q: PriorityQueue[int, str] = PriorityQueue()
    q.add(5, "early")
    q.add(1, "x")
    q.add(1, "y")
    # "early" has the lowest sequence: moving it to priority 1 puts it first
    assert q.reschedule(lambda o: o == "early", 1) == "early"
    assert [q.pop() for _ in range(3)] == ["early", "x", "y"]


def test_reschedule_equal_priority_untouched() -> None:
    q: PriorityQueue[LtOnly, str] = PriorityQueue()
    p = LtOnly(1)
    q.add(p, "a")
    assert q.reschedule(lambda o: True, LtOnly(1)) == "a"
    assert q._pq[0].priority is p  # not replaced when mutually not-less


def test_refresh_after_external_mutation() -> None:
    q: PriorityQueue[LtOnly, str] = PriorityQueue()
    pris = {name: LtOnly(v) for name, v in [("a", 1), ("b", 2), ("c", 3), ("d", 4)]}
    for name, p in pris.items():
        q.add(p, name)
    pris["d"].v = 0
    pris["a"].v = 10
    q.refresh()
    assert [q.pop() for _ in range(4)] == ["d", "b", "c", "a"]


def test_refresh_after_swapping_pq_elements() -> None:
    q: PriorityQueue[int, int] = PriorityQueue()
    for i in range(10):
        q.add(i, i)
    pq = q._pq
    pq[0], pq[-1] = pq[-1], pq[0]
    assert q.peek() == 9  # heap invariant broken on purpose
    q.refresh()
    assert q._pq is pq
    assert [q.pop() for _ in range(10)] == list(range(10))


def test_sort_sorted_copy() -> None:
    q: PriorityQueue[int, str] = PriorityQueue()
    for pri, obj in [(3, "c"), (1, "a"), (2, "b"), (1, "a2"), (0, "z")]:
        q.add(pri, obj)
    before = list(q._pq)
    s = q.sorted()
    assert type(s) is PriorityQueue
    assert list(s) == ["z", "a", "a2", "b", "c"]
    assert list(s.items())[0] == (0, "z")
    assert q._pq == before  # original untouched
    assert s._sequence == q._sequence

    c = q.copy()
    assert c._pq == q._pq and c._pq is not q._pq
    assert c._sequence == q._sequence
    assert [c.pop() for _ in range(5)] == ["z", "a", "a2", "b", "c"]
    assert len(q) == 5 and q._pq == before

    pq = q._pq
    q.sort()
    assert q._pq is pq
    assert list(q) == ["z", "a", "a2", "b", "c"]
    assert [q.pop() for _ in range(5)] == ["z", "a", "a2", "b", "c"]


def test_copy_and_sorted_preserve_subclass() -> None:
    class MyQ(PriorityQueue[int, str]):
        pass

    q = MyQ()
    q.add(2, "b")
    q.add(1, "a")
    assert type(q.copy()) is MyQ
    assert type(q.sorted()) is MyQ


def test_clear_keeps_list_identity() -> None:
    q: PriorityQueue[int, str] = PriorityQueue()
    pq = q._pq
    q.add(1, "a")
    q.add(2, "b")
    q.clear()
    assert not q and q._sequence == 0 and q._pq is pq


# ---------------------------------------------------------------------------
# ordered / ordereditems
# ---------------------------------------------------------------------------


def _filled() -> PriorityQueue[int, str]:
    q: PriorityQueue[int, str] = PriorityQueue()
    for pri, obj in [(3, "c"), (1, "a"), (2, "b"), (1, "a2"), (0, "z"), (5, "e")]:
        q.add(pri, obj)
    return q


POP_ORDER = [(0, "z"), (1, "a"), (1, "a2"), (2, "b"), (3, "c"), (5, "e")]


def test_ordereditems_full_and_restored() -> None:
    q = _filled()
    seq = q._sequence
    assert list(q.ordereditems()) == POP_ORDER
    assert len(q) == 6
    assert q._sequence == seq
    assert list(q.ordered()) == [o for _, o in POP_ORDER]
    assert [q.popitem() for _ in range(6)] == POP_ORDER


def test_ordereditems_lazy_pop_while_suspended() -> None:
    q = _filled()
    gen = q.ordereditems()
    assert len(q) == 6
    assert next(gen) == (0, "z")
    assert len(q) == 6  # head only popped when resumed
    assert next(gen) == (1, "a")
    assert len(q) == 5
    assert "z" not in q
    gen.close()
    assert len(q) == 6
    assert [q.popitem() for _ in range(6)] == POP_ORDER


def test_ordereditems_closing_early() -> None:
    q = _filled()
    for _ in range(3):  # repeated partial iterations each start from the head
        got = []
        with contextlib.closing(q.ordereditems()) as it:
            for item in it:
                got.append(item)
                if len(got) == 3:
                    break
        assert got == POP_ORDER[:3]
        assert len(q) == 6
    assert [q.popitem() for _ in range(6)] == POP_ORDER


def test_ordereditems_restored_on_gc() -> None:
    q = _filled()
    gen = q.ordereditems()
    next(gen)
    next(gen)
    next(gen)
    assert len(q) == 4
    del gen
    gc.collect()
    assert len(q) == 6
    assert [q.popitem() for _ in range(6)] == POP_ORDER


def test_ordered_close_closes_inner() -> None:
    q = _filled()
    gen = q.ordered()
    assert next(gen) == "z"
    assert next(gen) == "a"
    assert next(gen) == "a2"
    assert len(q) == 4
    gen.close()
    assert len(q) == 6
    with contextlib.closing(q.ordered()) as it:
        assert next(it) == "z"
    assert [q.pop() for _ in range(6)] == [o for _, o in POP_ORDER]


def test_ordereditems_does_not_reset_sequence() -> None:
    q: PriorityQueue[int, str] = PriorityQueue()
    q.add(1, "a")
    q.add(1, "b")
    assert list(q.ordered()) == ["a", "b"]
    q.add(1, "c")  # must sort after the restored ones
    assert q._sequence == 3
    assert [q.pop() for _ in range(3)] == ["a", "b", "c"]


def test_ordered_is_generator_with_close() -> None:
    q = _filled()
    assert hasattr(q.ordered(), "close")
    assert hasattr(q.ordereditems(), "close")


def test_large_random_workload_fast() -> None:
    rnd = random.Random(1)
    q: PriorityQueue[int, int] = PriorityQueue()
    model: list[tuple[int, int]] = []
    seq = 0
    for _ in range(20000):
        if rnd.random() < 0.55 or not model:
            p = rnd.randrange(50)
            q.add(p, seq)
            model.append((p, seq))
            seq += 1
        else:
            model.sort()
            assert q.popitem() == model.pop(0)


# ---------------------------------------------------------------------------
# Hypothesis: PriorityQueue vs a naive model
# ---------------------------------------------------------------------------


class PriorityQueueMachine(RuleBasedStateMachine):
    """Every operation on PriorityQueue mirrored against a plain list model.

    Model entries are ``[priority, sequence, obj]`` lists; pop order is the sort by
    ``(priority, sequence)``.  Objects are unique so that scans are deterministic.
    """

    objs = Bundle("objs")

    @initialize()
    def setup(self) -> None:
        self.q: PriorityQueue[int, int] = PriorityQueue()
        self.model: list[list[int]] = []
        self.seq = 0
        self.next_obj = 0

    def _ordered_model(self) -> list[tuple[int, int]]:
        return [(p, o) for p, _s, o in sorted(self.model, key=lambda e: (e[0], e[1]))]

    def _model_remove(self, obj: int) -> list[int]:
        for i, e in enumerate(self.model):
            if e[2] == obj:
                del self.model[i]
                if not self.model:
                    self.seq = 0
                return e
        raise AssertionError("not in model")

    def _fresh(self) -> int:
        self.next_obj += 1
        return self.next_obj

    @rule(target=objs, pri=st.integers(0, 4))
    def add(self, pri: int) -> int:
        obj = self._fresh()
        self.q.add(pri, obj)
        self.model.append([pri, self.seq, obj])
        self.seq += 1
        return obj

    @rule(pris=st.lists(st.integers(0, 4), max_size=5))
    def extend(self, pris: list[int]) -> None:
        pairs = [(p, self._fresh()) for p in pris]
        self.q.extend(pairs)
        for p, o in pairs:
            self.model.append([p, self.seq, o])
            self.seq += 1

    @rule()
    def pop(self) -> None:
        if not self.model:
            with pytest.raises(IndexError):
                self.q.pop()
            return
        p, o = self._ordered_model()[0]
        assert self.q.peekitem() == (p, o)
        assert self.q.peek() == o
        assert self.q.pop() == o
        self._model_remove(o)

    @rule()
    def popitem(self) -> None:
        if not self.model:
            with pytest.raises(IndexError):
                self.q.popitem()
            return
        p, o = self._ordered_model()[0]
        assert self.q.popitem() == (p, o)
        self._model_remove(o)

    @rule(obj=objs)
    def remove(self, obj: int) -> None:
        present = any(e[2] == obj for e in self.model)
        if present:
            e = self._model_remove(obj)
            assert self.q.remove(obj) == e[0]
        else:
            with pytest.raises(ValueError):
                self.q.remove(obj)

    @rule(obj=objs, remove=st.booleans())
    def find(self, obj: int, remove: bool) -> None:
        present = [e for e in self.model if e[2] == obj]
        res = self.q.find(lambda o: o == obj, remove=remove)
        if present:
            assert res == (present[0][0], obj)
            if remove:
                self._model_remove(obj)
        else:
            assert res is None

    @rule(obj=objs, pri=st.integers(0, 4))
    def reschedule(self, obj: int, pri: int) -> None:
        present = [e for e in self.model if e[2] == obj]
        res = self.q.reschedule(lambda o: o == obj, pri)
        if present:
            assert res == obj
            present[0][0] = pri
        else:
            assert res is None

    @rule()
    def clear(self) -> None:
        self.q.clear()
        self.model.clear()
        self.seq = 0

    @rule()
    def sort(self) -> None:
        self.q.sort()
        assert list(self.q.items()) == self._ordered_model()

    @rule()
    def refresh(self) -> None:
        pq = self.q._pq
        if len(pq) >= 2:
            pq[0], pq[-1] = pq[-1], pq[0]
        self.q.refresh()

    @rule(k=st.integers(0, 6))
    def partial_ordered(self, k: int) -> None:
        expected = self._ordered_model()[:k]
        got = []
        with contextlib.closing(self.q.ordereditems()) as it:
            for item in it:
                if len(got) == k:
                    break
                got.append(item)
        assert got == expected

    @rule()
    def copy_independent(self) -> None:
        c = self.q.copy()
        assert [c.popitem() for _ in range(len(c))] == self._ordered_model()

    @invariant()
    def matches_model(self) -> None:
        assert len(self.q) == len(self.model)
        assert bool(self.q) == bool(self.model)
        assert self.q._sequence == self.seq
        assert list(self.q.ordereditems()) == self._ordered_model()
        assert sorted(self.q) == sorted(e[2] for e in self.model)


TestPriorityQueueMachine = PriorityQueueMachine.TestCase
TestPriorityQueueMachine.settings = settings(
    max_examples=150, stateful_step_count=40, deadline=None
)


@given(st.lists(st.tuples(st.integers(-3, 3), st.booleans()), max_size=60))
def test_priority_queue_sort_property(ops: list[tuple[int, bool]]) -> None:
    """Adds and pops interleaved; popped sequence equals the stable sort by priority."""
    q: PriorityQueue[int, int] = PriorityQueue()
    model: list[tuple[int, int, int]] = []
    seq = 0
    for i, (pri, do_pop) in enumerate(ops):
        if do_pop and model:
            model.sort(key=lambda e: (e[0], e[1]))
            p, _s, o = model.pop(0)
            assert q.popitem() == (p, o)
            if not model:
                seq = 0
        else:
            q.add(pri, i)
            model.append((pri, seq, i))
            seq += 1
    assert q._sequence == seq
