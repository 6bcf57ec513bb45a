//! The Runway HTTP client: configuration, auth headers, one pooled connection pool per client,
//! retries that never resubmit a task blindly, and the wait loop driven by `tasks::PollSchedule`.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use reqwest::header::{HeaderMap, HeaderValue, ACCEPT, AUTHORIZATION, RETRY_AFTER};
use reqwest::Method;
use serde_json::Value;

use crate::catalogue::{catalogue, normalize_endpoint};
use crate::errors::{Error, Issue, Result, TransportKind};
use crate::tasks::{backoff_delay, PollConfig, PollSchedule, Task};
use crate::util::{parse_http_date, redact};

pub const DEFAULT_BASE_URL: &str = "https://api.dev.runwayml.com";
pub const API_VERSION: &str = "2024-11-06";
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
/// Environment variables for the key, in the order they are read.
pub const KEY_ENV_VARS: [&str; 3] = ["RUNWAYML_API_SECRET", "RUNWAY_API_KEY", "runway_api_key"];

#[derive(Debug, Clone)]
pub struct ClientOptions {
    pub api_key: Option<String>,
    pub base_url: Option<String>,
    /// Whole-request timeout, seconds.
    pub timeout: f64,
    pub connect_timeout: f64,
    /// Retries after the first attempt (reads always; creates only when provably not sent).
    pub max_retries: u32,
    pub retry_base: f64,
    pub retry_cap: f64,
    /// A `Retry-After` longer than this is not waited out: the error is returned instead.
    pub max_retry_after: f64,
    pub poll: PollConfig,
    /// Which local files media inputs may read.
    pub input_policy: crate::media::InputPolicy,
    /// HTTP clients to share with other clients (built with these timeouts and this base URL's
    /// scheme, see `HttpClients::build`); None: this client's own.
    pub http: Option<HttpClients>,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            api_key: None,
            base_url: None,
            timeout: 60.0,
            connect_timeout: 5.0,
            max_retries: 3,
            retry_base: 0.5,
            retry_cap: 8.0,
            max_retry_after: 60.0,
            poll: PollConfig::default(),
            input_policy: Default::default(),
            http: None,
        }
    }
}

/// The key: the argument, else the first non-empty variable of `KEY_ENV_VARS`.
pub fn resolve_api_key(arg: Option<&str>, env: impl Fn(&str) -> Option<String>) -> Option<String> {
    let clean = |s: String| {
        let t = s.trim().to_string();
        (!t.is_empty()).then_some(t)
    };
    arg.map(str::to_string).and_then(clean).or_else(|| KEY_ENV_VARS.iter().find_map(|k| env(k).and_then(clean)))
}

/// The base URL: the argument, else `RUNWAYML_BASE_URL`, else Runway's production API.
pub fn resolve_base_url(arg: Option<&str>, env: impl Fn(&str) -> Option<String>) -> String {
    let raw = arg
        .map(str::to_string)
        .filter(|s| !s.trim().is_empty())
        .or_else(|| env("RUNWAYML_BASE_URL").filter(|s| !s.trim().is_empty()))
        .unwrap_or_else(|| DEFAULT_BASE_URL.to_string());
    raw.trim().trim_end_matches('/').to_string()
}

/// Ephemeral uploads still valid: (path, size, mtime) -> (runway:// URI, when uploaded).
pub(crate) type UploadCache = HashMap<(std::path::PathBuf, u64, u128), (String, Instant)>;

/// What a DELETE did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CancelOutcome {
    /// 204: a running task was cancelled, or a finished one deleted with its outputs.
    Done,
    /// 404: already cancelled or deleted (or never existed) — nothing left to do.
    AlreadyGone,
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// GET and DELETE: safe to repeat.
    Read,
    /// A task-creating POST: repeating it may pay twice.
    Create,
}

type Gates = Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>;

/// Held while one request fingerprint is being checked and created; forgotten when nobody waits.
struct CreateGate<'a> {
    gates: &'a Gates,
    key: String,
    guard: Option<tokio::sync::OwnedMutexGuard<()>>,
}

