"""asynkit.monitor: Monitor, BoundMonitor, OOBData, GeneratorObject, GeneratorObjectIterator
(spec: monitor.md).

Async tests run on fresh loops from the ``run`` fixture (DefaultSchedulingEventLoop); the
synchronous ones drive the awaitables by hand or with ``await_sync``/``aiter_sync``, whose
engine is swapped with ``patch_corostart`` where it matters.
"""

from __future__ import annotations

import asyncio
import collections.abc
import contextlib
import copy
import gc
import inspect
import pickle
import sys
import types
import warnings
import weakref
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

import asynkit
import asynkit.monitor as am
from asynkit import (
    BoundMonitor,
    GeneratorObject,
    GeneratorObjectIterator,
    Monitor,
    OOBData,
    aiter_sync,
    await_sync,
)
from asynkit.coroutine import SynchronousError, coro_is_finished, coro_is_new

# ---------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------


class Marker:
    """A value a coroutine yields to its driver (an "ordinary suspension")."""

    def __init__(self, name: str = "m") -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"Marker({self.name})"


@types.coroutine
def suspend(value: Any = None) -> Any:
    """Yield ``value`` once to whoever drives the coroutine; return what is sent back."""
    return (yield value)


def step(aw: Any, value: Any = None) -> Any:
    """``aw.send(value)``; returns ("yield", v), ("return", v) or raises."""
    try:
        return ("yield", aw.send(value))
    except StopIteration as e:
        return ("return", e.value)


def throw(aw: Any, exc: BaseException) -> Any:
    try:
        return ("yield", aw.throw(exc))
    except StopIteration as e:
        return ("return", e.value)


def finish(aw: Any) -> Any:
    """Drive an awaitable that must not block to completion; return its result."""
    kind, value = step(aw)
    assert kind == "return", f"awaitable suspended with {value!r}"
    return value


class Cleanup(Exception):
    pass


# ---------------------------------------------------------------------------
# §0 module layout, §9 typing
# ---------------------------------------------------------------------------


def test_all_and_reexports() -> None:
    assert am.__all__ == [
        "GeneratorObject",
        "GeneratorObjectIterator",
        "Monitor",
        "BoundMonitor",
        "OOBData",
    ]
    for name in am.__all__:
        assert getattr(asynkit, name) is getattr(am, name)
        assert name in asynkit.__all__
    assert "MonitorState" not in am.__all__


def test_monitor_state_enum() -> None:
    import enum

    ms = am.MonitorState
    assert issubclass(ms, enum.IntEnum)
    assert (ms.INACTIVE, ms.ACTIVE, ms.OOB) == (0, 1, -1)
    assert [m.name for m in ms] == ["INACTIVE", "ACTIVE", "OOB"]
    assert Monitor().state is ms.INACTIVE


def test_runtime_generics() -> None:
    from typing import get_args

    assert get_args(Monitor[tuple[Any, bytes]]) == (tuple[Any, bytes],)
    assert get_args(BoundMonitor[int]) == (int,)
    assert get_args(GeneratorObject[int, str]) == (int, str)
    assert get_args(GeneratorObjectIterator[int, str]) == (int, str)
    with pytest.raises(TypeError):
        Monitor[int, str]  # one parameter
    with pytest.raises(TypeError):
        GeneratorObject[int]  # two parameters

    # The example module's pattern: an annotation evaluated at definition time (compiled
    # without this module's ``from __future__ import annotations``).
    ns: dict[str, Any] = {}
    src = (
        "from typing import Any\n"
        "from asynkit import Monitor\n"
        "async def f(m: Monitor[tuple[Any, bytes]]) -> None: pass\n"
    )
    exec(compile(src, "<example>", "exec", dont_inherit=True), ns)
    assert ns["f"].__annotations__["m"] == Monitor[tuple[Any, bytes]]


def test_slots_and_attributes() -> None:
    m = Monitor()
    assert not hasattr(m, "__dict__")
    g = GeneratorObject()
    assert isinstance(g.monitor, Monitor)
    assert not hasattr(g, "__dict__")
    assert GeneratorObject().monitor is not g.monitor

    async def c() -> None:
        pass

    coro = c()
    b = BoundMonitor(m, coro)
    assert b.monitor is m and b.coro is coro
    b.extra = 1  # ordinary class, instance dict allowed
    b2 = m(coro)
    assert isinstance(b2, BoundMonitor) and b2 is not m(coro)
    assert b2.monitor is m and b2.coro is coro
    it = g(coro)
    assert it.monitor is g.monitor and it.coro is coro
    assert it.ag_running is False and it.finalizer is None
    assert not hasattr(it, "__dict__")
    assert weakref.ref(it)() is it
    assert hash(it) == object.__hash__(it)
    assert g(coro) is not it
    coro.close()


def test_returned_awaitables_are_coroutines() -> None:
    m = Monitor()

    async def c() -> None:
        await m.oob()

    coro = c()
    b = m(coro)
    it = GeneratorObject()(coro)
    go = GeneratorObject()
    for aw in [
        m.aawait(coro),
        m.athrow(coro, ValueError),
        m.aclose(coro),
        m.start(coro),
        m.try_await(coro),
        b.aawait(),
        b.athrow(ValueError),
        b.aclose(),
        b.start(),
        b.try_await(),
        go.ayield(1),
        it.asend(None),
        it.__anext__(),
        it.athrow(ValueError),
        it.aclose(),
    ]:
        # spec §1.3: the capabilities of a coroutine object (the native engine's
        # aawait/athrow drives are coroutine-like objects, not types.CoroutineType)
        assert asyncio.iscoroutine(aw), aw
        assert inspect.isawaitable(aw)
        assert all(callable(getattr(aw, m)) for m in ("send", "throw", "close"))
        aw.close()
    assert coro_is_new(coro)  # nothing was started
    coro.close()
    if sys.version_info >= (3, 12):
        for f in (Monitor.aawait, Monitor.athrow, GeneratorObjectIterator.asend):
            assert inspect.iscoroutinefunction(f)


def test_oob_awaitable_never_awaited_does_not_warn() -> None:
    m = Monitor()
    o = m.oob(1)
    assert inspect.isawaitable(o)
    del o
    gc.collect()
    assert m.state is am.MonitorState.INACTIVE


# ---------------------------------------------------------------------------
# §2 OOBData
# ---------------------------------------------------------------------------


def test_oobdata() -> None:
    assert issubclass(OOBData, Exception)
    e = OOBData("x")
    assert e.args == ("x",) and e.data == "x"
    assert str(e) == "x"
    assert repr(OOBData(1)) == "OOBData(1)"
    assert OOBData().args == () and OOBData().data is None
    k = OOBData(data=5)
    assert k.args == () and k.data == 5
    k.data = 6
    assert k.data == 6
    k.note = "n"
    assert k.__dict__ == {"note": "n"}
    with pytest.raises(TypeError):
        OOBData(1, 2)
    for orig in (OOBData("x"), OOBData(data=[1]), k):
        for clone in (pickle.loads(pickle.dumps(orig)), copy.copy(orig)):
            assert type(clone) is OOBData
            assert clone.args == orig.args and clone.data == orig.data
    assert pickle.loads(pickle.dumps(k)).note == "n"


# ---------------------------------------------------------------------------
# §3 Monitor
# ---------------------------------------------------------------------------


def test_package_page_example(run: Any) -> None:
    async def coro(monitor: Monitor[str]) -> str:
        await monitor.oob("hello")
        await asyncio.sleep(0)
        await monitor.oob("dolly")
        return "done"

    async def runner() -> list[str]:
        out = []
        m: Monitor[str] = Monitor()
        c = coro(m)
        while True:
            try:
                out.append(await m.aawait(c))
                break
            except OOBData as oob:
                out.append(oob.data)
        return out

    assert run(runner()) == ["hello", "dolly", "done"]


