//! `asynkit.coroutine._CCoroStart`: the native base plus the Python `CoroStartMixin`, built
//! as a native heap type.
//!
//! `class _CCoroStart(CoroStartBase, CoroStartMixin): pass` in Python gives the same MRO,
//! but its instances go through `type.__call__` and `subtype_dealloc` on every
//! construction. Built here, with the same bases, a `__dict__` of its own (via
//! `__dictoffset__`) and the vectorcall constructor, the class costs what the base costs.
//!
//! Two more things keep `CoroStart(coro)`, `cs.done()`, `cs.result()` close to a plain
//! `await`:
//! * on 3.11 the class is immutable (like a builtin), so the interpreter calls its
//!   vectorcall constructor directly (PRECALL_BUILTIN_CLASS); dead instances go to a
//!   small free list instead of back to the allocator;
//! * on 3.11, whose method-call specialisation (LOAD_METHOD_WITH_DICT) needs an instance
//!   dict to exist, every instance starts with one shared, always-empty dict; the first
//!   attribute write (or `__dict__` access) gives the instance a dict of its own first.
//!   (3.12+ specialise a missing dict; 3.10 does not specialise.)
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

/// Immutable on 3.11 only: 3.12+ deprecate (3.14 refuses) an immutable type with mutable
/// bases, and the Python mixin is one.
const IMMUTABLE: std::os::raw::c_ulong = if cfg!(all(Py_3_11, not(Py_3_12))) {
    ffi::Py_TPFLAGS_IMMUTABLETYPE
} else {
    0
};

/// The class (exact instances only use the free list and the shared dict).
static mut FULL_TYPE: *mut ffi::PyTypeObject = ptr::null_mut();
static mut FREE: crate::gc::FreeList = crate::gc::FreeList::new();
/// The shared empty instance dict (3.11).
#[cfg(all(Py_3_11, not(Py_3_12)))]
static mut SHARED_DICT: *mut ffi::PyObject = ptr::null_mut();

/// A new instance of `tp` (tracked, fields null), from the free list when `tp` is the class.
#[inline(always)]
pub unsafe fn alloc(tp: *mut ffi::PyTypeObject) -> *mut ffi::PyObject {
    if tp != FULL_TYPE {
        let alloc = (*tp).tp_alloc.unwrap_or(ffi::PyType_GenericAlloc);
        return alloc(tp, 0);
    }
    let mut obj = crate::gc::FreeList::pop(&raw mut FREE, tp);
    if obj.is_null() {
        obj = ffi::PyType_GenericAlloc(tp, 0);
    } else {
        ffi::PyObject_GC_Track(obj as *mut c_void);
    }
    #[cfg(all(Py_3_11, not(Py_3_12)))]
    if !obj.is_null() {
        (*(obj as *mut Full)).dict = ffi::Py_NewRef(SHARED_DICT);
    }
    obj
}

#[inline(always)]
pub fn is_full(tp: *mut ffi::PyTypeObject) -> bool {
    tp == unsafe { FULL_TYPE }
}

/// `_CCoroStart(coro)` for a native coroutine `coro`, started: the constructor's hot path
/// (`corostart::create` with every check it needs already made, and nothing out of line).
#[inline(always)]
pub unsafe fn new_started(coro: *mut ffi::PyObject) -> *mut ffi::PyObject {
    let obj = alloc(FULL_TYPE);
    if obj.is_null() {
        return obj;
    }
    let s = obj as *mut CoroStart;
    (*s).coro = ffi::Py_NewRef(coro);
    (*s).context = ptr::null_mut();
    (*s).value = ptr::null_mut();
    (*s).state = corostart::UNSTARTED;
    let mut out = ptr::null_mut();
    let r = ffi::PyIter_Send(coro, ffi::Py_None(), &mut out);
    corostart::store_outcome(s, r, out);
    obj
}

/// Give an instance holding the shared dict a dict of its own.
#[inline]
unsafe fn own_dict(obj: *mut ffi::PyObject) -> c_int {
    #[cfg(all(Py_3_11, not(Py_3_12)))]
    {
        let f = obj as *mut Full;
        if (*f).dict == SHARED_DICT {
            let d = ffi::PyDict_New();
            if d.is_null() {
                return -1;
            }
            (*f).dict = d;
            ffi::Py_DECREF(SHARED_DICT);
        }
    }
    let _ = obj;
    0
}

