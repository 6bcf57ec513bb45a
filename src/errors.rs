//! The one error type of the core. Every failure is one of these variants; the Python bindings map
//! each variant to one exception class (see `bindings.rs`), so this file is the taxonomy.

use serde_json::Value;

use crate::tasks::Task;

/// One problem found in a request body, shaped like Runway's own `issues` entries.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Issue {
    /// Zod-style code, e.g. `invalid_enum_value`, `too_big`, `invalid_type`, `unrecognized_keys`.
    pub code: String,
    /// Path into the body, e.g. `["promptImage", 0, "position"]`.
    pub path: Vec<Value>,
    pub message: String,
}

impl Issue {
    pub fn path_string(&self) -> String {
        let mut s = String::new();
        for seg in &self.path {
            match seg {
                Value::Number(n) => s.push_str(&format!("[{n}]")),
                Value::String(k) => {
                    if !s.is_empty() {
                        s.push('.');
                    }
                    s.push_str(k);
                }
                other => s.push_str(&other.to_string()),
            }
        }
        if s.is_empty() {
            "body".into()
        } else {
            s
        }
    }
}

/// What kind of transport failure happened; decides whether a retry is safe.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransportKind {
    /// Could not connect: nothing was sent.
    Connect,
    /// No answer in time: the request may have been processed.
    Timeout,
    /// The connection broke after sending: the request may have been processed.
    Broken,
}

impl TransportKind {
    /// The name Python and notices know it by.
    pub fn name(self) -> &'static str {
        match self {
            TransportKind::Connect => "connect",
            TransportKind::Timeout => "timeout",
            TransportKind::Broken => "broken",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Raised before anything is sent: bad arguments or a body the catalogue rejects.
    #[error("{message}")]
    Validation { message: String, issues: Vec<Issue> },

    /// Runway answered with a non-success status; `body` is its JSON (or text) untouched.
    #[error("{}", api_message(*status, method, path, body, task_id.as_deref(), *may_have_created))]
    Api {
        status: u16,
        method: String,
        path: String,
        body: Value,
        task_id: Option<String>,
        /// Seconds from `Retry-After`, when Runway sent one.
        retry_after: Option<f64>,
        /// A task-creating POST got an ambiguous answer (5xx): a task may exist.
        may_have_created: bool,
    },

    /// The task ended FAILED or CANCELLED.
    #[error("{}", task_failed_message(task))]
    TaskFailed { task: Box<Task> },

    /// Waiting ran out of time; the task keeps running at Runway.
    #[error("{}", task_timeout_message(task_id, *waited_secs, task.as_deref(), last_error.as_deref()))]
    TaskTimeout { task_id: String, task: Option<Box<Task>>, waited_secs: f64, last_error: Option<String> },

    #[error("{}", transport_message(message, method, path, task_id.as_deref(), *may_have_created))]
    Transport {
        kind: TransportKind,
        message: String,
        method: String,
        path: String,
        task_id: Option<String>,
        may_have_created: bool,
    },

    /// An earlier identical request may have made a task whose id never came back (its process
    /// stopped, or Runway's answer was lost): creating again might pay twice, so nothing was sent.
    /// `force_new` (or the user's yes) creates anyway.
    #[error("{message}")]
    MayHaveCreated { message: String, claimed_ms: u64 },

    /// The task journal could not be opened, read or written (SQLite or PostgreSQL).
    #[error("{0}")]
    Journal(String),

    /// A file on this machine could not be used: an input to read, an output to write.
    #[error("{0}")]
    LocalFile(String),

    /// The client's settings: no API key, a base URL that is not http(s), a key unfit for a header.
    #[error("{0}")]
    Config(String),

    /// Runway's answer has not the shape the API describes: no task id, invalid JSON, a download
    /// cut short. A task may exist when it answered a create.
    #[error("{0}")]
    Protocol(String),

    /// An identical request's task is being created by another process, or may still be running,
    /// and this call could not join it: nothing was sent. Calling again may reattach; `force_new`
    /// pays for another task.
    #[error("{0}")]
    InFlight(String),

    /// What fits no kind above: a worker of this process gone, an internal invariant broken.
    #[error("{0}")]
    Other(String),

    /// A user callback (on_progress) failed; the bindings keep the original exception.
    #[error("callback failed: {0}")]
    Callback(String),
}

pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    pub fn validation(issues: Vec<Issue>, context: &str) -> Self {
        let details: Vec<String> = issues.iter().map(|i| format!("{}: {}", i.path_string(), i.message)).collect();
        let message =
            if context.is_empty() { details.join("; ") } else { format!("{context}: {}", details.join("; ")) };
        Error::Validation { message, issues }
    }

