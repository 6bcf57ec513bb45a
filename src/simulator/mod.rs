//! A fake Runway API on 127.0.0.1 for tests, benchmarks and `--simulate`: real HTTP, Runway's
//! auth and version checks, per-model validation from the same catalogue (answered with Runway's
//! 400 body), the task lifecycle with progress, placeholder outputs, and injected faults.
//!
//! Admin routes under `/_sim/` (no auth) let another process inject faults, read the request log
//! and add ready custom voices (`POST /_sim/voices`), and make any object with a chosen id
//! (`POST /_sim/seed`, see `resources::seed`). Also under `/_sim/`: the presigned upload
//! target of ephemeral uploads (`uploads/<token>`) and the signed, expiring output URLs
//! (`outputs/<task>/<i>.<ext>?exp=&sig=`, with byte ranges; voice previews too).
//!
//! Outputs follow the model: images PNG (SVG for `vector` models), videos MP4, audio MP3 (WAV when
//! the body asks for `wav`), as many as the model's output count. Every other operation (custom
//! voices among them) is routed by the catalogue's data, checked, and answered in `resources`.

pub mod body;
pub mod placeholders;
pub mod resources;
pub mod state;
pub mod uploads;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use hyper::header::{HeaderMap, HeaderValue, CONTENT_TYPE};
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::{json, Value};
use tokio::sync::oneshot;

use crate::catalogue::{catalogue, Returns};
use crate::errors::{Error, Issue};
pub use state::{default_key, Fault, FaultKind, RequestRecord, SimConfig, SimState, UploadRecord};

use body::{OutputFile, RangeAsk, SimBody};
use state::OutputLookup;

const DOC_URL: &str = "https://docs.dev.runwayml.com/api";
/// Bodies carry data URIs of up to 16 MiB; leave room for the rest of the JSON.
const MAX_BODY: usize = 40 * 1024 * 1024;

/// A running simulator. Dropping it stops accepting connections.
pub struct Simulator {
    addr: SocketAddr,
    state: Arc<SimState>,
    stop: Option<oneshot::Sender<()>>,
}

/// Raised from a request handler to drop the connection without an answer (reset, lost response).
#[derive(Debug)]
struct Abort;
impl std::fmt::Display for Abort {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection dropped by fault injection")
    }
}
impl std::error::Error for Abort {}

type Resp = Response<SimBody>;

impl Simulator {
    /// Binds `127.0.0.1:port` (0 = any free port) and serves on the given tokio runtime.
    pub fn start(rt: &tokio::runtime::Handle, cfg: SimConfig, port: u16) -> std::io::Result<Simulator> {
        let std_listener = std::net::TcpListener::bind(("127.0.0.1", port))?;
        std_listener.set_nonblocking(true)?;
        let addr = std_listener.local_addr()?;
        let state = Arc::new(SimState::new(cfg));
        state.set_base_url(format!("http://{addr}"));
        let (stop_tx, mut stop_rx) = oneshot::channel::<()>();
        let st = state.clone();
        let _guard = rt.enter();
        let listener = tokio::net::TcpListener::from_std(std_listener)?;
        rt.spawn(async move {
            loop {
                tokio::select! {
                    _ = &mut stop_rx => break,
                    accepted = listener.accept() => {
                        let Ok((stream, _)) = accepted else { continue };
                        let _ = stream.set_nodelay(true);
                        let st = st.clone();
                        tokio::spawn(async move {
                            let svc = service_fn(move |req| handle(st.clone(), req));
                            let _ = hyper::server::conn::http1::Builder::new()
                                .keep_alive(true)
                                .serve_connection(TokioIo::new(stream), svc)
                                .await;
                        });
                    }
                }
            }
        });
        Ok(Simulator { addr, state, stop: Some(stop_tx) })
    }

    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn api_key(&self) -> &str {
        &self.state.cfg.api_key
    }

    pub fn state(&self) -> &Arc<SimState> {
        &self.state
    }

    pub fn stop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
    }
}

impl Drop for Simulator {
    fn drop(&mut self) {
        self.stop();
    }
}

fn json_response(status: u16, body: &Value) -> Resp {
    let mut r = Response::new(SimBody::full(body.to_string()));
    *r.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    r.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("application/json; charset=utf-8"));
    r
}

fn empty(status: u16) -> Resp {
    let mut r = Response::new(SimBody::empty());
    *r.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::NO_CONTENT);
    r
}

fn error(status: u16, msg: &str) -> Resp {
    json_response(status, &json!({ "error": msg }))
}

/// Runway's 400 for a body that fails validation: `{error: "Invalid parameter '<first>'", issues, docUrl}`.
fn invalid(issues: &[Issue]) -> Resp {
    let first = issues.first().map(|i| i.path_string()).unwrap_or_else(|| "body".into());
    json_response(400, &json!({"error": format!("Invalid parameter '{first}'"), "issues": issues, "docUrl": DOC_URL}))
}

