"""Tests for asynkit.experimental.priority (spec: priority.md)."""

from __future__ import annotations

import asyncio
import random
import sys
import warnings
from collections.abc import Callable
from typing import Any

import pytest

import asynkit
import asynkit.experimental
from asynkit.experimental import priority as prio
from asynkit.experimental.priority import (
    BasePriorityObject,
    DefaultPriorityEventLoop,
    PosPriorityQueue,
    Priority,
    PriorityCondition,
    PriorityEventLoopPolicy,
    PriorityLock,
    PrioritySchedulingMixin,
    PrioritySelectorEventLoop,
    PriorityTask,
    PriorityValue,
)
from asynkit.loop.schedulingloop import AbstractSchedulingLoop

PyTask = getattr(asyncio.tasks, "_PyTask", asyncio.Task)


def run_on(loop_factory: Callable[[], asyncio.AbstractEventLoop], main: Any) -> Any:
    loop = loop_factory()
    try:
        return loop.run_until_complete(main)
    finally:
        pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
        for t in pending:
            t.cancel()
        if pending:
            loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        loop.close()


def prun(main: Any, *, boost: bool = False) -> Any:
    """Run on a fresh priority loop. Straggler boosting (random by design) is off unless
    asked for, so that ordering assertions are deterministic."""

    def factory() -> asyncio.AbstractEventLoop:
        loop = DefaultPriorityEventLoop()
        if not boost:
            loop.ready_queue.priority_boost_factor = 0  # type: ignore[attr-defined]
        return loop

    return run_on(factory, main)


def srun(main: Any) -> Any:
    return run_on(asyncio.new_event_loop, main)


async def settle(n: int = 5) -> None:
    for _ in range(n):
        await asyncio.sleep(0)


async def let_others_block() -> None:
    """Block the caller on a timer: every runnable task runs until it blocks, whatever
    its priority relative to the caller's."""
    await asyncio.sleep(0.001)
    while asynkit.runnable_tasks():  # robust against a slow machine
        await asyncio.sleep(0.001)


# ---------------------------------------------------------------------------
# module surface
# ---------------------------------------------------------------------------


def test_all_exports() -> None:
    expected = {
        "BasePriorityObject",
        "PriorityCondition",
        "PriorityLock",
        "PrioritySelectorEventLoop",
        "DefaultPriorityEventLoop",
        "PriorityTask",
        "PriorityEventLoopPolicy",
        "PrioritySchedulingMixin",
    }
    if hasattr(asyncio, "ProactorEventLoop"):  # pragma: no cover - Windows
        expected.add("PriorityProactorEventLoop")
    assert set(prio.__all__) == expected
    assert len(prio.__all__) == len(expected)
    for name in prio.__all__:
        assert getattr(prio, name) is not None
    assert not hasattr(asynkit, "PriorityTask")
    assert not hasattr(asynkit.experimental, "PriorityLock")


def test_priority_enum() -> None:
    assert Priority.LOW.value == 10.0
    assert Priority.NORMAL.value == 0.0
    assert Priority.HIGH.value == -10.0
    assert Priority.HIGH != -10.0
    assert not isinstance(Priority.HIGH, float)
    with pytest.raises(TypeError):
        Priority.HIGH < Priority.LOW  # noqa: B015


def test_base_priority_object_is_abstract() -> None:
    with pytest.raises(TypeError):
        BasePriorityObject()  # type: ignore[abstract]
    assert issubclass(PriorityTask, BasePriorityObject)
    assert issubclass(PriorityLock, BasePriorityObject)
    assert not issubclass(PriorityCondition, BasePriorityObject)
    assert issubclass(PriorityTask, asyncio.Task)
    assert issubclass(PriorityLock, asyncio.Lock)
    assert issubclass(PriorityCondition, asyncio.Condition)


def test_priority_value() -> None:
    a = PriorityValue(1.0, 0)
    b = PriorityValue(2.0, 0)
    assert a < b and not b < a
    b.priority_boost = -1.5
    assert b.priority() == 0.5
    assert b < a
    imm = PriorityValue(100.0, 0, 0.0, 0)
    assert imm < a and not a < imm
    assert (a.priority_class, a.priority_boost) == (1, 0.0)


# ---------------------------------------------------------------------------
# PosPriorityQueue
# ---------------------------------------------------------------------------


def make_queue(pri: dict[Any, Any] | None = None) -> Any:
    pri = pri if pri is not None else {}
    return PosPriorityQueue(lambda x: pri.get(x, 0.0))


def drain(q: Any) -> list[Any]:
    out = []
    while q:
        out.append(q.popleft())
    return out


def test_queue_priority_order_and_fifo() -> None:
    pri = {"a": 3, "b": 1, "c": 3, "d": -1, "e": 1, "f": 0.0, "g": 0}
    q = make_queue(pri)
    for x in "abcdefg":
        q.append(x)
    assert len(q) == 7 and len(q._pq) == 7 and bool(q)
    expected = ["d", "f", "g", "b", "e", "a", "c"]
    assert list(q) == expected
    assert drain(q) == expected
    with pytest.raises(IndexError):
        q.popleft()
    assert not q


def test_queue_get_priority_called_once_per_append() -> None:
    calls: list[Any] = []

    def gp(x: Any) -> float:
        calls.append(x)
        return float(x)

    q = PosPriorityQueue(gp)
    for x in (3, 1, 2):
        q.append(x)
    assert calls == [3, 1, 2]
    q.append_pri(5, -1.0)
    assert calls == [3, 1, 2]
    assert drain(q) == [5, 1, 2, 3]
    assert calls == [3, 1, 2]


def test_queue_priorities_cached_until_reschedule_all() -> None:
    pri = {"a": 1, "b": 2, "c": 3}
    q = make_queue(pri)
    for x in "abc":
        q.append(x)
    pri.update(a=5, c=0)
    assert list(q) == ["a", "b", "c"]
    q.reschedule_all()
    assert list(q) == ["c", "b", "a"]


