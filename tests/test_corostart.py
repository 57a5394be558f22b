"""CoroStart engine tests (coroutine.md §4), run on the pure and the native class."""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import gc
import inspect
import sys
import types
from typing import Any

import pytest

import asynkit
import asynkit.coroutine as ac
from conftest import is_native

VAR: contextvars.ContextVar[str] = contextvars.ContextVar("corostart_var", default="unset")

NOT_DONE = "CoroStart: coroutine not done()"
REUSE = "cannot reuse already awaited coroutine"
IGNORED_GE = "coroutine ignored GeneratorExit"


class Marker:
    """A unique suspension value."""

    def __init__(self, tag: Any = None) -> None:
        self.tag = tag

    def __repr__(self) -> str:
        return f"Marker({self.tag!r})"


class Yield:
    """Awaitable that suspends yielding ``value`` and returns what is sent in."""

    def __init__(self, value: Any = None) -> None:
        self.value = value

    def __await__(self) -> Any:
        return (yield self.value)


@types.coroutine
def bare_yield() -> Any:
    """A bare-yield suspension (like ``asyncio.sleep(0)``)."""
    return (yield)


async def returns(value: Any) -> Any:
    return value


async def raises(exc: BaseException) -> Any:
    raise exc


async def suspend_then_return(marker: Any, log: list[Any] | None = None) -> Any:
    sent = await Yield(marker)
    if log is not None:
        log.append(("sent", sent))
    return ("result", sent)


def finish(cs: Any) -> Any:
    """Drive ``cs`` to completion through its awaiter, sending None; return the result."""
    aw = cs.__await__()
    try:
        while True:
            aw.send(None)
    except StopIteration as e:
        return e.value


def drive(aw: Any, value: Any = None) -> Any:
    """Send into an awaiter; return ('yield', v) or ('return', v)."""
    try:
        return ("yield", aw.send(value))
    except StopIteration as e:
        return ("return", e.value)


# ---------------------------------------------------------------------------
# class family, subscription
# ---------------------------------------------------------------------------


def test_module_classes() -> None:
    assert ac.PyCoroStart is ac._PyCoroStart
    assert ac.PyCoroStart.__name__ == "CoroStart"
    assert issubclass(ac.PyCoroStart, ac.CoroStartBase)
    assert issubclass(ac.PyCoroStart, ac.CoroStartMixin)
    assert ac._PyCoroStartBase is ac.CoroStartBase
    native = ac._CCoroStart
    if native is not None:
        assert native is not ac.PyCoroStart
        assert issubclass(native, ac.CoroStartMixin)
        assert ac._CCoroStartBase is not None
        assert issubclass(native, ac._CCoroStartBase)
        assert ac._HAVE_C_EXTENSION is True
        assert ac.CoroStart is native
    else:
        assert ac.CoroStart is ac.PyCoroStart
        assert ac._HAVE_C_EXTENSION is False
        assert ac._CCoroStartBase is None
        assert ac._get_c_build_info is None


def test_pure_base_slots() -> None:
    assert set(ac.CoroStartBase.__slots__) == {"coro", "context", "_start_result"}


def test_subscription(corostart_impl: Any) -> None:
    alias = corostart_impl[int]
    cs = alias(returns(3))
    assert isinstance(cs, corostart_impl)
    assert cs.done()
    assert cs.result() == 3
    # instances have a __dict__; __orig_class__ may be set without error
    cs.__orig_class__ = alias
    assert "__orig_class__" in cs.__dict__
    cs.extra = 1
    assert cs.extra == 1


def test_subscription_direct_names() -> None:
    cs = ac.PyCoroStart[int](returns(1))
    assert cs.result() == 1
    if ac._CCoroStart is not None:
        cs2 = ac._CCoroStart[int](returns(2))
        assert cs2.result() == 2
    cs3 = ac.CoroStart[str](returns("x"))
    assert cs3.result() == "x"


def test_isawaitable(corostart_impl: Any) -> None:
    cs = corostart_impl(returns(1))
    assert inspect.isawaitable(cs)
    cs.close()


def test_subclassable(corostart_impl: Any) -> None:
    class Sub(corostart_impl):  # type: ignore[misc, valid-type]
        pass

    cs = Sub(returns(5))
    assert cs.done() and cs.result() == 5


# ---------------------------------------------------------------------------
# constructor
# ---------------------------------------------------------------------------


def test_autostart_runs_synchronously(corostart_impl: Any) -> None:
    log: list[str] = []

    async def coro() -> str:
        log.append("start")
        await Yield()
        log.append("resumed")
        return "r"

    cs = corostart_impl(coro())
    assert log == ["start"]
    assert cs.pending()
    assert finish(cs) == "r"
    assert log == ["start", "resumed"]


def test_autostart_false_runs_nothing(corostart_impl: Any) -> None:
    log: list[str] = []

    async def coro() -> str:
        log.append("start")
        return "r"

    cs = corostart_impl(coro(), autostart=False)
    assert log == []
    assert not cs.done()
    assert not cs.pending()
    with pytest.raises(asyncio.InvalidStateError, match=r"^CoroStart: coroutine not done\(\)$"):
        cs.result()
    with pytest.raises(asyncio.InvalidStateError, match=r"^CoroStart: coroutine not done\(\)$"):
        cs.exception()
    assert cs.start() is True
    assert log == ["start"]
    assert cs.done()
    assert cs.result() == "r"


def test_continued_before_start_is_impl_defined(corostart_impl: Any) -> None:
    cs = corostart_impl(returns(1), autostart=False)
    expected = False if is_native(corostart_impl) else True
    assert cs.continued() is expected
    cs.start()
    assert cs.done()


def test_keyword_arguments(corostart_impl: Any) -> None:
    ctx = contextvars.copy_context()

    async def coro() -> str:
        VAR.set("inside")
        return VAR.get()

    cs = corostart_impl(coro(), context=ctx, autostart=True)
    assert cs.result() == "inside"
    assert ctx[VAR] == "inside"
    assert VAR.get() == "unset"


def test_pure_keyword_only() -> None:
    c = returns(1)
    with pytest.raises(TypeError):
        ac.PyCoroStart(c, None)  # type: ignore[misc]
    c.close()


