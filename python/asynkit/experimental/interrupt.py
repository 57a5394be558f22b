"""Task interruption: raise an exception inside another task, right now.

Spec: interrupt-anyio.md §2.  Plain Python glue over asyncio's task, future and handle
attributes (nothing here gains from Rust):

* :func:`task_throw` makes a task runnable so that its next step raises a given exception
  instance at its current ``await``;
* :func:`task_interrupt` does that and switches to the target at once, so that the
  exception has been delivered when the caller resumes;
* :func:`task_timeout` is a timeout context manager built on :func:`task_interrupt` and
  :class:`TimeoutInterrupt`;
* :func:`create_pytask` creates a pure-Python task (:data:`PyTask`), which can be
  interrupted in every state.  C tasks can only be interrupted while they wait for a
  future (blocked, or woken with a wakeup queued).
"""

from __future__ import annotations

import asyncio
import asyncio.tasks
import contextlib
import sys
from collections.abc import AsyncIterator, Coroutine
from typing import Any

from ..compat import InterruptCondition, patch_pytask
from ..loop.default import PyTask
from ..loop.extensions import get_scheduling_loop
from ..loop.schedulingloop import AbstractSchedulingLoop
from ..loop.types import TaskAny
from ..scheduling import task_switch

__all__ = [
    "InterruptException",
    "InterruptCondition",
    "create_pytask",
    "task_interrupt",
    "task_throw",
    "task_timeout",
    "TimeoutInterrupt",
    "PyTask",
]


class InterruptException(asyncio.CancelledError):
    """Base class for interrupts delivered with :func:`task_interrupt`.

    It derives from :class:`asyncio.CancelledError` so that asyncio's primitives (locks,
    semaphores, conditions, queues) clean up after an interrupted waiter as they do after
    a cancelled one.
    """


class TimeoutInterrupt(InterruptException):
    """The interrupt raised inside a :func:`task_timeout` block when its time is up."""


# ---------------------------------------------------------------------------
# create_pytask
# ---------------------------------------------------------------------------


def task_factory(loop: asyncio.AbstractEventLoop, coro: Any, **kwargs: Any) -> TaskAny:
    """The task factory used by :func:`create_pytask`: always a lazy :data:`PyTask`."""
    return PyTask(coro, loop=loop, **kwargs)  # type: ignore[no-any-return]


def create_pytask(
    coro: Coroutine[Any, Any, Any], *, name: str | None = None, **kwargs: Any
) -> TaskAny:
    """Create a pure-Python task (``asyncio.tasks._PyTask``) on the running loop.

    The task is always started lazily (its first step is queued), even when the loop has
    an eager task factory.  ``kwargs`` (``context=`` ...) go to ``loop.create_task``.
    """
    patch_pytask()
    loop = asyncio.get_running_loop()
    old_factory = loop.get_task_factory()
    loop.set_task_factory(task_factory)  # type: ignore[arg-type]
    try:
        return loop.create_task(coro, name=name, **kwargs)
    finally:
        loop.set_task_factory(old_factory)


# ---------------------------------------------------------------------------
# task_throw
# ---------------------------------------------------------------------------


def _retrieve(handle: Any) -> None:
    """Mark the exception of a discarded wakeup handle's future as retrieved.

    The wakeup of a woken task carries the future it waited for (or, for a C task that
    was already thrown at, the carrier future made by this module).  The task will now
    never read it, so asyncio would report "Future exception was never retrieved".
    """
    for arg in getattr(handle, "_args", None) or ():
        if asyncio.isfuture(arg) and arg.done() and not arg.cancelled():
            arg.exception()


def future_find_task_callback(fut_waiter: Any, task: TaskAny) -> tuple[Any, Any]:
    """The single ``(callback, context)`` entry of ``fut_waiter``'s callbacks that belongs
    to ``task`` (its wakeup)."""
    found = [
        (cb, ctx)
        for cb, ctx in (fut_waiter._callbacks or ())
        if getattr(cb, "__self__", None) is task
    ]
    if len(found) != 1:
        # A C task already detached from this future by an earlier task_throw() (its
        # read-only _fut_waiter is stale until it runs), or an unexpected state.
        raise RuntimeError(
            "cannot interrupt task: its wakeup callback is not registered with the future "
            "it waits for (already interrupted?)"
        )
    return found[0]


def c_task_reschedule(
    task_loop: asyncio.AbstractEventLoop,
    scheduling_loop: AbstractSchedulingLoop,
    task: TaskAny,
    fut_waiter: Any,
    exception: BaseException,
    handle: Any = None,
) -> tuple[Any, Any, Any]:
    """The C-task path of :func:`task_throw`.

    Reuses the task's wakeup callback (found on the future it is blocked on, or the
    task's queued handle, removed from the ready queue here unless the caller already did
    and passes it as ``handle``) and schedules it with a carrier future holding
    ``exception``.  Returns ``(callback, carrier, context)``.
    """
    if handle is None and (fut_waiter is None or fut_waiter.done()):
        handle = scheduling_loop.queue_find(scheduling_loop.task_key(task), remove=True)
        if handle is None:
            raise RuntimeError("cannot interrupt task: it is neither blocked nor scheduled")
    if handle is None:
        callback, ctx = future_find_task_callback(fut_waiter, task)
        fut_waiter.remove_done_callback(callback)
    else:
        callback, ctx = handle._callback, handle._context
        if "TaskStepMethWrapper" in str(callback):
            # A plain __step: it takes no argument, so it cannot carry an exception.
            scheduling_loop.queue_insert(handle)
            raise RuntimeError("cannot interrupt a c-task with a plain __step scheduled")
        _retrieve(handle)
    carrier = task._loop.create_future()  # type: ignore[attr-defined]
    carrier.set_exception(exception)
    task_loop.call_soon(callback, carrier, context=ctx)
    return callback, carrier, ctx


