"""Tests for asynkit.loop: types, the scheduling ABC, the stock-loop backend, the loop
extensions and the scheduling event loops / policy."""

from __future__ import annotations

import asyncio
import asyncio.tasks
import functools
import random
import sys
import warnings
from collections import deque
from collections.abc import Callable
from typing import Any

import pytest

import asynkit
import asynkit.loop
import asynkit.loop.default as ld
import asynkit.loop.eventloop as le
import asynkit.loop.extensions as lx
import asynkit.loop.schedulingloop as ls
import asynkit.loop.types as lt

PY_311 = sys.version_info >= (3, 11)
PY_312 = sys.version_info >= (3, 12)

LOOPS: dict[str, Callable[[], asyncio.AbstractEventLoop]] = {
    "stock": asyncio.SelectorEventLoop,
    "mixin": asynkit.SchedulingSelectorEventLoop,
}


def py_task_factory(loop: Any, coro: Any, **kwargs: Any) -> Any:
    return ld.PyTask(coro, loop=loop, **kwargs)


@pytest.fixture(params=list(LOOPS))
def loop_kind(request: pytest.FixtureRequest) -> str:
    return request.param  # type: ignore[no-any-return]


@pytest.fixture(params=["ctask", "pytask"])
def task_kind(request: pytest.FixtureRequest) -> str:
    return request.param  # type: ignore[no-any-return]


@pytest.fixture
def arun(loop_kind: str, task_kind: str) -> Callable[..., Any]:
    def _run(fn: Callable[[], Any]) -> Any:
        loop = LOOPS[loop_kind]()
        try:
            if task_kind == "pytask":
                loop.set_task_factory(py_task_factory)
            return loop.run_until_complete(fn())
        finally:
            loop.set_task_factory(None)
            loop.close()

    return _run


async def note(log: list[Any], name: Any) -> None:
    log.append(name)


# ---------------------------------------------------------------------------
# import map
# ---------------------------------------------------------------------------


def test_package_exports_nothing() -> None:
    """``asynkit/loop/__init__.py`` is empty (spec): no ``__all__``, no names of its own."""
    import pathlib

    assert not hasattr(asynkit.loop, "__all__")
    assert pathlib.Path(asynkit.loop.__file__).read_text() == ""
    ns: dict[str, Any] = {}
    exec("from asynkit.loop import *", ns)
    assert {name for name in ns if not name.startswith("__")} <= {
        "default",
        "eventloop",
        "extensions",
        "schedulingloop",
        "types",
    }


def test_eventloop_all_and_reexports() -> None:
    expected = [
        "SchedulingMixin",
        "SchedulingSelectorEventLoop",
        "SchedulingEventLoopPolicy",
        "DefaultSchedulingEventLoop",
        "scheduling_loop_factory",
        "event_loop_policy",
    ]
    if hasattr(asyncio, "ProactorEventLoop"):
        expected.append("SchedulingProactorEventLoop")
    assert le.__all__ == expected
    for name in expected:
        assert getattr(asynkit, name) is getattr(le, name)
    if not hasattr(asyncio, "ProactorEventLoop"):
        assert not hasattr(asynkit, "SchedulingProactorEventLoop")
        assert not hasattr(le, "SchedulingProactorEventLoop")
        assert asynkit.DefaultSchedulingEventLoop is asynkit.SchedulingSelectorEventLoop


def test_identities_across_paths() -> None:
    assert lx.AbstractSchedulingLoop is ls.AbstractSchedulingLoop
    assert asynkit.SchedulingMixin is le.SchedulingMixin
    for mod in (lt, ls, ld, lx):
        assert not hasattr(mod, "__all__")
    assert lt.TaskAny is asyncio.Task and lt.FutureAny is asyncio.Future
    assert lt.LoopType is asyncio.AbstractEventLoop
    assert lt.QueueType == deque[asyncio.Handle]


def test_pytask() -> None:
    if hasattr(asyncio.tasks, "_PyTask"):
        assert ld.PyTask is asyncio.tasks._PyTask
        assert ld.TaskTypes == (asyncio.Task, ld.PyTask)
        assert ld.PyTask is not asyncio.Task
    else:  # pragma: no cover
        assert ld.PyTask is asyncio.Task and ld.TaskTypes == (asyncio.Task,)