impl<'a> CreateGate<'a> {
    async fn enter(gates: &'a Gates, key: &str) -> CreateGate<'a> {
        let lock = gates.lock().unwrap().entry(key.to_string()).or_default().clone();
        CreateGate { gates, key: key.to_string(), guard: Some(lock.lock_owned().await) }
    }
}

impl Drop for CreateGate<'_> {
    fn drop(&mut self) {
        self.guard.take();
        let mut gates = self.gates.lock().unwrap();
        if gates.get(&self.key).is_some_and(|g| Arc::strong_count(g) == 1) {
            gates.remove(&self.key);
        }
    }
}

/// Whether a download or upload may go to `url` (or be redirected there): https, or http only when
/// the API itself is reached over http (the simulator, local testing).
pub(crate) fn fetchable(url: &str, api_is_http: bool) -> bool {
    let lower = url.to_ascii_lowercase();
    lower.starts_with("https://") || (api_is_http && lower.starts_with("http://"))
}

pub struct RunwayClient {
    http: reqwest::Client,
    /// For upload targets and output URLs: no Runway headers, so the key never leaves for them.
    pub(crate) plain: reqwest::Client,
    base_url: String,
    pub(crate) key: String,
    auth: HeaderValue,
    opts: ClientOptions,
    pub(crate) uploads: Mutex<UploadCache>,
    /// Monotonic creation times of tasks this client created, to time their first poll.
    created: Mutex<HashMap<String, f64>>,
    epoch: Instant,
    journal: Option<crate::journaled::Attached>,
    /// One create at a time per request fingerprint, so that identical calls made at once in this
    /// process reattach to one task instead of racing past the journal check.
    creating: Gates,
}

impl std::fmt::Debug for RunwayClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the key.
        f.debug_struct("RunwayClient").field("base_url", &self.base_url).finish_non_exhaustive()
    }
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
const POOL_MAX_IDLE: usize = 16;

impl RunwayClient {
    /// Builds a client from options, filling gaps from the process environment.
    pub fn new(opts: ClientOptions) -> Result<Self> {
        let env = |k: &str| std::env::var(k).ok();
        let key = resolve_api_key(opts.api_key.as_deref(), env).ok_or_else(|| {
            Error::Config(format!("no Runway API key: pass api_key= or set one of {}", KEY_ENV_VARS.join(", ")))
        })?;
        let base_url = resolve_base_url(opts.base_url.as_deref(), env);
        if !(base_url.starts_with("https://") || base_url.starts_with("http://")) {
            return Err(Error::Config(format!("base URL must start with https:// or http://, got '{base_url}'")));
        }
        let mut auth = HeaderValue::from_str(&format!("Bearer {key}"))
            .map_err(|_| Error::Config("the API key contains characters not allowed in a header".into()))?;
        auth.set_sensitive(true);
        let HttpClients { api: http, plain } = match &opts.http {
            Some(shared) => shared.clone(),
            None => HttpClients::build(opts.connect_timeout, opts.timeout, base_url.starts_with("http://"))?,
        };
        Ok(RunwayClient {
            http,
            plain,
            uploads: Mutex::new(HashMap::new()),
            base_url,
            key,
            auth,
            opts,
            created: Mutex::new(HashMap::new()),
            epoch: Instant::now(),
            journal: None,
            creating: Mutex::new(HashMap::new()),
        })
    }

    /// Files this client's tasks in `journal`, under a salted fingerprint of its key.
    pub fn attach_journal(&mut self, journal: std::sync::Arc<dyn crate::journal::Journal>) {
        let key_fp = crate::journal::key_fingerprint(journal.salt(), &self.key);
        self.journal = Some(crate::journaled::Attached::new(journal, key_fp));
    }

    pub fn journal(&self) -> Option<&crate::journaled::Attached> {
        self.journal.as_ref()
    }

    pub fn base_url(&self) -> &str {
        &self.base_url
    }

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

    pub fn options(&self) -> &ClientOptions {
        &self.opts
    }

    fn now(&self) -> f64 {
        self.epoch.elapsed().as_secs_f64()
    }

    /// Validates (unless told not to) and submits a task. Never retried once Runway may have
    /// received it; see `send`.
    pub async fn create_task(&self, endpoint: &str, body: Value, validate: bool) -> Result<Task> {
        self.create_task_with(endpoint, body, validate, &crate::journaled::CreateMeta::default()).await
    }

