//! Sending to Runway: the HTTP clients, one request with the retry policy of its kind (reads are
//! repeated; a create only when it provably never left), and failures made errors that keep
//! Runway's error body.

use std::time::{Duration, SystemTime};

use reqwest::header::{HeaderMap, HeaderValue, ACCEPT, AUTHORIZATION, RETRY_AFTER};
use reqwest::Method;
use serde_json::Value;

use super::{RunwayClient, API_VERSION, VERSION};
use crate::errors::{Error, Result, TransportKind};
use crate::tasks::backoff_delay;
use crate::util::{parse_http_date, redact};

#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// GET and DELETE: safe to repeat.
    Read,
    /// A task-creating POST: repeating it may pay twice.
    Create,
}

/// Whether a download or upload may go to `url` (or be redirected there): https, or http only when
/// the API itself is reached over http (the simulator, local testing).
pub(crate) fn fetchable(url: &str, api_is_http: bool) -> bool {
    let lower = url.to_ascii_lowercase();
    lower.starts_with("https://") || (api_is_http && lower.starts_with("http://"))
}

/// A client's two HTTP clients: the API's (each request carries its own key, so clients of several
/// keys may share one, and its connection pool) and the plain one for downloads and uploads,
/// whose redirects are checked like their first URL. Idle connections go back after 30 s, at most
/// 16 kept per host: a burst leaves no sockets behind.
#[derive(Clone, Debug)]
pub struct HttpClients {
    pub api: reqwest::Client,
    pub plain: reqwest::Client,
}

impl HttpClients {
    /// `http_ok`: the API is plain http (the simulator), so downloads may be too.
    pub fn build(connect_timeout: f64, timeout: f64, http_ok: bool) -> Result<HttpClients> {
        let mut headers = HeaderMap::new();
        headers.insert("X-Runway-Version", HeaderValue::from_static(API_VERSION));
        let failed = |e: reqwest::Error| Error::Config(format!("could not build the HTTP client: {e}"));
        let api = reqwest::Client::builder()
            .user_agent(format!("runway-mcp-server/{VERSION}"))
            .default_headers(headers)
            .connect_timeout(Duration::from_secs_f64(connect_timeout))
            .timeout(Duration::from_secs_f64(timeout))
            .pool_idle_timeout(POOL_IDLE)
            .pool_max_idle_per_host(POOL_MAX_IDLE)
            .build()
            .map_err(failed)?;
        // A redirect is checked like the first URL (https, or http only against an http API): a
        // link may not bounce a download to a plain-http or internal address.
        let redirects = reqwest::redirect::Policy::custom(move |attempt| {
            if attempt.previous().len() >= 10 {
                attempt.error("too many redirects")
            } else if fetchable(attempt.url().as_str(), http_ok) {
                attempt.follow()
            } else {
                attempt.error("refusing a redirect to a URL that is not https")
            }
        });
        let plain = reqwest::Client::builder()
            .user_agent(format!("runway-mcp-server/{VERSION}"))
            .redirect(redirects)
            .connect_timeout(Duration::from_secs_f64(connect_timeout))
            .read_timeout(Duration::from_secs_f64(timeout))
            .pool_idle_timeout(POOL_IDLE)
            .pool_max_idle_per_host(POOL_MAX_IDLE)
            .build()
            .map_err(failed)?;
        Ok(HttpClients { api, plain })
    }
}

const POOL_IDLE: Duration = Duration::from_secs(30);
/// Idle connections kept per host: at least as many as requests a busy process has in flight at
/// once (50 scripts' reads, a batch's waits, a team's callers). With fewer, every answer beyond the
/// cap closes its connection and a later request opens a new one: at 16, a third of the requests
/// at 50 in flight reconnected and a read cost 2-3 times its CPU (benches/README.md). Idle ones
/// close after POOL_IDLE.
const POOL_MAX_IDLE: usize = 256;

impl RunwayClient {
    /// Output and upload URLs must be https, unless the API itself is reached over http (the
    /// simulator, local testing).
    pub(crate) fn check_fetch_url(&self, url: &str, what: &str) -> Result<()> {
        if fetchable(url, self.base_url.starts_with("http://")) {
            Ok(())
        } else {
            Err(Error::refused(format!(
                "refusing to fetch {what} '{}': only https URLs are fetched",
                url.chars().take(100).collect::<String>()
            )))
        }
    }

