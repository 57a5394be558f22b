//! Native fast paths of `asynkit.scheduling` on deque-based ready queues (issue 4).
//!
//! * `move_to(ready, task, pos)`: find `task`'s step handle searching from the tail
//!   (`handle._callback.__self__ is task`), remove it and insert it at `pos`
//!   (`list.insert` rules); `false` when the task has no queued handle.
//! * `ReinsertHead`: the one-shot head callback of `sleep_insert` as a handle-like object
//!   (`_cancelled`, `_run()`, `cancel()`, `_callback`, `_args`, `_loop`): when the loop runs
//!   it, it does `task_reinsert(task, pos)` natively. If `asynkit.scheduling.task_reinsert`
//!   has been rebound, or the task's handle is not found, it calls the Python fallback,
//!   which calls the public `task_reinsert` and reports errors to the loop's exception
//!   handler, exactly like a `Handle` around `task_reinsert`. Its `_callback` is the public
//!   `task_reinsert`, a plain function, so it is never taken for a task's handle.
//! * `YieldOnce`: `await` it to yield `None` once (a bare yield, like `sleep(0)`).
//! * `sleep_insert_head(loop, ready, task, pos)` / `switch_head(ready, task)` combine those
//!   for the `async def` wrappers in `scheduling.py`.
use crate::pyerr;
use pyo3::ffi;
use pyo3::ffi::PySendResult;
use std::os::raw::{c_char, c_int, c_void};
use std::ptr;

static mut HEAD_TYPE: *mut ffi::PyTypeObject = ptr::null_mut();
static mut YIELD_TYPE: *mut ffi::PyTypeObject = ptr::null_mut();
/// `(asyncio.Task, PyTask)`, the scheduling module's globals, the original
/// `task_reinsert`, and the Python fallback `(head, loop, task, pos)`.
static mut TASK_TYPES: *mut ffi::PyObject = ptr::null_mut();
static mut MODULE_GLOBALS: *mut ffi::PyObject = ptr::null_mut();
static mut TASK_REINSERT: *mut ffi::PyObject = ptr::null_mut();
static mut FALLBACK: *mut ffi::PyObject = ptr::null_mut();
static mut S_CALLBACK: *mut ffi::PyObject = ptr::null_mut();
static mut S_SELF: *mut ffi::PyObject = ptr::null_mut();
static mut S_INSERT: *mut ffi::PyObject = ptr::null_mut();
static mut S_APPENDLEFT: *mut ffi::PyObject = ptr::null_mut();
static mut S_TASK_REINSERT: *mut ffi::PyObject = ptr::null_mut();
static mut S_ROTATE: *mut ffi::PyObject = ptr::null_mut();
static mut S_POP: *mut ffi::PyObject = ptr::null_mut();
/// The int `1` (immortal small int on 3.12+, kept referenced on older versions).
static mut ONE: *mut ffi::PyObject = ptr::null_mut();

pub unsafe fn configure(
    task_types: *mut ffi::PyObject,
    module_globals: *mut ffi::PyObject,
    task_reinsert: *mut ffi::PyObject,
    fallback: *mut ffi::PyObject,
) -> bool {
    if S_CALLBACK.is_null() {
        S_CALLBACK = ffi::PyUnicode_InternFromString(c"_callback".as_ptr());
        S_SELF = ffi::PyUnicode_InternFromString(c"__self__".as_ptr());
        S_INSERT = ffi::PyUnicode_InternFromString(c"insert".as_ptr());
        S_APPENDLEFT = ffi::PyUnicode_InternFromString(c"appendleft".as_ptr());
        S_TASK_REINSERT = ffi::PyUnicode_InternFromString(c"task_reinsert".as_ptr());
        S_ROTATE = ffi::PyUnicode_InternFromString(c"rotate".as_ptr());
        S_POP = ffi::PyUnicode_InternFromString(c"pop".as_ptr());
        ONE = ffi::PyLong_FromLong(1);
    }
    for (slot, v) in [
        (&raw mut TASK_TYPES, task_types),
        (&raw mut MODULE_GLOBALS, module_globals),
        (&raw mut TASK_REINSERT, task_reinsert),
        (&raw mut FALLBACK, fallback),
    ] {
        pyerr::set_static(slot, v);
    }
    let names = [
        S_CALLBACK,
        S_SELF,
        S_INSERT,
        S_APPENDLEFT,
        S_TASK_REINSERT,
        S_ROTATE,
        S_POP,
        ONE,
    ];
    !names.iter().any(|p| p.is_null())
}

