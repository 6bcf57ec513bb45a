//! Media inputs: what an input string refers to (URL, data URI, runway:// upload, local file,
//! earlier task's output), reading local files safely (content sniffed, nothing else read,
//! optional allowed roots), and encoding small files as data URIs. The network half (uploads,
//! downloads, task-output lookups) lives in `client.rs`.

use std::io::Read;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::catalogue::{MediaKind, Spec};
use crate::errors::{Error, Issue, Result};

/// Runway's ephemeral uploads take 512 bytes to 200 MB.
pub const UPLOAD_MIN: u64 = 512;
pub const UPLOAD_MAX: u64 = 200 * 1024 * 1024;
/// Bytes read from a local file to decide what it is; nothing more is read unless it is media.
pub const SNIFF_LEN: usize = 64;

/// What a file's first bytes say it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sniffed {
    pub kind: MediaKind,
    pub mime: &'static str,
    pub ext: &'static str,
}

const fn s(kind: MediaKind, mime: &'static str, ext: &'static str) -> Sniffed {
    Sniffed { kind, mime, ext }
}

/// Identifies the image, video and audio formats Runway accepts from their magic bytes.
/// The error says what the bytes look like instead, for a clear refusal.
pub fn sniff(head: &[u8]) -> std::result::Result<Sniffed, String> {
    use MediaKind::*;
    let at = |i: usize, m: &[u8]| head.len() >= i + m.len() && &head[i..i + m.len()] == m;
    if at(0, b"\x89PNG\r\n\x1a\n") {
        return Ok(s(Image, "image/png", "png"));
    }
    if at(0, b"\xff\xd8\xff") {
        return Ok(s(Image, "image/jpeg", "jpg"));
    }
    if at(0, b"RIFF") && at(8, b"WEBP") {
        return Ok(s(Image, "image/webp", "webp"));
    }
    if at(0, b"RIFF") && at(8, b"WAVE") {
        return Ok(s(Audio, "audio/wav", "wav"));
    }
    if at(4, b"ftyp") {
        let brand = head.get(8..12).unwrap_or(b"");
        return Ok(match brand {
            b"qt  " => s(Video, "video/quicktime", "mov"),
            b"M4A " | b"M4B " => s(Audio, "audio/mp4", "m4a"),
            b if b.starts_with(b"3g") => s(Video, "video/3gpp", "3gp"),
            _ => s(Video, "video/mp4", "mp4"),
        });
    }
    if at(0, b"\x1a\x45\xdf\xa3") {
        // EBML: WebM declares its DocType early; everything else is Matroska.
        let webm = head.windows(4).any(|w| w == b"webm");
        return Ok(if webm { s(Video, "video/webm", "webm") } else { s(Video, "video/x-matroska", "mkv") });
    }
    if at(0, b"fLaC") {
        return Ok(s(Audio, "audio/flac", "flac"));
    }
    if at(0, b"ID3") || (head.len() >= 2 && head[0] == 0xff && (head[1] & 0xe6) == 0xe2) {
        return Ok(s(Audio, "audio/mpeg", "mp3"));
    }
    if head.len() >= 2 && head[0] == 0xff && (head[1] & 0xf6) == 0xf0 {
        return Ok(s(Audio, "audio/aac", "aac"));
    }
    if at(0, b"OggS") {
        return Ok(s(Video, "video/ogg", "ogv"));
    }
    Err(if at(0, b"GIF8") {
        "a GIF image, which Runway does not accept (use PNG, JPEG or WebP)".into()
    } else if at(0, b"%PDF") {
        "a PDF document, not an image, video or audio file".into()
    } else if at(0, b"PK\x03\x04") {
        "a ZIP archive, not an image, video or audio file".into()
    } else if head.iter().all(|b| b.is_ascii_graphic() || b.is_ascii_whitespace()) {
        "text, not an image, video or audio file".into()
    } else {
        "not an image, video or audio format Runway accepts".into()
    })
}

