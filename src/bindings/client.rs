//! The client class (`_Client`, wrapped by `runway_core.Client`): each method only converts
//! arguments and hands off to the core, its coroutine made by `bridge::spawn`.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};

use super::bridge::{attach_guarded, into_py, spawn, spawn_scoped, Failure};
use super::convert::{body_json, json_to_py};
use super::errors::{to_pyerr, RunwayError};
use super::task::{task_to_py, PyTask};
use crate::client::{observe_retries, Answer, CancelOutcome, ClientOptions, Retry, RetryObserver, RunwayClient};
use crate::errors::Error;
use crate::tasks::{PollConfig, Task};

/// The native client; `runway_core.Client` wraps it with coroutine methods.
#[pyclass(name = "_Client", module = "runway_core._core", frozen)]
pub struct PyClient {
    inner: Mutex<Option<Arc<RunwayClient>>>,
    base_url: String,
}

impl PyClient {
    fn client(&self) -> PyResult<Arc<RunwayClient>> {
        self.inner.lock().unwrap().clone().ok_or_else(|| RunwayError::new_err("this client is closed"))
    }
}

#[pymethods]
impl PyClient {
    #[new]
    #[pyo3(signature = (api_key=None, base_url=None, timeout=60.0, max_retries=3, poll=None, input_dirs=None, journal=None))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        api_key: Option<String>,
        base_url: Option<String>,
        timeout: f64,
        max_retries: u32,
        poll: Option<&Bound<'_, PyDict>>,
        input_dirs: Option<Vec<std::path::PathBuf>>,
        journal: Option<String>,
    ) -> PyResult<Self> {
        if !(timeout.is_finite() && timeout > 0.0) {
            return Err(to_pyerr(
                py,
                Error::refused(format!("timeout must be a positive number of seconds, got {timeout}")),
            ));
        }
        let input_policy = crate::media::InputPolicy {
            roots: input_dirs.map(|ds| ds.into_iter().map(|d| d.canonicalize().unwrap_or(d)).collect()),
        };
        // Building reqwest's client needs no runtime, but its connections live on the shared one.
        let _guard = pyo3_async_runtimes::tokio::get_runtime().enter();
        let mut opts = ClientOptions {
            api_key,
            base_url,
            timeout,
            max_retries,
            poll: poll_config(poll)?,
            input_policy,
            ..Default::default()
        };
        opts.http = Some(shared_http(&opts).map_err(|e| to_pyerr(py, e))?);
        let mut client = RunwayClient::new(opts).map_err(|e| to_pyerr(py, e))?;
        if let Some(spec) = journal {
            // A SQLite file's path, or a postgresql:// URL for a journal shared by several replicas.
            // One handle per journal in the process, shared by every key's client.
            let j = py.detach(|| crate::journal::open_shared(&spec)).map_err(|e| to_pyerr(py, e))?;
            client.attach_journal(j);
        }
        Ok(PyClient { base_url: client.base_url().to_string(), inner: Mutex::new(Some(Arc::new(client))) })
    }

    #[getter]
    fn base_url(&self) -> &str {
        &self.base_url
    }

    /// Also writes what the client observed and has not journaled yet (`WRITE_BEHIND`).
    fn close(&self, py: Python<'_>) {
        let client = self.inner.lock().unwrap().take();
        if let Some(a) = client.as_ref().and_then(|c| c.journal()).cloned() {
            py.detach(move || a.flush_blocking());
        }
    }

    #[getter]
    fn closed(&self) -> bool {
        self.inner.lock().unwrap().is_none()
    }

    fn __repr__(&self) -> String {
        format!("Client(base_url='{}')", self.base_url)
    }

    #[pyo3(signature = (endpoint, body, validate=true, tool=None, force_new=false, reattach_only=false))]
    #[allow(clippy::too_many_arguments)]
    fn create_task<'py>(
        &self,
        py: Python<'py>,
        endpoint: String,
        body: &Bound<'py, PyAny>,
        validate: bool,
        tool: Option<String>,
        force_new: bool,
        reattach_only: bool,
    ) -> PyResult<Bound<'py, PyAny>> {
        let c = self.client()?;
        let body = body_json(body)?;
        let meta = crate::client::CreateMeta { tool, force_new, reattach_only };
        spawn(py, async move { Ok(c.create_task_with(&endpoint, body, validate, &meta).await?) }, task_to_py)
    }

    /// The running task an identical request would reattach to, or None.
    fn in_flight<'py>(
        &self,
        py: Python<'py>,
        endpoint: String,
        body: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let c = self.client()?;
        let body = body_json(body)?;
        spawn(py, async move { Ok(c.in_flight(&endpoint, &body).await?) }, |py, t| match t {
            Some(t) => task_to_py(py, t),
            None => Ok(py.None().into_bound(py)),
        })
    }

    /// Why `create_task` would raise MayHaveCreatedError now (an earlier identical request may
    /// already have created a task), or None. Read only.
    fn may_have_created<'py>(
        &self,
        py: Python<'py>,
        endpoint: String,
        body: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let c = self.client()?;
        let body = body_json(body)?;
        spawn(py, async move { Ok(c.may_have_created(&endpoint, &body).await?) }, |py, e| {
            Ok(e.map(|row| crate::client::doubt(&row)).into_pyobject(py)?.into_any())
        })
    }

    #[getter]
    fn has_journal(&self) -> PyResult<bool> {
        Ok(self.client()?.journal().is_some())
    }

    /// This key's journaled tasks, newest first, as dicts.
    #[pyo3(signature = (status=None, tool=None, model=None, since_ms=None, text=None, limit=None))]
    #[allow(clippy::too_many_arguments)]
    fn list_tasks<'py>(
        &self,
        py: Python<'py>,
        status: Option<String>,
        tool: Option<String>,
        model: Option<String>,
        since_ms: Option<u64>,
        text: Option<String>,
        limit: Option<usize>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let c = self.client()?;
        let f = crate::journal::Filter { status, tool, model, since_ms, text, limit };
        spawn(py, async move { Ok(c.journal_list(f).await?) }, |py, rows| entries_to_py(py, &rows))
    }

    /// One journaled task as a dict, or None.
    fn journal_entry<'py>(&self, py: Python<'py>, task_id: String) -> PyResult<Bound<'py, PyAny>> {
        let c = self.client()?;
        spawn(py, async move { Ok(c.journal_get(&task_id).await?) }, |py, e| {
            json_to_py(py, &e.as_ref().map(crate::client::entry_json).unwrap_or(serde_json::Value::Null))
        })
    }

    /// Journaled tasks to resume: unfinished, or succeeded with outputs not saved yet.
    #[pyo3(signature = (limit=100))]
    fn unfinished_tasks<'py>(&self, py: Python<'py>, limit: usize) -> PyResult<Bound<'py, PyAny>> {
        let c = self.client()?;
        spawn(py, async move { Ok(c.journal_unfinished(limit).await?) }, |py, rows| entries_to_py(py, &rows))
    }

    /// Takes or renews this client's lease on each task for `seconds` (0 releases), in one journal
    /// write: the ids this client holds now (another client's lease that still runs is left).
    fn lease_tasks<'py>(&self, py: Python<'py>, task_ids: Vec<String>, seconds: f64) -> PyResult<Bound<'py, PyAny>> {
        if !(seconds.is_finite() && seconds >= 0.0) {
            return Err(to_pyerr(py, Error::refused(format!("seconds must be 0 or more, got {seconds}"))));
        }
        let c = self.client()?;
        let ttl = Duration::from_secs_f64(seconds.min(1e9));
        spawn(py, async move { Ok(c.journal_lease(task_ids, ttl).await?) }, |py, v| Ok(v.into_pyobject(py)?.into_any()))
    }

    /// Credits of this key's journaled tasks created since `since_ms` (final cost, else the estimate).
    fn spent_since<'py>(&self, py: Python<'py>, since_ms: u64) -> PyResult<Bound<'py, PyAny>> {
        let c = self.client()?;
        spawn(py, async move { Ok(c.journal_spent_since(since_ms).await?) }, |py, v| {
            Ok(v.into_pyobject(py)?.into_any())
        })
    }

    fn get_task<'py>(&self, py: Python<'py>, task_id: String) -> PyResult<Bound<'py, PyAny>> {
        let c = self.client()?;
        spawn(py, async move { Ok(c.get_task(&task_id).await?) }, task_to_py)
    }

    /// Resolves to True when this call cancelled or deleted the task, False when it was already gone.
    fn cancel_task<'py>(&self, py: Python<'py>, task_id: String) -> PyResult<Bound<'py, PyAny>> {
        let c = self.client()?;
        spawn(py, async move { Ok(c.cancel_task(&task_id).await? == CancelOutcome::Done) }, |py, done| {
            into_py(py, done)
        })
    }

    /// Resolves to the `runway://` URI of the uploaded file.
    fn upload<'py>(&self, py: Python<'py>, path: std::path::PathBuf) -> PyResult<Bound<'py, PyAny>> {
        let c = self.client()?;
        spawn(py, async move { Ok(c.upload(&path).await?) }, |py, uri| into_py(py, uri))
    }

    /// `on_progress(done, total)` is scheduled on the event loop at most about 5 times a second.
    #[pyo3(signature = (url, dest, on_progress=None))]
    fn download<'py>(
        &self,
        py: Python<'py>,
        url: String,
        dest: std::path::PathBuf,
        on_progress: Option<Py<PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let c = self.client()?;
        let event_loop = pyo3_async_runtimes::get_running_loop(py)?.unbind();
        spawn(
            py,
            async move {
                let mut last = std::time::Instant::now() - Duration::from_secs(1);
                let report = move |done: u64, total: Option<u64>| {
                    let Some(cb) = &on_progress else { return };
                    if last.elapsed() < Duration::from_millis(200) && Some(done) != total {
                        return;
                    }
                    last = std::time::Instant::now();
                    attach_guarded(|py| {
                        let _ = event_loop.bind(py).call_method1("call_soon_threadsafe", (cb.bind(py), done, total));
                    });
                };
                Ok(c.download(&url, &dest, report).await?)
            },
            downloaded_to_py,
        )
    }

    /// Saves every output of a succeeded task into `directory`; resolves to a list of dicts.
    /// `task` is a Task (its URLs are used as they are) or a task id (fetched first).
    #[pyo3(signature = (task, directory, prefix="runway".to_string()))]
    fn save_outputs<'py>(
        &self,
        py: Python<'py>,
        task: &Bound<'py, PyAny>,
        directory: std::path::PathBuf,
        prefix: String,
    ) -> PyResult<Bound<'py, PyAny>> {
        let c = self.client()?;
        let known: Option<Task> = task.cast::<PyTask>().ok().map(|t| t.get().inner.clone());
        let task_id: String = match &known {
            Some(t) => t.id.clone(),
            None => task.extract()?,
        };
        spawn(
            py,
            async move {
                let task = match known {
                    Some(t) => t,
                    None => c.get_task(&task_id).await?,
                };
                if !task.succeeded() {
                    return Err(Error::refused(format!(
                        "task {task_id} is {}, not SUCCEEDED: it has no outputs to save",
                        task.status.as_deref().unwrap_or("unknown")
                    ))
                    .into());
                }
                Ok(c.save_outputs(&task, &directory, &prefix).await?)
            },
            |py, files| {
                let list = PyList::empty(py);
                for f in files {
                    list.append(downloaded_to_py(py, f)?)?;
                }
                Ok(list.into_any())
            },
        )
    }

    fn organization<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let c = self.client()?;
        spawn(py, async move { Ok(c.organization().await?) }, |py, v| json_to_py(py, &v))
    }

    /// Any operation by its catalogue name; a Task for task-creating operations, else Runway's
    /// answer as plain Python values (None for 204).
    #[pyo3(signature = (operation, params=None, query=None, body=None, tool=None, force_new=false))]
    #[allow(clippy::too_many_arguments)]
    fn call<'py>(
        &self,
        py: Python<'py>,
        operation: String,
        params: Option<&Bound<'py, PyAny>>,
        query: Option<&Bound<'py, PyAny>>,
        body: Option<&Bound<'py, PyAny>>,
        tool: Option<String>,
        force_new: bool,
    ) -> PyResult<Bound<'py, PyAny>> {
        let c = self.client()?;
        let object =
            |v: Option<&Bound<'py, PyAny>>, what: &str| -> PyResult<serde_json::Map<String, serde_json::Value>> {
                match v.map(body_json).transpose()? {
                    None | Some(serde_json::Value::Null) => Ok(Default::default()),
                    Some(serde_json::Value::Object(m)) => Ok(m),
                    Some(_) => Err(PyTypeError::new_err(format!("{what} must be a mapping"))),
                }
            };
        let (params, query) = (object(params, "params")?, object(query, "query")?);
        let body = body.map(body_json).transpose()?;
        let meta = crate::client::CreateMeta { tool, force_new, reattach_only: false };
        spawn(py, async move { Ok(c.call(&operation, &params, &query, body, &meta).await?) }, |py, a| match a {
            Answer::Json(v) => json_to_py(py, &v),
            Answer::Task(t) => task_to_py(py, t),
        })
    }

    fn list_voices<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let c = self.client()?;
        spawn(py, async move { Ok(c.list_voices().await?) }, |py, v| json_to_py(py, &serde_json::Value::Array(v)))
    }

    /// `on_progress` must be an async callable taking a Task (the Python facade adapts plain ones).
    /// `on_retry(dict)` is scheduled on the event loop, in the caller's context, before each retry
    /// of a poll.
    #[pyo3(signature = (task_id, timeout=None, on_progress=None, on_retry=None))]
    fn wait_for_task<'py>(
        &self,
        py: Python<'py>,
        task_id: String,
        timeout: Option<f64>,
        on_progress: Option<Py<PyAny>>,
        on_retry: Option<Py<PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let c = self.client()?;
        if let Some(t) = timeout {
            if !(t.is_finite() && t >= 0.0) {
                return Err(to_pyerr(
                    py,
                    Error::refused(format!("timeout must be a non-negative number of seconds, got {t}")),
                ));
            }
        }
        let cb = on_progress.map(Arc::new);
        spawn_scoped(
            py,
            async move {
                // A callback's exception is kept here and re-raised as is.
                let failure: Arc<Mutex<Option<PyErr>>> = Arc::new(Mutex::new(None));
                let slot = failure.clone();
                let waiting = c.wait_for_task(&task_id, timeout.map(Duration::from_secs_f64), move |task| {
                    let cb = cb.clone();
                    let slot = slot.clone();
                    async move {
                        let Some(cb) = cb else { return Ok(()) };
                        let started = attach_guarded(|py| -> PyResult<_> {
                            let coro = cb.bind(py).call1((PyTask::from(task),))?;
                            pyo3_async_runtimes::tokio::into_future(coro)
                        });
                        let outcome = match started {
                            None => return Err(Error::Other("the interpreter is shutting down".into())),
                            Some(Err(e)) => Err(e),
                            Some(Ok(fut)) => fut.await.map(drop),
                        };
                        outcome.map_err(|e| {
                            let msg = e.to_string();
                            *slot.lock().unwrap() = Some(e);
                            Error::Callback(msg)
                        })
                    }
                });
                let result = match on_retry {
                    Some(cb) => observe_retries(retry_observer(cb), waiting).await,
                    None => waiting.await,
                };
                match result {
                    Ok(t) => Ok(t),
                    Err(Error::Callback(msg)) => Err(failure
                        .lock()
                        .unwrap()
                        .take()
                        .map(Failure::Py)
                        .unwrap_or(Failure::Core(Error::Callback(msg)))),
                    Err(e) => Err(Failure::Core(e)),
                }
            },
            task_to_py,
        )
    }
}

