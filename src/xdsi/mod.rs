//! XDS-I.b (IHE RAD TF-1 §18): hiehub as Imaging Document Source's repository and registry.
//!
//! - [`kos`]: the Key Object Selection manifest (PS3.3 A.35.4) → the instances it references.
//! - [`rad68`]: RAD-68 Provide and Register Imaging Document Set — ITI-41 on `/xds/repository`
//!   with a KOS DocumentEntry; `xds::service` calls [`rad68::index_manifests`] inside the
//!   submission's transaction, so the manifest's references are indexed with it or not at all.
//! - [`rad69`]: RAD-69 Retrieve Imaging Document Set on `/xds/imaging`.
//!
//! Invariant: `xds` calls into `xdsi` at exactly one place (the ITI-41 registration transaction).
//! Invariant: a RAD-69 answer reports each document it cannot return as its own RegistryError;
//! one missing instance never fails the whole request.

pub mod kos;
pub mod rad68;
pub mod rad69;

/// formatCode of a KOS manifest DocumentEntry (RAD TF-3 §4.68.4.1.2.3).
pub const KOS_FORMAT_CODE: &str = "1.2.840.10008.5.1.4.1.1.88.59";
/// SOP Class UID of Key Object Selection Document Storage.
pub const KOS_SOP_CLASS: &str = "1.2.840.10008.5.1.4.1.1.88.59";