# ---------------------------------------------------------------------------
# AbstractSchedulingLoop
# ---------------------------------------------------------------------------


class ListLoop(ls.AbstractSchedulingLoop):
    """A minimal complete implementation over a list, outside any event loop."""

    def __init__(self, items: list[Any]) -> None:
        self.items = items

    def queue_len(self) -> int:
        return len(self.items)

    def queue_items(self) -> Any:
        return self.items

    def queue_find(self, key: Any, remove: bool = False) -> Any:
        return None

    def queue_remove(self, handle: Any) -> None:
        self.items.remove(handle)

    def queue_insert(self, handle: Any) -> None:
        self.items.append(handle)

    def queue_insert_pos(self, handle: Any, position: int) -> None:
        self.items.insert(position, handle)

    def call_pos(self, position: int, callback: Any, *args: Any, context: Any = None) -> Any:
        raise NotImplementedError

    def task_from_handle(self, handle: Any) -> Any:
        return handle if isinstance(handle, str) else None


def test_abc_is_abstract() -> None:
    assert isinstance(ls.AbstractSchedulingLoop, type)
    assert ls.AbstractSchedulingLoop.__abstractmethods__ == {
        "queue_len",
        "queue_items",
        "queue_find",
        "queue_remove",
        "queue_insert",
        "queue_insert_pos",
        "call_pos",
        "task_from_handle",
    }
    assert "__slots__" not in ls.AbstractSchedulingLoop.__dict__
    with pytest.raises(TypeError):
        ls.AbstractSchedulingLoop()  # type: ignore[abstract]

    class Partial(ls.AbstractSchedulingLoop):
        def queue_len(self) -> int:
            return 0

    with pytest.raises(TypeError):
        Partial()  # type: ignore[abstract]


def test_abc_task_key_and_queue_tasks() -> None:
    view = ListLoop(["a", 1, "b", None, "a"])
    key = view.task_key("a")
    assert [key(h) for h in view.items] == [True, False, False, False, True]
    assert list(view.queue_tasks()) == ["a", "b", "a"]


def test_concrete_views_inherit_task_key_and_take_self_in_task_from_handle() -> None:
    """§4.6/§6.1: the helper and the mixin inherit task_key (and queue_tasks) from the
    ABC, and their task_from_handle is a method ``(self, handle)``, also on the class."""
    import inspect

    from asynkit.experimental.priority import PrioritySchedulingMixin

    for cls in (ld.SchedulingLoopHelper, asynkit.SchedulingMixin, PrioritySchedulingMixin):
        assert cls.task_key is ls.AbstractSchedulingLoop.task_key
        assert cls.queue_tasks is ls.AbstractSchedulingLoop.queue_tasks
    for cls in (ld.SchedulingLoopHelper, asynkit.SchedulingMixin):
        assert list(inspect.signature(cls.task_from_handle).parameters) == ["self", "handle"]
        assert cls.task_from_handle.__name__ == "task_from_handle"


def test_task_key_follows_the_views_task_from_handle(arun: Any) -> None:
    """task_key(task) is ``h -> self.task_from_handle(h) is task``; the fast predicate for
    the standard rule gives the same answers, and a task_from_handle replaced on the
    class or the instance is what decides."""

    async def main() -> None:
        loop = asyncio.get_running_loop()
        t = asyncio.create_task(asyncio.sleep(0))
        other = asyncio.create_task(asyncio.sleep(0))
        helper = ld.SchedulingLoopHelper(loop)
        ready = list(loop._ready)  # type: ignore[attr-defined]
        key = helper.task_key(t)
        assert [key(h) for h in ready] == [ld.task_from_handle(h) is t for h in ready]
        assert key(ready[0]) and not key(ready[1]) and not key(object())
        # replaced on the instance: the replacement decides
        helper.task_from_handle = lambda h: t  # type: ignore[method-assign]
        assert all(helper.task_key(t)(h) for h in ready)
        assert not helper.task_key(other)(ready[1])

        class Sub(ld.SchedulingLoopHelper):
            def task_from_handle(self, handle: Any) -> Any:
                return other

        key = Sub(loop).task_key(other)
        assert all(key(h) for h in ready)
        await asyncio.gather(t, other)

    arun(main)


