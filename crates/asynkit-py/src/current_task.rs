//! `asyncio.current_task`, as the native paths ask it.
//!
//! The function is looked up on the `asyncio` module at every call, since it may be
//! patched. While it is still the stock function the package saw at import, and that
//! function is `_current_tasks.get(loop)` (3.10-3.13, where `asyncio.tasks._current_tasks`
//! is the dict it reads), the dict is read directly: on 3.10/3.11 that skips a Python
//! frame. Anything else (3.14, a patched function) is called.
use pyo3::ffi;
use std::ptr;

static mut ASYNCIO: *mut ffi::PyObject = ptr::null_mut();
static mut STOCK: *mut ffi::PyObject = ptr::null_mut();
/// `asyncio.tasks._current_tasks` when it is a dict, else null.
static mut CURRENT_TASKS: *mut ffi::PyObject = ptr::null_mut();
static mut S_CURRENT_TASK: *mut ffi::PyObject = ptr::null_mut();

/// `asyncio`, the stock `asyncio.current_task` and `asyncio.tasks._current_tasks` (or
/// None). False with an exception set.
pub unsafe fn configure(
    asyncio: *mut ffi::PyObject,
    stock: *mut ffi::PyObject,
    current_tasks: *mut ffi::PyObject,
) -> bool {
    if S_CURRENT_TASK.is_null() {
        S_CURRENT_TASK = ffi::PyUnicode_InternFromString(c"current_task".as_ptr());
        if S_CURRENT_TASK.is_null() {
            return false;
        }
    }
    crate::pyerr::set_static(&raw mut ASYNCIO, asyncio);
    crate::pyerr::set_static(&raw mut STOCK, stock);
    let dict = if ffi::PyDict_CheckExact(current_tasks) != 0 {
        current_tasks
    } else {
        ptr::null_mut()
    };
    let old = CURRENT_TASKS;
    CURRENT_TASKS = ffi::Py_XNewRef(dict);
    ffi::Py_XDECREF(old);
    true
}

/// `asyncio.current_task(lp)` (`with_loop`) or `asyncio.current_task()`, where `lp` is the
/// running loop: a new reference (None when there is no current task), or null with an
/// exception set.
pub unsafe fn get(lp: *mut ffi::PyObject, with_loop: bool) -> *mut ffi::PyObject {
    if ASYNCIO.is_null() {
        crate::pyerr::set_string(
            ffi::PyExc_RuntimeError,
            c"asynkit: current_task is not configured",
        );
        return ptr::null_mut();
    }
    let f = ffi::PyObject_GetAttr(ASYNCIO, S_CURRENT_TASK);
    if f.is_null() {
        return f;
    }
    if f == STOCK && !CURRENT_TASKS.is_null() {
        ffi::Py_DECREF(f);
        let t = ffi::PyDict_GetItemWithError(CURRENT_TASKS, lp);
        if t.is_null() {
            return if ffi::PyErr_Occurred().is_null() {
                ffi::Py_NewRef(ffi::Py_None())
            } else {
                ptr::null_mut()
            };
        }
        return ffi::Py_NewRef(t);
    }
    let r = if with_loop {
        ffi::PyObject_CallOneArg(f, lp)
    } else {
        ffi::PyObject_CallNoArgs(f)
    };
    ffi::Py_DECREF(f);
    r
}