def test_native_positional_arguments() -> None:
    native = ac._CCoroStart
    if native is None:
        pytest.skip("native engine absent")
    ctx = contextvars.copy_context()

    async def coro() -> str:
        VAR.set("pos")
        return "p"

    cs = native(coro(), ctx, False)
    assert not cs.done()
    assert cs.start(ctx) is True
    assert cs.result() == "p"
    assert ctx[VAR] == "pos"


def test_pure_attributes() -> None:
    c = returns(1)
    ctx = contextvars.copy_context()
    cs = ac.PyCoroStart(c, context=ctx)
    assert cs.coro is c
    assert cs.context is ctx
    cs2 = ac.PyCoroStart(returns(2))
    assert cs2.context is None


@pytest.mark.parametrize(
    "exc",
    [
        ValueError("v"),
        KeyboardInterrupt(),
        SystemExit(3),
        GeneratorExit(),
        asyncio.CancelledError("c"),
        StopAsyncIteration(),
        BaseException("b"),
    ],
    ids=lambda e: type(e).__name__,
)
def test_constructor_captures_base_exceptions(corostart_impl: Any, exc: BaseException) -> None:
    cs = corostart_impl(raises(exc))
    assert cs.done()
    assert not cs.pending()
    assert not cs.continued()
    assert cs.exception() is exc
    with pytest.raises(type(exc)) as info:
        cs.result()
    assert info.value is exc
    # non-consuming
    assert cs.exception() is exc
    assert cs.done()


def test_stop_iteration_in_coroutine_becomes_runtime_error(corostart_impl: Any) -> None:
    async def coro() -> None:
        raise StopIteration(5)

    cs = corostart_impl(coro())
    assert cs.done()
    exc = cs.exception()
    assert type(exc) is RuntimeError
    assert "StopIteration" in str(exc)


def test_no_task_no_loop_during_start(corostart_impl: Any) -> None:
    seen: list[Any] = []

    async def coro() -> None:
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            seen.append("no loop")

    corostart_impl(coro())
    assert seen == ["no loop"]


def test_current_task_is_callers_during_start(corostart_impl: Any, run: Any) -> None:
    async def inner() -> Any:
        return asyncio.current_task()

    async def main() -> None:
        cs = corostart_impl(inner())
        assert cs.result() is asyncio.current_task()
        assert len(asyncio.all_tasks()) == 1

    run(main)


# ---------------------------------------------------------------------------
# state model
# ---------------------------------------------------------------------------


def states(cs: Any) -> tuple[bool, bool, bool]:
    return (cs.done(), cs.pending(), cs.continued())


def test_state_pending_then_continued(corostart_impl: Any) -> None:
    m = Marker()
    cs = corostart_impl(suspend_then_return(m))
    assert states(cs) == (False, True, False)
    with pytest.raises(asyncio.InvalidStateError, match=r"^CoroStart: coroutine not done\(\)$"):
        cs.result()
    with pytest.raises(asyncio.InvalidStateError, match=r"^CoroStart: coroutine not done\(\)$"):
        cs.exception()
    aw = cs.__await__()
    # __await__ has no side effects
    assert states(cs) == (False, True, False)
    assert aw.send(None) is m
    assert states(cs) == (False, False, True)
    assert drive(aw, 7) == ("return", ("result", 7))
    assert states(cs) == (False, False, True)
    with pytest.raises(asyncio.InvalidStateError):
        cs.result()


def test_state_done_then_continued(corostart_impl: Any) -> None:
    cs = corostart_impl(returns("v"))
    assert states(cs) == (True, False, False)
    assert cs.result() == "v"
    assert cs.result() == "v"
    assert cs.exception() is None
    assert finish(cs) == "v"
    # done() is false after awaiting
    assert states(cs) == (False, False, True)
    with pytest.raises(asyncio.InvalidStateError, match="not done"):
        cs.result()
    with pytest.raises(asyncio.InvalidStateError, match="not done"):
        cs.exception()


def test_invalid_state_error_is_not_runtime_error(corostart_impl: Any) -> None:
    cs = corostart_impl(suspend_then_return(None))
    with pytest.raises(asyncio.InvalidStateError) as info:
        cs.result()
    if sys.version_info < (3, 14):
        # InvalidStateError derives from Exception, not RuntimeError.
        assert not isinstance(info.value, RuntimeError)
    cs.close()


def test_state_after_close(corostart_impl: Any) -> None:
    cs = corostart_impl(suspend_then_return(None))
    cs.close()
    assert states(cs) == (False, False, True)
    cs2 = corostart_impl(returns(1))
    cs2.close()
    assert states(cs2) == (False, False, True)
    with pytest.raises(asyncio.InvalidStateError):
        cs2.result()


# ---------------------------------------------------------------------------
# start()
# ---------------------------------------------------------------------------


def test_start_returns_false_when_suspended(corostart_impl: Any) -> None:
    m = Marker()
    cs = corostart_impl(suspend_then_return(m), autostart=False)
    assert cs.start() is False
    assert cs.pending()
    assert cs.__await__().send(None) is m
    cs.close()


def test_start_positional_and_keyword_context(corostart_impl: Any) -> None:
    for how in ("positional", "keyword"):
        ctx = contextvars.copy_context()

        async def coro() -> str:
            VAR.set("started")
            await Yield()
            return VAR.get()

        cs = corostart_impl(coro(), autostart=False)
        if how == "positional":
            assert cs.start(ctx) is False
        else:
            assert cs.start(context=ctx) is False
        assert ctx[VAR] == "started"
        assert VAR.get() == "unset"
        cs.close()


def test_start_uses_argument_not_self_context(corostart_impl: Any) -> None:
    self_ctx = contextvars.copy_context()
    start_ctx = contextvars.copy_context()
    log: list[str] = []

    async def coro() -> str:
        log.append(VAR.get())
        VAR.set("phase1")
        await Yield()
        log.append(VAR.get())
        VAR.set("phase2")
        return "ok"

    cs = corostart_impl(coro(), context=self_ctx, autostart=False)
    cs.start(start_ctx)
    assert start_ctx[VAR] == "phase1"
    assert VAR not in self_ctx
    # continuation runs in self.context
    assert finish(cs) == "ok"
    assert log == ["unset", "unset"]
    assert self_ctx[VAR] == "phase2"
    assert start_ctx[VAR] == "phase1"
    assert VAR.get() == "unset"