    /// A request refused locally for a reason that is not one field of a body (an output that does
    /// not exist, a URL that will not be fetched, an argument out of range): nothing was sent.
    pub fn refused(message: impl Into<String>) -> Self {
        Error::Validation { message: message.into(), issues: Vec::new() }
    }

    /// The task this error is about, once one exists.
    pub fn task_id(&self) -> Option<&str> {
        match self {
            Error::Api { task_id, .. } | Error::Transport { task_id, .. } => task_id.as_deref(),
            Error::TaskFailed { task } => Some(&task.id),
            Error::TaskTimeout { task_id, .. } => Some(task_id),
            _ => None,
        }
    }

    /// Attaches a task id to errors that arose while working on a known task.
    pub fn with_task_id(mut self, id: &str) -> Self {
        match &mut self {
            Error::Api { task_id, .. } | Error::Transport { task_id, .. } if task_id.is_none() => {
                *task_id = Some(id.to_string())
            }
            _ => {}
        }
        self
    }

    /// Worth polling again later (network trouble, overload) rather than giving up.
    /// A failed create that Runway may nonetheless have carried out (the task may exist).
    pub fn may_have_created(&self) -> bool {
        matches!(self, Error::Api { may_have_created: true, .. } | Error::Transport { may_have_created: true, .. })
    }

    pub fn is_transient(&self) -> bool {
        match self {
            Error::Transport { .. } => true,
            Error::Api { status, .. } => matches!(status, 408 | 429) || *status >= 500,
            _ => false,
        }
    }

    pub fn status(&self) -> Option<u16> {
        match self {
            Error::Api { status, .. } => Some(*status),
            _ => None,
        }
    }
}

