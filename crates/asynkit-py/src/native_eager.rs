//! Native-semantics eager task factory on 3.10/3.11 (`create_native_eager_task_factory`):
//! the Rust first-step driver.
//!
//! The task is a real `asyncio.Task` built by its own C constructor, and its first step is
//! the Task's own C step, so every outcome (result, exception, cancellation, a yielded
//! future with its wake-up callback and `_fut_waiter`, a bare yield) is handled exactly as
//! a stock Task handles it. What the driver changes is how the step gets to run:
//!
//! 1. The constructor is called with a *step catcher* as its `loop`. The C constructor
//!    asks that loop for `get_debug()` (forwarded to the real loop) and schedules the first
//!    step with `loop.call_soon(step, context=ctx)`: the catcher keeps `step` and `ctx`
//!    instead of queueing a `Handle` (that saves the Python `call_soon` and `Handle`
//!    construction, most of a Task's creation cost).
//! 2. The Task's loop reference (the first field of the C future, at a calibrated offset)
//!    is pointed at the real loop.
//! 3. The driver takes the creating task out of the loop's current-task slot, enters the
//!    Task's context, calls the step (which enters and leaves the Task as current task
//!    itself, sends into the coroutine and handles what it yields), leaves the context
//!    and puts the creating task back.
//!
//! The fast path is only taken for exactly the C `asyncio.Task` on the running loop and
//! only after a calibration at configuration time proved the loop field's offset; every
//! other case (Python Tasks, subclasses, no running loop) goes to the Python factory
//! (`py_factory`), which has the same semantics.
use crate::strings;
use pyo3::ffi;
use std::os::raw::{c_int, c_void};
use std::ptr;

// ---- the step catcher ---------------------------------------------------------------------

#[repr(C)]
struct Catcher {
    ob_base: ffi::PyObject,
    real_loop: *mut ffi::PyObject,
    step: *mut ffi::PyObject,
    context: *mut ffi::PyObject,
    /// The Task's `_all_tasks.add(task)` went to the registration hook (see `hook_add`).
    swallowed: bool,
    /// `self.get_debug` / `self.call_soon`, made once per catcher (the C Task looks both
    /// up on its loop for every Task; see `catcher_getattro`).
    bound_get_debug: *mut ffi::PyObject,
    bound_call_soon: *mut ffi::PyObject,
}

/// Method definitions of the two cached bound methods, and their names.
static mut GET_DEBUG_DEF: *mut ffi::PyMethodDef = ptr::null_mut();
static mut CALL_SOON_DEF: *mut ffi::PyMethodDef = ptr::null_mut();
static mut CALL_SOON: *mut ffi::PyObject = ptr::null_mut();

static mut CATCHER_TYPE: *mut ffi::PyTypeObject = ptr::null_mut();
static mut FACTORY_TYPE: *mut ffi::PyTypeObject = ptr::null_mut();
/// `_asyncio.Task` (the C Task) and `asyncio.tasks._current_tasks`.
static mut C_TASK: *mut ffi::PyObject = ptr::null_mut();
static mut CURRENT_TASKS: *mut ffi::PyObject = ptr::null_mut();
static mut GET_DEBUG: *mut ffi::PyObject = ptr::null_mut();
static mut CALL_EXCEPTION_HANDLER: *mut ffi::PyObject = ptr::null_mut();
/// `asyncio.tasks._all_tasks` (a `WeakSet`), its original bound `add`, the hook that
/// stands in for that `add` while a Task is built, and attribute names of the WeakSet.
static mut ALL_TASKS: *mut ffi::PyObject = ptr::null_mut();
static mut ORIGINAL_ADD: *mut ffi::PyObject = ptr::null_mut();
static mut HOOK: *mut ffi::PyObject = ptr::null_mut();
static mut ADD: *mut ffi::PyObject = ptr::null_mut();
static mut DATA: *mut ffi::PyObject = ptr::null_mut();
static mut REMOVE: *mut ffi::PyObject = ptr::null_mut();
static mut PENDING_REMOVALS: *mut ffi::PyObject = ptr::null_mut();
static mut COMMIT_REMOVALS: *mut ffi::PyObject = ptr::null_mut();
static mut DONE: *mut ffi::PyObject = ptr::null_mut();
/// `_all_tasks.data`, `._remove`, `._pending_removals`: a WeakSet creates these in
/// `__init__` and never rebinds them (its methods update the set and list in place).
static mut WS_DATA: *mut ffi::PyObject = ptr::null_mut();
static mut WS_REMOVE: *mut ffi::PyObject = ptr::null_mut();
static mut WS_PENDING: *mut ffi::PyObject = ptr::null_mut();
/// One catcher kept for reuse (a fresh one is made when it is in use).
static mut SPARE: *mut ffi::PyObject = ptr::null_mut();
static mut LOOP: *mut ffi::PyObject = ptr::null_mut();
/// kwnames for the constructor call: (loop,), (loop, name), (loop, context), (loop, name, context)
static mut KWNAMES: [*mut ffi::PyObject; 4] = [ptr::null_mut(); 4];
/// Byte offset of the C future's loop field; 0 while the fast path is off.
static mut LOOP_OFFSET: usize = 0;

