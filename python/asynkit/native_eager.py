"""Eager tasks with CPython 3.12+ semantics on every supported Python (issue 9).

``create_native_eager_task_factory(custom_task_constructor)`` returns a task factory
for ``loop.set_task_factory()`` whose tasks behave like those of
``asyncio.create_eager_task_factory`` in CPython 3.12+:

* the Task object exists before its first step, and the first step runs synchronously
  inside ``create_task`` with that Task as the current task (``asyncio.current_task()``,
  ``asyncio.all_tasks()``), in the Task's own context, so ``asyncio.timeout()``,
  ``TaskGroup`` and libraries keyed on the current task see the right owner;
* a task that finishes in its first step is done when ``create_task`` returns and is
  never run by the loop; a task that blocks continues exactly like a stock Task (a bare
  yield such as ``sleep(0)`` resumes in the next loop pass, no extra pass);
* the first step is only taken while the loop is running (as in 3.12);
* ``KeyboardInterrupt`` / ``SystemExit`` raised by the first step are set on the task
  and propagate out of ``create_task``, as in 3.12.

On 3.12+ the native ``asyncio.create_eager_task_factory`` / ``asyncio.eager_task_factory``
are returned as they are.

How it works on 3.10/3.11: the task is a real Task built by its own constructor, and its
first step is the Task's own step, so every outcome is handled exactly as by a stock
Task. With the Rust engine and exactly ``asyncio.Task`` (the C Task) as the constructor,
the first step never goes through the loop at all: the constructor is handed a *step
catcher* as its loop that keeps the first step instead of queueing a ``Handle``, the Task
is then pointed at the real loop and the step runs at once, natively (see
``crates/asynkit-py/src/native_eager.rs``). This path works on any loop, uvloop's included.

Otherwise (Python Tasks, Task subclasses, the pure-Python selection) the constructor
schedules the first step with ``loop.call_soon``; that handle is taken back out of the
ready queue (the tail of ``loop._ready`` for deque-based loops, ``queue_find`` for
:class:`~asynkit.loop.schedulingloop.AbstractSchedulingLoop` loops such as the priority
loops) and run synchronously, with the creating task swapped out as current task so that
the step can enter its own task. When that handle cannot be found (a loop without an
accessible ready queue, e.g. uvloop, or a ``call_soon`` that does not queue the step), the
task is left as a plain, non-eager Task: it runs its first step in the next loop pass.

Differences from 3.12 that cannot be observed through the public asyncio API: the task is
registered in ``all_tasks()`` from construction (3.12 registers eager tasks on the fly),
and the constructor is not passed ``eager_start`` (3.10/3.11 Tasks do not accept it).
"""

from __future__ import annotations

import asyncio
import asyncio.base_events
import asyncio.events
import asyncio.tasks
import inspect
import sys
import types
from collections import deque
from typing import Any, Callable

from .compat import swap_current_task
from .coroutine import _native
from .loop.default import find_task_handle
from .loop.schedulingloop import AbstractSchedulingLoop

__all__ = ["create_native_eager_task_factory", "native_eager_task_factory"]

_PY_311 = sys.version_info >= (3, 11)
_PY_312 = sys.version_info >= (3, 12)
_get_running_loop = asyncio.events._get_running_loop


def _take_step_handle(loop: Any, task: Any) -> Any:
    """Remove and return ``task``'s scheduled first-step handle, or ``None``."""
    ready = getattr(loop, "_ready", None)
    if type(ready) is deque:
        if ready:
            handle = ready[-1]
            try:
                if handle._callback.__self__ is task:
                    ready.pop()
                    return handle
            except AttributeError:
                pass
        else:
            return None
    if isinstance(loop, AbstractSchedulingLoop):
        return loop.queue_find(loop.task_key(task), remove=True)
    if type(ready) is deque:
        return find_task_handle(ready, task, remove=True)
    return None


def _run_handle(loop: Any, handle: Any) -> None:
    """``handle._run()``, inlined: run the step in its context; errors other than
    ``KeyboardInterrupt`` / ``SystemExit`` go to the loop's exception handler."""
    try:
        handle._context.run(handle._callback, *handle._args)
    except (SystemExit, KeyboardInterrupt):
        raise
    except BaseException as exc:  # pragma: no cover - Task steps catch their errors
        loop.call_exception_handler(
            {"message": f"Exception in callback {handle!r}", "exception": exc, "handle": handle}
        )


# On 3.10/3.11 the current task of each loop lives in one dict shared by C and Python
# tasks (``asyncio.tasks._current_tasks``); swapping through it directly saves the
# checks of ``_enter_task`` / ``_leave_task``.
_current_tasks: Any = getattr(asyncio.tasks, "_current_tasks", None)
if type(_current_tasks) is not dict:  # pragma: no cover - unusual asyncio builds
    _current_tasks = None


