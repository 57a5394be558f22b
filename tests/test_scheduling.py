"""Tests for asynkit.scheduling (sleep_insert, task_reinsert, task_switch, ...).

Every ordering test runs on the stock selector loop (through SchedulingLoopHelper), on
SchedulingSelectorEventLoop (SchedulingMixin), and on a loop implementing
AbstractSchedulingLoop by itself (the generic, method-dispatch path), each with the C task
class and with the Python task class (asyncio.tasks._PyTask).
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable
from typing import Any
from unittest import mock

import pytest

import asynkit
import asynkit.scheduling
from asynkit.loop.default import PyTask
from asynkit.loop.default import task_from_handle as _tfh
from asynkit.loop.extensions import get_ready_queue, ready_find, ready_insert, ready_len
from asynkit.loop.schedulingloop import AbstractSchedulingLoop

PY_312 = sys.version_info >= (3, 12)


class ListSchedulingLoop(asyncio.SelectorEventLoop, AbstractSchedulingLoop):
    """An AbstractSchedulingLoop written independently of SchedulingMixin.

    Records the view methods called, so tests can check that the scheduling functions
    dispatch through them.
    """

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[str] = []

    def queue_len(self) -> int:
        self.calls.append("queue_len")
        return len(self._ready)

    def queue_items(self) -> Any:
        self.calls.append("queue_items")
        return list(self._ready)

    def queue_find(self, key: Any, remove: bool = False) -> Any:
        self.calls.append("queue_find")
        items = list(self._ready)
        for i in range(len(items) - 1, -1, -1):
            found = items[i]
            if key(found):
                if remove:
                    del items[i]
                    self._ready.clear()
                    self._ready.extend(items)
                return found
        return None

    def queue_remove(self, handle: Any) -> None:
        self.calls.append("queue_remove")
        items = list(self._ready)
        for i in range(len(items) - 1, -1, -1):
            if items[i] is handle:
                del items[i]
                self._ready.clear()
                self._ready.extend(items)
                return
        raise ValueError("not queued")

    def queue_insert(self, handle: Any) -> None:
        self.calls.append("queue_insert")
        self._ready.append(handle)

    def queue_insert_pos(self, handle: Any, position: int) -> None:
        self.calls.append("queue_insert_pos")
        items = list(self._ready)
        items.insert(position, handle)
        self._ready.clear()
        self._ready.extend(items)

    def call_pos(self, position: int, callback: Any, *args: Any, context: Any = None) -> Any:
        self.calls.append("call_pos")
        handle = self.call_soon(callback, *args, context=context)
        assert self._ready.pop() is handle
        self.queue_insert_pos(handle, position)
        return handle

    def task_from_handle(self, handle: Any) -> Any:
        return _tfh(handle)


class CountingLoop(asyncio.SelectorEventLoop):
    """A stock loop whose call_soon is overridden (it must still be used)."""

    def __init__(self) -> None:
        super().__init__()
        self.call_soon_calls = 0

    def call_soon(self, *args: Any, **kwargs: Any) -> Any:
        self.call_soon_calls += 1
        return super().call_soon(*args, **kwargs)


def debug_mixin_loop() -> asyncio.AbstractEventLoop:
    loop = asynkit.SchedulingSelectorEventLoop()
    loop.set_debug(True)
    loop.slow_callback_duration = 100.0
    return loop


LOOPS: dict[str, Callable[[], asyncio.AbstractEventLoop]] = {
    "stock": asyncio.SelectorEventLoop,
    "mixin": asynkit.SchedulingSelectorEventLoop,
    "custom": ListSchedulingLoop,
    "counting": CountingLoop,
    "debug": debug_mixin_loop,
}


def py_task_factory(loop: Any, coro: Any, **kwargs: Any) -> Any:
    return PyTask(coro, loop=loop, **kwargs)


TASKS: dict[str, Any] = {"ctask": None, "pytask": py_task_factory}


@pytest.fixture(params=list(LOOPS))
def loop_kind(request: pytest.FixtureRequest) -> str:
    return request.param  # type: ignore[no-any-return]


@pytest.fixture(params=list(TASKS))
def task_kind(request: pytest.FixtureRequest) -> str:
    return request.param  # type: ignore[no-any-return]


@pytest.fixture
def arun(loop_kind: str, task_kind: str) -> Callable[..., Any]:
    """Run an async function on a fresh loop of the selected kind and task class."""

    def _run(fn: Callable[[], Any], factory: Any = None) -> Any:
        loop = LOOPS[loop_kind]()
        try:
            loop.set_task_factory(factory or TASKS[task_kind])
            return loop.run_until_complete(fn())
        finally:
            loop.set_task_factory(None)
            loop.close()

    return _run


def expected_task_type(task_kind: str) -> type:
    return PyTask if task_kind == "pytask" else asyncio.Task


async def note(log: list[Any], name: Any) -> None:
    log.append(name)


async def logger(log: list[Any], name: Any, steps: int = 1) -> None:
    for i in range(steps):
        log.append(name if steps == 1 else (name, i))
        await asyncio.sleep(0)


def inserted(items: list[Any], pos: int, item: Any) -> list[Any]:
    result = list(items)
    result.insert(pos, item)
    return result


POSITIONS = [0, 1, 3, 5, 6, 100, -1, -3, -5, -6, -100]


# ---------------------------------------------------------------------------
# module surface
# ---------------------------------------------------------------------------


def test_all_exact() -> None:
    assert asynkit.scheduling.__all__ == [
        "blocked_tasks",
        "create_task_descend",
        "create_task_start",
        "runnable_tasks",
        "sleep_insert",
        "task_reinsert",
        "task_switch",
        "task_is_blocked",
        "task_is_runnable",
    ]
    for name in asynkit.scheduling.__all__:
        assert getattr(asynkit, name) is getattr(asynkit.scheduling, name)
        assert name in asynkit.__all__


def test_tools_create_task_used() -> None:
    import asynkit.tools

    assert asynkit.scheduling.create_task is asynkit.tools.create_task


# ---------------------------------------------------------------------------
# task_reinsert
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("pos", POSITIONS)
@pytest.mark.parametrize("which", [5, 2, 0])
def test_task_reinsert_positions(arun: Any, task_kind: str, pos: int, which: int) -> None:
    async def main() -> list[Any]:
        log: list[Any] = []
        tasks = [asyncio.create_task(logger(log, i)) for i in range(6)]
        assert isinstance(tasks[0], expected_task_type(task_kind))
        asynkit.task_reinsert(tasks[which], pos)
        await asyncio.gather(*tasks)
        return log

    others = [i for i in range(6) if i != which]
    assert arun(main) == inserted(others, pos, which)


def test_task_reinsert_examples(arun: Any) -> None:
    async def main(pos: int) -> list[Any]:
        log: list[Any] = []
        tasks = [asyncio.create_task(logger(log, i)) for i in range(6)]
        asynkit.task_reinsert(tasks[5], pos)
        await asyncio.gather(*tasks)
        return log

    assert arun(lambda: main(0)) == [5, 0, 1, 2, 3, 4]
    assert arun(lambda: main(1)) == [0, 5, 1, 2, 3, 4]
    assert arun(lambda: main(6)) == [0, 1, 2, 3, 4, 5]


def test_task_reinsert_among_callbacks(arun: Any) -> None:
    """Positions count every handle, including plain callbacks."""

    async def main() -> list[Any]:
        log: list[Any] = []
        loop = asyncio.get_running_loop()
        loop.call_soon(log.append, "cb0")
        task = asyncio.create_task(logger(log, "t"))
        loop.call_soon(log.append, "cb1")
        loop.call_soon(log.append, "cb2")
        asynkit.task_reinsert(task, 2)
        await task
        return log

    assert arun(main) == ["cb0", "cb1", "t", "cb2"]


def test_task_reinsert_woken_task(arun: Any) -> None:
    """A task woken by a completed future (wakeup handle) is found too."""

    async def main() -> list[Any]:
        log: list[Any] = []
        fut = asyncio.get_running_loop().create_future()

        async def waiter() -> None:
            await fut
            log.append("waiter")

        w = asyncio.create_task(waiter())
        await asyncio.sleep(0)
        assert asynkit.task_is_blocked(w)
        others = [asyncio.create_task(logger(log, i)) for i in range(3)]
        fut.set_result(None)  # the wakeup handle goes to the tail
        assert asynkit.task_is_runnable(w)
        asynkit.task_reinsert(w, 0)
        await asyncio.gather(w, *others)
        return log

    assert arun(main) == ["waiter", 0, 1, 2]


def test_task_reinsert_errors(arun: Any) -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        fut = loop.create_future()
        blocked = asyncio.create_task(asyncio.wait_for(fut, None))
        done = asyncio.create_task(asyncio.sleep(0))
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        assert done.done() and not blocked.done()
        before = list(get_ready_queue())
        for task in (blocked, done, asyncio.current_task()):
            with pytest.raises(ValueError):
                asynkit.task_reinsert(task, 0)
        assert list(get_ready_queue()) == before
        # a removed handle: not found, then put back and the task runs normally
        runner = asyncio.create_task(asyncio.sleep(0, "ok"))
        handle = ready_find(runner, remove=True)
        assert handle is not None
        with pytest.raises(ValueError):
            asynkit.task_reinsert(runner, 0)
        ready_insert(handle)
        assert await runner == "ok"
        fut.set_result(1)
        assert await blocked == 1

    arun(main)


def test_task_reinsert_wrong_loop(loop_kind: str) -> None:
    other = LOOPS[loop_kind]()
    foreign = other.create_task(asyncio.sleep(0, "foreign"))

    async def main() -> None:
        with pytest.raises(ValueError):
            asynkit.task_reinsert(foreign, 0)
        with pytest.raises(ValueError):
            await asynkit.task_switch(foreign)
        assert ready_find(foreign) is None

    loop = LOOPS[loop_kind]()
    try:
        loop.run_until_complete(main())
    finally:
        loop.close()
    try:
        assert other.run_until_complete(foreign) == "foreign"
    finally:
        other.close()


def test_task_reinsert_no_loop() -> None:
    with pytest.raises(RuntimeError):
        asynkit.task_reinsert(mock.Mock(), 0)


# ---------------------------------------------------------------------------
# sleep_insert
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("pos", POSITIONS)
def test_sleep_insert_positions(arun: Any, pos: int) -> None:
    async def main() -> tuple[list[Any], int]:
        log: list[Any] = []
        tasks = [asyncio.create_task(note(log, i)) for i in range(5)]
        await asynkit.sleep_insert(pos)
        log.append("main")
        remaining = ready_len()
        await asyncio.gather(*tasks)
        return log, remaining

    log, remaining = arun(main)
    assert log == inserted(list(range(5)), pos, "main")
    assert remaining == 5 - log.index("main")
    if 0 <= pos <= 5:
        assert remaining == 5 - pos


def test_sleep_insert_same_iteration_head(arun: Any) -> None:
    """pos=0 resumes before anything queued; an empty queue resumes at once."""

    async def main() -> list[Any]:
        log: list[Any] = []
        await asynkit.sleep_insert(0)
        log.append("alone")
        loop = asyncio.get_running_loop()
        loop.call_soon(log.append, "cb")
        await asynkit.sleep_insert(0)
        log.append("main")
        await asyncio.sleep(0)
        return log

    assert arun(main) == ["alone", "main", "cb"]


def test_sleep_insert_repeated_with_bystanders(arun: Any) -> None:
    """sleep_insert(1) lets exactly one bystander step run each time."""

    async def main() -> int:
        steps = [0]
        stop: list[bool] = []

        async def spin() -> None:
            while not stop:
                steps[0] += 1
                await asyncio.sleep(0)

        bystanders = [asyncio.create_task(spin()) for _ in range(20)]
        await asyncio.sleep(0)
        before = steps[0]
        for _ in range(50):
            await asynkit.sleep_insert(1)
        ran = steps[0] - before
        stop.append(True)
        await asyncio.gather(*bystanders)
        return ran

    assert arun(main) == 50


def test_sleep_insert_caller_is_queued_as_task(arun: Any) -> None:
    """While suspended, the caller is a queued task; no helper callback counts as one."""

    async def main() -> None:
        loop = asyncio.get_running_loop()
        me = asyncio.current_task()
        seen: list[Any] = []

        def probe() -> None:
            seen.append((asynkit.runnable_tasks(loop), ready_len(loop)))

        loop.call_soon(probe)
        tasks = [asyncio.create_task(asyncio.sleep(0)) for _ in range(3)]
        await asynkit.sleep_insert(2)
        assert seen == [({me, *tasks}, 4)]  # main sits at index 1: t0, main, t1, t2
        await asyncio.gather(*tasks)

    arun(main)


# ---------------------------------------------------------------------------
# task_switch
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs, expected",
    [
        ({}, [3, 0, 1, 2, 4, 5, "main"]),
        ({"insert_pos": None}, [3, 0, 1, 2, 4, 5, "main"]),
        ({"insert_pos": 1}, [3, "main", 0, 1, 2, 4, 5]),
        ({"insert_pos": 0}, ["main", 3, 0, 1, 2, 4, 5]),
        ({"insert_pos": 2}, [3, 0, "main", 1, 2, 4, 5]),
        ({"insert_pos": -1}, [3, 0, 1, 2, 4, "main", 5]),
        ({"insert_pos": 100}, [3, 0, 1, 2, 4, 5, "main"]),
    ],
)
def test_task_switch_order(arun: Any, kwargs: dict[str, Any], expected: list[Any]) -> None:
    async def main() -> list[Any]:
        log: list[Any] = []
        tasks = [asyncio.create_task(logger(log, i)) for i in range(6)]
        result = await asynkit.task_switch(tasks[3], **kwargs)
        assert result is None
        log.append("main")
        await asyncio.gather(*tasks)
        return log

    assert arun(main) == expected


def test_task_switch_positional_insert_pos(arun: Any) -> None:
    async def main() -> list[Any]:
        log: list[Any] = []
        tasks = [asyncio.create_task(logger(log, i)) for i in range(3)]
        await asynkit.task_switch(tasks[2], 1)
        log.append("main")
        await asyncio.gather(*tasks)
        return log

    assert arun(main) == [2, "main", 0, 1]


def test_task_switch_errors_do_not_suspend(arun: Any) -> None:
    async def main() -> None:
        log: list[Any] = []
        fut = asyncio.get_running_loop().create_future()
        blocked = asyncio.create_task(asyncio.wait_for(fut, None))
        done = asyncio.create_task(asyncio.sleep(0))
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        tasks = [asyncio.create_task(logger(log, i)) for i in range(3)]
        before = list(get_ready_queue())
        for target in (blocked, done, asyncio.current_task()):
            for kwargs in ({}, {"insert_pos": 1}):
                with pytest.raises(ValueError):
                    await asynkit.task_switch(target, **kwargs)  # type: ignore[arg-type]
                assert log == []  # nobody else ran: the caller never suspended
                assert list(get_ready_queue()) == before
        fut.set_result(None)
        await asyncio.gather(blocked, *tasks)
        assert log == [0, 1, 2]

    arun(main)


def test_task_switch_ping_pong(arun: Any) -> None:
    """Two tasks switching to each other never let a queued bystander run."""

    async def main() -> tuple[int, list[Any]]:
        steps = [0]
        stop: list[bool] = []
        log: list[Any] = []

        async def spin() -> None:
            while not stop:
                steps[0] += 1
                await asyncio.sleep(0)

        bystander = asyncio.create_task(spin())
        await asyncio.sleep(0)
        peers: list[asyncio.Task[int]] = []

        async def player(me: int) -> int:
            before = steps[0]
            for i in range(20):
                log.append((me, i))
                await asynkit.task_switch(peers[1 - me])
            return steps[0] - before

        peers[:] = [asyncio.create_task(player(0)), asyncio.create_task(player(1))]
        ran = (await asyncio.gather(*peers))[0]
        stop.append(True)
        await bystander
        return ran, log

    ran, log = arun(main)
    assert ran == 0
    assert log == [(me, i) for i in range(20) for me in (0, 1)]


def test_task_switch_to_woken_task(arun: Any) -> None:
    async def main() -> list[Any]:
        log: list[Any] = []
        fut = asyncio.get_running_loop().create_future()

        async def waiter() -> None:
            log.append(await fut)

        w = asyncio.create_task(waiter())
        await asyncio.sleep(0)
        others = [asyncio.create_task(logger(log, i)) for i in range(2)]
        fut.set_result("woken")
        await asynkit.task_switch(w, insert_pos=1)
        log.append("main")
        await asyncio.gather(w, *others)
        return log

    assert arun(main) == ["woken", "main", 0, 1]


# ---------------------------------------------------------------------------
# create_task_descend / create_task_start
# ---------------------------------------------------------------------------


def test_create_task_descend_depth_first(arun: Any, task_kind: str) -> None:
    async def main() -> list[str]:
        log: list[str] = []

        async def a1() -> str:
            log.append("a1 start")
            await asyncio.sleep(0)
            log.append("a1 end")
            return "a1"

        async def a() -> str:
            log.append("a start")
            t = await asynkit.create_task_descend(a1())
            log.append("a after")
            await asyncio.sleep(0)
            log.append("a end")
            return await t

        async def b() -> str:
            log.append("b start")
            await asyncio.sleep(0)
            log.append("b end")
            return "b"

        log.append("main start")
        ta = await asynkit.create_task_descend(a(), name="task-a")
        log.append("main after a")
        assert isinstance(ta, expected_task_type(task_kind))
        assert ta.get_name() == "task-a" and not ta.done()
        tb = await asynkit.create_task_descend(b())
        log.append("main after b")
        assert await ta == "a1" and await tb == "b"
        return log

    assert arun(main) == [
        "main start",
        "a start",
        "a1 start",
        "a after",
        "main after a",
        "b start",
        "main after b",
        "a1 end",
        "a end",
        "b end",
    ]


def test_create_task_descend_blocking_child(arun: Any) -> None:
    """The caller resumes right after the child first suspends, before older tasks."""

    async def main() -> list[str]:
        log: list[str] = []
        fut = asyncio.get_running_loop().create_future()
        older = asyncio.create_task(logger(log, "older"))

        async def child() -> None:
            log.append("child start")
            await fut
            log.append("child end")

        t = await asynkit.create_task_descend(child())
        log.append("main")
        assert asynkit.task_is_blocked(t)
        fut.set_result(None)
        await asyncio.gather(t, older)
        return log

    assert arun(main) == ["child start", "main", "older", "child end"]


def test_create_task_start(arun: Any, task_kind: str) -> None:
    async def main() -> list[str]:
        log: list[str] = []
        older = asyncio.create_task(logger(log, "older"))

        async def child() -> str:
            log.append("child start")
            await asyncio.sleep(0)
            log.append("child end")
            return "child"

        t = await asynkit.create_task_start(child(), name="kid")
        log.append("main")
        assert isinstance(t, expected_task_type(task_kind))
        assert t.get_name() == "kid"
        assert await t == "child"
        await older
        return log

    assert arun(main) == ["older", "child start", "main", "child end"]


@pytest.mark.skipif(not PY_312, reason="asyncio.eager_task_factory needs 3.12+")
def test_eager_tasks_not_queued(loop_kind: str) -> None:
    async def main() -> None:
        async def quick() -> int:
            return 1

        async def yields() -> int:
            await asyncio.sleep(0)
            return 2

        t = asyncio.create_task(quick())
        assert t.done()
        assert ready_find(t) is None
        with pytest.raises(ValueError):
            asynkit.task_reinsert(t, 0)
        with pytest.raises(ValueError):
            await asynkit.task_switch(t)
        with pytest.raises(ValueError):
            await asynkit.create_task_descend(quick())
        y = asyncio.create_task(yields())  # eager first step, then queued normally
        assert ready_find(y) is not None
        assert asyncio.all_tasks() == (
            asynkit.runnable_tasks() | asynkit.blocked_tasks() | {asyncio.current_task()}
        )
        await asynkit.task_switch(y, insert_pos=1)
        assert y.done() and y.result() == 2

    loop = LOOPS[loop_kind]()
    try:
        loop.set_task_factory(asyncio.eager_task_factory)
        loop.run_until_complete(main())
    finally:
        loop.close()


# ---------------------------------------------------------------------------
# task_is_blocked / task_is_runnable
# ---------------------------------------------------------------------------


def test_blocked_runnable_states(arun: Any) -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        state = asynkit.task_is_blocked, asynkit.task_is_runnable

        def check(task: Any, blocked: bool) -> None:
            assert state[0](task) is blocked
            assert state[1](task) is (not blocked and not task.done())

        fut = loop.create_future()
        new = asyncio.create_task(asyncio.sleep(0))
        check(new, False)
        check(asyncio.current_task(), False)
        sleeper = asyncio.create_task(asyncio.sleep(0.1))
        waiter = asyncio.create_task(asyncio.wait_for(fut, None))
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        check(sleeper, True)
        check(waiter, True)
        assert new.done()
        check(new, False)
        assert not asynkit.task_is_runnable(new)
        # cancel a blocked task: its waiter is cancelled (done), so not blocked any more
        sleeper.cancel()
        check(sleeper, False)
        assert asynkit.task_is_runnable(sleeper)
        assert sleeper in asynkit.runnable_tasks()
        # the awaited future completes: runnable at once, though not yet run
        fut.set_result(5)
        check(waiter, False)
        assert waiter._fut_waiter is not None  # woken, wakeup not yet run
        for f_action in ("exception", "cancel"):
            f = loop.create_future()
            t = asyncio.create_task(asyncio.wait_for(f, None))
            await asyncio.sleep(0)
            check(t, True)
            if f_action == "exception":
                f.set_exception(KeyError())
            else:
                f.cancel()
            check(t, False)
            with pytest.raises((KeyError, asyncio.CancelledError)):
                await t
        assert await waiter == 5
        with pytest.raises(asyncio.CancelledError):
            await sleeper

    arun(main)


def test_blocked_on_cancelled_task(arun: Any) -> None:
    """Task A awaiting B stays blocked until B has actually finished."""

    async def main() -> None:
        b = asyncio.create_task(asyncio.sleep(10))

        async def a_body() -> None:
            await b

        a = asyncio.create_task(a_body())
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        assert asynkit.task_is_blocked(a) and asynkit.task_is_blocked(b)
        b.cancel()
        assert not asynkit.task_is_blocked(b)
        assert asynkit.task_is_blocked(a)
        await asyncio.sleep(0)  # b runs and finishes
        assert b.done()
        assert not asynkit.task_is_blocked(a)
        with pytest.raises(asyncio.CancelledError):
            await a

    arun(main)


def test_fut_waiter_none_is_not_blocked(arun: Any) -> None:
    class Fake:
        _fut_waiter = None

        def done(self) -> bool:
            return False

    assert not asynkit.task_is_blocked(Fake())
    assert asynkit.task_is_runnable(Fake())


def test_task_is_runnable_uses_module_global(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(asynkit.scheduling, "task_is_blocked", lambda t: True)
    task = mock.Mock()
    task.done.return_value = False
    assert asynkit.scheduling.task_is_runnable(task) is False


# ---------------------------------------------------------------------------
# runnable_tasks / blocked_tasks
# ---------------------------------------------------------------------------


def test_runnable_blocked_under_load(arun: Any) -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        futs = [loop.create_future() for _ in range(150)]
        stop: list[bool] = []

        async def spin() -> None:
            while not stop:
                await asyncio.sleep(0)

        blockers = [asyncio.create_task(asyncio.wait_for(f, None)) for f in futs]
        spinners = [asyncio.create_task(spin()) for _ in range(150)]
        sleepers = [asyncio.create_task(asyncio.sleep(10)) for _ in range(20)]
        loop.call_soon(lambda: None)
        loop.call_soon(futs[0].done)
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        me = asyncio.current_task()
        for arg in ((), (loop,)):
            runnable = asynkit.runnable_tasks(*arg)
            blocked = asynkit.blocked_tasks(*arg)
            assert type(runnable) is set and type(blocked) is set
            assert runnable == set(spinners)
            assert blocked == set(blockers) | set(sleepers)
            assert me not in runnable and me not in blocked
            assert asyncio.all_tasks(*arg) == runnable | blocked | {me}
            assert all(asynkit.task_is_blocked(t) for t in blocked)
        # wake half of the blocked tasks: they move to the runnable set at once
        for f in futs[:75]:
            f.set_result(None)
        runnable = asynkit.runnable_tasks()
        assert runnable == set(spinners) | set(blockers[:75])
        assert asynkit.blocked_tasks() == set(blockers[75:]) | set(sleepers)
        for t in sleepers:
            t.cancel()
        assert set(sleepers) <= asynkit.runnable_tasks()  # cancelled, not yet run
        stop.append(True)
        for f in futs[75:]:
            f.set_result(None)
        await asyncio.gather(*blockers, *spinners, *sleepers, return_exceptions=True)
        assert asynkit.runnable_tasks() == set()
        assert asynkit.blocked_tasks() == set()

    arun(main)


def test_runnable_empty_when_all_sleep(arun: Any) -> None:
    async def main() -> None:
        tasks = [asyncio.create_task(asyncio.sleep(0.05)) for _ in range(5)]
        await asyncio.sleep(0)
        assert asynkit.runnable_tasks() == set()
        assert asynkit.blocked_tasks() == set(tasks)
        await asyncio.gather(*tasks)

    arun(main)


def test_blocked_tasks_patched_current_task(arun: Any) -> None:
    """asyncio.current_task may be a zero-argument callable; task_is_blocked may lie."""

    async def main() -> None:
        fut = asyncio.get_running_loop().create_future()
        blocked = asyncio.create_task(asyncio.wait_for(fut, None))
        runnable = asyncio.create_task(asyncio.sleep(0))
        await asyncio.sleep(0)
        runnable2 = asyncio.create_task(asyncio.sleep(0))
        me = asyncio.current_task()
        with mock.patch("asyncio.current_task", lambda: None):
            with mock.patch("asynkit.scheduling.task_is_blocked", lambda t: True):
                result = asynkit.blocked_tasks()
                result_loop = asynkit.blocked_tasks(asyncio.get_running_loop())
                assert runnable2 in asynkit.runnable_tasks()
        assert result == result_loop == {blocked, me}
        assert asynkit.blocked_tasks() == {blocked}
        fut.set_result(None)
        await asyncio.gather(blocked, runnable, runnable2)

    arun(main)


def test_runnable_tasks_no_loop() -> None:
    with pytest.raises(RuntimeError):
        asynkit.runnable_tasks()
    with pytest.raises(RuntimeError):
        asynkit.blocked_tasks()


def test_runnable_excludes_handles_of_non_tasks(arun: Any) -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()

        class Other:
            def method(self) -> None:
                pass

        loop.call_soon(Other().method)
        loop.call_soon(len, "x")
        t = asyncio.create_task(asyncio.sleep(0))
        h = loop.call_soon(t.cancel)  # a task's bound method counts as that task
        assert asynkit.runnable_tasks() == {t}
        h.cancel()
        t2 = asyncio.create_task(asyncio.sleep(0))
        assert asynkit.runnable_tasks() == {t, t2}
        await asyncio.gather(t, t2)

    arun(main)


def test_custom_loop_dispatches_through_view() -> None:
    """On a non-mixin AbstractSchedulingLoop the functions use the view's methods."""

    async def main(loop: ListSchedulingLoop) -> None:
        log: list[Any] = []
        tasks = [asyncio.create_task(note(log, i)) for i in range(3)]
        loop.calls.clear()
        asynkit.task_reinsert(tasks[2], 0)
        assert loop.calls == ["queue_find", "queue_insert_pos"]
        loop.calls.clear()
        await asynkit.sleep_insert(1)
        assert "call_pos" in loop.calls and "queue_find" in loop.calls
        loop.calls.clear()
        assert asynkit.runnable_tasks() == {tasks[0], tasks[1]}
        assert loop.calls == ["queue_items"]
        await asyncio.gather(*tasks)
        assert log == [2, 0, 1]

    loop = ListSchedulingLoop()
    try:
        loop.run_until_complete(main(loop))
    finally:
        loop.close()


