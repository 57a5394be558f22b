"""Coroutine control: CoroStart, eager execution, sync/async bridges, introspection.

``CoroStart`` is the Rust engine (``asynkit._asynkit``) when it is importable and not
disabled with ``ASYNKIT_DISABLE_CEXT``; the pure-Python reference is ``PyCoroStart``.
Every function here that builds a CoroStart looks the module global ``CoroStart`` up at
call time, so assigning ``asynkit.coroutine.CoroStart`` switches engines.
"""

from __future__ import annotations

import asyncio
import collections.abc
import contextvars
import functools
import inspect
import os
import types
from collections.abc import (
    AsyncIterable,
    Awaitable,
    Callable,
    Coroutine,
    Generator,
    Iterator,
)
from contextvars import Context
from typing import Any, ParamSpec, Protocol, TypeVar, Union

from . import _reference
from .compat import PY_311, swap_current_task
from .tools import cancelling
from .tools import create_task as _create_task

__all__ = [
    "CoroStart",
    "PyCoroStart",
    "awaitmethod",
    "awaitmethod_iter",
    "coro_await",
    "coro_eager",
    "func_eager",
    "eager",
    "eager_ctx",
    "get_implementation_info",
    "create_eager_task_factory",
    "eager_task_factory",
    "create_task",
    "TaskLikeFuture",
    "coro_get_frame",
    "coro_is_new",
    "coro_is_suspended",
    "coro_is_finished",
    "coro_iter",
    "aiter_sync",
    "await_sync",
    "SynchronousError",
    "SynchronousAbort",
    "asyncfunction",
    "syncfunction",
]

T = TypeVar("T")
S = TypeVar("S")
T_co = TypeVar("T_co", covariant=True)
P = ParamSpec("P")

Suspendable = Union[Coroutine[Any, Any, Any], Generator[Any, Any, Any]]


class CAwaitable(Awaitable[T_co], Protocol):
    """An awaitable that can also be cancelled (a Future or a Task)."""

    def cancel(self, msg: Any = None) -> bool: ...


# ---------------------------------------------------------------------------------------
# Engine selection (spec coroutine.md §1.3)
# ---------------------------------------------------------------------------------------


def _env_flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in ("1", "true", "yes")


_native: Any = None
_CCoroStartBase: Any = None
_get_c_build_info: Any = None
_HAVE_C_EXTENSION = False
if not _env_flag("ASYNKIT_DISABLE_CEXT"):
    try:
        from . import _asynkit as _native
        from ._asynkit import CoroStartBase as _CCoroStartBase
        from ._asynkit import get_build_info as _get_c_build_info

        _HAVE_C_EXTENSION = True
    except ImportError:
        _native = _CCoroStartBase = _get_c_build_info = None

CoroStartBase = _reference.CoroStartBase
CoroStartMixin = _reference.CoroStartMixin
# The reference classes are this module's (as in the original, where they are defined
# here); ``_reference`` only keeps their code apart.
for _cls in (_reference.CoroStartBase, _reference.CoroStartMixin, _reference.CoroStart):
    _cls.__module__ = __name__
del _cls
_PyCoroStartBase = CoroStartBase
_PyCoroStart = _reference.CoroStart
PyCoroStart = _PyCoroStart

if _HAVE_C_EXTENSION:
    # Equivalent to ``class _CCoroStart(_CCoroStartBase, CoroStartMixin): pass`` (same
    # bases and MRO, instances have a __dict__), built natively so construction and
    # deallocation cost what the base type costs.
    _CCoroStart = _native._make_full_class(_native, CoroStartMixin)
    CoroStart: Any = _CCoroStart
else:
    _CCoroStart = None  # type: ignore[assignment, misc]
    CoroStart = _PyCoroStart


