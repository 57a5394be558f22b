"""Cross-version compatibility helpers (spec: eager-tasks.md §8).

* ``PY_311`` / ``PY_312`` / ``PY_314`` version constants and runtime type aliases.
* ``swap_current_task(loop, task)`` -- native on 3.12+, emulated on 3.10/3.11.
* ``patch_pytask()`` -- keeps pure-Python tasks visible to the C accelerator on 3.14+.
* ``InterruptCondition`` -- an ``asyncio.Condition`` whose ``wait()`` re-raises the
  very ``CancelledError`` instance caught while re-acquiring the lock.
* ``enable_eager_tasks()`` / ``disable_eager_tasks()`` -- monkeypatch ``asyncio`` so
  that ``asyncio.eager_task_factory`` and ``create_task(..., eager_start=...)`` work
  on every supported version, and undo it exactly.

This module must not import ``asynkit.coroutine`` at module level: that module imports
this one.  It is imported lazily where needed.
"""

from __future__ import annotations

import asyncio
import asyncio.events
import asyncio.tasks
import sys
import weakref
from typing import TYPE_CHECKING, Any, Callable, TypeVar

__all__ = ["InterruptCondition", "patch_pytask", "enable_eager_tasks", "disable_eager_tasks"]

PY_311 = sys.version_info >= (3, 11)
PY_312 = sys.version_info >= (3, 12)
PY_314 = sys.version_info >= (3, 14)

T = TypeVar("T")

if TYPE_CHECKING:
    _TaskAny = asyncio.Task[Any]
    FutureBool = asyncio.Future[bool]
    ReferenceTypeTaskAny = weakref.ReferenceType[_TaskAny]
else:
    _TaskAny = asyncio.Task
    FutureBool = asyncio.Future
    ReferenceTypeTaskAny = weakref.ReferenceType


# ---------------------------------------------------------------------------
# swap_current_task
# ---------------------------------------------------------------------------


def _emulated_swap_current_task(loop: asyncio.AbstractEventLoop, task: Any) -> Any:
    """Make ``task`` (or nobody, for ``None``) the current task of ``loop`` and
    return the previously current task, using ``_leave_task`` / ``_enter_task``.

    Used on Pythons without ``asyncio.tasks._swap_current_task`` (3.10, 3.11).
    """
    prev = asyncio.current_task(loop)
    if prev is not None:
        asyncio.tasks._leave_task(loop, prev)
    if task is not None:
        asyncio.tasks._enter_task(loop, task)
    return prev


_native_swap_current_task: Callable[[Any, Any], Any] | None = getattr(
    asyncio.tasks, "_swap_current_task", None
)

if _native_swap_current_task is not None:
    swap_current_task = _native_swap_current_task
else:
    swap_current_task = _emulated_swap_current_task


# ---------------------------------------------------------------------------
# patch_pytask (3.14+)
# ---------------------------------------------------------------------------

_c_get_running_loop: Any = None
_c_set_running_loop: Any = None
_c_enter_task: Any = None
_c_leave_task: Any = None
_c_swap_current_task: Any = None
_orig_py_get_running_loop: Any = None
_orig_py_set_running_loop: Any = None
_orig_py_enter_task: Any = None
_orig_py_leave_task: Any = None
_orig_py_swap_current_task: Any = None

if PY_314:  # pragma: no cover - exercised only on 3.14+
    _c_get_running_loop = getattr(asyncio.events, "_get_running_loop", None)
    _c_set_running_loop = getattr(asyncio.events, "_set_running_loop", None)
    _c_enter_task = getattr(asyncio.tasks, "_enter_task", None)
    _c_leave_task = getattr(asyncio.tasks, "_leave_task", None)
    _c_swap_current_task = getattr(asyncio.tasks, "_swap_current_task", None)
    _orig_py_get_running_loop = getattr(asyncio.events, "_py__get_running_loop", None)
    _orig_py_set_running_loop = getattr(asyncio.events, "_py__set_running_loop", None)
    _orig_py_enter_task = getattr(asyncio.tasks, "_py_enter_task", None)
    _orig_py_leave_task = getattr(asyncio.tasks, "_py_leave_task", None)
    _orig_py_swap_current_task = getattr(asyncio.tasks, "_py_swap_current_task", None)
    if _c_get_running_loop is None or _c_get_running_loop is _orig_py_get_running_loop:
        # No C accelerator: the "C" references are the Python ones; treat as absent.
        _c_get_running_loop = None
        _c_set_running_loop = None
        _c_enter_task = None
        _c_leave_task = None
        _c_swap_current_task = None