unsafe fn new_catcher(real_loop: *mut ffi::PyObject) -> *mut ffi::PyObject {
    let obj = if !SPARE.is_null() && ffi::Py_REFCNT(SPARE) == 1 + cached_bound(SPARE) {
        ffi::Py_NewRef(SPARE)
    } else {
        ffi::PyType_GenericAlloc(CATCHER_TYPE, 0)
    };
    if !obj.is_null() {
        let c = obj as *mut Catcher;
        (*c).real_loop = ffi::Py_NewRef(real_loop);
        (*c).swallowed = false;
    }
    obj
}

/// How many references a catcher's cached bound methods hold to it.
unsafe fn cached_bound(obj: *mut ffi::PyObject) -> ffi::Py_ssize_t {
    let c = obj as *mut Catcher;
    (!(*c).bound_get_debug.is_null()) as ffi::Py_ssize_t
        + (!(*c).bound_call_soon.is_null()) as ffi::Py_ssize_t
}

/// Drop a catcher after use: the spare keeps only its bound methods, any other is
/// emptied (which breaks its cycles through them) and released.
unsafe fn release_catcher(obj: *mut ffi::PyObject) {
    let c = obj as *mut Catcher;
    ffi::Py_CLEAR(&mut (*c).real_loop);
    ffi::Py_CLEAR(&mut (*c).step);
    ffi::Py_CLEAR(&mut (*c).context);
    if SPARE.is_null() || SPARE == obj {
        if SPARE.is_null() {
            SPARE = ffi::Py_NewRef(obj);
        }
    } else {
        catcher_clear(obj);
    }
    ffi::Py_DECREF(obj);
}

/// `get_debug` and `call_soon` come back as bound methods cached in the catcher.
unsafe extern "C" fn catcher_getattro(
    obj: *mut ffi::PyObject,
    name: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    let c = obj as *mut Catcher;
    let (slot, def) = if name == CALL_SOON {
        (&raw mut (*c).bound_call_soon, CALL_SOON_DEF)
    } else if name == GET_DEBUG {
        (&raw mut (*c).bound_get_debug, GET_DEBUG_DEF)
    } else {
        return ffi::PyObject_GenericGetAttr(obj, name);
    };
    if (*slot).is_null() {
        let m = ffi::PyCFunction_NewEx(def, obj, ptr::null_mut());
        if m.is_null() {
            return m;
        }
        *slot = m;
    }
    ffi::Py_NewRef(*slot)
}

/// Stands in for `_all_tasks.add` while the factory builds a Task: the registration of a
/// Task whose loop is (still) a catcher is left to the driver, which registers the Task
/// itself right before the first step; anything else goes to the real `add`.
unsafe extern "C" fn hook_add(
    _m: *mut ffi::PyObject,
    item: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    if LOOP_OFFSET != 0 && ffi::Py_TYPE(item) == C_TASK as *mut ffi::PyTypeObject {
        let lp = *((item as *mut u8).add(LOOP_OFFSET) as *mut *mut ffi::PyObject);
        if !lp.is_null() && ffi::Py_TYPE(lp) == CATCHER_TYPE {
            (*(lp as *mut Catcher)).swallowed = true;
            return ffi::Py_NewRef(ffi::Py_None());
        }
    }
    ffi::PyObject_CallOneArg(ORIGINAL_ADD, item)
}

