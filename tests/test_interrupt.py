"""Tests for asynkit.experimental.interrupt (spec: interrupt-anyio.md §1, §2, §4).

Async tests run through anyio's pytest plugin on the asyncio backend, on a stock loop (as
the acceptance suite does) and on ``asynkit.DefaultSchedulingEventLoop``.  Most cases run
with a C task target (``loop.create_task``) and with a Python task target
(``create_pytask``).  anyio's runner fails a test when an ``Exception`` reaches the loop's
exception handler, so stray "never retrieved" reports fail these tests too.
"""

from __future__ import annotations

import asyncio
import contextvars
import gc
import subprocess
import sys
from collections.abc import Coroutine
from typing import Any

import pytest

import asynkit
import asynkit.compat
import asynkit.experimental
from asynkit.experimental import interrupt
from asynkit.experimental.interrupt import (
    InterruptCondition,
    InterruptException,
    PyTask,
    TimeoutInterrupt,
    create_pytask,
    task_interrupt,
    task_throw,
    task_timeout,
)
from asynkit.scheduling import task_is_blocked, task_is_runnable

PY_311 = sys.version_info >= (3, 11)
PY_312 = sys.version_info >= (3, 12)
PY_313 = sys.version_info >= (3, 13)

pytestmark = pytest.mark.anyio


def _loops() -> list[Any]:
    params = [
        pytest.param(("asyncio", {}), id="stock"),
        pytest.param(("asyncio", {"loop_factory": asynkit.DefaultSchedulingEventLoop}), id="sl"),
    ]
    try:
        from asynkit.experimental.priority import (  # type: ignore[attr-defined]
            PrioritySelectorEventLoop,
        )
    except ImportError:  # pragma: no cover - the priority module is optional here
        pass
    else:
        params.append(
            pytest.param(("asyncio", {"loop_factory": PrioritySelectorEventLoop}), id="pri")
        )
    return params


@pytest.fixture(params=_loops())
def anyio_backend(request: pytest.FixtureRequest) -> Any:
    return request.param


@pytest.fixture(params=["c", "py"])
def kind(request: pytest.FixtureRequest) -> str:
    return request.param  # type: ignore[no-any-return]


def spawn(kind: str, coro: Coroutine[Any, Any, Any], name: str | None = None) -> Any:
    if kind == "py":
        return create_pytask(coro, name=name)
    return asyncio.get_running_loop().create_task(coro, name=name)


class Boom(Exception):
    """A plain Exception used as an interrupt (not a CancelledError)."""


class MyInterrupt(InterruptException):
    pass


def logger(log: list[Any], name: str) -> Coroutine[Any, Any, None]:
    async def run() -> None:
        log.append(name)

    return run()


class ReportRecorder:
    """Temporarily replaces the running loop's exception handler and records reports."""

    def __init__(self) -> None:
        self.reports: list[dict[str, Any]] = []

    def __enter__(self) -> ReportRecorder:
        self.loop = asyncio.get_running_loop()
        self.old = self.loop.get_exception_handler()
        self.loop.set_exception_handler(lambda loop, ctx: self.reports.append(ctx))
        return self

    def __exit__(self, *exc: Any) -> None:
        self.loop.set_exception_handler(self.old)


# ---------------------------------------------------------------------------
# Package and module surface (§1, §2.1, §2.3, §2.8, §2.9, §2.11)
# ---------------------------------------------------------------------------


def test_interrupt_all_exact() -> None:
    assert interrupt.__all__ == [
        "InterruptException",
        "InterruptCondition",
        "create_pytask",
        "task_interrupt",
        "task_throw",
        "task_timeout",
        "TimeoutInterrupt",
        "PyTask",
    ]


def test_experimental_package_reexports() -> None:
    assert asynkit.experimental.__all__ is interrupt.__all__
    assert asynkit.experimental.interrupt is interrupt
    for name in interrupt.__all__:
        assert getattr(asynkit.experimental, name) is getattr(interrupt, name)
    assert not hasattr(asynkit.experimental, "InterruptError")
    assert "InterruptError" not in interrupt.__all__
    assert not hasattr(interrupt, "timeout")
    assert not hasattr(interrupt, "caller")