/// `handle._callback.__self__ is task`, errors (no such attribute) counting as false.
#[inline]
unsafe fn handle_is_for(handle: *mut ffi::PyObject, task: *mut ffi::PyObject) -> bool {
    let cb = match crate::handle::exact_callback(handle) {
        Some(cb) if cb.is_null() => return false,
        Some(cb) => ffi::Py_NewRef(cb),
        None => ffi::PyObject_GetAttr(handle, S_CALLBACK),
    };
    if cb.is_null() {
        ffi::PyErr_Clear();
        return false;
    }
    let owner = ffi::PyObject_GetAttr(cb, S_SELF);
    ffi::Py_DECREF(cb);
    if owner.is_null() {
        ffi::PyErr_Clear();
        return false;
    }
    ffi::Py_DECREF(owner);
    owner == task
}

/// `isinstance(task, (asyncio.Task, PyTask))`, with the exact C Task answered at once.
#[inline]
unsafe fn is_task(task: *mut ffi::PyObject) -> Result<bool, ()> {
    let tp = ffi::Py_TYPE(task) as *mut ffi::PyObject;
    if ffi::PyTuple_Check(TASK_TYPES) != 0
        && ffi::PyTuple_GET_SIZE(TASK_TYPES) > 0
        && tp == ffi::PyTuple_GET_ITEM(TASK_TYPES, 0)
    {
        return Ok(true);
    }
    match ffi::PyObject_IsInstance(task, TASK_TYPES) {
        0 => Ok(false),
        1 => Ok(true),
        _ => Err(()),
    }
}

/// Move `task`'s queued handle to `pos` of `ready`. `Ok(false)`: not queued (or not a
/// task); `Err(())`: an exception is set.
unsafe fn move_handle(
    ready: *mut ffi::PyObject,
    task: *mut ffi::PyObject,
    pos: *mut ffi::PyObject,
) -> Result<bool, ()> {
    if !is_task(task)? {
        return Ok(false);
    }
    let n = ffi::PySequence_Size(ready);
    if n < 0 {
        return Err(());
    }
    let mut i = n;
    while i > 0 {
        i -= 1;
        let h = ffi::PySequence_GetItem(ready, i);
        if h.is_null() {
            return Err(());
        }
        if handle_is_for(h, task) {
            let r = relocate(ready, h, i, n, pos);
            ffi::Py_DECREF(h);
            return r.map(|()| true);
        }
        ffi::Py_DECREF(h);
    }
    Ok(false)
}

