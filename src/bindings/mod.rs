//! The Python edge: the private `runway_core._core` module. Thin on purpose — argument conversion
//! and error mapping only; the logic it calls is plain Rust tested by `cargo test`.

mod bridge;
mod channel;
mod client;
mod convert;
mod errors;
mod mailbox;
mod simulator;
mod task;

use pyo3::prelude::*;

use crate::catalogue::catalogue;
use convert::{body_json, json_to_py};

/// The catalogue: every endpoint and model with fields, allowed values, rules and cost.
#[pyfunction]
fn catalogue_json(py: Python<'_>) -> PyResult<Bound<'_, PyAny>> {
    json_to_py(py, &catalogue().to_json())
}

/// The price range over (endpoint, model) pairs, for a tool description. Raises ValueError for a
/// pair the catalogue does not have.
#[pyfunction]
fn cost_summary(models: Vec<(String, String)>) -> PyResult<String> {
    catalogue().cost_summary(&models).map_err(pyo3::exceptions::PyValueError::new_err)
}

/// Checks a body as `create_task` would, without sending it. Raises ValidationError.
#[pyfunction]
fn validate(py: Python<'_>, endpoint: &str, body: &Bound<'_, PyAny>) -> PyResult<()> {
    let body = body_json(body)?;
    catalogue().validate(endpoint, &body).map(drop).map_err(|e| errors::to_pyerr(py, e))
}

/// The most a valid body can cost in credits, or None when the catalogue cannot say. Media may
/// be given in any form `create_task` takes (local paths, task ids): nothing is read or sent.
#[pyfunction]
fn estimate_cost(py: Python<'_>, endpoint: &str, body: &Bound<'_, PyAny>) -> PyResult<Option<f64>> {
    let body = body_json(body)?;
    let cat = catalogue();
    let probe = match cat.model_for(endpoint, &body) {
        Some(m) => crate::media::with_placeholders(&m.fields, &body).map_err(|e| errors::to_pyerr(py, e))?,
        None => body,
    };
    let model = cat.validate(endpoint, &probe).map_err(|e| errors::to_pyerr(py, e))?;
    Ok(model.estimate_cost(&probe))
}

/// Runway's name of an endpoint given as `text_to_video`, `/v1/text_to_video` or `v1/text_to_video`.
#[pyfunction]
fn endpoint_name(endpoint: &str) -> &str {
    crate::catalogue::normalize_endpoint(endpoint)
}

/// Where the task journal lives by default: `RUNWAY_MCP_JOURNAL`, else the user's data folder.
#[pyfunction]
fn default_journal_path() -> String {
    crate::journal::default_path().to_string_lossy().into_owned()
}

#[pymodule(name = "_core")]
fn core_module(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", crate::client::VERSION)?;
    m.add("API_VERSION", crate::client::API_VERSION)?;
    m.add("DEFAULT_BASE_URL", crate::client::DEFAULT_BASE_URL)?;
    m.add("UPLOAD_MAX_BYTES", crate::media::UPLOAD_MAX)?;
    m.add("LEASE_SECONDS", crate::client::CREATOR_LEASE.as_secs_f64())?;
    m.add("TASK_STATES", pyo3::types::PyTuple::new(m.py(), crate::tasks::STATES)?)?;
    m.add("FINAL_TASK_STATES", pyo3::types::PyFrozenSet::new(m.py(), crate::tasks::FINAL_STATES)?)?;
    errors::register(m)?;
    m.add_class::<task::PyTask>()?;
    m.add_class::<client::PyClient>()?;
    m.add_class::<simulator::PySimulator>()?;
    m.add_class::<channel::PyPgChannel>()?;
    m.add_function(wrap_pyfunction!(catalogue_json, m)?)?;
    m.add_function(wrap_pyfunction!(cost_summary, m)?)?;
    m.add_function(wrap_pyfunction!(validate, m)?)?;
    m.add_function(wrap_pyfunction!(estimate_cost, m)?)?;
    m.add_function(wrap_pyfunction!(default_journal_path, m)?)?;
    m.add_function(wrap_pyfunction!(endpoint_name, m)?)?;
    m.add_function(wrap_pyfunction!(bridge::_shutdown, m)?)?;
    Ok(())
}
