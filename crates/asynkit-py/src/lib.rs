//! `asynkit._asynkit`: the Rust engine behind `asynkit.coroutine`.
//!
//! The hot types are hand-made with raw CPython slots (see `corostart.rs`); PyO3 provides
//! the module, the error plumbing for the cold functions, and the FFI declarations.
#![allow(clippy::missing_safety_doc)]

/// Internal invariant checks: on in debug builds and in `ASYNKIT_DEBUG=1` builds
/// (`cfg(asynkit_debug)`, set by build.rs), compiled out otherwise.
macro_rules! debug_check {
    ($($arg:tt)*) => {
        if cfg!(any(debug_assertions, asynkit_debug)) {
            assert!($($arg)*);
        }
    };
}
pub(crate) use debug_check;

mod await_sync;
mod awaiter;
mod corostart;
mod current_task;
mod eager;
mod eager_factory;
mod first_step;
mod fullclass;
mod gc;
mod handle;
mod introspect;
mod loop_memo;
mod method;
mod monitor;
mod native_eager;
mod prio_queue;
mod pyerr;
mod pytype;
mod running_loop;
mod sched_call;
mod scheduling;
mod step;
mod strings;

use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::PyDict;
use std::os::raw::c_int;

/// Build information: `{"build_type": "optimized"}` or `{"build_type": "debug"}`.
#[pyfunction]
fn get_build_info(py: Python<'_>) -> PyResult<Bound<'_, PyDict>> {
    let d = PyDict::new(py);
    let debug = cfg!(any(debug_assertions, asynkit_debug));
    d.set_item("build_type", if debug { "debug" } else { "optimized" })?;
    d.set_item("engine", "rust")?;
    d.set_item(
        "python_abi",
        format!("cp{}{}", pyo3_build_python().0, pyo3_build_python().1),
    )?;
    Ok(d)
}

const fn pyo3_build_python() -> (u8, u8) {
    if cfg!(Py_3_14) {
        (3, 14)
    } else if cfg!(Py_3_13) {
        (3, 13)
    } else if cfg!(Py_3_12) {
        (3, 12)
    } else if cfg!(Py_3_11) {
        (3, 11)
    } else {
        (3, 10)
    }
}

#[pyfunction]
fn _make_full_class<'py>(
    module: &Bound<'py, PyModule>,
    mixin: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyAny>> {
    unsafe {
        if ffi::PyType_Check(mixin.as_ptr()) == 0 {
            return Err(pyo3::exceptions::PyTypeError::new_err(
                "_make_full_class() argument 'mixin' must be a class",
            ));
        }
        let tp = fullclass::make(module.as_ptr(), mixin.as_ptr());
        Bound::from_owned_ptr_or_err(module.py(), tp)
    }
}

/// Hand the native `await_sync` its Python collaborators (see `await_sync.rs`).
#[pyfunction]
fn _configure_await_sync(
    globals: &Bound<'_, PyDict>,
    native_class: &Bound<'_, PyAny>,
    py_await_sync: &Bound<'_, PyAny>,
    suspended: &Bound<'_, PyAny>,
) -> PyResult<()> {
    unsafe {
        let p = native_class.as_ptr();
        if ffi::PyType_Check(p) == 0
            || ffi::PyType_IsSubtype(p as *mut ffi::PyTypeObject, corostart::type_object()) == 0
        {
            return Err(pyo3::exceptions::PyTypeError::new_err(
                "_configure_await_sync() argument 'native_class' must be a subclass of CoroStartBase",
            ));
        }
        await_sync::configure(
            globals.as_ptr(),
            p,
            py_await_sync.as_ptr(),
            suspended.as_ptr(),
        );
    }
    Ok(())
}

/// Hand the native `coro_eager`/`eager` their Python collaborators (see `eager.rs`).
#[pyfunction]
fn _configure_eager(
    globals: &Bound<'_, PyDict>,
    native_class: &Bound<'_, PyAny>,
    py_coro_eager: &Bound<'_, PyAny>,
    py_eager: &Bound<'_, PyAny>,
    cont: &Bound<'_, PyAny>,
    get_running_loop: &Bound<'_, PyAny>,
) -> PyResult<()> {
    unsafe {
        let p = native_class.as_ptr();
        if ffi::PyType_Check(p) == 0
            || ffi::PyType_IsSubtype(p as *mut ffi::PyTypeObject, corostart::type_object()) == 0
        {
            return Err(pyo3::exceptions::PyTypeError::new_err(
                "_configure_eager() argument 'native_class' must be a subclass of CoroStartBase",
            ));
        }
        if !eager::configure(
            globals.as_ptr(),
            p,
            py_coro_eager.as_ptr(),
            py_eager.as_ptr(),
            cont.as_ptr(),
            get_running_loop.as_ptr(),
        ) {
            return Err(PyErr::fetch(globals.py()));
        }
    }
    Ok(())
}

/// Give the native eager task factories their Python collaborators.
#[pyfunction]
fn _configure_eager_factory(
    asyncio: &Bound<'_, PyAny>,
    task_like_future: &Bound<'_, PyAny>,
    tlf_init: &Bound<'_, PyAny>,
    current_task: &Bound<'_, PyAny>,
    current_tasks: &Bound<'_, PyAny>,
) -> PyResult<()> {
    unsafe {
        if !current_task::configure(
            asyncio.as_ptr(),
            current_task.as_ptr(),
            current_tasks.as_ptr(),
        ) || !eager_factory::configure(task_like_future.as_ptr(), tlf_init.as_ptr())
        {
            return Err(PyErr::fetch(asyncio.py()));
        }
    }
    Ok(())
}

/// A native eager task factory for `ctor`, deferring to `py_factory` off its fast path.
#[pyfunction]
fn _new_eager_task_factory<'py>(
    ctor: &Bound<'py, PyAny>,
    py_factory: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyAny>> {
    new_factory(
        ctor,
        py_factory,
        "create_eager_task_factory",
        eager_factory::new,
    )
}

/// `make(ctor, py_factory)` after checking that `ctor` is callable (`caller` names the
/// public function in the TypeError).
fn new_factory<'py>(
    ctor: &Bound<'py, PyAny>,
    py_factory: &Bound<'py, PyAny>,
    caller: &str,
    make: unsafe fn(*mut ffi::PyObject, *mut ffi::PyObject) -> *mut ffi::PyObject,
) -> PyResult<Bound<'py, PyAny>> {
    if !ctor.is_callable() {
        return Err(pyo3::exceptions::PyTypeError::new_err(format!(
            "{caller}() argument 'custom_task_constructor' must be callable"
        )));
    }
    unsafe { Bound::from_owned_ptr_or_err(ctor.py(), make(ctor.as_ptr(), py_factory.as_ptr())) }
}

