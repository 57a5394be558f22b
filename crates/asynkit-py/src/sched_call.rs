//! `asynkit.scheduling.task_switch` / `sleep_insert` as native coroutine functions.
//!
//! `SchedFunction` is function-like: it forwards every attribute it does not define to the
//! Python reference `async def` it stands for (`__code__`, `__defaults__`, `__name__`,
//! `__doc__`, ...), so `inspect.iscoroutinefunction()` and `inspect.signature()` see that
//! function. Calling it makes a `SchedCall`, a coroutine-like object (registered as a
//! `collections.abc.Coroutine`) that does nothing until it is first sent to, like a
//! coroutine; then, on a loop whose ready queue `asynkit.scheduling` handles directly
//! (its `_fast_loop()` / `_plain_loop()`), it does the whole operation natively and yields
//! once. Anywhere else it delegates to the Python reference coroutine, so both paths share
//! one definition of the behaviour.
use crate::pyerr;
use crate::scheduling;
use crate::step;
use pyo3::ffi;
use pyo3::ffi::PySendResult;
use std::os::raw::{c_int, c_void};
use std::ptr;

const SWITCH: u8 = 0;
const SLEEP_INSERT: u8 = 1;

const NEW: u8 = 0;
const YIELDED: u8 = 1;
const DONE: u8 = 2;
const DELEGATING: u8 = 3;

static mut FUNC_TYPE: *mut ffi::PyTypeObject = ptr::null_mut();
static mut CALL_TYPE: *mut ffi::PyTypeObject = ptr::null_mut();
static mut S_FAST_LOOP: *mut ffi::PyObject = ptr::null_mut();
static mut S_PLAIN_LOOP: *mut ffi::PyObject = ptr::null_mut();
static mut S_READY: *mut ffi::PyObject = ptr::null_mut();
static mut S_DEBUG: *mut ffi::PyObject = ptr::null_mut();
/// The module's `_fast_loop` / `_plain_loop` functions (see `loop_memo.rs`).
static mut MEMO_FUNCTIONS: [*mut ffi::PyObject; 2] = [ptr::null_mut(); 2];

#[repr(C)]
struct Func {
    ob_base: ffi::PyObject,
    vectorcall: Option<ffi::vectorcallfunc>,
    kind: u8,
    /// The Python reference `async def` (attributes and the delegated path).
    reference: *mut ffi::PyObject,
}

#[repr(C)]
struct Call {
    ob_base: ffi::PyObject,
    kind: u8,
    state: u8,
    reference: *mut ffi::PyObject,
    /// task_switch: the target task; sleep_insert: unused.
    task: *mut ffi::PyObject,
    /// task_switch: insert_pos (None); sleep_insert: pos.
    pos: *mut ffi::PyObject,
    /// The reference coroutine while delegating.
    sub: *mut ffi::PyObject,
}

pub unsafe fn configure() -> bool {
    if S_FAST_LOOP.is_null() {
        S_FAST_LOOP = ffi::PyUnicode_InternFromString(c"_fast_loop".as_ptr());
        S_PLAIN_LOOP = ffi::PyUnicode_InternFromString(c"_plain_loop".as_ptr());
        S_READY = ffi::PyUnicode_InternFromString(c"_ready".as_ptr());
        S_DEBUG = ffi::PyUnicode_InternFromString(c"_debug".as_ptr());
    }
    let names = [S_FAST_LOOP, S_PLAIN_LOOP, S_READY, S_DEBUG];
    if names.iter().any(|p| p.is_null()) {
        return false;
    }
    // The memo functions the module globals hold now (compared by identity later).
    for (i, name) in [S_FAST_LOOP, S_PLAIN_LOOP].into_iter().enumerate() {
        let f = ffi::PyDict_GetItemWithError(scheduling::module_globals(), name);
        if f.is_null() {
            ffi::PyErr_Clear();
        } else {
            pyerr::set_static(&raw mut MEMO_FUNCTIONS[i], f);
        }
    }
    true
}

