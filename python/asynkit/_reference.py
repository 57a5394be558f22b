"""The pure-Python reference CoroStart (``PyCoroStart``).

This is the behavioural reference for the Rust engine in ``asynkit._asynkit``: the
differential tests run random coroutine programs through both and require identical
traces. Keep it simple and obviously correct; speed is the native engine's job.

``CoroStartBase`` holds the state and the synchronous primitives; ``CoroStartMixin`` is the
convenience layer written only in terms of those primitives (plus ``_throw``), so that the
same mixin sits on top of the native base as well (see ``asynkit.coroutine``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Coroutine, Generator
from contextvars import Context
from typing import Any, Generic, TypeVar

T_co = TypeVar("T_co", covariant=True)

# States held in ``_start_result``. ``None`` means UNSTARTED.
_PENDING = 0  # (_PENDING, suspension value)
_DONE = 1  # (_DONE, return value, exception or None)
_CONTINUED = (2,)  # handed off to an awaiter, or closed

_NOT_DONE = "CoroStart: coroutine not done()"


def _as_exception(exc: Any) -> BaseException:
    if isinstance(exc, BaseException):
        return exc
    if isinstance(exc, type) and issubclass(exc, BaseException):
        return exc()
    raise TypeError("_throw() arg must be an exception")


class CoroStartBase(Awaitable[T_co]):
    """State and synchronous primitives of a started coroutine."""

    __slots__ = ("coro", "context", "_start_result")

    def __init__(
        self,
        coro: Coroutine[Any, Any, T_co],
        *,
        context: Context | None = None,
        autostart: bool = True,
    ) -> None:
        if not hasattr(coro, "send"):
            raise TypeError(f"CoroStart() argument 'coro' must be a coroutine, not {type(coro)}")
        if context is not None and not isinstance(context, Context):
            raise TypeError(
                f"CoroStart() argument 'context' must be a Context or None, not {type(context)}"
            )
        self.coro = coro
        self.context = context
        self._start_result: tuple[Any, ...] | None = None
        if autostart:
            self._start(context)

    # -- the initial step --------------------------------------------------------------
    def _start(self, context: Context | None) -> None:
        coro = self.coro
        try:
            if context is not None:
                out = context.run(coro.send, None)
            else:
                out = coro.send(None)
        except StopIteration as e:
            self._start_result = (_DONE, e.value, None)
        except BaseException as e:
            self._start_result = (_DONE, None, e)
        else:
            self._start_result = (_PENDING, out)

    def start(self, context: Context | None = None) -> bool:
        """Run the initial step (only after ``autostart=False``), in ``context``.

        Returns True when the coroutine finished during this step.
        """
        if self._start_result is not None:
            raise RuntimeError("CoroStart.start() can only be called once")
        self._start(context)
        return self.done()

    # -- awaiting ------------------------------------------------------------------------
    def __await__(self) -> Generator[Any, Any, T_co]:
        return _Awaiter(self)  # type: ignore[return-value]

    def _step(self, fn: Any, arg: Any) -> Any:
        """One step of the coroutine, inside ``self.context`` when set."""
        context = self.context
        if context is not None:
            return context.run(fn, arg)
        return fn(arg)

    # -- primitives used by the mixin ------------------------------------------------------
    def _throw(self, exc: Any) -> None:
        """Throw ``exc`` into the coroutine; keep the outcome (never raises it)."""
        exc = _as_exception(exc)
        coro = self.coro
        context = self.context
        try:
            if context is not None:
                out = context.run(coro.throw, exc)
            else:
                out = coro.throw(exc)
        except StopIteration as e:
            self._start_result = (_DONE, e.value, None)
        except BaseException as e:
            self._start_result = (_DONE, None, e)
        else:
            self._start_result = (_PENDING, out)

    def close(self) -> None:
        """Close the coroutine (in ``self.context``); the instance becomes CONTINUED."""
        try:
            if self.context is not None:
                self.context.run(self.coro.close)
            else:
                self.coro.close()
        finally:
            self._start_result = _CONTINUED

    def done(self) -> bool:
        state = self._start_result
        return state is not None and state[0] == _DONE

    def pending(self) -> bool:
        state = self._start_result
        return state is not None and state[0] == _PENDING

    def continued(self) -> bool:
        state = self._start_result
        return state is None or state is _CONTINUED

    def result(self) -> T_co:
        state = self._start_result
        if state is None or state[0] != _DONE:
            raise asyncio.InvalidStateError(_NOT_DONE)
        if state[2] is not None:
            raise state[2]
        return state[1]  # type: ignore[no-any-return]

    def exception(self) -> BaseException | None:
        state = self._start_result
        if state is None or state[0] != _DONE:
            raise asyncio.InvalidStateError(_NOT_DONE)
        return state[2]  # type: ignore[no-any-return]


class _Awaiter:
    """What ``CoroStart.__await__`` returns: an iterator with send/throw/close.

    The first step hands over what the start left behind (the identical suspension
    value, the return value or the exception); later steps go to the coroutine, inside
    the CoroStart's context. ``throw`` forwards every exception, GeneratorExit included;
    only ``close`` closes the coroutine.
    """

    __slots__ = ("_start", "_first", "_dead")

    def __init__(self, start: CoroStartBase[Any]) -> None:
        self._start = start
        self._first = True  # nothing consumed yet
        self._dead = False  # finished by throw()/close() before its first step

    def __iter__(self) -> _Awaiter:
        return self

    def __next__(self) -> Any:
        return self.send(None)

    def send(self, value: Any) -> Any:
        start = self._start
        if self._first:
            if value is not None:
                raise TypeError("can't send non-None value to a just-started coroutine")
            self._first = False
            state = start._start_result
            start._start_result = _CONTINUED
            if state is not None and state[0] == _PENDING:
                return state[1]
            if state is not None and state[0] == _DONE:
                if state[2] is not None:
                    raise state[2]
                raise StopIteration(state[1])
            # CONTINUED (or never started): delegate, so a finished coroutine produces
            # CPython's own "cannot reuse already awaited coroutine".
        elif self._dead:
            raise StopIteration
        return start._step(start.coro.send, value)

    def throw(self, typ: Any, val: Any = None, tb: Any = None) -> Any:
        if isinstance(typ, BaseException):
            if val is not None:
                raise TypeError("instance exception may not have a separate value")
            exc = typ
        elif isinstance(typ, type) and issubclass(typ, BaseException):
            if isinstance(val, typ):
                exc = val
            elif val is None:
                exc = typ()
            elif isinstance(val, tuple):
                exc = typ(*val)
            else:
                exc = typ(val)
        else:
            raise TypeError(
                "exceptions must be classes or instances deriving from BaseException, "
                f"not {type(typ).__name__}"
            )
        if tb is not None:
            exc = exc.with_traceback(tb)
        if self._first or self._dead:
            # Like a generator that has not started (or has finished).
            self._first = False
            self._dead = True
            raise exc
        start = self._start
        return start._step(start.coro.throw, exc)

    def close(self) -> None:
        live = not self._first and not self._dead
        self._first = False
        self._dead = True
        if live:
            start = self._start
            start._step(lambda _: start.coro.close(), None)


class CoroStartMixin(Generic[T_co]):
    """Convenience layer over a CoroStart base (pure or native)."""

    # These are provided by the base class (pure or native).
    _throw: Any
    done: Any
    pending: Any
    result: Any

    def throw(self, exc: Any, tries: int = 1) -> T_co:
        """Throw ``exc`` up to ``tries`` times; return the result once the coroutine ends."""
        for _ in range(tries):
            self._throw(exc)
            if self.done():
                return self.result()  # type: ignore[no-any-return]
        name = exc.__name__ if isinstance(exc, type) else type(exc).__name__
        raise RuntimeError(f"coroutine ignored {name}")

    async def athrow(self, exc: Any) -> T_co:
        """Throw ``exc`` into the coroutine, then await it to its end."""
        self._throw(exc)
        return await self  # type: ignore[misc, no-any-return]

    async def aclose(self) -> None:
        """Throw GeneratorExit into a pending coroutine and await its (async) cleanup."""
        if not self.pending():
            return
        try:
            await self.athrow(GeneratorExit())
        except GeneratorExit:
            pass

    async def as_coroutine(self) -> T_co:
        """A real coroutine object that awaits this CoroStart."""
        return await self  # type: ignore[misc, no-any-return]

    def as_future(self) -> asyncio.Future[T_co]:
        """A done Future carrying the outcome (requires a running loop)."""
        if not self.done():
            raise RuntimeError(_NOT_DONE)
        fut: asyncio.Future[T_co] = asyncio.get_running_loop().create_future()
        try:
            fut.set_result(self.result())
        except BaseException as e:
            fut.set_exception(e)
        return fut

    def as_awaitable(self) -> Awaitable[T_co]:
        if self.done():
            return self.as_future()
        return self  # type: ignore[return-value]


class CoroStart(CoroStartBase[T_co], CoroStartMixin[T_co]):
    """Start a coroutine eagerly; await the instance to continue it (pure Python)."""


PyCoroStart = CoroStart
