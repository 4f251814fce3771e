//! ebRS 3.0 request/response base types (OASIS regrep-rs-3.0-os §2.1; schema `rs.xsd`):
//! `rs:RegistryResponse` with its `rs:RegistryErrorList`, the response statuses (including the
//! IHE PartialSuccess of ITI TF-3 §4.2.4), and the `RegistryRequestType` part every request
//! shares.

use super::DecodeError;
use super::reader::{Child, Path, Seq, attr, req_attr, text_only};
use super::rim::{Slot, decode_slots};
use super::writer::Writer;
use super::{RIM_NS, RS_NS, WireMessage};
use crate::xml::Element;

pub const STATUS_SUCCESS: &str = "urn:oasis:names:tc:ebxml-regrep:ResponseStatusType:Success";
pub const STATUS_FAILURE: &str = "urn:oasis:names:tc:ebxml-regrep:ResponseStatusType:Failure";
pub const STATUS_PARTIAL_SUCCESS: &str =
    "urn:oasis:names:tc:ebxml-regrep:ResponseStatusType:PartialSuccess";
/// The PartialSuccess status IHE defined before ebRS had one (ITI TF-3 §4.2.4).
pub const STATUS_IHE_PARTIAL_SUCCESS: &str = "urn:ihe:iti:2007:ResponseStatusType:PartialSuccess";
pub const SEVERITY_ERROR: &str = "urn:oasis:names:tc:ebxml-regrep:ErrorSeverityType:Error";
pub const SEVERITY_WARNING: &str = "urn:oasis:names:tc:ebxml-regrep:ErrorSeverityType:Warning";

/// `rs:RegistryResponse/@status`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResponseStatus {
    Success,
    Failure,
    PartialSuccess,
    /// `urn:ihe:iti:2007:ResponseStatusType:PartialSuccess`.
    IhePartialSuccess,
    /// Another URI a peer sent (the schema type is `referenceURI`).
    Other(String),
}

impl ResponseStatus {
    pub fn as_str(&self) -> &str {
        match self {
            ResponseStatus::Success => STATUS_SUCCESS,
            ResponseStatus::Failure => STATUS_FAILURE,
            ResponseStatus::PartialSuccess => STATUS_PARTIAL_SUCCESS,
            ResponseStatus::IhePartialSuccess => STATUS_IHE_PARTIAL_SUCCESS,
            ResponseStatus::Other(s) => s,
        }
    }

    pub fn parse(s: &str) -> ResponseStatus {
        match s.trim() {
            STATUS_SUCCESS => ResponseStatus::Success,
            STATUS_FAILURE => ResponseStatus::Failure,
            STATUS_PARTIAL_SUCCESS => ResponseStatus::PartialSuccess,
            STATUS_IHE_PARTIAL_SUCCESS => ResponseStatus::IhePartialSuccess,
            other => ResponseStatus::Other(other.to_string()),
        }
    }
}

/// `rs:RegistryError/@severity` and `rs:RegistryErrorList/@highestSeverity`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ErrorSeverity {
    Error,
    Warning,
    Other(String),
}

impl ErrorSeverity {
    pub fn as_str(&self) -> &str {
        match self {
            ErrorSeverity::Error => SEVERITY_ERROR,
            ErrorSeverity::Warning => SEVERITY_WARNING,
            ErrorSeverity::Other(s) => s,
        }
    }

    pub fn parse(s: &str) -> ErrorSeverity {
        match s.trim() {
            SEVERITY_ERROR => ErrorSeverity::Error,
            SEVERITY_WARNING => ErrorSeverity::Warning,
            other => ErrorSeverity::Other(other.to_string()),
        }
    }
}

/// `rs:RegistryError`: one error or warning.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RegistryError {
    pub error_code: String,
    pub code_context: String,
    pub location: Option<String>,
    /// Absent means Error (schema default).
    pub severity: Option<ErrorSeverity>,
    /// The element's text content.
    pub message: String,
}

impl RegistryError {
    fn decode((el, path): Child<'_>) -> Result<RegistryError, DecodeError> {
        Ok(RegistryError {
            error_code: req_attr(el, &path, "errorCode")?,
            code_context: req_attr(el, &path, "codeContext")?,
            location: attr(el, "location"),
            severity: el.attr("severity").map(ErrorSeverity::parse),
            message: text_only(el, &path)?,
        })
    }

    fn encode(&self, w: &mut Writer) {
        w.start("rs:RegistryError");
        w.attr("errorCode", &self.error_code);
        w.attr("codeContext", &self.code_context);
        w.opt_attr("location", self.location.as_deref());
        w.opt_attr(
            "severity",
            self.severity.as_ref().map(ErrorSeverity::as_str),
        );
        w.text(&self.message);
        w.end();
    }
}

/// `rs:RegistryErrorList`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RegistryErrorList {
    pub highest_severity: Option<ErrorSeverity>,
    pub errors: Vec<RegistryError>,
}

impl RegistryErrorList {
    /// A list whose `highestSeverity` is computed from `errors`.
    pub fn new(errors: Vec<RegistryError>) -> RegistryErrorList {
        let any_error = errors
            .iter()
            .any(|e| matches!(e.severity, None | Some(ErrorSeverity::Error)));
        RegistryErrorList {
            highest_severity: Some(if any_error {
                ErrorSeverity::Error
            } else {
                ErrorSeverity::Warning
            }),
            errors,
        }
    }

