//! The table of every SOAP transaction hiehub answers, and the closed enum dispatched on.
//!
//! One row per transaction: request action, response action, endpoints, MTOM, audit event. The web
//! layer parses `wsa:Action` into a [`Transaction`] and `match`es it with no catch-all arm, so a new
//! transaction cannot be wired without its audit event. Unknown actions get `wsa:ActionNotSupported`.

use crate::audit::{self, Action, Code};

/// The SOAP endpoints (paths fixed by DESIGN.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Endpoint {
    Repository,
    Registry,
    Imaging,
    Pix,
    Pdq,
}

impl Endpoint {
    pub const ALL: [Endpoint; 5] = [
        Endpoint::Repository,
        Endpoint::Registry,
        Endpoint::Imaging,
        Endpoint::Pix,
        Endpoint::Pdq,
    ];

    pub fn path(self) -> &'static str {
        match self {
            Endpoint::Repository => "/xds/repository",
            Endpoint::Registry => "/xds/registry",
            Endpoint::Imaging => "/xds/imaging",
            Endpoint::Pix => "/pix",
            Endpoint::Pdq => "/pdq",
        }
    }

    /// The WSDL in `schemas/` served at `<path>?wsdl`.
    pub fn wsdl_file(self) -> &'static str {
        match self {
            Endpoint::Repository => "XDS.b_DocumentRepository.wsdl",
            Endpoint::Registry => "XDS.b_DocumentRegistry.wsdl",
            Endpoint::Imaging => "XDS-I.b_ImagingDocumentSource.wsdl",
            Endpoint::Pix => "PIXManager.wsdl",
            Endpoint::Pdq => "PDQSupplier.wsdl",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transaction {
    /// hiehub diagnostics: the SOAP analogue of DICOM C-ECHO (connectivity, TLS, audit).
    Echo,
    /// ITI-18 Registry Stored Query (`xds::iti18`).
    RegistryStoredQuery,
    /// ITI-41 Provide and Register Document Set-b (`xds::iti41`).
    ProvideAndRegisterDocumentSetB,
    /// ITI-42 Register Document Set-b (`xds::iti42`).
    RegisterDocumentSetB,
    /// ITI-43 Retrieve Document Set (`xds::iti43`).
    RetrieveDocumentSet,
    /// ITI-57 Update Document Set (`xds::iti57`).
    UpdateDocumentSet,
    /// ITI-62 Delete Document Set (`xds::iti62`).
    DeleteDocumentSet,
    /// ITI-44 Patient Identity Feed HL7 V3, add (`mpi::iti44`).
    PatientIdentityFeedAdd,
    /// ITI-44 revise.
    PatientIdentityFeedRevise,
    /// ITI-44 resolve duplicates (merge).
    PatientIdentityFeedMerge,
    /// ITI-45 PIXV3 Query (`mpi::iti45`).
    PixQuery,
    /// ITI-47 Patient Demographics Query HL7 V3 (`mpi::iti47`).
    PatientDemographicsQuery,
    /// ITI-47 continuation (QUQI_IN000003UV01).
    PatientDemographicsQueryContinue,
    /// ITI-47 cancel (QUQI_IN000003UV01).
    PatientDemographicsQueryCancel,
    /// RAD-69 Retrieve Imaging Document Set (`xdsi::rad69`).
    RetrieveImagingDocumentSet,
}

pub struct Row {
    pub transaction: Transaction,
    pub action: &'static str,
    pub response_action: &'static str,
    pub endpoints: &'static [Endpoint],
    /// Whether the response is sent as MTOM.
    pub mtom_response: bool,
    /// DICOM EventID, EventActionCode, EventTypeCode of the audit event each request writes.
    pub audit: fn() -> (Code, Action, Code),
}

pub const TABLE: &[Row] = &[
    Row {
        transaction: Transaction::Echo,
        action: "urn:hiehub:2026:Echo",
        response_action: "urn:hiehub:2026:EchoResponse",
        endpoints: &Endpoint::ALL,
        mtom_response: false,
        audit: || {
            (
                audit::event_id::application_activity(),
                Action::Execute,
                Code {
                    code: "Echo".into(),
                    system: "hiehub".into(),
                    display: "SOAP verification (echo)".into(),
                },
            )
        },
    },
    // ITI TF-2a §3.18.5.1: Query (110112), EventActionCode Execute.
    Row {
        transaction: Transaction::RegistryStoredQuery,
        action: crate::xds::iti18::ACTION,
        response_action: crate::xds::iti18::RESPONSE_ACTION,
        endpoints: &[Endpoint::Registry],
        mtom_response: false,
        audit: || {
            (
                audit::event_id::query(),
                Action::Execute,
                Code::ihe_transaction("ITI-18", "Registry Stored Query"),
            )
        },
    },
    Row {
        transaction: Transaction::ProvideAndRegisterDocumentSetB,
        action: crate::xds::iti41::ACTION,
        response_action: crate::xds::iti41::RESPONSE_ACTION,
        endpoints: &[Endpoint::Repository],
        mtom_response: false,
        audit: || {
            (
                audit::event_id::import(),
                Action::Create,
                Code::ihe_transaction("ITI-41", "Provide and Register Document Set-b"),
            )
        },
    },
    Row {
        transaction: Transaction::RegisterDocumentSetB,
        action: crate::xds::iti42::ACTION,
        response_action: crate::xds::iti42::RESPONSE_ACTION,
        endpoints: &[Endpoint::Registry],
        mtom_response: false,
        audit: || {
            (
                audit::event_id::import(),
                Action::Create,
                Code::ihe_transaction("ITI-42", "Register Document Set-b"),
            )
        },
    },
    Row {
        transaction: Transaction::RetrieveDocumentSet,
        action: crate::xds::iti43::ACTION,
        response_action: crate::xds::iti43::RESPONSE_ACTION,
        endpoints: &[Endpoint::Repository],
        mtom_response: true,
        audit: || {
            (
                audit::event_id::export(),
                Action::Read,
                Code::ihe_transaction("ITI-43", "Retrieve Document Set"),
            )
        },
    },
    // ITI TF-2b §3.57.5.1 / §3.62.5.1 (XDS Metadata Update): Patient Record, Update / Delete.
    Row {
        transaction: Transaction::UpdateDocumentSet,
        action: crate::xds::iti57::ACTION,
        response_action: crate::xds::iti57::RESPONSE_ACTION,
        endpoints: &[Endpoint::Registry],
        mtom_response: false,
        audit: || {
            (
                audit::event_id::patient_record(),
                Action::Update,
                Code::ihe_transaction("ITI-57", "Update Document Set"),
            )
        },
    },
    Row {
        transaction: Transaction::DeleteDocumentSet,
        action: crate::xds::iti62::ACTION,
        response_action: crate::xds::iti62::RESPONSE_ACTION,
        endpoints: &[Endpoint::Registry],
        mtom_response: false,
        audit: || {
            (
                audit::event_id::patient_record(),
                Action::Delete,
                Code::ihe_transaction("ITI-62", "Delete Document Set"),
            )
        },
    },
    // ITI TF-2b §3.44.5.1: Patient Record (110110); add Create, revise Update, merge Delete
    // (the obsolete id) with the survivor as a participant too.
    Row {
        transaction: Transaction::PatientIdentityFeedAdd,
        action: crate::mpi::iti44::ADD_ACTION,
        response_action: crate::mpi::iti44::RESPONSE_ACTION,
        endpoints: &[Endpoint::Pix],
        mtom_response: false,
        audit: || {
            (
                audit::event_id::patient_record(),
                Action::Create,
                Code::ihe_transaction("ITI-44", "Patient Identity Feed HL7 V3"),
            )
        },
    },
    Row {
        transaction: Transaction::PatientIdentityFeedRevise,
        action: crate::mpi::iti44::REVISE_ACTION,
        response_action: crate::mpi::iti44::RESPONSE_ACTION,
        endpoints: &[Endpoint::Pix],
        mtom_response: false,
        audit: || {
            (
                audit::event_id::patient_record(),
                Action::Update,
                Code::ihe_transaction("ITI-44", "Patient Identity Feed HL7 V3"),
            )
        },
    },
    Row {
        transaction: Transaction::PatientIdentityFeedMerge,
        action: crate::mpi::iti44::MERGE_ACTION,
        response_action: crate::mpi::iti44::RESPONSE_ACTION,
        endpoints: &[Endpoint::Pix],
        mtom_response: false,
        audit: || {
            (
                audit::event_id::patient_record(),
                Action::Delete,
                Code::ihe_transaction("ITI-44", "Patient Identity Feed HL7 V3"),
            )
        },
    },
    // ITI TF-2b §3.45.5.1 / §3.47.5.1: Query (110112), Execute, the query in ParticipantObjectQuery.
    Row {
        transaction: Transaction::PixQuery,
        action: crate::mpi::iti45::ACTION,
        response_action: crate::mpi::iti45::RESPONSE_ACTION,
        endpoints: &[Endpoint::Pix],
        mtom_response: false,
        audit: || {
            (
                audit::event_id::query(),
                Action::Execute,
                Code::ihe_transaction("ITI-45", "PIXV3 Query"),
            )
        },
    },
    Row {
        transaction: Transaction::PatientDemographicsQuery,
        action: crate::mpi::iti47::ACTION,
        response_action: crate::mpi::iti47::RESPONSE_ACTION,
        endpoints: &[Endpoint::Pdq],
        mtom_response: false,
        audit: || {
            (
                audit::event_id::query(),
                Action::Execute,
                Code::ihe_transaction("ITI-47", "Patient Demographics Query HL7 V3"),
            )
        },
    },
    Row {
        transaction: Transaction::PatientDemographicsQueryContinue,
        action: crate::mpi::iti47::CONTINUE_ACTION,
        response_action: crate::mpi::iti47::RESPONSE_ACTION,
        endpoints: &[Endpoint::Pdq],
        mtom_response: false,
        audit: || {
            (
                audit::event_id::query(),
                Action::Execute,
                Code::ihe_transaction("ITI-47", "Patient Demographics Query HL7 V3"),
            )
        },
    },
    Row {
        transaction: Transaction::PatientDemographicsQueryCancel,
        action: crate::mpi::iti47::CANCEL_ACTION,
        response_action: crate::mpi::iti47::CANCEL_RESPONSE_ACTION,
        endpoints: &[Endpoint::Pdq],
        mtom_response: false,
        audit: || {
            (
                audit::event_id::query(),
                Action::Execute,
                Code::ihe_transaction("ITI-47", "Patient Demographics Query HL7 V3"),
            )
        },
    },
    // RAD TF-3 §4.69.4.1.4: the Imaging Document Source records an Export (110106), Read.
    Row {
        transaction: Transaction::RetrieveImagingDocumentSet,
        action: crate::xdsi::rad69::ACTION,
        response_action: crate::xdsi::rad69::RESPONSE_ACTION,
        endpoints: &[Endpoint::Imaging],
        mtom_response: true,
        audit: || {
            (
                audit::event_id::export(),
                Action::Read,
                Code::ihe_transaction("RAD-69", "Retrieve Imaging Document Set"),
            )
        },
    },
];

pub fn lookup(endpoint: Endpoint, action: &str) -> Option<&'static Row> {
    TABLE
        .iter()
        .find(|r| r.action == action && r.endpoints.contains(&endpoint))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actions_are_unique_per_endpoint() {
        for e in Endpoint::ALL {
            let mut seen = std::collections::HashSet::new();
            for r in TABLE.iter().filter(|r| r.endpoints.contains(&e)) {
                assert!(seen.insert(r.action), "{} twice at {}", r.action, e.path());
            }
        }
        assert!(lookup(Endpoint::Registry, "urn:hiehub:2026:Echo").is_some());
        assert!(lookup(Endpoint::Registry, "urn:nope").is_none());
    }
}
