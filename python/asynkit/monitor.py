"""Out-of-band ("OOB") messaging between a coroutine and whoever drives it.

A :class:`Monitor` drives a coroutine like ``await`` does, but the coroutine can also
suspend itself with ``await monitor.oob(value)``: the driver then raises
:class:`OOBData` carrying ``value`` to its caller, who can resume the coroutine later with
new data.  :class:`GeneratorObject` builds an async generator on top of it, whose items
can be produced (``await gen_obj.ayield(value)``) from anywhere in the driven await chain.

This module is pure coroutine plumbing: it never touches an event loop, so it works the
same under asyncio, under ``await_sync()``/``aiter_sync()`` with no loop at all, or under
any other driver of the coroutine protocol (spec: monitor.md).

Layout
------
The per-step hot path is the "drivers" section below, and nothing else:

- ``_drive(monitor, coro, arg, throw)``: one ``aawait``/``athrow`` drive, an ``async def``
  whose coroutine ``Monitor.aawait``/``athrow`` return as is (a single frame between the
  awaiter and the driven coroutine; an OOB message is raised from it);
- ``_agen_send(it, value)``: one ``asend``/``__anext__`` of a GeneratorObjectIterator (the
  same drive, with the ayielded item returned instead of raised as ``OOBData``);
- ``Monitor.oob``: the bare generator the driven coroutine awaits.

Everything else is glue that returns those coroutines, and the cold paths (``aclose``,
``start``, ``try_await``, iterator ``athrow``/``aclose``, asyncgen hooks).  A native engine
can replace ``_drive`` and ``_agen_send`` by rebinding the module globals to callables with
the same signatures that return coroutine-like objects (``send``/``throw``/``close``,
``__await__``, registered as ``collections.abc.Coroutine``).
"""

from __future__ import annotations

import inspect
import sys
import types
from collections.abc import AsyncGenerator, Callable, Coroutine, Generator
from enum import IntEnum
from typing import Any, Generic, TypeVar, overload

from .coroutine import coro_get_frame, coro_is_new

__all__ = ["GeneratorObject", "GeneratorObjectIterator", "Monitor", "BoundMonitor", "OOBData"]

T = TypeVar("T")
V = TypeVar("V")
T_co = TypeVar("T_co", covariant=True)
T_contra = TypeVar("T_contra", contravariant=True)


class OOBData(Exception):
    """Raised by a monitor drive when the driven coroutine awaits ``Monitor.oob(data)``."""

    # ``data`` lives in a slot (instances still have their exception ``__dict__``): setting it
    # allocates no dict, which is most of the cost of making one per OOB message.
    __slots__ = ("data",)

    def __init__(self, data: Any = None) -> None:
        # Deliberately not forwarded to Exception.__init__: ``args`` reflects only the
        # positional construction (done by BaseException.__new__).
        self.data = data

    def __reduce__(self) -> Any:
        # BaseException.__reduce__ would carry only ``args`` and ``__dict__``.
        state = dict(self.__dict__)
        try:
            state["data"] = self.data
        except AttributeError:
            pass
        return (type(self), self.args, state)


class MonitorState(IntEnum):
    INACTIVE = 0
    ACTIVE = 1
    OOB = -1


# Identity-compared in the hot path; a monitor's state is always one of these members.
_INACTIVE = MonitorState.INACTIVE
_ACTIVE = MonitorState.ACTIVE
_OOB = MonitorState.OOB


# ---------------------------------------------------------------------------------------
# Drivers: the hot path (see the module docstring)
# ---------------------------------------------------------------------------------------


@types.coroutine
def _yield(value: Any) -> Generator[Any, Any, Any]:
    """``await _yield(v)`` suspends the awaiting coroutine once, passing ``v`` out to whoever
    drives it; sends and throws come back in unchanged (same exception instance)."""
    return (yield value)