/// Turn on the native `call_soon` for asyncio's own loops (see handle.rs); returns
/// whether it is on.
#[pyfunction]
fn _configure_handles(
    handle_type: &Bound<'_, PyAny>,
    reference: &Bound<'_, PyAny>,
    base_call_soon: &Bound<'_, PyAny>,
    base_call_soon_impl: &Bound<'_, PyAny>,
    deque: &Bound<'_, PyAny>,
) -> PyResult<bool> {
    unsafe {
        handle::configure(
            handle_type.as_ptr(),
            reference.as_ptr(),
            base_call_soon.as_ptr(),
            base_call_soon_impl.as_ptr(),
            deque.as_ptr(),
        )
        .map_err(|_| PyErr::fetch(handle_type.py()))
    }
}

/// `loop.call_soon(callback, context=context)` as the native factories queue a step.
#[pyfunction]
#[pyo3(signature = (r#loop, callback, context))]
fn _call_soon<'py>(
    r#loop: &Bound<'py, PyAny>,
    callback: &Bound<'py, PyAny>,
    context: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyAny>> {
    let context = if context.is_none() {
        std::ptr::null_mut()
    } else {
        context.as_ptr()
    };
    unsafe {
        let h = handle::call_soon(r#loop.as_ptr(), callback.as_ptr(), context);
        Bound::from_owned_ptr_or_err(r#loop.py(), h)
    }
}

/// The native `call_soon` method descriptor for loop classes deriving from `base`.
#[pyfunction]
fn _make_loop_call_soon<'py>(base: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    unsafe {
        let d = handle::make_loop_call_soon(base.as_ptr());
        Bound::from_owned_ptr_or_err(base.py(), d)
    }
}