/// The log record of the request being handled (a request extension).
#[derive(Clone, Copy)]
struct RecordSeq(u64);

async fn handle(st: Arc<SimState>, req: Request<Incoming>) -> Result<Resp, Abort> {
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    if let Some(rest) = path.strip_prefix("/_sim/") {
        return Ok(admin(&st, &method, rest, req).await);
    }
    let auth = req.headers().get("authorization").and_then(|v| v.to_str().ok()).map(str::to_string);
    let key = auth.as_deref().and_then(|a| a.strip_prefix("Bearer ")).unwrap_or("").to_string();
    let authorized =
        !key.is_empty() && (st.cfg.open_accounts || key == st.cfg.api_key || st.cfg.extra_keys.contains(&key));
    let version = req.headers().get("x-runway-version").and_then(|v| v.to_str().ok()).map(str::to_string);
    let host = req.headers().get("host").and_then(|v| v.to_str().ok()).map(str::to_string);
    let seq = st.record(method.as_str(), &path, req.uri().query(), authorized, version.clone(), host);
    let mut req = req;
    req.extensions_mut().insert(RecordSeq(seq));

    let mut lose_response = false;
    let mut delay = 0.0;
    match st.take_fault(method.as_str(), &path) {
        Some(FaultKind::Reset) => return Err(Abort),
        Some(FaultKind::LostResponse) => lose_response = true,
        // Like a real server, the work is done even if the client gives up waiting for the answer.
        Some(FaultKind::Slow { seconds }) => delay = seconds.max(0.0),
        Some(FaultKind::Status { status, retry_after, body }) => {
            let body = body.unwrap_or_else(|| json!({"error": default_status_message(status)}));
            let mut r = json_response(status, &body);
            if let Some(ra) = retry_after.and_then(|s| HeaderValue::from_str(&s).ok()) {
                r.headers_mut().insert("retry-after", ra);
            }
            return Ok(r);
        }
        None => {}
    }

    let resp = if auth.is_none() {
        error(401, "No API key provided. Pass it as a Bearer token in the Authorization header.")
    } else if !authorized {
        error(401, "Invalid API key. Check that it is correct and has not been disabled.")
    } else if version.as_deref() != Some(crate::client::API_VERSION) {
        match version {
            None => error(400, "The X-Runway-Version header is required. Use 2024-11-06."),
            Some(v) => error(400, &format!("Unsupported X-Runway-Version '{v}'. Use 2024-11-06.")),
        }
    } else {
        api(&st, &key, &method, &path, req).await
    };
    if lose_response {
        return Err(Abort);
    }
    if delay > 0.0 {
        tokio::time::sleep(Duration::from_secs_f64(delay)).await;
    }
    Ok(resp)
}

fn default_status_message(status: u16) -> &'static str {
    match status {
        429 => "Too many requests.",
        500 => "Internal server error.",
        502 => "Bad gateway.",
        503 => "Service unavailable.",
        504 => "Gateway timeout.",
        _ => "Simulated error.",
    }
}

async fn read_json(req: Request<Incoming>) -> Result<Value, Resp> {
    let bytes = match Limited::new(req.into_body(), MAX_BODY).collect().await {
        Ok(b) => b.to_bytes(),
        Err(_) => return Err(error(413, "Request body too large.")),
    };
    serde_json::from_slice(&bytes).map_err(|_| error(400, "The request body is not valid JSON."))
}

