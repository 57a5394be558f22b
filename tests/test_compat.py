"""Tests for ``asynkit.compat`` (spec: eager-tasks.md §8, §10, §11)."""

from __future__ import annotations

import ast
import asyncio
import asyncio.events
import asyncio.tasks
import contextvars
import os
import subprocess
import sys
import textwrap
import weakref
from pathlib import Path
from typing import Any
from unittest import mock

import pytest

import asynkit
import asynkit.compat as compat
import asynkit.coroutine
import asynkit.tools

MISSING = object()
PATCHED_NAMES = ("create_task", "eager_task_factory", "create_eager_task_factory")
PKG_DIR = Path(compat.__file__).resolve().parent


def _snapshot() -> dict[str, Any]:
    return {name: vars(asyncio).get(name, MISSING) for name in PATCHED_NAMES}


def _current() -> dict[str, Any]:
    return _snapshot()


@pytest.fixture
def clean_compat():
    """Start disabled with a pristine ``asyncio``; afterwards force everything back."""
    assert compat._eager_tasks_enabled is False
    snap = _snapshot()
    assert snap["create_task"] is asyncio.tasks.create_task, "asyncio.create_task leaked"
    saved_original = compat._original_create_task
    yield snap
    compat._eager_tasks_enabled = False
    compat._original_create_task = saved_original
    for name, value in snap.items():
        if value is MISSING:
            vars(asyncio).pop(name, None)
        else:
            setattr(asyncio, name, value)


# ---------------------------------------------------------------------------
# module surface
# ---------------------------------------------------------------------------


def test_all() -> None:
    assert compat.__all__ == [
        "InterruptCondition",
        "patch_pytask",
        "enable_eager_tasks",
        "disable_eager_tasks",
    ]
    for name in compat.__all__:
        assert hasattr(compat, name)


def test_version_constants() -> None:
    for name, vi in (("PY_311", (3, 11)), ("PY_312", (3, 12)), ("PY_314", (3, 14))):
        value = getattr(compat, name)
        assert type(value) is bool
        assert value == (sys.version_info >= vi)


def test_aliases_and_sys() -> None:
    assert compat.sys is sys
    assert compat.FutureBool is asyncio.Future
    assert compat.ReferenceTypeTaskAny is weakref.ReferenceType
    assert compat._TaskAny is asyncio.Task
    assert compat.T is not None


def test_state_globals_exist() -> None:
    assert type(compat._eager_tasks_enabled) is bool
    assert hasattr(compat, "_original_create_task")


def test_package_attributes_reachable() -> None:
    assert asynkit.compat is compat
    assert asynkit.tools is sys.modules["asynkit.tools"]
    assert asynkit.coroutine is sys.modules["asynkit.coroutine"]


@pytest.mark.parametrize("module", ["compat.py", "tools.py"])
def test_no_top_level_import_of_coroutine(module: str) -> None:
    """compat/tools are imported by coroutine.py: importing it back at module level
    would create an import cycle."""
    tree = ast.parse((PKG_DIR / module).read_text())

    def top_level(nodes: list[ast.stmt]) -> list[ast.stmt]:
        out: list[ast.stmt] = []
        for node in nodes:
            out.append(node)
            if isinstance(node, (ast.If, ast.Try)):
                for block in ("body", "orelse", "finalbody"):
                    out.extend(top_level(getattr(node, block, [])))
                for handler in getattr(node, "handlers", []):
                    out.extend(top_level(handler.body))
        return out

    for node in top_level(tree.body):
        if isinstance(node, ast.ImportFrom):
            names = {a.name for a in node.names}
            assert not (node.module or "").endswith("coroutine"), ast.dump(node)
            assert not (node.level and node.module is None and "coroutine" in names)
        elif isinstance(node, ast.Import):
            assert not any("coroutine" in a.name for a in node.names)


def _run_script(code: str) -> None:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(PKG_DIR.parent), env.get("PYTHONPATH", "")])
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_import_leaves_asyncio_untouched_and_state_initial() -> None:
    _run_script(
        """
        import asyncio, asyncio.events, asyncio.tasks, sys, types

        def snap(mod):
            return dict(vars(mod))

        before = {m: snap(m) for m in (asyncio, asyncio.events, asyncio.tasks)}
        import asynkit

        for mod, old in before.items():
            new = vars(mod)
            for k, v in old.items():
                if k == "__warningregistry__":
                    continue
                assert k in new, (mod.__name__, k, "removed")
                assert new[k] is v, (mod.__name__, k, "changed")
            added = [
                k for k in new
                if k not in old and not isinstance(new[k], types.ModuleType)
                and k != "__warningregistry__"
            ]
            assert not added, (mod.__name__, added)
        assert hasattr(asyncio, "eager_task_factory") == (sys.version_info >= (3, 12))
        assert hasattr(asyncio, "create_eager_task_factory") == (sys.version_info >= (3, 12))
        assert asynkit.compat._eager_tasks_enabled is False
        assert asynkit.compat._original_create_task is None
        assert asynkit.tools.create_task is asyncio.create_task
        assert asynkit.coroutine is sys.modules["asynkit.coroutine"]
        """
    )


