//! ITI-47 Patient Demographics Query HL7 V3 (ITI TF-2b §3.47): PRPA_IN201305UV02 →
//! PRPA_IN201306UV02, with continuation and cancel (QUQI_IN000003UV01, §3.47.4.3 and §3.47.4.4).
//!
//! Search: candidates come from indexed columns (b-tree on the name keys and birth date,
//! pg_trgm GIN on the name keys for fuzzy and prefix matching; never a scan of the table), then
//! each is scored in Rust: name agreement by edit distance over the Hangul-romanised and
//! Latin keys, the other parameters are exact filters. One answer entry per person (its best
//! record), ranked by score, each with a `queryMatchObservation`.
//!
//! Continuation: the ranked person list is stored in `mpi_pdq_queries` under the queryId, so a
//! continuation works after a restart; the state is deleted after the last page or on cancel.

use diesel::PgConnection;
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Double, Integer, Text};

use super::names::{key, similarity};
use super::store::{self, RECORD_COLUMNS, RecordRow};
use super::{Answer, Context, PatientIdentifier, wire};
use crate::audit::Outcome;
use crate::audit::dicom::{CodedValue, ParticipantObject};
use crate::hl7v3::encode::{PdqMatch, QueryAck, accept_ack, pdq_response};
use crate::hl7v3::{AckCode, AckDetail, Continuation, Header, Ii, PdqQuery, decode};
use crate::store::StoreError;
use crate::xml::Element;

pub const ACTION: &str = "urn:hl7-org:v3:PRPA_IN201305UV02";
pub const RESPONSE_ACTION: &str = "urn:hl7-org:v3:PRPA_IN201306UV02";
pub const CONTINUE_ACTION: &str = "urn:hl7-org:v3:QUQI_IN000003UV01_Continue";
pub const CANCEL_ACTION: &str = "urn:hl7-org:v3:QUQI_IN000003UV01_Cancel";
pub const CANCEL_RESPONSE_ACTION: &str = "urn:hl7-org:v3:MCCI_IN000002UV01";

/// Fuzzy name matches below this similarity are not answered.
pub const NAME_CUTOFF: f64 = 0.75;
/// The most candidate records one query looks at.
const MAX_CANDIDATES: i64 = 5000;

const PARAMS: &str = "/PRPA_IN201305UV02/controlActProcess/queryByParameter/parameterList";

/// The name part of a query, as keys.
#[derive(Debug, Clone, Default)]
struct NameQuery {
    family: Option<String>,
    given: Option<String>,
    prefix: bool,
}

fn name_query(q: &PdqQuery) -> Option<NameQuery> {
    let n = q.name.as_ref()?;
    let raw_f = n.family_text();
    let raw_g = n.given_text();
    let prefix = raw_f.ends_with('*') || raw_g.ends_with('*');
    let k = |s: &str| Some(key(s.trim_end_matches('*'))).filter(|k| !k.is_empty());
    let nq = NameQuery {
        family: k(&raw_f),
        given: k(&raw_g),
        prefix,
    };
    (nq.family.is_some() || nq.given.is_some()).then_some(nq)
}

/// How well a record's name agrees with the query, 0..=1.
fn name_agreement(nq: &NameQuery, keys: &super::NameKeys) -> f64 {
    let best = |q: &str, a: &Option<String>, b: &Option<String>| -> f64 {
        [a, b]
            .iter()
            .filter_map(|x| x.as_deref())
            .map(|v| {
                if nq.prefix && v.starts_with(q) {
                    1.0
                } else {
                    similarity(q, v)
                }
            })
            .fold(0.0, f64::max)
    };
    match (&nq.family, &nq.given) {
        (Some(f), Some(g)) if !nq.prefix => {
            let q = format!("{f}{g}");
            best(&q, &keys.full_norm, &keys.full_alt)
        }
        (Some(f), Some(g)) => {
            (best(f, &keys.family_norm, &keys.family_alt)
                + best(g, &keys.given_norm, &keys.given_alt))
                / 2.0
        }
        (Some(f), None) => best(f, &keys.family_norm, &keys.family_alt),
        (None, Some(g)) => best(g, &keys.given_norm, &keys.given_alt),
        (None, None) => 1.0,
    }
}