@pytest.mark.parametrize("n", [0, 1, 2, 5, 8])
def test_queue_insert_is_list_insert(n: int) -> None:
    rnd = random.Random(n)
    for pos in range(n + 3):
        pri = {i: rnd.choice([0, 1, 2, -1]) for i in range(n)}
        q = make_queue(pri)
        for i in range(n):
            q.append(i)
        ref = list(q)
        ref.insert(pos, "x")
        q.insert(pos, "x")
        assert list(q) == ref
        # a second positional insert composes like list.insert
        for pos2 in range(n + 3):
            q2 = make_queue(pri)
            for i in range(n):
                q2.append(i)
            q2.insert(pos, "x")
            q2.insert(pos2, "y")
            ref2 = list(ref)
            ref2.insert(pos2, "y")
            assert list(q2) == ref2, (pos, pos2)
            assert drain(q2) == ref2


def test_queue_insert_immediate_class_and_counts() -> None:
    q = make_queue({"a": 5, "b": -5})
    q.append("a")
    q.append("b")
    q.insert(1, "x")  # pops "b" (1 removal), re-adds b, x as immediate
    assert q.n_inserted == 3 and q.n_removed == 1
    values = {obj: pv for pv, obj in q._pq.items()}
    assert values["b"].priority_class == 0 and values["x"].priority_class == 0
    assert values["b"] is values["x"]
    assert values["a"].priority_class == 1
    # new urgent items still come after immediate ones
    q.append_pri("z", -100.0)
    assert list(q) == ["b", "x", "z", "a"]
    # reschedule_all keeps immediate items first and untouched
    q.reschedule_all()
    assert list(q) == ["b", "x", "z", "a"] or list(q) == ["b", "x", "a", "z"]
    assert [o for o in q][:2] == ["b", "x"]
    # inserting at 0 while the head is immediate gets a lower immediate base
    q.insert(0, "w")
    assert list(q)[:3] == ["w", "b", "x"]


def test_queue_negative_insert_extension() -> None:
    q = make_queue()
    for x in "abc":
        q.append(x)
    q.insert(-1, "x")
    assert list(q) == ["a", "b", "x", "c"]
    q.insert(-100, "y")
    assert list(q)[0] == "y"


def test_queue_remove_find() -> None:
    q = make_queue({"a": 1, "b": 2, "c": 3})
    for x in "abc":
        q.append(x)
    with pytest.raises(ValueError):
        q.remove("zz")
    assert (q.n_inserted, q.n_removed) == (3, 0)
    q.remove("b")
    assert q.n_removed == 1
    assert list(q) == ["a", "c"]
    assert q.find(lambda x: x == "c") == "c"
    assert q.find(lambda x: x == "q") is None
    assert q.find(lambda x: x == "c", remove=True) == "c"
    assert q.n_removed == 1  # find(remove=True) leaves counters alone
    assert list(q) == ["a"]
    q.clear()
    assert not q and q.n_inserted == 3 and q.n_removed == 1


def test_queue_reschedule() -> None:
    q = make_queue({"a": 1, "b": 1, "c": 1})
    for x in "abc":
        q.append(x)
    assert q.reschedule(lambda x: x == "c", -1) == "c"
    assert list(q) == ["c", "a", "b"]
    # same priority: no-op but returns the object
    assert q.reschedule(lambda x: x == "c", -1) == "c"
    assert list(q) == ["c", "a", "b"]
    # moving "a" after "b" and back to 1 keeps its original sequence (ahead of b)
    assert q.reschedule(lambda x: x == "a", 5) == "a"
    assert list(q) == ["c", "b", "a"]
    assert q.reschedule(lambda x: x == "a", 1) == "a"
    assert list(q) == ["c", "a", "b"]
    assert q.reschedule(lambda x: x == "zz", 0) is None
    q.popleft()
    assert q.reschedule(lambda x: x == "c", 0) is None
    # an immediate entry loses its class on reschedule
    q.insert(0, "i")
    q.append_pri("u", -50)
    assert list(q)[0] == "i"
    q.reschedule(lambda x: x == "i", 0)
    assert list(q)[0] == "u"


def test_queue_counters_reset_when_emptied() -> None:
    q = make_queue()
    q.append(1)
    q.append(2)
    q.popleft()
    assert (q.n_inserted, q.n_removed) == (2, 1)
    q.popleft()
    assert (q.n_inserted, q.n_removed) == (0, 0)
    q.last_maintenance = 7
    q.append(1)
    q.remove(1)
    assert (q.n_inserted, q.n_removed, q.last_maintenance) == (0, 0, 7)


def test_queue_maintenance_trigger_and_instance_override() -> None:
    q = make_queue()
    lengths: list[int] = []
    q.do_maintenance = lambda: lengths.append(len(q._pq))  # type: ignore[method-assign]
    state = random.getstate()
    try:
        random.seed(1234)
        expected_next = random.random()
        random.seed(1234)
        for _ in range(10):
            q.append(0)
        # steady state: one pop and one append per step
        calls_at = []
        for step in range(200):
            q.popleft()
            before = len(lengths)
            q.append(step)
            if len(lengths) != before:
                calls_at.append((step, q.n_inserted, q.n_removed, q.last_maintenance))
        assert random.random() == expected_next  # the queue did not consume random
    finally:
        random.setstate(state)
    assert lengths and all(n == 10 for n in lengths)
    # throughput = min(n_inserted, n_removed) must exceed max(10, len) + last_maintenance
    first = calls_at[0]
    assert first[3] == min(first[1], first[2]) == 11
    for a, b in zip(calls_at, calls_at[1:], strict=False):
        assert b[3] - a[3] == 11


def test_queue_short_bursts_never_maintain() -> None:
    q = make_queue()
    calls: list[int] = []
    q.do_maintenance = lambda: calls.append(1)  # type: ignore[method-assign]
    rnd = random.Random(5)
    for _ in range(200):
        items = [(rnd.random(), i) for i in range(rnd.randint(1, 40))]
        for p, i in items:
            q.append_pri(i, p)
        out = drain(q)
        assert out == [i for p, i in sorted(items, key=lambda t: (t[0], t[1]))]
    assert calls == []


