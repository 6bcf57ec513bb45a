//! Reading a local file as media, safely: the input policy (which folders may be read), symlinks
//! resolved, the size limit, and the content sniffed before anything else is read.

use std::io::Read;
use std::path::{Path, PathBuf};

use super::input::input_error;
use super::sniff::{sniff, Sniffed, SNIFF_LEN};
use crate::catalogue::MediaKind;
use crate::errors::Result;

/// Runway's ephemeral uploads take 512 bytes to 200 MB.
pub const UPLOAD_MIN: u64 = 512;
pub const UPLOAD_MAX: u64 = 200 * 1024 * 1024;

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