async def _drive(monitor: Monitor[Any], coro: Any, arg: Any, throw: bool) -> Any:
    """One monitor drive of ``coro`` (spec §1.2); first action ``send(arg)``/``throw(arg)``.

    Returns the coroutine's return value, raises ``OOBData`` when it announced OOB data, and
    passes every ordinary suspension of the coroutine outward, one for one.  The drive is a
    single frame so that an OOB message travels through as few frames as possible.
    """
    if monitor.state is not _INACTIVE:
        raise RuntimeError("Monitor cannot be re-entered")
    monitor.state = _ACTIVE
    try:
        try:
            out = coro.throw(arg) if throw else coro.send(arg)
        except OOBData as exc:
            raise RuntimeError("coroutine raised OOBData") from exc
        while monitor.state is not _OOB:
            try:
                sent = await _yield(out)
            except GeneratorExit:
                coro.close()
                raise
            except BaseException as exc:
                out = coro.throw(exc)
            else:
                out = coro.send(sent)
    except StopIteration as exc:
        return exc.value
    finally:
        monitor.state = _INACTIVE
    raise OOBData(out)


async def _agen_send(it: GeneratorObjectIterator[Any, Any], value: Any) -> Any:
    """``it.asend(value)`` (spec §6.2): returns the next item or raises StopAsyncIteration.

    Equivalent to driving ``monitor.aawait(coro, value)`` and mapping its outcome, but the
    ayielded item is returned directly instead of travelling as an ``OOBData`` exception.
    """
    if it.ag_running:
        raise RuntimeError("asend(): asynchronous generator is already running")
    coro = it.coro
    if _frame(coro) is None:
        raise StopAsyncIteration()
    if coro_is_new(coro):
        _first_iter(it)
    it.ag_running = True
    monitor = it.monitor
    try:
        if monitor.state is not _INACTIVE:
            raise RuntimeError("Monitor cannot be re-entered")
        monitor.state = _ACTIVE
        try:
            try:
                out = coro.send(value)
            except OOBData as exc:
                raise RuntimeError("coroutine raised OOBData") from exc
            while monitor.state is not _OOB:
                try:
                    sent = await _yield(out)
                except GeneratorExit:
                    coro.close()
                    raise
                except BaseException as exc:
                    out = coro.throw(exc)
                else:
                    out = coro.send(sent)
            return out
        finally:
            monitor.state = _INACTIVE
    except StopIteration:
        pass  # the coroutine returned: raised below, without cause or context
    except OOBData as exc:
        return exc.data  # raised after an ordinary suspension: same as an OOB message
    except StopAsyncIteration as exc:
        raise RuntimeError("async generator raised StopAsyncIteration") from exc
    finally:
        it.ag_running = False
    raise StopAsyncIteration()


def _frame(coro: Any) -> Any:
    """The coroutine's frame (None once finished); TypeError for non-coroutines."""
    try:
        return coro.cr_frame
    except AttributeError:
        return coro_get_frame(coro)


def _returns_coroutine(func: Callable[..., Any]) -> Callable[..., Any]:
    """Mark a plain function that returns a coroutine object as a coroutine function for
    ``inspect.iscoroutinefunction`` (3.12+), like the original's ``async def`` methods."""
    mark = getattr(inspect, "markcoroutinefunction", None)
    return mark(func) if mark is not None else func


# ---------------------------------------------------------------------------------------
# Monitor
# ---------------------------------------------------------------------------------------


