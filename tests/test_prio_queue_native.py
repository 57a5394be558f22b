"""The native ready queue ``asynkit._asynkit.PosPriorityQueue`` against the reference
``PyPosPriorityQueue`` (spec: priority.md §8–§9, §12)."""

from __future__ import annotations

import asyncio
import gc
import random
import weakref
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import asynkit.coroutine as ac
from asynkit.experimental import priority as prio

native_only = pytest.mark.skipif(
    not ac._HAVE_C_EXTENSION, reason="native engine disabled (ASYNKIT_DISABLE_CEXT=1)"
)
Native: Any = ac._native.PosPriorityQueue if ac._HAVE_C_EXTENSION else None


def test_module_binding() -> None:
    if ac._HAVE_C_EXTENSION:
        assert prio.PosPriorityQueue is Native
        loop = prio.DefaultPriorityEventLoop()
        try:
            assert type(loop.ready_queue) is Native
        finally:
            loop.close()
    else:
        assert prio.PosPriorityQueue is prio.PyPosPriorityQueue


# ---------------------------------------------------------------------------
# Differential test
# ---------------------------------------------------------------------------

PRIORITIES = st.sampled_from([0, 0.0, 1, 2, -1, 2.5, -3.0, 7, 1e9])

OPS = st.lists(
    st.one_of(
        st.tuples(st.just("append"), PRIORITIES),
        st.tuples(st.just("append_pri"), PRIORITIES),
        st.tuples(st.just("popleft")),
        st.tuples(st.just("find"), st.integers(0, 40), st.booleans()),
        st.tuples(st.just("remove"), st.integers(0, 40)),
        st.tuples(st.just("insert"), st.integers(-6, 12)),
        st.tuples(st.just("reschedule"), st.integers(0, 40), PRIORITIES),
        st.tuples(st.just("set_pri"), st.integers(0, 40), PRIORITIES),
        st.tuples(st.just("reschedule_all")),
        st.tuples(st.just("iter")),
        st.tuples(st.just("clear")),
        st.tuples(st.just("maintain")),
        st.tuples(st.just("cycle"), st.integers(1, 30)),
    ),
    max_size=80,
)


class Item:
    """A queued object; equality by identity (as handles)."""

    def __init__(self, n: int) -> None:
        self.n = n

    def __repr__(self) -> str:
        return f"Item({self.n})"


def run_ops(cls: Any, ops: list[tuple[Any, ...]], seed: int) -> list[Any]:
    pri: dict[int, Any] = {}
    q = cls(lambda x: pri.get(x.n, 0.0))
    items: dict[int, Item] = {}
    out: list[Any] = []
    counter = [0]

    def new_item(p: Any) -> Item:
        counter[0] += 1
        n = counter[0]
        pri[n] = p
        it = items[n] = Item(n)
        return it

    def state() -> tuple[Any, ...]:
        return (len(q), bool(q), len(q._pq), q.n_inserted, q.n_removed, q.last_maintenance)

    rnd = random.getstate()
    random.seed(seed)
    try:
        for op in ops:
            kind = op[0]
            try:
                if kind == "append":
                    q.append(new_item(op[1]))
                elif kind == "append_pri":
                    q.append_pri(new_item(0), op[1])
                elif kind == "popleft":
                    out.append(("pop", q.popleft().n))
                elif kind == "find":
                    found = q.find(lambda x, k=op[1]: x.n % 7 == k % 7, op[2])
                    out.append(("find", None if found is None else found.n))
                elif kind == "remove":
                    target = items.get(op[1] % (counter[0] + 1)) or Item(-1)
                    q.remove(target)
                    out.append(("removed", target.n))
                elif kind == "insert":
                    q.insert(op[1], new_item(0))
                elif kind == "reschedule":
                    r = q.reschedule(lambda x, k=op[1]: x.n % 5 == k % 5, op[2])
                    out.append(("resched", None if r is None else r.n))
                elif kind == "set_pri":
                    if counter[0]:
                        pri[1 + op[1] % counter[0]] = op[2]
                elif kind == "reschedule_all":
                    q.reschedule_all()
                elif kind == "iter":
                    out.append(("iter", [x.n for x in q]))
                elif kind == "clear":
                    q.clear()
                elif kind == "maintain":
                    q.do_maintenance()
                elif kind == "cycle":
                    # steady state pop/re-append: drives the maintenance trigger and boosting
                    for _ in range(op[1]):
                        if not q:
                            break
                        x = q.popleft()
                        out.append(("pop", x.n))
                        q.append(x)
            except (IndexError, ValueError) as e:
                out.append((kind, type(e).__name__))
            out.append(state())
        out.append(("final", [x.n for x in q], random.random()))
        drained = []
        while q:
            drained.append(q.popleft().n)
        out.append(("drain", drained, state()))
    finally:
        random.setstate(rnd)
    return out