# ---------------------------------------------------------------------------
# task_from_handle
# ---------------------------------------------------------------------------


def test_task_from_handle_rules(arun: Any, task_kind: str) -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        ready = loop._ready  # type: ignore[attr-defined]
        task = asyncio.create_task(asyncio.sleep(0))
        step = ready[-1]
        assert ld.task_from_handle(step) is task
        assert lx.task_from_handle(step) is task
        assert lx.task_from_handle(step, loop) is task
        # a wakeup handle (the awaited future completed)
        fut = loop.create_future()
        waiter = asyncio.create_task(asyncio.wait_for(fut, None))
        await asyncio.sleep(0)
        fut.set_result(None)
        wakeup = ready[-1]
        assert ld.task_from_handle(wakeup) is waiter
        # any bound method of a task counts
        assert ld.task_from_handle(loop.call_soon(task.cancel)) is task

        class Other:
            def method(self) -> None:
                pass

        for cb in (
            lambda: None,
            functools.partial(print),
            Other().method,
            len,  # builtin: __self__ is the builtins module
            asyncio.get_running_loop,
        ):
            assert ld.task_from_handle(loop.call_soon(cb)) is None
        cancelled = loop.call_soon(print)
        cancelled.cancel()
        assert ld.task_from_handle(cancelled) is None
        assert ld.task_from_handle(object()) is None
        assert ld.task_from_handle(None) is None
        await asyncio.gather(task, waiter, return_exceptions=True)

    arun(main)


def test_task_from_handle_subclass_and_errors() -> None:
    class MyTask(asyncio.Task):  # type: ignore[type-arg]
        pass

    class Fake:
        def __init__(self, obj: Any) -> None:
            self._callback = obj

    loop = asyncio.new_event_loop()
    try:
        t = MyTask(asyncio.sleep(0), loop=loop)
        assert ld.task_from_handle(loop._ready[-1]) is t  # type: ignore[attr-defined]
        loop.run_until_complete(t)
    finally:
        loop.close()

    class Boom:
        @property
        def __self__(self) -> Any:
            raise KeyError("boom")

    with pytest.raises(KeyError):
        ld.task_from_handle(Fake(Boom()))


# ---------------------------------------------------------------------------
# queue_find / queue_remove / call_pos (module level)
# ---------------------------------------------------------------------------


class Item:
    """Compares equal to everything, so only identity can tell items apart."""

    def __init__(self, name: str, tag: int = 0) -> None:
        self.name, self.tag = name, tag

    def __eq__(self, other: object) -> bool:
        return True

    __hash__ = object.__hash__


def test_queue_find_from_tail() -> None:
    items = [Item("a", 1), Item("b", 1), Item("c", 0), Item("d", 1), Item("e", 0)]
    q = deque(items)
    seen: list[str] = []

    def key(h: Item) -> bool:
        seen.append(h.name)
        return h.tag == 1

    assert ld.queue_find(q, key) is items[3]
    assert seen == ["e", "d"]  # scanned from the tail, stopped at the first match
    assert list(q) == items
    assert ld.queue_find(q, key, remove=True) is items[3]
    assert [i.name for i in q] == ["a", "b", "c", "e"]
    assert ld.queue_find(q, key, True) is items[1]
    assert [i.name for i in q] == ["a", "c", "e"]
    assert ld.queue_find(q, lambda h: False) is None
    assert ld.queue_find(deque(), key) is None

    def bad(h: Any) -> bool:
        raise ZeroDivisionError

    with pytest.raises(ZeroDivisionError):
        ld.queue_find(q, bad)


