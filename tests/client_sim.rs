//! The Rust client against the simulator over real HTTP on 127.0.0.1: lifecycle, retries under
//! each fault, no duplicate creation on ambiguous failures, cancellation, timeouts, error bodies.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use runway_core::client::{observe_retries, CancelOutcome, ClientOptions, Retry, RetryObserver, RunwayClient};
use runway_core::errors::{Error, TransportKind};
use runway_core::simulator::{Fault, FaultKind, SimConfig, Simulator};
use runway_core::tasks::PollConfig;
use serde_json::{json, Value};

fn fast_poll() -> PollConfig {
    PollConfig {
        first_delay: 0.3,
        min_interval: 0.05,
        idle_interval: 0.2,
        max_idle_interval: 0.5,
        max_predict_interval: 1.0,
        margin: 0.05,
        assumed_queue: 0.0,
    }
}

fn sim(cfg: SimConfig) -> Simulator {
    Simulator::start(&tokio::runtime::Handle::current(), cfg, 0).unwrap()
}

fn client(s: &Simulator) -> RunwayClient {
    client_with(s, |_| {})
}

fn client_with(s: &Simulator, f: impl FnOnce(&mut ClientOptions)) -> RunwayClient {
    let mut o = ClientOptions {
        api_key: Some(s.api_key().to_string()),
        base_url: Some(s.base_url()),
        retry_base: 0.02,
        retry_cap: 0.1,
        poll: fast_poll(),
        ..Default::default()
    };
    f(&mut o);
    RunwayClient::new(o).unwrap()
}

fn video_body(prompt: &str) -> Value {
    json!({"model": "gen4.5", "promptText": prompt, "ratio": "1280:720", "duration": 5})
}

fn count(s: &Simulator, method: &str, prefix: &str) -> usize {
    s.state().requests().iter().filter(|r| r.method == method && r.path.starts_with(prefix)).count()
}

