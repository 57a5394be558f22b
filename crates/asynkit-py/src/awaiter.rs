//! The awaiter a CoroStart's `__await__` returns (`CoroStartWrapper`).
//!
//! Its first iteration hands over what the start left behind (the identical suspension
//! value, the return value, or the exception); every later step goes straight to the
//! coroutine, inside the CoroStart's context. It has a real `am_send` slot, so a
//! coroutine awaiting it on 3.10/3.11 never builds a StopIteration for the result.
use crate::corostart::{CoroStart, CONTINUED, DONE_EXC, DONE_RESULT, PENDING};
use crate::pyerr;
use crate::step::{self, PySendResult};
use pyo3::ffi;
use std::os::raw::{c_int, c_void};
use std::ptr;

#[repr(C)]
pub struct Awaiter {
    ob_base: ffi::PyObject,
    start: *mut CoroStart,
    /// Not iterated yet: the next step consumes the held state.
    first: bool,
    /// Finished by throw()/close() before its first step (like a generator would).
    dead: bool,
}

static mut TYPE: *mut ffi::PyTypeObject = ptr::null_mut();
/// `CoroStartContinuation`: the same object presented as a coroutine (see `new_continuation`).
static mut CONT_TYPE: *mut ffi::PyTypeObject = ptr::null_mut();

extern "C" {
    // Exported by CPython 3.10-3.14 (PyObject_GC_New is a macro over it).
    fn _PyObject_GC_New(tp: *mut ffi::PyTypeObject) -> *mut ffi::PyObject;
}

pub unsafe fn new(start: *mut CoroStart) -> *mut ffi::PyObject {
    new_of(TYPE, start)
}

/// The continuation of a suspended start as a coroutine-like object for a Task
/// (registered as `collections.abc.Coroutine`): the awaiter with `__await__` and the
/// wrapped coroutine's `cr_*`/`__name__`/`__qualname__`, so a Task's repr and
/// `get_stack()` show the user's coroutine. Like a not-yet-started `as_coroutine()`,
/// a `throw()` before its first step comes straight back out and leaves the coroutine
/// suspended.
pub unsafe fn new_continuation(start: *mut CoroStart) -> *mut ffi::PyObject {
    new_of(CONT_TYPE, start)
}

unsafe fn new_of(tp: *mut ffi::PyTypeObject, start: *mut CoroStart) -> *mut ffi::PyObject {
    let mut obj = crate::gc::FreeList::pop(free_list(tp), tp);
    if obj.is_null() {
        obj = _PyObject_GC_New(tp);
    }
    if obj.is_null() {
        return ptr::null_mut();
    }
    let a = obj as *mut Awaiter;
    ffi::Py_INCREF(start as *mut ffi::PyObject);
    (*a).start = start;
    (*a).first = true;
    (*a).dead = false;
    ffi::PyObject_GC_Track(obj as *mut c_void);
    obj
}

/// Is `obj` a continuation not stepped yet whose start is suspended on a bare yield?
pub unsafe fn first_is_none(obj: *mut ffi::PyObject) -> bool {
    if ffi::Py_TYPE(obj) != CONT_TYPE {
        return false;
    }
    let a = obj as *mut Awaiter;
    let s = (*a).start;
    (*a).first
        && !(*a).dead
        && !s.is_null()
        && (*s).state == PENDING
        && (*s).value == ffi::Py_None()
}

/// Hand over the `None` of such a continuation as its first step would (the next step goes
/// to the coroutine); false (and nothing done) if it is not one.
pub unsafe fn take_first_none(obj: *mut ffi::PyObject) -> bool {
    if !first_is_none(obj) {
        return false;
    }
    let a = obj as *mut Awaiter;
    let s = (*a).start;
    (*a).first = false;
    (*s).value = ptr::null_mut();
    (*s).state = CONTINUED;
    ffi::Py_DECREF(ffi::Py_None());
    true
}

