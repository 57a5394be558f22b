//! The native CoroStart base (`asynkit._asynkit.CoroStartBase`).
//!
//! A hand-made heap type with raw slots: a vectorcall constructor, METH_NOARGS methods and
//! an `am_await` that hands out the awaiter (`awaiter.rs`). The Python glue adds the
//! mixin (`throw`, `athrow`, `aclose`, `as_coroutine`, `as_future`, `as_awaitable`) in
//! `asynkit.coroutine._CCoroStart`.
//!
//! State lives in plain fields guarded by the GIL (this module is not free-threading
//! safe and does not declare itself so).
use crate::awaiter;
use crate::pyerr;
use crate::step::{self, PySendResult};
use crate::strings;
use pyo3::ffi;
use std::os::raw::{c_int, c_void};
use std::ptr;

pub const UNSTARTED: u32 = 0;
pub const PENDING: u32 = 1;
pub const DONE_RESULT: u32 = 2;
pub const DONE_EXC: u32 = 3;
pub const CONTINUED: u32 = 4;

#[repr(C)]
pub struct CoroStart {
    pub ob_base: ffi::PyObject,
    /// The object stepped with `PyIter_Send`: the coroutine/generator itself, or the
    /// iterator its `__await__` returned.
    pub coro: *mut ffi::PyObject,
    /// `contextvars.Context` for the continuation, or null.
    pub context: *mut ffi::PyObject,
    /// PENDING: the suspension value; DONE_RESULT: the return value; DONE_EXC: the
    /// exception instance; otherwise null.
    pub value: *mut ffi::PyObject,
    pub state: u32,
}

static mut TYPE: *mut ffi::PyTypeObject = ptr::null_mut();
static mut INVALID_STATE_ERROR: *mut ffi::PyObject = ptr::null_mut();

#[inline]
pub fn type_object() -> *mut ffi::PyTypeObject {
    unsafe { TYPE }
}

/// Replace the held value/state, dropping the old value afterwards (a decref may run
/// arbitrary code, so the object is consistent before it happens).
#[inline]
pub unsafe fn set_state(s: *mut CoroStart, state: u32, value: *mut ffi::PyObject) {
    // A held value exactly in the states that hold one (DONE_RESULT may hold None).
    crate::debug_check!(
        (state == PENDING || state == DONE_RESULT || state == DONE_EXC) != value.is_null(),
        "CoroStart state {state} with value {value:?}"
    );
    crate::debug_check!(state != DONE_EXC || ffi::PyExceptionInstance_Check(value) != 0);
    let old = (*s).value;
    (*s).value = value;
    (*s).state = state;
    ffi::Py_XDECREF(old);
}

/// Keep the outcome of a step.
#[inline(always)]
pub unsafe fn store_outcome(s: *mut CoroStart, r: PySendResult, out: *mut ffi::PyObject) {
    match r {
        PySendResult::PYGEN_NEXT => set_state(s, PENDING, out),
        PySendResult::PYGEN_RETURN => set_state(s, DONE_RESULT, out),
        PySendResult::PYGEN_ERROR => set_state(s, DONE_EXC, raised()),
    }
}

/// The exception a failed step raised, taken out of the error indicator.
#[cold]
#[inline(never)]
unsafe fn raised() -> *mut ffi::PyObject {
    let exc = pyerr::fetch();
    if !exc.is_null() {
        return exc;
    }
    ffi::PyObject_CallOneArg(
        ffi::PyExc_SystemError,
        ffi::PyUnicode_FromString(c"error return without exception set".as_ptr()),
    )
}

/// The object to step for `coro`: coroutines and generators directly, anything else
/// through its `__await__`. New reference, or null with TypeError.
pub unsafe fn resolve_driver(coro: *mut ffi::PyObject) -> *mut ffi::PyObject {
    if ffi::PyCoro_CheckExact(coro) != 0 || ffi::PyGen_Check(coro) != 0 {
        ffi::Py_INCREF(coro);
        return coro;
    }
    let am = (*ffi::Py_TYPE(coro)).tp_as_async;
    if !am.is_null() {
        if let Some(am_await) = (*am).am_await {
            return am_await(coro);
        }
    }
    pyerr::type_error(format!(
        "CoroStart() argument 'coro' must be a coroutine or awaitable, not {}",
        pyerr::type_name(coro)
    ))
}