def test_queue_remove_identity() -> None:
    a, b, c = Item("a"), Item("b"), Item("c")
    q = deque([a, b, c, b])
    ld.queue_remove(q, b)  # the one nearest the tail goes
    assert [x.name for x in q] == ["a", "b", "c"] and q[1] is b
    with pytest.raises(ValueError):
        ld.queue_remove(q, Item("x"))  # equal to everything, but not identical
    assert len(q) == 3
    ld.queue_remove(q, a)
    assert [x.name for x in q] == ["b", "c"]


def run_stock(fn: Callable[[], Any]) -> Any:
    loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(fn())
    finally:
        loop.close()


def test_call_pos_model(loop_kind: str) -> None:
    """A sequence of call_pos(p_i, cb_i) runs as the same list.insert sequence predicts."""
    rng = random.Random(1234)

    async def main() -> None:
        loop = asyncio.get_running_loop()
        for round_ in range(30):
            log: list[int] = []
            model: list[Any] = []
            done = loop.create_future()
            for i in range(rng.randrange(1, 12)):
                if rng.random() < 0.3:
                    loop.call_soon(log.append, i)
                    model.append(i)
                    continue
                pos = rng.randrange(-15, 15)
                how = rng.randrange(3)
                if how == 0:
                    h = lx.call_pos(pos, log.append, i)
                elif how == 1:
                    h = lx.call_pos(pos, log.append, i, loop=loop)
                else:
                    h = lx.get_scheduling_loop().call_pos(pos, log.append, i)
                assert isinstance(h, asyncio.Handle)
                model.insert(pos, i)
            loop.call_soon(done.set_result, None)
            await done
            assert log == model, round_

    loop = LOOPS[loop_kind]()
    try:
        loop.run_until_complete(main())
    finally:
        loop.close()


def test_call_pos_worked_example_and_context() -> None:
    import contextvars

    var: contextvars.ContextVar[str] = contextvars.ContextVar("var", default="unset")

    async def main() -> list[str]:
        log: list[str] = []
        loop = asyncio.get_running_loop()
        loop.call_soon(log.append, "a")
        lx.call_pos(-1, log.append, "x")
        lx.call_pos(-1, log.append, "y")
        ctx = contextvars.copy_context()
        ctx.run(var.set, "ctx")
        lx.call_pos(0, lambda: log.append(var.get()), context=ctx)
        cancelled = lx.call_pos(0, log.append, "cancelled")
        cancelled.cancel()
        assert lx.ready_len() == 5
        await asyncio.sleep(0)
        return log

    assert run_stock(main) == ["ctx", "x", "y", "a"]


def test_call_pos_closed_loop(loop_kind: str) -> None:
    loop = LOOPS[loop_kind]()
    loop.close()
    with pytest.raises(RuntimeError):
        ld.call_pos(loop, 0, print)
    with pytest.raises(RuntimeError):
        lx.call_pos(0, print, loop=loop)


def test_call_pos_runs_before_queued_in_same_iteration() -> None:
    async def main() -> list[str]:
        log: list[str] = []
        loop = asyncio.get_running_loop()

        def first() -> None:
            log.append("first")
            lx.call_pos(0, log.append, "inserted")

        loop.call_soon(first)
        loop.call_soon(log.append, "second")
        await asyncio.sleep(0)
        return log

    assert run_stock(main) == ["first", "inserted", "second"]


# ---------------------------------------------------------------------------
# SchedulingLoopHelper
# ---------------------------------------------------------------------------


def test_helper_construction() -> None:
    with pytest.raises(RuntimeError):
        ld.SchedulingLoopHelper()

    class NoReady:
        pass

    with pytest.raises(AttributeError):
        ld.SchedulingLoopHelper(NoReady())

    async def main() -> None:
        helper = ld.SchedulingLoopHelper()
        loop = asyncio.get_running_loop()
        assert helper.queue_items() is loop._ready  # type: ignore[attr-defined]
        explicit = ld.SchedulingLoopHelper(loop)
        assert explicit.queue_items() is loop._ready  # type: ignore[attr-defined]

    run_stock(main)


