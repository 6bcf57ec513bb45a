//! The `Simulator` class: the fake Runway API, started and driven from Python tests.

use std::sync::Arc;

use pyo3::prelude::*;
use pyo3::types::PyList;

use super::convert::{json_to_py, py_to_json};
use super::errors::RunwayError;
use crate::simulator::{fault_from_json, SimConfig, Simulator};

/// A fake Runway API served on 127.0.0.1, for tests and trying things without a key.
#[pyclass(name = "Simulator", module = "runway_core")]
pub struct PySimulator {
    sim: Option<Simulator>,
    base_url: String,
    api_key: String,
    state: Arc<crate::simulator::SimState>,
}

#[pymethods]
impl PySimulator {
    #[new]
    #[pyo3(signature = (*, task_seconds=8.0, pending_seconds=0.5, daily_limit=None, max_concurrency=None, credit_balance=100000.0, api_key=None, port=0, output_url_ttl=86400.0, extra_keys=None, open_accounts=false))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        task_seconds: f64,
        pending_seconds: f64,
        daily_limit: Option<u32>,
        max_concurrency: Option<u32>,
        credit_balance: f64,
        api_key: Option<String>,
        port: u16,
        output_url_ttl: f64,
        extra_keys: Option<Vec<String>>,
        open_accounts: bool,
    ) -> PyResult<Self> {
        let cfg = SimConfig {
            api_key: api_key.unwrap_or_else(crate::simulator::default_key),
            extra_keys: extra_keys.unwrap_or_default(),
            open_accounts,
            task_seconds,
            pending_seconds,
            daily_limit,
            max_concurrency,
            credit_balance,
            output_url_ttl,
        };
        let rt = pyo3_async_runtimes::tokio::get_runtime();
        let sim = Simulator::start(rt.handle(), cfg, port)
            .map_err(|e| RunwayError::new_err(format!("could not start the simulator: {e}")))?;
        Ok(PySimulator {
            base_url: sim.base_url(),
            api_key: sim.api_key().to_string(),
            state: sim.state().clone(),
            sim: Some(sim),
        })
    }

    #[getter]
    fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The key this simulator accepts (a fixed, public test value, not a secret).
    #[getter]
    fn api_key(&self) -> &str {
        &self.api_key
    }

    /// Queues a fault for the next matching request(s): kind is "status", "reset",
    /// "lost_response" or "slow".
    #[pyo3(signature = (kind, *, count=1, method=None, path=None, status=None, retry_after=None, seconds=None, body=None))]
    #[allow(clippy::too_many_arguments)]
    fn inject_fault(
        &self,
        kind: &str,
        count: u32,
        method: Option<String>,
        path: Option<String>,
        status: Option<u16>,
        retry_after: Option<&Bound<'_, PyAny>>,
        seconds: Option<f64>,
        body: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<()> {
        let mut spec = serde_json::json!({"kind": kind, "count": count});
        let o = spec.as_object_mut().unwrap();
        if let Some(m) = method {
            o.insert("method".into(), m.into());
        }
        if let Some(p) = path {
            o.insert("path".into(), p.into());
        }
        if let Some(s) = status {
            o.insert("status".into(), s.into());
        }
        if let Some(r) = retry_after {
            o.insert("retry_after".into(), r.str()?.to_string().into());
        }
        if let Some(s) = seconds {
            o.insert("seconds".into(), s.into());
        }
        if let Some(b) = body {
            o.insert("body".into(), py_to_json(b)?);
        }
        let fault = fault_from_json(&spec).map_err(pyo3::exceptions::PyValueError::new_err)?;
        self.state.add_fault(fault);
        Ok(())
    }

    fn clear_faults(&self) {
        self.state.clear_faults();
    }

    /// API requests received so far: dicts with method, path, authorized, version, at_ms, seq, host and,
    /// for task-creating POSTs, the JSON body as received.
    fn requests<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let v = serde_json::to_value(self.state.requests()).unwrap_or_default();
        Ok(json_to_py(py, &v)?.cast_into::<PyList>()?)
    }

    fn clear_requests(&self) {
        self.state.clear_requests();
    }

    #[getter]
    fn tasks_created(&self) -> u32 {
        self.state.tasks_created()
    }

    /// Completed ephemeral uploads: dicts with token, filename, size, at_ms.
    fn uploads<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let v = serde_json::to_value(self.state.uploads()).unwrap_or_default();
        Ok(json_to_py(py, &v)?.cast_into::<PyList>()?)
    }

    fn close(&mut self) {
        if let Some(mut s) = self.sim.take() {
            s.stop();
        }
    }

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    fn __exit__(&mut self, _a: Option<Bound<'_, PyAny>>, _b: Option<Bound<'_, PyAny>>, _c: Option<Bound<'_, PyAny>>) {
        self.close();
    }

    fn __repr__(&self) -> String {
        format!("Simulator(base_url='{}')", self.base_url)
    }
}
