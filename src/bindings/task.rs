//! The `Task` class: a Runway task as last seen, read-only.

use pyo3::prelude::*;

use super::bridge::into_py;
use super::convert::json_to_py;
use crate::tasks::Task;

/// A Runway task as last seen. `raw` is Runway's JSON for it.
#[pyclass(name = "Task", module = "runway_core", frozen)]
pub struct PyTask {
    pub inner: Task,
}

impl From<Task> for PyTask {
    fn from(inner: Task) -> Self {
        PyTask { inner }
    }
}

#[pymethods]
impl PyTask {
    #[getter]
    fn id(&self) -> &str {
        &self.inner.id
    }
    #[getter]
    fn status(&self) -> Option<&str> {
        self.inner.status.as_deref()
    }
    #[getter]
    fn progress(&self) -> Option<f64> {
        self.inner.progress
    }
    #[getter]
    fn output(&self) -> Vec<String> {
        self.inner.output.clone()
    }
    #[getter]
    fn failure(&self) -> Option<&str> {
        self.inner.failure.as_deref()
    }
    #[getter]
    fn failure_code(&self) -> Option<&str> {
        self.inner.failure_code.as_deref()
    }
    #[getter]
    fn estimated_cost(&self) -> Option<f64> {
        self.inner.estimated_cost
    }
    #[getter]
    fn cost(&self) -> Option<f64> {
        self.inner.cost
    }
    /// `"task"`, or `"workflow_invocation"` for a workflow run (its `output` lists every output
    /// node's URLs; `raw["output"]` maps node ids to them, `raw["nodeErrors"]` the failed nodes).
    #[getter]
    fn kind(&self) -> &'static str {
        self.inner.kind.as_str()
    }
    /// True when an identical request found this task still running, so no new task was made.
    #[getter]
    fn reattached(&self) -> bool {
        self.inner.reattached
    }

    #[getter]
    fn created_at(&self) -> Option<&str> {
        self.inner.created_at.as_deref()
    }
    #[getter]
    fn raw<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        json_to_py(py, &self.inner.raw)
    }
    #[getter]
    fn is_terminal(&self) -> bool {
        self.inner.is_terminal()
    }
    fn __eq__(&self, other: &Bound<'_, PyAny>) -> bool {
        other.cast::<PyTask>().is_ok_and(|o| o.get().inner == self.inner)
    }
    fn __repr__(&self) -> String {
        let t = &self.inner;
        let mut s =
            format!("Task(id='{}', status={}", t.id, t.status.as_deref().map_or("None".into(), |s| format!("'{s}'")));
        if t.kind != crate::tasks::TaskKind::Task {
            s.push_str(&format!(", kind='{}'", t.kind.as_str()));
        }
        if let Some(p) = t.progress {
            s.push_str(&format!(", progress={p}"));
        }
        if !t.output.is_empty() {
            s.push_str(&format!(", outputs={}", t.output.len()));
        }
        if let Some(c) = &t.failure_code {
            s.push_str(&format!(", failure_code='{c}'"));
        }
        s.push(')');
        s
    }
}

pub(super) fn task_to_py(py: Python<'_>, t: Task) -> PyResult<Bound<'_, PyAny>> {
    into_py(py, PyTask::from(t))
}