/// Run the initial step in `ctx` (null: the current context).
pub unsafe fn start_in(s: *mut CoroStart, ctx: *mut ffi::PyObject) -> c_int {
    if !ctx.is_null() && ffi::PyContext_Enter(ctx) < 0 {
        return -1;
    }
    let mut out = ptr::null_mut();
    let r = ffi::PyIter_Send((*s).coro, ffi::Py_None(), &mut out);
    store_outcome(s, r, out);
    if !ctx.is_null() && ffi::PyContext_Exit(ctx) < 0 {
        return -1;
    }
    0
}

unsafe fn check_context(context: *mut ffi::PyObject) -> Result<*mut ffi::PyObject, ()> {
    if context.is_null() || context == ffi::Py_None() {
        Ok(ptr::null_mut())
    } else if ffi::PyContext_CheckExact(context) != 0 {
        Ok(context)
    } else {
        pyerr::type_error(format!(
            "CoroStart() argument 'context' must be a contextvars.Context or None, not {}",
            pyerr::type_name(context)
        ));
        Err(())
    }
}

/// Build an instance of `tp` (CoroStartBase or a subclass).
pub unsafe fn create(
    tp: *mut ffi::PyTypeObject,
    coro: *mut ffi::PyObject,
    context: *mut ffi::PyObject,
    autostart: bool,
) -> *mut ffi::PyObject {
    let Ok(context) = check_context(context) else {
        return ptr::null_mut();
    };
    let driver = resolve_driver(coro);
    if driver.is_null() {
        return ptr::null_mut();
    }
    let obj = crate::fullclass::alloc(tp);
    if obj.is_null() {
        ffi::Py_DECREF(driver);
        return ptr::null_mut();
    }
    let s = obj as *mut CoroStart;
    (*s).coro = driver;
    ffi::Py_XINCREF(context);
    (*s).context = context;
    (*s).value = ptr::null_mut();
    (*s).state = UNSTARTED;
    if autostart && start_in(s, context) < 0 {
        ffi::Py_DECREF(obj);
        return ptr::null_mut();
    }
    obj
}

/// Build a PENDING instance of `tp` around an already stepped driver (steals both).
pub unsafe fn create_pending(
    tp: *mut ffi::PyTypeObject,
    driver: *mut ffi::PyObject,
    value: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    let obj = crate::fullclass::alloc(tp);
    if obj.is_null() {
        ffi::Py_DECREF(driver);
        ffi::Py_DECREF(value);
        return ptr::null_mut();
    }
    let s = obj as *mut CoroStart;
    (*s).coro = driver;
    (*s).context = ptr::null_mut();
    (*s).value = value;
    (*s).state = PENDING;
    obj
}

// ---- argument parsing shared by tp_new and tp_vectorcall ---------------------------------

struct Args {
    coro: *mut ffi::PyObject,
    context: *mut ffi::PyObject,
    autostart: *mut ffi::PyObject,
}

unsafe fn parse_args(
    pos: &[*mut ffi::PyObject],
    kw: &mut dyn Iterator<Item = (*mut ffi::PyObject, *mut ffi::PyObject)>,
) -> Option<Args> {
    if pos.len() > 3 {
        pyerr::type_error(format!(
            "CoroStart() takes at most 3 positional arguments ({} given)",
            pos.len()
        ));
        return None;
    }
    let mut slots = [ptr::null_mut::<ffi::PyObject>(); 3];
    slots[..pos.len()].copy_from_slice(pos);
    let names = [strings::coro(), strings::context(), strings::autostart()];
    for (k, v) in kw {
        let Some(i) = names.iter().position(|&n| strings::kw_is(k, n)) else {
            let name = std::ffi::CStr::from_ptr(ffi::PyUnicode_AsUTF8(k)).to_string_lossy();
            pyerr::type_error(format!(
                "CoroStart() got an unexpected keyword argument '{name}'"
            ));
            return None;
        };
        if !slots[i].is_null() {
            pyerr::type_error("CoroStart() got multiple values for an argument".into());
            return None;
        }
        slots[i] = v;
    }
    if slots[0].is_null() {
        pyerr::type_error("CoroStart() missing required argument 'coro' (pos 1)".into());
        return None;
    }
    Some(Args {
        coro: slots[0],
        context: slots[1],
        autostart: slots[2],
    })
}