def test_import_compat_alone_reaches_coroutine() -> None:
    _run_script(
        """
        import sys
        import asynkit.compat
        import asynkit
        assert asynkit.coroutine is sys.modules["asynkit.coroutine"]
        assert asynkit.tools is sys.modules["asynkit.tools"]
        assert asynkit.compat.__name__ == "asynkit.compat"
        """
    )


# ---------------------------------------------------------------------------
# detection functions
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "version, expected",
    [
        ((3, 10), (False, False)),
        ((3, 10, 13), (False, False)),
        ((3, 11), (False, False)),
        ((3, 12), (False, True)),
        ((3, 13), (False, True)),
        ((3, 13, 3), (False, True)),
        ((3, 14), (True, True)),
        ((3, 14, 0), (True, True)),
        ((3, 15), (True, True)),
        ((4, 0), (True, True)),
    ],
)
def test_detection_matrix(version: tuple[int, ...], expected: tuple[bool, bool]) -> None:
    with mock.patch.object(compat.sys, "version_info", version):
        got = (compat._detect_eager_start_support(), compat._detect_native_eager_task_factory())
    assert got == expected


def test_detection_not_cached() -> None:
    with mock.patch.object(compat.sys, "version_info", (3, 10)):
        assert compat._detect_eager_start_support() is False
        assert compat._detect_native_eager_task_factory() is False
    with mock.patch.object(compat.sys, "version_info", (3, 15)):
        assert compat._detect_eager_start_support() is True
        assert compat._detect_native_eager_task_factory() is True
    assert compat._detect_eager_start_support() == (sys.version_info >= (3, 14))
    assert compat._detect_native_eager_task_factory() == (sys.version_info >= (3, 12))


# ---------------------------------------------------------------------------
# swap_current_task
# ---------------------------------------------------------------------------


def test_swap_current_task_identity() -> None:
    native = getattr(asyncio.tasks, "_swap_current_task", None)
    if sys.version_info >= (3, 12):
        assert native is not None
        assert compat.swap_current_task is native
    else:
        assert native is None
        assert compat.swap_current_task is compat._emulated_swap_current_task


SWAPS = [
    pytest.param(lambda: compat.swap_current_task, id="public"),
    pytest.param(lambda: compat._emulated_swap_current_task, id="emulated"),
]


@pytest.mark.parametrize("get_swap", SWAPS)
def test_swap_inside_task(get_swap: Any) -> None:
    swap = get_swap()

    async def noop() -> str:
        return "other"

    async def main() -> None:
        loop = asyncio.get_running_loop()
        me = asyncio.current_task()
        assert me is not None

        prev = swap(loop, None)
        assert prev is me
        assert asyncio.current_task() is None
        assert asyncio.current_task(loop) is None
        assert swap(loop, me) is None
        assert asyncio.current_task() is me

        # swapping in the task that is already current is harmless
        assert swap(loop, me) is me
        assert asyncio.current_task() is me

        # any other object may be installed, then swapped back
        other = loop.create_task(noop())
        assert swap(loop, other) is me
        assert asyncio.current_task() is other
        assert swap(loop, me) is other
        assert asyncio.current_task() is me
        sentinel = object()
        assert swap(loop, sentinel) is me
        assert asyncio.current_task() is sentinel
        assert swap(loop, me) is sentinel

        # the task keeps working afterwards (its next step enters/leaves normally)
        await asyncio.sleep(0)
        assert asyncio.current_task() is me
        assert await other == "other"

    asyncio.run(main())


@pytest.mark.parametrize("get_swap", SWAPS)
def test_swap_from_plain_callback(get_swap: Any) -> None:
    swap = get_swap()
    seen: list[Any] = []

    async def main() -> None:
        loop = asyncio.get_running_loop()
        ghost = object()
        done = loop.create_future()

        def callback() -> None:
            assert asyncio.current_task(loop) is None
            seen.append(swap(loop, ghost))
            seen.append(asyncio.current_task(loop))
            seen.append(swap(loop, None))
            seen.append(asyncio.current_task(loop))
            done.set_result(None)

        loop.call_soon(callback)
        await done
        assert seen == [None, ghost, ghost, None]
        assert asyncio.current_task() is not None

    asyncio.run(main())