def test_start_none_uses_current_context(corostart_impl: Any) -> None:
    self_ctx = contextvars.copy_context()

    async def coro() -> None:
        VAR.set("leaked-on-purpose")

    def body() -> None:
        cs = corostart_impl(coro(), context=self_ctx, autostart=False)
        cs.start()
        assert VAR.get() == "leaked-on-purpose"
        assert VAR not in self_ctx

    contextvars.Context().run(body)
    assert VAR.get() == "unset"


def test_start_twice(corostart_impl: Any) -> None:
    cs = corostart_impl(returns(1), autostart=False)
    assert cs.start() is True
    if is_native(corostart_impl):
        with pytest.raises(RuntimeError, match=r"^CoroStart.start\(\) can only be called once$"):
            cs.start()
    else:
        # The pure original re-stepped the coroutine; raising is recommended for both.
        try:
            r = cs.start()
        except RuntimeError as e:
            assert "once" in str(e) or REUSE in str(e)
        else:
            assert r is True
            assert isinstance(cs.exception(), RuntimeError)


def test_start_twice_when_autostarted(corostart_impl: Any) -> None:
    cs = corostart_impl(suspend_then_return(None))
    if is_native(corostart_impl):
        with pytest.raises(RuntimeError, match="can only be called once"):
            cs.start()
    cs.close()


# ---------------------------------------------------------------------------
# __await__ / awaiter
# ---------------------------------------------------------------------------


def test_awaiter_protocol(corostart_impl: Any) -> None:
    cs = corostart_impl(suspend_then_return(Marker()))
    aw = cs.__await__()
    assert iter(aw) is aw
    for name in ("send", "throw", "close", "__next__"):
        assert callable(getattr(aw, name))
    next(aw)
    aw.close()
    cs.close()


def test_await_returns_fresh_awaiter(corostart_impl: Any) -> None:
    cs = corostart_impl(suspend_then_return(None))
    a1 = cs.__await__()
    a2 = cs.__await__()
    assert a1 is not a2
    cs.close()


def test_identical_suspension_object(corostart_impl: Any) -> None:
    m = Marker("x")
    cs = corostart_impl(suspend_then_return(m))
    aw = cs.__await__()
    assert next(aw) is m


def test_identical_future_yielded_to_task(corostart_impl: Any, run: Any) -> None:
    async def main() -> None:
        fut = asyncio.get_running_loop().create_future()
        yielded: list[Any] = []

        class Spy:
            def __await__(self) -> Any:
                r = yield from fut.__await__()
                return r

        async def coro() -> Any:
            return await Spy()

        cs = corostart_impl(coro())
        assert cs.pending()
        # drive it through the awaiter ourselves
        aw = cs.__await__()
        yielded.append(aw.send(None))
        assert yielded[0] is fut
        fut.set_result(9)
        assert drive(aw) == ("return", 9)

    run(main)


def test_none_suspension_is_not_exhaustion(corostart_impl: Any) -> None:
    log: list[Any] = []

    async def coro() -> str:
        x = await bare_yield()
        log.append(x)
        y = await bare_yield()
        log.append(y)
        return "end"

    cs = corostart_impl(coro())
    assert cs.pending()
    aw = cs.__await__()
    assert drive(aw) == ("yield", None)
    assert drive(aw, "a") == ("yield", None)
    assert drive(aw, "b") == ("return", "end")
    assert log == ["a", "b"]


def test_none_suspension_with_asyncio_sleep0(corostart_impl: Any, run: Any) -> None:
    async def coro() -> int:
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        return 3

    async def main() -> int:
        cs = corostart_impl(coro())
        assert cs.pending()
        return await cs

    assert run(main) == 3


@pytest.mark.parametrize(
    "value",
    [None, (), (1,), (1, 2), ((1, 2),), [1, 2], 0, "", ValueError("ret"), StopIteration(4)],
    ids=repr,
)
def test_return_values_exact(corostart_impl: Any, value: Any) -> None:
    # returned synchronously
    cs = corostart_impl(returns(value))
    assert cs.result() is value
    aw = cs.__await__()
    with pytest.raises(StopIteration) as info:
        aw.send(None)
    assert info.value.value is value

    # returned after suspension
    async def later() -> Any:
        await Yield()
        return value

    cs = corostart_impl(later())
    aw = cs.__await__()
    aw.send(None)
    with pytest.raises(StopIteration) as info:
        aw.send(None)
    assert info.value.value is value


def test_return_values_through_await(corostart_impl: Any, run: Any) -> None:
    values = [None, (1, 2), ((),), ValueError("x")]

    async def main() -> None:
        for v in values:
            assert (await corostart_impl(returns(v))) is v

            async def later(v: Any = v) -> Any:
                await asyncio.sleep(0)
                return v

            assert (await corostart_impl(later())) is v

    run(main)


def test_exception_identity_through_awaiter(corostart_impl: Any) -> None:
    err = KeyError("k")
    cs = corostart_impl(raises(err))
    aw = cs.__await__()
    with pytest.raises(KeyError) as info:
        aw.send(None)
    assert info.value is err
    assert cs.continued()

    async def later() -> None:
        await Yield()
        raise err

    cs = corostart_impl(later())
    aw = cs.__await__()
    aw.send(None)
    with pytest.raises(KeyError) as info:
        aw.send(None)
    assert info.value is err


def test_second_await_cannot_reuse(corostart_impl: Any, run: Any) -> None:
    async def main() -> None:
        cs = corostart_impl(returns(1))
        assert await cs == 1
        with pytest.raises(RuntimeError, match=f"^{REUSE}$"):
            await cs

        async def later() -> int:
            await asyncio.sleep(0)
            return 2

        cs = corostart_impl(later())
        assert await cs == 2
        with pytest.raises(RuntimeError, match=f"^{REUSE}$"):
            await cs

        cs = corostart_impl(raises(ValueError()))
        with pytest.raises(ValueError):
            await cs
        with pytest.raises(RuntimeError, match=f"^{REUSE}$"):
            await cs

    run(main)


def test_await_after_close_cannot_reuse(corostart_impl: Any) -> None:
    for make in (lambda: returns(1), lambda: suspend_then_return(None)):
        cs = corostart_impl(make())
        cs.close()
        aw = cs.__await__()
        with pytest.raises(RuntimeError, match=f"^{REUSE}$"):
            aw.send(None)