def test_queue_maintenance_amortised_cost() -> None:
    state = random.getstate()
    try:
        random.seed(0)
        q = make_queue()
        sizes: list[int] = []
        real = q.do_maintenance
        q.do_maintenance = lambda: (sizes.append(len(q._pq)), real())  # type: ignore[method-assign]
        appends = 0
        for _ in range(1000):
            for _ in range(random.randint(1, 19)):
                q.append_pri(object(), random.random())
                appends += 1
            for _ in range(random.randint(1, 19)):
                if q:
                    q.popleft()
    finally:
        random.setstate(state)
    ratio = sum(sizes) / appends
    assert 0.5 <= ratio <= 1.5, ratio


def cycle_until_all_popped(q: Any, n: int, limit: int) -> int:
    seen: set[Any] = set()
    for cycle in range(1, limit + 1):
        x = q.popleft()
        seen.add(x)
        if len(seen) == n:
            return cycle
        q.append(x)
    return -1


def test_queue_boosting_breaks_starvation() -> None:
    rnd = random.Random(42)
    pri = {i: rnd.random() * 100 for i in range(100)}
    state = random.getstate()
    try:
        random.seed(3)
        q = make_queue(pri)
        for i in range(100):
            q.append(i)
        cycles = cycle_until_all_popped(q, 100, 100_000)
    finally:
        random.setstate(state)
    assert 0 < cycles < 100_000

    # without boosting, the same head is popped forever
    q = make_queue(pri)
    q.priority_boost_factor = 0
    for i in range(100):
        q.append(i)
    head = min(pri, key=pri.__getitem__)
    for _ in range(2000):
        assert q.popleft() == head
        q.append(head)


def test_queue_boost_details() -> None:
    q = make_queue()
    q.append_pri("head", 0.0)
    q.append_pri("low", 10.0)
    stragglers = [(pv, obj) for pv, obj in q._pq.items() if obj == "low"]
    q.compute_priority_boost = lambda p, lo, hi: -20.0  # type: ignore[method-assign]
    q.boost_stragglers(stragglers, 0.0, 10.0)
    assert list(q) == ["low", "head"]
    # boosts live on the entry only: re-appended objects start unboosted
    assert q.popleft() == "low"
    q.append_pri("low", 10.0)
    assert list(q) == ["head", "low"]
    assert 0.0 >= PosPriorityQueue(lambda x: 0).compute_priority_boost(10.0, 0.0, 10.0) > -12.0


# ---------------------------------------------------------------------------
# PriorityTask
# ---------------------------------------------------------------------------


def test_priority_task_attributes() -> None:
    async def main() -> None:
        async def noop() -> None:
            pass

        t = PriorityTask(noop(), priority=3, name="pt")
        assert t.get_name() == "pt"
        assert isinstance(t, asyncio.Task)
        assert t.priority_value == 3 and type(t.priority_value) is int
        assert t.priority() == 3
        assert t.effective_priority() == 3 and type(t.effective_priority()) is int
        assert t.reschedule() is None
        t.priority_value = -2.5
        assert t.effective_priority() == -2.5
        lock = object()
        with pytest.raises(KeyError):
            t.remove_owned_lock(lock)
        t.set_waiting_on(lock)
        with pytest.raises(AssertionError):
            t.set_waiting_on(object())
        t.set_waiting_on(None)
        with pytest.raises(AssertionError):
            t.set_waiting_on(None)
        await t

    srun(main())


def test_priority_task_propagate_outside_loop() -> None:
    loop = asyncio.new_event_loop()
    try:

        async def noop() -> None:
            pass

        t = PriorityTask(noop(), loop=loop)
        with pytest.raises(RuntimeError):
            t.propagate_priority(None)
        loop.run_until_complete(t)
    finally:
        loop.close()


def test_priority_task_first_step_ordering() -> None:
    """Tasks created in a burst start in priority order, FIFO among equals."""
    log: list[Any] = []

    async def worker(tag: Any) -> None:
        log.append(tag)

    async def main() -> None:
        specs = [("a", 3), ("b", -1), ("c", 3), ("d", 0), ("e", -1), ("big", 1e9), ("f", 0)]
        tasks = [PriorityTask(worker(tag), priority=p) for tag, p in specs]
        tasks.append(asyncio.ensure_future(worker("plain")))
        await asyncio.sleep(0)
        log.append("main")
        await asyncio.gather(*tasks)

    prun(main())
    # main's sleep(0) step is a priority-0 handle queued after "plain" (FIFO)
    assert log == ["b", "e", "d", "f", "plain", "main", "a", "c", "big"]


def test_priority_change_and_propagate_moves_queued_task() -> None:
    log: list[Any] = []

    async def worker(tag: Any) -> None:
        log.append(tag)

    async def main() -> None:
        tasks = [PriorityTask(worker(i), priority=0) for i in range(5)]
        tasks[3].priority_value = -1
        tasks[3].propagate_priority(None)
        tasks[0].priority_value = 1
        tasks[0].propagate_priority(None)
        await asyncio.gather(*tasks)

    prun(main())
    assert log == [3, 1, 2, 4, 0]


def test_priority_change_without_propagate_does_not_move() -> None:
    log: list[Any] = []

    async def worker(tag: Any) -> None:
        log.append(tag)

    async def main() -> None:
        tasks = [PriorityTask(worker(i), priority=0) for i in range(3)]
        tasks[2].priority_value = -1
        await asyncio.gather(*tasks)

    prun(main())
    assert log == [0, 1, 2]


