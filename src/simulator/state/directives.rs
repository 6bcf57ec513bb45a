//! `[sim:...]` directives in a prompt, which choose a task's fate.

use super::tasks::Outcome;

/// Test hooks written into a prompt, e.g. `a cat [sim:seconds=2] [sim:fail=SAFETY.INPUT.TEXT]`.
/// They let a test (or a person trying the server) choose a task's fate through any client.
#[derive(Debug, PartialEq)]
pub(in crate::simulator) struct Directives {
    pub seconds: Option<f64>,
    pub outputs: Option<usize>,
    pub outcome: Outcome,
    pub output_bytes: Option<u64>,
}

impl Directives {
    pub fn parse(prompt: &str) -> Self {
        let mut d = Directives { seconds: None, outputs: None, outcome: Outcome::Succeed, output_bytes: None };
        let mut rest = prompt;
        while let Some(i) = rest.find("[sim:") {
            let after = &rest[i + 5..];
            let Some(j) = after.find(']') else { break };
            let (key, val) = match after[..j].split_once('=') {
                Some((k, v)) => (k.trim(), Some(v.trim())),
                None => (after[..j].trim(), None),
            };
            match key {
                "seconds" => d.seconds = val.and_then(|v| v.parse().ok()),
                "outputs" => d.outputs = val.and_then(|v| v.parse().ok()),
                "output_bytes" => d.output_bytes = val.and_then(|v| v.parse().ok()),
                "cancelled" => d.outcome = Outcome::Cancel,
                "fail" => {
                    let code = val.unwrap_or("INTERNAL.BAD_OUTPUT.01").to_string();
                    let message = if code.starts_with("SAFETY") {
                        "The input or output was flagged by content moderation.".to_string()
                    } else {
                        "The generation failed (simulated failure).".to_string()
                    };
                    d.outcome = Outcome::Fail { code, message };
                }
                _ => {}
            }
            rest = &after[j + 1..];
        }
        d
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directives() {
        let d = Directives::parse("cat [sim:seconds=2.5] [sim:fail=SAFETY.INPUT.TEXT] [sim:outputs=3]");
        assert_eq!(d.seconds, Some(2.5));
        assert_eq!(d.outputs, Some(3));
        assert_eq!(d.output_bytes, None);
        assert_eq!(Directives::parse("big [sim:output_bytes=5000000]").output_bytes, Some(5_000_000));
        assert!(matches!(d.outcome, Outcome::Fail { ref code, .. } if code == "SAFETY.INPUT.TEXT"));
        assert_eq!(Directives::parse("plain").outcome, Outcome::Succeed);
        assert_eq!(Directives::parse("x [sim:cancelled]").outcome, Outcome::Cancel);
    }
}