def test_first_send_non_none(corostart_impl: Any) -> None:
    m = Marker()
    cs = corostart_impl(suspend_then_return(m))
    aw = cs.__await__()
    with pytest.raises(TypeError, match="can't send non-None value to a just-started"):
        aw.send(1)
    if is_native(corostart_impl):
        with pytest.raises(
            TypeError, match="^can't send non-None value to a just-started coroutine$"
        ):
            aw.send(1)
    # state unchanged
    assert cs.pending()
    aw = cs.__await__()
    assert aw.send(None) is m
    assert drive(aw, 5) == ("return", ("result", 5))


def test_first_send_non_none_done(corostart_impl: Any) -> None:
    cs = corostart_impl(returns(4))
    aw = cs.__await__()
    with pytest.raises(TypeError):
        aw.send("x")
    assert cs.done()
    assert finish(cs) == 4


def test_awaiter_next(corostart_impl: Any) -> None:
    m1, m2 = Marker(1), Marker(2)

    async def coro() -> str:
        await Yield(m1)
        await Yield(m2)
        return "z"

    aw = corostart_impl(coro()).__await__()
    assert next(aw) is m1
    assert next(aw) is m2
    with pytest.raises(StopIteration) as info:
        next(aw)
    assert info.value.value == "z"


def test_awaiter_throw_into_coroutine(corostart_impl: Any) -> None:
    caught: list[Any] = []
    err = ValueError("t")

    async def coro() -> str:
        try:
            await Yield(1)
        except ValueError as e:
            caught.append(e)
            await Yield(2)
            return "handled"
        return "no"

    cs = corostart_impl(coro())
    aw = cs.__await__()
    assert aw.send(None) == 1
    assert aw.throw(err) == 2
    assert caught == [err]
    assert drive(aw) == ("return", "handled")

    # a class is accepted too (single-argument form)
    cs = corostart_impl(coro())
    aw = cs.__await__()
    aw.send(None)
    assert aw.throw(ValueError) == 2
    assert drive(aw) == ("return", "handled")


def test_awaiter_throw_swallowed_returns(corostart_impl: Any) -> None:
    async def coro() -> str:
        try:
            await Yield(1)
        except KeyError:
            return "swallowed"
        return "no"

    aw = corostart_impl(coro()).__await__()
    aw.send(None)
    with pytest.raises(StopIteration) as info:
        aw.throw(KeyError("x"))
    assert info.value.value == "swallowed"


def test_awaiter_throw_propagates(corostart_impl: Any) -> None:
    err = KeyError("x")
    aw = corostart_impl(suspend_then_return(None)).__await__()
    aw.send(None)
    with pytest.raises(KeyError) as info:
        aw.throw(err)
    assert info.value is err


def test_awaiter_throw_generator_exit_is_a_throw(corostart_impl: Any) -> None:
    """§4.7: awaiter.throw(exc) forwards coroutine.throw(exc), GeneratorExit included
    (only awaiter.close() has close semantics)."""

    async def coro() -> str:
        try:
            await Yield(1)
        except GeneratorExit:
            return "returned on GeneratorExit"
        return "no"

    aw = corostart_impl(coro()).__await__()
    aw.send(None)
    with pytest.raises(StopIteration) as info:
        aw.throw(GeneratorExit())
    assert info.value.value == "returned on GeneratorExit"

    # into a finished coroutine: CPython's "cannot reuse" error, like any other throw
    cs = corostart_impl(suspend_then_return(None))
    aw = cs.__await__()
    aw.send(None)
    cs._throw(ValueError())
    with pytest.raises(RuntimeError, match=f"^{REUSE}$"):
        aw.throw(GeneratorExit())


def test_awaiter_legacy_throw_native() -> None:
    native = ac._CCoroStart
    if native is None:
        pytest.skip("native engine absent")
    caught: list[Any] = []

    async def coro() -> str:
        while True:
            try:
                await Yield(1)
            except ValueError as e:
                caught.append(e)
                if len(caught) == 2:
                    return "done"

    aw = native(coro()).__await__()
    aw.send(None)
    inst = ValueError("inst")
    # recommended: legacy (type, value[, tb]) forms are normalised before forwarding
    try:
        aw.throw(ValueError, inst)
    except TypeError:
        pytest.skip("legacy throw form not supported (only recommended)")
    assert caught[0] is inst
    with pytest.raises(StopIteration):
        aw.throw(ValueError, None, None)
    assert isinstance(caught[1], ValueError)


def test_awaiter_close_closes_coroutine_in_context(corostart_impl: Any) -> None:
    ctx = contextvars.copy_context()
    log: list[str] = []

    async def coro() -> None:
        try:
            await Yield(1)
        except GeneratorExit:
            log.append(f"exit:{VAR.get()}")
            VAR.set("cleanup")
            raise
        finally:
            log.append("finally")

    def body() -> None:
        VAR.set("outer")
        cs = corostart_impl(coro(), context=ctx)
        aw = cs.__await__()
        aw.send(None)
        aw.close()
        assert log == ["exit:ctx", "finally"]
        assert VAR.get() == "outer"
        assert ctx[VAR] == "cleanup"

    ctx.run(VAR.set, "ctx")
    contextvars.Context().run(body)


def test_awaiter_close_before_iteration(corostart_impl: Any) -> None:
    ctx = contextvars.copy_context()
    log: list[str] = []

    async def coro() -> None:
        try:
            await Yield(1)
        finally:
            VAR.set("cleanup")
            log.append("finally")

    cs = corostart_impl(coro(), context=ctx)
    aw = cs.__await__()
    aw.close()  # may do nothing (pure) or close the coroutine inside the context (native)
    assert VAR.get() == "unset"
    cs.close()
    assert log == ["finally"]
    assert VAR.get() == "unset"
    assert ctx[VAR] == "cleanup"


def test_enclosing_coroutine_close_closes_inner_in_context(corostart_impl: Any) -> None:
    ctx = contextvars.copy_context()
    log: list[str] = []

    async def inner() -> None:
        try:
            await Yield(1)
        finally:
            VAR.set("inner-cleanup")
            log.append("inner finally")

    async def outer() -> None:
        cs = corostart_impl(inner(), context=ctx)
        await cs

    c = outer()
    assert c.send(None) == 1
    c.close()
    assert log == ["inner finally"]
    assert VAR.get() == "unset"
    assert ctx[VAR] == "inner-cleanup"


