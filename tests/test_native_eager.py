"""Native-semantics eager tasks (issue 9): ``asynkit.create_native_eager_task_factory``.

Behaviours of CPython 3.12's eager task factory (its own test-suite scenarios, rewritten)
run with asynkit's factory on every Python, plus current task / timeouts / TaskGroup /
contexts / names / cancellation / BaseException checks. Each test runs for C and Python
Tasks and on the stock loop, asynkit's scheduling loop and the priority loop.
"""

from __future__ import annotations

import asyncio
import asyncio.tasks
import contextvars
import sys
from collections.abc import Callable
from typing import Any

import pytest

import asynkit
import asynkit.coroutine as ac
from asynkit.experimental.priority import PrioritySelectorEventLoop, PriorityTask
from asynkit.loop.eventloop import SchedulingSelectorEventLoop

PY_311 = sys.version_info >= (3, 11)
PY_312 = sys.version_info >= (3, 12)
NATIVE_DRIVER = bool(getattr(asynkit.native_eager, "_native_fast_path", False))

TASK_CLASSES = [pytest.param(asyncio.Task, id="Task")]
if hasattr(asyncio.tasks, "_PyTask") and asyncio.tasks._PyTask is not asyncio.Task:
    TASK_CLASSES.append(pytest.param(asyncio.tasks._PyTask, id="PyTask"))

LOOPS = [
    pytest.param(asyncio.SelectorEventLoop, id="stock"),
    pytest.param(SchedulingSelectorEventLoop, id="scheduling"),
    pytest.param(PrioritySelectorEventLoop, id="priority"),
]


@pytest.fixture(params=TASK_CLASSES)
def task_cls(request: pytest.FixtureRequest) -> Any:
    return request.param


@pytest.fixture(params=LOOPS)
def loop(request: pytest.FixtureRequest) -> Any:
    lp = request.param()
    yield lp
    lp.close()


@pytest.fixture
def run(loop: Any, task_cls: Any) -> Callable[[Any], Any]:
    """Run a coroutine on ``loop`` with the native eager factory for ``task_cls``."""
    factory = asynkit.create_native_eager_task_factory(task_cls)
    loop.set_task_factory(factory)

    def runner(coro: Any) -> Any:
        async def main() -> Any:
            assert asyncio.get_running_loop().is_running()
            return await coro

        return loop.run_until_complete(main())

    return runner


# ---------------------------------------------------------------------------
# API surface
# ---------------------------------------------------------------------------


def test_exports() -> None:
    assert asynkit.create_native_eager_task_factory is not None
    assert "create_native_eager_task_factory" in asynkit.__all__
    assert "native_eager_task_factory" in asynkit.__all__
    # The spec fixes asynkit.coroutine.__all__; the new names are not in it.
    assert "native_eager_task_factory" not in ac.__all__
    assert asynkit.eager_task_factory is ac.eager_task_factory


@pytest.mark.skipif(not PY_312, reason="3.12+ aliases")
def test_aliases_native_on_312() -> None:  # pragma: no cover - 3.12+
    assert asynkit.create_native_eager_task_factory is asyncio.create_eager_task_factory
    assert asynkit.native_eager_task_factory is asyncio.eager_task_factory


def test_factory_set_and_type(run: Any, loop: Any, task_cls: Any) -> None:
    async def noop() -> None:
        pass

    async def main() -> None:
        t = loop.create_task(noop())
        assert isinstance(t, task_cls)
        await t

    run(main())


def test_default_factory_on_stock_loop() -> None:
    async def child() -> Any:
        return asyncio.current_task()

    async def main() -> None:
        asyncio.get_running_loop().set_task_factory(asynkit.native_eager_task_factory)
        t = asyncio.create_task(child())
        assert t.done()
        assert t.result() is t
        assert isinstance(t, asyncio.Task)

    asyncio.run(main())


# ---------------------------------------------------------------------------
# CPython 3.12 eager-task-factory behaviours
# ---------------------------------------------------------------------------


def test_future_set_during_eager_step(run: Any, loop: Any) -> None:
    async def set_it(fut: Any, val: Any) -> None:
        fut.set_result(val)

    async def main() -> Any:
        fut = loop.create_future()
        t = loop.create_task(set_it(fut, "msg"))
        assert t.done()
        return await fut

    assert run(main()) == "msg"


