"""Shared fixtures for the asynkit test suite.

Other suites may append fixtures below; keep the existing names stable.
"""

from __future__ import annotations

import asyncio
import contextvars
import inspect
from collections.abc import Callable, Coroutine
from typing import Any

import pytest

# ---------------------------------------------------------------------------
# CoroStart implementations (pure-Python reference and native engine)
# ---------------------------------------------------------------------------


def corostart_implementations() -> list[Any]:
    """Return pytest params for every CoroStart implementation available."""
    try:
        import asynkit.coroutine as ac
    except ImportError as exc:  # pragma: no cover - surfaces as a skip, not a crash
        reason = f"asynkit.coroutine not importable: {exc}"
        return [pytest.param(None, id="py", marks=pytest.mark.skip(reason=reason))]

    params = [pytest.param(ac.PyCoroStart, id="py")]
    native = getattr(ac, "_CCoroStart", None)
    if native is not None and native is not ac.PyCoroStart:
        params.append(pytest.param(native, id="native"))
    return params


def native_corostart() -> Any:
    """The native CoroStart class, or None when it is absent or disabled."""
    import asynkit.coroutine as ac

    native = getattr(ac, "_CCoroStart", None)
    if native is None or native is ac.PyCoroStart:
        return None
    return native


@pytest.fixture(params=corostart_implementations())
def corostart_impl(request: pytest.FixtureRequest) -> Any:
    """Yield each CoroStart class (pure, then native when present)."""
    return request.param


@pytest.fixture
def patch_corostart(corostart_impl: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """Swap ``asynkit.coroutine.CoroStart`` (and ``asynkit.CoroStart``) to each engine.

    Module-level helpers look the global up at call time (coroutine.md §12), so this
    makes ``coro_await``, ``eager``, ``await_sync``, the eager task factory etc. run on
    the selected implementation.
    """
    import asynkit
    import asynkit.coroutine as ac

    monkeypatch.setattr(ac, "CoroStart", corostart_impl)
    monkeypatch.setattr(asynkit, "CoroStart", corostart_impl)
    return corostart_impl


def is_native(cls: Any) -> bool:
    import asynkit.coroutine as ac

    return cls is not ac.PyCoroStart


# ---------------------------------------------------------------------------
# Event loops
# ---------------------------------------------------------------------------


def default_loop_factory() -> Callable[[], asyncio.AbstractEventLoop]:
    """Prefer ``asynkit.DefaultSchedulingEventLoop`` (as the acceptance suites do) when
    it is importable and complete; otherwise fall back to the stock event loop."""
    try:
        import asynkit

        cls = getattr(asynkit, "DefaultSchedulingEventLoop", None)
    except Exception:  # pragma: no cover - asynkit import problems surface elsewhere
        cls = None
    if cls is not None and hasattr(cls, "call_pos"):
        return cls
    return asyncio.new_event_loop


@pytest.fixture
def loop_factory() -> Callable[[], asyncio.AbstractEventLoop]:
    return default_loop_factory()


def _cancel_all_tasks(loop: asyncio.AbstractEventLoop) -> None:
    to_cancel = [t for t in asyncio.all_tasks(loop) if not t.done()]
    if not to_cancel:
        return
    for task in to_cancel:
        task.cancel()
    loop.run_until_complete(asyncio.gather(*to_cancel, return_exceptions=True))


def run_in_loop(
    loop_factory: Callable[[], asyncio.AbstractEventLoop],
    main: Coroutine[Any, Any, Any] | Callable[[], Coroutine[Any, Any, Any]],
    *,
    task_factory: Any = None,
    context: contextvars.Context | None = None,
) -> Any:
    """Run ``main`` to completion on a fresh loop from ``loop_factory`` and close it."""
    loop = loop_factory()
    try:
        if task_factory is not None:
            loop.set_task_factory(task_factory)
        coro = main if inspect.iscoroutine(main) else main()
        if context is not None:
            task = context.run(loop.create_task, coro)
            return loop.run_until_complete(task)
        return loop.run_until_complete(coro)
    finally:
        try:
            _cancel_all_tasks(loop)
            loop.run_until_complete(loop.shutdown_asyncgens())
            if hasattr(loop, "shutdown_default_executor"):
                loop.run_until_complete(loop.shutdown_default_executor())
        finally:
            loop.set_task_factory(None)
            loop.close()


@pytest.fixture
def run(loop_factory: Callable[[], asyncio.AbstractEventLoop]) -> Callable[..., Any]:
    """``run(coro_or_fn, task_factory=None)`` on a fresh loop from ``loop_factory``."""

    def _run(main: Any, **kwargs: Any) -> Any:
        return run_in_loop(loop_factory, main, **kwargs)

    return _run


@pytest.fixture
def anyio_backend() -> tuple[str, dict[str, Any]]:
    return ("asyncio", {"loop_factory": default_loop_factory()})


def pytest_configure(config: pytest.Config) -> None:
    # Hypothesis' failure reporting can import mypy_extensions, whose deprecated
    # TypedDict warning would otherwise turn a readable failure into an INTERNALERROR
    # under filterwarnings=error.
    config.addinivalue_line(
        "filterwarnings", "ignore:mypy_extensions.TypedDict is deprecated:DeprecationWarning"
    )
