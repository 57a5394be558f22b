//! `coro_eager` / `eager` when the native CoroStart is the active engine.
//!
//! The coroutine is started in a copy of the current context exactly as the Python
//! `coro_eager` does; a coroutine that finished becomes a done Future made by the running
//! loop's `create_future()`. A suspended one goes to the Python glue, which wraps
//! `cs.as_coroutine()` in a Task. Whenever `asynkit.coroutine.CoroStart` has been rebound,
//! or the argument is not a coroutine, the Python functions run instead.
use crate::corostart::{self, CoroStart, DONE_EXC, DONE_RESULT};
use crate::strings;
use pyo3::ffi;
use std::ptr;

static mut GLOBALS: *mut ffi::PyObject = ptr::null_mut();
static mut NATIVE_CLASS: *mut ffi::PyObject = ptr::null_mut();
static mut PY_CORO_EAGER: *mut ffi::PyObject = ptr::null_mut();
static mut PY_EAGER: *mut ffi::PyObject = ptr::null_mut();
static mut CONTINUE: *mut ffi::PyObject = ptr::null_mut();
static mut GET_RUNNING_LOOP: *mut ffi::PyObject = ptr::null_mut();
static mut CREATE_FUTURE: *mut ffi::PyObject = ptr::null_mut();
static mut SET_RESULT: *mut ffi::PyObject = ptr::null_mut();
static mut SET_EXCEPTION: *mut ffi::PyObject = ptr::null_mut();
static mut CREATE_TASK: *mut ffi::PyObject = ptr::null_mut();

#[allow(clippy::too_many_arguments)]
pub unsafe fn configure(
    globals: *mut ffi::PyObject,
    native_class: *mut ffi::PyObject,
    py_coro_eager: *mut ffi::PyObject,
    py_eager: *mut ffi::PyObject,
    cont: *mut ffi::PyObject,
    get_running_loop: *mut ffi::PyObject,
) -> bool {
    for (slot, v) in [
        (&raw mut GLOBALS, globals),
        (&raw mut NATIVE_CLASS, native_class),
        (&raw mut PY_CORO_EAGER, py_coro_eager),
        (&raw mut PY_EAGER, py_eager),
        (&raw mut CONTINUE, cont),
        (&raw mut GET_RUNNING_LOOP, get_running_loop),
    ] {
        ffi::Py_INCREF(v);
        let old = *slot;
        *slot = v;
        ffi::Py_XDECREF(old);
    }
    if !crate::running_loop::configure(get_running_loop) {
        return false;
    }
    if CREATE_FUTURE.is_null() {
        CREATE_FUTURE = ffi::PyUnicode_InternFromString(c"create_future".as_ptr());
        SET_RESULT = ffi::PyUnicode_InternFromString(c"set_result".as_ptr());
        SET_EXCEPTION = ffi::PyUnicode_InternFromString(c"set_exception".as_ptr());
        CREATE_TASK = ffi::PyUnicode_InternFromString(c"create_task".as_ptr());
    }
    !(CREATE_FUTURE.is_null()
        || SET_RESULT.is_null()
        || SET_EXCEPTION.is_null()
        || CREATE_TASK.is_null())
}

#[inline]
unsafe fn native_active() -> Option<bool> {
    if GLOBALS.is_null() {
        crate::pyerr::set_string(
            ffi::PyExc_RuntimeError,
            c"asynkit._asynkit eager functions are not configured",
        );
        return None;
    }
    let current = ffi::PyDict_GetItemWithError(GLOBALS, strings::corostart());
    if current.is_null() && !ffi::PyErr_Occurred().is_null() {
        return None;
    }
    Some(current == NATIVE_CLASS)
}

