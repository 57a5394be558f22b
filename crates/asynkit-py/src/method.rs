//! Bound Python methods (`types.MethodType`), which pyo3-ffi does not declare.
use pyo3::ffi;

extern "C" {
    static mut PyMethod_Type: ffi::PyTypeObject;
    fn PyMethod_Function(m: *mut ffi::PyObject) -> *mut ffi::PyObject;
    fn PyMethod_Self(m: *mut ffi::PyObject) -> *mut ffi::PyObject;
    // Exported by 3.10-3.13 (what LOAD_METHOD does); not relied on for 3.14+.
    #[cfg(not(Py_3_14))]
    fn _PyObject_GetMethod(
        obj: *mut ffi::PyObject,
        name: *mut ffi::PyObject,
        method: *mut *mut ffi::PyObject,
    ) -> std::os::raw::c_int;
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

/// Does `obj.name` give the function `func` bound to `obj` (found on the type, not
/// shadowed by the instance)? Asked without making the bound method where the
/// interpreter allows. `None`: the lookup raised (exception set).
pub unsafe fn resolves_to(
    obj: *mut ffi::PyObject,
    name: *mut ffi::PyObject,
    func: *mut ffi::PyObject,
) -> Option<bool> {
    #[cfg(not(Py_3_14))]
    {
        let mut m = std::ptr::null_mut();
        let unbound = _PyObject_GetMethod(obj, name, &mut m);
        if m.is_null() {
            return None;
        }
        let r = if unbound != 0 {
            m == func
        } else {
            is_bound(m, func, obj)
        };
        ffi::Py_DECREF(m);
        Some(r)
    }
    #[cfg(Py_3_14)]
    {
        let m = ffi::PyObject_GetAttr(obj, name);
        if m.is_null() {
            return None;
        }
        let r = is_bound(m, func, obj);
        ffi::Py_DECREF(m);
        Some(r)
    }
}

/// Is `obj.name` something other than what `type(obj).name` gives (a method bound to
/// `obj`, or the same object), i.e. shadowed by an instance attribute? Functions on the
/// type are answered without making a bound method where the interpreter allows.
/// `None`: a lookup raised (exception set).
pub unsafe fn shadowed(obj: *mut ffi::PyObject, name: *mut ffi::PyObject) -> Option<bool> {
    #[cfg(not(Py_3_14))]
    let m = {
        let mut m = std::ptr::null_mut();
        let unbound = _PyObject_GetMethod(obj, name, &mut m);
        if m.is_null() {
            return None;
        }
        if unbound != 0 {
            ffi::Py_DECREF(m);
            return Some(false); // a method found on the type, not in the instance
        }
        m
    };
    #[cfg(Py_3_14)]
    let m = {
        let m = ffi::PyObject_GetAttr(obj, name);
        if m.is_null() {
            return None;
        }
        m
    };
    let c = ffi::PyObject_GetAttr(ffi::Py_TYPE(obj) as *mut ffi::PyObject, name);
    let r = if c.is_null() {
        ffi::PyErr_Clear();
        true // only the instance has it
    } else {
        let same = m == c || is_bound(m, c, obj);
        ffi::Py_DECREF(c);
        !same
    };
    ffi::Py_DECREF(m);
    Some(r)
}
