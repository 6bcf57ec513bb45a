//! What an input string refers to: a URL Runway fetches itself, an earlier task's output, or a
//! local file.

use std::path::{Path, PathBuf};

use crate::errors::{Error, Issue, Result};
use crate::tasks::is_task_id;

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
    if is_task_id(id) {
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

pub(crate) fn input_error(input: &str, why: &str) -> Error {
    let shown: String = input.chars().take(120).collect();
    Error::validation(
        vec![Issue { code: "invalid_string".into(), path: vec![], message: format!("'{shown}': {why}") }],
        "",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