def test_bound_monitor_example(run: Any) -> None:
    async def coro(m: Monitor[str]) -> str:
        await m.oob("foo")
        return "bar"

    async def main() -> None:
        m: Monitor[str] = Monitor()
        b = m(coro(m))
        with pytest.raises(OOBData) as ei:
            await b
        assert ei.value.data == "foo"
        assert await b == "bar"

    run(main())


def test_aawait_data_roundtrip_sync() -> None:
    m: Monitor[int] = Monitor()

    async def adder() -> int:
        total = 0
        while True:
            x = await m.oob(total)
            if x is None:
                return total
            total += x

    c = adder()
    with pytest.raises(OOBData) as ei:
        await_sync(m.aawait(c))
    assert ei.value.data == 0
    assert m.state is am.MonitorState.INACTIVE
    for i in range(1, 5):
        with pytest.raises(OOBData) as ei:
            await_sync(m.aawait(c, i))
        assert ei.value.data == sum(range(1, i + 1))
    assert await_sync(m.aawait(c)) == 10
    assert coro_is_finished(c)
    with pytest.raises(RuntimeError, match="cannot reuse already awaited coroutine"):
        await_sync(m.aawait(c))
    assert m.state is am.MonitorState.INACTIVE


def test_oob_detection_is_by_flag_not_value() -> None:
    m: Monitor[Any] = Monitor()
    payloads = [None, Marker("x"), asyncio.Future, 0, ()]

    async def c() -> str:
        for p in payloads:
            await m.oob(p)
        return "end"

    coro = c()
    for p in payloads:
        with pytest.raises(OOBData) as ei:
            finish(m.aawait(coro))
        assert ei.value.data is p
    assert finish(m.aawait(coro)) == "end"


def test_oob_anywhere_down_the_chain() -> None:
    m: Monitor[Any] = Monitor()

    async def deep(n: int) -> Any:
        if n == 0:
            return await m.oob("bottom")
        return await deep(n - 1)

    c = deep(20)
    with pytest.raises(OOBData) as ei:
        finish(m.aawait(c))
    assert ei.value.data == "bottom"
    assert finish(m.aawait(c, "back")) == "back"


def test_aawait_nonnone_to_new_coroutine() -> None:
    m: Monitor[Any] = Monitor()

    async def c() -> int:
        await m.oob(1)
        return 2

    coro = c()
    with pytest.raises(TypeError, match="just-started coroutine"):
        finish(m.aawait(coro, "x"))
    assert coro_is_new(coro)
    assert m.state is am.MonitorState.INACTIVE
    with pytest.raises(OOBData):
        finish(m.aawait(coro))
    assert finish(m.aawait(coro)) == 2


def test_exceptions_propagate_raw() -> None:
    m: Monitor[Any] = Monitor()

    async def c(exc: BaseException) -> None:
        await m.oob()
        raise exc

    for exc in (ValueError("v"), StopAsyncIteration(), KeyboardInterrupt()):
        coro = c(exc)
        with pytest.raises(OOBData):
            finish(m.aawait(coro))
        with pytest.raises(type(exc)) as ei:
            finish(m.aawait(coro))
        assert ei.value is exc
        assert m.state is am.MonitorState.INACTIVE


def test_athrow() -> None:
    m: Monitor[Any] = Monitor()
    log = []

    async def c() -> str:
        try:
            await m.oob("first")
        except ValueError as e:
            log.append(e)
            try:
                await m.oob("again")
            except KeyError as e2:
                log.append(e2)
                return "caught"
        return "no"

    coro = c()
    with pytest.raises(OOBData):
        finish(m.aawait(coro))
    # class form: instantiated by Python
    with pytest.raises(OOBData) as ei:
        finish(m.athrow(coro, ValueError))
    assert ei.value.data == "again"
    assert type(log[0]) is ValueError and log[0].args == ()
    err = KeyError("k")
    assert finish(m.athrow(coro, err)) == "caught"
    assert log[1] is err

    # uncaught: the same instance propagates; legacy 3-arg form is rejected
    coro = c()
    with pytest.raises(OOBData):
        finish(m.aawait(coro))
    with pytest.raises(TypeError):
        m.athrow(coro, ValueError, "x")  # type: ignore[call-arg]
    err2 = IndexError("i")
    with pytest.raises(OOBData):
        finish(m.athrow(coro, ValueError("caught, oob again")))
    with pytest.raises(IndexError) as ei2:
        finish(m.athrow(coro, err2))
    assert ei2.value is err2
    assert coro_is_finished(coro)
    with pytest.raises(RuntimeError, match="cannot reuse"):
        finish(m.athrow(coro, ValueError))


def test_athrow_new_coroutine() -> None:
    m: Monitor[Any] = Monitor()
    ran = []

    async def c() -> None:
        ran.append(1)

    coro = c()
    with pytest.raises(ZeroDivisionError):
        finish(m.athrow(coro, ZeroDivisionError))
    assert ran == [] and coro_is_finished(coro)


def test_monitor_aclose_states() -> None:
    m: Monitor[Any] = Monitor()
    log: list[Any] = []

    async def c(mode: str) -> Any:
        try:
            await m.oob("parked")
        except GeneratorExit:
            log.append(mode)
            if mode == "return":
                return "discarded"
            if mode == "oob":
                await m.oob("ignoring")
            if mode == "raise":
                raise Cleanup() from None
            raise
        return "done"

    # new: closed without running, no "never awaited" warning
    coro = c("reraise")
    assert finish(m.aclose(coro)) is None
    assert coro_is_finished(coro) and log == []
    # finished: returns None, even while the monitor is busy elsewhere
    assert finish(m.aclose(coro)) is None
    for mode, expect in [("reraise", None), ("return", None)]:
        coro = c(mode)
        with pytest.raises(OOBData):
            finish(m.aawait(coro))
        assert finish(m.aclose(coro)) is expect
        assert coro_is_finished(coro)
    coro = c("raise")
    with pytest.raises(OOBData):
        finish(m.aawait(coro))
    with pytest.raises(Cleanup):
        finish(m.aclose(coro))
    coro = c("oob")
    with pytest.raises(OOBData):
        finish(m.aawait(coro))
    with pytest.raises(RuntimeError, match="ignored GeneratorExit"):
        finish(m.aclose(coro))
    assert not coro_is_finished(coro)  # parked in the second oob()
    assert m.state is am.MonitorState.INACTIVE
    with pytest.raises(GeneratorExit):
        finish(m.aawait(coro))  # bare re-raise of the GeneratorExit
    assert log == ["reraise", "return", "raise", "oob"]


def test_aclose_with_awaits_in_cleanup(run: Any) -> None:
    m: Monitor[Any] = Monitor()
    log = []

    async def c() -> None:
        try:
            await m.oob()
        finally:
            await asyncio.sleep(0)
            await asyncio.sleep(0.001)
            log.append("cleaned")

    async def main() -> None:
        coro = c()
        with pytest.raises(OOBData):
            await m.aawait(coro)
        assert await m.aclose(coro) is None
        assert log == ["cleaned"]

    run(main())


def test_aclose_wrong_type() -> None:
    m: Monitor[Any] = Monitor()
    with pytest.raises(TypeError):
        finish(m.aclose(123))  # type: ignore[arg-type]


def test_start_and_try_await() -> None:
    m: Monitor[Any] = Monitor()

    async def c() -> str:
        x = await m.oob("ready")
        y = await m.oob(x * 2)
        return f"{x}{y}"

    coro = c()
    assert finish(m.start(coro)) == "ready"
    assert finish(m.try_await(coro, "a")) is None
    assert finish(m.try_await(coro, "b", "S")) == "ab"

    coro = c()
    assert finish(m.start(coro)) == "ready"
    sentinel = object()
    assert finish(m.try_await(coro, "q", sentinel)) is sentinel
    assert finish(m.try_await(coro, data="z", sentinel=sentinel)) == "qz"

    async def plain() -> int:
        return 5

    p = plain()
    with pytest.raises(RuntimeError, match="did not await"):
        finish(m.start(p))
    assert coro_is_finished(p)

    async def bad() -> None:
        raise KeyError("k")

    with pytest.raises(KeyError):
        finish(m.start(bad()))
    with pytest.raises(KeyError):
        finish(m.try_await(bad()))


