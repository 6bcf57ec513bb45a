//! Moving files: uploads (Runway's ephemeral uploads, reused while valid), downloads to disk, a
//! task's outputs saved, and a body's local and task-output media made URIs Runway takes.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::time::Instant;

use serde_json::Value;

use super::endpoints::check_task_id;
use super::http::{status_error, Kind};
use super::RunwayClient;
use crate::catalogue::{Field, MediaKind};
use crate::errors::{Error, Result};
use crate::media::{
    classify, data_uri, ext_for_mime, fits_data_uri, input_error, media_slots, open_local, slot_error, InputPolicy,
    InputRef, LocalMedia, UPLOAD_MIN,
};
use crate::tasks::Task;

/// Ephemeral uploads still valid: (path, size, mtime) -> (runway:// URI, when uploaded).
pub(super) type UploadCache = HashMap<(PathBuf, u64, u128), (String, Instant)>;

/// An ephemeral upload is valid 24 h; reuse it for a little less.
const UPLOAD_REUSE_SECS: u64 = 23 * 3600;

/// A file saved by `download`.
#[derive(Debug, Clone, PartialEq)]
pub struct Downloaded {
    pub path: PathBuf,
    pub bytes: u64,
    pub mime_type: Option<String>,
    pub url: String,
}

impl RunwayClient {
    /// Uploads a local media file (Runway's ephemeral upload, streamed from disk) and returns its
    /// `runway://` URI. A file uploaded before and unchanged is not uploaded again while its URI lives.
    pub async fn upload(&self, path: &Path) -> Result<String> {
        // A file:// URL names the same file as its path, as it does for media inputs.
        let path = path.to_str().and_then(|s| s.strip_prefix("file://")).map_or(path, Path::new);
        let m = open_local(path, None, &self.options().input_policy)?;
        self.upload_media(&m).await
    }