@native_only
@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ops=OPS, seed=st.integers(0, 2**16))
def test_differential(ops: list[tuple[Any, ...]], seed: int) -> None:
    assert run_ops(Native, ops, seed) == run_ops(prio.PyPosPriorityQueue, ops, seed)


@native_only
@pytest.mark.parametrize("seed", range(5))
def test_differential_long_random_workload(seed: int) -> None:
    """Bursts of appends with random priorities and pops: many maintenance rounds with
    boosting; pop order, counters and the random stream must match exactly."""
    r = random.Random(seed)
    ops: list[tuple[Any, ...]] = []
    for _ in range(150):
        for _ in range(r.randint(1, 19)):
            ops.append(("append", r.choice([0, 1, 2, 3.5, -1, 10])))
        ops.append(("cycle", r.randint(1, 25)))
        for _ in range(r.randint(1, 19)):
            ops.append(("popleft",))
        if r.random() < 0.1:
            ops.append(("insert", r.randint(-3, 5)))
        if r.random() < 0.05:
            ops.append(("reschedule_all",))
    assert run_ops(Native, ops, seed) == run_ops(prio.PyPosPriorityQueue, ops, seed)


# ---------------------------------------------------------------------------
# Surface details
# ---------------------------------------------------------------------------


@native_only
def test_type_errors_name_the_argument() -> None:
    q = Native(lambda x: 0.0)
    with pytest.raises(TypeError, match="priority"):
        q.append_pri("a", "high")
    with pytest.raises(TypeError, match="position"):
        q.insert("0", "a")
    with pytest.raises(TypeError, match="new_priority"):
        q.reschedule(lambda x: True, None)
    with pytest.raises(TypeError):
        q.append()
    with pytest.raises(TypeError):
        q.popleft(1)
    with pytest.raises(TypeError, match="get_priority"):
        Native(lambda x: "urgent").append("a")
    with pytest.raises(TypeError, match="priority_boost_factor"):
        q.priority_boost_factor = "x"
    assert not q and q.n_inserted == 0


@native_only
def test_errors_from_callables_propagate_without_change() -> None:
    def gp(x: Any) -> float:
        raise KeyError(x)

    q = Native(gp)
    with pytest.raises(KeyError):
        q.append("a")
    assert len(q) == 0 and q.n_inserted == 0
    q.append_pri("a", 1)
    with pytest.raises(ZeroDivisionError):
        q.find(lambda x: 1 / 0)
    with pytest.raises(IndexError):
        Native(gp).popleft()
    with pytest.raises(ValueError, match="'zz' not in queue"):
        q.remove("zz")


@native_only
def test_pq_items_views() -> None:
    q = Native(lambda x: 0.0)
    q.append_pri("a", 5)
    q.append_pri("b", -5)
    q.insert(1, "x")
    values = {obj: pv for pv, obj in q._pq.items()}
    assert values["b"] is values["x"] and values["b"].priority_class == 0
    assert values["a"].base_priority == 5.0 and values["a"].priority() == 5.0
    assert values["b"] < values["a"] and not values["a"] < values["b"]
    assert "PriorityValue(" in repr(values["a"])
    assert sorted(q._pq) == sorted(["a", "b", "x"])
    values["a"].priority_boost = -100.0
    q._pq.refresh()
    assert list(q) == ["b", "x", "a"]  # immediate class still first
    assert len(q._pq) == 3 and bool(q._pq)


@native_only
def test_do_maintenance_override_and_subclass() -> None:
    calls: list[int] = []

    class Sub(Native):  # type: ignore[misc,valid-type]
        def boost_stragglers(self, stragglers: Any, lo: Any, hi: Any) -> None:
            calls.append(len(list(stragglers)))
            super().boost_stragglers(stragglers, lo, hi)

    q = Sub(lambda x: x)
    for i in range(30):
        q.append(i)
    for _ in range(300):
        q.append(q.popleft())
    assert calls  # the subclass hook was called through the default do_maintenance
    q.do_maintenance = lambda: calls.append(-1)
    n = len(calls)
    for _ in range(300):
        q.append(q.popleft())
    assert calls[n:] and set(calls[n:]) == {-1}


