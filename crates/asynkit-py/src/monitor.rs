//! The Monitor hot path: `Monitor.aawait/athrow` drives (`MonitorDrive`) and the
//! `Monitor.oob()` awaitable (`OobAwaitable`), as coroutine-like objects with real
//! `am_send` slots.
//!
//! They do exactly what `_drive` and `Monitor.oob` in `asynkit/monitor.py` do (that Python
//! code stays the reference and the pure-Python engine): the monitor's `state` attribute
//! is read and written through the instance (so subclasses and slots behave the same),
//! and an OOB message leaves the drive as an `OOBData` exception raised from `send`, with
//! no Python frame of ours in between.
use crate::pyerr;
use crate::step::{as_method_result, self_iter, throw_args, PySendResult};
use pyo3::ffi;
use std::os::raw::{c_int, c_void};
use std::ptr;

static mut DRIVE_TYPE: *mut ffi::PyTypeObject = ptr::null_mut();
static mut OOB_TYPE: *mut ffi::PyTypeObject = ptr::null_mut();
static mut OOBDATA: *mut ffi::PyObject = ptr::null_mut();
static mut OOBDATA_INIT: *mut ffi::PyObject = ptr::null_mut();
static mut INACTIVE: *mut ffi::PyObject = ptr::null_mut();
static mut ACTIVE: *mut ffi::PyObject = ptr::null_mut();
static mut OOB: *mut ffi::PyObject = ptr::null_mut();
static mut STATE: *mut ffi::PyObject = ptr::null_mut();
static mut DATA: *mut ffi::PyObject = ptr::null_mut();
static mut INIT: *mut ffi::PyObject = ptr::null_mut();
static mut AG_RUNNING: *mut ffi::PyObject = ptr::null_mut();
static mut CORO: *mut ffi::PyObject = ptr::null_mut();
static mut MONITOR: *mut ffi::PyObject = ptr::null_mut();
static mut CR_FRAME: *mut ffi::PyObject = ptr::null_mut();
static mut PY_FRAME: *mut ffi::PyObject = ptr::null_mut();
static mut PY_FIRST_ITER: *mut ffi::PyObject = ptr::null_mut();

const NEW: u8 = 0;
const RUNNING: u8 = 1;
const FINISHED: u8 = 2;

#[allow(clippy::too_many_arguments)]
pub unsafe fn configure(
    oobdata: *mut ffi::PyObject,
    oobdata_init: *mut ffi::PyObject,
    inactive: *mut ffi::PyObject,
    active: *mut ffi::PyObject,
    oob: *mut ffi::PyObject,
) -> bool {
    for (slot, v) in [
        (&raw mut OOBDATA, oobdata),
        (&raw mut OOBDATA_INIT, oobdata_init),
        (&raw mut INACTIVE, inactive),
        (&raw mut ACTIVE, active),
        (&raw mut OOB, oob),
    ] {
        crate::pyerr::set_static(slot, v);
    }
    if STATE.is_null() {
        STATE = ffi::PyUnicode_InternFromString(c"state".as_ptr());
        DATA = ffi::PyUnicode_InternFromString(c"data".as_ptr());
        INIT = ffi::PyUnicode_InternFromString(c"__init__".as_ptr());
        AG_RUNNING = ffi::PyUnicode_InternFromString(c"ag_running".as_ptr());
        CORO = ffi::PyUnicode_InternFromString(c"coro".as_ptr());
        MONITOR = ffi::PyUnicode_InternFromString(c"monitor".as_ptr());
        CR_FRAME = ffi::PyUnicode_InternFromString(c"cr_frame".as_ptr());
    }
    ![STATE, DATA, INIT, AG_RUNNING, CORO, MONITOR, CR_FRAME]
        .iter()
        .any(|p| p.is_null())
}

/// The Python helpers a GeneratorObjectIterator step needs on its cold paths:
/// `_frame(coro)` (frame or None, TypeError for non-coroutines) and `_first_iter(it)`.
pub unsafe fn configure_agen(frame: *mut ffi::PyObject, first_iter: *mut ffi::PyObject) {
    for (slot, v) in [
        (&raw mut PY_FRAME, frame),
        (&raw mut PY_FIRST_ITER, first_iter),
    ] {
        crate::pyerr::set_static(slot, v);
    }
}

/// Is `monitor.state` the given state object? `None`: an exception is set.
#[inline]
unsafe fn state_is(monitor: *mut ffi::PyObject, want: *mut ffi::PyObject) -> Option<bool> {
    let st = ffi::PyObject_GetAttr(monitor, STATE);
    if st.is_null() {
        return None;
    }
    ffi::Py_DECREF(st);
    Some(st == want)
}

