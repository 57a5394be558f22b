//! The task factories `create_eager_task_factory(ctor)` returns (`EagerTaskFactory`).
//!
//! `factory(loop, coro, **kwargs)` runs the shared eager-start algorithm (spec
//! eager-tasks.md §2) natively on its common path: the loop is the running one, a task
//! is current, the native CoroStart is active and the kwargs are the usual `name` /
//! `context` / `eager_start`. Everything else (no running loop, another loop, the ghost
//! task, a rebound `CoroStart`, unusual kwargs) is handed to the Python factory made by
//! the reference `create_eager_task_factory`, so both paths share one definition of the
//! behaviour.
use crate::awaiter;
use crate::corostart::CoroStart;
use crate::eager::{self, Started};
use crate::strings;
use pyo3::ffi;
use std::os::raw::{c_int, c_void};
use std::ptr;

#[repr(C)]
struct Factory {
    ob_base: ffi::PyObject,
    vectorcall: Option<ffi::vectorcallfunc>,
    /// `custom_task_constructor`
    ctor: *mut ffi::PyObject,
    /// The reference (Python) factory for the same constructor.
    py_factory: *mut ffi::PyObject,
}

static mut TYPE: *mut ffi::PyTypeObject = ptr::null_mut();
static mut TASK_LIKE_FUTURE: *mut ffi::PyObject = ptr::null_mut();
static mut LOOP_KWNAMES: *mut ffi::PyObject = ptr::null_mut();
static mut EAGER_START: *mut ffi::PyObject = ptr::null_mut();
static mut TLF_KWNAMES: *mut ffi::PyObject = ptr::null_mut();
static mut SET_RESULT: *mut ffi::PyObject = ptr::null_mut();
static mut SET_EXCEPTION: *mut ffi::PyObject = ptr::null_mut();
static mut TLF_INIT: *mut ffi::PyObject = ptr::null_mut();
static mut INIT_NAME: *mut ffi::PyObject = ptr::null_mut();
static mut NAME_ATTR: *mut ffi::PyObject = ptr::null_mut();
static mut CONTEXT_ATTR: *mut ffi::PyObject = ptr::null_mut();

/// Give the factories their Python collaborators: `TaskLikeFuture` and its `__init__`.
/// (`asyncio.current_task` is asked through `current_task.rs`.)
pub unsafe fn configure(
    task_like_future: *mut ffi::PyObject,
    tlf_init: *mut ffi::PyObject,
) -> bool {
    for (slot, v) in [
        (&raw mut TASK_LIKE_FUTURE, task_like_future),
        (&raw mut TLF_INIT, tlf_init),
    ] {
        crate::pyerr::set_static(slot, v);
    }
    if EAGER_START.is_null() {
        EAGER_START = ffi::PyUnicode_InternFromString(c"eager_start".as_ptr());
        SET_RESULT = ffi::PyUnicode_InternFromString(c"set_result".as_ptr());
        SET_EXCEPTION = ffi::PyUnicode_InternFromString(c"set_exception".as_ptr());
        TLF_KWNAMES = ffi::PyTuple_Pack(2, strings::name(), strings::context());
        INIT_NAME = ffi::PyUnicode_InternFromString(c"__init__".as_ptr());
        NAME_ATTR = ffi::PyUnicode_InternFromString(c"_name".as_ptr());
        CONTEXT_ATTR = ffi::PyUnicode_InternFromString(c"_context".as_ptr());
        LOOP_KWNAMES = ffi::PyTuple_Pack(1, strings::loop_());
    }
    let names = [
        EAGER_START,
        SET_RESULT,
        SET_EXCEPTION,
        TLF_KWNAMES,
        LOOP_KWNAMES,
    ];
    let attrs = [INIT_NAME, NAME_ATTR, CONTEXT_ATTR];
    !names.iter().chain(attrs.iter()).any(|p| p.is_null())
}

/// `EagerTaskFactory(ctor, py_factory)`.
pub unsafe fn new(ctor: *mut ffi::PyObject, py_factory: *mut ffi::PyObject) -> *mut ffi::PyObject {
    let obj = ffi::PyType_GenericAlloc(TYPE, 0);
    if obj.is_null() {
        return obj;
    }
    let f = obj as *mut Factory;
    (*f).vectorcall = Some(call);
    (*f).ctor = ffi::Py_NewRef(ctor);
    (*f).py_factory = ffi::Py_NewRef(py_factory);
    obj
}

