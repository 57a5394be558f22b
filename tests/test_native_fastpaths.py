"""The native fast paths behave exactly like the Python code they stand in for."""

from __future__ import annotations

import asyncio
import asyncio.futures
import os
import sys
import warnings
from typing import Any

import pytest

import asynkit
import asynkit.coroutine as ac

native = pytest.mark.skipif(
    ac._CCoroStart is None, reason="native engine not active (ASYNKIT_DISABLE_CEXT?)"
)


async def trivial(x: Any) -> Any:
    return x


async def raiser() -> None:
    raise KeyError("k")


@native
def test_full_class_shape() -> None:
    cls = ac._CCoroStart
    assert cls.__bases__ == (ac._CCoroStartBase, ac.CoroStartMixin)
    assert cls.__module__ == "asynkit.coroutine" and cls.__name__ == "_CCoroStart"
    assert cls is not ac.PyCoroStart


@native
def test_full_class_instance_dicts_are_separate() -> None:
    a, b = ac._CCoroStart(trivial(1)), ac._CCoroStart(trivial(2))
    a.x = 1
    assert a.__dict__ == {"x": 1} and b.__dict__ == {}
    assert not hasattr(b, "x")
    alias = ac._CCoroStart[int]
    c = alias(trivial(3))
    assert c.__orig_class__ == alias and c.result() == 3


@native
def test_full_class_instance_dicts_in_depth() -> None:
    """Instance dicts are per instance however they are reached (on 3.11 instances start
    out sharing one empty dict that must never be written)."""
    cls = ac._CCoroStart
    a, b = cls(trivial(1)), cls(trivial(2))
    vars(a)["k"] = 1
    assert a.k == 1 and vars(b) == {} and not hasattr(b, "k")
    b.__dict__ = {"m": 2}
    assert b.m == 2 and vars(cls(trivial(3))) == {}
    del b.m
    assert vars(b) == {}
    with pytest.raises(AttributeError):
        del b.missing
    c = cls(trivial(4))
    try:
        object.__setattr__(c, "n", 3)  # refused on 3.11 (the class has its own setattr)
    except TypeError:
        pass
    assert vars(cls(trivial(5))) == {}
    c.n = 4
    assert c.n == 4 and vars(cls(trivial(6))) == {}


@native
def test_full_class_is_immutable_but_subclassable() -> None:
    cls = ac._CCoroStart
    if sys.version_info[:2] == (3, 11):  # immutable where it speeds up construction
        with pytest.raises(TypeError):
            cls.extra = 1  # type: ignore[attr-defined]

    class Sub(cls):  # type: ignore[misc, valid-type]
        pass

    Sub.extra = 2  # type: ignore[attr-defined]
    s = Sub(trivial(7))
    s.attr = 1
    assert s.extra == 2 and vars(s) == {"attr": 1} and s.result() == 7
    assert vars(cls(trivial(8))) == {}


@native
def test_instances_reused_without_leaks() -> None:
    """Dead instances go to a free list; nothing of a previous life shows in a new one."""
    import gc

    cls = ac._CCoroStart
    for i in range(100):
        cs = cls(trivial(i))
        cs.tag = i
        assert cs.result() == i
        del cs
    fresh = cls(trivial("x"))
    assert vars(fresh) == {} and fresh.result() == "x"
    gc.collect()
    before = len(gc.get_objects())
    for i in range(20000):
        cs = cls(trivial(i))
        if i % 3 == 0:
            cs.tag = i
        if i % 5 == 0:
            cs.cycle = cs  # collected by the GC
    del cs
    gc.collect()
    assert len(gc.get_objects()) - before < 50


@native
def test_eager_done_future_in_debug_mode() -> None:
    """The done Future of an eager start asks the loop for get_debug() like any Future."""

    class Loop(asyncio.SelectorEventLoop):
        asked = 0

        def get_debug(self) -> bool:
            Loop.asked += 1
            return super().get_debug()

    for loop in (asyncio.new_event_loop(), Loop()):
        loop.set_debug(True)

        async def main() -> None:
            fut = asynkit.eager(trivial(9))
            assert fut.get_loop() is asyncio.get_running_loop()
            assert fut._source_traceback  # type: ignore[attr-defined]
            assert await fut == 9

        try:
            loop.run_until_complete(main())
        finally:
            loop.close()
    assert Loop.asked > 0