#[inline]
unsafe fn set_state(monitor: *mut ffi::PyObject, st: *mut ffi::PyObject) -> bool {
    ffi::PyObject_SetAttr(monitor, STATE, st) == 0
}

/// `monitor.state = INACTIVE` while an exception may be set (it survives, unless the
/// assignment itself fails).
unsafe fn set_inactive_keeping_error(monitor: *mut ffi::PyObject) {
    let exc = pyerr::fetch();
    if !set_state(monitor, INACTIVE) {
        ffi::Py_XDECREF(exc);
        return;
    }
    if !exc.is_null() {
        pyerr::restore(exc);
    }
}

/// Raise `OOBData(data)`: built like `OOBData.__init__` does while that is the reference
/// one (`args == (data,)`, `.data = data`), else by calling the class.
unsafe fn raise_oobdata(data: *mut ffi::PyObject) {
    let tp = OOBDATA as *mut ffi::PyTypeObject;
    let init = ffi::PyObject_GetAttr(OOBDATA, INIT);
    if init.is_null() {
        return;
    }
    ffi::Py_DECREF(init);
    let exc = match (*tp).tp_new {
        Some(new) if init == OOBDATA_INIT => {
            let args = ffi::PyTuple_Pack(1, data);
            if args.is_null() {
                return;
            }
            let exc = new(tp, args, ptr::null_mut());
            ffi::Py_DECREF(args);
            if !exc.is_null() && ffi::PyObject_SetAttr(exc, DATA, data) < 0 {
                ffi::Py_DECREF(exc);
                return;
            }
            exc
        }
        _ => ffi::PyObject_CallOneArg(OOBDATA, data),
    };
    if !exc.is_null() {
        pyerr::restore(exc);
    }
}

// ---- MonitorDrive ------------------------------------------------------------------------

#[repr(C)]
struct Drive {
    ob_base: ffi::PyObject,
    monitor: *mut ffi::PyObject,
    coro: *mut ffi::PyObject,
    /// First action's argument (data to send, or the exception to throw); dropped once used.
    arg: *mut ffi::PyObject,
    throw: bool,
    stage: u8,
    /// A GeneratorObjectIterator step (`_agen_send(it, value)`): the iterator; else null.
    /// Then `monitor`/`coro` are read from it when the step starts.
    it: *mut ffi::PyObject,
    /// Set when a GeneratorObjectIterator step ended with an item (an OOB message).
    item: bool,
}

/// `_drive(monitor, coro, arg, throw)`: the coroutine-like drive object.
pub unsafe fn new_drive(
    monitor: *mut ffi::PyObject,
    coro: *mut ffi::PyObject,
    arg: *mut ffi::PyObject,
    throw: bool,
) -> *mut ffi::PyObject {
    let obj = ffi::PyType_GenericAlloc(DRIVE_TYPE, 0);
    if obj.is_null() {
        return obj;
    }
    let d = obj as *mut Drive;
    (*d).monitor = ffi::Py_NewRef(monitor);
    (*d).coro = ffi::Py_NewRef(coro);
    (*d).arg = ffi::Py_NewRef(arg);
    (*d).throw = throw;
    (*d).stage = NEW;
    (*d).it = ptr::null_mut();
    (*d).item = false;
    obj
}

/// `_agen_send(it, value)`: one `asend`/`__anext__` of a GeneratorObjectIterator.
pub unsafe fn new_agen_send(
    it: *mut ffi::PyObject,
    value: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    let obj = ffi::PyType_GenericAlloc(DRIVE_TYPE, 0);
    if obj.is_null() {
        return obj;
    }
    let d = obj as *mut Drive;
    (*d).monitor = ptr::null_mut();
    (*d).coro = ptr::null_mut();
    (*d).arg = ffi::Py_NewRef(value);
    (*d).throw = false;
    (*d).stage = NEW;
    (*d).it = ffi::Py_NewRef(it);
    (*d).item = false;
    obj
}