/// `_all_tasks.add(task)` as `WeakSet.add` does it; returns the weak reference put in
/// `_all_tasks.data` (so it can be taken out again), or `None`-less null on error.
unsafe fn register(task: *mut ffi::PyObject) -> *mut ffi::PyObject {
    if ffi::PyList_GET_SIZE(WS_PENDING) > 0 {
        let r = ffi::PyObject_CallMethodNoArgs(ALL_TASKS, COMMIT_REMOVALS);
        if r.is_null() {
            return r;
        }
        ffi::Py_DECREF(r);
    }
    let r = ffi::PyWeakref_NewRef(task, WS_REMOVE);
    if !r.is_null() && ffi::PySet_Add(WS_DATA, r) < 0 {
        ffi::Py_DECREF(r);
        return ptr::null_mut();
    }
    r
}

/// Take a reference made by `register` out of `_all_tasks.data` again.
unsafe fn unregister(r: *mut ffi::PyObject) {
    if ffi::PySet_Discard(WS_DATA, r) < 0 {
        ffi::PyErr_Clear();
    }
}

/// `get_debug()`: the real loop's answer (the C future records its source traceback).
/// For loops whose `get_debug` is `BaseEventLoop.get_debug`, its `_debug` is read directly
/// (`eager::plain_debug`).
unsafe extern "C" fn catcher_get_debug(
    obj: *mut ffi::PyObject,
    _: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    let lp = (*(obj as *mut Catcher)).real_loop;
    match crate::eager::plain_debug(lp) {
        Some(debug) => debug,
        None => ffi::PyObject_CallMethodNoArgs(lp, GET_DEBUG),
    }
}

/// `call_soon(callback, *args, context=None)`: keep the first callback, queue nothing.
unsafe extern "C" fn catcher_call_soon(
    obj: *mut ffi::PyObject,
    args: *const *mut ffi::PyObject,
    nargsf: ffi::Py_ssize_t,
    kwnames: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    let c = obj as *mut Catcher;
    let nargs = ffi::PyVectorcall_NARGS(nargsf as usize) as usize;
    if nargs != 1 || !(*c).step.is_null() {
        crate::pyerr::set_string(
            ffi::PyExc_RuntimeError,
            c"asynkit native eager factory: unexpected call_soon() during Task construction",
        );
        return ptr::null_mut();
    }
    let mut context = ptr::null_mut();
    let nkw = if kwnames.is_null() {
        0
    } else {
        ffi::PyTuple_GET_SIZE(kwnames) as usize
    };
    for i in 0..nkw {
        let k = ffi::PyTuple_GET_ITEM(kwnames, i as ffi::Py_ssize_t);
        if strings::kw_is(k, strings::context()) {
            context = *args.add(nargs + i);
        }
    }
    if context == ffi::Py_None() {
        context = ptr::null_mut();
    }
    (*c).step = ffi::Py_NewRef(*args);
    if !context.is_null() {
        (*c).context = ffi::Py_NewRef(context);
    }
    ffi::Py_NewRef(ffi::Py_None())
}

/// `call_exception_handler(context)`: the real loop's (the finaliser of a Task whose
/// construction failed half-way reports through its loop).
unsafe extern "C" fn catcher_call_exception_handler(
    obj: *mut ffi::PyObject,
    arg: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    ffi::PyObject_CallMethodOneArg(
        (*(obj as *mut Catcher)).real_loop,
        CALL_EXCEPTION_HANDLER,
        arg,
    )
}

unsafe extern "C" fn catcher_traverse(
    obj: *mut ffi::PyObject,
    visit: ffi::visitproc,
    arg: *mut c_void,
) -> c_int {
    let c = obj as *mut Catcher;
    let refs = [
        (*c).real_loop,
        (*c).step,
        (*c).context,
        (*c).bound_get_debug,
        (*c).bound_call_soon,
    ];
    crate::gc::visit_refs(obj, &refs, visit, arg)
}

unsafe extern "C" fn catcher_clear(obj: *mut ffi::PyObject) -> c_int {
    let c = obj as *mut Catcher;
    ffi::Py_CLEAR(&mut (*c).real_loop);
    ffi::Py_CLEAR(&mut (*c).step);
    ffi::Py_CLEAR(&mut (*c).context);
    ffi::Py_CLEAR(&mut (*c).bound_get_debug);
    ffi::Py_CLEAR(&mut (*c).bound_call_soon);
    0
}

unsafe extern "C" fn catcher_dealloc(obj: *mut ffi::PyObject) {
    crate::gc::dealloc(obj, catcher_clear);
}

// ---- the factory ----------------------------------------------------------------------------

