//! Rust futures as asyncio futures, with an exit that cannot crash.
//!
//! Results reach Python from one delivery thread (`deliveries`), in batches. If the interpreter
//! starts finalizing while a non-Python thread is inside its attach, the process aborts
//! (pyo3-stack.md §5, upstream issue #40). Here every attach from a non-Python thread goes
//! through `attach_guarded`, which counts itself in and checks a shutdown flag; an
//! `atexit` hook (`shutdown`) raises the flag and, with the GIL released, waits for the count to
//! reach zero. After that no Rust thread touches Python again, so finalization is safe.
//! Cancellation: cancelling the asyncio future drops the Rust future (aborting its HTTP request).

use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBool, PyList, PyTuple};
use pyo3::IntoPyObjectExt;
use tokio::sync::oneshot;

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
            if let Some(tx) = self.tx.lock().unwrap().take() {
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
    let py_fut = event_loop.call_method0("create_future")?;
    let (tx, mut rx) = oneshot::channel::<()>();
    py_fut.call_method1("add_done_callback", (CancelOnDone { tx: Mutex::new(Some(tx)) },))?;
    let delivery_fut = py_fut.clone().unbind();
    let event_loop = event_loop.unbind();
    pyo3_async_runtimes::tokio::get_runtime().spawn(async move {
        let outcome = tokio::select! {
            r = fut => r,
            Ok(()) = &mut rx => return, // cancelled from Python: dropping `fut` aborts the work
        };
        let outcome: Outcome = Box::new(move |py| match outcome {
            Ok(v) => match convert(py, v) {
                Ok(obj) => (true, obj),
                Err(e) => (false, e.into_value(py).into_bound(py).into_any()),
            },
            Err(Failure::Core(e)) => (false, super::errors::to_pyerr(py, e).into_value(py).into_bound(py).into_any()),
            Err(Failure::Py(e)) => (false, e.into_value(py).into_bound(py).into_any()),
        });
        // The delivery thread is gone only when the process is: nobody is waiting then.
        let _ = deliveries().send(Delivery { event_loop, fut: delivery_fut, outcome });
    });
    Ok(py_fut)
}

/// Makes a finished call's Python value under the GIL: (succeeded, result or exception).
type Outcome = Box<dyn for<'py> FnOnce(Python<'py>) -> (bool, Bound<'py, PyAny>) + Send>;

/// A finished call waiting to be handed to its asyncio future.
struct Delivery {
    event_loop: Py<PyAny>,
    fut: Py<PyAny>,
    outcome: Outcome,
}

/// The one thread that hands results to Python. Calls that finish together are delivered
/// together: one attach to Python and one `call_soon_threadsafe` (one wake-up of the event loop)
/// for all of them, where each call used to take a blocking-pool thread, an attach and a wake-up
/// of its own (most of a call's cost beyond its HTTP request at 50 in flight; benches/README.md).
fn deliveries() -> &'static std::sync::mpsc::Sender<Delivery> {
    static TX: OnceLock<std::sync::mpsc::Sender<Delivery>> = OnceLock::new();
    TX.get_or_init(|| {
        let (tx, rx) = std::sync::mpsc::channel::<Delivery>();
        std::thread::Builder::new()
            .name("runway-deliver".into())
            .spawn(move || {
                while let Ok(first) = rx.recv() {
                    let mut batch = vec![first];
                    batch.extend(rx.try_iter());
                    // None at shutdown: nobody is waiting any more, the batch is dropped.
                    attach_guarded(|py| deliver(py, batch));
                }
            })
            .expect("cannot start the result delivery thread");
        tx
    })
}

/// Makes each result and sets it on its future: one `call_soon_threadsafe` per event loop.
fn deliver(py: Python<'_>, batch: Vec<Delivery>) {
    let mut by_loop: Vec<(Py<PyAny>, Vec<Bound<'_, PyAny>>)> = Vec::new();
    for d in batch {
        let (ok, value) = (d.outcome)(py);
        let Ok(item) = PyTuple::new(py, [d.fut.into_bound(py), PyBool::new(py, ok).to_owned().into_any(), value])
        else {
            continue;
        };
        match by_loop.iter_mut().find(|(l, _)| l.as_ptr() == d.event_loop.as_ptr()) {
            Some((_, items)) => items.push(item.into_any()),
            None => by_loop.push((d.event_loop, vec![item.into_any()])),
        }
    }
    let resolve_all = RESOLVE_ALL.get_or_init(py, || {
        wrap_pyfunction!(_resolve_all, py).expect("_resolve_all is a function").into_any().unbind()
    });
    for (event_loop, items) in by_loop {
        let Ok(list) = PyList::new(py, items) else { continue };
        // A closed loop has nobody waiting on it any more.
        let _ = event_loop.bind(py).call_method1("call_soon_threadsafe", (resolve_all.bind(py), list));
    }
}

static RESOLVE_ALL: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

/// Sets each `(future, ok, value)`'s outcome unless it was cancelled meanwhile (runs on the
/// event loop's thread). One future that cannot take its result does not keep the others waiting.
#[pyfunction]
pub fn _resolve_all(items: &Bound<'_, PyList>) {
    for item in items.iter() {
        let Ok((fut, ok, value)) = item.extract::<(Bound<'_, PyAny>, bool, Bound<'_, PyAny>)>() else { continue };
        let done = fut.call_method0("done").and_then(|d| d.is_truthy()).unwrap_or(true);
        if !done {
            let _ = fut.call_method1(if ok { "set_result" } else { "set_exception" }, (value,));
        }
    }
}

/// Converts any IntoPyObject value; the common `convert` for `spawn`.
pub fn into_py<'a, T: IntoPyObject<'a>>(py: Python<'a>, v: T) -> PyResult<Bound<'a, PyAny>> {
    v.into_bound_py_any(py)
}