def test_eager_completion(run: Any, loop: Any) -> None:
    async def coro() -> str:
        return "hello"

    async def main() -> Any:
        t = loop.create_task(coro())
        assert t.done()
        assert t.result() == "hello"
        return await t

    assert run(main()) == "hello"


def test_completed_task_never_scheduled(run: Any, loop: Any) -> None:
    async def coro() -> int:
        return 1

    async def main() -> None:
        from asynkit.loop.extensions import ready_len

        before = ready_len(loop)
        t = loop.create_task(coro())
        assert t.done()
        assert ready_len(loop) == before

    run(main())


def test_block_after_eager_step(run: Any, loop: Any) -> None:
    async def coro() -> str:
        await asyncio.sleep(0.01)
        return "after blocking"

    async def main() -> Any:
        t = loop.create_task(coro())
        assert not t.done()
        res = await t
        assert t.done()
        return res

    assert run(main()) == "after blocking"


def test_cancel_after_eager_completion(run: Any, loop: Any) -> None:
    async def coro() -> str:
        return "done"

    async def main() -> Any:
        t = loop.create_task(coro())
        assert not t.cancel()
        res = await t
        assert not t.cancelled()
        return res

    assert run(main()) == "done"


def test_cancel_after_eager_step_blocks(run: Any, loop: Any) -> None:
    async def coro() -> str:
        await asyncio.sleep(0.1)
        return "not reached"

    async def main() -> None:
        t = loop.create_task(coro())
        t.cancel("cancel message")
        if PY_311:
            assert t.cancelling() > 0
        await t

    with pytest.raises(asyncio.CancelledError) as info:
        run(main())
    if PY_311:  # 3.10 loses the message when the error crosses into the awaiter
        assert info.value.args[0] == "cancel message"


def test_self_cancel_in_first_step(run: Any, loop: Any) -> None:
    """A task cancelling itself during its first step is cancelled at its next await."""
    steps: list[str] = []

    async def coro() -> None:
        asyncio.current_task().cancel()  # type: ignore[union-attr]
        steps.append("first")
        await asyncio.sleep(0)
        steps.append("not reached")

    async def main() -> None:
        t = loop.create_task(coro())
        assert not t.done()
        with pytest.raises(asyncio.CancelledError):
            await t
        assert t.cancelled()

    run(main())
    assert steps == ["first"]


def test_cancelled_error_in_first_step(run: Any, loop: Any) -> None:
    async def coro() -> None:
        raise asyncio.CancelledError()

    async def main() -> None:
        t = loop.create_task(coro())
        assert t.done() and t.cancelled()

    run(main())


def test_current_task(run: Any, loop: Any) -> None:
    seen: list[Any] = []

    async def coro() -> None:
        seen.append(asyncio.current_task())
        await asyncio.sleep(0.01)
        seen.append(asyncio.current_task())

    async def main() -> None:
        me = asyncio.current_task()
        t = loop.create_task(coro())
        assert seen == [t]
        assert asyncio.current_task() is me
        await t
        assert seen == [t, t]
        assert asyncio.current_task() is me

    run(main())


def test_current_task_from_plain_callback(loop: Any, task_cls: Any) -> None:
    """create_task from a loop callback (no current task) still steps eagerly."""
    loop.set_task_factory(asynkit.create_native_eager_task_factory(task_cls))
    seen: list[Any] = []

    async def coro() -> None:
        seen.append(asyncio.current_task())

    def cb() -> None:
        assert asyncio.current_task() is None
        t = loop.create_task(coro())
        seen.append(t)
        assert asyncio.current_task() is None

    async def main() -> None:
        loop.call_soon(cb)
        await asyncio.sleep(0.01)

    loop.run_until_complete(main())
    assert len(seen) == 2 and seen[0] is seen[1]


def test_nested_eager_tasks(run: Any, loop: Any) -> None:
    order: list[str] = []

    async def inner() -> Any:
        order.append("inner")
        return asyncio.current_task()

    async def outer() -> Any:
        order.append("outer-start")
        me = asyncio.current_task()
        t = loop.create_task(inner())
        assert t.done() and t.result() is t
        assert asyncio.current_task() is me
        order.append("outer-end")
        return me

    async def main() -> None:
        t = loop.create_task(outer())
        assert t.done() and t.result() is t
        assert order == ["outer-start", "inner", "outer-end"]

    run(main())