#[repr(C)]
struct Factory {
    ob_base: ffi::PyObject,
    vectorcall: Option<ffi::vectorcallfunc>,
    ctor: *mut ffi::PyObject,
    /// The Python factory with the same semantics, for everything off the fast path.
    py_factory: *mut ffi::PyObject,
    /// `(cell(ctor),)`: anyio reads `factory.__closure__[0].cell_contents`.
    closure: *mut ffi::PyObject,
}

pub unsafe fn new_factory(
    ctor: *mut ffi::PyObject,
    py_factory: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    let cell = ffi::PyCell_New(ctor);
    if cell.is_null() {
        return cell;
    }
    let closure = ffi::PyTuple_Pack(1, cell);
    ffi::Py_DECREF(cell);
    if closure.is_null() {
        return closure;
    }
    let obj = ffi::PyType_GenericAlloc(FACTORY_TYPE, 0);
    if obj.is_null() {
        ffi::Py_DECREF(closure);
        return obj;
    }
    let f = obj as *mut Factory;
    (*f).vectorcall = Some(factory_call);
    (*f).ctor = ffi::Py_NewRef(ctor);
    (*f).py_factory = ffi::Py_NewRef(py_factory);
    (*f).closure = closure;
    obj
}

unsafe extern "C" fn factory_call(
    callable: *mut ffi::PyObject,
    args: *const *mut ffi::PyObject,
    nargsf: usize,
    kwnames: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    let f = callable as *mut Factory;
    let fallback = || ffi::PyObject_Vectorcall((*f).py_factory, args, nargsf, kwnames);
    let nargs = ffi::PyVectorcall_NARGS(nargsf) as usize;
    if LOOP_OFFSET == 0 || (*f).ctor != C_TASK || nargs != 2 {
        return fallback();
    }
    let (lp, coro) = (*args, *args.add(1));
    let Some((mut name, mut context)) =
        strings::name_context(args.add(nargs), kwnames, ptr::null_mut())
    else {
        return fallback();
    };
    if name == ffi::Py_None() {
        name = ptr::null_mut();
    }
    if context == ffi::Py_None() {
        context = ptr::null_mut();
    }
    if !cfg!(Py_3_11) && !context.is_null() {
        return fallback(); // 3.10 Tasks take no context: let the constructor say so
    }
    // The first step is taken only on the running loop (as in 3.12).
    let running = crate::running_loop::get();
    if running.is_null() {
        ffi::PyErr_Clear();
        return fallback();
    }
    ffi::Py_DECREF(running);
    if running != lp {
        return fallback();
    }
    // While the Task is built, `_all_tasks.add` is the hook (only for plain coroutines and
    // str names, so no code of the caller's runs meanwhile): a Task that finishes in its
    // first step is then never put in the WeakSet (whose weak-reference callback would run
    // Python code when the Task dies), as with 3.12's eager tasks.
    let hook = ffi::PyCoro_CheckExact(coro) != 0
        && (name.is_null() || ffi::PyUnicode_CheckExact(name) != 0);
    let Some(Built {
        task,
        step,
        ctx,
        swallowed,
    }) = build(coro, lp, name, context, hook)
    else {
        return ptr::null_mut();
    };
    // In `all_tasks()` during the first step; out again if it finished there.
    let registration = if swallowed {
        let r = register(task);
        if r.is_null() {
            ffi::Py_DECREF(step);
            ffi::Py_XDECREF(ctx);
            ffi::Py_DECREF(task);
            return r;
        }
        r
    } else {
        ptr::null_mut()
    };
    let ok = run_step(lp, step, ctx);
    ffi::Py_DECREF(step);
    ffi::Py_XDECREF(ctx);
    if !registration.is_null() {
        let exc = if ok {
            ptr::null_mut()
        } else {
            crate::pyerr::fetch()
        };
        let done = ffi::PyObject_CallMethodNoArgs(task, DONE);
        if done == ffi::Py_True() {
            unregister(registration);
        }
        if done.is_null() {
            ffi::PyErr_Clear();
        } else {
            ffi::Py_DECREF(done);
        }
        ffi::Py_DECREF(registration);
        if !exc.is_null() {
            crate::pyerr::restore(exc);
        }
    }
    if !ok {
        ffi::Py_DECREF(task);
        return ptr::null_mut();
    }
    task
}