def test_oob_not_active(run: Any) -> None:
    m: Monitor[Any] = Monitor()

    async def c() -> Any:
        return await m.oob(1)

    # awaited directly, not through the monitor
    coro = c()
    with pytest.raises(RuntimeError, match="not active"):
        finish(coro)

    # from another task while the monitor is idle
    async def main() -> None:
        with pytest.raises(RuntimeError, match="Monitor not active"):
            await asyncio.create_task(c())

    run(main())

    # while the monitor is in OOB state (oob awaited twice before the driver saw it)
    async def twice() -> None:
        o1 = m.oob(1)
        o2 = m.oob(2)
        assert await _gather_first_steps(o1, o2) == "ok"

    async def _gather_first_steps(o1: Any, o2: Any) -> str:
        assert o1.send(None) == 1
        assert m.state is am.MonitorState.OOB
        with pytest.raises(RuntimeError, match="not active"):
            o2.send(None)
        o1.close()
        return "ok"

    t = twice()
    assert finish(m.aawait(t)) is None
    assert m.state is am.MonitorState.INACTIVE


def test_reentry_nested() -> None:
    m: Monitor[Any] = Monitor()

    async def target() -> None:
        await m.oob()

    tgt = target()

    async def driven(op: Callable[[], Any]) -> str:
        with pytest.raises(RuntimeError, match="cannot be re-entered"):
            await op()
        assert m.state is am.MonitorState.ACTIVE
        await m.oob("still works")
        return "ok"

    ops = [
        lambda: m.aawait(tgt),
        lambda: m.athrow(tgt, ValueError),
        lambda: m.aclose(tgt),
        lambda: m.start(tgt),
        lambda: m.try_await(tgt),
        lambda: m(tgt),
    ]
    for op in ops:
        coro = driven(op)
        with pytest.raises(OOBData) as ei:
            finish(m.aawait(coro))
        assert ei.value.data == "still works"
        assert finish(m.aawait(coro)) == "ok"
        assert coro_is_new(tgt)  # untouched
        assert m.state is am.MonitorState.INACTIVE
    tgt.close()


def test_reentry_from_other_task(run: Any) -> None:
    m: Monitor[Any] = Monitor()

    async def slow() -> str:
        await asyncio.sleep(0.01)
        await m.oob("slow")
        return "slow done"

    async def other() -> None:
        await m.oob()

    async def main() -> None:
        t = asyncio.create_task(m.aawait(slow()))
        await asyncio.sleep(0)
        assert m.state is am.MonitorState.ACTIVE
        o = other()
        with pytest.raises(RuntimeError, match="cannot be re-entered"):
            await m.aawait(o)
        assert coro_is_new(o)
        o.close()
        with pytest.raises(OOBData) as ei:
            await t
        assert ei.value.data == "slow"

    run(main())


def test_coroutine_raising_oobdata() -> None:
    m: Monitor[Any] = Monitor()

    async def first() -> None:
        raise OOBData("fake")

    with pytest.raises(RuntimeError, match="raised OOBData") as ei:
        finish(m.aawait(first()))
    assert isinstance(ei.value.__cause__, OOBData)
    assert m.state is am.MonitorState.INACTIVE

    async def after_oob() -> None:
        await m.oob()
        raise OOBData("fake2")

    coro = after_oob()
    with pytest.raises(OOBData):
        finish(m.aawait(coro))
    with pytest.raises(RuntimeError, match="raised OOBData"):  # first action of this drive
        finish(m.aawait(coro))

    async def after_suspension() -> None:
        await suspend("plain")
        raise OOBData("fake3")

    cc = m.aawait(after_suspension())
    assert step(cc) == ("yield", "plain")
    with pytest.raises(OOBData) as ei2:  # indistinguishable from a real message
        step(cc)
    assert ei2.value.data == "fake3"
    assert m.state is am.MonitorState.INACTIVE


def test_low_level_protocol() -> None:
    m: Monitor[Any] = Monitor()
    log = []
    mk = Marker()

    async def c() -> Any:
        try:
            got = await suspend(mk)
            log.append(("sent", got))
            try:
                await suspend(mk)
            except KeyError as e:
                log.append(("caught", e))
                return "r"
        finally:
            log.append("finally")

    # closed before start: nothing happens
    coro = c()
    cc = m.aawait(coro)
    cc.close()
    assert coro_is_new(coro) and m.state is am.MonitorState.INACTIVE
    cc = m.aawait(coro)
    with warnings.catch_warnings():  # "never awaited", like any unstarted coroutine
        warnings.simplefilter("ignore")
        del cc
        gc.collect()
    assert coro_is_new(coro) and m.state is am.MonitorState.INACTIVE

    cc = m.aawait(coro)
    assert step(cc) == ("yield", mk)
    assert m.state is am.MonitorState.ACTIVE
    assert step(cc, "value") == ("yield", mk)
    err = KeyError("x")
    assert throw(cc, err) == ("return", "r")
    assert log == [("sent", "value"), ("caught", err), "finally"]
    assert m.state is am.MonitorState.INACTIVE
    cc.close()  # finished: no-op

    # uncaught throw propagates
    log.clear()
    cc = m.aawait(c())
    step(cc)
    err2 = ValueError()
    with pytest.raises(ValueError) as ei:
        cc.throw(err2)
    assert ei.value is err2 and log == ["finally"]
    assert m.state is am.MonitorState.INACTIVE

    # close while suspended closes the coroutine
    log.clear()
    coro = c()
    cc = m.aawait(coro)
    step(cc)
    cc.close()
    assert log == ["finally"] and coro_is_finished(coro)
    assert m.state is am.MonitorState.INACTIVE


def test_close_drive_coroutine_ignores_exit() -> None:
    m: Monitor[Any] = Monitor()

    async def stubborn() -> None:
        while True:
            try:
                await suspend()
            except GeneratorExit:
                pass

    coro = stubborn()
    cc = m.aawait(coro)
    step(cc)
    with pytest.raises(RuntimeError, match="ignored GeneratorExit"):
        cc.close()
    assert m.state is am.MonitorState.INACTIVE
    with pytest.raises(KeyError):
        coro.throw(KeyError)  # kill it for real


def test_no_extra_suspensions() -> None:
    """Every value yielded out is one the coroutine yielded, one for one."""
    m: Monitor[Any] = Monitor()
    marks = [Marker(str(i)) for i in range(3)]

    async def c() -> str:
        for mk in marks:
            assert await suspend(mk) == mk.name
        x = await m.oob("o")
        assert await suspend(marks[0]) == "again"
        return x

    coro = c()
    cc = m.aawait(coro)
    sends = 0
    value = None
    with pytest.raises(OOBData) as ei:
        while True:
            sends += 1
            kind, out = step(cc, value)
            assert kind == "yield"
            value = out.name
    assert sends == 4 and ei.value.data == "o"  # 3 yields + the send that raised
    cc = m.aawait(coro, "X")
    assert step(cc) == ("yield", marks[0])
    assert step(cc, "again") == ("return", "X")