def test_await_from_other_task(corostart_impl: Any, run: Any) -> None:
    async def coro() -> str:
        await asyncio.sleep(0)
        return asyncio.current_task().get_name()

    async def main() -> None:
        cs = corostart_impl(coro())
        t = asyncio.get_running_loop().create_task(cs.as_coroutine(), name="other")
        assert await t == "other"

    run(main)


def test_started_outside_loop_awaited_inside(corostart_impl: Any, run: Any) -> None:
    async def coro() -> int:
        await asyncio.sleep(0)
        return 11

    cs = corostart_impl(coro())
    assert cs.pending()

    async def main() -> int:
        return await cs

    assert run(main) == 11


# ---------------------------------------------------------------------------
# continuation context
# ---------------------------------------------------------------------------


def test_context_in_every_phase(corostart_impl: Any) -> None:
    ctx = contextvars.copy_context()
    log: list[str] = []

    async def coro() -> str:
        log.append(VAR.get())
        VAR.set("a")
        v = await Yield(1)
        log.append(VAR.get())
        VAR.set(v)
        try:
            await Yield(2)
        except ValueError:
            log.append(VAR.get())
            VAR.set("thrown")
        await Yield(3)
        return VAR.get()

    def body() -> None:
        VAR.set("caller")
        cs = corostart_impl(coro(), context=ctx)
        assert ctx[VAR] == "a"
        assert VAR.get() == "caller"
        aw = cs.__await__()
        assert aw.send(None) == 1
        assert aw.send("b") == 2
        assert ctx[VAR] == "b"
        assert VAR.get() == "caller"
        assert aw.throw(ValueError()) == 3
        assert ctx[VAR] == "thrown"
        assert VAR.get() == "caller"
        assert drive(aw) == ("return", "thrown")
        assert VAR.get() == "caller"

    contextvars.Context().run(body)
    assert log == ["unset", "a", "b"]


def test_no_context_runs_in_caller_context(corostart_impl: Any) -> None:
    async def coro() -> None:
        VAR.set("start")
        await Yield()
        VAR.set("cont")

    def body() -> None:
        cs = corostart_impl(coro())
        assert VAR.get() == "start"
        finish(cs)
        assert VAR.get() == "cont"

    contextvars.Context().run(body)
    assert VAR.get() == "unset"


def test_context_exited_when_step_raises(corostart_impl: Any) -> None:
    ctx = contextvars.copy_context()

    async def coro() -> None:
        await Yield()
        raise ValueError("boom")

    cs = corostart_impl(coro(), context=ctx)
    aw = cs.__await__()
    aw.send(None)
    with pytest.raises(ValueError, match="boom"):
        aw.send(None)
    # the context must have been exited: entering it again works
    assert ctx.run(lambda: 1) == 1

    cs = corostart_impl(raises(KeyError()), context=ctx)
    assert ctx.run(lambda: 2) == 2


def test_entered_context_on_start(corostart_impl: Any) -> None:
    ctx = contextvars.copy_context()

    def body() -> Any:
        c = returns(1)
        try:
            cs = corostart_impl(c, context=ctx)
        except RuntimeError:
            # tolerated native deviation: failure to enter the context raises
            c.close()
            return "raised"
        assert cs.done()
        assert isinstance(cs.exception(), RuntimeError)
        c.close()
        return "stored"

    assert ctx.run(body) in ("raised", "stored")


# ---------------------------------------------------------------------------
# _throw
# ---------------------------------------------------------------------------


def ignoring_coro(log: list[Any], times: int = 10**9, result: Any = "gave up") -> Any:
    async def coro() -> Any:
        n = 0
        while True:
            try:
                await Yield(("suspended", n))
            except GeneratorExit:
                raise
            except BaseException as e:
                log.append(e)
                n += 1
                if n >= times:
                    return result

    return coro()


def test_throw_instance_and_class(corostart_impl: Any) -> None:
    log: list[Any] = []
    cs = corostart_impl(ignoring_coro(log))
    err = ValueError("x")
    assert cs._throw(err) is None
    assert log == [err]
    assert cs.pending()
    # keep awaiters referenced: dropping a pure (generator) awaiter closes the coroutine
    aw1 = cs.__await__()
    assert aw1.send(None) == ("suspended", 1)
    assert cs.continued()
    assert cs._throw(KeyError) is None
    assert type(log[1]) is KeyError and log[1].args == ()
    assert cs.pending()
    # new suspension value held
    aw2 = cs.__await__()
    assert aw2.send(None) == ("suspended", 2)
    cs.close()
    del aw1, aw2


def test_throw_returns_or_raises_stored(corostart_impl: Any) -> None:
    log: list[Any] = []
    cs = corostart_impl(ignoring_coro(log, times=1, result="r"))
    cs._throw(ValueError())
    assert cs.done()
    assert cs.result() == "r"

    err = KeyError("k")
    cs = corostart_impl(suspend_then_return(None))
    assert cs._throw(err) is None
    assert cs.done()
    assert cs.exception() is err


@pytest.mark.parametrize(
    "exc",
    [GeneratorExit(), asyncio.CancelledError(), KeyboardInterrupt(), SystemExit()],
    ids=lambda e: type(e).__name__,
)
def test_throw_base_exceptions_stored(corostart_impl: Any, exc: BaseException) -> None:
    cs = corostart_impl(suspend_then_return(None))
    cs._throw(exc)
    assert cs.done()
    assert cs.exception() is exc


def test_throw_runs_in_context(corostart_impl: Any) -> None:
    ctx = contextvars.copy_context()

    async def coro() -> str:
        try:
            await Yield()
        except ValueError:
            VAR.set("handler")
            return "ok"
        return "no"

    cs = corostart_impl(coro(), context=ctx)
    cs._throw(ValueError())
    assert cs.result() == "ok"
    assert ctx[VAR] == "handler"
    assert VAR.get() == "unset"


