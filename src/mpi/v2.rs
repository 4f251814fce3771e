//! PIX/PDQ over HL7 v2.5 and MLLP: ITI-8 Patient Identity Feed (ADT^A01, A04, A05, A08, A40),
//! ITI-9 PIX Query (QBP^Q23 → RSP^K23) and ITI-21 PDQ (QBP^Q22 → RSP^K22, no incremental
//! responses), for hospital systems that do not speak HL7v3. The same MPI as ITI-44/45/47 does
//! the work (`iti44::store_feed`, `iti45::pix_lookup`, `iti47::search`); this module maps
//! segments to the domain types and back, and runs the MLLP listener (`mllp_addr`).
//!
//! Each message is audited (ITI-8: Patient Record 110110; ITI-9/21: Query 110112 with the QPD) and
//! the event is durable before the acknowledgement is sent. A message that does not parse gets
//! an AR acknowledgement with an ERR segment saying why; an unknown domain or patient, AE with
//! ERR code 204 (Unknown Key Identifier) at the field concerned.

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::io::AsyncWriteExt;

use super::{Context, PatientIdentifier};
use crate::audit::dicom::ParticipantObject;
use crate::audit::{self, AuditEvent, AuditSink, Code, Outcome, Transport};
use crate::hl7v2::{self, Builder, Field, Message, Segment, comps, one, subs};
use crate::hl7v3::{Address, Feed, Ii, Name, PatientRecord, Person};

/// Largest message accepted on the MLLP listener.
pub const MAX_MESSAGE_BYTES: usize = 1 << 20;

/// An acknowledgement code (MSA-1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ack {
    Aa,
    Ae,
    Ar,
}

impl Ack {
    fn code(self) -> &'static str {
        match self {
            Ack::Aa => "AA",
            Ack::Ae => "AE",
            Ack::Ar => "AR",
        }
    }
}

/// One ERR segment: location (segment, sequence, field, repetition, component), HL7 table
/// 0357 code and text, and the human-readable message (ERR-8).
#[derive(Debug, Clone)]
struct Error {
    location: Option<(String, usize, usize)>,
    code: &'static str,
    code_text: &'static str,
    message: String,
}

fn err(location: Option<(&str, usize)>, code: &'static str, message: String) -> Error {
    let code_text = match code {
        "100" => "Segment sequence error",
        "101" => "Required field missing",
        "102" => "Data type error",
        "200" => "Unsupported message type",
        "201" => "Unsupported event code",
        "204" => "Unknown key identifier",
        "207" => "Application internal error",
        _ => "Application error",
    };
    Error {
        location: location.map(|(s, f)| (s.to_owned(), 1, f)),
        code,
        code_text,
        message,
    }
}

/// What one message came to: the answer and its audit facts.
struct Handled {
    answer: String,
    transaction: &'static str,
    outcome: Outcome,
    description: Option<String>,
    objects: Vec<ParticipantObject>,
    change: bool,
}

/// Handles one received message text (without MLLP framing).
pub async fn handle(ctx: &Context, text: &str) -> (String, AuditEvent) {
    let h = match Message::parse(text) {
        Ok(m) => dispatch(ctx, &m).await,
        Err(e) => Handled {
            answer: ack(
                ctx,
                None,
                Ack::Ar,
                &[err(
                    e.location.as_ref().map(|(s, f)| (s.as_str(), *f)),
                    "102",
                    format!("the message does not parse: {}", e.what),
                )],
                "ACK",
            ),
            transaction: "ITI-8",
            outcome: Outcome::SeriousFailure,
            description: Some(e.what),
            objects: Vec::new(),
            change: false,
        },
    };
    let (event_id, action) = if h.change {
        (audit::event_id::patient_record(), audit::Action::Update)
    } else {
        (audit::event_id::query(), audit::Action::Execute)
    };
    let mut event = AuditEvent::new(event_id, action, h.outcome, Transport::Internal);
    event.event_type = Some(Code::ihe_transaction(
        h.transaction,
        match h.transaction {
            "ITI-9" => "PIX Query",
            "ITI-21" => "Patient Demographics Query",
            _ => "Patient Identity Feed",
        },
    ));
    event.outcome_description = h.description;
    event.participant_objects = h.objects;
    (h.answer, event)
}