unsafe fn fallback(
    f: *mut Factory,
    args: *const *mut ffi::PyObject,
    nargsf: usize,
    kwnames: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    ffi::PyObject_Vectorcall((*f).py_factory, args, nargsf, kwnames)
}

unsafe extern "C" fn call(
    callable: *mut ffi::PyObject,
    args: *const *mut ffi::PyObject,
    nargsf: usize,
    kwnames: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    let f = callable as *mut Factory;
    let nargs = ffi::PyVectorcall_NARGS(nargsf) as usize;
    if nargs != 2 {
        return fallback(f, args, nargsf, kwnames);
    }
    let (lp, coro) = (*args, *args.add(1));
    // Other keywords than name / context / eager_start: the reference path.
    let Some((name, mut context)) = strings::name_context(args.add(nargs), kwnames, EAGER_START)
    else {
        return fallback(f, args, nargsf, kwnames);
    };
    if context == ffi::Py_None() {
        context = ptr::null_mut();
    }
    if !cfg!(Py_3_11) {
        context = ptr::null_mut(); // 3.10 Tasks have no context: it is dropped
    }
    if !context.is_null() && ffi::PyContext_CheckExact(context) == 0 {
        return fallback(f, args, nargsf, kwnames);
    }
    match eager::native_class_active() {
        None => return ptr::null_mut(),
        Some(false) => return fallback(f, args, nargsf, kwnames),
        Some(true) => {}
    }
    // 1. Only eagerly on the running loop.
    let running = crate::running_loop::get();
    if running.is_null() {
        ffi::PyErr_Clear();
        return fallback(f, args, nargsf, kwnames);
    }
    ffi::Py_DECREF(running);
    if running != lp {
        return fallback(f, args, nargsf, kwnames);
    }
    // 3. A current task: the ghost path stays in Python.
    match has_current_task(lp) {
        None => return ptr::null_mut(),
        Some(false) => return fallback(f, args, nargsf, kwnames),
        Some(true) => {}
    }
    // 4. The eager start: in a private copy of the context (kept for the continuation),
    //    or inside the given context (which the Task will then carry).
    let started = if context.is_null() {
        let ctx = ffi::PyContext_CopyCurrent();
        if ctx.is_null() {
            return ptr::null_mut();
        }
        let started = eager::start_eagerly(coro, ctx, true);
        ffi::Py_DECREF(ctx);
        started
    } else {
        eager::start_eagerly(coro, context, false)
    };
    // 5. The outcome.
    match started {
        None => ptr::null_mut(),
        Some(Started::Done(value, is_exc)) => {
            let r = task_like_future(lp, name, context, value, is_exc);
            ffi::Py_DECREF(value);
            r
        }
        Some(Started::Pending(cs)) => {
            let r = continuation(f, lp, cs, args.add(nargs), kwnames);
            ffi::Py_DECREF(cs);
            r
        }
    }
}

/// Whether `asyncio.current_task(lp)` is not None (None: error set).
unsafe fn has_current_task(lp: *mut ffi::PyObject) -> Option<bool> {
    let current = crate::current_task::get(lp, true);
    if current.is_null() {
        return None;
    }
    ffi::Py_DECREF(current);
    Some(current != ffi::Py_None())
}

