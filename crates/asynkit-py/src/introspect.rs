//! `coro_is_new` / `coro_is_suspended` for exact coroutines and generators, read from the
//! object's frame state without creating a frame object. The field's offset is
//! per-version CPython layout; it is checked against live probes at import
//! (`calibrate`) and, if anything disagrees, every call goes to the Python functions.
use pyo3::ffi;
use std::ptr;

static mut FALLBACK_NEW: *mut ffi::PyObject = ptr::null_mut();
static mut FALLBACK_SUSPENDED: *mut ffi::PyObject = ptr::null_mut();
static mut CREATED: i8 = 0;
static mut CALIBRATED: bool = false;

/// Offset of `gi_frame_state` (`_PyGenObject_HEAD`) for this interpreter, if known.
const fn frame_state_offset() -> Option<usize> {
    const P: usize = std::mem::size_of::<*mut ffi::PyObject>();
    const HEAD: usize = std::mem::size_of::<ffi::PyObject>();
    if cfg!(Py_GIL_DISABLED) || cfg!(PyPy) {
        return None;
    }
    // 3.11: code, weakreflist, name, qualname, exc_state (2 pointers), origin_or_finalizer,
    // then hooks_inited, closed, running_async (chars), then frame_state (int8).
    // 3.12–3.14: the same without the code pointer.
    if cfg!(Py_3_12) {
        Some(HEAD + 6 * P + 3)
    } else if cfg!(Py_3_11) {
        Some(HEAD + 7 * P + 3)
    } else {
        None
    }
}

#[inline]
unsafe fn frame_state(obj: *mut ffi::PyObject) -> Option<i8> {
    if !CALIBRATED {
        return None;
    }
    if ffi::PyCoro_CheckExact(obj) == 0 && ffi::PyGen_CheckExact(obj) == 0 {
        return None;
    }
    let off = frame_state_offset()?;
    Some(*((obj as *const u8).add(off) as *const i8))
}

unsafe fn raw_state(obj: *mut ffi::PyObject) -> Option<i8> {
    let off = frame_state_offset()?;
    Some(*((obj as *const u8).add(off) as *const i8))
}

/// Check the layout against a new, a suspended and a finished coroutine. Returns whether
/// the fast path is on.
pub unsafe fn calibrate(
    fallback_new: *mut ffi::PyObject,
    fallback_suspended: *mut ffi::PyObject,
    new: *mut ffi::PyObject,
    suspended: *mut ffi::PyObject,
    finished: *mut ffi::PyObject,
) -> bool {
    ffi::Py_INCREF(fallback_new);
    ffi::Py_XDECREF(FALLBACK_NEW);
    FALLBACK_NEW = fallback_new;
    ffi::Py_INCREF(fallback_suspended);
    ffi::Py_XDECREF(FALLBACK_SUSPENDED);
    FALLBACK_SUSPENDED = fallback_suspended;
    CALIBRATED = false;
    let all_coros = [new, suspended, finished]
        .iter()
        .all(|&o| ffi::PyCoro_CheckExact(o) != 0);
    if !all_coros {
        return false;
    }
    if let (Some(n), Some(s), Some(f)) = (raw_state(new), raw_state(suspended), raw_state(finished))
    {
        if n < 0 && s < 0 && s != n && f > 0 {
            CREATED = n;
            CALIBRATED = true;
        }
    }
    CALIBRATED
}

#[inline]
unsafe fn py_bool(b: bool) -> *mut ffi::PyObject {
    let r = if b { ffi::Py_True() } else { ffi::Py_False() };
    ffi::Py_INCREF(r);
    r
}

pub unsafe extern "C" fn coro_is_new(
    _m: *mut ffi::PyObject,
    obj: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    match frame_state(obj) {
        Some(st) => py_bool(st == CREATED),
        None => ffi::PyObject_CallOneArg(FALLBACK_NEW, obj),
    }
}

pub unsafe extern "C" fn coro_is_suspended(
    _m: *mut ffi::PyObject,
    obj: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    match frame_state(obj) {
        // Negative states other than CREATED are the suspended ones (3.13 has two).
        Some(st) => py_bool(st < 0 && st != CREATED),
        None => ffi::PyObject_CallOneArg(FALLBACK_SUSPENDED, obj),
    }
}
