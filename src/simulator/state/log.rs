//! The request log: what the simulator received, for tests to read back.

use serde_json::Value;

use super::SimState;

#[derive(Debug, Clone, serde::Serialize)]
pub struct RequestRecord {
    pub method: String,
    pub path: String,
    /// The query string, without `?` (lists: limit, cursor, filters).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub query: Option<String>,
    pub authorized: bool,
    pub version: Option<String>,
    /// Milliseconds since the simulator started.
    pub at_ms: u64,
    /// Numbers the requests, so a handler can attach what it read to its own record.
    pub seq: u64,
    /// The Host header: clients given differently spelled base URLs (127.0.0.1, localhost) can be
    /// told apart in the log (benchmarks of several replicas).
    pub host: Option<String>,
    /// The JSON body of a task-creating POST, as received.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body: Option<Value>,
}

impl SimState {
    /// Logs a request; returns its sequence number.
    pub fn record(
        &self,
        method: &str,
        path: &str,
        query: Option<&str>,
        authorized: bool,
        version: Option<String>,
        host: Option<String>,
    ) -> u64 {
        let mut log = self.log.lock().unwrap();
        if log.len() >= 200_000 {
            log.drain(..100_000);
        }
        let seq = log.last().map_or(0, |r| r.seq + 1);
        log.push(RequestRecord {
            method: method.into(),
            path: path.into(),
            query: query.map(str::to_string),
            authorized,
            version,
            at_ms: (self.now() * 1000.0) as u64,
            seq,
            host,
            body: None,
        });
        seq
    }

    /// Attaches a parsed request body to the request's log record.
    pub fn record_body(&self, seq: u64, body: &Value) {
        let mut log = self.log.lock().unwrap();
        if let Some(r) = log.iter_mut().rev().find(|r| r.seq == seq) {
            r.body = Some(body.clone());
        }
    }

    pub fn requests(&self) -> Vec<RequestRecord> {
        self.log.lock().unwrap().clone()
    }

    pub fn clear_requests(&self) {
        self.log.lock().unwrap().clear();
    }
}
