//! `coro_eager` / `eager` when the native CoroStart is the active engine.
//!
//! The coroutine is started in a copy of the current context exactly as the Python
//! `coro_eager` does; a coroutine that finished becomes a done Future made by the running
//! loop's `create_future()`. A suspended one goes to the Python glue, which wraps
//! `cs.as_coroutine()` in a Task. Whenever `asynkit.coroutine.CoroStart` has been rebound,
//! or the argument is not a coroutine, the Python functions run instead.
use crate::corostart::{self, CoroStart};
use crate::strings;
use pyo3::ffi;
use std::os::raw::c_int;
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
static mut STOCK_CREATE_FUTURE: *mut ffi::PyObject = ptr::null_mut();
static mut FUTURES_MODULE: *mut ffi::PyObject = ptr::null_mut();
/// `asyncio.futures.__dict__` (borrowed from the module kept above).
static mut FUTURES_DICT: *mut ffi::PyObject = ptr::null_mut();
static mut FUTURE_NAME: *mut ffi::PyObject = ptr::null_mut();
static mut LOOP_KWNAMES: *mut ffi::PyObject = ptr::null_mut();
static mut LOOP_NAME: *mut ffi::PyObject = ptr::null_mut();
static mut LOOP_KWARGS: *mut ffi::PyObject = ptr::null_mut();
static mut EMPTY_TUPLE: *mut ffi::PyObject = ptr::null_mut();
static mut FUTURE_TYPE: *mut ffi::PyTypeObject = ptr::null_mut();
static mut FUTURE_SET_RESULT: *mut ffi::PyObject = ptr::null_mut();
static mut FUTURE_SET_EXCEPTION: *mut ffi::PyObject = ptr::null_mut();
static mut BASE_GET_DEBUG: *mut ffi::PyObject = ptr::null_mut();
static mut GET_DEBUG: *mut ffi::PyObject = ptr::null_mut();
static mut DEBUG_ATTR: *mut ffi::PyObject = ptr::null_mut();
/// Where a C Future keeps its loop (the first field after the object header), once a
/// real `__init__` was seen to put the loop there; 0 until then.
static mut FUTURE_LOOP_OFFSET: usize = 0;