def test_event_wakeups_in_priority_order() -> None:
    log: list[Any] = []

    async def main() -> None:
        ev = asyncio.Event()

        async def waiter(tag: Any) -> None:
            await ev.wait()
            log.append(tag)

        specs = [(0, 5), (1, -3), (2, 0), (3, -3), (4, 2)]
        tasks = [PriorityTask(waiter(tag), priority=p) for tag, p in specs]
        await let_others_block()
        ev.set()
        await asyncio.gather(*tasks)

    prun(main())
    assert log == [1, 3, 2, 4, 0]


def test_stock_loop_usage_of_priority_task() -> None:
    async def main() -> int:
        async def work() -> int:
            await asyncio.sleep(0)
            return 5

        t = PriorityTask(work(), priority=-1)
        t.propagate_priority(None)  # runnable, but the stock loop has no task_reschedule
        return await t

    assert srun(main()) == 5


def test_priority_task_context_forwarding() -> None:
    import contextvars

    var: contextvars.ContextVar[int] = contextvars.ContextVar("var", default=0)

    async def main() -> int:
        async def read() -> int:
            return var.get()

        ctx = contextvars.copy_context()
        ctx.run(var.set, 7)
        return await PriorityTask(read(), context=ctx)

    if sys.version_info < (3, 11):
        pytest.skip("Task(context=) needs Python 3.11")
    assert srun(main()) == 7


# ---------------------------------------------------------------------------
# PriorityLock
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("runner", [srun, prun], ids=["stock", "priority"])
@pytest.mark.parametrize("task_kind", ["priority", "plain", "pytask"])
def test_lock_grant_order(runner: Callable[[Any], Any], task_kind: str) -> None:
    log: list[Any] = []

    async def main() -> None:
        lock = PriorityLock()
        assert "unlocked" in repr(lock)

        async def waiter(tag: Any) -> None:
            async with lock:
                log.append(tag)
                await asyncio.sleep(0)

        loop = asyncio.get_running_loop()
        pris = [5, 1, 3, 1, -2, 0, 3]
        await lock.acquire()
        tasks = []
        for i, p in enumerate(pris):
            if task_kind == "priority":
                t: Any = PriorityTask(waiter(i), priority=p)
            elif task_kind == "plain":
                t = asyncio.ensure_future(waiter(i))
            else:
                t = PyTask(waiter(i), loop=loop)
            tasks.append(t)
            await let_others_block()  # each starts waiting, in creation order
        assert "waiters:7" in repr(lock)
        lock.release()
        await asyncio.gather(*tasks)
        assert not lock.locked()

    runner(main())
    if task_kind == "priority":
        assert log == [4, 5, 1, 3, 2, 6, 0]
    else:
        assert log == list(range(7))


def test_lock_fast_path_and_errors() -> None:
    async def main() -> None:
        lock = PriorityLock()
        with pytest.raises(RuntimeError, match="Lock is not acquired"):
            lock.release()
        assert lock.effective_priority() is None
        me = asyncio.current_task()
        assert await lock.acquire() is True
        assert lock.locked()
        assert lock._get_owner() is me
        lock.release()
        assert not lock.locked()
        assert lock._get_owner() is None

    prun(main())


def test_lock_no_barging() -> None:
    """A woken waiter that has not run yet keeps the lock from a newcomer."""
    log: list[Any] = []

    async def main() -> None:
        lock = PriorityLock()
        await lock.acquire()

        async def waiter(tag: Any) -> None:
            async with lock:
                log.append(tag)

        t1 = asyncio.ensure_future(waiter("first"))
        await asyncio.sleep(0)
        lock.release()  # t1 woken, has not run
        assert not lock.locked()
        t2 = asyncio.ensure_future(waiter("newcomer"))
        await asyncio.gather(t1, t2)

    srun(main())
    assert log == ["first", "newcomer"]


@pytest.mark.parametrize("runner", [srun, prun], ids=["stock", "priority"])
def test_lock_cancelled_waiters(runner: Callable[[Any], Any]) -> None:
    log: list[Any] = []

    async def main() -> None:
        lock = PriorityLock()
        await lock.acquire()

        async def waiter(tag: Any) -> None:
            async with lock:
                log.append(tag)

        tasks = [PriorityTask(waiter(i), priority=-i) for i in range(6)]
        await settle()
        tasks[5].cancel()
        tasks[2].cancel()
        await settle()
        assert len(lock._waiters) == 4
        lock.release()
        res = await asyncio.gather(*tasks, return_exceptions=True)
        assert isinstance(res[5], asyncio.CancelledError)
        assert isinstance(res[2], asyncio.CancelledError)
        assert not lock.locked() and not lock._waiters

    runner(main())
    assert log == [4, 3, 1, 0]


@pytest.mark.parametrize("task_kind", ["priority", "plain", "pytask"])
def test_lock_woken_waiter_cancelled_hands_on(task_kind: str) -> None:
    log: list[Any] = []

    async def main() -> None:
        lock = PriorityLock()
        await lock.acquire()
        loop = asyncio.get_running_loop()

        async def waiter(tag: Any) -> None:
            async with lock:
                log.append(tag)

        def make(coro: Any) -> Any:
            if task_kind == "priority":
                return PriorityTask(coro)
            if task_kind == "plain":
                return asyncio.ensure_future(coro)
            return PyTask(coro, loop=loop)

        a = make(waiter("a"))
        await asyncio.sleep(0)
        b = make(waiter("b"))
        await asyncio.sleep(0)
        lock.release()  # a is woken (head) but has not run
        a.cancel()
        await asyncio.sleep(0)  # a runs its exit path and wakes b
        assert a.done() and a.cancelled()
        assert lock._waiters and lock._waiters.head()[0].done()  # b woken
        await b
        assert not lock.locked()

    srun(main())
    assert log == ["b"]


