"""The abstract interface of an event loop whose ready queue can be reordered."""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from .types import TaskAny

# Set by asynkit.loop.default: (task_from_handle, its method form, TaskKey, TaskTypes).
_standard_rule: tuple[Any, Any, Any, tuple[type, ...]] | None = None


class AbstractSchedulingLoop(ABC):
    """A loop able to inspect and reorder its queue of ready callbacks.

    Pure mixin: no instance state, no ``__init__`` and no ``__slots__`` layout, so that it
    can be combined with asyncio's loop classes by multiple inheritance.
    """

    @abstractmethod
    def queue_len(self) -> int:
        """Number of handles in the ready queue (all of them, tasks or not)."""

    @abstractmethod
    def queue_items(self) -> Iterable[asyncio.Handle]:
        """The handles in the order in which they will be called (may be a live view)."""

    @abstractmethod
    def queue_find(
        self, key: Callable[[asyncio.Handle], bool], remove: bool = False
    ) -> asyncio.Handle | None:
        """Return a handle for which ``key(handle)`` is true, optionally removing it."""

    @abstractmethod
    def queue_remove(self, handle: asyncio.Handle) -> None:
        """Remove this exact handle; ``ValueError`` if it is not queued."""

    @abstractmethod
    def queue_insert(self, handle: asyncio.Handle) -> None:
        """Insert the handle at the default place (the tail for FIFO loops)."""

    @abstractmethod
    def queue_insert_pos(self, handle: asyncio.Handle, position: int) -> None:
        """Insert the handle at ``position`` (``list.insert`` semantics)."""

    @abstractmethod
    def call_pos(
        self,
        position: int,
        callback: Callable[..., Any],
        *args: Any,
        context: Any = None,
    ) -> asyncio.Handle:
        """Schedule ``callback(*args)`` at ``position`` of the ready queue."""

    @abstractmethod
    def task_from_handle(self, handle: asyncio.Handle) -> TaskAny | None:
        """The task that a queued handle belongs to, or ``None``."""

    def task_key(self, task: TaskAny) -> Callable[[asyncio.Handle], bool]:
        """A predicate true for the handles that belong to ``task``."""
        task_from_handle = self.task_from_handle
        std = _standard_rule
        if (
            std is not None
            and (
                task_from_handle is std[0] or getattr(task_from_handle, "__func__", None) is std[1]
            )
            and isinstance(task, std[3])
        ):
            # the standard rule for a real task: the same predicate, which the deque
            # scans of asynkit.loop.default recognise and run inline
            return std[2](task)  # type: ignore[no-any-return]

        def key(handle: asyncio.Handle) -> bool:
            return task_from_handle(handle) is task

        return key

    def queue_tasks(self) -> Iterator[TaskAny]:
        """Yield, in queue order, the task of every queued handle that has one."""
        task_from_handle = self.task_from_handle
        for handle in self.queue_items():
            task = task_from_handle(handle)
            if task is not None:
                yield task
