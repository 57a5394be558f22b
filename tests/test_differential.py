"""Differential test: the native CoroStart must behave exactly like the pure reference.

Hypothesis generates random coroutine programs (returns, raises, suspensions on marker
objects and bare yields, nested awaits, try/except/finally with odd handlers,
context-variable writes) plus a random driver script (awaiter sends/throws/closes, fresh
awaiters, ``_throw``, ``throw(exc, tries)``, ``close``, state queries). Each pair runs on
both engines and records a trace; the traces must be identical. Only behaviour that
coroutine.md specifies is exercised (see §4.17 for the tolerated differences avoided here).

Set ASYNKIT_DIFF_SELFTEST=1 to run the harness pure-vs-pure when no native engine exists.
"""

from __future__ import annotations

import contextvars
import gc
import os
import sys
import types
from typing import Any

import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

import asynkit.coroutine as ac  # noqa: E402

NATIVE = ac._CCoroStart if ac._CCoroStart is not ac.PyCoroStart else None
if NATIVE is None:
    if os.environ.get("ASYNKIT_DIFF_SELFTEST"):
        NATIVE = ac.PyCoroStart
    else:
        pytest.skip("native CoroStart absent", allow_module_level=True)

VAR: contextvars.ContextVar[Any] = contextvars.ContextVar("diff_var", default="default")


class Custom(BaseException):
    pass


EXC_KINDS = ["ValueError", "KeyError", "GeneratorExit", "CancelledError", "Custom"]


def make_exc(kind: str, arg: int) -> BaseException:
    import asyncio

    cls = {
        "ValueError": ValueError,
        "KeyError": KeyError,
        "GeneratorExit": GeneratorExit,
        "CancelledError": asyncio.CancelledError,
        "Custom": Custom,
    }[kind]
    return cls(arg)


def exc_sig(e: BaseException) -> tuple[Any, ...]:
    cause = type(e.__cause__).__name__ if e.__cause__ is not None else None
    return (type(e).__name__, tuple(repr(a) for a in e.args), cause)


class Marker:
    __slots__ = ("tag",)

    def __init__(self, tag: Any) -> None:
        self.tag = tag


class Program:
    """Per-run mutable state shared by the coroutine interpreter and the driver."""

    def __init__(self) -> None:
        self.log: list[Any] = []
        self.last_yielded: Any = None


class Yield:
    def __init__(self, prog: Program, tag: Any) -> None:
        self.prog = prog
        self.tag = tag

    def __await__(self) -> Any:
        m = Marker(self.tag)
        self.prog.last_yielded = m
        return (yield m)


@types.coroutine
def bare() -> Any:
    return (yield None)


def sig(v: Any) -> Any:
    if isinstance(v, Marker):
        return ("Marker", v.tag)
    if isinstance(v, BaseException):
        return ("exc-value", exc_sig(v))
    return v


async def interp(ops: list[Any], prog: Program) -> Any:
    log = prog.log
    for op in ops:
        k = op[0]
        if k == "set":
            VAR.set(op[1])
            log.append(("set", op[1]))
        elif k == "get":
            log.append(("get", VAR.get()))
        elif k == "yield":
            log.append(("yielding", op[1]))
            v = await Yield(prog, op[1])
            log.append(("resumed", sig(v), VAR.get()))
        elif k == "bare":
            v = await bare()
            log.append(("bare-resumed", sig(v), VAR.get()))
        elif k == "return":
            return op[1]
        elif k == "raise":
            raise make_exc(op[1], op[2])
        elif k == "sub":
            r = await interp(op[1], prog)
            log.append(("sub-returned", sig(r)))
        elif k == "try":
            _, body, handler, catch_base = op
            try:
                r = await interp(body, prog)
                log.append(("try-ok", sig(r)))
            except BaseException as e:
                if not catch_base and not isinstance(e, Exception):
                    raise
                log.append(("caught", exc_sig(e), VAR.get()))
                if handler == "swallow":
                    pass
                elif handler == "reraise":
                    raise
                elif handler == "return":
                    return ("handled", type(e).__name__)
                elif handler == "yield_reraise":
                    await Yield(prog, "in-handler")
                    raise
                elif handler == "yield_return":
                    v = await Yield(prog, "in-handler")
                    return ("handled-after-yield", sig(v))
                elif handler == "convert":
                    raise ValueError("converted") from e
        elif k == "finally":
            _, body, cleanup = op
            try:
                r = await interp(body, prog)
                log.append(("body-ok", sig(r)))
            finally:
                log.append(("finally", VAR.get()))
                await interp(cleanup, prog)
    return ("end", len(ops))