def test_helper_methods() -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        ready = loop._ready  # type: ignore[attr-defined]
        helper = ld.SchedulingLoopHelper(loop)
        assert isinstance(helper, ls.AbstractSchedulingLoop)
        log: list[Any] = []
        tasks = [asyncio.create_task(note(log, i)) for i in range(3)]
        assert helper.queue_len() == 3
        assert list(helper.queue_tasks()) == tasks
        assert helper.task_from_handle(ready[0]) is tasks[0]
        h = helper.queue_find(helper.task_key(tasks[1]), remove=True)
        assert h is not None and helper.queue_len() == 2
        assert helper.queue_find(key=helper.task_key(tasks[1])) is None
        helper.queue_insert_pos(h, 0)
        assert helper.task_from_handle(ready[0]) is tasks[1]
        helper.queue_remove(h)
        with pytest.raises(ValueError):
            helper.queue_remove(h)
        helper.queue_insert(h)
        assert list(helper.queue_tasks()) == [tasks[0], tasks[2], tasks[1]]
        cb = helper.call_pos(1, log.append, "cb")
        assert ready[1] is cb
        await asyncio.gather(*tasks)
        assert log == [0, "cb", 2, 1]

    run_stock(main)


# ---------------------------------------------------------------------------
# loop extensions
# ---------------------------------------------------------------------------


def test_get_scheduling_loop() -> None:
    with pytest.raises(RuntimeError):
        lx.get_scheduling_loop()

    async def main() -> None:
        loop = asyncio.get_running_loop()
        view = lx.get_scheduling_loop()
        if isinstance(loop, ls.AbstractSchedulingLoop):
            assert view is loop
            assert lx.get_scheduling_loop(loop) is loop
        else:
            assert isinstance(view, ld.SchedulingLoopHelper)
            assert view.queue_items() is loop._ready  # type: ignore[attr-defined]

    for factory in LOOPS.values():
        loop = factory()
        try:
            loop.run_until_complete(main())
        finally:
            loop.close()
    # a non-mixin AbstractSchedulingLoop is recognised as such
    assert lx.get_scheduling_loop(ListLoop([])).queue_len() == 0  # type: ignore[arg-type]
    other = asyncio.new_event_loop()
    try:
        view = lx.get_scheduling_loop(other)
        assert isinstance(view, ld.SchedulingLoopHelper)
        assert view.queue_items() is other._ready  # type: ignore[attr-defined]
    finally:
        other.close()


def test_extensions_no_running_loop() -> None:
    for call in (
        lambda: lx.call_pos(0, print),
        lx.ready_len,
        lambda: lx.ready_find(None),  # type: ignore[arg-type]
        lambda: lx.ready_remove(None),  # type: ignore[arg-type]
        lambda: lx.ready_insert(None),  # type: ignore[arg-type]
        lambda: list(lx.ready_tasks()),
        lx.get_ready_queue,
        lambda: lx.task_from_handle(None),  # type: ignore[arg-type]
    ):
        with pytest.raises(RuntimeError):
            call()


def test_ready_functions(arun: Any, loop_kind: str) -> None:
    async def main() -> None:
        await asyncio.sleep(0)
        loop = asyncio.get_running_loop()
        assert lx.ready_len() == 0
        assert lx.get_ready_queue() is loop._ready  # type: ignore[attr-defined]
        log: list[Any] = []
        tasks = [asyncio.create_task(note(log, i)) for i in range(4)]
        assert lx.ready_len() == 4 and lx.ready_len(loop) == 4
        loop.call_soon(log.append, "cb")
        assert lx.ready_len() == 5
        assert list(lx.ready_tasks()) == tasks
        assert list(lx.ready_tasks(loop))[-2:] == tasks[-2:]
        me = asyncio.current_task()
        assert lx.ready_find(me) is None  # running
        h = lx.ready_find(tasks[2])
        assert h is not None and lx.task_from_handle(h) is tasks[2]
        assert lx.ready_len() == 5
        assert lx.ready_find(tasks[2], loop, True) is h  # positional (task, loop, remove)
        assert lx.ready_find(tasks[2], remove=True) is None
        assert lx.ready_len() == 4
        h0 = lx.ready_find(tasks[0])
        assert h0 is not None
        assert lx.ready_remove(h0) is None  # type: ignore[func-returns-value]
        with pytest.raises(ValueError):
            lx.ready_remove(h)
        assert list(lx.ready_tasks()) == [tasks[1], tasks[3]]
        lx.ready_insert(h)
        await asyncio.sleep(0)
        assert log == [1, 3, "cb", 2]
        assert not tasks[0].done()
        assert lx.ready_find(tasks[0]) is None  # its handle is gone until put back
        lx.ready_insert(h0, loop)
        await tasks[0]
        assert log == [1, 3, "cb", 2, 0]

    arun(main)


