"""Scheduling event loops: asyncio's loops extended with ready-queue control."""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import sys
import warnings
from collections import deque
from collections.abc import Callable, Generator, Iterable
from typing import Any

from ..coroutine import _native
from .default import _task_from_handle_method, queue_find, queue_remove
from .default import call_pos as _call_pos
from .schedulingloop import AbstractSchedulingLoop

__all__ = [
    "SchedulingMixin",
    "SchedulingSelectorEventLoop",
    "SchedulingEventLoopPolicy",
    "DefaultSchedulingEventLoop",
    "scheduling_loop_factory",
    "event_loop_policy",
]


class SchedulingMixin(AbstractSchedulingLoop):
    """Scheduling primitives for asyncio's built-in loops (which keep a ``_ready`` deque).

    Place it after the asyncio loop class in the bases. It adds no state and overrides
    nothing of ``asyncio.BaseEventLoop``: the loop runs exactly like the stock one.
    """

    def get_ready_queue(self) -> deque[Any]:
        """The deque the queue methods work on (hook for subclasses)."""
        return self._ready  # type: ignore[attr-defined,no-any-return]

    def queue_len(self) -> int:
        return len(self.get_ready_queue())

    def queue_items(self) -> Iterable[asyncio.Handle]:
        return self.get_ready_queue()

    def queue_find(
        self, key: Callable[[asyncio.Handle], bool], remove: bool = False
    ) -> asyncio.Handle | None:
        return queue_find(self.get_ready_queue(), key, remove)  # type: ignore[no-any-return]

    def queue_insert(self, handle: asyncio.Handle) -> None:
        self.get_ready_queue().append(handle)

    def queue_insert_pos(self, handle: asyncio.Handle, position: int) -> None:
        self.get_ready_queue().insert(position, handle)

    def queue_remove(self, in_handle: asyncio.Handle) -> None:
        queue_remove(self.get_ready_queue(), in_handle)

    def call_pos(
        self,
        position: int,
        callback: Callable[..., Any],
        *args: Any,
        context: Any = None,
    ) -> asyncio.Handle:
        return _call_pos(self, position, callback, *args, context=context)

    task_from_handle = _task_from_handle_method


class SchedulingSelectorEventLoop(asyncio.SelectorEventLoop, SchedulingMixin):
    pass


_HANDLE_SLOTS = (
    "_callback",
    "_args",
    "_cancelled",
    "_loop",
    "_source_traceback",
    "_repr",
    "__weakref__",
    "_context",
)


def _configure_native_call_soon() -> Any:
    """The native ``call_soon`` method for the scheduling loops (None without the native
    module). Handles are built natively only if one built so reads back exactly like one
    ``Handle.__init__`` made; otherwise that method is ``BaseEventLoop.call_soon``."""
    if _native is None:
        return None

    class _ProbeLoop:
        def get_debug(self) -> bool:
            return False

    handle = asyncio.events.Handle
    reference = None
    if handle.__slots__ == _HANDLE_SLOTS:
        reference = handle(print, (), _ProbeLoop(), contextvars.copy_context())
    _native._configure_handles(
        handle if reference is not None else None,
        reference,
        asyncio.BaseEventLoop.call_soon,
        asyncio.BaseEventLoop._call_soon,  # type: ignore[attr-defined]
        deque,
    )
    return _native._make_loop_call_soon(asyncio.BaseEventLoop)


# The scheduling loops' ``call_soon`` is ``BaseEventLoop.call_soon`` with the Handle built
# natively (a Task's every step goes through it); closed or debug-mode loops and
# subclasses overriding ``_call_soon`` get ``BaseEventLoop.call_soon`` itself.
_native_call_soon: Any = _configure_native_call_soon()
if _native_call_soon is not None:
    SchedulingSelectorEventLoop.call_soon = _native_call_soon  # type: ignore[method-assign]


if hasattr(asyncio, "ProactorEventLoop"):  # pragma: no cover - Windows only

    class SchedulingProactorEventLoop(
        asyncio.ProactorEventLoop,  # type: ignore[name-defined,misc]
        SchedulingMixin,
    ):
        pass

    if _native_call_soon is not None:
        SchedulingProactorEventLoop.call_soon = _native_call_soon  # type: ignore[method-assign]

    __all__.append("SchedulingProactorEventLoop")

if sys.platform == "win32" and "SchedulingProactorEventLoop" in globals():  # pragma: no cover
    DefaultSchedulingEventLoop: type[asyncio.AbstractEventLoop] = SchedulingProactorEventLoop
else:
    DefaultSchedulingEventLoop = SchedulingSelectorEventLoop


def scheduling_loop_factory() -> asyncio.AbstractEventLoop:
    """A new :data:`DefaultSchedulingEventLoop`; for ``asyncio.run(loop_factory=...)``."""
    return DefaultSchedulingEventLoop()


with warnings.catch_warnings():
    # asyncio.DefaultEventLoopPolicy is deprecated (and warns on access) from 3.14.
    warnings.simplefilter("ignore", DeprecationWarning)
    _DefaultEventLoopPolicy = asyncio.DefaultEventLoopPolicy


class SchedulingEventLoopPolicy(_DefaultEventLoopPolicy):  # type: ignore[misc,valid-type]
    """The default policy, except that new loops are scheduling loops."""

    def new_event_loop(self) -> asyncio.AbstractEventLoop:
        return scheduling_loop_factory()


@contextlib.contextmanager
def event_loop_policy(
    policy: asyncio.AbstractEventLoopPolicy | None = None,
) -> Generator[asyncio.AbstractEventLoopPolicy, None, None]:
    """Install ``policy`` (default: a new SchedulingEventLoopPolicy) for the block."""
    policy = policy or SchedulingEventLoopPolicy()
    previous = asyncio.get_event_loop_policy()
    asyncio.set_event_loop_policy(policy)
    try:
        yield policy
    finally:
        asyncio.set_event_loop_policy(previous)