def get_implementation_info() -> dict[str, Any]:
    """Which CoroStart engine is active, and how it was built."""
    if _HAVE_C_EXTENSION:
        try:
            build_info = _get_c_build_info()
        except Exception:
            build_info = {"status": "available but info unavailable"}
        return {
            "implementation": "Rust extension",
            "performance_info": "4-5x faster than pure Python",
            "build_info": build_info,
            "c_extension_available": True,
        }
    return {
        "implementation": "Pure Python",
        "performance_info": "Baseline performance (install with build tools for 4x boost)",
        "build_info": {},
        "c_extension_available": False,
    }


# ---------------------------------------------------------------------------------------
# Exceptions
# ---------------------------------------------------------------------------------------


class SynchronousError(RuntimeError):
    """A coroutine could not complete without suspending."""


class SynchronousAbort(BaseException):
    """Thrown into a coroutine by ``await_sync`` to abort it."""


# ---------------------------------------------------------------------------------------
# Awaiting and eager starts
# ---------------------------------------------------------------------------------------


async def coro_await(coro: Awaitable[T], *, context: Context | None = None) -> T:
    """``await coro``, but with every phase running in ``context`` when given."""
    return await CoroStart(coro, context=context)  # type: ignore[no-any-return]


def coro_eager(
    coro: Coroutine[Any, Any, T],
    *,
    create_task: Callable[[Coroutine[Any, Any, T]], CAwaitable[T]] | None = None,
    context: Context | None = None,
) -> CAwaitable[T]:
    """Run ``coro`` now, up to its first suspension; return an awaitable for the rest."""
    cs = CoroStart(coro, context=context if context is not None else contextvars.copy_context())
    if cs.done():
        return cs.as_future()  # type: ignore[no-any-return]
    if create_task is not None:
        return create_task(cs.as_coroutine())
    return _create_task(cs.as_coroutine(), name="eager_task")


def func_eager(
    func: Callable[P, Coroutine[Any, Any, T]],
    *,
    create_task: Callable[[Coroutine[Any, Any, T]], CAwaitable[T]] | None = None,
) -> Callable[P, CAwaitable[T]]:
    """Decorator: calling the function starts its coroutine eagerly."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> CAwaitable[T]:
        return coro_eager(func(*args, **kwargs), create_task=create_task)

    return wrapper


def eager(arg: Any, *, create_task: Any = None) -> Any:
    """``coro_eager`` for a coroutine, ``func_eager`` for a function."""
    if isinstance(arg, types.CoroutineType):
        return coro_eager(arg, create_task=create_task)
    if isinstance(arg, types.FunctionType):
        return func_eager(arg, create_task=create_task)
    raise TypeError("need coroutine or function")


def eager_ctx(
    coro: Coroutine[Any, Any, T],
    *,
    create_task: Callable[[Coroutine[Any, Any, T]], CAwaitable[T]] | None = None,
    msg: str | None = None,
) -> Any:
    """Context manager: start ``coro`` eagerly, cancel it on exit unless awaited."""
    return cancelling(coro_eager(coro, create_task=create_task), msg=msg)


if _HAVE_C_EXTENSION:
    # Native coro_eager/eager: identical behaviour while ``CoroStart`` is the native class
    # (checked at every call); otherwise they call the Python functions above.
    _py_coro_eager = coro_eager
    _py_eager = eager

    def _eager_continue(cs: Any, create_task: Any) -> Any:
        if create_task is not None:
            return create_task(cs.as_coroutine())
        return _create_task(cs.as_coroutine(), name="eager_task")

    _native._configure_eager(
        globals(), _CCoroStart, _py_coro_eager, _py_eager, _eager_continue, asyncio.get_running_loop
    )
    if hasattr(os, "register_at_fork"):
        os.register_at_fork(after_in_child=_native._after_fork_in_child)
    _get_running_loop = _native.get_running_loop
    coro_eager = _native.coro_eager  # noqa: F811
    eager = _native.eager  # noqa: F811


else:
    _get_running_loop = asyncio.get_running_loop


# ---------------------------------------------------------------------------------------
# Running async code synchronously
# ---------------------------------------------------------------------------------------


def _await_sync_suspended(start: Any) -> Any:
    """``await_sync`` after the coroutine suspended: abort it, close it, raise."""
    try:
        try:
            start.throw(SynchronousAbort())
        except BaseException as err:
            raise SynchronousError("coroutine failed to complete synchronously") from err
        raise SynchronousError("coroutine failed to complete synchronously (caught BaseException)")
    finally:
        start.close()


def await_sync(coro: Awaitable[T]) -> T:
    """Run ``coro`` to completion synchronously; SynchronousError if it suspends."""
    start = CoroStart[T](coro)
    if start.done():
        return start.result()  # type: ignore[no-any-return]
    return _await_sync_suspended(start)  # type: ignore[no-any-return]


if _HAVE_C_EXTENSION:
    # The native await_sync checks, at every call, that the module global ``CoroStart``
    # is still the native class; otherwise it calls the reference ``await_sync`` above.
    _py_await_sync = await_sync
    _native._configure_await_sync(globals(), _CCoroStart, _py_await_sync, _await_sync_suspended)
    await_sync = _native.await_sync  # noqa: F811


def syncfunction(func: Callable[P, Coroutine[Any, Any, T]]) -> Callable[P, T]:
    """Decorator: make an async function callable synchronously (via ``await_sync``)."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
        return await_sync(func(*args, **kwargs))

    return wrapper


