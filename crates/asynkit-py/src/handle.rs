//! `loop.call_soon(callback, context=ctx)` without its two Python frames, on asyncio's
//! own loops.
//!
//! On a loop whose `call_soon` and `_call_soon` are `BaseEventLoop`'s, that is not closed
//! and not in debug mode, `call_soon(cb, context=ctx)` is exactly: build
//! `events.Handle(cb, (), loop, ctx)` and `loop._ready.append()` it. Here that Handle is
//! a genuine `asyncio.Handle` whose slots are written directly: their offsets come from
//! the class's member descriptors, and `configure` checks the result against a Handle
//! that `Handle.__init__` built. Every other loop (and debug mode, which records source
//! tracebacks and checks the thread) gets `loop.call_soon(...)` itself.
//!
//! Used by the eager factory to queue a blocked start's Task steps, and as the
//! `call_soon` method of the scheduling and priority loops (`make_loop_call_soon`):
//! `BaseEventLoop.call_soon` with the Handle built here.
use pyo3::ffi;
use std::ptr;

/// The slots `Handle.__init__` sets, in this order.
const SLOTS: [&std::ffi::CStr; 7] = [
    c"_callback",
    c"_args",
    c"_cancelled",
    c"_loop",
    c"_source_traceback",
    c"_repr",
    c"_context",
];
const CALLBACK: usize = 0;
const ARGS: usize = 1;
const CANCELLED: usize = 2;
const LOOP: usize = 3;
const SOURCE_TRACEBACK: usize = 4;
const REPR: usize = 5;
const CONTEXT: usize = 6;

/// `asyncio.Handle`, or null while the native path is off.
static mut HANDLE: *mut ffi::PyTypeObject = ptr::null_mut();
static mut OFFSETS: [usize; 7] = [0; 7];
static mut NAMES: [*mut ffi::PyObject; 7] = [ptr::null_mut(); 7];
/// `BaseEventLoop.call_soon` / `._call_soon`, `collections.deque` and its `append`.
static mut BASE_CALL_SOON: *mut ffi::PyObject = ptr::null_mut();
static mut BASE_CALL_SOON_IMPL: *mut ffi::PyObject = ptr::null_mut();
static mut DEQUE: *mut ffi::PyObject = ptr::null_mut();
static mut DEQUE_APPEND: *mut ffi::PyObject = ptr::null_mut();
static mut S_CALL_SOON: *mut ffi::PyObject = ptr::null_mut();
static mut S_CALL_SOON_IMPL: *mut ffi::PyObject = ptr::null_mut();
static mut S_CLOSED: *mut ffi::PyObject = ptr::null_mut();
static mut S_DEBUG: *mut ffi::PyObject = ptr::null_mut();
static mut S_READY: *mut ffi::PyObject = ptr::null_mut();
static mut S_APPEND: *mut ffi::PyObject = ptr::null_mut();
static mut CONTEXT_KWNAMES: *mut ffi::PyObject = ptr::null_mut();
/// The method definition of the scheduling loops' native `call_soon`.
static mut LOOP_CALL_SOON_DEF: *mut ffi::PyMethodDef = ptr::null_mut();
/// The last loop type (with its version tag) whose class-level `_call_soon` is asyncio's.
static mut PLAIN_TYPE: (*mut ffi::PyTypeObject, u32) = (ptr::null_mut(), 0);

/// A member descriptor's layout (`PyMemberDescrObject`, the same on 3.10-3.14).
#[repr(C)]
struct MemberDescr {
    common: ffi::PyDescrObject,
    d_member: *mut ffi::PyMemberDef,
}