/// The checks `_agen_send` makes when first resumed, then `it.ag_running = True`.
/// `Err(true)`: an exception is set and the step is over (nothing to undo); `Err(false)`
/// cannot happen. On success `monitor`/`coro` are filled in.
unsafe fn agen_prelude(d: *mut Drive) -> Result<(), ()> {
    let it = (*d).it;
    let running = ffi::PyObject_GetAttr(it, AG_RUNNING);
    if running.is_null() {
        return Err(());
    }
    let busy = ffi::PyObject_IsTrue(running);
    ffi::Py_DECREF(running);
    match busy {
        -1 => return Err(()),
        0 => {}
        _ => {
            pyerr::set_string(
                ffi::PyExc_RuntimeError,
                c"asend(): asynchronous generator is already running",
            );
            return Err(());
        }
    }
    let coro = ffi::PyObject_GetAttr(it, CORO);
    if coro.is_null() {
        return Err(());
    }
    (*d).coro = coro;
    let frame = if ffi::PyCoro_CheckExact(coro) != 0 {
        ffi::PyObject_GetAttr(coro, CR_FRAME)
    } else {
        ffi::PyObject_CallOneArg(PY_FRAME, coro)
    };
    if frame.is_null() {
        return Err(());
    }
    ffi::Py_DECREF(frame);
    if frame == ffi::Py_None() {
        ffi::PyErr_SetNone(ffi::PyExc_StopAsyncIteration);
        return Err(());
    }
    let is_new = crate::introspect::coro_is_new(ptr::null_mut(), coro);
    if is_new.is_null() {
        return Err(());
    }
    ffi::Py_DECREF(is_new);
    if is_new == ffi::Py_True() {
        let r = ffi::PyObject_CallOneArg(PY_FIRST_ITER, it);
        if r.is_null() {
            return Err(());
        }
        ffi::Py_DECREF(r);
    }
    if ffi::PyObject_SetAttr(it, AG_RUNNING, ffi::Py_True()) < 0 {
        return Err(());
    }
    let monitor = ffi::PyObject_GetAttr(it, MONITOR);
    if monitor.is_null() {
        agen_finally(d);
        return Err(());
    }
    (*d).monitor = monitor;
    Ok(())
}

/// `finally: it.ag_running = False` (an exception that is set survives).
unsafe fn agen_finally(d: *mut Drive) {
    let exc = pyerr::fetch();
    if ffi::PyObject_SetAttr((*d).it, AG_RUNNING, ffi::Py_False()) < 0 {
        ffi::Py_XDECREF(exc);
        return;
    }
    if !exc.is_null() {
        pyerr::restore(exc);
    }
}

/// Map the end of a GeneratorObjectIterator step (`_agen_send`'s handlers).
unsafe fn agen_outcome(
    d: *mut Drive,
    r: PySendResult,
    out: &mut *mut ffi::PyObject,
) -> PySendResult {
    let r = match r {
        PySendResult::PYGEN_RETURN if (*d).item => r,
        // the coroutine returned: StopAsyncIteration, without cause or context
        PySendResult::PYGEN_RETURN => {
            ffi::Py_CLEAR(out);
            ffi::PyErr_SetNone(ffi::PyExc_StopAsyncIteration);
            PySendResult::PYGEN_ERROR
        }
        PySendResult::PYGEN_ERROR if ffi::PyErr_ExceptionMatches(OOBDATA) != 0 => {
            // an OOB message: the item (also when raised after an ordinary suspension)
            let exc = pyerr::fetch();
            let data = ffi::PyObject_GetAttr(exc, DATA);
            ffi::Py_DECREF(exc);
            if data.is_null() {
                PySendResult::PYGEN_ERROR
            } else {
                *out = data;
                PySendResult::PYGEN_RETURN
            }
        }
        PySendResult::PYGEN_ERROR
            if ffi::PyErr_ExceptionMatches(ffi::PyExc_StopAsyncIteration) != 0 =>
        {
            let cause = pyerr::fetch();
            let msg =
                ffi::PyUnicode_FromString(c"async generator raised StopAsyncIteration".as_ptr());
            let exc = if msg.is_null() {
                ptr::null_mut()
            } else {
                ffi::PyObject_CallOneArg(ffi::PyExc_RuntimeError, msg)
            };
            ffi::Py_XDECREF(msg);
            if exc.is_null() {
                ffi::Py_XDECREF(cause);
            } else {
                if !cause.is_null() {
                    ffi::PyException_SetContext(exc, ffi::Py_NewRef(cause));
                    ffi::PyException_SetCause(exc, cause);
                }
                pyerr::restore(exc);
            }
            PySendResult::PYGEN_ERROR
        }
        r => r,
    };
    agen_finally(d);
    if matches!(r, PySendResult::PYGEN_RETURN) && ffi::PyErr_Occurred().is_null() {
        r
    } else if matches!(r, PySendResult::PYGEN_RETURN) {
        ffi::Py_CLEAR(out);
        PySendResult::PYGEN_ERROR
    } else {
        r
    }
}