class Monitor(Generic[T]):
    """Drive coroutines while listening for out-of-band messages (``oob()``) from them."""

    __slots__ = ("state",)

    def __init__(self) -> None:
        self.state = MonitorState.INACTIVE

    def __call__(self, coro: Coroutine[Any, Any, T]) -> BoundMonitor[T]:
        return BoundMonitor(self, coro)

    # aawait/athrow return the driver coroutine itself (one frame less per OOB round trip
    # than an ``async def`` wrapper awaiting it).

    @_returns_coroutine
    def aawait(
        self, coro: Coroutine[Any, Any, T], data: Any | None = None
    ) -> Coroutine[Any, Any, T]:
        """Await ``coro``, sending it ``data``; raises OOBData when it calls ``oob()``."""
        return _drive(self, coro, data, False)

    @_returns_coroutine
    def athrow(
        self, coro: Coroutine[Any, Any, T], exc: BaseException | type[BaseException]
    ) -> Coroutine[Any, Any, T]:
        """Like ``aawait`` but raise ``exc`` inside the coroutine (at its ``oob()``)."""
        return _drive(self, coro, exc, True)

    async def aclose(self, coro: Coroutine[Any, Any, Any]) -> None:
        """Close ``coro`` by raising GeneratorExit at its pending ``oob()``."""
        if _frame(coro) is None:
            return None
        try:
            await _drive(self, coro, GeneratorExit, True)
        except GeneratorExit:
            return None
        except OOBData:
            raise RuntimeError("Monitor coroutine ignored GeneratorExit") from None
        return None

    async def start(self, coro: Coroutine[Any, Any, T]) -> Any:
        """Start ``coro`` and return the data of its first ``oob()``."""
        try:
            await _drive(self, coro, None, False)
        except OOBData as oob:
            return oob.data
        raise RuntimeError("Coroutine did not await Monitor.oob()")

    async def try_await(
        self, coro: Coroutine[Any, Any, T], data: Any | None = None, sentinel: Any = None
    ) -> Any:
        """``aawait(coro, data)``, returning ``sentinel`` instead of raising OOBData."""
        try:
            return await _drive(self, coro, data, False)
        except OOBData:
            return sentinel

    # Part of the hot path: a bare generator (no call layer in between), awaitable from
    # ``async def`` code, that does not warn if never awaited.
    @types.coroutine
    def oob(self, data: Any = None) -> Generator[Any, Any, Any]:
        """Awaitable sending ``data`` out of band to the caller driving this monitor."""
        if self.state is not _ACTIVE:
            raise RuntimeError("Monitor not active")
        self.state = _OOB
        return (yield data)


_oob = Monitor.oob


# ---------------------------------------------------------------------------------------
# BoundMonitor
# ---------------------------------------------------------------------------------------


class BoundMonitor(Generic[T]):
    """A monitor bound to one coroutine; awaiting it is ``monitor.aawait(coro)``."""

    def __init__(self, monitor: Monitor[T], coro: Coroutine[Any, Any, T]) -> None:
        self.monitor = monitor
        self.coro = coro

    def __await__(self) -> Generator[Any, Any, T]:
        return self.monitor.aawait(self.coro, None).__await__()

    # Each method returns the monitor's coroutine for the bound coroutine.

    @_returns_coroutine
    def aawait(self, data: Any | None = None) -> Coroutine[Any, Any, T]:
        return self.monitor.aawait(self.coro, data)

    @_returns_coroutine
    def athrow(self, exc: BaseException | type[BaseException]) -> Coroutine[Any, Any, T]:
        return self.monitor.athrow(self.coro, exc)

    @_returns_coroutine
    def aclose(self) -> Coroutine[Any, Any, None]:
        return self.monitor.aclose(self.coro)

    @_returns_coroutine
    def start(self) -> Coroutine[Any, Any, Any]:
        return self.monitor.start(self.coro)

    @_returns_coroutine
    def try_await(self, data: Any | None = None, sentinel: Any = None) -> Coroutine[Any, Any, Any]:
        return self.monitor.try_await(self.coro, data, sentinel)


# ---------------------------------------------------------------------------------------
# GeneratorObject and its iterator
# ---------------------------------------------------------------------------------------


class GeneratorObject(Generic[T, V]):
    """Async generator whose items come from ``ayield()`` calls anywhere in the driven
    coroutine's await chain."""

    __slots__ = ("monitor",)

    def __init__(self) -> None:
        self.monitor: Monitor[Any] = Monitor()

    def __call__(self, coro: Coroutine[Any, Any, Any]) -> GeneratorObjectIterator[T, V]:
        return GeneratorObjectIterator(self.monitor, coro)

    async def ayield(self, value: T) -> Any:
        """Deliver ``value`` as the next item; returns what the consumer sends back."""
        return await _oob(self.monitor, value)


def _first_iter(it: GeneratorObjectIterator[Any, Any]) -> None:
    """First-iteration asyncgen hooks (spec §6.1)."""
    firstiter, finalizer = sys.get_asyncgen_hooks()
    if firstiter is not None:
        firstiter(it)
    it.finalizer = finalizer