def test_bound_monitor_methods(run: Any) -> None:
    async def c(m: Monitor[Any]) -> Any:
        x = await m.oob("start")
        try:
            y = await m.oob(x)
        except ValueError:
            y = await m.oob("thrown")
        return y

    async def main() -> None:
        m: Monitor[Any] = Monitor()
        b = BoundMonitor(m, c(m))
        assert await b.start() == "start"
        with pytest.raises(OOBData) as ei:
            await b.aawait("x")
        assert ei.value.data == "x"
        with pytest.raises(OOBData) as ei:
            await b.athrow(ValueError())
        assert ei.value.data == "thrown"
        assert await b.try_await("end", "S") == "end"

        b = m(c(m))
        assert await b.try_await(sentinel="S") == "S"
        assert await b.try_await("q") is None
        assert await b.aclose() is None
        assert coro_is_finished(b.coro)
        assert await b.aclose() is None

        b = m(c(m))
        async with contextlib.aclosing(b) as bb:
            assert bb is b
            with pytest.raises(OOBData):
                await b
        assert coro_is_finished(b.coro)

        b = m(c(m))
        with pytest.raises(OOBData):
            await b
        with pytest.raises(OOBData) as ei:
            await b  # sends None
        assert ei.value.data is None
        assert await b is None

    run(main())


def test_bound_monitor_await_protocol() -> None:
    m: Monitor[Any] = Monitor()

    async def c() -> Any:
        await suspend(1)
        return 2

    b = m(c())
    it = b.__await__()
    assert not inspect.iscoroutine(it)
    assert next(it) == 1
    with pytest.raises(StopIteration) as ei:
        next(it)
    assert ei.value.value == 2


def test_nested_monitors() -> None:
    m1: Monitor[Any] = Monitor()
    m2: Monitor[Any] = Monitor()

    async def b() -> str:
        got = await m2.oob("from B")
        assert m1.state is am.MonitorState.ACTIVE
        got2 = await m1.oob("to M1")
        return f"B:{got}:{got2}"

    async def a() -> str:
        coro = b()
        try:
            await m1.aawait(coro)
        except OOBData as e:
            assert e.data == "to M1"
        return "A:" + await m1.aawait(coro, "m1data")

    coro = a()
    with pytest.raises(OOBData) as ei:
        finish(m2.aawait(coro))
    assert ei.value.data == "from B"
    assert m1.state is am.MonitorState.ACTIVE  # parked mid-drive
    assert finish(m2.aawait(coro, "m2data")) == "A:B:m2data:m1data"
    assert m1.state is m2.state is am.MonitorState.INACTIVE


def test_monitor_drives_different_coroutines() -> None:
    m: Monitor[Any] = Monitor()

    async def c(tag: str) -> str:
        return tag + str(await m.oob(tag))

    c1, c2 = c("a"), c("b")
    assert finish(m.start(c1)) == "a"
    assert finish(m.start(c2)) == "b"
    assert finish(m.aawait(c2, 2)) == "b2"
    assert finish(m.aawait(c1, 1)) == "a1"


# ---------------------------------------------------------------------------
# cancellation and closing of drives
# ---------------------------------------------------------------------------


def test_cancel_drive_while_blocked(run: Any) -> None:
    m: Monitor[Any] = Monitor()
    log = []

    async def c() -> Any:
        try:
            await m.oob()
            await asyncio.sleep(10)
        except asyncio.CancelledError as e:
            log.append(e)
            raise

    async def main() -> None:
        coro = c()
        with pytest.raises(OOBData):
            await m.aawait(coro)
        t = asyncio.create_task(m.aawait(coro))
        await asyncio.sleep(0)
        assert m.state is am.MonitorState.ACTIVE
        t.cancel("bye")
        with pytest.raises(asyncio.CancelledError):
            await t
        assert len(log) == 1
        assert m.state is am.MonitorState.INACTIVE
        assert coro_is_finished(coro)

    run(main())


def test_cancel_caught_by_coroutine(run: Any) -> None:
    m: Monitor[Any] = Monitor()

    async def c() -> Any:
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            return await m.oob("cancelled")

    async def main() -> None:
        coro = c()
        t = asyncio.create_task(m.aawait(coro))
        await asyncio.sleep(0)
        t.cancel()
        with pytest.raises(OOBData) as ei:
            await t
        assert ei.value.data == "cancelled"
        assert await m.aawait(coro, "x") == "x"

    run(main())


def test_cancel_with_timeout(run: Any) -> None:
    m: Monitor[Any] = Monitor()

    async def c() -> None:
        await m.oob()
        await asyncio.sleep(10)

    async def main() -> None:
        coro = c()
        with pytest.raises(OOBData):
            await m.aawait(coro)
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(m.aawait(coro), 0.01)
        assert m.state is am.MonitorState.INACTIVE
        assert coro_is_finished(coro)

    run(main())


def test_await_sync_blocking_drive() -> None:
    m: Monitor[Any] = Monitor()
    log = []

    async def c() -> None:
        try:
            await asyncio.sleep(0)
        finally:
            log.append("finally")

    coro = c()
    with pytest.raises(SynchronousError):
        await_sync(m.aawait(coro))
    assert log == ["finally"] and coro_is_finished(coro)
    assert m.state is am.MonitorState.INACTIVE


@pytest.mark.usefixtures("patch_corostart")
def test_await_sync_drives_monitor_on_each_engine() -> None:
    m: Monitor[Any] = Monitor()

    async def c() -> str:
        a = await m.oob(1)
        b = await m.oob(2)
        return a + b

    coro = c()
    assert await_sync(m.start(coro)) == 1
    with pytest.raises(OOBData) as ei:
        await_sync(m.aawait(coro, "x"))
    assert ei.value.data == 2
    assert await_sync(m.try_await(coro, "y")) == "xy"
    coro = c()
    assert await_sync(m(coro).start()) == 1
    assert await_sync(m.aclose(coro)) is None


# ---------------------------------------------------------------------------
# §5 GeneratorObject
# ---------------------------------------------------------------------------


async def walk(go: GeneratorObject[Any, Any], node: Any) -> None:
    if isinstance(node, list):
        for child in node:
            await walk(go, child)
    else:
        await go.ayield(node)


def test_tree_walker(run: Any) -> None:
    tree = [1, [2, [3, [[4]]]], 5, []]

    async def main() -> list[Any]:
        go: GeneratorObject[Any, Any] = GeneratorObject()
        return [x async for x in go(walk(go, tree))]

    assert run(main()) == [1, 2, 3, 4, 5]
    go: GeneratorObject[Any, Any] = GeneratorObject()
    assert list(aiter_sync(go(walk(go, tree)))) == [1, 2, 3, 4, 5]


def test_package_page_generator_helper_in_same_task(run: Any) -> None:
    async def generator(gen_obj: GeneratorObject[int, Any]) -> None:
        await gen_obj.ayield(1)

        async def helper() -> None:
            await gen_obj.ayield(2)

        await helper()  # awaited in the same task (cross-task delivery is unsupported)

    async def runner() -> list[int]:
        gen_obj: GeneratorObject[int, Any] = GeneratorObject()
        return [v async for v in gen_obj(generator(gen_obj))]

    assert run(runner()) == [1, 2]
    gen_obj: GeneratorObject[int, Any] = GeneratorObject()
    assert list(aiter_sync(gen_obj(generator(gen_obj)))) == [1, 2]


def test_package_page_generator_helper_task_fails(run: Any) -> None:
    """§3.6: ayield from a helper task is unsupported and fails like the original."""

    async def generator(gen_obj: GeneratorObject[int, Any]) -> None:
        await gen_obj.ayield(1)

        async def helper() -> None:
            await gen_obj.ayield(2)

        await asyncio.create_task(helper())

    async def runner() -> list[int]:
        gen_obj: GeneratorObject[int, Any] = GeneratorObject()
        return [v async for v in gen_obj(generator(gen_obj))]

    with pytest.raises(RuntimeError, match="Task got bad yield: 2"):
        run(runner())


def test_ayield_outside_drive() -> None:
    go: GeneratorObject[Any, Any] = GeneratorObject()
    with pytest.raises(RuntimeError, match="not active"):
        finish(go.ayield(1))


