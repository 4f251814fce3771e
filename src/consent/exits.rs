//! Where the XDS transactions call consent: one call each.
//!
//! - ITI-18 ([`Gate::select_iti18`]): runs the stored query and removes, before anything is
//!   counted, every object the requester may not see — DocumentEntries denied, and for a
//!   patient denied as a whole also their SubmissionSets and Folders — then every Association
//!   with a hidden end (looked up when the end is not in the result) or pointing at a removed
//!   Association. When rows were removed from a result that may have been cut at the row limit,
//!   the query is run again with a larger limit, so `XDSTooManyResults` and the result itself
//!   count visible objects only.
//! - ITI-43 ([`Gate::retrievable`]): the requested uniqueIds the requester may retrieve; the
//!   others are answered like unknown documents (`XDSDocumentUniqueIdError`).
//! - ITI-41 ([`Gate::recognise`], [`Gate::recorded`]): BPPC consents checked before the
//!   submission is stored ([`super::bppc`]), and their audit events once it is.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use chrono::NaiveDateTime;
use diesel::PgConnection;

use super::bppc::{self, Recognised};
use super::cache::ConsentCache;
use super::engine;
use super::{Decision, Enforcer, Gate, Policies, Requester};
use crate::audit::{AuditError, AuditEvent, Outcome};
use crate::store::{Db, StoreError};
use crate::xds::iti18::Found;
use crate::xds::service::Answer;
use crate::xds::{Problem, Submission, SubmissionKind};

/// Why an exit could not decide (the transaction answers with an internal error).
#[derive(Debug, thiserror::Error)]
pub enum ExitError {
    #[error("consent: {0}")]
    Store(#[from] StoreError),
    #[error("consent audit: {0}")]
    Audit(#[from] AuditError),
}

/// Denials and break-the-glass permits of one request, per patient: (decision, object ids).
#[derive(Debug, Default)]
struct Report {
    denied: BTreeMap<String, (Decision, Vec<String>)>,
    glass: BTreeMap<String, (Decision, Vec<String>)>,
}

impl Report {
    fn note(&mut self, patient: &str, d: &Decision, id: Option<&str>) {
        let map = if !d.permit {
            &mut self.denied
        } else if d.break_the_glass {
            &mut self.glass
        } else {
            return;
        };
        let e = map
            .entry(patient.to_owned())
            .or_insert_with(|| (d.clone(), Vec::new()));
        if let Some(id) = id {
            e.1.push(id.to_owned());
        }
    }

    fn events(self, requester: &Requester, transaction: &str) -> Vec<AuditEvent> {
        self.denied
            .iter()
            .chain(self.glass.iter())
            .map(|(p, (d, ids))| super::audit::decision_event(requester, transaction, p, ids, d))
            .collect()
    }
}

/// The documents a stored query names in its parameters (`$XDSDocumentEntryEntryUUID`,
/// `$XDSDocumentEntryUniqueId`, `$uuid`), and the query: a query about a hidden document must
/// answer as if it did not exist, also where the answer holds other objects (the Folders of
/// GetFoldersForDocument, the related documents of GetRelatedDocuments, the SubmissionSets of
/// GetSubmissionSets).
#[derive(Debug, Clone, Default)]
pub struct Inputs {
    query: &'static str,
    entry_uuids: Vec<String>,
    unique_ids: Vec<String>,
}

impl Inputs {
    pub fn of(query: &'static str, params: &crate::xds::iti18::params::Params) -> Inputs {
        let list = |name: &str| params.multi_flat(name).unwrap_or_default();
        let mut entry_uuids = list("$XDSDocumentEntryEntryUUID");
        entry_uuids.extend(list("$uuid"));
        Inputs {
            query,
            entry_uuids,
            unique_ids: list("$XDSDocumentEntryUniqueId"),
        }
    }

    fn is_empty(&self) -> bool {
        self.entry_uuids.is_empty() && self.unique_ids.is_empty()
    }
}

/// Whether a document the query names is hidden from the requester.
fn names_hidden(
    conn: &mut PgConnection,
    cache: &ConsentCache,
    policies: &Policies,
    requester: &Requester,
    inputs: &Inputs,
    at: NaiveDateTime,
) -> diesel::QueryResult<bool> {
    if inputs.is_empty() {
        return Ok(false);
    }
    let mut named: Vec<super::store::ObjectFacts> =
        super::store::objects(conn, &inputs.entry_uuids)?
            .into_values()
            .filter(|f| f.document.is_some())
            .collect();
    named.extend(
        super::store::documents_by_unique_id(conn, &inputs.unique_ids)?
            .into_iter()
            .map(|(_, f)| f),
    );
    let patients = named.iter().map(|f| f.patient_id.clone()).collect();
    let decider = Decider::new(conn, cache, policies, requester, patients, at)?;
    Ok(named
        .iter()
        .any(|f| !decider.decide(&f.patient_id, f.document.as_ref()).permit))
}

enum View {
    Uniform(Decision),
    PerDocument,
}

struct Decider<'a> {
    policies: &'a Policies,
    requester: &'a Requester,
    consents: HashMap<String, Vec<engine::ConsentRecord>>,
    views: HashMap<String, View>,
    at: NaiveDateTime,
}

impl<'a> Decider<'a> {
    fn new(
        conn: &mut PgConnection,
        cache: &ConsentCache,
        policies: &'a Policies,
        requester: &'a Requester,
        patients: BTreeSet<String>,
        at: NaiveDateTime,
    ) -> diesel::QueryResult<Decider<'a>> {
        let list: Vec<String> = patients.into_iter().collect();
        let consents = cache.consents_of(conn, &list)?;
        Ok(Decider::with(policies, requester, list, consents, at))
    }