async fn dispatch(ctx: &Context, m: &Message) -> Handled {
    let (code, trigger, _) = m.message_type();
    match (code.as_str(), trigger.as_str()) {
        ("ADT", "A01" | "A04" | "A05" | "A08" | "A40") => feed(ctx, m, &trigger).await,
        ("QBP", "Q23") => pix_query(ctx, m).await,
        ("QBP", "Q22") => pdq_query(ctx, m).await,
        _ => {
            let (c, what) = if matches!(code.as_str(), "ADT" | "QBP") {
                ("201", "trigger event")
            } else {
                ("200", "message type")
            };
            Handled {
                answer: ack(
                    ctx,
                    Some(m),
                    Ack::Ar,
                    &[err(
                        Some(("MSH", 9)),
                        c,
                        format!(
                            "{what} {code}^{trigger} is not accepted here: ITI-8 takes ADT^A01/A04/A05/A08/A40, ITI-9 QBP^Q23, ITI-21 QBP^Q22"
                        ),
                    )],
                    "ACK",
                ),
                transaction: "ITI-8",
                outcome: Outcome::SeriousFailure,
                description: Some(format!("unsupported message {code}^{trigger}")),
                objects: Vec::new(),
                change: false,
            }
        }
    }
}

/// The assigning authority's universal id (CX.4.2) of a CX, "" when absent.
fn universal_id(cx: &[String]) -> String {
    cx.get(3)
        .and_then(|a| a.split('&').nth(1))
        .unwrap_or_default()
        .trim()
        .to_owned()
}

/// A CX (`id^^^namespace&universalId&ISO`) as an identifier; the universal id (OID) is required.
fn identifier(cx: &[String]) -> Result<Ii, String> {
    let id = cx.first().map(|s| s.trim()).unwrap_or_default();
    let universal = universal_id(cx);
    if id.is_empty() {
        return Err("the identifier has no ID (component 1)".into());
    }
    if universal.is_empty() {
        return Err(format!(
            "identifier {id} has no assigning authority universal id (component 4, sub-component 2: the OID)"
        ));
    }
    Ok(Ii::new(universal, id))
}

fn patient_record(m: &Message, pid: &Segment) -> Result<PatientRecord, Error> {
    let mut ids = Vec::new();
    for (i, cx) in m.repetitions(pid, 3).iter().enumerate() {
        ids.push(identifier(cx).map_err(|e| {
            err(
                Some(("PID", 3)),
                "102",
                format!("PID-3 repetition {}: {e}", i + 1),
            )
        })?);
    }
    if ids.is_empty() {
        return Err(err(
            Some(("PID", 3)),
            "101",
            "PID-3 (patient identifier list) is empty".into(),
        ));
    }
    let names = m
        .repetitions(pid, 5)
        .into_iter()
        .map(|xpn| {
            let part = |i: usize| {
                xpn.get(i)
                    .map(|s| s.split('&').next().unwrap_or_default().trim().to_owned())
                    .filter(|s| !s.is_empty())
            };
            Name {
                family: part(0).into_iter().collect(),
                given: part(1).into_iter().chain(part(2)).collect(),
                use_code: part(6),
            }
        })
        .filter(|n| !n.family.is_empty() || !n.given.is_empty())
        .collect();
    let non_empty = |s: String| Some(s.trim().to_owned()).filter(|s| !s.is_empty());
    let addresses = m
        .repetitions(pid, 11)
        .into_iter()
        .map(|xad| {
            let c = |i: usize| xad.get(i).cloned().and_then(non_empty);
            Address {
                street: c(0).into_iter().chain(c(1)).collect(),
                city: c(2),
                state: c(3),
                postal_code: c(4),
                country: c(5),
            }
        })
        .filter(|a| !a.is_empty())
        .collect();
    let telecoms = m
        .repetitions(pid, 13)
        .into_iter()
        .filter_map(|xtn| {
            let c = |i: usize| xtn.get(i).cloned().and_then(non_empty);
            c(11)
                .or_else(|| c(0))
                .or_else(|| match (c(5), c(6)) {
                    (Some(area), Some(local)) => Some(format!("{area}{local}")),
                    (None, Some(local)) => Some(local),
                    _ => None,
                })
                .map(|n| format!("tel:{n}"))
        })
        .collect();
    Ok(PatientRecord {
        ids,
        person: Person {
            names,
            gender: non_empty(m.get(pid, 8, 1)),
            birth_time: non_empty(m.get(pid, 7, 1)),
            addresses,
            telecoms,
            other_ids: Vec::new(),
        },
    })
}