def test_hooks_are_shared_objects() -> None:
    from asynkit.loop.default import PyTask as DefaultPyTask

    assert interrupt.patch_pytask is asynkit.compat.patch_pytask
    assert interrupt.InterruptCondition is asynkit.compat.InterruptCondition
    assert PyTask is DefaultPyTask
    assert PyTask is getattr(asyncio.tasks, "_PyTask", asyncio.tasks.Task)
    assert PyTask.__name__ == "Task"


def test_interrupt_condition_class() -> None:
    if PY_313:
        assert InterruptCondition is asyncio.Condition
    else:
        assert InterruptCondition is not asyncio.Condition
        assert issubclass(InterruptCondition, asyncio.Condition)
        assert InterruptCondition.LockType is asyncio.Lock


def test_import_isolation() -> None:
    code = (
        "import sys, asynkit\n"
        "assert 'asynkit.experimental' not in sys.modules\n"
        "import asynkit.experimental\n"
        "assert 'anyio' not in sys.modules, 'anyio imported'\n"
        "assert 'asynkit.experimental.anyio' not in sys.modules\n"
        "assert 'asynkit.experimental.priority' not in sys.modules\n"
        "print('ok')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"


def test_exception_classes() -> None:
    assert issubclass(InterruptException, asyncio.CancelledError)
    assert InterruptException.__module__ == "asynkit.experimental.interrupt"
    assert TimeoutInterrupt.__mro__ == (
        TimeoutInterrupt,
        InterruptException,
        asyncio.CancelledError,
        BaseException,
        object,
    )
    e = InterruptException("a", 2)
    assert e.args == ("a", 2)
    assert not isinstance(e, Exception)
    assert TimeoutInterrupt().args == ()


# ---------------------------------------------------------------------------
# create_pytask (§2.4)
# ---------------------------------------------------------------------------


async def test_create_pytask_basic() -> None:
    log: list[Any] = []
    loop = asyncio.get_running_loop()

    async def body() -> int:
        log.append(asyncio.current_task())
        return 42

    task = create_pytask(body())
    assert type(task) is PyTask
    assert isinstance(task, asyncio.tasks._PyTask)  # type: ignore[attr-defined]
    assert task.get_loop() is loop
    assert log == []  # lazily started
    assert task in asyncio.all_tasks()
    assert await task == 42
    assert log == [task]  # current_task() inside is the PyTask itself


async def test_create_pytask_name_and_factory_restored() -> None:
    loop = asyncio.get_running_loop()
    calls: list[Any] = []

    def factory(loop: Any, coro: Any, **kw: Any) -> Any:
        calls.append(coro)
        return asyncio.Task(coro, loop=loop, **kw)

    loop.set_task_factory(factory)
    try:
        task = create_pytask(asyncio.sleep(0), name="named")
        assert loop.get_task_factory() is factory
        assert calls == []
        assert task.get_name() == "named"
        assert type(task) is PyTask
        await task
        unnamed = create_pytask(asyncio.sleep(0))
        assert isinstance(unnamed.get_name(), str)
        await unnamed
    finally:
        loop.set_task_factory(None)


async def test_create_pytask_restores_factory_on_error() -> None:
    loop = asyncio.get_running_loop()
    assert loop.get_task_factory() is None
    coro = asyncio.sleep(0)
    with pytest.raises(TypeError):
        create_pytask(coro, bogus_argument=1)
    coro.close()
    assert loop.get_task_factory() is None


@pytest.mark.skipif(not PY_311, reason="create_task(context=) is 3.11+")
async def test_create_pytask_context() -> None:
    var: contextvars.ContextVar[str] = contextvars.ContextVar("var", default="outer")
    ctx = contextvars.copy_context()
    ctx.run(var.set, "inner")

    async def body() -> str:
        return var.get()

    assert await create_pytask(body(), context=ctx) == "inner"


@pytest.mark.skipif(PY_311, reason="3.10 create_task has no context=")
async def test_create_pytask_context_310() -> None:
    coro = asyncio.sleep(0)
    with pytest.raises(TypeError):
        create_pytask(coro, context=contextvars.copy_context())
    coro.close()
    assert asyncio.get_running_loop().get_task_factory() is None


@pytest.mark.skipif(not PY_312, reason="eager task factories are 3.12+")
async def test_create_pytask_bypasses_eager_factory() -> None:
    loop = asyncio.get_running_loop()
    log: list[str] = []
    loop.set_task_factory(asyncio.eager_task_factory)  # type: ignore[attr-defined]
    try:
        task = create_pytask(logger(log, "ran"))
        assert log == []
        assert not task.done()
        assert loop.get_task_factory() is asyncio.eager_task_factory  # type: ignore[attr-defined]
    finally:
        loop.set_task_factory(None)
    await task
    assert log == ["ran"]


def test_create_pytask_needs_running_loop() -> None:
    coro = asyncio.sleep(0)
    with pytest.raises(RuntimeError):
        create_pytask(coro)
    coro.close()


# ---------------------------------------------------------------------------
# task_throw (§2.6)
# ---------------------------------------------------------------------------


async def test_task_throw_type_error(kind: str) -> None:
    ev = asyncio.Event()
    task = spawn(kind, ev.wait())
    await asyncio.sleep(0)
    for bad in (1, ValueError, "x", None):
        with pytest.raises(TypeError, match="deriving from BaseException"):
            task_throw(task, bad)  # type: ignore[arg-type]
    assert task_is_blocked(task)
    ev.set()
    await task
    # the type check comes before the done check
    with pytest.raises(TypeError, match="deriving from BaseException"):
        task_throw(task, 1)  # type: ignore[arg-type]
    with pytest.raises(RuntimeError, match="cannot interrupt task which is done"):
        task_throw(task, Boom())


async def test_task_throw_self() -> None:
    with pytest.raises(RuntimeError, match="cannot interrupt self"):
        task_throw(asyncio.current_task(), Boom())  # type: ignore[arg-type]

    async def body() -> None:
        with pytest.raises(RuntimeError, match="cannot interrupt self"):
            task_throw(asyncio.current_task(), Boom())  # type: ignore[arg-type]
        with pytest.raises(RuntimeError, match="cannot interrupt self"):
            await task_interrupt(asyncio.current_task(), Boom())  # type: ignore[arg-type]

    await create_pytask(body())


async def test_task_throw_blocked_pytask() -> None:
    log: list[Any] = []
    fut = asyncio.get_running_loop().create_future()

    async def target() -> str:
        try:
            await fut
        except Boom as e:
            log.append(e)
            return "handled"
        return "not interrupted"

    task = create_pytask(target())
    await asyncio.sleep(0)
    assert task_is_blocked(task) and task._fut_waiter is fut
    other = asyncio.get_running_loop().create_task(logger(log, "queued-before"))
    exc = Boom()
    task_throw(task, exc)
    assert task._fut_waiter is None
    assert task_is_runnable(task) and not task_is_blocked(task)
    assert log == []  # not run by task_throw
    # the future is untouched and the task no longer listens to it
    assert not fut.done()
    assert not any(getattr(cb, "__self__", None) is task for cb, _ in fut._callbacks or ())
    await asyncio.sleep(0)
    assert log == ["queued-before", exc]  # runs after what was queued, gets the same object
    assert task.done() and task.result() == "handled"
    await other
    assert not fut.done()
    fut.cancel()


async def test_task_throw_blocked_ctask() -> None:
    log: list[Any] = []
    fut = asyncio.get_running_loop().create_future()

    async def target() -> str:
        try:
            await fut
        except Boom as e:
            log.append(e)
            return "handled"
        return "not interrupted"

    task = asyncio.get_running_loop().create_task(target())
    await asyncio.sleep(0)
    other = asyncio.get_running_loop().create_task(logger(log, "queued-before"))
    exc = Boom()
    task_throw(task, exc)
    # the C task's _fut_waiter cannot be cleared: stale until the task runs
    assert task._fut_waiter is fut
    assert task_is_blocked(task) and not task_is_runnable(task)
    assert not any(getattr(cb, "__self__", None) is task for cb, _ in fut._callbacks or ())
    await asyncio.sleep(0)
    assert log == ["queued-before", exc]
    assert task.result() == "handled"
    assert task._fut_waiter is None
    assert not fut.done()
    await other
    fut.cancel()


async def test_task_throw_fresh_ctask_refused_and_requeued() -> None:
    log: list[str] = []
    loop = asyncio.get_running_loop()
    task = loop.create_task(logger(log, "target"))
    loop.create_task(logger(log, "other"))
    with pytest.raises(RuntimeError, match="cannot interrupt a c-task with a plain __step"):
        task_throw(task, Boom())
    assert not task.done()
    await asyncio.sleep(0)
    # the refused task's handle was re-appended at the tail: it now runs after "other"
    assert log == ["other", "target"]


async def test_task_throw_ctask_after_sleep0_refused() -> None:
    log: list[str] = []

    async def target() -> str:
        log.append("a")
        await asyncio.sleep(0)
        log.append("b")
        return "done"

    task = asyncio.get_running_loop().create_task(target())
    await asyncio.sleep(0)
    assert log == ["a"]
    with pytest.raises(RuntimeError, match="plain __step"):
        task_throw(task, Boom())
    with pytest.raises(RuntimeError, match="plain __step"):
        await task_interrupt(task, Boom())
    assert await task == "done"


async def test_task_throw_new_pytask() -> None:
    log: list[str] = []

    async def target() -> None:
        log.append("body ran")

    task = create_pytask(target())
    exc = Boom()
    task_throw(task, exc)
    assert task_is_runnable(task)
    await asyncio.sleep(0)
    assert log == []  # the body never ran
    assert task.done()
    assert task.exception() is exc


async def test_task_throw_last_call_wins(kind: str) -> None:
    log: list[Any] = []
    ev = asyncio.Event()

    async def target() -> None:
        try:
            await ev.wait()
        except Boom as e:
            log.append(e)

    task = spawn(kind, target())
    await asyncio.sleep(0)
    ev.set()  # woken: a wakeup handle is queued (reused by C tasks on both throws)
    first, second = Boom("first"), Boom("second")
    with ReportRecorder() as rec:
        task_throw(task, first)
        task_throw(task, second)
        await asyncio.sleep(0)
        assert log == [second]
        await task
        gc.collect()
        await asyncio.sleep(0)
    assert rec.reports == []  # the discarded carrier was not left unretrieved


async def test_task_throw_last_call_wins_blocked_pytask() -> None:
    log: list[Any] = []
    ev = asyncio.Event()

    async def target() -> None:
        try:
            await ev.wait()
        except Boom as e:
            log.append(e)

    task = create_pytask(target())
    await asyncio.sleep(0)
    first, second = Boom("first"), Boom("second")
    task_throw(task, first)
    task_throw(task, second)
    await task
    assert log == [second]


async def test_task_throw_twice_on_detached_ctask() -> None:
    log: list[Any] = []
    ev = asyncio.Event()

    async def target() -> None:
        try:
            await ev.wait()
        except Boom as e:
            log.append(e)

    task = asyncio.get_running_loop().create_task(target())
    await asyncio.sleep(0)
    first = Boom("first")
    task_throw(task, first)
    with pytest.raises(RuntimeError):
        task_throw(task, Boom("second"))
    await task
    assert log == [first]


async def test_task_throw_cancel_pending_must_cancel(kind: str) -> None:
    log: list[str] = []
    task = spawn(kind, logger(log, "ran"))
    task.cancel()
    assert task._must_cancel
    with pytest.raises(RuntimeError, match="cannot interrupt a cancelled task"):
        task_throw(task, Boom())
    with pytest.raises(RuntimeError, match="cannot interrupt a cancelled task"):
        await task_interrupt(task, Boom())
    with pytest.raises(asyncio.CancelledError):
        await task
    assert log == []


async def test_task_throw_cancel_pending_cancelled_waiter(kind: str) -> None:
    ev = asyncio.Event()
    task = spawn(kind, ev.wait())
    await asyncio.sleep(0)
    assert task_is_blocked(task)
    task.cancel()
    assert task._fut_waiter.cancelled()
    with pytest.raises(RuntimeError, match="cannot interrupt a cancelled task"):
        task_throw(task, Boom())
    with pytest.raises(RuntimeError, match="cannot interrupt a cancelled task"):
        await task_interrupt(task, InterruptException())
    assert not task.done()  # the queue still held it; the caller's yield happened
    with pytest.raises(asyncio.CancelledError):
        await task
    assert task.cancelled()


async def test_task_throw_pytask_then_cancel() -> None:
    ev = asyncio.Event()

    async def target() -> str:
        try:
            await ev.wait()
        except InterruptException:
            return "interrupt kept"
        return "woken"

    # a CancelledError-derived interrupt survives a cancel() made before the task runs
    task = create_pytask(target())
    await asyncio.sleep(0)
    task_throw(task, InterruptException())
    task.cancel()
    assert await task == "interrupt kept"

    # a plain exception is replaced by a CancelledError
    task = create_pytask(ev.wait())
    await asyncio.sleep(0)
    task_throw(task, Boom())
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert task.cancelled()


# ---------------------------------------------------------------------------
# task_interrupt (§2.7)
# ---------------------------------------------------------------------------

WAITS_C = ["event", "sleep", "task", "queue", "woken", "future"]
WAITS_PY = WAITS_C + ["sleep0", "new"]


@pytest.mark.parametrize(
    "kind,wait",
    [("c", w) for w in WAITS_C] + [("py", w) for w in WAITS_PY],
)
async def test_task_interrupt_ordering(kind: str, wait: str) -> None:
    loop = asyncio.get_running_loop()
    log: list[Any] = []
    ev = asyncio.Event()
    q: asyncio.Queue[int] = asyncio.Queue()
    fut = loop.create_future()
    release = asyncio.Event()

    async def awaited() -> str:
        await release.wait()
        return "awaited result"

    other = loop.create_task(awaited())

    async def target() -> str:
        log.append("start")
        try:
            if wait in ("event", "woken"):
                await ev.wait()
            elif wait == "sleep":
                await asyncio.sleep(10)
            elif wait == "task":
                await other
            elif wait == "queue":
                await q.get()
            elif wait == "future":
                await fut
            elif wait in ("sleep0", "new"):
                await asyncio.sleep(0)
                await asyncio.sleep(10)
        except MyInterrupt as e:
            log.append(e)
            return "handled"
        return "not interrupted"

    task = spawn(kind, target())
    if wait != "new":
        await asyncio.sleep(0)
        assert log == ["start"]
    if wait == "woken":
        ev.set()
        assert not task_is_blocked(task)
    loop.create_task(logger(log, "a"))
    loop.create_task(logger(log, "b"))
    exc = MyInterrupt()
    expected_start = [] if wait == "new" else ["start"]
    coro = task_interrupt(task, exc)
    assert log == expected_start  # calling does nothing
    await coro
    log.append("caller")
    if wait == "new":
        # the body never ran; the task finished with the exception (cancelled, as asyncio
        # does for an unhandled CancelledError subclass)
        assert log == ["a", "b", "caller"]
        assert task.cancelled()
    else:
        assert log == expected_start + [exc, "a", "b", "caller"]
        assert task.done() and task.result() == "handled"
    # the awaited task was not touched
    assert not other.done()
    assert task_is_blocked(other)
    release.set()
    assert await other == "awaited result"
    assert not fut.done()
    fut.cancel()


async def test_task_interrupt_new_pytask_plain_exception() -> None:
    log: list[str] = []
    task = create_pytask(logger(log, "body"))
    exc = Boom()
    await task_interrupt(task, exc)
    assert log == []
    assert task.done() and task.exception() is exc


async def test_task_interrupt_unhandled_finishes_task(kind: str) -> None:
    ev = asyncio.Event()
    task = spawn(kind, ev.wait())
    await asyncio.sleep(0)
    exc = Boom()
    await task_interrupt(task, exc)
    assert task.done()
    assert task.exception() is exc


async def test_task_interrupt_is_lazy_and_returns_none(kind: str) -> None:
    ev = asyncio.Event()
    task = spawn(kind, ev.wait())
    await asyncio.sleep(0)
    coro = task_interrupt(task, Boom())
    assert task_is_blocked(task)  # nothing happened yet
    assert await coro is None
    assert isinstance(task.exception(), Boom)


async def test_task_interrupt_errors_no_state_change(kind: str) -> None:
    ev = asyncio.Event()
    task = spawn(kind, ev.wait())
    await asyncio.sleep(0)
    ev.set()
    await task
    with pytest.raises(RuntimeError, match="cannot interrupt task which is done"):
        await task_interrupt(task, Boom())
    with pytest.raises(RuntimeError, match="cannot interrupt self"):
        await task_interrupt(asyncio.current_task(), Boom())  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="deriving from BaseException"):
        await task_interrupt(task, Boom)  # type: ignore[arg-type]