    fn with(
        policies: &'a Policies,
        requester: &'a Requester,
        list: Vec<String>,
        consents: HashMap<String, Vec<engine::ConsentRecord>>,
        at: NaiveDateTime,
    ) -> Decider<'a> {
        let empty = Vec::new();
        let views = list
            .into_iter()
            .map(|p| {
                let cs = consents.get(&p).unwrap_or(&empty);
                let v = if engine::depends_on_document(policies, requester, cs, at) {
                    View::PerDocument
                } else {
                    View::Uniform(engine::decide(policies, requester, cs, None, at))
                };
                (p, v)
            })
            .collect();
        Decider {
            policies,
            requester,
            consents,
            views,
            at,
        }
    }

    fn decide(&self, patient: &str, doc: Option<&super::DocumentFacts>) -> Decision {
        match self.views.get(patient) {
            Some(View::Uniform(d)) => d.clone(),
            _ => {
                let cs = self.consents.get(patient).map(Vec::as_slice).unwrap_or(&[]);
                engine::decide(self.policies, self.requester, cs, doc, self.at)
            }
        }
    }
}

/// Removes from `found` what the requester may not see; returns what was decided.
fn filter_found(
    conn: &mut PgConnection,
    cache: &ConsentCache,
    policies: &Policies,
    requester: &Requester,
    found: &mut Found,
    at: NaiveDateTime,
) -> diesel::QueryResult<Report> {
    let mut patients: BTreeSet<String> = found
        .submission_sets
        .iter()
        .chain(&found.documents)
        .map(|r| r.patient_id.clone())
        .chain(found.folders.iter().map(|f| f.patient_id.clone()))
        .collect();
    let in_found: HashSet<String> = found
        .submission_sets
        .iter()
        .chain(&found.documents)
        .map(|r| r.entry_uuid.clone())
        .chain(found.folders.iter().map(|f| f.entry_uuid.clone()))
        .collect();
    let mut ends: Vec<String> = found
        .associations
        .iter()
        .flat_map(|a| [&a.source_uuid, &a.target_uuid])
        .filter(|id| !in_found.contains(*id))
        .cloned()
        .collect();
    ends.sort_unstable();
    ends.dedup();
    let (decider, end_facts) = if ends.is_empty() {
        // The common case (FindDocuments...): the consents, from the cache or in one round
        // trip; the documents' facts came with their rows.
        let list: Vec<String> = patients.into_iter().collect();
        let consents = cache.consents_of(conn, &list)?;
        let decider = Decider::with(policies, requester, list, consents, at);
        (decider, HashMap::new())
    } else {
        let end_facts = super::store::objects(conn, &ends)?;
        patients.extend(end_facts.values().map(|f| f.patient_id.clone()));
        let decider = Decider::new(conn, cache, policies, requester, patients, at)?;
        (decider, end_facts)
    };

    let mut report = Report::default();
    let mut hidden: HashSet<String> = HashSet::new();
    let mut judge = |id: &str, patient: &str, doc: Option<&super::DocumentFacts>| -> bool {
        let d = decider.decide(patient, doc);
        report.note(patient, &d, Some(id));
        if !d.permit {
            hidden.insert(id.to_owned());
        }
        d.permit
    };
    found
        .documents
        .retain(|r| judge(&r.entry_uuid, &r.patient_id, r.facts.as_ref()));
    found
        .submission_sets
        .retain(|r| judge(&r.entry_uuid, &r.patient_id, None));
    found
        .folders
        .retain(|r| judge(&r.entry_uuid, &r.patient_id, None));
    for (id, f) in &end_facts {
        let d = decider.decide(&f.patient_id, f.document.as_ref());
        if !d.permit {
            hidden.insert(id.clone());
        }
    }
    let mut dropped: HashSet<String> = HashSet::new();
    // SubmissionSet -> (had associations in the answer, kept one).
    let mut sets: HashMap<String, (bool, bool)> = found
        .submission_sets
        .iter()
        .map(|r| (r.entry_uuid.clone(), (false, false)))
        .collect();
    found.associations.retain(|a| {
        let keep = !hidden.contains(&a.source_uuid) && !hidden.contains(&a.target_uuid);
        if let Some(s) = sets.get_mut(&a.source_uuid) {
            s.0 = true;
            s.1 |= keep;
        }
        if !keep {
            dropped.insert(a.entry_uuid.clone());
        }
        keep
    });
    // A SubmissionSet answered with its HasMember associations, all of which led to hidden
    // objects, would tell that hidden documents exist (a SubmissionSet has at least one member).
    let emptied: HashSet<String> = sets
        .into_iter()
        .filter(|(_, (had, kept))| *had && !*kept)
        .map(|(id, _)| id)
        .collect();
    if !emptied.is_empty() {
        found
            .submission_sets
            .retain(|r| !emptied.contains(&r.entry_uuid));
        found.associations.retain(|a| {
            let keep = !emptied.contains(&a.source_uuid) && !emptied.contains(&a.target_uuid);
            if !keep {
                dropped.insert(a.entry_uuid.clone());
            }
            keep
        });
    }
    // An Association whose end is a removed Association (SubmissionSet HasMember Association).
    while !dropped.is_empty() {
        let mut more = HashSet::new();
        found.associations.retain(|a| {
            let keep = !dropped.contains(&a.source_uuid) && !dropped.contains(&a.target_uuid);
            if !keep {
                more.insert(a.entry_uuid.clone());
            }
            keep
        });
        dropped = more;
    }
    Ok(report)
}

