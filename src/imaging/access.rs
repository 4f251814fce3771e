//! The one access decision for every imaging exit (QIDO-RS, WADO-RS, WADO-URI, RAD-69, the
//! viewer API, C-STORE has none: it is an entry).
//!
//! Today it allows every authenticated or loopback requester; the consent issue (#6) provides
//! the BPPC policy decision, which is wired in here and nowhere else. It never invents rules.
//!
//! Invariant: every handler that returns imaging data or metadata calls [`authorize`] first
//! with the patient and study it is about to return, and records the decision in its audit event.

use crate::tls::NodeIdentity;

/// Who is asking: the node identity from the client certificate (HTTPS), or none (plain HTTP,
/// which only exists in dev mode on loopback, or a DICOM association identified by AE title).
#[derive(Debug, Clone, Default)]
pub struct Requester {
    pub node: Option<NodeIdentity>,
    pub remote_addr: Option<String>,
    /// The calling AE title of a DICOM association.
    pub ae_title: Option<String>,
}

/// What the request is about.
#[derive(Debug, Clone)]
pub struct Subject<'a> {
    /// DICOM PatientID with its issuer (`id^^^&issuer&ISO` when the issuer is known).
    pub patient_id: &'a str,
    pub study_instance_uid: &'a str,
}

/// A refusal: the HTTP/SOAP layer turns it into 403 / a RAD-69 error, with this text.
#[derive(Debug, Clone, thiserror::Error)]
#[error("access denied: {reason}")]
pub struct Denied {
    pub reason: String,
}

/// The decision for `requester` reading `subject`. See the module documentation.
pub fn authorize(requester: &Requester, subject: &Subject<'_>) -> Result<(), Denied> {
    tracing::debug!(
        node = requester.node.as_ref().map(|n| n.subject.as_str()),
        patient = subject.patient_id,
        study = subject.study_instance_uid,
        "imaging access allowed (no consent policy wired in yet)"
    );
    Ok(())
}

/// The CX form of a stored patient: `id^^^&issuer&ISO`, or the bare id without issuer.
pub fn patient_cx(patient_id: &str, issuer: &str) -> String {
    if issuer.is_empty() {
        patient_id.to_owned()
    } else {
        format!("{patient_id}^^^&{issuer}&ISO")
    }
}