async fn feed(ctx: &Context, m: &Message, trigger: &str) -> Handled {
    let refused = |ack_code: Ack, e: Error, ids: &[PatientIdentifier]| Handled {
        answer: ack(ctx, Some(m), ack_code, std::slice::from_ref(&e), "ACK"),
        transaction: "ITI-8",
        outcome: Outcome::SeriousFailure,
        description: Some(e.message.clone()),
        objects: ids
            .iter()
            .map(|i| ParticipantObject::patient(i.cx()))
            .collect(),
        change: true,
    };
    let Some(pid) = m.segment("PID") else {
        return refused(
            Ack::Ar,
            err(Some(("PID", 0)), "100", "the PID segment is missing".into()),
            &[],
        );
    };
    let record = match patient_record(m, pid) {
        Ok(r) => r,
        Err(e) => return refused(Ack::Ar, e, &[]),
    };
    let mut obsolete = Vec::new();
    if trigger == "A40" {
        let Some(mrg) = m.segment("MRG") else {
            return refused(
                Ack::Ar,
                err(
                    Some(("MRG", 0)),
                    "100",
                    "ADT^A40 needs an MRG segment naming the merged-away id".into(),
                ),
                &[],
            );
        };
        for cx in m.repetitions(mrg, 1) {
            match identifier(&cx) {
                Ok(ii) => obsolete.push(ii),
                Err(e) => {
                    return refused(
                        Ack::Ar,
                        err(Some(("MRG", 1)), "102", format!("MRG-1: {e}")),
                        &[],
                    );
                }
            }
        }
        if obsolete.is_empty() {
            return refused(
                Ack::Ar,
                err(Some(("MRG", 1)), "101", "MRG-1 is empty".into()),
                &[],
            );
        }
    }
    let ids: Vec<PatientIdentifier> = record
        .ids
        .iter()
        .chain(&obsolete)
        .filter_map(super::wire::identifier)
        .collect();
    for (field, ii) in record
        .ids
        .iter()
        .map(|i| (("PID", 3), i))
        .chain(obsolete.iter().map(|i| (("MRG", 1), i)))
    {
        if !ctx.accepts_feed_authority(&ii.root) {
            return refused(
                Ack::Ae,
                err(
                    Some(field),
                    "204",
                    format!(
                        "the assigning authority {} is not a patient identifier domain of this affinity domain",
                        ii.root
                    ),
                ),
                &ids,
            );
        }
    }
    let (feed, interaction) = match trigger {
        "A08" => (Feed::Revise(record), "ADT_A08"),
        "A40" => (
            Feed::Merge {
                survivor: record,
                obsolete,
            },
            "ADT_A40",
        ),
        _ => (Feed::Add(record), "ADT_A01"),
    };
    let source = m
        .segment("MSH")
        .map(|msh| m.get(msh, 3, 1))
        .filter(|s| !s.is_empty());
    match super::iti44::store_feed(ctx, feed, source, interaction).await {
        Ok(touched) => Handled {
            answer: ack(ctx, Some(m), Ack::Aa, &[], "ACK"),
            transaction: "ITI-8",
            outcome: Outcome::Success,
            description: None,
            objects: touched
                .iter()
                .map(|i| ParticipantObject::patient(i.cx()))
                .collect(),
            change: true,
        },
        Err(super::iti44::FeedError::Refused(d)) => {
            let code = if d.code.as_deref() == Some(super::iti44::UNKNOWN_KEY) {
                "204"
            } else {
                "207"
            };
            refused(Ack::Ae, err(None, code, d.text), &ids)
        }
        Err(super::iti44::FeedError::Store(e)) => {
            tracing::error!(error = %e, "ITI-8 feed not stored");
            let mut h = refused(
                Ack::Ar,
                err(
                    None,
                    "207",
                    "an internal error occurred; nothing was stored; try again later".into(),
                ),
                &ids,
            );
            h.outcome = Outcome::MajorFailure;
            h.description = Some("internal error".into());
            h
        }
    }
}

