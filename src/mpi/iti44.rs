//! ITI-44 Patient Identity Feed HL7 V3 (ITI TF-2b §3.44): add (PRPA_IN201301UV02), revise
//! (PRPA_IN201302UV02) and resolve duplicates (PRPA_IN201304UV02), each answered with the
//! MCCI_IN000002UV01 accept acknowledgement: AA, or AE with acknowledgementDetail naming what is
//! wrong and where (AR when hiehub itself failed; nothing was stored).
//!
//! A merge moves the XDS registry's documents, submission sets and folders of the obsolete id
//! to the survivor, removes the obsolete id from the registry's known patients and records the
//! merge (`mpi_merges`), all in the feed's transaction.

use diesel::Connection;
use diesel::PgConnection;

use super::link::{self, Decision};
use super::store::{self, RecordRef};
use super::{Answer, Context, Demographics, PatientIdentifier, Settings, iti46, wire};
use crate::audit::Outcome;
use crate::audit::dicom::ParticipantObject;
use crate::hl7v3::{self, AckCode, AckDetail, Feed, Header, PatientRecord, decode, encode};
use crate::store::StoreError;
use crate::xml::Element;

pub const ADD_ACTION: &str = "urn:hl7-org:v3:PRPA_IN201301UV02";
pub const REVISE_ACTION: &str = "urn:hl7-org:v3:PRPA_IN201302UV02";
pub const MERGE_ACTION: &str = "urn:hl7-org:v3:PRPA_IN201304UV02";
pub const RESPONSE_ACTION: &str = "urn:hl7-org:v3:MCCI_IN000002UV01";

/// AcknowledgementDetailCode 204: unknown key identifier (an unknown domain or id).
pub const UNKNOWN_KEY: &str = "204";

/// Why a feed was not applied.
#[derive(Debug)]
pub(crate) enum FeedError {
    Refused(AckDetail),
    Store(StoreError),
}

impl From<diesel::result::Error> for FeedError {
    fn from(e: diesel::result::Error) -> Self {
        FeedError::Store(StoreError::from(e))
    }
}

impl From<StoreError> for FeedError {
    fn from(e: StoreError) -> Self {
        FeedError::Store(e)
    }
}

fn refused(code: Option<&str>, text: String, location: String) -> FeedError {
    FeedError::Refused(AckDetail {
        code: code.map(str::to_owned),
        text,
        location: Some(location),
    })
}

/// What a feed changed.
#[derive(Debug, Default)]
struct Applied {
    /// Every identifier the feed named (audit).
    touched: Vec<PatientIdentifier>,
    /// Persons whose cross-references changed (ITI-46).
    changed_persons: Vec<i64>,
}

fn ack(ctx: &Context, header: &Header, code: AckCode, details: &[AckDetail]) -> String {
    encode::accept_ack(header, &ctx.settings.device, code, details)
}

/// Answers a refused message: AE with the details, audited as a serious failure.
fn refuse(
    ctx: &Context,
    header: &Header,
    details: Vec<AckDetail>,
    ids: &[PatientIdentifier],
) -> Answer {
    let description = details
        .iter()
        .map(|d| match &d.location {
            Some(l) => format!("{l}: {}", d.text),
            None => d.text.clone(),
        })
        .collect::<Vec<_>>()
        .join("; ");
    Answer {
        body_xml: ack(ctx, header, AckCode::Ae, &details),
        outcome: Outcome::SeriousFailure,
        description: Some(description),
        participant_objects: ids
            .iter()
            .map(|i| ParticipantObject::patient(i.cx()))
            .collect(),
    }
}

fn message_path(interaction: &str, rest: &str) -> String {
    format!("/{interaction}/controlActProcess/subject/registrationEvent/{rest}")
}

