"""The native ``task_switch`` / ``sleep_insert`` (issue 4): function-like objects over the
Python reference coroutines, coroutine-like calls, and the ``ReinsertHead`` head callback.
Each contract here also holds for the pure-Python selection (where they are plain
``async def`` functions)."""

from __future__ import annotations

import asyncio
import collections.abc
import inspect
from typing import Any

import pytest

import asynkit
import asynkit.scheduling as sched
from asynkit.coroutine import _native
from asynkit.loop.extensions import ready_len, task_from_handle


def run(coro: Any, loop_factory: Any = asyncio.new_event_loop) -> Any:
    loop = loop_factory()
    try:
        return loop.run_until_complete(coro)
    finally:
        loop.close()


LOOPS = [
    pytest.param(asyncio.new_event_loop, id="stock"),
    pytest.param(asynkit.DefaultSchedulingEventLoop, id="scheduling"),
]


def test_coroutine_function_identity() -> None:
    for f, name in ((asynkit.task_switch, "task_switch"), (asynkit.sleep_insert, "sleep_insert")):
        assert inspect.iscoroutinefunction(f)
        assert asyncio.iscoroutinefunction(f)
        assert f.__name__ == name and f.__module__ == "asynkit.scheduling"
        assert f.__doc__
    assert list(inspect.signature(asynkit.task_switch).parameters) == ["task", "insert_pos"]
    assert list(inspect.signature(asynkit.sleep_insert).parameters) == ["pos"]


def test_call_is_a_coroutine_that_does_nothing_until_awaited() -> None:
    async def main() -> None:
        c = asynkit.sleep_insert(0)
        assert asyncio.iscoroutine(c) and isinstance(c, collections.abc.Coroutine)
        assert ready_len() == 0  # nothing queued yet
        c.close()
        with pytest.raises(RuntimeError):
            await c  # closed: cannot be awaited any more

    run(main())


@pytest.mark.parametrize("loop_factory", LOOPS)
def test_task_switch_not_queued_raises_before_suspending(loop_factory: Any) -> None:
    async def main() -> None:
        fut = asyncio.get_running_loop().create_future()

        async def blocked() -> None:
            await fut

        t = asyncio.create_task(blocked())
        await asyncio.sleep(0)
        c = asynkit.task_switch(t)  # no error at call time
        n = ready_len()
        with pytest.raises(ValueError):
            await c
        assert ready_len() == n
        with pytest.raises(ValueError):
            await asynkit.task_switch(asyncio.current_task())  # the caller itself
        with pytest.raises(ValueError):
            await asynkit.task_switch("not a task")  # type: ignore[arg-type]
        fut.set_result(None)
        await t

    run(main(), loop_factory)


@pytest.mark.parametrize("loop_factory", LOOPS)
@pytest.mark.parametrize("insert_pos", [None, 0, 1])
def test_task_switch_order(loop_factory: Any, insert_pos: Any) -> None:
    log: list[Any] = []

    async def worker(i: int) -> None:
        log.append(i)

    async def main() -> None:
        tasks = [asyncio.create_task(worker(i)) for i in range(6)]
        if insert_pos is None:
            await asynkit.task_switch(tasks[3])
        else:
            await asynkit.task_switch(tasks[3], insert_pos=insert_pos)
        log.append("me")
        await asyncio.gather(*tasks)

    run(main(), loop_factory)
    expected = {
        None: [3, 0, 1, 2, 4, 5, "me"],
        1: [3, "me", 0, 1, 2, 4, 5],
        0: ["me", 3, 0, 1, 2, 4, 5],
    }[insert_pos]
    assert log == expected


@pytest.mark.parametrize("loop_factory", LOOPS)
@pytest.mark.parametrize("pos", [0, 1, 3, 6, 100, -1])
def test_sleep_insert_order(loop_factory: Any, pos: int) -> None:
    log: list[Any] = []

    async def worker(i: int) -> None:
        log.append(i)

    async def main() -> None:
        tasks = [asyncio.create_task(worker(i)) for i in range(6)]
        await asynkit.sleep_insert(pos)
        log.append("me")
        await asyncio.gather(*tasks)

    run(main(), loop_factory)
    order: list[Any] = list(range(6))
    order.insert(pos, "me")
    assert log == order


def test_cancel_while_suspended() -> None:
    async def main() -> None:
        async def sleeper() -> None:
            await asynkit.sleep_insert(5)

        t = asyncio.create_task(sleeper())
        await asyncio.sleep(0)  # t is now suspended in sleep_insert
        t.cancel()
        with pytest.raises(asyncio.CancelledError):
            await t

    run(main())


def test_create_task_of_a_call() -> None:
    async def main() -> None:
        t = asyncio.create_task(asynkit.sleep_insert(0))
        assert await t is None

    run(main())


