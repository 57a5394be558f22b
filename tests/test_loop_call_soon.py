"""The scheduling loops' ``call_soon``: ``BaseEventLoop.call_soon`` with the Handle built
natively. Everything observable must be what asyncio's own method gives."""

from __future__ import annotations

import asyncio
import contextvars
import inspect
import threading
from typing import Any

import pytest

import asynkit
from asynkit.loop import eventloop

native = pytest.mark.skipif(eventloop._native_call_soon is None, reason="native engine not active")
var: contextvars.ContextVar[str] = contextvars.ContextVar("var", default="outer")


def run(loop: Any, coro: Any) -> Any:
    try:
        return loop.run_until_complete(coro)
    finally:
        loop.close()


@native
def test_is_the_scheduling_loops_call_soon() -> None:
    cls = asynkit.DefaultSchedulingEventLoop
    assert cls.call_soon is eventloop._native_call_soon
    assert cls.call_soon.__name__ == "call_soon"
    loop, stock = cls(), asyncio.new_event_loop()
    try:  # the bound methods' signatures are asyncio's: (callback, *args, context=None)
        assert inspect.signature(loop.call_soon) == inspect.signature(stock.call_soon)
    finally:
        loop.close()
        stock.close()
    assert asynkit.SchedulingMixin.__dict__.get("call_soon") is None  # the mixin adds nothing


@pytest.mark.parametrize("which", ["scheduling", "stock"])
def test_handles_like_stock(which: str) -> None:
    loop = (
        asynkit.DefaultSchedulingEventLoop() if which == "scheduling" else asyncio.new_event_loop()
    )

    async def main() -> None:
        log: list[Any] = []
        var.set("main")
        h = loop.call_soon(log.append, 1)
        assert type(h) is asyncio.Handle and loop._ready[-1] is h
        assert h._args == (1,) and h._loop is loop and h._cancelled is False
        assert h._source_traceback is None and h._repr is None
        assert h._context is not contextvars.copy_context()  # a copy taken now
        assert h._context[var] == "main"
        ctx = contextvars.copy_context()
        h2 = loop.call_soon(lambda *a: log.append(a), 2, 3, context=ctx)
        assert h2._context is ctx and h2._args == (2, 3)
        h3 = loop.call_soon(log.append, 4, context=None)
        h3.cancel()
        assert repr(h).startswith("<Handle") and "append" in repr(h)
        await asyncio.sleep(0)
        assert log == [1, (2, 3)]

    run(loop, main())


@native
def test_errors_are_base_call_soons() -> None:
    loop = asynkit.DefaultSchedulingEventLoop()

    async def main() -> None:
        with pytest.raises(TypeError):
            loop.call_soon()  # type: ignore[call-arg]
        with pytest.raises(TypeError):
            loop.call_soon(print, bogus=1)  # type: ignore[call-arg]
        with pytest.raises(TypeError):
            asynkit.DefaultSchedulingEventLoop.call_soon(object(), print)

    run(loop, main())
    with pytest.raises(RuntimeError, match="closed"):
        loop.call_soon(print)


@native
def test_debug_mode_is_base_call_soons() -> None:
    loop = asynkit.DefaultSchedulingEventLoop()
    loop.set_debug(True)

    async def main() -> None:
        h = loop.call_soon(print)
        assert h._source_traceback  # recorded, as BaseEventLoop.call_soon does
        h.cancel()
        with pytest.raises(TypeError):
            loop.call_soon(42)  # type: ignore[arg-type]  # the callback check
        errors: list[BaseException] = []

        def other_thread() -> None:
            try:
                loop.call_soon(print)
            except RuntimeError as e:
                errors.append(e)

        t = threading.Thread(target=other_thread)
        t.start()
        t.join()
        assert errors and "thread" in str(errors[0])

    run(loop, main())


@native
def test_subclass_overrides_are_honoured() -> None:
    made: list[Any] = []

    class Loop(asynkit.SchedulingSelectorEventLoop):
        def _call_soon(self, callback: Any, args: Any, context: Any) -> Any:
            h = super()._call_soon(callback, args, context)
            made.append(h)
            return h

    loop = Loop()

    async def main() -> None:
        h = loop.call_soon(print)
        assert made[-1] is h  # (the main task's first step came through it too)
        h.cancel()
        # and an instance override of call_soon itself
        calls: list[Any] = []
        loop.call_soon = lambda *a, **k: calls.append(a)  # type: ignore[method-assign]
        loop.call_soon(print, 1)
        assert calls == [(print, 1)]
        del loop.call_soon

    run(loop, main())


@native
def test_tasks_and_scheduling_functions_on_it() -> None:
    """Task steps are queued through it; the scheduling functions still find them."""
    loop = asynkit.DefaultSchedulingEventLoop()

    async def main() -> None:
        log: list[str] = []

        async def worker(name: str) -> None:
            for _ in range(3):
                log.append(name)
                await asyncio.sleep(0)

        tasks = [asyncio.create_task(worker(n)) for n in "abc"]
        assert all(asynkit.task_is_runnable(t) for t in tasks)
        asynkit.task_reinsert(tasks[2], 0)
        await asyncio.gather(*tasks)
        assert log[:3] == ["c", "a", "b"]
        handle = loop.call_pos(0, log.append, "head")
        assert loop._ready[0] is handle
        await asyncio.sleep(0)
        assert log[-1] == "head"

    run(loop, main())


@native
def test_priority_loop_call_soon_uses_its_queue() -> None:
    from asynkit.experimental import priority

    loop = priority.DefaultPriorityEventLoop()
    assert type(loop).call_soon is eventloop._native_call_soon

    async def main() -> None:
        log: list[Any] = []
        h = loop.call_soon(log.append, 1)
        assert type(h) is asyncio.Handle
        assert h in list(loop._ready)  # put there by the priority queue's append
        h2 = loop.call_pos(0, log.append, 0)
        assert list(loop._ready)[0] is h2
        await asyncio.sleep(0)
        assert log == [0, 1]

    run(loop, main())
