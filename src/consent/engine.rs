//! The decision: given the domain's policies, a patient's consents, the requester and the
//! document, at an instant — permit or deny, and which policy and rule decided. Pure: no
//! database, no clock, no I/O, so the property tests can run it over many cases.
//!
//! The order of evaluation (profiles/README.md, "How a decision is made"):
//! 1. The consent in force is the newest Approved BPPC consent of the patient whose window
//!    (serviceStartTime ≤ at < serviceStopTime, either end open when absent) holds `at`.
//!    "Newest" is the latest registered (then the highest version). A Deprecated consent
//!    (replaced by RPLC, or deprecated by ITI-57) is never in force.
//! 2. No consent in force: the domain default (opt-out: permit; opt-in: deny).
//! 3. Otherwise the policies the consent names (its eventCodeList), those with terms, that
//!    apply (organisation, document class / confidentiality / facility type, valid_days): any
//!    deny policy that applies denies; else any permit policy that applies permits; else deny.
//! 4. A denied requester who asked for break-the-glass is permitted by an emergency policy
//!    (`break_the_glass = true`) that the consent names or that is `domain_wide`, if it applies;
//!    the decision then says `break_the_glass` and is audited as an emergency override.

use chrono::{Duration, NaiveDateTime};

use super::policy::{Effect, Policies, Policy, code_matches};
use super::{Decision, DocumentFacts, Requester};
use crate::profiles::ConsentDefault;

/// `availabilityStatus` Approved.
pub const APPROVED: &str = "urn:oasis:names:tc:ebxml-regrep:StatusType:Approved";

/// One consent document of a patient, from the registry's columns.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ConsentRecord {
    pub entry_uuid: String,
    pub unique_id: String,
    pub status: String,
    /// The eventCodeList codes (policy OIDs), without their schemes.
    pub policies: Vec<String>,
    /// serviceStartTime / serviceStopTime (UTC).
    pub start: Option<NaiveDateTime>,
    pub stop: Option<NaiveDateTime>,
    /// When the registry registered it (UTC), and its version: "newest" orders by these.
    pub registered_at: NaiveDateTime,
    pub version: i32,
}

impl ConsentRecord {
    pub fn approved(&self) -> bool {
        self.status == APPROVED
    }

    /// Whether `at` is inside the consent's window.
    pub fn covers(&self, at: NaiveDateTime) -> bool {
        self.start.is_none_or(|s| s <= at) && self.stop.is_none_or(|e| at < e)
    }
}

/// The consent in force at `at`, if any.
pub fn in_force(consents: &[ConsentRecord], at: NaiveDateTime) -> Option<&ConsentRecord> {
    consents
        .iter()
        .filter(|c| c.approved() && c.covers(at))
        .max_by(|a, b| {
            (a.registered_at, a.version, &a.entry_uuid).cmp(&(
                b.registered_at,
                b.version,
                &b.entry_uuid,
            ))
        })
}

fn any_match(listed: &Option<Vec<String>>, stored: &[&str]) -> bool {
    match listed {
        None => true,
        Some(list) => list
            .iter()
            .any(|l| stored.iter().any(|s| code_matches(l, s))),
    }
}

/// Whether `p` applies to this requester (organisation) and time, ignoring the document.
fn applies_to_requester(
    p: &Policy,
    requester: &Requester,
    consent: Option<&ConsentRecord>,
    at: NaiveDateTime,
) -> bool {
    let org_ok = match &p.organisations {
        None => true,
        Some(list) => requester
            .organisation
            .as_deref()
            .is_some_and(|o| list.iter().any(|l| l == o)),
    };
    let time_ok = match (p.valid_days, consent) {
        (Some(days), Some(c)) => {
            let from = c.start.unwrap_or(c.registered_at);
            at < from + Duration::days(i64::from(days))
        }
        _ => true,
    };
    org_ok && time_ok
}

fn applies_to_document(p: &Policy, doc: &DocumentFacts) -> bool {
    any_match(&p.classes, &[doc.class_code.as_str()])
        && any_match(
            &p.confidentiality,
            &doc.confidentiality_codes
                .iter()
                .map(String::as_str)
                .collect::<Vec<_>>(),
        )
        && any_match(
            &p.facility_types,
            &[doc.healthcare_facility_type_code.as_str()],
        )
}

fn decision(
    permit: bool,
    policy: Option<&Policy>,
    consent: Option<&ConsentRecord>,
    rule: String,
) -> Decision {
    Decision {
        permit,
        policy: policy.map(|p| p.oid.clone()),
        policy_name: policy.map(|p| p.name.clone()),
        rule,
        consent: consent.map(|c| c.unique_id.clone()),
        break_the_glass: false,
    }
}

