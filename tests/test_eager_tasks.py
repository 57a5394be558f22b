"""Eager task factory, ``create_task(eager_start=)`` and the ghost task in depth.

eager-tasks.md §1–§7, §10, §11 (and coroutine.md §9, §11). Complements
``tests/test_eager.py``, which covers the basics (outcomes, simple names, simple context
cases, basic ordering, basic current-task checks); this file covers what it does not:
exact constructor kwargs per Python version, set_name quirks, the full Task-like
surface of both outcomes, the ghost task's lifecycle, leaks, BaseException handling,
cancellation races, contextvar isolation, nested depth-first starts, async generator
shutdown paths, asyncio combinators, other loops / threads, custom constructors and
factories, and ``enable_eager_tasks()`` end to end.

Every test runs once per CoroStart engine (``patch_corostart`` swaps
``asynkit.coroutine.CoroStart``) and once per event loop kind (asynkit's scheduling loop
and the stock asyncio loop). ``tests/test_eager_tasks_uvloop.py`` reruns a selection on
uvloop.
"""

from __future__ import annotations

import asyncio
import contextvars
import gc
import io
import sys
import threading
import types
import weakref
from collections.abc import Callable
from typing import Any

import pytest

import asynkit
import asynkit.compat as compat
import asynkit.coroutine as ac

V = sys.version_info[:3]
PY_311 = V >= (3, 11)
PY_312 = V >= (3, 12)
PY_314 = V >= (3, 14)
# Loops that pass ``name`` into the factory instead of calling set_name afterwards.
NAME_IN_KWARGS = PY_314 or V == (3, 13, 3)
# 3.13.0-3.13.2 call ``set_name(name)`` on factory results even when name is None.
SET_NAME_NONE = (3, 13, 0) <= V < (3, 13, 3)

VAR: contextvars.ContextVar[Any] = contextvars.ContextVar("eager_tasks_var", default="unset")
VAR2: contextvars.ContextVar[Any] = contextvars.ContextVar("eager_tasks_var2", default="unset")

pytestmark = pytest.mark.usefixtures("patch_corostart")


def _asynkit_loop() -> asyncio.AbstractEventLoop:
    return asynkit.DefaultSchedulingEventLoop()


@pytest.fixture(params=[_asynkit_loop, asyncio.new_event_loop], ids=["asynkit-loop", "stock-loop"])
def loop_factory(request: pytest.FixtureRequest) -> Callable[[], asyncio.AbstractEventLoop]:
    """Overrides conftest's ``loop_factory``: run everything on both loop kinds."""
    return request.param  # type: ignore[no-any-return]


# ---------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------


async def returns(value: Any) -> Any:
    return value


async def raises(exc: BaseException) -> Any:
    raise exc


async def sleeper(value: Any, delay: float = 0) -> Any:
    await asyncio.sleep(delay)
    return value


def expected_ctor_kwargs(given: dict[str, Any]) -> dict[str, Any]:
    """§4.2: what a custom constructor receives (besides ``loop``) per Python version."""
    if PY_314:
        return {k: v for k, v in given.items() if k in ("name", "context")}
    if "context" in given:
        return {"context": given["context"]}
    return {}


def normalise(kwargs: dict[str, Any]) -> dict[str, Any]:
    if V == (3, 13, 3):  # pragma: no cover - transient CPython release
        return {k: v for k, v in kwargs.items() if v is not None}
    return kwargs


class Recorder:
    """A custom task constructor recording every call (§4.1, §4.2, §6)."""

    def __init__(self, cls: Any = asyncio.Task) -> None:
        self.cls = cls
        self.calls: list[dict[str, Any]] = []

    def __call__(self, coro: Any, *, loop: Any = None, **kwargs: Any) -> Any:
        try:
            current = asyncio.current_task()
        except RuntimeError:
            current = "no-loop"
        self.calls.append({"coro": coro, "loop": loop, "kwargs": dict(kwargs), "current": current})
        task = self.cls(coro, loop=loop, **kwargs)
        self.calls[-1]["task"] = task
        return task


def in_callback(loop: asyncio.AbstractEventLoop, fn: Callable[[], Any]) -> asyncio.Future[Any]:
    """Run ``fn`` from a plain loop callback (no current task); a future of its result."""
    fut = loop.create_future()

    def cb() -> None:
        assert asyncio.current_task() is None
        try:
            result = fn()
        except BaseException as e:  # noqa: BLE001 - handed back to the test
            fut.set_exception(e)
        else:
            fut.set_result(result)

    loop.call_soon(cb)
    return fut


def cleanup_loop(loop: asyncio.AbstractEventLoop) -> None:
    try:
        pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
        for t in pending:
            t.cancel()
        if pending:
            loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        loop.run_until_complete(loop.shutdown_asyncgens())
    finally:
        loop.set_task_factory(None)
        loop.close()


# ---------------------------------------------------------------------------
# §4.2 exact kwargs seen by custom constructors
# ---------------------------------------------------------------------------


def test_ctor_kwargs_exact_per_version(run: Any) -> None:
    rec = Recorder()
    factory = ac.create_eager_task_factory(rec)

    async def main() -> None:
        loop = asyncio.get_running_loop()
        parent = asyncio.current_task()
        ctx = contextvars.copy_context()
        cases: list[tuple[str, dict[str, Any]]] = [
            ("asyncio", {}),
            ("asyncio", {"name": "N"}),
            ("loop", {}),
            ("loop", {"name": "N"}),
        ]
        if PY_311:
            cases += [
                ("asyncio", {"context": ctx}),
                ("asyncio", {"name": "N", "context": ctx}),
                ("loop", {"context": ctx}),
                ("loop", {"name": "N", "context": ctx}),
            ]
        for how, given in cases:
            rec.calls.clear()
            maker = asyncio.create_task if how == "asyncio" else loop.create_task
            t = maker(sleeper(1), **given)
            assert len(rec.calls) == 1, (how, given)
            call = rec.calls[0]
            assert call["loop"] is loop
            assert normalise(call["kwargs"]) == expected_ctor_kwargs(given), (how, given)
            assert "eager_start" not in call["kwargs"]
            assert call["current"] is parent  # parent mode: the parent is current
            assert t is call["task"]
            assert t.get_name() == given.get("name", t.get_name())
            assert await t == 1
            # synchronous completion: the constructor is never called
            rec.calls.clear()
            f = maker(returns(2), **given)
            assert isinstance(f, ac.TaskLikeFuture)
            assert rec.calls == []
            assert f.result() == 2

    run(main, task_factory=factory)


@pytest.mark.skipif(PY_311, reason="3.10 only: create_task has no context parameter")
def test_ctor_kwargs_context_rejected_310(run: Any) -> None:  # pragma: no cover - 3.10
    rec = Recorder()

    async def main() -> None:
        loop = asyncio.get_running_loop()
        rec.calls.clear()  # the main task went through the constructor
        for maker in (asyncio.create_task, loop.create_task):
            c = returns(1)
            with pytest.raises(TypeError):
                maker(c, context=contextvars.copy_context())  # type: ignore[call-arg]
            c.close()
        assert rec.calls == []

    run(main, task_factory=ac.create_eager_task_factory(rec))


def test_ctor_forwarding_kwargs_works_everywhere(run: Any) -> None:
    """§4.2: a ``(coro, loop=None, **kwargs)`` constructor forwarding to Task works."""

    def ctor(coro: Any, loop: Any = None, **kwargs: Any) -> Any:
        return asyncio.Task(coro, loop=loop, **kwargs)

    async def main() -> None:
        t = asyncio.create_task(sleeper("a"), name="fw")
        assert t.get_name() == "fw"
        assert await t == "a"
        if PY_311:
            ctx = contextvars.copy_context()
            ctx.run(VAR.set, "fwd")

            async def read() -> Any:
                await asyncio.sleep(0)
                return VAR.get()

            t = asyncio.create_task(read(), name="fw2", context=ctx)
            assert await t == "fwd"

    run(main, task_factory=ac.create_eager_task_factory(ctor))


def test_direct_factory_call_kwargs(run: Any) -> None:
    """§4.1: name/context read from kwargs, only eager_start stripped, rest forwarded."""
    seen: list[dict[str, Any]] = []

    def ctor(coro: Any, *, loop: Any = None, **kwargs: Any) -> Any:
        seen.append(dict(kwargs))
        kwargs.pop("extra", None)
        return asyncio.Task(coro, loop=loop, **kwargs)

    factory = ac.create_eager_task_factory(ctor)

    async def main() -> None:
        loop = asyncio.get_running_loop()
        t = factory(loop, sleeper(1), name="direct", extra=42, eager_start=False)
        assert seen == [{"name": "direct", "extra": 42}]
        assert t.get_name() == "direct"
        assert await t == 1
        f = factory(loop, returns(2), name="sync", extra=1, eager_start=True)
        assert isinstance(f, ac.TaskLikeFuture)
        assert f.get_name() == "sync"
        assert len(seen) == 1
        if PY_311:
            ctx = contextvars.copy_context()
            f = factory(loop, returns(3), context=ctx, name=None)
            assert f.get_context() is ctx
            assert f.get_name() == f"TaskLikeFuture-{id(f)}"
            t = factory(loop, sleeper(4), context=ctx)
            assert seen[-1] == {"context": ctx}
            assert await t == 4

    run(main)


