//! One step of a coroutine (send / throw / close), optionally inside a
//! `contextvars.Context`. The context is always exited, also when the step raised, and
//! the step's error survives the exit.
use crate::pyerr;
use crate::strings;
use pyo3::ffi;
use std::ptr;

pub use ffi::PySendResult;

#[inline]
unsafe fn enter(ctx: *mut ffi::PyObject) -> bool {
    ctx.is_null() || ffi::PyContext_Enter(ctx) == 0
}

/// Exit `ctx` after a step with outcome `r`; returns the outcome to report.
#[inline]
unsafe fn exit(
    ctx: *mut ffi::PyObject,
    r: PySendResult,
    out: &mut *mut ffi::PyObject,
) -> PySendResult {
    if ctx.is_null() {
        return r;
    }
    if matches!(r, PySendResult::PYGEN_ERROR) {
        let exc = pyerr::fetch();
        if ffi::PyContext_Exit(ctx) < 0 {
            ffi::Py_XDECREF(exc);
            return PySendResult::PYGEN_ERROR;
        }
        if !exc.is_null() {
            pyerr::restore(exc);
        }
        return r;
    }
    if ffi::PyContext_Exit(ctx) < 0 {
        ffi::Py_CLEAR(out);
        return PySendResult::PYGEN_ERROR;
    }
    r
}

/// `coro.send(arg)` in `ctx` (null: the current context).
#[inline]
pub unsafe fn send(
    coro: *mut ffi::PyObject,
    ctx: *mut ffi::PyObject,
    arg: *mut ffi::PyObject,
    out: &mut *mut ffi::PyObject,
) -> PySendResult {
    if !enter(ctx) {
        return PySendResult::PYGEN_ERROR;
    }
    let r = ffi::PyIter_Send(coro, arg, out);
    exit(ctx, r, out)
}

/// `coro.throw(exc)` in `ctx`; a StopIteration coming out is the coroutine's return.
pub unsafe fn throw(
    coro: *mut ffi::PyObject,
    ctx: *mut ffi::PyObject,
    exc: *mut ffi::PyObject,
    out: &mut *mut ffi::PyObject,
) -> PySendResult {
    if !enter(ctx) {
        return PySendResult::PYGEN_ERROR;
    }
    let res = ffi::PyObject_CallMethodOneArg(coro, strings::throw(), exc);
    let r = if !res.is_null() {
        *out = res;
        PySendResult::PYGEN_NEXT
    } else {
        let v = pyerr::take_stop_iteration_value();
        if v.is_null() {
            PySendResult::PYGEN_ERROR
        } else {
            *out = v;
            PySendResult::PYGEN_RETURN
        }
    };
    exit(ctx, r, out)
}

/// `coro.close()` in `ctx`; returns null with an exception set on failure.
pub unsafe fn close(coro: *mut ffi::PyObject, ctx: *mut ffi::PyObject) -> *mut ffi::PyObject {
    if !enter(ctx) {
        return ptr::null_mut();
    }
    let mut out = ffi::PyObject_CallMethodNoArgs(coro, strings::close());
    let r = if out.is_null() {
        PySendResult::PYGEN_ERROR
    } else {
        PySendResult::PYGEN_RETURN
    };
    match exit(ctx, r, &mut out) {
        PySendResult::PYGEN_ERROR => ptr::null_mut(),
        _ => out,
    }
}

/// The outcome of a send as a method call's result: the yielded value, or null with
/// `StopIteration(value)` set (nothing set for `__next__` returning `None`), or the error.
pub unsafe fn as_method_result(
    r: PySendResult,
    out: *mut ffi::PyObject,
    iternext: bool,
) -> *mut ffi::PyObject {
    match r {
        PySendResult::PYGEN_NEXT => out,
        PySendResult::PYGEN_RETURN => {
            if !(iternext && out == ffi::Py_None()) {
                pyerr::set_stop_iteration(out);
            }
            ffi::Py_DECREF(out);
            ptr::null_mut()
        }
        PySendResult::PYGEN_ERROR => ptr::null_mut(),
    }
}

/// `throw()`'s METH_FASTCALL arguments normalised to one exception instance.
pub unsafe fn throw_args(
    args: *mut *mut ffi::PyObject,
    nargs: ffi::Py_ssize_t,
) -> *mut ffi::PyObject {
    crate::awaiter::normalise_throw(std::slice::from_raw_parts(args, nargs.max(0) as usize))
}

/// `tp_iter` / `am_await` of objects that are their own iterator.
pub unsafe extern "C" fn self_iter(obj: *mut ffi::PyObject) -> *mut ffi::PyObject {
    ffi::Py_NewRef(obj)
}