/// One step: `send(arg)`.
unsafe fn send_impl(
    a: *mut Awaiter,
    arg: *mut ffi::PyObject,
    out: &mut *mut ffi::PyObject,
) -> PySendResult {
    let s = (*a).start;
    crate::debug_check!(!s.is_null(), "awaiter stepped after tp_clear");
    if (*a).first {
        if arg != ffi::Py_None() {
            pyerr::set_string(
                ffi::PyExc_TypeError,
                c"can't send non-None value to a just-started coroutine",
            );
            return PySendResult::PYGEN_ERROR;
        }
        (*a).first = false;
        let state = (*s).state;
        let value = (*s).value;
        match state {
            PENDING | DONE_RESULT | DONE_EXC => {
                (*s).value = ptr::null_mut();
                (*s).state = CONTINUED;
                if state == DONE_EXC {
                    pyerr::restore(value);
                    return PySendResult::PYGEN_ERROR;
                }
                *out = value;
                return if state == PENDING {
                    PySendResult::PYGEN_NEXT
                } else {
                    PySendResult::PYGEN_RETURN
                };
            }
            _ => (*s).state = CONTINUED,
        }
    } else if (*a).dead {
        ffi::Py_INCREF(ffi::Py_None());
        *out = ffi::Py_None();
        return PySendResult::PYGEN_RETURN;
    }
    step::send((*s).coro, (*s).context, arg, out)
}

unsafe extern "C" fn am_send(
    obj: *mut ffi::PyObject,
    arg: *mut ffi::PyObject,
    out: *mut *mut ffi::PyObject,
) -> PySendResult {
    send_impl(obj as *mut Awaiter, arg, &mut *out)
}

unsafe extern "C" fn tp_iternext(obj: *mut ffi::PyObject) -> *mut ffi::PyObject {
    let mut out = ptr::null_mut();
    match send_impl(obj as *mut Awaiter, ffi::Py_None(), &mut out) {
        PySendResult::PYGEN_NEXT => out,
        PySendResult::PYGEN_RETURN => {
            // NULL without an exception means "returned None" for tp_iternext.
            if out != ffi::Py_None() {
                pyerr::set_stop_iteration(out);
            }
            ffi::Py_DECREF(out);
            ptr::null_mut()
        }
        PySendResult::PYGEN_ERROR => ptr::null_mut(),
    }
}

/// Turn a step result into a method result: yielded value, or StopIteration.
unsafe fn finish(r: PySendResult, out: *mut ffi::PyObject) -> *mut ffi::PyObject {
    match r {
        PySendResult::PYGEN_NEXT => out,
        PySendResult::PYGEN_RETURN => {
            pyerr::set_stop_iteration(out);
            ffi::Py_DECREF(out);
            ptr::null_mut()
        }
        PySendResult::PYGEN_ERROR => ptr::null_mut(),
    }
}

unsafe extern "C" fn m_send(
    obj: *mut ffi::PyObject,
    arg: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    let mut out = ptr::null_mut();
    let r = send_impl(obj as *mut Awaiter, arg, &mut out);
    finish(r, out)
}