pub unsafe fn new_function(kind: u8, reference: *mut ffi::PyObject) -> *mut ffi::PyObject {
    let obj = ffi::PyType_GenericAlloc(FUNC_TYPE, 0);
    if !obj.is_null() {
        let f = obj as *mut Func;
        (*f).vectorcall = Some(func_call);
        (*f).kind = kind;
        (*f).reference = ffi::Py_NewRef(reference);
    }
    obj
}

/// `task_switch(task, insert_pos=None)` / `sleep_insert(pos)`: a new `SchedCall`.
unsafe extern "C" fn func_call(
    callable: *mut ffi::PyObject,
    args: *const *mut ffi::PyObject,
    nargsf: usize,
    kwnames: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    let f = callable as *mut Func;
    let nargs = ffi::PyVectorcall_NARGS(nargsf) as usize;
    let nkw = if kwnames.is_null() {
        0
    } else {
        ffi::PyTuple_GET_SIZE(kwnames) as usize
    };
    let (task, pos) = match ((*f).kind, nargs, nkw) {
        (SWITCH, 1, 0) => (*args, ffi::Py_None()),
        (SWITCH, 2, 0) => (*args, *args.add(1)),
        (SLEEP_INSERT, 1, 0) => (ffi::Py_None(), *args),
        // keywords, wrong counts: the reference function binds (and reports) them
        _ => {
            let sub = ffi::PyObject_Vectorcall((*f).reference, args, nargsf, kwnames);
            if sub.is_null() {
                return sub;
            }
            let c = new_call(f, ffi::Py_None(), ffi::Py_None());
            if !c.is_null() {
                (*(c as *mut Call)).sub = sub;
                (*(c as *mut Call)).state = DELEGATING;
            } else {
                ffi::Py_DECREF(sub);
            }
            return c;
        }
    };
    new_call(f, task, pos)
}

unsafe fn new_call(
    f: *mut Func,
    task: *mut ffi::PyObject,
    pos: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    let obj = ffi::PyType_GenericAlloc(CALL_TYPE, 0);
    if !obj.is_null() {
        let c = obj as *mut Call;
        (*c).kind = (*f).kind;
        (*c).state = NEW;
        (*c).reference = ffi::Py_NewRef((*f).reference);
        (*c).task = ffi::Py_NewRef(task);
        (*c).pos = ffi::Py_NewRef(pos);
    }
    obj
}

/// `scheduling.<name>()` (the remembered loop) is `lp`: asked natively while the module
/// global is the native memo function, else by calling it.
unsafe fn remembered(name: *mut ffi::PyObject, lp: *mut ffi::PyObject) -> Result<bool, ()> {
    let getter = ffi::PyDict_GetItemWithError(scheduling::module_globals(), name);
    if getter.is_null() {
        return if ffi::PyErr_Occurred().is_null() {
            Ok(false)
        } else {
            Err(())
        };
    }
    let kind = if name == S_FAST_LOOP {
        crate::loop_memo::FAST
    } else {
        crate::loop_memo::PLAIN
    };
    if getter == MEMO_FUNCTIONS[kind] {
        return Ok(crate::loop_memo::is(kind, lp));
    }
    let r = ffi::PyObject_CallNoArgs(getter);
    if r.is_null() {
        return Err(());
    }
    ffi::Py_DECREF(r);
    Ok(r == lp)
}

/// The first step: `Ok(true)` done natively (yield once), `Ok(false)` delegate.
unsafe fn first_step(c: *mut Call) -> Result<bool, ()> {
    let lp = crate::running_loop::get();
    if lp.is_null() {
        return Err(());
    }
    let r = first_step_on(c, lp);
    ffi::Py_DECREF(lp);
    r
}

