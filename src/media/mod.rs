//! Media inputs, with no network: what an input string refers to (URL, data URI, runway:// upload,
//! local file, earlier task's output), reading local files safely (content sniffed, nothing else
//! read, optional allowed roots), encoding small files as data URIs, and finding the media in a
//! request body. The network half (uploads, downloads, task-output lookups) is
//! `client::transfers`.
//!
//! Everything public is re-exported here, so callers name `crate::media::X` only.

mod data_uri;
mod input;
mod local;
mod slots;
mod sniff;

pub use data_uri::{data_uri, data_uri_len, fits_data_uri};
pub(crate) use input::input_error;
pub use input::{classify, InputRef};
pub use local::{open_local, InputPolicy, LocalMedia, NOT_IN_INPUT_DIRS, NO_LOCAL_FILES, UPLOAD_MAX, UPLOAD_MIN};
pub(crate) use slots::slot_error;
pub use slots::{media_slots, with_placeholders, MediaSlot};
pub use sniff::{ext_for_mime, sniff, Sniffed, SNIFF_LEN};