def asyncfunction(func: Callable[P, T]) -> Callable[P, Coroutine[Any, Any, T]]:
    """Decorator: make a regular function awaitable."""

    @functools.wraps(func)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
        return func(*args, **kwargs)

    return wrapper


def aiter_sync(async_iterable: AsyncIterable[T]) -> Generator[T, None, None]:
    """Iterate synchronously over an async iterable that never suspends."""
    ai = async_iterable.__aiter__()

    async def anext() -> T:
        return await ai.__anext__()

    while True:
        try:
            value = await_sync(anext())
        except StopAsyncIteration:
            return
        yield value


# ---------------------------------------------------------------------------------------
# __await__ helpers
# ---------------------------------------------------------------------------------------


def coro_iter(coro: Coroutine[Any, Any, T]) -> Generator[Any, Any, T]:
    """A generator that drives ``coro`` like ``yield from`` (for ``__await__``)."""
    try:
        out = coro.send(None)
    except StopIteration as e:
        return e.value  # type: ignore[no-any-return]
    while True:
        try:
            sent = yield out
        except GeneratorExit:
            coro.close()
            raise
        except BaseException as exc:
            try:
                out = coro.throw(exc)
            except StopIteration as e:
                return e.value  # type: ignore[no-any-return]
        else:
            try:
                out = coro.send(sent)
            except StopIteration as e:
                return e.value  # type: ignore[no-any-return]


def awaitmethod(func: Callable[..., Coroutine[Any, Any, T]]) -> Callable[..., Iterator[Any]]:
    """Decorator: use a coroutine function as ``__await__``."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Iterator[Any]:
        return func(*args, **kwargs).__await__()

    return wrapper


def awaitmethod_iter(
    func: Callable[..., Coroutine[Any, Any, T]],
) -> Callable[..., Iterator[Any]]:
    """Like ``awaitmethod``, driving the coroutine through ``coro_iter``."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Iterator[Any]:
        return coro_iter(func(*args, **kwargs))

    return wrapper


# ---------------------------------------------------------------------------------------
# Task-like results and the eager task factory
# ---------------------------------------------------------------------------------------


class TaskLikeFuture(asyncio.Future[T]):
    """A done Future standing in for a Task whose coroutine finished during its eager start."""

    # Instances still have a __dict__ (the C Future's own).
    __slots__ = ("_name", "_context")

    def __init__(
        self,
        future: Any = None,
        *,
        name: str | None = None,
        context: Context | None = None,
    ) -> None:
        try:
            loop = _get_running_loop()  # getpid-free on 3.10/3.11
        except RuntimeError:
            super().__init__()
        else:
            super().__init__(loop=loop)
        self._name = name
        self._context = context
        if future is not None and future.done():
            try:
                result = future.result()
            except BaseException as e:
                self.set_exception(e)
            else:
                self.set_result(result)

    def get_name(self) -> str:
        return self._name if self._name else f"TaskLikeFuture-{id(self)}"

    def set_name(self, value: Any) -> None:
        self._name = value

    def get_context(self) -> Context:
        return self._context if self._context else contextvars.Context()

    def set_context(self, context: Context | None) -> None:
        self._context = context


