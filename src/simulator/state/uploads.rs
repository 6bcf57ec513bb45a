//! Ephemeral uploads as the simulator remembers them: slots made, files received, `runway://` URIs
//! still valid.

use std::sync::atomic::Ordering;

use super::SimState;

/// A `runway://` URI can be used for 24 hours after its upload.
pub const UPLOAD_TTL_SECS: f64 = 86_400.0;
/// How many leading bytes of an uploaded file are kept (for content sniffing).
pub const UPLOAD_HEAD_BYTES: usize = 64;

/// A completed ephemeral upload, as `GET /_sim/uploads` lists it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct UploadRecord {
    pub token: String,
    pub filename: String,
    pub size: u64,
    /// Milliseconds since the simulator started.
    pub at_ms: u64,
    /// The first bytes of the file (up to 64), for sniffing; not serialized.
    #[serde(skip)]
    pub head: Vec<u8>,
}

/// An upload slot made by `POST /v1/uploads`: the presigned fields the form POST must repeat.
#[derive(Debug, Clone)]
pub struct UploadSlot {
    pub token: String,
    pub filename: String,
    /// `key`, `policy`, `x-amz-signature`, in that order.
    pub fields: Vec<(String, String)>,
    pub runway_uri: String,
    /// Seconds on the simulator clock.
    pub created: f64,
    pub completed: Option<UploadRecord>,
}

impl SimState {
    /// Makes an upload slot for `filename` (`POST /v1/uploads`).
    pub fn create_upload(&self, filename: &str) -> UploadSlot {
        let hex = |n: usize| -> String { (0..n).map(|_| format!("{:02x}", fastrand::u8(..))).collect() };
        let token = hex(16);
        let slot = UploadSlot {
            token: token.clone(),
            filename: filename.to_string(),
            fields: vec![
                ("key".into(), format!("{token}/{filename}")),
                ("policy".into(), hex(48)),
                ("x-amz-signature".into(), hex(32)),
            ],
            runway_uri: format!("runway://{token}/{filename}"),
            created: self.now(),
            completed: None,
        };
        self.uploads.lock().unwrap().insert(token, slot.clone());
        slot
    }

    /// The slot of `token` while it still awaits its file (None when unknown or already used).
    pub fn open_upload(&self, token: &str) -> Option<UploadSlot> {
        self.uploads.lock().unwrap().get(token).filter(|u| u.completed.is_none()).cloned()
    }

    /// Records the file of an upload; false when the token is unknown or was used meanwhile.
    pub fn complete_upload(&self, token: &str, size: u64, head: &[u8]) -> bool {
        let at_ms = (self.now() * 1000.0) as u64;
        let mut uploads = self.uploads.lock().unwrap();
        match uploads.get_mut(token) {
            Some(u) if u.completed.is_none() => {
                u.completed = Some(UploadRecord {
                    token: token.to_string(),
                    filename: u.filename.clone(),
                    size,
                    at_ms,
                    head: head[..head.len().min(UPLOAD_HEAD_BYTES)].to_vec(),
                });
                true
            }
            _ => false,
        }
    }

    pub(crate) fn count_upload_post(&self) {
        self.upload_posts.fetch_add(1, Ordering::Relaxed);
    }

    /// Form POSTs received on upload URLs, successful or not.
    pub fn upload_posts(&self) -> u64 {
        self.upload_posts.load(Ordering::Relaxed)
    }

    /// Completed uploads, oldest first.
    pub fn uploads(&self) -> Vec<UploadRecord> {
        let mut v: Vec<UploadRecord> =
            self.uploads.lock().unwrap().values().filter_map(|u| u.completed.clone()).collect();
        v.sort_by_key(|u| u.at_ms);
        v
    }

    /// Whether `uri` names a completed upload made less than 24 hours ago.
    pub fn runway_uri_valid(&self, uri: &str) -> bool {
        let Some(token) = uri.strip_prefix("runway://").and_then(|r| r.split('/').next()) else { return false };
        let now_ms = self.now() * 1000.0;
        self.uploads.lock().unwrap().get(token).is_some_and(|u| {
            u.runway_uri == uri
                && u.completed.as_ref().is_some_and(|c| now_ms - (c.at_ms as f64) < UPLOAD_TTL_SECS * 1000.0)
        })
    }
}