def test_lock_never_granted_twice() -> None:
    """A woken waiter that has not run yet, a more urgent newcomer that becomes the head,
    and another waiter's cancellation exit path: the newcomer must not be woken too."""
    log: list[Any] = []

    async def main() -> None:
        lock = PriorityLock()
        inside: list[Any] = []
        await lock.acquire()

        async def waiter(tag: Any) -> None:
            async with lock:
                assert not inside, (tag, inside)
                inside.append(tag)
                log.append(tag)
                await asyncio.sleep(0)
                inside.remove(tag)

        h = PriorityTask(waiter("H"), priority=1)
        await asyncio.sleep(0)
        x = PriorityTask(waiter("X"), priority=5)
        await asyncio.sleep(0)
        lock.release()  # H woken, has not run
        n = PriorityTask(waiter("N"), priority=-5)
        x.cancel()
        asynkit.task_reinsert(h, 2)  # let N start waiting and X exit before H runs
        res = await asyncio.gather(h, x, n, return_exceptions=True)
        assert res[0] is None and res[2] is None
        assert isinstance(res[1], asyncio.CancelledError)

    srun(main())
    assert log == ["H", "N"]


def test_lock_woken_waiter_interrupted() -> None:
    interrupt = pytest.importorskip("asynkit.experimental.interrupt")
    log: list[Any] = []

    async def main() -> None:
        lock = PriorityLock()
        await lock.acquire()

        async def waiter(tag: Any) -> None:
            try:
                async with lock:
                    log.append(tag)
            except interrupt.InterruptException as e:
                log.append(("interrupted", tag, e))

        a = interrupt.create_pytask(waiter("a"))
        await asyncio.sleep(0)
        b = interrupt.create_pytask(waiter("b"))
        await asyncio.sleep(0)
        lock.release()
        exc = interrupt.InterruptException("stop")
        await interrupt.task_interrupt(a, exc)
        assert a.done()
        assert lock._waiters and lock._waiters.head()[0].done()  # b already woken
        await b

    prun(main())
    assert log == [("interrupted", "a", log[0][2]), "b"]


def test_lock_waiter_priority_frozen_but_effective_priority_live() -> None:
    log: list[Any] = []

    async def main() -> None:
        lock = PriorityLock()
        await lock.acquire()

        async def waiter(tag: Any) -> None:
            async with lock:
                log.append(tag)

        a = PriorityTask(waiter("a"), priority=1)
        b = PriorityTask(waiter("b"), priority=2)
        await settle()
        assert lock.effective_priority() == 1
        b.priority_value = -5
        assert lock.effective_priority() == -5
        b.propagate_priority(None)  # blocked on the lock: goes to the lock, no re-sort
        lock.release()
        await asyncio.gather(a, b)
        assert lock.effective_priority() is None

    srun(main())
    assert log == ["a", "b"]


# ---------------------------------------------------------------------------
# priority inheritance
# ---------------------------------------------------------------------------


def test_inheritance_holder_boosted_on_priority_loop() -> None:
    log: list[Any] = []

    async def main(with_urgent: bool) -> None:
        lock = PriorityLock()
        go = asyncio.Event()
        seen: dict[str, Any] = {}

        async def holder() -> None:
            async with lock:
                log.append("holder-locked")
                await go.wait()  # wake-up queued at its effective priority
                seen["holder"] = asyncio.current_task().effective_priority()  # type: ignore[union-attr]
                log.append("holder")

        async def mid(i: int) -> None:
            log.append(("mid", i))

        async def urgent() -> None:
            async with lock:
                log.append("urgent")

        h = PriorityTask(holder(), priority=10)
        await let_others_block()
        assert log == ["holder-locked"]
        tasks = [h] + [PriorityTask(mid(i), priority=5) for i in range(3)]
        go.set()  # the holder is queued (at 10) after the mids' first steps
        if with_urgent:
            tasks.append(PriorityTask(urgent(), priority=-10))
        await asyncio.gather(*tasks)
        assert seen["holder"] == (-10 if with_urgent else 10)
        assert h.effective_priority() == 10

    prun(main(True))
    assert log == ["holder-locked", "holder", "urgent", ("mid", 0), ("mid", 1), ("mid", 2)]
    log.clear()
    prun(main(False))
    assert log == ["holder-locked", ("mid", 0), ("mid", 1), ("mid", 2), "holder"]


def test_inheritance_chain() -> None:
    """Urgent waits on L1 held by A; A waits on L2 held by B: B, A, urgent run first."""
    log: list[Any] = []

    async def main() -> None:
        l1, l2 = PriorityLock(), PriorityLock()
        go_b = asyncio.Event()
        prios: dict[str, Any] = {}

        async def task_b() -> None:
            async with l2:
                await go_b.wait()
                # the urgent task's priority reached us through l1 -> A -> l2
                prios["chain"] = (
                    l1.effective_priority(),
                    a.effective_priority(),
                    l2.effective_priority(),
                )
                prios["b"] = asyncio.current_task().effective_priority()  # type: ignore[union-attr]
                log.append("B")

        async def task_a() -> None:
            async with l1:
                async with l2:
                    prios["a"] = asyncio.current_task().effective_priority()  # type: ignore[union-attr]
                    log.append("A")

        async def urgent() -> None:
            async with l1:
                log.append("U")

        async def mid(i: int) -> None:
            log.append(("mid", i))

        b = PriorityTask(task_b(), priority=20)
        await let_others_block()
        a = PriorityTask(task_a(), priority=10)
        await let_others_block()
        # A holds l1 and waits for l2 (held by B); B inherits A's priority
        assert a._waiting_on is l2 and l1.locked() and l2.locked()
        assert b.effective_priority() == 10
        mids = [PriorityTask(mid(i), priority=5) for i in range(3)]
        go_b.set()  # B queued at 10, behind the mids
        u = PriorityTask(urgent(), priority=-10)
        await asyncio.gather(a, b, u, *mids)
        assert prios == {"chain": (-10, -10, -10), "a": -10, "b": -10}
        assert (a.effective_priority(), b.effective_priority()) == (10, 20)

    prun(main())
    assert log == ["B", "A", "U", ("mid", 0), ("mid", 1), ("mid", 2)]


