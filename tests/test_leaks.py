"""Lifetime and leak checks for both CoroStart engines (coroutine.md §4.16)."""

from __future__ import annotations

import contextvars
import gc
import sys
import types
import weakref
from typing import Any

import pytest


class Helper:
    """An object referenced from a coroutine's frame; its weakref tells when it died."""


@types.coroutine
def bare_yield() -> Any:
    return (yield)


class Yield:
    def __init__(self, value: Any) -> None:
        self.value = value

    def __await__(self) -> Any:
        return (yield self.value)


def collect() -> None:
    for _ in range(3):
        gc.collect()


def test_pending_never_awaited_is_collected(corostart_impl: Any) -> None:
    log: list[str] = []

    async def coro(helper: Helper) -> None:
        try:
            await Yield(helper)
        finally:
            log.append("finalised")

    h = Helper()
    ref = weakref.ref(h)
    cs = corostart_impl(coro(h))
    del h
    assert cs.pending()
    assert ref() is not None
    del cs
    collect()
    assert ref() is None
    assert log == ["finalised"]


def test_unstarted_closed_is_collected(corostart_impl: Any) -> None:
    async def coro(helper: Helper) -> None:
        await bare_yield()

    h = Helper()
    ref = weakref.ref(h)
    c = coro(h)
    cs = corostart_impl(c, autostart=False)
    del h
    cs.close()
    c.close()  # close() on an UNSTARTED native instance is a tolerated difference
    del cs, c
    collect()
    assert ref() is None


def test_done_result_collected(corostart_impl: Any) -> None:
    async def coro(helper: Helper) -> Helper:
        return helper

    h = Helper()
    ref = weakref.ref(h)
    cs = corostart_impl(coro(h))
    del h
    assert cs.result() is ref()
    del cs
    collect()
    assert ref() is None


def test_exception_cycle_collected(corostart_impl: Any) -> None:
    """stored exception -> traceback -> frame -> local -> CoroStart -> exception."""

    class Box:
        cs: Any = None
        aw: Any = None

    async def failing(box: Box, helper: Helper) -> None:
        local_box = box  # noqa: F841  - kept in the frame the traceback references
        await Yield(1)
        raise ValueError(box)

    box = Box()
    h = Helper()
    box_ref = weakref.ref(box)
    h_ref = weakref.ref(h)
    cs = corostart_impl(failing(box, h))
    box.cs = cs
    cs._throw(KeyError("k"))  # raise inside the frame: DONE with a traceback
    assert cs.done()
    exc = cs.exception()
    assert exc.__traceback__ is not None
    box.aw = cs.__await__()  # the awaiter references the CoroStart too
    cs_ref_holder = [cs]
    del cs, exc, h, box, cs_ref_holder
    collect()
    assert h_ref() is None
    assert box_ref() is None


def test_awaiter_cycle_collected(corostart_impl: Any) -> None:
    class Box:
        aw: Any = None

    async def coro(box: Box, helper: Helper) -> None:
        await Yield(box)
        await Yield(2)

    box = Box()
    h = Helper()
    refs = [weakref.ref(box), weakref.ref(h)]
    cs = corostart_impl(coro(box, h))
    aw = cs.__await__()
    assert aw.send(None) is box
    box.aw = aw  # coroutine frame -> box -> awaiter -> CoroStart -> coroutine
    del aw, cs, box, h
    collect()
    assert all(r() is None for r in refs)


def test_context_cycle_collected(corostart_impl: Any) -> None:
    var: contextvars.ContextVar[Any] = contextvars.ContextVar("leak_var")
    ctx = contextvars.Context()

    async def coro(helper: Helper) -> None:
        await Yield(1)

    h = Helper()
    ref = weakref.ref(h)
    cs = corostart_impl(coro(h), context=ctx)
    ctx.run(var.set, cs)  # context -> CoroStart -> context
    del cs, h, ctx
    collect()
    assert ref() is None


def _cycles(impl: Any, n: int) -> None:
    async def done(x: int) -> int:
        return x

    async def fails() -> None:
        raise ValueError("x")

    async def suspends(x: int) -> int:
        await bare_yield()
        return x

    ctx = contextvars.Context()
    for i in range(n):
        cs = impl(done(i))
        if cs.result() != i:
            raise AssertionError
        cs = impl(fails(), context=ctx)
        if not isinstance(cs.exception(), ValueError):
            raise AssertionError
        aw = cs.__await__()
        try:
            aw.send(None)
        except ValueError:
            pass
        cs = impl(suspends(i), context=ctx)
        aw = cs.__await__()
        aw.send(None)
        try:
            aw.send(None)
        except StopIteration as e:
            if e.value != i:
                raise AssertionError from None
        cs = impl(suspends(i))
        cs._throw(KeyError)
        cs.exception()
        cs = impl(suspends(i))
        cs.close()
    del cs, aw


def test_flat_object_counts(corostart_impl: Any) -> None:
    n = 100_000  # x 5 start/finish cycles per round
    _cycles(corostart_impl, 2_000)  # warm up caches, free lists, specialisation
    collect()
    objs_before = len(gc.get_objects())
    blocks_before = sys.getallocatedblocks()
    refs_before = sys.gettotalrefcount() if hasattr(sys, "gettotalrefcount") else None
    _cycles(corostart_impl, n)
    collect()
    objs_after = len(gc.get_objects())
    blocks_after = sys.getallocatedblocks()
    # a leak of even one object per cycle would show up as >= n
    assert objs_after - objs_before < 500, (objs_before, objs_after)
    assert blocks_after - blocks_before < 2_000, (blocks_before, blocks_after)
    if refs_before is not None:
        assert sys.gettotalrefcount() - refs_before < 2_000


def test_flat_traced_memory(corostart_impl: Any) -> None:
    import tracemalloc

    _cycles(corostart_impl, 2_000)
    collect()
    tracemalloc.start()
    try:
        _cycles(corostart_impl, 1_000)
        collect()
        before, _ = tracemalloc.get_traced_memory()
        _cycles(corostart_impl, 20_000)
        collect()
        after, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # 20k rounds: even one leaked pointer per round would add >= 160 kB
    assert after - before < 50_000, (before, after)


def test_pending_dropped_with_stubborn_coroutine(corostart_impl: Any) -> None:
    """A dropped PENDING instance leaves finalisation to CPython (errors are unraisable)."""
    seen: list[Any] = []

    async def stubborn() -> None:
        try:
            await Yield(1)
        finally:
            await Yield(2)

    old_hook = sys.unraisablehook
    sys.unraisablehook = lambda u: seen.append(u.exc_type)
    try:
        cs = corostart_impl(stubborn())
        del cs
        collect()
    finally:
        sys.unraisablehook = old_hook
    assert seen == [RuntimeError]


@pytest.mark.parametrize("count", [3])
def test_many_live_instances_released(corostart_impl: Any, count: int) -> None:
    refs = []
    keep = []
    for _ in range(count):
        h = Helper()
        refs.append(weakref.ref(h))

        async def coro(helper: Helper = h) -> None:
            await Yield(helper)

        keep.append(corostart_impl(coro()))
    del h, keep, coro
    collect()
    assert all(r() is None for r in refs)