/// The QPD of a query and its audit object (the query as sent); an answer when there is none.
fn query_start<'m>(
    ctx: &Context,
    m: &'m Message,
    transaction: &str,
    display: &str,
) -> Result<(&'m Segment, String, Vec<ParticipantObject>), Box<Handled>> {
    let Some(qpd) = m.segment("QPD") else {
        return Err(Box::new(query_error(
            ctx,
            m,
            Ack::Ar,
            err(Some(("QPD", 0)), "100", "the QPD segment is missing".into()),
            Vec::new(),
        )));
    };
    let tag = m.get(qpd, 2, 1);
    let objects = vec![ParticipantObject::query(
        crate::audit::dicom::CodedValue::ihe_transaction(transaction, display),
        if tag.is_empty() {
            m.control_id()
        } else {
            tag.clone()
        },
        m.segment_text(qpd).into_bytes(),
    )];
    Ok((qpd, tag, objects))
}

async fn pix_query(ctx: &Context, m: &Message) -> Handled {
    let (qpd, _, mut objects) = match query_start(ctx, m, "ITI-9", "PIX Query") {
        Ok(s) => s,
        Err(h) => return *h,
    };
    let cx = m.repetitions(qpd, 3).into_iter().next().unwrap_or_default();
    let patient = match identifier(&cx).map(|ii| super::wire::identifier(&ii)) {
        Ok(Some(p)) => p,
        Ok(None) | Err(_) => {
            let why = identifier(&cx)
                .err()
                .unwrap_or_else(|| "no identifier".into());
            return query_error(
                ctx,
                m,
                Ack::Ae,
                err(Some(("QPD", 3)), "101", format!("QPD-3: {why}")),
                objects,
            );
        }
    };
    objects.push(ParticipantObject::patient(patient.cx()));
    let mut sources: Vec<(String, bool)> = Vec::new();
    for cx in m.repetitions(qpd, 4) {
        let universal = universal_id(&cx);
        if universal.is_empty() {
            return query_error(
                ctx,
                m,
                Ack::Ae,
                err(
                    Some(("QPD", 4)),
                    "102",
                    "QPD-4 (what domains returned) names a domain without its universal id (OID)"
                        .into(),
                ),
                objects,
            );
        }
        let declared = ctx.names_authority(&universal);
        sources.push((universal, declared));
    }
    let enterprise_root = ctx.settings.enterprise_root.clone();
    let declared_patient = ctx.names_authority(&patient.root);
    let lookup = patient.clone();
    let srcs = sources.clone();
    let result = ctx
        .db
        .run(move |conn| {
            super::iti45::pix_lookup(conn, &lookup, &enterprise_root, declared_patient, &srcs)
        })
        .await;
    use super::iti45::PixLookup;
    match result {
        Ok(PixLookup::Found(ids, _)) => {
            objects.extend(ids.iter().map(|i| ParticipantObject::patient(i.cx())));
            query_answer(
                ctx,
                m,
                Ack::Aa,
                "OK",
                &[],
                Some(&ids),
                objects,
                Outcome::Success,
            )
        }
        Ok(PixLookup::NotFound) => {
            // A known id with no other id in the domains asked for: NF. An id the PIX Manager
            // does not know at all: AE 204 at QPD-3.1 (ITI TF-2a §3.9.4.2.2.6, case 3).
            let known = {
                let p = patient.clone();
                ctx.db
                    .run(move |conn| Ok(super::store::find_record_plain(conn, &p)?.is_some()))
                    .await
                    .unwrap_or(false)
            };
            if known || patient.root == ctx.settings.enterprise_root {
                query_answer(ctx, m, Ack::Aa, "NF", &[], None, objects, Outcome::Success)
            } else {
                query_error(
                    ctx,
                    m,
                    Ack::Ae,
                    err(
                        Some(("QPD", 3)),
                        "204",
                        format!("patient id {patient} is not known to the PIX Manager"),
                    ),
                    objects,
                )
            }
        }
        Ok(PixLookup::UnknownPatientDomain) => query_error(
            ctx,
            m,
            Ack::Ae,
            err(
                Some(("QPD", 3)),
                "204",
                format!(
                    "the patient identifier domain {} is not known to the PIX Manager",
                    patient.root
                ),
            ),
            objects,
        ),
        Ok(PixLookup::UnknownSource(i)) => query_error(
            ctx,
            m,
            Ack::Ae,
            err(
                Some(("QPD", 4)),
                "204",
                format!(
                    "the domain {} in QPD-4 is not known to the PIX Manager",
                    sources[i].0
                ),
            ),
            objects,
        ),
        Err(e) => {
            tracing::error!(error = %e, "ITI-9 query failed");
            query_answer(
                ctx,
                m,
                Ack::Ar,
                "AR",
                &[err(
                    None,
                    "207",
                    "an internal error occurred; try again later".into(),
                )],
                None,
                objects,
                Outcome::MajorFailure,
            )
        }
    }
}