async def test_task_interrupt_queue_woken_getter_passes_item_on(kind: str) -> None:
    q: asyncio.Queue[str] = asyncio.Queue()
    got: list[Any] = []

    async def getter(name: str) -> None:
        try:
            got.append((name, await q.get()))
        except MyInterrupt:
            got.append((name, "interrupted"))

    g1 = spawn(kind, getter("g1"))
    g2 = spawn(kind, getter("g2"))
    await asyncio.sleep(0)
    q.put_nowait("item")  # wakes g1
    await task_interrupt(g1, MyInterrupt())
    assert got == [("g1", "interrupted")]
    await g2
    assert got == [("g1", "interrupted"), ("g2", "item")]
    assert q.empty()


@pytest.mark.parametrize("prim", ["lock", "semaphore", "bounded", "prioritylock"])
async def test_task_interrupt_woken_lock_waiter(kind: str, prim: str) -> None:
    if prim == "prioritylock":
        priority = pytest.importorskip("asynkit.experimental.priority")
        lock: Any = priority.PriorityLock()
    elif prim == "lock":
        lock = asyncio.Lock()
    elif prim == "semaphore":
        lock = asyncio.Semaphore(1)
    else:
        lock = asyncio.BoundedSemaphore(1)
    log: list[Any] = []

    async def waiter(name: str) -> None:
        try:
            async with lock:
                log.append(name)
        except MyInterrupt:
            log.append(name + " interrupted")

    await lock.acquire()
    w1 = spawn(kind, waiter("w1"))
    w2 = spawn(kind, waiter("w2"))
    await asyncio.sleep(0)
    assert task_is_blocked(w1) and task_is_blocked(w2)
    lock.release()  # wakes w1; it has not run yet
    await task_interrupt(w1, MyInterrupt())
    assert log == ["w1 interrupted"]
    await asyncio.wait_for(w2, 1)
    assert log == ["w1 interrupted", "w2"]
    assert not lock.locked()