/// The MIME types Runway serves and accepts, mapped to the extension a saved file gets.
pub fn ext_for_mime(mime: &str) -> Option<&'static str> {
    let m = mime.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    Some(match m.as_str() {
        "image/png" => "png",
        "image/jpeg" | "image/jpg" => "jpg",
        "image/webp" => "webp",
        "image/svg+xml" => "svg",
        "video/mp4" => "mp4",
        "video/quicktime" => "mov",
        "video/webm" => "webm",
        "video/x-matroska" => "mkv",
        "audio/wav" | "audio/wave" | "audio/x-wav" => "wav",
        "audio/mpeg" | "audio/mp3" => "mp3",
        "audio/mp4" | "audio/x-m4a" => "m4a",
        "audio/flac" | "audio/x-flac" => "flac",
        "audio/ogg" => "ogg",
        "application/zip" => "zip",
        _ => return None,
    })
}

/// What an input string refers to.
#[derive(Debug, Clone, PartialEq)]
pub enum InputRef {
    /// Passed to Runway as given (https URL, data URI, runway:// URI).
    Remote(String),
    /// Output `index` of an earlier task.
    TaskOutput {
        task_id: String,
        index: usize,
    },
    Local(PathBuf),
}

/// Classifies an input: URL forms pass through; `<uuid>` or `<uuid>#N` is a task's output; an
/// absolute path, `~/…` or `file://` URL is a local file.
pub fn classify(input: &str, home: Option<&Path>) -> Result<InputRef> {
    let t = input.trim();
    let lower = t.to_ascii_lowercase();
    if lower.starts_with("https://")
        || lower.starts_with("http://")
        || lower.starts_with("data:")
        || lower.starts_with("runway://")
    {
        return Ok(InputRef::Remote(t.to_string()));
    }
    let (id, index) = match t.split_once('#') {
        Some((id, n)) => (id, n.parse::<usize>().ok()),
        None => (t, Some(0)),
    };
    if crate::client::check_task_id(id).is_ok() {
        return match index {
            Some(index) => Ok(InputRef::TaskOutput { task_id: id.to_ascii_lowercase(), index }),
            None => Err(input_error(input, "after '#' comes the output number, e.g. <task id>#1")),
        };
    }
    if let Some(p) = t.strip_prefix("file://") {
        return Ok(InputRef::Local(PathBuf::from(p)));
    }
    if t == "~" || t.starts_with("~/") {
        let home = home.ok_or_else(|| input_error(input, "'~' needs a home directory (HOME is not set)"))?;
        return Ok(InputRef::Local(home.join(t.trim_start_matches('~').trim_start_matches('/'))));
    }
    if Path::new(t).is_absolute() {
        return Ok(InputRef::Local(PathBuf::from(t)));
    }
    Err(input_error(
        input,
        "expected an https URL, a data URI, a runway:// URI, an absolute or ~ path to a local file, or a task id (optionally <task id>#N)",
    ))
}

fn input_error(input: &str, why: &str) -> Error {
    let shown: String = input.chars().take(120).collect();
    Error::validation(
        vec![Issue { code: "invalid_string".into(), path: vec![], message: format!("'{shown}': {why}") }],
        "",
    )
}

/// A local media file, checked and identified; only its first bytes have been read.
#[derive(Debug, Clone)]
pub struct LocalMedia {
    pub path: PathBuf,
    pub size: u64,
    pub modified_ns: u128,
    pub sniffed: Sniffed,
}

/// Where local files may be read from: anywhere (`roots` None), nowhere (`Some` of no roots: a server
/// whose callers are on other machines), or only under these roots (symlinks resolved).
#[derive(Debug, Clone, Default)]
pub struct InputPolicy {
    pub roots: Option<Vec<PathBuf>>,
}

impl InputPolicy {
    /// From a list like `RUNWAY_MCP_INPUT_DIRS` (separated by the OS path separator).
    pub fn from_dirs(list: Option<&str>) -> Self {
        let roots = list.filter(|s| !s.trim().is_empty()).map(|s| {
            std::env::split_paths(s)
                .filter(|p| !p.as_os_str().is_empty())
                .map(|p| p.canonicalize().unwrap_or(p))
                .collect()
        });
        InputPolicy { roots }
    }

    /// No local file is ever read.
    pub fn none() -> Self {
        InputPolicy { roots: Some(Vec::new()) }
    }
}

/// The refusal of a local path where no local file is read.
pub const NO_LOCAL_FILES: &str = "this server reads no local files (no input folders are set): pass an https URL, a \
    data URI, a runway:// URI or a task id instead";
/// The one refusal of a path that is not a regular file inside the input folders, whatever it is
/// (missing, a folder, a link out, a file elsewhere): a caller learns nothing of the rest of the disk.
pub const NOT_IN_INPUT_DIRS: &str = "not a file in the folders this server reads inputs from";

