//! Bound Python methods (`types.MethodType`), which pyo3-ffi does not declare.
use pyo3::ffi;

extern "C" {
    static mut PyMethod_Type: ffi::PyTypeObject;
    fn PyMethod_Function(m: *mut ffi::PyObject) -> *mut ffi::PyObject;
    fn PyMethod_Self(m: *mut ffi::PyObject) -> *mut ffi::PyObject;
}

/// `(function, self)` of a bound method (borrowed), or None for anything else.
#[inline]
pub unsafe fn parts(m: *mut ffi::PyObject) -> Option<(*mut ffi::PyObject, *mut ffi::PyObject)> {
    if ffi::Py_TYPE(m) == &raw mut PyMethod_Type {
        Some((PyMethod_Function(m), PyMethod_Self(m)))
    } else {
        None
    }
}

/// Is `m` the function `func` bound to `slf`?
#[inline]
pub unsafe fn is_bound(
    m: *mut ffi::PyObject,
    func: *mut ffi::PyObject,
    slf: *mut ffi::PyObject,
) -> bool {
    parts(m) == Some((func, slf))
}