# ---------------------------------------------------------------------------
# §4.3 names
# ---------------------------------------------------------------------------


def test_set_name_calls_per_version(run: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[Any] = []
    orig = ac.TaskLikeFuture.set_name

    def spy(self: Any, value: Any) -> None:
        calls.append(value)
        orig(self, value)

    monkeypatch.setattr(ac.TaskLikeFuture, "set_name", spy)

    async def main() -> None:
        loop = asyncio.get_running_loop()
        for maker in (asyncio.create_task, loop.create_task):
            calls.clear()
            f = maker(returns(1))
            assert isinstance(f, ac.TaskLikeFuture)
            # 3.13.0 calls set_name(None): the default name must come back
            assert f.get_name() == f"TaskLikeFuture-{id(f)}"
            if SET_NAME_NONE:
                assert calls == [None]
            elif not PY_314 and V < (3, 13):
                assert calls == []

            calls.clear()
            f = maker(returns(1), name="given")
            assert f.get_name() == "given"
            if NAME_IN_KWARGS:
                assert calls == []  # passed to the constructor instead
            else:
                assert calls == ["given"]

            # names are stored as-is by TaskLikeFuture
            f = maker(returns(1), name=7)  # type: ignore[arg-type]
            assert f.get_name() == 7

    run(main, task_factory=ac.eager_task_factory)


def test_names_blocked_tasks_and_unnamed(run: Any) -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        t = loop.create_task(sleeper(1), name="loop-named")
        assert t.get_name() == "loop-named"
        t.set_name("renamed")
        assert t.get_name() == "renamed"
        await t
        t = asyncio.create_task(sleeper(1))
        assert isinstance(t.get_name(), str)
        await t
        f = asyncio.create_task(returns(1))
        f.set_name("later")
        assert f.get_name() == "later"

    run(main, task_factory=ac.eager_task_factory)


def test_create_task_names_with_and_without_factory(run: Any) -> None:
    async def main() -> None:
        f = ac.create_task(returns(1), eager_start=True)
        assert f.get_name() == f"TaskLikeFuture-{id(f)}"
        t = ac.create_task(sleeper(1), eager_start=True)
        assert isinstance(t.get_name(), str) and t.get_name().startswith("Task-")
        await t

    run(main)


# ---------------------------------------------------------------------------
# The returned object behaves like a Task (§3, §5)
# ---------------------------------------------------------------------------

TASK_API = [
    "done",
    "result",
    "exception",
    "cancel",
    "cancelled",
    "add_done_callback",
    "remove_done_callback",
    "get_loop",
    "get_name",
    "set_name",
    "get_context",
    "set_context",
]


def test_sync_outcome_task_surface(run: Any) -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        f = asyncio.create_task(returns("v"))
        for attr in TASK_API:
            assert callable(getattr(f, attr)), attr
        assert f.get_loop() is loop
        assert f.done() and not f.cancelled()
        assert f.result() == "v"
        assert f.exception() is None
        assert asyncio.isfuture(f)
        assert asyncio.ensure_future(f) is f
        assert f not in asyncio.all_tasks()
        assert await f == "v"
        assert await f == "v"  # awaitable repeatedly
        assert repr(f) == "<TaskLikeFuture finished result='v'>"
        ctx = f.get_context()
        assert isinstance(ctx, contextvars.Context)
        assert VAR not in ctx  # a fresh empty context, not the snapshot it ran in
        assert f.cancel() is False
        assert f.cancel("msg") is False
        assert not f.cancelled() and f.result() == "v"
        for missing in ("get_coro", "get_stack", "uncancel"):
            assert not hasattr(f, missing), missing

        err = ValueError("x")
        g = asyncio.create_task(raises(err))
        assert g.done() and not g.cancelled()
        assert g.exception() is err
        with pytest.raises(ValueError) as info:
            g.result()
        assert info.value is err
        assert repr(g) == "<TaskLikeFuture finished exception=ValueError('x')>"

    run(main, task_factory=ac.eager_task_factory)


def test_sync_outcome_callbacks(run: Any) -> None:
    async def main() -> None:
        log: list[Any] = []
        f = asyncio.create_task(returns(1))
        f.add_done_callback(lambda fut: log.append(("a", fut)))
        f.add_done_callback(lambda fut: log.append(("b", fut)))
        # already done: scheduled at once, so there is nothing left to remove
        assert f.remove_done_callback(log.append) == 0
        assert log == []  # scheduled with call_soon, never inline
        await asyncio.sleep(0)
        assert log == [("a", f), ("b", f)]

        ctx = contextvars.copy_context()
        ctx.run(VAR.set, "cbctx")
        seen: list[Any] = []
        f.add_done_callback(lambda fut: seen.append(VAR.get()), context=ctx)
        await asyncio.sleep(0)
        assert seen == ["cbctx"]

    run(main, task_factory=ac.eager_task_factory)


def test_blocked_outcome_task_surface(run: Any) -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        gate = loop.create_future()

        async def child() -> str:
            await gate
            return "done"

        t = asyncio.create_task(child(), name="blk")
        assert type(t) is asyncio.Task
        assert not isinstance(t, ac.TaskLikeFuture)
        assert t.get_loop() is loop
        assert not t.done() and not t.cancelled()
        with pytest.raises(asyncio.InvalidStateError):
            t.result()
        with pytest.raises(asyncio.InvalidStateError):
            t.exception()
        assert t in asyncio.all_tasks()
        assert "blk" in repr(t) and "pending" in repr(t)
        assert t.get_coro() is not None
        assert isinstance(t.get_stack(), list)
        t.print_stack(file=io.StringIO())
        if PY_311:
            assert t.cancelling() == 0
        log: list[Any] = []
        t.add_done_callback(log.append)
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        assert not t.done()
        gate.set_result(None)
        assert await t == "done"
        assert t.done() and t.result() == "done" and t.exception() is None
        await asyncio.sleep(0)
        assert log == [t]
        assert t not in asyncio.all_tasks()

    run(main, task_factory=ac.eager_task_factory)


def test_blocked_outcome_exception_after_suspension(run: Any) -> None:
    async def main() -> None:
        err = KeyError("late")

        async def child() -> None:
            await asyncio.sleep(0)
            raise err

        t = asyncio.create_task(child())
        with pytest.raises(KeyError) as info:
            await t
        assert info.value is err
        assert t.exception() is err
        assert not t.cancelled()

    run(main, task_factory=ac.eager_task_factory)


def test_never_retrieved_exception_is_logged(run: Any) -> None:
    """§3: an exception never retrieved is reported by the normal Future finaliser."""
    reports: list[dict[str, Any]] = []

    async def main() -> None:
        loop = asyncio.get_running_loop()
        loop.set_exception_handler(lambda lp, context: reports.append(context))
        f = asyncio.create_task(raises(ValueError("lost")))
        assert isinstance(f, ac.TaskLikeFuture)
        del f
        gc.collect()
        await asyncio.sleep(0)
        loop.set_exception_handler(None)

    run(main, task_factory=ac.eager_task_factory)
    assert len(reports) == 1
    assert "never retrieved" in reports[0]["message"]
    assert isinstance(reports[0]["exception"], ValueError)
    reports.clear()


# ---------------------------------------------------------------------------
# Cancellation (§2.1, §3) and races
# ---------------------------------------------------------------------------


def test_cancel_before_first_step(run: Any) -> None:
    log: list[str] = []

    async def child() -> None:
        try:
            log.append("start")
            await asyncio.sleep(10)
        except asyncio.CancelledError:  # pragma: no cover - must not be observed
            log.append("observed")
            raise
        finally:
            log.append("finally")

    async def main() -> None:
        t = asyncio.create_task(child())
        assert log == ["start"]
        assert t.cancel() is True
        assert not t.done()
        with pytest.raises(asyncio.CancelledError):
            await t
        assert t.cancelled()
        assert "observed" not in log

    run(main, task_factory=ac.eager_task_factory)
    gc.collect()
    # the parked inner coroutine is closed when collected: its finally runs then
    assert log == ["start", "finally"]


def test_cancel_before_first_step_wait_for_timeout_zero(run: Any) -> None:
    async def main() -> None:
        t = asyncio.create_task(sleeper(1, 10))
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(t, timeout=0)
        assert t.cancelled()

    run(main, task_factory=ac.eager_task_factory)
    gc.collect()


def test_cancel_after_first_step_observed(run: Any) -> None:
    async def child() -> Any:
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError as e:
            return ("caught", e.args, asyncio.current_task())
        return "not cancelled"  # pragma: no cover

    async def main() -> None:
        t = asyncio.create_task(child())
        await asyncio.sleep(0)  # first step runs: the Task now waits on sleep's future
        t.cancel("why")
        tag, args, cur = await t
        assert tag == "caught"
        assert cur is t
        if PY_311:
            assert args == ("why",)
        assert not t.cancelled()

        # cancelled and not suppressed: the Task ends cancelled
        t = asyncio.create_task(sleeper(1, 10))
        await asyncio.sleep(0)
        t.cancel()
        with pytest.raises(asyncio.CancelledError):
            await t
        assert t.cancelled()

    run(main, task_factory=ac.eager_task_factory)


@pytest.mark.parametrize("eager", [False, True], ids=["lazy", "eager"])
def test_cancel_race_same_outcome_as_lazy(run: Any, eager: bool) -> None:
    """Races between a result and cancel() play out as for an ordinary Task."""

    async def main() -> list[Any]:
        loop = asyncio.get_running_loop()
        out: list[Any] = []

        async def child(fut: asyncio.Future[Any]) -> Any:
            try:
                return await fut
            except asyncio.CancelledError:
                return "cancelled-inside"

        # 1. result and cancel() in the same iteration, after the first step
        fut = loop.create_future()
        t = asyncio.create_task(child(fut))
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        fut.set_result(1)
        t.cancel()
        out.append(await t)

        # 2. the awaited future resolves before the continuation's first step
        fut = loop.create_future()
        t = asyncio.create_task(child(fut))
        fut.set_result(2)
        out.append(await t)

        # 3. the awaited future fails before the first step
        fut = loop.create_future()
        t = asyncio.create_task(child(fut))
        fut.set_exception(KeyError("k"))
        try:
            await t
        except KeyError as e:
            out.append(("err", e.args))

        # 4. the awaited future is cancelled before the first step
        fut = loop.create_future()
        t = asyncio.create_task(child(fut))
        fut.cancel()
        out.append(await t)
        return out

    factory = ac.eager_task_factory if eager else None
    result = run(main, task_factory=factory)
    assert result == ["cancelled-inside", 2, ("err", ("k",)), "cancelled-inside"]


@pytest.mark.parametrize("eager", [False, True], ids=["lazy", "eager"])
def test_bad_yields_same_outcome_as_lazy(run: Any, eager: bool) -> None:
    """The continuation re-yields what the coroutine yielded (§2.1), so the Task
    reacts to odd yields exactly as an ordinary Task does."""

    @types.coroutine
    def bad_yield() -> Any:
        yield 42

    async def uses_bad_yield() -> None:
        await bad_yield()

    async def main() -> list[Any]:
        out: list[Any] = []
        t = asyncio.create_task(uses_bad_yield())
        with pytest.raises(RuntimeError) as info:
            await t
        out.append("bad yield" in str(info.value))

        other = asyncio.new_event_loop()
        try:
            foreign = other.create_future()

            async def awaits_foreign() -> None:
                await foreign

            t = asyncio.create_task(awaits_foreign())
            with pytest.raises(RuntimeError) as info:
                await t
            out.append("different loop" in str(info.value))
        finally:
            other.close()
        return out

    factory = ac.eager_task_factory if eager else None
    assert run(main, task_factory=factory) == [True, True]


def test_cancel_ghost_mode_task_before_first_step(run: Any) -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()

        def make() -> Any:
            t = loop.create_task(sleeper(1, 10))
            assert t.cancel()
            return t

        t = await in_callback(loop, make)
        with pytest.raises(asyncio.CancelledError):
            await t
        assert t.cancelled()

    run(main, task_factory=ac.eager_task_factory)
    gc.collect()


def test_cancel_parent_from_eager_phase_known_limitation(run: Any) -> None:
    """§2.3: during the eager phase current_task() is the parent, so cancelling
    "the current task" there cancels the parent (documented, accepted)."""

    async def child() -> str:
        me = asyncio.current_task()
        assert me is not None
        me.cancel()
        await asyncio.sleep(0)
        return "child-ok"

    async def main() -> list[str]:
        log: list[str] = []
        t = asyncio.create_task(child())
        try:
            await asyncio.sleep(0)
        except asyncio.CancelledError:
            log.append("parent-cancelled")
            if PY_311:
                asyncio.current_task().uncancel()  # type: ignore[union-attr]
        log.append(await t)
        return log

    assert run(main, task_factory=ac.eager_task_factory) == ["parent-cancelled", "child-ok"]


# ---------------------------------------------------------------------------
# Exceptions raised during the eager start; KeyboardInterrupt / SystemExit
# ---------------------------------------------------------------------------


def test_sync_exceptions_captured(run: Any) -> None:
    async def stop_iteration() -> None:
        raise StopIteration("s")

    async def main() -> None:
        err = OSError(5, "io")
        f = asyncio.create_task(raises(err))
        assert f.exception() is err
        tb = err.__traceback__
        names = []
        while tb is not None:
            names.append(tb.tb_frame.f_code.co_name)
            tb = tb.tb_next
        assert "raises" in names

        f = asyncio.create_task(stop_iteration())
        exc = f.exception()
        assert isinstance(exc, RuntimeError)
        assert isinstance(exc.__cause__, StopIteration)

        cerr = asyncio.CancelledError("sync-cancel")
        f = asyncio.create_task(raises(cerr))
        assert f.done() and not f.cancelled()
        with pytest.raises(asyncio.CancelledError) as info:
            await f
        assert info.value is cerr
        assert info.value.args == ("sync-cancel",)

        # the caller regains control normally: the task still works afterwards
        assert await asyncio.create_task(sleeper("still-fine")) == "still-fine"

    run(main, task_factory=ac.eager_task_factory)


@pytest.mark.parametrize("exc_type", [KeyboardInterrupt, SystemExit])
def test_base_exception_captured_not_raised_by_factory(run: Any, exc_type: type) -> None:
    """§2 step 4: BaseExceptions from the eager phase are the outcome, not propagated."""

    async def main() -> str:
        loop = asyncio.get_running_loop()
        err = exc_type("boom")
        f = asyncio.create_task(raises(err))
        assert isinstance(f, ac.TaskLikeFuture) and f.done()
        assert f.exception() is err
        f2 = ac.create_task(raises(err), eager_start=True)
        assert f2.exception() is err
        # ghost mode: still captured, and the ghost is swapped out again
        f3, cur = await in_callback(
            loop, lambda: (loop.create_task(raises(err)), asyncio.current_task())
        )
        assert cur is None
        assert f3.exception() is err
        assert await asyncio.create_task(sleeper("ok")) == "ok"
        return "survived"

    assert run(main, task_factory=ac.eager_task_factory) == "survived"


@pytest.mark.parametrize("exc_type", [KeyboardInterrupt, SystemExit])
@pytest.mark.parametrize("where", ["eager-phase", "after-suspension"])
def test_base_exception_propagates_out_of_loop(
    loop_factory: Any, exc_type: type, where: str
) -> None:
    """Awaiting a synchronous KeyboardInterrupt/SystemExit re-raises it and it leaves
    run_until_complete; raised after suspension, the Task step re-raises it as usual."""
    err = exc_type("stop")
    keep: list[Any] = []

    async def late() -> None:
        await asyncio.sleep(0)
        raise err

    async def main() -> None:
        if where == "eager-phase":
            f = asyncio.create_task(raises(err))
            keep.append(f)
            await f
        else:
            t = asyncio.create_task(late())
            keep.append(t)
            await asyncio.sleep(1)
        raise AssertionError("not reached")  # pragma: no cover

    loop = loop_factory()
    try:
        loop.set_task_factory(ac.eager_task_factory)
        with pytest.raises(exc_type) as info:
            loop.run_until_complete(main())
        assert info.value is err
        assert keep[0].done()
        assert keep[0].exception() is err
    finally:
        cleanup_loop(loop)


def test_exception_in_ghost_mode_leaves_no_current_task(run: Any) -> None:
    """§6, pitfall 3: the ghost is swapped out even when the eager phase raises."""

    async def main() -> None:
        loop = asyncio.get_running_loop()
        f, cur = await in_callback(
            loop, lambda: (loop.create_task(raises(ValueError("g"))), asyncio.current_task())
        )
        assert cur is None
        assert isinstance(f.exception(), ValueError)
        # a later Task step can enter normally ("Cannot enter into task" otherwise)
        t = loop.create_task(sleeper("next"))
        assert await t == "next"
        t2 = await in_callback(loop, lambda: loop.create_task(sleeper("again")))
        assert await t2 == "again"

    run(main, task_factory=ac.eager_task_factory)


def test_ghost_ctor_failure_propagates_and_retries(run: Any) -> None:
    state = {"fail": True}
    log: list[str] = []

    def ctor(coro: Any, *, loop: Any = None, **kwargs: Any) -> Any:
        if state["fail"]:
            state["fail"] = False
            coro.close()
            raise RuntimeError("ctor failed")
        return asyncio.Task(coro, loop=loop, **kwargs)

    factory = ac.create_eager_task_factory(ctor)

    async def child() -> str:
        log.append("ran")
        return "r"

    async def main() -> None:
        loop = asyncio.get_running_loop()

        def first() -> Any:
            c = child()
            try:
                return factory(loop, c)
            finally:
                c.close()

        with pytest.raises(RuntimeError, match="ctor failed"):
            await in_callback(loop, first)
        assert log == []  # the ghost is obtained before the coroutine starts
        assert asyncio.current_task() is not None
        f = await in_callback(loop, lambda: factory(loop, child()))
        assert log == ["ran"]
        assert f.result() == "r"

    run(main)


# ---------------------------------------------------------------------------
# current_task during and after the eager start (§2.3), ghost lifecycle (§6)
# ---------------------------------------------------------------------------


def test_ctor_called_after_swap_back(run: Any) -> None:
    """§2 step 3: the swap-back happens before the real Task is made."""
    rec = Recorder()
    factory = ac.create_eager_task_factory(rec)

    async def main() -> None:
        loop = asyncio.get_running_loop()
        parent = asyncio.current_task()
        t = factory(loop, sleeper(1))
        assert rec.calls[-1]["current"] is parent
        await t
        rec.calls.clear()
        t = await in_callback(loop, lambda: factory(loop, sleeper(2)))
        # ghost creation, then the continuation; neither while a task is current
        assert len(rec.calls) == 2
        ghost_call, cont_call = rec.calls
        assert ghost_call["current"] is None
        assert cont_call["current"] is None
        assert cont_call["task"] is t
        assert ghost_call["task"] is not t
        assert await t == 2

    run(main)


@pytest.mark.skipif(not PY_311, reason="context= needs 3.11+")
def test_ghost_made_with_triggering_kwargs(run: Any) -> None:
    """§6: the ghost goes through the same real-task maker with the same ``rest``."""
    rec = Recorder()
    factory = ac.create_eager_task_factory(rec)

    async def main() -> None:
        loop = asyncio.get_running_loop()
        ctx = contextvars.copy_context()
        rec.calls.clear()  # the main task went through the constructor too
        t = await in_callback(loop, lambda: loop.create_task(sleeper(1), name="X", context=ctx))
        assert len(rec.calls) == 2
        ghost_call, cont_call = rec.calls
        assert normalise(ghost_call["kwargs"]) == expected_ctor_kwargs(
            {"name": "X", "context": ctx}
        )
        assert ghost_call["kwargs"] == cont_call["kwargs"]
        assert ghost_call["loop"] is loop
        assert await t == 1

    run(main, task_factory=factory)


def test_create_task_ghost_named_after_trigger(run: Any) -> None:
    """§6: on the create_task path the ghost is made by the original create_task with
    the triggering call's name (a fresh loop has no ghost yet)."""
    seen: list[Any] = []

    async def child() -> None:
        seen.append(asyncio.current_task())
        await asyncio.sleep(0)
        seen.append(asyncio.current_task())

    async def main() -> None:
        loop = asyncio.get_running_loop()
        t = await in_callback(loop, lambda: ac.create_task(child(), name="trig", eager_start=True))
        await t
        ghost = seen[0]
        assert isinstance(ghost, asyncio.Task)
        assert ghost.get_name() == "trig"
        assert seen[1] is t and t.get_name() == "trig"

    run(main)


def test_ghost_lifecycle(run: Any) -> None:
    seen: list[Any] = []

    async def child(tag: str) -> str:
        seen.append((tag, asyncio.current_task()))
        return tag

    async def main() -> None:
        loop = asyncio.get_running_loop()
        parent = asyncio.current_task()
        before = set(asyncio.all_tasks())
        f = await in_callback(loop, lambda: loop.create_task(child("g1")))
        assert isinstance(f, ac.TaskLikeFuture) and f.result() == "g1"
        ghost = seen[-1][1]
        assert isinstance(ghost, asyncio.Task)
        assert ghost is not parent and ghost not in before
        # a real Task: registered, and finishes on its own with result None
        for _ in range(3):
            await asyncio.sleep(0)
        assert ghost.done() and ghost.result() is None
        assert ghost not in asyncio.all_tasks()
        assert set(asyncio.all_tasks()) == before
        # reused afterwards, also via create_task(eager_start=True)
        await in_callback(loop, lambda: loop.create_task(child("g2")))
        await in_callback(loop, lambda: ac.create_task(child("g3"), eager_start=True))
        assert seen[-2][1] is ghost and seen[-1][1] is ghost
        assert set(asyncio.all_tasks()) == before  # no stale ghost after it finished
        # parent mode is unaffected by the ghost
        asyncio.create_task(child("p"))
        assert seen[-1][1] is parent

    run(main, task_factory=ac.eager_task_factory)


def test_ghost_is_real_task_when_made_through_eager_factory(run: Any) -> None:
    async def cur() -> Any:
        c = asyncio.current_task()
        await asyncio.sleep(0)
        return c

    async def main() -> None:
        loop = asyncio.get_running_loop()
        t = await in_callback(loop, lambda: ac.create_task(cur(), eager_start=True))
        ghost = await t
        assert isinstance(ghost, asyncio.Task)
        assert not isinstance(ghost, ac.TaskLikeFuture)
        # later ghost-mode starts through the factory reuse it
        t2 = await in_callback(loop, lambda: loop.create_task(cur()))
        assert await t2 is ghost
        if PY_311:
            assert ghost.cancelling() == 0  # e.g. asyncio.timeout() relies on this

    run(main, task_factory=ac.eager_task_factory)


def test_ghost_does_not_retain_creator_context_values(loop_factory: Any) -> None:
    refs: list[weakref.ref[Any]] = []

    async def child() -> int:
        return 1

    async def main() -> None:
        loop = asyncio.get_running_loop()
        p = Payload()
        refs.append(weakref.ref(p))
        VAR2.set(p)
        del p
        f = await in_callback(loop, lambda: loop.create_task(child()))
        assert f.result() == 1
        VAR2.set(None)

    loop = loop_factory()
    try:
        loop.set_task_factory(ac.eager_task_factory)
        loop.run_until_complete(main())
    finally:
        cleanup_loop(loop)
    del loop
    gc.collect()
    assert refs[0]() is None


def test_ghost_one_per_loop_shared_between_factories(run: Any) -> None:
    rec1, rec2 = Recorder(), Recorder()
    f1 = ac.create_eager_task_factory(rec1)
    f2 = ac.create_eager_task_factory(rec2)

    async def cur() -> Any:
        return asyncio.current_task()

    async def main() -> None:
        loop = asyncio.get_running_loop()
        g1 = (await in_callback(loop, lambda: f1(loop, cur()))).result()
        g2 = (await in_callback(loop, lambda: f2(loop, cur()))).result()
        g3 = (await in_callback(loop, lambda: ac.create_task(cur(), eager_start=True))).result()
        assert g1 is g2 is g3
        assert len(rec1.calls) == 1 and rec1.calls[0]["task"] is g1
        assert rec2.calls == []  # the second factory reused the loop's ghost

    run(main)


def test_ghost_is_per_loop(loop_factory: Any) -> None:
    async def cur() -> Any:
        return asyncio.current_task()

    async def main() -> Any:
        loop = asyncio.get_running_loop()
        return (await in_callback(loop, lambda: loop.create_task(cur()))).result()

    ghosts = []
    for _ in range(2):
        loop = loop_factory()
        try:
            loop.set_task_factory(ac.eager_task_factory)
            ghosts.append(loop.run_until_complete(main()))
            assert ghosts[-1].get_loop() is loop
        finally:
            cleanup_loop(loop)
    assert ghosts[0] is not ghosts[1]


def test_nested_eager_starts_current_task(run: Any) -> None:
    """§6: nested starts during a ghost-mode start see the ghost; in parent mode the
    parent; after suspension each sees its own Task."""
    seen: dict[str, Any] = {}

    async def grandchild(tag: str) -> None:
        seen[tag + "-gc-before"] = asyncio.current_task()
        await asyncio.sleep(0)
        seen[tag + "-gc-after"] = asyncio.current_task()

    async def child(tag: str) -> Any:
        seen[tag + "-c-before"] = asyncio.current_task()
        gc_task = asyncio.get_running_loop().create_task(grandchild(tag))
        seen[tag + "-c-between"] = asyncio.current_task()
        await asyncio.sleep(0)
        seen[tag + "-c-after"] = asyncio.current_task()
        return gc_task

    async def main() -> None:
        loop = asyncio.get_running_loop()
        parent = asyncio.current_task()
        c = asyncio.create_task(child("p"))
        g = await c
        await g
        assert seen["p-c-before"] is parent
        assert seen["p-gc-before"] is parent
        assert seen["p-c-between"] is parent
        assert seen["p-c-after"] is c
        assert seen["p-gc-after"] is g

        c = await in_callback(loop, lambda: loop.create_task(child("g")))
        g = await c
        await g
        ghost = seen["g-c-before"]
        assert ghost is not None and ghost is not parent
        assert seen["g-gc-before"] is ghost
        assert seen["g-c-between"] is ghost
        assert seen["g-c-after"] is c
        assert seen["g-gc-after"] is g

    run(main, task_factory=ac.eager_task_factory)


def test_current_task_ghost_not_a_swapped_out_task(run: Any) -> None:
    """§2.3: in the ghost case current_task() is not a task the caller swapped out."""

    async def cur() -> Any:
        return asyncio.current_task()

    async def main() -> None:
        loop = asyncio.get_running_loop()
        me = asyncio.current_task()
        prev = compat.swap_current_task(loop, None)
        try:
            assert prev is me
            f = loop.create_task(cur())
            assert asyncio.current_task() is None
        finally:
            compat.swap_current_task(loop, prev)
        ghost = f.result()
        assert ghost is not None and ghost is not me

    run(main, task_factory=ac.eager_task_factory)


# ---------------------------------------------------------------------------
# No trace afterwards: leaks (weakref / gc)
# ---------------------------------------------------------------------------


class Payload:
    pass


def test_no_leaks_sync_completion(run: Any) -> None:
    refs: list[weakref.ref[Any]] = []

    async def child() -> Payload:
        local = Payload()
        refs.append(weakref.ref(local))
        VAR.set(local)  # held by the private context snapshot
        return Payload()

    async def failing() -> None:
        raise ValueError(Payload())

    async def main() -> None:
        c = child()
        refs.append(weakref.ref(c))
        f = asyncio.create_task(c)
        del c
        result = f.result()
        refs.append(weakref.ref(result))
        refs.append(weakref.ref(f))
        del f, result
        c2 = failing()
        refs.append(weakref.ref(c2))
        f2 = ac.create_task(c2, eager_start=True)
        del c2
        exc = f2.exception()
        refs.append(weakref.ref(exc.args[0]))  # type: ignore[union-attr]
        del f2, exc
        gc.collect()
        alive = [r for r in refs if r() is not None]
        assert alive == []

    run(main, task_factory=ac.eager_task_factory)


def test_no_leaks_blocked_task(run: Any) -> None:
    refs: list[weakref.ref[Any]] = []

    async def child() -> Payload:
        local = Payload()
        refs.append(weakref.ref(local))
        VAR.set(local)
        await asyncio.sleep(0)
        assert VAR.get() is local
        return Payload()

    async def main() -> None:
        loop = asyncio.get_running_loop()
        c = child()
        refs.append(weakref.ref(c))
        t = asyncio.create_task(c)
        del c
        refs.append(weakref.ref(t))
        r = await t
        refs.append(weakref.ref(r))
        del t, r
        # ghost-mode start too
        t2 = await in_callback(loop, lambda: loop.create_task(child()))
        refs.append(weakref.ref(t2))
        r2 = await t2
        refs.append(weakref.ref(r2))
        del t2, r2
        # cancelled before the first step
        t3 = asyncio.create_task(child())
        refs.append(weakref.ref(t3))
        t3.cancel()
        with pytest.raises(asyncio.CancelledError):
            await t3
        del t3
        await asyncio.sleep(0)
        gc.collect()
        alive = [r for r in refs if r() is not None]
        assert alive == []

    run(main, task_factory=ac.eager_task_factory)


def test_parent_not_retained(run: Any) -> None:
    refs: list[weakref.ref[Any]] = []
    keep: list[Any] = []

    async def child() -> None:
        await asyncio.sleep(0)

    async def parent() -> None:
        keep.append(asyncio.create_task(returns(1)))
        keep.append(asyncio.create_task(child()))
        await keep[-1]

    async def main() -> None:
        p = asyncio.create_task(parent())
        refs.append(weakref.ref(p))
        await p
        del p
        await asyncio.sleep(0)
        gc.collect()
        assert refs[0]() is None
        assert all(k.done() for k in keep)

    run(main, task_factory=ac.eager_task_factory)


def test_no_refcount_leaks_repeated(run: Any) -> None:
    """Refcounts of arguments/results return to baseline after many eager starts
    (catches reference leaks that gc cannot reclaim)."""
    obj = Payload()

    async def identity(x: Any) -> Any:
        return x

    async def blocked(x: Any) -> Any:
        await asyncio.sleep(0)
        return x

    async def failing(x: Any) -> Any:
        raise ValueError(x)

    async def main() -> None:
        loop = asyncio.get_running_loop()
        gc.collect()
        base = sys.getrefcount(obj)
        for _ in range(200):
            f = asyncio.create_task(identity(obj))
            assert f.result() is obj
            f = ac.create_task(identity(obj), eager_start=True)
            assert f.result() is obj
            f = asyncio.create_task(failing(obj))
            assert f.exception().args[0] is obj  # type: ignore[union-attr]
            f = await in_callback(loop, lambda: loop.create_task(identity(obj)))
            assert f.result() is obj
            del f
        ts = [asyncio.create_task(blocked(obj)) for _ in range(100)]
        assert all(r is obj for r in await asyncio.gather(*ts))
        del ts
        await asyncio.sleep(0)
        gc.collect()
        assert sys.getrefcount(obj) == base

    run(main, task_factory=ac.eager_task_factory)


# ---------------------------------------------------------------------------
# contextvars (§2.2)
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("how", ["factory", "create_task", "ghost"])
def test_context_snapshot_isolation(run: Any, how: str) -> None:
    async def child() -> Any:
        seen = (VAR.get(), VAR2.get())
        obj = object()
        VAR.set(obj)
        await asyncio.sleep(0)
        assert VAR.get() is obj  # same identity after resumption
        after = VAR2.get()
        VAR.set("after")
        await asyncio.sleep(0)
        return seen, after, VAR.get()

    async def main() -> None:
        loop = asyncio.get_running_loop()
        mine = ["caller-value"]
        VAR.set(mine)
        VAR2.set("before-create")
        if how == "factory":
            t = asyncio.create_task(child())
        elif how == "create_task":
            t = ac.create_task(child(), eager_start=True)
        else:

            def make() -> Any:
                # the callback runs in a copy of main's context
                t = loop.create_task(child())
                assert VAR.get() is mine
                return t

            t = await in_callback(loop, make)
        assert VAR.get() is mine  # neither rebound nor replaced
        VAR2.set("after-create")  # the snapshot was taken at the call
        seen, after, last = await t
        assert seen == (mine, "before-create")
        assert after == "before-create"
        assert last == "after"
        assert VAR.get() is mine and mine == ["caller-value"]
        assert VAR2.get() == "after-create"

    factory = ac.eager_task_factory if how != "create_task" else None
    run(main, task_factory=factory)


def test_context_siblings_isolated(run: Any) -> None:
    async def setter() -> Any:
        VAR.set("A")
        await asyncio.sleep(0)
        return VAR.get()

    async def reader() -> Any:
        first = VAR.get()
        await asyncio.sleep(0)
        return first, VAR.get()

    async def main() -> None:
        VAR.set("main")
        a = asyncio.create_task(setter())
        b = asyncio.create_task(reader())
        assert await a == "A"
        assert await b == ("main", "main")
        assert VAR.get() == "main"

    run(main, task_factory=ac.eager_task_factory)


@pytest.mark.skipif(not PY_312, reason="Task.get_context() is 3.12+")
def test_task_get_context_is_not_the_snapshot(run: Any) -> None:
    """§2.2: with no context given, the Task's own context differs from the snapshot
    the coroutine runs in, so get_context() does not reflect the coroutine's sets."""

    async def child() -> None:
        VAR.set("inside")
        await asyncio.sleep(0)
        VAR.set("inside2")

    async def main() -> None:
        t = asyncio.create_task(child())
        await t
        assert t.get_context().get(VAR) not in ("inside", "inside2")

    run(main, task_factory=ac.eager_task_factory)


@pytest.mark.skipif(not PY_311, reason="context= needs 3.11+")
@pytest.mark.parametrize("how", ["factory", "create_task", "ghost"])
def test_explicit_context(run: Any, how: str) -> None:
    async def child() -> Any:
        seen = VAR.get()
        VAR2.get().append("before")  # in-place mutation of ctx's value
        VAR.set("first")
        await asyncio.sleep(0)
        VAR2.get().append("after")
        VAR.set("last")
        return seen

    async def main() -> None:
        loop = asyncio.get_running_loop()
        VAR.set("caller")
        ctx = contextvars.copy_context()
        box: list[str] = []
        ctx.run(VAR.set, "ctx")
        ctx.run(VAR2.set, box)
        if how == "factory":
            t = asyncio.create_task(child(), context=ctx)
        elif how == "create_task":
            t = ac.create_task(child(), context=ctx, eager_start=True)
        else:
            t = await in_callback(loop, lambda: loop.create_task(child(), context=ctx))
        assert ctx[VAR] == "first"
        assert box == ["before"]
        assert await t == "ctx"
        assert ctx[VAR] == "last"
        assert box == ["before", "after"]
        assert VAR.get() == "caller"
        assert VAR2.get() == "unset"
        if PY_312:
            assert t.get_context() is ctx

    factory = ac.eager_task_factory if how != "create_task" else None
    run(main, task_factory=factory)


@pytest.mark.skipif(not PY_311, reason="context= needs 3.11+")
def test_create_task_entered_context_raises(run: Any) -> None:
    log: list[str] = []

    async def coro() -> None:
        log.append("ran")

    async def main() -> None:
        ctx = contextvars.copy_context()

        def inside() -> None:
            c = coro()
            with pytest.raises(RuntimeError):
                ac.create_task(c, context=ctx, eager_start=True)
            c.close()

        ctx.run(inside)
        assert log == []

    run(main)


@pytest.mark.skipif(not PY_311, reason="context= needs 3.11+")
def test_entered_context_in_ghost_mode(run: Any) -> None:
    log: list[str] = []

    async def coro() -> None:
        log.append("ran")  # pragma: no cover - must not start

    async def main() -> None:
        loop = asyncio.get_running_loop()
        ctx = contextvars.copy_context()

        def inside() -> Any:
            c = coro()
            try:
                with pytest.raises(RuntimeError):
                    loop.create_task(c, context=ctx)
                return asyncio.current_task()
            finally:
                c.close()

        cur = await in_callback(loop, lambda: ctx.run(inside))
        assert cur is None  # the ghost was swapped out again
        assert log == []
        assert await asyncio.create_task(sleeper("fine")) == "fine"

    run(main, task_factory=ac.eager_task_factory)


@pytest.mark.skipif(PY_311, reason="3.10 only: contexts are discarded")
def test_direct_factory_context_discarded_310(run: Any) -> None:  # pragma: no cover - 3.10
    async def coro() -> Any:
        seen = VAR.get()
        VAR.set("inside")
        return seen

    async def main() -> None:
        loop = asyncio.get_running_loop()
        VAR.set("caller")
        ctx = contextvars.Context()
        f = ac.eager_task_factory(loop, coro(), context=ctx)
        assert f.result() == "caller"  # ran in a copy of the caller's context
        assert VAR not in ctx and VAR.get() == "caller"
        got = f.get_context()
        assert got is not ctx and len(got) == 0

    run(main)


# ---------------------------------------------------------------------------
# Depth-first ordering (§2.4)
# ---------------------------------------------------------------------------


def test_ordering_create_task_eager_start(run: Any) -> None:
    log: list[Any] = []

    async def child() -> None:
        log.append(1)
        await asyncio.sleep(0.01)
        log.append(2)

    async def main() -> None:
        log.append("a")
        t = ac.create_task(child(), eager_start=True)
        log.append("b")
        await asyncio.sleep(0.001)
        log.append("c")
        await t

    run(main)
    assert log == ["a", 1, "b", "c", 2]


def test_ordering_nested_depth_first(run: Any) -> None:
    log: list[Any] = []

    async def grandchild() -> None:
        log.append("g1")
        await asyncio.sleep(0.01)
        log.append("g2")

    async def child() -> None:
        log.append("c1")
        g = asyncio.create_task(grandchild())
        log.append("c2")
        await g
        log.append("c3")

    async def main() -> None:
        log.append("a")
        t = asyncio.create_task(child())
        log.append("b")
        await t
        log.append("end")

    run(main, task_factory=ac.eager_task_factory)
    assert log == ["a", "c1", "g1", "c2", "b", "g2", "c3", "end"]


def test_ordering_lazy_vs_eager(run: Any) -> None:
    def scenario() -> Callable[[], Any]:
        log: list[Any] = []

        async def child(i: int) -> None:
            log.append(f"start{i}")
            await asyncio.sleep(0)
            log.append(f"end{i}")

        async def main() -> list[Any]:
            ts = [asyncio.create_task(child(i)) for i in range(3)]
            log.append("created")
            await asyncio.gather(*ts)
            return log

        return main

    lazy = run(scenario())
    eager = run(scenario(), task_factory=ac.eager_task_factory)
    assert lazy == ["created", "start0", "start1", "start2", "end0", "end1", "end2"]
    assert eager == ["start0", "start1", "start2", "created", "end0", "end1", "end2"]


# ---------------------------------------------------------------------------
# Loop shutdown with async generators (§5)
# ---------------------------------------------------------------------------


def test_shutdown_asyncgens_sync_and_blocking_aclose(loop_factory: Any) -> None:
    log: list[str] = []
    reports: list[Any] = []
    keep: list[Any] = []

    async def quick() -> Any:
        try:
            yield 1
            yield 2  # pragma: no cover
        finally:
            log.append("quick-finally")

    async def slow() -> Any:
        try:
            yield 1
            yield 2  # pragma: no cover
        finally:
            await asyncio.sleep(0.001)
            log.append("slow-finally")

    async def main() -> None:
        loop = asyncio.get_running_loop()
        loop.set_exception_handler(lambda lp, ctx: reports.append(ctx))
        loop.set_task_factory(ac.eager_task_factory)  # installed while running
        for gen in (quick(), slow()):
            assert await gen.__anext__() == 1
            keep.append(gen)

    loop = loop_factory()
    try:
        loop.run_until_complete(main())
        loop.run_until_complete(loop.shutdown_asyncgens())
    finally:
        loop.set_task_factory(None)
        loop.close()
    assert sorted(log) == ["quick-finally", "slow-finally"]
    assert reports == []


def test_asyncgen_finalizer_hook_ghost_path(run: Any) -> None:
    """The finaliser hook schedules aclose() from a plain callback: ghost mode."""
    log: list[Any] = []
    reports: list[Any] = []

    async def agen() -> Any:
        try:
            yield 1
            yield 2  # pragma: no cover
        finally:
            log.append(("finally", asyncio.current_task()))

    async def agen_blocking() -> Any:
        try:
            yield 1
            yield 2  # pragma: no cover
        finally:
            await asyncio.sleep(0)
            log.append(("blocking-finally", None))

    async def main() -> None:
        loop = asyncio.get_running_loop()
        loop.set_exception_handler(lambda lp, ctx: reports.append(ctx))
        g = agen()
        assert await g.__anext__() == 1
        g2 = agen_blocking()
        assert await g2.__anext__() == 1
        del g, g2
        gc.collect()
        for _ in range(5):
            await asyncio.sleep(0)
        assert asyncio.current_task() is not None

    run(main, task_factory=ac.eager_task_factory)
    assert [entry[0] for entry in log] == ["finally", "blocking-finally"]
    assert log[0][1] is not None  # never None while the loop runs (ghost)
    assert reports == []


def test_asyncio_run_with_factory_and_unfinished_asyncgen() -> None:
    """The package page's usage: set the factory inside asyncio.run's main."""
    log: list[str] = []

    async def agen() -> Any:
        try:
            yield 1
            yield 2  # pragma: no cover
        finally:
            log.append("closed")

    async def my_coroutine() -> str:
        return "immediate_result"

    async def main() -> Any:
        loop = asyncio.get_running_loop()
        loop.set_task_factory(asynkit.eager_task_factory)
        task = asyncio.create_task(my_coroutine())
        assert task.done()
        g = agen()
        await g.__anext__()
        main.g = g  # type: ignore[attr-defined]
        return await task

    assert asyncio.run(main()) == "immediate_result"
    assert log == ["closed"]
    del main.g  # type: ignore[attr-defined]


def test_gather_inside_shutdown_log_destroy_pending(run: Any) -> None:
    """§3: gather assigns ``_log_destroy_pending`` on futures it made from coroutines."""

    async def main() -> None:
        r = await asyncio.gather(
            returns(1), sleeper(2), raises(KeyError("k")), return_exceptions=True
        )
        assert r[:2] == [1, 2] and isinstance(r[2], KeyError)

    run(main, task_factory=ac.eager_task_factory)


# ---------------------------------------------------------------------------
# asyncio combinators with TaskLikeFuture (§3, §5)
# ---------------------------------------------------------------------------


def test_combinators(run: Any) -> None:
    async def main() -> None:
        sync_ok = asyncio.create_task(returns(1))
        sync_err = asyncio.create_task(raises(KeyError("e")))
        blocked = asyncio.create_task(sleeper(3, 0.001))
        assert isinstance(sync_ok, ac.TaskLikeFuture)
        assert isinstance(sync_err, ac.TaskLikeFuture)

        r = await asyncio.gather(sync_ok, sync_err, blocked, return_exceptions=True)
        assert r[0] == 1 and isinstance(r[1], KeyError) and r[2] == 3
        with pytest.raises(KeyError):
            await asyncio.gather(sync_ok, sync_err)

        done, pending = await asyncio.wait(
            [sync_ok, asyncio.create_task(sleeper(4, 10))], timeout=0
        )
        assert sync_ok in done and len(pending) == 1
        for p in pending:
            p.cancel()
        done, pending = await asyncio.wait([sync_ok, sync_err], return_when=asyncio.FIRST_EXCEPTION)
        assert done == {sync_ok, sync_err} and not pending

        assert asyncio.shield(sync_ok) is sync_ok
        assert await asyncio.shield(sync_ok) == 1
        assert await asyncio.shield(asyncio.create_task(sleeper(5))) == 5

        assert await asyncio.wait_for(sync_ok, timeout=1) == 1
        assert await asyncio.wait_for(asyncio.create_task(sleeper(6)), timeout=1) == 6
        with pytest.raises(KeyError):
            await asyncio.wait_for(sync_err, timeout=0)

        results = [
            await f for f in asyncio.as_completed([sync_ok, asyncio.create_task(sleeper(7))])
        ]
        assert sorted(results) == [1, 7]

        # coroutines handed to the combinators go through the factory too
        assert await asyncio.wait_for(returns(8), timeout=0) == 8
        assert await asyncio.gather(returns(9), sleeper(10)) == [9, 10]

    run(main, task_factory=ac.eager_task_factory)


@pytest.mark.skipif(not PY_311, reason="TaskGroup / timeout are 3.11+")
def test_taskgroup_and_timeout(run: Any) -> None:
    async def main() -> None:
        async with asyncio.TaskGroup() as tg:  # type: ignore[attr-defined]
            a = tg.create_task(returns(1), name="tg-sync")
            b = tg.create_task(sleeper(2), name="tg-blocked")
        assert isinstance(a, ac.TaskLikeFuture) and a.get_name() == "tg-sync"
        assert b.get_name() == "tg-blocked"
        assert a.result() == 1 and b.result() == 2

        later: list[str] = []

        async def slow() -> None:
            try:
                await asyncio.sleep(10)
            except asyncio.CancelledError:
                later.append("slow-cancelled")
                raise

        try:
            async with asyncio.TaskGroup() as tg:  # type: ignore[attr-defined]
                tg.create_task(slow())
                # let slow's first step run: on 3.12+ TaskGroup handles an already-done
                # child at once, and a Task cancelled before its first step never lets
                # the inner coroutine see the CancelledError (§2.1)
                await asyncio.sleep(0)
                tg.create_task(raises(ValueError("tg")))
                await asyncio.sleep(0.1)
        except Exception as eg:  # noqa: BLE001 - ExceptionGroup is 3.11+ syntax-wise
            assert type(eg).__name__ == "ExceptionGroup"
            assert [type(e) for e in eg.exceptions] == [ValueError]  # type: ignore[attr-defined]
        else:  # pragma: no cover
            raise AssertionError("no ExceptionGroup")
        assert later == ["slow-cancelled"]

        # asyncio.timeout() around awaiting an eagerly started task works (the
        # limitation only concerns timeout() entered *inside* the eager phase)
        t = asyncio.create_task(sleeper(1, 10))
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.01):  # type: ignore[attr-defined]
                await t
        assert t.cancelled()

    run(main, task_factory=ac.eager_task_factory)


