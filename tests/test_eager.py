"""coro_await, eager helpers, TaskLikeFuture, eager task factory and create_task.

coroutine.md §5, §6, §9 and eager-tasks.md §2–§7. Every test runs with
``asynkit.coroutine.CoroStart`` swapped to each implementation (``patch_corostart``).
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import gc
import inspect
import sys
import types
import warnings
from typing import Any

import pytest

import asynkit
import asynkit.coroutine as ac

PY_311 = sys.version_info >= (3, 11)
PY_312 = sys.version_info >= (3, 12)

VAR: contextvars.ContextVar[Any] = contextvars.ContextVar("eager_var", default="unset")

pytestmark = pytest.mark.usefixtures("patch_corostart")


async def returns(value: Any) -> Any:
    return value


async def raises(exc: BaseException) -> Any:
    raise exc


async def sleeper(value: Any, delay: float = 0) -> Any:
    await asyncio.sleep(delay)
    return value


class Spy:
    """Stand-in for the CoroStart global that records construction (§12)."""

    def __init__(self, impl: Any) -> None:
        self.impl = impl
        self.calls = 0
        self.items: list[Any] = []

    def __getitem__(self, item: Any) -> Spy:
        self.items.append(item)
        return self

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        self.calls += 1
        return self.impl(*args, **kwargs)


@pytest.fixture
def spy(patch_corostart: Any, monkeypatch: pytest.MonkeyPatch) -> Spy:
    s = Spy(patch_corostart)
    monkeypatch.setattr(ac, "CoroStart", s)
    return s


# ---------------------------------------------------------------------------
# coro_await (§5)
# ---------------------------------------------------------------------------


def test_coro_await_is_coroutine_function() -> None:
    assert inspect.iscoroutinefunction(ac.coro_await)
    assert asynkit.coro_await is ac.coro_await


def test_coro_await_basic(run: Any) -> None:
    async def main() -> None:
        assert await ac.coro_await(returns(1)) == 1
        assert await ac.coro_await(sleeper((1, 2))) == (1, 2)
        err = ValueError("x")
        with pytest.raises(ValueError) as info:
            await ac.coro_await(raises(err))
        assert info.value is err

    run(main)


def test_coro_await_nothing_runs_before_driven(run: Any) -> None:
    log: list[str] = []

    async def coro() -> None:
        log.append("ran")

    async def main() -> None:
        c = ac.coro_await(coro())
        assert log == []
        await c
        assert log == ["ran"]

    run(main)


def test_coro_await_context(run: Any) -> None:
    async def my_method() -> None:
        VAR.set("foo")
        await asyncio.sleep(0)
        assert VAR.get() == "foo"
        VAR.set("foo2")

    async def main() -> None:
        context = contextvars.copy_context()
        VAR.set("bar")
        await ac.coro_await(my_method(), context=context)
        assert VAR.get() == "bar"
        assert context.get(VAR) == "foo2"

        # without context: changes visible to the caller
        await ac.coro_await(my_method())
        assert VAR.get() == "foo2"

    run(main)


def test_coro_await_context_cleanup(run: Any) -> None:
    async def coro() -> None:
        try:
            await asyncio.sleep(10)
        finally:
            VAR.set("cleanup")

    async def main() -> None:
        ctx = contextvars.copy_context()
        t = asyncio.get_running_loop().create_task(ac.coro_await(coro(), context=ctx))
        await asyncio.sleep(0)
        t.cancel()
        with pytest.raises(asyncio.CancelledError):
            await t
        assert ctx[VAR] == "cleanup"
        assert VAR.get() == "unset"

    run(main)


def test_coro_await_cancel_task(run: Any) -> None:
    async def coro() -> str:
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            return "caught"
        return "no"

    async def main() -> None:
        t = asyncio.get_running_loop().create_task(ac.coro_await(coro()))
        await asyncio.sleep(0)
        t.cancel()
        assert await t == "caught"

    run(main)


def test_coro_await_looks_up_corostart(spy: Spy, run: Any) -> None:
    async def main() -> None:
        assert await ac.coro_await(returns(1)) == 1

    run(main)
    assert spy.calls == 1


# ---------------------------------------------------------------------------
# coro_eager (§6.1)
# ---------------------------------------------------------------------------


def test_coro_eager_ordering(run: Any) -> None:
    log: list[Any] = []

    async def coro() -> str:
        log.append(1)
        await asyncio.sleep(0.01)
        log.append(2)
        return "r"

    async def main() -> None:
        log.append("a")
        t = ac.coro_eager(coro())
        log.append("b")
        await asyncio.sleep(0.001)
        log.append("c")
        assert await t == "r"

    run(main)
    assert log == ["a", 1, "b", "c", 2]


def test_coro_eager_done_returns_future(run: Any) -> None:
    calls: list[Any] = []

    def create_task(c: Any) -> Any:  # pragma: no cover - must not be called
        calls.append(c)
        raise AssertionError("create_task called")

    async def main() -> None:
        f = ac.coro_eager(returns(4), create_task=create_task)
        assert isinstance(f, asyncio.Future)
        assert not isinstance(f, asyncio.Task)
        assert f.done()
        assert await f == 4
        err = KeyError("k")
        f = ac.coro_eager(raises(err), create_task=create_task)
        assert f.done()
        with pytest.raises(KeyError) as info:
            await f
        assert info.value is err

    run(main)
    assert calls == []


def test_coro_eager_task_named_eager_task(run: Any) -> None:
    async def main() -> None:
        t = ac.coro_eager(sleeper(5))
        assert isinstance(t, asyncio.Task)
        assert t.get_name() == "eager_task"
        assert not t.done()
        assert await t == 5

    run(main)


def test_coro_eager_custom_create_task(run: Any) -> None:
    calls: list[Any] = []

    async def main() -> None:
        def create_task(c: Any) -> Any:
            calls.append(c)
            assert inspect.iscoroutine(c)
            return asyncio.get_running_loop().create_task(c, name="custom")

        t = ac.coro_eager(sleeper(6), create_task=create_task)
        assert t.get_name() == "custom"
        assert await t == 6

    run(main)
    assert len(calls) == 1


def test_coro_eager_exception_after_suspend(run: Any) -> None:
    async def coro() -> None:
        await asyncio.sleep(0)
        raise ValueError("late")

    async def main() -> None:
        t = ac.coro_eager(coro())
        with pytest.raises(ValueError, match="late"):
            await t

    run(main)


def test_coro_eager_context_copy(run: Any) -> None:
    async def coro() -> Any:
        seen = VAR.get()
        obj = object()
        VAR.set(obj)
        await asyncio.sleep(0)
        assert VAR.get() is obj
        VAR.set("after")
        return seen

    async def main() -> None:
        VAR.set("caller")
        t = ac.coro_eager(coro())
        assert VAR.get() == "caller"
        assert await t == "caller"
        assert VAR.get() == "caller"

    run(main)


def test_coro_eager_explicit_context(run: Any) -> None:
    async def coro() -> Any:
        seen = VAR.get()
        VAR.set("before")
        await asyncio.sleep(0)
        VAR.set("after")
        return seen

    async def main() -> None:
        ctx = contextvars.Context()
        ctx.run(VAR.set, "ctxval")
        t = ac.coro_eager(coro(), context=ctx)
        assert ctx[VAR] == "before"
        assert await t == "ctxval"
        assert ctx[VAR] == "after"
        assert VAR.get() == "unset"

    run(main)


def test_coro_eager_no_loop_done() -> None:
    # the coroutine runs, then as_future() needs a running loop
    log: list[str] = []

    async def coro() -> None:
        log.append("ran")

    with pytest.raises(RuntimeError):
        ac.coro_eager(coro())
    assert log == ["ran"]


def test_coro_eager_looks_up_corostart(spy: Spy, run: Any) -> None:
    async def main() -> None:
        assert await ac.coro_eager(returns(1)) == 1
        assert await ac.eager(returns(2)) == 2
        assert await ac.func_eager(returns)(3) == 3
        with ac.eager_ctx(returns(4)) as f:
            assert await f == 4

    run(main)
    assert spy.calls == 4


# ---------------------------------------------------------------------------
# func_eager / eager / eager_ctx (§6.2–6.4)
# ---------------------------------------------------------------------------


def test_func_eager_wraps(run: Any) -> None:
    async def my_func(x: int) -> int:
        """Doc."""
        await asyncio.sleep(0)
        return x * 2

    wrapped = ac.func_eager(my_func)
    assert not inspect.iscoroutinefunction(wrapped)
    assert wrapped.__name__ == "my_func"
    assert wrapped.__qualname__ == my_func.__qualname__
    assert wrapped.__doc__ == "Doc."
    assert wrapped.__wrapped__ is my_func

    async def main() -> None:
        assert await wrapped(4) == 8

    run(main)


def test_func_eager_method_and_create_task(run: Any) -> None:
    calls: list[Any] = []

    def ct(c: Any) -> Any:
        calls.append(c)
        return asyncio.get_running_loop().create_task(c)

    class K:
        def __init__(self) -> None:
            self.log: list[str] = []

        @ac.func_eager
        async def method(self, v: int) -> int:
            self.log.append("start")
            await asyncio.sleep(0)
            return v

        async def other(self) -> int:
            await asyncio.sleep(0)
            return 7

        other_eager = ac.func_eager(other, create_task=ct)

    async def main() -> None:
        k = K()
        t = k.method(3)
        assert k.log == ["start"]
        assert await t == 3
        assert await k.other_eager() == 7

    run(main)
    assert len(calls) == 1


def test_eager_dispatch(run: Any) -> None:
    log: list[Any] = []

    @ac.eager
    async def deco(x: int) -> int:
        log.append(("deco", x))
        await asyncio.sleep(0)
        return x

    assert isinstance(deco, types.FunctionType)
    assert deco.__name__ == "deco"

    async def plain() -> int:
        log.append("plain")
        await asyncio.sleep(0)
        return 1

    async def main() -> None:
        t = deco(1)
        assert log == [("deco", 1)]
        assert await t == 1
        t2 = ac.eager(plain())
        assert log[-1] == "plain"
        assert await t2 == 1

    run(main)


def test_eager_create_task_passthrough(run: Any) -> None:
    calls: list[Any] = []

    def ct(c: Any) -> Any:
        calls.append(c)
        return asyncio.get_running_loop().create_task(c)

    async def main() -> None:
        assert await ac.eager(sleeper(1), create_task=ct) == 1
        assert await ac.eager(sleeper, create_task=ct)(2) == 2
        assert await ac.eager(returns(3), create_task=ct) == 3

    run(main)
    assert len(calls) == 2


class _Obj:
    async def method(self) -> None:  # pragma: no cover
        pass

    @classmethod
    async def cmethod(cls) -> None:  # pragma: no cover
        pass


@types.coroutine
def _gen_coro() -> Any:
    yield


@pytest.mark.parametrize(
    "make",
    [
        lambda: _Obj().method,
        lambda: _Obj.__dict__["cmethod"],
        lambda: _Obj.cmethod,
        _gen_coro,
        lambda: 1,
        lambda: "str",
        lambda: None,
        lambda: functools.partial(returns, 1),
        lambda: print,
    ],
    ids=[
        "bound",
        "classmethod-obj",
        "bound-classmethod",
        "gen-coro",
        "int",
        "str",
        "None",
        "partial",
        "builtin",
    ],
)
def test_eager_type_error(make: Any) -> None:
    arg = make()
    with pytest.raises(TypeError, match=r"^need coroutine or function$"):
        ac.eager(arg)
    if inspect.isgenerator(arg):
        arg.close()


def test_eager_ctx_done(run: Any) -> None:
    async def main() -> None:
        cm = ac.eager_ctx(returns(1))
        with cm as f:
            assert f.done()
        assert not f.cancelled()
        assert await f == 1

    run(main)


def test_eager_ctx_cancels(run: Any) -> None:
    log: list[str] = []

    async def coro() -> None:
        log.append("start")
        await asyncio.sleep(10)

    async def main() -> None:
        cm = ac.eager_ctx(coro(), msg="bye")
        assert log == ["start"]
        with cm as t:
            assert isinstance(t, asyncio.Task)
        with pytest.raises(asyncio.CancelledError) as info:
            await t
        assert t.cancelled()
        if sys.version_info >= (3, 11):
            # 3.10's Task drops the cancel message when it finishes cancelled.
            assert info.value.args == ("bye",)

        with pytest.raises(ZeroDivisionError):
            with ac.eager_ctx(coro()) as t2:
                1 / 0  # noqa: B018
        with pytest.raises(asyncio.CancelledError):
            await t2

        # awaited inside the block: nothing to cancel
        with ac.eager_ctx(sleeper(3)) as t3:
            assert await t3 == 3

    run(main)


def test_eager_ctx_create_task(run: Any) -> None:
    calls: list[Any] = []

    def ct(c: Any) -> Any:
        calls.append(c)
        return asyncio.get_running_loop().create_task(c)

    async def main() -> None:
        with ac.eager_ctx(sleeper(1), create_task=ct) as t:
            assert await t == 1

    run(main)
    assert len(calls) == 1


# ---------------------------------------------------------------------------
# TaskLikeFuture (§9.1, eager-tasks §3)
# ---------------------------------------------------------------------------


def test_task_like_future_basics(run: Any) -> None:
    async def main() -> None:
        f = ac.TaskLikeFuture()
        assert isinstance(f, asyncio.Future)
        assert not isinstance(f, asyncio.Task)
        assert asyncio.isfuture(f)
        assert f.get_loop() is asyncio.get_running_loop()
        assert not f.done()
        assert f.get_name() == f"TaskLikeFuture-{id(f)}"
        f.set_name("n")
        assert f.get_name() == "n"
        f.set_name(None)
        assert f.get_name() == f"TaskLikeFuture-{id(f)}"
        f.set_name(123)
        assert f.get_name() == 123  # stored as-is
        ctx = f.get_context()
        assert isinstance(ctx, contextvars.Context)
        assert len(ctx) == 0
        assert f.get_context() is not ctx  # a brand-new one each time
        full = contextvars.copy_context()
        full.run(VAR.set, "x")
        f.set_context(full)
        assert f.get_context() is full
        f.attr = 1  # has a __dict__
        f._log_destroy_pending = False
        f.set_result(2)
        assert await f == 2
        assert f.cancel() is False
        assert repr(f) == "<TaskLikeFuture finished result=2>"

    run(main)


def test_task_like_future_ctor(run: Any) -> None:
    async def main() -> None:
        ctx = contextvars.copy_context()
        ctx.run(VAR.set, "v")
        f = ac.TaskLikeFuture(name="nm", context=ctx)
        assert f.get_name() == "nm"
        assert f.get_context() is ctx
        empty = contextvars.Context()
        f = ac.TaskLikeFuture(context=empty)
        got = f.get_context()
        assert isinstance(got, contextvars.Context) and len(got) == 0

        src = asyncio.get_running_loop().create_future()
        src.set_result((1, 2))
        f = ac.TaskLikeFuture(src)
        assert f.done() and f.result() == (1, 2)

        err = ValueError("e")
        src = asyncio.get_running_loop().create_future()
        src.set_exception(err)
        f = ac.TaskLikeFuture(src)
        assert f.exception() is err
        src.exception()

        pending = asyncio.get_running_loop().create_future()
        f = ac.TaskLikeFuture(pending)
        assert not f.done()
        pending.set_result(1)
        await asyncio.sleep(0)
        assert not f.done()  # no chaining
        f.cancel()

        cs = ac.CoroStart(returns(9))
        f = ac.TaskLikeFuture(cs, name="cs")
        assert f.result() == 9
        cs = ac.CoroStart(raises(KeyError("k")))
        f = ac.TaskLikeFuture(cs)
        assert isinstance(f.exception(), KeyError)

        cerr = asyncio.CancelledError("sync")
        f = ac.TaskLikeFuture(ac.CoroStart(raises(cerr)))
        assert f.done() and not f.cancelled()
        with pytest.raises(asyncio.CancelledError):
            await f

    run(main)


def test_task_like_future_generic_and_callbacks(run: Any) -> None:
    async def main() -> None:
        alias = ac.TaskLikeFuture[int]
        f = alias()
        f.set_result(1)
        log: list[Any] = []
        f.add_done_callback(lambda fut: log.append(fut.result()))
        assert log == []  # never inline
        await asyncio.sleep(0)
        assert log == [1]
        r = await asyncio.gather(f, asyncio.wait_for(f, timeout=0))
        assert r == [1, 1]

    run(main)


def test_task_like_future_bad_future(run: Any) -> None:
    async def main() -> None:
        with pytest.raises((TypeError, AttributeError)):
            ac.TaskLikeFuture(1)

    run(main)


# ---------------------------------------------------------------------------
# eager task factory (§9.2, §9.3, eager-tasks §2, §4–§6)
# ---------------------------------------------------------------------------


def test_eager_task_factory_identity() -> None:
    assert asynkit.eager_task_factory is ac.eager_task_factory
    assert asynkit.create_eager_task_factory is ac.create_eager_task_factory
    assert asynkit.TaskLikeFuture is ac.TaskLikeFuture
    assert asynkit.create_task is ac.create_task
    f1 = ac.create_eager_task_factory(asyncio.Task)
    f2 = ac.create_eager_task_factory(asyncio.Task)
    assert f1 is not f2
    assert callable(f1)
    if not PY_312:
        assert not hasattr(asyncio, "eager_task_factory")


def test_factory_outcomes(run: Any) -> None:
    err = ValueError("sync")

    async def main() -> None:
        loop = asyncio.get_running_loop()
        f = asyncio.create_task(returns(1))
        assert isinstance(f, ac.TaskLikeFuture)
        assert f.done() and f.result() == 1
        assert f not in asyncio.all_tasks()

        f = asyncio.create_task(raises(err))
        assert isinstance(f, ac.TaskLikeFuture)
        with pytest.raises(ValueError) as info:
            await f
        assert info.value is err

        t = asyncio.create_task(sleeper(2, 0.001))
        assert isinstance(t, asyncio.Task)
        assert not isinstance(t, ac.TaskLikeFuture)
        assert not t.done()
        assert t in asyncio.all_tasks()
        assert await t == 2

        r = await asyncio.gather(
            asyncio.create_task(returns(1)),
            asyncio.create_task(sleeper(2)),
            loop.create_task(returns(3)),
        )
        assert r == [1, 2, 3]
        assert await asyncio.wait_for(asyncio.create_task(returns(4)), timeout=0) == 4
        blocked = asyncio.create_task(sleeper(5, 10))
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(blocked, timeout=0)
        assert blocked.cancelled() or blocked.done()

    run(main, task_factory=ac.eager_task_factory)


def test_factory_names(run: Any) -> None:
    async def main() -> None:
        f = asyncio.create_task(returns(1), name="sync-name")
        assert isinstance(f, ac.TaskLikeFuture)
        assert f.get_name() == "sync-name"
        t = asyncio.create_task(sleeper(1), name="blocked-name")
        assert t.get_name() == "blocked-name"
        await t

    run(main, task_factory=ac.eager_task_factory)


@pytest.mark.skipif(not PY_311, reason="Task context= needs 3.11+")
def test_factory_context(run: Any) -> None:
    async def coro() -> Any:
        seen = VAR.get()
        VAR.set("before")
        await asyncio.sleep(0)
        assert VAR.get() == "before"
        VAR.set("after")
        return seen

    async def sync_coro() -> Any:
        VAR.set("sync")
        return "done"

    async def main() -> None:
        VAR.set("caller")
        ctx = contextvars.copy_context()
        ctx.run(VAR.set, "ctx")
        t = asyncio.create_task(coro(), context=ctx)
        assert ctx[VAR] == "before"
        assert VAR.get() == "caller"
        assert await t == "ctx"
        assert ctx[VAR] == "after"

        ctx2 = contextvars.copy_context()
        f = asyncio.create_task(sync_coro(), context=ctx2)
        assert isinstance(f, ac.TaskLikeFuture)
        assert f.get_context() is ctx2
        assert ctx2[VAR] == "sync"
        assert VAR.get() == "caller"

        # no context given: a private snapshot, caller untouched
        t = asyncio.create_task(coro())
        assert VAR.get() == "caller"
        assert await t == "caller"
        assert VAR.get() == "caller"

    run(main, task_factory=ac.eager_task_factory)


@pytest.mark.skipif(not PY_311, reason="Task context= needs 3.11+")
def test_factory_entered_context_raises(run: Any) -> None:
    log: list[str] = []

    async def coro() -> None:
        log.append("ran")

    async def main() -> None:
        ctx = contextvars.copy_context()

        def inside() -> None:
            c = coro()
            with pytest.raises(RuntimeError):
                asyncio.get_running_loop().create_task(c, context=ctx)
            c.close()

        ctx.run(inside)
        assert log == []

    run(main, task_factory=ac.eager_task_factory)


def test_factory_ordering(run: Any) -> None:
    log: list[Any] = []

    async def child() -> None:
        log.append(1)
        await asyncio.sleep(0.01)
        log.append(2)

    async def main() -> None:
        log.append("a")
        t = asyncio.create_task(child())
        log.append("b")
        await asyncio.sleep(0.001)
        log.append("c")
        await t

    run(main, task_factory=ac.eager_task_factory)
    assert log == ["a", 1, "b", "c", 2]


def test_factory_continuation_first_step(run: Any) -> None:
    """A coroutine doing sleep(0) in its eager start resumes two iterations later."""
    log: list[Any] = []

    async def child() -> None:
        log.append("child-start")
        await asyncio.sleep(0)
        log.append("child-resumed")

    async def main() -> None:
        t = asyncio.create_task(child())
        for i in range(3):
            log.append(i)
            await asyncio.sleep(0)
        await t

    run(main, task_factory=ac.eager_task_factory)
    assert log == ["child-start", 0, 1, "child-resumed", 2]


def test_factory_current_task(run: Any) -> None:
    seen: dict[str, Any] = {}

    async def child(key: str) -> None:
        seen[key + "-before"] = asyncio.current_task()
        await asyncio.sleep(0)
        seen[key + "-after"] = asyncio.current_task()

    async def main() -> None:
        loop = asyncio.get_running_loop()
        parent = asyncio.current_task()
        t = asyncio.create_task(child("p"))
        assert asyncio.current_task() is parent
        await t
        assert seen["p-before"] is parent
        assert seen["p-after"] is t

        # ghost task: eager start from a plain loop callback (no current task)
        holder: list[Any] = []
        done = loop.create_future()

        def callback() -> None:
            assert asyncio.current_task() is None
            holder.append(loop.create_task(child("g")))
            assert asyncio.current_task() is None
            holder.append(loop.create_task(child("g2")))
            done.set_result(None)

        loop.call_soon(callback)
        await done
        await asyncio.gather(*holder)
        ghost = seen["g-before"]
        assert ghost is not None
        assert ghost is not parent
        assert ghost is not holder[0]
        assert seen["g-after"] is holder[0]
        assert seen["g2-before"] is ghost  # one ghost per loop, reused
        assert seen["g2-after"] is holder[1]

    run(main, task_factory=ac.eager_task_factory)


def test_factory_not_eager_when_loop_not_running(loop_factory: Any) -> None:
    seen: list[Any] = []

    async def main() -> None:
        seen.append(asyncio.get_running_loop())
        seen.append(asyncio.current_task())

    loop = loop_factory()
    try:
        loop.set_task_factory(ac.eager_task_factory)
        t = loop.create_task(main())
        assert isinstance(t, asyncio.Task)
        assert seen == []
        loop.run_until_complete(t)
        assert seen == [loop, t]
    finally:
        loop.close()


def test_factory_other_loop_not_eager(run: Any, loop_factory: Any) -> None:
    log: list[str] = []

    async def coro() -> str:
        log.append("ran")
        return "other"

    other = loop_factory()
    other.set_task_factory(ac.eager_task_factory)
    try:

        async def main() -> Any:
            t = other.create_task(coro())
            assert log == []
            assert isinstance(t, asyncio.Task)
            assert t.get_loop() is other
            return t

        t = run(main, task_factory=ac.eager_task_factory)
        assert other.run_until_complete(t) == "other"
        assert log == ["ran"]
    finally:
        other.close()


def test_factory_called_directly(run: Any) -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        t = ac.eager_task_factory(loop, sleeper(3))
        assert isinstance(t, asyncio.Task)
        assert await t == 3
        f = ac.eager_task_factory(loop, returns(4))
        assert isinstance(f, ac.TaskLikeFuture)
        assert f.result() == 4

    run(main)


def test_custom_task_constructor_kwargs(run: Any) -> None:
    calls: list[dict[str, Any]] = []

    class MyTask(asyncio.Task):  # type: ignore[type-arg]
        pass

    def ctor(coro: Any, *, loop: Any = None, **kwargs: Any) -> Any:
        calls.append(dict(kwargs, loop=loop))
        return MyTask(coro, loop=loop, **kwargs)

    factory = ac.create_eager_task_factory(ctor)

    async def main() -> None:
        loop = asyncio.get_running_loop()
        t = asyncio.create_task(sleeper(1))
        assert isinstance(t, MyTask)
        assert await t == 1
        assert calls[-1]["loop"] is loop
        assert "eager_start" not in calls[-1]
        # direct call with eager_start: stripped for the constructor, eagerness stays on
        log: list[str] = []

        async def c() -> None:
            log.append("ran")
            await asyncio.sleep(0)

        t = factory(loop, c(), eager_start=False)
        assert log == ["ran"]
        assert isinstance(t, MyTask)
        assert "eager_start" not in calls[-1]
        await t
        n = len(calls)
        f = factory(loop, returns(2), eager_start=True)
        assert isinstance(f, ac.TaskLikeFuture)
        assert len(calls) == n  # constructor not called on synchronous completion

    run(main, task_factory=factory)


def test_custom_constructor_ghost(run: Any) -> None:
    made: list[Any] = []

    def ctor(coro: Any, *, loop: Any = None, **kwargs: Any) -> Any:
        t = asyncio.Task(coro, loop=loop, **kwargs)
        made.append(t)
        return t

    factory = ac.create_eager_task_factory(ctor)

    async def child() -> Any:
        cur = asyncio.current_task()
        await asyncio.sleep(0)
        return cur

    async def main() -> None:
        loop = asyncio.get_running_loop()
        fut = loop.create_future()
        loop.call_soon(lambda: fut.set_result(factory(loop, child())))
        t = await fut
        ghost = await t
        assert ghost in made  # the ghost was made by the same constructor
        assert ghost is not t

    # only the factory is called directly, so no need to install it
    run(main)


def test_shutdown_asyncgens_with_factory(loop_factory: Any) -> None:
    log: list[str] = []

    async def agen() -> Any:
        try:
            yield 1
            yield 2
        finally:
            log.append("agen-finally")

    async def main() -> None:
        g = agen()
        assert await g.__anext__() == 1
        main.g = g  # type: ignore[attr-defined]  # keep it alive until shutdown

    loop = loop_factory()
    try:
        loop.set_task_factory(ac.eager_task_factory)
        loop.run_until_complete(main())
        loop.run_until_complete(loop.shutdown_asyncgens())
    finally:
        loop.close()
    assert log == ["agen-finally"]


def test_factory_looks_up_corostart(spy: Spy, run: Any) -> None:
    async def main() -> None:
        f = asyncio.create_task(returns(1))
        assert f.result() == 1
        t = ac.create_task(sleeper(2), eager_start=True)
        assert await t == 2

    run(main, task_factory=ac.eager_task_factory)
    assert spy.calls >= 2


# ---------------------------------------------------------------------------
# create_task (§9.4, eager-tasks §7)
# ---------------------------------------------------------------------------


def test_create_task_lazy(run: Any) -> None:
    log: list[str] = []

    async def coro() -> str:
        log.append("ran")
        return "x"

    async def main() -> None:
        for es in (None, False, 0, ""):
            t = ac.create_task(coro(), name="lazy", eager_start=es)
            assert isinstance(t, asyncio.Task)
            assert not t.done()
            assert log == []
            assert t.get_name() == "lazy"
            assert await t == "x"
            log.clear()
        t = ac.create_task(coro())
        assert not t.done()
        await t

    run(main)


def test_create_task_eager(run: Any) -> None:
    log: list[str] = []

    async def coro() -> str:
        log.append("ran")
        return "x"

    async def main() -> None:
        for es in (True, 1, "yes"):
            f = ac.create_task(coro(), name="eager", eager_start=es)
            assert log == ["ran"]
            assert isinstance(f, ac.TaskLikeFuture)
            assert f.done()
            assert f.get_name() == "eager"
            assert await f == "x"
            log.clear()
        t = ac.create_task(sleeper(3), name="blocked", eager_start=True)
        assert isinstance(t, asyncio.Task)
        assert not t.done()
        assert t.get_name() == "blocked"
        assert await t == 3
        err = KeyError("k")
        f = ac.create_task(raises(err), eager_start=True)
        assert f.done()
        with pytest.raises(KeyError) as info:
            await f
        assert info.value is err

        async def late() -> None:
            await asyncio.sleep(0)
            raise ValueError("late")

        t = ac.create_task(late(), eager_start=True)
        with pytest.raises(ValueError, match="late"):
            await t

    run(main)


def test_create_task_current_task_during_eager(run: Any) -> None:
    seen: list[Any] = []

    async def child() -> None:
        seen.append(asyncio.current_task())
        await asyncio.sleep(0)
        seen.append(asyncio.current_task())

    async def main() -> None:
        loop = asyncio.get_running_loop()
        parent = asyncio.current_task()
        t = ac.create_task(child(), eager_start=True)
        await t
        assert seen == [parent, t]
        seen.clear()
        fut = loop.create_future()
        loop.call_soon(lambda: fut.set_result(ac.create_task(child(), eager_start=True)))
        t = await fut
        await t
        assert seen[0] is not None
        assert seen[0] is not parent and seen[0] is not t
        assert seen[1] is t

    run(main)


@pytest.mark.skipif(not PY_311, reason="Task context= needs 3.11+")
def test_create_task_context(run: Any) -> None:
    async def coro() -> Any:
        seen = VAR.get()
        VAR.set("set")
        return seen

    async def blocked() -> Any:
        seen = VAR.get()
        VAR.set("b1")
        await asyncio.sleep(0)
        VAR.set("b2")
        return seen

    async def main() -> None:
        ctx = contextvars.copy_context()
        ctx.run(VAR.set, "ctx")
        f = ac.create_task(coro(), context=ctx, eager_start=True)
        assert f.result() == "ctx"
        assert f.get_context() is ctx
        assert ctx[VAR] == "set"
        assert VAR.get() == "unset"
        t = ac.create_task(blocked(), context=ctx, eager_start=True)
        assert ctx[VAR] == "b1"
        assert await t == "set"
        assert ctx[VAR] == "b2"
        assert VAR.get() == "unset"
        # lazy with a context
        ctx2 = contextvars.copy_context()
        t = ac.create_task(coro(), context=ctx2)
        assert await t == "unset"
        assert ctx2[VAR] == "set"

    run(main)


@pytest.mark.skipif(PY_311, reason="3.10 only: context is dropped")
def test_create_task_context_dropped_310(run: Any) -> None:  # pragma: no cover - 3.10
    async def coro() -> Any:
        seen = VAR.get()
        VAR.set("set")
        return seen

    async def main() -> None:
        VAR.set("caller")
        ctx = contextvars.Context()
        f = ac.create_task(coro(), context=ctx, eager_start=True)
        assert f.result() == "caller"  # ran in a copy of the creator's context
        assert VAR not in ctx
        assert VAR.get() == "caller"
        got = f.get_context()
        assert isinstance(got, contextvars.Context) and len(got) == 0

    run(main)


def test_create_task_eager_no_loop() -> None:
    log: list[str] = []

    async def coro() -> None:
        log.append("ran")

    c = coro()
    with pytest.raises(RuntimeError):
        ac.create_task(c, eager_start=True)
    assert log == []
    c.close()


def test_create_task_unknown_kwargs(run: Any) -> None:
    async def main() -> None:
        c = returns(1)
        with pytest.raises(TypeError):
            ac.create_task(c, bogus=1)
        c.close()
        # eager & synchronous completion: silently ignored
        f = ac.create_task(returns(2), eager_start=True, bogus=1)
        assert f.result() == 2
        # eager & blocked: raised when the Task is made (after the eager phase)
        log: list[str] = []

        async def blocks() -> None:
            log.append("ran")
            await asyncio.sleep(0)

        with warnings.catch_warnings():
            # the continuation coroutine handed to the failing constructor is never awaited
            warnings.simplefilter("ignore", RuntimeWarning)
            c2 = blocks()
            with pytest.raises(TypeError):
                ac.create_task(c2, eager_start=True, bogus=1)
            assert log == ["ran"]
            del c2
            gc.collect()

    run(main)


def test_create_task_with_factory_installed(run: Any) -> None:
    async def main() -> None:
        t = ac.create_task(returns(1), name="n")
        assert isinstance(t, ac.TaskLikeFuture)  # goes through the loop's eager factory
        assert t.get_name() == "n"

    run(main, task_factory=ac.eager_task_factory)


def test_create_task_bad_coro(run: Any) -> None:
    async def main() -> None:
        with pytest.raises(TypeError):
            ac.create_task(1)
        with pytest.raises((TypeError, AttributeError)):
            f = ac.create_task(1, eager_start=True)
            # a pure CoroStart may capture the failure as the outcome
            await f

    run(main)


def test_ghost_helper_hooks() -> None:
    assert ac._get_ghost_task == ac.GhostTaskHelper.get
    assert isinstance(ac.GhostTaskHelper.tasks, dict)
    assert inspect.iscoroutinefunction(ac.GhostTaskHelper.task_coro)
    assert ac._create_task is asynkit.tools.create_task
    assert callable(ac.coro_eager_task_helper)
