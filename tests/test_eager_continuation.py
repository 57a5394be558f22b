"""The Task the eager factories build for a coroutine that blocked during its eager start.

With the native engine that Task runs a native continuation (not ``as_coroutine()``), and
on asyncio's own loops its first step is queued with a natively built ``asyncio.Handle``.
Both must be indistinguishable from what the stock ``Task(coro, loop=loop)`` /
``loop.call_soon`` give, in every way asyncio and the scheduling functions look at them.
"""

from __future__ import annotations

import asyncio
import collections.abc
import contextvars
import gc
import sys
from typing import Any
from unittest import mock

import pytest

import asynkit
import asynkit.coroutine as ac

native = pytest.mark.skipif(
    ac._CCoroStart is None, reason="native engine not active (ASYNKIT_DISABLE_CEXT?)"
)
_native: Any = ac._native


def run(coro: Any, *, loop: Any = None, debug: bool = False) -> Any:
    lp = loop or asyncio.new_event_loop()
    lp.set_debug(debug)
    try:
        return lp.run_until_complete(coro)
    finally:
        lp.close()


async def blocker(log: list[Any], fut: Any = None) -> str:
    log.append("start")
    try:
        if fut is None:
            await asyncio.sleep(0)
        else:
            await fut
    finally:
        log.append("finally")
    log.append("end")
    return "done"


def eager_task(coro: Any) -> Any:
    return asynkit.eager_task_factory(asyncio.get_running_loop(), coro)


@native
def test_continuation_is_a_coroutine_for_asyncio() -> None:
    async def main() -> None:
        log: list[Any] = []
        t = eager_task(blocker(log))
        assert type(t) is asyncio.Task
        c = t.get_coro()
        assert type(c) is _native.CoroStartContinuation
        assert asyncio.iscoroutine(c) and isinstance(c, collections.abc.Coroutine)
        # The user's coroutine shows through: name, code, frame, repr.
        assert c.__name__ == "blocker" and c.__qualname__ == "blocker"
        assert c.cr_code is blocker.__code__
        assert c.cr_frame is not None and c.cr_frame.f_code is blocker.__code__
        assert c.cr_running is False
        assert "blocker()" in repr(t)
        frames = t.get_stack()
        assert [f.f_code for f in frames] == [blocker.__code__]
        assert await t == "done"
        assert log == ["start", "finally", "end"]
        assert c.cr_frame is None  # finished

    run(main())


@native
def test_continuation_of_a_non_coroutine_awaitable() -> None:
    """An awaitable that is not a coroutine: the forwarded attributes are just absent."""

    class Waits:
        def __await__(self) -> Any:
            yield None
            return 5

    class BareIter:
        def __init__(self) -> None:
            self.n = 0

        def __iter__(self) -> Any:
            return self

        def __next__(self) -> None:
            self.n += 1
            if self.n > 1:
                raise StopIteration(6)

    class Bare:
        def __await__(self) -> Any:
            return BareIter()

    async def main() -> None:
        t = eager_task(Waits())
        c = t.get_coro()
        # A generator-based __await__: its generator shows through (no cr_* attributes).
        assert not hasattr(c, "cr_frame") and c.__qualname__.endswith("Waits.__await__")
        assert "Waits.__await__()" in repr(t)
        assert t.get_stack() == []
        assert await t == 5
        # An iterator with nothing to show: the attributes are simply absent.
        t2 = eager_task(Bare())
        c2 = t2.get_coro()
        assert not hasattr(c2, "__name__") and not hasattr(c2, "cr_await")
        assert "CoroStartContinuation" in repr(t2)
        assert await t2 == 6

    run(main())


@native
def test_cancel_before_first_step_leaves_coroutine_parked() -> None:
    """As with ``as_coroutine()``: CancelledError ends the Task; the coroutine does not see it
    and is closed when collected."""

    async def main() -> None:
        log: list[Any] = []
        fut = asyncio.get_running_loop().create_future()
        t = eager_task(blocker(log, fut))
        assert log == ["start"]
        t.cancel()
        with pytest.raises(asyncio.CancelledError):
            await t
        assert t.cancelled()
        assert log == ["start"]
        del t
        await asyncio.sleep(0)  # the handle that woke us up holds the Task until now
        gc.collect()
        assert log == ["start", "finally"]

    run(main())