# ---------------------------------------------------------------------------
# Other loops, no running loop, threads (§2 step 1, §5)
# ---------------------------------------------------------------------------


def test_factory_direct_call_without_running_loop(loop_factory: Any) -> None:
    rec = Recorder()
    factory = ac.create_eager_task_factory(rec)
    log: list[str] = []

    async def coro() -> str:
        log.append("ran")
        return "x"

    loop = loop_factory()
    try:
        t = factory(loop, coro(), name="nr")
        assert log == []
        assert isinstance(t, asyncio.Task)
        assert rec.calls[0]["loop"] is loop and rec.calls[0]["current"] == "no-loop"
        assert rec.calls[0]["kwargs"] == {"name": "nr"}
        assert t.get_name() == "nr"
        assert loop.run_until_complete(t) == "x"
        assert log == ["ran"]
    finally:
        cleanup_loop(loop)


def test_factory_direct_call_for_other_loop(run: Any, loop_factory: Any) -> None:
    rec = Recorder()
    factory = ac.create_eager_task_factory(rec)
    log: list[str] = []

    async def coro() -> str:
        log.append("ran")
        return "y"

    other = loop_factory()
    try:

        async def main() -> Any:
            t = factory(other, coro())
            assert log == []
            assert len(rec.calls) == 1  # no ghost either: the loop check comes first
            assert rec.calls[0]["loop"] is other
            assert t.get_loop() is other
            assert t not in asyncio.all_tasks()
            return t

        t = run(main)
        assert other.run_until_complete(t) == "y"
        assert log == ["ran"]
    finally:
        cleanup_loop(other)