def test_extensions_dispatch_to_custom_view() -> None:
    """Extensions only use the AbstractSchedulingLoop methods of the view."""
    calls: list[tuple[Any, ...]] = []

    class Spy(asyncio.SelectorEventLoop, ls.AbstractSchedulingLoop):
        def queue_len(self) -> int:
            calls.append(("queue_len",))
            return 42

        def queue_items(self) -> Any:
            calls.append(("queue_items",))
            return ["h1", "h2"]

        def queue_find(self, key: Any, remove: bool = False) -> Any:
            calls.append(("queue_find", key("h1"), remove))
            return "found"

        def queue_remove(self, handle: Any) -> None:
            calls.append(("queue_remove", handle))

        def queue_insert(self, handle: Any) -> None:
            calls.append(("queue_insert", handle))

        def queue_insert_pos(self, handle: Any, position: int) -> None:
            calls.append(("queue_insert_pos", handle, position))

        def call_pos(self, position: int, callback: Any, *args: Any, context: Any = None) -> Any:
            calls.append(("call_pos", position, callback, args, context))
            return "handle"

        def task_from_handle(self, handle: Any) -> Any:
            return "T" if handle == "h1" else None

    loop = Spy()
    try:
        assert lx.get_scheduling_loop(loop) is loop
        assert lx.ready_len(loop) == 42
        assert lx.ready_find("T", loop, remove=True) == "found"
        assert lx.ready_find("X", loop) == "found"
        lx.ready_remove("h", loop)
        lx.ready_insert("h", loop)
        assert lx.call_pos(3, print, 1, 2, context="ctx", loop=loop) == "handle"
        assert list(lx.ready_tasks(loop)) == ["T"]
        assert lx.get_ready_queue(loop) == ["h1", "h2"]
        assert lx.task_from_handle("h1", loop) == "T"
        assert calls == [
            ("queue_len",),
            ("queue_find", True, True),
            ("queue_find", False, False),
            ("queue_remove", "h"),
            ("queue_insert", "h"),
            ("call_pos", 3, print, (1, 2), "ctx"),
            ("queue_items",),
            ("queue_items",),
        ]
    finally:
        loop.close()


# ---------------------------------------------------------------------------
# scheduling loops and policy
# ---------------------------------------------------------------------------


def test_scheduling_selector_loop_class() -> None:
    cls = asynkit.SchedulingSelectorEventLoop
    assert cls.__bases__ == (asyncio.SelectorEventLoop, asynkit.SchedulingMixin)
    mro = cls.__mro__
    assert mro.index(asyncio.BaseEventLoop) < mro.index(asynkit.SchedulingMixin)
    assert mro[-3:] == (ls.AbstractSchedulingLoop, __import__("abc").ABC, object)
    # the mixin adds only its own names and overrides nothing asyncio's loop uses
    own = {n for n in vars(asynkit.SchedulingMixin) if not n.startswith("__")}
    assert own.isdisjoint(dir(asyncio.BaseEventLoop))
    assert own >= {
        "get_ready_queue",
        "queue_len",
        "queue_items",
        "queue_find",
        "queue_insert",
        "queue_insert_pos",
        "queue_remove",
        "call_pos",
        "task_from_handle",
    }
    loop = cls()
    try:
        assert isinstance(loop, asynkit.SchedulingMixin)
        assert isinstance(loop, ls.AbstractSchedulingLoop)
        assert loop.get_ready_queue() is loop._ready  # type: ignore[attr-defined]
        assert loop.queue_items() is loop._ready  # type: ignore[attr-defined]
    finally:
        loop.close()


