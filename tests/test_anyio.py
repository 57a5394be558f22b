"""Tests for asynkit.experimental.anyio (spec: interrupt-anyio.md §3, §4).

Async tests run on anyio's asyncio backend (stock loop and DefaultSchedulingEventLoop) and
on trio.  Cases where the eagerly started coroutine suspends are asyncio-only (§3.6); on
trio such a start raises a clear RuntimeError instead.  Every test runs with both
CoroStart engines (pure-Python reference and native), swapped into the module's
``CoroStart`` hook.
"""

from __future__ import annotations

import asyncio
import contextvars
import inspect
import sys
from typing import Any

import anyio
import anyio.abc
import pytest

import asynkit
import asynkit.experimental.anyio as eager_anyio
from asynkit.experimental.anyio import (
    EagerTaskGroup,
    TaskStatusForwarder,
    create_eager_task_group,
)
from conftest import corostart_implementations

if sys.version_info < (3, 11):  # pragma: no cover - 3.10
    from exceptiongroup import ExceptionGroup

try:
    from importlib.metadata import version

    ANYIO_VERSION = tuple(int(x) for x in version("anyio").split(".")[:2])
except Exception:  # pragma: no cover
    ANYIO_VERSION = (4, 0)

try:
    import trio  # noqa: F401

    HAVE_TRIO = True
except ImportError:  # pragma: no cover
    HAVE_TRIO = False

CHILD_EXITED = r"[Cc]hild exited without calling task_status.started\(\)"

pytestmark = pytest.mark.anyio


def _backends() -> list[Any]:
    params = [
        pytest.param(("asyncio", {}), id="asyncio"),
        pytest.param(
            ("asyncio", {"loop_factory": asynkit.DefaultSchedulingEventLoop}), id="asyncio-sl"
        ),
    ]
    params.append(
        pytest.param(
            ("trio", {}),
            id="trio",
            marks=[] if HAVE_TRIO else [pytest.mark.skip(reason="trio not installed")],
        )
    )
    return params


@pytest.fixture(params=_backends())
def anyio_backend(request: pytest.FixtureRequest) -> Any:
    return request.param


