//! `asynkit._asynkit.PosPriorityQueue`: the Python face of
//! `asynkit_core::prio_queue::PosPriorityQueue` (priority.md §8–§9, §12).
//!
//! Same interface and observable behaviour as the reference `PyPosPriorityQueue` in
//! `asynkit/experimental/priority.py` (which stays the reference and the
//! `ASYNKIT_DISABLE_CEXT=1` engine). The loop drives it through `append`, `popleft`,
//! `len()`, `bool()` and `clear()`.
//!
//! # Interior state and the GIL
//!
//! The class is `frozen`; its state lives in `UnsafeCell`s. Every access happens with the
//! GIL held (a GIL build is required, see the `compile_error!` below), and **no Rust
//! reference into the state is alive while Python code can run**: `get_priority`, key
//! predicates, `==`, `random.random()`, `do_maintenance` and every decref (which may run
//! `__del__`) happen outside the short borrow blocks. Items leaving the queue are moved
//! out first and dropped afterwards. Scans that call Python (`find`, `remove`,
//! `reschedule`, `reschedule_all`) work on a snapshot of `(EntryId, item)` pairs and act
//! on the entry ids afterwards, skipping entries that vanished meanwhile.
//!
//! # Priorities
//!
//! The core stores `f64`. The reference compares `base_priority + priority_boost` (boost
//! a float, 0.0 by default) with `<`, i.e. it compares floats for every int/float/bool/
//! Fraction priority; converting with `float()` at insertion is therefore exact for
//! them. Priorities that are not real numbers are rejected with `TypeError` at insertion
//! (the reference fails later, at the first comparison). `base_priority` read back
//! through `_pq.items()` is a float.
//!
//! # The default priority function's fast path
//!
//! When `get_priority` is the loop's default bound method
//! (`PrioritySchedulingMixin.get_priority`, handed over by `_configure_prio_queue`),
//! `append` reads the priority itself, mirroring that method: the task is
//! `handle._callback.__self__` if that is an instance of `TaskTypes` (else 0.0); for a
//! `PriorityTask` subclass with `_cacheable` true it uses `_priority_value` when
//! `_owned_locks` is empty, else `_ep_cache` unless it is `_UNSET` (exactly what
//! `PriorityTask.effective_priority()` returns for such classes); otherwise it calls
//! `task.effective_priority()` if present (0.0 if not). If the loop's
//! `task_from_handle` is not the default one, the bound method is called instead.
//! (An `effective_priority` assigned on a *task instance* of a cacheable class is not
//! consulted by the fast path.)
#![allow(clippy::missing_safety_doc)]

#[cfg(Py_GIL_DISABLED)]
compile_error!("PosPriorityQueue keeps interior state that relies on the GIL");

use std::cell::{Cell, UnsafeCell};
use std::collections::HashMap;
use std::os::raw::c_int;
use std::ptr;

use asynkit_core::indexed_heap::EntryId;
use asynkit_core::prio_queue::{
    MaintenanceDue, PosPriorityQueue as CoreQueue, PriorityValue as CoreValue, CLASS_IMMEDIATE,
};
use pyo3::exceptions::{PyIndexError, PyTypeError, PyValueError};
use pyo3::ffi;
use pyo3::gc::PyVisit;
use pyo3::prelude::*;
use pyo3::types::{PyList, PyTuple};
use pyo3::{intern, Borrowed, PyTraverseError};

type Queue = CoreQueue<Py<PyAny>>;

// ---------------------------------------------------------------------------------------
// Configuration (set once by `_configure_prio_queue`) and interned names
// ---------------------------------------------------------------------------------------

static mut GET_PRIORITY_FUNC: *mut ffi::PyObject = ptr::null_mut();
static mut TASK_FROM_HANDLE: *mut ffi::PyObject = ptr::null_mut();
static mut TASK_TYPES: *mut ffi::PyObject = ptr::null_mut();
static mut PRIORITY_TASK: *mut ffi::PyObject = ptr::null_mut();
static mut UNSET: *mut ffi::PyObject = ptr::null_mut();
static mut RANDOM_MODULE: *mut ffi::PyObject = ptr::null_mut();

static mut S_CALLBACK: *mut ffi::PyObject = ptr::null_mut();
static mut S_SELF: *mut ffi::PyObject = ptr::null_mut();
static mut S_TASK_FROM_HANDLE: *mut ffi::PyObject = ptr::null_mut();
static mut S_CACHEABLE: *mut ffi::PyObject = ptr::null_mut();
static mut S_OWNED_LOCKS: *mut ffi::PyObject = ptr::null_mut();
static mut S_PRIORITY_VALUE: *mut ffi::PyObject = ptr::null_mut();
static mut S_EP_CACHE: *mut ffi::PyObject = ptr::null_mut();
static mut S_EFFECTIVE_PRIORITY: *mut ffi::PyObject = ptr::null_mut();
static mut S_RANDOM: *mut ffi::PyObject = ptr::null_mut();

/// Intern the attribute names. Called from module init; false with an error set.
pub unsafe fn init() -> bool {
    unsafe fn intern_str(s: &std::ffi::CStr) -> *mut ffi::PyObject {
        ffi::PyUnicode_InternFromString(s.as_ptr())
    }
    S_CALLBACK = intern_str(c"_callback");
    S_SELF = intern_str(c"__self__");
    S_TASK_FROM_HANDLE = intern_str(c"task_from_handle");
    S_CACHEABLE = intern_str(c"_cacheable");
    S_OWNED_LOCKS = intern_str(c"_owned_locks");
    S_PRIORITY_VALUE = intern_str(c"_priority_value");
    S_EP_CACHE = intern_str(c"_ep_cache");
    S_EFFECTIVE_PRIORITY = intern_str(c"effective_priority");
    S_RANDOM = intern_str(c"random");
    [
        S_CALLBACK,
        S_SELF,
        S_TASK_FROM_HANDLE,
        S_CACHEABLE,
        S_OWNED_LOCKS,
        S_PRIORITY_VALUE,
        S_EP_CACHE,
        S_EFFECTIVE_PRIORITY,
        S_RANDOM,
    ]
    .iter()
    .all(|p| !p.is_null())
}

unsafe fn replace_static(slot: *mut *mut ffi::PyObject, value: *mut ffi::PyObject) {
    ffi::Py_INCREF(value);
    let old = *slot;
    *slot = value;
    ffi::Py_XDECREF(old);
}