/// A C Task built through a catcher, not yet scheduled: its first step and that step's
/// context (what its constructor passed to `call_soon`), and whether its registration in
/// `_all_tasks` was left to the caller (`hook`).
struct Built {
    task: *mut ffi::PyObject,
    step: *mut ffi::PyObject,
    ctx: *mut ffi::PyObject,
    swallowed: bool,
}

/// `Task(coro, loop=lp[, name=..][, context=..])` for the C Task with a catcher as the
/// loop while it is built; `hook`: shadow `_all_tasks.add` meanwhile (see `hook_add`).
/// None with an exception set.
unsafe fn build(
    coro: *mut ffi::PyObject,
    lp: *mut ffi::PyObject,
    name: *mut ffi::PyObject,
    context: *mut ffi::PyObject,
    hook: bool,
) -> Option<Built> {
    let catcher = new_catcher(lp);
    if catcher.is_null() {
        return None;
    }
    let hooked = hook
        && !HOOK.is_null()
        && !WS_DATA.is_null()
        && ffi::PyObject_SetAttr(ALL_TASKS, ADD, HOOK) == 0;
    if hook && !hooked {
        ffi::PyErr_Clear();
    }
    let task = construct(coro, catcher, name, context);
    if hooked && ffi::PyObject_DelAttr(ALL_TASKS, ADD) < 0 {
        ffi::PyErr_Clear();
    }
    let c = catcher as *mut Catcher;
    let swallowed = (*c).swallowed;
    if task.is_null() {
        release_catcher(catcher);
        return None;
    }
    // Point the Task at the real loop (the catcher is its loop until now).
    let slot = (task as *mut u8).add(LOOP_OFFSET) as *mut *mut ffi::PyObject;
    if *slot != catcher {
        release_catcher(catcher);
        ffi::Py_DECREF(task);
        crate::pyerr::set_string(
            ffi::PyExc_RuntimeError,
            c"asynkit native eager factory: the Task does not hold its loop where calibrated",
        );
        return None;
    }
    *slot = ffi::Py_NewRef(lp);
    ffi::Py_DECREF(catcher); // the Task's reference
    let step = (*c).step;
    let ctx = (*c).context;
    (*c).step = ptr::null_mut();
    (*c).context = ptr::null_mut();
    release_catcher(catcher);
    if step.is_null() {
        ffi::Py_XDECREF(ctx);
        ffi::Py_DECREF(task);
        crate::pyerr::set_string(
            ffi::PyExc_RuntimeError,
            c"asynkit native eager factory: the Task did not schedule its first step",
        );
        return None;
    }
    Some(Built {
        task,
        step,
        ctx,
        swallowed,
    })
}

/// `asyncio.Task(coro, loop=lp[, context=context])` exactly as its constructor makes it
/// (registered in `all_tasks()`, first step queued with its context), with the first step
/// queued by `handle::call_soon` instead of the Python `loop.call_soon` (and, for a
/// continuation whose start ended on a bare yield, that step being a `FirstStep`). None
/// when the fast path is off (the caller calls the constructor); otherwise the Task or
/// null with an exception set.
pub unsafe fn create_task(
    coro: *mut ffi::PyObject,
    lp: *mut ffi::PyObject,
    context: *mut ffi::PyObject,
) -> Option<*mut ffi::PyObject> {
    if LOOP_OFFSET == 0 {
        return None;
    }
    let Some(Built {
        task, step, ctx, ..
    }) = build(coro, lp, ptr::null_mut(), context, false)
    else {
        return Some(ptr::null_mut());
    };
    // A continuation suspended on a bare yield: its first step only hands that over and
    // queues the next one, which `FirstStep` does without the Python `call_soon`.
    let first = if crate::awaiter::first_is_none(coro) {
        crate::first_step::new(task, step, ctx, coro, lp)
    } else {
        ffi::Py_NewRef(step)
    };
    let h = if first.is_null() {
        first
    } else {
        let h = crate::handle::call_soon(lp, first, ctx);
        ffi::Py_DECREF(first);
        h
    };
    ffi::Py_DECREF(step);
    ffi::Py_XDECREF(ctx);
    if h.is_null() {
        ffi::Py_DECREF(task);
        return Some(h);
    }
    ffi::Py_DECREF(h);
    Some(task)
}

/// The C `asyncio.Task` type while the fast path is on.
pub fn c_task() -> *mut ffi::PyObject {
    unsafe {
        if LOOP_OFFSET == 0 {
            ptr::null_mut()
        } else {
            C_TASK
        }
    }
}

