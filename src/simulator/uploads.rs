//! Ephemeral uploads: `POST /v1/uploads` hands out an S3-style presigned form POST, which the
//! client answers with `multipart/form-data` on `/_sim/uploads/<token>` (no Runway auth); the
//! resulting `runway://` URI is then accepted by generation endpoints for 24 hours.

use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::header::{HeaderValue, CONTENT_TYPE};
use hyper::Request;
use serde_json::{json, Value};

use super::body::SimBody;
use super::state::SimState;
use super::{json_response, Resp, DOC_URL};

/// Runway's (and S3's policy) bounds on an ephemeral upload.
pub const MIN_UPLOAD: u64 = 512;
pub const MAX_UPLOAD: u64 = 200 * 1024 * 1024;
/// The form around the file: fields, part headers, boundaries.
const FORM_OVERHEAD: u64 = 1024 * 1024;

/// `POST /v1/uploads` with `{"filename", "type": "ephemeral"}`.
pub fn create(st: &SimState, body: &Value) -> Resp {
    let mut issues = Vec::new();
    if !body.is_object() {
        issues.push(json!({"code": "invalid_type", "path": [], "message": "Expected object, received ".to_string() + json_type(body)}));
    } else {
        match body.get("filename") {
            None | Some(Value::Null) => issues.push(json!({"code": "invalid_type", "path": ["filename"], "message": "Required"})),
            Some(Value::String(s)) if s.is_empty() => issues.push(
                json!({"code": "too_small", "path": ["filename"], "message": "String must contain at least 1 character(s)"}),
            ),
            Some(Value::String(_)) => {}
            Some(other) => issues.push(
                json!({"code": "invalid_type", "path": ["filename"], "message": format!("Expected string, received {}", json_type(other))}),
            ),
        }
        if body.get("type").and_then(Value::as_str) != Some("ephemeral") {
            issues.push(json!({"code": "invalid_literal", "path": ["type"], "message": "Invalid literal value, expected \"ephemeral\""}));
        }
    }
    if let Some(first) = issues.first() {
        let field = first["path"].get(0).and_then(Value::as_str).unwrap_or("body").to_string();
        return json_response(
            400,
            &json!({"error": format!("Invalid parameter '{field}'"), "issues": issues, "docUrl": DOC_URL}),
        );
    }
    let slot = st.create_upload(body["filename"].as_str().unwrap_or_default());
    let fields: serde_json::Map<String, Value> =
        slot.fields.iter().map(|(k, v)| (k.clone(), Value::String(v.clone()))).collect();
    json_response(
        200,
        &json!({"uploadUrl": format!("{}/_sim/uploads/{}", st.base_url(), slot.token), "fields": fields, "runwayUri": slot.runway_uri}),
    )
}

fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Issues for every `runway://` string in `body` that names no live upload.
pub fn check_runway_uris(st: &SimState, body: &Value) -> Vec<crate::errors::Issue> {
    fn walk(st: &SimState, v: &Value, path: &mut Vec<Value>, out: &mut Vec<crate::errors::Issue>) {
        match v {
            Value::String(s) if s.starts_with("runway://") && !st.runway_uri_valid(s) => {
                out.push(crate::errors::Issue {
                    code: "custom".into(),
                    path: path.clone(),
                    message: "runway:// URI not found or expired".into(),
                })
            }
            Value::Array(a) => {
                for (i, x) in a.iter().enumerate() {
                    path.push(Value::from(i));
                    walk(st, x, path, out);
                    path.pop();
                }
            }
            Value::Object(o) => {
                for (k, x) in o {
                    path.push(Value::from(k.as_str()));
                    walk(st, x, path, out);
                    path.pop();
                }
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(st, body, &mut Vec::new(), &mut out);
    out
}

/// An S3-style XML error (what a presigned POST to S3 answers).
fn s3_error(status: u16, code: &str, message: &str) -> Resp {
    let xml = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code><Message>{}</Message></Error>",
        message.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
    );
    let mut r = Resp::new(SimBody::full(xml));
    *r.status_mut() = hyper::StatusCode::from_u16(status).unwrap_or(hyper::StatusCode::BAD_REQUEST);
    r.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("application/xml"));
    r
}

/// `POST /_sim/uploads/<token>`: the presigned form POST carrying the file.
pub async fn receive(st: &SimState, token: &str, req: Request<Incoming>) -> Resp {
    st.count_upload_post();
    let content_type = req.headers().get(CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
    let Some(slot) = st.open_upload(token) else {
        drain(req).await;
        return s3_error(403, "AccessDenied", "Invalid according to Policy: Policy expired or already used.");
    };
    let Some(boundary) = boundary_of(&content_type) else {
        drain(req).await;
        return s3_error(400, "InvalidArgument", "Bucket POST must be of the enclosure-type multipart/form-data");
    };
    let body = match read_limited(req, MAX_UPLOAD + FORM_OVERHEAD).await {
        Ok(b) => b,
        Err(ReadError::TooLarge) => {
            return s3_error(400, "EntityTooLarge", "Your proposed upload exceeds the maximum allowed size")
        }
        Err(ReadError::Broken) => return s3_error(400, "IncompleteBody", "The request body terminated unexpectedly"),
    };
    let parts = match parse_multipart(&body, &boundary) {
        Ok(p) => p,
        Err(msg) => {
            return s3_error(
                400,
                "MalformedPOSTRequest",
                &format!("The body of your POST request is not well-formed multipart/form-data: {msg}"),
            )
        }
    };
    for (name, want) in &slot.fields {
        // S3 ignores form fields after the file.
        let Some(p) = parts.iter().take_while(|p| p.name != "file").find(|p| p.name.eq_ignore_ascii_case(name)) else {
            return s3_error(400, "InvalidArgument", &format!("Bucket POST must contain a field named '{name}'."));
        };
        if body[p.data.clone()] != *want.as_bytes() {
            return s3_error(
                400,
                "InvalidArgument",
                &format!("Invalid according to Policy: Policy Condition failed: [\"eq\", \"${name}\", \"{want}\"]"),
            );
        }
    }
    let Some(file) = parts.iter().find(|p| p.name == "file" && p.filename.is_some()) else {
        return s3_error(400, "InvalidArgument", "POST requires exactly one file upload per request.");
    };
    let size = file.data.len() as u64;
    if size < MIN_UPLOAD {
        return s3_error(400, "EntityTooSmall", "Your proposed upload is smaller than the minimum allowed size");
    }
    if size > MAX_UPLOAD {
        return s3_error(400, "EntityTooLarge", "Your proposed upload exceeds the maximum allowed size");
    }
    let head = &body[file.data.start..file.data.start + (size as usize).min(super::state::UPLOAD_HEAD_BYTES)];
    if !st.complete_upload(token, size, head) {
        return s3_error(403, "AccessDenied", "Invalid according to Policy: Policy expired or already used.");
    }
    super::empty(204)
}

enum ReadError {
    TooLarge,
    Broken,
}

/// Reads the whole body, refusing more than `limit` bytes (one buffer; no second copy).
async fn read_limited(req: Request<Incoming>, limit: u64) -> Result<Vec<u8>, ReadError> {
    let hint = req.headers().get("content-length").and_then(|v| v.to_str().ok()).and_then(|s| s.parse::<u64>().ok());
    if hint.is_some_and(|n| n > limit) {
        drain(req).await;
        return Err(ReadError::TooLarge);
    }
    let mut body = req.into_body();
    let mut buf = Vec::with_capacity(hint.unwrap_or(64 * 1024) as usize);
    while let Some(frame) = body.frame().await {
        let Ok(frame) = frame else { return Err(ReadError::Broken) };
        if let Ok(data) = frame.into_data() {
            if (buf.len() + data.len()) as u64 > limit {
                while let Some(Ok(_)) = body.frame().await {}
                return Err(ReadError::TooLarge);
            }
            buf.extend_from_slice(&data);
        }
    }
    Ok(buf)
}

/// Reads and discards a body (so the client can finish sending and read our answer).
async fn drain(req: Request<Incoming>) {
    let mut body = req.into_body();
    let mut seen = 0u64;
    while let Some(Ok(frame)) = body.frame().await {
        seen += frame.data_ref().map_or(0, |d| d.len() as u64);
        if seen > MAX_UPLOAD + FORM_OVERHEAD {
            break;
        }
    }
}

/// The boundary parameter of a `multipart/form-data` Content-Type.
fn boundary_of(content_type: &str) -> Option<String> {
    let mut it = content_type.split(';');
    if !it.next()?.trim().eq_ignore_ascii_case("multipart/form-data") {
        return None;
    }
    params(it.collect::<Vec<_>>().join(";").as_str())
        .into_iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("boundary"))
        .map(|(_, v)| v)
        .filter(|b| !b.is_empty() && b.len() <= 200)
}

/// `a=1; b="x;y"` → [(a, 1), (b, x;y)], honouring quotes and backslash escapes.
fn params(s: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut chars = s.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| *c == ';' || c.is_whitespace()) {
            chars.next();
        }
        if chars.peek().is_none() {
            break;
        }
        let mut key = String::new();
        while let Some(&c) = chars.peek() {
            if c == '=' || c == ';' {
                break;
            }
            key.push(c);
            chars.next();
        }
        let mut val = String::new();
        if chars.peek() == Some(&'=') {
            chars.next();
            while chars.peek().is_some_and(|c| c.is_whitespace()) {
                chars.next();
            }
            if chars.peek() == Some(&'"') {
                chars.next();
                while let Some(c) = chars.next() {
                    match c {
                        '"' => break,
                        '\\' => {
                            if let Some(n) = chars.next() {
                                val.push(n);
                            }
                        }
                        c => val.push(c),
                    }
                }
                while chars.peek().is_some_and(|c| *c != ';') {
                    chars.next();
                }
            } else {
                while let Some(&c) = chars.peek() {
                    if c == ';' {
                        break;
                    }
                    val.push(c);
                    chars.next();
                }
                val = val.trim().to_string();
            }
        }
        out.push((key.trim().to_string(), val));
    }
    out
}