/// One ranked person: its best record and score (0..=100).
#[derive(Debug, Clone)]
struct Ranked {
    record_id: i64,
    person_id: i64,
    score: u32,
}

pub(crate) enum Searched {
    Refused(AckDetail),
    Page {
        total: u32,
        matches: Vec<PdqMatch>,
        remaining: u32,
        /// With `consent_pdq_filter`: what the consent filter decided, to audit.
        consent: Option<crate::consent::exits::PdqDecisions>,
    },
}

/// Every id (CX) each of `persons` is known by: its active local ids and its enterprise id.
fn ids_of_persons(
    conn: &mut PgConnection,
    persons: &[i64],
    enterprise_root: &str,
) -> Result<std::collections::BTreeMap<i64, Vec<String>>, StoreError> {
    let ids: Vec<IdOfPerson> = diesel::sql_query(
        "SELECT person_id, root, extension FROM mpi_records WHERE person_id = ANY($1) AND status = 'active' \
         UNION ALL SELECT id AS person_id, $2 AS root, enterprise_id AS extension FROM mpi_persons WHERE id = ANY($1)",
    )
    .bind::<Array<BigInt>, _>(persons)
    .bind::<Text, _>(enterprise_root)
    .load(conn)
    .map_err(store::db)?;
    let mut out: std::collections::BTreeMap<i64, Vec<String>> = std::collections::BTreeMap::new();
    for i in ids {
        out.entry(i.person_id)
            .or_default()
            .push(PatientIdentifier::new(i.root, i.extension).cx());
    }
    Ok(out)
}

fn candidates(
    conn: &mut PgConnection,
    q: &PdqQuery,
    nq: Option<&NameQuery>,
    persons: Option<&[i64]>,
    domains: &[String],
    enterprise_root: &str,
) -> Result<Vec<RecordRow>, StoreError> {
    let mut sql = format!("SELECT {RECORD_COLUMNS} FROM mpi_records r WHERE r.status = 'active'");
    let mut binds: Vec<String> = Vec::new();
    let bind = |v: String, binds: &mut Vec<String>| {
        binds.push(v);
        format!("${}", binds.len())
    };
    if let Some(nq) = nq {
        match (&nq.family, &nq.given, nq.prefix) {
            (Some(f), Some(g), false) => {
                let p = bind(format!("{f}{g}"), &mut binds);
                sql += &format!(
                    " AND (r.full_norm = {p} OR r.full_alt = {p} OR r.full_norm % {p} OR r.full_alt % {p})"
                );
            }
            (Some(f), _, true) => {
                let p = bind(format!("{}%", like_escape(f)), &mut binds);
                sql += &format!(" AND (r.family_norm LIKE {p} OR r.family_alt LIKE {p})");
                if let Some(g) = &nq.given {
                    let p = bind(format!("{}%", like_escape(g)), &mut binds);
                    sql += &format!(" AND (r.given_norm LIKE {p} OR r.given_alt LIKE {p})");
                }
            }
            (Some(f), None, false) => {
                let p = bind(f.clone(), &mut binds);
                sql += &format!(
                    " AND (r.family_norm = {p} OR r.family_alt = {p} OR r.family_norm % {p})"
                );
            }
            (None, Some(g), prefix) => {
                let v = if prefix {
                    format!("{}%", like_escape(g))
                } else {
                    g.clone()
                };
                let p = bind(v, &mut binds);
                sql += &format!(" AND (r.given_norm LIKE {p} OR r.given_alt LIKE {p})");
            }
            (None, None, _) => {}
        }
    }
    if let Some(b) = q.birth_time.as_deref().and_then(wire::birth_date) {
        if b.len() == 8 {
            let p = bind(b, &mut binds);
            sql += &format!(" AND r.birth_date = {p}");
        } else {
            let p = bind(format!("{b}%"), &mut binds);
            sql += &format!(" AND r.birth_date LIKE {p}");
        }
    }
    if let Some(g) = &q.gender {
        let p = bind(g.clone(), &mut binds);
        sql += &format!(" AND r.gender = {p}");
    }
    if let Some(t) = q.telecom.as_deref().and_then(wire::phone_digits) {
        let p = bind(t, &mut binds);
        sql += &format!(" AND r.phone = {p}");
    }
    if let Some(a) = &q.address {
        if let Some(c) = &a.city {
            let p = bind(c.to_lowercase(), &mut binds);
            sql += &format!(" AND lower(r.city) = {p}");
        }
        if let Some(pc) = &a.postal_code {
            let p = bind(pc.clone(), &mut binds);
            sql += &format!(" AND r.postal_code = {p}");
        }
    }
    if let Some(persons) = persons {
        let list = persons
            .iter()
            .map(i64::to_string)
            .collect::<Vec<_>>()
            .join(",");
        if list.is_empty() {
            return Ok(Vec::new());
        }
        sql += &format!(" AND r.person_id IN ({list})");
    }
    let foreign: Vec<&String> = domains.iter().filter(|d| *d != enterprise_root).collect();
    if !domains.is_empty() && foreign.len() == domains.len() {
        let mut ps = Vec::new();
        for d in foreign {
            ps.push(bind(d.clone(), &mut binds));
        }
        sql += &format!(
            " AND EXISTS (SELECT 1 FROM mpi_records o WHERE o.person_id = r.person_id AND o.status = 'active' AND o.root IN ({}))",
            ps.join(",")
        );
    }
    sql += &format!(" ORDER BY r.id LIMIT {MAX_CANDIDATES}");
    let mut query = diesel::sql_query(sql).into_boxed::<Pg>();
    for b in binds {
        query = query.bind::<Text, _>(b);
    }
    query.load(conn).map_err(store::db)
}

