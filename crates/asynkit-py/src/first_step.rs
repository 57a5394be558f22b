//! The first step of a C Task built around an eager start that suspended on a bare yield.
//!
//! Such a Task's first step does nothing but hand the Task the `None` its coroutine
//! yielded during the eager start: the Task takes that as a bare yield and queues its next
//! step (with `loop.call_soon`, the Python path). `FirstStep` stands in for that step in the
//! ready queue: when the loop runs it, it marks the continuation's first value as handed
//! over and queues the Task's step itself (natively where `handle::call_soon` can), which is
//! everything that step would have done. The coroutine still resumes two loop passes after
//! the Task was created, from the same queue positions.
//!
//! Whenever the step would do anything else (the Task was cancelled meanwhile, is done, or
//! the continuation was already stepped) the real step is simply called.
//!
//! For the scheduling functions it is the Task's step: its `__self__` is the Task (spec
//! scheduling.md §0.3).
use crate::pyerr;
use pyo3::ffi;
use std::os::raw::{c_int, c_void};
use std::ptr;

#[repr(C)]
struct FirstStep {
    ob_base: ffi::PyObject,
    vectorcall: Option<ffi::vectorcallfunc>,
    task: *mut ffi::PyObject,
    /// The Task's own step (`TaskStepMethWrapper`) and its context.
    step: *mut ffi::PyObject,
    context: *mut ffi::PyObject,
    /// The continuation (`awaiter::new_continuation`) the Task drives.
    cont: *mut ffi::PyObject,
    lp: *mut ffi::PyObject,
}

static mut TYPE: *mut ffi::PyTypeObject = ptr::null_mut();
static mut S_DONE: *mut ffi::PyObject = ptr::null_mut();
static mut S_MUST_CANCEL: *mut ffi::PyObject = ptr::null_mut();

/// `FirstStep(task, step, context, cont, lp)`; null with an exception set.
pub unsafe fn new(
    task: *mut ffi::PyObject,
    step: *mut ffi::PyObject,
    context: *mut ffi::PyObject,
    cont: *mut ffi::PyObject,
    lp: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    if TYPE.is_null() {
        pyerr::set_string(ffi::PyExc_RuntimeError, c"FirstStep is not initialised");
        return ptr::null_mut();
    }
    let obj = ffi::PyType_GenericAlloc(TYPE, 0);
    if obj.is_null() {
        return obj;
    }
    let f = obj as *mut FirstStep;
    (*f).vectorcall = Some(call);
    (*f).task = ffi::Py_NewRef(task);
    (*f).step = ffi::Py_NewRef(step);
    (*f).context = ffi::Py_XNewRef(context);
    (*f).cont = ffi::Py_NewRef(cont);
    (*f).lp = ffi::Py_NewRef(lp);
    obj
}

/// Whether the Task is pending with no cancellation requested; None on error.
unsafe fn undisturbed(task: *mut ffi::PyObject) -> Option<bool> {
    for (name, want) in [(S_DONE, false), (S_MUST_CANCEL, false)] {
        let v = if name == S_DONE {
            ffi::PyObject_CallMethodNoArgs(task, name)
        } else {
            ffi::PyObject_GetAttr(task, name)
        };
        if v.is_null() {
            return None;
        }
        let t = ffi::PyObject_IsTrue(v);
        ffi::Py_DECREF(v);
        if t < 0 {
            return None;
        }
        if (t == 1) != want {
            return Some(false);
        }
    }
    Some(true)
}

unsafe extern "C" fn call(
    callable: *mut ffi::PyObject,
    _args: *const *mut ffi::PyObject,
    nargsf: usize,
    kwnames: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    let f = callable as *mut FirstStep;
    if ffi::PyVectorcall_NARGS(nargsf) != 0 || !kwnames.is_null() {
        return pyerr::type_error("FirstStep() takes no arguments".into());
    }
    if (*f).task.is_null() {
        return ffi::Py_NewRef(ffi::Py_None()); // cleared by the GC
    }
    let shortcut = match undisturbed((*f).task) {
        None => return ptr::null_mut(),
        Some(u) => u && crate::awaiter::take_first_none((*f).cont),
    };
    if !shortcut {
        return ffi::PyObject_CallNoArgs((*f).step);
    }
    let h = crate::handle::call_soon((*f).lp, (*f).step, (*f).context);
    if h.is_null() {
        return h;
    }
    ffi::Py_DECREF(h);
    ffi::Py_NewRef(ffi::Py_None())
}

unsafe extern "C" fn get_self(obj: *mut ffi::PyObject, _: *mut c_void) -> *mut ffi::PyObject {
    let task = (*(obj as *mut FirstStep)).task;
    ffi::Py_NewRef(if task.is_null() { ffi::Py_None() } else { task })
}

unsafe extern "C" fn tp_traverse(
    obj: *mut ffi::PyObject,
    visit: ffi::visitproc,
    arg: *mut c_void,
) -> c_int {
    let f = obj as *mut FirstStep;
    crate::gc::visit_refs(
        obj,
        &[(*f).task, (*f).step, (*f).context, (*f).cont, (*f).lp],
        visit,
        arg,
    )
}

unsafe extern "C" fn tp_clear(obj: *mut ffi::PyObject) -> c_int {
    let f = obj as *mut FirstStep;
    ffi::Py_CLEAR(&mut (*f).task);
    ffi::Py_CLEAR(&mut (*f).step);
    ffi::Py_CLEAR(&mut (*f).context);
    ffi::Py_CLEAR(&mut (*f).cont);
    ffi::Py_CLEAR(&mut (*f).lp);
    0
}

unsafe extern "C" fn tp_dealloc(obj: *mut ffi::PyObject) {
    crate::gc::dealloc(obj, tp_clear);
}

unsafe extern "C" fn tp_repr(obj: *mut ffi::PyObject) -> *mut ffi::PyObject {
    ffi::PyUnicode_FromFormat(c"<asynkit first step object at %p>".as_ptr(), obj)
}

pub unsafe fn init(module: *mut ffi::PyObject) -> *mut ffi::PyObject {
    S_DONE = ffi::PyUnicode_InternFromString(c"done".as_ptr());
    S_MUST_CANCEL = ffi::PyUnicode_InternFromString(c"_must_cancel".as_ptr());
    if S_DONE.is_null() || S_MUST_CANCEL.is_null() {
        return ptr::null_mut();
    }
    use crate::pytype::{self, slot};
    let mut slots = pytype::gc_slots(tp_dealloc, tp_traverse, tp_clear).to_vec();
    slots.extend(pytype::vectorcall_slots(std::mem::offset_of!(
        FirstStep, vectorcall
    )));
    slots.extend([
        slot(ffi::Py_tp_repr, tp_repr as *mut c_void),
        pytype::getsets_slot(vec![pytype::getset(
            c"__self__",
            get_self,
            None,
            ptr::null_mut(),
        )]),
    ]);
    let flags = ffi::Py_TPFLAGS_DEFAULT
        | ffi::Py_TPFLAGS_HAVE_GC
        | ffi::Py_TPFLAGS_HAVE_VECTORCALL
        | ffi::Py_TPFLAGS_DISALLOW_INSTANTIATION;
    let tp = pytype::new_type(
        module,
        c"asynkit._asynkit.FirstStep",
        std::mem::size_of::<FirstStep>(),
        flags,
        slots,
        ptr::null_mut(),
    );
    if !tp.is_null() {
        TYPE = tp as *mut ffi::PyTypeObject;
    }
    tp
}
