//! The loops `asynkit.scheduling` works on directly (`_fast_loop()` / `_plain_loop()`).
//!
//! `asynkit.scheduling` remembers the last running loop whose scheduling view was found
//! standard (its queue methods are the stock deque-based ones) and, among those, the last
//! one whose `call_soon` is asyncio's own. A remembered loop is answered only while its
//! class is unchanged since: the memo keeps the class's version tag, which CPython resets
//! whenever an attribute of the class or of any base is set or deleted (a patched
//! `queue_find`, `call_pos`, `call_soon`...), and the same of the view's class (the
//! `SchedulingLoopHelper` for stock loops). The next call then looks at the view again.
//!
//! Methods patched on the loop *instance* are seen too: a loop that is its own view (a
//! `SchedulingMixin` loop) is answered only while `queue_find`, `queue_insert_pos`,
//! `task_key` and `call_pos` come from its class, and a plain loop only while `call_soon`
//! does, so a `mock.patch.object(loop, "queue_find", ...)` is dispatched to.
use pyo3::ffi;
use std::ptr;

pub const FAST: usize = 0;
pub const PLAIN: usize = 1;

struct Memo {
    /// Weak reference to the loop (null: nothing remembered).
    weak: *mut ffi::PyObject,
    /// The loop's class and its version tag when remembered (never dereferenced unless
    /// it is still the loop's class).
    tp: *mut ffi::PyTypeObject,
    tag: u32,
    /// The view's class (a strong reference) and its version tag.
    view_tp: *mut ffi::PyTypeObject,
    view_tag: u32,
    /// Whether the loop was its own view.
    self_view: bool,
}

/// Nothing remembered.
const FORGOTTEN: Memo = Memo {
    weak: ptr::null_mut(),
    tp: ptr::null_mut(),
    tag: 0,
    view_tp: ptr::null_mut(),
    view_tag: 0,
    self_view: false,
};

static mut MEMOS: [Memo; 2] = [FORGOTTEN; 2];

#[inline]
unsafe fn memo(kind: usize) -> *mut Memo {
    (&raw mut MEMOS).cast::<Memo>().add(kind)
}

/// Are the loop's class (`tp`, `lp`'s own) and the view's class unchanged?
#[inline]
unsafe fn unchanged(m: &Memo, tp: *mut ffi::PyTypeObject) -> bool {
    tp == m.tp && (*tp).tp_version_tag == m.tag && (*m.view_tp).tp_version_tag == m.view_tag
}

/// The view methods the native paths stand in for, then `call_soon` (interned; null
/// until first needed).
static mut NAMES: [*mut ffi::PyObject; 5] = [ptr::null_mut(); 5];
const CALL_SOON: usize = 4;

/// Does `lp` (remembered as `kind`, classes unchanged) shadow a method that matters on
/// the instance? Lookup errors count as shadowed.
unsafe fn instance_patched(m: &Memo, kind: usize, lp: *mut ffi::PyObject) -> bool {
    if NAMES[CALL_SOON].is_null() {
        let texts = [
            c"queue_find",
            c"queue_insert_pos",
            c"task_key",
            c"call_pos",
            c"call_soon",
        ];
        for (i, text) in texts.into_iter().enumerate() {
            let name = ffi::PyUnicode_InternFromString(text.as_ptr());
            if name.is_null() {
                ffi::PyErr_Clear();
                return true;
            }
            NAMES[i] = name;
        }
    }
    let names = NAMES;
    let view = if m.self_view {
        &names[..CALL_SOON]
    } else {
        &[]
    };
    let plain = if kind == PLAIN {
        &names[CALL_SOON..]
    } else {
        &[]
    };
    for &name in view.iter().chain(plain) {
        match crate::method::shadowed(lp, name) {
            Some(false) => {}
            Some(true) => return true,
            None => {
                ffi::PyErr_Clear();
                return true;
            }
        }
    }
    false
}

/// Is `lp` the loop remembered as `kind`, with its classes unchanged?
#[inline]
pub unsafe fn is(kind: usize, lp: *mut ffi::PyObject) -> bool {
    let m = &*memo(kind);
    if m.weak.is_null() || !unchanged(m, ffi::Py_TYPE(lp)) {
        return false;
    }
    if (m.self_view || kind == PLAIN) && instance_patched(m, kind, lp) {
        return false;
    }
    let mut obj = ptr::null_mut();
    if ffi::compat::PyWeakref_GetRef(m.weak, &mut obj) < 0 {
        ffi::PyErr_Clear();
        return false;
    }
    ffi::Py_XDECREF(obj); // `lp` is alive: comparing the pointer is enough
    obj == lp
}