async fn api(st: &SimState, key: &str, method: &Method, path: &str, req: Request<Incoming>) -> Resp {
    if !path.starts_with("/v1/") {
        return error(404, "Not found.");
    }
    let Some((op, params)) = catalogue().route(method.as_str(), path) else {
        // A path some operation has, asked with another method: 405; else 404.
        if catalogue().operations.iter().any(|o| o.match_path(path).is_some()) {
            return error(405, "Method not allowed.");
        }
        return error(404, "Not found.");
    };
    let id = params.values().next().cloned().unwrap_or_default();
    match op.name.as_str() {
        "uploads.create_ephemeral" => {
            return match read_json(req).await {
                Ok(b) => uploads::create(st, &b),
                Err(r) => r,
            }
        }
        "organization.retrieve" => return json_response(200, &st.organization_json()),
        "tasks.retrieve" => {
            return match st.task_json(key, &id) {
                Some(t) => json_response(200, &t),
                None => error(404, "Task not found. It does not exist, or was deleted or canceled."),
            }
        }
        "tasks.delete" => {
            return if st.delete_task(key, &id) {
                empty(204)
            } else {
                error(404, "Task not found. It does not exist, or was deleted or canceled.")
            }
        }
        _ => {}
    }
    let seq = req.extensions().get::<RecordSeq>().map(|s| s.0);
    if let (Returns::Task, Some(endpoint)) = (op.returns, op.endpoint.as_deref()) {
        let body = match read_json(req).await {
            Ok(b) => b,
            Err(r) => return r,
        };
        if let Some(seq) = seq {
            st.record_body(seq, &body);
        }
        return create(st, key, endpoint, &body);
    }
    let query = resources::page::parse_query(&op.query, req.uri().query().unwrap_or(""));
    let body = if op.takes_body() {
        match read_json_or_empty(req).await {
            Ok(b) => b,
            Err(r) => return r,
        }
    } else {
        None
    };
    if let (Some(seq), Some(b)) = (seq, &body) {
        st.record_body(seq, b);
    }
    let path_params: serde_json::Map<String, Value> =
        params.iter().map(|(k, v)| (k.clone(), Value::String(v.clone()))).collect();
    if let Err(e) = catalogue().check_request(op, &path_params, &query, body.as_ref()) {
        return match e {
            Error::Validation { issues, message } if issues.is_empty() => {
                json_response(400, &json!({"error": message, "issues": issues, "docUrl": DOC_URL}))
            }
            Error::Validation { issues, .. } => invalid(&issues),
            other => error(400, &other.to_string()),
        };
    }
    let call = resources::Call { op, params, query, body: body.unwrap_or_else(|| json!({})) };
    resources::handle(st, key, &call)
}

/// A JSON body, or None when the request has none.
async fn read_json_or_empty(req: Request<Incoming>) -> Result<Option<Value>, Resp> {
    let bytes = match Limited::new(req.into_body(), MAX_BODY).collect().await {
        Ok(b) => b.to_bytes(),
        Err(_) => return Err(error(413, "Request body too large.")),
    };
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    serde_json::from_slice(&bytes).map(Some).map_err(|_| error(400, "The request body is not valid JSON."))
}

fn create(st: &SimState, key: &str, endpoint: &str, body: &Value) -> Resp {
    let model = match catalogue().validate(endpoint, body) {
        Ok(m) => m,
        Err(Error::Validation { issues, message }) => {
            if issues.is_empty() {
                return json_response(400, &json!({"error": message, "issues": issues, "docUrl": DOC_URL}));
            }
            return invalid(&issues);
        }
        Err(e) => return error(400, &e.to_string()),
    };
    // runway:// inputs must name an upload that completed less than 24 h ago.
    let bad = uploads::check_runway_uris(st, body);
    if let Some(first) = bad.first() {
        let error_text = format!("Invalid asset: {}: {}", first.path_string(), first.message);
        return json_response(400, &json!({"error": error_text, "issues": bad, "docUrl": DOC_URL}));
    }
    if let Some(limit) = st.cfg.daily_limit {
        if st.daily_count(&model.model) >= limit {
            return error(429, "Your daily task limit has been reached.");
        }
    }
    // Input-priced models have no local estimate; the simulator charges a flat placeholder.
    let estimated = model.estimate_cost(body).unwrap_or(50.0);
    if st.credits_left() < estimated {
        return error(400, "You do not have enough credits to run this task.");
    }
    if endpoint.starts_with("generate/") {
        return resources::generate::route(st, key, endpoint, body);
    }
    let id = st.create_task(key, model, body, estimated);
    json_response(200, &json!({"id": id, "estimatedCost": {"credits": estimated}}))
}

async fn admin(st: &SimState, method: &Method, rest: &str, req: Request<Incoming>) -> Resp {
    match (method, rest) {
        (&Method::GET | &Method::HEAD, r) if r.starts_with("outputs/") => {
            output(st, &r["outputs/".len()..], req.uri().query().unwrap_or(""), req.headers(), method == Method::HEAD)
        }
        (&Method::POST, r) if r.starts_with("uploads/") => uploads::receive(st, &r["uploads/".len()..], req).await,
        (&Method::GET, "uploads") => json_response(200, &serde_json::to_value(st.uploads()).unwrap_or(Value::Null)),
        (&Method::GET, "requests") => json_response(200, &serde_json::to_value(st.requests()).unwrap_or(Value::Null)),
        (&Method::DELETE, "requests") => {
            st.clear_requests();
            empty(204)
        }
        (&Method::GET, "state") => json_response(
            200,
            &json!({"tasksCreated": st.tasks_created(), "requests": st.requests().len(), "apiKeyForm": "key_ + 128 hex"}),
        ),
        (&Method::POST, "seed") => match read_json(req).await {
            Ok(v) => resources::seed::seed(st, &v),
            Err(r) => r,
        },
        (&Method::POST, "voices") => match read_json(req).await {
            Ok(v) => resources::voices::admin_add(st, &v),
            Err(r) => r,
        },
        (&Method::DELETE, "faults") => {
            st.clear_faults();
            empty(204)
        }
        (&Method::POST, "faults") => match read_json(req).await {
            Ok(v) => match fault_from_json(&v) {
                Ok(f) => {
                    st.add_fault(f);
                    empty(204)
                }
                Err(msg) => error(400, &msg),
            },
            Err(r) => r,
        },
        _ => error(404, "Not found."),
    }
}