impl Gate {
    /// ITI-18: runs `query(conn, row_limit)` (the stored query, reading at most `row_limit` rows
    /// per table; first with `limit`) and returns what the requester may see; `max` is the
    /// result limit. Denials and break-the-glass permits are audited before it returns.
    pub(crate) async fn select_iti18<F>(
        &self,
        db: &Db,
        limit: i64,
        max: usize,
        inputs: Inputs,
        query: F,
    ) -> Result<Found, ExitError>
    where
        F: Fn(&mut PgConnection, i64) -> diesel::QueryResult<Found> + Send + 'static,
    {
        let Some(enforcer) = self.enforcer.clone() else {
            // No enforcer: share nothing.
            return Ok(Found::default());
        };
        if !enforcer.enforcing() {
            return Ok(db.run(move |conn| Ok(query(conn, limit)?)).await?);
        }
        let requester = self.requester.clone();
        let e2 = enforcer.clone();
        let (found, report) = db
            .run(move |conn| {
                let at = chrono::Utc::now().naive_utc();
                let hidden_input =
                    names_hidden(conn, e2.cache(), e2.policies(), &requester, &inputs, at)?;
                let mut lim = limit;
                loop {
                    let mut found = query(conn, lim)?;
                    if hidden_input
                        && matches!(
                            inputs.query,
                            "GetFoldersForDocument" | "GetRelatedDocuments"
                        )
                    {
                        // What the answer holds exists only through the hidden document.
                        let report = filter_found(
                            conn,
                            e2.cache(),
                            e2.policies(),
                            &requester,
                            &mut found,
                            at,
                        )?;
                        return Ok((Found::default(), report));
                    }
                    let raw = found.len();
                    let report =
                        filter_found(conn, e2.cache(), e2.policies(), &requester, &mut found, at)?;
                    if inputs.query == "GetRelatedDocuments" && found.associations.is_empty() {
                        // Its documents are answered only with a relationship (ITI TF-2a
                        // §3.18.4.1.2.3.7.13): none left visible, nothing is answered.
                        found = Found::default();
                    }
                    let cut = raw >= usize::try_from(lim).unwrap_or(usize::MAX);
                    if raw == found.len() || !cut || found.len() > max || lim == i64::MAX {
                        return Ok((found, report));
                    }
                    lim = lim.saturating_mul(4);
                }
            })
            .await?;
        record(&enforcer, report.events(&self.requester, "ITI-18")).await?;
        Ok(found)
    }

