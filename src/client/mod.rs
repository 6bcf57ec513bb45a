//! The Runway HTTP client, one idea a file: this one the client itself (options, the key and base
//! URL, construction); `http` sending and retries; `endpoints` the task and account calls; `kinds`
//! which path an id is read at (task or workflow invocation); `wait` the wait loop; `create`
//! creating a task or running a workflow; `operations` any operation by name; `retries` telling
//! a call of its retries; `transfers` uploads, downloads and media inputs;
//! `attached`, `claims` and `journaled` what the client writes to and reads from the task journal.
//!
//! Everything public is re-exported here, so callers name `crate::client::X` only.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use reqwest::header::HeaderValue;

use crate::errors::{Error, Result};
use crate::tasks::PollConfig;

mod attached;
mod claims;
mod create;
mod endpoints;
mod http;
mod journaled;
mod kinds;
mod operations;
mod retries;
mod transfers;
mod wait;

pub use attached::{Attached, WRITE_BEHIND};
pub use claims::{CreateMeta, CREATOR_LEASE};
pub use endpoints::{check_task_id, CancelOutcome};
pub use http::{retry_after_secs, HttpClients};
pub use journaled::{doubt, entry_json, journal_params};
pub use operations::Answer;
pub use retries::{observe_retries, Retry, RetryObserver};
pub use transfers::Downloaded;

use create::Gates;
use transfers::UploadCache;

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
    journal: Option<Attached>,
    /// One create at a time per request fingerprint, so that identical calls made at once in this
    /// process reattach to one task instead of racing past the journal check.
    creating: Gates,
    /// Whether each id seen is a task or a workflow invocation (where it is read).
    kinds: kinds::Kinds,
}

impl std::fmt::Debug for RunwayClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the key.
        f.debug_struct("RunwayClient").field("base_url", &self.base_url).finish_non_exhaustive()
    }
}

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
            kinds: Mutex::new(HashMap::new()),
        })
    }

    /// Files this client's tasks in `journal`, under a salted fingerprint of its key.
    pub fn attach_journal(&mut self, journal: Arc<dyn crate::journal::Journal>) {
        let key_fp = crate::journal::key_fingerprint(journal.salt(), &self.key);
        self.journal = Some(Attached::new(journal, key_fp));
    }

    pub fn journal(&self) -> Option<&Attached> {
        self.journal.as_ref()
    }

    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    pub fn options(&self) -> &ClientOptions {
        &self.opts
    }

    fn now(&self) -> f64 {
        self.epoch.elapsed().as_secs_f64()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