def _patched_get_running_loop() -> Any:
    """Replacement for ``asyncio.events._get_running_loop``: the C running loop."""
    return _c_get_running_loop()


def _patched_set_running_loop(loop: Any) -> None:
    """Replacement for ``asyncio.events._set_running_loop``: set both Python and C."""
    _orig_py_set_running_loop(loop)
    _c_set_running_loop(loop)


def _patched_py_enter_task(loop: Any, task: Any) -> None:
    """Replacement for ``asyncio.tasks._py_enter_task``: Python, then C bookkeeping."""
    _orig_py_enter_task(loop, task)
    _c_enter_task(loop, task)


def _patched_py_leave_task(loop: Any, task: Any) -> None:
    """Replacement for ``asyncio.tasks._py_leave_task``: Python, then C bookkeeping."""
    _orig_py_leave_task(loop, task)
    _c_leave_task(loop, task)


def _patched_py_swap_current_task(loop: Any, task: Any) -> Any:
    """Replacement for ``asyncio.tasks._py_swap_current_task``; returns the C result."""
    _orig_py_swap_current_task(loop, task)
    return _c_swap_current_task(loop, task)


if PY_314:  # pragma: no cover - exercised only on 3.14+
    # Combined swap when C and Python versions differ, else the Python one (unused).
    if _c_swap_current_task is not None and _c_swap_current_task is not (
        _orig_py_swap_current_task
    ):
        _swap_current_task = _patched_py_swap_current_task
    else:
        _swap_current_task = _orig_py_swap_current_task


def patch_pytask() -> None:
    """Keep asyncio's pure-Python and C current-task bookkeeping in agreement.

    A no-op before 3.14 and when the C accelerator is absent.  On 3.14+ it
    permanently replaces ``asyncio.events._get_running_loop`` /
    ``_set_running_loop`` and ``asyncio.tasks._py_enter_task`` / ``_py_leave_task``
    / ``_py_swap_current_task`` so that ``asyncio.tasks._PyTask`` instances are
    seen by the C ``current_task()``.  Idempotent.
    """
    if not PY_314 or _c_get_running_loop is None:
        return
    if asyncio.events._get_running_loop is _patched_get_running_loop:
        return
    asyncio.events._get_running_loop = _patched_get_running_loop
    asyncio.events._set_running_loop = _patched_set_running_loop
    asyncio.tasks._py_enter_task = _patched_py_enter_task  # type: ignore[attr-defined]
    asyncio.tasks._py_leave_task = _patched_py_leave_task  # type: ignore[attr-defined]
    asyncio.tasks._py_swap_current_task = _patched_py_swap_current_task  # type: ignore[attr-defined]


# ---------------------------------------------------------------------------
# InterruptCondition
# ---------------------------------------------------------------------------

if sys.version_info >= (3, 13):
    InterruptCondition = asyncio.Condition
else:

    class InterruptCondition(asyncio.Condition):  # type: ignore[no-redef]
        """``asyncio.Condition`` whose ``wait()`` preserves the ``CancelledError``
        instance (subclasses included) caught while re-acquiring the lock.

        The 3.10-3.12 stdlib raises a fresh plain ``CancelledError`` instead, which
        loses interrupts delivered to a task queued to re-acquire the lock.
        """

        LockType = asyncio.Lock

        def __init__(self, lock: Any = None) -> None:
            if lock is None:
                lock = self.LockType()
            super().__init__(lock)

        async def wait(self) -> bool:  # type: ignore[override]
            if not self.locked():
                raise RuntimeError("cannot wait on un-acquired lock")

            self.release()
            try:
                fut = self._get_loop().create_future()  # type: ignore[attr-defined]
                self._waiters.append(fut)
                try:
                    await fut
                    return True
                finally:
                    self._waiters.remove(fut)
            finally:
                # Must re-acquire the lock even if the wait was interrupted.
                err = None
                while True:
                    try:
                        await self.acquire()
                        break
                    except asyncio.CancelledError as e:
                        err = e
                if err is not None:
                    try:
                        raise err  # re-raise the most recent instance
                    finally:
                        err = None  # break reference cycles