    /// Sends one API request with the retry policy for its kind, returning the JSON body.
    pub(crate) async fn send(&self, method: Method, path: &str, body: Option<&Value>, kind: Kind) -> Result<Value> {
        let url = format!("{}{}", self.base_url, path);
        let mut attempt = 0u32;
        loop {
            let mut req = self.http.request(method.clone(), &url).header(AUTHORIZATION, self.auth.clone());
            req = match body {
                Some(b) => req.json(b),
                None => req,
            };
            if method == Method::DELETE {
                req = req.header(ACCEPT, "*/*");
            } else {
                req = req.header(ACCEPT, "application/json");
            }
            let retries_left = attempt < self.opts.max_retries;
            match req.send().await {
                Ok(resp) => {
                    let status = resp.status().as_u16();
                    let retry_after = retry_after_secs(resp.headers());
                    // Bytes, not text(): Runway answers JSON, which is UTF-8; serde_json checks it.
                    let text = match resp.bytes().await {
                        Ok(t) => t,
                        Err(e) => {
                            // Headers came, the body broke. For a create the task may exist.
                            let err = self.transport_error(&e, &method, path, kind);
                            if kind == Kind::Read && retries_left {
                                attempt += 1;
                                self.retry_after(&method, path, Err(TransportKind::Broken), attempt, None).await;
                                continue;
                            }
                            return Err(err);
                        }
                    };
                    if (200..300).contains(&status) {
                        if text.trim_ascii().is_empty() {
                            return Ok(Value::Null);
                        }
                        return serde_json::from_slice(&text).map_err(|e| {
                            Error::Protocol(format!(
                                "Runway answered {method} {path} with invalid JSON ({e}): {}",
                                redact(&snippet(&String::from_utf8_lossy(&text)), &self.key)
                            ))
                        });
                    }
                    let body_json = parse_error_body(&String::from_utf8_lossy(&text), &self.key);
                    let retryable = match kind {
                        Kind::Read => matches!(status, 408 | 429) || status >= 500,
                        Kind::Create => status == 429,
                    };
                    if retryable && retries_left {
                        let wait = match retry_after {
                            Some(s) if s > self.opts.max_retry_after => None,
                            Some(s) => Some(Duration::from_secs_f64(s)),
                            None => Some(self.backoff_duration(attempt)),
                        };
                        if let Some(w) = wait {
                            attempt += 1;
                            self.retry_after(&method, path, Ok(status), attempt, Some(w)).await;
                            continue;
                        }
                    }
                    return Err(Error::Api {
                        status,
                        method: method.to_string(),
                        path: path.to_string(),
                        body: body_json,
                        task_id: None,
                        retry_after,
                        may_have_created: kind == Kind::Create && status >= 500,
                    });
                }
                Err(e) => {
                    let err = self.transport_error(&e, &method, path, kind);
                    let safe = match kind {
                        Kind::Read => true,
                        Kind::Create => matches!(err, Error::Transport { kind: TransportKind::Connect, .. }),
                    };
                    if safe && retries_left {
                        let failed = match &err {
                            Error::Transport { kind, .. } => *kind,
                            _ => TransportKind::Broken,
                        };
                        attempt += 1;
                        self.retry_after(&method, path, Err(failed), attempt, None).await;
                        continue;
                    }
                    return Err(err);
                }
            }
        }
    }

    fn backoff_duration(&self, attempt: u32) -> Duration {
        backoff_delay(attempt, self.opts.retry_base, self.opts.retry_cap, fastrand::f64())
    }

    /// Waits before retry number `retry` (from 1): `delay`, else the backoff; the call's observer
    /// hears of it first.
    async fn retry_after(
        &self,
        method: &Method,
        path: &str,
        failure: std::result::Result<u16, TransportKind>,
        retry: u32,
        delay: Option<Duration>,
    ) {
        let delay = delay.unwrap_or_else(|| self.backoff_duration(retry - 1));
        super::retries::report(method.as_str(), path, failure, retry, delay);
        tokio::time::sleep(delay).await;
    }

    pub(crate) fn transport_error(&self, e: &reqwest::Error, method: &Method, path: &str, kind: Kind) -> Error {
        let tk = if e.is_connect() {
            TransportKind::Connect
        } else if e.is_timeout() {
            TransportKind::Timeout
        } else {
            TransportKind::Broken
        };
        // reqwest's message names the URL; its sources say what actually went wrong.
        let mut msg = e.to_string();
        let mut src = std::error::Error::source(e);
        while let Some(s) = src {
            msg.push_str(": ");
            msg.push_str(&s.to_string());
            src = s.source();
        }
        Error::Transport {
            kind: tk,
            message: redact(&msg, &self.key),
            method: method.to_string(),
            path: path.to_string(),
            task_id: None,
            may_have_created: kind == Kind::Create && tk != TransportKind::Connect,
        }
    }
}