unsafe fn first_step_on(c: *mut Call, lp: *mut ffi::PyObject) -> Result<bool, ()> {
    if (*c).kind == SWITCH && !remembered(S_FAST_LOOP, lp)? {
        return Ok(false);
    }
    let insert_pos = (*c).pos;
    let needs_head = (*c).kind == SLEEP_INSERT || insert_pos != ffi::Py_None();
    if needs_head {
        // The head callback is queued directly only where call_soon is asyncio's own and
        // the loop is not in debug mode.
        if !remembered(S_PLAIN_LOOP, lp)? {
            return Ok(false);
        }
        let debug = ffi::PyObject_GetAttr(lp, S_DEBUG);
        if debug.is_null() {
            return Err(());
        }
        let truth = ffi::PyObject_IsTrue(debug);
        ffi::Py_DECREF(debug);
        match truth {
            0 => {}
            1 => return Ok(false),
            _ => return Err(()),
        }
    }
    let ready = ffi::PyObject_GetAttr(lp, S_READY);
    if ready.is_null() {
        return Err(());
    }
    let r = (|| {
        if (*c).kind == SWITCH && !scheduling::move_to(ready, (*c).task, 0)? {
            pyerr::set_string(ffi::PyExc_ValueError, c"Task is not scheduled");
            return Err(());
        }
        if needs_head {
            let me = crate::current_task::get(lp, false);
            if me.is_null() {
                return Err(());
            }
            let ok = scheduling::push_head(lp, ready, me, insert_pos);
            ffi::Py_DECREF(me);
            if !ok {
                return Err(());
            }
        }
        Ok(true)
    })();
    ffi::Py_DECREF(ready);
    r
}

unsafe fn start_delegating(c: *mut Call) -> bool {
    let sub = if (*c).kind == SWITCH {
        let argv = [(*c).task, (*c).pos];
        ffi::PyObject_Vectorcall((*c).reference, argv.as_ptr(), 2, ptr::null_mut())
    } else {
        ffi::PyObject_CallOneArg((*c).reference, (*c).pos)
    };
    if sub.is_null() {
        return false;
    }
    (*c).sub = sub;
    (*c).state = DELEGATING;
    true
}

unsafe fn finish(c: *mut Call) {
    (*c).state = DONE;
    ffi::Py_CLEAR(&mut (*c).sub);
}

unsafe fn call_send(
    c: *mut Call,
    arg: *mut ffi::PyObject,
    out: &mut *mut ffi::PyObject,
) -> PySendResult {
    match (*c).state {
        NEW => {
            if arg != ffi::Py_None() {
                pyerr::set_string(
                    ffi::PyExc_TypeError,
                    c"can't send non-None value to a just-started coroutine",
                );
                return PySendResult::PYGEN_ERROR;
            }
            match first_step(c) {
                Ok(true) => {
                    (*c).state = YIELDED;
                    *out = ffi::Py_NewRef(ffi::Py_None());
                    PySendResult::PYGEN_NEXT
                }
                Ok(false) => {
                    if !start_delegating(c) {
                        finish(c);
                        return PySendResult::PYGEN_ERROR;
                    }
                    call_send(c, arg, out)
                }
                Err(()) => {
                    finish(c);
                    PySendResult::PYGEN_ERROR
                }
            }
        }
        YIELDED => {
            finish(c);
            *out = ffi::Py_NewRef(ffi::Py_None());
            PySendResult::PYGEN_RETURN
        }
        DELEGATING => {
            let r = step::send((*c).sub, ptr::null_mut(), arg, out);
            if !matches!(r, PySendResult::PYGEN_NEXT) {
                finish(c);
            }
            r
        }
        _ => {
            pyerr::set_string(
                ffi::PyExc_RuntimeError,
                c"cannot reuse already awaited coroutine",
            );
            PySendResult::PYGEN_ERROR
        }
    }
}

unsafe extern "C" fn call_am_send(
    obj: *mut ffi::PyObject,
    arg: *mut ffi::PyObject,
    out: *mut *mut ffi::PyObject,
) -> PySendResult {
    call_send(obj as *mut Call, arg, &mut *out)
}

unsafe extern "C" fn call_iternext(obj: *mut ffi::PyObject) -> *mut ffi::PyObject {
    let mut out = ptr::null_mut();
    let r = call_send(obj as *mut Call, ffi::Py_None(), &mut out);
    step::as_method_result(r, out, true)
}

unsafe extern "C" fn call_m_send(
    obj: *mut ffi::PyObject,
    arg: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    let mut out = ptr::null_mut();
    let r = call_send(obj as *mut Call, arg, &mut out);
    step::as_method_result(r, out, false)
}