/// Move `h`, found at index `i` of `ready` (length `n`), to `pos` (`list.insert` rules).
/// The usual case, a handle at the tail of a deque, is one `pop()` (or, to the head, one
/// `rotate(1)`) instead of a rotating `del ready[i]`. If the insertion fails (a position
/// too large for `insert()`), the handle is put back where it was before the error is
/// raised, so the task is not lost from the queue.
unsafe fn relocate(
    ready: *mut ffi::PyObject,
    h: *mut ffi::PyObject,
    i: isize,
    n: isize,
    pos: *mut ffi::PyObject,
) -> Result<(), ()> {
    let to_head = ffi::PyLong_CheckExact(pos) != 0 && {
        let p = ffi::PyLong_AsSsize_t(pos);
        if p == -1 && !ffi::PyErr_Occurred().is_null() {
            ffi::PyErr_Clear(); // a huge int: not 0 (insert() reports the overflow)
        }
        p == 0
    };
    let tail_of_deque = i == n - 1 && crate::handle::is_deque(ready);
    if tail_of_deque && to_head {
        let argv = [ready, ONE];
        let r = ffi::PyObject_VectorcallMethod(
            S_ROTATE,
            argv.as_ptr(),
            2 | ffi::PY_VECTORCALL_ARGUMENTS_OFFSET,
            ptr::null_mut(),
        );
        return consume(r);
    }
    if tail_of_deque {
        let popped = ffi::PyObject_CallMethodNoArgs(ready, S_POP);
        consume(popped)?; // it is `h`, which the caller still holds
    } else if ffi::PySequence_DelItem(ready, i) < 0 {
        return Err(());
    }
    let inserted = if to_head {
        consume(ffi::PyObject_CallMethodOneArg(ready, S_APPENDLEFT, h))
    } else {
        insert(ready, pos, h)
    };
    if inserted.is_err() {
        let exc = pyerr::fetch();
        let index = ffi::PyLong_FromSsize_t(i);
        if !index.is_null() {
            let _ = insert(ready, index, h);
            ffi::Py_DECREF(index);
        }
        ffi::PyErr_Clear();
        pyerr::restore(exc);
    }
    inserted
}

/// `ready.insert(pos, h)`.
unsafe fn insert(
    ready: *mut ffi::PyObject,
    pos: *mut ffi::PyObject,
    h: *mut ffi::PyObject,
) -> Result<(), ()> {
    let argv = [ready, pos, h];
    consume(ffi::PyObject_VectorcallMethod(
        S_INSERT,
        argv.as_ptr(),
        3 | ffi::PY_VECTORCALL_ARGUMENTS_OFFSET,
        ptr::null_mut(),
    ))
}

/// Drop a call's result; `Err` if it failed.
#[inline]
unsafe fn consume(r: *mut ffi::PyObject) -> Result<(), ()> {
    if r.is_null() {
        return Err(());
    }
    ffi::Py_DECREF(r);
    Ok(())
}

/// `asynkit.scheduling`'s globals (borrowed).
pub fn module_globals() -> *mut ffi::PyObject {
    unsafe { MODULE_GLOBALS }
}

/// `move_handle` to an integer position.
pub unsafe fn move_to(
    ready: *mut ffi::PyObject,
    task: *mut ffi::PyObject,
    pos: isize,
) -> Result<bool, ()> {
    let p = ffi::PyLong_FromSsize_t(pos);
    if p.is_null() {
        return Err(());
    }
    let r = move_handle(ready, task, p);
    ffi::Py_DECREF(p);
    r
}

/// Queue a `ReinsertHead(task, pos)` at the head of `ready`.
pub unsafe fn push_head(
    lp: *mut ffi::PyObject,
    ready: *mut ffi::PyObject,
    task: *mut ffi::PyObject,
    pos: *mut ffi::PyObject,
) -> bool {
    let head = new_head(lp, ready, task, pos);
    if head.is_null() {
        return false;
    }
    let r = ffi::PyObject_CallMethodOneArg(ready, S_APPENDLEFT, head);
    ffi::Py_DECREF(head);
    if r.is_null() {
        return false;
    }
    ffi::Py_DECREF(r);
    true
}

// ---- YieldOnce ---------------------------------------------------------------------------

#[repr(C)]
struct YieldOnce {
    ob_base: ffi::PyObject,
    state: u8,
}

unsafe fn new_yield_once() -> *mut ffi::PyObject {
    let obj = ffi::PyType_GenericAlloc(YIELD_TYPE, 0);
    if !obj.is_null() {
        (*(obj as *mut YieldOnce)).state = 0;
    }
    obj
}