# ---------------------------------------------------------------------------
# patch_pytask
# ---------------------------------------------------------------------------

PYTASK_ATTRS = [
    (asyncio.events, "_get_running_loop"),
    (asyncio.events, "_set_running_loop"),
    (asyncio.tasks, "_py_enter_task"),
    (asyncio.tasks, "_py_leave_task"),
    (asyncio.tasks, "_py_swap_current_task"),
    (asyncio.tasks, "_enter_task"),
    (asyncio.tasks, "_leave_task"),
]


@pytest.mark.skipif(sys.version_info >= (3, 14), reason="patch_pytask is active on 3.14+")
def test_patch_pytask_noop_before_314() -> None:
    before = [getattr(mod, name, MISSING) for mod, name in PYTASK_ATTRS]
    assert compat.patch_pytask() is None
    compat.patch_pytask()
    after = [getattr(mod, name, MISSING) for mod, name in PYTASK_ATTRS]
    assert all(a is b for a, b in zip(before, after, strict=True))


@pytest.mark.skipif(sys.version_info < (3, 14), reason="3.14+ only")
def test_patch_pytask_314() -> None:  # pragma: no cover - needs 3.14
    compat.patch_pytask()
    if compat._c_get_running_loop is None:
        pytest.skip("no C accelerator")
    assert asyncio.events._get_running_loop is compat._patched_get_running_loop
    assert asyncio.events._set_running_loop is compat._patched_set_running_loop
    assert asyncio.tasks._py_enter_task is compat._patched_py_enter_task
    assert asyncio.tasks._py_leave_task is compat._patched_py_leave_task
    assert asyncio.tasks._py_swap_current_task is compat._patched_py_swap_current_task
    # idempotent
    compat.patch_pytask()
    assert asyncio.events._get_running_loop is compat._patched_get_running_loop
    assert compat._orig_py_enter_task is not compat._patched_py_enter_task

    async def main() -> None:
        async def body() -> Any:
            me = asyncio.current_task()
            await asyncio.sleep(0)
            return me, asyncio.current_task()

        task = asyncio.tasks._PyTask(body())
        before, after = await task
        assert before is task and after is task
        assert asyncio.current_task() is not task

    asyncio.run(main())


# ---------------------------------------------------------------------------
# InterruptCondition
# ---------------------------------------------------------------------------


def test_interrupt_condition_class() -> None:
    if sys.version_info >= (3, 13):
        assert compat.InterruptCondition is asyncio.Condition
    else:
        assert compat.InterruptCondition is not asyncio.Condition
        assert issubclass(compat.InterruptCondition, asyncio.Condition)
        assert compat.InterruptCondition.LockType is asyncio.Lock


def test_interrupt_condition_locks() -> None:
    async def main() -> None:
        lock = asyncio.Lock()
        cond = compat.InterruptCondition(lock)
        assert cond._lock is lock
        async with lock:
            assert cond.locked()
        cond2 = compat.InterruptCondition()
        assert isinstance(cond2._lock, asyncio.Lock)

        if sys.version_info < (3, 13):

            class MyLock(asyncio.Lock):
                pass

            class MyCond(compat.InterruptCondition):  # type: ignore[misc,valid-type]
                LockType = MyLock

            assert type(MyCond()._lock) is MyLock
            assert type(compat.InterruptCondition(lock=None)._lock) is asyncio.Lock

    asyncio.run(main())


def test_interrupt_condition_wait_unlocked() -> None:
    async def main() -> None:
        cond = compat.InterruptCondition()
        with pytest.raises(RuntimeError, match="cannot wait on un-acquired lock"):
            await cond.wait()

    asyncio.run(main())


def test_interrupt_condition_notify() -> None:
    async def main() -> None:
        cond = compat.InterruptCondition()
        result: list[Any] = []

        async def waiter() -> None:
            async with cond:
                result.append(await cond.wait())
                result.append(cond.locked())

        task = asyncio.create_task(waiter())
        await asyncio.sleep(0)
        assert len(cond._waiters) == 1
        async with cond:
            cond.notify()
        await task
        assert result == [True, True]
        assert len(cond._waiters) == 0
        assert not cond.locked()

    asyncio.run(main())


