//! ITI-45 PIXV3 Query (ITI TF-2b §3.45): PRPA_IN201309UV02 → PRPA_IN201310UV02.
//!
//! The answer lists every identifier cross-referenced with the queried one (its person's other
//! records and the enterprise id), restricted to the `dataSource` domains when given:
//! - unknown patient-id domain or data-source domain: AE, queryResponseCode AE, detail 204 with
//!   the element's location (§3.45.4.2.3);
//! - known domain, unknown id (or nothing in the requested domains): AA, NF;
//! - otherwise AA, OK.
//!
//! A merged-away id is answered for its survivor.

use super::store;
use super::{Answer, Context, PatientIdentifier, wire};
use crate::audit::Outcome;
use crate::audit::dicom::{CodedValue, ParticipantObject};
use crate::hl7v3::encode::{PixPatient, QueryAck, pix_response};
use crate::hl7v3::{AckCode, AckDetail, Ii, PixQuery, decode};
use crate::store::StoreError;
use crate::xml::Element;

pub const ACTION: &str = "urn:hl7-org:v3:PRPA_IN201309UV02";
pub const RESPONSE_ACTION: &str = "urn:hl7-org:v3:PRPA_IN201310UV02";

const PARAMS: &str = "/PRPA_IN201309UV02/controlActProcess/queryByParameter/parameterList";

enum Outcome45 {
    UnknownDomain(AckDetail),
    NotFound,
    Found(PixPatient),
}

fn query_object(q: &PixQuery) -> ParticipantObject {
    ParticipantObject::query(
        CodedValue::ihe_transaction("ITI-45", "PIXV3 Query"),
        q.query_id.to_string(),
        q.query_xml.clone().into_bytes(),
    )
}

/// Whether ids under `root` can be known here.
pub(crate) fn domain_known(
    conn: &mut diesel::PgConnection,
    ctx_root: &str,
    declared: bool,
    root: &str,
) -> Result<bool, StoreError> {
    if root == ctx_root || declared {
        return Ok(true);
    }
    store::domain_known(conn, root)
}

/// What a PIX query finds (shared by ITI-45 and ITI-9).
pub(crate) enum PixLookup {
    /// The queried id's domain is not known.
    UnknownPatientDomain,
    /// Data source `i` is not a known domain.
    UnknownSource(usize),
    NotFound,
    /// The person's other ids (restricted to the data sources when given), and demographics.
    Found(Vec<PatientIdentifier>, Box<super::Demographics>),
}

/// The cross-references of `lookup`: every other id of its person (ITI TF-2a §3.9, §3.45).
pub(crate) fn pix_lookup(
    conn: &mut diesel::PgConnection,
    lookup: &PatientIdentifier,
    enterprise_root: &str,
    declared_patient: bool,
    sources: &[(String, bool)],
) -> Result<PixLookup, StoreError> {
    // The id first: when it is known, so is its domain (one query on the common path).
    // A merged-away record already belongs to its survivor's person.
    let person = if lookup.root == enterprise_root {
        store::person_by_enterprise_id(conn, &lookup.extension)?
    } else {
        store::find_record_plain(conn, lookup)?.map(|r| r.person_id)
    };
    if person.is_none() && !domain_known(conn, enterprise_root, declared_patient, &lookup.root)? {
        return Ok(PixLookup::UnknownPatientDomain);
    }
    for (i, (root, declared)) in sources.iter().enumerate() {
        if !domain_known(conn, enterprise_root, *declared, root)? {
            return Ok(PixLookup::UnknownSource(i));
        }
    }
    let Some(person) = person else {
        return Ok(PixLookup::NotFound);
    };
    let records = store::person_records(conn, person)?;
    let mut ids: Vec<PatientIdentifier> = records.iter().map(|r| r.identifier()).collect();
    if let Some(e) = store::enterprise_id(conn, person)? {
        ids.push(PatientIdentifier::new(enterprise_root.to_owned(), e));
    }
    ids.retain(|i| i != lookup);
    if !sources.is_empty() {
        ids.retain(|i| sources.iter().any(|(r, _)| *r == i.root));
    }
    if ids.is_empty() {
        return Ok(PixLookup::NotFound);
    }
    let demographics = records
        .iter()
        .find(|r| r.identifier() == *lookup)
        .or(records.first())
        .map(|r| r.demographics())
        .unwrap_or_default();
    Ok(PixLookup::Found(ids, Box::new(demographics)))
}