fn like_escape(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

/// Ranks the candidates: one entry per person, best score first.
fn rank(q: &PdqQuery, nq: Option<&NameQuery>, rows: &[RecordRow]) -> Vec<Ranked> {
    let min = q.minimum_degree_match.unwrap_or(0);
    let others = [
        q.birth_time.is_some(),
        q.gender.is_some(),
        q.telecom.is_some(),
        q.address.as_ref().is_some_and(|a| !a.is_empty()),
        !q.ids.is_empty(),
    ]
    .iter()
    .filter(|b| **b)
    .count() as f64;
    let mut best: std::collections::HashMap<i64, Ranked> = std::collections::HashMap::new();
    for r in rows {
        let keys = r.demographics().keys();
        let (name, weight) = match nq {
            Some(nq) => {
                let s = name_agreement(nq, &keys);
                if s < NAME_CUTOFF {
                    continue;
                }
                (s * 2.0, 2.0)
            }
            None => (0.0, 0.0),
        };
        let total = if weight + others == 0.0 {
            1.0
        } else {
            (name + others) / (weight + others)
        };
        let score = (total * 100.0).round().clamp(0.0, 100.0) as u32;
        if score < min {
            continue;
        }
        let entry = best.entry(r.person_id).or_insert(Ranked {
            record_id: r.id,
            person_id: r.person_id,
            score,
        });
        if score > entry.score {
            entry.record_id = r.id;
            entry.score = score;
        }
    }
    let mut ranked: Vec<Ranked> = best.into_values().collect();
    ranked.sort_by(|a, b| b.score.cmp(&a.score).then(a.record_id.cmp(&b.record_id)));
    ranked
}

#[derive(QueryableByName)]
struct IdOfPerson {
    #[diesel(sql_type = BigInt)]
    person_id: i64,
    #[diesel(sql_type = Text)]
    root: String,
    #[diesel(sql_type = Text)]
    extension: String,
}

/// Builds the answer entries of `page` (the persons' ids restricted to `domains` when given).
fn page_matches(
    conn: &mut PgConnection,
    page: &[Ranked],
    domains: &[String],
    enterprise_root: &str,
) -> Result<Vec<PdqMatch>, StoreError> {
    let record_ids: Vec<i64> = page.iter().map(|r| r.record_id).collect();
    let person_ids: Vec<i64> = page.iter().map(|r| r.person_id).collect();
    let records = store::records_by_ids(conn, &record_ids)?;
    let ids: Vec<IdOfPerson> = diesel::sql_query(
        "SELECT person_id, root, extension FROM mpi_records WHERE person_id = ANY($1) AND status = 'active' \
         UNION ALL SELECT id AS person_id, $2 AS root, enterprise_id AS extension FROM mpi_persons WHERE id = ANY($1) \
         ORDER BY 1, 2, 3",
    )
    .bind::<Array<BigInt>, _>(&person_ids)
    .bind::<Text, _>(enterprise_root)
    .load(conn)
    .map_err(store::db)?;
    let mut out = Vec::with_capacity(page.len());
    for r in page {
        let Some(rec) = records.iter().find(|x| x.id == r.record_id) else {
            continue;
        };
        let ids: Vec<Ii> = ids
            .iter()
            .filter(|i| i.person_id == r.person_id)
            .filter(|i| domains.is_empty() || domains.contains(&i.root))
            .map(|i| wire::ii(&PatientIdentifier::new(i.root.clone(), i.extension.clone())))
            .collect();
        out.push(PdqMatch {
            ids,
            person: wire::person(&rec.demographics()),
            score: r.score,
        });
    }
    Ok(out)
}

pub(crate) fn search(
    conn: &mut PgConnection,
    q: &PdqQuery,
    ctx_root: &str,
    declared: &[(String, bool)],
    settings: &super::Settings,
    consent: Option<&crate::consent::Gate>,
) -> Result<Searched, StoreError> {
    let max = settings.pdq_max_results;
    for (i, (root, decl)) in declared.iter().enumerate() {
        if !super::iti45::domain_known(conn, ctx_root, *decl, root)? {
            return Ok(Searched::Refused(AckDetail {
                code: Some(super::iti44::UNKNOWN_KEY.into()),
                text: format!(
                    "the scoping organization (domain) {root} is not known to the PDQ Supplier"
                ),
                location: Some(format!(
                    "{PARAMS}/otherIDsScopingOrganization[{}]/value/@root",
                    i + 1
                )),
            }));
        }
    }
    let domains: Vec<String> = declared.iter().map(|(r, _)| r.clone()).collect();
    let persons = if q.ids.is_empty() {
        None
    } else {
        let mut ps = Vec::new();
        for ii in &q.ids {
            let Some(id) = wire::identifier(ii) else {
                continue;
            };
            let p = if id.root == ctx_root {
                store::person_by_enterprise_id(conn, &id.extension)?
            } else if settings.is_national_root(&id.root) {
                match &settings.national_key {
                    Some(k) => {
                        store::person_by_national_id(conn, &k.hmac(&id.root, &id.extension))?
                    }
                    None => None,
                }
            } else {
                store::resolve_record(conn, &id)?.map(|r| r.person_id)
            };
            ps.extend(p);
        }
        Some(ps)
    };
    let nq = name_query(q);
    let rows = candidates(conn, q, nq.as_ref(), persons.as_deref(), &domains, ctx_root)?;
    let mut ranked = rank(q, nq.as_ref(), &rows);
    // Consent (issue 6), before anything is counted or paged: a hidden person leaves no trace.
    let consent = match consent {
        Some(gate) if !ranked.is_empty() => {
            let mut persons: Vec<i64> = ranked.iter().map(|r| r.person_id).collect();
            persons.sort_unstable();
            persons.dedup();
            let ids = ids_of_persons(conn, &persons, ctx_root)?;
            let d = gate.pdq_decide(conn, &ids).map_err(store::db)?;
            ranked.retain(|r| !d.hidden.contains(&r.person_id));
            Some(d)
        }
        _ => None,
    };
    ranked.truncate(max as usize);
    let total = ranked.len() as u32;
    let first = q.initial_quantity.map_or(total, |n| n.max(1)).min(total);
    let page = page_matches(conn, &ranked[..first as usize], &domains, ctx_root)?;
    let remaining = total - first;
    if remaining > 0 {
        let rids: Vec<i64> = ranked.iter().map(|r| r.record_id).collect();
        let scores: Vec<f64> = ranked.iter().map(|r| f64::from(r.score)).collect();
        let page_size =
            i32::try_from(q.initial_quantity.unwrap_or(first).max(1)).unwrap_or(i32::MAX);
        diesel::sql_query(
            "INSERT INTO mpi_pdq_queries (query_root, query_ext, record_ids, scores, next_offset, page_size, domains, query_xml) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (query_root, query_ext) DO UPDATE SET \
             record_ids = EXCLUDED.record_ids, scores = EXCLUDED.scores, next_offset = EXCLUDED.next_offset, \
             page_size = EXCLUDED.page_size, domains = EXCLUDED.domains, query_xml = EXCLUDED.query_xml, created_at = now()",
        )
        .bind::<Text, _>(&q.query_id.root)
        .bind::<Text, _>(q.query_id.extension.as_deref().unwrap_or(""))
        .bind::<Array<BigInt>, _>(&rids)
        .bind::<Array<Double>, _>(&scores)
        .bind::<Integer, _>(i32::try_from(first).unwrap_or(i32::MAX))
        .bind::<Integer, _>(page_size)
        .bind::<Array<Text>, _>(&domains)
        .bind::<Text, _>(&q.query_xml)
        .execute(conn)
        .map_err(store::db)?;
    }
    Ok(Searched::Page {
        total,
        matches: page,
        remaining,
        consent,
    })
}

fn query_object(query_id: Option<&Ii>, query_xml: &str) -> ParticipantObject {
    ParticipantObject::query(
        CodedValue::ihe_transaction("ITI-47", "Patient Demographics Query HL7 V3"),
        query_id.map(Ii::to_string).unwrap_or_default(),
        query_xml.as_bytes().to_vec(),
    )
}

fn patients_of(matches: &[PdqMatch]) -> impl Iterator<Item = ParticipantObject> + '_ {
    matches.iter().filter_map(|m| {
        let id = m.ids.first().and_then(wire::identifier)?;
        Some(ParticipantObject::patient(id.cx()))
    })
}

