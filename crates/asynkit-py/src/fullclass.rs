//! `asynkit.coroutine._CCoroStart`: the native base plus the Python `CoroStartMixin`, built
//! as a native heap type.
//!
//! `class _CCoroStart(CoroStartBase, CoroStartMixin): pass` in Python gives the same MRO,
//! but its instances go through `type.__call__` and `subtype_dealloc` on every
//! construction. Built here, with the same bases, a `__dict__` of its own (via
//! `__dictoffset__`) and the vectorcall constructor, the class costs what the base costs.
use crate::corostart::{self, CoroStart};
use pyo3::ffi;
use std::os::raw::{c_int, c_void};
use std::ptr;

#[repr(C)]
struct Full {
    base: CoroStart,
    dict: *mut ffi::PyObject,
}

const DICT_OFFSET: usize = std::mem::offset_of!(Full, dict);

unsafe extern "C" fn tp_traverse(
    obj: *mut ffi::PyObject,
    visit: ffi::visitproc,
    arg: *mut c_void,
) -> c_int {
    let f = obj as *mut Full;
    if !(*f).dict.is_null() {
        let r = visit((*f).dict, arg);
        if r != 0 {
            return r;
        }
    }
    corostart::traverse_fields(obj, visit, arg)
}

unsafe extern "C" fn tp_clear(obj: *mut ffi::PyObject) -> c_int {
    let f = obj as *mut Full;
    ffi::Py_CLEAR(&mut (*f).dict);
    corostart::clear_fields(obj);
    0
}

unsafe extern "C" fn tp_dealloc(obj: *mut ffi::PyObject) {
    crate::gc::dealloc(obj, tp_clear);
}

/// Create the full class with bases `(CoroStartBase, mixin)`.
pub unsafe fn make(module: *mut ffi::PyObject, mixin: *mut ffi::PyObject) -> *mut ffi::PyObject {
    let members: &'static mut [ffi::PyMemberDef] = Box::leak(Box::new([
        ffi::PyMemberDef {
            name: c"__dictoffset__".as_ptr(),
            type_code: ffi::Py_T_PYSSIZET,
            offset: DICT_OFFSET as ffi::Py_ssize_t,
            flags: ffi::Py_READONLY,
            doc: ptr::null(),
        },
        ffi::PyMemberDef::default(),
    ]));
    let slots: &'static mut [ffi::PyType_Slot] = Box::leak(Box::new([
        ffi::PyType_Slot { slot: ffi::Py_tp_dealloc, pfunc: tp_dealloc as *mut c_void },
        ffi::PyType_Slot { slot: ffi::Py_tp_traverse, pfunc: tp_traverse as *mut c_void },
        ffi::PyType_Slot { slot: ffi::Py_tp_clear, pfunc: tp_clear as *mut c_void },
        ffi::PyType_Slot { slot: ffi::Py_tp_members, pfunc: members.as_mut_ptr() as *mut c_void },
        // The base's methods again, owned by this class (see `corostart::method_defs`).
        ffi::PyType_Slot {
            slot: ffi::Py_tp_methods,
            pfunc: corostart::method_defs().as_mut_ptr() as *mut c_void,
        },
        ffi::PyType_Slot {
            slot: ffi::Py_tp_doc,
            pfunc: c"CoroStart(coro, *, context=None, autostart=True)\n--\n\nStart a coroutine eagerly; await the instance to continue it (Rust engine).".as_ptr() as *mut c_void,
        },
        ffi::PyType_Slot { slot: 0, pfunc: ptr::null_mut() },
    ]));
    let spec: &'static mut ffi::PyType_Spec = Box::leak(Box::new(ffi::PyType_Spec {
        name: c"asynkit.coroutine._CCoroStart".as_ptr(),
        basicsize: std::mem::size_of::<Full>() as c_int,
        itemsize: 0,
        flags: (ffi::Py_TPFLAGS_DEFAULT | ffi::Py_TPFLAGS_BASETYPE | ffi::Py_TPFLAGS_HAVE_GC) as _,
        slots: slots.as_mut_ptr(),
    }));
    let bases = ffi::PyTuple_Pack(2, corostart::type_object() as *mut ffi::PyObject, mixin);
    if bases.is_null() {
        return ptr::null_mut();
    }
    let tp = ffi::PyType_FromModuleAndSpec(module, spec, bases);
    ffi::Py_DECREF(bases);
    if tp.is_null() {
        return ptr::null_mut();
    }
    (*(tp as *mut ffi::PyTypeObject)).tp_vectorcall = Some(corostart::tp_vectorcall);
    tp
}
