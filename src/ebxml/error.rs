//! Why an ebXML RegRep 3.0 message could not be decoded (STYLE lesson 7: errors say where).
//!
//! Every variant carries the element path (with our canonical prefixes `rim:`, `rs:`, `lcm:`,
//! `query:`, `xdsb:`, whatever prefixes the sender used) and the [`Position`] of the element in the
//! input. The mapping to an IHE error code depends on the transaction (ITI-41 answers
//! `XDSRepositoryMetadataError`, ITI-42 `XDSRegistryMetadataError`, ...), so it lives with the
//! transaction, not here.

use crate::xml::Position;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// An element the schema does not allow at that place (wrong order, unknown element).
    #[error("{path}: unexpected element <{found}> at {at}; expected {}", expected_list(.expected))]
    UnexpectedElement {
        path: String,
        found: String,
        /// What the schema allows at that place, in schema order.
        expected: Vec<String>,
        at: Position,
    },
    /// A required child element is missing.
    #[error("{path}: missing element <{missing}> in the element that starts at {at}")]
    MissingElement {
        path: String,
        missing: String,
        at: Position,
    },
    #[error("{path}: missing required attribute '{attribute}' (element at {at})")]
    MissingAttribute {
        path: String,
        attribute: String,
        at: Position,
    },
    #[error(
        "{path}: attribute '{attribute}' has the invalid value '{value}', expected {expected} (element at {at})"
    )]
    InvalidAttribute {
        path: String,
        attribute: String,
        value: String,
        expected: &'static str,
        at: Position,
    },
    /// Non-whitespace text inside an element that holds only elements.
    #[error("{path}: text is not allowed in this element (element at {at})")]
    UnexpectedText { path: String, at: Position },
    /// MTOM content (a resolved `xop:Include`) where the schema has no binary content.
    #[error(
        "{path}: binary (xop:Include) content is not allowed in this element (element at {at})"
    )]
    UnexpectedBinary { path: String, at: Position },
    #[error("{path}: the content is not valid base64 ({reason}) (element at {at})")]
    InvalidBase64 {
        path: String,
        reason: String,
        at: Position,
    },
    /// A valid ebRIM object type that XDS metadata does not use (ITI TF-3 §4.2.1), such as
    /// `rim:ClassificationNode` or `rim:Service`.
    #[error(
        "{path}: <{element}> objects are not part of XDS metadata (ITI TF-3 4.2.1) and are not accepted (at {at})"
    )]
    UnsupportedObject {
        path: String,
        element: String,
        at: Position,
    },
    #[error("unexpected root element <{found}> at {at}; expected {}", expected_list(.expected))]
    UnexpectedRoot {
        found: String,
        expected: Vec<String>,
        at: Position,
    },
}

impl DecodeError {
    /// The element path the error is about (`/` for a wrong root).
    pub fn path(&self) -> &str {
        match self {
            DecodeError::UnexpectedElement { path, .. }
            | DecodeError::MissingElement { path, .. }
            | DecodeError::MissingAttribute { path, .. }
            | DecodeError::InvalidAttribute { path, .. }
            | DecodeError::UnexpectedText { path, .. }
            | DecodeError::UnexpectedBinary { path, .. }
            | DecodeError::InvalidBase64 { path, .. }
            | DecodeError::UnsupportedObject { path, .. } => path,
            DecodeError::UnexpectedRoot { .. } => "/",
        }
    }

    /// Where in the input the offending element starts.
    pub fn position(&self) -> Position {
        match self {
            DecodeError::UnexpectedElement { at, .. }
            | DecodeError::MissingElement { at, .. }
            | DecodeError::MissingAttribute { at, .. }
            | DecodeError::InvalidAttribute { at, .. }
            | DecodeError::UnexpectedText { at, .. }
            | DecodeError::UnexpectedBinary { at, .. }
            | DecodeError::InvalidBase64 { at, .. }
            | DecodeError::UnsupportedObject { at, .. }
            | DecodeError::UnexpectedRoot { at, .. } => *at,
        }
    }
}

fn expected_list(expected: &[String]) -> String {
    match expected {
        [] => "no further element".to_string(),
        [one] => format!("<{one}>"),
        many => {
            let names: Vec<String> = many.iter().map(|n| format!("<{n}>")).collect();
            format!("one of {}", names.join(", "))
        }
    }
}