/// Turn the native path on for `handle_type` (`asyncio.Handle`), given `reference`, a
/// Handle built by its `__init__` for a loop not in debug mode, and the stock
/// `call_soon` / `_call_soon` functions. Returns whether it is on; a Handle built here
/// from `reference`'s own arguments must read back identically slot by slot.
pub unsafe fn configure(
    handle_type: *mut ffi::PyObject,
    reference: *mut ffi::PyObject,
    base_call_soon: *mut ffi::PyObject,
    base_call_soon_impl: *mut ffi::PyObject,
    deque: *mut ffi::PyObject,
) -> Result<bool, ()> {
    HANDLE = ptr::null_mut();
    if S_CALL_SOON.is_null() {
        for (i, name) in SLOTS.iter().enumerate() {
            NAMES[i] = ffi::PyUnicode_InternFromString(name.as_ptr());
        }
        S_CALL_SOON = ffi::PyUnicode_InternFromString(c"call_soon".as_ptr());
        S_CALL_SOON_IMPL = ffi::PyUnicode_InternFromString(c"_call_soon".as_ptr());
        S_CLOSED = ffi::PyUnicode_InternFromString(c"_closed".as_ptr());
        S_DEBUG = ffi::PyUnicode_InternFromString(c"_debug".as_ptr());
        S_READY = ffi::PyUnicode_InternFromString(c"_ready".as_ptr());
        S_APPEND = ffi::PyUnicode_InternFromString(c"append".as_ptr());
        CONTEXT_KWNAMES = ffi::PyTuple_Pack(1, crate::strings::context());
        let names = NAMES;
        let more = [
            S_CALL_SOON,
            S_CALL_SOON_IMPL,
            S_CLOSED,
            S_DEBUG,
            S_READY,
            S_APPEND,
            CONTEXT_KWNAMES,
        ];
        if names.iter().chain(more.iter()).any(|p| p.is_null()) {
            return Err(());
        }
    }
    crate::pyerr::set_static(&raw mut BASE_CALL_SOON, base_call_soon);
    crate::pyerr::set_static(&raw mut BASE_CALL_SOON_IMPL, base_call_soon_impl);
    crate::pyerr::set_static(&raw mut DEQUE, deque);
    PLAIN_TYPE = (ptr::null_mut(), 0);
    if ffi::PyType_Check(handle_type) == 0 || ffi::PyType_Check(deque) == 0 {
        return Ok(false);
    }
    let append = ffi::PyObject_GetAttr(deque, S_APPEND);
    if append.is_null() {
        return Err(());
    }
    crate::pyerr::set_static(&raw mut DEQUE_APPEND, append);
    ffi::Py_DECREF(append);
    let tp = handle_type as *mut ffi::PyTypeObject;
    let basic = (*tp).tp_basicsize as usize;
    for i in 0..SLOTS.len() {
        let d = ffi::PyObject_GetAttr(handle_type, NAMES[i]);
        if d.is_null() {
            ffi::PyErr_Clear();
            return Ok(false);
        }
        let member = ffi::Py_TYPE(d) == &raw mut ffi::PyMemberDescr_Type;
        let m = if member {
            (*(d as *mut MemberDescr)).d_member
        } else {
            ptr::null_mut()
        };
        ffi::Py_DECREF(d);
        if m.is_null() || (*m).type_code != ffi::Py_T_OBJECT_EX {
            return Ok(false);
        }
        let off = (*m).offset as usize;
        if off < std::mem::size_of::<ffi::PyObject>() || off + 8 > basic {
            return Ok(false);
        }
        OFFSETS[i] = off;
    }
    // Build one from the reference's arguments and compare every slot.
    let mut values = [ptr::null_mut(); 7];
    for i in 0..SLOTS.len() {
        values[i] = ffi::PyObject_GetAttr(reference, NAMES[i]);
    }
    let mut same = values.iter().all(|v| !v.is_null());
    if same {
        HANDLE = tp;
        let h = make(
            values[CALLBACK],
            values[ARGS],
            values[LOOP],
            values[CONTEXT],
        );
        HANDLE = ptr::null_mut();
        if h.is_null() {
            same = false;
        } else {
            for i in 0..SLOTS.len() {
                let v = ffi::PyObject_GetAttr(h, NAMES[i]);
                same &=
                    !v.is_null() && ffi::PyObject_RichCompareBool(v, values[i], ffi::Py_EQ) == 1;
                ffi::Py_XDECREF(v);
            }
            ffi::Py_DECREF(h);
        }
    }
    ffi::PyErr_Clear();
    for v in values {
        ffi::Py_XDECREF(v);
    }
    if same {
        HANDLE = tp;
    }
    Ok(same)
}