/// Whether `_call_soon` builds Handles natively.
#[pyfunction]
fn _handles_native() -> bool {
    handle::enabled()
}

/// Give the native-semantics eager factory the C Task type and `_current_tasks`, and
/// calibrate its fast path with `probe_loop` (has `get_debug()`) and `coro` (returns at
/// once). Returns whether the fast path is on.
#[pyfunction]
fn _configure_native_eager(
    c_task: &Bound<'_, PyAny>,
    current_tasks: &Bound<'_, PyAny>,
    all_tasks: &Bound<'_, PyAny>,
    probe_loop: &Bound<'_, PyAny>,
    coro: &Bound<'_, PyAny>,
) -> PyResult<bool> {
    unsafe {
        native_eager::configure(
            c_task.as_ptr(),
            current_tasks.as_ptr(),
            all_tasks.as_ptr(),
            probe_loop.as_ptr(),
            coro.as_ptr(),
        )
        .map_err(|_| PyErr::fetch(c_task.py()))
    }
}

/// A native-semantics eager task factory for `ctor`, deferring to `py_factory` off its
/// fast path.
#[pyfunction]
fn _new_native_eager_task_factory<'py>(
    ctor: &Bound<'py, PyAny>,
    py_factory: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyAny>> {
    new_factory(
        ctor,
        py_factory,
        "create_native_eager_task_factory",
        native_eager::new_factory,
    )
}

/// Give the scheduling fast paths the task types, `asynkit.scheduling`'s globals, the
/// original `task_reinsert` and the head callback's Python fallback.
#[pyfunction]
fn _configure_scheduling(
    task_types: &Bound<'_, PyAny>,
    module_globals: &Bound<'_, pyo3::types::PyDict>,
    task_reinsert: &Bound<'_, PyAny>,
    fallback: &Bound<'_, PyAny>,
) -> PyResult<()> {
    unsafe {
        if !scheduling::configure(
            task_types.as_ptr(),
            module_globals.as_ptr(),
            task_reinsert.as_ptr(),
            fallback.as_ptr(),
        ) {
            return Err(PyErr::fetch(task_types.py()));
        }
    }
    Ok(())
}

/// The native coroutine function `name` ("task_switch" or "sleep_insert") standing for
/// the Python reference `async def` `reference`.
#[pyfunction]
fn _sched_function<'py>(name: &str, reference: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    let Some(kind) = sched_call::kind_from(name) else {
        return Err(pyo3::exceptions::PyValueError::new_err(
            "_sched_function() argument 'name' must be 'task_switch' or 'sleep_insert'",
        ));
    };
    unsafe {
        if !sched_call::configure() {
            return Err(PyErr::fetch(reference.py()));
        }
        let f = sched_call::new_function(kind, reference.as_ptr());
        Bound::from_owned_ptr_or_err(reference.py(), f)
    }
}

/// Give the native Monitor hot path the Python classes and state objects it works with.
#[pyfunction]
fn _configure_monitor(
    oobdata: &Bound<'_, PyAny>,
    oobdata_init: &Bound<'_, PyAny>,
    inactive: &Bound<'_, PyAny>,
    active: &Bound<'_, PyAny>,
    oob: &Bound<'_, PyAny>,
) -> PyResult<()> {
    unsafe {
        if ffi::PyType_Check(oobdata.as_ptr()) == 0 {
            return Err(pyo3::exceptions::PyTypeError::new_err(
                "_configure_monitor() argument 'oobdata' must be a class",
            ));
        }
        if !monitor::configure(
            oobdata.as_ptr(),
            oobdata_init.as_ptr(),
            inactive.as_ptr(),
            active.as_ptr(),
            oob.as_ptr(),
        ) {
            return Err(PyErr::fetch(oobdata.py()));
        }
    }
    Ok(())
}

