"""Eager task groups for anyio.

Spec: interrupt-anyio.md §3.  :class:`EagerTaskGroup` wraps an anyio task group; its
``start_soon`` and ``start`` run the target coroutine at once, in the calling task, up to
its first suspension (with :class:`asynkit.CoroStart`).  Only a coroutine that suspends
gets a real child task, created through the wrapped group, to continue it.

Backends: everything works on anyio's asyncio backend.  On trio, only coroutines that
finish (return or raise) without suspending can be started eagerly: a trio coroutine that
suspended in the caller's task cannot be resumed in another task.  Rather than corrupting
trio's state, such a start raises a ``RuntimeError`` here.

Supported: anyio 4.x (tested with 4.11.0 / trio 0.31.0 and 4.16.0 / trio 0.35.0).
"""

from __future__ import annotations

import asyncio.events
import contextlib
from collections.abc import AsyncIterator, Callable, Coroutine
from types import TracebackType
from typing import Any

import anyio
from anyio.abc import TaskGroup, TaskStatus

from ..coroutine import CoroStart

_CHILD_EXITED = "Child exited without calling task_status.started()"


class TaskStatusForwarder(TaskStatus[Any]):
    """A ``task_status`` stand-in for a coroutine started eagerly.

    ``started()`` stores the value until a real task status is connected with
    :meth:`set_forward`; from then on (or at once, if ``started()`` was already called)
    the value goes to that status.
    """

    __slots__ = ("forward", "done", "value")

    def __init__(self) -> None:
        self.forward: TaskStatus[Any] | None = None
        self.done = False
        self.value: Any = None

    def started(self, value: Any = None) -> None:
        assert not self.done, "task_status.started() called twice"
        if self.forward is not None:
            self.forward.started(value)
        else:
            self.value = value
        self.done = True

    def set_forward(self, forward: TaskStatus[Any]) -> None:
        assert self.forward is None, "a forward task status is already set"
        self.forward = forward
        if self.done:
            forward.started(self.value)

    def get_value(self) -> Any:
        if self.done:
            return self.value
        raise RuntimeError(_CHILD_EXITED)


def _callable_name(func: Any) -> str:
    """anyio's default task name for ``func``: ``module.qualname``."""
    module = getattr(func, "__module__", None)
    qualname = getattr(func, "__qualname__", None) or getattr(func, "__name__", None)
    if qualname is None:
        return repr(func)
    return f"{module}.{qualname}" if module else str(qualname)


class _NonAsyncioStart:
    """The first step of a coroutine on a backend other than asyncio (trio).

    Offers the part of the CoroStart interface used here, for coroutines that finished
    during that step.  A coroutine that suspended cannot be handed over to another trio
    task: :meth:`refuse` aborts its pending trap (best effort), closes it and raises.
    """

    __slots__ = ("coro", "trap", "_done", "_value", "_exc")

    def __init__(self, coro: Any) -> None:
        self.coro = coro
        self.trap: Any = None
        self._done = True
        self._value: Any = None
        self._exc: BaseException | None = None
        it = coro if hasattr(coro, "send") else coro.__await__()
        try:
            self.trap = it.send(None)
        except StopIteration as stop:
            self._value = stop.value
        except BaseException as exc:
            self._exc = exc
        else:
            self._done = False

    def done(self) -> bool:
        return self._done

    def exception(self) -> BaseException | None:
        return self._exc

    def result(self) -> Any:
        if self._exc is not None:
            raise self._exc
        return self._value

    def refuse(self, func: Any) -> None:
        abort = getattr(self.trap, "abort_func", None)
        if callable(abort):
            # Undo what the trap registered for the calling task (a parking lot entry,
            # ...), as trio does when it cancels a sleeping task.
            def raise_cancel() -> None:
                raise RuntimeError("eager start refused")

            with contextlib.suppress(Exception):
                abort(raise_cancel)
        self.trap = None
        with contextlib.suppress(Exception):
            self.coro.close()
        raise RuntimeError(
            f"EagerTaskGroup: {_callable_name(func)} suspended while starting eagerly; "
            "on this backend an eagerly started coroutine must finish without suspending "
            "(use the asyncio backend, or a plain task group)"
        )


