//! The error codes of XDS responses: ITI TF-3 §4.2.4.1, Table 4.2.4.1-2 "Error Codes", the
//! Restricted Metadata Update codes of ITI-57 (ITI TF-2b §3.57.4.1.3.5) and the ebRS exceptions
//! ITI-62 Delete Document Set returns (ITI TF-2b §3.62.4.1.3).
//!
//! A closed enum: every problem in hiehub names one of these, and the response builder writes
//! [`ErrorCode::as_str`] into `rs:RegistryError/@errorCode`.

use std::fmt;

macro_rules! error_codes {
    ($($(#[$doc:meta])* $name:ident,)*) => {
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[allow(clippy::enum_variant_names)]
        pub enum ErrorCode {
            $($(#[$doc])* $name,)*
        }

        impl ErrorCode {
            /// Every code, in declaration order.
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$name,)*];

            /// The code as written in `rs:RegistryError/@errorCode`.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(ErrorCode::$name => stringify!($name),)*
                }
            }

            pub fn parse(s: &str) -> Option<ErrorCode> {
                match s {
                    $(stringify!($name) => Some(ErrorCode::$name),)*
                    _ => None,
                }
            }
        }
    };
}

error_codes! {
    /// The repository could not find metadata for a document it was sent (ITI-41).
    XDSMissingDocumentMetadata,
    /// A DocumentEntry of an ITI-41 submission has no document attached.
    XDSMissingDocument,
    /// Metadata error found by the registry.
    XDSRegistryMetadataError,
    /// Metadata error found by the repository.
    XDSRepositoryMetadataError,
    /// A uniqueId occurs twice in one registry submission.
    XDSRegistryDuplicateUniqueIdInMessage,
    /// A uniqueId occurs twice in one repository submission.
    XDSRepositoryDuplicateUniqueIdInMessage,
    /// A DocumentEntry uniqueId is already in the registry with a different hash.
    XDSDuplicateUniqueIdInRegistry,
    /// The patient id of an object does not match that of the SubmissionSet (or Folder).
    XDSPatientIdDoesNotMatch,
    /// The patient id is not known in the affinity domain.
    XDSUnknownPatientId,
    /// ITI-43: the document uniqueId is unknown; ITI-41/42: the uniqueId is invalid.
    XDSDocumentUniqueIdError,
    /// The submitted hash differs from the document's.
    XDSNonIdenticalHash,
    /// The submitted size differs from the document's.
    XDSNonIdenticalSize,
    /// A replacement could not be made (target not found or not Approved).
    XDSReplaceFailed,
    /// Extra metadata was not stored.
    XDSExtraMetadataNotSaved,
    /// Internal registry error.
    XDSRegistryError,
    /// Internal repository error.
    XDSRepositoryError,
    /// ITI-18: unknown stored query id.
    XDSUnknownStoredQuery,
    /// ITI-18: a required parameter is missing.
    XDSStoredQueryMissingParam,
    /// ITI-18: a single-valued parameter has several values.
    XDSStoredQueryParamNumber,
    /// ITI-18: more results than the registry returns.
    XDSTooManyResults,
    /// ITI-18: a LeafClass result spans several patients.
    XDSResultNotSinglePatient,
    /// ITI-43: the repositoryUniqueId is not this repository.
    XDSUnknownRepositoryId,
    /// Cross-community: unknown homeCommunityId.
    XDSUnknownCommunity,
    /// Cross-community: homeCommunityId required but missing.
    XDSMissingHomeCommunityId,
    /// Cross-community: the community cannot be reached.
    XDSUnavailableCommunity,
    XDSRegistryBusy,
    XDSRepositoryBusy,
    XDSRegistryOutOfResources,
    XDSRepositoryOutOfResources,
    /// A document was submitted against a Deprecated DocumentEntry (e.g. APND to it).
    XDSRegistryDeprecatedDocumentError,
    XDSTimeout,
    /// ITI-57: general metadata update error.
    XDSMetadataUpdateError,
    /// ITI-57: the update operation cannot be decoded.
    XDSMetadataUpdateOperationError,
    /// ITI-57: the version in the update does not match the registry's.
    XDSMetadataVersionError,
    /// ITI-57: an update changes the patient id.
    XDSPatientIDReconciliationError,
    /// ITI-62: an entryUUID to delete does not exist.
    UnresolvedReferenceException,
    /// ITI-62: an object to delete is still referenced by an association.
    ReferencesExistException,
    /// ITI-62: deleting would leave an object unreferenced (e.g. a SubmissionSet without members).
    UnreferencedObjectException,
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_print_and_parse() {
        for &c in ErrorCode::ALL {
            assert_eq!(ErrorCode::parse(c.as_str()), Some(c));
        }
        assert_eq!(
            ErrorCode::XDSPatientIdDoesNotMatch.as_str(),
            "XDSPatientIdDoesNotMatch"
        );
        assert_eq!(
            ErrorCode::ReferencesExistException.to_string(),
            "ReferencesExistException"
        );
        assert_eq!(ErrorCode::parse("XDSUnreferencedObjectException"), None);
    }
}