/// Native `GeneratorObjectIterator` steps: their Python cold-path helpers, and a native
/// `ayield` method descriptor for the GeneratorObject class `cls`.
#[pyfunction]
fn _configure_generator_object<'py>(
    cls: &Bound<'py, PyAny>,
    frame: &Bound<'py, PyAny>,
    first_iter: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyAny>> {
    unsafe {
        if ffi::PyType_Check(cls.as_ptr()) == 0 {
            return Err(pyo3::exceptions::PyTypeError::new_err(
                "_configure_generator_object() argument 'cls' must be a class",
            ));
        }
        monitor::configure_agen(frame.as_ptr(), first_iter.as_ptr());
        Bound::from_owned_ptr_or_err(cls.py(), monitor::ayield_descriptor(cls.as_ptr()))
    }
}

/// A native `oob` method descriptor for the Monitor class `cls`.
#[pyfunction]
fn _monitor_oob_method<'py>(cls: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    unsafe {
        if ffi::PyType_Check(cls.as_ptr()) == 0 {
            return Err(pyo3::exceptions::PyTypeError::new_err(
                "_monitor_oob_method() argument 'cls' must be a class",
            ));
        }
        Bound::from_owned_ptr_or_err(cls.py(), monitor::oob_descriptor(cls.as_ptr()))
    }
}

/// Refresh state that a fork invalidates (registered with `os.register_at_fork`).
#[pyfunction]
fn _after_fork_in_child() {
    running_loop::after_fork();
}

/// Give the introspection functions their Python fallbacks and check the frame-state
/// layout against probes; returns whether the native fast path is on.
#[pyfunction]
fn _configure_introspection(
    fallback_new: &Bound<'_, PyAny>,
    fallback_suspended: &Bound<'_, PyAny>,
    new: &Bound<'_, PyAny>,
    suspended: &Bound<'_, PyAny>,
    finished: &Bound<'_, PyAny>,
) -> bool {
    unsafe {
        introspect::calibrate(
            fallback_new.as_ptr(),
            fallback_suspended.as_ptr(),
            new.as_ptr(),
            suspended.as_ptr(),
            finished.as_ptr(),
        )
    }
}

fn add_raw(
    m: &Bound<'_, PyModule>,
    name: &'static std::ffi::CStr,
    meth: ffi::PyMethodDefPointer,
    flags: c_int,
    doc: &'static std::ffi::CStr,
) -> PyResult<()> {
    let def: &'static mut ffi::PyMethodDef = Box::leak(Box::new(ffi::PyMethodDef {
        ml_name: name.as_ptr(),
        ml_meth: meth,
        ml_flags: flags,
        ml_doc: doc.as_ptr(),
    }));
    unsafe {
        let func = ffi::PyCFunction_NewEx(def, m.as_ptr(), ffi::PyModule_GetNameObject(m.as_ptr()));
        let func = Bound::from_owned_ptr_or_err(m.py(), func)?;
        m.add(name.to_str().unwrap_or("?"), func)
    }
}

fn add_type(m: &Bound<'_, PyModule>, name: &str, tp: *mut ffi::PyObject) -> PyResult<()> {
    let tp = unsafe { Bound::from_owned_ptr_or_err(m.py(), tp)? };
    m.add(name, tp)
}