def _eager_start(coro: Any) -> Any:
    if asyncio.events._get_running_loop() is None:
        return _NonAsyncioStart(coro)
    return CoroStart(coro)


async def _return_value(value: Any) -> Any:
    return value


async def _result_then_value(cs: Any, ts: TaskStatusForwarder) -> Any:
    cs.result()
    return ts.get_value()


class EagerTaskGroup(TaskGroup):
    """An anyio task group whose ``start_soon`` / ``start`` start coroutines eagerly.

    Wraps ``tg`` (an anyio ``TaskGroup``, entered or not).  Use it with ``async with``
    (entering enters the wrapped group), or get an entered one from
    :func:`create_eager_task_group`.
    """

    __slots__ = ("_task_group",)

    def __init__(self, tg: TaskGroup) -> None:
        self._task_group = tg

    @property  # type: ignore[override]
    def cancel_scope(self) -> Any:
        """The wrapped group's (live) cancel scope."""
        return self._task_group.cancel_scope

    @cancel_scope.setter
    def cancel_scope(self, value: Any) -> None:
        self._task_group.cancel_scope = value

    async def __aenter__(self) -> EagerTaskGroup:
        await self._task_group.__aenter__()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc_val: BaseException | None,
        exc_tb: TracebackType | None,
    ) -> bool | None:
        return await self._task_group.__aexit__(exc_type, exc_val, exc_tb)

    def start_soon(  # type: ignore[override]
        self,
        func: Callable[..., Coroutine[Any, Any, Any]],
        *args: Any,
        name: object = None,
    ) -> Any:
        """Run ``func(*args)`` now, up to its first suspension; continue it in a child
        task if it suspended.  Errors raised before that propagate from here."""
        cs = _eager_start(func(*args))
        if cs.done():
            cs.result()
            return None
        if isinstance(cs, _NonAsyncioStart):
            cs.refuse(func)
        return self._task_group.start_soon(
            cs.as_coroutine, name=_callable_name(func) if name is None else name
        )

    def start(  # type: ignore[override]
        self,
        func: Callable[..., Coroutine[Any, Any, Any]],
        *args: Any,
        name: object = None,
    ) -> Coroutine[Any, Any, Any]:
        """Run ``func(*args, task_status=...)`` now, up to its first suspension, and
        return a coroutine that gives the value passed to ``task_status.started()``.

        Not an ``async def``: the eager part runs when this is called.
        """
        ts = TaskStatusForwarder()
        cs = _eager_start(func(*args, task_status=ts))
        if cs.done():
            if ts.done:
                if cs.exception():

                    async def helper(*, task_status: TaskStatus[Any]) -> Any:
                        task_status.started(ts.get_value())
                        return cs.result()

                    return self._task_group.start(  # type: ignore[no-any-return]
                        helper, name=_callable_name(func) if name is None else name
                    )
                return _return_value(ts.get_value())
            return _result_then_value(cs, ts)
        if isinstance(cs, _NonAsyncioStart):
            cs.refuse(func)

        def task_helper(*, task_status: TaskStatus[Any]) -> Coroutine[Any, Any, Any]:
            ts.set_forward(task_status)
            return cs.as_coroutine()  # type: ignore[no-any-return]

        return self._task_group.start(  # type: ignore[no-any-return]
            task_helper, name=_callable_name(func) if name is None else name
        )

    def create_task(
        self,
        coro: Coroutine[Any, Any, Any],
        *,
        name: object = None,
        context: Any = None,
    ) -> Any:
        """Hand ``coro`` (unstarted, not eager) to the wrapped group's ``create_task``
        (anyio >= 4.14)."""
        create = getattr(self._task_group, "create_task", None)
        if create is None:
            close = getattr(coro, "close", None)
            if close is not None:
                close()
            raise NotImplementedError("the wrapped task group has no create_task() (anyio < 4.14)")
        return create(coro, name=name, context=context)


@contextlib.asynccontextmanager
async def create_eager_task_group() -> AsyncIterator[EagerTaskGroup]:
    """An entered :class:`EagerTaskGroup` around a new ``anyio.create_task_group()``."""
    async with anyio.create_task_group() as tg:
        yield EagerTaskGroup(tg)