/// A new `Handle(callback, args, loop, context)` for a loop not in debug mode.
unsafe fn make(
    callback: *mut ffi::PyObject,
    args: *mut ffi::PyObject,
    lp: *mut ffi::PyObject,
    context: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    let tp = HANDLE;
    let alloc = (*tp).tp_alloc.unwrap_or(ffi::PyType_GenericAlloc);
    let h = alloc(tp, 0);
    if h.is_null() {
        return h;
    }
    let none = ffi::Py_None();
    let values = [
        (CALLBACK, callback),
        (ARGS, args),
        (CANCELLED, ffi::Py_False()),
        (LOOP, lp),
        (SOURCE_TRACEBACK, none),
        (REPR, none),
        (CONTEXT, context),
    ];
    for (i, v) in values {
        let slot = (h as *mut u8).add(OFFSETS[i]) as *mut *mut ffi::PyObject;
        crate::debug_check!((*slot).is_null());
        *slot = ffi::Py_NewRef(v);
    }
    h
}

/// `handle._callback` read from its slot when `handle` is exactly an `asyncio.Handle` and
/// the native path is on (borrowed; null when the slot is unset); `None` for anything
/// else, which then needs a real attribute lookup.
#[inline]
pub unsafe fn exact_callback(handle: *mut ffi::PyObject) -> Option<*mut ffi::PyObject> {
    let tp = HANDLE;
    if tp.is_null() || ffi::Py_TYPE(handle) != tp {
        return None;
    }
    Some(*((handle as *mut u8).add(OFFSETS[CALLBACK]) as *mut *mut ffi::PyObject))
}

/// Is `obj` exactly a `collections.deque` (as configured)?
#[inline]
pub unsafe fn is_deque(obj: *mut ffi::PyObject) -> bool {
    !DEQUE.is_null() && ffi::Py_TYPE(obj) as *mut ffi::PyObject == DEQUE
}

/// Whether `lp.call_soon` is asyncio's own or the scheduling loops' native one (however
/// it is looked up); `Err` with an exception set.
unsafe fn call_soon_is_base(lp: *mut ffi::PyObject) -> Result<bool, ()> {
    let bound = ffi::PyObject_GetAttr(lp, S_CALL_SOON);
    if bound.is_null() {
        return Err(());
    }
    let plain = crate::method::is_bound(bound, BASE_CALL_SOON, lp)
        || (!LOOP_CALL_SOON_DEF.is_null()
            && ffi::PyCFunction_Check(bound) != 0
            && (*(bound as *mut ffi::PyCFunctionObject)).m_ml == LOOP_CALL_SOON_DEF
            && ffi::PyCFunction_GET_SELF(bound) == lp);
    ffi::Py_DECREF(bound);
    Ok(plain)
}

/// `lp.call_soon(callback, context=context)` (context may be null); the new handle.
pub unsafe fn call_soon(
    lp: *mut ffi::PyObject,
    callback: *mut ffi::PyObject,
    context: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    if !context.is_null() && !HANDLE.is_null() {
        match call_soon_is_base(lp) {
            Err(()) => return ptr::null_mut(),
            Ok(false) => {}
            Ok(true) => match plain_ready(lp) {
                Err(()) => return ptr::null_mut(),
                Ok(ready) if !ready.is_null() => {
                    let empty = ffi::PyTuple_New(0);
                    let h = if empty.is_null() {
                        empty
                    } else {
                        let h = append_new(ready, callback, empty, lp, context);
                        ffi::Py_DECREF(empty);
                        h
                    };
                    ffi::Py_DECREF(ready);
                    return h;
                }
                Ok(_) => {}
            },
        }
    }
    let argv = [lp, callback, context];
    if context.is_null() {
        ffi::PyObject_VectorcallMethod(S_CALL_SOON, argv.as_ptr(), 2, ptr::null_mut())
    } else {
        ffi::PyObject_VectorcallMethod(S_CALL_SOON, argv.as_ptr(), 2, CONTEXT_KWNAMES)
    }
}