def test_all_tasks_with_eager_completion(run: Any, loop: Any) -> None:
    captured: set[Any] = set()

    async def coro() -> None:
        captured.update(asyncio.all_tasks())

    async def main() -> None:
        t = loop.create_task(coro())
        assert t in captured
        assert t not in asyncio.all_tasks()

    run(main())


def test_all_tasks_with_blocking(run: Any, loop: Any) -> None:
    captured: set[Any] = set()

    async def coro(f1: Any, f2: Any) -> None:
        captured.update(asyncio.all_tasks())
        await f1
        f2.set_result(None)

    async def main() -> None:
        f1, f2 = loop.create_future(), loop.create_future()
        t = loop.create_task(coro(f1, f2))
        assert t in captured
        assert t in asyncio.all_tasks()
        f1.set_result(None)
        await f2
        assert t not in asyncio.all_tasks()

    run(main())


def test_context_vars(run: Any, loop: Any) -> None:
    cv: contextvars.ContextVar[int] = contextvars.ContextVar("cv", default=0)
    steps: list[str] = []

    async def coro() -> None:
        assert cv.get() == 1
        cv.set(2)
        steps.append("first")
        await asyncio.sleep(0.01)
        assert cv.get() == 2
        cv.set(3)
        steps.append("second")

    async def main() -> None:
        cv.set(1)
        t = loop.create_task(coro())
        assert steps == ["first"]
        assert cv.get() == 1
        await t
        assert steps == ["first", "second"]
        assert cv.get() == 1

    run(main())


@pytest.mark.skipif(not PY_311, reason="create_task(context=) is 3.11+")
def test_explicit_context(run: Any, loop: Any) -> None:
    cv: contextvars.ContextVar[str] = contextvars.ContextVar("cv", default="none")
    ctx = contextvars.copy_context()
    ctx.run(cv.set, "given")

    async def coro() -> str:
        v = cv.get()
        cv.set("changed")
        return v

    async def main() -> None:
        t = loop.create_task(coro(), context=ctx)
        assert t.done() and t.result() == "given"
        assert ctx[cv] == "changed"
        assert cv.get() == "none"

    run(main())


def test_names(run: Any, loop: Any) -> None:
    async def coro() -> str:
        await asyncio.sleep(0)
        return asyncio.current_task().get_name()  # type: ignore[union-attr]

    async def main() -> None:
        t = loop.create_task(coro(), name="named")
        assert t.get_name() == "named"
        assert await t == "named"
        t2 = asyncio.create_task(coro(), name="other")
        assert t2.get_name() == "other"
        assert await t2 == "other"

    run(main())


def test_factory_passes_name_and_context(loop: Any) -> None:
    calls: list[dict[str, Any]] = []

    def ctor(coro: Any, **kwargs: Any) -> Any:
        calls.append(kwargs)
        return asyncio.Task(coro, **kwargs)

    factory = asynkit.create_native_eager_task_factory(ctor)

    async def coro() -> int:
        return 3

    async def main() -> None:
        t = factory(loop, coro(), name="n")
        assert t.done() and t.result() == 3
        assert t.get_name() == "n"

    loop.run_until_complete(main())
    assert calls[0]["loop"] is loop and calls[0]["name"] == "n"


def test_exception_in_first_step(run: Any, loop: Any) -> None:
    async def coro() -> None:
        raise ValueError("boom")

    async def main() -> None:
        t = loop.create_task(coro())
        assert t.done()
        with pytest.raises(ValueError, match="boom"):
            await t

    run(main())


@pytest.mark.parametrize("exc_type", [KeyboardInterrupt, SystemExit])
def test_base_exception_in_first_step(loop: Any, task_cls: Any, exc_type: Any) -> None:
    """As in 3.12: set on the task and raised out of create_task; current task restored."""
    loop.set_task_factory(asynkit.create_native_eager_task_factory(task_cls))
    box: list[Any] = []

    async def coro() -> None:
        raise exc_type()

    async def main() -> None:
        me = asyncio.current_task()
        try:
            loop.create_task(coro())
        except exc_type:
            box.append(asyncio.current_task() is me)
            await asyncio.sleep(0)  # the loop and the parent still work
            box.append(asyncio.current_task() is me)
        else:  # pragma: no cover
            box.append("no exception")

    loop.run_until_complete(main())
    assert box == [True, True]