/// `coro.throw(exc)`; a StopIteration coming out is the coroutine's return.
unsafe fn coro_throw(
    coro: *mut ffi::PyObject,
    exc: *mut ffi::PyObject,
    out: &mut *mut ffi::PyObject,
) -> PySendResult {
    crate::step::throw(coro, ptr::null_mut(), exc, out)
}

/// After a step of the driven coroutine: an OOB announcement ends the drive with
/// `OOBData`, an ordinary suspension is passed outward, an end ends the drive.
unsafe fn after_step(d: *mut Drive, r: PySendResult, out: &mut *mut ffi::PyObject) -> PySendResult {
    let monitor = (*d).monitor;
    match r {
        PySendResult::PYGEN_NEXT => match state_is(monitor, OOB) {
            None => {
                ffi::Py_CLEAR(out);
                (*d).stage = FINISHED;
                set_inactive_keeping_error(monitor);
                PySendResult::PYGEN_ERROR
            }
            Some(false) => PySendResult::PYGEN_NEXT,
            Some(true) => {
                (*d).stage = FINISHED;
                if !(*d).it.is_null() {
                    // a GeneratorObjectIterator step: the item is the result
                    if !set_state(monitor, INACTIVE) {
                        ffi::Py_CLEAR(out);
                        return PySendResult::PYGEN_ERROR;
                    }
                    (*d).item = true;
                    return PySendResult::PYGEN_RETURN;
                }
                let data = *out;
                *out = ptr::null_mut();
                if set_state(monitor, INACTIVE) {
                    raise_oobdata(data);
                }
                ffi::Py_DECREF(data);
                PySendResult::PYGEN_ERROR
            }
        },
        PySendResult::PYGEN_RETURN => {
            (*d).stage = FINISHED;
            if !set_state(monitor, INACTIVE) {
                ffi::Py_CLEAR(out);
                return PySendResult::PYGEN_ERROR;
            }
            PySendResult::PYGEN_RETURN
        }
        PySendResult::PYGEN_ERROR => {
            (*d).stage = FINISHED;
            set_inactive_keeping_error(monitor);
            PySendResult::PYGEN_ERROR
        }
    }
}

/// The first resumption: checks, then the first send/throw.
unsafe fn first_step(d: *mut Drive, out: &mut *mut ffi::PyObject) -> PySendResult {
    (*d).stage = FINISHED; // until proven otherwise: a failed check ends the drive
    if !(*d).it.is_null() {
        if agen_prelude(d).is_err() {
            ffi::Py_CLEAR(&mut (*d).arg);
            return PySendResult::PYGEN_ERROR;
        }
        let r = monitor_first_step(d, out);
        return if (*d).stage == FINISHED {
            agen_outcome(d, r, out)
        } else {
            r
        };
    }
    monitor_first_step(d, out)
}

unsafe fn monitor_first_step(d: *mut Drive, out: &mut *mut ffi::PyObject) -> PySendResult {
    let monitor = (*d).monitor;
    match state_is(monitor, INACTIVE) {
        None => return PySendResult::PYGEN_ERROR,
        Some(false) => {
            pyerr::set_string(ffi::PyExc_RuntimeError, c"Monitor cannot be re-entered");
            return PySendResult::PYGEN_ERROR;
        }
        Some(true) => {}
    }
    if !set_state(monitor, ACTIVE) {
        return PySendResult::PYGEN_ERROR;
    }
    (*d).stage = RUNNING;
    let arg = (*d).arg;
    (*d).arg = ptr::null_mut();
    let r = if (*d).throw {
        coro_throw((*d).coro, arg, out)
    } else {
        ffi::PyIter_Send((*d).coro, arg, out)
    };
    ffi::Py_DECREF(arg);
    if matches!(r, PySendResult::PYGEN_ERROR) && ffi::PyErr_ExceptionMatches(OOBDATA) != 0 {
        // "coroutine raised OOBData", chained from it.
        let cause = pyerr::fetch();
        let msg = ffi::PyUnicode_FromString(c"coroutine raised OOBData".as_ptr());
        let exc = if msg.is_null() {
            ptr::null_mut()
        } else {
            ffi::PyObject_CallOneArg(ffi::PyExc_RuntimeError, msg)
        };
        ffi::Py_XDECREF(msg);
        if exc.is_null() {
            ffi::Py_XDECREF(cause);
        } else {
            if !cause.is_null() {
                ffi::PyException_SetContext(exc, ffi::Py_NewRef(cause));
                ffi::PyException_SetCause(exc, cause);
            }
            pyerr::restore(exc);
        }
    }
    after_step(d, r, out)
}

