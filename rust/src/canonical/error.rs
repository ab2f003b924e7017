//! The one error of canonicalization: what went wrong and where, as an RFC 6901 JSON pointer.
//!
//! The pointer is built while the error unwinds (each container adds its own step), so the happy
//! path pays nothing for it.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Step {
    Key(String),
    Index(usize),
}

/// Boxed, so that a `Result` carrying it is one pointer wide: the recursive functions that
/// return one keep small stack frames.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CanonicalError(Box<Inner>);

#[derive(Debug, Clone, PartialEq, Eq)]
struct Inner {
    message: String,
    /// Innermost step first: the order in which unwinding adds them.
    steps: Vec<Step>,
}

impl CanonicalError {
    #[cold]
    pub fn new(message: impl Into<String>) -> CanonicalError {
        CanonicalError(Box::new(Inner {
            message: message.into(),
            steps: Vec::new(),
        }))
    }

    /// The error happened inside member `key` of an object.
    #[cold]
    pub fn in_key(mut self, key: &str) -> CanonicalError {
        self.0.steps.push(Step::Key(key.to_owned()));
        self
    }

    /// The error happened inside element `index` of an array.
    #[cold]
    pub fn in_index(mut self, index: usize) -> CanonicalError {
        self.0.steps.push(Step::Index(index));
        self
    }

    /// What went wrong, without the location.
    pub fn message(&self) -> &str {
        &self.0.message
    }

    /// Where, as an RFC 6901 JSON pointer: `""` is the whole document, `/a/0` is element 0 of
    /// member `a`; `~` and `/` inside keys are written `~0` and `~1`.
    pub fn pointer(&self) -> String {
        let mut out = String::new();
        for step in self.0.steps.iter().rev() {
            out.push('/');
            match step {
                Step::Key(key) => out.push_str(&key.replace('~', "~0").replace('/', "~1")),
                Step::Index(index) => out.push_str(&index.to_string()),
            }
        }
        out
    }
}

impl fmt::Display for CanonicalError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let pointer = self.pointer();
        if pointer.is_empty() {
            write!(
                f,
                "{} (at JSON pointer \"\", the top level)",
                self.0.message
            )
        } else {
            write!(f, "{} (at JSON pointer {:?})", self.0.message, pointer)
        }
    }
}

impl std::error::Error for CanonicalError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pointer_is_built_outermost_first_and_escaped() {
        let err = CanonicalError::new("bad")
            .in_index(3)
            .in_key("a/b~c")
            .in_key("");
        assert_eq!(err.pointer(), "//a~1b~0c/3");
        assert_eq!(err.to_string(), "bad (at JSON pointer \"//a~1b~0c/3\")");
    }

    #[test]
    fn top_level_pointer_is_empty() {
        let err = CanonicalError::new("bad");
        assert_eq!(err.pointer(), "");
        assert!(err.to_string().contains("the top level"));
    }
}
