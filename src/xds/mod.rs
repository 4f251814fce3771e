//! XDS.b metadata (ITI TF-3 §4.1 abstract model, §4.2 ebRIM representation) as plain Rust:
//! [`SubmissionSet`], [`DocumentEntry`], [`Folder`], [`Association`] and the validated value
//! types they are made of ([`Oid`], [`RegistryObjectId`], [`PatientId`], [`UniqueId`],
//! [`Sha1Hex`], [`DtmTime`], [`Code`], [`Author`]).
//!
//! - [`from_ebxml`]: wire → model for ITI-41 and ITI-42 submissions, collecting every
//!   [`Problem`] (IHE [`ErrorCode`], severity, stable rule name, the object concerned) instead
//!   of stopping at the first.
//! - [`to_ebxml`]: model → wire for query responses (LeafClass), forwarding and
//!   `rs:RegistryResponse` errors.
//! - [`catalogue`]: hooks for the checks that need affinity-domain data (codes, known patients).
//!
//! Invariant: nothing here sees XML; `ebxml` mirrors the wire and the two `*_ebxml` modules are
//! the only place the two meet.
//! Invariant: the model, the conversions and the checks use no database and no network: rules
//! that need registered objects are left to the transaction ([`Submission::external_references`]).
//!
//! The service layer on top: [`registry`] (the registry's PostgreSQL store), [`repository`]
//! (the blob store), [`service`] (registering one submission, shared by ITI-41 and ITI-42) and
//! one module per transaction: [`iti18`], [`iti41`], [`iti42`], [`iti43`].

pub mod association;
pub mod author;
pub mod catalogue;
pub mod code;
pub mod document_entry;
pub mod dtm;
pub mod error_code;
mod findings;
pub mod folder;
pub mod from_ebxml;
pub mod hl7;
pub mod iti18;
pub mod iti41;
pub mod iti42;
pub mod iti43;
pub mod iti57;
pub mod iti62;
pub mod object_id;
pub mod oid;
pub mod patient_id;
pub mod problem;
pub mod registry;
pub mod repository;
pub mod seed;
pub mod service;
pub mod sha1_hex;
pub mod slot;
pub mod status;
mod structure;
pub mod submission;
pub mod submission_set;
pub mod text;
pub mod to_ebxml;
pub mod unique_id;
pub mod vocabulary;

#[cfg(test)]
mod tests;

pub use association::{Association, AssociationType, SubmissionSetStatus};
pub use author::Author;
pub use catalogue::{CodeCatalogue, PatientRegistry, check_affinity_domain};
pub use code::{Code, CodeScheme};
pub use document_entry::{DocumentEntry, DocumentEntryType};
pub use dtm::{DtmTime, Precision};
pub use error_code::ErrorCode;
pub use folder::Folder;
pub use from_ebxml::{
    decode_failure, submission_from_provide_and_register, submission_from_register,
};
pub use hl7::{Xcn, Xon};
pub use object_id::{RegistryObjectId, Uuid};
pub use oid::Oid;
pub use patient_id::PatientId;
pub use problem::{Problem, RULES, RuleSetting, Severity, apply_rule_settings, has_errors};
pub use sha1_hex::Sha1Hex;
pub use slot::Slot;
pub use status::AvailabilityStatus;
pub use submission::{DocumentContent, End, ExternalReference, Submission, SubmissionKind};
pub use submission_set::SubmissionSet;
pub use text::{InternationalText, LocalizedText};
pub use unique_id::{DocumentUniqueId, UniqueId};