/// Handles one ITI-44 message (`interaction` is the body element the action announces).
pub async fn handle(ctx: &Context, body: &Element, interaction: &'static str) -> Answer {
    let msg = match decode::feed(body, interaction) {
        Ok(m) => m,
        Err(e) => return refuse(ctx, &decode::header_lenient(body), vec![e.detail()], &[]),
    };
    let header = msg.header.clone();

    // Every identifier must be in a domain the affinity domain declares.
    let (record, obsolete): (&PatientRecord, &[hl7v3::Ii]) = match &msg.feed {
        Feed::Add(r) | Feed::Revise(r) => (r, &[]),
        Feed::Merge { survivor, obsolete } => (survivor, obsolete.as_slice()),
    };
    let mut details = Vec::new();
    let patient_path = message_path(interaction, "subject1/patient");
    for (i, id) in record.ids.iter().enumerate() {
        if !ctx.accepts_feed_authority(&id.root) {
            details.push(unknown_domain(
                ctx,
                &id.root,
                format!("{patient_path}/id[{}]/@root", i + 1),
            ));
        }
    }
    let prior_path = message_path(
        interaction,
        "replacementOf/priorRegistration/subject1/priorRegisteredRole",
    );
    for (i, id) in obsolete.iter().enumerate() {
        if !ctx.accepts_feed_authority(&id.root) {
            details.push(unknown_domain(
                ctx,
                &id.root,
                format!("{prior_path}/id[{}]/@root", i + 1),
            ));
        }
    }
    let ids: Vec<PatientIdentifier> = record
        .ids
        .iter()
        .chain(obsolete.iter())
        .filter_map(wire::identifier)
        .collect();
    if !details.is_empty() {
        return refuse(ctx, &header, details, &ids);
    }

    let result = store_feed(
        ctx,
        msg.feed.clone(),
        header.sender_device.clone(),
        interaction,
    )
    .await;
    match result {
        Ok(touched) => Answer {
            body_xml: ack(ctx, &header, AckCode::Aa, &[]),
            outcome: Outcome::Success,
            description: None,
            participant_objects: touched
                .iter()
                .map(|i| ParticipantObject::patient(i.cx()))
                .collect(),
        },
        Err(FeedError::Refused(d)) => refuse(ctx, &header, vec![d], &ids),
        Err(FeedError::Store(e)) => {
            tracing::error!(error = %e, "ITI-44 feed not stored");
            let d = AckDetail {
                code: None,
                text: "an internal error occurred; nothing was stored; try again later".into(),
                location: None,
            };
            Answer {
                body_xml: ack(ctx, &header, AckCode::Ar, &[d]),
                outcome: Outcome::MajorFailure,
                description: Some("internal error".into()),
                participant_objects: ids
                    .iter()
                    .map(|i| ParticipantObject::patient(i.cx()))
                    .collect(),
            }
        }
    }
}

/// Applies `feed` (its authorities already checked) in one transaction with the ITI-46
/// notifications it causes; returns every identifier it named. Shared by ITI-44 (HL7v3) and
/// ITI-8 (HL7v2).
pub(crate) async fn store_feed(
    ctx: &Context,
    feed: Feed,
    source: Option<String>,
    interaction: &'static str,
) -> Result<Vec<PatientIdentifier>, FeedError> {
    let settings = ctx.settings.clone();
    let result = ctx
        .db
        .run(move |conn| {
            Ok(conn.transaction::<_, FeedError, _>(|conn| {
                let applied = apply(conn, &feed, &settings, source.as_deref(), interaction)?;
                for person in &applied.changed_persons {
                    iti46::enqueue(conn, &settings, *person)?;
                }
                Ok(applied)
            }))
        })
        .await;
    match result {
        Ok(Ok(applied)) => Ok(applied.touched),
        Ok(Err(e)) => Err(e),
        Err(e) => Err(FeedError::Store(e)),
    }
}

fn unknown_domain(ctx: &Context, root: &str, location: String) -> AckDetail {
    let why = if ctx.settings.is_national_root(root) {
        format!(
            "{root} is a national identifier: it is not a patient id; send it as asOtherIDs of the patient"
        )
    } else if root == ctx.settings.enterprise_root {
        format!(
            "{root} is hiehub's enterprise id authority; its ids are assigned by hiehub, not fed"
        )
    } else {
        format!(
            "assigning authority {root} is not declared by the affinity domain '{}'",
            ctx.domain.name()
        )
    };
    AckDetail {
        code: Some(UNKNOWN_KEY.into()),
        text: why,
        location: Some(location),
    }
}

fn apply(
    conn: &mut PgConnection,
    feed: &Feed,
    s: &Settings,
    source: Option<&str>,
    interaction: &str,
) -> Result<Applied, FeedError> {
    match feed {
        Feed::Add(r) => add(conn, r, s, source, interaction),
        Feed::Revise(r) => revise(conn, r, interaction),
        Feed::Merge { survivor, obsolete } => {
            merge(conn, survivor, obsolete, s, source, interaction)
        }
    }
}

fn identifiers(r: &PatientRecord) -> Vec<PatientIdentifier> {
    r.ids.iter().filter_map(wire::identifier).collect()
}