def _condition_params() -> list[Any]:
    params: list[Any] = [pytest.param(InterruptCondition, id="InterruptCondition")]
    marks = (
        []
        if PY_313
        else [pytest.mark.xfail(reason="stdlib Condition < 3.13 loses the instance", strict=False)]
    )
    params.append(pytest.param(asyncio.Condition, id="Condition", marks=marks))
    try:
        from asynkit.experimental.priority import PriorityCondition  # type: ignore[attr-defined]
    except ImportError:
        pass
    else:  # pragma: no cover - depends on the priority module being present
        params.append(pytest.param(PriorityCondition, id="PriorityCondition"))
    return params


@pytest.mark.parametrize("cond_cls", _condition_params())
@pytest.mark.parametrize("window", ["reacquire", "wait"])
async def test_task_interrupt_condition_waiter(kind: str, cond_cls: Any, window: str) -> None:
    cond = cond_cls()
    log: list[Any] = []

    async def waiter() -> None:
        async with cond:
            try:
                await cond.wait()
                log.append("notified")
            except MyInterrupt as e:
                log.append((e, cond.locked()))
                raise

    task = spawn(kind, waiter())
    await asyncio.sleep(0)
    exc = MyInterrupt()
    async with cond:
        cond.notify()
        if window == "wait":
            # woken from the wait future, interrupted before it runs: it then has to
            # re-acquire the lock, which we hold
            await task_interrupt(task, exc)
            assert log == []
        else:
            await asyncio.sleep(0)  # it runs and blocks re-acquiring the lock
            assert task_is_blocked(task)
    if window == "reacquire":
        # woken by the release, interrupted before it runs
        await task_interrupt(task, exc)
    else:
        await asyncio.sleep(0)
        await asyncio.sleep(0)
    assert log == [(exc, True)]  # same instance, and the interrupted waiter holds the lock
    assert task.done()
    assert not cond.locked()


