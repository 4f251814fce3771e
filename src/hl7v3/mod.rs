//! HL7 Version 3 wire codec for the IHE PIX/PDQ V3 transactions (ITI TF-2b §3.44, §3.45,
//! §3.46, §3.47): the PRPA, QUQI and MCCI interactions as plain mirror types.
//!
//! `decode` walks the safe `xml` tree of a request and checks the structure it relies on (the
//! transmission wrapper in schema order, then the payload element by element); every error names
//! the element path. `encode` writes the answers (accept acknowledgements, PIX and PDQ query
//! responses, PIX update notifications) as XML text.
//!
//! Invariant: nothing outside this module reads or writes HL7v3 XML; `mpi` sees only these types.

pub mod decode;
pub mod encode;

/// The HL7v3 namespace.
pub const NS: &str = "urn:hl7-org:v3";
/// XML Schema instance (`xsi:type` in query parameters).
pub const XSI: &str = "http://www.w3.org/2001/XMLSchema-instance";
/// HL7 AcknowledgementDetailCode system (204 Unknown key identifier, ...).
pub const ACK_DETAIL_SYSTEM: &str = "2.16.840.1.113883.5.1100";
/// The interaction id root.
pub const INTERACTION_ROOT: &str = "2.16.840.1.113883.1.6";

/// II: an instance identifier (root OID, optional extension).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Ii {
    pub root: String,
    pub extension: Option<String>,
}

impl Ii {
    pub fn new(root: impl Into<String>, extension: impl Into<String>) -> Ii {
        Ii {
            root: root.into(),
            extension: Some(extension.into()),
        }
    }
}

impl std::fmt::Display for Ii {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.extension {
            Some(e) => write!(f, "{}^{}", self.root, e),
            None => write!(f, "{}", self.root),
        }
    }
}

/// The transmission wrapper facts an answer needs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Header {
    /// The message id (`/*/id`).
    pub id: Option<Ii>,
    /// `interactionId/@extension`.
    pub interaction: String,
    /// `sender/device/id/@root`.
    pub sender_device: Option<String>,
    /// `receiver/device/id/@root` (the first receiver).
    pub receiver_device: Option<String>,
}

/// PN: one person name, parts in document order (`use`: L legal, SYL syllabic, ABC alphabetic...).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Name {
    pub family: Vec<String>,
    pub given: Vec<String>,
    pub use_code: Option<String>,
}

impl Name {
    pub fn family_text(&self) -> String {
        self.family.join(" ")
    }
    pub fn given_text(&self) -> String {
        self.given.join(" ")
    }
}

/// AD: the address parts hiehub keeps.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Address {
    pub street: Vec<String>,
    pub city: Option<String>,
    pub postal_code: Option<String>,
    pub state: Option<String>,
    pub country: Option<String>,
}

impl Address {
    pub fn is_empty(&self) -> bool {
        self.street.is_empty()
            && self.city.is_none()
            && self.postal_code.is_none()
            && self.state.is_none()
            && self.country.is_none()
    }
}

/// The patientPerson of a registration (ITI-44) or a PDQ answer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Person {
    pub names: Vec<Name>,
    /// administrativeGenderCode/@code.
    pub gender: Option<String>,
    /// birthTime/@value (TS, YYYYMMDD...).
    pub birth_time: Option<String>,
    pub addresses: Vec<Address>,
    /// telecom/@value (`tel:+82...`).
    pub telecoms: Vec<String>,
    /// asOtherIDs/id: identifiers of the person in other domains (national ids, ...).
    pub other_ids: Vec<Ii>,
}

/// The patient of a registration event.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PatientRecord {
    pub ids: Vec<Ii>,
    pub person: Person,
}

/// ITI-44: the three feeds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Feed {
    /// PRPA_IN201301UV02.
    Add(PatientRecord),
    /// PRPA_IN201302UV02.
    Revise(PatientRecord),
    /// PRPA_IN201304UV02: `obsolete` (replacementOf/priorRegistration/subject1/priorRegisteredRole/id)
    /// is merged into the survivor.
    Merge {
        survivor: PatientRecord,
        obsolete: Vec<Ii>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedMessage {
    pub header: Header,
    pub feed: Feed,
}

/// ITI-45 PRPA_IN201309UV02.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PixQuery {
    pub header: Header,
    pub query_id: Ii,
    pub patient: Ii,
    /// dataSource/value/@root: the domains the answer is restricted to.
    pub data_sources: Vec<String>,
    /// The queryByParameter element as received, re-serialised (echoed in the answer).
    pub query_xml: String,
}

/// ITI-47 PRPA_IN201305UV02.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PdqQuery {
    pub header: Header,
    pub query_id: Ii,
    pub initial_quantity: Option<u32>,
    /// matchCriterionList/minimumDegreeMatch/value/@value (0..=100).
    pub minimum_degree_match: Option<u32>,
    pub name: Option<Name>,
    pub gender: Option<String>,
    pub birth_time: Option<String>,
    pub address: Option<Address>,
    pub telecom: Option<String>,
    /// livingSubjectId values.
    pub ids: Vec<Ii>,
    /// otherIDsScopingOrganization/value/@root: the domains whose ids the answer carries.
    pub scoping_organizations: Vec<String>,
    pub query_xml: String,
}

/// ITI-47 QUQI_IN000003UV01: continue (`cancel` false) or cancel a query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Continuation {
    pub header: Header,
    pub query_id: Ii,
    pub quantity: Option<u32>,
    pub cancel: bool,
}

/// Acknowledgement.typeCode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AckCode {
    /// Application accept.
    Aa,
    /// Application error.
    Ae,
    /// Application reject.
    Ar,
}

impl AckCode {
    pub fn as_str(self) -> &'static str {
        match self {
            AckCode::Aa => "AA",
            AckCode::Ae => "AE",
            AckCode::Ar => "AR",
        }
    }
}

/// acknowledgementDetail: what is wrong and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AckDetail {
    /// AcknowledgementDetailCode (e.g. 204 Unknown key identifier), when one applies.
    pub code: Option<String>,
    pub text: String,
    /// The element path the detail is about.
    pub location: Option<String>,
}

/// A structural error of a request: the element path and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {message}")]
pub struct CodecError {
    pub path: String,
    pub message: String,
}

impl CodecError {
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> CodecError {
        CodecError {
            path: path.into(),
            message: message.into(),
        }
    }

    pub fn detail(&self) -> AckDetail {
        AckDetail {
            code: None,
            text: self.message.clone(),
            location: Some(self.path.clone()),
        }
    }
}