unsafe fn create_from_args(tp: *mut ffi::PyTypeObject, a: Args) -> *mut ffi::PyObject {
    let autostart = if a.autostart.is_null() {
        true
    } else {
        match ffi::PyObject_IsTrue(a.autostart) {
            -1 => return ptr::null_mut(),
            v => v != 0,
        }
    };
    create(tp, a.coro, a.context, autostart)
}

unsafe extern "C" fn tp_new(
    tp: *mut ffi::PyTypeObject,
    args: *mut ffi::PyObject,
    kwds: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    let n = ffi::PyTuple_GET_SIZE(args) as usize;
    let pos: Vec<_> = (0..n)
        .map(|i| ffi::PyTuple_GET_ITEM(args, i as ffi::Py_ssize_t))
        .collect();
    let mut items = Vec::new();
    if !kwds.is_null() {
        let (mut p, mut k, mut v) = (0, ptr::null_mut(), ptr::null_mut());
        while ffi::PyDict_Next(kwds, &mut p, &mut k, &mut v) != 0 {
            items.push((k, v));
        }
    }
    match parse_args(&pos, &mut items.into_iter()) {
        Some(a) => create_from_args(tp, a),
        None => ptr::null_mut(),
    }
}

/// Vectorcall constructor, installed on CoroStartBase and on the full class `_CCoroStart`.
pub unsafe extern "C" fn tp_vectorcall(
    callable: *mut ffi::PyObject,
    args: *const *mut ffi::PyObject,
    nargsf: usize,
    kwnames: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    let tp = callable as *mut ffi::PyTypeObject;
    let n = ffi::PyVectorcall_NARGS(nargsf) as usize;
    // Fast path: CoroStart(coro) and CoroStart(coro, context=ctx).
    if kwnames.is_null() && n == 1 {
        if ffi::PyCoro_CheckExact(*args) != 0 && crate::fullclass::is_full(tp) {
            return crate::fullclass::new_started(*args);
        }
        return create(tp, *args, ptr::null_mut(), true);
    }
    let pos = std::slice::from_raw_parts(args, n);
    let nkw = if kwnames.is_null() {
        0
    } else {
        ffi::PyTuple_GET_SIZE(kwnames) as usize
    };
    if n == 1 && nkw == 1 && strings::kw_is(ffi::PyTuple_GET_ITEM(kwnames, 0), strings::context()) {
        return create(tp, *args, *args.add(1), true);
    }
    let mut kw = (0..nkw).map(|i| {
        (
            ffi::PyTuple_GET_ITEM(kwnames, i as ffi::Py_ssize_t),
            *args.add(n + i),
        )
    });
    match parse_args(pos, &mut kw) {
        Some(a) => create_from_args(tp, a),
        None => ptr::null_mut(),
    }
}

// ---- GC and deallocation --------------------------------------------------------------

unsafe extern "C" fn tp_traverse(
    obj: *mut ffi::PyObject,
    visit: ffi::visitproc,
    arg: *mut c_void,
) -> c_int {
    traverse_fields(obj, visit, arg)
}

/// Visit the references a CoroStart holds, and its (heap) type.
pub unsafe fn traverse_fields(
    obj: *mut ffi::PyObject,
    visit: ffi::visitproc,
    arg: *mut c_void,
) -> c_int {
    let s = obj as *mut CoroStart;
    crate::gc::visit_refs(obj, &[(*s).coro, (*s).context, (*s).value], visit, arg)
}

unsafe extern "C" fn tp_clear(obj: *mut ffi::PyObject) -> c_int {
    clear_fields(obj);
    0
}

#[inline(always)]
pub unsafe fn clear_fields(obj: *mut ffi::PyObject) {
    let s = obj as *mut CoroStart;
    ffi::Py_CLEAR(&mut (*s).coro);
    ffi::Py_CLEAR(&mut (*s).context);
    ffi::Py_CLEAR(&mut (*s).value);
}

unsafe extern "C" fn tp_dealloc(obj: *mut ffi::PyObject) {
    crate::gc::dealloc(obj, tp_clear);
}

// ---- methods ------------------------------------------------------------------------------

unsafe fn not_done() -> *mut ffi::PyObject {
    pyerr::set_string(INVALID_STATE_ERROR, c"CoroStart: coroutine not done()");
    ptr::null_mut()
}

