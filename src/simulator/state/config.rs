//! How a simulator is set up: its keys, task timings, limits and output URL lifetime.

use crate::catalogue::MediaKind;

#[derive(Debug, Clone)]
pub struct SimConfig {
    /// The key the simulator accepts (Runway's form: `key_` + 128 hex digits).
    pub api_key: String,
    /// More accepted keys, each its own account: a task is seen (GET, DELETE) only with the key that
    /// made it, as Runway answers 404 for another organisation's task. For multi-user tests.
    pub extra_keys: Vec<String>,
    /// Accept any key, each its own account (a multi-user server run with --simulate).
    pub open_accounts: bool,
    /// Seconds from creation to the end of a video task (PENDING + RUNNING), unless a prompt says
    /// otherwise. Image and audio tasks take a share of it ([`length_factor`]).
    pub task_seconds: f64,
    /// Seconds a task stays PENDING before it runs.
    pub pending_seconds: f64,
    /// Tasks per model per day before creates get 429.
    pub daily_limit: Option<u32>,
    /// Tasks of one model running at once; more wait as THROTTLED.
    pub max_concurrency: Option<u32>,
    pub credit_balance: f64,
    /// Seconds an output URL stays valid after the GET that issued it.
    pub output_url_ttl: f64,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            api_key: default_key(),
            extra_keys: Vec::new(),
            open_accounts: false,
            task_seconds: 8.0,
            pending_seconds: 0.5,
            daily_limit: None,
            max_concurrency: None,
            credit_balance: 100_000.0,
            output_url_ttl: DEFAULT_OUTPUT_URL_TTL,
        }
    }
}

/// A fixed, well-formed key: the simulator is local and this is no secret.
pub fn default_key() -> String {
    format!("key_{}", "5e".repeat(64))
}

/// The share of `task_seconds` a task takes, by what it makes: an image about a quarter of a
/// video's time, audio about a third. A `[sim:seconds=N]` directive sets the length outright.
pub fn length_factor(kind: MediaKind) -> f64 {
    match kind {
        MediaKind::Video => 1.0,
        MediaKind::Image => 0.25,
        MediaKind::Audio => 1.0 / 3.0,
    }
}

/// Output URLs stay valid this long unless changed with [`SimState::set_output_url_ttl`].
pub const DEFAULT_OUTPUT_URL_TTL: f64 = 86_400.0;
/// The most outputs one task makes (a guard against absurd counts).
pub const MAX_OUTPUTS: usize = 16;