unsafe extern "C" fn call_m_throw(
    obj: *mut ffi::PyObject,
    args: *mut *mut ffi::PyObject,
    nargs: ffi::Py_ssize_t,
) -> *mut ffi::PyObject {
    let c = obj as *mut Call;
    let exc = step::throw_args(args, nargs);
    if exc.is_null() {
        return exc;
    }
    if (*c).state == DELEGATING {
        let mut out = ptr::null_mut();
        let r = step::throw((*c).sub, ptr::null_mut(), exc, &mut out);
        ffi::Py_DECREF(exc);
        if !matches!(r, PySendResult::PYGEN_NEXT) {
            finish(c);
        }
        return step::as_method_result(r, out, false);
    }
    // Raised where the coroutine stands (not started, or at its one yield); nothing in it
    // catches exceptions.
    finish(c);
    pyerr::restore(exc);
    ptr::null_mut()
}

unsafe extern "C" fn call_m_close(
    obj: *mut ffi::PyObject,
    _: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    let c = obj as *mut Call;
    if (*c).state == DELEGATING {
        let r = step::close((*c).sub, ptr::null_mut());
        finish(c);
        return r;
    }
    finish(c);
    ffi::Py_NewRef(ffi::Py_None())
}

unsafe extern "C" fn call_traverse(
    obj: *mut ffi::PyObject,
    visit: ffi::visitproc,
    arg: *mut c_void,
) -> c_int {
    let c = obj as *mut Call;
    crate::gc::visit_refs(
        obj,
        &[(*c).reference, (*c).task, (*c).pos, (*c).sub],
        visit,
        arg,
    )
}

unsafe extern "C" fn call_clear(obj: *mut ffi::PyObject) -> c_int {
    let c = obj as *mut Call;
    ffi::Py_CLEAR(&mut (*c).reference);
    ffi::Py_CLEAR(&mut (*c).task);
    ffi::Py_CLEAR(&mut (*c).pos);
    ffi::Py_CLEAR(&mut (*c).sub);
    0
}

unsafe extern "C" fn call_dealloc(obj: *mut ffi::PyObject) {
    crate::gc::dealloc(obj, call_clear);
}

unsafe extern "C" fn call_repr(obj: *mut ffi::PyObject) -> *mut ffi::PyObject {
    let c = obj as *mut Call;
    let name = if (*c).kind == SWITCH {
        c"task_switch"
    } else {
        c"sleep_insert"
    };
    ffi::PyUnicode_FromFormat(c"<native coroutine %s at %p>".as_ptr(), name.as_ptr(), obj)
}

// ---- the function-like object ---------------------------------------------------------------

unsafe extern "C" fn func_getattro(
    obj: *mut ffi::PyObject,
    name: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    // The function's own identity (name, module, doc, code...) is the reference's.
    if ffi::PyUnicode_Check(name) != 0 {
        let s = std::ffi::CStr::from_ptr(ffi::PyUnicode_AsUTF8(name));
        if matches!(
            s.to_bytes(),
            b"__module__"
                | b"__doc__"
                | b"__name__"
                | b"__qualname__"
                | b"__dict__"
                | b"__annotations__"
        ) {
            return ffi::PyObject_GetAttr((*(obj as *mut Func)).reference, name);
        }
    }
    let r = ffi::PyObject_GenericGetAttr(obj, name);
    if r.is_null() && ffi::PyErr_ExceptionMatches(ffi::PyExc_AttributeError) != 0 {
        ffi::PyErr_Clear();
        return ffi::PyObject_GetAttr((*(obj as *mut Func)).reference, name);
    }
    r
}

unsafe extern "C" fn func_repr(obj: *mut ffi::PyObject) -> *mut ffi::PyObject {
    let f = obj as *mut Func;
    let name = if (*f).kind == SWITCH {
        c"task_switch"
    } else {
        c"sleep_insert"
    };
    ffi::PyUnicode_FromFormat(
        c"<native coroutine function %s at %p>".as_ptr(),
        name.as_ptr(),
        obj,
    )
}