def test_ayield_returns_sent_value() -> None:
    go: GeneratorObject[Any, Any] = GeneratorObject()
    got = []

    async def body() -> None:
        got.append(await go.ayield(1))
        got.append(await go.ayield(2))

    it = go(body())
    assert finish(it.asend(None)) == 1
    assert finish(it.asend("a")) == 2
    with pytest.raises(StopAsyncIteration):
        finish(it.__anext__())
    assert got == ["a", None]


def test_iterators_share_monitor() -> None:
    go: GeneratorObject[Any, Any] = GeneratorObject()

    async def count(tag: str) -> None:
        for i in range(3):
            await go.ayield(f"{tag}{i}")

    a, b = go(count("a")), go(count("b"))
    out = []
    for _ in range(3):
        out.append(finish(a.__anext__()))
        out.append(finish(b.__anext__()))
    assert out == ["a0", "b0", "a1", "b1", "a2", "b2"]


def test_iterators_overlapping_fail(run: Any) -> None:
    go: GeneratorObject[Any, Any] = GeneratorObject()

    async def slow() -> None:
        await asyncio.sleep(0.01)
        await go.ayield("slow")

    async def fast() -> None:
        await go.ayield("fast")

    async def main() -> None:
        a, b = go(slow()), go(fast())
        t = asyncio.create_task(a.__anext__())
        await asyncio.sleep(0)
        with pytest.raises(RuntimeError, match="cannot be re-entered"):
            await b.__anext__()
        assert b.ag_running is False
        assert await t == "slow"
        assert await b.__anext__() == "fast"
        await a.aclose()

    run(main())


def test_unused_iterator_does_not_touch_coroutine(run: Any) -> None:
    go: GeneratorObject[Any, Any] = GeneratorObject()

    async def body() -> str:
        return "direct"

    async def main() -> None:
        coro = body()
        it = go(coro)
        del it
        gc.collect()
        assert await coro == "direct"

    run(main())


# ---------------------------------------------------------------------------
# §6 GeneratorObjectIterator vs native async generators
# ---------------------------------------------------------------------------

# Each scenario is written once as a "body" using an ``emit`` function, and run both as a
# native async generator and as a GeneratorObject coroutine.

Factory = Callable[[Callable[..., Any]], Any]


def make_native(body: Callable[..., Any]) -> Any:
    async def agen() -> AsyncIterator[Any]:
        # A tiny interpreter: body is a generator of ("yield", v) / ("await", aw) steps.
        steps = body()
        sent: Any = None
        exc: BaseException | None = None
        while True:
            try:
                cmd = steps.throw(exc) if exc is not None else steps.send(sent)
            except StopIteration:
                return
            exc = None
            kind, arg = cmd
            try:
                if kind == "yield":
                    sent = yield arg
                else:
                    sent = await arg
            except BaseException as e:  # noqa: B036
                exc = e

    return agen()


def make_genobj(body: Callable[..., Any]) -> Any:
    go: GeneratorObject[Any, Any] = GeneratorObject()

    async def coro() -> None:
        steps = body()
        sent: Any = None
        exc: BaseException | None = None
        while True:
            try:
                cmd = steps.throw(exc) if exc is not None else steps.send(sent)
            except StopIteration:
                return
            exc = None
            kind, arg = cmd
            try:
                if kind == "yield":
                    sent = await go.ayield(arg)
                else:
                    sent = await arg
            except BaseException as e:  # noqa: B036
                exc = e

    return go(coro())


both = pytest.mark.parametrize("make", [make_native, make_genobj], ids=["native", "genobj"])


@both
def test_is_async_generator(make: Factory) -> None:
    def body() -> Any:
        yield ("yield", 1)

    it = make(body)
    assert isinstance(it, collections.abc.AsyncGenerator)
    assert isinstance(it, collections.abc.AsyncIterator)
    assert it.__aiter__() is it
    if make is make_genobj:
        assert not inspect.isasyncgen(it)
        assert not hasattr(it, "ag_frame") and not hasattr(it, "ag_code")
    assert it.ag_running is False
    finish(it.aclose())


@both
def test_items_sends_and_exhaustion(make: Factory, run: Any) -> None:
    got: list[Any] = []

    def body() -> Any:
        for i in range(3):
            got.append((yield ("yield", i)))
            yield ("await", asyncio.sleep(0))

    async def main() -> list[Any]:
        it = make(body)
        out = [await it.__anext__()]
        out.append(await it.asend("s1"))
        out.append(await it.asend("s2"))
        with pytest.raises(StopAsyncIteration) as ei:
            await it.asend("s3")
        assert ei.value.args == () and ei.value.__cause__ is None
        assert ei.value.__context__ is None
        with pytest.raises(StopAsyncIteration):
            await it.__anext__()
        assert await it.athrow(ValueError) is None
        assert await it.aclose() is None
        assert await it.aclose() is None
        return out

    assert run(main()) == [0, 1, 2]
    assert got == ["s1", "s2", "s3"]


@both
def test_exception_propagates_once(make: Factory) -> None:
    def body() -> Any:
        yield ("yield", 1)
        raise KeyError("boom")

    it = make(body)
    assert finish(it.__anext__()) == 1
    with pytest.raises(KeyError):
        finish(it.__anext__())
    with pytest.raises(StopAsyncIteration):
        finish(it.__anext__())
    assert finish(it.athrow(ValueError)) is None
    assert finish(it.aclose()) is None


@both
def test_athrow_caught_and_yield(make: Factory) -> None:
    log = []

    def body() -> Any:
        try:
            yield ("yield", 1)
        except ValueError as e:
            log.append(e)
            yield ("yield", "after")
        try:
            yield ("yield", 2)
        except KeyError:
            return

    it = make(body)
    assert finish(it.__anext__()) == 1
    assert finish(it.athrow(ValueError)) == "after"
    assert type(log[0]) is ValueError and log[0].args == ()
    assert finish(it.__anext__()) == 2
    with pytest.raises(StopAsyncIteration):
        finish(it.athrow(KeyError("k")))
    assert finish(it.athrow(KeyError)) is None


@both
def test_athrow_uncaught(make: Factory) -> None:
    def body() -> Any:
        yield ("yield", 1)
        yield ("yield", 2)

    it = make(body)
    finish(it.__anext__())
    err = IndexError("i")
    with pytest.raises(IndexError) as ei:
        finish(it.athrow(err))
    assert ei.value is err
    with pytest.raises(StopAsyncIteration):
        finish(it.__anext__())


@both
def test_athrow_generator_exit(make: Factory) -> None:
    def body() -> Any:
        yield ("yield", 1)

    it = make(body)
    finish(it.__anext__())
    with pytest.raises(GeneratorExit):
        finish(it.athrow(GeneratorExit))
    with pytest.raises(StopAsyncIteration):
        finish(it.__anext__())


@both
def test_athrow_on_new(make: Factory) -> None:
    ran = []

    def body() -> Any:
        ran.append(1)
        yield ("yield", 1)

    it = make(body)
    with pytest.raises(ZeroDivisionError):
        finish(it.athrow(ZeroDivisionError))
    assert ran == []
    with pytest.raises(StopAsyncIteration):
        finish(it.__anext__())
    assert finish(it.athrow(ValueError)) is None


@both
def test_aclose_states(make: Factory) -> None:
    log = []

    def body() -> Any:
        try:
            yield ("yield", 1)
        finally:
            log.append("finally")

    it = make(body)
    assert finish(it.aclose()) is None  # new
    assert log == []
    with pytest.raises(StopAsyncIteration):
        finish(it.__anext__())

    it = make(body)
    assert finish(it.__anext__()) == 1
    assert finish(it.aclose()) is None
    assert log == ["finally"]
    assert finish(it.aclose()) is None
    with pytest.raises(StopAsyncIteration):
        finish(it.__anext__())