#[pymodule]
fn _asynkit(m: &Bound<'_, PyModule>) -> PyResult<()> {
    if cfg!(asynkit_disabled) {
        return Err(pyo3::exceptions::PyImportError::new_err(
            "asynkit was built with ASYNKIT_DISABLE_CEXT: the native engine is disabled",
        ));
    }
    let py = m.py();
    unsafe {
        if !strings::init() || !prio_queue::init() {
            return Err(PyErr::fetch(py));
        }
        let tp = corostart::init(m.as_ptr());
        add_type(m, "CoroStartBase", tp)?;
        m.add("CoroStart", m.getattr("CoroStartBase")?)?;
        let aw = awaiter::init(m.as_ptr());
        add_type(m, "CoroStartWrapperType", aw)?;
        let cont = awaiter::init_continuation(m.as_ptr());
        add_type(m, "CoroStartContinuation", cont)?;
        let fs = first_step::init(m.as_ptr());
        add_type(m, "FirstStep", fs)?;
        let ef = eager_factory::init(m.as_ptr());
        add_type(m, "EagerTaskFactory", ef)?;
        let (yield_once, head) = scheduling::init(m.as_ptr());
        add_type(m, "YieldOnce", yield_once)?;
        add_type(m, "ReinsertHead", head)?;
        let (sched_call, sched_function) = sched_call::init(m.as_ptr());
        add_type(m, "SchedCall", sched_call)?;
        add_type(m, "SchedFunction", sched_function)?;
        let (catcher, nef) = native_eager::init(m.as_ptr());
        add_type(m, "StepCatcher", catcher)?;
        add_type(m, "NativeEagerTaskFactory", nef)?;
        let (drive, oob) = monitor::init(m.as_ptr());
        add_type(m, "MonitorDrive", drive)?;
        add_type(m, "OobAwaitable", oob)?;
    }
    m.add_function(wrap_pyfunction!(get_build_info, m)?)?;
    m.add_function(wrap_pyfunction!(_make_full_class, m)?)?;
    m.add_function(wrap_pyfunction!(_configure_await_sync, m)?)?;
    m.add_function(wrap_pyfunction!(_configure_introspection, m)?)?;
    // One-argument functions taking `coro` positionally or by keyword, as the Python ones.
    macro_rules! coro_function {
        ($name:literal, $f:path, $doc:literal) => {{
            unsafe extern "C" fn call(
                m: *mut ffi::PyObject,
                args: *const *mut ffi::PyObject,
                nargsf: ffi::Py_ssize_t,
                kwnames: *mut ffi::PyObject,
            ) -> *mut ffi::PyObject {
                if kwnames.is_null() && ffi::PyVectorcall_NARGS(nargsf as usize) == 1 {
                    return $f(m, *args);
                }
                let coro = strings::sole_coro($name, args, nargsf, kwnames);
                if coro.is_null() {
                    return coro;
                }
                $f(m, coro)
            }
            const fn cstr(b: &'static [u8]) -> &'static std::ffi::CStr {
                match std::ffi::CStr::from_bytes_with_nul(b) {
                    Ok(c) => c,
                    Err(_) => panic!("not a C string"), // compile time
                }
            }
            const NAME: &std::ffi::CStr = cstr(concat!($name, "\0").as_bytes());
            const DOC: &std::ffi::CStr =
                cstr(concat!($name, "($module, coro)\n--\n\n", $doc, "\0").as_bytes());
            add_raw(
                m,
                NAME,
                ffi::PyMethodDefPointer {
                    PyCFunctionFastWithKeywords: call,
                },
                ffi::METH_FASTCALL | ffi::METH_KEYWORDS,
                DOC,
            )?;
        }};
    }
    coro_function!(
        "await_sync",
        await_sync::await_sync,
        "Run coro to completion synchronously (native fast path)."
    );
    coro_function!(
        "coro_is_new",
        introspect::coro_is_new,
        "True if the coroutine has not started."
    );
    coro_function!(
        "coro_is_suspended",
        introspect::coro_is_suspended,
        "True if the coroutine is suspended."
    );
    m.add_function(wrap_pyfunction!(_configure_eager, m)?)?;
    m.add_function(wrap_pyfunction!(_after_fork_in_child, m)?)?;
    m.add_function(wrap_pyfunction!(_configure_eager_factory, m)?)?;
    m.add_function(wrap_pyfunction!(_configure_handles, m)?)?;
    m.add_function(wrap_pyfunction!(_call_soon, m)?)?;
    m.add_function(wrap_pyfunction!(_handles_native, m)?)?;
    m.add_function(wrap_pyfunction!(_make_loop_call_soon, m)?)?;
    m.add_function(wrap_pyfunction!(_new_eager_task_factory, m)?)?;
    m.add_function(wrap_pyfunction!(_configure_monitor, m)?)?;
    m.add_function(wrap_pyfunction!(_configure_native_eager, m)?)?;
    m.add_function(wrap_pyfunction!(_new_native_eager_task_factory, m)?)?;
    m.add_function(wrap_pyfunction!(_monitor_oob_method, m)?)?;
    m.add_function(wrap_pyfunction!(_configure_generator_object, m)?)?;
    m.add_class::<prio_queue::PosPriorityQueue>()?;
    prio_queue::install_raw_methods(&m.py().get_type::<prio_queue::PosPriorityQueue>())?;
    m.add_class::<prio_queue::EntryValue>()?;
    m.add_function(wrap_pyfunction!(prio_queue::_configure_prio_queue, m)?)?;
    m.add_function(wrap_pyfunction!(_configure_scheduling, m)?)?;
    m.add_function(wrap_pyfunction!(_sched_function, m)?)?;
    add_raw(
        m,
        c"_fast_loop",
        ffi::PyMethodDefPointer { PyCFunction: loop_memo::py_fast_loop },
        ffi::METH_NOARGS,
        c"_fast_loop($module, /)\n--\n\nThe remembered standard loop, while its class is unchanged; else None.",
    )?;
    add_raw(
        m,
        c"_plain_loop",
        ffi::PyMethodDefPointer { PyCFunction: loop_memo::py_plain_loop },
        ffi::METH_NOARGS,
        c"_plain_loop($module, /)\n--\n\nThe remembered plain loop, while its class is unchanged; else None.",
    )?;
    add_raw(
        m,
        c"_remember_loop",
        ffi::PyMethodDefPointer { PyCFunctionFast: loop_memo::py_remember_loop },
        ffi::METH_FASTCALL,
        c"_remember_loop($module, loop, view, plain, /)\n--\n\nRemember loop (seen through view) as standard, and as plain if plain.",
    )?;
    add_raw(
        m,
        c"_type_tag",
        ffi::PyMethodDefPointer {
            PyCFunction: loop_memo::py_type_tag,
        },
        ffi::METH_O,
        c"_type_tag($module, cls, /)\n--\n\nThe class's version tag (0: none).",
    )?;
    add_raw(
        m,
        c"sleep_insert_head",
        ffi::PyMethodDefPointer { PyCFunctionFast: scheduling::py_sleep_insert_head },
        ffi::METH_FASTCALL,
        c"sleep_insert_head($module, loop, ready, task, pos, /)\n--\n\nQueue a ReinsertHead at the head of ready; returns a YieldOnce to await.",
    )?;
    add_raw(
        m,
        c"switch_head",
        ffi::PyMethodDefPointer { PyCFunctionFast: scheduling::py_switch_head },
        ffi::METH_FASTCALL,
        c"switch_head($module, ready, task, /)\n--\n\nMove task's queued handle to the head; a YieldOnce, or None if not queued.",
    )?;
    let fastkw = ffi::METH_FASTCALL | ffi::METH_KEYWORDS;
    add_raw(
        m,
        c"coro_eager",
        ffi::PyMethodDefPointer { PyCFunctionFastWithKeywords: eager::coro_eager },
        fastkw,
        c"coro_eager($module, /, coro, *, create_task=None, context=None)\n--\n\nStart coro eagerly (native fast path).",
    )?;
    add_raw(
        m,
        c"eager",
        ffi::PyMethodDefPointer { PyCFunctionFastWithKeywords: eager::eager },
        fastkw,
        c"eager($module, /, arg, *, create_task=None)\n--\n\nStart a coroutine eagerly, or decorate a function (native fast path).",
    )?;
    add_raw(
        m,
        c"get_running_loop",
        ffi::PyMethodDefPointer { PyCFunction: running_loop::py_get_running_loop },
        ffi::METH_NOARGS,
        c"get_running_loop($module, /)\n--\n\nasyncio.get_running_loop(), without a getpid() call per call on 3.10/3.11.",
    )?;
    add_raw(
        m,
        c"monitor_drive",
        ffi::PyMethodDefPointer { PyCFunctionFast: monitor::py_drive },
        ffi::METH_FASTCALL,
        c"monitor_drive($module, monitor, coro, arg, throw, /)\n--\n\nA Monitor drive of coro (native _drive).",
    )?;
    add_raw(
        m,
        c"agen_send",
        ffi::PyMethodDefPointer { PyCFunctionFast: monitor::py_agen_send },
        ffi::METH_FASTCALL,
        c"agen_send($module, it, value, /)\n--\n\nOne asend() of a GeneratorObjectIterator (native _agen_send).",
    )?;
    m.add("__test__", false)?;
    Ok(())
}