def test_run_coroutine_threadsafe_into_eager_loop(loop_factory: Any) -> None:
    """A loop running in another thread: run_coroutine_threadsafe creates the task from
    a plain callback on that loop (ghost mode)."""
    loop = loop_factory()
    loop.set_task_factory(ac.eager_task_factory)
    started = threading.Event()
    seen: list[Any] = []

    def runner() -> None:
        asyncio.set_event_loop(loop)
        loop.call_soon(started.set)
        loop.run_forever()

    async def child(v: int) -> int:
        seen.append(("before", asyncio.current_task(), threading.get_ident()))
        await asyncio.sleep(0)
        seen.append(("after", asyncio.current_task(), threading.get_ident()))
        return v * 2

    async def sync_child() -> str:
        seen.append(("sync", asyncio.current_task(), threading.get_ident()))
        return "s"

    th = threading.Thread(target=runner)
    th.start()
    try:
        assert started.wait(5)
        assert asyncio.run_coroutine_threadsafe(child(21), loop).result(5) == 42
        assert asyncio.run_coroutine_threadsafe(sync_child(), loop).result(5) == "s"
        (_, ghost, tid), (_, task, tid2), (_, ghost2, tid3) = seen
        assert tid == tid2 == tid3 == th.ident
        assert ghost is not None and ghost is not task and ghost2 is ghost
        assert isinstance(task, asyncio.Task)
    finally:
        loop.call_soon_threadsafe(loop.stop)
        th.join(5)
        cleanup_loop(loop)