/// Hand the queue the loop class mixin whose default `get_priority` the fast path
/// mirrors (`PrioritySchedulingMixin`), and `TaskTypes`, `PriorityTask`, `_UNSET`.
#[pyfunction]
pub fn _configure_prio_queue(
    mixin: &Bound<'_, PyAny>,
    task_types: &Bound<'_, PyAny>,
    priority_task: &Bound<'_, PyAny>,
    unset: &Bound<'_, PyAny>,
) -> PyResult<()> {
    let py = mixin.py();
    let type_error = |arg: &str, what: &str| {
        PyTypeError::new_err(format!(
            "_configure_prio_queue() argument '{arg}' must be {what}"
        ))
    };
    unsafe {
        if ffi::PyType_Check(mixin.as_ptr()) == 0 {
            return Err(type_error("mixin", "a class"));
        }
        if ffi::PyType_Check(priority_task.as_ptr()) == 0 {
            return Err(type_error("priority_task", "a class"));
        }
        if ffi::PyTuple_Check(task_types.as_ptr()) == 0 {
            return Err(type_error("task_types", "a tuple of classes"));
        }
        let ns = mixin.getattr(intern!(py, "__dict__"))?;
        let get_priority = ns.get_item("get_priority")?;
        let tfh = mixin.getattr("task_from_handle")?;
        let random = py.import("random")?;
        let plain = task_types.cast::<PyTuple>()?.iter().all(|c| {
            ffi::PyType_Check(c.as_ptr()) != 0
                && ffi::Py_TYPE(c.as_ptr()) == &raw mut ffi::PyType_Type
        });
        replace_static(&raw mut GET_PRIORITY_FUNC, get_priority.as_ptr());
        replace_static(&raw mut TASK_FROM_HANDLE, tfh.as_ptr());
        replace_static(&raw mut TASK_TYPES, task_types.as_ptr());
        replace_static(&raw mut PRIORITY_TASK, priority_task.as_ptr());
        replace_static(&raw mut UNSET, unset.as_ptr());
        replace_static(&raw mut RANDOM_MODULE, random.as_ptr());
        TASK_TYPES_PLAIN = plain;
        KIND_CACHE = [KindCache {
            tp: ptr::null_mut(),
            tag: 0,
            kind: 0,
        }; 2];
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Raw helpers
// ---------------------------------------------------------------------------------------

#[cfg(not(Py_3_13))]
extern "C" {
    fn _PyObject_LookupAttr(
        obj: *mut ffi::PyObject,
        name: *mut ffi::PyObject,
        result: *mut *mut ffi::PyObject,
    ) -> c_int;
}

extern "C" {
    fn _PyType_Lookup(tp: *mut ffi::PyTypeObject, name: *mut ffi::PyObject) -> *mut ffi::PyObject;
}

/// `getattr(obj, name)` without raising AttributeError: `Ok(null)` when missing (new
/// reference otherwise), `Err` with the error set for any other exception.
#[inline]
unsafe fn lookup(
    obj: *mut ffi::PyObject,
    name: *mut ffi::PyObject,
) -> Result<*mut ffi::PyObject, ()> {
    let mut out = ptr::null_mut();
    #[cfg(Py_3_13)]
    let rc = ffi::PyObject_GetOptionalAttr(obj, name, &mut out);
    #[cfg(not(Py_3_13))]
    let rc = _PyObject_LookupAttr(obj, name, &mut out);
    if rc < 0 {
        Err(())
    } else {
        Ok(out)
    }
}

/// Decrefs its pointer on drop (GIL held by construction: only used inside methods).
struct Owned(*mut ffi::PyObject);
impl Drop for Owned {
    #[inline]
    fn drop(&mut self) {
        unsafe { ffi::Py_XDECREF(self.0) }
    }
}

/// The type name of `obj` for messages.
unsafe fn type_name(obj: *mut ffi::PyObject) -> String {
    crate::pyerr::type_name(obj)
}

/// `float(obj)` for a priority; `what` names it in the TypeError.
#[inline]
unsafe fn to_f64(py: Python<'_>, obj: *mut ffi::PyObject, what: &str) -> PyResult<f64> {
    if ffi::PyFloat_CheckExact(obj) != 0 {
        return Ok(ffi::PyFloat_AS_DOUBLE(obj));
    }
    if ffi::PyLong_CheckExact(obj) != 0 {
        let v = ffi::PyLong_AsDouble(obj);
        if v == -1.0 && !ffi::PyErr_Occurred().is_null() {
            return Err(PyErr::fetch(py));
        }
        return Ok(v);
    }
    let v = ffi::PyFloat_AsDouble(obj);
    if v == -1.0 && !ffi::PyErr_Occurred().is_null() {
        let err = PyErr::fetch(py);
        if err.is_instance_of::<PyTypeError>(py) {
            return Err(PyTypeError::new_err(format!(
                "{what} must be a real number, not '{}'",
                type_name(obj)
            )));
        }
        return Err(err);
    }
    Ok(v)
}

fn f64_of(obj: &Bound<'_, PyAny>, what: &str) -> PyResult<f64> {
    unsafe { to_f64(obj.py(), obj.as_ptr(), what) }
}

// --- per-type caches for the fast path ------------------------------------------------
//
// Each entry is valid while the type's version tag is unchanged (CPython gives a type a
// new tag whenever it, or a base, is modified), so a cached descriptor or classification
// is exactly what a fresh lookup would find. Only touched with the GIL held.

#[cfg(not(Py_3_13))]
const VALID_VERSION_TAG: std::os::raw::c_ulong = 1 << 19;

/// The type's current version tag, or 0 if it has none (then nothing is cached).
#[inline]
unsafe fn type_tag(tp: *mut ffi::PyTypeObject) -> std::os::raw::c_uint {
    #[cfg(not(Py_3_13))]
    if (*tp).tp_flags & VALID_VERSION_TAG == 0 {
        return 0;
    }
    (*tp).tp_version_tag
}

#[inline]
unsafe fn generic_getattr(tp: *mut ffi::PyTypeObject) -> bool {
    (*tp).tp_getattro.map(|f| f as usize)
        == Some(ffi::PyObject_GenericGetAttr as *const () as usize)
}

#[derive(Clone, Copy)]
struct MemberCache {
    tp: *mut ffi::PyTypeObject,
    tag: std::os::raw::c_uint,
    offset: ffi::Py_ssize_t,
}

#[derive(Clone, Copy)]
struct GetterCache {
    tp: *mut ffi::PyTypeObject,
    tag: std::os::raw::c_uint,
    get: Option<ffi::getter>,
    closure: *mut std::os::raw::c_void,
}

#[derive(Clone, Copy)]
struct KindCache {
    tp: *mut ffi::PyTypeObject,
    tag: std::os::raw::c_uint,
    /// 1: a task (instance of `TaskTypes`); 2: also a `PriorityTask` whose
    /// `effective_priority()` is the cacheable one.
    kind: u8,
}

static mut CALLBACK_CACHE: MemberCache = MemberCache {
    tp: ptr::null_mut(),
    tag: 0,
    offset: 0,
};
static mut SELF_CACHE: GetterCache = GetterCache {
    tp: ptr::null_mut(),
    tag: 0,
    get: None,
    closure: ptr::null_mut(),
};
static mut KIND_CACHE: [KindCache; 2] = [KindCache {
    tp: ptr::null_mut(),
    tag: 0,
    kind: 0,
}; 2];
static mut KIND_NEXT: usize = 0;
/// Every entry of `TaskTypes` is a class whose metaclass is exactly `type`, so
/// `isinstance(x, TaskTypes)` is true whenever `type(x)` is a subclass.
static mut TASK_TYPES_PLAIN: bool = false;

/// `handle._callback`: new reference, null if missing.
#[inline]
unsafe fn get_callback(handle: *mut ffi::PyObject) -> Result<*mut ffi::PyObject, ()> {
    let tp = ffi::Py_TYPE(handle);
    let c = CALLBACK_CACHE;
    if c.tp == tp && c.tag != 0 && type_tag(tp) == c.tag {
        let p = *((handle as *mut u8).offset(c.offset) as *mut *mut ffi::PyObject);
        return Ok(if p.is_null() { p } else { ffi::Py_NewRef(p) });
    }
    if generic_getattr(tp) {
        let d = _PyType_Lookup(tp, S_CALLBACK);
        if !d.is_null() && ffi::Py_TYPE(d) == &raw mut ffi::PyMemberDescr_Type {
            // (pyo3-ffi types the field as PyGetSetDef before 3.11; it is a PyMemberDef)
            #[allow(clippy::unnecessary_cast)]
            let m = (*(d as *mut ffi::PyMemberDescrObject)).d_member as *mut ffi::PyMemberDef;
            // a plain slot: read it directly (READ_RESTRICTED / relative offsets excluded)
            if (*m).type_code == ffi::Py_T_OBJECT_EX && (*m).flags & (2 | 8) == 0 {
                CALLBACK_CACHE = MemberCache {
                    tp,
                    tag: type_tag(tp),
                    offset: (*m).offset,
                };
            }
        }
    }
    lookup(handle, S_CALLBACK)
}

/// `callback.__self__`: new reference, null if missing.
#[inline]
unsafe fn get_self(cb: *mut ffi::PyObject) -> Result<*mut ffi::PyObject, ()> {
    let tp = ffi::Py_TYPE(cb);
    let c = SELF_CACHE;
    if c.tp == tp && c.tag != 0 && type_tag(tp) == c.tag {
        if let Some(get) = c.get {
            let r = get(cb, c.closure);
            if r.is_null() {
                if ffi::PyErr_ExceptionMatches(ffi::PyExc_AttributeError) != 0 {
                    ffi::PyErr_Clear();
                    return Ok(r);
                }
                return Err(());
            }
            return Ok(r);
        }
    }
    if ffi::PyCFunction_Check(cb) != 0 {
        // builtin_function_or_method.__self__: m_self, or None
        let s = ffi::PyCFunction_GET_SELF(cb);
        return Ok(ffi::Py_NewRef(if s.is_null() { ffi::Py_None() } else { s }));
    }
    if let Some((_, slf)) = crate::method::parts(cb) {
        return Ok(ffi::Py_NewRef(slf));
    }
    if generic_getattr(tp) {
        let d = _PyType_Lookup(tp, S_SELF);
        if !d.is_null() && ffi::Py_TYPE(d) == &raw mut ffi::PyGetSetDescr_Type {
            let gs = (*(d as *mut ffi::PyGetSetDescrObject)).d_getset;
            if (*gs).get.is_some() {
                SELF_CACHE = GetterCache {
                    tp,
                    tag: type_tag(tp),
                    get: (*gs).get,
                    closure: (*gs).closure,
                };
            }
        }
    }
    lookup(cb, S_SELF)
}

/// 0: not an instance of `TaskTypes`; 1: a task; 2: a cacheable `PriorityTask`.
#[inline]
unsafe fn task_kind(t: *mut ffi::PyObject) -> Result<u8, ()> {
    let tp = ffi::Py_TYPE(t);
    let tag = type_tag(tp);
    if tag != 0 {
        for e in KIND_CACHE {
            if e.tp == tp && e.tag == tag {
                return Ok(e.kind);
            }
        }
    }
    match ffi::PyObject_IsInstance(t, TASK_TYPES) {
        0 => return Ok(0),
        r if r < 0 => return Err(()),
        _ => {}
    }
    let no_attr = |name| _PyType_Lookup(tp, name).is_null();
    let kind = if ffi::PyType_IsSubtype(tp, PRIORITY_TASK as *mut ffi::PyTypeObject) != 0
        && _PyType_Lookup(tp, S_CACHEABLE) == ffi::Py_True()
        && generic_getattr(tp)
        && no_attr(S_OWNED_LOCKS)
        && no_attr(S_PRIORITY_VALUE)
        && no_attr(S_EP_CACHE)
    {
        2
    } else {
        1
    };
    let tag = type_tag(tp);
    if TASK_TYPES_PLAIN && tag != 0 && ffi::PyType_IsSubtype(tp, task_base(tp)) != 0 {
        let i = KIND_NEXT % 2;
        KIND_NEXT = KIND_NEXT.wrapping_add(1);
        KIND_CACHE[i] = KindCache { tp, tag, kind };
    }
    Ok(kind)
}

/// The first entry of `TaskTypes` that `tp` subclasses (only positive `isinstance`
/// results through real subclassing are cached, not `__class__` tricks).
unsafe fn task_base(tp: *mut ffi::PyTypeObject) -> *mut ffi::PyTypeObject {
    let n = ffi::PyTuple_GET_SIZE(TASK_TYPES);
    for i in 0..n {
        let c = ffi::PyTuple_GET_ITEM(TASK_TYPES, i) as *mut ffi::PyTypeObject;
        if ffi::PyType_IsSubtype(tp, c) != 0 {
            return c;
        }
    }
    // not a real subclass: a type that cannot match, so nothing is cached
    &raw mut ffi::PyTuple_Type
}

/// `loop.task_from_handle is task_from_handle` (a plain attribute lookup: looking in the
/// instance dict directly would materialise the loop's inline attribute values).
#[inline]
unsafe fn default_task_from_handle(loop_: *mut ffi::PyObject) -> Result<bool, ()> {
    let tfh = Owned(ffi::PyObject_GetAttr(loop_, S_TASK_FROM_HANDLE));
    if tfh.0.is_null() {
        return Err(());
    }
    Ok(tfh.0 == TASK_FROM_HANDLE)
}

/// The default priority rule of `PrioritySchedulingMixin.get_priority`, for `loop_`.
/// `Ok(None)`: the loop's `task_from_handle` is not the default one, call the method.
unsafe fn default_priority(
    py: Python<'_>,
    loop_: *mut ffi::PyObject,
    handle: *mut ffi::PyObject,
) -> PyResult<Option<f64>> {
    // if self.task_from_handle is task_from_handle: (task_from_handle inlined)
    match default_task_from_handle(loop_) {
        Ok(true) => {}
        Ok(false) => return Ok(None),
        Err(()) => return Err(PyErr::fetch(py)),
    }
    let cb = match get_callback(handle) {
        Ok(p) if p.is_null() => return Ok(Some(0.0)),
        Ok(p) => Owned(p),
        Err(()) => return Err(PyErr::fetch(py)),
    };
    let task = match get_self(cb.0) {
        Ok(p) if p.is_null() => return Ok(Some(0.0)),
        Ok(p) => Owned(p),
        Err(()) => return Err(PyErr::fetch(py)),
    };
    drop(cb);
    let t = task.0;
    let kind = match task_kind(t) {
        Ok(k) => k,
        Err(()) => return Err(PyErr::fetch(py)),
    };
    if kind == 0 {
        return Ok(Some(0.0));
    }
    if kind == 2 {
        // PriorityTask.effective_priority() for a cacheable class, inlined
        let locks = Owned(ffi::PyObject_GenericGetAttr(t, S_OWNED_LOCKS));
        if locks.0.is_null() {
            return Err(PyErr::fetch(py));
        }
        let busy = ffi::PyObject_IsTrue(locks.0);
        if busy < 0 {
            return Err(PyErr::fetch(py));
        }
        let attr = if busy == 0 {
            S_PRIORITY_VALUE
        } else {
            S_EP_CACHE
        };
        let v = Owned(ffi::PyObject_GenericGetAttr(t, attr));
        if v.0.is_null() {
            return Err(PyErr::fetch(py));
        }
        if busy == 0 || v.0 != UNSET {
            return to_f64(py, v.0, "effective priority").map(Some);
        }
    }
    let ep = match lookup(t, S_EFFECTIVE_PRIORITY) {
        Ok(p) if p.is_null() => return Ok(Some(0.0)),
        Ok(p) => Owned(p),
        Err(()) => return Err(PyErr::fetch(py)),
    };
    let v = Owned(ffi::PyObject_CallNoArgs(ep.0));
    if v.0.is_null() {
        return Err(PyErr::fetch(py));
    }
    to_f64(py, v.0, "effective priority").map(Some)
}

/// `random.random()`, looked up on the module at call time.
fn random_random(py: Python<'_>) -> PyResult<Bound<'_, PyAny>> {
    unsafe {
        let module = if RANDOM_MODULE.is_null() {
            py.import("random")?.into_any()
        } else {
            Bound::from_borrowed_ptr(py, RANDOM_MODULE)
        };
        module.getattr(intern!(py, "random"))?.call0()
    }
}

/// `operator.index(obj)` clamped to `isize`.
fn index_arg(obj: &Bound<'_, PyAny>, what: &str) -> PyResult<isize> {
    let py = obj.py();
    unsafe {
        let i = Owned(ffi::PyNumber_Index(obj.as_ptr()));
        if i.0.is_null() {
            let err = PyErr::fetch(py);
            if err.is_instance_of::<PyTypeError>(py) {
                return Err(PyTypeError::new_err(format!(
                    "{what} must be an integer, not '{}'",
                    type_name(obj.as_ptr())
                )));
            }
            return Err(err);
        }
        let mut overflow: c_int = 0;
        let v = ffi::PyLong_AsLongLongAndOverflow(i.0, &mut overflow);
        if overflow != 0 {
            return Ok(if overflow > 0 { isize::MAX } else { isize::MIN });
        }
        if v == -1 && !ffi::PyErr_Occurred().is_null() {
            return Err(PyErr::fetch(py));
        }
        Ok(v.clamp(isize::MIN as i64, isize::MAX as i64) as isize)
    }
}

// ---------------------------------------------------------------------------------------
// PosPriorityQueue
// ---------------------------------------------------------------------------------------

/// Deque-compatible priority queue: the priority loop's ready queue (native).
#[pyclass(
    frozen,
    dict,
    weakref,
    subclass,
    module = "asynkit._asynkit",
    name = "PosPriorityQueue"
)]
pub struct PosPriorityQueue {
    q: UnsafeCell<Queue>,
    get_priority: UnsafeCell<Option<Py<PyAny>>>,
    /// The loop whose default `get_priority` bound method is `get_priority` (borrowed:
    /// that method keeps it alive), or null.
    fast_loop: Cell<*mut ffi::PyObject>,
}

// SAFETY: only touched with the GIL held (GIL builds only, see the module docs).
unsafe impl Send for PosPriorityQueue {}
unsafe impl Sync for PosPriorityQueue {}

impl PosPriorityQueue {
    /// The core queue. Callers keep the reference inside a block that runs no Python
    /// code (no calls, no decrefs, no allocation of Python objects).
    #[inline]
    #[allow(clippy::mut_from_ref)]
    unsafe fn q(&self) -> &mut Queue {
        &mut *self.q.get()
    }

    fn set_get_priority(&self, gp: Py<PyAny>) -> Option<Py<PyAny>> {
        let fast = unsafe {
            let p = gp.as_ptr();
            match crate::method::parts(p) {
                Some((f, slf)) if !GET_PRIORITY_FUNC.is_null() && f == GET_PRIORITY_FUNC => slf,
                _ => ptr::null_mut(),
            }
        };
        self.fast_loop.set(fast);
        unsafe { (*self.get_priority.get()).replace(gp) }
    }

    /// `get_priority(obj)` as a float.
    #[inline]
    fn priority_of(&self, py: Python<'_>, obj: *mut ffi::PyObject) -> PyResult<f64> {
        unsafe {
            let lp = self.fast_loop.get();
            if !lp.is_null() {
                if let Some(v) = default_priority(py, lp, obj)? {
                    return Ok(v);
                }
            }
            let gp = match &*self.get_priority.get() {
                Some(gp) => Owned(ffi::Py_NewRef(gp.as_ptr())),
                None => {
                    return Err(PyTypeError::new_err(
                        "PosPriorityQueue has no priority function",
                    ))
                }
            };
            let r = Owned(ffi::PyObject_CallOneArg(gp.0, obj));
            if r.0.is_null() {
                return Err(PyErr::fetch(py));
            }
            to_f64(py, r.0, "get_priority() result")
        }
    }

    /// Storage-order snapshot of the entries (strong references).
    fn snapshot(&self, py: Python<'_>) -> Vec<(EntryId, Py<PyAny>)> {
        unsafe {
            self.q()
                .iter()
                .map(|(id, _, x)| (id, x.clone_ref(py)))
                .collect()
        }
    }

    /// After an insertion: run `self.do_maintenance()` if it triggered.
    #[inline]
    fn maintain(slf: &Bound<'_, Self>, due: Option<MaintenanceDue>) -> PyResult<()> {
        if let Some(due) = due {
            slf.getattr(intern!(slf.py(), "do_maintenance"))?.call0()?;
            unsafe { slf.get().q().finish_maintenance(due) };
        }
        Ok(())
    }

    /// Whether `name` resolves on `slf` to something other than this class's method.
    fn overridden(
        slf: &Bound<'_, Self>,
        name: &Bound<'_, pyo3::types::PyString>,
    ) -> PyResult<bool> {
        let py = slf.py();
        let ours = py.get_type::<PosPriorityQueue>().getattr(name)?;
        let tp = slf.get_type();
        if !tp.is(py.get_type::<PosPriorityQueue>()) && !tp.getattr(name)?.is(&ours) {
            return Ok(true);
        }
        unsafe {
            let d = Owned(ffi::PyObject_GenericGetDict(slf.as_ptr(), ptr::null_mut()));
            if d.0.is_null() {
                return Err(PyErr::fetch(py));
            }
            match ffi::PyDict_Contains(d.0, name.as_ptr()) {
                r if r < 0 => Err(PyErr::fetch(py)),
                r => Ok(r != 0),
            }
        }
    }

    /// Scan `snapshot` from the back for the first item with a truthy `key(item)`.
    fn rfind_key(
        py: Python<'_>,
        snapshot: &[(EntryId, Py<PyAny>)],
        key: &Bound<'_, PyAny>,
    ) -> PyResult<Option<usize>> {
        for (i, (_, x)) in snapshot.iter().enumerate().rev() {
            if key.call1((x.bind(py),))?.is_truthy()? {
                return Ok(Some(i));
            }
        }
        Ok(None)
    }
}

/// `append(obj)` and `popleft()` are raw METH_O / METH_NOARGS methods (the loop calls
/// them once per callback): installed over the type's dict by [`install_raw_methods`].
impl PosPriorityQueue {
    fn append_impl(slf: &Bound<'_, Self>, obj: &Bound<'_, PyAny>) -> PyResult<()> {
        let this = slf.get();
        let pri = this.priority_of(slf.py(), obj.as_ptr())?;
        let due = unsafe { this.q().append(obj.clone().unbind(), pri).maintenance };
        Self::maintain(slf, due)
    }
}

/// Run `f` as the body of a raw method: panics become `SystemError`, errors are raised.
///
/// `Python::attach` (not `assume_attached`): PyO3 must know the thread is attached, or
/// every `Py<T>`/`PyErr` dropped in `f` is deferred to its reference pool (an abort
/// under `--cfg pyo3_disable_reference_pool`, which CI uses to catch exactly this).
#[inline]
unsafe fn raw_body(
    f: impl FnOnce(Python<'_>) -> PyResult<*mut ffi::PyObject>,
) -> *mut ffi::PyObject {
    Python::attach(
        |py| match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(py))) {
            Ok(Ok(p)) => p,
            Ok(Err(e)) => {
                e.restore(py);
                ptr::null_mut()
            }
            Err(_) => {
                crate::pyerr::set_string(ffi::PyExc_SystemError, c"panic in PosPriorityQueue");
                ptr::null_mut()
            }
        },
    )
}

