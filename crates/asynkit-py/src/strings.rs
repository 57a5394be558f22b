//! Interned method/attribute names, created once at module init.
use pyo3::ffi;
use std::ptr;

static mut THROW: *mut ffi::PyObject = ptr::null_mut();
static mut CLOSE: *mut ffi::PyObject = ptr::null_mut();
static mut CONTEXT: *mut ffi::PyObject = ptr::null_mut();
static mut CORO: *mut ffi::PyObject = ptr::null_mut();
static mut AUTOSTART: *mut ffi::PyObject = ptr::null_mut();
static mut COROSTART: *mut ffi::PyObject = ptr::null_mut();
static mut LOOP: *mut ffi::PyObject = ptr::null_mut();
static mut NAME: *mut ffi::PyObject = ptr::null_mut();

pub unsafe fn init() -> bool {
    unsafe fn intern(s: &std::ffi::CStr) -> *mut ffi::PyObject {
        ffi::PyUnicode_InternFromString(s.as_ptr())
    }
    THROW = intern(c"throw");
    CLOSE = intern(c"close");
    CONTEXT = intern(c"context");
    CORO = intern(c"coro");
    AUTOSTART = intern(c"autostart");
    COROSTART = intern(c"CoroStart");
    LOOP = intern(c"loop");
    NAME = intern(c"name");
    [
        THROW, CLOSE, CONTEXT, CORO, AUTOSTART, COROSTART, LOOP, NAME,
    ]
    .iter()
    .all(|p| !p.is_null())
}

#[inline]
pub fn throw() -> *mut ffi::PyObject {
    unsafe { THROW }
}
#[inline]
pub fn close() -> *mut ffi::PyObject {
    unsafe { CLOSE }
}
#[inline]
pub fn context() -> *mut ffi::PyObject {
    unsafe { CONTEXT }
}
#[inline]
pub fn coro() -> *mut ffi::PyObject {
    unsafe { CORO }
}
#[inline]
pub fn autostart() -> *mut ffi::PyObject {
    unsafe { AUTOSTART }
}
#[inline]
pub fn corostart() -> *mut ffi::PyObject {
    unsafe { COROSTART }
}

#[inline]
pub fn loop_() -> *mut ffi::PyObject {
    unsafe { LOOP }
}

#[inline]
pub fn name() -> *mut ffi::PyObject {
    unsafe { NAME }
}

/// The `name=` and `context=` values of a task-factory call (null when absent), or None
/// when a keyword other than those and `also` (may be null) was passed.
pub unsafe fn name_context(
    kwvalues: *const *mut ffi::PyObject,
    kwnames: *mut ffi::PyObject,
    also: *mut ffi::PyObject,
) -> Option<(*mut ffi::PyObject, *mut ffi::PyObject)> {
    let (mut name, mut context) = (ptr::null_mut(), ptr::null_mut());
    let nkw = if kwnames.is_null() {
        0
    } else {
        ffi::PyTuple_GET_SIZE(kwnames) as usize
    };
    for i in 0..nkw {
        let k = ffi::PyTuple_GET_ITEM(kwnames, i as ffi::Py_ssize_t);
        if kw_is(k, NAME) {
            name = *kwvalues.add(i);
        } else if kw_is(k, CONTEXT) {
            context = *kwvalues.add(i);
        } else if also.is_null() || !kw_is(k, also) {
            return None;
        }
    }
    Some((name, context))
}

/// Is the keyword `kw` equal to the interned name `name`? (pointer first, then value)
#[inline]
pub unsafe fn kw_is(kw: *mut ffi::PyObject, name: *mut ffi::PyObject) -> bool {
    kw == name || ffi::PyUnicode_Compare(kw, name) == 0
}

/// The one argument `coro` of `fname(coro)`, given positionally or by keyword (borrowed),
/// or null with the TypeError Python's own functions raise.
pub unsafe fn sole_coro(
    fname: &str,
    args: *const *mut ffi::PyObject,
    nargsf: ffi::Py_ssize_t,
    kwnames: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    let nargs = ffi::PyVectorcall_NARGS(nargsf as usize) as usize;
    let nkw = if kwnames.is_null() {
        0
    } else {
        ffi::PyTuple_GET_SIZE(kwnames) as usize
    };
    if nargs + nkw == 1 {
        if nkw == 0 {
            return *args;
        }
        let k = ffi::PyTuple_GET_ITEM(kwnames, 0);
        if kw_is(k, coro()) {
            return *args;
        }
        let name = std::ffi::CStr::from_ptr(ffi::PyUnicode_AsUTF8(k)).to_string_lossy();
        return crate::pyerr::type_error(format!(
            "{fname}() got an unexpected keyword argument '{name}'"
        ));
    }
    if nargs == 0 && nkw == 0 {
        return crate::pyerr::type_error(format!(
            "{fname}() missing 1 required positional argument: 'coro'"
        ));
    }
    if nargs == 1 {
        return crate::pyerr::type_error(format!(
            "{fname}() got multiple values for argument 'coro'"
        ));
    }
    crate::pyerr::type_error(format!(
        "{fname}() takes 1 positional argument but {} were given",
        nargs
    ))
}