#[cfg(all(Py_3_11, not(Py_3_12)))]
unsafe extern "C" fn tp_setattro(
    obj: *mut ffi::PyObject,
    name: *mut ffi::PyObject,
    value: *mut ffi::PyObject,
) -> c_int {
    if own_dict(obj) < 0 {
        return -1;
    }
    ffi::PyObject_GenericSetAttr(obj, name, value)
}

unsafe extern "C" fn get_dict(obj: *mut ffi::PyObject, _: *mut c_void) -> *mut ffi::PyObject {
    if own_dict(obj) < 0 {
        return ptr::null_mut();
    }
    ffi::PyObject_GenericGetDict(obj, ptr::null_mut())
}

unsafe extern "C" fn set_dict(
    obj: *mut ffi::PyObject,
    value: *mut ffi::PyObject,
    _: *mut c_void,
) -> c_int {
    ffi::PyObject_GenericSetDict(obj, value, ptr::null_mut())
}

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

#[inline(always)]
unsafe extern "C" fn tp_clear(obj: *mut ffi::PyObject) -> c_int {
    let f = obj as *mut Full;
    ffi::Py_CLEAR(&mut (*f).dict);
    corostart::clear_fields(obj);
    0
}

unsafe extern "C" fn tp_dealloc(obj: *mut ffi::PyObject) {
    if ffi::Py_TYPE(obj) == FULL_TYPE {
        crate::gc::FreeList::dealloc(&raw mut FREE, obj, tp_clear);
    } else {
        crate::gc::dealloc(obj, tp_clear);
    }
}

/// Create the full class with bases `(CoroStartBase, mixin)`.
pub unsafe fn make(module: *mut ffi::PyObject, mixin: *mut ffi::PyObject) -> *mut ffi::PyObject {
    use crate::pytype::{self, slot};
    #[cfg(all(Py_3_11, not(Py_3_12)))]
    if SHARED_DICT.is_null() {
        SHARED_DICT = ffi::PyDict_New();
        if SHARED_DICT.is_null() {
            return ptr::null_mut();
        }
    }
    let mut slots = pytype::gc_slots(tp_dealloc, tp_traverse, tp_clear).to_vec();
    slots.extend([
        pytype::members_slot(vec![pytype::member(c"__dictoffset__", ffi::Py_T_PYSSIZET, DICT_OFFSET)]),
        // The base's methods again, owned by this class (see `corostart::methods_slot`).
        corostart::methods_slot(),
        slot(
            ffi::Py_tp_doc,
            c"CoroStart(coro, *, context=None, autostart=True)\n--\n\nStart a coroutine eagerly; await the instance to continue it (Rust engine).".as_ptr() as *mut c_void,
        ),
        pytype::getsets_slot(vec![pytype::getset(
            c"__dict__",
            get_dict,
            Some(set_dict),
            ptr::null_mut(),
        )]),
    ]);
    #[cfg(all(Py_3_11, not(Py_3_12)))]
    slots.push(slot(ffi::Py_tp_setattro, tp_setattro as *mut c_void));
    let bases = ffi::PyTuple_Pack(2, corostart::type_object() as *mut ffi::PyObject, mixin);
    if bases.is_null() {
        return ptr::null_mut();
    }
    let flags =
        ffi::Py_TPFLAGS_DEFAULT | ffi::Py_TPFLAGS_BASETYPE | ffi::Py_TPFLAGS_HAVE_GC | IMMUTABLE;
    let tp = pytype::new_type(
        module,
        c"asynkit.coroutine._CCoroStart",
        std::mem::size_of::<Full>(),
        flags,
        slots,
        bases,
    );
    ffi::Py_DECREF(bases);
    if tp.is_null() {
        return ptr::null_mut();
    }
    (*(tp as *mut ffi::PyTypeObject)).tp_vectorcall = Some(corostart::tp_vectorcall);
    FULL_TYPE = tp as *mut ffi::PyTypeObject;
    tp
}
