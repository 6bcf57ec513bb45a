//! Response bodies of the simulator: either a small buffer (JSON, errors) or an output file
//! streamed in chunks, so a multi-gigabyte `[sim:output_bytes=N]` video never sits in memory.
//! Also the byte-range arithmetic of `Range: bytes=...` requests.

use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use hyper::body::{Body, Frame, SizeHint};

/// Chunk size of streamed outputs.
pub const CHUNK: usize = 256 * 1024;
static ZEROS: [u8; CHUNK] = [0u8; CHUNK];

/// A response body: a buffer sent at once, or a byte range of a virtual output file.
pub enum SimBody {
    Full(Option<Bytes>),
    Output(OutputStream),
}

impl SimBody {
    pub fn full(b: impl Into<Bytes>) -> Self {
        let b = b.into();
        SimBody::Full(if b.is_empty() { None } else { Some(b) })
    }

    pub fn empty() -> Self {
        SimBody::Full(None)
    }
}

impl Body for SimBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        match self.get_mut() {
            SimBody::Full(b) => Poll::Ready(b.take().map(|b| Ok(Frame::data(b)))),
            SimBody::Output(s) => Poll::Ready(s.next_chunk().map(|b| Ok(Frame::data(b)))),
        }
    }

    fn is_end_stream(&self) -> bool {
        match self {
            SimBody::Full(b) => b.is_none(),
            SimBody::Output(s) => s.pos >= s.end,
        }
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            SimBody::Full(b) => SizeHint::with_exact(b.as_ref().map_or(0, |b| b.len() as u64)),
            SimBody::Output(s) => SizeHint::with_exact(s.end.saturating_sub(s.pos)),
        }
    }
}

/// An output file of exactly `total` bytes: the placeholder, then (when padded) one MP4 `free`
/// box whose payload is zeros. Nothing but the box header is ever allocated.
#[derive(Debug, Clone)]
pub struct OutputFile {
    pub placeholder: &'static [u8],
    /// Header of the padding box (empty when there is no padding).
    pub pad_header: Vec<u8>,
    pub total: u64,
}

impl OutputFile {
    /// The placeholder alone, or (for `padded_to` ≥ placeholder + 8) padded with a `free` box to
    /// exactly `padded_to` bytes. Boxes above 4 GiB use the 64-bit `largesize` form.
    pub fn new(placeholder: &'static [u8], padded_to: Option<u64>) -> Self {
        let base = placeholder.len() as u64;
        let pad = padded_to.map_or(0, |n| n.saturating_sub(base));
        if pad < 8 {
            return OutputFile { placeholder, pad_header: Vec::new(), total: base };
        }
        let mut h = Vec::with_capacity(16);
        if pad <= u32::MAX as u64 {
            h.extend_from_slice(&(pad as u32).to_be_bytes());
            h.extend_from_slice(b"free");
        } else {
            h.extend_from_slice(&1u32.to_be_bytes());
            h.extend_from_slice(b"free");
            h.extend_from_slice(&pad.to_be_bytes());
        }
        OutputFile { placeholder, pad_header: h, total: base + pad }
    }

    /// Streams bytes `start..end` (end exclusive).
    pub fn stream(self, start: u64, end: u64) -> OutputStream {
        OutputStream { end: end.min(self.total), pos: start.min(end), file: self }
    }
}

pub struct OutputStream {
    file: OutputFile,
    pos: u64,
    end: u64,
}

impl OutputStream {
    fn next_chunk(&mut self) -> Option<Bytes> {
        if self.pos >= self.end {
            return None;
        }
        let ph = self.file.placeholder;
        let ph_len = ph.len() as u64;
        let hdr_end = ph_len + self.file.pad_header.len() as u64;
        let chunk = if self.pos < ph_len {
            let to = self.end.min(ph_len);
            Bytes::from_static(&ph[self.pos as usize..to as usize])
        } else if self.pos < hdr_end {
            let to = self.end.min(hdr_end);
            Bytes::copy_from_slice(&self.file.pad_header[(self.pos - ph_len) as usize..(to - ph_len) as usize])
        } else {
            let n = (self.end - self.pos).min(CHUNK as u64) as usize;
            Bytes::from_static(&ZEROS[..n])
        };
        self.pos += chunk.len() as u64;
        Some(chunk)
    }
}

/// What a `Range` header asks of a representation of `total` bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RangeAsk {
    /// No (usable) range: send everything with 200.
    Full,
    /// Send bytes `start..=last` with 206.
    Part { start: u64, last: u64 },
    /// 416 with `Content-Range: bytes */total`.
    Unsatisfiable,
}