def test_throw_from_done_and_continued(corostart_impl: Any) -> None:
    cs = corostart_impl(returns(1))
    cs._throw(ValueError())
    assert cs.done()
    exc = cs.exception()
    assert type(exc) is RuntimeError and str(exc) == REUSE

    cs = corostart_impl(returns(1))
    assert finish(cs) == 1
    cs._throw(ValueError)
    assert cs.done()
    with pytest.raises(RuntimeError, match=f"^{REUSE}$"):
        cs.result()


@pytest.mark.parametrize("bad", [42, "boom", object(), None, 1.5], ids=repr)
def test_throw_non_exception_type_error(corostart_impl: Any, bad: Any) -> None:
    m = Marker()
    cs = corostart_impl(suspend_then_return(m))
    with pytest.raises(TypeError) as info:
        cs._throw(bad)
    if is_native(corostart_impl):
        assert str(info.value) == "_throw() arg must be an exception"
    # state unchanged
    assert cs.pending()
    assert cs.__await__().send(None) is m
    cs.close()


# ---------------------------------------------------------------------------
# close
# ---------------------------------------------------------------------------


def test_close_pending_runs_cleanup_in_context(corostart_impl: Any) -> None:
    ctx = contextvars.copy_context()
    log: list[str] = []

    async def coro() -> None:
        VAR.set("started")
        try:
            await Yield()
        finally:
            log.append(VAR.get())
            VAR.set("closed")

    cs = corostart_impl(coro(), context=ctx)
    assert cs.close() is None
    assert log == ["started"]
    assert ctx[VAR] == "closed"
    assert VAR.get() == "unset"
    assert cs.continued()
    # idempotent
    cs.close()
    cs.close()
    assert log == ["started"]


def test_close_unstarted_marks_closed(corostart_impl: Any) -> None:
    c = returns(1)
    cs = corostart_impl(c, autostart=False)
    cs.close()
    if not is_native(corostart_impl):
        assert c.cr_frame is None  # closed: no "never awaited" warning either
    c.close()  # close() on an UNSTARTED native instance is a tolerated difference


def test_close_done_is_noop(corostart_impl: Any) -> None:
    cs = corostart_impl(returns(1))
    cs.close()
    with pytest.raises(asyncio.InvalidStateError):
        cs.result()
    with pytest.raises(RuntimeError, match=REUSE):
        finish(cs)


def test_close_ignored_generator_exit(corostart_impl: Any) -> None:
    ctx = contextvars.copy_context()

    async def stubborn() -> None:
        try:
            await Yield(1)
        finally:
            VAR.set("in-finally")
            await Yield(2)

    c = stubborn()
    cs = corostart_impl(c, context=ctx)
    with pytest.raises(RuntimeError, match=f"^{IGNORED_GE}$"):
        cs.close()
    assert ctx[VAR] == "in-finally"
    assert VAR.get() == "unset"
    # clean up the still-suspended coroutine
    with pytest.raises(KeyError):
        c.throw(KeyError())
    assert c.cr_frame is None


def test_close_cleanup_exception_propagates(corostart_impl: Any) -> None:
    async def bad_cleanup() -> None:
        try:
            await Yield(1)
        finally:
            raise ValueError("cleanup failed")

    cs = corostart_impl(bad_cleanup())
    with pytest.raises(ValueError, match="cleanup failed"):
        cs.close()


def test_close_returns_none(corostart_impl: Any) -> None:
    async def coro() -> Any:
        try:
            await Yield()
        except GeneratorExit:
            return "value on exit"  # 3.13+: close() may return it

    cs = corostart_impl(coro())
    r = cs.close()
    if not is_native(corostart_impl):
        assert r is None
    assert cs.continued()


# ---------------------------------------------------------------------------
# throw(exc, tries)
# ---------------------------------------------------------------------------


def test_throw_mixin_returns_value(corostart_impl: Any) -> None:
    log: list[Any] = []
    cs = corostart_impl(ignoring_coro(log, times=1, result="handled"))
    assert cs.throw(ValueError()) == "handled"


def test_throw_mixin_propagates_same_exception(corostart_impl: Any) -> None:
    err = ValueError("p")
    cs = corostart_impl(suspend_then_return(None))
    with pytest.raises(ValueError) as info:
        cs.throw(err)
    assert info.value is err


def test_throw_mixin_ignored(corostart_impl: Any) -> None:
    log: list[Any] = []
    cs = corostart_impl(ignoring_coro(log))
    with pytest.raises(RuntimeError, match="^coroutine ignored ValueError$"):
        cs.throw(ValueError())
    assert len(log) == 1
    assert cs.pending()
    aw = cs.__await__()
    assert aw.send(None) == ("suspended", 1)
    with pytest.raises(RuntimeError, match="^coroutine ignored CancelledError$"):
        cs.throw(asyncio.CancelledError())
    cs.close()


def test_throw_mixin_tries_same_instance(corostart_impl: Any) -> None:
    log: list[Any] = []
    cs = corostart_impl(ignoring_coro(log, times=3, result="third"))
    err = ValueError("same")
    with pytest.raises(RuntimeError, match="coroutine ignored ValueError"):
        cs.throw(err, 2)
    assert log == [err, err]
    assert cs.throw(err, tries=5) == "third"
    assert log == [err, err, err]


def test_throw_mixin_class_argument(corostart_impl: Any) -> None:
    log: list[Any] = []
    cs = corostart_impl(ignoring_coro(log))
    with pytest.raises(RuntimeError, match="^coroutine ignored ") as info:
        cs.throw(ValueError, tries=2)
    assert str(info.value) in ("coroutine ignored type", "coroutine ignored ValueError")
    assert len(log) == 2
    assert all(type(e) is ValueError for e in log)
    assert log[0] is not log[1]
    cs.close()


def test_throw_mixin_finished(corostart_impl: Any) -> None:
    cs = corostart_impl(returns(1))
    with pytest.raises(RuntimeError, match=f"^{REUSE}$"):
        cs.throw(ValueError())
    cs = corostart_impl(returns(1))
    finish(cs)
    with pytest.raises(RuntimeError, match=f"^{REUSE}$"):
        cs.throw(ValueError())


def test_throw_mixin_type_error(corostart_impl: Any) -> None:
    cs = corostart_impl(suspend_then_return(None))
    with pytest.raises(TypeError):
        cs.throw(1)
    assert cs.pending()
    cs.close()


# ---------------------------------------------------------------------------
# athrow, aclose
# ---------------------------------------------------------------------------


