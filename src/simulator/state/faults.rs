//! Faults queued for the next matching requests: an error status, a dropped connection, a lost
//! response or a slow answer.

use serde_json::Value;

use super::SimState;

#[derive(Debug, Clone, PartialEq)]
pub enum FaultKind {
    /// Answer with this status (and optional Retry-After and body) instead of handling the request.
    Status { status: u16, retry_after: Option<String>, body: Option<Value> },
    /// Close the connection without answering, before handling the request.
    Reset,
    /// Handle the request (a create makes its task), then close without answering.
    LostResponse,
    /// Wait this long, then handle the request normally.
    Slow { seconds: f64 },
}

#[derive(Debug, Clone)]
pub struct Fault {
    pub kind: FaultKind,
    pub method: Option<String>,
    /// Applies to paths starting with this (e.g. `/v1/tasks/`); all API paths when None.
    pub path_prefix: Option<String>,
    pub remaining: u32,
}

impl SimState {
    pub fn add_fault(&self, fault: Fault) {
        self.faults.lock().unwrap().push_back(fault);
    }

    pub fn clear_faults(&self) {
        self.faults.lock().unwrap().clear();
    }

    /// The first queued fault matching this request, used up by one.
    pub fn take_fault(&self, method: &str, path: &str) -> Option<FaultKind> {
        let mut faults = self.faults.lock().unwrap();
        let idx = faults.iter().position(|f| {
            f.remaining > 0
                && f.method.as_deref().is_none_or(|m| m.eq_ignore_ascii_case(method))
                && f.path_prefix.as_deref().is_none_or(|p| path.starts_with(p))
        })?;
        let f = &mut faults[idx];
        f.remaining -= 1;
        let kind = f.kind.clone();
        if f.remaining == 0 {
            faults.remove(idx);
        }
        Some(kind)
    }
}

#[cfg(test)]
mod tests {
    use super::super::SimConfig;
    use super::*;

    #[test]
    fn faults_are_consumed_in_order_and_matched() {
        let s = SimState::new(SimConfig::default());
        s.add_fault(Fault { kind: FaultKind::Reset, method: Some("POST".into()), path_prefix: None, remaining: 1 });
        s.add_fault(Fault {
            kind: FaultKind::Status { status: 503, retry_after: None, body: None },
            method: None,
            path_prefix: Some("/v1/tasks/".into()),
            remaining: 2,
        });
        assert_eq!(s.take_fault("GET", "/v1/organization"), None);
        assert!(matches!(s.take_fault("GET", "/v1/tasks/x"), Some(FaultKind::Status { status: 503, .. })));
        assert_eq!(s.take_fault("POST", "/v1/text_to_video"), Some(FaultKind::Reset));
        assert!(s.take_fault("GET", "/v1/tasks/x").is_some());
        assert_eq!(s.take_fault("GET", "/v1/tasks/x"), None);
    }
}