def test_interrupt_condition_wait_for() -> None:
    async def main() -> None:
        cond = compat.InterruptCondition()
        state = {"ready": False}

        async def waiter() -> Any:
            async with cond:
                return await cond.wait_for(lambda: state["ready"])

        task = asyncio.create_task(waiter())
        await asyncio.sleep(0)
        async with cond:
            cond.notify_all()
        await asyncio.sleep(0)
        assert not task.done()
        async with cond:
            state["ready"] = True
            cond.notify_all()
        assert await task is True

    asyncio.run(main())


class Interrupt(asyncio.CancelledError):
    pass


class FlakyLock(asyncio.Lock):
    """A lock whose next acquisitions raise the queued exceptions."""

    def __init__(self) -> None:
        super().__init__()
        self.failures: list[BaseException] = []

    async def acquire(self) -> bool:  # type: ignore[override]
        if self.failures:
            raise self.failures.pop(0)
        return await super().acquire()


def test_interrupt_condition_reraises_same_instance_after_reacquire() -> None:
    async def main() -> None:
        lock = FlakyLock()
        cond = compat.InterruptCondition(lock)
        e1, e2 = Interrupt("first"), Interrupt("second")
        result: dict[str, Any] = {}

        async def waiter() -> None:
            async with cond:
                try:
                    await cond.wait()
                except asyncio.CancelledError as e:
                    result["exc"] = e
                    result["locked"] = cond.locked()

        task = asyncio.create_task(waiter())
        await asyncio.sleep(0)
        async with cond:
            lock.failures = [e1, e2]
            cond.notify()
        await task
        # the most recent caught instance is re-raised, with the lock held
        assert result["exc"] is e2
        assert result["locked"] is True
        assert lock.failures == []
        assert not cond.locked()
        assert len(cond._waiters) == 0

    asyncio.run(main())


def test_interrupt_condition_other_exception_after_reacquire() -> None:
    async def main() -> None:
        cond = compat.InterruptCondition()
        result: dict[str, Any] = {}
        exc = ValueError("bad")

        async def waiter() -> None:
            async with cond:
                try:
                    await cond.wait()
                except ValueError as e:
                    result["exc"] = e
                    result["locked"] = cond.locked()
                    result["waiters"] = len(cond._waiters)

        task = asyncio.create_task(waiter())
        await asyncio.sleep(0)
        cond._waiters[0].set_exception(exc)
        await task
        assert result == {"exc": exc, "locked": True, "waiters": 0}

    asyncio.run(main())


def test_interrupt_condition_cancel_waits_for_lock() -> None:
    async def main() -> None:
        cond = compat.InterruptCondition()
        result: dict[str, Any] = {}

        async def waiter() -> None:
            async with cond:
                try:
                    await cond.wait()
                except asyncio.CancelledError:
                    result["locked"] = cond.locked()
                    raise

        task = asyncio.create_task(waiter())
        await asyncio.sleep(0)
        await cond.acquire()
        task.cancel()
        for _ in range(5):
            await asyncio.sleep(0)
        assert not task.done()  # still trying to re-acquire the lock we hold
        cond.release()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert result == {"locked": True}
        assert not cond.locked()

    asyncio.run(main())


# ---------------------------------------------------------------------------
# enable_eager_tasks / disable_eager_tasks: patching and restoration
# ---------------------------------------------------------------------------


def _assert_restored(snap: dict[str, Any]) -> None:
    now = _current()
    for name in PATCHED_NAMES:
        assert now[name] is snap[name], name


def test_enable_disable_real_version(clean_compat: dict[str, Any]) -> None:
    snap = clean_compat
    ac = asynkit.coroutine
    orig = snap["create_task"]

    compat.enable_eager_tasks()
    assert compat._eager_tasks_enabled is True
    assert compat._original_create_task is orig
    if sys.version_info < (3, 12):
        assert asyncio.eager_task_factory is ac.eager_task_factory
        assert asyncio.create_eager_task_factory is ac.create_eager_task_factory
        assert asyncio.create_task is ac.create_task
    elif sys.version_info < (3, 14):
        assert asyncio.eager_task_factory is snap["eager_task_factory"]
        assert asyncio.create_eager_task_factory is snap["create_eager_task_factory"]
        assert asyncio.create_task is compat._eager_start_create_task
    else:  # pragma: no cover - 3.14+
        _assert_restored(snap)
    # only the attribute on the asyncio package is replaced
    assert asyncio.tasks.create_task is orig
    assert asynkit.tools.create_task is orig
    assert asynkit.coroutine._create_task is orig

    compat.disable_eager_tasks()
    assert compat._eager_tasks_enabled is False
    _assert_restored(snap)
    if sys.version_info < (3, 12):
        assert not hasattr(asyncio, "eager_task_factory")
        assert not hasattr(asyncio, "create_eager_task_factory")
    if sys.version_info < (3, 14):
        assert compat._original_create_task is None
    else:  # pragma: no cover - nothing to restore on 3.14: left as captured
        assert compat._original_create_task is orig

    # enable/disable cycles are repeatable
    for _ in range(3):
        compat.enable_eager_tasks()
        compat.disable_eager_tasks()
        _assert_restored(snap)


