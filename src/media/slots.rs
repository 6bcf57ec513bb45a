//! Where a request body holds media (its slots, found from the catalogue's spec), stand-ins for
//! local inputs so the body can be checked before any file is read, and errors re-pathed to the
//! slot they came from.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde_json::Value;

use super::input::{classify, InputRef};
use crate::catalogue::{Field, MediaKind, Spec};
use crate::errors::{Error, Issue, Result};

/// A media value inside a request body: where it is (JSON pointer) and what kind it must be.
#[derive(Debug, Clone, PartialEq)]
pub struct MediaSlot {
    pub pointer: String,
    pub kind: MediaKind,
    pub value: String,
}

/// Finds the string values of `body` that the spec says are media (so they can be resolved).
pub fn media_slots(fields: &BTreeMap<String, Field>, body: &Value) -> Vec<MediaSlot> {
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
pub fn with_placeholders(fields: &BTreeMap<String, Field>, body: &Value) -> Result<Value> {
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

/// `e`, a failure of the input in the slot at `pointer`, saying which field it was for.
pub(crate) fn slot_error(pointer: &str, e: Error) -> Error {
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
        Error::InFlight(m) => Error::InFlight(format!("{field}: {m}")),
        other => Error::Other(format!("{field}: {other}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalogue::catalogue;
    use serde_json::json;

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