# ---------------------------------------------------------------------------
# Custom Task subclasses, custom/other factories (§4, §7)
# ---------------------------------------------------------------------------


class MyTask(asyncio.Task):  # type: ignore[type-arg]
    made: list[Any] = []

    def __init__(self, coro: Any, *, loop: Any = None, **kwargs: Any) -> None:
        super().__init__(coro, loop=loop, **kwargs)
        self.custom = True
        MyTask.made.append(self)


def test_custom_task_subclass(run: Any) -> None:
    MyTask.made.clear()
    factory = ac.create_eager_task_factory(MyTask)

    async def cur() -> Any:
        c = asyncio.current_task()
        await asyncio.sleep(0)
        return c, asyncio.current_task()

    async def main() -> None:
        loop = asyncio.get_running_loop()
        parent = asyncio.current_task()
        assert type(parent) is MyTask  # the main task: loop not running, plain ctor call
        t = asyncio.create_task(cur(), name="mine")
        assert type(t) is MyTask and t.custom and t.get_name() == "mine"
        before, after = await t
        assert before is parent and after is t
        f = asyncio.create_task(returns(1))
        assert isinstance(f, ac.TaskLikeFuture) and not isinstance(f, MyTask)
        t2 = await in_callback(loop, lambda: loop.create_task(cur()))
        ghost, after2 = await t2
        assert type(ghost) is MyTask and ghost in MyTask.made
        assert after2 is t2
        assert type(t2) is MyTask

    run(main, task_factory=factory)
    MyTask.made.clear()