unsafe fn drive_send(
    d: *mut Drive,
    arg: *mut ffi::PyObject,
    out: &mut *mut ffi::PyObject,
) -> PySendResult {
    match (*d).stage {
        NEW => {
            if arg != ffi::Py_None() {
                pyerr::set_string(
                    ffi::PyExc_TypeError,
                    c"can't send non-None value to a just-started coroutine",
                );
                return PySendResult::PYGEN_ERROR;
            }
            first_step(d, out)
        }
        RUNNING => {
            let r = ffi::PyIter_Send((*d).coro, arg, out);
            let r = after_step(d, r, out);
            finish_agen(d, r, out)
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

unsafe extern "C" fn drive_am_send(
    obj: *mut ffi::PyObject,
    arg: *mut ffi::PyObject,
    out: *mut *mut ffi::PyObject,
) -> PySendResult {
    drive_send(obj as *mut Drive, arg, &mut *out)
}

/// A step result as a method result: the yielded value, or StopIteration/exception.
unsafe extern "C" fn drive_iternext(obj: *mut ffi::PyObject) -> *mut ffi::PyObject {
    let mut out = ptr::null_mut();
    let r = drive_send(obj as *mut Drive, ffi::Py_None(), &mut out);
    as_method_result(r, out, true)
}

unsafe extern "C" fn drive_m_send(
    obj: *mut ffi::PyObject,
    arg: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    let mut out = ptr::null_mut();
    let r = drive_send(obj as *mut Drive, arg, &mut out);
    as_method_result(r, out, false)
}

unsafe extern "C" fn drive_m_throw(
    obj: *mut ffi::PyObject,
    args: *mut *mut ffi::PyObject,
    nargs: ffi::Py_ssize_t,
) -> *mut ffi::PyObject {
    let d = obj as *mut Drive;
    let exc = throw_args(args, nargs);
    if exc.is_null() {
        return exc;
    }
    if (*d).stage != RUNNING {
        // Not started (or finished): like a coroutine, the exception comes straight out
        // and the drive is over; the driven coroutine is not touched.
        (*d).stage = FINISHED;
        ffi::Py_CLEAR(&mut (*d).arg);
        pyerr::restore(exc);
        return ptr::null_mut();
    }
    let mut out = ptr::null_mut();
    let r = if ffi::PyErr_GivenExceptionMatches(exc, ffi::PyExc_GeneratorExit) != 0 {
        // _drive: `except GeneratorExit: coro.close(); raise`
        let res = ffi::PyObject_CallMethodNoArgs((*d).coro, crate::strings::close());
        if res.is_null() {
            ffi::Py_DECREF(exc);
        } else {
            ffi::Py_DECREF(res);
            pyerr::restore(exc);
        }
        PySendResult::PYGEN_ERROR
    } else {
        let r = coro_throw((*d).coro, exc, &mut out);
        ffi::Py_DECREF(exc);
        r
    };
    let r = after_step(d, r, &mut out);
    let r = finish_agen(d, r, &mut out);
    as_method_result(r, out, false)
}

/// For a GeneratorObjectIterator step that just ended, map its outcome.
#[inline]
unsafe fn finish_agen(
    d: *mut Drive,
    r: PySendResult,
    out: &mut *mut ffi::PyObject,
) -> PySendResult {
    if (*d).it.is_null() || (*d).stage != FINISHED {
        return r;
    }
    agen_outcome(d, r, out)
}

unsafe extern "C" fn drive_m_close(
    obj: *mut ffi::PyObject,
    _: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    let d = obj as *mut Drive;
    if (*d).stage == RUNNING {
        (*d).stage = FINISHED;
        let res = ffi::PyObject_CallMethodNoArgs((*d).coro, crate::strings::close());
        if res.is_null() {
            set_inactive_keeping_error((*d).monitor);
            if !(*d).it.is_null() {
                agen_finally(d);
            }
            return ptr::null_mut();
        }
        ffi::Py_DECREF(res);
        let ok = set_state((*d).monitor, INACTIVE);
        if !(*d).it.is_null() {
            agen_finally(d);
        }
        if !ok {
            return ptr::null_mut();
        }
    }
    (*d).stage = FINISHED;
    ffi::Py_CLEAR(&mut (*d).arg);
    ffi::Py_NewRef(ffi::Py_None())
}

// ---- OobAwaitable ------------------------------------------------------------------------

#[repr(C)]
struct Oob {
    ob_base: ffi::PyObject,
    monitor: *mut ffi::PyObject,
    data: *mut ffi::PyObject,
    stage: u8,
}

/// `Monitor.oob(self, data=None)` (METH_FASTCALL method).
pub unsafe extern "C" fn oob_method(
    slf: *mut ffi::PyObject,
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
        return pyerr::type_error("oob() takes at most 1 argument".into());
    }
    if nkw == 1 {
        let k = ffi::PyTuple_GET_ITEM(kwnames, 0);
        if !crate::strings::kw_is(k, DATA) {
            return pyerr::type_error("oob() got an unexpected keyword argument".into());
        }
    }
    let data = if nargs + nkw == 1 {
        *args
    } else {
        ffi::Py_None()
    };
    let obj = ffi::PyType_GenericAlloc(OOB_TYPE, 0);
    if obj.is_null() {
        return obj;
    }
    let o = obj as *mut Oob;
    (*o).monitor = ffi::Py_NewRef(slf);
    (*o).data = ffi::Py_NewRef(data);
    (*o).stage = NEW;
    obj
}

unsafe fn oob_send(
    o: *mut Oob,
    arg: *mut ffi::PyObject,
    out: &mut *mut ffi::PyObject,
) -> PySendResult {
    match (*o).stage {
        NEW => {
            if arg != ffi::Py_None() {
                pyerr::set_string(
                    ffi::PyExc_TypeError,
                    c"can't send non-None value to a just-started generator",
                );
                return PySendResult::PYGEN_ERROR;
            }
            (*o).stage = FINISHED;
            match state_is((*o).monitor, ACTIVE) {
                None => return PySendResult::PYGEN_ERROR,
                Some(false) => {
                    pyerr::set_string(ffi::PyExc_RuntimeError, c"Monitor not active");
                    return PySendResult::PYGEN_ERROR;
                }
                Some(true) => {}
            }
            if !set_state((*o).monitor, OOB) {
                return PySendResult::PYGEN_ERROR;
            }
            (*o).stage = RUNNING;
            *out = ffi::Py_NewRef((*o).data);
            PySendResult::PYGEN_NEXT
        }
        RUNNING => {
            (*o).stage = FINISHED;
            ffi::Py_CLEAR(&mut (*o).data);
            *out = ffi::Py_NewRef(arg);
            PySendResult::PYGEN_RETURN
        }
        _ => {
            pyerr::set_string(
                ffi::PyExc_RuntimeError,
                c"cannot reuse already awaited oob()",
            );
            PySendResult::PYGEN_ERROR
        }
    }
}

unsafe extern "C" fn oob_am_send(
    obj: *mut ffi::PyObject,
    arg: *mut ffi::PyObject,
    out: *mut *mut ffi::PyObject,
) -> PySendResult {
    oob_send(obj as *mut Oob, arg, &mut *out)
}

unsafe extern "C" fn oob_iternext(obj: *mut ffi::PyObject) -> *mut ffi::PyObject {
    let mut out = ptr::null_mut();
    let r = oob_send(obj as *mut Oob, ffi::Py_None(), &mut out);
    as_method_result(r, out, true)
}

unsafe extern "C" fn oob_m_send(
    obj: *mut ffi::PyObject,
    arg: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    let mut out = ptr::null_mut();
    let r = oob_send(obj as *mut Oob, arg, &mut out);
    as_method_result(r, out, false)
}

unsafe extern "C" fn oob_m_throw(
    obj: *mut ffi::PyObject,
    args: *mut *mut ffi::PyObject,
    nargs: ffi::Py_ssize_t,
) -> *mut ffi::PyObject {
    let o = obj as *mut Oob;
    let exc = throw_args(args, nargs);
    if exc.is_null() {
        return exc;
    }
    // Like the generator: the exception is raised at the yield (or before the start) and
    // nothing in the body catches it.
    (*o).stage = FINISHED;
    ffi::Py_CLEAR(&mut (*o).data);
    pyerr::restore(exc);
    ptr::null_mut()
}

unsafe extern "C" fn oob_m_close(
    obj: *mut ffi::PyObject,
    _: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    let o = obj as *mut Oob;
    (*o).stage = FINISHED;
    ffi::Py_CLEAR(&mut (*o).data);
    ffi::Py_NewRef(ffi::Py_None())
}

// ---- shared type plumbing ----------------------------------------------------------------

unsafe extern "C" fn drive_traverse(
    obj: *mut ffi::PyObject,
    visit: ffi::visitproc,
    arg: *mut c_void,
) -> c_int {
    let x = obj as *mut Drive;
    crate::gc::visit_refs(
        obj,
        &[(*x).monitor, (*x).coro, (*x).arg, (*x).it],
        visit,
        arg,
    )
}

unsafe extern "C" fn drive_clear(obj: *mut ffi::PyObject) -> c_int {
    let d = obj as *mut Drive;
    ffi::Py_CLEAR(&mut (*d).monitor);
    ffi::Py_CLEAR(&mut (*d).coro);
    ffi::Py_CLEAR(&mut (*d).arg);
    ffi::Py_CLEAR(&mut (*d).it);
    0
}

unsafe extern "C" fn oob_traverse(
    obj: *mut ffi::PyObject,
    visit: ffi::visitproc,
    arg: *mut c_void,
) -> c_int {
    let x = obj as *mut Oob;
    crate::gc::visit_refs(obj, &[(*x).monitor, (*x).data], visit, arg)
}

unsafe extern "C" fn oob_clear(obj: *mut ffi::PyObject) -> c_int {
    let o = obj as *mut Oob;
    ffi::Py_CLEAR(&mut (*o).monitor);
    ffi::Py_CLEAR(&mut (*o).data);
    0
}

unsafe extern "C" fn drive_dealloc(obj: *mut ffi::PyObject) {
    crate::gc::dealloc(obj, drive_clear);
}

unsafe extern "C" fn oob_dealloc(obj: *mut ffi::PyObject) {
    crate::gc::dealloc(obj, oob_clear);
}

#[allow(clippy::too_many_arguments)]
unsafe fn make_type(
    module: *mut ffi::PyObject,
    name: &'static std::ffi::CStr,
    doc: &'static std::ffi::CStr,
    basicsize: usize,
    send: ffi::PyCFunction,
    throw: ffi::PyCFunctionFast,
    close: ffi::PyCFunction,
    am_send: *mut c_void,
    iternext: *mut c_void,
    traverse: *mut c_void,
    clear: *mut c_void,
    dealloc: *mut c_void,
) -> *mut ffi::PyObject {
    use crate::pytype::{self, method, slot};
    use ffi::PyMethodDefPointer as M;
    let slots = vec![
        slot(ffi::Py_tp_dealloc, dealloc),
        slot(ffi::Py_tp_traverse, traverse),
        slot(ffi::Py_tp_clear, clear),
        slot(ffi::Py_tp_iter, self_iter as *mut c_void),
        slot(ffi::Py_tp_iternext, iternext),
        slot(ffi::Py_am_send, am_send),
        slot(ffi::Py_am_await, self_iter as *mut c_void),
        pytype::methods_slot(vec![
            method(c"send", M { PyCFunction: send }, ffi::METH_O, c""),
            method(
                c"throw",
                M {
                    PyCFunctionFast: throw,
                },
                ffi::METH_FASTCALL,
                c"",
            ),
            method(c"close", M { PyCFunction: close }, ffi::METH_NOARGS, c""),
        ]),
        slot(ffi::Py_tp_doc, doc.as_ptr() as *mut c_void),
    ];
    let flags =
        ffi::Py_TPFLAGS_DEFAULT | ffi::Py_TPFLAGS_HAVE_GC | ffi::Py_TPFLAGS_DISALLOW_INSTANTIATION;
    pytype::new_type(module, name, basicsize, flags, slots, ptr::null_mut())
}

/// Create both types; returns (MonitorDrive, OobAwaitable) or nulls with an error set.
pub unsafe fn init(module: *mut ffi::PyObject) -> (*mut ffi::PyObject, *mut ffi::PyObject) {
    let drive = make_type(
        module,
        c"asynkit._asynkit.MonitorDrive",
        c"A Monitor drive of one coroutine (what Monitor.aawait/athrow return).",
        std::mem::size_of::<Drive>(),
        drive_m_send,
        drive_m_throw,
        drive_m_close,
        drive_am_send as *mut c_void,
        drive_iternext as *mut c_void,
        drive_traverse as *mut c_void,
        drive_clear as *mut c_void,
        drive_dealloc as *mut c_void,
    );
    if drive.is_null() {
        return (ptr::null_mut(), ptr::null_mut());
    }
    DRIVE_TYPE = drive as *mut ffi::PyTypeObject;
    let oob = make_type(
        module,
        c"asynkit._asynkit.OobAwaitable",
        c"What Monitor.oob(data) returns: suspends once, handing data to the monitor's driver.",
        std::mem::size_of::<Oob>(),
        oob_m_send,
        oob_m_throw,
        oob_m_close,
        oob_am_send as *mut c_void,
        oob_iternext as *mut c_void,
        oob_traverse as *mut c_void,
        oob_clear as *mut c_void,
        oob_dealloc as *mut c_void,
    );
    if oob.is_null() {
        ffi::Py_DECREF(drive);
        return (ptr::null_mut(), ptr::null_mut());
    }
    OOB_TYPE = oob as *mut ffi::PyTypeObject;
    (drive, oob)
}

/// `_drive(monitor, coro, arg, throw)` for Python (METH_FASTCALL).
pub unsafe extern "C" fn py_drive(
    _m: *mut ffi::PyObject,
    args: *mut *mut ffi::PyObject,
    nargs: ffi::Py_ssize_t,
) -> *mut ffi::PyObject {
    if nargs != 4 {
        return pyerr::type_error(format!("monitor_drive() takes 4 arguments ({nargs} given)"));
    }
    let throw = match ffi::PyObject_IsTrue(*args.add(3)) {
        -1 => return ptr::null_mut(),
        v => v != 0,
    };
    new_drive(*args, *args.add(1), *args.add(2), throw)
}

/// A method descriptor for `cls.oob` (bound like any method: `m.oob(data)`).
pub unsafe fn oob_descriptor(cls: *mut ffi::PyObject) -> *mut ffi::PyObject {
    let def: &'static mut ffi::PyMethodDef = Box::leak(Box::new(ffi::PyMethodDef {
        ml_name: c"oob".as_ptr(),
        ml_meth: ffi::PyMethodDefPointer { PyCFunctionFastWithKeywords: oob_method },
        ml_flags: ffi::METH_FASTCALL | ffi::METH_KEYWORDS,
        ml_doc: c"oob($self, /, data=None)\n--\n\nAwaitable sending data out of band to the caller driving this monitor.".as_ptr(),
    }));
    ffi::PyDescr_NewMethod(cls as *mut ffi::PyTypeObject, def)
}