/// `TaskLikeFuture(name=name, context=context)` carrying the outcome. While
/// `TaskLikeFuture.__init__` is the reference one, build it the way that `__init__` does
/// (C Future init bound to the running loop, then `_name`/`_context`) without running
/// its Python frame.
unsafe fn task_like_future(
    lp: *mut ffi::PyObject,
    name: *mut ffi::PyObject,
    context: *mut ffi::PyObject,
    value: *mut ffi::PyObject,
    is_exc: bool,
) -> *mut ffi::PyObject {
    let none = ffi::Py_None();
    let name = if name.is_null() { none } else { name };
    let context = if context.is_null() { none } else { context };
    let (set_result, set_exception) = eager::future_setters();
    let tlf = match fast_task_like_future(lp, name, context) {
        Some(tlf) => tlf,
        None => {
            if !ffi::PyErr_Occurred().is_null() {
                return ptr::null_mut();
            }
            let argv = [name, context];
            ffi::PyObject_Vectorcall(TASK_LIKE_FUTURE, argv.as_ptr(), 0, TLF_KWNAMES)
        }
    };
    if tlf.is_null() {
        return tlf;
    }
    let r = if !set_result.is_null() {
        let argv = [tlf, value];
        let m = if is_exc { set_exception } else { set_result };
        ffi::PyObject_Vectorcall(m, argv.as_ptr(), 2, ptr::null_mut())
    } else {
        let setter = if is_exc { SET_EXCEPTION } else { SET_RESULT };
        ffi::PyObject_CallMethodOneArg(tlf, setter, value)
    };
    if r.is_null() {
        ffi::Py_DECREF(tlf);
        return r;
    }
    ffi::Py_DECREF(r);
    tlf
}

/// `None` without an exception: not applicable, use the class call.
unsafe fn fast_task_like_future(
    lp: *mut ffi::PyObject,
    name: *mut ffi::PyObject,
    context: *mut ffi::PyObject,
) -> Option<*mut ffi::PyObject> {
    let empty = eager::empty_tuple();
    if empty.is_null() {
        return None;
    }
    let tp = TASK_LIKE_FUTURE as *mut ffi::PyTypeObject;
    let init = ffi::PyObject_GetAttr(TASK_LIKE_FUTURE, INIT_NAME);
    if init.is_null() {
        ffi::PyErr_Clear();
        return None;
    }
    ffi::Py_DECREF(init);
    let new = (*tp).tp_new?;
    if init != TLF_INIT {
        return None;
    }
    let tlf = new(tp, empty, ptr::null_mut());
    if tlf.is_null() {
        return Some(tlf);
    }
    if eager::init_c_future(tlf, lp) < 0
        || ffi::PyObject_SetAttr(tlf, NAME_ATTR, name) < 0
        || ffi::PyObject_SetAttr(tlf, CONTEXT_ATTR, context) < 0
    {
        ffi::Py_DECREF(tlf);
        return Some(ptr::null_mut());
    }
    Some(tlf)
}

/// `ctor(continuation, loop=loop, **kwargs)` with the factory's kwargs minus
/// `eager_start`; the continuation is the native coroutine-like awaiter of `cs`.
unsafe fn continuation(
    f: *mut Factory,
    lp: *mut ffi::PyObject,
    cs: *mut ffi::PyObject,
    kwvalues: *const *mut ffi::PyObject,
    kwnames: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    let cont = awaiter::new_continuation(cs as *mut CoroStart);
    if cont.is_null() {
        return cont;
    }
    let nkw = if kwnames.is_null() {
        0
    } else {
        ffi::PyTuple_GET_SIZE(kwnames) as usize
    };
    // At most `name`, `context` and `eager_start` reach here (others take the fallback).
    let mut argv = [cont, lp, ptr::null_mut(), ptr::null_mut(), ptr::null_mut()];
    let mut names = [ptr::null_mut(); 3];
    let mut n = 0;
    for i in 0..nkw.min(3) {
        let k = ffi::PyTuple_GET_ITEM(kwnames, i as ffi::Py_ssize_t);
        if !strings::kw_is(k, EAGER_START) {
            names[n] = k;
            argv[2 + n] = *kwvalues.add(i);
            n += 1;
        }
    }
    // The C Task with at most a context: built natively (its first step is queued
    // without the Python `call_soon` on asyncio's own loops).
    let ctor = (*f).ctor;
    if ctor == crate::native_eager::c_task()
        && (n == 0 || (n == 1 && strings::kw_is(names[0], strings::context())))
    {
        let context = if n == 1 { argv[2] } else { ptr::null_mut() };
        let mut context = if context == ffi::Py_None() {
            ptr::null_mut()
        } else {
            context
        };
        // 3.11: the continuation's private context becomes the Task's own (the C Task of
        // 3.11 does not show its context; 3.12+ do, as `get_context()`, and must not
        // report the coroutine's variables, see spec §2.2): the Task enters it for every
        // step, so the continuation no longer needs to, and no second copy is made.
        let s = cs as *mut CoroStart;
        let mut own = ptr::null_mut();
        if cfg!(all(Py_3_11, not(Py_3_12))) && context.is_null() && !(*s).context.is_null() {
            own = (*s).context;
            (*s).context = ptr::null_mut();
            context = own;
        }
        let task = crate::native_eager::create_task(cont, lp, context);
        if !own.is_null() {
            if task.is_none() {
                (*s).context = own; // give it back: the Task built below copies its own
            } else {
                ffi::Py_DECREF(own);
            }
        }
        if let Some(task) = task {
            ffi::Py_DECREF(cont);
            return task;
        }
    }
    let call_names = if n == 0 {
        ffi::Py_NewRef(LOOP_KWNAMES)
    } else {
        let t = ffi::PyTuple_New(1 + n as ffi::Py_ssize_t);
        if t.is_null() {
            ffi::Py_DECREF(cont);
            return t;
        }
        ffi::PyTuple_SET_ITEM(t, 0, ffi::Py_NewRef(strings::loop_()));
        for (i, k) in names.iter().take(n).enumerate() {
            ffi::PyTuple_SET_ITEM(t, 1 + i as ffi::Py_ssize_t, ffi::Py_NewRef(*k));
        }
        t
    };
    let r = ffi::PyObject_Vectorcall(ctor, argv.as_ptr(), 1, call_names);
    ffi::Py_DECREF(call_names);
    ffi::Py_DECREF(cont);
    r
}