@native
def test_cancel_after_first_step_reaches_coroutine() -> None:
    async def main() -> None:
        log: list[Any] = []
        fut = asyncio.get_running_loop().create_future()
        t = eager_task(blocker(log, fut))
        await asyncio.sleep(0)  # the first step ran: the Task now waits on fut
        t.cancel()
        with pytest.raises(asyncio.CancelledError):
            await t
        assert log == ["start", "finally"]

    run(main())


@native
def test_continuation_protocol_directly() -> None:
    """send/throw/close/__await__ of the continuation, driven by hand."""

    async def main() -> None:
        log: list[Any] = []
        t = eager_task(blocker(log))
        c = t.get_coro()
        t.cancel()  # detach the Task: its first step throws into c (not started)
        with pytest.raises(asyncio.CancelledError):
            await t
        # Not started and then thrown into: finished, like a coroutine.
        with pytest.raises(StopIteration):
            c.send(None)

        t2 = eager_task(blocker(log))
        c2 = t2.get_coro()
        assert c2.__await__() is c2
        t2.cancel()
        with pytest.raises(asyncio.CancelledError):
            await t2

    run(main())


@native
def test_step_handle_is_a_genuine_handle() -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        t = eager_task(blocker([]))
        h = loop._ready[-1]  # type: ignore[attr-defined]
        assert type(h) is asyncio.Handle
        assert h._callback.__self__ is t
        assert h._args == () and h._loop is loop and h._cancelled is False
        assert h._repr is None and h._source_traceback is None
        assert isinstance(h._context, contextvars.Context)
        assert asynkit.task_is_runnable(t) and not asynkit.task_is_blocked(t)
        assert "Handle" in repr(h)
        await t

    run(main())


@native
@pytest.mark.skipif(not _native or not _native._handles_native(), reason="no native handles")
def test_native_call_soon_matches_stock() -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        ctx = contextvars.copy_context()
        log: list[Any] = []
        h = _native._call_soon(loop, lambda: log.append(1), ctx)
        assert type(h) is asyncio.Handle and loop._ready[-1] is h  # type: ignore[attr-defined]
        ref = loop.call_soon(print, context=ctx)
        for name in ("_args", "_cancelled", "_loop", "_source_traceback", "_repr", "_context"):
            assert getattr(h, name) == getattr(ref, name), name
        ref.cancel()
        await asyncio.sleep(0)
        assert log == [1]
        h2 = _native._call_soon(loop, lambda: log.append(2), ctx)
        h2.cancel()
        await asyncio.sleep(0)
        assert log == [1]

    run(main())


@native
def test_call_soon_debug_mode_is_the_loops() -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        t = eager_task(blocker([]))
        h = loop._ready[-1]  # type: ignore[attr-defined]
        assert h._source_traceback  # recorded by the stock call_soon in debug mode
        await t

    run(main(), debug=True)


@native
def test_call_soon_instance_override_is_honoured() -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        with mock.patch.object(loop, "call_soon", wraps=loop.call_soon) as cs:
            t = eager_task(blocker([]))
            assert cs.call_count == 1
            assert cs.call_args.args[0].__self__ is t
        assert await t == "done"

    run(main())


@native
def test_call_soon_subclass_override_is_honoured() -> None:
    calls: list[Any] = []

    class Loop(asyncio.SelectorEventLoop):
        def call_soon(self, callback: Any, *args: Any, context: Any = None) -> Any:
            calls.append(callback)
            return super().call_soon(callback, *args, context=context)

    async def main() -> None:
        t = eager_task(blocker([]))
        assert calls and calls[-1].__self__ is t
        assert await t == "done"

    run(main(), loop=Loop())


@native
def test_scheduling_loop_and_context_kwarg() -> None:
    """On the scheduling loop, and with ``context=`` forwarded to the Task."""
    var: contextvars.ContextVar[int] = contextvars.ContextVar("var", default=0)

    async def setter() -> int:
        var.set(1)
        await asyncio.sleep(0)
        return var.get()

    async def main() -> None:
        loop = asyncio.get_running_loop()
        loop.set_task_factory(asynkit.eager_task_factory)
        ctx = contextvars.copy_context()
        t = loop.create_task(setter(), context=ctx) if sys.version_info >= (3, 11) else None
        if t is not None:
            assert isinstance(t, asyncio.Task)
            assert loop._ready[-1]._context is ctx  # type: ignore[attr-defined]
            assert await t == 1
            assert ctx[var] == 1
        t2 = loop.create_task(setter(), name="named")
        assert t2.get_name() == "named"
        assert await t2 == 1
        assert var.get() == 0

    run(main(), loop=asynkit.DefaultSchedulingEventLoop())