def test_base_exception_task_state(loop: Any, task_cls: Any) -> None:
    created: list[Any] = []

    class Recorded(task_cls):  # type: ignore[misc,valid-type]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            created.append(self)  # before the (3.12: in-constructor) first step
            super().__init__(*args, **kwargs)

    loop.set_task_factory(asynkit.create_native_eager_task_factory(Recorded))

    async def coro() -> None:
        raise KeyboardInterrupt()

    async def main() -> None:
        with pytest.raises(KeyboardInterrupt):
            loop.create_task(coro())

    loop.run_until_complete(main())
    t = created[-1]  # created[0] is main's own task
    assert t.done()
    assert isinstance(t.exception(), KeyboardInterrupt)


def test_not_eager_when_loop_not_running(loop: Any, task_cls: Any) -> None:
    loop.set_task_factory(asynkit.create_native_eager_task_factory(task_cls))
    steps: list[str] = []

    async def coro() -> int:
        steps.append("ran")
        return 7

    t = loop.create_task(coro())
    assert steps == [] and not t.done()
    assert loop.run_until_complete(t) == 7


def test_sleep0_no_extra_pass(run: Any, loop: Any) -> None:
    """A task blocking on sleep(0) resumes in the next pass, like a stock Task."""
    order: list[str] = []

    async def eager_one() -> None:
        order.append("e1")
        await asyncio.sleep(0)
        order.append("e2")

    async def plain() -> None:
        order.append("p1")
        await asyncio.sleep(0)
        order.append("p2")

    async def main() -> None:
        loop.call_soon(order.append, "cb")
        loop.create_task(eager_one())
        await asyncio.sleep(0)
        order.append("main")
        await asyncio.sleep(0)

    run(main())
    # e1 runs eagerly; its continuation is queued after the callback, before main.
    assert order == ["e1", "cb", "e2", "main"]
    del plain


# ---------------------------------------------------------------------------
# Task counting (CPython's task-count scenarios): eager tasks finishing in their
# first step are never scheduled.
# ---------------------------------------------------------------------------


async def _chain(depth: int) -> int:
    if depth == 0:
        return 0
    return 1 + await _chain(depth - 1)


async def _recursive_gather(width: int, depth: int) -> None:
    if depth:
        await asyncio.gather(*[_recursive_gather(width, depth - 1) for _ in range(width)])


async def _recursive_taskgroups(width: int, depth: int) -> None:
    if depth:
        async with asyncio.TaskGroup() as tg:  # type: ignore[attr-defined]
            for _ in range(width):
                tg.create_task(_recursive_taskgroups(width, depth - 1))


def _counting(loop: Any, task_cls: Any, eager: bool) -> list[int]:
    """Install a factory counting the tasks that were not done when created."""
    count = [0, 0]  # [scheduled, created]
    inner = (
        asynkit.create_native_eager_task_factory(task_cls)
        if eager
        else (lambda lp, coro, **kw: task_cls(coro, loop=lp, **kw))
    )

    def factory(lp: Any, coro: Any, **kw: Any) -> Any:
        t = inner(lp, coro, **kw)
        count[1] += 1
        if not t.done():
            count[0] += 1
        return t

    loop.set_task_factory(factory)
    return count


CASES = [pytest.param(_recursive_gather, id="gather")]
if PY_311:
    CASES.append(pytest.param(_recursive_taskgroups, id="taskgroups"))


@pytest.mark.parametrize("eager", [False, True])
@pytest.mark.parametrize("fn", CASES)
def test_task_counting(loop: Any, task_cls: Any, eager: bool, fn: Any) -> None:
    count = _counting(loop, task_cls, eager)
    loop.run_until_complete(fn(5, 4))
    # The top task is created while the loop is not running: never eager. With eager
    # tasks the 625 leaves finish in their first step; the 156 inner nodes block on
    # gather() (and on TaskGroup exit before 3.12, whose TaskGroup waits for the
    # done-callbacks of already finished children).
    assert count[1] == 781
    # (3.12's gather() and TaskGroup finish at once when all children are done.)
    if not eager:
        assert count[0] == 781
    elif PY_312:  # pragma: no cover - 3.12+
        assert count[0] == 1
    else:
        assert count[0] == 156