/// Look up what the Future fast paths compare against. Any failure leaves them off.
unsafe fn init_future_fast_paths() {
    unsafe fn attr(o: *mut ffi::PyObject, name: &std::ffi::CStr) -> *mut ffi::PyObject {
        if o.is_null() {
            return ptr::null_mut();
        }
        ffi::PyObject_GetAttrString(o, name.as_ptr())
    }
    let base_events = ffi::PyImport_ImportModule(c"asyncio.base_events".as_ptr());
    let base_loop = attr(base_events, c"BaseEventLoop");
    let stock = attr(base_loop, c"create_future");
    let get_debug = attr(base_loop, c"get_debug");
    GET_DEBUG = ffi::PyUnicode_InternFromString(c"get_debug".as_ptr());
    DEBUG_ATTR = ffi::PyUnicode_InternFromString(c"_debug".as_ptr());
    if get_debug.is_null() || GET_DEBUG.is_null() || DEBUG_ATTR.is_null() {
        ffi::PyErr_Clear();
        ffi::Py_XDECREF(get_debug);
    } else {
        BASE_GET_DEBUG = get_debug;
    }
    let futures = ffi::PyImport_ImportModule(c"asyncio.futures".as_ptr());
    let c_future = attr(ffi::PyImport_ImportModule(c"_asyncio".as_ptr()), c"Future");
    let set_result = attr(c_future, c"set_result");
    let set_exception = attr(c_future, c"set_exception");
    ffi::PyErr_Clear();
    ffi::Py_XDECREF(base_events);
    ffi::Py_XDECREF(base_loop);
    if [stock, futures, c_future, set_result, set_exception]
        .iter()
        .any(|p| p.is_null())
    {
        for p in [stock, futures, c_future, set_result, set_exception] {
            ffi::Py_XDECREF(p);
        }
        return;
    }
    STOCK_CREATE_FUTURE = stock;
    FUTURES_MODULE = futures;
    FUTURES_DICT = ffi::PyModule_GetDict(futures);
    FUTURE_TYPE = c_future as *mut ffi::PyTypeObject;
    FUTURE_SET_RESULT = set_result;
    FUTURE_SET_EXCEPTION = set_exception;
    FUTURE_NAME = ffi::PyUnicode_InternFromString(c"Future".as_ptr());
    LOOP_NAME = ffi::PyUnicode_InternFromString(c"loop".as_ptr());
    LOOP_KWNAMES = ffi::PyTuple_Pack(1, LOOP_NAME);
    LOOP_KWARGS = ffi::PyDict_New();
    EMPTY_TUPLE = ffi::PyTuple_New(0);
    if LOOP_KWARGS.is_null() || EMPTY_TUPLE.is_null() || LOOP_NAME.is_null() {
        ffi::PyErr_Clear();
        STOCK_CREATE_FUTURE = ptr::null_mut(); // fast path off
        return;
    }
    if FUTURE_NAME.is_null() || LOOP_KWNAMES.is_null() {
        ffi::PyErr_Clear();
        STOCK_CREATE_FUTURE = ptr::null_mut(); // fast path off
    }
}

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
        crate::pyerr::set_static(slot, v);
    }
    if !crate::running_loop::configure(get_running_loop) {
        return false;
    }
    if CREATE_FUTURE.is_null() {
        init_future_fast_paths();
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

/// A done Future carrying an outcome (what `cs.as_future()` returns for a finished
/// CoroStart): `value` is the return value, or the exception when `is_exc`.
unsafe fn done_future(value: *mut ffi::PyObject, is_exc: bool) -> *mut ffi::PyObject {
    let lp = crate::running_loop::get();
    if lp.is_null() {
        return ptr::null_mut();
    }
    let fut = new_future(lp);
    ffi::Py_DECREF(lp);
    if fut.is_null() {
        return ptr::null_mut();
    }
    let r = if ffi::Py_TYPE(fut) == FUTURE_TYPE && !FUTURE_SET_RESULT.is_null() {
        // The exact C Future: call its method descriptors without an attribute lookup.
        let m = if is_exc {
            FUTURE_SET_EXCEPTION
        } else {
            FUTURE_SET_RESULT
        };
        let argv = [fut, value];
        ffi::PyObject_Vectorcall(m, argv.as_ptr(), 2, ptr::null_mut())
    } else {
        let setter = if is_exc { SET_EXCEPTION } else { SET_RESULT };
        ffi::PyObject_CallMethodOneArg(fut, setter, value)
    };
    if r.is_null() {
        ffi::Py_DECREF(fut);
        return ptr::null_mut();
    }
    ffi::Py_DECREF(r);
    fut
}

/// `loop.create_future()`. When that is the stock `BaseEventLoop.create_future` (not
/// overridden by the loop's class or instance), do what that method does,
/// `asyncio.futures.Future(loop=loop)` with the module global looked up now, without
/// running its Python frame.
unsafe fn new_future(lp: *mut ffi::PyObject) -> *mut ffi::PyObject {
    let stock = !STOCK_CREATE_FUTURE.is_null()
        && match crate::method::resolves_to(lp, CREATE_FUTURE, STOCK_CREATE_FUTURE) {
            Some(stock) => stock,
            None => return ptr::null_mut(),
        };
    if !stock {
        return ffi::PyObject_CallMethodNoArgs(lp, CREATE_FUTURE);
    }
    // `futures.Future`: the module's own dict answers for a name it holds.
    let mut cls = ffi::PyDict_GetItemWithError(FUTURES_DICT, FUTURE_NAME);
    if cls.is_null() {
        if !ffi::PyErr_Occurred().is_null() {
            return ptr::null_mut();
        }
        cls = ffi::PyObject_GetAttr(FUTURES_MODULE, FUTURE_NAME);
        if cls.is_null() {
            return ptr::null_mut();
        }
    } else {
        ffi::Py_INCREF(cls);
    }
    let fut = if cls == FUTURE_TYPE as *mut ffi::PyObject {
        c_future(lp)
    } else {
        let argv = [lp];
        ffi::PyObject_Vectorcall(cls, argv.as_ptr(), 0, LOOP_KWNAMES)
    };
    ffi::Py_DECREF(cls);
    fut
}

/// `_asyncio.Future(loop=lp)` through its own `tp_new`/`tp_init`, with one keyword dict
/// kept for the purpose (a call through the type would build and free a dict each time).
/// The dict holds the loop only during the call; `__init__` takes its own reference
/// before it runs any Python code, so a nested call reusing the dict is harmless.
unsafe fn c_future(lp: *mut ffi::PyObject) -> *mut ffi::PyObject {
    let tp = FUTURE_TYPE;
    let Some(new) = (*tp).tp_new else {
        let argv = [lp];
        return ffi::PyObject_Vectorcall(tp as *mut ffi::PyObject, argv.as_ptr(), 0, LOOP_KWNAMES);
    };
    let fut = new(tp, EMPTY_TUPLE, ptr::null_mut());
    if fut.is_null() || init_c_future(fut, lp) == 0 {
        return fut;
    }
    ffi::Py_DECREF(fut);
    ptr::null_mut()
}

/// Run the C `Future.__init__(fut, loop=lp)` on a newly allocated `fut` (an instance of
/// `_asyncio.Future` or a subclass). 0, or -1 with an exception set.
pub unsafe fn init_c_future(fut: *mut ffi::PyObject, lp: *mut ffi::PyObject) -> c_int {
    let Some(init) = (if FUTURE_TYPE.is_null() {
        None
    } else {
        (*FUTURE_TYPE).tp_init
    }) else {
        crate::pyerr::set_string(
            ffi::PyExc_RuntimeError,
            c"asyncio's C Future is unavailable",
        );
        return -1;
    };
    if init_future_plain(fut, lp) {
        return 0;
    }
    // The real init (debug mode, a loop's own get_debug, or the layout not seen yet).
    if ffi::PyDict_SetItem(LOOP_KWARGS, LOOP_NAME, lp) < 0 {
        return -1;
    }
    let r = init(fut, EMPTY_TUPLE, LOOP_KWARGS);
    ffi::PyDict_SetItem(LOOP_KWARGS, LOOP_NAME, ffi::Py_None());
    let head = std::mem::size_of::<ffi::PyObject>();
    if r == 0
        && FUTURE_LOOP_OFFSET == 0
        && *((fut as *mut u8).add(head) as *mut *mut ffi::PyObject) == lp
    {
        FUTURE_LOOP_OFFSET = head;
    }
    r
}

/// The C Future's `set_result` / `set_exception` method descriptors (null if unavailable).
pub fn future_setters() -> (*mut ffi::PyObject, *mut ffi::PyObject) {
    unsafe { (FUTURE_SET_RESULT, FUTURE_SET_EXCEPTION) }
}

/// `lp.get_debug()` without its frame while that is `BaseEventLoop.get_debug` (found on
/// the loop's class, not shadowed by the instance): `Some(lp._debug)` (null if reading
/// it raised). `None`: call the method (a lookup error is left for that call to meet).
pub unsafe fn plain_debug(lp: *mut ffi::PyObject) -> Option<*mut ffi::PyObject> {
    if BASE_GET_DEBUG.is_null() {
        return None;
    }
    match crate::method::resolves_to(lp, GET_DEBUG, BASE_GET_DEBUG) {
        Some(true) => Some(ffi::PyObject_GetAttr(lp, DEBUG_ATTR)),
        Some(false) => None,
        None => {
            ffi::PyErr_Clear();
            None
        }
    }
}

/// Initialise a newly allocated C Future (or subclass instance) `fut` for the loop `lp`
/// when `Future.__init__(loop=lp)` would only point it at `lp`: the loop's `get_debug()`
/// is asyncio's and false (in debug mode the init also records a traceback). The other
/// fields are already what the init sets, zero: pending, no callbacks, no result.
/// `false`: nothing done, run the real init. Only once a real init was seen to keep the
/// loop at `FUTURE_LOOP_OFFSET`.
unsafe fn init_future_plain(fut: *mut ffi::PyObject, lp: *mut ffi::PyObject) -> bool {
    if FUTURE_LOOP_OFFSET == 0 {
        return false;
    }
    let slot = (fut as *mut u8).add(FUTURE_LOOP_OFFSET) as *mut *mut ffi::PyObject;
    if !(*slot).is_null() {
        return false;
    }
    let Some(debug) = plain_debug(lp) else {
        return false;
    };
    let off = !debug.is_null() && debug == ffi::Py_False();
    if debug.is_null() {
        ffi::PyErr_Clear();
    } else {
        ffi::Py_DECREF(debug);
    }
    if off {
        *slot = ffi::Py_NewRef(lp);
    }
    off
}

/// `EMPTY_TUPLE` for `tp_new` calls (null if the fast paths are off).
pub fn empty_tuple() -> *mut ffi::PyObject {
    unsafe { EMPTY_TUPLE }
}

/// What an eager start left behind.
pub enum Started {
    /// Finished: the return value, or the exception (`true`). New reference.
    Done(*mut ffi::PyObject, bool),
    /// Suspended: a PENDING `_CCoroStart` (new reference).
    Pending(*mut ffi::PyObject),
}

/// Run `coro` up to its first suspension inside `run_ctx` (entered here; an already
/// entered context raises RuntimeError). A suspended coroutine is wrapped in a PENDING
/// `_CCoroStart` whose continuation context is `run_ctx` when `keep_ctx`, else none,
/// which is what `CoroStart(coro, context=ctx)` and `ctx.run(CoroStart, coro)` hold. A
/// finished one needs no CoroStart object at all. `None`: an exception is set.
pub unsafe fn start_eagerly(
    coro: *mut ffi::PyObject,
    run_ctx: *mut ffi::PyObject,
    keep_ctx: bool,
) -> Option<Started> {
    let driver = corostart::resolve_driver(coro);
    if driver.is_null() {
        return None;
    }
    if ffi::PyContext_Enter(run_ctx) < 0 {
        ffi::Py_DECREF(driver);
        return None;
    }
    let mut out = ptr::null_mut();
    let r = ffi::PyIter_Send(driver, ffi::Py_None(), &mut out);
    let is_exc = matches!(r, ffi::PySendResult::PYGEN_ERROR);
    if is_exc {
        out = crate::pyerr::fetch();
    }
    if ffi::PyContext_Exit(run_ctx) < 0 {
        ffi::Py_XDECREF(out);
        ffi::Py_DECREF(driver);
        return None;
    }
    if !matches!(r, ffi::PySendResult::PYGEN_NEXT) {
        ffi::Py_DECREF(driver);
        if out.is_null() {
            crate::pyerr::set_string(
                ffi::PyExc_SystemError,
                c"error return without exception set",
            );
            return None;
        }
        return Some(Started::Done(out, is_exc));
    }
    let cs = corostart::create_pending(NATIVE_CLASS as *mut ffi::PyTypeObject, driver, out);
    if cs.is_null() {
        return None;
    }
    if keep_ctx {
        (*(cs as *mut CoroStart)).context = ffi::Py_NewRef(run_ctx);
    }
    Some(Started::Pending(cs))
}

/// The native class `_CCoroStart`, while `asynkit.coroutine.CoroStart` is still it.
/// `Some(false)`: rebound (use the Python code); `None`: an exception is set.
pub unsafe fn native_class_active() -> Option<bool> {
    native_active()
}

/// Start `coro` in a copy of the current context (or `context`), as `coro_eager` does.
unsafe fn eager_start(
    coro: *mut ffi::PyObject,
    create_task: *mut ffi::PyObject,
    context: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    if !context.is_null() && ffi::PyContext_CheckExact(context) == 0 {
        return crate::pyerr::type_error(format!(
            "CoroStart() argument 'context' must be a contextvars.Context or None, not {}",
            crate::pyerr::type_name(context)
        ));
    }
    let ctx = if context.is_null() {
        ffi::PyContext_CopyCurrent()
    } else {
        ffi::Py_NewRef(context)
    };
    if ctx.is_null() {
        return ptr::null_mut();
    }
    let started = start_eagerly(coro, ctx, true);
    ffi::Py_DECREF(ctx);
    match started {
        None => ptr::null_mut(),
        Some(Started::Done(out, is_exc)) => {
            let fut = done_future(out, is_exc);
            ffi::Py_DECREF(out);
            fut
        }
        Some(Started::Pending(cs)) => {
            let ct = if create_task.is_null() {
                ffi::Py_None()
            } else {
                create_task
            };
            let argv = [cs, ct];
            let r = ffi::PyObject_Vectorcall(CONTINUE, argv.as_ptr(), 2, ptr::null_mut());
            ffi::Py_DECREF(cs);
            r
        }
    }
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
