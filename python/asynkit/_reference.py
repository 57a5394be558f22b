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
        state = self._start_result
        self._start_result = _CONTINUED
        coro = self.coro
        context = self.context
        if state is not None and state[0] == _DONE:
            if state[2] is not None:
                raise state[2]
            return state[1]  # type: ignore[no-any-return]
        if state is not None and state[0] == _PENDING:
            out = state[1]
        else:
            # CONTINUED (or never started): delegate, so a finished coroutine produces
            # CPython's own "cannot reuse already awaited coroutine".
            try:
                out = context.run(coro.send, None) if context is not None else coro.send(None)
            except StopIteration as e:
                return e.value  # type: ignore[no-any-return]
        while True:
            try:
                sent = yield out
            except GeneratorExit:
                if context is not None:
                    context.run(coro.close)
                else:
                    coro.close()
                raise
            except BaseException as exc:
                try:
                    if context is not None:
                        out = context.run(coro.throw, exc)
                    else:
                        out = coro.throw(exc)
                except StopIteration as e:
                    return e.value  # type: ignore[no-any-return]
            else:
                try:
                    if context is not None:
                        out = context.run(coro.send, sent)
                    else:
                        out = coro.send(sent)
                except StopIteration as e:
                    return e.value  # type: ignore[no-any-return]

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