/// Tells `cb` of each retry: scheduled on the call's event loop in the call's context (so a
/// notice finds the tool call it is about), never waited for.
fn retry_observer(cb: Py<PyAny>) -> RetryObserver {
    Arc::new(move |r: &Retry| {
        let _ = attach_guarded(|py| -> PyResult<()> {
            let locals = pyo3_async_runtimes::tokio::get_current_locals(py)?;
            let info = PyDict::new(py);
            info.set_item("method", &r.method)?;
            info.set_item("path", &r.path)?;
            info.set_item("status", r.status)?;
            info.set_item("error", r.error)?;
            info.set_item("attempt", r.attempt)?;
            info.set_item("delay", r.delay_secs)?;
            let kwargs = PyDict::new(py);
            kwargs.set_item("context", locals.context(py))?;
            locals.event_loop(py).call_method("call_soon_threadsafe", (cb.bind(py), info), Some(&kwargs))?;
            Ok(())
        });
    })
}

fn downloaded_to_py(py: Python<'_>, d: crate::client::Downloaded) -> PyResult<Bound<'_, PyAny>> {
    let out = PyDict::new(py);
    out.set_item("path", d.path.to_string_lossy().to_string())?;
    out.set_item("bytes", d.bytes)?;
    out.set_item("mime_type", d.mime_type)?;
    out.set_item("url", d.url)?;
    Ok(out.into_any())
}

fn poll_config(poll: Option<&Bound<'_, PyDict>>) -> PyResult<PollConfig> {
    let mut c = PollConfig::default();
    let Some(d) = poll else { return Ok(c) };
    for (k, v) in d.iter() {
        let key: String = k.extract()?;
        let val: f64 = v.extract()?;
        if !(val.is_finite() && val >= 0.0) {
            return Err(PyTypeError::new_err(format!("poll['{key}'] must be a non-negative number")));
        }
        match key.as_str() {
            "first_delay" => c.first_delay = val,
            "min_interval" => c.min_interval = val,
            "idle_interval" => c.idle_interval = val,
            "max_idle_interval" => c.max_idle_interval = val,
            "max_predict_interval" => c.max_predict_interval = val,
            "margin" => c.margin = val,
            "assumed_queue" => c.assumed_queue = val,
            _ => return Err(PyTypeError::new_err(format!("unknown poll option '{key}'"))),
        }
    }
    Ok(c)
}

/// Journal rows as a list of dicts.
fn entries_to_py<'py>(py: Python<'py>, rows: &[crate::journal::Entry]) -> PyResult<Bound<'py, PyAny>> {
    json_to_py(py, &serde_json::Value::Array(rows.iter().map(crate::client::entry_json).collect()))
}

/// The process's HTTP clients for these options: every `Client` (one per user key on a team
/// server) with the same timeouts shares one connection pool, so sockets do not grow with keys.
/// One runtime runs them all (pyo3-async-runtimes'), which a shared pool needs.
fn shared_http(opts: &ClientOptions) -> crate::errors::Result<crate::client::HttpClients> {
    type Key = (u64, u64, bool);
    static SHARED: std::sync::LazyLock<Mutex<std::collections::HashMap<Key, crate::client::HttpClients>>> =
        std::sync::LazyLock::new(Default::default);
    let base = crate::client::resolve_base_url(opts.base_url.as_deref(), |k| std::env::var(k).ok());
    let key = (opts.connect_timeout.to_bits(), opts.timeout.to_bits(), base.starts_with("http://"));
    let mut shared = SHARED.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(h) = shared.get(&key) {
        return Ok(h.clone());
    }
    let h = crate::client::HttpClients::build(opts.connect_timeout, opts.timeout, key.2)?;
    shared.insert(key, h.clone());
    Ok(h)
}