@types.coroutine
def gen_wrapper(coro: Any) -> Any:
    return (yield from coro)


async def agen_wrapper(coro: Any) -> Any:
    r = await coro
    yield ("agen-yielded", sig(r))


# ---------------------------------------------------------------------------
# strategies
# ---------------------------------------------------------------------------

suspend = st.one_of(st.tuples(st.just("yield"), st.integers(0, 99)), st.just(("bare",)))
simple = st.one_of(
    suspend,
    suspend,
    suspend,
    st.tuples(st.just("set"), st.integers(0, 9)),
    st.just(("get",)),
)
terminal = st.one_of(
    st.tuples(st.just("return"), st.one_of(st.integers(-3, 3), st.just(None), st.just((1, 2)))),
    st.tuples(st.just("raise"), st.sampled_from(EXC_KINDS), st.integers(0, 9)),
)
leaf = st.one_of(simple, simple, simple, terminal)

HANDLERS = ["swallow", "reraise", "return", "yield_reraise", "yield_return", "convert"]


def ops_at(depth: int) -> Any:
    if depth == 0:
        return st.lists(leaf, max_size=4)
    inner = ops_at(depth - 1)
    compound = st.one_of(
        st.tuples(st.just("sub"), inner),
        st.tuples(st.just("try"), inner, st.sampled_from(HANDLERS), st.booleans()),
        st.tuples(st.just("finally"), inner, inner),
    )
    return st.lists(st.one_of(leaf, leaf, compound), max_size=5)


programs = st.lists(
    st.one_of(
        leaf,
        ops_at(2).map(lambda o: ("sub", o)),
        ops_at(3).map(lambda o: ("finally", o, [("yield", 50)])),
    ),
    min_size=1,
    max_size=6,
)
programs = st.one_of(programs, ops_at(3))

exc_spec = st.tuples(st.sampled_from(EXC_KINDS), st.integers(0, 9))

step = st.tuples(st.just("step"), st.one_of(st.none(), st.integers(0, 9), st.just("s")))
action = st.one_of(
    step,
    step,
    step,
    st.tuples(st.just("aw_throw"), exc_spec),
    st.just(("aw_close",)),
    st.just(("new_awaiter",)),
    st.tuples(st.just("_throw"), exc_spec),
    st.tuples(st.just("_throw_class"), st.sampled_from(EXC_KINDS)),
    st.tuples(st.just("throw"), exc_spec, st.integers(1, 3)),
    st.just(("close",)),
    st.just(("query",)),
    st.just(("result",)),
    st.just(("exception",)),
)

setup = st.fixed_dictionaries(
    {
        "with_context": st.booleans(),
        "autostart": st.booleans(),
        "start_ctx": st.sampled_from(["none", "self", "other"]),
        "ctx_preset": st.booleans(),
        "wrap": st.sampled_from(["coro", "coro", "gen", "asend"]),
    }
)


# ---------------------------------------------------------------------------
# driver
# ---------------------------------------------------------------------------

CLASSES = {
    "ValueError": ValueError,
    "KeyError": KeyError,
    "GeneratorExit": GeneratorExit,
    "Custom": Custom,
}