/// `Retry-After` (seconds or HTTP date) or `retry-after-ms`, in seconds.
pub fn retry_after_secs(headers: &HeaderMap) -> Option<f64> {
    if let Some(ms) =
        headers.get("retry-after-ms").and_then(|v| v.to_str().ok()).and_then(|s| s.trim().parse::<f64>().ok())
    {
        if ms.is_finite() && ms >= 0.0 {
            return Some(ms / 1000.0);
        }
    }
    let v = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(secs) = v.parse::<f64>() {
        return (secs.is_finite() && secs >= 0.0).then_some(secs);
    }
    let when = parse_http_date(v)?;
    Some(when.duration_since(SystemTime::now()).map(|d| d.as_secs_f64()).unwrap_or(0.0))
}

fn parse_error_body(text: &str, key: &str) -> Value {
    let text = redact(text, key);
    if text.trim().is_empty() {
        return Value::Null;
    }
    serde_json::from_str(&text).unwrap_or(Value::String(snippet(&text)))
}

fn snippet(text: &str) -> String {
    let cut: String = text.chars().take(2000).collect();
    if cut.len() < text.len() {
        format!("{cut}…")
    } else {
        cut
    }
}

/// A failed answer from an upload target or output host (not Runway's API: S3 or a CDN), as an
/// `Error::Api` keeping its body.
pub(super) async fn status_error(resp: reqwest::Response, method: &str, path: &str) -> Error {
    let status = resp.status().as_u16();
    let body = resp.text().await.unwrap_or_default();
    Error::Api {
        status,
        method: method.into(),
        path: path.into(),
        body: serde_json::from_str(&body).unwrap_or(Value::String(body.chars().take(500).collect())),
        task_id: None,
        retry_after: None,
        may_have_created: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::ClientOptions;

    #[test]
    fn fetches_https_and_http_only_beside_an_http_api() {
        assert!(fetchable("https://cdn.example/a.mp4", false) && fetchable("HTTPS://cdn.example/a", false));
        assert!(!fetchable("http://169.254.169.254/latest", false));
        assert!(fetchable("http://127.0.0.1:9/a.png", true));
        for url in ["file:///etc/passwd", "ftp://x/y", "gopher://x", "/etc/passwd"] {
            assert!(!fetchable(url, true) && !fetchable(url, false), "{url}");
        }
    }

    /// A download's redirects are checked like its first URL: one to another scheme is refused.
    #[tokio::test]
    async fn a_download_is_not_redirected_off_the_allowed_schemes() {
        use std::io::{Read, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        std::thread::spawn(move || {
            if let Ok((mut s, _)) = listener.accept() {
                let _ = s.read(&mut [0u8; 4096]);
                let _ =
                    s.write_all(b"HTTP/1.1 302 Found\r\nLocation: ftp://127.0.0.1/secret\r\nContent-Length: 0\r\n\r\n");
            }
        });
        let base = format!("http://127.0.0.1:{port}");
        let c = RunwayClient::new(ClientOptions {
            api_key: Some("key_test".into()),
            base_url: Some(base.clone()),
            ..ClientOptions::default()
        })
        .unwrap();
        let dest = std::env::temp_dir().join(format!("rmcp-redirect-{}", crate::util::uuid_v4()));
        let e = c.download(&format!("{base}/out.mp4"), &dest, |_, _| {}).await.unwrap_err().to_string();
        assert!(e.contains("not https"), "{e}");
        assert!(!dest.exists());
    }

    #[test]
    fn retry_after_forms() {
        let mut h = HeaderMap::new();
        assert_eq!(retry_after_secs(&h), None);
        h.insert(RETRY_AFTER, HeaderValue::from_static("2"));
        assert_eq!(retry_after_secs(&h), Some(2.0));
        h.insert(RETRY_AFTER, HeaderValue::from_static("Wed, 21 Oct 2015 07:28:00 GMT"));
        assert_eq!(retry_after_secs(&h), Some(0.0)); // in the past
        h.insert("retry-after-ms", HeaderValue::from_static("250"));
        assert_eq!(retry_after_secs(&h), Some(0.25));
    }
}
