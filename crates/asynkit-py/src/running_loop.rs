//! The running event loop, as `asyncio.get_running_loop()` returns it.
//!
//! On 3.10/3.11 the C `get_running_loop` calls `getpid()` on every call (fork safety),
//! a system call that costs more than the rest of an eager start on some machines. Here
//! the same holder object is read from the thread-state dict and compared with a pid
//! cached at import and refreshed in forked children (`os.register_at_fork`). Anything
//! unexpected (no C `_asyncio`, another holder type) goes to the real function. 3.12+
//! keeps the loop in the thread state and needs none of this.
use pyo3::ffi;
use std::ptr;

static mut GET_RUNNING_LOOP: *mut ffi::PyObject = ptr::null_mut();
#[cfg(not(Py_3_12))]
static mut KEY: *mut ffi::PyObject = ptr::null_mut();
#[cfg(not(Py_3_12))]
static mut HOLDER_TYPE: *mut ffi::PyTypeObject = ptr::null_mut();
#[cfg(not(Py_3_12))]
static mut PID: i32 = 0;

/// `PyRunningLoopHolder` of CPython 3.10/3.11's `_asynciomodule.c`.
#[cfg(not(Py_3_12))]
#[repr(C)]
struct Holder {
    ob_base: ffi::PyObject,
    rl_loop: *mut ffi::PyObject,
    rl_pid: i32,
}

pub unsafe fn configure(get_running_loop: *mut ffi::PyObject) -> bool {
    ffi::Py_INCREF(get_running_loop);
    let old = GET_RUNNING_LOOP;
    GET_RUNNING_LOOP = get_running_loop;
    ffi::Py_XDECREF(old);
    #[cfg(not(Py_3_12))]
    {
        if KEY.is_null() {
            KEY = ffi::PyUnicode_InternFromString(c"__asyncio_running_event_loop__".as_ptr());
            if KEY.is_null() {
                return false;
            }
        }
        after_fork();
    }
    true
}

/// Refresh the cached pid (called in a forked child).
pub fn after_fork() {
    #[cfg(not(Py_3_12))]
    unsafe {
        PID = std::process::id() as i32;
    }
}

#[cfg(not(Py_3_12))]
#[inline]
unsafe fn fast() -> *mut ffi::PyObject {
    if KEY.is_null() {
        return ptr::null_mut();
    }
    let dict = ffi::PyThreadState_GetDict();
    if dict.is_null() {
        return ptr::null_mut();
    }
    let holder = ffi::PyDict_GetItemWithError(dict, KEY);
    if holder.is_null() {
        ffi::PyErr_Clear();
        return ptr::null_mut();
    }
    let tp = ffi::Py_TYPE(holder);
    if tp != HOLDER_TYPE {
        let name = std::ffi::CStr::from_ptr((*tp).tp_name);
        let known = name == c"_RunningLoopHolder" || name == c"_asyncio._RunningLoopHolder";
        if !known || ((*tp).tp_basicsize as usize) < std::mem::size_of::<Holder>() {
            return ptr::null_mut();
        }
        HOLDER_TYPE = tp;
    }
    let h = holder as *mut Holder;
    let lp = (*h).rl_loop;
    if lp.is_null() || lp == ffi::Py_None() || (*h).rl_pid != PID {
        return ptr::null_mut();
    }
    ffi::Py_INCREF(lp);
    lp
}

/// New reference to the running loop, or null with RuntimeError set.
#[inline]
pub unsafe fn get() -> *mut ffi::PyObject {
    #[cfg(not(Py_3_12))]
    {
        let lp = fast();
        if !lp.is_null() {
            return lp;
        }
    }
    ffi::PyObject_CallNoArgs(GET_RUNNING_LOOP)
}

/// `get_running_loop()` for Python callers (METH_NOARGS).
pub unsafe extern "C" fn py_get_running_loop(
    _m: *mut ffi::PyObject,
    _: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    if GET_RUNNING_LOOP.is_null() {
        crate::pyerr::set_string(
            ffi::PyExc_RuntimeError,
            c"asynkit._asynkit.get_running_loop is not configured",
        );
        return ptr::null_mut();
    }
    get()
}