/// ITI-21: QBP^Q22 → RSP^K22. QPD-3 holds `@PID.n.m^value` pairs (name, birth date, sex,
/// address, phone, identifier), QPD-8 the domains whose ids the answer carries. Matching and
/// ranking are ITI-47's (`iti47::search`); every match is answered (no incremental response).
async fn pdq_query(ctx: &Context, m: &Message) -> Handled {
    let (qpd, tag, objects) = match query_start(ctx, m, "ITI-21", "Patient Demographics Query") {
        Ok(s) => s,
        Err(h) => return *h,
    };
    let mut q = crate::hl7v3::PdqQuery {
        header: crate::hl7v3::Header::default(),
        query_id: Ii::new(
            "urn:hiehub:hl7v2:pdq",
            uuid::Uuid::new_v4().simple().to_string(),
        ),
        initial_quantity: None,
        minimum_degree_match: None,
        name: None,
        gender: None,
        birth_time: None,
        address: None,
        telecom: None,
        ids: Vec::new(),
        scoping_organizations: Vec::new(),
        query_xml: m.segment_text(qpd),
    };
    let (mut family, mut given) = (None, None);
    let (mut id, mut id_root) = (None, None);
    let mut address = Address::default();
    for pair in m.repetitions(qpd, 3) {
        let field = pair
            .first()
            .map(|f| f.trim())
            .unwrap_or_default()
            .to_owned();
        let value = pair.get(1).map(|v| v.trim()).unwrap_or_default().to_owned();
        if value.is_empty() {
            continue;
        }
        match field.trim_start_matches('@') {
            "PID.5.1" | "PID.5.1.1" => family = Some(value),
            "PID.5.2" => given = Some(value),
            "PID.7" | "PID.7.1" => q.birth_time = Some(value),
            "PID.8" => q.gender = Some(value),
            "PID.11.1" | "PID.11.1.1" => address.street.push(value),
            "PID.11.3" => address.city = Some(value),
            "PID.11.4" => address.state = Some(value),
            "PID.11.5" => address.postal_code = Some(value),
            "PID.11.6" => address.country = Some(value),
            "PID.13.1" | "PID.13.12" => q.telecom = Some(format!("tel:{value}")),
            "PID.3.1" => id = Some(value),
            "PID.3.4.2" => id_root = Some(value),
            other => {
                return query_error(
                    ctx,
                    m,
                    Ack::Ae,
                    err(
                        Some(("QPD", 3)),
                        "102",
                        format!("QPD-3: the query parameter {other} is not supported"),
                    ),
                    objects,
                );
            }
        }
    }
    if family.is_some() || given.is_some() {
        q.name = Some(Name {
            family: family.into_iter().collect(),
            given: given.into_iter().collect(),
            use_code: None,
        });
    }
    if !address.is_empty() {
        q.address = Some(address);
    }
    if let Some(ext) = id {
        let Some(root) = id_root else {
            return query_error(
                ctx,
                m,
                Ack::Ae,
                err(
                    Some(("QPD", 3)),
                    "101",
                    "QPD-3: @PID.3.1 needs @PID.3.4.2 (the identifier's domain OID)".into(),
                ),
                objects,
            );
        };
        q.ids.push(Ii::new(root, ext));
    }
    for cx in m.repetitions(qpd, 8) {
        let universal = universal_id(&cx);
        if !universal.is_empty() {
            q.scoping_organizations.push(universal);
        }
    }
    let root = ctx.settings.enterprise_root.clone();
    let declared: Vec<(String, bool)> = q
        .scoping_organizations
        .iter()
        .map(|r| (r.clone(), ctx.names_authority(r)))
        .collect();
    let settings = ctx.settings.clone();
    let result = ctx
        .db
        .run(move |conn| super::iti47::search(conn, &q, &root, &declared, &settings, None))
        .await;
    use super::iti47::Searched;
    match result {
        Ok(Searched::Page { matches, .. }) => {
            let mut b = header(ctx, Some(m), ("RSP", "K22", "RSP_K21"))
                .segment("MSA", vec![one("AA"), one(m.control_id())])
                .segment(
                    "QAK",
                    vec![
                        one(tag),
                        one(if matches.is_empty() { "NF" } else { "OK" }),
                        vec![],
                        one(matches.len().to_string()),
                        one(matches.len().to_string()),
                        one("0"),
                    ],
                )
                .segment("QPD", echo(m, qpd, 8));
            let mut objects = objects;
            for (i, pm) in matches.iter().enumerate() {
                b = b
                    .segment("PID", pid_fields(i + 1, pm))
                    .segment("QRI", vec![one(pm.score.to_string())]);
                objects.extend(
                    pm.ids
                        .iter()
                        .filter_map(super::wire::identifier)
                        .map(|p| ParticipantObject::patient(p.cx())),
                );
            }
            Handled {
                answer: b.build(),
                transaction: "ITI-21",
                outcome: Outcome::Success,
                description: None,
                objects,
                change: false,
            }
        }
        Ok(Searched::Refused(d)) => {
            let mut h = query_error(
                ctx,
                m,
                Ack::Ae,
                err(Some(("QPD", 8)), "204", d.text),
                objects,
            );
            h.transaction = "ITI-21";
            h
        }
        Err(e) => {
            tracing::error!(error = %e, "ITI-21 query failed");
            let mut h = query_error(
                ctx,
                m,
                Ack::Ar,
                err(
                    None,
                    "207",
                    "an internal error occurred; try again later".into(),
                ),
                objects,
            );
            h.outcome = Outcome::MajorFailure;
            h
        }
    }
}