@pytest.fixture(autouse=True, params=corostart_implementations())
def engine(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setattr(eager_anyio, "CoroStart", request.param)
    return request.param


@pytest.fixture
def asyncio_only(anyio_backend_name: str) -> None:
    if anyio_backend_name != "asyncio":
        pytest.skip("a suspending eager coroutine is asyncio-only (spec §3.6)")


@pytest.fixture
def trio_only(anyio_backend_name: str) -> None:
    if anyio_backend_name != "trio":
        pytest.skip("trio-specific")


class Boom(Exception):
    pass


class FakeStatus:
    def __init__(self) -> None:
        self.values: list[Any] = []

    def started(self, value: Any = None) -> None:
        self.values.append(value)


def on_asyncio() -> bool:
    return asyncio.events._get_running_loop() is not None


def task_count() -> int | None:
    return len(asyncio.all_tasks()) if on_asyncio() else None


# ---------------------------------------------------------------------------
# TaskStatusForwarder (§3.2)
# ---------------------------------------------------------------------------


def test_forwarder_basics() -> None:
    ts = TaskStatusForwarder()
    assert anyio.abc.TaskStatus in TaskStatusForwarder.__mro__  # a Protocol: no isinstance
    assert TaskStatusForwarder.__slots__ == ("forward", "done", "value")
    assert (ts.forward, ts.done, ts.value) == (None, False, None)
    with pytest.raises(RuntimeError, match=CHILD_EXITED):
        ts.get_value()
    ts.started("v")
    assert ts.done and ts.value == "v" and ts.get_value() == "v"
    with pytest.raises(AssertionError):
        ts.started("again")
    ts2 = TaskStatusForwarder()
    ts2.started()
    assert ts2.get_value() is None


def test_forwarder_set_forward_after_started() -> None:
    ts = TaskStatusForwarder()
    ts.started(5)
    fake = FakeStatus()
    ts.set_forward(fake)  # type: ignore[arg-type]
    assert fake.values == [5]
    with pytest.raises(AssertionError):
        ts.set_forward(FakeStatus())  # type: ignore[arg-type]
    assert fake.values == [5]


def test_forwarder_set_forward_before_started() -> None:
    ts = TaskStatusForwarder()
    fake = FakeStatus()
    ts.set_forward(fake)  # type: ignore[arg-type]
    assert fake.values == []
    ts.started("x")
    assert fake.values == ["x"]
    assert ts.done


@pytest.mark.parametrize("before", [True, False])
async def test_forwarder_with_corostart_and_real_start(
    before: bool, engine: Any, asyncio_only: None
) -> None:
    """The user-level recipe of §3.2: CoroStart + set_forward inside a plain tg.start."""

    async def coro(task_status: anyio.abc.TaskStatus[Any]) -> None:
        if before:
            task_status.started("early")
        await anyio.sleep(0)
        if not before:
            task_status.started("late")
        await anyio.sleep(0)

    ts = TaskStatusForwarder()
    cs = engine(coro(ts))
    assert not cs.done()

    async def helper(*, task_status: anyio.abc.TaskStatus[Any]) -> None:
        ts.set_forward(task_status)
        await cs

    async with anyio.create_task_group() as tg:
        value = await tg.start(helper)
    assert value == ("early" if before else "late")


# ---------------------------------------------------------------------------
# EagerTaskGroup class surface (§3.1, §3.3)
# ---------------------------------------------------------------------------


def test_class_surface() -> None:
    assert issubclass(EagerTaskGroup, anyio.abc.TaskGroup)
    assert "_task_group" in EagerTaskGroup.__slots__
    assert not inspect.iscoroutinefunction(EagerTaskGroup.start)
    assert not inspect.iscoroutinefunction(EagerTaskGroup.start_soon)
    assert not hasattr(eager_anyio, "__all__")
    assert "pytest" not in vars(eager_anyio)


async def test_wrapper_instantiation_and_scope(anyio_backend_name: str) -> None:
    inner = anyio.create_task_group()
    etg = EagerTaskGroup(inner)  # instantiable on every anyio (create_task is defined)
    assert isinstance(etg, anyio.abc.TaskGroup)
    assert etg._task_group is inner
    async with etg as entered:
        assert entered is etg
        assert etg.cancel_scope is inner.cancel_scope
        assert etg.cancel_scope is not None


async def test_enter_twice_raises(asyncio_only: None) -> None:
    async with create_eager_task_group() as tg:
        assert isinstance(tg, EagerTaskGroup)
        with pytest.raises(RuntimeError):
            async with tg:
                pass


async def test_create_eager_task_group_scope_live() -> None:
    async with create_eager_task_group() as tg:
        assert tg.cancel_scope is tg._task_group.cancel_scope
        assert tg.cancel_scope is not None
        assert not tg.cancel_scope.cancel_called


async def test_create_task_delegates_or_refuses(asyncio_only: None) -> None:
    log: list[str] = []

    async def body() -> str:
        log.append("ran")
        return "r"

    async with create_eager_task_group() as tg:
        coro = body()
        if hasattr(tg._task_group, "create_task"):
            tg.create_task(coro, name="ct")
            assert log == []  # not eager
        else:
            with pytest.raises((AttributeError, NotImplementedError)):
                tg.create_task(coro)
            assert coro.cr_frame is None  # closed: no "never awaited" warning
    if hasattr(tg._task_group, "create_task"):
        assert log == ["ran"]


# ---------------------------------------------------------------------------
# start_soon (§3.3.1)
# ---------------------------------------------------------------------------


async def test_start_soon_eager_then_continues(asyncio_only: None) -> None:
    log: list[str] = []

    async def child(tag: str) -> None:
        log.append(tag + " start")
        await anyio.sleep(0)
        log.append(tag + " end")

    async with create_eager_task_group() as tg:
        tg.start_soon(child, "a")
        assert log == ["a start"]  # ran up to its first suspension before returning
        tg.start_soon(child, "b")
        assert log == ["a start", "b start"]
    assert sorted(log[2:]) == ["a end", "b end"]

    # compare: a plain anyio task group runs nothing before start_soon returns
    log.clear()
    async with anyio.create_task_group() as plain:
        plain.start_soon(child, "p")
        assert log == []
    assert log == ["p start", "p end"]


async def test_start_soon_return_value(asyncio_only: None) -> None:
    async with create_eager_task_group() as tg:
        result = tg.start_soon(anyio.sleep, 0)
        if ANYIO_VERSION >= (4, 14):
            assert result is not None  # a task handle
        else:
            assert result is None


async def test_start_soon_no_suspension_no_task() -> None:
    log: list[str] = []

    async def child(x: int) -> int:
        log.append(f"child {x}")
        return x

    async with create_eager_task_group() as tg:
        before = task_count()
        assert tg.start_soon(child, 1) is None
        assert log == ["child 1"]
        assert task_count() == before  # no task created
    assert log == ["child 1"]


async def test_start_soon_sync_error_propagates_unwrapped() -> None:
    log: list[str] = []

    async def bad() -> None:
        log.append("bad")
        raise Boom("early")

    async with create_eager_task_group() as tg:
        with pytest.raises(Boom, match="early"):
            tg.start_soon(bad)
        assert not tg.cancel_scope.cancel_called  # the group was not cancelled
        tg.start_soon(lambda: _record(log, "after"))
    assert log == ["bad", "after"]


async def _record(log: list[str], what: str) -> None:
    log.append(what)


async def test_start_soon_func_call_error() -> None:
    def not_a_coroutine_function(x: int) -> Any:
        raise Boom("at call")

    async with create_eager_task_group() as tg:
        with pytest.raises(Boom, match="at call"):
            tg.start_soon(not_a_coroutine_function, 1)


async def test_start_soon_error_after_suspension_goes_to_group(asyncio_only: None) -> None:
    async def bad() -> None:
        await anyio.sleep(0)
        raise Boom("late")

    with pytest.raises(ExceptionGroup) as info:
        async with create_eager_task_group() as tg:
            tg.start_soon(bad)
    assert [type(e) for e in info.value.exceptions] == [Boom]


async def test_start_soon_name_forwarded(asyncio_only: None) -> None:
    names: list[str] = []

    async def child() -> None:
        await anyio.sleep(0)
        names.append(anyio.get_current_task().name)

    async with create_eager_task_group() as tg:
        tg.start_soon(child, name="custom")
        tg.start_soon(child)
    assert names[0] == "custom"
    assert names[1].endswith("child")


async def test_start_soon_context_and_task_identity(asyncio_only: None) -> None:
    var: contextvars.ContextVar[str] = contextvars.ContextVar("var", default="unset")
    seen: list[Any] = []

    async def child() -> None:
        seen.append(("eager", anyio.get_current_task().id, var.get()))
        var.set("child")
        await anyio.sleep(0)
        seen.append(("cont", anyio.get_current_task().id, var.get()))

    me = anyio.get_current_task().id
    async with create_eager_task_group() as tg:
        tg.start_soon(child)
        assert var.get() == "child"  # change made before the suspension leaked to us
    assert seen[0] == ("eager", me, "unset")
    assert seen[1][0] == "cont" and seen[1][1] != me
    assert seen[1][2] == "child"  # the child's context is a copy taken after the eager part


# ---------------------------------------------------------------------------
# start (§3.3.2)
# ---------------------------------------------------------------------------


async def test_start_is_plain_and_eager() -> None:
    log: list[str] = []

    async def child(*, task_status: anyio.abc.TaskStatus[Any]) -> None:
        log.append("eager")
        task_status.started("v")

    async with create_eager_task_group() as tg:
        coro = tg.start(child)
        assert inspect.iscoroutine(coro)
        assert log == ["eager"]  # ran at call time
        assert await coro == "v"


async def test_start_started_no_suspension_no_task() -> None:
    async def child(x: int, *, task_status: anyio.abc.TaskStatus[Any]) -> str:
        task_status.started(x * 2)
        return "discarded"

    async with create_eager_task_group() as tg:
        before = task_count()
        coro = tg.start(child, 21)
        assert await coro == 42
        assert task_count() == before


async def test_start_started_then_raise_goes_to_group() -> None:
    async def child(*, task_status: anyio.abc.TaskStatus[Any]) -> None:
        task_status.started("ok")
        raise Boom("after started")

    values: list[Any] = []
    with pytest.raises(ExceptionGroup) as info:
        async with create_eager_task_group() as tg:
            values.append(await tg.start(child))
    assert values == ["ok"]
    assert [type(e) for e in info.value.exceptions] == [Boom]


async def test_start_raise_before_started_direct() -> None:
    log: list[str] = []

    async def child(*, task_status: anyio.abc.TaskStatus[Any]) -> None:
        raise Boom("before")

    async with create_eager_task_group() as tg:
        coro = tg.start(child)
        with pytest.raises(Boom, match="before"):
            await coro
        assert not tg.cancel_scope.cancel_called
        log.append("group alive")
    assert log == ["group alive"]


async def test_start_no_started_no_suspension() -> None:
    async def child(*, task_status: anyio.abc.TaskStatus[Any]) -> int:
        return 1

    async with create_eager_task_group() as tg:
        with pytest.raises(RuntimeError, match=CHILD_EXITED):
            await tg.start(child)


async def test_start_without_task_status_param() -> None:
    async def child() -> None:  # pragma: no cover - never called successfully
        pass

    async with create_eager_task_group() as tg:
        with pytest.raises(TypeError):
            tg.start(child)


async def test_start_suspended_started_later(asyncio_only: None) -> None:
    log: list[str] = []

    async def child(*, task_status: anyio.abc.TaskStatus[Any]) -> None:
        log.append("eager")
        await anyio.sleep(0)
        log.append("cont")
        task_status.started("late")
        await anyio.sleep(0)
        log.append("done")

    async with create_eager_task_group() as tg:
        coro = tg.start(child)
        assert log == ["eager"]
        await anyio.sleep(0.01)
        assert log == ["eager"]  # no task yet: no progress until awaited
        assert await coro == "late"
        assert log == ["eager", "cont"]
    assert log == ["eager", "cont", "done"]


async def test_start_suspended_started_early(asyncio_only: None) -> None:
    log: list[str] = []

    async def child(*, task_status: anyio.abc.TaskStatus[Any]) -> None:
        log.append("eager")
        task_status.started("early")
        await anyio.sleep(0.01)
        log.append("cont")

    async with create_eager_task_group() as tg:
        coro = tg.start(child)
        assert await coro == "early"
        assert log == ["eager"]  # returned before the child continued
    assert log == ["eager", "cont"]


async def test_start_suspended_errors(asyncio_only: None) -> None:
    async def raise_before(*, task_status: anyio.abc.TaskStatus[Any]) -> None:
        await anyio.sleep(0)
        raise Boom("before started")

    async def no_started(*, task_status: anyio.abc.TaskStatus[Any]) -> None:
        await anyio.sleep(0)

    async with create_eager_task_group() as tg:
        with pytest.raises(Boom, match="before started"):
            await tg.start(raise_before)
        with pytest.raises(RuntimeError, match=CHILD_EXITED):
            await tg.start(no_started)

    async def raise_after(*, task_status: anyio.abc.TaskStatus[Any]) -> None:
        await anyio.sleep(0)
        task_status.started(3)
        await anyio.sleep(0)
        raise Boom("after started")

    values = []
    with pytest.raises(ExceptionGroup) as info:
        async with create_eager_task_group() as tg:
            values.append(await tg.start(raise_after))
    assert values == [3]
    assert [type(e) for e in info.value.exceptions] == [Boom]


async def test_package_page_example(asyncio_only: None) -> None:
    out: list[str] = []

    async def func(task_status: anyio.abc.TaskStatus[Any]) -> None:
        out.append("hello")
        task_status.started("world")
        await anyio.sleep(0.01)
        out.append("goodbye")

    async with create_eager_task_group() as tg:
        start = tg.start(func)
        out.append("fine")
        out.append(await start)
    out.append("world")
    assert out == ["hello", "fine", "world", "goodbye", "world"]


# ---------------------------------------------------------------------------
# cancel scopes, nesting, wrapped groups (§3.3, §3.4)
# ---------------------------------------------------------------------------


async def test_cancel_scope_cancels_eager_children(asyncio_only: None) -> None:
    log: list[str] = []

    async def child(tag: str, *, task_status: Any = None) -> None:
        log.append(tag)
        if task_status is not None:
            task_status.started()
        try:
            await anyio.sleep(10)
        except anyio.get_cancelled_exc_class():
            log.append(tag + " cancelled")
            raise

    with anyio.fail_after(5):
        async with create_eager_task_group() as tg:
            tg.start_soon(child, "soon")
            await tg.start(child, "start")
            await anyio.sleep(0.01)
            tg.cancel_scope.cancel()
    assert sorted(log) == ["soon", "soon cancelled", "start", "start cancelled"]


async def test_outer_move_on_after(asyncio_only: None) -> None:
    log: list[str] = []
    with anyio.move_on_after(0.02) as scope:
        async with create_eager_task_group() as tg:
            tg.start_soon(anyio.sleep_forever)
            log.append("started")
    assert scope.cancel_called
    assert log == ["started"]


async def test_nested_eager_groups(asyncio_only: None) -> None:
    log: list[str] = []

    async def leaf(tag: str) -> None:
        log.append(tag)
        await anyio.sleep(0)
        log.append(tag + " end")

    async def branch() -> None:
        log.append("branch")
        await anyio.sleep(0)
        # in the child task now: the inner group lives entirely in this task
        async with create_eager_task_group() as inner:
            inner.start_soon(leaf, "leaf1")
            inner.start_soon(leaf, "leaf2")
            log.append("branch body done")
        log.append("branch end")

    async with create_eager_task_group() as tg:
        tg.start_soon(branch)
        assert log == ["branch"]
    assert log[:4] == ["branch", "leaf1", "leaf2", "branch body done"]
    assert sorted(log[4:6]) == ["leaf1 end", "leaf2 end"]
    assert log[6:] == ["branch end"]


async def test_nested_eager_groups_no_suspension() -> None:
    log: list[str] = []

    async def leaf(tag: str) -> None:
        log.append(tag)

    async with create_eager_task_group() as outer:
        async with create_eager_task_group() as inner:
            inner.start_soon(leaf, "a")
            outer.start_soon(leaf, "b")
            assert await inner.start(_started_with, "c") == "c"
        assert log == ["a", "b"]


async def _started_with(value: Any, *, task_status: anyio.abc.TaskStatus[Any]) -> None:
    task_status.started(value)


async def test_wrap_unentered_group(asyncio_only: None) -> None:
    log: list[str] = []

    async def child() -> None:
        log.append("eager")
        await anyio.sleep(0)
        log.append("cont")

    etg = EagerTaskGroup(anyio.create_task_group())
    async with etg as tg:
        assert tg is etg
        tg.start_soon(child)
        assert log == ["eager"]
    assert log == ["eager", "cont"]


async def test_inactive_wrapper(asyncio_only: None) -> None:
    log: list[str] = []

    async def quick() -> None:
        log.append("quick")

    async def slow() -> None:
        log.append("slow")
        await anyio.sleep(0)

    etg = EagerTaskGroup(anyio.create_task_group())
    etg.start_soon(quick)  # never touches the wrapped group
    assert log == ["quick"]
    with pytest.raises(RuntimeError, match="not active"):
        etg.start_soon(slow)
    assert log == ["quick", "slow"]  # the eager part had already run


async def test_plain_groups_unaffected() -> None:
    log: list[str] = []

    async def child() -> None:
        await anyio.sleep(0)
        log.append("plain")

    async with anyio.create_task_group() as tg:
        tg.start_soon(child)
        async with create_eager_task_group() as etg:
            etg.start_soon(_record, log, "eager")
    assert sorted(log) == ["eager", "plain"]


# ---------------------------------------------------------------------------
# trio limits (§3.6)
# ---------------------------------------------------------------------------


async def test_trio_suspension_refused_cleanly(trio_only: None) -> None:
    import trio

    log: list[str] = []
    event = trio.Event()

    async def sleeper() -> None:
        log.append("sleeper")
        await anyio.sleep(0.01)
        log.append("never")  # pragma: no cover

    async def waiter(*, task_status: Any) -> None:
        log.append("waiter")
        await event.wait()
        log.append("never")  # pragma: no cover

    async with create_eager_task_group() as tg:
        with pytest.raises(RuntimeError, match="suspended while starting eagerly"):
            tg.start_soon(sleeper)
        with pytest.raises(RuntimeError, match="suspended while starting eagerly"):
            tg.start(waiter)
        # trio's state is intact: setting the event does not reschedule us, and we can
        # still sleep, and start non-suspending children
        event.set()
        await anyio.sleep(0.01)
        tg.start_soon(_record, log, "quick")
        assert await tg.start(_started_with, 9) == 9
    assert log == ["sleeper", "waiter", "quick"]
    await trio.sleep(0)