#[derive(Debug)]
struct Part {
    name: String,
    filename: Option<String>,
    /// Where the part's content lies in the body.
    data: std::ops::Range<usize>,
}

/// Splits a `multipart/form-data` body into its parts (RFC 7578 / RFC 2046 §5.1.1).
fn parse_multipart(body: &[u8], boundary: &str) -> Result<Vec<Part>, String> {
    let dash = format!("--{boundary}");
    let delim = format!("\r\n--{boundary}");
    // The first delimiter may open the body without a preceding CRLF.
    let mut pos = if body.starts_with(dash.as_bytes()) {
        dash.len()
    } else {
        find(body, delim.as_bytes(), 0).ok_or("no boundary found")? + delim.len()
    };
    let mut parts = Vec::new();
    loop {
        if body[pos..].starts_with(b"--") {
            return Ok(parts);
        }
        // Transport padding, then CRLF.
        while pos < body.len() && (body[pos] == b' ' || body[pos] == b'\t') {
            pos += 1;
        }
        if !body[pos..].starts_with(b"\r\n") {
            return Err("a boundary is not followed by CRLF".into());
        }
        pos += 2;
        let (headers, content_start) = if body[pos..].starts_with(b"\r\n") {
            ("", pos + 2)
        } else {
            let e =
                find(body, b"\r\n\r\n", pos).filter(|&e| e - pos <= 16 * 1024).ok_or("a part has no end of headers")?;
            (std::str::from_utf8(&body[pos..e]).map_err(|_| "part headers are not UTF-8")?, e + 4)
        };
        let mut name = None;
        let mut filename = None;
        for line in headers.split("\r\n") {
            let Some((k, v)) = line.split_once(':') else { continue };
            if k.trim().eq_ignore_ascii_case("content-disposition") {
                let mut it = v.split(';');
                if !it.next().unwrap_or("").trim().eq_ignore_ascii_case("form-data") {
                    return Err("a part's Content-Disposition is not form-data".into());
                }
                for (pk, pv) in params(&it.collect::<Vec<_>>().join(";")) {
                    if pk.eq_ignore_ascii_case("name") {
                        name = Some(pv);
                    } else if pk.eq_ignore_ascii_case("filename") {
                        filename = Some(pv);
                    }
                }
            }
        }
        let end = find(body, delim.as_bytes(), content_start).ok_or("the closing boundary is missing")?;
        parts.push(Part { name: name.ok_or("a part has no name")?, filename, data: content_start..end });
        pos = end + delim.len();
    }
}