/// Normalise `throw(type[, value[, tb]])` / `throw(exc)` to one exception instance.
pub unsafe fn normalise_throw(args: &[*mut ffi::PyObject]) -> *mut ffi::PyObject {
    if args.is_empty() || args.len() > 3 {
        return pyerr::type_error(format!(
            "throw expected at most 3 arguments, got {}",
            args.len()
        ));
    }
    let typ = args[0];
    let val = args.get(1).copied().filter(|v| *v != ffi::Py_None());
    let tb = args.get(2).copied().filter(|v| *v != ffi::Py_None());
    if let Some(tb) = tb {
        if ffi::PyTraceBack_Check(tb) == 0 {
            return pyerr::type_error("throw() third argument must be a traceback object".into());
        }
    }
    let exc = if ffi::PyExceptionInstance_Check(typ) != 0 {
        if val.is_some() {
            return pyerr::type_error("instance exception may not have a separate value".into());
        }
        ffi::Py_INCREF(typ);
        typ
    } else if ffi::PyExceptionClass_Check(typ) != 0 {
        match val {
            Some(v) if ffi::PyObject_TypeCheck(v, typ as *mut ffi::PyTypeObject) != 0 => {
                ffi::Py_INCREF(v);
                v
            }
            Some(v) if ffi::PyTuple_Check(v) != 0 => ffi::PyObject_Call(typ, v, ptr::null_mut()),
            Some(v) => ffi::PyObject_CallOneArg(typ, v),
            None => ffi::PyObject_CallNoArgs(typ),
        }
    } else {
        return pyerr::type_error(format!(
            "exceptions must be classes or instances deriving from BaseException, not {}",
            pyerr::type_name(typ)
        ));
    };
    if !exc.is_null() {
        if let Some(tb) = tb {
            ffi::PyException_SetTraceback(exc, tb);
        }
    }
    exc
}

unsafe extern "C" fn m_throw(
    obj: *mut ffi::PyObject,
    args: *mut *mut ffi::PyObject,
    nargs: ffi::Py_ssize_t,
) -> *mut ffi::PyObject {
    let a = obj as *mut Awaiter;
    let exc = normalise_throw(std::slice::from_raw_parts(args, nargs as usize));
    if exc.is_null() {
        return ptr::null_mut();
    }
    if (*a).first || (*a).dead {
        // Like a generator that has not started (or has finished): the exception comes
        // straight back out and the awaiter is finished; the coroutine is not touched.
        (*a).first = false;
        (*a).dead = true;
        pyerr::restore(exc);
        return ptr::null_mut();
    }
    let s = (*a).start;
    let mut out = ptr::null_mut();
    let r = step::throw((*s).coro, (*s).context, exc, &mut out);
    ffi::Py_DECREF(exc);
    finish(r, out)
}

unsafe extern "C" fn m_close(obj: *mut ffi::PyObject, _: *mut ffi::PyObject) -> *mut ffi::PyObject {
    let a = obj as *mut Awaiter;
    let was_live = !(*a).first && !(*a).dead;
    (*a).first = false;
    (*a).dead = true;
    if was_live {
        let s = (*a).start;
        let res = step::close((*s).coro, (*s).context);
        if res.is_null() {
            return ptr::null_mut();
        }
        ffi::Py_DECREF(res);
    }
    ffi::Py_INCREF(ffi::Py_None());
    ffi::Py_None()
}

unsafe extern "C" fn tp_iter(obj: *mut ffi::PyObject) -> *mut ffi::PyObject {
    ffi::Py_INCREF(obj);
    obj
}

unsafe extern "C" fn tp_traverse(
    obj: *mut ffi::PyObject,
    visit: ffi::visitproc,
    arg: *mut c_void,
) -> c_int {
    let x = obj as *mut Awaiter;
    crate::gc::visit_refs(obj, &[(*x).start as *mut ffi::PyObject], visit, arg)
}

unsafe extern "C" fn tp_clear(obj: *mut ffi::PyObject) -> c_int {
    let a = obj as *mut Awaiter;
    let s = (*a).start;
    (*a).start = ptr::null_mut();
    ffi::Py_XDECREF(s as *mut ffi::PyObject);
    0
}

/// One free list per type (the awaiter and the continuation).
static mut FREE: crate::gc::FreeList = crate::gc::FreeList::new();
static mut FREE_CONT: crate::gc::FreeList = crate::gc::FreeList::new();

fn free_list(tp: *mut ffi::PyTypeObject) -> *mut crate::gc::FreeList {
    unsafe {
        if tp == CONT_TYPE {
            &raw mut FREE_CONT
        } else {
            &raw mut FREE
        }
    }
}