def test_athrow(corostart_impl: Any, run: Any) -> None:
    async def handles() -> str:
        try:
            await asyncio.sleep(0)
        except ValueError:
            await asyncio.sleep(0)  # async cleanup
            await asyncio.sleep(0)
            return "handled"
        return "no"

    async def main() -> None:
        cs = corostart_impl(handles())
        assert inspect.iscoroutinefunction(type(cs).athrow)
        assert await cs.athrow(ValueError()) == "handled"

        err = KeyError("k")
        cs = corostart_impl(handles())
        with pytest.raises(KeyError) as info:
            await cs.athrow(err)
        assert info.value is err

        cs = corostart_impl(returns(1))
        with pytest.raises(RuntimeError, match=f"^{REUSE}$"):
            await cs.athrow(ValueError())

    run(main)


def test_aclose(corostart_impl: Any, run: Any) -> None:
    log: list[str] = []

    async def coro() -> str:
        try:
            await asyncio.sleep(0)
        finally:
            log.append("cleanup start")
            await asyncio.sleep(0)  # async cleanup is allowed
            log.append("cleanup end")
        return "never"

    async def swallows() -> str:
        try:
            await asyncio.sleep(0)
        except GeneratorExit:
            return "discarded"
        return "no"

    async def converts() -> None:
        try:
            await asyncio.sleep(0)
        except GeneratorExit:
            raise ValueError("converted") from None

    async def main() -> None:
        cs = corostart_impl(coro())
        assert inspect.iscoroutinefunction(type(cs).aclose)
        assert await cs.aclose() is None
        assert log == ["cleanup start", "cleanup end"]

        cs = corostart_impl(swallows())
        assert await cs.aclose() is None

        cs = corostart_impl(converts())
        with pytest.raises(ValueError, match="converted"):
            await cs.aclose()

        # not pending: nothing touched
        cs = corostart_impl(returns(5))
        assert await cs.aclose() is None
        assert cs.done() and cs.result() == 5
        assert await cs == 5
        assert await cs.aclose() is None  # continued

        cs = corostart_impl(returns(6), autostart=False)
        assert await cs.aclose() is None
        cs.start()
        assert cs.result() == 6

    run(main)


def test_aclosing(corostart_impl: Any, run: Any) -> None:
    log: list[str] = []

    async def foo() -> str:
        try:
            await asyncio.sleep(0)
            return "foo"
        finally:
            log.append("finally")

    async def main() -> None:
        async with contextlib.aclosing(corostart_impl(foo())) as cs:
            assert await cs == "foo"
        assert log == ["finally"]
        with pytest.raises(ZeroDivisionError):
            async with contextlib.aclosing(corostart_impl(foo())):
                1 / 0  # noqa: B018
        assert log == ["finally", "finally"]

    run(main)


# ---------------------------------------------------------------------------
# as_coroutine, as_future, as_awaitable
# ---------------------------------------------------------------------------


def test_as_coroutine(corostart_impl: Any, run: Any) -> None:
    log: list[str] = []

    async def coro() -> str:
        log.append("start")
        await asyncio.sleep(0)
        log.append("end")
        return "c"

    async def main() -> None:
        cs = corostart_impl(coro())
        c = cs.as_coroutine()
        assert inspect.iscoroutine(c)
        assert log == ["start"]
        assert cs.pending()  # nothing ran
        assert await c == "c"
        assert log == ["start", "end"]

        cs = corostart_impl(returns(3))
        t = asyncio.get_running_loop().create_task(cs.as_coroutine())
        assert await t == 3

    run(main)


def test_as_coroutine_unawaited_closed(corostart_impl: Any) -> None:
    cs = corostart_impl(suspend_then_return(None))
    c = cs.as_coroutine()
    assert inspect.iscoroutine(c)
    c.close()
    assert cs.pending()
    cs.close()


def test_as_coroutine_never_awaited_warns(corostart_impl: Any) -> None:
    cs = corostart_impl(returns(1))
    with pytest.warns(RuntimeWarning, match="never awaited"):
        c = cs.as_coroutine()
        del c
        gc.collect()


def test_as_future(corostart_impl: Any, run: Any) -> None:
    async def main() -> None:
        cs = corostart_impl(suspend_then_return(None))
        with pytest.raises(RuntimeError, match=r"^CoroStart: coroutine not done\(\)$") as info:
            cs.as_future()
        assert not isinstance(info.value, asyncio.InvalidStateError)
        cs.close()

        cs = corostart_impl(returns((1, 2)))
        f = cs.as_future()
        assert isinstance(f, asyncio.Future)
        assert f.done()
        assert f.get_loop() is asyncio.get_running_loop()
        assert f.result() == (1, 2)
        assert cs.done()  # non-consuming
        assert await f == (1, 2)
        f2 = cs.as_future()
        assert f2 is not f and f2.result() == (1, 2)

        err = ValueError("e")
        cs = corostart_impl(raises(err))
        f = cs.as_future()
        assert f.exception() is err
        with pytest.raises(ValueError) as info2:
            await f
        assert info2.value is err
        assert cs.done()

        # continued -> not done
        cs = corostart_impl(returns(1))
        await cs
        with pytest.raises(RuntimeError, match="not done"):
            cs.as_future()

    run(main)


def test_as_future_base_exception(corostart_impl: Any, run: Any) -> None:
    async def main() -> None:
        err = asyncio.CancelledError("sync-cancel")
        cs = corostart_impl(raises(err))
        f = cs.as_future()
        assert f.done()
        with pytest.raises(asyncio.CancelledError):
            await f

    run(main)


def test_as_future_requires_running_loop(corostart_impl: Any) -> None:
    cs = corostart_impl(returns(1))
    with pytest.raises(RuntimeError):
        cs.as_future()
    assert cs.done()


def test_as_awaitable(corostart_impl: Any, run: Any) -> None:
    async def main() -> None:
        cs = corostart_impl(returns(1))
        a = cs.as_awaitable()
        assert isinstance(a, asyncio.Future) and a.result() == 1

        async def later() -> int:
            await asyncio.sleep(0)
            return 2

        cs = corostart_impl(later())
        assert cs.as_awaitable() is cs
        r = await asyncio.gather(
            corostart_impl(returns(1)).as_awaitable(),
            corostart_impl(later()).as_awaitable(),
        )
        assert r == [1, 2]
        assert await cs == 2

    run(main)


