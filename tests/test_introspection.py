"""Coroutine-state introspection (coroutine.md §10)."""

from __future__ import annotations

import asyncio
import inspect
import types
from typing import Any

import pytest

import asynkit
import asynkit.coroutine as ac

FUNCS = [ac.coro_get_frame, ac.coro_is_new, ac.coro_is_suspended, ac.coro_is_finished]


@types.coroutine
def bare_yield() -> Any:
    return (yield)


async def simple() -> int:
    await bare_yield()
    return 1


def gen() -> Any:
    yield 1


@types.coroutine
def gen_coro() -> Any:
    yield 1


async def agen() -> Any:
    yield 1
    await bare_yield()
    yield 2


def test_exported() -> None:
    for f in FUNCS:
        assert getattr(asynkit, f.__name__) is f


def _bad_objects() -> list[Any]:
    c = simple()
    wrapper = c.__await__()
    g = agen()
    asend = g.__anext__()
    objs = ["str", 1, None, object(), wrapper, asend, [1], b"b"]
    return objs + [c, g]  # owners last, so the test can close them


@pytest.mark.parametrize("func", FUNCS, ids=lambda f: f.__name__)
def test_type_errors(func: Any) -> None:
    objs = _bad_objects()
    owners = objs[-2:]
    for obj in objs[:-2]:
        with pytest.raises(TypeError) as info:
            func(obj)
        assert str(info.value) == (
            f"a coroutine or coroutine like object is required. Got: {type(obj)}"
        )
    objs[4].close()
    objs[5].close()
    owners[0].close()


def test_coroutine_states() -> None:
    c = simple()
    assert ac.coro_is_new(c)
    assert not ac.coro_is_suspended(c)
    assert not ac.coro_is_finished(c)
    assert ac.coro_get_frame(c) is c.cr_frame is not None
    c.send(None)
    assert not ac.coro_is_new(c)
    assert ac.coro_is_suspended(c)
    assert not ac.coro_is_finished(c)
    with pytest.raises(StopIteration):
        c.send(None)
    assert not ac.coro_is_new(c)
    assert not ac.coro_is_suspended(c)
    assert ac.coro_is_finished(c)
    assert ac.coro_get_frame(c) is None


def test_running_coroutine() -> None:
    seen: dict[str, Any] = {}

    async def me() -> None:
        seen["frame"] = ac.coro_get_frame(c) is inspect.currentframe()
        seen["new"] = ac.coro_is_new(c)
        seen["suspended"] = ac.coro_is_suspended(c)
        seen["finished"] = ac.coro_is_finished(c)

    c = me()
    with pytest.raises(StopIteration):
        c.send(None)
    assert seen == {"frame": True, "new": False, "suspended": False, "finished": False}


def test_generator_states() -> None:
    for make in (gen, gen_coro):
        g = make()
        assert ac.coro_is_new(g)
        assert ac.coro_get_frame(g) is g.gi_frame is not None
        next(g)
        assert ac.coro_is_suspended(g)
        assert not ac.coro_is_new(g)
        assert not ac.coro_is_finished(g)
        with pytest.raises(StopIteration):
            next(g)
        assert ac.coro_is_finished(g)
        assert ac.coro_get_frame(g) is None
        assert not ac.coro_is_suspended(g)


def test_async_generator_states(corostart_impl: Any) -> None:
    g = agen()
    assert ac.coro_is_new(g)
    assert not ac.coro_is_suspended(g)
    assert not ac.coro_is_finished(g)
    assert ac.coro_get_frame(g) is g.ag_frame
    cs = corostart_impl(g.__anext__())
    assert cs.result() == 1
    # quirk: suspended at a plain yield still reports "new"
    assert ac.coro_is_new(g)
    assert not ac.coro_is_suspended(g)
    cs = corostart_impl(g.__anext__())
    assert cs.pending()
    assert ac.coro_is_suspended(g)
    assert not ac.coro_is_new(g)
    assert not ac.coro_is_finished(g)
    aw = cs.__await__()
    aw.send(None)
    with pytest.raises(StopIteration) as info:
        aw.send(None)
    assert info.value.value == 2
    cs = corostart_impl(g.__anext__())
    assert isinstance(cs.exception(), StopAsyncIteration)
    assert ac.coro_is_finished(g)
    assert ac.coro_get_frame(g) is None
    assert not ac.coro_is_new(g)
    assert not ac.coro_is_suspended(g)


def test_suspended_inside_corostart(corostart_impl: Any, run: Any) -> None:
    c = simple()
    cs = corostart_impl(c)
    assert ac.coro_is_suspended(c)
    cs.close()
    assert ac.coro_is_finished(c)

    async def sleeper() -> None:
        await asyncio.sleep(0)

    async def main() -> None:
        c = sleeper()
        t = ac.coro_eager(c)
        assert ac.coro_is_suspended(c)
        await t
        assert ac.coro_is_finished(c)

    run(main)


def test_duck_typing_frame() -> None:
    class HasCr:
        cr_frame = "cr"
        gi_frame = "gi"

    class HasGi:
        gi_frame = "gi"
        ag_frame = "ag"

    class HasAg:
        ag_frame = "ag"

    class NoneCr:
        cr_frame = None
        gi_frame = "gi"

    assert ac.coro_get_frame(HasCr()) == "cr"
    assert ac.coro_get_frame(HasGi()) == "gi"
    assert ac.coro_get_frame(HasAg()) == "ag"
    # existence, not truthiness
    assert ac.coro_get_frame(NoneCr()) is None
    assert ac.coro_is_finished(NoneCr())
    assert not ac.coro_is_finished(HasAg())
    # new/suspended use type checks: duck objects are rejected
    with pytest.raises(TypeError):
        ac.coro_is_new(HasCr())
    with pytest.raises(TypeError):
        ac.coro_is_suspended(HasCr())


def test_coro_getattr_hook() -> None:
    class HasGi:
        gi_frame = "gi"
        gi_running = False

    assert ac._coro_getattr(HasGi(), "frame") == "gi"


def test_public_functions_take_coro_by_keyword_and_name_their_module() -> None:
    """Native stand-ins accept what the Python functions accept and present as them."""

    async def two() -> int:
        return 2

    assert asynkit.await_sync(coro=two()) == 2
    c = two()
    assert asynkit.coro_is_new(coro=c) and not asynkit.coro_is_suspended(coro=c)
    c.close()
    with pytest.raises(TypeError, match="coro"):
        asynkit.coro_is_new()
    with pytest.raises(TypeError, match="unexpected keyword argument 'obj'"):
        asynkit.coro_is_new(obj=None)
    for fn in (
        asynkit.await_sync,
        asynkit.coro_is_new,
        asynkit.coro_is_suspended,
        asynkit.coro_eager,
        asynkit.eager,
    ):
        assert fn.__module__ == "asynkit.coroutine"
        assert list(inspect.signature(fn).parameters)[0] in ("coro", "arg")
    for cls in (ac.CoroStartBase, ac.CoroStartMixin, ac.PyCoroStart):
        assert cls.__module__ == "asynkit.coroutine"
    params = inspect.signature(asynkit.eager_task_factory).parameters
    assert list(params)[:2] == ["loop", "coro"]
    params = inspect.signature(asynkit.native_eager_task_factory).parameters
    assert list(params)[:2] == ["loop", "coro"]