def test_mixin_get_ready_queue_hook() -> None:
    other: deque[Any] = deque()

    class Redirected(asynkit.SchedulingSelectorEventLoop):
        def get_ready_queue(self) -> deque[Any]:
            return other

    loop = Redirected()
    try:
        h = asyncio.Handle(print, (), loop, None)
        loop.queue_insert(h)
        assert list(other) == [h] and loop.queue_len() == 1
        loop.queue_insert_pos(h, 0)
        assert loop.queue_find(lambda x: x is h, remove=True) is h
        loop.queue_remove(h)
        assert not other and not loop._ready  # type: ignore[attr-defined]
    finally:
        loop.close()


def test_scheduling_loop_factory() -> None:
    a = asynkit.scheduling_loop_factory()
    b = asynkit.scheduling_loop_factory()
    try:
        assert a is not b
        assert type(a) is asynkit.DefaultSchedulingEventLoop
    finally:
        a.close()
        b.close()

    async def main() -> int:
        loop = asyncio.get_running_loop()
        assert isinstance(loop, asynkit.SchedulingMixin)
        return loop.queue_len()  # type: ignore[no-any-return]

    if PY_311:
        with asyncio.Runner(loop_factory=asynkit.scheduling_loop_factory) as runner:
            assert runner.run(main()) >= 0
    if PY_312:
        assert asyncio.run(main(), loop_factory=asynkit.scheduling_loop_factory) >= 0


def test_loop_with_eager_factory() -> None:
    if not PY_312:
        pytest.skip("asyncio.eager_task_factory needs 3.12+")
    loop = asynkit.SchedulingSelectorEventLoop()
    try:
        loop.set_task_factory(asyncio.eager_task_factory)

        async def main() -> int:
            log: list[int] = []
            t = asyncio.create_task(note(log, 1))
            assert t.done() and log == [1]
            return len(log)

        assert loop.run_until_complete(main()) == 1
    finally:
        loop.close()


def _get_policy() -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return asyncio.get_event_loop_policy()


def test_policy_class() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        base = asyncio.DefaultEventLoopPolicy
        abstract = asyncio.AbstractEventLoopPolicy
    assert issubclass(asynkit.SchedulingEventLoopPolicy, base)
    assert issubclass(asynkit.SchedulingEventLoopPolicy, abstract)
    policy = asynkit.SchedulingEventLoopPolicy()
    loop = policy.new_event_loop()
    try:
        assert isinstance(loop, asynkit.DefaultSchedulingEventLoop)
    finally:
        loop.close()


def test_event_loop_policy_context() -> None:
    async def main() -> bool:
        return isinstance(asyncio.get_running_loop(), asynkit.SchedulingMixin)

    before = _get_policy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        with asynkit.event_loop_policy() as policy:
            assert isinstance(policy, asynkit.SchedulingEventLoopPolicy)
            assert asyncio.get_event_loop_policy() is policy
            assert asyncio.run(main()) is True
        assert asyncio.get_event_loop_policy() is before
        mine = asynkit.SchedulingEventLoopPolicy()
        with pytest.raises(KeyError):
            with asynkit.event_loop_policy(mine) as policy:
                assert policy is mine
                assert asyncio.get_event_loop_policy() is mine
                raise KeyError
        assert asyncio.get_event_loop_policy() is before
        assert asyncio.run(main()) is False


def test_anyio_on_scheduling_loop() -> None:
    anyio = pytest.importorskip("anyio")

    async def main() -> tuple[bool, list[int]]:
        log: list[int] = []

        async def child(i: int) -> None:
            await anyio.sleep(0)
            log.append(i)

        async with anyio.create_task_group() as tg:
            for i in range(3):
                tg.start_soon(child, i)
        loop = asyncio.get_running_loop()
        return isinstance(loop, asynkit.SchedulingMixin), sorted(log)

    result = anyio.run(
        main,
        backend="asyncio",
        backend_options={"loop_factory": asynkit.scheduling_loop_factory},
    )
    assert result == (True, [0, 1, 2])