# ---------------------------------------------------------------------------
# other awaitables
# ---------------------------------------------------------------------------


def test_async_generator_anext(corostart_impl: Any, run: Any) -> None:
    async def agen() -> Any:
        yield 1
        await asyncio.sleep(0)
        yield 2

    async def main() -> None:
        g = agen()
        cs = corostart_impl(g.__anext__())
        assert cs.done() and cs.result() == 1
        cs = corostart_impl(g.__anext__())
        assert cs.pending()
        assert ac.coro_is_suspended(g)
        assert await cs == 2
        cs = corostart_impl(g.__anext__())
        assert cs.done()
        assert isinstance(cs.exception(), StopAsyncIteration)
        with pytest.raises(StopAsyncIteration):
            await cs

    run(main)


def test_async_generator_anext_sync(corostart_impl: Any) -> None:
    m = Marker()

    async def agen() -> Any:
        v = await Yield(m)
        yield v

    g = agen()
    cs = corostart_impl(g.__anext__())
    assert cs.pending()
    aw = cs.__await__()
    assert aw.send(None) is m
    assert drive(aw, "sent") == ("return", "sent")
    cs = corostart_impl(g.__anext__())
    assert isinstance(cs.exception(), StopAsyncIteration)


def test_generator_based_coroutine(corostart_impl: Any) -> None:
    # Supporting generator-based coroutines is recommended (coroutine.md §4.2).
    m = Marker()

    @types.coroutine
    def gen_coro() -> Any:
        v = yield m
        return ("gen", v)

    cs = corostart_impl(gen_coro())
    assert cs.pending()
    aw = cs.__await__()
    assert aw.send(None) is m
    assert drive(aw, 1) == ("return", ("gen", 1))

    @types.coroutine
    def gen_done() -> Any:
        return "immediate"
        yield  # pragma: no cover

    assert corostart_impl(gen_done()).result() == "immediate"


def test_wrapped_in_async_def_generator_coroutine(corostart_impl: Any) -> None:
    @types.coroutine
    def gen_coro() -> Any:
        v = yield "g"
        return v

    async def coro() -> Any:
        return await gen_coro()

    cs = corostart_impl(coro())
    aw = cs.__await__()
    assert aw.send(None) == "g"
    assert drive(aw, 2) == ("return", 2)


def test_non_awaitable_input(corostart_impl: Any) -> None:
    for bad in (1, "x", None, object(), b"bytes", [1, 2]):
        try:
            cs = corostart_impl(bad)
        except (TypeError, AttributeError):
            continue
        # the pure class may capture the failure as the outcome
        assert cs.done()
        assert isinstance(cs.exception(), (TypeError, AttributeError))


def test_bad_context_argument(corostart_impl: Any) -> None:
    for bad in (1, "ctx", object()):
        c = returns(1)
        try:
            cs = corostart_impl(c, context=bad)
        except (TypeError, AttributeError):
            c.close()
            continue
        if cs.done():
            exc = cs.exception()
            assert exc is None or isinstance(exc, (TypeError, AttributeError))
        c.close()


def test_bad_start_context(corostart_impl: Any) -> None:
    c = returns(1)
    cs = corostart_impl(c, autostart=False)
    try:
        cs.start(5)
    except (TypeError, AttributeError):
        pass
    else:
        assert cs.done()
        assert isinstance(cs.exception(), (TypeError, AttributeError))
    c.close()


# ---------------------------------------------------------------------------
# asyncio integration: tasks, cancellation
# ---------------------------------------------------------------------------


def test_await_inside_task(corostart_impl: Any, run: Any) -> None:
    async def coro(n: int) -> int:
        for _ in range(n):
            await asyncio.sleep(0)
        await asyncio.sleep(0.001)
        return n

    async def main() -> None:
        assert await corostart_impl(coro(0)) == 0
        assert await corostart_impl(coro(3)) == 3
        results = await asyncio.gather(*(corostart_impl(coro(i)).as_coroutine() for i in range(5)))
        assert results == [0, 1, 2, 3, 4]

    run(main)


def test_task_cancellation_reaches_coroutine(corostart_impl: Any, run: Any) -> None:
    log: list[str] = []

    async def coro() -> str:
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            log.append("cancelled")
            return "caught"
        return "no"

    async def reraises() -> None:
        try:
            await asyncio.sleep(10)
        finally:
            log.append("finally")

    async def main() -> None:
        cs = corostart_impl(coro())
        t = asyncio.get_running_loop().create_task(cs.as_coroutine())
        await asyncio.sleep(0)
        t.cancel()
        assert await t == "caught"
        assert log == ["cancelled"]

        cs = corostart_impl(reraises())
        t = asyncio.get_running_loop().create_task(cs.as_coroutine())
        await asyncio.sleep(0)
        t.cancel()
        with pytest.raises(asyncio.CancelledError):
            await t
        assert t.cancelled()
        assert log == ["cancelled", "finally"]

    run(main)


def test_cancel_before_first_step(corostart_impl: Any, run: Any) -> None:
    log: list[str] = []

    async def coro() -> None:
        try:
            await asyncio.sleep(10)
        finally:
            log.append("finally")

    async def main() -> None:
        cs = corostart_impl(coro())
        t = asyncio.get_running_loop().create_task(cs.as_coroutine())
        t.cancel()
        with pytest.raises(asyncio.CancelledError):
            await t
        assert log == []
        assert cs.pending()
        cs.close()
        assert log == ["finally"]

    run(main)


def test_inside_eager_task_312(corostart_impl: Any, run: Any) -> None:
    if sys.version_info < (3, 12):
        pytest.skip("asyncio.eager_task_factory needs 3.12+")

    async def coro() -> int:
        await asyncio.sleep(0)
        return 1

    async def child() -> int:
        return await corostart_impl(coro()) + await ac.coro_await(coro())

    async def main() -> int:
        t = asyncio.get_running_loop().create_task(child())
        return await t

    assert run(main, task_factory=asyncio.eager_task_factory) == 2


def test_top_level_corostart_is_default() -> None:
    assert asynkit.CoroStart is ac.CoroStart
    assert asynkit.PyCoroStart is ac.PyCoroStart