/// Opens a local file for use as `kind` media: resolves symlinks, enforces the allowed roots and the
/// upload size limit, then reads at most `SNIFF_LEN` bytes to check the content. Nothing else of a
/// file that is not media is ever read. Confined to roots, every path outside them gets the same
/// answer, and the roots themselves are not named.
pub fn open_local(path: &Path, kind: Option<MediaKind>, policy: &InputPolicy) -> Result<LocalMedia> {
    let shown = path.display().to_string();
    let fail = |why: String| input_error(&shown, &why);
    if !path.is_absolute() {
        // Relative to what? The server's working folder is no caller's business.
        return Err(fail("a local path must be absolute (or start with ~/)".into()));
    }
    let (real, meta) = match &policy.roots {
        None => {
            let real = path.canonicalize().map_err(|e| fail(format!("cannot open: {}", io_reason(&e))))?;
            let meta = std::fs::metadata(&real).map_err(|e| fail(format!("cannot open: {}", io_reason(&e))))?;
            if !meta.is_file() {
                return Err(fail("not a regular file".into()));
            }
            (real, meta)
        }
        Some(roots) if roots.is_empty() => return Err(fail(NO_LOCAL_FILES.into())),
        Some(roots) => path
            .canonicalize()
            .ok()
            .filter(|real| roots.iter().any(|r| real.starts_with(r)))
            .and_then(|real| std::fs::metadata(&real).ok().filter(|m| m.is_file()).map(|m| (real, m)))
            .ok_or_else(|| fail(NOT_IN_INPUT_DIRS.into()))?,
    };
    if meta.len() > UPLOAD_MAX {
        return Err(fail(format!("{} bytes; Runway takes at most {} bytes (200 MB) per file", meta.len(), UPLOAD_MAX)));
    }
    let mut head = Vec::with_capacity(SNIFF_LEN);
    std::fs::File::open(&real)
        .and_then(|f| f.take(SNIFF_LEN as u64).read_to_end(&mut head))
        .map_err(|e| fail(format!("cannot read: {}", io_reason(&e))))?;
    let sniffed = sniff(&head).map_err(|why| fail(format!("the file is {why}")))?;
    if let Some(k) = kind {
        if sniffed.kind != k {
            return Err(fail(format!(
                "the file is {} ({}), but a {} is needed here",
                article(sniffed.kind),
                sniffed.mime,
                k.as_str()
            )));
        }
    }
    let modified_ns =
        meta.modified().ok().and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok()).map_or(0, |d| d.as_nanos());
    Ok(LocalMedia { path: real, size: meta.len(), modified_ns, sniffed })
}

fn article(k: MediaKind) -> &'static str {
    match k {
        MediaKind::Image => "an image",
        MediaKind::Video => "a video",
        MediaKind::Audio => "an audio file",
    }
}

fn io_reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file".into(),
        std::io::ErrorKind::PermissionDenied => "permission denied".into(),
        _ => e.to_string(),
    }
}

/// Length of the data URI for `size` bytes of `mime`.
pub fn data_uri_len(mime: &str, size: u64) -> u64 {
    5 + mime.len() as u64 + 8 + size.div_ceil(3) * 4
}

/// Whether a file this big goes inline as a data URI (else through an upload).
pub fn fits_data_uri(m: &LocalMedia) -> bool {
    data_uri_len(m.sniffed.mime, m.size) <= m.sniffed.kind.data_uri_max() as u64
}

pub fn data_uri(mime: &str, bytes: &[u8]) -> String {
    let mut out = String::with_capacity(13 + mime.len() + bytes.len().div_ceil(3) * 4);
    out.push_str("data:");
    out.push_str(mime);
    out.push_str(";base64,");
    base64_into(bytes, &mut out);
    out
}

fn base64_into(bytes: &[u8], out: &mut String) {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for c in bytes.chunks(3) {
        let n = (c[0] as u32) << 16 | (*c.get(1).unwrap_or(&0) as u32) << 8 | *c.get(2).unwrap_or(&0) as u32;
        out.push(T[(n >> 18) as usize & 63] as char);
        out.push(T[(n >> 12) as usize & 63] as char);
        out.push(if c.len() > 1 { T[(n >> 6) as usize & 63] as char } else { '=' });
        out.push(if c.len() > 2 { T[n as usize & 63] as char } else { '=' });
    }
}