def test_inheritance_bookkeeping_on_stock_loop() -> None:
    async def main() -> None:
        lock = PriorityLock()
        release = asyncio.Event()

        async def holder() -> None:
            async with lock:
                await release.wait()

        async def waiter() -> None:
            async with lock:
                pass

        h = PriorityTask(holder(), priority=3)
        await settle()
        assert h.effective_priority() == 3
        w = PriorityTask(waiter(), priority=-7)
        await settle()
        assert lock.effective_priority() == -7
        assert h.effective_priority() == -7
        w2 = asyncio.ensure_future(waiter())  # plain task counts as 0
        await settle()
        assert h.effective_priority() == -7
        w.priority_value = 1
        assert lock.effective_priority() == 0
        assert h.effective_priority() == 0
        w.priority_value = -2
        assert h.effective_priority() == -2
        release.set()
        await asyncio.gather(h, w, w2)
        assert h.effective_priority() == 3
        assert lock.effective_priority() is None

    srun(main())


def test_holder_of_two_locks() -> None:
    async def main() -> None:
        l1, l2 = PriorityLock(), PriorityLock()
        go = asyncio.Event()

        async def holder() -> None:
            await l1.acquire()
            await l2.acquire()
            await go.wait()
            l1.release()
            assert asyncio.current_task().effective_priority() == -2  # type: ignore[union-attr]
            l2.release()
            assert asyncio.current_task().effective_priority() == 4  # type: ignore[union-attr]

        async def waiter(lock: Any) -> None:
            async with lock:
                pass

        h = PriorityTask(holder(), priority=4)
        await let_others_block()
        w1 = PriorityTask(waiter(l1), priority=-5)
        w2 = PriorityTask(waiter(l2), priority=-2)
        await let_others_block()
        assert h.effective_priority() == -5
        go.set()
        await asyncio.gather(h, w1, w2)

    prun(main())


# ---------------------------------------------------------------------------
# PriorityCondition
# ---------------------------------------------------------------------------


def test_condition_construction() -> None:
    c = PriorityCondition()
    assert isinstance(c._lock, PriorityLock)
    assert PriorityCondition.LockType is PriorityLock
    lock = asyncio.Lock()
    c2 = PriorityCondition(lock)
    assert c2._lock is lock
    assert c.propagate_priority(None) is None
    assert "unlocked" in repr(c)


@pytest.mark.parametrize("lock_kind", ["priority", "plain"])
@pytest.mark.parametrize("runner", [srun, prun], ids=["stock", "priority"])
def test_condition_notify_order(lock_kind: str, runner: Callable[[Any], Any]) -> None:
    log: list[Any] = []

    async def main() -> None:
        cond = PriorityCondition(asyncio.Lock() if lock_kind == "plain" else None)

        async def waiter(tag: Any) -> None:
            async with cond:
                await cond.wait()
                log.append(tag)
                cond.notify(1)

        pris = [3, -1, 0, 3, -1, 7]
        tasks = [PriorityTask(waiter(i), priority=p) for i, p in enumerate(pris)]
        plain = asyncio.ensure_future(waiter("plain"))
        await let_others_block()
        assert len(cond._waiters) == 7
        async with cond:
            cond.notify(1)
        await asyncio.gather(*tasks, plain)

    runner(main())
    assert log == [1, 4, 2, "plain", 0, 3, 5]


def test_condition_cancelled_waiter_keeps_order() -> None:
    log: list[Any] = []

    async def main() -> None:
        cond = PriorityCondition()

        async def waiter(tag: Any) -> None:
            async with cond:
                await cond.wait()
                log.append(tag)
                cond.notify(1)

        tasks = [PriorityTask(waiter(i), priority=10 - i) for i in range(6)]
        await let_others_block()
        tasks[3].cancel()
        await let_others_block()
        async with cond:
            cond.notify(1)
        res = await asyncio.gather(*tasks, return_exceptions=True)
        assert isinstance(res[3], asyncio.CancelledError)

    prun(main())
    assert log == [5, 4, 2, 1, 0]


def test_condition_errors_and_notify_details() -> None:
    async def main() -> None:
        cond = PriorityCondition()
        with pytest.raises(RuntimeError, match="cannot wait on un-acquired lock"):
            await cond.wait()
        with pytest.raises(RuntimeError, match="cannot notify on un-acquired lock"):
            cond.notify()
        woken: list[Any] = []

        async def waiter(tag: Any) -> None:
            async with cond:
                await cond.wait()
                woken.append(tag)

        tasks = [asyncio.ensure_future(waiter(i)) for i in range(4)]
        await settle()
        async with cond:
            cond.notify(0)  # quirk: still wakes one
        await settle()
        assert woken == [0]
        async with cond:
            cond.notify_all()
        await asyncio.gather(*tasks)
        assert woken == [0, 1, 2, 3]
        assert not cond._waiters

    srun(main())


def test_condition_wait_for() -> None:
    async def main() -> None:
        cond = PriorityCondition()
        state = [0]

        async def waiter() -> int:
            async with cond:
                await cond.wait_for(lambda: state[0] >= 3)
                return state[0]

        t = asyncio.ensure_future(waiter())
        for _ in range(3):
            await settle()
            async with cond:
                state[0] += 1
                cond.notify_all()
        assert await t == 3

    prun(main())


def test_condition_reacquire_exception_instance_preserved() -> None:
    class MyCancel(asyncio.CancelledError):
        pass

    err = MyCancel("boom")

    class FlakyLock(PriorityLock):
        fail = 0

        async def acquire(self) -> bool:  # type: ignore[override]
            if self.fail:
                self.fail -= 1
                raise err
            return await super().acquire()

    async def main() -> None:
        lock = FlakyLock()
        cond = PriorityCondition(lock)
        result: list[Any] = []

        async def waiter() -> None:
            async with cond:
                try:
                    await cond.wait()
                except MyCancel as e:
                    result.append((e, cond.locked(), lock._get_owner() is asyncio.current_task()))

        t = asyncio.ensure_future(waiter())
        await settle()
        async with cond:
            cond.notify()
            lock.fail = 2
        await t
        assert result == [(err, True, True)]

    prun(main())


