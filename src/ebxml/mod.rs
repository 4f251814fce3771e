//! ebXML Registry 3.0 codec: the wire of the XDS.b transactions as plain Rust types.
//!
//! Specifications: OASIS ebXML RegRep 3.0 — regrep-rim-3.0-os (information model, [`rim`]) and
//! regrep-rs-3.0-os (services: [`rs`], [`lcm`], [`query`]) — and the XDS.b wrappers of ITI TF-2b
//! ([`xdsb`]: ITI-41 §3.41.4.1.2, ITI-43 §3.43.4); schemas in `schemas/` and
//! `../shared/schemas-official/xds/`.
//!
//! Decoding walks a [`crate::xml::Element`] tree (already free of DTDs, size-limited, MTOM
//! resolved) in schema order and refuses what the schema refuses: an element out of order or
//! unknown is reported with its element path and position ([`DecodeError`]). Unknown
//! (extension) attributes are ignored. Encoding writes deterministic text
//! ([`WireMessage::to_xml`]), with documents inline as base64 or as MTOM attachments
//! ([`BinaryEncoding`]).
//!
//! Invariant: these types mirror the wire and know no XDS semantics (no slot names, no
//! classification schemes); `xds` converts them to the metadata model and back.
//! Invariant: `decode(encode(x)) == x` for every message `x` (identifiers in the `xdsb:` id
//! elements are read trimmed, so for those: without surrounding whitespace).

mod error;
pub mod lcm;
mod message;
pub mod query;
mod reader;
pub mod rim;
pub mod rs;
mod writer;
pub mod xdsb;

#[cfg(test)]
pub(crate) mod test_fixtures;
#[cfg(test)]
mod tests;

pub use error::DecodeError;
pub use lcm::{RemoveObjectsRequest, SubmitObjectsRequest};
pub use message::{Message, WireMessage};
pub use query::{
    AdhocQuery, AdhocQueryRequest, AdhocQueryResponse, QueryExpression, ResponseOption, ReturnType,
};
pub use rim::{
    Association, Classification, ExternalIdentifier, ExtrinsicObject, Identifiable,
    InternationalString, LocalizedString, ObjectRef, RegistryObject, RegistryObjectList,
    RegistryPackage, Slot, VersionInfo,
};
pub use rs::{
    ErrorSeverity, RegistryError, RegistryErrorList, RegistryRequest, RegistryResponse,
    ResponseStatus,
};
pub use writer::{BinaryEncoding, EncodeOptions, Encoded, Writer};
pub use xdsb::{
    Document, DocumentRequest, DocumentResponse, ProvideAndRegisterDocumentSetRequest,
    RetrieveDocumentSetRequest, RetrieveDocumentSetResponse,
};

/// ebRIM 3.0 namespace (`rim:`).
pub const RIM_NS: &str = "urn:oasis:names:tc:ebxml-regrep:xsd:rim:3.0";
/// ebRS 3.0 namespace (`rs:`).
pub const RS_NS: &str = "urn:oasis:names:tc:ebxml-regrep:xsd:rs:3.0";
/// ebRS 3.0 lifecycle management namespace (`lcm:`).
pub const LCM_NS: &str = "urn:oasis:names:tc:ebxml-regrep:xsd:lcm:3.0";
/// ebRS 3.0 query namespace (`query:`).
pub const QUERY_NS: &str = "urn:oasis:names:tc:ebxml-regrep:xsd:query:3.0";
/// IHE XDS.b namespace (`xdsb:`).
pub const XDSB_NS: &str = "urn:ihe:iti:xds-b:2007";