unsafe extern "C" fn yield_am_send(
    obj: *mut ffi::PyObject,
    _arg: *mut ffi::PyObject,
    out: *mut *mut ffi::PyObject,
) -> PySendResult {
    let y = obj as *mut YieldOnce;
    match (*y).state {
        0 => {
            (*y).state = 1;
            *out = ffi::Py_NewRef(ffi::Py_None());
            PySendResult::PYGEN_NEXT
        }
        1 => {
            (*y).state = 2;
            *out = ffi::Py_NewRef(ffi::Py_None());
            PySendResult::PYGEN_RETURN
        }
        _ => {
            pyerr::set_string(
                ffi::PyExc_RuntimeError,
                c"cannot reuse already awaited yield",
            );
            *out = ptr::null_mut();
            PySendResult::PYGEN_ERROR
        }
    }
}

unsafe extern "C" fn yield_iternext(obj: *mut ffi::PyObject) -> *mut ffi::PyObject {
    let mut out = ptr::null_mut();
    match yield_am_send(obj, ffi::Py_None(), &mut out) {
        PySendResult::PYGEN_NEXT => out,
        PySendResult::PYGEN_RETURN => {
            ffi::Py_DECREF(out);
            ptr::null_mut() // exhausted: StopIteration (None)
        }
        _ => ptr::null_mut(),
    }
}

unsafe extern "C" fn yield_dealloc(obj: *mut ffi::PyObject) {
    let tp = ffi::Py_TYPE(obj);
    let free = (*tp).tp_free.unwrap_or(ffi::PyObject_Free);
    free(obj as *mut c_void);
    ffi::Py_DECREF(tp as *mut ffi::PyObject);
}

// ---- ReinsertHead ------------------------------------------------------------------------

#[repr(C)]
struct Head {
    ob_base: ffi::PyObject,
    loop_: *mut ffi::PyObject,
    ready: *mut ffi::PyObject,
    task: *mut ffi::PyObject,
    pos: *mut ffi::PyObject,
    cancelled: c_char,
}

unsafe fn new_head(
    lp: *mut ffi::PyObject,
    ready: *mut ffi::PyObject,
    task: *mut ffi::PyObject,
    pos: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    let obj = ffi::PyType_GenericAlloc(HEAD_TYPE, 0);
    if !obj.is_null() {
        let h = obj as *mut Head;
        (*h).loop_ = ffi::Py_NewRef(lp);
        (*h).ready = ffi::Py_NewRef(ready);
        (*h).task = ffi::Py_NewRef(task);
        (*h).pos = ffi::Py_NewRef(pos);
        (*h).cancelled = 0;
    }
    obj
}

unsafe extern "C" fn head_run(
    obj: *mut ffi::PyObject,
    _: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    let h = obj as *mut Head;
    if (*h).cancelled != 0 || (*h).task.is_null() {
        return ffi::Py_NewRef(ffi::Py_None());
    }
    let current = ffi::PyDict_GetItemWithError(MODULE_GLOBALS, S_TASK_REINSERT);
    if current == TASK_REINSERT {
        match move_handle((*h).ready, (*h).task, (*h).pos) {
            Ok(true) => return ffi::Py_NewRef(ffi::Py_None()),
            Ok(false) => {}
            Err(()) => ffi::PyErr_Clear(),
        }
    } else {
        ffi::PyErr_Clear();
    }
    // Not found, or task_reinsert rebound: the public function, errors to the loop.
    let argv = [obj, (*h).loop_, (*h).task, (*h).pos];
    ffi::PyObject_Vectorcall(FALLBACK, argv.as_ptr(), 4, ptr::null_mut())
}

unsafe extern "C" fn head_cancel(
    obj: *mut ffi::PyObject,
    _: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    let h = obj as *mut Head;
    (*h).cancelled = 1;
    ffi::Py_CLEAR(&mut (*h).task);
    ffi::Py_CLEAR(&mut (*h).pos);
    ffi::Py_NewRef(ffi::Py_None())
}

unsafe extern "C" fn head_cancelled(
    obj: *mut ffi::PyObject,
    _: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    let c = (*(obj as *mut Head)).cancelled != 0;
    ffi::Py_NewRef(if c { ffi::Py_True() } else { ffi::Py_False() })
}