def test_enable_idempotent_no_recapture(clean_compat: dict[str, Any]) -> None:
    orig = clean_compat["create_task"]
    compat.enable_eager_tasks()
    installed = asyncio.create_task
    sentinel = mock.Mock(name="create_task")
    with mock.patch.object(asyncio, "create_task", sentinel):
        compat.enable_eager_tasks()
        assert compat._original_create_task is orig
        assert asyncio.create_task is sentinel
    assert asyncio.create_task is installed
    compat.disable_eager_tasks()
    _assert_restored(clean_compat)


def test_disable_idempotent(clean_compat: dict[str, Any], monkeypatch: Any) -> None:
    sentinel = object()
    monkeypatch.setattr(compat, "_original_create_task", sentinel)
    compat.disable_eager_tasks()  # not enabled: must do nothing at all
    assert compat._original_create_task is sentinel
    assert compat._eager_tasks_enabled is False
    _assert_restored(clean_compat)

    monkeypatch.setattr(compat, "_original_create_task", None)
    compat.enable_eager_tasks()
    compat.disable_eager_tasks()
    compat.disable_eager_tasks()
    assert compat._eager_tasks_enabled is False
    _assert_restored(clean_compat)


def test_enable_branch_eager_start_support(clean_compat: dict[str, Any]) -> None:
    """Mocked 3.14 behaviour: create_task untouched but captured."""
    snap = clean_compat
    with (
        mock.patch.object(compat, "_detect_eager_start_support", return_value=True),
        mock.patch.object(compat, "_detect_native_eager_task_factory", return_value=True),
    ):
        compat.enable_eager_tasks()
        assert compat._eager_tasks_enabled is True
        assert compat._original_create_task is snap["create_task"]
        _assert_restored(snap)
        compat.disable_eager_tasks()
    assert compat._eager_tasks_enabled is False
    _assert_restored(snap)
    # nothing to restore: the capture is left as is
    assert compat._original_create_task is snap["create_task"]


def test_enable_branch_eager_start_support_only_mocked(clean_compat: dict[str, Any]) -> None:
    """Replacing just _detect_eager_start_support (as the acceptance tests do)."""
    snap = clean_compat
    with mock.patch.object(compat, "_detect_eager_start_support", return_value=True) as m:
        compat.enable_eager_tasks()
        assert m.called
        assert asyncio.create_task is snap["create_task"]
        if sys.version_info < (3, 12):
            assert asyncio.eager_task_factory is asynkit.coroutine.eager_task_factory
        compat.disable_eager_tasks()
    _assert_restored(snap)


def test_enable_branch_native_factory(clean_compat: dict[str, Any]) -> None:
    """Mocked 3.12/3.13 behaviour."""
    snap = clean_compat
    with (
        mock.patch.object(compat, "_detect_eager_start_support", return_value=False),
        mock.patch.object(compat, "_detect_native_eager_task_factory", return_value=True),
    ):
        compat.enable_eager_tasks()
        assert asyncio.create_task is compat._eager_start_create_task
        assert _current()["eager_task_factory"] is snap["eager_task_factory"]
        assert _current()["create_eager_task_factory"] is snap["create_eager_task_factory"]
        compat.disable_eager_tasks()
    _assert_restored(snap)
    assert compat._original_create_task is None


def test_enable_branch_legacy(clean_compat: dict[str, Any]) -> None:
    """Mocked 3.10/3.11 behaviour (on any interpreter)."""
    snap = clean_compat
    ac = asynkit.coroutine
    with (
        mock.patch.object(compat, "_detect_eager_start_support", return_value=False),
        mock.patch.object(compat, "_detect_native_eager_task_factory", return_value=False),
    ):
        compat.enable_eager_tasks()
        assert asyncio.eager_task_factory is ac.eager_task_factory
        assert asyncio.create_eager_task_factory is ac.create_eager_task_factory
        assert asyncio.create_task is ac.create_task
        compat.disable_eager_tasks()
        # deleted even if they were native (restored by the fixture afterwards)
        assert not hasattr(asyncio, "eager_task_factory")
        assert not hasattr(asyncio, "create_eager_task_factory")
        assert asyncio.create_task is snap["create_task"]
    assert compat._original_create_task is None