/// A media value inside a request body: where it is (JSON pointer) and what kind it must be.
#[derive(Debug, Clone, PartialEq)]
pub struct MediaSlot {
    pub pointer: String,
    pub kind: MediaKind,
    pub value: String,
}

/// Finds the string values of `body` that the spec says are media (so they can be resolved).
pub fn media_slots(
    fields: &std::collections::BTreeMap<String, crate::catalogue::Field>,
    body: &Value,
) -> Vec<MediaSlot> {
    let mut out = Vec::new();
    if let Some(obj) = body.as_object() {
        for (name, field) in fields {
            if let Some(v) = obj.get(name) {
                walk(&field.spec, v, &format!("/{}", escape(name)), &mut out);
            }
        }
    }
    out
}

/// `body` with every local path and task reference in a media slot replaced by a stand-in URL,
/// so the whole body can be checked against the catalogue before any file is read or uploaded.
/// An input in none of the accepted forms is refused here, naming its field.
pub fn with_placeholders(
    fields: &std::collections::BTreeMap<String, crate::catalogue::Field>,
    body: &Value,
) -> Result<Value> {
    let home = std::env::var_os("HOME").map(PathBuf::from);
    let mut out = body.clone();
    for slot in media_slots(fields, body) {
        if let InputRef::Remote(_) = classify(&slot.value, home.as_deref()).map_err(|e| slot_error(&slot.pointer, e))? {
            continue;
        }
        if let Some(v) = out.pointer_mut(&slot.pointer) {
            *v = Value::String(format!("https://local-input.invalid/{}", slot.kind.as_str()));
        }
    }
    Ok(out)
}