def test_head_calls_rebound_task_reinsert(monkeypatch: pytest.MonkeyPatch) -> None:
    """The head callback calls the public ``task_reinsert`` when it is rebound."""
    calls: list[Any] = []
    original = sched.task_reinsert

    def spy(task: Any, pos: int) -> None:
        calls.append(pos)
        original(task, pos)

    async def main() -> None:
        await asynkit.sleep_insert(0)  # warm up: the loop is now on the fast path
        monkeypatch.setattr(sched, "task_reinsert", spy)
        await asynkit.sleep_insert(2)

    run(main())
    assert calls == [2]


def test_head_error_goes_to_exception_handler() -> None:
    """A head callback whose task is gone reports ValueError to the loop's handler."""
    errors: list[Any] = []

    async def main() -> None:
        loop = asyncio.get_running_loop()
        loop.set_exception_handler(lambda _loop, ctx: errors.append(ctx))
        await asynkit.sleep_insert(0)  # warm up: the loop is now handled natively
        me = asyncio.current_task()
        if _native is not None:
            _native.sleep_insert_head(loop, loop._ready, me, 0)  # type: ignore[attr-defined]
            head = loop._ready[0]
            assert head._callback is sched.task_reinsert and head._args == (me, 0)
            assert "task_reinsert" in repr(head)
        else:
            loop.call_soon(sched.task_reinsert, me, 0)
            loop._ready.rotate(1)  # type: ignore[attr-defined]
        # The caller is not queued when the head runs (it is blocked on a future).
        fut = loop.create_future()
        loop.call_later(0.01, fut.set_result, None)
        await fut

    run(main())
    assert len(errors) == 1 and isinstance(errors[0]["exception"], ValueError)


def test_head_is_not_a_task_handle() -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        await asynkit.sleep_insert(0)
        if _native is None:
            pytest.skip("native only")
        _native.sleep_insert_head(loop, loop._ready, asyncio.current_task(), 0)  # type: ignore[attr-defined]
        head = loop._ready[0]
        assert task_from_handle(head) is None
        assert asyncio.current_task() not in asynkit.runnable_tasks()
        head.cancel()
        assert head._cancelled and head.cancelled() and head._callback is None
        await asyncio.sleep(0)

    run(main())