unsafe extern "C" fn raw_append(
    slf: *mut ffi::PyObject,
    obj: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    raw_body(|py| {
        let slf = Bound::<PyAny>::from_borrowed_ptr(py, slf);
        let obj = Bound::<PyAny>::from_borrowed_ptr(py, obj);
        PosPriorityQueue::append_impl(slf.cast_unchecked::<PosPriorityQueue>(), &obj)?;
        Ok(ffi::Py_NewRef(ffi::Py_None()))
    })
}

unsafe extern "C" fn raw_popleft(
    slf: *mut ffi::PyObject,
    _noargs: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    raw_body(|py| {
        let slf = Borrowed::<PyAny>::from_ptr(py, slf).cast_unchecked::<PosPriorityQueue>();
        match slf.get().q().pop_front() {
            Some(x) => Ok(x.into_ptr()),
            None => Err(PyIndexError::new_err("index out of range")),
        }
    })
}

/// Put the raw `append`/`popleft` method descriptors into the class dict.
pub fn install_raw_methods(tp: &Bound<'_, pyo3::types::PyType>) -> PyResult<()> {
    let defs: [(
        &'static std::ffi::CStr,
        ffi::PyMethodDefPointer,
        c_int,
        &'static std::ffi::CStr,
    ); 2] = [
        (
            c"append",
            ffi::PyMethodDefPointer {
                PyCFunction: raw_append,
            },
            ffi::METH_O,
            c"append($self, obj, /)\n--\n\nQueue obj at get_priority(obj) (FIFO among equals).",
        ),
        (
            c"popleft",
            ffi::PyMethodDefPointer {
                PyCFunction: raw_popleft,
            },
            ffi::METH_NOARGS,
            c"popleft($self, /)\n--\n\nRemove and return the first object; IndexError when empty.",
        ),
    ];
    for (name, meth, flags, doc) in defs {
        let def: &'static mut ffi::PyMethodDef = Box::leak(Box::new(ffi::PyMethodDef {
            ml_name: name.as_ptr(),
            ml_meth: meth,
            ml_flags: flags,
            ml_doc: doc.as_ptr(),
        }));
        unsafe {
            let d = ffi::PyDescr_NewMethod(tp.as_ptr() as *mut ffi::PyTypeObject, def);
            let d = Bound::from_owned_ptr_or_err(tp.py(), d)?;
            tp.setattr(name.to_str().unwrap_or("?"), d)?;
        }
    }
    Ok(())
}