fn error_answer(
    ctx: &Context,
    header: &Header,
    query_id: Option<&Ii>,
    query_xml: &str,
    ack: AckCode,
    detail: AckDetail,
    outcome: Outcome,
) -> Answer {
    let qa = QueryAck {
        query_id,
        response_code: if ack == AckCode::Ar { "AR" } else { "AE" },
        total: 0,
        current: 0,
        remaining: 0,
    };
    let description = match &detail.location {
        Some(l) => format!("{l}: {}", detail.text),
        None => detail.text.clone(),
    };
    Answer {
        body_xml: pdq_response(
            header,
            &ctx.settings.device,
            ack,
            &[detail],
            &qa,
            query_xml,
            &[],
        ),
        outcome,
        description: Some(description),
        participant_objects: vec![query_object(query_id, query_xml)],
    }
}

fn internal(
    ctx: &Context,
    header: &Header,
    query_id: Option<&Ii>,
    query_xml: &str,
    e: StoreError,
) -> Answer {
    tracing::error!(error = %e, "ITI-47 query failed");
    error_answer(
        ctx,
        header,
        query_id,
        query_xml,
        AckCode::Ar,
        AckDetail {
            code: None,
            text: "an internal error occurred; try again later".into(),
            location: None,
        },
        Outcome::MajorFailure,
    )
}