fn escape(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

fn walk(spec: &Spec, v: &Value, ptr: &str, out: &mut Vec<MediaSlot>) {
    match (spec, v) {
        (Spec::Media { kind }, Value::String(s)) => {
            out.push(MediaSlot { pointer: ptr.to_string(), kind: *kind, value: s.clone() })
        }
        (Spec::Array { items, .. }, Value::Array(a)) => {
            for (i, x) in a.iter().enumerate() {
                walk(items, x, &format!("{ptr}/{i}"), out);
            }
        }
        (Spec::Object { fields, .. }, Value::Object(o)) => {
            for (name, f) in fields {
                if let Some(x) = o.get(name) {
                    walk(&f.spec, x, &format!("{ptr}/{}", escape(name)), out);
                }
            }
        }
        (Spec::AnyOf { options }, _) => {
            // The option matching the value's shape: a string goes to the media option, a list to the list.
            for o in options {
                let fits = matches!(
                    (o, v),
                    (Spec::Media { .. }, Value::String(_))
                        | (Spec::Array { .. }, Value::Array(_))
                        | (Spec::Object { .. }, Value::Object(_))
                );
                if fits {
                    walk(o, v, ptr, out);
                    break;
                }
            }
        }
        _ => {}
    }
}

// ---- The network half: uploads, downloads, resolving a body's media inputs. ----

use crate::client::{Kind, RunwayClient};

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

fn slot_error(pointer: &str, e: Error) -> Error {
    let field = pointer.trim_start_matches('/').replace('/', ".");
    match e {
        Error::Validation { issues, message } if issues.is_empty() => Error::refused(format!("{field}: {message}")),
        Error::Validation { issues, .. } => {
            let issues: Vec<Issue> = issues
                .into_iter()
                .map(|mut i| {
                    i.path = pointer
                        .trim_start_matches('/')
                        .split('/')
                        .map(|p| p.parse::<u64>().map(Value::from).unwrap_or_else(|_| Value::from(p)))
                        .collect();
                    i
                })
                .collect();
            Error::validation(issues, "")
        }
        // The same kind of failure, saying which field it was for.
        Error::LocalFile(m) => Error::LocalFile(format!("{field}: {m}")),
        Error::Protocol(m) => Error::Protocol(format!("{field}: {m}")),
        Error::Config(m) => Error::Config(format!("{field}: {m}")),
        Error::Journal(m) => Error::Journal(format!("{field}: {m}")),
        other => Error::Other(format!("{field}: {other}")),
    }
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
    pub async fn save_outputs(&self, task: &crate::tasks::Task, dir: &Path, prefix: &str) -> Result<Vec<Downloaded>> {
        crate::client::check_task_id(&task.id)?;
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
    pub async fn resolve_media(
        &self,
        fields: &std::collections::BTreeMap<String, crate::catalogue::Field>,
        mut body: Value,
    ) -> Result<Value> {
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

/// A failed answer from an upload target or output host (not Runway's API: S3 or a CDN), as an
/// `Error::Api` keeping its body.
async fn status_error(resp: reqwest::Response, method: &str, path: &str) -> Error {
    let status = resp.status().as_u16();
    let body = resp.text().await.unwrap_or_default();
    Error::Api {
        status,
        method: method.into(),
        path: path.into(),
        body: serde_json::from_str(&body).unwrap_or(Value::String(body.chars().take(500).collect())),
        task_id: None,
        retry_after: None,
        may_have_created: false,
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalogue::catalogue;
    use serde_json::json;

    #[test]
    fn sniffs_what_runway_takes_and_names_the_rest() {
        assert_eq!(sniff(b"\x89PNG\r\n\x1a\n....").unwrap().mime, "image/png");
        assert_eq!(sniff(b"\xff\xd8\xff\xe0").unwrap().ext, "jpg");
        assert_eq!(sniff(b"RIFF\0\0\0\0WEBPVP8 ").unwrap().mime, "image/webp");
        assert_eq!(sniff(b"RIFF\0\0\0\0WAVEfmt ").unwrap().kind, MediaKind::Audio);
        assert_eq!(sniff(b"\0\0\0\x18ftypisom").unwrap().mime, "video/mp4");
        assert_eq!(sniff(b"\0\0\0\x14ftypqt  ").unwrap().mime, "video/quicktime");
        assert_eq!(sniff(b"\0\0\0\x20ftypM4A ").unwrap().mime, "audio/mp4");
        assert_eq!(sniff(b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01webm").unwrap().mime, "video/webm");
        assert_eq!(sniff(b"ID3\x04").unwrap().mime, "audio/mpeg");
        assert_eq!(sniff(b"\xff\xfb\x90\x00").unwrap().mime, "audio/mpeg");
        assert_eq!(sniff(b"fLaC").unwrap().mime, "audio/flac");
        assert!(sniff(b"GIF89a").unwrap_err().contains("GIF"));
        assert!(sniff(b"-----BEGIN OPENSSH PRIVATE KEY-----").unwrap_err().contains("text"));
        assert!(sniff(b"API_KEY=abc\n").unwrap_err().contains("text"));
        assert!(sniff(b"%PDF-1.7").unwrap_err().contains("PDF"));
        assert!(sniff(b"").is_err());
        let ph = crate::simulator::placeholders::for_kind(MediaKind::Video);
        assert_eq!(sniff(ph.bytes).unwrap().mime, "video/mp4");
    }

    #[test]
    fn classifies_inputs() {
        let home = Path::new("/home/u");
        assert_eq!(classify("https://x.test/a.png", None).unwrap(), InputRef::Remote("https://x.test/a.png".into()));
        assert_eq!(
            classify("data:image/png;base64,AA", None).unwrap(),
            InputRef::Remote("data:image/png;base64,AA".into())
        );
        assert!(matches!(classify("runway://abc/def", None).unwrap(), InputRef::Remote(_)));
        let id = "17f20503-6c24-4c16-946b-35dbbce2af2f";
        assert_eq!(classify(id, None).unwrap(), InputRef::TaskOutput { task_id: id.into(), index: 0 });
        assert_eq!(classify(&format!("{id}#2"), None).unwrap(), InputRef::TaskOutput { task_id: id.into(), index: 2 });
        assert!(classify(&format!("{id}#x"), None).is_err());
        assert_eq!(classify("~/clips/a.mp4", Some(home)).unwrap(), InputRef::Local("/home/u/clips/a.mp4".into()));
        assert_eq!(classify("/tmp/a.png", None).unwrap(), InputRef::Local("/tmp/a.png".into()));
        assert_eq!(classify("file:///tmp/a.png", None).unwrap(), InputRef::Local("/tmp/a.png".into()));
        let e = classify("relative/a.png", None).unwrap_err().to_string();
        assert!(e.contains("absolute"), "{e}");
    }

    #[test]
    fn base64_and_data_uri() {
        assert_eq!(data_uri("image/png", b""), "data:image/png;base64,");
        assert_eq!(data_uri("a/b", b"f"), "data:a/b;base64,Zg==");
        assert_eq!(data_uri("a/b", b"fo"), "data:a/b;base64,Zm8=");
        assert_eq!(data_uri("a/b", b"foobar"), "data:a/b;base64,Zm9vYmFy");
        assert_eq!(data_uri("image/png", &[0xff, 0xfe, 0xfd]).len() as u64, data_uri_len("image/png", 3));
    }

    #[test]
    fn local_files_are_sniffed_and_confined() {
        let dir = std::env::temp_dir().join(format!("rmcp-media-{}", crate::util::uuid_v4()));
        let inside = dir.join("in");
        std::fs::create_dir_all(&inside).unwrap();
        let png = inside.join("ok.png");
        std::fs::write(&png, crate::simulator::placeholders::for_kind(MediaKind::Image).bytes).unwrap();
        let fake = inside.join("fake.png");
        std::fs::write(&fake, b"just some text pretending to be an image").unwrap();
        let secret = dir.join("secret.png");
        std::fs::write(&secret, crate::simulator::placeholders::for_kind(MediaKind::Image).bytes).unwrap();
        let link = inside.join("escape.png");
        std::os::unix::fs::symlink(&secret, &link).unwrap();

        let any = InputPolicy::default();
        let m = open_local(&png, Some(MediaKind::Image), &any).unwrap();
        assert_eq!((m.sniffed.mime, m.size), ("image/png", 161));
        let e = open_local(&fake, Some(MediaKind::Image), &any).unwrap_err().to_string();
        assert!(e.contains("text, not an image"), "{e}");
        let e = open_local(&png, Some(MediaKind::Video), &any).unwrap_err().to_string();
        assert!(e.contains("a video is needed"), "{e}");
        let confined = InputPolicy::from_dirs(Some(inside.to_str().unwrap()));
        assert!(open_local(&png, Some(MediaKind::Image), &confined).is_ok());
        // Outside the roots: a file, a link out, a missing path, a folder, the root's own parent, a
        // path that climbs out with `..`: one answer, naming neither the roots nor what the path is.
        let outside = [
            secret.clone(),
            link.clone(),
            dir.join("missing.png"),
            inside.join("nope.png"),
            inside.clone(),
            dir.clone(),
            inside.join("../secret.png"),
            PathBuf::from("/etc/passwd"),
        ];
        for p in &outside {
            let e = open_local(p, None, &confined).unwrap_err().to_string();
            assert_eq!(e, format!("body: '{}': {NOT_IN_INPUT_DIRS}", p.display()));
        }
        // Nowhere: every path, even an existing media file, gets the same refusal.
        for p in [&png, &secret, &dir.join("missing.png")] {
            let e = open_local(p, Some(MediaKind::Image), &InputPolicy::none()).unwrap_err().to_string();
            assert_eq!(e, format!("body: '{}': {NO_LOCAL_FILES}", p.display()));
        }
        let e = open_local(Path::new("in/ok.png"), None, &any).unwrap_err().to_string();
        assert!(e.contains("must be absolute"), "{e}");
        assert!(open_local(&dir.join("missing.png"), None, &any).unwrap_err().to_string().contains("no such file"));
        assert!(open_local(&inside, None, &any).unwrap_err().to_string().contains("not a regular file"));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn finds_media_slots_from_the_spec() {
        let m = catalogue().model("image_to_video", "veo3.1").unwrap();
        let body = json!({"model": "veo3.1", "ratio": "1280:720",
            "promptImage": [{"uri": "/a.png", "position": "first"}, {"uri": "~/b.png", "position": "last"}]});
        let slots = media_slots(&m.fields, &body);
        assert_eq!(
            slots.iter().map(|s| s.pointer.as_str()).collect::<Vec<_>>(),
            ["/promptImage/0/uri", "/promptImage/1/uri"]
        );
        let body = json!({"model": "veo3.1", "promptImage": "/a.png"});
        assert_eq!(media_slots(&m.fields, &body)[0].pointer, "/promptImage");
        let a = catalogue().model("video_to_video", "aleph2").unwrap();
        let body = json!({"model": "aleph2", "videoUri": "/v.mp4", "keyframes": [{"uri": "/k.png", "at": 0}]});
        let slots = media_slots(&a.fields, &body);
        assert_eq!(slots.len(), 2);
        assert_eq!((slots[0].kind, slots[1].kind), (MediaKind::Image, MediaKind::Video));
        // BTreeMap order: keyframes, videoUri
    }
}