# ---------------------------------------------------------------------------
# GC and re-entrancy
# ---------------------------------------------------------------------------


@native_only
def test_gc_collects_queue_cycles() -> None:
    class Holder:
        pass

    q = Native(lambda x: 0.0)
    h = Holder()
    h.q = q  # type: ignore[attr-defined]
    q.append(h)
    q.self_ref = q  # instance dict cycle
    it = iter(q)
    q.append(it)  # queue -> iterator -> queue
    view = q._pq
    q.append(view)  # queue -> storage view -> queue
    pairs = view.items()
    wq, wh = weakref.ref(q), weakref.ref(h)
    del q, h, it, view, pairs
    gc.collect()
    assert wq() is None and wh() is None


@native_only
def test_gc_collects_loop_and_queue() -> None:
    loop = prio.DefaultPriorityEventLoop()
    loop.call_soon(lambda: None)
    wl = weakref.ref(loop)
    wq = weakref.ref(loop.ready_queue)
    loop.close()
    del loop
    gc.collect()
    assert wl() is None and wq() is None


@native_only
def test_reentrant_callbacks_are_safe() -> None:
    q: Any = None

    def gp(x: Any) -> float:
        if isinstance(x, int) and x < 5:
            q.append(x + 10)  # re-enter from the priority function
        return float(x)

    q = Native(gp)
    q.append(1)
    assert list(q) == [1, 11]

    class Del:
        def __del__(self) -> None:
            q.append_pri("from-del", 0)

    q.append_pri(Del(), 1)
    q.clear()  # the decref runs __del__, which re-enters
    assert list(q) == ["from-del"]
    q.append_pri(Del(), 0)
    q.remove(next(x for x in q if isinstance(x, Del)))
    assert "from-del" in list(q)

    def key(x: Any) -> bool:
        q.append_pri("k", 9)
        return x == "from-del"

    assert q.find(key, remove=True) == "from-del"


# ---------------------------------------------------------------------------
# The default-priority fast path against the loop's get_priority
# ---------------------------------------------------------------------------


def test_fast_path_matches_get_priority() -> None:
    seen: list[tuple[str, Any]] = []

    class Custom(prio.PriorityTask):
        def effective_priority(self) -> Any:
            return self.priority_value * 2

    async def main() -> None:
        loop = asyncio.get_running_loop()
        q = loop.ready_queue  # type: ignore[attr-defined]

        async def noop() -> None:
            pass

        tasks = [
            prio.PriorityTask(noop(), priority=3),
            prio.PriorityTask(noop(), priority=-2.5),
            Custom(noop(), priority=4),
            asyncio.ensure_future(noop()),
        ]
        lock = prio.PriorityLock()
        tasks[0].add_owned_lock(lock)
        handles = [h for h in q if prio.task_from_handle(h) in tasks]
        for h in handles:
            t = prio.task_from_handle(h)
            seen.append((t.get_name(), loop.get_priority(h)))
            values = {id(o): pv for pv, o in q._pq.items()}
            assert values[id(h)].base_priority == loop.get_priority(h)
        h2 = loop.call_soon(lambda: None)
        assert {id(o): pv for pv, o in q._pq.items()}[id(h2)].base_priority == 0.0
        tasks[0].remove_owned_lock(lock)
        await asyncio.gather(*tasks)

    loop = prio.DefaultPriorityEventLoop()
    try:
        loop.run_until_complete(main())
    finally:
        loop.close()
    assert sorted(p for _, p in seen) == [-2.5, 0.0, 3.0, 8.0]


def test_overridden_task_from_handle_is_honoured() -> None:
    order: list[str] = []

    async def job(name: str) -> None:
        order.append(name)

    async def main() -> None:
        loop = asyncio.get_running_loop()
        loop.task_from_handle = lambda h: None  # type: ignore[attr-defined]
        try:
            ts = [prio.PriorityTask(job(n), priority=p) for n, p in [("a", 5), ("b", -5)]]
            await asyncio.gather(*ts)
        finally:
            del loop.task_from_handle  # type: ignore[attr-defined]

    loop = prio.DefaultPriorityEventLoop()
    try:
        loop.run_until_complete(main())
    finally:
        loop.close()
    assert order == ["a", "b"]  # every handle at priority 0: FIFO


# ---------------------------------------------------------------------------
# The priority-loop suite with the native queue active
# ---------------------------------------------------------------------------


@native_only
def test_priority_suite_runs_on_native_queue() -> None:
    import test_priority  # noqa: F401  (same process: the module global is the native class)

    assert test_priority.PosPriorityQueue is Native