/// Whether the native path is on (for tests).
pub fn enabled() -> bool {
    unsafe { !HANDLE.is_null() }
}

// ---- `call_soon` for the scheduling loops -------------------------------------------------

/// `loop._ready` when the loop is neither closed nor in debug mode and its class keeps
/// asyncio's `_call_soon` (which is `self._ready.append(Handle(...))`). New reference,
/// null if not applicable (no exception set), or `Err` with an exception.
unsafe fn plain_ready(lp: *mut ffi::PyObject) -> Result<*mut ffi::PyObject, ()> {
    if HANDLE.is_null() {
        return Ok(ptr::null_mut());
    }
    let tp = ffi::Py_TYPE(lp);
    let (known, tag) = PLAIN_TYPE;
    if known != tp || tag != (*tp).tp_version_tag || tag == 0 {
        let m = ffi::PyObject_GetAttr(tp as *mut ffi::PyObject, S_CALL_SOON_IMPL);
        if m.is_null() {
            ffi::PyErr_Clear();
            return Ok(ptr::null_mut());
        }
        ffi::Py_DECREF(m);
        if m != BASE_CALL_SOON_IMPL || (*tp).tp_version_tag == 0 {
            return Ok(ptr::null_mut());
        }
        PLAIN_TYPE = (tp, (*tp).tp_version_tag);
    }
    for name in [S_CLOSED, S_DEBUG] {
        let v = ffi::PyObject_GetAttr(lp, name);
        if v.is_null() {
            ffi::PyErr_Clear();
            return Ok(ptr::null_mut());
        }
        let set = v != ffi::Py_False();
        ffi::Py_DECREF(v);
        if set {
            return Ok(ptr::null_mut());
        }
    }
    let ready = ffi::PyObject_GetAttr(lp, S_READY);
    if ready.is_null() {
        return Err(());
    }
    Ok(ready)
}

/// `Handle(callback, args, lp, context)` appended to `ready`; the handle.
unsafe fn append_new(
    ready: *mut ffi::PyObject,
    callback: *mut ffi::PyObject,
    args: *mut ffi::PyObject,
    lp: *mut ffi::PyObject,
    context: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    let h = make(callback, args, lp, context);
    if h.is_null() {
        return h;
    }
    let r = if ffi::Py_TYPE(ready) as *mut ffi::PyObject == DEQUE {
        let argv = [ready, h];
        ffi::PyObject_Vectorcall(DEQUE_APPEND, argv.as_ptr(), 2, ptr::null_mut())
    } else {
        // Another ready queue (the priority loops'): its own append.
        ffi::PyObject_CallMethodOneArg(ready, S_APPEND, h)
    };
    if r.is_null() {
        ffi::Py_DECREF(h);
        return r;
    }
    ffi::Py_DECREF(r);
    h
}

/// `BaseEventLoop.call_soon(self, *args, **kwargs)`.
unsafe fn base_call_soon(
    slf: *mut ffi::PyObject,
    args: *const *mut ffi::PyObject,
    nargs: usize,
    kwnames: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    let nkw = if kwnames.is_null() {
        0
    } else {
        ffi::PyTuple_GET_SIZE(kwnames) as usize
    };
    let mut argv = Vec::with_capacity(1 + nargs + nkw);
    argv.push(slf);
    argv.extend_from_slice(std::slice::from_raw_parts(args, nargs + nkw));
    ffi::PyObject_Vectorcall(BASE_CALL_SOON, argv.as_ptr(), 1 + nargs, kwnames)
}