    /// ITI-43: the uniqueIds of `wanted` the requester may retrieve (all versions of each must
    /// be permitted). Denials and break-the-glass permits are audited first. Fails closed: on
    /// any error, nothing is retrievable.
    pub async fn retrievable(&self, db: &Db, wanted: Vec<String>) -> Vec<String> {
        let Some(enforcer) = self.enforcer.clone() else {
            return Vec::new();
        };
        if !enforcer.enforcing() || wanted.is_empty() {
            return wanted;
        }
        let requester = self.requester.clone();
        let e2 = enforcer.clone();
        let decided = db
            .run(move |conn| {
                let at = chrono::Utc::now().naive_utc();
                let rows = super::store::documents_by_unique_id(conn, &wanted)?;
                let patients = rows.iter().map(|(_, f)| f.patient_id.clone()).collect();
                let decider =
                    Decider::new(conn, e2.cache(), e2.policies(), &requester, patients, at)?;
                let mut report = Report::default();
                let mut denied: HashSet<String> = HashSet::new();
                for (uid, f) in &rows {
                    let d = decider.decide(&f.patient_id, f.document.as_ref());
                    report.note(&f.patient_id, &d, Some(uid));
                    if !d.permit {
                        denied.insert(uid.clone());
                    }
                }
                let allowed: Vec<String> =
                    wanted.into_iter().filter(|u| !denied.contains(u)).collect();
                Ok((allowed, report))
            })
            .await;
        match decided {
            Ok((allowed, report)) => {
                match record(&enforcer, report.events(&self.requester, "ITI-43")).await {
                    Ok(()) => allowed,
                    Err(e) => {
                        tracing::error!(error = %e, "ITI-43 consent audit failed; nothing retrieved");
                        Vec::new()
                    }
                }
            }
            Err(e) => {
                tracing::error!(error = %e, "ITI-43 consent lookup failed; nothing retrieved");
                Vec::new()
            }
        }
    }

    /// ITI-41 / ITI-42, before registering: the BPPC consents of `s`, with their problems added
    /// to `problems` (an unknown policy; for ITI-41 also a document that is not a BPPC CDA or a
    /// window that differs from the metadata).
    pub fn recognise(
        &self,
        s: Option<&Submission>,
        kind: SubmissionKind,
        problems: &mut Vec<Problem>,
    ) -> Vec<Recognised> {
        static NONE: std::sync::OnceLock<Policies> = std::sync::OnceLock::new();
        let policies = match &self.enforcer {
            Some(e) => e.policies(),
            None => NONE.get_or_init(|| Policies {
                domain: "(none)".into(),
                default: crate::profiles::ConsentDefault::OptIn,
                by_oid: BTreeMap::new(),
            }),
        };
        bppc::recognise(s, kind, policies, problems)
    }

