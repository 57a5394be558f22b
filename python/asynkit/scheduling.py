"""Scheduling functions: reorder runnable tasks on the running loop's ready queue.

They work on stock asyncio loops (through :class:`asynkit.loop.default.SchedulingLoopHelper`)
and on any :class:`asynkit.loop.schedulingloop.AbstractSchedulingLoop`.
"""

from __future__ import annotations

import asyncio
import collections.abc
import types
from collections.abc import Callable, Coroutine, Generator
from typing import Any

from .loop.default import SchedulingLoopHelper, TaskTypes
from .loop.eventloop import SchedulingMixin, _native_call_soon
from .loop.extensions import get_scheduling_loop, ready_tasks
from .loop.schedulingloop import AbstractSchedulingLoop
from .loop.types import TaskAny
from .tools import create_task

__all__ = [
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


from asynkit.coroutine import (
    _get_running_loop,  # noqa: E402  (getpid-free on 3.10/3.11)
    _native,  # noqa: E402
)


@types.coroutine
def _sleep0() -> Generator[None, None, None]:
    """A bare yield: the calling task's step is re-queued at the tail (``sleep(0)``)."""
    yield


# Fast path. A view whose queue methods are the standard deque-based ones (the stock-loop
# helper, or a SchedulingMixin loop that overrides none of them) is handled by working on
# the loop's ``_ready`` deque directly: the same operations, minus the per-call dispatch.
# ``_fast_loop()`` names the last running loop found to have such a view, ``_plain_loop()``
# the last of those whose call_soon is asyncio's own: there, while not in debug mode,
# ``loop.call_soon(cb, *args)`` is exactly ``_ready.append(Handle(...))``. They are the
# native memo (``loop_memo.rs``), which answers only while the loop's class and the view's
# class are unchanged since, so a queue method patched on either class afterwards is
# dispatched to. The pure-Python selection remembers no loop: it asks the view on every
# call, so it also sees methods patched on a loop instance.
_STANDARD_METHODS = ("queue_find", "queue_insert_pos", "task_key", "task_from_handle", "call_pos")
_STANDARD = {
    base: {name: getattr(base, name) for name in _STANDARD_METHODS + extra}
    for base, extra in ((SchedulingLoopHelper, ()), (SchedulingMixin, ("get_ready_queue",)))
}
# class -> (its version tag when looked at, standard?)
_fast_views: dict[type, tuple[int, bool]] = {}


def _dead_ref() -> None:
    return None


_fast_loop: Callable[[], Any] = _dead_ref
_plain_loop: Callable[[], Any] = _dead_ref
_remember_loop: Any = None
if _native is not None:
    _fast_loop = _native._fast_loop
    _plain_loop = _native._plain_loop
    _remember_loop = _native._remember_loop
    _type_tag = _native._type_tag
# asyncio's call_soon, or the scheduling loops' native one (same behaviour).
_BASE_CALL_SOON = {asyncio.BaseEventLoop.call_soon, _native_call_soon} - {None}
_Handle = asyncio.Handle


def _is_fast(sl: Any) -> bool:
    cls = type(sl)
    known = _fast_views.get(cls)
    if known is not None and known[0] and known[0] == _type_tag(cls):
        return known[1]
    fast = False
    for base, methods in _STANDARD.items():
        if issubclass(cls, base):
            fast = all(getattr(cls, name) is meth for name, meth in methods.items())
            break
    _fast_views[cls] = (_type_tag(cls), fast)
    return fast


def _view(loop: Any) -> AbstractSchedulingLoop:
    """The scheduling view of the running ``loop``; remembers the loop when the view is
    standard (native engine only)."""
    sl = get_scheduling_loop(loop)
    if _remember_loop is not None and _is_fast(sl) and sl._ready is loop._ready:  # type: ignore[attr-defined]
        cls = type(loop)
        plain = (
            cls.call_soon in _BASE_CALL_SOON
            and getattr(cls, "_call_soon", None) is asyncio.BaseEventLoop._call_soon
        )
        try:
            _remember_loop(loop, sl, plain)
        except TypeError:  # pragma: no cover - a loop without weak reference support
            pass
    return sl


def _task_reinsert(sl: AbstractSchedulingLoop, task: TaskAny, pos: int) -> None:
    handle = sl.queue_find(key=sl.task_key(task), remove=True)
    if handle is None:
        raise ValueError("Task is not scheduled")
    try:
        sl.queue_insert_pos(handle, pos)
    except BaseException:
        sl.queue_insert(handle)  # not lost (e.g. a position too large for insert())
        raise


def _move(ready: Any, i: int, handle: Any, pos: int) -> None:
    """Move ``handle``, at index ``i`` (negative: from the tail) of ``ready``, to ``pos``;
    if the insertion fails it goes back where it was."""
    del ready[i]
    try:
        ready.insert(pos, handle)
    except BaseException:
        ready.insert(len(ready) + 1 + i, handle)
        raise


def _sleep_insert(sl: AbstractSchedulingLoop, pos: int) -> None:
    """Put a one-shot ``task_reinsert(current_task, pos)`` callback at the queue head.

    Once the caller yields, its step handle goes to the tail; the callback runs next and
    moves it to ``pos``.
    """
    sl.call_pos(0, task_reinsert, asyncio.current_task(), pos)


def _reinsert_head(ready: Any, task: TaskAny, pos: int) -> None:
    """The head callback of the fast path: ``task_reinsert(task, pos)`` on ``ready``
    (the public function itself when it has been rebound, e.g. patched)."""
    if task_reinsert is not _task_reinsert_function:
        task_reinsert(task, pos)
        return
    i = -1
    for handle in reversed(ready):
        try:
            if handle._callback.__self__ is task:
                _move(ready, i, handle, pos)
                return
        except AttributeError:
            pass
        i -= 1
    task_reinsert(task, pos)  # not found: the public function raises ValueError


async def sleep_insert(pos: int) -> None:
    """Suspend the caller and resume it after ``pos`` of the currently ready callbacks."""
    loop = _get_running_loop()
    if _plain_loop() is loop and _sleep_insert_head is not None and not loop._debug:
        # sl.call_pos(0, task_reinsert, current_task, pos) + sleep(0), natively: the head
        # callback is a ReinsertHead (see _head_fallback) and the yield a YieldOnce.
        await _sleep_insert_head(loop, loop._ready, asyncio.current_task(loop), pos)
        return
    if _plain_loop() is loop and not loop._debug:
        # sl.call_pos(0, task_reinsert, current_task, pos), inlined
        ready = loop._ready
        ready.appendleft(_Handle(_reinsert_head, (ready, asyncio.current_task(loop), pos), loop))
    elif _fast_loop() is loop:
        _fast_head_reinsert(loop, pos)
    else:
        _sleep_insert(_view(loop), pos)
    await _sleep0()


def _fast_head_reinsert(loop: Any, pos: int) -> None:
    """:func:`_sleep_insert` for a loop with a standard view (``_fast_loop``)."""
    ready = loop._ready
    if _plain_loop() is loop and not loop._debug:
        ready.appendleft(_Handle(_reinsert_head, (ready, asyncio.current_task(loop), pos), loop))
        return
    handle = loop.call_soon(task_reinsert, asyncio.current_task(loop), pos)
    if ready[-1] is handle:
        ready.pop()
    else:  # pragma: no cover - a call_soon that does not append at the tail
        ready.remove(handle)
    ready.appendleft(handle)


def task_reinsert(task: TaskAny, pos: int) -> None:
    """Move a runnable task's queued handle to position ``pos`` of the ready queue.

    Raises ``ValueError`` if the task is not in the queue (blocked, done, running...).
    """
    loop = _get_running_loop()
    if _fast_loop() is loop:
        # find_task_handle(loop._ready, task, remove=True) + insert, inlined
        ready = loop._ready
        i = -1
        for handle in reversed(ready):
            try:
                if handle._callback.__self__ is task:
                    break
            except AttributeError:
                pass
            i -= 1
        else:
            handle = None
        if handle is not None and isinstance(task, TaskTypes):
            _move(ready, i, handle, pos)
            return
    _task_reinsert(_view(loop), task, pos)


_task_reinsert_function = task_reinsert


async def task_switch(task: TaskAny, insert_pos: int | None = None) -> Any:
    """Run ``task`` next, suspending the caller.

    The caller goes to the tail, or, with ``insert_pos``, to that position (as
    :func:`sleep_insert`): ``1`` resumes it right after the target, ``0`` before it.
    """
    loop = _get_running_loop()
    if _fast_loop() is loop and _switch_head is not None:
        # task_reinsert(task, 0) natively; None: not queued (the slow path raises)
        yielder = _switch_head(loop._ready, task)
        if yielder is not None:
            if insert_pos is not None:
                if loop._debug:
                    _fast_head_reinsert(loop, insert_pos)
                else:
                    _sleep_insert_head(loop, loop._ready, asyncio.current_task(loop), insert_pos)
            await yielder
            return
    elif _fast_loop() is loop:
        # task_reinsert(task, 0), inlined
        ready = loop._ready
        i = -1
        for handle in reversed(ready):
            try:
                if handle._callback.__self__ is task:
                    break
            except AttributeError:
                pass
            i -= 1
        else:
            handle = None
        if handle is not None and isinstance(task, TaskTypes):
            del ready[i]
            ready.appendleft(handle)
            if insert_pos is not None:
                _fast_head_reinsert(loop, insert_pos)
            await _sleep0()
            return
    sl = _view(loop)
    _task_reinsert(sl, task, 0)
    if insert_pos is not None:
        _sleep_insert(sl, insert_pos)
    await _sleep0()


def task_is_blocked(task: TaskAny) -> bool:
    """True if the task waits for a future that is not done yet."""
    waiter = task._fut_waiter  # type: ignore[attr-defined]
    return waiter is not None and not waiter.done()


def task_is_runnable(task: TaskAny) -> bool:
    """True if the task is neither done nor blocked."""
    return not (task_is_blocked(task) or task.done())


async def create_task_descend(
    coro: Coroutine[Any, Any, Any], *, name: str | None = None
) -> TaskAny:
    """Create a task and run it at once; the caller resumes right after it first suspends."""
    task = create_task(coro, name=name)
    await task_switch(task, insert_pos=1)
    return task


async def create_task_start(coro: Coroutine[Any, Any, Any], *, name: str | None = None) -> TaskAny:
    """Create a task and yield once (to the tail), letting it start."""
    task = create_task(coro, name=name)
    await asyncio.sleep(0)
    return task


def runnable_tasks(loop: Any = None) -> set[TaskAny]:
    """The tasks that own a handle in the ready queue (the current task excluded)."""
    loop = loop or asyncio.get_running_loop()
    if isinstance(loop, AbstractSchedulingLoop):
        return set(loop.queue_tasks())
    return set(ready_tasks(loop=loop))


def blocked_tasks(loop: Any = None) -> set[TaskAny]:
    """All tasks of the loop that are neither runnable nor the current task."""
    loop = loop or asyncio.get_running_loop()
    result: set[TaskAny] = asyncio.all_tasks(loop) - runnable_tasks(loop)
    current = asyncio.current_task()
    if current:
        result.discard(current)
    return result


def _head_fallback(head: Any, loop: Any, task: TaskAny, pos: int) -> None:
    """What a native ``ReinsertHead`` does when its fast move is not possible (the task's
    handle is not queued, or ``task_reinsert`` was rebound): the public ``task_reinsert``,
    with errors reported to the loop's exception handler as ``Handle._run`` reports them."""
    try:
        task_reinsert(task, pos)
    except (SystemExit, KeyboardInterrupt):
        raise
    except BaseException as exc:
        loop.call_exception_handler(
            {"message": f"Exception in callback {head!r}", "exception": exc, "handle": head}
        )


_sleep_insert_head: Any = None
_switch_head: Any = None
if _native is not None:
    _native._configure_scheduling(TaskTypes, globals(), task_reinsert, _head_fallback)
    _sleep_insert_head = _native.sleep_insert_head
    _switch_head = _native.switch_head

if _native is not None:
    # task_switch / sleep_insert as native coroutine functions: function-like objects that
    # present the Python functions above (``__code__``, ``__name__``, ``__doc__``...; so
    # ``inspect.iscoroutinefunction`` holds) and make coroutine-like objects doing the
    # whole operation natively on loops handled here directly (``_fast_loop`` /
    # ``_plain_loop``), delegating to the Python coroutine anywhere else.
    _py_sleep_insert = sleep_insert
    _py_task_switch = task_switch
    sleep_insert = _native._sched_function("sleep_insert", _py_sleep_insert)  # type: ignore[assignment]
    task_switch = _native._sched_function("task_switch", _py_task_switch)  # type: ignore[assignment]
    collections.abc.Coroutine.register(_native.SchedCall)
