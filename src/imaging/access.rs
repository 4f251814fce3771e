//! The one access decision for every imaging exit (QIDO-RS, WADO-RS, WADO-URI, RAD-69, the
//! viewer API, C-STORE has none: it is an entry).
//!
//! The decision is the BPPC consent enforcer's (`consent::Enforcer::decide_patient`, issue #6):
//! wired in here and nowhere else. It is taken at the patient level — images are shared when the
//! patient's consent in force permits this requester anything; policies limited to document
//! classes or confidentiality codes apply to the registry's documents (the KOS manifest, the
//! report), which the XDS exits filter. A denial and a break-the-glass permit are audited by the
//! enforcer before the answer; without an enforcer (a DICOM association) the answer is no.
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
    /// The consent enforcer of this server, with the SOAP header blocks (XUA, break-the-glass)
    /// of a SOAP request.
    pub consent: Option<crate::consent::Enforcer>,
    pub soap_headers: Vec<crate::xml::Element>,
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
pub async fn authorize(requester: &Requester, subject: &Subject<'_>) -> Result<(), Denied> {
    let Some(enforcer) = &requester.consent else {
        return Err(Denied {
            reason: "no consent decision is possible for this requester".into(),
        });
    };
    let who = crate::consent::Requester::from_node(requester.node.as_ref())
        .with_headers(&requester.soap_headers);
    let decision = enforcer
        .decide_patient(&who, subject.patient_id, chrono::Utc::now())
        .await;
    tracing::debug!(
        node = requester.node.as_ref().map(|n| n.subject.as_str()),
        patient = subject.patient_id,
        study = subject.study_instance_uid,
        permit = decision.permit,
        rule = %decision.rule,
        "imaging access decision"
    );
    if decision.permit {
        Ok(())
    } else {
        Err(Denied {
            reason: format!(
                "patient consent does not permit sharing study {} with this requester",
                subject.study_instance_uid
            ),
        })
    }
}

/// The CX form of a stored patient: `id^^^&issuer&ISO`, or the bare id without issuer.
pub fn patient_cx(patient_id: &str, issuer: &str) -> String {
    if issuer.is_empty() {
        patient_id.to_owned()
    } else {
        format!("{patient_id}^^^&{issuer}&ISO")
    }
}