#[pymethods]
impl PosPriorityQueue {
    #[new]
    fn new(get_priority: Bound<'_, PyAny>) -> Self {
        let this = PosPriorityQueue {
            q: UnsafeCell::new(Queue::new()),
            get_priority: UnsafeCell::new(None),
            fast_loop: Cell::new(ptr::null_mut()),
        };
        this.set_get_priority(get_priority.unbind());
        this
    }

    // -- deque-compatible surface ---------------------------------------------------------

    fn __len__(&self) -> usize {
        unsafe { self.q().len() }
    }

    fn __bool__(&self) -> bool {
        unsafe { !self.q().is_empty() }
    }

    fn append_pri(
        slf: &Bound<'_, Self>,
        obj: Bound<'_, PyAny>,
        priority: &Bound<'_, PyAny>,
    ) -> PyResult<()> {
        let pri = f64_of(priority, "append_pri() argument 'priority'")?;
        let due = unsafe { slf.get().q().append(obj.unbind(), pri).maintenance };
        Self::maintain(slf, due)
    }

    /// Empty the queue; counters and `last_maintenance` are kept.
    fn clear(&self) {
        let old = unsafe {
            let q = self.q();
            let mut fresh = Queue::new();
            fresh.n_inserted = q.n_inserted;
            fresh.n_removed = q.n_removed;
            fresh.last_maintenance = q.last_maintenance;
            fresh.priority_boost_factor = q.priority_boost_factor;
            std::mem::replace(q, fresh)
        };
        drop(old);
    }