# ---------------------------------------------------------------------------
# Detection functions and state
# ---------------------------------------------------------------------------


def _detect_eager_start_support() -> bool:
    """True if ``asyncio.create_task`` natively accepts ``eager_start`` (3.14+)."""
    return sys.version_info >= (3, 14)


def _detect_native_eager_task_factory() -> bool:
    """True if ``asyncio.eager_task_factory`` is native (3.12+)."""
    return sys.version_info >= (3, 12)


_eager_tasks_enabled: bool = False
_original_create_task: Any = None


def _eager_start_create_task(*args: Any, **kwargs: Any) -> Any:
    """``asyncio.create_task`` replacement for 3.12/3.13 accepting ``eager_start``.

    With a truthy ``eager_start`` the native ``asyncio.eager_task_factory`` is
    installed on the running loop for the duration of the call.
    """
    eager_start = kwargs.pop("eager_start", None)
    if eager_start:
        loop = asyncio.get_running_loop()
        old_factory = loop.get_task_factory()
        loop.set_task_factory(asyncio.eager_task_factory)  # type: ignore[attr-defined]
        try:
            return _original_create_task(*args, **kwargs)
        finally:
            loop.set_task_factory(old_factory)
    return _original_create_task(*args, **kwargs)


def enable_eager_tasks(native_semantics: bool = False) -> None:
    """Make ``asyncio.eager_task_factory`` and ``asyncio.create_task(...,
    eager_start=...)`` available on every supported Python version.

    Idempotent.  See the version matrix in the spec (§8.9).  With ``native_semantics``
    the 3.10/3.11 fallbacks are :mod:`asynkit.native_eager`'s (3.12+ semantics: the new
    task is current during its first step) instead of the 0.17.6-compatible ones; on
    3.12+ the flag changes nothing.  Call :func:`disable_eager_tasks` first to switch.
    """
    global _eager_tasks_enabled, _original_create_task
    if _eager_tasks_enabled:
        return

    if native_semantics and not _detect_native_eager_task_factory():
        from . import native_eager

        asyncio.eager_task_factory = native_eager.native_eager_task_factory  # type: ignore[attr-defined]
        asyncio.create_eager_task_factory = native_eager.create_native_eager_task_factory  # type: ignore[attr-defined]
        _original_create_task = asyncio.create_task
        asyncio.create_task = _eager_start_create_task
        _eager_tasks_enabled = True
        return

    if not _detect_native_eager_task_factory():
        from . import coroutine

        asyncio.eager_task_factory = coroutine.eager_task_factory  # type: ignore[attr-defined]
        asyncio.create_eager_task_factory = coroutine.create_eager_task_factory  # type: ignore[attr-defined]

    _original_create_task = asyncio.create_task

    if _detect_eager_start_support():
        pass  # native eager_start: nothing to do
    elif _detect_native_eager_task_factory():
        asyncio.create_task = _eager_start_create_task
    else:
        from . import coroutine

        asyncio.create_task = coroutine.create_task  # type: ignore[assignment]

    _eager_tasks_enabled = True


def disable_eager_tasks() -> None:
    """Undo :func:`enable_eager_tasks`.  Idempotent."""
    global _eager_tasks_enabled, _original_create_task
    if not _eager_tasks_enabled:
        return

    if _original_create_task is not None and asyncio.create_task is not _original_create_task:
        asyncio.create_task = _original_create_task
        _original_create_task = None

    if not _detect_native_eager_task_factory():
        for name in ("eager_task_factory", "create_eager_task_factory"):
            try:
                delattr(asyncio, name)
            except AttributeError:
                pass

    _eager_tasks_enabled = False
