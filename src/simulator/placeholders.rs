//! Small, valid media files served as task outputs: a 64×36 PNG, a 64×36 SVG (vector models), a
//! 1-second H.264/AAC MP4, a 1-second MP3 and a 1-second WAV, compiled in (2.6 KB for the video).
//! The PNG, MP4 and WAV were made with ffmpeg; the MP3 is 28 silent MPEG-1 Layer III frames
//! (32 kHz mono, 32 kbit/s, 144 bytes each, side info all zero) and decodes to digital silence.

use serde_json::Value;

use crate::catalogue::{MediaKind, Model};

/// The file type of an output. Which one a task makes follows from its model and body
/// ([`Format::for_task`]); its output URLs end in the format's extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Png,
    Svg,
    Mp4,
    Mp3,
    Wav,
}

pub const ALL_FORMATS: [Format; 5] = [Format::Png, Format::Svg, Format::Mp4, Format::Mp3, Format::Wav];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Placeholder {
    pub mime: &'static str,
    pub ext: &'static str,
    pub bytes: &'static [u8],
}

const PNG: &[u8] = include_bytes!("media/placeholder.png");
const SVG: &[u8] = include_bytes!("media/placeholder.svg");
const MP4: &[u8] = include_bytes!("media/placeholder.mp4");
const MP3: &[u8] = include_bytes!("media/placeholder.mp3");
const WAV: &[u8] = include_bytes!("media/placeholder.wav");

impl Format {
    pub fn placeholder(self) -> Placeholder {
        match self {
            Format::Png => Placeholder { mime: "image/png", ext: "png", bytes: PNG },
            Format::Svg => Placeholder { mime: "image/svg+xml", ext: "svg", bytes: SVG },
            Format::Mp4 => Placeholder { mime: "video/mp4", ext: "mp4", bytes: MP4 },
            Format::Mp3 => Placeholder { mime: "audio/mpeg", ext: "mp3", bytes: MP3 },
            Format::Wav => Placeholder { mime: "audio/wav", ext: "wav", bytes: WAV },
        }
    }

    pub fn ext(self) -> &'static str {
        self.placeholder().ext
    }

    pub fn kind(self) -> MediaKind {
        match self {
            Format::Png | Format::Svg => MediaKind::Image,
            Format::Mp4 => MediaKind::Video,
            Format::Mp3 | Format::Wav => MediaKind::Audio,
        }
    }

    pub fn from_ext(ext: &str) -> Option<Format> {
        ALL_FORMATS.into_iter().find(|f| f.ext() == ext)
    }

    /// The usual format of a media kind: PNG, MP4, MP3.
    pub fn default_for(kind: MediaKind) -> Format {
        match kind {
            MediaKind::Image => Format::Png,
            MediaKind::Video => Format::Mp4,
            MediaKind::Audio => Format::Mp3,
        }
    }

    /// What a task of `model` made from `body` outputs: images are PNG (SVG for models tagged
    /// `vector`), videos MP4, audio MP3 unless the body asks for WAV (`outputFormat` or `format`).
    pub fn for_task(model: &Model, body: &Value) -> Format {
        match model.output {
            MediaKind::Image if model.has_tag("vector") => Format::Svg,
            MediaKind::Audio if asks_for_wav(body) => Format::Wav,
            kind => Format::default_for(kind),
        }
    }
}

fn asks_for_wav(body: &Value) -> bool {
    ["outputFormat", "format"]
        .iter()
        .any(|k| body.get(k).and_then(Value::as_str).is_some_and(|s| s.eq_ignore_ascii_case("wav")))
}

/// The usual placeholder of a media kind (PNG, MP4, MP3).
pub fn for_kind(kind: MediaKind) -> Placeholder {
    Format::default_for(kind).placeholder()
}

pub fn for_ext(ext: &str) -> Option<Placeholder> {
    Format::from_ext(ext).map(Format::placeholder)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Walks MPEG-1 Layer III frames: every frame header is well formed and the frames fill the file.
    fn mp3_frames(b: &[u8]) -> usize {
        const KBPS: [usize; 15] = [0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320];
        const HZ: [usize; 3] = [44_100, 48_000, 32_000];
        let (mut at, mut n) = (0, 0);
        while at < b.len() {
            let h = &b[at..at + 4];
            assert_eq!((h[0], h[1] & 0xfe), (0xff, 0xfa), "frame sync of MPEG-1 Layer III at {at}");
            let (br, sr, pad) = ((h[2] >> 4) as usize, ((h[2] >> 2) & 3) as usize, ((h[2] >> 1) & 1) as usize);
            assert!((1..15).contains(&br) && sr < 3, "bad bitrate/sample rate at {at}");
            at += 144 * KBPS[br] * 1000 / HZ[sr] + pad;
            n += 1;
        }
        assert_eq!(at, b.len(), "the last frame is cut short");
        n
    }

    #[test]
    fn placeholders_have_the_right_magic() {
        assert_eq!(&Format::Png.placeholder().bytes[..8], b"\x89PNG\r\n\x1a\n");
        assert_eq!(&Format::Mp4.placeholder().bytes[4..8], b"ftyp");
        let wav = Format::Wav.placeholder().bytes;
        assert_eq!((&wav[..4], &wav[8..12]), (&b"RIFF"[..], &b"WAVE"[..]));
        assert_eq!(u32::from_le_bytes(wav[4..8].try_into().unwrap()) as usize, wav.len() - 8);
        // 28 frames of 36 ms.
        assert_eq!(mp3_frames(Format::Mp3.placeholder().bytes), 28);
        let svg = std::str::from_utf8(Format::Svg.placeholder().bytes).unwrap();
        assert!(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\"") && svg.trim_end().ends_with("</svg>"));
        for f in ALL_FORMATS {
            assert_eq!(Format::from_ext(f.ext()), Some(f));
            assert!(crate::media::ext_for_mime(f.placeholder().mime) == Some(f.ext()), "{f:?}");
            if f != Format::Svg {
                let sniffed = crate::media::sniff(f.placeholder().bytes).unwrap();
                assert_eq!(sniffed.kind, f.kind(), "{f:?}");
            }
        }
        assert_eq!(for_ext("mp4").unwrap().mime, "video/mp4");
        assert_eq!(for_kind(MediaKind::Audio).mime, "audio/mpeg");
        assert!(for_ext("exe").is_none());
    }

    #[test]
    fn wav_when_asked() {
        assert!(asks_for_wav(&json!({"outputFormat": "wav"})));
        assert!(asks_for_wav(&json!({"format": "wav"})));
        assert!(!asks_for_wav(&json!({"format": "mp3"})));
        assert!(!asks_for_wav(&json!({"outputFormat": "ogg_opus"})));
    }
}