    /// Pop order (class 0 first, then priority, FIFO); the storage is sorted in place
    /// when iteration starts.
    fn __iter__(slf: &Bound<'_, Self>) -> QueueIter {
        QueueIter {
            queue: Some(slf.clone().unbind()),
            items: Vec::new().into_iter(),
        }
    }

    // -- other operations -----------------------------------------------------------------

    /// Insert `obj` at index `position` of the pop order (`list.insert` semantics).
    fn insert(
        slf: &Bound<'_, Self>,
        position: &Bound<'_, PyAny>,
        obj: Bound<'_, PyAny>,
    ) -> PyResult<()> {
        let pos = index_arg(position, "insert() argument 'position'")?;
        let due = unsafe {
            let q = slf.get().q();
            let pos = if pos < 0 {
                (q.len() as isize).saturating_add(pos).max(0) as usize
            } else {
                pos as usize
            };
            q.insert(pos, obj.unbind()).maintenance
        };
        Self::maintain(slf, due)
    }

    fn remove(&self, py: Python<'_>, obj: &Bound<'_, PyAny>) -> PyResult<()> {
        let snapshot = self.snapshot(py);
        for (id, x) in &snapshot {
            if x.bind(py).eq(obj)? {
                let gone = unsafe { self.q().remove(*id) };
                if gone.is_some() {
                    drop(gone);
                    return Ok(());
                }
            }
        }
        Err(PyValueError::new_err(format!(
            "{} not in queue",
            obj.repr()?
        )))
    }

