//! What a file is, from its first bytes: the formats Runway takes, and the extension a MIME type
//! is saved under.

use crate::catalogue::MediaKind;

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

#[cfg(test)]
mod tests {
    use super::*;

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
    }
}