/// PRPA_IN201305UV02.
/// The query text with national identifiers masked: it is echoed, audited and (for
/// continuation) stored, and a national identifier is never kept in clear.
fn mask_national(q: &PdqQuery, s: &super::Settings) -> String {
    let mut xml = q.query_xml.clone();
    for id in q.ids.iter().filter(|i| s.is_national_root(&i.root)) {
        if let Some(ext) = &id.extension {
            let clear = format!("extension=\"{}\"", crate::xml::escape(ext));
            let masked = format!("extension=\"{}\"", super::national_id::mask(ext));
            xml = xml.replace(&clear, &masked);
        }
    }
    xml
}

pub async fn handle(ctx: &Context, body: &Element) -> Answer {
    let q = match decode::pdq_query(body) {
        Ok(mut q) => {
            q.query_xml = mask_national(&q, &ctx.settings);
            q
        }
        Err(e) => {
            let header = decode::header_lenient(body);
            return error_answer(
                ctx,
                &header,
                None,
                "",
                AckCode::Ae,
                e.detail(),
                Outcome::SeriousFailure,
            );
        }
    };
    let root = ctx.settings.enterprise_root.clone();
    let declared: Vec<(String, bool)> = q
        .scoping_organizations
        .iter()
        .map(|r| (r.clone(), ctx.names_authority(r)))
        .collect();
    let settings = ctx.settings.clone();
    let query = q.clone();
    let gate = ctx.consent.clone();
    let result = ctx
        .db
        .run(move |conn| search(conn, &query, &root, &declared, &settings, gate.as_ref()))
        .await;
    match result {
        Ok(Searched::Page {
            total,
            matches,
            remaining,
            consent,
        }) => {
            if let (Some(d), Some(gate)) = (consent, &ctx.consent)
                && let Err(e) = gate.pdq_record(d).await
            {
                // The denials could not be audited: answer nothing.
                let e = StoreError::Join(format!("consent audit: {e}"));
                return internal(ctx, &q.header, Some(&q.query_id), &q.query_xml, e);
            }
            let qa = QueryAck {
                query_id: Some(&q.query_id),
                response_code: if total == 0 { "NF" } else { "OK" },
                total,
                current: matches.len() as u32,
                remaining,
            };
            let mut objects = vec![query_object(Some(&q.query_id), &q.query_xml)];
            objects.extend(patients_of(&matches));
            Answer {
                body_xml: pdq_response(
                    &q.header,
                    &ctx.settings.device,
                    AckCode::Aa,
                    &[],
                    &qa,
                    &q.query_xml,
                    &matches,
                ),
                outcome: Outcome::Success,
                description: None,
                participant_objects: objects,
            }
        }
        Ok(Searched::Refused(d)) => error_answer(
            ctx,
            &q.header,
            Some(&q.query_id),
            &q.query_xml,
            AckCode::Ae,
            d,
            Outcome::SeriousFailure,
        ),
        Err(e) => internal(ctx, &q.header, Some(&q.query_id), &q.query_xml, e),
    }
}