def test_ctor_return_value_passed_through(run: Any) -> None:
    """§4.1: the constructor's return value comes back whatever its type."""

    class Handle:
        def __init__(self, task: Any) -> None:
            self.task = task

    def ctor(coro: Any, *, loop: Any = None, **kwargs: Any) -> Any:
        return Handle(asyncio.Task(coro, loop=loop, **kwargs))

    factory = ac.create_eager_task_factory(ctor)

    async def main() -> None:
        loop = asyncio.get_running_loop()
        h = factory(loop, sleeper(5))
        assert isinstance(h, Handle)
        assert await h.task == 5
        f = factory(loop, returns(6))
        assert isinstance(f, ac.TaskLikeFuture) and f.result() == 6

    run(main)


def test_replacing_existing_factory_no_chaining(run: Any) -> None:
    previous_calls: list[Any] = []

    def previous(loop: Any, coro: Any, **kwargs: Any) -> Any:
        previous_calls.append(coro)
        return asyncio.Task(coro, loop=loop, **kwargs)

    async def main() -> None:
        loop = asyncio.get_running_loop()
        assert loop.get_task_factory() is previous
        loop.set_task_factory(ac.eager_task_factory)
        assert loop.get_task_factory() is ac.eager_task_factory
        previous_calls.clear()  # the main task went through it
        t = asyncio.create_task(sleeper(1))
        f = asyncio.create_task(returns(2))
        g = await in_callback(loop, lambda: loop.create_task(sleeper(3)))
        assert await t == 1 and f.result() == 2 and await g == 3
        assert previous_calls == []
        # called directly, a factory never consults the loop's installed one
        loop.set_task_factory(previous)
        t = ac.eager_task_factory(loop, sleeper(4))
        assert await t == 4
        assert previous_calls == []

    run(main, task_factory=previous)