unsafe extern "C" fn tp_traverse(
    obj: *mut ffi::PyObject,
    visit: ffi::visitproc,
    arg: *mut c_void,
) -> c_int {
    let x = obj as *mut Factory;
    crate::gc::visit_refs(obj, &[(*x).ctor, (*x).py_factory], visit, arg)
}

unsafe extern "C" fn tp_clear(obj: *mut ffi::PyObject) -> c_int {
    let f = obj as *mut Factory;
    ffi::Py_CLEAR(&mut (*f).ctor);
    ffi::Py_CLEAR(&mut (*f).py_factory);
    0
}

unsafe extern "C" fn tp_dealloc(obj: *mut ffi::PyObject) {
    crate::gc::dealloc(obj, tp_clear);
}

unsafe extern "C" fn tp_repr(obj: *mut ffi::PyObject) -> *mut ffi::PyObject {
    let f = obj as *mut Factory;
    let ctor = ffi::PyObject_Repr((*f).ctor);
    if ctor.is_null() {
        return ctor;
    }
    let s = std::ffi::CStr::from_ptr(ffi::PyUnicode_AsUTF8(ctor))
        .to_string_lossy()
        .into_owned();
    ffi::Py_DECREF(ctor);
    let text = std::ffi::CString::new(format!("<eager task factory for {s}>")).unwrap_or_default();
    ffi::PyUnicode_FromString(text.as_ptr())
}

pub unsafe fn init(module: *mut ffi::PyObject) -> *mut ffi::PyObject {
    use crate::pytype::{self, slot};
    let mut slots = pytype::gc_slots(tp_dealloc, tp_traverse, tp_clear).to_vec();
    slots.extend(pytype::vectorcall_slots(std::mem::offset_of!(
        Factory, vectorcall
    )));
    slots.extend([
        slot(ffi::Py_tp_repr, tp_repr as *mut c_void),
        slot(
            ffi::Py_tp_doc,
            c"An eager task factory: factory(loop, coro, **kwargs) for loop.set_task_factory()."
                .as_ptr() as *mut c_void,
        ),
    ]);
    let flags = ffi::Py_TPFLAGS_DEFAULT
        | ffi::Py_TPFLAGS_HAVE_GC
        | ffi::Py_TPFLAGS_HAVE_VECTORCALL
        | ffi::Py_TPFLAGS_DISALLOW_INSTANTIATION;
    let tp = pytype::new_type(
        module,
        c"asynkit._asynkit.EagerTaskFactory",
        std::mem::size_of::<Factory>(),
        flags,
        slots,
        ptr::null_mut(),
    );
    if !tp.is_null() {
        TYPE = tp as *mut ffi::PyTypeObject;
    }
    tp
}