/// `_callback`: the public `task_reinsert` (a plain function), `None` once cancelled.
unsafe extern "C" fn head_get_callback(
    obj: *mut ffi::PyObject,
    _: *mut c_void,
) -> *mut ffi::PyObject {
    let h = obj as *mut Head;
    if (*h).cancelled != 0 {
        return ffi::Py_NewRef(ffi::Py_None());
    }
    let f = ffi::PyDict_GetItemWithError(MODULE_GLOBALS, S_TASK_REINSERT);
    if f.is_null() {
        if !ffi::PyErr_Occurred().is_null() {
            return ptr::null_mut();
        }
        return ffi::Py_NewRef(TASK_REINSERT);
    }
    ffi::Py_NewRef(f)
}

/// `_args`: `(task, pos)`, `None` once cancelled.
unsafe extern "C" fn head_get_args(obj: *mut ffi::PyObject, _: *mut c_void) -> *mut ffi::PyObject {
    let h = obj as *mut Head;
    if (*h).cancelled != 0 || (*h).task.is_null() {
        return ffi::Py_NewRef(ffi::Py_None());
    }
    ffi::PyTuple_Pack(2, (*h).task, (*h).pos)
}

unsafe extern "C" fn head_repr(obj: *mut ffi::PyObject) -> *mut ffi::PyObject {
    let h = obj as *mut Head;
    if (*h).cancelled != 0 || (*h).task.is_null() {
        return ffi::PyUnicode_FromString(c"<ReinsertHead cancelled>".as_ptr());
    }
    ffi::PyUnicode_FromFormat(
        c"<ReinsertHead task_reinsert(%R, %R)>".as_ptr(),
        (*h).task,
        (*h).pos,
    )
}

unsafe extern "C" fn head_traverse(
    obj: *mut ffi::PyObject,
    visit: ffi::visitproc,
    arg: *mut c_void,
) -> c_int {
    let h = obj as *mut Head;
    crate::gc::visit_refs(
        obj,
        &[(*h).loop_, (*h).ready, (*h).task, (*h).pos],
        visit,
        arg,
    )
}

unsafe extern "C" fn head_clear(obj: *mut ffi::PyObject) -> c_int {
    let h = obj as *mut Head;
    ffi::Py_CLEAR(&mut (*h).loop_);
    ffi::Py_CLEAR(&mut (*h).ready);
    ffi::Py_CLEAR(&mut (*h).task);
    ffi::Py_CLEAR(&mut (*h).pos);
    0
}

unsafe extern "C" fn head_dealloc(obj: *mut ffi::PyObject) {
    crate::gc::dealloc(obj, head_clear);
}

// ---- combined entry points -----------------------------------------------------------------

/// `sleep_insert_head(loop, ready, task, pos)`: put a `ReinsertHead` at the head of `ready`
/// and return a `YieldOnce` to await.
pub unsafe extern "C" fn py_sleep_insert_head(
    _m: *mut ffi::PyObject,
    args: *mut *mut ffi::PyObject,
    nargs: ffi::Py_ssize_t,
) -> *mut ffi::PyObject {
    if nargs != 4 {
        pyerr::set_string(
            ffi::PyExc_TypeError,
            c"sleep_insert_head() takes 4 arguments",
        );
        return ptr::null_mut();
    }
    let (lp, ready, task, pos) = (*args, *args.add(1), *args.add(2), *args.add(3));
    if !push_head(lp, ready, task, pos) {
        return ptr::null_mut();
    }
    new_yield_once()
}