@pytest.mark.parametrize(
    "version, kind",
    [((3, 10), "legacy"), ((3, 11, 7), "legacy"), ((3, 12), "wrapper"), ((3, 14), "none")],
)
def test_enable_driven_by_sys_version_info(
    clean_compat: dict[str, Any], version: tuple[int, ...], kind: str
) -> None:
    snap = clean_compat
    with mock.patch.object(compat.sys, "version_info", version):
        compat.enable_eager_tasks()
    expected = {
        "legacy": asynkit.coroutine.create_task,
        "wrapper": compat._eager_start_create_task,
        "none": snap["create_task"],
    }[kind]
    assert asyncio.create_task is expected
    if kind == "legacy":
        assert asyncio.eager_task_factory is asynkit.coroutine.eager_task_factory
    else:
        assert _current()["eager_task_factory"] is snap["eager_task_factory"]
    with mock.patch.object(compat.sys, "version_info", version):
        compat.disable_eager_tasks()
    assert asyncio.create_task is snap["create_task"]
    if kind == "legacy":
        assert not hasattr(asyncio, "eager_task_factory")
    else:
        assert _current()["eager_task_factory"] is snap["eager_task_factory"]


def test_disable_deletes_attributes_regardless_of_setter(clean_compat: dict[str, Any]) -> None:
    with mock.patch.object(compat, "_detect_native_eager_task_factory", return_value=False):
        compat.enable_eager_tasks()
        asyncio.eager_task_factory = object()  # type: ignore[attr-defined]
        asyncio.create_eager_task_factory = object()  # type: ignore[attr-defined]
        compat.disable_eager_tasks()
        assert "eager_task_factory" not in vars(asyncio)
        assert "create_eager_task_factory" not in vars(asyncio)


@pytest.mark.skipif(sys.version_info < (3, 12), reason="native attributes only on 3.12+")
def test_disable_never_touches_native_attributes(clean_compat: dict[str, Any]) -> None:
    native_factory = asyncio.eager_task_factory
    native_create = asyncio.create_eager_task_factory
    compat.enable_eager_tasks()
    compat.disable_eager_tasks()
    assert asyncio.eager_task_factory is native_factory
    assert asyncio.create_eager_task_factory is native_create


def test_disable_writes_back_patched_capture(clean_compat: dict[str, Any]) -> None:
    """Spec quirk: the restore is an identity comparison against the captured object."""
    snap = clean_compat
    patched = mock.Mock(name="patched_create_task")
    with mock.patch.object(asyncio, "create_task", patched):
        compat.enable_eager_tasks()
        assert compat._original_create_task is patched
    # mock.patch restored the real create_task; disabling writes the capture back
    assert asyncio.create_task is snap["create_task"]
    compat.disable_eager_tasks()
    assert asyncio.create_task is patched
    assert compat._original_create_task is None
    assert compat._eager_tasks_enabled is False


def test_disable_leaves_capture_when_already_restored(clean_compat: dict[str, Any]) -> None:
    snap = clean_compat
    with mock.patch.object(compat, "_detect_eager_start_support", return_value=False):
        compat.enable_eager_tasks()
        assert asyncio.create_task is not snap["create_task"]
        asyncio.create_task = snap["create_task"]  # someone restored it by hand
        compat.disable_eager_tasks()
    assert compat._original_create_task is snap["create_task"]
    assert asyncio.create_task is snap["create_task"]
    assert compat._eager_tasks_enabled is False


def test_enable_looks_up_coroutine_module_at_call_time(
    clean_compat: dict[str, Any], monkeypatch: Any
) -> None:
    marker_factory = object()
    marker_create = object()
    marker_task = object()
    ac = asynkit.coroutine
    monkeypatch.setattr(ac, "eager_task_factory", marker_factory)
    monkeypatch.setattr(ac, "create_eager_task_factory", marker_create)
    monkeypatch.setattr(ac, "create_task", marker_task)
    with (
        mock.patch.object(compat, "_detect_eager_start_support", return_value=False),
        mock.patch.object(compat, "_detect_native_eager_task_factory", return_value=False),
    ):
        compat.enable_eager_tasks()
        assert asyncio.eager_task_factory is marker_factory
        assert asyncio.create_eager_task_factory is marker_create
        assert asyncio.create_task is marker_task
        compat.disable_eager_tasks()
    assert asyncio.create_task is clean_compat["create_task"]