class GhostTaskHelper:
    """One placeholder Task per loop, made current during eager starts with no task."""

    tasks: dict[Any, Any] = {}

    @classmethod
    def get(cls, loop: Any, raw_create: Callable[[Coroutine[Any, Any, None]], Any]) -> Any:
        try:
            return cls.tasks[loop]
        except KeyError:
            pass
        # Made in an empty context, so the ghost keeps no caller's context values alive.
        ghost = contextvars.Context().run(raw_create, cls.task_coro())
        # With an eager factory on the loop, ``raw_create`` may go through a nested eager
        # start that already stored the real ghost Task (and hands back a finished
        # TaskLikeFuture for this no-op coroutine): the stored Task wins.
        return cls.tasks.setdefault(loop, ghost)

    @classmethod
    async def task_coro(cls) -> None:
        pass


_get_ghost_task = GhostTaskHelper.get


def _eager_start(coro: Any, context: Context | None) -> Any:
    if context is None:
        return CoroStart(coro, context=contextvars.copy_context())
    return context.run(lambda: CoroStart(coro, context=None))


def coro_eager_task_helper(
    loop: asyncio.AbstractEventLoop,
    coro: Coroutine[Any, Any, T],
    name: str | None,
    context: Context | None,
    real_task_factory: Callable[[Coroutine[Any, Any, T]], Any],
) -> Any:
    """The shared eager-start algorithm (spec eager-tasks.md §2)."""
    try:
        running = asyncio.get_running_loop()
    except RuntimeError:
        return real_task_factory(coro)
    if running is not loop:
        return real_task_factory(coro)
    if not PY_311:
        context = None
    if asyncio.current_task(loop) is None:
        ghost = _get_ghost_task(loop, real_task_factory)
        previous = swap_current_task(loop, ghost)
        try:
            cs = _eager_start(coro, context)
        finally:
            swap_current_task(loop, previous)
    else:
        cs = _eager_start(coro, context)
    if cs.done():
        return TaskLikeFuture(cs, name=name, context=context)
    return real_task_factory(cs.as_coroutine())


def _py_create_eager_task_factory(
    custom_task_constructor: Callable[..., Any],
) -> Callable[..., Any]:
    """The reference task factory (the native one defers to it off its fast path)."""

    def factory(loop: asyncio.AbstractEventLoop, coro: Any, **kwargs: Any) -> Any:
        context = kwargs.get("context")
        name = kwargs.get("name")

        def real_task_factory(c: Any) -> Any:
            kwargs.pop("eager_start", None)
            return custom_task_constructor(c, loop=loop, **kwargs)

        return coro_eager_task_helper(loop, coro, name, context, real_task_factory)

    return factory


def create_eager_task_factory(custom_task_constructor: Callable[..., Any]) -> Callable[..., Any]:
    """A task factory that starts each coroutine eagerly (like 3.12's asyncio one).

    Returns ``factory(loop, coro, **kwargs)`` for ``loop.set_task_factory()``; a new
    callable on every call.
    """
    py_factory = _py_create_eager_task_factory(custom_task_constructor)
    if _HAVE_C_EXTENSION:
        return _native._new_eager_task_factory(custom_task_constructor, py_factory)  # type: ignore[no-any-return]
    return py_factory


if _HAVE_C_EXTENSION:
    _native._configure_eager_factory(
        asyncio,
        TaskLikeFuture,
        TaskLikeFuture.__init__,
        asyncio.current_task,
        getattr(asyncio.tasks, "_current_tasks", None),
    )
    # The continuation the native factories hand to the task constructor.
    collections.abc.Coroutine.register(_native.CoroStartContinuation)