def test_mixin_subclass_overrides_are_honoured() -> None:
    """A SchedulingMixin loop overriding a queue method gets the generic path."""
    calls: list[str] = []

    class Traced(asynkit.SchedulingSelectorEventLoop):
        def queue_insert_pos(self, handle: Any, position: int) -> None:
            calls.append(f"insert {position}")
            super().queue_insert_pos(handle, position)

    async def main() -> list[Any]:
        log: list[Any] = []
        tasks = [asyncio.create_task(logger(log, i)) for i in range(3)]
        asynkit.task_reinsert(tasks[1], 0)
        await asynkit.task_switch(tasks[2], insert_pos=1)
        log.append("main")
        await asyncio.gather(*tasks)
        return log

    loop = Traced()
    try:
        assert loop.run_until_complete(main()) == [2, "main", 1, 0]
    finally:
        loop.close()
    assert calls == ["insert 0", "insert 0", "insert 1"]


def test_overridden_call_soon_is_used() -> None:
    """sleep_insert's head callback goes through a loop's own call_soon override."""

    async def main(loop: CountingLoop) -> list[int]:
        t = asyncio.create_task(asyncio.sleep(0))
        await asyncio.sleep(0)  # one slow-path call first, then the remembered fast path
        counts = []
        for _ in range(2):
            before = loop.call_soon_calls
            await asynkit.sleep_insert(0)
            counts.append(loop.call_soon_calls - before)
        await t
        return counts

    loop = CountingLoop()
    try:
        # the head callback + the caller's own step being re-queued
        assert loop.run_until_complete(main(loop)) == [2, 2]
    finally:
        loop.close()