/// Keyword arguments: returns (create_task, context), borrowed, null when absent.
unsafe fn parse_kw(
    fname: &str,
    args: *const *mut ffi::PyObject,
    nargs: usize,
    kwnames: *mut ffi::PyObject,
    allow_context: bool,
) -> Option<(*mut ffi::PyObject, *mut ffi::PyObject)> {
    if nargs != 1 {
        crate::pyerr::type_error(format!(
            "{fname}() takes exactly 1 positional argument ({nargs} given)"
        ));
        return None;
    }
    let (mut create_task, mut context) = (ptr::null_mut(), ptr::null_mut());
    if !kwnames.is_null() {
        for i in 0..ffi::PyTuple_GET_SIZE(kwnames) as usize {
            let k = ffi::PyTuple_GET_ITEM(kwnames, i as ffi::Py_ssize_t);
            let v = *args.add(nargs + i);
            if strings::kw_is(k, CREATE_TASK) {
                create_task = v;
            } else if allow_context && strings::kw_is(k, strings::context()) {
                context = v;
            } else {
                let name = std::ffi::CStr::from_ptr(ffi::PyUnicode_AsUTF8(k)).to_string_lossy();
                crate::pyerr::type_error(format!(
                    "{fname}() got an unexpected keyword argument '{name}'"
                ));
                return None;
            }
        }
    }
    if create_task == ffi::Py_None() {
        create_task = ptr::null_mut();
    }
    if context == ffi::Py_None() {
        context = ptr::null_mut();
    }
    Some((create_task, context))
}

/// A done Future for a finished CoroStart (what `cs.as_future()` returns).
unsafe fn done_future(s: *mut CoroStart) -> *mut ffi::PyObject {
    let lp = crate::running_loop::get();
    if lp.is_null() {
        return ptr::null_mut();
    }
    let fut = ffi::PyObject_CallMethodNoArgs(lp, CREATE_FUTURE);
    ffi::Py_DECREF(lp);
    if fut.is_null() {
        return ptr::null_mut();
    }
    let setter = if (*s).state == DONE_EXC {
        SET_EXCEPTION
    } else {
        SET_RESULT
    };
    let r = ffi::PyObject_CallMethodOneArg(fut, setter, (*s).value);
    if r.is_null() {
        ffi::Py_DECREF(fut);
        return ptr::null_mut();
    }
    ffi::Py_DECREF(r);
    fut
}

unsafe fn eager_start(
    coro: *mut ffi::PyObject,
    create_task: *mut ffi::PyObject,
    context: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    let ctx = if context.is_null() {
        ffi::PyContext_CopyCurrent()
    } else {
        ffi::Py_NewRef(context)
    };
    if ctx.is_null() {
        return ptr::null_mut();
    }
    let cs = corostart::create(NATIVE_CLASS as *mut ffi::PyTypeObject, coro, ctx, true);
    ffi::Py_DECREF(ctx);
    if cs.is_null() {
        return ptr::null_mut();
    }
    let s = cs as *mut CoroStart;
    let r = if (*s).state == DONE_RESULT || (*s).state == DONE_EXC {
        done_future(s)
    } else {
        let ct = if create_task.is_null() {
            ffi::Py_None()
        } else {
            create_task
        };
        let argv = [cs, ct];
        ffi::PyObject_Vectorcall(CONTINUE, argv.as_ptr(), 2, ptr::null_mut())
    };
    ffi::Py_DECREF(cs);
    r
}

pub unsafe extern "C" fn coro_eager(
    _m: *mut ffi::PyObject,
    args: *const *mut ffi::PyObject,
    nargsf: ffi::Py_ssize_t,
    kwnames: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    let nargs = ffi::PyVectorcall_NARGS(nargsf as usize) as usize;
    match native_active() {
        None => return ptr::null_mut(),
        // A rebound CoroStart, or an unusual call shape: the Python function decides.
        Some(native) if !native || nargs != 1 => {
            return ffi::PyObject_Vectorcall(PY_CORO_EAGER, args, nargsf as usize, kwnames)
        }
        Some(_) => {}
    }
    let Some((create_task, context)) = parse_kw("coro_eager", args, nargs, kwnames, true) else {
        return ptr::null_mut();
    };
    eager_start(*args, create_task, context)
}

pub unsafe extern "C" fn eager(
    _m: *mut ffi::PyObject,
    args: *const *mut ffi::PyObject,
    nargsf: ffi::Py_ssize_t,
    kwnames: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    let nargs = ffi::PyVectorcall_NARGS(nargsf as usize) as usize;
    if nargs != 1 || ffi::PyCoro_CheckExact(*args) == 0 {
        return ffi::PyObject_Vectorcall(PY_EAGER, args, nargsf as usize, kwnames);
    }
    match native_active() {
        None => return ptr::null_mut(),
        Some(false) => return ffi::PyObject_Vectorcall(PY_EAGER, args, nargsf as usize, kwnames),
        Some(true) => {}
    }
    let Some((create_task, _)) = parse_kw("eager", args, nargs, kwnames, false) else {
        return ptr::null_mut();
    };
    eager_start(*args, create_task, ptr::null_mut())
}