/// First index of `needle` in `hay` at or after `from` (Boyer–Moore–Horspool: fast enough to
/// scan a 200 MiB upload for a boundary even in a debug build).
fn find(hay: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    let m = needle.len();
    if m == 0 || from > hay.len() || hay.len() - from < m {
        return if m == 0 { Some(from.min(hay.len())) } else { None };
    }
    let mut skip = [m; 256];
    for (i, &b) in needle[..m - 1].iter().enumerate() {
        skip[b as usize] = m - 1 - i;
    }
    let last = needle[m - 1];
    let mut i = from;
    while i + m <= hay.len() {
        let c = hay[i + m - 1];
        if c == last && hay[i..i + m - 1] == needle[..m - 1] {
            return Some(i);
        }
        i += skip[c as usize];
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn horspool_finds_first_match() {
        assert_eq!(find(b"abcabcabd", b"abd", 0), Some(6));
        assert_eq!(find(b"abcabcabd", b"abc", 1), Some(3));
        assert_eq!(find(b"aaaa", b"aaa", 0), Some(0));
        assert_eq!(find(b"aaaa", b"aaa", 2), None);
        assert_eq!(find(b"xy", b"xyz", 0), None);
    }

    #[test]
    fn boundary_and_params() {
        assert_eq!(boundary_of("multipart/form-data; boundary=abc").as_deref(), Some("abc"));
        assert_eq!(boundary_of("Multipart/Form-Data; charset=x; boundary=\"a b;c\"").as_deref(), Some("a b;c"));
        assert_eq!(boundary_of("application/json"), None);
        assert_eq!(boundary_of("multipart/form-data"), None);
        let p = params(r#" name="file"; filename="a \"q\".png""#);
        assert_eq!(p, vec![("name".into(), "file".into()), ("filename".into(), "a \"q\".png".into())]);
    }

    #[test]
    fn multipart_parts() {
        let body = b"preamble\r\n--XX\r\nContent-Disposition: form-data; name=\"key\"\r\n\r\nk/v\r\n--XX  \r\ncontent-disposition: form-data; name=\"file\"; filename=\"f.png\"\r\nContent-Type: image/png\r\n\r\n\r\n--X\r\n\r\n--XX--\r\n";
        let parts = parse_multipart(body, "XX").unwrap();
        assert_eq!(parts.len(), 2);
        assert_eq!((parts[0].name.as_str(), &body[parts[0].data.clone()]), ("key", &b"k/v"[..]));
        assert_eq!(parts[1].filename.as_deref(), Some("f.png"));
        assert_eq!(&body[parts[1].data.clone()], b"\r\n--X\r\n");
        assert!(parse_multipart(b"--XX\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nno end", "XX").is_err());
        assert!(parse_multipart(b"nothing here", "XX").is_err());
    }
}