/// `Task(coro, loop=catcher[, name=name][, context=context])`.
unsafe fn construct(
    coro: *mut ffi::PyObject,
    catcher: *mut ffi::PyObject,
    name: *mut ffi::PyObject,
    context: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    let (argv, which) = match (name.is_null(), context.is_null()) {
        (true, true) => ([coro, catcher, ptr::null_mut(), ptr::null_mut()], 0),
        (false, true) => ([coro, catcher, name, ptr::null_mut()], 1),
        (true, false) => ([coro, catcher, context, ptr::null_mut()], 2),
        (false, false) => ([coro, catcher, name, context], 3),
    };
    ffi::PyObject_Vectorcall(C_TASK, argv.as_ptr(), 1, KWNAMES[which])
}

/// Run the Task's first step now: the creating task is not current meanwhile, the step
/// runs in the Task's context. `false` with an exception set if the step raised (only
/// `KeyboardInterrupt` / `SystemExit` get out of a Task step; they were also set on the
/// Task, as in 3.12).
unsafe fn run_step(
    lp: *mut ffi::PyObject,
    step: *mut ffi::PyObject,
    ctx: *mut ffi::PyObject,
) -> bool {
    let prev = ffi::PyDict_GetItemWithError(CURRENT_TASKS, lp);
    if prev.is_null() {
        if !ffi::PyErr_Occurred().is_null() {
            return false;
        }
    } else {
        ffi::Py_INCREF(prev);
        if ffi::PyDict_DelItem(CURRENT_TASKS, lp) < 0 {
            ffi::Py_DECREF(prev);
            return false;
        }
    }
    let entered = ctx.is_null() || ffi::PyContext_Enter(ctx) == 0;
    let r = if entered {
        ffi::PyObject_CallNoArgs(step)
    } else {
        ptr::null_mut()
    };
    let mut ok = !r.is_null();
    ffi::Py_XDECREF(r);
    let exc = if ok {
        ptr::null_mut()
    } else {
        crate::pyerr::fetch()
    };
    if entered && !ctx.is_null() && ffi::PyContext_Exit(ctx) < 0 {
        ffi::PyErr_Clear();
    }
    if !prev.is_null() {
        if ffi::PyDict_SetItem(CURRENT_TASKS, lp, prev) < 0 {
            ffi::PyErr_Clear();
        }
        ffi::Py_DECREF(prev);
    }
    if !exc.is_null() {
        crate::pyerr::restore(exc);
        ok = false;
    }
    ok
}

unsafe extern "C" fn factory_closure(
    obj: *mut ffi::PyObject,
    _: *mut c_void,
) -> *mut ffi::PyObject {
    ffi::Py_NewRef((*(obj as *mut Factory)).closure)
}

unsafe extern "C" fn factory_traverse(
    obj: *mut ffi::PyObject,
    visit: ffi::visitproc,
    arg: *mut c_void,
) -> c_int {
    let f = obj as *mut Factory;
    crate::gc::visit_refs(obj, &[(*f).ctor, (*f).py_factory, (*f).closure], visit, arg)
}

unsafe extern "C" fn factory_clear(obj: *mut ffi::PyObject) -> c_int {
    let f = obj as *mut Factory;
    ffi::Py_CLEAR(&mut (*f).ctor);
    ffi::Py_CLEAR(&mut (*f).py_factory);
    ffi::Py_CLEAR(&mut (*f).closure);
    0
}

unsafe extern "C" fn factory_dealloc(obj: *mut ffi::PyObject) {
    crate::gc::dealloc(obj, factory_clear);
}

unsafe extern "C" fn factory_repr(obj: *mut ffi::PyObject) -> *mut ffi::PyObject {
    ffi::PyObject_Repr((*(obj as *mut Factory)).py_factory)
}

// ---- configuration and calibration -----------------------------------------------------------