def test_create_task_through_non_eager_custom_factory(run: Any) -> None:
    """§7: create_task's real-task maker is the original asyncio.create_task, which goes
    through the loop's installed factory (for the ghost and the continuation)."""
    made: list[Any] = []
    log: list[str] = []

    def recording(loop: Any, coro: Any, **kwargs: Any) -> Any:
        made.append((coro, dict(kwargs)))
        return asyncio.Task(coro, loop=loop, **kwargs)

    async def child(tag: str) -> str:
        log.append(tag)
        await asyncio.sleep(0)
        return tag

    async def main() -> None:
        loop = asyncio.get_running_loop()
        made.clear()
        c = child("p")
        t = ac.create_task(c, name="via-factory", eager_start=True)
        assert log == ["p"]  # ran before the factory saw anything
        assert len(made) == 1 and made[0][0] is not c
        assert t.get_name() == "via-factory"
        assert await t == "p"
        made.clear()
        f = ac.create_task(returns(1), eager_start=True)
        assert isinstance(f, ac.TaskLikeFuture) and made == []
        t = await in_callback(loop, lambda: ac.create_task(child("g"), eager_start=True))
        assert len(made) == 2  # the ghost, then the continuation
        assert await t == "g"

    run(main, task_factory=recording)


def test_create_task_eager_start_on_eager_factory_loop(run: Any) -> None:
    seen: list[Any] = []

    async def child() -> str:
        seen.append(asyncio.current_task())
        await asyncio.sleep(0)
        seen.append(asyncio.current_task())
        await asyncio.sleep(0.001)
        return "double"

    async def main() -> None:
        parent = asyncio.current_task()
        t = ac.create_task(child(), name="dbl", eager_start=True)
        assert isinstance(t, asyncio.Task) and t.get_name() == "dbl"
        assert await t == "double"
        assert seen == [parent, t]
        f = ac.create_task(returns(1), eager_start=True, name="s")
        assert isinstance(f, ac.TaskLikeFuture) and f.get_name() == "s"

    run(main, task_factory=ac.eager_task_factory)


