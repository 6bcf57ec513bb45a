//! The `PgChannel` class: NOTIFY and LISTEN on a PostgreSQL database (journal/postgres/channel.rs)
//! as coroutines and an async iterator of payloads.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use pyo3::exceptions::PyStopAsyncIteration;
use pyo3::prelude::*;

use tokio::task::AbortHandle;

use super::bridge::{spawn, Failure};
use super::errors::to_pyerr;
use crate::errors::Error;
use crate::journal::{Listener, PgChannel};

/// Events between processes sharing a PostgreSQL database.
#[pyclass(name = "PgChannel", module = "runway_core._core", frozen)]
pub struct PyPgChannel {
    channel: Arc<PgChannel>,
    listener: Arc<tokio::sync::Mutex<Option<Listener>>>,
    // Outside the listener's lock, which a pending `__anext__` holds: `close` must not wait for it.
    stop: Arc<Mutex<Option<AbortHandle>>>,
    closed: Arc<AtomicBool>,
}

#[pymethods]
impl PyPgChannel {
    #[new]
    fn new(py: Python<'_>, url: &str, channel: &str) -> PyResult<Self> {
        let channel = PgChannel::new(url, channel).map_err(|e| to_pyerr(py, e))?;
        Ok(PyPgChannel {
            channel: Arc::new(channel),
            listener: Arc::new(tokio::sync::Mutex::new(None)),
            stop: Default::default(),
            closed: Default::default(),
        })
    }

    /// The database, without the password.
    #[getter]
    fn target(&self) -> &str {
        self.channel.target()
    }

    /// Sends `payload` (under 8000 bytes) to every listener of the channel.
    fn notify<'py>(&self, py: Python<'py>, payload: String) -> PyResult<Bound<'py, PyAny>> {
        let channel = self.channel.clone();
        spawn(py, async move { channel.notify(&payload).await.map_err(Failure::from) }, |py, ()| {
            Ok(py.None().into_bound(py))
        })
    }

    /// Starts listening, and waits for the first LISTEN to take (JournalError if it did not: the
    /// listener keeps trying in the background, and again whenever its connection drops).
    fn listen<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let (channel, slot, stop, closed) =
            (self.channel.clone(), self.listener.clone(), self.stop.clone(), self.closed.clone());
        spawn(
            py,
            async move {
                let mut held = slot.lock().await;
                if held.is_none() {
                    let l = channel.listen();
                    *stop.lock().unwrap_or_else(|e| e.into_inner()) = Some(l.abort_handle());
                    *held = Some(l);
                }
                if closed.load(Ordering::SeqCst) {
                    held.as_ref().expect("set above").abort_handle().abort();
                    return Err(Failure::Core(Error::Journal("this event channel is closed".into())));
                }
                held.as_mut().expect("set above").ready().await.map_err(Failure::from)
            },
            |py, ()| Ok(py.None().into_bound(py)),
        )
    }

    fn __aiter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    /// The next payload; StopAsyncIteration once closed.
    fn __anext__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let slot = self.listener.clone();
        spawn(
            py,
            async move {
                let mut held = slot.lock().await;
                let Some(listener) = held.as_mut() else {
                    return Err(Failure::Core(Error::Journal("not listening: call listen() first".into())));
                };
                match listener.recv().await {
                    Some(payload) => Ok(payload),
                    None => Err(Failure::Py(PyStopAsyncIteration::new_err(()))),
                }
            },
            |py, payload| Ok(payload.into_pyobject(py)?.into_any()),
        )
    }

    /// Stops listening (a pending `__anext__` ends with StopAsyncIteration) and sending.
    fn close(&self) {
        self.closed.store(true, Ordering::SeqCst);
        if let Some(stop) = self.stop.lock().unwrap_or_else(|e| e.into_inner()).take() {
            stop.abort();
        }
    }
}