/// QPD fields 1..=`n` of `m`, to echo in an answer (sub-components kept).
fn echo(m: &Message, qpd: &Segment, n: usize) -> Vec<Field> {
    (1..=n)
        .map(|i| {
            m.repetitions(qpd, i)
                .into_iter()
                .map(|rep| rep.iter().map(|c| subs(c.split('&'))).collect())
                .collect()
        })
        .collect()
}

/// A PDQ match as a PID segment: set id, ids (PID-3), names (PID-5), birth (7), sex (8),
/// addresses (11), phones (13).
fn pid_fields(set_id: usize, pm: &crate::hl7v3::encode::PdqMatch) -> Vec<Field> {
    let ids: Field = pm
        .ids
        .iter()
        .map(|i| {
            vec![
                i.extension.clone().unwrap_or_default(),
                String::new(),
                String::new(),
                subs(["", i.root.as_str(), "ISO"]),
            ]
        })
        .collect();
    let names: Field = pm
        .person
        .names
        .iter()
        .map(|n| vec![n.family_text(), n.given_text()])
        .collect();
    let addresses: Field = pm
        .person
        .addresses
        .iter()
        .map(|a| {
            vec![
                a.street.first().cloned().unwrap_or_default(),
                a.street.get(1).cloned().unwrap_or_default(),
                a.city.clone().unwrap_or_default(),
                a.state.clone().unwrap_or_default(),
                a.postal_code.clone().unwrap_or_default(),
                a.country.clone().unwrap_or_default(),
            ]
        })
        .collect();
    let phones: Field = pm
        .person
        .telecoms
        .iter()
        .map(|t| vec![t.trim_start_matches("tel:").to_owned()])
        .collect();
    let mut f: Vec<Field> = vec![vec![]; 13];
    f[0] = one(set_id.to_string());
    f[2] = ids;
    f[4] = names;
    f[6] = pm.person.birth_time.clone().map(one).unwrap_or_default();
    f[7] = pm.person.gender.clone().map(one).unwrap_or_default();
    f[10] = addresses;
    f[12] = phones;
    f
}