/// Runway's `error` string, `issues` and `docUrl`, rendered for a person, none of it dropped.
pub fn describe_body(body: &Value) -> String {
    let Some(obj) = body.as_object() else {
        return match body {
            Value::Null => String::new(),
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
    };
    let mut out = obj.get("error").and_then(Value::as_str).unwrap_or("").to_string();
    if out.is_empty() {
        out = body.to_string();
    }
    if let Some(issues) = obj.get("issues").and_then(Value::as_array) {
        let parts: Vec<String> = issues
            .iter()
            .map(|i| {
                let path = i
                    .get("path")
                    .and_then(Value::as_array)
                    .map(|p| {
                        p.iter()
                            .map(|s| s.as_str().map(str::to_string).unwrap_or_else(|| s.to_string()))
                            .collect::<Vec<_>>()
                            .join(".")
                    })
                    .unwrap_or_default();
                let msg = i.get("message").and_then(Value::as_str).unwrap_or("");
                if path.is_empty() {
                    msg.to_string()
                } else {
                    format!("{path}: {msg}")
                }
            })
            .collect();
        if !parts.is_empty() {
            out.push_str(&format!(" [{}]", parts.join("; ")));
        }
    }
    if let Some(code) = obj.get("failureCode").and_then(Value::as_str) {
        out.push_str(&format!(" (failureCode {code})"));
    }
    if let Some(doc) = obj.get("docUrl").and_then(Value::as_str) {
        out.push_str(&format!(" (see {doc})"));
    }
    out
}

const MAY_HAVE_CREATED: &str = "Runway may have created (and will charge for) a task even though no \
task id came back. Do not resubmit blindly: Runway has no endpoint that lists tasks, so check the \
Runway dashboard, or compare usage.models.<model>.dailyGenerations from GET /v1/organization \
(Client.organization()) with its value before this call";

fn api_message(
    status: u16,
    method: &str,
    path: &str,
    body: &Value,
    task_id: Option<&str>,
    may_have_created: bool,
) -> String {
    let mut s = format!("Runway API error {status} on {method} {path}: {}", describe_body(body));
    if let Some(id) = task_id {
        s.push_str(&format!(" (task {id})"));
    }
    if may_have_created {
        s.push_str(". ");
        s.push_str(MAY_HAVE_CREATED);
    }
    s
}

fn transport_message(message: &str, method: &str, path: &str, task_id: Option<&str>, may_have_created: bool) -> String {
    let mut s = format!("{method} {path} failed: {message}");
    if let Some(id) = task_id {
        s.push_str(&format!(" (task {id})"));
    }
    if may_have_created {
        s.push_str(". ");
        s.push_str(MAY_HAVE_CREATED);
    }
    s
}

fn task_failed_message(task: &Task) -> String {
    let status = task.status.as_deref().unwrap_or("UNKNOWN");
    let mut s = format!("task {} ended {status}", task.id);
    if let Some(f) = &task.failure {
        s.push_str(&format!(": {f}"));
    }
    if let Some(c) = &task.failure_code {
        s.push_str(&format!(" (failureCode {c})"));
    }
    s
}

fn task_timeout_message(id: &str, waited: f64, task: Option<&Task>, last_error: Option<&str>) -> String {
    let mut s = format!("task {id} did not finish within {waited:.1} s");
    if let Some(t) = task {
        s.push_str(&format!("; last status {}", t.status.as_deref().unwrap_or("UNKNOWN")));
        if let Some(p) = t.progress {
            s.push_str(&format!(" at {:.0}%", p * 100.0));
        }
    }
    if let Some(e) = last_error {
        s.push_str(&format!("; last polling error: {e}"));
    }
    s.push_str(". The task keeps running at Runway: wait again or get it by id");
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn api_error_keeps_runway_body_and_task_id() {
        let e = Error::Api {
            status: 400,
            method: "POST".into(),
            path: "/v1/text_to_video".into(),
            body: json!({"error": "Invalid parameter 'promptText'",
                         "issues": [{"code": "too_big", "path": ["promptText"], "message": "too long"}],
                         "docUrl": "https://docs.dev.runwayml.com/errors"}),
            task_id: None,
            retry_after: None,
            may_have_created: false,
        };
        let m = e.to_string();
        assert!(m.contains("400"), "{m}");
        assert!(m.contains("Invalid parameter 'promptText'"), "{m}");
        assert!(m.contains("promptText: too long"), "{m}");
        assert!(m.contains("https://docs.dev.runwayml.com/errors"), "{m}");
        let e = e.with_task_id("abc");
        assert_eq!(e.task_id(), Some("abc"));
        assert!(e.to_string().contains("(task abc)"));
    }

    #[test]
    fn ambiguous_create_says_how_to_check() {
        let e = Error::Transport {
            kind: TransportKind::Timeout,
            message: "timed out".into(),
            method: "POST".into(),
            path: "/v1/text_to_video".into(),
            task_id: None,
            may_have_created: true,
        };
        let m = e.to_string();
        assert!(m.contains("may have created"), "{m}");
        assert!(m.contains("dailyGenerations"), "{m}");
        assert!(e.is_transient());
    }

    #[test]
    fn transient_classification() {
        let api = |status| Error::Api {
            status,
            method: "GET".into(),
            path: "/".into(),
            body: Value::Null,
            task_id: None,
            retry_after: None,
            may_have_created: false,
        };
        assert!(api(429).is_transient());
        assert!(api(503).is_transient());
        assert!(!api(400).is_transient());
        assert!(!api(404).is_transient());
        assert!(!Error::Other("x".into()).is_transient());
    }

    #[test]
    fn validation_message_names_each_field() {
        let e = Error::validation(
            vec![Issue {
                code: "invalid_enum_value".into(),
                path: vec![json!("ratio")],
                message: "'1:1' is not allowed; allowed: 1280:720, 720:1280".into(),
            }],
            "gen4.5 on text_to_video",
        );
        assert_eq!(e.to_string(), "gen4.5 on text_to_video: ratio: '1:1' is not allowed; allowed: 1280:720, 720:1280");
    }
}