# ---------------------------------------------------------------------------
# the 3.12/3.13 create_task wrapper, exercised directly on every version
# ---------------------------------------------------------------------------


@pytest.fixture
def wrapper_env(monkeypatch: Any) -> Any:
    """Make ``compat._eager_start_create_task`` usable on any interpreter."""
    if sys.version_info < (3, 12):
        monkeypatch.setattr(
            asyncio, "eager_task_factory", asynkit.coroutine.eager_task_factory, raising=False
        )
    monkeypatch.setattr(compat, "_original_create_task", asyncio.tasks.create_task)
    return compat._eager_start_create_task


def test_wrapper_eager_start_true(wrapper_env: Any) -> None:
    wrapper = wrapper_env

    async def main() -> None:
        loop = asyncio.get_running_loop()
        made: list[Any] = []

        def factory(loop: Any, coro: Any, **kwargs: Any) -> Any:
            made.append(coro)
            return asyncio.Task(coro, loop=loop, **kwargs)

        loop.set_task_factory(factory)
        log: list[Any] = []

        async def body(x: int) -> int:
            log.append(("factory", asyncio.get_running_loop().get_task_factory()))
            await asyncio.sleep(0)
            log.append("resumed")
            return x * 2

        task = wrapper(body(21), eager_start=True)
        assert log == [("factory", asyncio.eager_task_factory)]  # ran synchronously
        assert loop.get_task_factory() is factory  # restored
        assert made == []  # installed factory bypassed during the eager call
        assert not task.done()
        assert await task == 42
        assert log[-1] == "resumed"

        async def immediate() -> str:
            return "now"

        t2 = wrapper(immediate(), eager_start="yes", name="named")
        assert t2.done()
        assert t2.get_name() == "named"
        assert await t2 == "now"
        assert loop.get_task_factory() is factory

    asyncio.run(main())


@pytest.mark.parametrize("value", [False, None, 0, "", "omitted"])
def test_wrapper_eager_start_falsy(wrapper_env: Any, value: Any) -> None:
    wrapper = wrapper_env

    async def main() -> None:
        loop = asyncio.get_running_loop()
        made: list[Any] = []

        def factory(loop: Any, coro: Any, **kwargs: Any) -> Any:
            made.append(coro)
            return asyncio.Task(coro, loop=loop, **kwargs)

        loop.set_task_factory(factory)
        log: list[str] = []

        async def body() -> str:
            log.append("ran")
            return "x"

        kwargs = {} if value == "omitted" else {"eager_start": value}
        task = wrapper(body(), name="lazy", **kwargs)
        assert log == []
        assert not task.done()
        assert task.get_name() == "lazy"
        assert len(made) == 1
        assert await task == "x"
        assert log == ["ran"]

    asyncio.run(main())


def test_wrapper_strips_eager_start_and_uses_global(wrapper_env: Any, monkeypatch: Any) -> None:
    wrapper = wrapper_env
    calls: list[Any] = []

    def recorder(*args: Any, **kwargs: Any) -> str:
        calls.append((args, kwargs))
        for a in args:
            a.close()
        return "result"

    monkeypatch.setattr(compat, "_original_create_task", recorder)

    async def body() -> None:
        pass

    async def main() -> None:
        assert wrapper(body(), eager_start=True, name="n") == "result"
        assert wrapper(body(), eager_start=False, name="m") == "result"

    asyncio.run(main())
    assert [c[1] for c in calls] == [{"name": "n"}, {"name": "m"}]


def test_wrapper_restores_factory_on_error(wrapper_env: Any, monkeypatch: Any) -> None:
    wrapper = wrapper_env

    def failing(coro: Any, **kwargs: Any) -> Any:
        coro.close()
        raise ValueError("nope")

    monkeypatch.setattr(compat, "_original_create_task", failing)

    async def body() -> None:
        pass

    async def main() -> None:
        loop = asyncio.get_running_loop()

        def factory(loop: Any, coro: Any, **kwargs: Any) -> Any:
            return asyncio.Task(coro, loop=loop, **kwargs)  # pragma: no cover

        loop.set_task_factory(factory)
        with pytest.raises(ValueError, match="nope"):
            wrapper(body(), eager_start=True)
        assert loop.get_task_factory() is factory
        loop.set_task_factory(None)

    asyncio.run(main())