/// `loop.call_soon(callback, *args, context=None)` of the scheduling loops: what
/// `BaseEventLoop.call_soon` does, with the Handle built natively while the loop is not
/// closed, not in debug mode and keeps asyncio's `_call_soon`; anything else (and every
/// error) is `BaseEventLoop.call_soon` itself.
unsafe extern "C" fn loop_call_soon(
    slf: *mut ffi::PyObject,
    args: *const *mut ffi::PyObject,
    nargs: ffi::Py_ssize_t,
    kwnames: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    let n = nargs as usize;
    let nkw = if kwnames.is_null() {
        0
    } else {
        ffi::PyTuple_GET_SIZE(kwnames) as usize
    };
    let kw_ok = nkw == 0
        || (nkw == 1
            && crate::strings::kw_is(ffi::PyTuple_GET_ITEM(kwnames, 0), crate::strings::context()));
    if n == 0 || !kw_ok {
        return base_call_soon(slf, args, n, kwnames);
    }
    let ready = match plain_ready(slf) {
        Err(()) => return ptr::null_mut(),
        Ok(r) if r.is_null() => return base_call_soon(slf, args, n, kwnames),
        Ok(r) => r,
    };
    let mut context = if nkw == 1 {
        *args.add(n)
    } else {
        ptr::null_mut()
    };
    if context == ffi::Py_None() {
        context = ptr::null_mut();
    }
    let context = if context.is_null() {
        ffi::PyContext_CopyCurrent()
    } else {
        ffi::Py_NewRef(context)
    };
    let cb_args = if context.is_null() {
        ptr::null_mut()
    } else {
        let t = ffi::PyTuple_New(nargs - 1);
        if !t.is_null() {
            for i in 1..n {
                ffi::PyTuple_SET_ITEM(t, (i - 1) as ffi::Py_ssize_t, ffi::Py_NewRef(*args.add(i)));
            }
        }
        t
    };
    let h = if cb_args.is_null() {
        ptr::null_mut()
    } else {
        append_new(ready, *args, cb_args, slf, context)
    };
    ffi::Py_XDECREF(cb_args);
    ffi::Py_XDECREF(context);
    ffi::Py_DECREF(ready);
    h
}

/// The `call_soon` method descriptor for loop classes deriving from `base`
/// (`asyncio.BaseEventLoop`).
pub unsafe fn make_loop_call_soon(base: *mut ffi::PyObject) -> *mut ffi::PyObject {
    if ffi::PyType_Check(base) == 0 {
        ffi::PyErr_SetString(ffi::PyExc_TypeError, c"expected a class".as_ptr());
        return ptr::null_mut();
    }
    if BASE_CALL_SOON.is_null() {
        ffi::PyErr_SetString(
            ffi::PyExc_RuntimeError,
            c"_configure_handles() must be called first".as_ptr(),
        );
        return ptr::null_mut();
    }
    if !LOOP_CALL_SOON_DEF.is_null() {
        return ffi::PyDescr_NewMethod(base as *mut ffi::PyTypeObject, LOOP_CALL_SOON_DEF);
    }
    let def: &'static mut ffi::PyMethodDef = Box::leak(Box::new(ffi::PyMethodDef {
        ml_name: c"call_soon".as_ptr(),
        ml_meth: ffi::PyMethodDefPointer {
            PyCFunctionFastWithKeywords: loop_call_soon,
        },
        ml_flags: ffi::METH_FASTCALL | ffi::METH_KEYWORDS,
        ml_doc: c"call_soon($self, callback, *args, context=None)\n--\n\nArrange for a callback to be called as soon as possible (BaseEventLoop.call_soon; the Handle is built natively)."
            .as_ptr(),
    }));
    LOOP_CALL_SOON_DEF = def;
    ffi::PyDescr_NewMethod(base as *mut ffi::PyTypeObject, def)
}