async def _agen_throw(it: GeneratorObjectIterator[Any, Any], exc: Any, closing: bool) -> Any:
    """``it.athrow(exc)`` or, with ``closing``, ``it.aclose()`` (spec §6.3, §6.4)."""
    if it.ag_running:
        name = "aclose" if closing else "athrow"
        raise RuntimeError(f"{name}(): asynchronous generator is already running")
    coro = it.coro
    if _frame(coro) is None:
        return None
    if coro_is_new(coro):
        _first_iter(it)
    it.ag_running = True
    try:
        await _drive(it.monitor, coro, exc, True)
    except OOBData as oob:
        if closing:
            raise RuntimeError("async generator ignored GeneratorExit") from None
        return oob.data
    except GeneratorExit:
        if closing:
            return None
        raise
    except StopAsyncIteration as err:
        raise RuntimeError("async generator raised StopAsyncIteration") from err
    finally:
        it.ag_running = False
    if closing:
        return None
    raise StopAsyncIteration()


class GeneratorObjectIterator(AsyncGenerator, Generic[T_co, T_contra]):  # type: ignore[type-arg]
    """The async generator made by ``GeneratorObject(coro)``."""

    __slots__ = ("monitor", "coro", "ag_running", "finalizer", "__weakref__")

    def __init__(self, monitor: Monitor[Any], coro: Coroutine[Any, Any, Any]) -> None:
        self.finalizer: Callable[[Any], object] | None = None
        self.ag_running = False
        self.monitor = monitor
        self.coro = coro

    def __del__(self) -> None:
        finalizer = self.finalizer
        if finalizer is not None:
            finalizer(self)

    def __aiter__(self) -> GeneratorObjectIterator[T_co, T_contra]:
        return self

    # The operations return the driver coroutines directly (see Monitor.aawait).

    @_returns_coroutine
    def __anext__(self) -> Coroutine[Any, Any, T_co]:
        return _agen_send(self, None)

    @_returns_coroutine
    def asend(self, value: T_contra | None) -> Coroutine[Any, Any, T_co]:
        return _agen_send(self, value)

    @overload
    def athrow(
        self,
        typ: type[BaseException],
        val: BaseException | object = None,
        tb: types.TracebackType | None = None,
        /,
    ) -> Coroutine[Any, Any, T_co]: ...

    @overload
    def athrow(
        self, typ: BaseException, val: None = None, tb: types.TracebackType | None = None, /
    ) -> Coroutine[Any, Any, T_co]: ...

    @_returns_coroutine
    def athrow(self, typ: Any, val: Any = None, tb: Any = None) -> Coroutine[Any, Any, T_co]:
        # ``val`` and ``tb`` exist for AsyncGenerator signature compatibility only.
        if typ is None:  # the original's quirk: behaves like aclose()
            return _agen_throw(self, GeneratorExit, True)
        return _agen_throw(self, typ, False)

    @_returns_coroutine
    def aclose(self) -> Coroutine[Any, Any, None]:
        return _agen_throw(self, GeneratorExit, True)


# ---------------------------------------------------------------------------------------
# Native hot path
# ---------------------------------------------------------------------------------------
# With the Rust engine active, ``_drive`` and ``Monitor.oob`` are native objects with real
# ``am_send`` slots doing exactly what the Python versions above do (those stay the
# reference, and the engine under ASYNKIT_DISABLE_CEXT=1).


def _install_native() -> None:
    global _drive, _oob, _agen_send
    from . import coroutine as _coroutine

    native = _coroutine._native if _coroutine._HAVE_C_EXTENSION else None
    if native is None:
        return
    native._configure_monitor(OOBData, OOBData.__init__, _INACTIVE, _ACTIVE, _OOB)
    # Accepted wherever a coroutine is (asyncio.create_task, gather, iscoroutine).
    Coroutine.register(native.MonitorDrive)
    # The drive object itself is what aawait/athrow return: it has every capability the
    # spec asks of those coroutine objects (await, create_task/gather, send/throw/close,
    # asyncio.iscoroutine) but is not a ``types.CoroutineType``; a Python wrapper frame
    # would cost an OOB round trip ~40% (the OOBData exception would unwind through it).
    _drive = native.monitor_drive
    Monitor.oob = _oob = native._monitor_oob_method(Monitor)  # type: ignore[method-assign]
    Coroutine.register(native.OobAwaitable)
    # GeneratorObject: ayield() is the OOB awaitable itself; each asend()/__anext__ is a
    # native step (its rare cold paths call _frame/_first_iter above).
    GeneratorObject.ayield = native._configure_generator_object(  # type: ignore[method-assign]
        GeneratorObject, _frame, _first_iter
    )
    _agen_send = native.agen_send


_install_native()