@both
def test_aclose_ignored(make: Factory) -> None:
    def body() -> Any:
        try:
            yield ("yield", 1)
        except GeneratorExit:
            yield ("yield", "ignored")
            raise

    it = make(body)
    finish(it.__anext__())
    with pytest.raises(RuntimeError, match="ignored GeneratorExit"):
        finish(it.aclose())
    assert it.ag_running is False
    # still alive, parked in the second yield: the bare raise re-raises GeneratorExit
    with pytest.raises(GeneratorExit):
        finish(it.__anext__())
    with pytest.raises(StopAsyncIteration):
        finish(it.__anext__())


@both
def test_aclose_other_exception(make: Factory) -> None:
    def body() -> Any:
        try:
            yield ("yield", 1)
        finally:
            raise Cleanup()

    it = make(body)
    finish(it.__anext__())
    with pytest.raises(Cleanup):
        finish(it.aclose())
    assert finish(it.aclose()) is None


@both
def test_aclose_awaits_in_cleanup(make: Factory, run: Any) -> None:
    log = []

    def body() -> Any:
        try:
            yield ("yield", 1)
        finally:
            yield ("await", asyncio.sleep(0))
            log.append("cleaned")

    async def main() -> None:
        it = make(body)
        assert await it.__anext__() == 1
        assert await it.aclose() is None

    run(main())
    assert log == ["cleaned"]


@pytest.mark.parametrize("raise_in", ["asend", "athrow", "aclose"])
@both
def test_stop_async_iteration_conversion(make: Factory, raise_in: str) -> None:
    def body() -> Any:
        try:
            yield ("yield", 1)
        except BaseException:  # noqa: B036
            pass
        raise StopAsyncIteration("inner")

    it = make(body)
    finish(it.__anext__())
    aw = {
        "asend": lambda: it.asend(None),
        "athrow": lambda: it.athrow(ValueError),
        "aclose": lambda: it.aclose(),
    }[raise_in]()
    with pytest.raises(RuntimeError, match="async generator raised StopAsyncIteration") as ei:
        finish(aw)
    assert type(ei.value.__cause__) is StopAsyncIteration
    with pytest.raises(StopAsyncIteration):
        finish(it.__anext__())


@pytest.mark.parametrize("raise_in", ["asend", "athrow", "aclose"])
@both
def test_stop_iteration_conversion(make: Factory, raise_in: str) -> None:
    def body() -> Any:
        try:
            yield ("yield", 1)
        except BaseException:  # noqa: B036
            pass
        yield ("await", _raise_stop_iteration())

    it = make(body)
    finish(it.__anext__())
    aw = {
        "asend": lambda: it.asend(None),
        "athrow": lambda: it.athrow(ValueError),
        "aclose": lambda: it.aclose(),
    }[raise_in]()
    with pytest.raises(
        RuntimeError, match="(async generator|coroutine) raised StopIteration"
    ) as ei:
        finish(aw)
    assert type(ei.value.__cause__) is StopIteration


async def _raise_stop_iteration() -> None:
    raise StopIteration("si")


@both
def test_asend_non_none_on_new(make: Factory) -> None:
    def body() -> Any:
        yield ("yield", "first")

    it = make(body)
    with pytest.raises(TypeError, match="just-started"):
        finish(it.asend("x"))
    assert it.ag_running is False
    assert finish(it.__anext__()) == "first"


@both
def test_concurrent_operations(make: Factory, run: Any) -> None:
    def body() -> Any:
        yield ("await", asyncio.sleep(0.01))
        yield ("yield", 1)
        yield ("yield", 2)

    async def main() -> None:
        it = make(body)
        # awaitables created while idle; started after another task made it busy
        pending = [it.asend(None), it.__anext__(), it.athrow(ValueError), it.aclose()]
        t = asyncio.create_task(it.__anext__())
        await asyncio.sleep(0)
        assert it.ag_running is True
        for aw, name in zip(pending, ["asend", "asend", "athrow", "aclose"], strict=True):
            with pytest.raises(RuntimeError, match="already running") as ei:
                await aw
            if make is make_genobj:
                assert str(ei.value).startswith(f"{name}(): ")
            assert it.ag_running is True  # untouched by the rejected operation
        assert await t == 1
        assert it.ag_running is False
        assert await it.__anext__() == 2
        await it.aclose()

    run(main())


@both
def test_ag_running_while_suspended(make: Factory, run: Any) -> None:
    seen = []

    def body() -> Any:
        yield ("await", asyncio.sleep(0))
        yield ("yield", 1)

    async def main() -> None:
        it = make(body)
        t = asyncio.create_task(it.__anext__())
        await asyncio.sleep(0)
        seen.append(it.ag_running)
        assert await t == 1
        seen.append(it.ag_running)
        await it.aclose()

    run(main())
    assert seen == [True, False]


@both
def test_getattr_ops_as_tasks(make: Factory, run: Any) -> None:
    def body() -> Any:
        try:
            yield ("yield", 1)
        except ValueError:
            yield ("yield", 2)

    async def main() -> list[Any]:
        it = make(body)
        out = []
        for name, args in [("asend", (None,)), ("athrow", (ValueError,)), ("aclose", ())]:
            out.append(await asyncio.create_task(getattr(it, name)(*args)))
        out.append(await asyncio.gather(it.aclose(), it.athrow(KeyError)))
        return out

    assert run(main()) == [1, 2, None, [None, None]]


def test_manual_stepping() -> None:
    go: GeneratorObject[Any, Any] = GeneratorObject()
    mk = Marker()
    got = []

    async def body() -> str:
        assert await suspend(mk) == "resume"
        got.append(await go.ayield("item"))
        return "ignored"

    coro = body()
    it = go(coro)
    a = it.asend(None)
    assert it.ag_running is False and coro_is_new(coro)
    assert a.send(None) is mk
    assert it.ag_running is True
    with pytest.raises(StopIteration) as ei:
        a.send("resume")
    assert ei.value.value == "item"
    assert it.ag_running is False
    with pytest.raises(StopAsyncIteration):
        it.asend("x").send(None)
    assert it.ag_running is False
    assert got == ["x"]


@pytest.mark.parametrize("how", ["close", "throw"])
def test_close_suspended_asend(how: str) -> None:
    go: GeneratorObject[Any, Any] = GeneratorObject()
    log = []

    async def body() -> None:
        try:
            await suspend()
            await go.ayield(1)
        finally:
            log.append("finally")

    coro = body()
    it = go(coro)
    a = it.asend(None)
    a.send(None)
    assert it.ag_running and go.monitor.state is am.MonitorState.ACTIVE
    if how == "close":
        a.close()
    else:
        with pytest.raises(asyncio.CancelledError):
            a.throw(asyncio.CancelledError())
    assert log == ["finally"] and coro_is_finished(coro)
    assert it.ag_running is False
    assert go.monitor.state is am.MonitorState.INACTIVE
    with pytest.raises(StopAsyncIteration):
        finish(it.__anext__())


def test_cancel_consumer_task(run: Any) -> None:
    go: GeneratorObject[Any, Any] = GeneratorObject()
    log = []

    async def body() -> None:
        try:
            await go.ayield(1)
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            log.append("cancelled")
            raise

    async def consumer(it: Any) -> list[Any]:
        return [x async for x in it]

    async def main() -> None:
        it = go(body())
        t = asyncio.create_task(consumer(it))
        await asyncio.sleep(0.001)
        assert it.ag_running
        t.cancel()
        with pytest.raises(asyncio.CancelledError):
            await t
        assert log == ["cancelled"] and not it.ag_running
        assert go.monitor.state is am.MonitorState.INACTIVE
        with pytest.raises(StopAsyncIteration):
            await it.__anext__()

    run(main())


def test_athrow_none_quirk() -> None:
    go: GeneratorObject[Any, Any] = GeneratorObject()
    log = []

    async def body() -> None:
        try:
            await go.ayield(1)
        finally:
            log.append("closed")

    it = go(body())
    finish(it.__anext__())
    assert finish(it.athrow(None)) is None  # type: ignore[call-overload]
    assert log == ["closed"]


