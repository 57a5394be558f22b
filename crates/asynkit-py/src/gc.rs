//! GC plumbing shared by the hand-made types: traversal and deallocation of instances of
//! heap types (which hold a reference to their type).
use pyo3::ffi;
use std::os::raw::{c_int, c_void};

/// Visit the non-null references in `refs`, then the instance's (heap) type.
#[inline]
pub unsafe fn visit_refs(
    obj: *mut ffi::PyObject,
    refs: &[*mut ffi::PyObject],
    visit: ffi::visitproc,
    arg: *mut c_void,
) -> c_int {
    for &p in refs {
        if !p.is_null() {
            let r = visit(p, arg);
            if r != 0 {
                return r;
            }
        }
    }
    visit(ffi::Py_TYPE(obj) as *mut ffi::PyObject, arg)
}

/// `tp_dealloc` body: untrack, drop the references (`clear`), free, release the type.
#[inline]
pub unsafe fn dealloc(
    obj: *mut ffi::PyObject,
    clear: unsafe extern "C" fn(*mut ffi::PyObject) -> c_int,
) {
    let tp = ffi::Py_TYPE(obj);
    ffi::PyObject_GC_UnTrack(obj as *mut c_void);
    clear(obj);
    let free = (*tp).tp_free.unwrap_or(ffi::PyObject_GC_Del);
    free(obj as *mut c_void);
    ffi::Py_DECREF(tp as *mut ffi::PyObject);
}