eager_task_factory = create_eager_task_factory(asyncio.Task)


def create_task(
    coro: Coroutine[Any, Any, T],
    *,
    name: str | None = None,
    context: Context | None = None,
    eager_start: bool | None = None,
    **kwargs: Any,
) -> Any:
    """``asyncio.create_task`` with an ``eager_start`` option on every Python version."""
    if PY_311:

        def real_task_factory(c: Any) -> Any:
            return _create_task(c, name=name, context=context, **kwargs)

    else:

        def real_task_factory(c: Any) -> Any:
            return _create_task(c, name=name, **kwargs)

    if eager_start:
        return coro_eager_task_helper(
            asyncio.get_running_loop(), coro, name, context, real_task_factory
        )
    return real_task_factory(coro)


# ---------------------------------------------------------------------------------------
# Introspection
# ---------------------------------------------------------------------------------------


def _type_error(obj: Any) -> TypeError:
    return TypeError(f"a coroutine or coroutine like object is required. Got: {type(obj)}")


def _coro_getattr(obj: Any, suffix: str) -> Any:
    for prefix in ("cr_", "gi_", "ag_"):
        try:
            return getattr(obj, prefix + suffix)
        except AttributeError:
            continue
    raise _type_error(obj)


def coro_get_frame(coro: Any) -> types.FrameType | None:
    """The frame of a coroutine, generator or async generator (None once finished)."""
    return _coro_getattr(coro, "frame")  # type: ignore[no-any-return]


def coro_is_new(coro: Any) -> bool:
    """True if the coroutine (or generator) has not started running yet."""
    if inspect.iscoroutine(coro):
        return inspect.getcoroutinestate(coro) == inspect.CORO_CREATED
    if inspect.isgenerator(coro):
        return inspect.getgeneratorstate(coro) == inspect.GEN_CREATED
    if inspect.isasyncgen(coro):
        return coro.ag_frame is not None and coro.ag_await is None and not coro.ag_running
    raise _type_error(coro)


def coro_is_suspended(coro: Any) -> bool:
    """True if the coroutine (or generator) is suspended at an await or yield."""
    if inspect.iscoroutine(coro):
        return inspect.getcoroutinestate(coro) == inspect.CORO_SUSPENDED
    if inspect.isgenerator(coro):
        return inspect.getgeneratorstate(coro) == inspect.GEN_SUSPENDED
    if inspect.isasyncgen(coro):
        return coro.ag_await is not None
    raise _type_error(coro)


def coro_is_finished(coro: Any) -> bool:
    """True if the coroutine (or generator) has finished."""
    return _coro_getattr(coro, "frame") is None


if _HAVE_C_EXTENSION:
    # Same rules, natively, for the exact coroutine/generator types; anything else
    # goes to the Python functions above.
    _py_coro_is_new = coro_is_new
    _py_coro_is_suspended = coro_is_suspended

    def _calibrate_introspection() -> bool:
        async def probe() -> None:
            await asyncio.sleep(0)

        new, suspended, finished = probe(), probe(), probe()
        suspended.send(None)
        finished.close()
        try:
            return bool(
                _native._configure_introspection(
                    _py_coro_is_new, _py_coro_is_suspended, new, suspended, finished
                )
            )
        finally:
            new.close()
            suspended.close()

    _calibrate_introspection()
    coro_is_new = _native.coro_is_new  # noqa: F811
    coro_is_suspended = _native.coro_is_suspended  # noqa: F811


if _HAVE_C_EXTENSION:
    # The native stand-ins present themselves as this module's, like the Python
    # functions they replace, and the factory objects answer inspect.signature().
    for _fn in (coro_eager, eager, await_sync, coro_is_new, coro_is_suspended):
        _fn.__module__ = __name__
    del _fn
    _native.EagerTaskFactory.__module__ = __name__
    _native.EagerTaskFactory.__signature__ = inspect.signature(
        _py_create_eager_task_factory(asyncio.Task)
    )