def test_task_counting_chain(loop: Any, task_cls: Any) -> None:
    count = _counting(loop, task_cls, True)
    assert loop.run_until_complete(_chain(100)) == 100
    assert count == [1, 1]


# ---------------------------------------------------------------------------
# The right owner: timeout(), wait_for, TaskGroup
# ---------------------------------------------------------------------------


@pytest.mark.skipif(not PY_311, reason="asyncio.timeout is 3.11+")
def test_timeout_cancels_the_eager_task(run: Any, loop: Any) -> None:
    async def child() -> str:
        try:
            async with asyncio.timeout(0.01):  # type: ignore[attr-defined]
                await asyncio.sleep(10)
        except TimeoutError:
            return "timed out"
        return "not reached"

    async def main() -> None:
        me = asyncio.current_task()
        t = loop.create_task(child())
        assert not t.done()
        assert await t == "timed out"
        assert me.cancelling() == 0  # type: ignore[union-attr]
        await asyncio.sleep(0.02)  # the parent is not cancelled later either

    run(main())


@pytest.mark.skipif(not PY_311, reason="asyncio.timeout is 3.11+")
def test_timeout_expired_in_first_step(run: Any, loop: Any) -> None:
    async def child() -> str:
        try:
            async with asyncio.timeout(-1):  # type: ignore[attr-defined]
                await asyncio.sleep(10)
        except TimeoutError:
            return "timed out"
        return "not reached"

    async def main() -> None:
        t = loop.create_task(child())
        assert await t == "timed out"
        await asyncio.sleep(0)

    run(main())


def test_wait_for_in_eager_task(run: Any, loop: Any) -> None:
    async def child() -> str:
        try:
            await asyncio.wait_for(asyncio.sleep(10), 0.01)
        except asyncio.TimeoutError:
            return "timed out"
        return "not reached"

    async def main() -> None:
        t = loop.create_task(child())
        assert await t == "timed out"

    run(main())


@pytest.mark.skipif(not PY_311, reason="TaskGroup is 3.11+")
def test_taskgroup_owner_is_eager_task(run: Any, loop: Any) -> None:
    async def failing() -> None:
        await asyncio.sleep(0)
        raise ValueError("child failed")

    async def sleeper() -> None:
        await asyncio.sleep(10)

    async def child() -> str:
        try:
            async with asyncio.TaskGroup() as tg:  # type: ignore[attr-defined]
                assert tg._parent_task is asyncio.current_task()
                tg.create_task(sleeper())
                tg.create_task(failing())
        except Exception as eg:  # an ExceptionGroup (no except* on 3.10)
            assert [type(e) for e in eg.exceptions] == [ValueError]  # type: ignore[attr-defined]
            return "group failed"
        return "not reached"

    async def main() -> None:
        me = asyncio.current_task()
        t = loop.create_task(child())
        assert not t.done()
        assert await t == "group failed"
        assert me.cancelling() == 0  # type: ignore[union-attr]
        await asyncio.sleep(0)

    run(main())


@pytest.mark.skipif(not PY_311, reason="TaskGroup is 3.11+")
def test_taskgroup_children_eager(run: Any, loop: Any) -> None:
    async def leaf(i: int) -> int:
        return i * 2

    async def main() -> list[int]:
        async with asyncio.TaskGroup() as tg:  # type: ignore[attr-defined]
            ts = [tg.create_task(leaf(i)) for i in range(3)]
            assert all(t.done() for t in ts)
        return [t.result() for t in ts]

    assert run(main()) == [0, 2, 4]


def test_anyio_task_group(loop: Any) -> None:
    anyio = pytest.importorskip("anyio")
    loop.set_task_factory(asynkit.native_eager_task_factory)
    results: list[Any] = []

    async def child() -> None:
        with anyio.move_on_after(0.01) as scope:
            await anyio.sleep(10)
        results.append(scope.cancelled_caught)

    async def main() -> None:
        t = loop.create_task(child())
        async with anyio.create_task_group() as tg:
            tg.start_soon(child)
        await t

    loop.run_until_complete(main())
    assert results == [True, True]


# ---------------------------------------------------------------------------
# Custom constructors, PriorityTask, other loops
# ---------------------------------------------------------------------------