#[inline]
unsafe fn py_bool(b: bool) -> *mut ffi::PyObject {
    let r = if b { ffi::Py_True() } else { ffi::Py_False() };
    ffi::Py_INCREF(r);
    r
}

unsafe extern "C" fn m_done(obj: *mut ffi::PyObject, _: *mut ffi::PyObject) -> *mut ffi::PyObject {
    let st = (*(obj as *mut CoroStart)).state;
    py_bool(st == DONE_RESULT || st == DONE_EXC)
}

unsafe extern "C" fn m_pending(
    obj: *mut ffi::PyObject,
    _: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    py_bool((*(obj as *mut CoroStart)).state == PENDING)
}

unsafe extern "C" fn m_continued(
    obj: *mut ffi::PyObject,
    _: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    py_bool((*(obj as *mut CoroStart)).state == CONTINUED)
}

unsafe extern "C" fn m_result(
    obj: *mut ffi::PyObject,
    _: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    let s = obj as *mut CoroStart;
    match (*s).state {
        DONE_RESULT => {
            ffi::Py_INCREF((*s).value);
            (*s).value
        }
        DONE_EXC => {
            ffi::Py_INCREF((*s).value);
            pyerr::restore((*s).value);
            ptr::null_mut()
        }
        _ => not_done(),
    }
}

unsafe extern "C" fn m_exception(
    obj: *mut ffi::PyObject,
    _: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    let s = obj as *mut CoroStart;
    match (*s).state {
        DONE_RESULT => {
            ffi::Py_INCREF(ffi::Py_None());
            ffi::Py_None()
        }
        DONE_EXC => {
            ffi::Py_INCREF((*s).value);
            (*s).value
        }
        _ => not_done(),
    }
}

unsafe extern "C" fn m_start(
    obj: *mut ffi::PyObject,
    args: *const *mut ffi::PyObject,
    nargs: ffi::Py_ssize_t,
    kwnames: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    let nkw = if kwnames.is_null() {
        0
    } else {
        ffi::PyTuple_GET_SIZE(kwnames)
    };
    if nargs + nkw > 1 {
        return pyerr::type_error("start() takes at most 1 argument".into());
    }
    if nkw == 1 && !strings::kw_is(ffi::PyTuple_GET_ITEM(kwnames, 0), strings::context()) {
        return pyerr::type_error("start() got an unexpected keyword argument".into());
    }
    let context = if nargs + nkw == 1 {
        *args
    } else {
        ptr::null_mut()
    };
    let s = obj as *mut CoroStart;
    let Ok(context) = check_context(context) else {
        return ptr::null_mut();
    };
    if (*s).state != UNSTARTED {
        pyerr::set_string(
            ffi::PyExc_RuntimeError,
            c"CoroStart.start() can only be called once",
        );
        return ptr::null_mut();
    }
    if start_in(s, context) < 0 {
        return ptr::null_mut();
    }
    let st = (*s).state;
    py_bool(st == DONE_RESULT || st == DONE_EXC)
}

/// An exception instance for `exc` (an instance, or a class called with no arguments).
pub unsafe fn exception_instance(
    exc: *mut ffi::PyObject,
    what: &std::ffi::CStr,
) -> *mut ffi::PyObject {
    if ffi::PyExceptionInstance_Check(exc) != 0 {
        ffi::Py_INCREF(exc);
        exc
    } else if ffi::PyExceptionClass_Check(exc) != 0 {
        ffi::PyObject_CallNoArgs(exc)
    } else {
        pyerr::set_string(ffi::PyExc_TypeError, what);
        ptr::null_mut()
    }
}

unsafe extern "C" fn m_throw(
    obj: *mut ffi::PyObject,
    exc: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    let s = obj as *mut CoroStart;
    let exc = exception_instance(exc, c"_throw() arg must be an exception");
    if exc.is_null() {
        return ptr::null_mut();
    }
    let mut out = ptr::null_mut();
    let r = step::throw((*s).coro, (*s).context, exc, &mut out);
    ffi::Py_DECREF(exc);
    store_outcome(s, r, out);
    ffi::Py_INCREF(ffi::Py_None());
    ffi::Py_None()
}