/// The loop remembered as `kind` (new reference), or None.
unsafe fn get(kind: usize) -> *mut ffi::PyObject {
    let m = &*memo(kind);
    if !m.weak.is_null() {
        let mut obj = ptr::null_mut();
        if ffi::compat::PyWeakref_GetRef(m.weak, &mut obj) < 0 {
            return ptr::null_mut();
        }
        if !obj.is_null() {
            if unchanged(m, ffi::Py_TYPE(obj))
                && !((m.self_view || kind == PLAIN) && instance_patched(m, kind, obj))
            {
                return obj;
            }
            ffi::Py_DECREF(obj);
        }
    }
    ffi::Py_NewRef(ffi::Py_None())
}

/// Remember `lp` (viewed through an instance of `view_tp`) as `kind`; null `lp`: forget.
/// False with an exception set.
unsafe fn set(
    kind: usize,
    lp: *mut ffi::PyObject,
    view_tp: *mut ffi::PyTypeObject,
    self_view: bool,
) -> bool {
    let m = &mut *memo(kind);
    let mut weak = ptr::null_mut();
    let (mut tp, mut tag, mut view_tag) = (ptr::null_mut(), 0, 0);
    if !lp.is_null() {
        tp = ffi::Py_TYPE(lp);
        tag = (*tp).tp_version_tag;
        view_tag = (*view_tp).tp_version_tag;
        // (no tag: the class is being changed or cannot be cached; nothing is remembered)
        if tag != 0 && view_tag != 0 {
            weak = ffi::PyWeakref_NewRef(lp, ptr::null_mut());
            if weak.is_null() {
                return false;
            }
        }
    }
    if weak.is_null() {
        (tp, tag, view_tag) = (ptr::null_mut(), 0, 0);
    }
    let (old, old_view) = (m.weak, m.view_tp);
    m.weak = weak;
    m.tp = tp;
    m.tag = tag;
    m.view_tp = if weak.is_null() {
        ptr::null_mut()
    } else {
        ffi::Py_NewRef(view_tp as *mut ffi::PyObject) as *mut ffi::PyTypeObject
    };
    m.view_tag = view_tag;
    m.self_view = self_view;
    ffi::Py_XDECREF(old);
    ffi::Py_XDECREF(old_view as *mut ffi::PyObject);
    true
}

pub unsafe extern "C" fn py_fast_loop(
    _m: *mut ffi::PyObject,
    _: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    get(FAST)
}

pub unsafe extern "C" fn py_plain_loop(
    _m: *mut ffi::PyObject,
    _: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    get(PLAIN)
}

/// `_remember_loop(loop, view, plain)`: remember `loop` (whose scheduling view is
/// `view`) as standard, and as plain if `plain`.
pub unsafe extern "C" fn py_remember_loop(
    _m: *mut ffi::PyObject,
    args: *mut *mut ffi::PyObject,
    nargs: ffi::Py_ssize_t,
) -> *mut ffi::PyObject {
    if nargs != 3 {
        return crate::pyerr::type_error(format!(
            "_remember_loop() takes exactly 3 arguments ({nargs} given)"
        ));
    }
    let (lp, view) = (*args, *args.add(1));
    let (view_tp, self_view) = (ffi::Py_TYPE(view), view == lp);
    let plain = match ffi::PyObject_IsTrue(*args.add(2)) {
        -1 => return ptr::null_mut(),
        v => v != 0,
    };
    let plain_lp = if plain { lp } else { ptr::null_mut() };
    if !set(FAST, lp, view_tp, self_view) || !set(PLAIN, plain_lp, view_tp, self_view) {
        return ptr::null_mut();
    }
    ffi::Py_NewRef(ffi::Py_None())
}

/// `_type_tag(cls)`: the class's version tag (0: none assigned), to key caches of what
/// was found on the class.
pub unsafe extern "C" fn py_type_tag(
    _m: *mut ffi::PyObject,
    cls: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    if ffi::PyType_Check(cls) == 0 {
        return crate::pyerr::type_error(format!(
            "_type_tag() argument 'cls' must be a type, not {}",
            crate::pyerr::type_name(cls)
        ));
    }
    ffi::PyLong_FromUnsignedLong((*(cls as *mut ffi::PyTypeObject)).tp_version_tag as _)
}