async def test_interrupted_interruptor_pytask() -> None:
    log: list[Any] = []
    ev = asyncio.Event()
    holder: dict[str, Any] = {}

    class Back(InterruptException):
        pass

    async def target() -> None:
        try:
            await ev.wait()
        except MyInterrupt:
            log.append("target interrupted")
            await task_interrupt(holder["interruptor"], Back())
            log.append("target after interrupting back")

    async def interruptor() -> None:
        try:
            await task_interrupt(holder["target"], MyInterrupt())
        except Back as e:
            log.append(("interruptor got", type(e)))
            return
        log.append("interruptor not interrupted")

    holder["target"] = create_pytask(target())
    await asyncio.sleep(0)
    holder["interruptor"] = create_pytask(interruptor())
    await holder["interruptor"]
    await holder["target"]
    assert log == [
        "target interrupted",
        ("interruptor got", Back),
        "target after interrupting back",
    ]


async def test_task_interrupt_uses_task_switch_hook(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[Any] = []
    real = interrupt.task_switch

    async def spy(task: Any, insert_pos: Any = None) -> Any:
        calls.append((task, insert_pos))
        return await real(task, insert_pos)

    monkeypatch.setattr(interrupt, "task_switch", spy)
    task = create_pytask(asyncio.sleep(1))
    await asyncio.sleep(0)
    await task_interrupt(task, Boom())
    assert calls == [(task, None)]
    assert isinstance(task.exception(), Boom)


# ---------------------------------------------------------------------------
# task_timeout (§2.10)
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("delay", [0, 0.01, -1])
async def test_task_timeout_fires(kind: str, delay: float) -> None:
    seen: list[Any] = []

    async def body() -> None:
        try:
            async with task_timeout(delay) as value:
                assert value is None
                try:
                    await asyncio.sleep(10)
                except BaseException as e:
                    seen.append(e)
                    raise
        except asyncio.TimeoutError as e:
            seen.append(e)
            raise

    task = spawn(kind, body())
    with pytest.raises(asyncio.TimeoutError):
        await task
    raw, converted = seen
    assert type(raw) is TimeoutInterrupt
    assert type(converted) is asyncio.TimeoutError
    assert converted.args == ()
    assert converted.__cause__ is raw


async def test_task_timeout_in_runner_task() -> None:
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    with pytest.raises(asyncio.TimeoutError):
        async with task_timeout(0.02):
            await asyncio.sleep(10)
    assert loop.time() - t0 < 5


async def test_task_timeout_body_without_await() -> None:
    log: list[str] = []
    async with task_timeout(0):
        log.append("body")
    async with task_timeout(-5):
        log.append("body2")
    await asyncio.sleep(0.02)  # the cancelled timers never fire
    assert log == ["body", "body2"]


async def test_task_timeout_not_reached() -> None:
    async with task_timeout(10):
        await asyncio.sleep(0.01)
    async with task_timeout(0.03):
        pass
    await asyncio.sleep(0.06)  # the timer was cancelled on exit


async def test_task_timeout_none_passthrough() -> None:
    async with task_timeout(None) as value:
        await asyncio.sleep(0.01)
    assert value is None

    # needs no running task / loop at all
    async def outside() -> int:
        async with task_timeout(None):
            return 5

    coro = outside()
    with pytest.raises(StopIteration) as info:
        coro.send(None)
    assert info.value.value == 5


def test_task_timeout_single_use() -> None:
    async def main() -> None:
        cm = task_timeout(10)
        async with cm:
            pass
        with pytest.raises((AttributeError, RuntimeError)):  # as asynccontextmanager does
            async with cm:
                pass

    asyncio.run(main())


async def test_task_timeout_other_exceptions_pass(kind: str) -> None:
    async def body() -> None:
        async with task_timeout(10):
            await asyncio.sleep(0)
            raise Boom("x")

    task = spawn(kind, body())
    with pytest.raises(Boom):
        await task


async def test_task_timeout_nested_outer_first(kind: str) -> None:
    seen: list[Any] = []

    async def body() -> None:
        async with task_timeout(0.01):
            try:
                async with task_timeout(10):
                    await asyncio.sleep(10)
            except BaseException as e:
                seen.append(e)
                raise

    task = spawn(kind, body())
    with pytest.raises(asyncio.TimeoutError) as info:
        await task
    assert type(seen[0]) is TimeoutInterrupt  # inner block let the foreign one through
    assert info.value.__cause__ is seen[0]


async def test_task_timeout_nested_inner_first(kind: str) -> None:
    log: list[str] = []

    async def body() -> None:
        async with task_timeout(10):
            try:
                async with task_timeout(0.01):
                    await asyncio.sleep(10)
            except asyncio.TimeoutError:
                log.append("inner timed out")
            await asyncio.sleep(0.02)
            log.append("outer unaffected")

    await spawn(kind, body())
    assert log == ["inner timed out", "outer unaffected"]


async def test_task_timeout_swallowed_redelivered(kind: str) -> None:
    caught: list[Any] = []

    async def body() -> None:
        async with task_timeout(0.01):
            for _ in range(5):
                try:
                    await asyncio.sleep(0.05)
                except TimeoutInterrupt as e:
                    caught.append(e)

    await spawn(kind, body())  # normal exit: nothing raised
    assert len(caught) == 3  # up to three deliveries
    assert caught[0] is caught[1] is caught[2]


async def test_task_timeout_awaiting_task(kind: str) -> None:
    release = asyncio.Event()

    async def awaited() -> int:
        await release.wait()
        return 7

    other = asyncio.get_running_loop().create_task(awaited())

    async def body() -> None:
        async with task_timeout(0.01):
            await other

    with pytest.raises(asyncio.TimeoutError):
        await spawn(kind, body())
    assert not other.done()
    assert task_is_blocked(other)
    release.set()
    assert await other == 7


async def test_task_timeout_ctask_spinning_reports() -> None:
    loop = asyncio.get_running_loop()
    task: Any = None

    async def spin() -> int:
        n = 0
        async with task_timeout(0):
            for n in range(40):  # noqa: B007
                await asyncio.sleep(0)
        return n

    with ReportRecorder() as rec:
        task = loop.create_task(spin())
        assert await task == 39  # the block ran to completion
        for _ in range(5):
            await asyncio.sleep(0)
    assert len(rec.reports) == 1
    report = rec.reports[0]
    # the message embeds repr(task) as it was when the report was made
    assert report["message"].startswith("timeout interruptor failed for task <Task pending")
    assert f"name={task.get_name()!r}" in report["message"]
    assert isinstance(report["exception"], RuntimeError)
    assert "plain __step" in str(report["exception"])
    assert isinstance(report["task"], asyncio.Task)
    assert report["task"] is not task


async def test_task_timeout_pytask_spinning_interrupted() -> None:
    async def spin() -> None:
        async with task_timeout(0):
            while True:
                await asyncio.sleep(0)

    with pytest.raises(asyncio.TimeoutError):
        await create_pytask(spin())


async def test_no_stray_reports(kind: str) -> None:
    """Interrupting woken tasks whose futures hold exceptions reports nothing."""
    with ReportRecorder() as rec:
        futs = [asyncio.get_running_loop().create_future()]

        async def target(fut: asyncio.Future[None]) -> None:
            try:
                await fut
            except MyInterrupt:
                pass

        task = spawn(kind, target(futs[0]))
        await asyncio.sleep(0)
        futs[0].set_exception(Boom())  # woken with an exception it will never read
        await task_interrupt(task, MyInterrupt())
        await task
        futs.clear()
        del task
        gc.collect()
        await asyncio.sleep(0)
    assert rec.reports == []