def run_program(impl: Any, ops: list[Any], cfg: dict[str, Any], actions: list[Any]) -> list[Any]:
    prog = Program()
    trace: list[Any] = []
    ctx = contextvars.Context() if cfg["with_context"] else None
    other = contextvars.Context()
    if ctx is not None and cfg["ctx_preset"]:
        ctx.run(VAR.set, "preset")
    VAR.set("caller")
    keep: list[Any] = []  # awaiters are never dropped mid-run (GC behaviour is unspecified)

    def snap() -> None:
        trace.append(
            (
                "ctx",
                VAR.get(),
                ctx.get(VAR, "absent") if ctx is not None else None,
                other.get(VAR, "absent"),
            )
        )

    def states() -> tuple[bool, bool, bool]:
        return (cs.done(), cs.pending(), cs.continued())

    coro = interp(ops, prog)
    wrap = cfg.get("wrap", "coro")
    agen = None
    if wrap == "gen":
        target: Any = gen_wrapper(coro)  # a generator-based coroutine
    elif wrap == "asend":
        agen = agen_wrapper(coro)
        target = agen.__anext__()  # an async_generator_asend object
    else:
        target = coro
    if cfg["autostart"]:
        cs = impl(target, context=ctx)
    else:
        cs = impl(target, context=ctx, autostart=False)
        start_ctx = {"none": None, "self": ctx, "other": other}[cfg["start_ctx"]]
        trace.append(("start", cs.start(start_ctx)))
    trace.append(("constructed", states()))
    snap()

    aw: Any = None
    aw_started = False

    def record_awaiter_call(fn: Any, arg: Any, thrown: Any = None) -> None:
        nonlocal aw, aw_started
        try:
            v = fn(arg)
        except StopIteration as e:
            trace.append(("aw-return", sig(e.value)))
            aw, aw_started = None, False
        except BaseException as e:
            trace.append(("aw-raise", exc_sig(e), thrown is not None and e is thrown))
            aw, aw_started = None, False
        else:
            trace.append(("aw-yield", sig(v), v is prog.last_yielded if v is not None else None))
            aw_started = True

    for act in actions:
        kind = act[0]
        if kind in ("aw_throw", "aw_close") and not aw_started:
            kind = "step"
            act = ("step", None)
        if kind == "step":
            if aw is None:
                aw = cs.__await__()
                keep.append(aw)
            if not aw_started:
                record_awaiter_call(aw.send, None)
            else:
                record_awaiter_call(aw.send, act[1])
        elif kind == "aw_throw":
            exc = make_exc(*act[1])
            record_awaiter_call(aw.throw, exc, exc)
        elif kind == "aw_close":
            try:
                aw.close()
                trace.append(("aw-closed",))
            except BaseException as e:
                trace.append(("aw-close-raise", exc_sig(e)))
            aw, aw_started = None, False
        elif kind == "new_awaiter":
            aw, aw_started = None, False
        elif kind == "_throw":
            exc = make_exc(*act[1])
            trace.append(("_throw", cs._throw(exc)))
            if cs.done():
                trace.append(("stored-is-thrown", cs.exception() is exc))
        elif kind == "_throw_class":
            import asyncio

            cls = CLASSES.get(act[1], asyncio.CancelledError)
            trace.append(("_throw_class", cs._throw(cls)))
        elif kind == "throw":
            exc = make_exc(*act[1])
            try:
                r = cs.throw(exc, act[2])
                trace.append(("throw-return", sig(r)))
            except BaseException as e:
                trace.append(("throw-raise", exc_sig(e), e is exc))
        elif kind == "close":
            try:
                cs.close()
                trace.append(("closed",))
            except BaseException as e:
                # whether a failed close() transitions the state is a tolerated
                # difference (§4.17): stop driving here
                trace.append(("close-raise", exc_sig(e)))
                snap()
                break
        elif kind == "query":
            trace.append(("states", states()))
        elif kind == "result":
            try:
                trace.append(("result", sig(cs.result())))
            except BaseException as e:
                trace.append(("result-raise", exc_sig(e)))
        elif kind == "exception":
            try:
                e2 = cs.exception()
                trace.append(("exception", exc_sig(e2) if e2 is not None else None))
            except BaseException as e:
                trace.append(("exception-raise", exc_sig(e)))
        trace.append(("states", states()))
        snap()

    # cleanup (also compared): close the live awaiter, then close until the coroutine
    # has let go (a handler may ignore GeneratorExit a few times)
    if aw is not None and aw_started:
        try:
            aw.close()
            trace.append(("cleanup-aw-closed",))
        except BaseException as e:
            trace.append(("cleanup-aw-close-raise", exc_sig(e)))
    close_until_done(cs.close, trace, "cleanup-cs")
    if agen is not None:
        # the async generator may be parked at its ``yield``: close it synchronously
        closer = agen.aclose()
        try:
            closer.send(None)
        except StopIteration:
            pass
        except BaseException as e:
            # e.g. "already running" when an asend() was abandoned mid-flight; CPython
            # finalises the generator when it is collected
            trace.append(("cleanup-agen-raise", exc_sig(e)))
    if wrap == "gen":
        close_until_done(target.close, trace, "cleanup-gen")
        assert target.gi_frame is None
    close_until_done(coro.close, trace, "cleanup-coro")
    assert coro.cr_frame is None
    snap()
    trace.append(("log", list(prog.log)))
    keep.clear()
    return trace