#[derive(QueryableByName)]
struct State {
    #[diesel(sql_type = Array<BigInt>)]
    record_ids: Vec<i64>,
    #[diesel(sql_type = Array<Double>)]
    scores: Vec<f64>,
    #[diesel(sql_type = Integer)]
    next_offset: i32,
    #[diesel(sql_type = Integer)]
    page_size: i32,
    #[diesel(sql_type = Array<Text>)]
    domains: Vec<String>,
    #[diesel(sql_type = Text)]
    query_xml: String,
}

enum Continued {
    Unknown,
    Cancelled,
    Page {
        total: u32,
        matches: Vec<PdqMatch>,
        remaining: u32,
        query_xml: String,
    },
}

fn continue_query(
    conn: &mut PgConnection,
    c: &Continuation,
    enterprise_root: &str,
) -> Result<Continued, StoreError> {
    let ext = c.query_id.extension.clone().unwrap_or_default();
    conn.transaction::<_, StoreError, _>(|conn| {
        let state: Option<State> = diesel::sql_query(
            "SELECT record_ids, scores, next_offset, page_size, domains, query_xml FROM mpi_pdq_queries \
             WHERE query_root = $1 AND query_ext = $2 FOR UPDATE",
        )
        .bind::<Text, _>(&c.query_id.root)
        .bind::<Text, _>(&ext)
        .get_result(conn)
        .optional()
        .map_err(store::db)?;
        let Some(state) = state else {
            return Ok(Continued::Unknown);
        };
        let delete = |conn: &mut PgConnection| {
            diesel::sql_query("DELETE FROM mpi_pdq_queries WHERE query_root = $1 AND query_ext = $2")
                .bind::<Text, _>(&c.query_id.root)
                .bind::<Text, _>(&ext)
                .execute(conn)
                .map_err(store::db)
        };
        if c.cancel {
            delete(conn)?;
            return Ok(Continued::Cancelled);
        }
        let total = state.record_ids.len();
        let start = usize::try_from(state.next_offset).unwrap_or(0).min(total);
        let size = c
            .quantity
            .map_or(usize::try_from(state.page_size).unwrap_or(1), |q| q as usize)
            .max(1);
        let end = (start + size).min(total);
        let records = store::records_by_ids(conn, &state.record_ids[start..end])?;
        let page: Vec<Ranked> = (start..end)
            .filter_map(|i| {
                let rid = state.record_ids[i];
                let rec = records.iter().find(|r| r.id == rid)?;
                Some(Ranked {
                    record_id: rid,
                    person_id: rec.person_id,
                    score: state.scores[i].round().clamp(0.0, 100.0) as u32,
                })
            })
            .collect();
        let matches = page_matches(conn, &page, &state.domains, enterprise_root)?;
        if end >= total {
            delete(conn)?;
        } else {
            diesel::sql_query(
                "UPDATE mpi_pdq_queries SET next_offset = $3 WHERE query_root = $1 AND query_ext = $2",
            )
            .bind::<Text, _>(&c.query_id.root)
            .bind::<Text, _>(&ext)
            .bind::<Integer, _>(i32::try_from(end).unwrap_or(i32::MAX))
            .execute(conn)
            .map_err(store::db)?;
        }
        Ok(Continued::Page {
            total: total as u32,
            matches,
            remaining: (total - end) as u32,
            query_xml: state.query_xml,
        })
    })
}