def test_wrapper_no_running_loop(wrapper_env: Any, monkeypatch: Any) -> None:
    wrapper = wrapper_env
    called: list[Any] = []
    monkeypatch.setattr(compat, "_original_create_task", lambda *a, **k: called.append(a))

    async def body() -> None:
        pass

    coro = body()
    with pytest.raises(RuntimeError):
        wrapper(coro, eager_start=True)
    coro.close()
    assert called == []


@pytest.mark.skipif(sys.version_info < (3, 12), reason="native eager factory semantics")
def test_wrapper_native_current_task_is_task_itself(wrapper_env: Any) -> None:
    async def main() -> None:
        seen: list[Any] = []

        async def body() -> None:
            seen.append(asyncio.current_task())
            await asyncio.sleep(0)

        task = wrapper_env(body(), eager_start=True)
        assert seen == [task]
        await task

    asyncio.run(main())


# ---------------------------------------------------------------------------
# observable behaviour after enable_eager_tasks() (needs asynkit.coroutine)
# ---------------------------------------------------------------------------


def test_behaviour_after_enable(clean_compat: dict[str, Any]) -> None:
    compat.enable_eager_tasks()
    try:
        assert hasattr(asyncio, "eager_task_factory")
        assert hasattr(asyncio, "create_eager_task_factory")

        async def main() -> None:
            log: list[str] = []

            async def blocking(tag: str) -> str:
                log.append(tag)
                await asyncio.sleep(0.001)
                log.append(tag + "-done")
                return tag

            async def immediate(v: int) -> int:
                log.append(f"imm{v}")
                return v

            async def raising() -> None:
                raise KeyError("sync")

            t = asyncio.create_task(blocking("a"), eager_start=True)
            assert log == ["a"]
            assert not t.done()
            assert await t == "a"

            log.clear()
            t = asyncio.create_task(immediate(1), eager_start=True, name="imm")
            assert log == ["imm1"]
            assert t.done()
            assert t.get_name() == "imm"
            assert await t == 1

            t = asyncio.create_task(blocking("n"), eager_start=1, name="blk")
            assert t.get_name() == "blk"
            await t

            for value in (False, None, 0, ""):
                log.clear()
                t = asyncio.create_task(immediate(2), eager_start=value)
                assert log == []
                assert not t.done()
                assert await t == 2
            log.clear()
            t = asyncio.create_task(immediate(3))
            assert log == [] and not t.done()
            await t

            t = asyncio.create_task(raising(), eager_start=True)
            assert t.done()
            with pytest.raises(KeyError):
                await t

            if sys.version_info >= (3, 11):
                var: contextvars.ContextVar[str] = contextvars.ContextVar("var")
                var.set("caller")
                ctx = contextvars.copy_context()
                ctx.run(var.set, "ctx")

                async def read() -> str:
                    return var.get()

                t = asyncio.create_task(read(), eager_start=True, context=ctx)
                assert await t == "ctx"
                assert var.get() == "caller"

            # the global factory path
            loop = asyncio.get_running_loop()
            loop.set_task_factory(asyncio.eager_task_factory)
            try:
                log.clear()
                t = asyncio.create_task(immediate(4))
                assert log == ["imm4"]
                assert t.done()
                assert await t == 4
                log.clear()
                t = asyncio.create_task(blocking("f"))
                assert log == ["f"]
                assert await t == "f"
            finally:
                loop.set_task_factory(None)

            custom = asyncio.create_eager_task_factory(asyncio.Task)
            assert callable(custom)

        asyncio.run(main())
    finally:
        compat.disable_eager_tasks()
    _assert_restored(clean_compat)


def test_enable_eager_tasks_seed_example(clean_compat: dict[str, Any]) -> None:
    """The package page's cross-version example."""

    async def fetch_data() -> str:
        await asyncio.sleep(0)
        return "data"

    async def main() -> list[str]:
        compat.enable_eager_tasks()
        loop = asyncio.get_running_loop()
        loop.set_task_factory(asyncio.eager_task_factory)
        try:
            eager_task = asyncio.create_task(fetch_data(), eager_start=True)
            standard_task = asyncio.create_task(fetch_data(), eager_start=False)
            return list(await asyncio.gather(eager_task, standard_task))
        finally:
            loop.set_task_factory(None)

    try:
        assert asyncio.run(main()) == ["data", "data"]
    finally:
        compat.disable_eager_tasks()
    _assert_restored(clean_compat)
