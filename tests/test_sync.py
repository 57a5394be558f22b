"""await_sync family and __await__ helpers (coroutine.md §3, §7, §8).

Runs with ``asynkit.coroutine.CoroStart`` swapped to each implementation.
"""

from __future__ import annotations

import asyncio
import contextvars
import inspect
import types
from typing import Any

import pytest

import asynkit
import asynkit.coroutine as ac

pytestmark = pytest.mark.usefixtures("patch_corostart")

VAR: contextvars.ContextVar[str] = contextvars.ContextVar("sync_var", default="unset")
FAILED = "coroutine failed to complete synchronously"


@types.coroutine
def bare_yield() -> Any:
    return (yield)


async def returns(value: Any) -> Any:
    return value


# ---------------------------------------------------------------------------
# exceptions (§3)
# ---------------------------------------------------------------------------


def test_exception_classes() -> None:
    assert issubclass(ac.SynchronousError, RuntimeError)
    assert issubclass(ac.SynchronousAbort, BaseException)
    assert not issubclass(ac.SynchronousAbort, Exception)
    assert ac.SynchronousAbort.__bases__ == (BaseException,)
    assert asynkit.SynchronousError is ac.SynchronousError
    assert asynkit.SynchronousAbort is ac.SynchronousAbort


# ---------------------------------------------------------------------------
# await_sync (§7.1)
# ---------------------------------------------------------------------------


def test_await_sync_value() -> None:
    async def inner() -> str:
        return "look, no async!"

    async def outer() -> Any:
        return (await inner(), await returns((1, 2)))

    assert ac.await_sync(outer()) == ("look, no async!", (1, 2))
    assert ac.await_sync(returns(None)) is None


def test_await_sync_exception_unchanged() -> None:
    err = KeyError("k")

    async def coro() -> None:
        raise err

    with pytest.raises(KeyError) as info:
        ac.await_sync(coro())
    assert info.value is err


def test_await_sync_runs_in_current_context() -> None:
    async def coro() -> str:
        VAR.set("set by coro")
        return VAR.get()

    def body() -> None:
        assert ac.await_sync(coro()) == "set by coro"
        assert VAR.get() == "set by coro"

    contextvars.Context().run(body)


def test_await_sync_no_loop_needed() -> None:
    async def coro() -> Any:
        with pytest.raises(RuntimeError):
            asyncio.get_running_loop()
        return 1

    assert ac.await_sync(coro()) == 1


def test_await_sync_suspends() -> None:
    log: list[Any] = []

    async def coro() -> None:
        try:
            await asyncio.sleep(0)
        except BaseException as e:
            log.append(e)
            raise

    with pytest.raises(ac.SynchronousError) as info:
        ac.await_sync(coro())
    assert str(info.value) == FAILED
    assert isinstance(info.value.__cause__, ac.SynchronousAbort)
    assert log[0] is info.value.__cause__
    assert isinstance(info.value, RuntimeError)


def test_await_sync_suspends_on_future() -> None:
    async def coro() -> None:
        loop = asyncio.new_event_loop()
        try:
            fut = loop.create_future()
            await fut
        finally:
            loop.close()

    with pytest.raises(ac.SynchronousError, match=FAILED):
        ac.await_sync(coro())


def test_await_sync_converted_exception_is_cause() -> None:
    async def coro() -> None:
        try:
            await bare_yield()
        except ac.SynchronousAbort:
            raise ValueError("converted") from None

    with pytest.raises(ac.SynchronousError, match=FAILED) as info:
        ac.await_sync(coro())
    assert isinstance(info.value.__cause__, ValueError)
    assert str(info.value.__cause__) == "converted"


def test_await_sync_swallowed() -> None:
    async def coro() -> str:
        try:
            await bare_yield()
        except BaseException:
            return "swallowed"
        return "no"

    with pytest.raises(ac.SynchronousError) as info:
        ac.await_sync(coro())
    assert str(info.value) == FAILED + " (caught BaseException)"
    assert "caught BaseException" in str(info.value)


def test_await_sync_ignores_abort_then_closed() -> None:
    log: list[str] = []

    async def coro() -> None:
        try:
            while True:
                try:
                    await bare_yield()
                except ac.SynchronousAbort:
                    log.append("abort ignored")
        finally:
            log.append("closed")

    c = coro()
    with pytest.raises(ac.SynchronousError, match=FAILED) as info:
        ac.await_sync(c)
    cause = info.value.__cause__
    assert isinstance(cause, RuntimeError)
    assert str(cause) == "coroutine ignored SynchronousAbort"
    assert log == ["abort ignored", "closed"]
    assert c.cr_frame is None


