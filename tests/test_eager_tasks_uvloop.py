"""The eager task factory on uvloop (eager-tasks.md §2–§7).

Reruns the behavioural tests of ``test_eager_tasks.py`` with a ``loop_factory`` that makes
uvloop loops (``uvloop.new_event_loop()`` + ``loop.set_task_factory(...)``), once per
CoroStart engine, plus uvloop-specific checks. Skipped where uvloop is not installed.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Callable
from typing import Any

import pytest

uvloop = pytest.importorskip("uvloop")

import asynkit  # noqa: E402
import asynkit.coroutine as ac  # noqa: E402
from test_eager_tasks import *  # noqa: E402, F403
from test_eager_tasks import Recorder, in_callback, returns, sleeper  # noqa: E402

# uvloop passes its own set of keywords to task factories (e.g. ``context=None`` on
# every call), so the CPython-version table of §4.2 does not apply; the uvloop variant
# below checks the rule itself: the constructor sees exactly what the loop passed.
del test_ctor_kwargs_exact_per_version  # noqa: F821

pytestmark = pytest.mark.usefixtures("patch_corostart")


@pytest.fixture
def loop_factory() -> Callable[[], asyncio.AbstractEventLoop]:
    return uvloop.new_event_loop  # type: ignore[no-any-return]


def test_uvloop_ctor_sees_what_the_loop_passed(run: Any) -> None:
    """§4.2 rule: forward whatever keywords arrive, minus ``eager_start``."""
    rec = Recorder()
    eager = ac.create_eager_task_factory(rec)
    passed: list[dict[str, Any]] = []

    def spying_factory(loop: Any, coro: Any, **kwargs: Any) -> Any:
        passed.append(dict(kwargs))
        return eager(loop, coro, **kwargs)

    async def main() -> None:
        loop = asyncio.get_running_loop()
        ctx = contextvars.copy_context()
        cases: list[dict[str, Any]] = [
            {},
            {"name": "N"},
            {"context": ctx},
            {"name": "N", "context": ctx},
        ]
        for given in cases:
            for maker in (asyncio.create_task, loop.create_task):
                passed.clear()
                rec.calls.clear()
                t = maker(sleeper(1), **given)
                assert len(passed) == 1 and len(rec.calls) == 1
                assert rec.calls[0]["kwargs"] == passed[0]
                assert rec.calls[0]["loop"] is loop
                assert t.get_name() == given.get("name", t.get_name())
                assert await t == 1
                f = maker(returns(2), **given)
                assert isinstance(f, ac.TaskLikeFuture)
                assert f.get_name() == given.get("name", f"TaskLikeFuture-{id(f)}")
                if "context" in given:
                    assert f.get_context() is ctx

    run(main, task_factory=spying_factory)


def test_uvloop_package_page_example() -> None:
    async def my_coroutine() -> str:
        return "immediate_result"

    async def blocking() -> str:
        await asyncio.sleep(0)
        return "later"

    async def main() -> list[Any]:
        loop = asyncio.get_running_loop()
        loop.set_task_factory(asynkit.eager_task_factory)
        task = asyncio.create_task(my_coroutine())
        assert isinstance(task, asynkit.TaskLikeFuture) and task.done()
        t2 = asyncio.create_task(blocking())
        assert isinstance(t2, asyncio.Task) and not t2.done()
        g = await in_callback(loop, lambda: loop.create_task(blocking()))
        return [await task, await t2, await g]

    loop = uvloop.new_event_loop()
    try:
        assert loop.run_until_complete(main()) == ["immediate_result", "later", "later"]
        loop.run_until_complete(loop.shutdown_asyncgens())
    finally:
        loop.close()