/// QUQI_IN000003UV01 continue (`cancel_action` false) or cancel.
pub async fn handle_continuation(ctx: &Context, body: &Element, cancel_action: bool) -> Answer {
    let c = match decode::continuation(body, cancel_action) {
        Ok(c) => c,
        Err(e) => {
            let header = decode::header_lenient(body);
            if cancel_action {
                return Answer {
                    body_xml: accept_ack(&header, &ctx.settings.device, AckCode::Ae, &[e.detail()]),
                    outcome: Outcome::SeriousFailure,
                    description: Some(e.to_string()),
                    participant_objects: vec![query_object(None, "")],
                };
            }
            return error_answer(
                ctx,
                &header,
                None,
                "",
                AckCode::Ae,
                e.detail(),
                Outcome::SeriousFailure,
            );
        }
    };
    let root = ctx.settings.enterprise_root.clone();
    let cc = c.clone();
    let result = ctx
        .db
        .run(move |conn| continue_query(conn, &cc, &root))
        .await;
    let unknown = || AckDetail {
        code: Some(super::iti44::UNKNOWN_KEY.into()),
        text: format!(
            "no open query with queryId {} (it was completed, cancelled or never made)",
            c.query_id
        ),
        location: Some(format!(
            "/{}/controlActProcess/queryContinuation/queryId",
            if body.local.is_empty() {
                "QUQI_IN000003UV01"
            } else {
                body.local.as_str()
            }
        )),
    };
    match result {
        Ok(Continued::Cancelled) => Answer {
            body_xml: accept_ack(&c.header, &ctx.settings.device, AckCode::Aa, &[]),
            outcome: Outcome::Success,
            description: None,
            participant_objects: vec![query_object(Some(&c.query_id), "")],
        },
        Ok(Continued::Unknown) if c.cancel => {
            let d = unknown();
            Answer {
                description: Some(d.text.clone()),
                body_xml: accept_ack(&c.header, &ctx.settings.device, AckCode::Ae, &[d]),
                outcome: Outcome::SeriousFailure,
                participant_objects: vec![query_object(Some(&c.query_id), "")],
            }
        }
        Ok(Continued::Unknown) => error_answer(
            ctx,
            &c.header,
            Some(&c.query_id),
            "",
            AckCode::Ae,
            unknown(),
            Outcome::SeriousFailure,
        ),
        Ok(Continued::Page {
            total,
            matches,
            remaining,
            query_xml,
        }) => {
            let qa = QueryAck {
                query_id: Some(&c.query_id),
                response_code: if total == 0 { "NF" } else { "OK" },
                total,
                current: matches.len() as u32,
                remaining,
            };
            let mut objects = vec![query_object(Some(&c.query_id), &query_xml)];
            objects.extend(patients_of(&matches));
            Answer {
                body_xml: pdq_response(
                    &c.header,
                    &ctx.settings.device,
                    AckCode::Aa,
                    &[],
                    &qa,
                    &query_xml,
                    &matches,
                ),
                outcome: Outcome::Success,
                description: None,
                participant_objects: objects,
            }
        }
        Err(e) => internal(ctx, &c.header, Some(&c.query_id), "", e),
    }
}