fn query_param<'a>(query: &'a str, name: &str) -> Option<&'a str> {
    query.split('&').find_map(|kv| kv.split_once('=').filter(|(k, _)| *k == name).map(|(_, v)| v))
}

/// A signed output URL: `<task id>/<index>.<ext>?exp=<unix ms>&sig=<hex>`, with byte ranges.
fn output(st: &SimState, rest: &str, query: &str, headers: &HeaderMap, head: bool) -> Resp {
    let Some((id, file)) = rest.split_once('/') else { return error(404, "Not found.") };
    let Some((idx, ext)) = file.split_once('.') else { return error(404, "Not found.") };
    let (Ok(index), Some(format)) = (idx.parse::<usize>(), placeholders::Format::from_ext(ext)) else {
        return error(404, "Not found.");
    };
    // Like CloudFront: the signature first, then its expiry, then the object.
    let exp = query_param(query, "exp").and_then(|e| e.parse::<u64>().ok());
    let sig = query_param(query, "sig");
    let Some(exp) = exp.filter(|e| sig == Some(st.output_signature(id, index, *e).as_str())) else {
        return error(403, "Invalid signature");
    };
    if crate::util::now_unix_ms() > exp {
        return error(403, "Request has expired");
    }
    // The padding is an MP4 `free` box, so only videos grow to `[sim:output_bytes=N]`.
    let padded_to = match st.output(id, index) {
        OutputLookup::Ready { format: f, bytes } if f == format => bytes.filter(|_| f == placeholders::Format::Mp4),
        _ => return error(404, "Not found."),
    };
    let ph = format.placeholder();
    let file = OutputFile::new(ph.bytes, padded_to);
    let total = file.total;
    let range = headers.get("range").and_then(|v| v.to_str().ok());
    let (status, start, end) = match body::parse_range(range, total) {
        RangeAsk::Full => (StatusCode::OK, 0, total),
        RangeAsk::Part { start, last } => (StatusCode::PARTIAL_CONTENT, start, last + 1),
        RangeAsk::Unsatisfiable => {
            let mut r = error(416, "Range Not Satisfiable");
            r.headers_mut().insert("content-range", HeaderValue::from_str(&format!("bytes */{total}")).unwrap());
            r.headers_mut().insert("accept-ranges", HeaderValue::from_static("bytes"));
            return r;
        }
    };
    let body = if head { SimBody::empty() } else { SimBody::Output(file.stream(start, end)) };
    let mut r = Response::new(body);
    *r.status_mut() = status;
    let h = r.headers_mut();
    h.insert(CONTENT_TYPE, HeaderValue::from_static(ph.mime));
    h.insert("content-length", HeaderValue::from(end - start));
    h.insert("accept-ranges", HeaderValue::from_static("bytes"));
    if status == StatusCode::PARTIAL_CONTENT {
        h.insert("content-range", HeaderValue::from_str(&format!("bytes {start}-{}/{total}", end - 1)).unwrap());
    }
    r
}

/// `{"kind": "status"|"reset"|"lost_response"|"slow", "status", "retry_after", "seconds", "body",
/// "count", "method", "path"}` → a fault.
pub fn fault_from_json(v: &Value) -> Result<Fault, String> {
    let kind = match v.get("kind").and_then(Value::as_str) {
        Some("status") => FaultKind::Status {
            status: v
                .get("status")
                .and_then(Value::as_u64)
                .filter(|s| (100..600).contains(s))
                .ok_or("status fault needs a status")? as u16,
            retry_after: v.get("retry_after").map(|r| match r {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            }),
            body: v.get("body").cloned(),
        },
        Some("reset") => FaultKind::Reset,
        Some("lost_response") => FaultKind::LostResponse,
        Some("slow") => {
            FaultKind::Slow { seconds: v.get("seconds").and_then(Value::as_f64).ok_or("slow fault needs seconds")? }
        }
        other => return Err(format!("unknown fault kind {other:?}; use status, reset, lost_response or slow")),
    };
    Ok(Fault {
        kind,
        method: v.get("method").and_then(Value::as_str).map(str::to_string),
        path_prefix: v.get("path").and_then(Value::as_str).map(str::to_string),
        remaining: v.get("count").and_then(Value::as_u64).unwrap_or(1) as u32,
    })
}
