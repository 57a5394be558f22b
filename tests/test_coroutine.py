"""Module-level contract of ``asynkit.coroutine`` (coroutine.md §1, §2, §12).

The CoroStart engine, the eager helpers, the sync bridges and the introspection helpers
have their own files: test_corostart.py, test_eager.py, test_sync.py,
test_introspection.py.
"""

from __future__ import annotations

import asyncio
import inspect
import os
import subprocess
import sys
import textwrap
import typing
from typing import Any

import pytest

import asynkit
import asynkit.coroutine as ac
from conftest import native_corostart

EXPECTED_ALL = [
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

HIDDEN = [
    "CoroStartBase",
    "CoroStartMixin",
    "_PyCoroStart",
    "_PyCoroStartBase",
    "_CCoroStart",
    "_CCoroStartBase",
    "_HAVE_C_EXTENSION",
    "_get_c_build_info",
    "_create_task",
    "GhostTaskHelper",
    "_get_ghost_task",
    "coro_eager_task_helper",
    "_coro_getattr",
    "CAwaitable",
    "Suspendable",
    "T",
    "S",
    "P",
    "T_co",
]


def test_all_exact() -> None:
    assert list(ac.__all__) == EXPECTED_ALL


def test_all_reexported() -> None:
    for name in EXPECTED_ALL:
        assert getattr(asynkit, name) is getattr(ac, name), name
        assert name in asynkit.__all__


def test_hidden_names_exist() -> None:
    for name in HIDDEN:
        assert hasattr(ac, name), name
    assert "create_task_start" not in ac.__dict__
    assert "create_task_descend" not in ac.__dict__


def test_root_not_shadowed() -> None:
    assert asynkit.create_task is ac.create_task
    assert asynkit.CoroStart is ac.CoroStart
    assert asynkit.cancelling is asynkit.tools.cancelling


def test_create_task_hook_is_original() -> None:
    assert ac._create_task is asynkit.tools.create_task
    # the import-time original, not asynkit's eager-capable one
    assert ac._create_task is not ac.create_task


def test_typing_helpers() -> None:
    assert isinstance(ac.T, typing.TypeVar)
    assert isinstance(ac.T_co, typing.TypeVar)
    assert ac.T_co.__covariant__


def test_corostart_global_rebindable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ac, "CoroStart", ac.PyCoroStart)
    monkeypatch.setattr(asynkit, "CoroStart", ac.PyCoroStart)
    assert asynkit.CoroStart is ac.PyCoroStart


def test_mixin_methods_are_coroutine_functions() -> None:
    for name in ("athrow", "aclose", "as_coroutine"):
        assert inspect.iscoroutinefunction(getattr(ac.CoroStartMixin, name)), name
    assert "__init__" not in ac.CoroStartMixin.__dict__


def test_native_base_api() -> None:
    native = native_corostart()
    if native is None:
        pytest.skip("native engine absent")
    base = ac._CCoroStartBase
    for name in (
        "_throw",
        "done",
        "pending",
        "continued",
        "result",
        "exception",
        "start",
        "close",
        "__await__",
    ):
        assert callable(getattr(base, name)), name
    assert "__init__" not in native.__dict__
    alias = base[int]
    assert alias.__origin__ is base
    build = ac._get_c_build_info()
    assert isinstance(build, dict)
    assert build.get("build_type") in ("optimized", "debug")

    # subclassable with a plain Generic mixin
    T = typing.TypeVar("T")

    class Mixin(typing.Generic[T]):
        def extra(self) -> str:
            return "extra"

    class Sub(base, Mixin):  # type: ignore[misc, valid-type]
        pass

    async def coro() -> int:
        return 1

    s = Sub(coro())
    assert s.extra() == "extra" and s.result() == 1


# ---------------------------------------------------------------------------
# get_implementation_info (§1.5)
# ---------------------------------------------------------------------------

KEYS = {"implementation", "performance_info", "build_info", "c_extension_available"}


def test_implementation_info() -> None:
    info = ac.get_implementation_info()
    assert set(info) == KEYS
    assert ac.get_implementation_info() is not info  # fresh dict
    if ac._HAVE_C_EXTENSION:
        assert info["implementation"] == "Rust extension"
        assert info["performance_info"] == "4-5x faster than pure Python"
        assert info["c_extension_available"] is True
        assert info["build_info"] == ac._get_c_build_info()
    else:
        assert info == {
            "implementation": "Pure Python",
            "performance_info": "Baseline performance (install with build tools for 4x boost)",
            "build_info": {},
            "c_extension_available": False,
        }


def test_implementation_info_ignores_corostart_global(monkeypatch: pytest.MonkeyPatch) -> None:
    before = ac.get_implementation_info()
    monkeypatch.setattr(ac, "CoroStart", ac.PyCoroStart)
    assert ac.get_implementation_info() == before