    async fn upload_media(&self, m: &LocalMedia) -> Result<String> {
        let key = (m.path.clone(), m.size, m.modified_ns);
        if let Some((uri, at)) = self.uploads.lock().unwrap().get(&key) {
            if at.elapsed().as_secs() < UPLOAD_REUSE_SECS {
                return Ok(uri.clone());
            }
        }
        if m.size < UPLOAD_MIN {
            return Err(input_error(
                &m.path.display().to_string(),
                &format!("{} bytes; an upload must be at least {UPLOAD_MIN} bytes", m.size),
            ));
        }
        let stem: String = m
            .path
            .file_stem()
            .map(|s| {
                s.to_string_lossy()
                    .chars()
                    .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_'))
                    .take(60)
                    .collect()
            })
            .filter(|s: &String| !s.is_empty())
            .unwrap_or_else(|| "upload".into());
        let filename = format!("{stem}.{}", m.sniffed.ext);
        let slot = self
            .send(
                reqwest::Method::POST,
                "/v1/uploads",
                Some(&serde_json::json!({"filename": filename, "type": "ephemeral"})),
                Kind::Read,
            )
            .await?;
        let (Some(url), Some(uri)) =
            (slot.get("uploadUrl").and_then(Value::as_str), slot.get("runwayUri").and_then(Value::as_str))
        else {
            return Err(Error::Protocol(format!("Runway's upload answer lacks uploadUrl or runwayUri: {slot}")));
        };
        self.check_fetch_url(url, "the upload URL")?;
        let mut form = reqwest::multipart::Form::new();
        if let Some(fields) = slot.get("fields").and_then(Value::as_object) {
            for (k, v) in fields {
                form = form.text(k.clone(), v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string()));
            }
        }
        let file =
            tokio::fs::File::open(&m.path).await.map_err(|e| Error::LocalFile(format!("{}: {e}", m.path.display())))?;
        // 1 MiB reads: reqwest's own File conversion reads 4 KiB at a time, ten times slower.
        let stream = tokio_util::io::ReaderStream::with_capacity(file, 1 << 20);
        let part = reqwest::multipart::Part::stream_with_length(reqwest::Body::wrap_stream(stream), m.size)
            .file_name(filename.clone())
            .mime_str(m.sniffed.mime)
            .map_err(|e| Error::Other(e.to_string()))?;
        form = form.part("file", part);
        let resp = self
            .plain
            .post(url)
            .multipart(form)
            .send()
            .await
            .map_err(|e| self.transport_error(&e, &reqwest::Method::POST, "the upload URL", Kind::Read))?;
        if !resp.status().is_success() {
            return Err(status_error(resp, "POST", "the upload URL").await);
        }
        self.uploads.lock().unwrap().insert(key, (uri.to_string(), std::time::Instant::now()));
        Ok(uri.to_string())
    }

    /// Streams `url` to `dest`: written to a temporary file beside it, checked against
    /// Content-Length, then renamed, so `dest` is never a partial file. `on_progress(done, total)`.
    pub async fn download(
        &self,
        url: &str,
        dest: &Path,
        mut on_progress: impl FnMut(u64, Option<u64>),
    ) -> Result<Downloaded> {
        use tokio::io::AsyncWriteExt;
        self.check_fetch_url(url, "the output URL")?;
        let short = url.split('?').next().unwrap_or(url).to_string();
        let mut resp = self
            .plain
            .get(url)
            .send()
            .await
            .map_err(|e| self.transport_error(&e, &reqwest::Method::GET, &short, Kind::Read))?;
        if !resp.status().is_success() {
            return Err(status_error(resp, "GET", &short).await);
        }
        let total = resp.content_length();
        let mime = resp
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(|s| s.split(';').next().unwrap_or(s).trim().to_string());
        let dir = dest.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
        tokio::fs::create_dir_all(dir)
            .await
            .map_err(|e| Error::LocalFile(format!("cannot create {}: {e}", dir.display())))?;
        let name = dest.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_else(|| "download".into());
        let tmp = dir.join(format!(".{name}.{}.part", &crate::util::uuid_v4()[..8]));
        let result = async {
            let file = tokio::fs::File::create(&tmp)
                .await
                .map_err(|e| Error::LocalFile(format!("cannot write {}: {e}", tmp.display())))?;
            // Network chunks are small; each unbuffered write would be its own blocking call.
            let mut f = tokio::io::BufWriter::with_capacity(1 << 20, file);
            let mut done = 0u64;
            while let Some(chunk) =
                resp.chunk().await.map_err(|e| self.transport_error(&e, &reqwest::Method::GET, &short, Kind::Read))?
            {
                f.write_all(&chunk)
                    .await
                    .map_err(|e| Error::LocalFile(format!("cannot write {}: {e}", tmp.display())))?;
                done += chunk.len() as u64;
                on_progress(done, total);
            }
            // No fsync: the rename makes the file appear whole to readers, and a file lost to a
            // power cut can be downloaded again from its task (flushing 200 MB costs ~30%).
            f.flush().await.map_err(|e| Error::LocalFile(format!("cannot write {}: {e}", tmp.display())))?;
            if let Some(t) = total {
                if t != done {
                    return Err(Error::Protocol(format!("download of {short} stopped at {done} of {t} bytes")));
                }
            }
            tokio::fs::rename(&tmp, dest)
                .await
                .map_err(|e| Error::LocalFile(format!("cannot move the download to {}: {e}", dest.display())))?;
            Ok(done)
        }
        .await;
        match result {
            Ok(bytes) => Ok(Downloaded { path: dest.to_path_buf(), bytes, mime_type: mime, url: url.to_string() }),
            Err(e) => {
                let _ = tokio::fs::remove_file(&tmp).await;
                Err(e)
            }
        }
    }

    /// Saves every output of a succeeded task into `dir` as `<prefix>_<task id>_<n>.<ext>`.
    /// Expired output URLs are refreshed by fetching the task again.
    pub async fn save_outputs(&self, task: &Task, dir: &Path, prefix: &str) -> Result<Vec<Downloaded>> {
        check_task_id(&task.id)?;
        let prefix: String =
            prefix.chars().filter(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-')).take(40).collect();
        let prefix = if prefix.is_empty() { "runway".to_string() } else { prefix };
        let mut urls = task.output.clone();
        let mut refreshed = false;
        let mut saved = Vec::new();
        let mut i = 0;
        while i < urls.len() {
            let url = urls[i].clone();
            let guess = ext_for_url(&url).unwrap_or("bin");
            let dest = dir.join(format!("{prefix}_{}_{i}.{guess}", task.id));
            match self.download(&url, &dest, |_, _| {}).await {
                Ok(mut d) => {
                    // The extension follows what the server says the file is.
                    if let Some(ext) = d.mime_type.as_deref().and_then(ext_for_mime) {
                        if ext != guess {
                            let fixed = dest.with_extension(ext);
                            if tokio::fs::rename(&d.path, &fixed).await.is_ok() {
                                d.path = fixed;
                            }
                        }
                    }
                    saved.push(d);
                    i += 1;
                }
                Err(Error::Api { status: 401 | 403 | 404 | 410, .. }) if !refreshed => {
                    // Signed URLs expire: a fresh GET of the task gives new ones.
                    refreshed = true;
                    let fresh = self.get_task(&task.id).await?;
                    if fresh.output.len() != urls.len() {
                        return Err(Error::Protocol(format!(
                            "task {} now lists {} outputs instead of {}",
                            task.id,
                            fresh.output.len(),
                            urls.len()
                        )));
                    }
                    urls = fresh.output;
                }
                Err(e) => return Err(e.with_task_id(&task.id)),
            }
        }
        let files: Vec<Value> = saved
            .iter()
            .map(|d| serde_json::json!({"path": d.path, "bytes": d.bytes, "mime_type": d.mime_type, "url": d.url}))
            .collect();
        self.journal_files(&task.id, Value::Array(files)).await;
        Ok(saved)
    }

    /// Replaces the media values of `body` that are local files or task outputs with URIs Runway
    /// accepts: a data URI when small enough, else an ephemeral upload. Every local file is opened
    /// and sniffed before any is read whole or uploaded, so one bad file costs no transfer.
    pub async fn resolve_media(&self, fields: &BTreeMap<String, Field>, mut body: Value) -> Result<Value> {
        enum Todo {
            Local(LocalMedia),
            Task(String, usize),
        }
        let home = std::env::var_os("HOME").map(PathBuf::from);
        let mut todo = Vec::new();
        for slot in media_slots(fields, &body) {
            let item = match classify(&slot.value, home.as_deref()).map_err(|e| slot_error(&slot.pointer, e))? {
                InputRef::Remote(_) => continue,
                InputRef::Local(p) => Todo::Local(
                    open_local(&p, Some(slot.kind), &self.options().input_policy)
                        .map_err(|e| slot_error(&slot.pointer, e))?,
                ),
                InputRef::TaskOutput { task_id, index } => Todo::Task(task_id, index),
            };
            todo.push((slot, item));
        }
        for (slot, item) in todo {
            let resolved = match item {
                Todo::Local(m) => self.local_to_uri(&m).await,
                Todo::Task(id, index) => self.task_output_uri(&id, index, slot.kind).await,
            }
            .map_err(|e| slot_error(&slot.pointer, e))?;
            if let Some(v) = body.pointer_mut(&slot.pointer) {
                *v = Value::String(resolved);
            }
        }
        Ok(body)
    }

    async fn local_to_uri(&self, m: &LocalMedia) -> Result<String> {
        if fits_data_uri(m) {
            let bytes =
                tokio::fs::read(&m.path).await.map_err(|e| Error::LocalFile(format!("{}: {e}", m.path.display())))?;
            Ok(data_uri(m.sniffed.mime, &bytes))
        } else {
            self.upload_media(m).await
        }
    }

    /// An earlier task's output as an input. Runway fetches its own https output URLs itself; an
    /// http one (the simulator) is fetched here and sent along like a local file.
    async fn task_output_uri(&self, task_id: &str, index: usize, kind: MediaKind) -> Result<String> {
        let task = self.get_task(task_id).await?;
        if !task.succeeded() {
            return Err(Error::refused(format!(
                "task {task_id} is {}, so it has no output to use yet",
                task.status.as_deref().unwrap_or("unknown")
            )));
        }
        let url = task.output.get(index).cloned().ok_or_else(|| {
            Error::refused(format!(
                "task {task_id} has {} output(s); #{index} does not exist (outputs are numbered from 0)",
                task.output.len()
            ))
        })?;
        if url.to_ascii_lowercase().starts_with("https://") {
            return Ok(url);
        }
        let tmp = std::env::temp_dir().join(format!("runway-chain-{}-{index}", crate::util::uuid_v4()));
        let d = self.download(&url, &tmp, |_, _| {}).await?;
        let result = async {
            let m = open_local(&d.path, Some(kind), &InputPolicy::default())?;
            self.local_to_uri(&m).await
        }
        .await;
        let _ = tokio::fs::remove_file(&tmp).await;
        result
    }
}

/// The extension a URL's path ends with, if it is one we know.
fn ext_for_url(url: &str) -> Option<&'static str> {
    let path = url.split(['?', '#']).next()?;
    let ext = path.rsplit('/').next()?.rsplit_once('.')?.1.to_ascii_lowercase();
    ["png", "jpg", "jpeg", "webp", "svg", "mp4", "mov", "webm", "mkv", "wav", "mp3", "m4a", "flac", "ogg", "zip"]
        .into_iter()
        .find(|e| *e == ext)
}