/// The decision for one document (`doc`), or for the patient as a whole when `doc` is `None`
/// (then policies limited to document classes, confidentiality or facility types are taken as
/// applying: "may the requester see anything of this patient").
pub fn decide(
    policies: &Policies,
    requester: &Requester,
    consents: &[ConsentRecord],
    doc: Option<&DocumentFacts>,
    at: NaiveDateTime,
) -> Decision {
    let consent = in_force(consents, at);
    let normal = match consent {
        None => match policies.default {
            ConsentDefault::OptOut => decision(
                true,
                None,
                None,
                format!(
                    "no consent in force; the domain '{}' is opt-out: shared until refused",
                    policies.domain
                ),
            ),
            ConsentDefault::OptIn => decision(
                false,
                None,
                None,
                format!(
                    "no consent in force; the domain '{}' is opt-in: nothing is shared without consent",
                    policies.domain
                ),
            ),
        },
        Some(c) => {
            let named: Vec<&Policy> = c
                .policies
                .iter()
                .filter_map(|oid| policies.get(oid))
                .filter(|p| p.effect.is_some() && !p.break_the_glass)
                .collect();
            let applies = |p: &&Policy| {
                applies_to_requester(p, requester, Some(c), at)
                    && doc.map_or(
                        // Patient level: a permit limited to some documents still opens the
                        // patient; a deny limited to some documents does not close it.
                        !(p.effect == Some(Effect::Deny) && p.looks_at_documents()),
                        |d| applies_to_document(p, d),
                    )
            };
            if let Some(p) = named
                .iter()
                .filter(|p| applies(p))
                .find(|p| p.effect == Some(Effect::Deny))
            {
                decision(
                    false,
                    Some(p),
                    Some(c),
                    format!(
                        "consent {} names policy '{}' (deny): {}",
                        c.unique_id, p.name, p.rule
                    ),
                )
            } else if let Some(p) = named
                .iter()
                .filter(|p| applies(p))
                .find(|p| p.effect == Some(Effect::Permit))
            {
                decision(
                    true,
                    Some(p),
                    Some(c),
                    format!(
                        "consent {} names policy '{}' (permit): {}",
                        c.unique_id, p.name, p.rule
                    ),
                )
            } else {
                decision(
                    false,
                    None,
                    Some(c),
                    format!(
                        "consent {} is in force and none of its policies permits this requester{}",
                        c.unique_id,
                        if doc.is_some() { " this document" } else { "" }
                    ),
                )
            }
        }
    };
    if normal.permit || requester.emergency.is_none() {
        return normal;
    }
    // Break-the-glass.
    let named = consent
        .map(|c| {
            c.policies
                .iter()
                .filter_map(|oid| policies.get(oid))
                .filter(|p| p.break_the_glass)
                .collect::<Vec<_>>()
        })
        .unwrap_or_default();
    let override_policy = named.into_iter().chain(policies.domain_wide()).find(|p| {
        applies_to_requester(p, requester, consent, at)
            && doc.is_none_or(|d| applies_to_document(p, d))
    });
    match override_policy {
        Some(p) => Decision {
            permit: true,
            policy: Some(p.oid.clone()),
            policy_name: Some(p.name.clone()),
            rule: format!(
                "emergency override (break-the-glass) under policy '{}': {}; otherwise: {}",
                p.name, p.rule, normal.rule
            ),
            consent: consent.map(|c| c.unique_id.clone()),
            break_the_glass: true,
        },
        None => Decision {
            rule: format!(
                "{}; break-the-glass was asked for but no emergency policy applies",
                normal.rule
            ),
            ..normal
        },
    }
}

/// Whether the decision for this patient may depend on the document: `false` means
/// [`decide`] with `doc = None` is the decision for every document of the patient.
pub fn depends_on_document(
    policies: &Policies,
    requester: &Requester,
    consents: &[ConsentRecord],
    at: NaiveDateTime,
) -> bool {
    let consent = in_force(consents, at);
    let mut relevant: Vec<&Policy> = consent
        .map(|c| {
            c.policies
                .iter()
                .filter_map(|oid| policies.get(oid))
                .filter(|p| p.effect.is_some())
                .collect()
        })
        .unwrap_or_default();
    if requester.emergency.is_some() {
        relevant.extend(policies.domain_wide());
    }
    relevant
        .iter()
        .any(|p| p.looks_at_documents() && applies_to_requester(p, requester, consent, at))
}