class _NativeEagerTaskFactory:
    """The factory object: ``factory(loop, coro, *, name=None, context=None)``.

    A callable object rather than a closure for one reason: anyio (4.x) recognises the
    stdlib eager factory by ``factory.__code__`` (``None`` before 3.12) and then spawns
    task-group tasks non-eagerly with ``factory.__closure__[0].cell_contents`` as the
    constructor, because it registers its per-task state only after ``create_task``
    returns.  Having no ``__code__`` and a ``__closure__`` whose first cell holds the
    constructor gives this factory the same treatment on 3.10/3.11.
    """

    __slots__ = ("_constructor", "__closure__")

    def __init__(self, custom_task_constructor: Callable[..., Any]) -> None:
        self._constructor = custom_task_constructor
        self.__closure__ = (types.CellType(custom_task_constructor),)

    def __call__(self, loop: Any, coro: Any, *, name: Any = None, context: Any = None) -> Any:
        if context is None and not _PY_311:
            task = self._constructor(coro, loop=loop, name=name)
        else:
            task = self._constructor(coro, loop=loop, name=name, context=context)
        if _get_running_loop() is not loop and not loop.is_running():
            return task  # as in 3.12: no eager step unless the loop runs
        # Find the first-step handle that the constructor queued: the tail of the ready
        # deque on stock loops (inlined fast path), else the slower generic search.
        handle = None
        try:
            ready = loop._ready
            if type(ready) is deque:
                handle = ready[-1]
                if handle._callback.__self__ is task:
                    ready.pop()
                else:
                    handle = None
        except (AttributeError, IndexError):
            handle = None
        if handle is None:
            handle = _take_step_handle(loop, task)
            if handle is None:
                return task  # not found: the task stays a plain, scheduled Task
        current_tasks = _current_tasks
        if current_tasks is not None:
            prev = current_tasks.pop(loop, None)
            try:
                _run_handle(loop, handle)
            finally:
                if prev is not None:
                    current_tasks[loop] = prev
        else:  # pragma: no cover - unusual asyncio builds
            prev = swap_current_task(loop, None)
            try:
                _run_handle(loop, handle)
            finally:
                swap_current_task(loop, prev)
        return task

    def __repr__(self) -> str:
        return f"<native eager task factory for {self._constructor!r}>"


if _PY_312:  # pragma: no cover - exercised only on 3.12+
    create_native_eager_task_factory = asyncio.create_eager_task_factory  # type: ignore[attr-defined]
    native_eager_task_factory = asyncio.eager_task_factory  # type: ignore[attr-defined]
else:

    def create_native_eager_task_factory(  # type: ignore[misc]
        custom_task_constructor: Callable[..., Any],
    ) -> Callable[..., Any]:
        """A task factory with the semantics of CPython 3.12's
        ``asyncio.create_eager_task_factory(custom_task_constructor)``.

        ``custom_task_constructor`` is called as ``(coro, loop=, name=, context=)``
        (``context`` omitted on 3.10 when it is ``None``) and must return a task that
        schedules its first step with ``loop.call_soon`` (every ``asyncio.Task``,
        C or Python, and its subclasses).
        """
        py_factory = _NativeEagerTaskFactory(custom_task_constructor)
        if _native is None:
            return py_factory
        return _native._new_native_eager_task_factory(custom_task_constructor, py_factory)  # type: ignore[no-any-return]

    def _configure_native() -> bool:
        """Hand the Rust driver the C Task and the current-task dict; it calibrates
        itself on one throw-away Task and reports whether its fast path is usable."""
        c_task = getattr(asyncio.tasks, "_CTask", None)
        all_tasks = getattr(asyncio.tasks, "_all_tasks", None)
        if _native is None or c_task is None or _current_tasks is None or all_tasks is None:
            return False

        class _ProbeLoop:
            def get_debug(self) -> bool:
                return False

        async def _probe() -> None:
            return None

        return bool(
            _native._configure_native_eager(
                c_task,
                _current_tasks,
                all_tasks,
                _ProbeLoop(),
                _probe(),
            )
        )

    _native_fast_path = _configure_native()
    native_eager_task_factory = create_native_eager_task_factory(asyncio.Task)
    if _native is not None:
        # The native factory object presents itself like the Python one.
        _native.NativeEagerTaskFactory.__module__ = __name__
        _native.NativeEagerTaskFactory.__signature__ = inspect.signature(  # type: ignore[attr-defined]
            _NativeEagerTaskFactory(asyncio.Task)
        )