@native
def test_objects_flat_over_many_blocked_eager_tasks() -> None:
    async def main() -> None:
        async def one() -> None:
            await asyncio.sleep(0)

        for _ in range(300):
            await eager_task(one())
        gc.collect()
        before = len(gc.get_objects())
        for _ in range(3000):
            await eager_task(one())
        gc.collect()
        assert len(gc.get_objects()) - before < 50

    run(main())


@native
def test_blocked_eager_task_registration() -> None:
    """The Task is in all_tasks() (registered without running WeakSet.add's Python code),
    leaves it when it dies, and _all_tasks.add is never left shadowed."""

    async def main() -> None:
        weakset = getattr(asyncio.tasks, "_all_tasks", None)  # (3.12+: split in two)
        t = eager_task(blocker([]))
        assert weakset is None or "add" not in vars(weakset)
        assert t in asyncio.all_tasks()
        assert await t == "done"
        ref = __import__("weakref").ref(t)
        del t
        await asyncio.sleep(0)
        gc.collect()
        assert ref() is None
        assert all(
            not isinstance(x.get_coro(), _native.CoroStartContinuation) for x in asyncio.all_tasks()
        )

    run(main())


async def sleeper(log: list[Any]) -> str:
    log.append("start")
    try:
        await asyncio.sleep(0)
    except asyncio.CancelledError:
        log.append("cancelled")
        raise
    finally:
        log.append("finally")
    log.append("resumed")
    return "slept"


@pytest.mark.parametrize("engine", ["native", "python"])
def test_bare_yield_resumes_two_passes_later(engine: str) -> None:
    """Same order with the native first step and with the reference factory."""
    factory = (
        asynkit.eager_task_factory
        if engine == "native"
        else ac._py_create_eager_task_factory(asyncio.Task)
    )

    async def main() -> list[Any]:
        log: list[Any] = []
        t = factory(asyncio.get_running_loop(), sleeper(log))
        for i in range(3):
            log.append(i)
            await asyncio.sleep(0)
        assert await t == "slept"
        return log

    assert run(main()) == ["start", 0, 1, "finally", "resumed", 2]


@native
def test_first_step_is_the_tasks_step() -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        log: list[Any] = []
        t = eager_task(sleeper(log))
        h = loop._ready[-1]  # type: ignore[attr-defined]
        assert h._callback.__self__ is t
        assert asynkit.task_is_runnable(t) and not asynkit.task_is_blocked(t)
        assert asynkit.loop.default.task_from_handle(h) is t
        assert t in set(asynkit.runnable_tasks())
        asynkit.task_reinsert(t, 0)  # the scheduling functions move it like any step
        assert loop._ready[0] is h  # type: ignore[attr-defined]
        assert await t == "slept"

    run(main())


@native
def test_cancel_before_first_step_with_bare_yield() -> None:
    async def main() -> None:
        log: list[Any] = []
        t = eager_task(sleeper(log))
        t.cancel()
        with pytest.raises(asyncio.CancelledError):
            await t
        assert t.cancelled() and log == ["start"]  # the coroutine never saw it
        del t
        await asyncio.sleep(0)
        gc.collect()
        assert log == ["start", "finally"]

    run(main())


@native
def test_cancel_between_first_and_second_step() -> None:
    """After the first pass the coroutine is the Task's to resume: a cancel reaches it."""

    async def main() -> None:
        log: list[Any] = []
        t = eager_task(sleeper(log))
        await asyncio.sleep(0)  # the first step has run; the Task's next step is queued
        assert not t.done()
        t.cancel()
        with pytest.raises(asyncio.CancelledError):
            await t
        assert log == ["start", "cancelled", "finally"]

    run(main())


@native
def test_first_step_on_debug_and_mocked_loops() -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        with mock.patch.object(loop, "call_soon", wraps=loop.call_soon) as cs:
            t = eager_task(sleeper([]))
            await asyncio.sleep(0)
            # creation, the first step's re-queue, and our own sleep(0)s all go through it
            assert any(getattr(c.args[0], "__self__", None) is t for c in cs.call_args_list)
        assert await t == "slept"

    run(main())
    run(main(), debug=True)