/// `switch_head(ready, task)`: move `task`'s handle to the head and return a `YieldOnce`,
/// or `None` if the task has no queued handle (nothing changed).
pub unsafe extern "C" fn py_switch_head(
    _m: *mut ffi::PyObject,
    args: *mut *mut ffi::PyObject,
    nargs: ffi::Py_ssize_t,
) -> *mut ffi::PyObject {
    if nargs != 2 {
        pyerr::set_string(ffi::PyExc_TypeError, c"switch_head() takes 2 arguments");
        return ptr::null_mut();
    }
    match move_to(*args, *args.add(1), 0) {
        Ok(true) => new_yield_once(),
        Ok(false) => ffi::Py_NewRef(ffi::Py_None()),
        Err(()) => ptr::null_mut(),
    }
}

pub unsafe fn init(module: *mut ffi::PyObject) -> (*mut ffi::PyObject, *mut ffi::PyObject) {
    use crate::pytype::{self, member, method, slot};
    use ffi::PyMethodDefPointer as M;
    // YieldOnce
    let yslots = vec![
        slot(ffi::Py_tp_dealloc, yield_dealloc as *mut c_void),
        slot(ffi::Py_tp_iter, crate::step::self_iter as *mut c_void),
        slot(ffi::Py_tp_iternext, yield_iternext as *mut c_void),
        slot(ffi::Py_am_await, crate::step::self_iter as *mut c_void),
        slot(ffi::Py_am_send, yield_am_send as *mut c_void),
        slot(
            ffi::Py_tp_doc,
            c"Awaiting it yields None once (a bare yield, as sleep(0) does).".as_ptr()
                as *mut c_void,
        ),
    ];
    let ytype = pytype::new_type(
        module,
        c"asynkit._asynkit.YieldOnce",
        std::mem::size_of::<YieldOnce>(),
        ffi::Py_TPFLAGS_DEFAULT | ffi::Py_TPFLAGS_DISALLOW_INSTANTIATION,
        yslots,
        ptr::null_mut(),
    );
    if ytype.is_null() {
        return (ptr::null_mut(), ptr::null_mut());
    }
    YIELD_TYPE = ytype as *mut ffi::PyTypeObject;

    // ReinsertHead
    let mut hslots = pytype::gc_slots(head_dealloc, head_traverse, head_clear).to_vec();
    hslots.extend([
        slot(ffi::Py_tp_repr, head_repr as *mut c_void),
        pytype::methods_slot(vec![
            method(
                c"_run",
                M {
                    PyCFunction: head_run,
                },
                ffi::METH_NOARGS,
                c"",
            ),
            method(
                c"cancel",
                M {
                    PyCFunction: head_cancel,
                },
                ffi::METH_NOARGS,
                c"",
            ),
            method(
                c"cancelled",
                M {
                    PyCFunction: head_cancelled,
                },
                ffi::METH_NOARGS,
                c"",
            ),
        ]),
        pytype::members_slot(vec![
            member(
                c"_cancelled",
                ffi::Py_T_BOOL,
                std::mem::offset_of!(Head, cancelled),
            ),
            member(
                c"_loop",
                ffi::Py_T_OBJECT_EX,
                std::mem::offset_of!(Head, loop_),
            ),
        ]),
        pytype::getsets_slot(vec![
            pytype::getset(c"_callback", head_get_callback, None, ptr::null_mut()),
            pytype::getset(c"_args", head_get_args, None, ptr::null_mut()),
        ]),
        slot(
            ffi::Py_tp_doc,
            c"sleep_insert's one-shot head callback: task_reinsert(task, pos) when run.".as_ptr()
                as *mut c_void,
        ),
    ]);
    let htype = pytype::new_type(
        module,
        c"asynkit._asynkit.ReinsertHead",
        std::mem::size_of::<Head>(),
        ffi::Py_TPFLAGS_DEFAULT | ffi::Py_TPFLAGS_HAVE_GC | ffi::Py_TPFLAGS_DISALLOW_INSTANTIATION,
        hslots,
        ptr::null_mut(),
    );
    if htype.is_null() {
        return (ytype, ptr::null_mut());
    }
    HEAD_TYPE = htype as *mut ffi::PyTypeObject;
    (ytype, htype)
}