def test_no_deprecation_warning_for_athrow_val() -> None:
    go: GeneratorObject[Any, Any] = GeneratorObject()

    async def body() -> None:
        try:
            await go.ayield(1)
        except ValueError as e:
            await go.ayield(e.args)

    it = go(body())
    finish(it.__anext__())
    # filterwarnings=error would turn any warning into a failure
    assert finish(it.athrow(ValueError, ValueError("msg"), None)) == ()


@pytest.mark.parametrize("op", ["asend", "athrow", "aclose"])
def test_wrong_coroutine_type(op: str) -> None:
    go: GeneratorObject[Any, Any] = GeneratorObject()
    it = go(42)  # type: ignore[arg-type]
    aw = {"asend": it.__anext__, "athrow": lambda: it.athrow(ValueError), "aclose": it.aclose}[op]()
    with pytest.raises(TypeError):
        finish(aw)
    assert it.ag_running is False


def test_generator_coroutine_driven() -> None:
    """Generator-based coroutines (gi_frame) are accepted by the helpers too."""
    go: GeneratorObject[Any, Any] = GeneratorObject()

    @types.coroutine
    def gen() -> Any:
        yield from go.ayield(1).__await__()
        yield from go.ayield(2).__await__()

    it = go(gen())
    assert list(aiter_sync(it)) == [1, 2]


# ---------------------------------------------------------------------------
# §6.1 hooks, finalization, GC
# ---------------------------------------------------------------------------


def test_hooks_called_on_first_iteration() -> None:
    calls: list[Any] = []
    go: GeneratorObject[Any, Any] = GeneratorObject()

    async def body() -> None:
        await go.ayield(1)

    def firstiter(agen: Any) -> None:
        calls.append(("first", agen, agen.ag_running))

    def finalizer(agen: Any) -> None:
        calls.append(("final", agen))

    old = sys.get_asyncgen_hooks()
    sys.set_asyncgen_hooks(firstiter, finalizer)
    try:
        it = go(body())
        assert calls == []  # creation does nothing
        with pytest.raises(TypeError):
            finish(it.asend(1))
        assert calls == [("first", it, False)]  # still new: hooks run again next time
        assert finish(it.__anext__()) == 1
        assert len(calls) == 2
        assert it.finalizer is finalizer
        with pytest.raises(StopAsyncIteration):
            finish(it.__anext__())
        assert len(calls) == 2  # not new any more: no hooks
    finally:
        sys.set_asyncgen_hooks(*old)
    # exhausted iterators with a recorded finalizer still call it when destroyed
    calls.clear()
    del it
    gc.collect()
    assert [c[0] for c in calls] == ["final"]


def test_no_hooks_for_finished_or_without_hooks() -> None:
    calls: list[Any] = []
    go: GeneratorObject[Any, Any] = GeneratorObject()

    async def body() -> None:
        await go.ayield(1)

    coro = body()
    coro.close()
    old = sys.get_asyncgen_hooks()
    sys.set_asyncgen_hooks(calls.append, calls.append)
    try:
        it = go(coro)
        with pytest.raises(StopAsyncIteration):
            finish(it.__anext__())
        assert finish(it.aclose()) is None
        assert calls == [] and it.finalizer is None
    finally:
        sys.set_asyncgen_hooks(*old)
    sys.set_asyncgen_hooks(None, None)
    try:
        it = go(body())
        assert finish(it.__anext__()) == 1
        assert it.finalizer is None
        finish(it.aclose())
    finally:
        sys.set_asyncgen_hooks(*old)


def test_aiter_sync_registers_nothing() -> None:
    go: GeneratorObject[Any, Any] = GeneratorObject()
    assert sys.get_asyncgen_hooks() == (None, None)
    it = go(walk(go, [1, 2]))
    assert list(aiter_sync(it)) == [1, 2]
    assert it.finalizer is None


def test_gc_abandoned_iterator_in_loop(run: Any) -> None:
    log = []

    async def main() -> None:
        go: GeneratorObject[Any, Any] = GeneratorObject()

        async def body() -> None:
            try:
                for i in range(10):
                    await go.ayield(i)
            except GeneratorExit:
                log.append("GeneratorExit")
                raise

        it = go(body())
        assert await it.__anext__() == 0
        loop = asyncio.get_running_loop()
        assert it in loop._asyncgens  # type: ignore[attr-defined]
        assert it.finalizer is not None
        ref = weakref.ref(it)
        del it
        gc.collect()
        for _ in range(5):
            await asyncio.sleep(0.001)
        assert log == ["GeneratorExit"]
        gc.collect()
        assert ref() is None

    run(main())


def test_gc_abandoned_iterator_in_a_cycle(run: Any) -> None:
    log = []

    async def main() -> None:
        go: GeneratorObject[Any, Any] = GeneratorObject()
        holder: list[Any] = []

        async def body(holder: list[Any]) -> None:
            try:
                await go.ayield(holder)  # the coroutine refers to its iterator: a cycle
                await go.ayield(2)
            finally:
                log.append("closed")

        it = go(body(holder))
        holder.append(it)
        await it.__anext__()
        del it, holder
        gc.collect()
        await asyncio.sleep(0.01)
        assert log == ["closed"]

    run(main())


def test_gc_never_started_iterator(run: Any) -> None:
    async def main() -> None:
        go: GeneratorObject[Any, Any] = GeneratorObject()

        async def body() -> None:
            await go.ayield(1)

        coro = body()
        it = go(coro)
        del it
        gc.collect()
        assert coro_is_new(coro)
        coro.close()

    run(main())


def test_shutdown_asyncgens(loop_factory: Any) -> None:
    log = []
    go: GeneratorObject[Any, Any] = GeneratorObject()

    async def body() -> None:
        try:
            await go.ayield(1)
            await go.ayield(2)
        finally:
            await asyncio.sleep(0)
            log.append("closed")

    loop = loop_factory()
    try:
        it = go(body())
        assert loop.run_until_complete(it.__anext__()) == 1
        assert it in loop._asyncgens
        loop.run_until_complete(loop.shutdown_asyncgens())
        assert log == ["closed"]
        assert coro_is_finished(it.coro)
    finally:
        loop.close()


def test_finalizer_after_loop_closed(loop_factory: Any) -> None:
    go: GeneratorObject[Any, Any] = GeneratorObject()

    async def body() -> None:
        await go.ayield(1)

    loop = loop_factory()
    it = go(body())
    loop.run_until_complete(it.__anext__())
    loop.run_until_complete(loop.shutdown_asyncgens())
    loop.close()
    coro = it.coro
    del it
    gc.collect()  # the finalizer must not fail with the loop closed
    assert coro_is_finished(coro)


# ---------------------------------------------------------------------------
# §7 use without an event loop
# ---------------------------------------------------------------------------


@pytest.mark.usefixtures("patch_corostart")
def test_aiter_sync_generator_object() -> None:
    go: GeneratorObject[Any, Any] = GeneratorObject()

    async def body(n: int) -> str:
        for i in range(n):
            await go.ayield(i)
        return "discarded"

    assert list(aiter_sync(go(body(5)))) == [0, 1, 2, 3, 4]
    assert list(aiter_sync(go(body(0)))) == []


@pytest.mark.usefixtures("patch_corostart")
def test_await_sync_iterator_ops() -> None:
    go: GeneratorObject[Any, Any] = GeneratorObject()

    async def body() -> None:
        x = await go.ayield(1)
        try:
            await go.ayield(x)
        except KeyError:
            await go.ayield("k")

    it = go(body())
    assert await_sync(it.asend(None)) == 1
    assert await_sync(it.asend("sent")) == "sent"
    assert await_sync(it.athrow(KeyError)) == "k"
    assert await_sync(it.aclose()) is None
    with pytest.raises(StopAsyncIteration):
        await_sync(it.__anext__())