/// A refused query: AE/AR with one ERR, QAK-2 the same code, audited as a serious failure.
fn query_error(
    ctx: &Context,
    m: &Message,
    code: Ack,
    e: Error,
    objects: Vec<ParticipantObject>,
) -> Handled {
    let (_, trigger, _) = m.message_type();
    let mut h = query_answer(
        ctx,
        m,
        code,
        code.code(),
        &[e],
        None,
        objects,
        Outcome::SeriousFailure,
    );
    if trigger == "Q22" {
        h.transaction = "ITI-21";
    }
    h
}

#[allow(clippy::too_many_arguments)]
fn query_answer(
    ctx: &Context,
    m: &Message,
    code: Ack,
    qak: &str,
    errors: &[Error],
    ids: Option<&[PatientIdentifier]>,
    objects: Vec<ParticipantObject>,
    outcome: Outcome,
) -> Handled {
    let mut b = header(ctx, Some(m), ("RSP", "K23", "RSP_K23"))
        .segment("MSA", vec![one(code.code()), one(m.control_id())]);
    for e in errors {
        b = b.segment("ERR", err_fields(e));
    }
    let qpd = m.segment("QPD");
    let tag = qpd.map(|q| m.get(q, 2, 1)).unwrap_or_default();
    b = b.segment("QAK", vec![one(tag), one(qak)]);
    if let Some(q) = qpd {
        b = b.segment("QPD", echo(m, q, 4));
    }
    if let Some(ids) = ids {
        let cxs: Field = ids
            .iter()
            .map(|i| {
                vec![
                    i.extension.clone(),
                    String::new(),
                    String::new(),
                    subs(["", i.root.as_str(), "ISO"]),
                ]
            })
            .collect();
        b = b.segment("PID", vec![vec![], vec![], cxs]);
    }
    let description = errors
        .iter()
        .map(|e| e.message.clone())
        .collect::<Vec<_>>()
        .join("; ");
    Handled {
        answer: b.build(),
        transaction: "ITI-9",
        outcome,
        description: Some(description).filter(|d| !d.is_empty()),
        objects,
        change: false,
    }
}

fn err_fields(e: &Error) -> Vec<Field> {
    let location: Field = match &e.location {
        Some((seg, seq, field)) => comps([seg.clone(), seq.to_string(), field.to_string()]),
        None => vec![],
    };
    vec![
        vec![],
        location,
        comps([e.code, e.code_text, "HL70357"]),
        one("E"),
        vec![],
        vec![],
        vec![],
        one(e.message.clone()),
    ]
}