unsafe extern "C" fn m_close(obj: *mut ffi::PyObject, _: *mut ffi::PyObject) -> *mut ffi::PyObject {
    let s = obj as *mut CoroStart;
    let res = step::close((*s).coro, (*s).context);
    set_state(s, CONTINUED, ptr::null_mut());
    if res.is_null() {
        return ptr::null_mut();
    }
    ffi::Py_DECREF(res);
    ffi::Py_INCREF(ffi::Py_None());
    ffi::Py_None()
}

unsafe extern "C" fn m_class_getitem(
    cls: *mut ffi::PyObject,
    item: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    ffi::Py_GenericAlias(cls, item)
}

unsafe extern "C" fn am_await(obj: *mut ffi::PyObject) -> *mut ffi::PyObject {
    awaiter::new(obj as *mut CoroStart)
}

// ---- type creation --------------------------------------------------------------------------

/// The `Py_tp_methods` slot (a new table per call: a type owns its table). The full class
/// gets its own copy so its instances pass the interpreter's exact-type check on method
/// descriptors (3.11's PRECALL_NO_KW_METHOD_DESCRIPTOR_* deoptimise otherwise).
pub fn methods_slot() -> ffi::PyType_Slot {
    use crate::pytype::method;
    use ffi::PyMethodDefPointer as M;
    crate::pytype::methods_slot(vec![
        method(c"done", M { PyCFunction: m_done }, ffi::METH_NOARGS, c"True if the coroutine finished during start or _throw and the outcome is held."),
        method(c"pending", M { PyCFunction: m_pending }, ffi::METH_NOARGS, c"True if the coroutine is suspended and the suspension value is held."),
        method(c"continued", M { PyCFunction: m_continued }, ffi::METH_NOARGS, c"True once the held value was handed to an awaiter, or after close()."),
        method(c"result", M { PyCFunction: m_result }, ffi::METH_NOARGS, c"The return value, or raise the exception (only when done())."),
        method(c"exception", M { PyCFunction: m_exception }, ffi::METH_NOARGS, c"The exception, or None (only when done())."),
        method(c"start", M { PyCFunctionFastWithKeywords: m_start }, ffi::METH_FASTCALL | ffi::METH_KEYWORDS, c"start($self, /, context=None)\n--\n\nRun the initial step (after autostart=False); True if done."),
        method(c"_throw", M { PyCFunction: m_throw }, ffi::METH_O, c"Throw an exception into the coroutine and keep the outcome."),
        method(c"close", M { PyCFunction: m_close }, ffi::METH_NOARGS, c"Close the coroutine (in the context)."),
        method(c"__class_getitem__", M { PyCFunction: m_class_getitem }, ffi::METH_O | ffi::METH_CLASS, c"See PEP 585."),
    ])
}

pub unsafe fn init(module: *mut ffi::PyObject) -> *mut ffi::PyObject {
    let asyncio = ffi::PyImport_ImportModule(c"asyncio".as_ptr());
    if asyncio.is_null() {
        return ptr::null_mut();
    }
    INVALID_STATE_ERROR = ffi::PyObject_GetAttrString(asyncio, c"InvalidStateError".as_ptr());
    ffi::Py_DECREF(asyncio);
    if INVALID_STATE_ERROR.is_null() {
        return ptr::null_mut();
    }
    use crate::pytype::{self, slot};
    let mut slots = vec![slot(ffi::Py_tp_new, tp_new as *mut c_void)];
    slots.extend(pytype::gc_slots(tp_dealloc, tp_traverse, tp_clear));
    slots.extend([
        methods_slot(),
        slot(ffi::Py_am_await, am_await as *mut c_void),
        slot(
            ffi::Py_tp_doc,
            c"CoroStart(coro, context=None, autostart=True)\n--\n\nNative base of CoroStart: starts a coroutine eagerly and holds its first suspension or outcome.".as_ptr() as *mut c_void,
        ),
    ]);
    let tp = pytype::new_type(
        module,
        c"asynkit._asynkit.CoroStart",
        std::mem::size_of::<CoroStart>(),
        ffi::Py_TPFLAGS_DEFAULT | ffi::Py_TPFLAGS_BASETYPE | ffi::Py_TPFLAGS_HAVE_GC,
        slots,
        ptr::null_mut(),
    );
    if tp.is_null() {
        return ptr::null_mut();
    }
    TYPE = tp as *mut ffi::PyTypeObject;
    (*TYPE).tp_vectorcall = Some(tp_vectorcall);
    tp
}
