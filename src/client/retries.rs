//! Seeing retries: `send` repeats reads (and a create that provably never left) on its own, which
//! a person waiting on a poll would otherwise never learn of. Whoever runs a call inside
//! `observe_retries` is told of each retry of that call, and of no other's.
//!
//! A task-local, not a field of the client: one client serves many calls at once, and a retry is
//! about the call in progress.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use crate::errors::TransportKind;

/// One retry about to happen: which request failed, how, and when it is tried again.
#[derive(Debug, Clone, PartialEq)]
pub struct Retry {
    pub method: String,
    /// The API path without its query string (never a URL, never a key).
    pub path: String,
    /// Runway's HTTP status, when it answered.
    pub status: Option<u16>,
    /// The transport failure, when it did not answer: "connect", "timeout" or "broken".
    pub error: Option<&'static str>,
    /// Which retry this is, from 1.
    pub attempt: u32,
    /// Seconds until the request is sent again (Retry-After when Runway set one, else backoff).
    pub delay_secs: f64,
}

pub type RetryObserver = Arc<dyn Fn(&Retry) + Send + Sync>;

tokio::task_local! {
    static OBSERVER: RetryObserver;
}

/// Runs `fut`, telling `observer` of each retry its requests make.
pub async fn observe_retries<F: Future>(observer: RetryObserver, fut: F) -> F::Output {
    OBSERVER.scope(observer, fut).await
}

/// Tells the call's observer, if it has one, of a retry (`retry` from 1) after `delay`.
pub(crate) fn report(method: &str, path: &str, failure: Result<u16, TransportKind>, retry: u32, delay: Duration) {
    let _ = OBSERVER.try_with(|observer| {
        let (status, error) = match failure {
            Ok(s) => (Some(s), None),
            Err(k) => (None, Some(k.name())),
        };
        observer(&Retry {
            method: method.to_string(),
            path: path.split('?').next().unwrap_or_default().to_string(),
            status,
            error,
            attempt: retry,
            delay_secs: delay.as_secs_f64(),
        });
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    #[tokio::test]
    async fn only_the_observed_call_hears_of_its_retries() {
        let seen: Arc<Mutex<Vec<Retry>>> = Arc::default();
        let sink = seen.clone();
        let observer: RetryObserver = Arc::new(move |r: &Retry| sink.lock().unwrap().push(r.clone()));
        report("GET", "/v1/tasks/a", Ok(502), 1, Duration::from_millis(5)); // nobody listening
        observe_retries(observer, async {
            report("GET", "/v1/tasks/b?x=1", Ok(429), 1, Duration::from_secs(2));
            report("DELETE", "/v1/tasks/b", Err(TransportKind::Connect), 2, Duration::ZERO);
        })
        .await;
        let seen = seen.lock().unwrap();
        assert_eq!(seen.len(), 2, "{seen:?}");
        assert_eq!((seen[0].path.as_str(), seen[0].status, seen[0].delay_secs), ("/v1/tasks/b", Some(429), 2.0));
        assert_eq!((seen[1].method.as_str(), seen[1].error, seen[1].attempt), ("DELETE", Some("connect"), 2));
    }
}
