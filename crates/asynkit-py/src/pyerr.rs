//! Raw error-indicator helpers. They never create `PyErr`/`Py<T>` values, so nothing is
//! decref'd lazily through PyO3's reference pool (see PYO3-NOTES, "Deferred decrefs").
use pyo3::ffi;
use std::ffi::CStr;
use std::ptr;

/// Take the raised exception out of the error indicator: a new reference to the
/// normalised instance (traceback attached), or null if none is set.
pub unsafe fn fetch() -> *mut ffi::PyObject {
    #[cfg(Py_3_12)]
    {
        ffi::PyErr_GetRaisedException()
    }
    #[cfg(not(Py_3_12))]
    {
        let (mut t, mut v, mut tb) = (ptr::null_mut(), ptr::null_mut(), ptr::null_mut());
        ffi::PyErr_Fetch(&mut t, &mut v, &mut tb);
        if t.is_null() {
            return ptr::null_mut();
        }
        ffi::PyErr_NormalizeException(&mut t, &mut v, &mut tb);
        if !tb.is_null() && !v.is_null() {
            ffi::PyException_SetTraceback(v, tb);
        }
        ffi::Py_XDECREF(t);
        ffi::Py_XDECREF(tb);
        v
    }
}

/// Raise the exception instance `exc` (reference stolen).
pub unsafe fn restore(exc: *mut ffi::PyObject) {
    #[cfg(Py_3_12)]
    {
        ffi::PyErr_SetRaisedException(exc)
    }
    #[cfg(not(Py_3_12))]
    {
        let t = ffi::Py_TYPE(exc) as *mut ffi::PyObject;
        ffi::Py_INCREF(t);
        let tb = ffi::PyException_GetTraceback(exc);
        ffi::PyErr_Restore(t, exc, tb);
    }
}

/// Set `StopIteration(value)` the way CPython does for a generator's return value: the
/// value is one argument, never unpacked (tuples, exceptions and None stay intact).
pub unsafe fn set_stop_iteration(value: *mut ffi::PyObject) {
    if value == ffi::Py_None() {
        ffi::PyErr_SetNone(ffi::PyExc_StopIteration);
        return;
    }
    let exc = ffi::PyObject_CallOneArg(ffi::PyExc_StopIteration, value);
    if !exc.is_null() {
        restore(exc);
    }
}

/// If the error indicator holds a StopIteration, clear it and return its value (new
/// reference). Otherwise leave the error set and return null.
pub unsafe fn take_stop_iteration_value() -> *mut ffi::PyObject {
    if ffi::PyErr_ExceptionMatches(ffi::PyExc_StopIteration) == 0 {
        return ptr::null_mut();
    }
    let exc = fetch();
    let value = if exc.is_null() {
        ptr::null_mut()
    } else {
        (*(exc as *mut ffi::PyStopIterationObject)).value
    };
    let value = if value.is_null() {
        ffi::Py_None()
    } else {
        value
    };
    ffi::Py_INCREF(value);
    ffi::Py_XDECREF(exc);
    value
}

pub unsafe fn set_string(exc_type: *mut ffi::PyObject, msg: &CStr) {
    ffi::PyErr_SetString(exc_type, msg.as_ptr());
}

/// `TypeError` with a formatted message (the message is built in Rust).
pub unsafe fn type_error(msg: String) -> *mut ffi::PyObject {
    let msg = std::ffi::CString::new(msg).unwrap_or_default();
    ffi::PyErr_SetString(ffi::PyExc_TypeError, msg.as_ptr());
    ptr::null_mut()
}

/// The `__name__`-like type name of an object, for error messages.
pub unsafe fn type_name(obj: *mut ffi::PyObject) -> String {
    let tp = ffi::Py_TYPE(obj);
    CStr::from_ptr((*tp).tp_name).to_string_lossy().into_owned()
}

/// Store a new strong reference to `v` in the static `slot`, releasing the previous one
/// (used by the `configure` functions that hand Python collaborators to the native code).
pub unsafe fn set_static(slot: *mut *mut ffi::PyObject, v: *mut ffi::PyObject) {
    ffi::Py_INCREF(v);
    let old = *slot;
    *slot = v;
    ffi::Py_XDECREF(old);
}