    #[pyo3(signature = (key, remove = None), text_signature = "($self, key, remove=False)")]
    fn find(
        &self,
        py: Python<'_>,
        key: &Bound<'_, PyAny>,
        remove: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Option<Py<PyAny>>> {
        let remove = match remove {
            Some(r) => r.is_truthy()?,
            None => false,
        };
        let mut snapshot = self.snapshot(py);
        let Some(i) = Self::rfind_key(py, &snapshot, key)? else {
            return Ok(None);
        };
        let (id, obj) = snapshot.swap_remove(i);
        if remove {
            let gone = unsafe { self.q().detach(id) };
            drop(gone);
        }
        Ok(Some(obj))
    }

    fn reschedule(
        &self,
        py: Python<'_>,
        key: &Bound<'_, PyAny>,
        new_priority: &Bound<'_, PyAny>,
    ) -> PyResult<Option<Py<PyAny>>> {
        let pri = f64_of(new_priority, "reschedule() argument 'new_priority'")?;
        let mut snapshot = self.snapshot(py);
        let Some(i) = Self::rfind_key(py, &snapshot, key)? else {
            return Ok(None);
        };
        let (id, obj) = snapshot.swap_remove(i);
        unsafe {
            let _ = self.q().reschedule(id, pri);
        }
        Ok(Some(obj))
    }

    /// Re-read every prioritised item's base priority and rebuild the queue.
    fn reschedule_all(&self, py: Python<'_>) -> PyResult<()> {
        let snapshot: Vec<(EntryId, Py<PyAny>)> = unsafe {
            self.q()
                .iter()
                .filter(|(_, v, _)| v.priority_class != CLASS_IMMEDIATE)
                .map(|(id, _, x)| (id, x.clone_ref(py)))
                .collect()
        };
        let mut bases: HashMap<EntryId, f64> = HashMap::with_capacity(snapshot.len());
        for (id, x) in &snapshot {
            bases.insert(*id, self.priority_of(py, x.as_ptr())?);
        }
        unsafe {
            let q = self.q();
            let current: HashMap<EntryId, f64> =
                q.iter().map(|(id, v, _)| (id, v.base_priority)).collect();
            let r: Result<(), ()> = q.try_reschedule_all(|id, _| {
                Ok(bases
                    .get(&id)
                    .or_else(|| current.get(&id))
                    .copied()
                    .unwrap_or(0.0))
            });
            let _ = r;
        }
        drop(snapshot);
        Ok(())
    }

    // -- maintenance -------------------------------------------------------------------------

    /// Boost stragglers: prioritised items queued for longer than the queue is long.
    fn do_maintenance(slf: &Bound<'_, Self>) -> PyResult<()> {
        let py = slf.py();
        let this = slf.get();
        let (factor, stragglers) = unsafe {
            let q = this.q();
            (q.priority_boost_factor, q.stragglers())
        };
        if factor == 0.0 {
            return Ok(());
        }
        let Some(s) = stragglers else { return Ok(()) };
        if s.ids.is_empty() {
            return Ok(());
        }
        if Self::overridden(slf, intern!(py, "boost_stragglers"))? {
            let mut pairs = Vec::with_capacity(s.ids.len());
            for id in &s.ids {
                let entry = unsafe {
                    let q = this.q();
                    match (q.value(*id), q.get(*id)) {
                        (Some(v), Some(x)) => Some((*v, x.clone_ref(py))),
                        _ => None,
                    }
                };
                if let Some((v, x)) = entry {
                    let view = Py::new(py, EntryValue::new(slf, vec![*id], v))?;
                    pairs.push(PyTuple::new(py, [view.into_any(), x])?);
                }
            }
            let list = PyList::new(py, pairs)?;
            slf.getattr(intern!(py, "boost_stragglers"))?
                .call1((list, s.min_pri, s.max_pri))?;
            return Ok(());
        }
        let custom = Self::overridden(slf, intern!(py, "compute_priority_boost"))?;
        let mut boosted = false;
        for id in s.ids {
            let Some(base) = (unsafe { this.q().value(id).map(|v| v.base_priority) }) else {
                continue;
            };
            // Python `if min_pri < base` (false for NaN)
            let eligible = s.min_pri < base;
            if !eligible {
                continue;
            }
            let b = if custom {
                let b = slf
                    .getattr(intern!(py, "compute_priority_boost"))?
                    .call1((base, s.min_pri, s.max_pri))?;
                if !b.is_truthy()? {
                    continue;
                }
                f64_of(&b, "compute_priority_boost() result")?
            } else {
                let r = random_random(py)?;
                let r = f64_of(&r, "random.random() result")?;
                let factor = unsafe { this.q().priority_boost_factor };
                r * (s.min_pri - base) * factor
            };
            if b != 0.0 {
                unsafe {
                    if let Some(v) = this.q().value_mut(id) {
                        v.priority_boost = b;
                        boosted = true;
                    }
                }
            }
        }
        if boosted {
            unsafe { this.q().refresh() };
        }
        Ok(())
    }

    fn boost_stragglers(
        slf: &Bound<'_, Self>,
        stragglers: &Bound<'_, PyAny>,
        min_pri: &Bound<'_, PyAny>,
        max_pri: &Bound<'_, PyAny>,
    ) -> PyResult<()> {
        let py = slf.py();
        let mut boosted = false;
        for pair in stragglers.try_iter()? {
            let pair = pair?;
            let mut parts = pair.try_iter()?;
            let value = match parts.next() {
                Some(v) => v?,
                None => {
                    return Err(PyValueError::new_err(
                        "not enough values to unpack (expected 2, got 0)",
                    ))
                }
            };
            match (parts.next(), parts.next()) {
                (Some(x), None) => drop(x?),
                (None, _) => {
                    return Err(PyValueError::new_err(
                        "not enough values to unpack (expected 2, got 1)",
                    ))
                }
                (Some(_), Some(_)) => {
                    return Err(PyValueError::new_err(
                        "too many values to unpack (expected 2)",
                    ))
                }
            }
            let base = value.getattr(intern!(py, "base_priority"))?;
            if min_pri.lt(&base)? {
                let boost = slf
                    .getattr(intern!(py, "compute_priority_boost"))?
                    .call1((&base, min_pri, max_pri))?;
                if boost.is_truthy()? {
                    value.setattr(intern!(py, "priority_boost"), boost)?;
                    boosted = true;
                }
            }
        }
        if boosted {
            unsafe { slf.get().q().refresh() };
        }
        Ok(())
    }

    /// A random negative offset in `((min_pri - priority) * factor, 0]`.
    fn compute_priority_boost<'py>(
        &self,
        py: Python<'py>,
        priority: &Bound<'py, PyAny>,
        min_pri: &Bound<'py, PyAny>,
        max_pri: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let _ = max_pri;
        let r = random_random(py)?;
        let factor = unsafe { self.q().priority_boost_factor };
        r.mul(min_pri.sub(priority)?)?.mul(factor)
    }