fn fault(kind: FaultKind, method: &str, path: &str, n: u32) -> Fault {
    Fault { kind, method: Some(method.into()), path_prefix: Some(path.into()), remaining: n }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_wait_and_download_output() {
    let s = sim(SimConfig { task_seconds: 1.0, ..Default::default() });
    let c = client(&s);
    let t = c.create_task("/v1/text_to_video", video_body("a cat"), true).await.unwrap();
    assert_eq!(t.estimated_cost, Some(60.0));
    assert_eq!(t.status, None);
    let seen = Arc::new(Mutex::new(Vec::new()));
    let seen2 = seen.clone();
    let done = c
        .wait_for_task(&t.id, Some(Duration::from_secs(10)), move |snap| {
            seen2.lock().unwrap().push((snap.status.clone(), snap.progress));
            async { Ok(()) }
        })
        .await
        .unwrap();
    assert_eq!(done.status.as_deref(), Some("SUCCEEDED"));
    assert_eq!(done.cost, Some(60.0));
    assert_eq!(done.output.len(), 1);
    {
        let seen = seen.lock().unwrap();
        assert_eq!(seen.last().unwrap().0.as_deref(), Some("SUCCEEDED"));
        // Snapshots are reported only when they change.
        assert!(seen.windows(2).all(|w| w[0] != w[1]), "{seen:?}");
    }
    // Every request carried the key and the version header.
    assert!(s.state().requests().iter().all(|r| r.authorized && r.version.as_deref() == Some("2024-11-06")));
    let resp = reqwest::get(&done.output[0]).await.unwrap();
    assert_eq!(resp.headers()["content-type"], "video/mp4");
    let len: usize = resp.headers()["content-length"].to_str().unwrap().parse().unwrap();
    let bytes = resp.bytes().await.unwrap();
    assert_eq!(bytes.len(), len);
    assert_eq!(&bytes[4..8], b"ftyp");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_body_is_refused_before_sending() {
    let s = sim(SimConfig::default());
    let c = client(&s);
    let e = c
        .create_task(
            "text_to_video",
            json!({"model": "gen4.5", "promptText": "x", "ratio": "1:1", "duration": 30}),
            true,
        )
        .await
        .unwrap_err();
    let msg = e.to_string();
    assert!(matches!(e, Error::Validation { ref issues, .. } if issues.len() == 2), "{msg}");
    assert!(msg.contains("ratio") && msg.contains("duration") && msg.contains("from 2 to 10"), "{msg}");
    assert!(s.state().requests().is_empty(), "nothing may reach the API");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runway_error_body_arrives_intact_when_validation_is_off() {
    let s = sim(SimConfig::default());
    let c = client(&s);
    let e = c
        .create_task(
            "text_to_video",
            json!({"model": "gen4.5", "promptText": "x", "ratio": "1:1", "duration": 5}),
            false,
        )
        .await
        .unwrap_err();
    match &e {
        Error::Api { status: 400, body, may_have_created: false, .. } => {
            assert_eq!(body["error"], "Invalid parameter 'ratio'");
            assert_eq!(body["issues"][0]["path"], json!(["ratio"]));
            assert!(body["docUrl"].as_str().unwrap().starts_with("https://"));
        }
        other => panic!("{other:?}"),
    }
    assert!(e.to_string().contains("Invalid parameter 'ratio'"));
    // A model the catalogue does not know is sent as is; the simulator, like Runway, refuses it.
    let e = c.create_task("text_to_video", json!({"model": "gen9", "promptText": "x"}), false).await.unwrap_err();
    assert_eq!(e.status(), Some(400));
    assert_eq!(count(&s, "POST", "/v1/text_to_video"), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_key_is_401_and_never_echoed() {
    let s = sim(SimConfig::default());
    let c = client_with(&s, |o| o.api_key = Some("key_wrong_but_long_enough_123".into()));
    let e = c.organization().await.unwrap_err();
    assert_eq!(e.status(), Some(401));
    assert!(!e.to_string().contains("key_wrong_but_long_enough_123"));
    assert_eq!(count(&s, "GET", "/v1/organization"), 1, "401 is not retried");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_retry_5xx_429_and_resets() {
    let s = sim(SimConfig::default());
    let c = client(&s);
    let t = c.create_task("text_to_video", video_body("x"), true).await.unwrap();
    three_transient_poll_faults(&s);
    let got = c.get_task(&t.id).await.unwrap();
    assert_eq!(got.id, t.id);
    assert_eq!(count(&s, "GET", "/v1/tasks/"), 4);
    // Out of retries: the last error comes back with the task id.
    s.state().add_fault(fault(
        FaultKind::Status { status: 502, retry_after: None, body: None },
        "GET",
        "/v1/tasks/",
        10,
    ));
    let e = c.get_task(&t.id).await.unwrap_err();
    assert_eq!(e.status(), Some(502));
    assert_eq!(e.task_id(), Some(t.id.as_str()));
}

/// The next three polls fail, each once, in a way a read is retried after: a 503, a 429 with
/// `Retry-After: 0`, a reset connection.
fn three_transient_poll_faults(s: &Simulator) {
    for kind in [
        FaultKind::Status { status: 503, retry_after: None, body: None },
        FaultKind::Status { status: 429, retry_after: Some("0".into()), body: None },
        FaultKind::Reset,
    ] {
        s.state().add_fault(fault(kind, "GET", "/v1/tasks/", 1));
    }
}

/// Each retry is told to the call that observes its retries, with what failed and the wait; a
/// creating POST that may have reached Runway is not retried, so nothing is told of it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_observed_call_hears_of_each_retry() {
    let s = sim(SimConfig::default());
    let c = client(&s);
    let t = c.create_task("text_to_video", video_body("x"), true).await.unwrap();
    let seen: Arc<Mutex<Vec<Retry>>> = Arc::default();
    let sink = seen.clone();
    let observer: RetryObserver = Arc::new(move |r: &Retry| sink.lock().unwrap().push(r.clone()));
    three_transient_poll_faults(&s);
    let got = observe_retries(observer.clone(), c.get_task(&t.id)).await.unwrap();
    assert_eq!(got.id, t.id);
    {
        let seen = seen.lock().unwrap();
        let path = format!("/v1/tasks/{}", t.id);
        let what: Vec<_> = seen.iter().map(|r| (r.method.as_str(), r.path.as_str(), r.status, r.attempt)).collect();
        assert_eq!(
            what,
            vec![
                ("GET", path.as_str(), Some(503), 1),
                ("GET", path.as_str(), Some(429), 2),
                ("GET", path.as_str(), None, 3)
            ]
        );
        assert_eq!((seen[0].error, seen[1].delay_secs), (None, 0.0), "Retry-After: 0 is the wait");
        assert!(seen[2].error.is_some(), "{:?}", seen[2]);
        // Requests sent as retries = retries told (the first try is not one).
        assert_eq!(count(&s, "GET", "/v1/tasks/"), seen.len() + 1);
    }
    // An unobserved call's retries go nowhere; a create that may have reached Runway is not retried.
    s.state().add_fault(fault(
        FaultKind::Status { status: 502, retry_after: None, body: None },
        "GET",
        "/v1/tasks/",
        1,
    ));
    c.get_task(&t.id).await.unwrap();
    s.state().add_fault(fault(FaultKind::Status { status: 502, retry_after: None, body: None }, "POST", "/v1/", 1));
    observe_retries(observer, c.create_task("text_to_video", video_body("y"), true)).await.unwrap_err();
    assert_eq!(seen.lock().unwrap().len(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retry_after_is_honoured_and_long_ones_are_not_waited() {
    let s = sim(SimConfig::default());
    let c = client(&s);
    s.state().add_fault(fault(
        FaultKind::Status { status: 429, retry_after: Some("1".into()), body: None },
        "GET",
        "/v1/organization",
        1,
    ));
    let t0 = std::time::Instant::now();
    c.organization().await.unwrap();
    assert!(t0.elapsed() >= Duration::from_millis(950), "waited {:?}", t0.elapsed());
    s.state().add_fault(fault(
        FaultKind::Status { status: 429, retry_after: Some("3600".into()), body: None },
        "GET",
        "/v1/organization",
        1,
    ));
    match c.organization().await.unwrap_err() {
        Error::Api { status: 429, retry_after: Some(r), .. } => assert_eq!(r, 3600.0),
        other => panic!("{other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_is_not_retried_after_5xx_and_says_a_task_may_exist() {
    let s = sim(SimConfig::default());
    let c = client(&s);
    s.state().add_fault(fault(FaultKind::Status { status: 502, retry_after: None, body: None }, "POST", "/v1/", 5));
    let e = c.create_task("text_to_video", video_body("x"), true).await.unwrap_err();
    assert!(matches!(e, Error::Api { status: 502, may_have_created: true, .. }), "{e:?}");
    assert!(e.to_string().contains("may have created"));
    assert_eq!(count(&s, "POST", "/v1/"), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lost_response_creates_one_task_and_no_duplicate() {
    let s = sim(SimConfig::default());
    let c = client(&s);
    s.state().add_fault(fault(FaultKind::LostResponse, "POST", "/v1/", 1));
    let e = c.create_task("text_to_video", video_body("x"), true).await.unwrap_err();
    assert!(matches!(e, Error::Transport { kind: TransportKind::Broken, may_have_created: true, .. }), "{e:?}");
    assert_eq!(count(&s, "POST", "/v1/"), 1);
    assert_eq!(s.state().tasks_created(), 1, "Runway made the task; we must not make another");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_retries_429_and_refused_connections_only() {
    let s = sim(SimConfig::default());
    let c = client(&s);
    s.state().add_fault(fault(FaultKind::Status { status: 429, retry_after: None, body: None }, "POST", "/v1/", 2));
    c.create_task("text_to_video", video_body("x"), true).await.unwrap();
    assert_eq!(count(&s, "POST", "/v1/"), 3);
    assert_eq!(s.state().tasks_created(), 1);
    // A port nobody listens on: refused before anything is sent, so retrying is safe.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let c2 = RunwayClient::new(ClientOptions {
        api_key: Some("key_x_long_enough".into()),
        base_url: Some(format!("http://{closed}")),
        retry_base: 0.01,
        ..Default::default()
    })
    .unwrap();
    let e = c2.create_task("text_to_video", video_body("x"), true).await.unwrap_err();
    assert!(matches!(e, Error::Transport { kind: TransportKind::Connect, may_have_created: false, .. }), "{e:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_answer_times_out_and_create_timeout_is_ambiguous() {
    let s = sim(SimConfig::default());
    let c = client_with(&s, |o| {
        o.timeout = 0.3;
        o.max_retries = 1;
    });
    s.state().add_fault(fault(FaultKind::Slow { seconds: 1.0 }, "POST", "/v1/", 1));
    let e = c.create_task("text_to_video", video_body("x"), true).await.unwrap_err();
    assert!(matches!(e, Error::Transport { kind: TransportKind::Timeout, may_have_created: true, .. }), "{e:?}");
    assert_eq!(count(&s, "POST", "/v1/"), 1);
    // A slow read is retried and succeeds on the next attempt.
    s.state().add_fault(fault(FaultKind::Slow { seconds: 1.0 }, "GET", "/v1/organization", 1));
    c.organization().await.unwrap();
    assert_eq!(count(&s, "GET", "/v1/organization"), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_and_cancelled_tasks_raise_with_the_task() {
    let s = sim(SimConfig { task_seconds: 0.4, ..Default::default() });
    let c = client(&s);
    let t = c.create_task("text_to_video", video_body("x [sim:fail=SAFETY.INPUT.TEXT]"), true).await.unwrap();
    match c.wait_for_task(&t.id, Some(Duration::from_secs(10)), |_| async { Ok(()) }).await.unwrap_err() {
        Error::TaskFailed { task } => {
            assert_eq!(task.id, t.id);
            assert_eq!(task.failure_code.as_deref(), Some("SAFETY.INPUT.TEXT"));
            assert_eq!(task.cost, Some(0.0));
        }
        other => panic!("{other:?}"),
    }
    let t = c.create_task("text_to_video", video_body("x [sim:cancelled]"), true).await.unwrap();
    let e = c.wait_for_task(&t.id, Some(Duration::from_secs(10)), |_| async { Ok(()) }).await.unwrap_err();
    assert!(matches!(e, Error::TaskFailed { ref task } if task.status.as_deref() == Some("CANCELLED")), "{e:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timeout_keeps_the_last_snapshot_and_cancel_is_idempotent() {
    let s = sim(SimConfig { task_seconds: 30.0, ..Default::default() });
    let c = client(&s);
    let t = c.create_task("text_to_video", video_body("x"), true).await.unwrap();
    let e = c.wait_for_task(&t.id, Some(Duration::from_millis(800)), |_| async { Ok(()) }).await.unwrap_err();
    match &e {
        Error::TaskTimeout { task_id, task: Some(last), .. } => {
            assert_eq!(task_id, &t.id);
            assert_eq!(last.status.as_deref(), Some("RUNNING"));
        }
        other => panic!("{other:?}"),
    }
    assert!(e.to_string().contains(&t.id));
    assert_eq!(c.cancel_task(&t.id).await.unwrap(), CancelOutcome::Done);
    assert_eq!(c.cancel_task(&t.id).await.unwrap(), CancelOutcome::AlreadyGone);
    let e = c.get_task(&t.id).await.unwrap_err();
    assert_eq!(e.status(), Some(404));
    assert_eq!(e.task_id(), Some(t.id.as_str()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wait_survives_transient_errors_between_polls() {
    let s = sim(SimConfig { task_seconds: 1.0, ..Default::default() });
    let c = client_with(&s, |o| o.max_retries = 0);
    let t = c.create_task("text_to_video", video_body("x"), true).await.unwrap();
    s.state().add_fault(fault(
        FaultKind::Status { status: 503, retry_after: None, body: None },
        "GET",
        "/v1/tasks/",
        2,
    ));
    let done = c.wait_for_task(&t.id, Some(Duration::from_secs(10)), |_| async { Ok(()) }).await.unwrap();
    assert!(done.succeeded());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throttling_quota_and_organization() {
    let s = sim(SimConfig { task_seconds: 0.5, max_concurrency: Some(1), daily_limit: Some(2), ..Default::default() });
    let c = client_with(&s, |o| o.max_retries = 0);
    let a = c.create_task("text_to_video", video_body("a"), true).await.unwrap();
    let b = c.create_task("text_to_video", video_body("b"), true).await.unwrap();
    assert_eq!(c.get_task(&b.id).await.unwrap().status.as_deref(), Some("THROTTLED"));
    let e = c.create_task("text_to_video", video_body("c"), true).await.unwrap_err();
    assert_eq!(e.status(), Some(429));
    assert!(e.to_string().contains("daily task limit"));
    c.wait_for_task(&a.id, Some(Duration::from_secs(5)), |_| async { Ok(()) }).await.unwrap();
    c.wait_for_task(&b.id, Some(Duration::from_secs(5)), |_| async { Ok(()) }).await.unwrap();
    let org = c.organization().await.unwrap();
    assert_eq!(org["creditBalance"], 100_000 - 120);
    assert_eq!(org["usage"]["models"]["gen4.5"]["dailyGenerations"], 2);
    assert_eq!(org["tier"]["models"]["gen4.5"]["maxConcurrentGenerations"], 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn simulator_checks_auth_and_version_like_runway() {
    let s = sim(SimConfig::default());
    let http = reqwest::Client::new();
    let url = format!("{}/v1/organization", s.base_url());
    let r = http.get(&url).send().await.unwrap();
    assert_eq!(r.status(), 401);
    let r = http.get(&url).bearer_auth(s.api_key()).send().await.unwrap();
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("X-Runway-Version"));
    let r = http.get(&url).bearer_auth(s.api_key()).header("X-Runway-Version", "2024-11-06").send().await.unwrap();
    assert_eq!(r.status(), 200);
    let r = http.put(&url).bearer_auth(s.api_key()).header("X-Runway-Version", "2024-11-06").send().await.unwrap();
    assert_eq!(r.status(), 405);
}