@pytest.mark.skipif(not PY_312, reason="native asyncio.eager_task_factory is 3.12+")
def test_create_task_eager_start_on_native_eager_factory(run: Any) -> None:
    seen: list[Any] = []

    async def child() -> str:
        seen.append(asyncio.current_task())
        await asyncio.sleep(0)
        seen.append(asyncio.current_task())
        return "native"

    async def main() -> None:
        parent = asyncio.current_task()
        t = ac.create_task(child(), eager_start=True)
        assert await t == "native"
        assert seen == [parent, t]
        f = ac.create_task(returns(1), eager_start=True)
        assert isinstance(f, ac.TaskLikeFuture)

    run(main, task_factory=asyncio.eager_task_factory)  # type: ignore[attr-defined]


# ---------------------------------------------------------------------------
# enable_eager_tasks() / disable_eager_tasks() end to end (§8.7–§8.9 via §10)
# ---------------------------------------------------------------------------


@pytest.fixture
def compat_clean() -> Any:
    if compat._eager_tasks_enabled:  # pragma: no cover - another test leaked state
        pytest.skip("eager tasks already enabled")
    before = (
        asyncio.create_task,
        getattr(asyncio, "eager_task_factory", None),
        getattr(asyncio, "create_eager_task_factory", None),
    )
    yield before
    compat.disable_eager_tasks()
    after = (
        asyncio.create_task,
        getattr(asyncio, "eager_task_factory", None),
        getattr(asyncio, "create_eager_task_factory", None),
    )
    assert after == before
    assert not compat._eager_tasks_enabled


def test_enable_eager_tasks_end_to_end(compat_clean: Any, loop_factory: Any) -> None:
    original_create_task = compat_clean[0]
    compat.enable_eager_tasks()
    compat.enable_eager_tasks()  # idempotent
    assert compat._eager_tasks_enabled
    assert asyncio.tasks.create_task is original_create_task
    assert asynkit.tools.create_task is original_create_task
    if not PY_312:
        assert asyncio.eager_task_factory is ac.eager_task_factory  # type: ignore[attr-defined]
        assert asyncio.create_eager_task_factory is ac.create_eager_task_factory  # type: ignore[attr-defined]
        assert asyncio.create_task is ac.create_task
    elif PY_314:  # pragma: no cover - 3.14
        assert asyncio.create_task is original_create_task

    seen: list[Any] = []

    async def child(tag: str) -> str:
        seen.append((tag, asyncio.current_task()))
        await asyncio.sleep(0)
        seen.append((tag, asyncio.current_task()))
        return tag

    async def main() -> None:
        loop = asyncio.get_running_loop()
        parent = asyncio.current_task()
        t = asyncio.create_task(child("e"), eager_start=True, name="en")
        assert seen == [("e", parent if not PY_312 else t)]
        assert t.get_name() == "en"
        assert await t == "e"
        assert seen[-1] == ("e", t)
        seen.clear()
        t = asyncio.create_task(child("l"), eager_start=False)
        assert seen == []
        await t

        # from a plain callback (no current task)
        seen.clear()
        t = await in_callback(loop, lambda: asyncio.create_task(child("g"), eager_start=True))
        assert seen[0][1] is not None
        assert await t == "g"
        if not PY_312:
            assert seen[0][1] is not t  # asynkit's ghost
        else:
            assert seen[0][1] is t  # native semantics on 3.12/3.13
        # the factory path through asyncio's (possibly asynkit's) eager_task_factory,
        # combined with eager_start: no recursion (pitfall 5)
        loop.set_task_factory(asyncio.eager_task_factory)  # type: ignore[attr-defined]
        try:
            seen.clear()
            t = asyncio.create_task(child("f"), eager_start=True)
            assert seen == [("f", parent if not PY_312 else t)]
            assert await t == "f"
            f = asyncio.create_task(returns(1))
            assert f.done() and f.result() == 1
        finally:
            loop.set_task_factory(None)

    loop = loop_factory()
    try:
        loop.run_until_complete(main())
    finally:
        cleanup_loop(loop)
    compat.disable_eager_tasks()
    assert not compat._eager_tasks_enabled
    if not PY_312:
        assert not hasattr(asyncio, "eager_task_factory")
        assert not hasattr(asyncio, "create_eager_task_factory")


# ---------------------------------------------------------------------------
# Engines: the eager machinery builds its CoroStart through the module global (§10)
# ---------------------------------------------------------------------------


def test_engine_swap_takes_effect(run: Any, patch_corostart: Any) -> None:
    made: list[Any] = []

    def counting(*args: Any, **kwargs: Any) -> Any:
        made.append(args[0])
        return patch_corostart(*args, **kwargs)

    async def main() -> None:
        loop = asyncio.get_running_loop()
        ac.CoroStart = counting  # restored by patch_corostart's monkeypatch
        asyncio.create_task(returns(1))
        await asyncio.create_task(sleeper(1))
        await in_callback(loop, lambda: loop.create_task(returns(2)))
        ac.create_task(returns(3), eager_start=True)
        ac.eager_task_factory(loop, returns(4))
        ac.create_task(returns(5))  # not eager: no CoroStart

    run(main, task_factory=ac.eager_task_factory)
    # one per eager start (the lazy create_task above still went through the factory)
    assert len(made) == 6
