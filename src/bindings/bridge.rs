//! Rust futures as asyncio futures, with an exit that cannot crash.
//!
//! Results reach Python through the event loop's mailbox (mailbox.rs), made into Python values on
//! the loop's own thread. Callbacks into Python (progress) still attach from Rust threads: if the
//! interpreter starts finalizing while a non-Python thread is inside its attach, the process
//! aborts (pyo3-stack.md §5, upstream issue #40). Here every such attach goes through
//! `attach_guarded`, which counts itself in and checks a shutdown flag; an
//! `atexit` hook (`shutdown`) raises the flag and, with the GIL released, waits for the count to
//! reach zero. After that no Rust thread touches Python again, so finalization is safe.
//! Cancellation: cancelling the asyncio future drops the Rust future (aborting its HTTP request).

use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use pyo3::prelude::*;
use pyo3::IntoPyObjectExt;
use tokio::sync::oneshot;

use super::mailbox;

static SHUTTING_DOWN: AtomicBool = AtomicBool::new(false);
static ATTACHED: AtomicUsize = AtomicUsize::new(0);

/// Runs `f` with the GIL from a non-Python thread, unless the interpreter is shutting down.
pub fn attach_guarded<R>(f: impl for<'py> FnOnce(Python<'py>) -> R) -> Option<R> {
    ATTACHED.fetch_add(1, Ordering::SeqCst);
    let out = if SHUTTING_DOWN.load(Ordering::SeqCst) { None } else { Some(Python::attach(f)) };
    ATTACHED.fetch_sub(1, Ordering::SeqCst);
    out
}

/// The atexit hook: stop Rust threads from attaching, then wait (GIL released) for those inside.
#[pyfunction]
#[pyo3(signature = (timeout = 5.0))]
pub fn _shutdown(py: Python<'_>, timeout: f64) -> bool {
    SHUTTING_DOWN.store(true, Ordering::SeqCst);
    py.detach(|| {
        let end = Instant::now() + Duration::from_secs_f64(timeout.max(0.0));
        while ATTACHED.load(Ordering::SeqCst) > 0 {
            if Instant::now() > end {
                return false;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        true
    })
}

/// How a bridged future fails: a core error (mapped to an exception under the GIL) or a Python
/// exception already made (from a user callback).
pub enum Failure {
    Core(crate::errors::Error),
    Py(PyErr),
}

impl From<crate::errors::Error> for Failure {
    fn from(e: crate::errors::Error) -> Self {
        Failure::Core(e)
    }
}

impl From<PyErr> for Failure {
    fn from(e: PyErr) -> Self {
        Failure::Py(e)
    }
}

/// Fires when the asyncio future is cancelled, so the Rust side stops.
#[pyclass]
struct CancelOnDone {
    tx: Mutex<Option<oneshot::Sender<()>>>,
}

#[pymethods]
impl CancelOnDone {
    fn __call__(&self, fut: &Bound<'_, PyAny>) -> PyResult<()> {
        if fut.call_method0("cancelled")?.is_truthy()? {
            if let Some(tx) = self.tx.lock().unwrap_or_else(|e| e.into_inner()).take() {
                let _ = tx.send(());
            }
        }
        Ok(())
    }
}

/// Spawns `fut` on the shared tokio runtime and returns an asyncio future for its result.
/// `convert` turns the Rust value into a Python object under the GIL.
pub fn spawn<'py, T, F, C>(py: Python<'py>, fut: F, convert: C) -> PyResult<Bound<'py, PyAny>>
where
    T: Send + 'static,
    F: Future<Output = Result<T, Failure>> + Send + 'static,
    C: for<'a> FnOnce(Python<'a>, T) -> PyResult<Bound<'a, PyAny>> + Send + 'static,
{
    let event_loop = pyo3_async_runtimes::get_running_loop(py)?;
    spawn_on(event_loop, fut, convert)
}

/// `spawn` for a future that runs Python coroutines (`pyo3_async_runtimes::tokio::into_future`):
/// they find the event loop and the caller's context variables in the task locals it sets.
pub fn spawn_scoped<'py, T, F, C>(py: Python<'py>, fut: F, convert: C) -> PyResult<Bound<'py, PyAny>>
where
    T: Send + 'static,
    F: Future<Output = Result<T, Failure>> + Send + 'static,
    C: for<'a> FnOnce(Python<'a>, T) -> PyResult<Bound<'a, PyAny>> + Send + 'static,
{
    let locals = pyo3_async_runtimes::TaskLocals::with_running_loop(py)?.copy_context(py)?;
    let event_loop = locals.event_loop(py);
    spawn_on(event_loop, pyo3_async_runtimes::tokio::scope(locals, fut), convert)
}

fn spawn_on<'py, T, F, C>(event_loop: Bound<'py, PyAny>, fut: F, convert: C) -> PyResult<Bound<'py, PyAny>>
where
    T: Send + 'static,
    F: Future<Output = Result<T, Failure>> + Send + 'static,
    C: for<'a> FnOnce(Python<'a>, T) -> PyResult<Bound<'a, PyAny>> + Send + 'static,
{
    let py = event_loop.py();
    let py_fut = event_loop.call_method0(pyo3::intern!(py, "create_future"))?;
    let (tx, mut rx) = oneshot::channel::<()>();
    let on_cancel = Bound::new(py, CancelOnDone { tx: Mutex::new(Some(tx)) })?.into_any();
    py_fut.call_method1(pyo3::intern!(py, "add_done_callback"), (&on_cancel,))?;
    let delivery_fut = py_fut.clone().unbind();
    let on_cancel = on_cancel.unbind();
    let mailbox = mailbox::for_loop(&event_loop)?;
    pyo3_async_runtimes::tokio::get_runtime().spawn(async move {
        let outcome = tokio::select! {
            r = fut => r,
            Ok(()) = &mut rx => return, // cancelled from Python: dropping `fut` aborts the work
        };
        let outcome: mailbox::Outcome = Box::new(move |py| match outcome {
            Ok(v) => match convert(py, v) {
                Ok(obj) => (true, obj),
                Err(e) => (false, e.into_value(py).into_bound(py).into_any()),
            },
            Err(Failure::Core(e)) => (false, super::errors::to_pyerr(py, e).into_value(py).into_bound(py).into_any()),
            Err(Failure::Py(e)) => (false, e.into_value(py).into_bound(py).into_any()),
        });
        mailbox.send(delivery_fut, on_cancel, outcome);
    });
    Ok(py_fut)
}

/// Converts any IntoPyObject value; the common `convert` for `spawn`.
pub fn into_py<'a, T: IntoPyObject<'a>>(py: Python<'a>, v: T) -> PyResult<Bound<'a, PyAny>> {
    v.into_bound_py_any(py)
}