unsafe extern "C" fn func_traverse(
    obj: *mut ffi::PyObject,
    visit: ffi::visitproc,
    arg: *mut c_void,
) -> c_int {
    crate::gc::visit_refs(obj, &[(*(obj as *mut Func)).reference], visit, arg)
}

unsafe extern "C" fn func_clear(obj: *mut ffi::PyObject) -> c_int {
    ffi::Py_CLEAR(&mut (*(obj as *mut Func)).reference);
    0
}

unsafe extern "C" fn func_dealloc(obj: *mut ffi::PyObject) {
    crate::gc::dealloc(obj, func_clear);
}

pub unsafe fn init(module: *mut ffi::PyObject) -> (*mut ffi::PyObject, *mut ffi::PyObject) {
    use crate::pytype::{self, method, slot};
    use ffi::PyMethodDefPointer as M;
    let mut slots = pytype::gc_slots(call_dealloc, call_traverse, call_clear).to_vec();
    slots.extend([
        slot(ffi::Py_tp_repr, call_repr as *mut c_void),
        slot(ffi::Py_tp_iter, step::self_iter as *mut c_void),
        slot(ffi::Py_tp_iternext, call_iternext as *mut c_void),
        slot(ffi::Py_am_await, step::self_iter as *mut c_void),
        slot(ffi::Py_am_send, call_am_send as *mut c_void),
        pytype::methods_slot(vec![
            method(
                c"send",
                M {
                    PyCFunction: call_m_send,
                },
                ffi::METH_O,
                c"",
            ),
            method(
                c"throw",
                M {
                    PyCFunctionFast: call_m_throw,
                },
                ffi::METH_FASTCALL,
                c"",
            ),
            method(
                c"close",
                M {
                    PyCFunction: call_m_close,
                },
                ffi::METH_NOARGS,
                c"",
            ),
        ]),
    ]);
    let flags =
        ffi::Py_TPFLAGS_DEFAULT | ffi::Py_TPFLAGS_HAVE_GC | ffi::Py_TPFLAGS_DISALLOW_INSTANTIATION;
    let call_tp = pytype::new_type(
        module,
        c"asynkit._asynkit.SchedCall",
        std::mem::size_of::<Call>(),
        flags,
        slots,
        ptr::null_mut(),
    );
    if call_tp.is_null() {
        return (ptr::null_mut(), ptr::null_mut());
    }
    CALL_TYPE = call_tp as *mut ffi::PyTypeObject;

    let mut fslots = pytype::gc_slots(func_dealloc, func_traverse, func_clear).to_vec();
    fslots.extend([
        slot(ffi::Py_tp_repr, func_repr as *mut c_void),
        slot(ffi::Py_tp_getattro, func_getattro as *mut c_void),
        slot(ffi::Py_tp_call, ffi::PyVectorcall_Call as *mut c_void),
        pytype::members_slot(vec![
            pytype::member(
                c"__vectorcalloffset__",
                ffi::Py_T_PYSSIZET,
                std::mem::offset_of!(Func, vectorcall),
            ),
            pytype::member(
                c"__wrapped__",
                ffi::Py_T_OBJECT_EX,
                std::mem::offset_of!(Func, reference),
            ),
        ]),
    ]);
    let fflags = ffi::Py_TPFLAGS_DEFAULT
        | ffi::Py_TPFLAGS_HAVE_GC
        | ffi::Py_TPFLAGS_HAVE_VECTORCALL
        | ffi::Py_TPFLAGS_DISALLOW_INSTANTIATION;
    let func_tp = pytype::new_type(
        module,
        c"asynkit._asynkit.SchedFunction",
        std::mem::size_of::<Func>(),
        fflags,
        fslots,
        ptr::null_mut(),
    );
    if func_tp.is_null() {
        return (call_tp, ptr::null_mut());
    }
    FUNC_TYPE = func_tp as *mut ffi::PyTypeObject;
    (call_tp, func_tp)
}

/// Kinds for `_sched_function(kind, reference)`.
pub fn kind_from(name: &str) -> Option<u8> {
    match name {
        "task_switch" => Some(SWITCH),
        "sleep_insert" => Some(SLEEP_INSERT),
        _ => None,
    }
}