/// Give the driver the C Task type and the current-task dict, then calibrate: build one
/// Task of `coro` (a coroutine that returns at once) through a catcher around `probe_loop`
/// (an object with `get_debug()`), find the catcher at the expected offset, run the step.
/// Returns whether the fast path is on.
pub unsafe fn configure(
    c_task: *mut ffi::PyObject,
    current_tasks: *mut ffi::PyObject,
    all_tasks: *mut ffi::PyObject,
    probe_loop: *mut ffi::PyObject,
    coro: *mut ffi::PyObject,
) -> Result<bool, ()> {
    if LOOP.is_null() {
        LOOP = ffi::PyUnicode_InternFromString(c"loop".as_ptr());
        GET_DEBUG = ffi::PyUnicode_InternFromString(c"get_debug".as_ptr());
        CALL_SOON = ffi::PyUnicode_InternFromString(c"call_soon".as_ptr());
        CALL_EXCEPTION_HANDLER =
            ffi::PyUnicode_InternFromString(c"call_exception_handler".as_ptr());
        ADD = ffi::PyUnicode_InternFromString(c"add".as_ptr());
        DATA = ffi::PyUnicode_InternFromString(c"data".as_ptr());
        REMOVE = ffi::PyUnicode_InternFromString(c"_remove".as_ptr());
        PENDING_REMOVALS = ffi::PyUnicode_InternFromString(c"_pending_removals".as_ptr());
        COMMIT_REMOVALS = ffi::PyUnicode_InternFromString(c"_commit_removals".as_ptr());
        DONE = ffi::PyUnicode_InternFromString(c"done".as_ptr());
        let names = [
            CALL_SOON,
            LOOP,
            GET_DEBUG,
            CALL_EXCEPTION_HANDLER,
            ADD,
            DATA,
            REMOVE,
            PENDING_REMOVALS,
            COMMIT_REMOVALS,
            DONE,
        ];
        if names.iter().any(|p| p.is_null()) {
            return Err(());
        }
        let def: &'static mut ffi::PyMethodDef = Box::leak(Box::new(ffi::PyMethodDef {
            ml_name: c"add".as_ptr(),
            ml_meth: ffi::PyMethodDefPointer {
                PyCFunction: hook_add,
            },
            ml_flags: ffi::METH_O,
            ml_doc: c"asynkit's stand-in for _all_tasks.add while a native eager Task is built"
                .as_ptr(),
        }));
        HOOK = ffi::PyCFunction_NewEx(def, ptr::null_mut(), ptr::null_mut());
        if HOOK.is_null() {
            return Err(());
        }
        KWNAMES[0] = ffi::PyTuple_Pack(1, LOOP);
        KWNAMES[1] = ffi::PyTuple_Pack(2, LOOP, strings::name());
        KWNAMES[2] = ffi::PyTuple_Pack(2, LOOP, strings::context());
        KWNAMES[3] = ffi::PyTuple_Pack(3, LOOP, strings::name(), strings::context());
        let kwnames = KWNAMES;
        if kwnames.iter().any(|p| p.is_null()) {
            return Err(());
        }
    }
    LOOP_OFFSET = 0;
    if ffi::PyType_Check(c_task) == 0 || ffi::PyDict_CheckExact(current_tasks) == 0 {
        return Ok(false);
    }
    crate::pyerr::set_static(&raw mut C_TASK, c_task);
    crate::pyerr::set_static(&raw mut CURRENT_TASKS, current_tasks);
    crate::pyerr::set_static(&raw mut ALL_TASKS, all_tasks);
    let add = ffi::PyObject_GetAttr(all_tasks, ADD);
    if add.is_null() {
        ffi::PyErr_Clear();
        return Ok(false);
    }
    crate::pyerr::set_static(&raw mut ORIGINAL_ADD, add);
    ffi::Py_DECREF(add);
    let data = ffi::PyObject_GetAttr(all_tasks, DATA);
    let remove = ffi::PyObject_GetAttr(all_tasks, REMOVE);
    let pending = ffi::PyObject_GetAttr(all_tasks, PENDING_REMOVALS);
    let usable = !data.is_null()
        && !remove.is_null()
        && !pending.is_null()
        && ffi::PySet_CheckExact(data) != 0
        && ffi::PyList_CheckExact(pending) != 0;
    ffi::PyErr_Clear();
    if usable {
        crate::pyerr::set_static(&raw mut WS_DATA, data);
        crate::pyerr::set_static(&raw mut WS_REMOVE, remove);
        crate::pyerr::set_static(&raw mut WS_PENDING, pending);
    } else {
        WS_DATA = ptr::null_mut(); // (leaks a stale reference at most once)
    }
    for p in [data, remove, pending] {
        ffi::Py_XDECREF(p);
    }
    // The loop is the first field after the object header in CPython's FutureObj.
    let offset = std::mem::size_of::<ffi::PyObject>();
    let catcher = new_catcher(probe_loop);
    if catcher.is_null() {
        return Err(());
    }
    let task = construct(coro, catcher, ptr::null_mut(), ptr::null_mut());
    if task.is_null() {
        ffi::PyErr_Clear();
        release_catcher(catcher);
        return Ok(false);
    }
    let slot = (task as *mut u8).add(offset) as *mut *mut ffi::PyObject;
    let c = catcher as *mut Catcher;
    let found = *slot == catcher && !(*c).step.is_null();
    if *slot == catcher {
        *slot = ffi::Py_NewRef(probe_loop);
        ffi::Py_DECREF(catcher);
    }
    let mut ok = found;
    if found {
        let (step, ctx) = ((*c).step, (*c).context);
        (*c).step = ptr::null_mut();
        (*c).context = ptr::null_mut();
        ok = run_step(probe_loop, step, ctx);
        ffi::Py_DECREF(step);
        ffi::Py_XDECREF(ctx);
        if !ok {
            ffi::PyErr_Clear();
        }
    }
    release_catcher(catcher);
    ffi::Py_DECREF(task);
    if ok {
        LOOP_OFFSET = offset;
    }
    Ok(ok)
}

