//! The Python exception hierarchy and the mapping from the core's one error enum onto it. Each
//! exception carries structured attributes (status, body, issues, task, task_id…), never the key.

use pyo3::create_exception;
use pyo3::exceptions::PyException;
use pyo3::prelude::*;
use pyo3::types::PyDict;

use super::convert::json_to_py;
use super::task::PyTask;
use crate::errors::Error;

create_exception!(runway_core, RunwayError, PyException, "Base class of every runway_core error.");
create_exception!(
    runway_core,
    ApiError,
    RunwayError,
    "Runway answered with an error status; `status` and `body` keep its answer."
);
create_exception!(runway_core, AuthenticationError, ApiError, "401: the API key is missing, wrong or disabled.");
create_exception!(runway_core, NotFoundError, ApiError, "404: no such task (or it was cancelled or deleted).");
create_exception!(runway_core, RateLimitError, ApiError, "429: too many requests or the daily task limit.");
create_exception!(
    runway_core,
    ValidationError,
    RunwayError,
    "The request was refused locally, before anything was sent."
);
create_exception!(
    runway_core,
    TaskFailedError,
    RunwayError,
    "The task ended FAILED or CANCELLED; `task` is its last snapshot."
);
create_exception!(
    runway_core,
    TaskTimeoutError,
    RunwayError,
    "Waiting ran out of time; the task keeps running. `task` is the last snapshot."
);
create_exception!(
    runway_core,
    MayHaveCreatedError,
    RunwayError,
    "Not sent: an identical earlier request may have made a task whose id never came back; force_new pays again."
);
create_exception!(
    runway_core,
    TransportError,
    RunwayError,
    "The request could not be completed (connection, timeout)."
);

create_exception!(runway_core, JournalError, RunwayError, "The task journal could not be opened, read or written.");
create_exception!(
    runway_core,
    LocalFileError,
    RunwayError,
    "A file on this machine could not be used: an input to read, an output to write."
);
create_exception!(
    runway_core,
    ConfigurationError,
    RunwayError,
    "The client's settings: no API key, a base URL that is not http(s)."
);
create_exception!(
    runway_core,
    InFlightError,
    RunwayError,
    "Not sent: an identical request's task is being created elsewhere or may still be running, and could not be joined."
);
create_exception!(
    runway_core,
    ProtocolError,
    RunwayError,
    "Runway's answer has not the shape the API describes (no task id, invalid JSON, a cut download)."
);

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add("RunwayError", py.get_type::<RunwayError>())?;
    m.add("ApiError", py.get_type::<ApiError>())?;
    m.add("AuthenticationError", py.get_type::<AuthenticationError>())?;
    m.add("NotFoundError", py.get_type::<NotFoundError>())?;
    m.add("RateLimitError", py.get_type::<RateLimitError>())?;
    m.add("ValidationError", py.get_type::<ValidationError>())?;
    m.add("TaskFailedError", py.get_type::<TaskFailedError>())?;
    m.add("TaskTimeoutError", py.get_type::<TaskTimeoutError>())?;
    m.add("TransportError", py.get_type::<TransportError>())?;
    m.add("MayHaveCreatedError", py.get_type::<MayHaveCreatedError>())?;
    m.add("JournalError", py.get_type::<JournalError>())?;
    m.add("LocalFileError", py.get_type::<LocalFileError>())?;
    m.add("ConfigurationError", py.get_type::<ConfigurationError>())?;
    m.add("ProtocolError", py.get_type::<ProtocolError>())?;
    m.add("InFlightError", py.get_type::<InFlightError>())?;
    Ok(())
}

/// Builds the exception for `e`, with its attributes set.
pub fn to_pyerr(py: Python<'_>, e: Error) -> PyErr {
    match build(py, e) {
        Ok(err) => err,
        Err(err) => err,
    }
}

fn build(py: Python<'_>, e: Error) -> PyResult<PyErr> {
    let message = e.to_string();
    let task_id = e.task_id().map(str::to_string);
    let err = match &e {
        Error::Api { status, .. } => match status {
            401 => AuthenticationError::new_err(message),
            404 => NotFoundError::new_err(message),
            429 => RateLimitError::new_err(message),
            _ => ApiError::new_err(message),
        },
        Error::Validation { .. } => ValidationError::new_err(message),
        Error::TaskFailed { .. } => TaskFailedError::new_err(message),
        Error::TaskTimeout { .. } => TaskTimeoutError::new_err(message),
        Error::Transport { .. } => TransportError::new_err(message),
        Error::MayHaveCreated { .. } => MayHaveCreatedError::new_err(message),
        Error::Journal(_) => JournalError::new_err(message),
        Error::LocalFile(_) => LocalFileError::new_err(message),
        Error::Config(_) => ConfigurationError::new_err(message),
        Error::Protocol(_) => ProtocolError::new_err(message),
        Error::InFlight(_) => InFlightError::new_err(message),
        Error::Other(_) | Error::Callback(_) => RunwayError::new_err(message),
    };
    let v = err.value(py);
    v.setattr("task_id", task_id)?;
    match e {
        Error::Api { status, method, path, body, retry_after, may_have_created, .. } => {
            v.setattr("status", status)?;
            v.setattr("body", json_to_py(py, &body)?)?;
            v.setattr("method", method)?;
            v.setattr("path", path)?;
            v.setattr("retry_after", retry_after)?;
            v.setattr("may_have_created", may_have_created)?;
        }
        Error::Validation { issues, .. } => {
            let list: Vec<Bound<'_, PyDict>> = issues
                .iter()
                .map(|i| {
                    json_to_py(py, &serde_json::to_value(i).unwrap_or_default())
                        .and_then(|o| Ok(o.cast_into::<PyDict>()?))
                })
                .collect::<PyResult<_>>()?;
            v.setattr("issues", list)?;
        }
        Error::TaskFailed { task } => {
            v.setattr("task", PyTask::from(*task))?;
        }
        Error::TaskTimeout { task, waited_secs, .. } => {
            v.setattr("task", task.map(|t| PyTask::from(*t)))?;
            v.setattr("waited", waited_secs)?;
        }
        Error::Transport { kind, may_have_created, .. } => {
            v.setattr("kind", kind.name())?;
            v.setattr("may_have_created", may_have_created)?;
        }
        Error::MayHaveCreated { claimed_ms, .. } => {
            v.setattr("claimed_at", claimed_ms as f64 / 1000.0)?;
        }
        _ => {}
    }
    Ok(err)
}