/// MSH of an answer to `m` (sender/receiver swapped, version 2.5).
fn header(ctx: &Context, m: Option<&Message>, kind: (&str, &str, &str)) -> Builder {
    let get = |f: usize| -> Field {
        match m.and_then(|m| m.segment("MSH").map(|s| (m, s))) {
            Some((m, s)) => m
                .repetitions(s, f)
                .into_iter()
                .take(1)
                .map(|r| r.into_iter().collect())
                .collect(),
            None => vec![],
        }
    };
    let trigger = m.map(|m| m.message_type().1).unwrap_or_default();
    let (code, event, structure) = kind;
    let event = if code == "ACK" && !trigger.is_empty() {
        trigger
    } else {
        event.to_owned()
    };
    Builder::msh(vec![
        comps(["HIEHUB", ctx.settings.device.as_str()]),
        one("REGION"),
        get(3),
        get(4),
        one(chrono::Utc::now().format("%Y%m%d%H%M%S").to_string()),
        vec![],
        comps([code.to_owned(), event, structure.to_owned()]),
        one(uuid::Uuid::new_v4().simple().to_string()),
        one("P"),
        one("2.5"),
    ])
}

fn ack(ctx: &Context, m: Option<&Message>, code: Ack, errors: &[Error], _kind: &str) -> String {
    let control = m.map(Message::control_id).unwrap_or_default();
    let mut b =
        header(ctx, m, ("ACK", "", "ACK")).segment("MSA", vec![one(code.code()), one(control)]);
    for e in errors {
        b = b.segment("ERR", err_fields(e));
    }
    b.build()
}

/// Starts the MLLP listener on `addr`; returns the bound address. Each connection is served in
/// its own task; each message's audit event is durable before its answer is written.
pub async fn serve(
    addr: SocketAddr,
    ctx: Arc<Context>,
    sink: AuditSink,
) -> std::io::Result<SocketAddr> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let bound = listener.local_addr()?;
    tokio::spawn(async move {
        loop {
            let (socket, peer) = match listener.accept().await {
                Ok(s) => s,
                Err(e) => {
                    tracing::warn!(error = %e, "MLLP accept failed");
                    continue;
                }
            };
            let ctx = ctx.clone();
            let sink = sink.clone();
            tokio::spawn(async move {
                if let Err(e) = connection(socket, peer, bound, &ctx, &sink).await {
                    tracing::info!(%peer, error = %e, "MLLP connection closed");
                }
            });
        }
    });
    Ok(bound)
}

async fn connection(
    mut socket: tokio::net::TcpStream,
    peer: SocketAddr,
    bound: SocketAddr,
    ctx: &Context,
    sink: &AuditSink,
) -> Result<(), hl7v2::mllp::MllpError> {
    let mut buf = Vec::new();
    loop {
        let frame = match hl7v2::mllp::read_frame(&mut socket, &mut buf, MAX_MESSAGE_BYTES).await {
            Ok(Some(f)) => f,
            Ok(None) => return Ok(()),
            Err(e) => {
                // A framing error leaves the stream unsynchronised: answer once, close.
                let answer = ack(
                    ctx,
                    None,
                    Ack::Ar,
                    &[err(None, "100", format!("MLLP framing: {e}"))],
                    "ACK",
                );
                let _ = socket.write_all(&hl7v2::mllp::frame(&answer)).await;
                return Err(e);
            }
        };
        let text = String::from_utf8_lossy(&frame);
        let (answer, mut event) = handle(ctx, &text).await;
        event.remote_addr = Some(peer.to_string());
        event.destination = Some(format!("mllp://{bound}"));
        if let Err(e) = sink.record(event).await {
            tracing::error!(error = %e, "MLLP: audit event not committed; answering AR");
            let answer = ack(
                ctx,
                Message::parse(&text).ok().as_ref(),
                Ack::Ar,
                &[err(
                    None,
                    "207",
                    "the audit trail could not record this message, so it was not acknowledged; send it again later".into(),
                )],
                "ACK",
            );
            socket.write_all(&hl7v2::mllp::frame(&answer)).await?;
            continue;
        }
        socket.write_all(&hl7v2::mllp::frame(&answer)).await?;
    }
}