def test_aiter_sync_blocking_generator() -> None:
    go: GeneratorObject[Any, Any] = GeneratorObject()
    log = []

    async def body() -> None:
        try:
            await go.ayield(1)
            await asyncio.sleep(0)
            await go.ayield(2)
        finally:
            log.append("finally")

    it = go(body())
    gen = aiter_sync(it)
    assert next(gen) == 1
    with pytest.raises(SynchronousError):
        next(gen)
    assert log == ["finally"]
    assert it.ag_running is False
    assert go.monitor.state is am.MonitorState.INACTIVE
    assert coro_is_finished(it.coro)


# ---------------------------------------------------------------------------
# nesting generator objects, differential with a random-ish program
# ---------------------------------------------------------------------------


def test_nested_generator_objects(run: Any) -> None:
    outer: GeneratorObject[Any, Any] = GeneratorObject()
    inner: GeneratorObject[Any, Any] = GeneratorObject()

    async def inner_body() -> None:
        for i in range(3):
            await inner.ayield(i)
            await outer.ayield(f"o{i}")  # passes through the inner drive
            await asyncio.sleep(0)

    async def outer_body() -> None:
        async for v in inner(inner_body()):
            await outer.ayield(v * 10)

    async def main() -> list[Any]:
        return [v async for v in outer(outer_body())]

    expect = [0, "o0", 10, "o1", 20, "o2"]
    assert run(main()) == expect
    outer2: GeneratorObject[Any, Any] = GeneratorObject()
    outer, inner = outer2, GeneratorObject()

    async def sync_inner() -> None:
        for i in range(3):
            await inner.ayield(i)
            await outer.ayield(f"o{i}")

    async def sync_outer() -> None:
        async for v in inner(sync_inner()):
            await outer.ayield(v * 10)

    assert list(aiter_sync(outer(sync_outer()))) == expect


@pytest.mark.parametrize("seed", range(6))
def test_differential_random_program(seed: int, run: Any) -> None:
    import random

    rng = random.Random(seed)
    ops = [rng.choice(["next", "send", "throw", "sleep"]) for _ in range(25)] + ["close"]

    def body() -> Any:
        i = 0
        while True:
            try:
                got = yield ("yield", i)
                if got == "sleep":
                    yield ("await", asyncio.sleep(0))
                i += 1 if got is None else 2
                if i > 30:
                    return
            except ValueError:
                i += 100
                if i > 300:
                    raise

    async def drive(make: Factory) -> list[Any]:
        it = make(body)
        out: list[Any] = []
        for op in ops:
            try:
                if op == "next":
                    out.append(await it.__anext__())
                elif op == "send":
                    out.append(await it.asend("x"))
                elif op == "sleep":
                    out.append(await it.asend("sleep"))
                elif op == "throw":
                    out.append(await it.athrow(ValueError))
                else:
                    out.append(await it.aclose())
            except (StopAsyncIteration, ValueError, TypeError) as e:
                out.append(type(e).__name__)
            out.append(it.ag_running)
        return out

    assert run(drive(make_native)) == run(drive(make_genobj))


# ---------------------------------------------------------------------------
# more cancellation / close states, wrong types, abandoned generators without a loop
# ---------------------------------------------------------------------------


def test_cancel_before_drive_starts(run: Any) -> None:
    m: Monitor[Any] = Monitor()
    go: GeneratorObject[Any, Any] = GeneratorObject()

    async def c() -> None:
        await m.oob()

    async def main() -> None:
        coro = c()
        t = asyncio.create_task(m.aawait(coro))
        t.cancel()
        with pytest.raises(asyncio.CancelledError):
            await t
        assert coro_is_new(coro) and m.state is am.MonitorState.INACTIVE
        coro.close()

        it = go(walk(go, [1]))
        t = asyncio.create_task(it.__anext__())
        t.cancel()
        with pytest.raises(asyncio.CancelledError):
            await t
        assert coro_is_new(it.coro) and not it.ag_running
        assert await it.__anext__() == 1  # untouched, starts normally afterwards
        await it.aclose()

    run(main())


def test_cancel_during_aclose_cleanup(run: Any) -> None:
    go: GeneratorObject[Any, Any] = GeneratorObject()
    log = []

    async def body() -> None:
        try:
            await go.ayield(1)
        finally:
            try:
                await asyncio.sleep(10)
            except asyncio.CancelledError:
                log.append("cleanup cancelled")
                raise

    async def main() -> None:
        it = go(body())
        assert await it.__anext__() == 1
        t = asyncio.create_task(it.aclose())
        await asyncio.sleep(0.001)
        assert it.ag_running
        t.cancel()
        with pytest.raises(asyncio.CancelledError):
            await t
        assert not it.ag_running and coro_is_finished(it.coro)
        assert go.monitor.state is am.MonitorState.INACTIVE
        assert await it.aclose() is None

    run(main())
    assert log == ["cleanup cancelled"]


def test_cancel_monitor_aclose_cleanup(run: Any) -> None:
    m: Monitor[Any] = Monitor()

    async def c() -> None:
        try:
            await m.oob()
        finally:
            await asyncio.sleep(10)

    async def main() -> None:
        coro = c()
        await m.start(coro)
        t = asyncio.create_task(m.aclose(coro))
        await asyncio.sleep(0.001)
        t.cancel()
        with pytest.raises(asyncio.CancelledError):
            await t
        assert coro_is_finished(coro) and m.state is am.MonitorState.INACTIVE

    run(main())


def test_monitor_wrong_types() -> None:
    m: Monitor[Any] = Monitor()

    async def c() -> None:
        await m.oob()

    coro = c()
    finish(m.start(coro))
    with pytest.raises(TypeError):
        finish(m.athrow(coro, 42))  # type: ignore[arg-type]
    assert m.state is am.MonitorState.INACTIVE
    finish(m.aclose(coro))
    # a non-coroutine has no send(): whatever Python raises, the monitor recovers
    for op in (m.aawait, m.start, m.try_await):
        with pytest.raises((TypeError, AttributeError)):
            finish(op(42))  # type: ignore[arg-type]
        assert m.state is am.MonitorState.INACTIVE
    with pytest.raises(TypeError):
        finish(m.aclose("not a coroutine"))  # type: ignore[arg-type]

    go: GeneratorObject[Any, Any] = GeneratorObject()
    it = go(walk(go, [1, 2]))
    finish(it.__anext__())
    with pytest.raises(TypeError):
        finish(it.athrow("not an exception"))  # type: ignore[call-overload]
    assert not it.ag_running and go.monitor.state is am.MonitorState.INACTIVE
    finish(it.aclose())


def test_abandoned_generator_without_loop() -> None:
    log = []
    go: GeneratorObject[Any, Any] = GeneratorObject()

    async def body() -> None:
        try:
            await go.ayield(1)
            await go.ayield(2)
        finally:
            log.append("finally")

    it = go(body())
    assert next(iter(aiter_sync(it))) == 1
    assert it.finalizer is None
    ref = weakref.ref(it)
    del it  # no finalizer: dropping the last reference closes the coroutine itself
    gc.collect()
    assert ref() is None and log == ["finally"]
    assert go.monitor.state is am.MonitorState.INACTIVE


def test_many_abandoned_generators_in_loop(run: Any) -> None:
    closed = []

    async def main() -> None:
        go: GeneratorObject[Any, Any] = GeneratorObject()

        async def body(i: int) -> None:
            try:
                while True:
                    await go.ayield(i)
            finally:
                closed.append(i)

        for i in range(20):
            it = go(body(i))
            assert await it.__anext__() == i
        del it
        gc.collect()
        for _ in range(5):
            await asyncio.sleep(0)

    run(main())
    assert sorted(closed) == list(range(20))