    // -- attributes --------------------------------------------------------------------------

    #[getter]
    fn n_inserted(&self) -> u64 {
        unsafe { self.q().n_inserted }
    }

    #[setter]
    fn set_n_inserted(&self, v: u64) {
        unsafe { self.q().n_inserted = v }
    }

    #[getter]
    fn n_removed(&self) -> u64 {
        unsafe { self.q().n_removed }
    }

    #[setter]
    fn set_n_removed(&self, v: u64) {
        unsafe { self.q().n_removed = v }
    }

    #[getter]
    fn last_maintenance(&self) -> u64 {
        unsafe { self.q().last_maintenance }
    }

    #[setter]
    fn set_last_maintenance(&self, v: u64) {
        unsafe { self.q().last_maintenance = v }
    }

    #[getter]
    fn priority_boost_factor(&self) -> f64 {
        unsafe { self.q().priority_boost_factor }
    }

    #[setter]
    fn set_priority_boost_factor(&self, v: &Bound<'_, PyAny>) -> PyResult<()> {
        let v = f64_of(v, "priority_boost_factor")?;
        unsafe { self.q().priority_boost_factor = v };
        Ok(())
    }

    #[getter(_get_priority)]
    fn get_get_priority(&self, py: Python<'_>) -> Option<Py<PyAny>> {
        unsafe { (*self.get_priority.get()).as_ref().map(|p| p.clone_ref(py)) }
    }

    #[setter(_get_priority)]
    fn set_get_priority_attr(&self, v: Bound<'_, PyAny>) {
        let old = self.set_get_priority(v.unbind());
        drop(old);
    }

    /// The underlying storage (`len()`, `items()`, iteration in storage order, `refresh()`).
    #[getter]
    fn _pq(slf: &Bound<'_, Self>) -> Storage {
        Storage {
            queue: slf.clone().unbind(),
        }
    }

    // -- GC ------------------------------------------------------------------------------------

    fn __traverse__(&self, visit: PyVisit<'_>) -> Result<(), PyTraverseError> {
        unsafe {
            if let Some(gp) = &*self.get_priority.get() {
                visit.call(gp)?;
            }
            for (_, _, x) in self.q().iter() {
                visit.call(x)?;
            }
        }
        Ok(())
    }

    fn __clear__(&self) {
        self.fast_loop.set(ptr::null_mut());
        let gp = unsafe { (*self.get_priority.get()).take() };
        self.clear();
        drop(gp);
    }
}

// ---------------------------------------------------------------------------------------
// Iterator, storage view, entry value view
// ---------------------------------------------------------------------------------------

/// `iter(queue)`: sorts the storage at the first `next()`, then yields a snapshot of the
/// objects in pop order.
#[pyclass(module = "asynkit._asynkit", name = "_PosQueueIterator")]
pub struct QueueIter {
    queue: Option<Py<PosPriorityQueue>>,
    items: std::vec::IntoIter<Py<PyAny>>,
}

#[pymethods]
impl QueueIter {
    fn __iter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __next__(&mut self, py: Python<'_>) -> Option<Py<PyAny>> {
        if let Some(queue) = self.queue.take() {
            let items: Vec<Py<PyAny>> = unsafe {
                let q = queue.get().q();
                q.sort();
                q.iter().map(|(_, _, x)| x.clone_ref(py)).collect()
            };
            self.items = items.into_iter();
            drop(queue);
        }
        self.items.next()
    }

