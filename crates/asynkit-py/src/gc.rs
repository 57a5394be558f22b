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

/// A few dead instances of one exact GC type kept for reuse, skipping the allocator and
/// the collector's bookkeeping for objects made and dropped at a high rate. GIL-protected
/// (empty on free-threaded builds).
pub struct FreeList {
    items: [*mut ffi::PyObject; 32],
    len: usize,
}

impl FreeList {
    const CAPACITY: usize = if cfg!(Py_GIL_DISABLED) { 0 } else { 32 };

    pub const fn new() -> Self {
        FreeList {
            items: [std::ptr::null_mut(); 32],
            len: 0,
        }
    }

    /// A kept instance, made an object of `tp` again (one reference, not tracked), or
    /// null when there is none.
    #[inline(always)]
    pub unsafe fn pop(list: *mut FreeList, tp: *mut ffi::PyTypeObject) -> *mut ffi::PyObject {
        let l = &mut *list;
        if l.len == 0 {
            return std::ptr::null_mut();
        }
        l.len -= 1;
        let obj = l.items[l.len];
        ffi::PyObject_Init(obj, tp);
        obj
    }

    /// `tp_dealloc` body for an exact-type instance: untrack, `clear`, then keep it (or
    /// free it when the list is full); releases the type either way.
    #[inline(always)]
    pub unsafe fn dealloc(
        list: *mut FreeList,
        obj: *mut ffi::PyObject,
        clear: unsafe extern "C" fn(*mut ffi::PyObject) -> c_int,
    ) {
        let l = &mut *list;
        if l.len >= Self::CAPACITY {
            return dealloc(obj, clear);
        }
        let tp = ffi::Py_TYPE(obj);
        ffi::PyObject_GC_UnTrack(obj as *mut c_void);
        clear(obj);
        l.items[l.len] = obj;
        l.len += 1;
        ffi::Py_DECREF(tp as *mut ffi::PyObject);
    }
}
