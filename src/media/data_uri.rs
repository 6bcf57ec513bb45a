//! Small files sent inline: data URIs and their length.

use super::local::LocalMedia;

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_and_data_uri() {
        assert_eq!(data_uri("image/png", b""), "data:image/png;base64,");
        assert_eq!(data_uri("a/b", b"f"), "data:a/b;base64,Zg==");
        assert_eq!(data_uri("a/b", b"fo"), "data:a/b;base64,Zm8=");
        assert_eq!(data_uri("a/b", b"foobar"), "data:a/b;base64,Zm9vYmFy");
        assert_eq!(data_uri("image/png", &[0xff, 0xfe, 0xfd]).len() as u64, data_uri_len("image/png", 3));
    }
}