def test_condition_cancel_during_reacquire_holds_lock() -> None:
    async def main() -> None:
        cond = PriorityCondition()
        out: list[Any] = []

        async def waiter() -> None:
            async with cond:
                try:
                    await cond.wait()
                except asyncio.CancelledError:
                    out.append(("cancelled", cond.locked()))
                    raise

        async def other() -> None:
            async with cond:
                await cond.wait()
                out.append("other")

        t = PriorityTask(waiter(), priority=0)
        o = PriorityTask(other(), priority=1)
        await let_others_block()
        async with cond:
            cond.notify(1)  # wakes t (more urgent)
            await let_others_block()  # t now blocks re-acquiring the lock
            assert not t.done() and t._waiting_on is cond._lock
            t.cancel()
            await settle()
        with pytest.raises(asyncio.CancelledError):
            await t
        # t's failure passed its notification on: o was woken
        await o
        assert out == [("cancelled", True), "other"]

    prun(main())


# ---------------------------------------------------------------------------
# loops and policy
# ---------------------------------------------------------------------------


def test_loop_classes() -> None:
    loop = DefaultPriorityEventLoop()
    try:
        assert DefaultPriorityEventLoop is PrioritySelectorEventLoop or sys.platform == "win32"
        assert isinstance(loop, PrioritySchedulingMixin)
        assert isinstance(loop, AbstractSchedulingLoop)
        assert isinstance(loop, asyncio.SelectorEventLoop)
        assert loop._ready is loop.ready_queue  # type: ignore[attr-defined]
        assert isinstance(loop.ready_queue, PosPriorityQueue)
        assert loop.queue_len() == 0
    finally:
        loop.close()


def test_ready_queue_class_lookup_single_place(monkeypatch: pytest.MonkeyPatch) -> None:
    made: list[Any] = []

    class Recording(prio.PyPosPriorityQueue):
        def __init__(self, get_priority: Any) -> None:
            super().__init__(get_priority)
            made.append(self)

    monkeypatch.setattr(prio, "PosPriorityQueue", Recording)
    loop = PrioritySelectorEventLoop()
    try:
        assert made == [loop._ready] and loop.ready_queue is made[0]  # type: ignore[attr-defined]
        assert loop.run_until_complete(asyncio.sleep(0, 5)) == 5
    finally:
        loop.close()


def test_loop_get_priority() -> None:
    async def main() -> None:
        loop: Any = asyncio.get_running_loop()

        async def noop() -> None:
            pass

        t = PriorityTask(noop(), priority=-3)
        h = loop.queue_find(loop.task_key(t))
        assert h is not None and loop.get_priority(h) == -3
        plain = asyncio.ensure_future(noop())
        assert loop.get_priority(loop.queue_find(loop.task_key(plain))) == 0.0
        cb = loop.call_soon(lambda: None)
        assert loop.get_priority(cb) == 0.0
        cb.cancel()
        await asyncio.gather(t, plain)

    prun(main())


def test_policy() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        assert issubclass(PriorityEventLoopPolicy, asyncio.DefaultEventLoopPolicy)
    policy = PriorityEventLoopPolicy()
    loop = policy.new_event_loop()
    try:
        assert isinstance(loop, DefaultPriorityEventLoop)
    finally:
        loop.close()

    async def main() -> Any:
        return asyncio.get_running_loop()

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        with asynkit.event_loop_policy(PriorityEventLoopPolicy()):
            running = asyncio.run(main())
    assert isinstance(running, DefaultPriorityEventLoop)


@pytest.mark.skipif(sys.version_info < (3, 11), reason="asyncio.Runner needs 3.11")
def test_loop_factory_runner() -> None:
    async def main() -> Any:
        async def work() -> int:
            await asyncio.sleep(0.001)
            return 1

        r = await PriorityTask(work(), priority=2)
        return type(asyncio.get_running_loop()), r

    with asyncio.Runner(loop_factory=DefaultPriorityEventLoop) as runner:
        assert runner.run(main()) == (DefaultPriorityEventLoop, 1)


# ---------------------------------------------------------------------------
# starvation on the loop
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("boost", [True, False])
def test_loop_starvation_broken_by_boosting(boost: bool) -> None:
    steps = [0]
    ran_at: list[int] = []

    async def main() -> None:
        loop: Any = asyncio.get_running_loop()
        assert loop.ready_queue.priority_boost_factor == (1.2 if boost else 0)

        async def spinner() -> None:
            while steps[0] < 20_000:
                steps[0] += 1
                await asyncio.sleep(0)

        async def low() -> None:
            ran_at.append(steps[0])

        spinners = [PriorityTask(spinner(), priority=0) for _ in range(20)]
        await asyncio.sleep(0)
        lo = PriorityTask(low(), priority=10)
        await asyncio.gather(lo, *spinners)

    state = random.getstate()
    try:
        random.seed(11)
        prun(main(), boost=boost)
    finally:
        random.setstate(state)
    if boost:
        assert ran_at[0] < 5_000
    else:
        assert ran_at[0] >= 20_000


# ---------------------------------------------------------------------------
# scheduling extensions on the priority loop
# ---------------------------------------------------------------------------