pub unsafe fn init(module: *mut ffi::PyObject) -> (*mut ffi::PyObject, *mut ffi::PyObject) {
    use crate::pytype::{self, method, slot};
    use ffi::PyMethodDefPointer as M;
    let methods = pytype::methods_slot(vec![
        method(
            c"get_debug",
            M {
                PyCFunction: catcher_get_debug,
            },
            ffi::METH_NOARGS,
            c"",
        ),
        method(
            c"call_soon",
            M {
                PyCFunctionFastWithKeywords: catcher_call_soon,
            },
            ffi::METH_FASTCALL | ffi::METH_KEYWORDS,
            c"",
        ),
        method(
            c"call_exception_handler",
            M {
                PyCFunction: catcher_call_exception_handler,
            },
            ffi::METH_O,
            c"",
        ),
    ]);
    // The cached bound methods are made from these definitions (see `catcher_getattro`).
    let defs = methods.pfunc as *mut ffi::PyMethodDef;
    GET_DEBUG_DEF = defs;
    CALL_SOON_DEF = defs.add(1);
    let mut slots = pytype::gc_slots(catcher_dealloc, catcher_traverse, catcher_clear).to_vec();
    slots.extend([
        methods,
        slot(ffi::Py_tp_getattro, catcher_getattro as *mut c_void),
    ]);
    let flags =
        ffi::Py_TPFLAGS_DEFAULT | ffi::Py_TPFLAGS_HAVE_GC | ffi::Py_TPFLAGS_DISALLOW_INSTANTIATION;
    let catcher = pytype::new_type(
        module,
        c"asynkit._asynkit.StepCatcher",
        std::mem::size_of::<Catcher>(),
        flags,
        slots,
        ptr::null_mut(),
    );
    if catcher.is_null() {
        return (ptr::null_mut(), ptr::null_mut());
    }
    CATCHER_TYPE = catcher as *mut ffi::PyTypeObject;

    let mut fslots = pytype::gc_slots(factory_dealloc, factory_traverse, factory_clear).to_vec();
    fslots.extend(pytype::vectorcall_slots(std::mem::offset_of!(
        Factory, vectorcall
    )));
    fslots.extend([
        slot(ffi::Py_tp_repr, factory_repr as *mut c_void),
        pytype::getsets_slot(vec![pytype::getset(
            c"__closure__",
            factory_closure,
            None,
            ptr::null_mut(),
        )]),
        slot(
            ffi::Py_tp_doc,
            c"A task factory with CPython 3.12's eager semantics: factory(loop, coro, *, name=None, context=None).".as_ptr() as *mut c_void,
        ),
    ]);
    let fflags = ffi::Py_TPFLAGS_DEFAULT
        | ffi::Py_TPFLAGS_HAVE_GC
        | ffi::Py_TPFLAGS_HAVE_VECTORCALL
        | ffi::Py_TPFLAGS_DISALLOW_INSTANTIATION;
    let factory = pytype::new_type(
        module,
        c"asynkit._asynkit.NativeEagerTaskFactory",
        std::mem::size_of::<Factory>(),
        fflags,
        fslots,
        ptr::null_mut(),
    );
    if factory.is_null() {
        return (catcher, ptr::null_mut());
    }
    FACTORY_TYPE = factory as *mut ffi::PyTypeObject;
    (catcher, factory)
}
