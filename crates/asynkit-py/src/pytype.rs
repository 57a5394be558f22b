//! The hand-made heap types' common plumbing: slot, method, getset and member tables
//! (leaked: a type keeps pointers into them for the life of the process) and
//! `PyType_FromModuleAndSpec`.
use pyo3::ffi;
use std::ffi::CStr;
use std::os::raw::{c_int, c_ulong, c_void};
use std::ptr;

/// `{slot, pfunc}`.
#[inline]
pub fn slot(slot: c_int, pfunc: *mut c_void) -> ffi::PyType_Slot {
    ffi::PyType_Slot { slot, pfunc }
}

/// The three slots of a GC type's instance life cycle.
pub fn gc_slots(
    dealloc: unsafe extern "C" fn(*mut ffi::PyObject),
    traverse: unsafe extern "C" fn(*mut ffi::PyObject, ffi::visitproc, *mut c_void) -> c_int,
    clear: unsafe extern "C" fn(*mut ffi::PyObject) -> c_int,
) -> [ffi::PyType_Slot; 3] {
    [
        slot(ffi::Py_tp_dealloc, dealloc as *mut c_void),
        slot(ffi::Py_tp_traverse, traverse as *mut c_void),
        slot(ffi::Py_tp_clear, clear as *mut c_void),
    ]
}

/// A method definition (`doc` may be empty: no docstring).
pub fn method(
    name: &'static CStr,
    meth: ffi::PyMethodDefPointer,
    flags: c_int,
    doc: &'static CStr,
) -> ffi::PyMethodDef {
    ffi::PyMethodDef {
        ml_name: name.as_ptr(),
        ml_meth: meth,
        ml_flags: flags,
        ml_doc: if doc.is_empty() {
            ptr::null()
        } else {
            doc.as_ptr()
        },
    }
}

/// A `Py_tp_methods` slot for `defs` (the sentinel is added).
pub fn methods_slot(mut defs: Vec<ffi::PyMethodDef>) -> ffi::PyType_Slot {
    defs.push(ffi::PyMethodDef::zeroed());
    slot(ffi::Py_tp_methods, defs.leak().as_mut_ptr() as *mut c_void)
}

/// A read-only (`set` None) or read-write attribute.
pub fn getset(
    name: &'static CStr,
    get: ffi::getter,
    set: Option<ffi::setter>,
    closure: *mut c_void,
) -> ffi::PyGetSetDef {
    ffi::PyGetSetDef {
        name: name.as_ptr(),
        get: Some(get),
        set,
        doc: ptr::null(),
        closure,
    }
}

/// A `Py_tp_getset` slot for `defs` (the sentinel is added).
pub fn getsets_slot(mut defs: Vec<ffi::PyGetSetDef>) -> ffi::PyType_Slot {
    defs.push(ffi::PyGetSetDef {
        name: ptr::null(),
        get: None,
        set: None,
        doc: ptr::null(),
        closure: ptr::null_mut(),
    });
    slot(ffi::Py_tp_getset, defs.leak().as_mut_ptr() as *mut c_void)
}

/// A read-only member of type `type_code` at `offset`.
pub fn member(name: &'static CStr, type_code: c_int, offset: usize) -> ffi::PyMemberDef {
    ffi::PyMemberDef {
        name: name.as_ptr(),
        type_code,
        offset: offset as ffi::Py_ssize_t,
        flags: ffi::Py_READONLY,
        doc: ptr::null(),
    }
}

/// A `Py_tp_members` slot for `defs` (the sentinel is added).
pub fn members_slot(mut defs: Vec<ffi::PyMemberDef>) -> ffi::PyType_Slot {
    defs.push(ffi::PyMemberDef::default());
    slot(ffi::Py_tp_members, defs.leak().as_mut_ptr() as *mut c_void)
}

/// The `__vectorcalloffset__` member plus `tp_call` forwarding to vectorcall, for a type
/// whose instances are called through a vectorcall pointer at `offset`.
pub fn vectorcall_slots(offset: usize) -> [ffi::PyType_Slot; 2] {
    [
        members_slot(vec![member(
            c"__vectorcalloffset__",
            ffi::Py_T_PYSSIZET,
            offset,
        )]),
        slot(ffi::Py_tp_call, ffi::PyVectorcall_Call as *mut c_void),
    ]
}

/// Create the type `name` (fully qualified) in `module`; `bases` may be null. New
/// reference, or null with an exception set.
pub unsafe fn new_type(
    module: *mut ffi::PyObject,
    name: &'static CStr,
    basicsize: usize,
    flags: c_ulong,
    mut slots: Vec<ffi::PyType_Slot>,
    bases: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    slots.push(slot(0, ptr::null_mut()));
    let spec: &'static mut ffi::PyType_Spec = Box::leak(Box::new(ffi::PyType_Spec {
        name: name.as_ptr(),
        basicsize: basicsize as c_int,
        itemsize: 0,
        flags: flags as _,
        slots: slots.leak().as_mut_ptr(),
    }));
    ffi::PyType_FromModuleAndSpec(module, spec, bases)
}
