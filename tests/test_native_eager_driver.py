"""The Rust first-step driver of the native-semantics eager factory (issue 9, 3.10/3.11).

With the Rust engine and exactly the C ``asyncio.Task`` as constructor, the factory builds
the Task around a step catcher, points it at the real loop and runs its first step at
once (``crates/asynkit-py/src/native_eager.rs``). These tests pin what that path must keep
identical to a stock Task, and what it must leave behind (nothing).
"""

from __future__ import annotations

import asyncio
import asyncio.tasks
import gc
import sys
import threading
from typing import Any

import pytest

import asynkit
import asynkit.native_eager as ne

pytestmark = pytest.mark.skipif(
    sys.version_info >= (3, 12) or not getattr(ne, "_native_fast_path", False),
    reason="the Rust driver exists on 3.10/3.11 with the native engine",
)

CTask = asyncio.tasks._CTask


def run(coro: Any, *, loop: Any = None, debug: bool = False) -> Any:
    loop = loop or asyncio.new_event_loop()
    loop.set_debug(debug)
    loop.set_task_factory(asynkit.native_eager_task_factory)
    try:
        return loop.run_until_complete(coro)
    finally:
        loop.close()


def test_factory_is_native() -> None:
    f = asynkit.native_eager_task_factory
    assert type(f).__name__ == "NativeEagerTaskFactory"
    assert f.__closure__[0].cell_contents is asyncio.Task  # anyio's detection
    assert not hasattr(f, "__code__")
    assert "native eager task factory" in repr(f)


def test_weakset_add_restored() -> None:
    all_tasks = asyncio.tasks._all_tasks

    async def child() -> int:
        return 1

    async def main() -> None:
        t = asyncio.create_task(child())
        assert t.done()
        assert "add" not in vars(all_tasks)
        with pytest.raises(TypeError):
            asyncio.get_running_loop().create_task(123)  # type: ignore[arg-type]
        assert "add" not in vars(all_tasks)

    run(main())


def test_done_tasks_never_reach_weakset() -> None:
    """Tasks finished in their first step are not left in ``_all_tasks``."""
    all_tasks = asyncio.tasks._all_tasks

    async def child() -> int:
        return 1

    async def main() -> None:
        gc.collect()
        before = len(all_tasks.data)
        tasks = [asyncio.create_task(child()) for _ in range(500)]
        assert all(t.done() for t in tasks)
        assert len(all_tasks.data) <= before

    run(main())


def test_all_tasks_during_and_after_step() -> None:
    seen: list[bool] = []

    async def child() -> None:
        me = asyncio.current_task()
        seen.append(me in asyncio.all_tasks())
        await asyncio.sleep(0)
        seen.append(me in asyncio.all_tasks())

    async def main() -> None:
        t = asyncio.create_task(child())
        assert seen == [True] and t in asyncio.all_tasks()
        await t
        assert seen == [True, True] and t not in asyncio.all_tasks()

    run(main())


def test_blocked_task_dies_and_leaves_weakset() -> None:
    all_tasks = asyncio.tasks._all_tasks

    async def child(fut: asyncio.Future[None]) -> None:
        await fut

    async def main() -> None:
        gc.collect()
        before = len(all_tasks.data)
        fut = asyncio.get_running_loop().create_future()
        tasks = [asyncio.create_task(child(fut)) for _ in range(50)]
        assert len(all_tasks.data) == before + 50
        assert all(t in asyncio.all_tasks() for t in tasks)
        fut.set_result(None)
        for t in tasks:
            await t
        del tasks, t
        gc.collect()
        # (the last wake-up handle may still hold the last task, as with stock Tasks)
        assert len(all_tasks.data) <= before + 1

    run(main())


def test_fut_waiter_and_cancel_while_blocked() -> None:
    async def child(fut: asyncio.Future[None]) -> None:
        await fut

    async def main() -> None:
        fut = asyncio.get_running_loop().create_future()
        t = asyncio.create_task(child(fut))
        assert t._fut_waiter is fut  # type: ignore[attr-defined]
        assert t.get_loop() is asyncio.get_running_loop()
        t.cancel()
        assert fut.cancelled()
        with pytest.raises(asyncio.CancelledError):
            await t

    run(main())


def test_names_follow_the_shared_counter() -> None:
    async def child() -> None:
        pass

    async def main() -> None:
        loop = asyncio.get_running_loop()
        a = CTask(child(), loop=loop)
        b = asyncio.create_task(child())
        c = CTask(child(), loop=loop)
        na, nb, nc = (int(t.get_name().split("-")[1]) for t in (a, b, c))
        assert (nb, nc) == (na + 1, na + 2)
        d = asyncio.create_task(child(), name="named")
        assert d.get_name() == "named"
        await asyncio.gather(a, c)

    run(main())


def test_debug_loop_source_traceback() -> None:
    async def child() -> None:
        await asyncio.sleep(0)

    async def main() -> None:
        t = asyncio.create_task(child())
        assert t._source_traceback  # type: ignore[attr-defined]
        await t

    run(main(), debug=True)


def test_custom_get_debug_is_asked() -> None:
    asked: list[int] = []

    class Loop(asyncio.SelectorEventLoop):
        def get_debug(self) -> bool:
            asked.append(1)
            return False

    async def child() -> int:
        return 5

    async def main() -> None:
        n = len(asked)
        t = asyncio.create_task(child())
        assert t.done() and await t == 5 and len(asked) > n

    run(main(), loop=Loop())


def test_base_exception_restores_current_task() -> None:
    async def child() -> None:
        raise KeyboardInterrupt

    async def main() -> None:
        me = asyncio.current_task()
        with pytest.raises(KeyboardInterrupt):
            asyncio.create_task(child())
        assert asyncio.current_task() is me

    run(main())


def test_uvloop_is_eager() -> None:
    uvloop = pytest.importorskip("uvloop")
    log: list[str] = []

    async def child() -> Any:
        log.append("child")
        await asyncio.sleep(0)
        return asyncio.current_task()

    async def main() -> None:
        t = asyncio.create_task(child())
        log.append("parent")
        assert await t is t

    run(main(), loop=uvloop.new_event_loop())
    assert log == ["child", "parent"]


def test_other_thread_tasks_are_registered() -> None:
    """A Task created in another thread while the hook is in place is registered."""
    stop = threading.Event()
    errors: list[BaseException] = []

    def other() -> None:
        async def body() -> None:
            while not stop.is_set():
                t = asyncio.get_running_loop().create_task(asyncio.sleep(0.001))
                if t not in asyncio.all_tasks():
                    errors.append(AssertionError("unregistered task"))
                await t

        try:
            asyncio.run(body())
        except BaseException as e:  # pragma: no cover - reported below
            errors.append(e)

    th = threading.Thread(target=other)
    th.start()

    async def child() -> int:
        return 1

    async def main() -> None:
        for _ in range(3000):
            asyncio.create_task(child())
            if _ % 100 == 0:
                await asyncio.sleep(0)

    try:
        run(main())
    finally:
        stop.set()
        th.join()
    assert errors == []


def test_objects_flat() -> None:
    async def child(i: int) -> int:
        return i

    async def blocking(i: int) -> int:
        await asyncio.sleep(0)
        return i

    async def main() -> None:
        for i in range(2000):
            asyncio.create_task(child(i))
            await asyncio.create_task(blocking(i))
        gc.collect()
        n = len(gc.get_objects())
        for i in range(20000):
            asyncio.create_task(child(i))
            await asyncio.create_task(blocking(i))
        gc.collect()
        assert len(gc.get_objects()) - n < 50

    run(main())