def test_priority_task(loop: Any) -> None:
    loop.set_task_factory(asynkit.create_native_eager_task_factory(PriorityTask))

    async def coro() -> Any:
        return asyncio.current_task()

    async def blocking() -> Any:
        await asyncio.sleep(0)
        return asyncio.current_task()

    async def main() -> None:
        t = loop.create_task(coro())
        assert isinstance(t, PriorityTask)
        assert t.done() and t.result() is t
        t2 = loop.create_task(blocking())
        assert not t2.done()
        assert await t2 is t2

    main_coro = main()
    try:
        loop.run_until_complete(main_coro)
    finally:
        main_coro.close()


@pytest.mark.skipif(PY_312, reason="3.12+ uses asyncio's own eager start")
def test_unknown_ready_queue(task_cls: Any) -> None:
    """A loop whose ready queue cannot be found: the Rust driver (C Task) does not need
    it and starts the task eagerly; the Python driver leaves a plain scheduled Task."""

    class OddLoop(asyncio.SelectorEventLoop):
        def call_soon(self, callback: Any, *args: Any, context: Any = None) -> Any:
            # Queue through a wrapper: the handle no longer points at the task.
            return super().call_soon(lambda: callback(*args), context=context)

    loop = OddLoop()
    loop.set_task_factory(asynkit.create_native_eager_task_factory(task_cls))
    steps: list[str] = []
    eager = NATIVE_DRIVER and task_cls is asyncio.tasks._CTask

    async def coro() -> int:
        steps.append("ran")
        return 1

    async def main() -> None:
        t = loop.create_task(coro())
        if eager:
            assert t.done() and steps == ["ran"]
        else:
            assert not t.done() and steps == []
        assert await t == 1

    try:
        loop.run_until_complete(main())
    finally:
        loop.close()


def test_uvloop_runs(task_cls: Any) -> None:
    uvloop = pytest.importorskip("uvloop")
    loop = uvloop.new_event_loop()
    loop.set_task_factory(asynkit.create_native_eager_task_factory(task_cls))

    async def coro() -> Any:
        await asyncio.sleep(0)
        return asyncio.current_task()

    async def main() -> None:
        t = loop.create_task(coro())
        assert await t is t

    try:
        loop.run_until_complete(main())
    finally:
        loop.close()


def test_compat_eager_factory_unchanged() -> None:
    """The 0.17.6-compatible factory still runs the first step before the Task exists."""

    async def coro() -> Any:
        return asyncio.current_task()

    async def main() -> None:
        me = asyncio.current_task()
        asyncio.get_running_loop().set_task_factory(asynkit.eager_task_factory)
        t = asyncio.create_task(coro())
        assert t.done()
        assert t.result() is not t
        assert asyncio.current_task() is me

    asyncio.run(main())


# ---------------------------------------------------------------------------
# compat.enable_eager_tasks(native_semantics=True)
# ---------------------------------------------------------------------------


def test_enable_eager_tasks_native_semantics() -> None:
    import asynkit.compat as compat

    was_enabled = compat._eager_tasks_enabled
    if was_enabled:  # pragma: no cover - another test left it on
        compat.disable_eager_tasks()
    orig_create_task = asyncio.create_task
    had_factory = hasattr(asyncio, "eager_task_factory")
    compat.enable_eager_tasks(native_semantics=True)
    try:
        if not PY_312:
            assert asyncio.eager_task_factory is asynkit.native_eager_task_factory  # type: ignore[attr-defined]
            assert (
                asyncio.create_eager_task_factory  # type: ignore[attr-defined]
                is asynkit.create_native_eager_task_factory
            )

        async def child() -> Any:
            return asyncio.current_task()

        async def main() -> None:
            loop = asyncio.get_running_loop()
            t = asyncio.create_task(child(), eager_start=True)  # type: ignore[call-arg]
            assert t.done() and t.result() is t
            t2 = asyncio.create_task(child(), name="lazy")
            assert not t2.done() and await t2 is t2
            assert loop.get_task_factory() is None
            loop.set_task_factory(asyncio.eager_task_factory)  # type: ignore[attr-defined]
            t3 = asyncio.create_task(child(), name="n3")
            assert t3.done() and t3.result() is t3 and t3.get_name() == "n3"

        asyncio.run(main())
    finally:
        compat.disable_eager_tasks()
    assert asyncio.create_task is orig_create_task
    assert hasattr(asyncio, "eager_task_factory") == had_factory
    if was_enabled:  # pragma: no cover
        compat.enable_eager_tasks()