unsafe extern "C" fn tp_dealloc(obj: *mut ffi::PyObject) {
    crate::gc::FreeList::dealloc(free_list(ffi::Py_TYPE(obj)), obj, tp_clear);
}

/// `getattr(wrapped coroutine, name)` for the continuation's forwarded attributes.
unsafe extern "C" fn get_forwarded(
    obj: *mut ffi::PyObject,
    name: *mut c_void,
) -> *mut ffi::PyObject {
    let s = (*(obj as *mut Awaiter)).start;
    let name = *(name as *const *mut ffi::PyObject);
    if s.is_null() || (*s).coro.is_null() {
        ffi::PyErr_SetObject(ffi::PyExc_AttributeError, name);
        return ptr::null_mut();
    }
    ffi::PyObject_GetAttr((*s).coro, name)
}

const FORWARDED: [&std::ffi::CStr; 7] = [
    c"cr_frame",
    c"cr_code",
    c"cr_running",
    c"cr_await",
    c"cr_suspended",
    c"__name__",
    c"__qualname__",
];

pub unsafe fn init(module: *mut ffi::PyObject) -> *mut ffi::PyObject {
    let tp = init_type(module, false);
    if tp.is_null() {
        return tp;
    }
    TYPE = tp as *mut ffi::PyTypeObject;
    tp
}

/// The `CoroStartContinuation` type.
pub unsafe fn init_continuation(module: *mut ffi::PyObject) -> *mut ffi::PyObject {
    let tp = init_type(module, true);
    if tp.is_null() {
        return tp;
    }
    CONT_TYPE = tp as *mut ffi::PyTypeObject;
    tp
}

unsafe fn init_type(module: *mut ffi::PyObject, continuation: bool) -> *mut ffi::PyObject {
    use crate::pytype::{self, method, slot};
    use ffi::PyMethodDefPointer as M;
    let mut slots = pytype::gc_slots(tp_dealloc, tp_traverse, tp_clear).to_vec();
    slots.extend([
        slot(ffi::Py_tp_iter, tp_iter as *mut c_void),
        slot(ffi::Py_tp_iternext, tp_iternext as *mut c_void),
        slot(ffi::Py_am_send, am_send as *mut c_void),
        pytype::methods_slot(vec![
            method(
                c"send",
                M {
                    PyCFunction: m_send,
                },
                ffi::METH_O,
                c"send(value) -> next yielded value or raise StopIteration.",
            ),
            method(
                c"throw",
                M {
                    PyCFunctionFast: m_throw,
                },
                ffi::METH_FASTCALL,
                c"throw(exc) -> raise exception in the coroutine.",
            ),
            method(
                c"close",
                M {
                    PyCFunction: m_close,
                },
                ffi::METH_NOARGS,
                c"close() -> close the coroutine (in the context).",
            ),
        ]),
    ]);
    if continuation {
        let mut getset = Vec::new();
        for name in FORWARDED {
            let key: &'static mut *mut ffi::PyObject =
                Box::leak(Box::new(ffi::PyUnicode_InternFromString(name.as_ptr())));
            if key.is_null() {
                return ptr::null_mut();
            }
            let closure = key as *mut *mut ffi::PyObject as *mut c_void;
            getset.push(pytype::getset(name, get_forwarded, None, closure));
        }
        slots.push(pytype::getsets_slot(getset));
        slots.push(slot(ffi::Py_am_await, tp_iter as *mut c_void));
    }
    let name = if continuation {
        c"asynkit._asynkit.CoroStartContinuation"
    } else {
        c"asynkit._asynkit.CoroStartWrapper"
    };
    let flags =
        ffi::Py_TPFLAGS_DEFAULT | ffi::Py_TPFLAGS_HAVE_GC | ffi::Py_TPFLAGS_DISALLOW_INSTANTIATION;
    pytype::new_type(
        module,
        name,
        std::mem::size_of::<Awaiter>(),
        flags,
        slots,
        ptr::null_mut(),
    )
}
