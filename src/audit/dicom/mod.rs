//! DICOM audit messages (DICOM PS3.15 Annex A.5 "AuditMessage") and legacy RFC 3881, as typed
//! Rust, both directions.
//!
//! Specifications:
//! * DICOM PS3.15 A.5 (Audit Trail Message Format Profile): the message schema (A.5.1), the
//!   general message format conventions (A.5.2) and the DICOM-specific messages (A.5.3, e.g.
//!   A.5.3.1 Application Activity, A.5.3.11 Security Alert). Code values from PS3.16 CID 400
//!   (event IDs), 401 (event type codes), 402 (roles), 403 (security alert types).
//! * RFC 3881 (Security Audit and Access Accountability Message XML Data Definitions), the
//!   predecessor: attributes `code`/`displayName` instead of `csd-code`/`originalText`, several
//!   AuditSourceIdentification elements allowed.
//! * IHE ITI TF-2 3.20 (ITI-20 Record Audit Event) and 3.20.7 (the IHE use of the message), plus
//!   the audit sections of each transaction (e.g. ITI TF-2 3.18.5.1 for ITI-18).
//!
//! Layout: [`model`] is plain Rust and knows no XML; [`decode()`] reads either wire form into it
//! (recording which, [`Format`]); [`encode()`] writes the DICOM form, which the official
//! `dicom2017c.xsd` validates; [`index()`] pulls out the fields `/api/audit` searches on; the
//! builders make the messages hiehub writes about itself.
//!
//! Invariant: the model types carry no XML; only `decode` and `encode` see it.
//! Invariant: `decode` never panics on input; every error names the element path and position.
//! Invariant: `decode(encode(m)) == m` for every DICOM-form message that fits the schema.

mod builders;
mod decode;
mod encode;
mod index;
pub mod model;

pub use builders::{
    ApplicationActivity, SecurityAlert, SecurityAlertType, TransactionEvent, alert_subject,
    application_activity, event_id, role, security_alert, this_audit_source, this_process,
    transaction_event,
};
pub use decode::{DecodeError, decode, decode_element};
pub use encode::encode;
pub use index::{AuditIndex, index};
pub use model::*;

#[cfg(test)]
mod tests;