def task_throw(task: TaskAny, exception: BaseException) -> None:
    """Make ``task`` runnable so that it raises ``exception`` at its current ``await``.

    The task is not run; its new handle goes to the tail of the ready queue.  A blocked
    task stops waiting; the future it waited for is left untouched.
    """
    if not isinstance(exception, BaseException):
        raise TypeError("exception must be an instance deriving from BaseException")
    if task.done():
        raise RuntimeError("cannot interrupt task which is done")
    step = getattr(task, "_Task__step", None)
    task_loop = task.get_loop()
    fut_waiter = task._fut_waiter  # type: ignore[attr-defined]
    handle = None
    scheduling_loop = get_scheduling_loop(task_loop)
    if fut_waiter is None or fut_waiter.done():
        if task._must_cancel or (  # type: ignore[attr-defined]
            fut_waiter is not None and fut_waiter.cancelled()
        ):
            raise RuntimeError("cannot interrupt a cancelled task")
        handle = scheduling_loop.queue_find(scheduling_loop.task_key(task), remove=True)
        if handle is None:
            if task is asyncio.tasks.current_task(task_loop):
                raise RuntimeError("cannot interrupt self")
            raise RuntimeError("cannot interrupt task: it is neither blocked nor scheduled")

    if step is None:
        c_task_reschedule(task_loop, scheduling_loop, task, fut_waiter, exception, handle)
        return

    # Python task
    if handle is None:
        fut_waiter.remove_done_callback(task._Task__wakeup)  # type: ignore[attr-defined]
    else:
        _retrieve(handle)
    task._fut_waiter = None  # type: ignore[attr-defined]
    task_loop.call_soon(step, exception, context=task._context)  # type: ignore[attr-defined]


# ---------------------------------------------------------------------------
# task_interrupt
# ---------------------------------------------------------------------------


async def task_interrupt(task: TaskAny, exception: BaseException) -> None:
    """Raise ``exception`` inside ``task`` and run it at once.

    When this returns, the target has run (with the exception raised at its ``await``)
    until its next suspension or its end, followed by whatever was ready before.
    """
    task_throw(task, exception)
    await task_switch(task)


# ---------------------------------------------------------------------------
# task_timeout
# ---------------------------------------------------------------------------


_HANDLER_RUNS_IN_TASK_CONTEXT = sys.version_info >= (3, 12)


class _TimeoutState:
    __slots__ = ("active",)

    def __init__(self) -> None:
        self.active = True


async def _timeout_interruptor(
    loop: asyncio.AbstractEventLoop,
    task: TaskAny,
    exception: TimeoutInterrupt,
    state: _TimeoutState,
) -> None:
    """Body of the helper task started when a :func:`task_timeout` timer fires."""
    try:
        for attempt in range(3):
            if not state.active:
                return
            try:
                await task_interrupt(task, exception)
            except RuntimeError:
                if attempt == 2:
                    raise
                await asyncio.sleep(0)
    except Exception as exc:
        context = {
            "message": f"timeout interruptor failed for task {task!r}",
            "task": asyncio.current_task(),
            "exception": exc,
        }
        if _HANDLER_RUNS_IN_TASK_CONTEXT and loop.get_exception_handler() is not None:
            # 3.12+ runs a custom handler inside the reported task's context, which is
            # entered while this helper task runs: report from a plain callback instead.
            loop.call_soon(loop.call_exception_handler, context)
        else:
            loop.call_exception_handler(context)


@contextlib.asynccontextmanager
async def task_timeout(timeout: float | None) -> AsyncIterator[None]:
    """Raise :class:`asyncio.TimeoutError` if the block runs longer than ``timeout``.

    The current task is interrupted with a :class:`TimeoutInterrupt` (unique to this
    block) when the time is up; leaving the block converts it.  ``None`` disables it.
    """
    if timeout is None:
        yield
        return
    task = asyncio.current_task()
    assert task is not None, "task_timeout() needs a running task"
    loop = task.get_loop()
    exception = TimeoutInterrupt()
    state = _TimeoutState()

    def trigger() -> None:
        loop.create_task(_timeout_interruptor(loop, task, exception, state))

    handle = loop.call_later(timeout, trigger)
    try:
        yield
    except TimeoutInterrupt as exc:
        if exc is exception:
            raise asyncio.TimeoutError() from exc
        raise
    finally:
        state.active = False
        handle.cancel()