    /// `create_task`, journaled under `meta.tool`. With a journal, an identical request whose task
    /// is still queued or running returns that task (`reattached`) unless `meta.force_new`.
    pub async fn create_task_with(
        &self,
        endpoint: &str,
        body: Value,
        validate: bool,
        meta: &crate::journaled::CreateMeta,
    ) -> Result<Task> {
        let ep = normalize_endpoint(endpoint);
        if ep.is_empty() || !ep.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '/') {
            return Err(Error::validation(
                vec![Issue {
                    code: "custom".into(),
                    path: vec!["endpoint".into()],
                    message: format!("'{endpoint}' is not an endpoint name"),
                }],
                "",
            ));
        }
        let mut body = body;
        if validate {
            // Local files and earlier tasks' outputs become URIs Runway can take, then the
            // final body is checked once more.
            if let Some(model) = body.get("model").and_then(Value::as_str).and_then(|m| catalogue().model(ep, m)) {
                // The whole body first, with stand-ins for local files and task outputs: a bad
                // field is refused before any file is read, uploaded or fetched.
                catalogue().validate(ep, &crate::media::with_placeholders(&model.fields, &body)?)?;
            }
        } else if !body.is_object() {
            return Err(Error::validation(
                vec![Issue {
                    code: "invalid_type".into(),
                    path: vec![],
                    message: "the body must be a JSON object".into(),
                }],
                "",
            ));
        }
        // The request as the user gave it (local paths, task ids): what the journal keeps and
        // what an identical request is recognised by.
        let original = body.clone();
        let request_fp = self.request_fp(ep, &original).await?;
        let _gate = match &request_fp {
            Some(fp) => Some(CreateGate::enter(&self.creating, fp).await),
            None => None,
        };
        let mut claim = match self.admit(ep, &original, &request_fp, meta).await? {
            crate::journaled::Admit::Reattach(task) => return Ok(task),
            crate::journaled::Admit::Create(claim) => claim,
        };
        if meta.reattach_only {
            self.journal_no_task(claim).await;
            return Err(Error::refused(
                "not sent, nothing spent: no identical request's task is still running to reattach to (it may have \
                 finished a moment ago); call again to make a new task",
            ));
        }
        if validate {
            match self.resolve_body(ep, body).await {
                Ok(b) => body = b,
                Err(e) => {
                    self.journal_no_task(claim).await;
                    return Err(e);
                }
            }
        }
        let path = format!("/v1/{ep}");
        if let Some(c) = claim.as_mut() {
            c.mark_sent();
        }
        let json = match self.send(Method::POST, &path, Some(&body), Kind::Create).await {
            Ok(j) => j,
            Err(e) => {
                if e.may_have_created() {
                    self.journal_ambiguous(ep, &original, request_fp, meta, &e, claim).await;
                } else {
                    self.journal_no_task(claim).await;
                }
                return Err(e);
            }
        };
        let Some(task) = Task::from_json(json.clone()) else {
            let e = Error::Protocol(format!(
                "Runway accepted POST {path} but the answer has no task id: {json}. A task may exist; check the Runway dashboard before resubmitting"
            ));
            self.journal_ambiguous(ep, &original, request_fp, meta, &e, claim).await;
            return Err(e);
        };
        self.journal_created(ep, &original, request_fp, meta, &task, claim).await;
        let now = self.now();
        let mut created = self.created.lock().unwrap();
        if created.len() > 10_000 {
            // Only the first poll's timing depends on this; old entries are worthless.
            created.retain(|_, t| now - *t < 3600.0);
        }
        created.insert(task.id.clone(), now);
        Ok(task)
    }

    /// Local files and earlier tasks' outputs made URIs Runway can take, then the final body checked.
    async fn resolve_body(&self, ep: &str, mut body: Value) -> Result<Value> {
        if let Some(model) = body.get("model").and_then(Value::as_str).and_then(|m| catalogue().model(ep, m)) {
            body = self.resolve_media(&model.fields, body).await?;
        }
        catalogue().validate(ep, &body)?;
        Ok(body)
    }

    pub async fn get_task(&self, id: &str) -> Result<Task> {
        check_task_id(id)?;
        let json = self
            .send(Method::GET, &format!("/v1/tasks/{id}"), None, Kind::Read)
            .await
            .map_err(|e| e.with_task_id(id))?;
        let task =
            Task::from_json(json).ok_or_else(|| Error::Protocol(format!("Runway's answer for task {id} has no id")))?;
        self.journal_seen(&task).await;
        Ok(task)
    }

    pub async fn cancel_task(&self, id: &str) -> Result<CancelOutcome> {
        check_task_id(id)?;
        match self.send(Method::DELETE, &format!("/v1/tasks/{id}"), None, Kind::Read).await {
            Ok(_) => Ok(CancelOutcome::Done),
            Err(Error::Api { status: 404, .. }) => Ok(CancelOutcome::AlreadyGone),
            Err(e) => Err(e.with_task_id(id)),
        }
    }

    pub async fn organization(&self) -> Result<Value> {
        self.send(Method::GET, "/v1/organization", None, Kind::Read).await
    }

    /// The account's custom voices (GET /v1/voices, every page), newest first as Runway lists them.
    pub async fn list_voices(&self) -> Result<Vec<Value>> {
        let mut out = Vec::new();
        let mut cursor: Option<String> = None;
        // Bounded: 50 pages of 100 is far beyond any account's voices.
        for _ in 0..50 {
            let path = match &cursor {
                Some(c) => format!("/v1/voices?limit=100&cursor={}", crate::util::query_escape(c)),
                None => "/v1/voices?limit=100".to_string(),
            };
            let page = self.send(Method::GET, &path, None, Kind::Read).await?;
            out.extend(page.get("data").and_then(Value::as_array).cloned().unwrap_or_default());
            cursor = page.get("nextCursor").and_then(Value::as_str).filter(|c| !c.is_empty()).map(str::to_string);
            if cursor.is_none() {
                break;
            }
        }
        Ok(out)
    }

    /// Polls until the task finishes, `timeout` passes, or an error that waiting cannot fix.
    /// `on_progress` sees each snapshot that differs from the previous one.
    pub async fn wait_for_task<F, Fut>(&self, id: &str, timeout: Option<Duration>, mut on_progress: F) -> Result<Task>
    where
        F: FnMut(Task) -> Fut,
        Fut: Future<Output = Result<()>>,
    {
        check_task_id(id)?;
        let start = self.now();
        let deadline = timeout.map(|t| start + t.as_secs_f64());
        let created = self.created.lock().unwrap().get(id).copied();
        let mut sched = PollSchedule::new(self.opts.poll.clone(), created);
        let mut last: Option<Task> = None;
        let mut last_err: Option<String>;
        loop {
            let now = self.now();
            let mut delay = sched.next_delay(now);
            if let Some(d) = deadline {
                delay = delay.min((d - now).max(0.0));
            }
            if delay > 0.0 {
                tokio::time::sleep(Duration::from_secs_f64(delay)).await;
            }
            // A poll may not overrun the deadline by more than a little, however slow Runway is.
            let poll = self.get_task(id);
            let result = match deadline {
                Some(d) => {
                    let budget = (d - self.now()).max(0.0) + 2.0;
                    tokio::time::timeout(Duration::from_secs_f64(budget), poll).await.ok()
                }
                None => Some(poll.await),
            };
            match result {
                Some(Ok(task)) => {
                    sched.observe(self.now(), &task);
                    let changed = last.as_ref().is_none_or(|l| {
                        l.status != task.status || l.progress != task.progress || l.output != task.output
                    });
                    if changed {
                        on_progress(task.clone()).await?;
                    }
                    if task.succeeded() {
                        return Ok(task);
                    }
                    if task.is_terminal() {
                        return Err(Error::TaskFailed { task: Box::new(task) });
                    }
                    last = Some(task);
                    last_err = None;
                }
                Some(Err(e)) if e.is_transient() => {
                    sched.observe_error();
                    last_err = Some(e.to_string());
                }
                Some(Err(e)) => return Err(e.with_task_id(id)),
                None => last_err = Some("a status request did not answer before the deadline".into()),
            }
            if let Some(d) = deadline {
                if self.now() >= d {
                    return Err(Error::TaskTimeout {
                        task_id: id.to_string(),
                        task: last.map(Box::new),
                        waited_secs: self.now() - start,
                        last_error: last_err,
                    });
                }
            }
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
                    let text = match resp.text().await {
                        Ok(t) => t,
                        Err(e) => {
                            // Headers came, the body broke. For a create the task may exist.
                            let err = self.transport_error(&e, &method, path, kind);
                            if kind == Kind::Read && retries_left {
                                self.backoff(attempt).await;
                                attempt += 1;
                                continue;
                            }
                            return Err(err);
                        }
                    };
                    if (200..300).contains(&status) {
                        if text.trim().is_empty() {
                            return Ok(Value::Null);
                        }
                        return serde_json::from_str(&text).map_err(|e| {
                            Error::Protocol(format!(
                                "Runway answered {method} {path} with invalid JSON ({e}): {}",
                                redact(&snippet(&text), &self.key)
                            ))
                        });
                    }
                    let body_json = parse_error_body(&text, &self.key);
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
                            tokio::time::sleep(w).await;
                            attempt += 1;
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
                        self.backoff(attempt).await;
                        attempt += 1;
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

    async fn backoff(&self, attempt: u32) {
        tokio::time::sleep(self.backoff_duration(attempt)).await;
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

/// Task ids are UUIDs; checking the shape also keeps anything else out of the URL path.
pub fn check_task_id(id: &str) -> Result<()> {
    let b = id.as_bytes();
    let ok = b.len() == 36
        && b.iter().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => *c == b'-',
            _ => c.is_ascii_hexdigit(),
        });
    if ok {
        Ok(())
    } else {
        Err(Error::validation(
            vec![Issue {
                code: "invalid_string".into(),
                path: vec!["task_id".into()],
                message: format!(
                    "'{}' is not a Runway task id (a UUID such as 17f20503-6c24-4c16-946b-35dbbce2af2f)",
                    id.chars().take(80).collect::<String>()
                ),
            }],
            "",
        ))
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

#[cfg(test)]
mod tests {
    use super::*;

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
    fn key_resolution_order() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| pairs.iter().find(|(n, _)| *n == k).map(|(_, v)| v.to_string())
        };
        assert_eq!(resolve_api_key(Some("arg"), env(&[("RUNWAYML_API_SECRET", "a")])).as_deref(), Some("arg"));
        assert_eq!(
            resolve_api_key(None, env(&[("RUNWAY_API_KEY", "b"), ("RUNWAYML_API_SECRET", "a")])).as_deref(),
            Some("a")
        );
        assert_eq!(
            resolve_api_key(None, env(&[("RUNWAY_API_KEY", "b"), ("runway_api_key", "c")])).as_deref(),
            Some("b")
        );
        assert_eq!(resolve_api_key(None, env(&[("runway_api_key", "c")])).as_deref(), Some("c"));
        assert_eq!(resolve_api_key(Some("  "), env(&[("RUNWAYML_API_SECRET", "")])), None);
    }

    #[test]
    fn base_url_resolution() {
        let none = |_: &str| None;
        assert_eq!(resolve_base_url(None, none), DEFAULT_BASE_URL);
        assert_eq!(resolve_base_url(Some("http://127.0.0.1:9/"), none), "http://127.0.0.1:9");
        let env = |k: &str| (k == "RUNWAYML_BASE_URL").then(|| "https://example.test".to_string());
        assert_eq!(resolve_base_url(None, env), "https://example.test");
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

    #[test]
    fn task_ids_are_checked() {
        assert!(check_task_id("17f20503-6c24-4c16-946b-35dbbce2af2f").is_ok());
        let e = check_task_id("../organization").unwrap_err().to_string();
        assert!(e.contains("task_id") && e.contains("not a Runway task id"), "{e}");
    }

    #[test]
    fn debug_never_shows_the_key() {
        let c = RunwayClient::new(ClientOptions {
            api_key: Some("key_secret_value_123".into()),
            base_url: Some("http://127.0.0.1:1".into()),
            ..Default::default()
        })
        .unwrap();
        assert!(!format!("{c:?}").contains("secret"));
    }
}
