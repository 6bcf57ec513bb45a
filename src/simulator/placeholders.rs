//! Small, valid media files served as task outputs: a 64×36 PNG, a 1-second H.264/AAC MP4 and a
//! 1-second WAV, made once with ffmpeg and compiled in (2.6 KB for the video).

use crate::catalogue::MediaKind;

pub struct Placeholder {
    pub mime: &'static str,
    pub ext: &'static str,
    pub bytes: &'static [u8],
}

const PNG: &[u8] = include_bytes!("media/placeholder.png");
const MP4: &[u8] = include_bytes!("media/placeholder.mp4");
const WAV: &[u8] = include_bytes!("media/placeholder.wav");

pub fn for_kind(kind: MediaKind) -> Placeholder {
    match kind {
        MediaKind::Image => Placeholder { mime: "image/png", ext: "png", bytes: PNG },
        MediaKind::Video => Placeholder { mime: "video/mp4", ext: "mp4", bytes: MP4 },
        MediaKind::Audio => Placeholder { mime: "audio/wav", ext: "wav", bytes: WAV },
    }
}

pub fn for_ext(ext: &str) -> Option<Placeholder> {
    [MediaKind::Image, MediaKind::Video, MediaKind::Audio].into_iter().map(for_kind).find(|p| p.ext == ext)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_have_the_right_magic() {
        assert_eq!(&for_kind(MediaKind::Image).bytes[..8], b"\x89PNG\r\n\x1a\n");
        assert_eq!(&for_kind(MediaKind::Video).bytes[4..8], b"ftyp");
        let wav = for_kind(MediaKind::Audio).bytes;
        assert_eq!((&wav[..4], &wav[8..12]), (&b"RIFF"[..], &b"WAVE"[..]));
        assert_eq!(for_ext("mp4").unwrap().mime, "video/mp4");
        assert!(for_ext("exe").is_none());
    }
}
