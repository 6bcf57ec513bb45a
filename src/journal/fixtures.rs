//! Fixtures of the journal's tests. Two test crates include this one file: src/journal/tests.rs
//! (the SQLite backend's own tests) and tests/journal_backends.rs (the suite both backends pass);
//! nothing else would let them share it. The including module provides `Entry` and `now_unix_ms`.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};

use super::{now_unix_ms, Entry};

/// A fresh directory under the system temp dir, removed on drop.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(name: &str) -> TempDir {
        static N: AtomicU32 = AtomicU32::new(0);
        let dir = std::env::temp_dir().join(format!(
            "runway-journal-{name}-{}-{}-{}",
            std::process::id(),
            now_unix_ms(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
    pub fn file(&self) -> PathBuf {
        self.0.join("sub/journal.sqlite3")
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub fn entry(key: &str, task_id: &str) -> Entry {
    Entry {
        task_id: Some(task_id.into()),
        key_fp: key.into(),
        tool: "generate_video".into(),
        endpoint: "/v1/text_to_video".into(),
        model: "gen4.5".into(),
        prompt: Some("a cat on a skateboard".into()),
        params: serde_json::json!({"model": "gen4.5", "promptText": "a cat on a skateboard", "ratio": "1280:720"}),
        request_fp: Some("rfp".into()),
        estimated_cost: Some(25.0),
        ..Default::default()
    }
}

pub fn ids(rows: &[Entry]) -> Vec<&str> {
    rows.iter().map(|e| e.task_id.as_deref().unwrap_or("-")).collect()
}