def test_await_sync_close_error_replaces() -> None:
    async def coro() -> None:
        while True:
            try:
                await bare_yield()
            except ac.SynchronousAbort:
                pass
            except GeneratorExit:
                await bare_yield()  # ignores GeneratorExit

    c = coro()
    with pytest.raises(RuntimeError) as info:
        ac.await_sync(c)
    assert not isinstance(info.value, ac.SynchronousError)
    assert str(info.value) == "coroutine ignored GeneratorExit"
    # the coroutine is still suspended: finish it
    with pytest.raises(KeyError):
        c.throw(KeyError())


def test_await_sync_subscripts_corostart(monkeypatch: pytest.MonkeyPatch) -> None:
    impl = ac.CoroStart
    seen: list[str] = []

    class Spy:
        def __getitem__(self, item: Any) -> Any:
            seen.append("getitem")
            return impl[item]

        def __call__(self, *a: Any, **k: Any) -> Any:  # pragma: no cover
            seen.append("call")
            return impl(*a, **k)

    monkeypatch.setattr(ac, "CoroStart", Spy())
    assert ac.await_sync(returns(5)) == 5
    assert seen  # looked up at call time


def test_await_sync_bad_input() -> None:
    for bad in (1, None, "x", object()):
        with pytest.raises((TypeError, AttributeError)):
            ac.await_sync(bad)


def test_await_sync_loop_access_raises() -> None:
    async def coro() -> None:
        asyncio.get_running_loop().create_task(returns(1))

    with pytest.raises(RuntimeError):
        ac.await_sync(coro())


# ---------------------------------------------------------------------------
# syncfunction / asyncfunction (§7.2, §7.3)
# ---------------------------------------------------------------------------


def test_syncfunction() -> None:
    @ac.syncfunction
    async def sync_function() -> str:
        """Doc."""

        async def async_function() -> str:
            return "look, no async!"

        return await async_function()

    assert sync_function() == "look, no async!"
    assert sync_function.__name__ == "sync_function"
    assert sync_function.__doc__ == "Doc."
    assert not inspect.iscoroutinefunction(sync_function)

    class K:
        def __init__(self, v: int) -> None:
            self.v = v

        @ac.syncfunction
        async def get(self, add: int = 0) -> int:
            return self.v + add

    assert K(3).get() == 3
    assert K(3).get(add=2) == 5

    @ac.syncfunction
    async def blocks() -> None:
        await asyncio.sleep(0)

    with pytest.raises(ac.SynchronousError):
        blocks()


def test_asyncfunction() -> None:
    log: list[str] = []

    def sync_cb(x: int) -> int:
        """Cb."""
        log.append("called")
        return x + 1

    acb = ac.asyncfunction(sync_cb)
    assert inspect.iscoroutinefunction(acb)
    assert acb.__name__ == "sync_cb"
    assert acb.__doc__ == "Cb."
    c = acb(1)
    assert log == []  # called only when the coroutine runs
    assert ac.await_sync(c) == 2
    assert log == ["called"]

    @ac.syncfunction
    async def sync_client(cb: Any) -> Any:
        return await ac.asyncfunction(cb)(10)

    assert sync_client(sync_cb) == 11


# ---------------------------------------------------------------------------
# aiter_sync (§7.4)
# ---------------------------------------------------------------------------


def test_aiter_sync() -> None:
    async def agen() -> Any:
        for v in range(3):
            yield v

    assert list(ac.aiter_sync(agen())) == [0, 1, 2]


def test_aiter_sync_lazy_and_nested_awaits() -> None:
    log: list[str] = []

    class AIt:
        def __aiter__(self) -> AIt:
            log.append("aiter")
            self.n = 0
            return self

        async def __anext__(self) -> int:
            await returns(None)
            self.n += 1
            if self.n > 2:
                raise StopAsyncIteration
            return self.n

    g = ac.aiter_sync(AIt())
    assert inspect.isgenerator(g)
    assert log == []
    assert next(g) == 1
    assert log == ["aiter"]
    assert list(g) == [2]


def test_aiter_sync_suspends() -> None:
    log: list[str] = []

    async def agen() -> Any:
        try:
            yield 1
            await asyncio.sleep(0)
            yield 2
        finally:
            log.append("finally")

    g = ac.aiter_sync(agen())
    assert next(g) == 1
    with pytest.raises(ac.SynchronousError, match=FAILED):
        next(g)
    assert log == ["finally"]


