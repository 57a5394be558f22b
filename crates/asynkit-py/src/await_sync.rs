//! `await_sync(coro)` when the native CoroStart is the active engine: one `PyIter_Send`
//! and no CoroStart object unless the coroutine suspends (then the Python glue aborts
//! and closes it). If `asynkit.coroutine.CoroStart` has been rebound, the call goes to
//! the reference `await_sync`, which builds `CoroStart[T](coro)` itself.
use crate::corostart;
use crate::strings;
use pyo3::ffi;
use std::ptr;

static mut GLOBALS: *mut ffi::PyObject = ptr::null_mut();
static mut NATIVE_CLASS: *mut ffi::PyObject = ptr::null_mut();
static mut PY_AWAIT_SYNC: *mut ffi::PyObject = ptr::null_mut();
static mut SUSPENDED: *mut ffi::PyObject = ptr::null_mut();

pub unsafe fn configure(
    globals: *mut ffi::PyObject,
    native_class: *mut ffi::PyObject,
    py_await_sync: *mut ffi::PyObject,
    suspended: *mut ffi::PyObject,
) {
    for (slot, v) in [
        (&raw mut GLOBALS, globals),
        (&raw mut NATIVE_CLASS, native_class),
        (&raw mut PY_AWAIT_SYNC, py_await_sync),
        (&raw mut SUSPENDED, suspended),
    ] {
        crate::pyerr::set_static(slot, v);
    }
}

pub unsafe extern "C" fn await_sync(
    _m: *mut ffi::PyObject,
    coro: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    if GLOBALS.is_null() {
        crate::pyerr::set_string(
            ffi::PyExc_RuntimeError,
            c"asynkit._asynkit.await_sync is not configured",
        );
        return ptr::null_mut();
    }
    let current = ffi::PyDict_GetItemWithError(GLOBALS, strings::corostart());
    if current != NATIVE_CLASS {
        if current.is_null() && !ffi::PyErr_Occurred().is_null() {
            return ptr::null_mut();
        }
        return ffi::PyObject_CallOneArg(PY_AWAIT_SYNC, coro);
    }
    let driver = corostart::resolve_driver(coro);
    if driver.is_null() {
        return ptr::null_mut();
    }
    let mut out = ptr::null_mut();
    match ffi::PyIter_Send(driver, ffi::Py_None(), &mut out) {
        ffi::PySendResult::PYGEN_RETURN => {
            ffi::Py_DECREF(driver);
            out
        }
        ffi::PySendResult::PYGEN_ERROR => {
            ffi::Py_DECREF(driver);
            ptr::null_mut()
        }
        ffi::PySendResult::PYGEN_NEXT => {
            let start =
                corostart::create_pending(NATIVE_CLASS as *mut ffi::PyTypeObject, driver, out);
            if start.is_null() {
                return ptr::null_mut();
            }
            let r = ffi::PyObject_CallOneArg(SUSPENDED, start);
            ffi::Py_DECREF(start);
            r
        }
    }
}