/// Parses a single `bytes=a-b`, `bytes=a-` or `bytes=-n` range (RFC 9110 §14.1.2). Malformed
/// headers and multi-range requests are ignored (the whole file is sent), as the RFC allows.
pub fn parse_range(header: Option<&str>, total: u64) -> RangeAsk {
    let Some(h) = header else { return RangeAsk::Full };
    let Some(spec) = h.trim().strip_prefix("bytes=") else { return RangeAsk::Full };
    let spec = spec.trim();
    if spec.contains(',') {
        return RangeAsk::Full;
    }
    let Some((a, b)) = spec.split_once('-') else { return RangeAsk::Full };
    let (a, b) = (a.trim(), b.trim());
    let num = |s: &str| -> Option<u64> {
        (!s.is_empty() && s.bytes().all(|c| c.is_ascii_digit())).then(|| s.parse().ok()).flatten()
    };
    if a.is_empty() {
        // Suffix: the last n bytes.
        let Some(n) = num(b) else { return RangeAsk::Full };
        if n == 0 || total == 0 {
            return RangeAsk::Unsatisfiable;
        }
        return RangeAsk::Part { start: total - n.min(total), last: total - 1 };
    }
    let Some(start) = num(a) else { return RangeAsk::Full };
    let last = if b.is_empty() {
        u64::MAX
    } else {
        match num(b) {
            Some(l) if l >= start => l,
            _ => return RangeAsk::Full,
        }
    };
    if start >= total {
        return RangeAsk::Unsatisfiable;
    }
    RangeAsk::Part { start, last: last.min(total - 1) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;

    #[test]
    fn ranges() {
        assert_eq!(parse_range(None, 100), RangeAsk::Full);
        assert_eq!(parse_range(Some("bytes=0-9"), 100), RangeAsk::Part { start: 0, last: 9 });
        assert_eq!(parse_range(Some("bytes=90-"), 100), RangeAsk::Part { start: 90, last: 99 });
        assert_eq!(parse_range(Some("bytes=90-500"), 100), RangeAsk::Part { start: 90, last: 99 });
        assert_eq!(parse_range(Some("bytes=-10"), 100), RangeAsk::Part { start: 90, last: 99 });
        assert_eq!(parse_range(Some("bytes=-1000"), 100), RangeAsk::Part { start: 0, last: 99 });
        assert_eq!(parse_range(Some("bytes=100-"), 100), RangeAsk::Unsatisfiable);
        assert_eq!(parse_range(Some("bytes=-0"), 100), RangeAsk::Unsatisfiable);
        assert_eq!(parse_range(Some("bytes=5-2"), 100), RangeAsk::Full);
        assert_eq!(parse_range(Some("bytes=0-1,5-6"), 100), RangeAsk::Full);
        assert_eq!(parse_range(Some("items=0-1"), 100), RangeAsk::Full);
        assert_eq!(parse_range(Some("bytes=x-1"), 100), RangeAsk::Full);
    }

    async fn collect(f: OutputFile, a: u64, b: u64) -> Vec<u8> {
        SimBody::Output(f.stream(a, b)).collect().await.unwrap().to_bytes().to_vec()
    }

    #[tokio::test]
    async fn padded_output_is_the_placeholder_and_a_free_box() {
        static PH: &[u8] = b"0123456789";
        let f = OutputFile::new(PH, Some(CHUNK as u64 * 2 + 100));
        assert_eq!(f.total, CHUNK as u64 * 2 + 100);
        let all = collect(f.clone(), 0, f.total).await;
        assert_eq!(all.len() as u64, f.total);
        assert_eq!(&all[..10], PH);
        assert_eq!(u32::from_be_bytes(all[10..14].try_into().unwrap()) as u64, f.total - 10);
        assert_eq!(&all[14..18], b"free");
        assert!(all[18..].iter().all(|&b| b == 0));
        // Any slice of the stream equals the same slice of the whole.
        for (a, b) in [(0, 1), (5, 16), (12, 20), (9, 300_000), (f.total - 3, f.total)] {
            assert_eq!(collect(f.clone(), a, b).await, &all[a as usize..b as usize], "{a}..{b}");
        }
        // Too small to pad: the placeholder alone.
        assert_eq!(OutputFile::new(PH, Some(17)).total, 10);
        assert_eq!(OutputFile::new(PH, Some(18)).total, 18);
        assert_eq!(OutputFile::new(PH, None).total, 10);
        let big = OutputFile::new(PH, Some(5 << 30));
        assert_eq!((big.total, &big.pad_header[..8]), (5 << 30, &[0, 0, 0, 1, b'f', b'r', b'e', b'e'][..]));
        assert_eq!(u64::from_be_bytes(big.pad_header[8..16].try_into().unwrap()), (5 << 30) - 10);
    }
}