@pytest.mark.parametrize("kind", ["stock", "scheduling"])
def test_class_patched_after_warm_up_is_dispatched(
    kind: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A queue method patched on the view's class after the loop was first handled is
    called from then on (and the fast path resumes once the patch is undone)."""
    from asynkit.loop.default import SchedulingLoopHelper

    cls = SchedulingLoopHelper if kind == "stock" else asynkit.SchedulingSelectorEventLoop
    factory = asyncio.new_event_loop if kind == "stock" else asynkit.DefaultSchedulingEventLoop
    found: list[Any] = []
    placed: list[int] = []
    original_find, original_call_pos = cls.queue_find, cls.call_pos

    def queue_find(self: Any, key: Any, remove: bool = False) -> Any:
        found.append(remove)
        return original_find(self, key, remove=remove)

    def call_pos(self: Any, position: int, callback: Any, *args: Any, context: Any = None) -> Any:
        placed.append(position)
        return original_call_pos(self, position, callback, *args, context=context)

    async def nop() -> None:
        pass

    async def reinsert_and_switch() -> None:
        t = asyncio.create_task(nop())
        asynkit.task_reinsert(t, 0)
        t = asyncio.create_task(nop())
        await asynkit.task_switch(t)
        await asynkit.sleep_insert(0)

    async def main() -> None:
        await reinsert_and_switch()  # warm up: the loop is now handled directly
        monkeypatch.setattr(cls, "queue_find", queue_find)
        monkeypatch.setattr(cls, "call_pos", call_pos)
        await reinsert_and_switch()
        assert found == [True, True, True] and placed == [0]
        monkeypatch.undo()
        await reinsert_and_switch()
        assert found == [True, True, True] and placed == [0]

    run(main(), factory)


@pytest.mark.parametrize("loop_factory", LOOPS)
def test_sleep_insert_asks_patched_current_task_without_arguments(
    loop_factory: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """§7.1 step 2 is ``asyncio.current_task()``: a replacement taking no arguments is
    called (with none) and its answer is the task that gets reinserted."""
    log: list[Any] = []

    async def other(i: int) -> None:
        log.append(i)

    async def main() -> None:
        me = asyncio.current_task()
        tasks = [asyncio.create_task(other(i)) for i in range(4)]
        calls: list[int] = []
        real = asyncio.current_task

        def zero_args() -> Any:
            calls.append(1)
            return real()

        monkeypatch.setattr(asyncio, "current_task", zero_args)
        await asynkit.sleep_insert(2)
        monkeypatch.setattr(asyncio, "current_task", real)
        log.append("me")
        assert calls == [1] and asyncio.current_task() is me
        await asyncio.gather(*tasks)
        assert log == [0, 1, "me", 2, 3]

    run(main(), loop_factory)


@pytest.mark.parametrize("loop_factory", LOOPS)
@pytest.mark.parametrize("target", [0, 2, 5])  # head, middle, tail of the queue
@pytest.mark.parametrize("pos", [0, 1, 3, 10])
def test_task_reinsert_from_every_place_to_every_place(
    loop_factory: Any, target: int, pos: int
) -> None:
    """The handle moves out of any place (the tail is the common case, done without a
    rotating delete) into any place, in the order ``list.insert`` gives."""
    log: list[int] = []

    async def t(i: int) -> None:
        log.append(i)

    async def main() -> None:
        tasks = [asyncio.create_task(t(i)) for i in range(6)]
        asynkit.task_reinsert(tasks[target], pos)
        await asyncio.gather(*tasks)
        expected = [i for i in range(6) if i != target]
        expected.insert(pos, target)
        assert log == expected

    run(main(), loop_factory)


async def _warm_up() -> None:
    """Use every fast path once, so the running loop is remembered."""
    t = asyncio.create_task(asyncio.sleep(0))
    asynkit.task_reinsert(t, 0)
    await asynkit.task_switch(t)
    await asynkit.sleep_insert(0)
    await t


@pytest.mark.parametrize(
    "op, methods",
    [
        ("task_reinsert", {"queue_find", "queue_insert_pos"}),
        ("task_switch", {"queue_find", "queue_insert_pos"}),
        ("task_switch_pos", {"queue_find", "queue_insert_pos", "call_pos"}),
        ("sleep_insert", {"call_pos"}),
    ],
)
def test_methods_patched_on_a_warm_loop_instance_are_dispatched_to(
    op: str, methods: set[str]
) -> None:
    """§5/§7: the operations go through the view's methods; on a scheduling loop (its own
    view) a method patched on the *instance* after the loop was remembered is called."""
    from unittest import mock

    log: list[int] = []

    async def t(i: int) -> None:
        log.append(i)

    async def main() -> None:
        await _warm_up()
        loop = asyncio.get_running_loop()
        ts = [asyncio.create_task(t(i)) for i in range(3)]
        names = ["queue_find", "queue_insert_pos", "call_pos"]
        patches = [mock.patch.object(loop, n, wraps=getattr(loop, n)) for n in names]
        mocks = {n: p.start() for n, p in zip(names, patches, strict=True)}
        try:
            if op == "task_reinsert":
                asynkit.task_reinsert(ts[2], 0)
            elif op == "task_switch":
                await asynkit.task_switch(ts[1])
            elif op == "task_switch_pos":
                await asynkit.task_switch(ts[1], insert_pos=1)
            else:
                await asynkit.sleep_insert(1)
        finally:
            for p in patches:
                p.stop()
        assert {n for n, m in mocks.items() if m.called} >= methods
        await asyncio.gather(*ts)
        # and the fast path comes back once the patches are gone
        assert all(n not in vars(loop) for n in names)

    run(main(), asynkit.DefaultSchedulingEventLoop)


def test_call_soon_patched_on_a_warm_stock_loop_instance_is_used_by_sleep_insert() -> None:
    """The head callback of sleep_insert is queued by the loop's call_soon (through the
    helper's call_pos) when call_soon is replaced on the loop instance."""
    from unittest import mock

    async def main() -> None:
        await _warm_up()
        loop = asyncio.get_running_loop()
        with mock.patch.object(loop, "call_soon", wraps=loop.call_soon) as cs:
            await asynkit.sleep_insert(0)
        callbacks = [c.args[0] for c in cs.call_args_list]
        assert sched.task_reinsert in callbacks  # the head callback, not only the task step

    run(main())


@pytest.mark.parametrize("loop_factory", LOOPS)
@pytest.mark.parametrize("pos", [10**30, -(10**30)])
def test_task_reinsert_failing_insert_keeps_the_task_queued(loop_factory: Any, pos: int) -> None:
    """A position ``insert()`` cannot take raises its OverflowError, and the task's handle
    is back in the queue (not lost, so the task still runs)."""
    log: list[int] = []

    async def t(i: int) -> None:
        log.append(i)

    async def main() -> None:
        ts = [asyncio.create_task(t(i)) for i in range(3)]
        for victim in (ts[2], ts[0]):  # at the tail, and in front
            with pytest.raises(OverflowError):
                asynkit.task_reinsert(victim, pos)
        assert ready_len() == 3
        await asyncio.wait_for(asyncio.gather(*ts), 1)
        assert sorted(log) == [0, 1, 2]

    run(main(), loop_factory)