def test_eager_done_future_asks_instance_get_debug() -> None:
    """A get_debug set on the loop instance is what the Future's init consults."""
    loop = asyncio.new_event_loop()
    asked: list[int] = []

    def get_debug() -> bool:
        asked.append(1)
        return True

    async def main() -> None:
        plain = asynkit.eager(trivial(1))
        assert plain._source_traceback is None  # type: ignore[attr-defined]
        assert plain.get_loop() is loop and plain.result() == 1 and not asked
        loop.get_debug = get_debug  # type: ignore[method-assign]
        fut = asynkit.eager(trivial(2))
        assert asked and fut._source_traceback  # type: ignore[attr-defined]
        assert fut.get_loop() is loop and await fut == 2
        del loop.get_debug  # type: ignore[method-assign]
        asked.clear()
        fut = asynkit.eager(trivial(3))
        assert not asked and fut._source_traceback is None  # type: ignore[attr-defined]

    try:
        loop.run_until_complete(main())
    finally:
        loop.close()


@native
def test_subclass_with_init() -> None:
    class Sub(ac._CCoroStart):  # type: ignore[misc, valid-type]
        def __init__(self, coro: Any, **kwargs: Any) -> None:
            self.tag = "sub"

    s = Sub(trivial(4), context=None)
    assert s.tag == "sub" and s.result() == 4


@pytest.mark.parametrize("override", ["instance", "class"])
def test_eager_done_future_comes_from_create_future(override: str) -> None:
    made: list[asyncio.Future[Any]] = []

    def make_future(self: Any = None) -> asyncio.Future[Any]:
        fut = asyncio.Future(loop=loop)
        made.append(fut)
        return fut

    if override == "class":

        class Loop(asyncio.SelectorEventLoop):
            create_future = make_future  # type: ignore[assignment]

        loop: asyncio.AbstractEventLoop = Loop()
    else:
        loop = asyncio.new_event_loop()
        loop.create_future = make_future  # type: ignore[method-assign]

    async def main() -> None:
        fut = asynkit.eager(trivial(5))
        assert fut is made[-1] and fut.done() and await fut == 5
        fut = ac.coro_eager(raiser())
        assert fut is made[-1]
        with pytest.raises(KeyError):
            await fut

    try:
        loop.run_until_complete(main())
    finally:
        loop.close()


def test_eager_done_future_is_bound_to_running_loop() -> None:
    async def main() -> None:
        fut = asynkit.eager(trivial(6))
        assert isinstance(fut, asyncio.Future)
        assert fut.get_loop() is asyncio.get_running_loop()
        assert fut.result() == 6

    asyncio.run(main())


def test_eager_done_without_running_loop_raises() -> None:
    coro = trivial(7)
    with pytest.raises(RuntimeError):
        asynkit.eager(coro)


def test_patched_future_class_is_honoured(monkeypatch: pytest.MonkeyPatch) -> None:
    class MyFuture(asyncio.Future):  # type: ignore[type-arg]
        pass

    monkeypatch.setattr(asyncio.futures, "Future", MyFuture)

    async def main() -> None:
        fut = asynkit.eager(trivial(8))
        assert type(fut) is MyFuture and await fut == 8

    asyncio.run(main())


def test_coro_eager_keyword_call() -> None:
    async def main() -> None:
        fut = ac.coro_eager(coro=trivial(9))
        assert await fut == 9

    asyncio.run(main())


def test_get_running_loop_helper() -> None:
    with pytest.raises(RuntimeError):
        ac._get_running_loop()

    async def main() -> None:
        assert ac._get_running_loop() is asyncio.get_running_loop()

    asyncio.run(main())
    with pytest.raises(RuntimeError):
        ac._get_running_loop()


@pytest.mark.skipif(sys.platform == "win32", reason="fork")
def test_get_running_loop_in_forked_child() -> None:
    async def main() -> int:
        pid = os.fork()
        if pid == 0:  # child: the parent's loop is not running here
            try:
                ac._get_running_loop()
                code = 1
            except RuntimeError:
                code = 0
            os._exit(code)
        _, status = os.waitpid(pid, 0)
        return os.waitstatus_to_exitcode(status)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # 3.12+: fork with threads
        assert asyncio.run(main()) == 0