/// Adds (or, for ids already known, updates) the record; links it to a person.
fn add(
    conn: &mut PgConnection,
    r: &PatientRecord,
    s: &Settings,
    source: Option<&str>,
    interaction: &str,
) -> Result<Applied, FeedError> {
    let ids = identifiers(r);
    let demo = wire::demographics(&r.person);
    let mut existing: Vec<Option<RecordRef>> = Vec::with_capacity(ids.len());
    for (i, id) in ids.iter().enumerate() {
        let rec = store::find_record(conn, id)?;
        if let Some(rec) = &rec
            && rec.status == "merged"
        {
            return Err(refused(
                Some(UNKNOWN_KEY),
                format!("patient id {id} was merged into another id and can no longer be fed"),
                message_path(interaction, &format!("subject1/patient/id[{}]", i + 1)),
            ));
        }
        existing.push(rec);
    }
    // Deterministic: a shared identifier (own ids first, then asOtherIDs: national ids by
    // their keyed hash, enterprise ids, other local ids).
    let others: Vec<PatientIdentifier> = r
        .person
        .other_ids
        .iter()
        .filter_map(wire::identifier)
        .collect();
    let national = s.seal_national(&others);
    if national.is_none() && others.iter().any(|o| s.is_national_root(&o.root)) {
        return Err(FeedError::Store(StoreError::Pool(
            "the national identifier key is unavailable".into(),
        )));
    }
    let mut person = existing.iter().flatten().map(|r| r.person_id).next();
    if person.is_none()
        && let Some(n) = &national
    {
        person = store::person_by_national_id(conn, &n.hmac)?;
    }
    if person.is_none() {
        for other in others.iter().filter(|o| !s.is_national_root(&o.root)) {
            if other.root == s.enterprise_root {
                if let Some(p) = store::person_by_enterprise_id(conn, &other.extension)? {
                    person = Some(p);
                    break;
                }
            } else if let Some(rec) = store::resolve_record(conn, other)? {
                person = Some(rec.person_id);
                break;
            }
        }
    }
    let mut changed = false;
    let mut review = None;
    let person_id = match person {
        Some(p) => p,
        None => {
            let decision = link::decide(conn, &demo, s)?;
            changed = true;
            match decision {
                Decision::Link { person_id, .. } => person_id,
                Decision::Review { person_id, score } => {
                    review = Some((person_id, score));
                    store::insert_person(conn, &s.enterprise_root)?.0
                }
                Decision::New => store::insert_person(conn, &s.enterprise_root)?.0,
            }
        }
    };
    for (id, rec) in ids.iter().zip(&existing) {
        let rid = match rec {
            Some(rec) => {
                store::update_demographics(conn, rec.id, &demo)?;
                rec.id
            }
            None => {
                let rid = store::insert_record(conn, person_id, id, &demo, source)?;
                changed = true;
                if let Some((candidate, score)) = review {
                    store::insert_review(conn, rid, candidate, score)?;
                }
                rid
            }
        };
        if let Some(n) = &national {
            store::set_national_id(conn, rid, n)?;
        }
    }
    Ok(Applied {
        touched: ids,
        changed_persons: if changed { vec![person_id] } else { Vec::new() },
    })
}

fn revise(
    conn: &mut PgConnection,
    r: &PatientRecord,
    interaction: &str,
) -> Result<Applied, FeedError> {
    let ids = identifiers(r);
    let demo: Demographics = wire::demographics(&r.person);
    for (i, id) in ids.iter().enumerate() {
        match store::find_record(conn, id)? {
            Some(rec) if rec.status == "active" => store::update_demographics(conn, rec.id, &demo)?,
            _ => {
                return Err(refused(
                    Some(UNKNOWN_KEY),
                    format!(
                        "patient id {id} is not known to the PIX Manager; send an add (PRPA_IN201301UV02) first"
                    ),
                    message_path(interaction, &format!("subject1/patient/id[{}]", i + 1)),
                ));
            }
        }
    }
    Ok(Applied {
        touched: ids,
        changed_persons: Vec::new(),
    })
}

fn merge(
    conn: &mut PgConnection,
    survivor: &PatientRecord,
    obsolete: &[hl7v3::Ii],
    s: &Settings,
    source: Option<&str>,
    interaction: &str,
) -> Result<Applied, FeedError> {
    // The survivor: known, or added now.
    let mut applied = add(conn, survivor, s, source, interaction)?;
    let survivor_ids = identifiers(survivor);
    let Some(survivor_id) = survivor_ids.first() else {
        return Err(refused(
            None,
            "the survivor has no identifier".into(),
            message_path(interaction, "subject1/patient/id"),
        ));
    };
    let Some(surv) = store::find_record(conn, survivor_id)? else {
        return Err(FeedError::Store(StoreError::Join(
            "survivor vanished".into(),
        )));
    };
    let prior = "replacementOf/priorRegistration/subject1/priorRegisteredRole";
    for (i, ii) in obsolete.iter().enumerate() {
        let location = message_path(interaction, &format!("{prior}/id[{}]", i + 1));
        let Some(old_id) = wire::identifier(ii) else {
            continue;
        };
        if old_id.root != survivor_id.root {
            return Err(refused(
                None,
                format!(
                    "the obsolete id {old_id} is not in the survivor's domain {}: a merge resolves duplicates within one domain",
                    survivor_id.root
                ),
                location,
            ));
        }
        if old_id == *survivor_id {
            return Err(refused(
                None,
                format!("patient id {old_id} cannot be merged into itself"),
                location,
            ));
        }
        let old = match store::find_record(conn, &old_id)? {
            Some(r) if r.status == "active" => r,
            _ => {
                return Err(refused(
                    Some(UNKNOWN_KEY),
                    format!("the obsolete patient id {old_id} is not known to the PIX Manager"),
                    location,
                ));
            }
        };
        store::merge_record(
            conn,
            (&old_id, &old),
            (survivor_id, &surv),
            &s.enterprise_root,
        )?;
        applied.touched.push(old_id);
    }
    if !applied.changed_persons.contains(&surv.person_id) {
        applied.changed_persons.push(surv.person_id);
    }
    Ok(applied)
}