    fn __traverse__(&self, visit: PyVisit<'_>) -> Result<(), PyTraverseError> {
        visit.call(&self.queue)?;
        for x in self.items.as_slice() {
            visit.call(x)?;
        }
        Ok(())
    }

    fn __clear__(&mut self) {
        let q = self.queue.take();
        let items = std::mem::take(&mut self.items);
        drop(q);
        drop(items);
    }
}

/// `queue._pq`: a view of the queue's storage (heap) order.
#[pyclass(frozen, module = "asynkit._asynkit", name = "_PosQueueStorage")]
pub struct Storage {
    queue: Py<PosPriorityQueue>,
}

#[pymethods]
impl Storage {
    fn __len__(&self) -> usize {
        unsafe { self.queue.get().q().len() }
    }

    fn __bool__(&self) -> bool {
        unsafe { !self.queue.get().q().is_empty() }
    }

    /// Objects in storage order.
    fn __iter__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let items: Vec<Py<PyAny>> = self
            .queue
            .get()
            .snapshot(py)
            .into_iter()
            .map(|(_, x)| x)
            .collect();
        PyList::new(py, items)?.try_iter().map(|i| i.into_any())
    }

    /// `(value, obj)` pairs in storage order. `value` is a live view of the entry's
    /// `PriorityValue`; the entries of one positional insert share one view object.
    fn items<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let queue = self.queue.bind(py);
        let entries: Vec<(EntryId, CoreValue, Py<PyAny>)> = unsafe {
            queue
                .get()
                .q()
                .iter()
                .map(|(id, v, x)| (id, *v, x.clone_ref(py)))
                .collect()
        };
        let mut groups: HashMap<(u64, u64), Vec<EntryId>> = HashMap::new();
        for (id, v, _) in &entries {
            if v.priority_class == CLASS_IMMEDIATE {
                groups
                    .entry((v.base_priority.to_bits(), v.inserted_at))
                    .or_default()
                    .push(*id);
            }
        }
        let mut views: HashMap<(u64, u64), Py<EntryValue>> = HashMap::new();
        let mut out = Vec::with_capacity(entries.len());
        for (id, v, x) in entries {
            let view = if v.priority_class == CLASS_IMMEDIATE {
                let k = (v.base_priority.to_bits(), v.inserted_at);
                match views.get(&k) {
                    Some(view) => view.clone_ref(py),
                    None => {
                        let ids = groups.remove(&k).unwrap_or_else(|| vec![id]);
                        let view = Py::new(py, EntryValue::new(queue, ids, v))?;
                        views.insert(k, view.clone_ref(py));
                        view
                    }
                }
            } else {
                Py::new(py, EntryValue::new(queue, vec![id], v))?
            };
            out.push(PyTuple::new(py, [view.into_any(), x])?);
        }
        PyList::new(py, out)
    }

    /// Rebuild heap order after in-place value changes.
    fn refresh(&self) {
        unsafe { self.queue.get().q().refresh() }
    }

    fn __traverse__(&self, visit: PyVisit<'_>) -> Result<(), PyTraverseError> {
        visit.call(&self.queue)
    }
}

/// A live view of one queued entry's `PriorityValue` (from `queue._pq.items()`).
#[pyclass(frozen, module = "asynkit._asynkit", name = "PosPriorityValue")]
pub struct EntryValue {
    queue: Py<PosPriorityQueue>,
    ids: Vec<EntryId>,
    /// The last value seen, returned once no entry is queued any more.
    last: UnsafeCell<CoreValue>,
}

// SAFETY: only touched with the GIL held (GIL builds only).
unsafe impl Send for EntryValue {}
unsafe impl Sync for EntryValue {}

impl EntryValue {
    fn new(queue: &Bound<'_, PosPriorityQueue>, ids: Vec<EntryId>, v: CoreValue) -> Self {
        EntryValue {
            queue: queue.clone().unbind(),
            ids,
            last: UnsafeCell::new(v),
        }
    }

    fn current(&self) -> CoreValue {
        unsafe {
            let q = self.queue.get().q();
            let last = &mut *self.last.get();
            if let Some(v) = self.ids.iter().find_map(|id| q.value(*id)) {
                *last = *v;
            }
            *last
        }
    }

    fn update(&self, f: impl Fn(&mut CoreValue)) {
        unsafe {
            let q = self.queue.get().q();
            f(&mut *self.last.get());
            for id in &self.ids {
                if let Some(v) = q.value_mut(*id) {
                    f(v);
                }
            }
        }
    }
}

#[pymethods]
impl EntryValue {
    #[getter]
    fn base_priority(&self) -> f64 {
        self.current().base_priority
    }

    #[setter]
    fn set_base_priority(&self, v: &Bound<'_, PyAny>) -> PyResult<()> {
        let v = f64_of(v, "base_priority")?;
        self.update(|x| x.base_priority = v);
        Ok(())
    }

    #[getter]
    fn inserted_at(&self) -> u64 {
        self.current().inserted_at
    }

    #[setter]
    fn set_inserted_at(&self, v: u64) {
        self.update(|x| x.inserted_at = v);
    }

    #[getter]
    fn priority_boost(&self) -> f64 {
        self.current().priority_boost
    }

    #[setter]
    fn set_priority_boost(&self, v: &Bound<'_, PyAny>) -> PyResult<()> {
        let v = f64_of(v, "priority_boost")?;
        self.update(|x| x.priority_boost = v);
        Ok(())
    }

    #[getter]
    fn priority_class(&self) -> u8 {
        self.current().priority_class
    }

    #[setter]
    fn set_priority_class(&self, v: u8) {
        self.update(|x| x.priority_class = v);
    }

    fn priority(&self) -> f64 {
        self.current().priority()
    }

    fn __lt__(&self, other: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        let py = other.py();
        match other.cast::<EntryValue>() {
            Ok(o) => {
                use asynkit_core::indexed_heap::PriorityKey;
                let r = self.current().lt(&o.get().current());
                Ok(pyo3::types::PyBool::new(py, r)
                    .to_owned()
                    .into_any()
                    .unbind())
            }
            Err(_) => Ok(py.NotImplemented()),
        }
    }

    fn __repr__(&self) -> String {
        let v = self.current();
        format!(
            "PriorityValue(base_priority={:?}, inserted_at={}, priority_boost={:?}, priority_class={})",
            v.base_priority, v.inserted_at, v.priority_boost, v.priority_class
        )
    }

    fn __traverse__(&self, visit: PyVisit<'_>) -> Result<(), PyTraverseError> {
        visit.call(&self.queue)
    }
}