pub async fn handle(ctx: &Context, body: &Element) -> Answer {
    let device = ctx.settings.device.clone();
    let q = match decode::pix_query(body) {
        Ok(q) => q,
        Err(e) => {
            let header = decode::header_lenient(body);
            let qa = QueryAck {
                query_id: None,
                response_code: "AE",
                total: 0,
                current: 0,
                remaining: 0,
            };
            return Answer {
                body_xml: pix_response(&header, &device, AckCode::Ae, &[e.detail()], &qa, "", None),
                outcome: Outcome::SeriousFailure,
                description: Some(e.to_string()),
                participant_objects: Vec::new(),
            };
        }
    };
    let Some(patient) = wire::identifier(&q.patient) else {
        // decode guarantees an extension; keep the compiler honest without a panic.
        return Answer {
            body_xml: String::new(),
            outcome: Outcome::MajorFailure,
            description: Some("patient identifier without extension".into()),
            participant_objects: Vec::new(),
        };
    };
    let enterprise_root = ctx.settings.enterprise_root.clone();
    let declared_patient = ctx.names_authority(&patient.root);
    let sources: Vec<(String, bool)> = q
        .data_sources
        .iter()
        .map(|r| (r.clone(), ctx.names_authority(r)))
        .collect();
    let lookup = patient.clone();
    let data_sources = sources.clone();
    let result = ctx
        .db
        .run(move |conn| {
            pix_lookup(
                conn,
                &lookup,
                &enterprise_root,
                declared_patient,
                &data_sources,
            )
        })
        .await
        .map(|r| match r {
            PixLookup::UnknownPatientDomain => Outcome45::UnknownDomain(AckDetail {
                code: Some(super::iti44::UNKNOWN_KEY.into()),
                text: format!(
                    "the patient identifier domain {} is not known to the PIX Manager",
                    patient.root
                ),
                location: Some(format!("{PARAMS}/patientIdentifier/value/@root")),
            }),
            PixLookup::UnknownSource(i) => Outcome45::UnknownDomain(AckDetail {
                code: Some(super::iti44::UNKNOWN_KEY.into()),
                text: format!(
                    "the data source domain {} is not known to the PIX Manager",
                    sources[i].0
                ),
                location: Some(format!("{PARAMS}/dataSource[{}]/value/@root", i + 1)),
            }),
            PixLookup::NotFound => Outcome45::NotFound,
            PixLookup::Found(ids, demographics) => Outcome45::Found(PixPatient {
                ids: ids.iter().map(wire::ii).collect(),
                person: wire::person(&demographics),
            }),
        });
    let mut objects = vec![query_object(&q), ParticipantObject::patient(patient.cx())];
    let (ack, details, code, found, outcome, description) = match result {
        Ok(Outcome45::Found(p)) => {
            objects.extend(p.ids.iter().filter_map(patient_object));
            (
                AckCode::Aa,
                Vec::new(),
                "OK",
                Some(p),
                Outcome::Success,
                None,
            )
        }
        Ok(Outcome45::NotFound) => (AckCode::Aa, Vec::new(), "NF", None, Outcome::Success, None),
        Ok(Outcome45::UnknownDomain(d)) => {
            let text = d.text.clone();
            (
                AckCode::Ae,
                vec![d],
                "AE",
                None,
                Outcome::SeriousFailure,
                Some(text),
            )
        }
        Err(e) => {
            tracing::error!(error = %e, "ITI-45 query failed");
            let d = AckDetail {
                code: None,
                text: "an internal error occurred; try again later".into(),
                location: None,
            };
            (
                AckCode::Ar,
                vec![d],
                "AR",
                None,
                Outcome::MajorFailure,
                Some("internal error".into()),
            )
        }
    };
    let n = u32::from(found.is_some());
    let qa = QueryAck {
        query_id: Some(&q.query_id),
        response_code: code,
        total: n,
        current: n,
        remaining: 0,
    };
    Answer {
        body_xml: pix_response(
            &q.header,
            &device,
            ack,
            &details,
            &qa,
            &q.query_xml,
            found.as_ref(),
        ),
        outcome,
        description,
        participant_objects: objects,
    }
}

fn patient_object(ii: &Ii) -> Option<ParticipantObject> {
    let id: PatientIdentifier = wire::identifier(ii)?;
    Some(ParticipantObject::patient(id.cx()))
}