def test_aiter_sync_bad_input() -> None:
    g = ac.aiter_sync(1)
    with pytest.raises((TypeError, AttributeError)):
        next(g)


# ---------------------------------------------------------------------------
# coro_iter (§8.1)
# ---------------------------------------------------------------------------


def test_coro_iter_drives_like_yield_from() -> None:
    log: list[Any] = []

    async def coro() -> str:
        log.append("start")
        a = await bare_yield()
        log.append(a)
        b = await bare_yield()
        log.append(b)
        return "end"

    it = ac.coro_iter(coro())
    assert inspect.isgenerator(it)
    assert log == []
    assert it.send(None) is None
    assert it.send("a") is None
    with pytest.raises(StopIteration) as info:
        it.send("b")
    assert info.value.value == "end"
    assert log == ["start", "a", "b"]


def test_coro_iter_immediate_return() -> None:
    it = ac.coro_iter(returns((1, 2)))
    with pytest.raises(StopIteration) as info:
        next(it)
    assert info.value.value == (1, 2)


def test_coro_iter_throw() -> None:
    async def coro() -> str:
        try:
            await bare_yield()
        except ValueError:
            v = await bare_yield()
            return f"handled {v}"
        return "no"

    it = ac.coro_iter(coro())
    next(it)
    assert it.throw(ValueError()) is None
    with pytest.raises(StopIteration) as info:
        it.send("x")
    assert info.value.value == "handled x"

    async def returns_on_throw() -> str:
        try:
            await bare_yield()
        except KeyError:
            return "caught"
        return "no"

    it = ac.coro_iter(returns_on_throw())
    next(it)
    with pytest.raises(StopIteration) as info:
        it.throw(KeyError())
    assert info.value.value == "caught"

    err = TypeError("t")
    it = ac.coro_iter(returns_on_throw())
    next(it)
    with pytest.raises(TypeError) as info2:
        it.throw(err)
    assert info2.value is err

    cerr = asyncio.CancelledError()
    it = ac.coro_iter(returns_on_throw())
    next(it)
    with pytest.raises(asyncio.CancelledError):
        it.throw(cerr)


def test_coro_iter_close() -> None:
    log: list[str] = []

    async def coro() -> None:
        try:
            await bare_yield()
        except GeneratorExit:
            log.append("GeneratorExit")
            raise

    c = coro()
    it = ac.coro_iter(c)
    next(it)
    it.close()
    assert log == ["GeneratorExit"]
    assert c.cr_frame is None

    c = coro()
    it = ac.coro_iter(c)
    next(it)
    with pytest.raises(GeneratorExit):
        it.throw(GeneratorExit())
    assert log == ["GeneratorExit", "GeneratorExit"]
    assert c.cr_frame is None


def test_coro_iter_in_await_method() -> None:
    class Aw:
        def __await__(self) -> Any:
            return ac.coro_iter(returns(42))

    async def main() -> int:
        return await Aw()

    assert ac.await_sync(main()) == 42


def test_coro_iter_bad_input() -> None:
    it = ac.coro_iter(1)
    with pytest.raises((TypeError, AttributeError)):
        next(it)


# ---------------------------------------------------------------------------
# awaitmethod / awaitmethod_iter (§8.2, §8.3)
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("deco_name", ["awaitmethod", "awaitmethod_iter"])
def test_awaitmethod(deco_name: str, run: Any) -> None:
    deco = getattr(ac, deco_name)

    class Awaitable:
        def __init__(self) -> None:
            self.count = 0

        @deco
        async def __await__(self) -> int:
            """Await doc."""
            await asyncio.sleep(0)
            self.count += 1
            return self.count

    assert Awaitable.__await__.__name__ == "__await__"
    assert Awaitable.__await__.__doc__ == "Await doc."
    assert not inspect.iscoroutinefunction(Awaitable.__await__)

    class Constructor:
        @staticmethod
        @deco
        async def __await__() -> Constructor:
            await asyncio.sleep(0)
            return Constructor()

    class ClassAw:
        @classmethod
        @deco
        async def __await__(cls) -> type:
            await asyncio.sleep(0)
            return cls

    async def main() -> None:
        a = Awaitable()
        assert await a == 1
        assert await a == 2  # awaitable repeatedly
        assert isinstance(await Constructor(), Constructor)
        assert await ClassAw() is ClassAw

    run(main)


def test_awaitmethod_sync() -> None:
    class Aw:
        @ac.awaitmethod
        async def __await__(self) -> str:
            return "sync"

    async def main() -> str:
        return await Aw()

    assert ac.await_sync(main()) == "sync"