def scheduling_scenario() -> Any:
    from asynkit.loop import extensions as ext

    async def main() -> list[Any]:
        log: list[Any] = []
        loop = asyncio.get_running_loop()

        async def worker(tag: Any) -> None:
            log.append(tag)
            await asyncio.sleep(0)
            log.append((tag, "b"))

        await asyncio.sleep(0)
        assert ext.ready_len() == 0
        ts = [asyncio.ensure_future(worker(i)) for i in range(6)]
        assert ext.ready_len() == 6
        assert list(ext.ready_tasks()) == ts
        assert list(ext.get_ready_queue()) and all(
            ext.task_from_handle(h) is t for h, t in zip(ext.get_ready_queue(), ts, strict=True)
        )
        asynkit.task_reinsert(ts[5], 1)
        asynkit.task_reinsert(ts[0], 10)
        h = ext.ready_find(ts[2])
        assert h is not None and ext.ready_find(ts[2], remove=True) is h
        assert ext.ready_find(ts[2]) is None
        with pytest.raises(ValueError):
            ext.ready_remove(h)
        ext.ready_insert(h)
        ext.call_pos(0, log.append, "cb0")
        ext.call_pos(2, log.append, "cb2")
        assert asynkit.runnable_tasks() == set(ts)
        assert asynkit.blocked_tasks() == set()
        await asynkit.task_switch(ts[3], insert_pos=1)
        log.append("main")
        await asynkit.sleep_insert(2)
        log.append("main2")
        blocker = loop.create_future()

        async def blocked() -> None:
            await blocker

        bt = asyncio.ensure_future(blocked())
        await asyncio.sleep(0)
        assert bt in asynkit.blocked_tasks()
        with pytest.raises(ValueError):
            asynkit.task_reinsert(bt, 0)
        with pytest.raises(ValueError):
            await asynkit.task_switch(bt)
        blocker.set_result(None)
        child_log: list[Any] = []

        async def child() -> None:
            child_log.append("child")
            await asyncio.sleep(0)
            child_log.append("child2")

        ct = await asynkit.create_task_descend(child())
        child_log.append("parent")
        await asyncio.gather(*ts, bt, ct)
        log.append(tuple(child_log))
        return log

    return main


def test_scheduling_functions_match_scheduling_loop() -> None:
    ref = run_on(asynkit.SchedulingSelectorEventLoop, scheduling_scenario()())
    got = prun(scheduling_scenario()())
    assert got == ref
    # and the reference order itself is what the scheduling spec prescribes
    assert ref[:4] == [3, "main", "cb0", 5]
    assert ref[-1] == ("child", "parent", "child2")


# ---------------------------------------------------------------------------
# soak
# ---------------------------------------------------------------------------


def reference_effective_priority(obj: Any, depth: int = 0) -> Any:
    """The spec's fresh computation, from scratch (no caches)."""
    assert depth < 50
    if isinstance(obj, PriorityTask):
        p = obj.priority_value
        for lock in obj._owned_locks:
            lp = reference_effective_priority(lock, depth + 1)
            if lp is not None and lp < p:
                p = lp
        return p
    if isinstance(obj, PriorityLock):
        best = None
        for _fut, ref in obj._waiters or ():
            t = ref()
            p = reference_effective_priority(t, depth + 1) if isinstance(t, PriorityTask) else 0
            if best is None or p < best:
                best = p
        return best
    return 0


@pytest.mark.parametrize("seed", [1, 2])
def test_soak_random_priorities(seed: int) -> None:
    rnd = random.Random(seed)
    n_tasks = 1000
    stats = {"done": 0, "checks": 0, "cancelled": 0}

    async def main() -> None:
        loop: Any = asyncio.get_running_loop()
        locks = [PriorityLock() for _ in range(6)]
        inside = [None] * len(locks)
        all_tasks: list[Any] = []

        def check_invariants() -> None:
            for lock in locks:
                assert lock.effective_priority() == reference_effective_priority(lock)
                owner = lock._get_owner()
                assert lock.locked() == (owner is not None)
                if owner is not None and isinstance(owner, PriorityTask):
                    assert lock in owner._owned_locks
            for t in all_tasks:
                if isinstance(t, PriorityTask) and not t.done():
                    assert t.effective_priority() == reference_effective_priority(t)
            assert loop.queue_len() == len(list(loop.queue_items()))
            stats["checks"] += 1

        async def worker(i: int) -> None:
            me = asyncio.current_task()
            for _ in range(rnd.randint(1, 4)):
                # nested acquisition in a fixed global order: no deadlock
                picks = sorted(rnd.sample(range(len(locks)), rnd.randint(1, 2)))
                acquired = []
                try:
                    for k in picks:
                        await locks[k].acquire()
                        acquired.append(k)
                        assert inside[k] is None
                        inside[k] = me
                    for _ in range(rnd.randint(0, 2)):
                        await asyncio.sleep(0)
                    if rnd.random() < 0.2 and isinstance(me, PriorityTask):
                        me.priority_value = rnd.uniform(-10, 10)  # type: ignore[union-attr]
                        me.propagate_priority(None)  # type: ignore[union-attr]
                    if rnd.random() < 0.05:
                        check_invariants()
                finally:
                    for k in reversed(acquired):
                        assert inside[k] is me
                        inside[k] = None
                        locks[k].release()
                await asyncio.sleep(0)
            stats["done"] += 1

        for i in range(n_tasks):
            pri = rnd.choice([rnd.uniform(-10, 10), 0, Priority.LOW.value, Priority.HIGH.value])
            if rnd.random() < 0.1:
                all_tasks.append(asyncio.ensure_future(worker(i)))
            else:
                all_tasks.append(PriorityTask(worker(i), priority=pri))
            if i % 50 == 0:
                await asyncio.sleep(0)
        for _ in range(20):
            await settle(3)
            victim = rnd.choice(all_tasks)
            if not victim.done():
                victim.cancel()
                stats["cancelled"] += 1
        results = await asyncio.gather(*all_tasks, return_exceptions=True)
        for r in results:
            assert r is None or isinstance(r, asyncio.CancelledError)
        check_invariants()
        for lock in locks:
            assert not lock.locked() and not lock._waiters
            assert lock.effective_priority() is None
        for t in all_tasks:
            if isinstance(t, PriorityTask):
                assert not t._owned_locks and t._waiting_on is None
                assert t.effective_priority() == t.priority_value

    prun(main(), boost=True)
    assert stats["done"] + stats["cancelled"] >= n_tasks
    assert stats["done"] >= n_tasks - 20
    assert stats["checks"] > 10
