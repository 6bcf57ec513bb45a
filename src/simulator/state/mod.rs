//! The simulator's memory: tasks, faults to inject, the request log, the organization.
//! A task's status is computed from the clock when asked (no timers), so thousands of tasks cost
//! nothing while they "run". `SimState` is here; each concern's part of it is a file of its own.

mod account;
mod config;
mod directives;
mod faults;
mod log;
mod outputs;
mod tasks;
mod uploads;

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::AtomicU64;
use std::sync::Mutex;
use std::time::Instant;

pub use config::{default_key, length_factor, SimConfig, DEFAULT_OUTPUT_URL_TTL, MAX_OUTPUTS};
pub(super) use directives::Directives;
pub use faults::{Fault, FaultKind};
pub use log::RequestRecord;
pub use outputs::OutputLookup;
pub(super) use tasks::Outcome;
use tasks::SimTask;
pub use uploads::{UploadRecord, UploadSlot, UPLOAD_HEAD_BYTES, UPLOAD_TTL_SECS};

use crate::simulator::resources::Resources;

pub struct SimState {
    pub cfg: SimConfig,
    epoch: Instant,
    base_url: Mutex<String>,
    tasks: Mutex<HashMap<String, SimTask>>,
    /// Per model: end times of the tasks occupying its concurrency slots.
    slots: Mutex<HashMap<String, Vec<f64>>>,
    faults: Mutex<VecDeque<Fault>>,
    log: Mutex<Vec<RequestRecord>>,
    created_per_model: Mutex<HashMap<String, u32>>,
    deleted: Mutex<u64>,
    uploads: Mutex<HashMap<String, UploadSlot>>,
    upload_posts: AtomicU64,
    /// f64 bits of the output URL lifetime in seconds.
    output_url_ttl: AtomicU64,
    /// Per-simulator key for output URL signatures.
    secret: [u64; 2],
    /// Routers, avatars, documents, sessions, workflows and the rest, per API key.
    pub(super) res: Resources,
}

impl SimState {
    pub fn new(cfg: SimConfig) -> Self {
        let ttl = cfg.output_url_ttl.max(0.0);
        SimState {
            cfg,
            epoch: Instant::now(),
            base_url: Mutex::new(String::new()),
            tasks: Mutex::new(HashMap::new()),
            slots: Mutex::new(HashMap::new()),
            faults: Mutex::new(VecDeque::new()),
            log: Mutex::new(Vec::new()),
            created_per_model: Mutex::new(HashMap::new()),
            deleted: Mutex::new(0),
            uploads: Mutex::new(HashMap::new()),
            upload_posts: AtomicU64::new(0),
            output_url_ttl: AtomicU64::new(ttl.to_bits()),
            secret: [fastrand::u64(..), fastrand::u64(..)],
            res: Resources::default(),
        }
    }

    pub fn now(&self) -> f64 {
        self.epoch.elapsed().as_secs_f64()
    }

    pub fn set_base_url(&self, url: String) {
        *self.base_url.lock().unwrap() = url;
    }

    pub fn base_url(&self) -> String {
        self.base_url.lock().unwrap().clone()
    }
}
