"""Loop-agnostic scheduling entry points.

Each function resolves a scheduling view of the loop (the loop itself when it is an
:class:`AbstractSchedulingLoop`, else a :class:`SchedulingLoopHelper` over its ``_ready``
deque) and works only through the view's abstract methods.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from asynkit.coroutine import _get_running_loop  # noqa: E402  (getpid-free on 3.10/3.11)

from .default import SchedulingLoopHelper
from .schedulingloop import AbstractSchedulingLoop
from .types import TaskAny


def _dead_ref() -> None:
    return None


# One-entry cache of the last view made: (weak reference to the loop, its view), kept in
# one tuple so that it is read and replaced atomically (loops may run in several threads).
# A view that is the loop itself is stored as None, so the cache never keeps a loop alive
# (the helper holds its loop weakly as well).
_cache: tuple[Callable[[], Any], AbstractSchedulingLoop | None] = (_dead_ref, None)


def get_scheduling_loop(loop: Any = None) -> AbstractSchedulingLoop:
    """The scheduling view of ``loop`` (default: the running loop).

    That is the loop itself when it is an :class:`AbstractSchedulingLoop`, otherwise a
    :class:`SchedulingLoopHelper` wrapping it.
    """
    global _cache
    loop = loop or _get_running_loop()
    ref, cached = _cache
    if ref() is loop:
        return cached or loop
    if isinstance(loop, AbstractSchedulingLoop):
        view: AbstractSchedulingLoop = loop
        cached = None
    else:
        view = cached = SchedulingLoopHelper(loop)
    try:
        _cache = (weakref.ref(loop), cached)
    except TypeError:  # pragma: no cover - a loop without weak reference support
        pass
    return view


def call_pos(
    position: int,
    callback: Callable[..., Any],
    *args: Any,
    context: Any = None,
    loop: Any = None,
) -> asyncio.Handle:
    """Schedule ``callback(*args)`` at ``position`` of the ready queue."""
    return get_scheduling_loop(loop).call_pos(position, callback, *args, context=context)


def ready_len(loop: Any = None) -> int:
    """The number of handles in the ready queue (tasks or not)."""
    return get_scheduling_loop(loop).queue_len()


def ready_find(task: TaskAny, loop: Any = None, remove: bool = False) -> asyncio.Handle | None:
    """The queued handle of ``task`` (searching from the tail), optionally removed."""
    sl = get_scheduling_loop(loop)
    return sl.queue_find(key=sl.task_key(task), remove=remove)


def ready_remove(handle: asyncio.Handle, loop: Any = None) -> None:
    """Remove this exact handle from the ready queue; ``ValueError`` if absent."""
    get_scheduling_loop(loop).queue_remove(handle)


def ready_insert(item: asyncio.Handle, loop: Any = None) -> None:
    """Put a handle back into the ready queue at its default place (the tail)."""
    get_scheduling_loop(loop).queue_insert(item)


def ready_tasks(loop: Any = None) -> Iterator[TaskAny]:
    """Yield, head first, the task of every queued handle that belongs to a task."""
    sl = get_scheduling_loop(loop)
    task_from_handle = sl.task_from_handle
    for handle in sl.queue_items():
        task = task_from_handle(handle)
        if task is not None:
            yield task


def get_ready_queue(loop: Any = None) -> Iterable[asyncio.Handle]:
    """The ready queue's handles in queue order (a live deque for deque-based loops)."""
    return get_scheduling_loop(loop).queue_items()


def task_from_handle(handle: asyncio.Handle, loop: Any = None) -> TaskAny | None:
    """The task that ``handle`` belongs to, or ``None``."""
    return get_scheduling_loop(loop).task_from_handle(handle)
