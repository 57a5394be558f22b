"""The stock-loop backend: ready-queue helpers working on ``loop._ready``.

``SchedulingLoopHelper`` adapts any loop that keeps its ready callbacks in a
``collections.deque`` named ``_ready`` (every ``asyncio.BaseEventLoop``) to the
:class:`~asynkit.loop.schedulingloop.AbstractSchedulingLoop` interface.
"""

from __future__ import annotations

import asyncio
import asyncio.tasks
import weakref
from collections import deque
from collections.abc import Callable, Iterable
from typing import Any

from . import schedulingloop as _schedulingloop
from .schedulingloop import AbstractSchedulingLoop
from .types import TaskAny

if hasattr(asyncio.tasks, "_PyTask"):
    PyTask = asyncio.tasks._PyTask
    TaskTypes: tuple[type, ...] = (asyncio.Task, PyTask)
else:  # pragma: no cover - PyPy, or CPython built without _asyncio
    PyTask = asyncio.tasks.Task
    TaskTypes = (asyncio.Task,)


def task_from_handle(handle: Any) -> TaskAny | None:
    """The task a ready-queue handle belongs to, or ``None``.

    A handle belongs to task ``T`` iff ``handle._callback.__self__`` is ``T`` and ``T`` is
    an asyncio task (C or Python class, subclasses included). Plain functions, partials,
    cancelled handles (``_callback is None``) and non-handles give ``None``.
    """
    try:
        obj = handle._callback.__self__
    except AttributeError:
        return None
    return obj if isinstance(obj, TaskTypes) else None


class TaskKey:
    """A ``task_key`` predicate: true for the handles whose task is ``task``.

    Equivalent to ``task_from_handle(h) is task`` for a real task object; the deque scans
    of this module recognise it and test ``h._callback.__self__`` inline.
    """

    __slots__ = ("task",)

    def __init__(self, task: TaskAny) -> None:
        self.task = task

    def __call__(self, handle: Any) -> bool:
        try:
            return handle._callback.__self__ is self.task  # type: ignore[no-any-return]
        except AttributeError:
            return False


def find_task_handle(queue: deque[Any], task: Any, remove: bool = False) -> Any | None:
    """``queue_find(queue, <h -> task_from_handle(h) is task>, remove)`` for a real task."""
    i = -1
    for handle in reversed(queue):
        try:
            if handle._callback.__self__ is task:
                if remove:
                    del queue[i]
                return handle
        except AttributeError:
            pass
        i -= 1
    return None


def queue_find(queue: deque[Any], key: Callable[[Any], bool], remove: bool = False) -> Any | None:
    """Find, scanning from the tail, the first handle with a truthy ``key(handle)``.

    With ``remove`` it is deleted from the deque in place, keeping the order of the rest.
    """
    if type(key) is TaskKey:
        return find_task_handle(queue, key.task, remove)
    i = -1
    for handle in reversed(queue):
        if key(handle):
            if remove:
                del queue[i]
            return handle
        i -= 1
    return None


def queue_remove(queue: deque[Any], handle: Any) -> None:
    """Delete ``handle`` (compared by identity, scanning from the tail) from the deque."""
    i = -1
    for item in reversed(queue):
        if item is handle:
            del queue[i]
            return
        i -= 1
    raise ValueError("handle not in queue")


def call_pos(
    loop: Any,
    pos: int,
    callback: Callable[..., Any],
    *args: Any,
    context: Any = None,
) -> asyncio.Handle:
    """``loop.call_soon(callback, *args)``, then move the new handle to index ``pos``."""
    handle = loop.call_soon(callback, *args, context=context)
    ready = loop._ready
    if ready[-1] is handle:
        ready.pop()
    else:  # pragma: no cover - a call_soon that does not append to the tail
        queue_remove(ready, handle)
    ready.insert(pos, handle)
    return handle


def _task_from_handle_method(self: Any, handle: Any) -> TaskAny | None:
    """The task a ready-queue handle belongs to, or ``None`` (the §0.3 rule)."""
    try:
        obj = handle._callback.__self__
    except AttributeError:
        return None
    return obj if isinstance(obj, TaskTypes) else None


_task_from_handle_method.__name__ = _task_from_handle_method.__qualname__ = "task_from_handle"

# AbstractSchedulingLoop.task_key hands out a TaskKey (which the deque scans here
# recognise) for views applying this rule.
_schedulingloop._standard_rule = (task_from_handle, _task_from_handle_method, TaskKey, TaskTypes)


class SchedulingLoopHelper(AbstractSchedulingLoop):
    """A throw-away adapter giving a stock loop the scheduling interface."""

    def __init__(self, loop: Any = None) -> None:
        loop = loop or asyncio.get_running_loop()
        self._ready: deque[Any] = loop._ready
        # The loop is held weakly so that a cached helper never keeps a loop alive.
        try:
            self._loop_ref: Callable[[], Any] = weakref.ref(loop)
        except TypeError:  # pragma: no cover - a loop without weak reference support
            self._loop_ref = lambda: loop

    @property
    def _loop(self) -> Any:
        loop = self._loop_ref()
        if loop is None:  # pragma: no cover - the helper outlived its loop
            raise RuntimeError("the event loop of this SchedulingLoopHelper is gone")
        return loop

    def queue_len(self) -> int:
        return len(self._ready)

    def queue_items(self) -> Iterable[asyncio.Handle]:
        return self._ready

    def queue_find(
        self, key: Callable[[asyncio.Handle], bool], remove: bool = False
    ) -> asyncio.Handle | None:
        return queue_find(self._ready, key, remove)

    def queue_remove(self, in_handle: asyncio.Handle) -> None:
        queue_remove(self._ready, in_handle)

    def queue_insert(self, handle: asyncio.Handle) -> None:
        self._ready.append(handle)

    def queue_insert_pos(self, handle: asyncio.Handle, position: int) -> None:
        self._ready.insert(position, handle)

    def call_pos(
        self,
        position: int,
        callback: Callable[..., Any],
        *args: Any,
        context: Any = None,
    ) -> asyncio.Handle:
        return call_pos(self._loop, position, callback, *args, context=context)

    task_from_handle = _task_from_handle_method