def test_implementation_info_build_info_failure(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken() -> dict[str, str]:
        raise OSError("nope")

    monkeypatch.setattr(ac, "_HAVE_C_EXTENSION", True)
    monkeypatch.setattr(ac, "_get_c_build_info", broken)
    info = ac.get_implementation_info()
    assert info["build_info"] == {"status": "available but info unavailable"}
    assert info["c_extension_available"] is True
    assert info["implementation"] == "Rust extension"


# ---------------------------------------------------------------------------
# engine selection at import (§1.3) - run in subprocesses
# ---------------------------------------------------------------------------

PROBE = textwrap.dedent(
    """
    import json, asynkit, asynkit.coroutine as ac
    print(json.dumps({
        "pure": ac.CoroStart is ac.PyCoroStart,
        "root_pure": asynkit.CoroStart is ac.PyCoroStart,
        "native_none": ac._CCoroStart is None,
        "have": ac._HAVE_C_EXTENSION,
        "base_none": ac._CCoroStartBase is None,
        "build_none": ac._get_c_build_info is None,
        "impl": ac.get_implementation_info()["implementation"],
        "native_is_default": ac._CCoroStart is not None and ac.CoroStart is ac._CCoroStart,
    }))
    """
)


def _probe(env_value: str | None) -> dict[str, Any]:
    import json

    env = dict(os.environ)
    env.pop("ASYNKIT_DISABLE_CEXT", None)
    if env_value is not None:
        env["ASYNKIT_DISABLE_CEXT"] = env_value
    pkg_root = os.path.dirname(os.path.dirname(asynkit.__file__))
    env["PYTHONPATH"] = os.pathsep.join([pkg_root, env.get("PYTHONPATH", "")])
    out = subprocess.run(
        [sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


def _native_module_present() -> bool:
    import importlib.util

    return importlib.util.find_spec("asynkit._asynkit") is not None


@pytest.mark.parametrize("value", ["1", "true", "TRUE", "yes", "Yes"])
def test_env_disable_cext(value: str) -> None:
    r = _probe(value)
    assert r == {
        "pure": True,
        "root_pure": True,
        "native_none": True,
        "have": False,
        "base_none": True,
        "build_none": True,
        "impl": "Pure Python",
        "native_is_default": False,
    }


@pytest.mark.parametrize("value", [None, "0", ""])
def test_env_default_selects_native(value: str | None) -> None:
    if not _native_module_present():
        pytest.skip("native module not built")
    r = _probe(value)
    assert r["native_is_default"] is True
    assert r["pure"] is False
    assert r["have"] is True
    assert r["impl"] == "Rust extension"


def test_env_matches_current_process() -> None:
    flag = os.environ.get("ASYNKIT_DISABLE_CEXT", "").lower() in ("1", "true", "yes")
    if flag:
        assert ac.CoroStart is ac.PyCoroStart
        assert ac._CCoroStart is None
    elif _native_module_present():
        assert ac._CCoroStart is not None
        assert ac.CoroStart is ac._CCoroStart


# ---------------------------------------------------------------------------
# wrong argument types: TypeError (or AttributeError where tolerated), never a crash
# ---------------------------------------------------------------------------

BAD = [1, "x", None, object(), 1.5, b"b", [1], {"a": 1}]


@pytest.mark.parametrize("bad", BAD, ids=repr)
def test_bad_types_module_functions(bad: Any, patch_corostart: Any, run: Any) -> None:
    for f in (ac.coro_get_frame, ac.coro_is_new, ac.coro_is_suspended, ac.coro_is_finished):
        with pytest.raises(TypeError):
            f(bad)
    with pytest.raises(TypeError, match="need coroutine or function"):
        ac.eager(bad)
    with pytest.raises((TypeError, AttributeError)):
        ac.await_sync(bad)
    with pytest.raises((TypeError, AttributeError)):
        next(ac.aiter_sync(bad))
    with pytest.raises((TypeError, AttributeError)):
        next(ac.coro_iter(bad))

    async def main() -> None:
        with pytest.raises((TypeError, AttributeError)):
            await ac.coro_await(bad)
        with pytest.raises((TypeError, AttributeError)):
            await ac.coro_eager(bad)
        if bad is not None:  # TaskLikeFuture(None) is the no-future form
            with pytest.raises((TypeError, AttributeError)):
                ac.TaskLikeFuture(bad)
        with pytest.raises(TypeError):
            ac.create_task(bad)
        with pytest.raises((TypeError, AttributeError)):
            await ac.create_task(bad, eager_start=True)
        loop = asyncio.get_running_loop()
        with pytest.raises((TypeError, AttributeError)):
            await ac.eager_task_factory(loop, bad)

    run(main)


@pytest.mark.parametrize("bad", BAD, ids=repr)
def test_bad_types_corostart_methods(bad: Any, corostart_impl: Any) -> None:
    async def coro() -> int:
        await asyncio.sleep(0)
        return 1

    cs = corostart_impl(coro())
    with pytest.raises(TypeError):
        cs._throw(bad)
    with pytest.raises(TypeError):
        cs.throw(bad)
    with pytest.raises(TypeError):
        cs.done(bad)
    with pytest.raises(TypeError):
        cs.result(bad)
    assert cs.pending()
    aw = cs.__await__()
    aw.send(None)
    with pytest.raises(TypeError):
        aw.throw(bad)
    aw.close()
    cs.close()


def test_bad_types_constructor_never_crash(corostart_impl: Any) -> None:
    for bad in BAD + [type, int, asyncio.Future, Exception()]:
        try:
            cs = corostart_impl(bad)
        except (TypeError, AttributeError):
            continue
        assert cs.done()
        assert isinstance(cs.exception(), (TypeError, AttributeError))
        with pytest.raises((TypeError, AttributeError)):
            cs.result()
    with pytest.raises(TypeError):
        corostart_impl()