    fn decode((el, path): Child<'_>) -> Result<RegistryErrorList, DecodeError> {
        let mut seq = Seq::new(el, &path)?;
        let errors = seq
            .many(RS_NS, "RegistryError")
            .into_iter()
            .map(RegistryError::decode)
            .collect::<Result<_, _>>()?;
        seq.end()?;
        Ok(RegistryErrorList {
            highest_severity: el.attr("highestSeverity").map(ErrorSeverity::parse),
            errors,
        })
    }

    fn encode(&self, w: &mut Writer) {
        w.start("rs:RegistryErrorList");
        w.opt_attr(
            "highestSeverity",
            self.highest_severity.as_ref().map(ErrorSeverity::as_str),
        );
        for e in &self.errors {
            e.encode(w);
        }
        w.end();
    }
}

/// `rs:RegistryResponse` (rs.xsd `RegistryResponseType`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistryResponse {
    pub status: ResponseStatus,
    pub request_id: Option<String>,
    /// `rs:ResponseSlotList` (written only when not empty).
    pub response_slots: Vec<Slot>,
    pub errors: Option<RegistryErrorList>,
}

impl RegistryResponse {
    pub fn success() -> RegistryResponse {
        RegistryResponse {
            status: ResponseStatus::Success,
            request_id: None,
            response_slots: Vec::new(),
            errors: None,
        }
    }

    /// Reads the `RegistryResponseType` part; the caller reads what its subtype adds.
    pub(crate) fn decode_base(
        el: &Element,
        path: &Path,
        seq: &mut Seq<'_>,
    ) -> Result<RegistryResponse, DecodeError> {
        let status = ResponseStatus::parse(&req_attr(el, path, "status")?);
        let response_slots = match seq.opt(RS_NS, "ResponseSlotList") {
            Some((list, lpath)) => {
                let mut s = Seq::new(list, &lpath)?;
                let slots = decode_slots(s.many(RIM_NS, "Slot"))?;
                s.end()?;
                slots
            }
            None => Vec::new(),
        };
        let errors = seq
            .opt(RS_NS, "RegistryErrorList")
            .map(RegistryErrorList::decode)
            .transpose()?;
        Ok(RegistryResponse {
            status,
            request_id: attr(el, "requestId"),
            response_slots,
            errors,
        })
    }

    pub(crate) fn encode_attrs(&self, w: &mut Writer) {
        w.attr("status", self.status.as_str());
        w.opt_attr("requestId", self.request_id.as_deref());
    }

    pub(crate) fn encode_content(&self, w: &mut Writer) {
        if !self.response_slots.is_empty() {
            w.start("rs:ResponseSlotList");
            for s in &self.response_slots {
                s.encode(w);
            }
            w.end();
        }
        if let Some(e) = &self.errors {
            e.encode(w);
        }
    }

    /// Decodes an `rs:RegistryResponse` that is not the root (as inside ITI-43's response).
    pub(crate) fn decode_child((el, path): Child<'_>) -> Result<RegistryResponse, DecodeError> {
        let mut seq = Seq::new(el, &path)?;
        let r = RegistryResponse::decode_base(el, &path, &mut seq)?;
        seq.end()?;
        Ok(r)
    }

    pub(crate) fn encode_element(&self, w: &mut Writer, declare_ns: bool) {
        w.start("rs:RegistryResponse");
        if declare_ns {
            w.attr("xmlns:rs", RS_NS);
            if !self.response_slots.is_empty() {
                w.attr("xmlns:rim", RIM_NS);
            }
        }
        self.encode_attrs(w);
        self.encode_content(w);
        w.end();
    }
}

impl WireMessage for RegistryResponse {
    const ROOT: (&'static str, &'static str) = (RS_NS, "RegistryResponse");

    fn decode_root(el: &Element, path: &Path) -> Result<Self, DecodeError> {
        let mut seq = Seq::new(el, path)?;
        let r = RegistryResponse::decode_base(el, path, &mut seq)?;
        seq.end()?;
        Ok(r)
    }

    fn encode_root(&self, w: &mut Writer) {
        self.encode_element(w, true);
    }
}

/// The part every ebRS request has (rs.xsd `RegistryRequestType`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RegistryRequest {
    pub id: Option<String>,
    pub comment: Option<String>,
    /// `rs:RequestSlotList` (written only when not empty).
    pub request_slots: Vec<Slot>,
}

impl RegistryRequest {
    pub(crate) fn decode(el: &Element, seq: &mut Seq<'_>) -> Result<RegistryRequest, DecodeError> {
        let request_slots = match seq.opt(RS_NS, "RequestSlotList") {
            Some((list, lpath)) => {
                let mut s = Seq::new(list, &lpath)?;
                let slots = decode_slots(s.many(RIM_NS, "Slot"))?;
                s.end()?;
                slots
            }
            None => Vec::new(),
        };
        Ok(RegistryRequest {
            id: attr(el, "id"),
            comment: attr(el, "comment"),
            request_slots,
        })
    }

    pub(crate) fn encode_attrs(&self, w: &mut Writer) {
        w.opt_attr("id", self.id.as_deref());
        w.opt_attr("comment", self.comment.as_deref());
    }

    pub(crate) fn encode_content(&self, w: &mut Writer) {
        if !self.request_slots.is_empty() {
            w.start("rs:RequestSlotList");
            for s in &self.request_slots {
                s.encode(w);
            }
            w.end();
        }
    }

    /// Whether `xmlns:rs` is needed on the root.
    pub(crate) fn uses_rs(&self) -> bool {
        !self.request_slots.is_empty()
    }
}