    /// ITI-41, after registering: when the submission was stored, the consent events
    /// (recorded / changed / revoked) of `consents`.
    pub async fn recorded(&self, consents: Vec<Recognised>, answer: &Answer) {
        if consents.is_empty() || answer.audit.outcome != Outcome::Success {
            return;
        }
        let Some(enforcer) = &self.enforcer else {
            return;
        };
        let events = consents
            .iter()
            .map(|c| super::audit::consent_event(&self.requester, c))
            .collect();
        if let Err(e) = record(enforcer, events).await {
            tracing::error!(error = %e, "consent events not recorded (the submission is stored and its ITI-41 event names the consent)");
        }
    }
}

impl Gate {
    /// ITI-57 / ITI-62, after their transaction committed: the audit events of the consents it
    /// deprecated, approved again or removed ([`super::store::changes_in_transaction`], read
    /// inside that transaction). Recorded before the transaction is answered.
    pub async fn updated(
        &self,
        transaction: &str,
        changes: Vec<super::store::ConsentUpdate>,
    ) -> Result<(), AuditError> {
        let Some(enforcer) = &self.enforcer else {
            return Ok(());
        };
        let events = changes
            .iter()
            .map(|u| super::audit::update_event(&self.requester, transaction, u))
            .collect();
        record(enforcer, events).await
    }
}

/// What PDQ filtering decided ([`Gate::pdq_decide`]): the persons hidden, and the denials and
/// break-the-glass permits to audit ([`Gate::pdq_record`]).
#[derive(Debug, Default)]
pub struct PdqDecisions {
    pub hidden: HashSet<i64>,
    report: Report,
}

impl Gate {
    /// ITI-47 with `consent_pdq_filter = true`: which of `persons` (person → the CX of every id
    /// it is known by: local ids and enterprise id) the requester may not learn of. A person's
    /// consents are those registered under any of its ids; the decision is the patient-level
    /// one ([`Enforcer::decide_patient`]). Runs inside the query's connection, before counting.
    pub fn pdq_decide(
        &self,
        conn: &mut PgConnection,
        persons: &BTreeMap<i64, Vec<String>>,
    ) -> diesel::QueryResult<PdqDecisions> {
        let mut out = PdqDecisions::default();
        let Some(enforcer) = &self.enforcer else {
            out.hidden = persons.keys().copied().collect();
            return Ok(out);
        };
        if !enforcer.enforcing() || persons.is_empty() {
            return Ok(out);
        }
        let all: Vec<String> = persons.values().flatten().cloned().collect();
        let consents = enforcer.cache().consents_of(conn, &all)?;
        let at = chrono::Utc::now().naive_utc();
        for (person, ids) in persons {
            let union: Vec<engine::ConsentRecord> = ids
                .iter()
                .filter_map(|id| consents.get(id))
                .flatten()
                .cloned()
                .collect();
            let d = engine::decide(enforcer.policies(), &self.requester, &union, None, at);
            if let Some(first) = ids.first() {
                out.report.note(first, &d, None);
            }
            if !d.permit {
                out.hidden.insert(*person);
            }
        }
        Ok(out)
    }

    /// Records the audit events of [`Self::pdq_decide`] (before the ITI-47 answer).
    pub async fn pdq_record(&self, d: PdqDecisions) -> Result<(), AuditError> {
        let Some(enforcer) = &self.enforcer else {
            return Ok(());
        };
        record(enforcer, d.report.events(&self.requester, "ITI-47")).await
    }
}

async fn record(enforcer: &Enforcer, events: Vec<AuditEvent>) -> Result<(), AuditError> {
    if events.is_empty() {
        return Ok(());
    }
    super::audit::record(&enforcer.inner.sink, events).await
}
