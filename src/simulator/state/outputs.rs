//! Output URLs: signed and expiring, and what one finds when fetched.

use std::hash::{Hash, Hasher};
use std::sync::atomic::Ordering;

use super::SimState;
use crate::catalogue::MediaKind;
use crate::simulator::placeholders::Format;
use crate::util::now_unix_ms;

/// What `SimState::output` finds for an output URL (whose signature was already checked).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum OutputLookup {
    /// The task exists and succeeded (or the voice is ready): the file type and, with
    /// `[sim:output_bytes=N]`, the size asked for.
    Ready { format: Format, bytes: Option<u64> },
    /// Unknown or deleted task or voice, output index out of range, or not (yet) succeeded.
    Missing,
}

impl SimState {
    /// Seconds an output URL stays valid after the task GET that issued it.
    pub fn output_url_ttl(&self) -> f64 {
        f64::from_bits(self.output_url_ttl.load(Ordering::Relaxed))
    }

    pub fn set_output_url_ttl(&self, seconds: f64) {
        self.output_url_ttl.store(seconds.max(0.0).to_bits(), Ordering::Relaxed);
    }

    /// The signature of output `index` of task `id` valid until `exp` (unix ms): a keyed hash, hex.
    pub fn output_signature(&self, id: &str, index: usize, exp: u64) -> String {
        let mut out = String::with_capacity(32);
        for (i, k) in self.secret.iter().enumerate() {
            let mut h = std::collections::hash_map::DefaultHasher::new();
            (k, i as u8, id, index as u64, exp).hash(&mut h);
            out.push_str(&format!("{:016x}", h.finish()));
        }
        out
    }

    /// A freshly signed output URL, valid for the configured lifetime from now.
    pub fn output_url(&self, id: &str, index: usize, ext: &str) -> String {
        let exp = now_unix_ms().saturating_add((self.output_url_ttl() * 1000.0).round() as u64);
        let sig = self.output_signature(id, index, exp);
        format!("{}/_sim/outputs/{id}/{index}.{ext}?exp={exp}&sig={sig}", self.base_url())
    }

    /// Whether output `index` of task `id` exists now (its task succeeded).
    pub fn output_kind(&self, id: &str, index: usize) -> Option<MediaKind> {
        let tasks = self.tasks.lock().unwrap();
        let t = tasks.get(id)?;
        (t.status_at(self.now()) == "SUCCEEDED" && index < t.outputs).then_some(t.format.kind())
    }

    /// Output `index` of task `id`, with the size a `[sim:output_bytes=N]` directive asked for;
    /// or the preview (index 0) of a ready voice or of a voice preview, or a workflow node's output.
    pub fn output(&self, id: &str, index: usize) -> OutputLookup {
        let tasks = self.tasks.lock().unwrap();
        match tasks.get(id) {
            Some(t) if t.status_at(self.now()) == "SUCCEEDED" && index < t.outputs => {
                OutputLookup::Ready { format: t.format, bytes: t.output_bytes }
            }
            Some(_) => OutputLookup::Missing,
            None if index == 0 && self.res.has_preview(id, self.now()) => {
                OutputLookup::Ready { format: Format::Mp3, bytes: None }
            }
            None => match self.res.workflow_output(id, index, self.now()) {
                Some(format) => OutputLookup::Ready { format, bytes: None },
                None => OutputLookup::Missing,
            },
        }
    }
}