def close_until_done(close: Any, trace: list[Any], label: str) -> None:
    """Call ``close`` until it succeeds (a handler may ignore GeneratorExit a few times)."""
    for _ in range(50):
        try:
            close()
        except BaseException as e:
            trace.append((label + "-raise", exc_sig(e)))
            continue
        return
    raise AssertionError("never finished closing")  # pragma: no cover


def run_in_fresh_context(impl: Any, *args: Any) -> list[Any]:
    return contextvars.Context().run(run_program, impl, *args)


@pytest.fixture(autouse=True, scope="module")
def _swallow_abandoned_program_errors() -> Any:
    """Programs left suspended are closed when collected, and their cleanup may raise
    (by design of the generated programs): those unraisable errors are swallowed while
    this module runs, and the garbage is collected before it ends, instead of surfacing
    at a random moment in some other test."""
    hook = sys.unraisablehook
    sys.unraisablehook = lambda _: None
    try:
        yield
        gc.collect()
    finally:
        sys.unraisablehook = hook


@settings(
    max_examples=int(os.environ.get("ASYNKIT_DIFF_EXAMPLES", "400")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(ops=programs, cfg=setup, actions=st.lists(action, max_size=12))
def test_native_matches_pure(ops: list[Any], cfg: dict[str, Any], actions: list[Any]) -> None:
    expected = run_in_fresh_context(ac.PyCoroStart, ops, cfg, actions)
    got = run_in_fresh_context(NATIVE, ops, cfg, actions)
    assert got == expected


def test_harness_is_deterministic() -> None:
    ops = [
        ("set", 1),
        ("try", [("yield", 1), ("raise", "ValueError", 2)], "yield_return", True),
        ("finally", [("bare",)], [("set", 2), ("yield", 3)]),
        ("return", 7),
    ]
    cfg = {
        "with_context": True,
        "autostart": True,
        "start_ctx": "none",
        "ctx_preset": True,
        "wrap": "coro",
    }
    actions = [
        ("step", None),
        ("step", 4),
        ("query",),
        ("step", 5),
        ("_throw", ("KeyError", 1)),
        ("result",),
        ("step", None),
        ("step", 6),
        ("step", None),
    ]
    a = run_in_fresh_context(ac.PyCoroStart, ops, cfg, actions)
    b = run_in_fresh_context(ac.PyCoroStart, ops, cfg, actions)
    assert a == b
    c = run_in_fresh_context(NATIVE, ops, cfg, actions)
    assert c == a