/// `_agen_send(it, value)` for Python (METH_FASTCALL).
pub unsafe extern "C" fn py_agen_send(
    _m: *mut ffi::PyObject,
    args: *mut *mut ffi::PyObject,
    nargs: ffi::Py_ssize_t,
) -> *mut ffi::PyObject {
    if nargs != 2 {
        return pyerr::type_error(format!("agen_send() takes 2 arguments ({nargs} given)"));
    }
    new_agen_send(*args, *args.add(1))
}

/// `GeneratorObject.ayield(self, value)`: `Monitor.oob(self.monitor, value)`.
unsafe extern "C" fn ayield_method(
    slf: *mut ffi::PyObject,
    args: *const *mut ffi::PyObject,
    nargs: ffi::Py_ssize_t,
    kwnames: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    let nkw = if kwnames.is_null() {
        0
    } else {
        ffi::PyTuple_GET_SIZE(kwnames)
    };
    if nargs + nkw != 1 {
        return pyerr::type_error("ayield() takes exactly one argument 'value'".into());
    }
    let monitor = ffi::PyObject_GetAttr(slf, MONITOR);
    if monitor.is_null() {
        return monitor;
    }
    let argv = [*args];
    let r = oob_method(monitor, argv.as_ptr(), 1, ptr::null_mut());
    ffi::Py_DECREF(monitor);
    r
}

/// A method descriptor for `cls.ayield`.
pub unsafe fn ayield_descriptor(cls: *mut ffi::PyObject) -> *mut ffi::PyObject {
    let def: &'static mut ffi::PyMethodDef = Box::leak(Box::new(ffi::PyMethodDef {
        ml_name: c"ayield".as_ptr(),
        ml_meth: ffi::PyMethodDefPointer { PyCFunctionFastWithKeywords: ayield_method },
        ml_flags: ffi::METH_FASTCALL | ffi::METH_KEYWORDS,
        ml_doc: c"ayield($self, value, /)\n--\n\nDeliver value as the next item; returns what the consumer sends back.".as_ptr(),
    }));
    ffi::PyDescr_NewMethod(cls as *mut ffi::PyTypeObject, def)
}
