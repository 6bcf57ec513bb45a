//! What the client-with-journal tests share (tests/client_journal.rs, tests/client_invocations.rs):
//! a fast simulator and client options for it, a scratch folder, and each test run on both journal backends (`on_both!`).
#![allow(dead_code)]

use std::path::PathBuf;

use runway_core::client::ClientOptions;
use runway_core::simulator::{SimConfig, Simulator};
use runway_core::tasks::PollConfig;

#[path = "../pg/mod.rs"]
pub mod pg;

pub fn sim(task_seconds: f64) -> Simulator {
    let cfg = SimConfig { task_seconds, pending_seconds: 0.0, ..Default::default() };
    Simulator::start(&tokio::runtime::Handle::current(), cfg, 0).unwrap()
}

/// A client's options for the simulator `s` with `key`: short retries and polls, as its fast tasks
/// want.
pub fn fast_options(s: &Simulator, key: &str) -> ClientOptions {
    ClientOptions {
        api_key: Some(key.to_string()),
        base_url: Some(s.base_url()),
        retry_base: 0.02,
        retry_cap: 0.1,
        poll: PollConfig {
            first_delay: 0.2,
            min_interval: 0.05,
            idle_interval: 0.15,
            max_idle_interval: 0.3,
            max_predict_interval: 0.5,
            margin: 0.05,
            assumed_queue: 0.0,
        },
        ..Default::default()
    }
}

pub fn temp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("runway-journal-{name}-{}", runway_core::util::uuid_v4()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// The storage a test runs on: every test runs on both (`on_both!`).
#[derive(Clone, Copy, Debug)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Where a test's journal lives: a file in `dir`, or a fresh PostgreSQL database.
pub fn journal_spec(b: Backend, dir: &std::path::Path, name: &str) -> String {
    match b {
        Backend::Sqlite => dir.join("j.sqlite3").display().to_string(),
        Backend::Postgres => pg::database(name),
    }
}

/// Each `async fn name(b: Backend)` as two tests, `name::sqlite` and `name::postgres`.
macro_rules! on_both {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$name(super::Backend::Sqlite).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                super::$name(super::Backend::Postgres).await
            }
        }
    )*};
}
pub(crate) use on_both;
