//! BPPC patient consent (issue 6): consent documents recognised in ITI-41, the affinity
//! domain's policies as data, and enforcement at every exit.
//!
//! - [`policy`]: `profiles/<domain>/domain.toml` `[consent.policies."<OID>"].terms` as rules;
//! - [`engine`]: the decision (pure): consent in force, domain default, policies, break-the-glass;
//! - [`store`]: a patient's consents from the registry's columns, document facts, history;
//! - [`bppc`]: recognising and checking BPPC consent documents in a submission;
//! - [`requester`]: who asks (client certificate, XUA attributes, break-the-glass header);
//! - [`exits`]: the ITI-18 / ITI-43 / ITI-41 glue the `xds` transactions call;
//! - [`audit`]: the consent, denial and emergency-override audit events;
//! - [`api`]: the privacy officer's `/api/consents...` and `/consents/` page.
//!
//! **The contract for other exits** (RAD-69, WADO, DICOMweb, viewer, PDQ): hold an
//! [`Enforcer`] (cheap to clone; `AppState::consent`) and call [`Enforcer::decide`] for a
//! document or [`Enforcer::decide_patient`] for a patient as a whole. Both read the patient's
//! consents from the database, decide, and — before returning — record the audit event of a
//! denial or of a break-the-glass access. A database or audit failure denies (fail closed).
//!
//! Invariant: a consent registered, replaced (RPLC), deprecated (ITI-57), removed (ITI-62) or
//! moved by a patient merge decides the next request: the consents of recently asked-about
//! patients are cached ([`cache`]), and the cache entry is dropped when the change commits
//! (PostgreSQL notification from the `consent_history` triggers, drained by `store::Db::run`
//! before the writer answers).
//! Invariant: a requester never learns that a hidden document exists: hidden objects are
//! removed before counting, ObjectRef lists, associations and result limits, and a denied
//! retrieve looks like an unknown document.
//! Invariant: every denial and every break-the-glass permit is in the ledger before the answer.

pub mod api;
pub mod audit;
pub mod bppc;
pub mod cache;
pub mod engine;
pub mod exits;
pub mod policy;
pub mod requester;
pub mod store;

#[cfg(test)]
mod tests;

use std::sync::Arc;

use chrono::{DateTime, Utc};

pub use engine::ConsentRecord;
pub use policy::{Effect, Policies, Policy};
pub use requester::{Requester, Xua};

use crate::audit::AuditSink;
use crate::store::Db;

/// What a decision looks at in a document (codes as stored: `code^^^scheme`).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct DocumentFacts {
    pub class_code: String,
    pub confidentiality_codes: Vec<String>,
    pub healthcare_facility_type_code: String,
}

/// The outcome of one decision, with what decided it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Decision {
    pub permit: bool,
    /// The policy (OID) that decided; `None` for the domain default or "nothing permits".
    pub policy: Option<String>,
    pub policy_name: Option<String>,
    /// The rule in words, naming the consent and policy.
    pub rule: String,
    /// The uniqueId of the consent in force, if any.
    pub consent: Option<String>,
    /// Permitted by an emergency override only.
    pub break_the_glass: bool,
}

impl Decision {
    fn fail_closed(why: &str) -> Decision {
        Decision {
            permit: false,
            policy: None,
            policy_name: None,
            rule: format!("denied: {why} (fail closed)"),
            consent: None,
            break_the_glass: false,
        }
    }
}

struct Inner {
    policies: Policies,
    db: Db,
    cache: Arc<cache::ConsentCache>,
    sink: AuditSink,
    /// `false` only with `consent_enforcement = false` (dev mode, benchmarks).
    enforce: bool,
}

/// The consent enforcer of a running server: policies, database, audit sink. Cheap to clone.
#[derive(Clone)]
pub struct Enforcer {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Enforcer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Enforcer")
            .field("domain", &self.inner.policies.domain)
            .field("enforcing", &self.inner.enforce)
            .finish()
    }
}

impl Enforcer {
    /// Reads the domain's policies; an error lists every problem in their terms. The consents of
    /// up to `cache_patients` patients are kept in memory (0: read them for every decision).
    pub fn new(
        domain: &crate::profiles::AffinityDomain,
        db: Db,
        sink: AuditSink,
        enforce: bool,
        cache_patients: usize,
    ) -> Result<Enforcer, String> {
        let policies = Policies::from_domain(domain).map_err(|e| {
            format!(
                "affinity domain '{}': consent policies: {}",
                domain.name(),
                e.join("; ")
            )
        })?;
        let cache = Arc::new(cache::ConsentCache::new(cache_patients));
        let subscriber: Arc<dyn crate::store::notify::Subscriber> = cache.clone();
        db.feed().subscribe(&subscriber);
        Ok(Enforcer {
            inner: Arc::new(Inner {
                policies,
                db,
                cache,
                sink,
                enforce,
            }),
        })
    }

    /// The consents cache (see [`cache`]).
    pub fn cache(&self) -> &Arc<cache::ConsentCache> {
        &self.inner.cache
    }

    pub fn policies(&self) -> &Policies {
        &self.inner.policies
    }

    pub fn db(&self) -> &Db {
        &self.inner.db
    }

    /// Whether enforcement is on (it is, except with `consent_enforcement = false` in dev mode).
    pub fn enforcing(&self) -> bool {
        self.inner.enforce
    }

    /// The per-request handle the XDS transactions use.
    pub fn gate(&self, requester: Requester) -> Gate {
        Gate {
            enforcer: Some(self.clone()),
            requester,
        }
    }

    /// May `requester` see `document` of `patient` (CX `id^^^&OID&ISO`) at `at`? Records the
    /// audit event of a denial or break-the-glass permit before returning; fails closed.
    pub async fn decide(
        &self,
        requester: &Requester,
        patient: &str,
        document: &DocumentFacts,
        at: DateTime<Utc>,
    ) -> Decision {
        self.decide_inner(requester, patient, Some(document.clone()), at, "decide")
            .await
    }

    /// May `requester` see anything of `patient` at `at` (demographics, a study list)? A consent
    /// permitting only some document classes permits the patient. Audited as [`Self::decide`].
    pub async fn decide_patient(
        &self,
        requester: &Requester,
        patient: &str,
        at: DateTime<Utc>,
    ) -> Decision {
        self.decide_inner(requester, patient, None, at, "decide_patient")
            .await
    }

    /// The decision without audit (the privacy officer's "what if").
    pub async fn evaluate(
        &self,
        requester: &Requester,
        patient: &str,
        document: Option<&DocumentFacts>,
        at: DateTime<Utc>,
    ) -> Result<(Decision, Vec<ConsentRecord>), crate::store::StoreError> {
        if let Some(consents) = self.inner.cache.cached(patient) {
            let d = engine::decide(
                &self.inner.policies,
                requester,
                &consents,
                document,
                at.naive_utc(),
            );
            return Ok((d, consents));
        }
        let p = patient.to_owned();
        let cache = self.inner.cache.clone();
        let consents = self
            .inner
            .db
            .run(move |conn| Ok(cache.consents_of(conn, std::slice::from_ref(&p))?))
            .await?
            .remove(patient)
            .unwrap_or_default();
        let d = engine::decide(
            &self.inner.policies,
            requester,
            &consents,
            document,
            at.naive_utc(),
        );
        Ok((d, consents))
    }

    async fn decide_inner(
        &self,
        requester: &Requester,
        patient: &str,
        document: Option<DocumentFacts>,
        at: DateTime<Utc>,
        what: &str,
    ) -> Decision {
        if !self.inner.enforce {
            return Decision {
                permit: true,
                policy: None,
                policy_name: None,
                rule: "consent enforcement is off (consent_enforcement = false)".into(),
                consent: None,
                break_the_glass: false,
            };
        }
        let d = match self
            .evaluate(requester, patient, document.as_ref(), at)
            .await
        {
            Ok((d, _)) => d,
            Err(e) => {
                tracing::error!(error = %e, "consent lookup failed");
                return Decision::fail_closed("the consents could not be read");
            }
        };
        if !d.permit || d.break_the_glass {
            let e = audit::decision_event(requester, what, patient, &[], &d);
            if let Err(err) = audit::record(&self.inner.sink, vec![e]).await {
                tracing::error!(error = %err, "consent audit event not committed");
                return Decision::fail_closed("the audit event could not be recorded");
            }
        }
        d
    }
}

/// One request's view of consent: the enforcer and the requester. `Gate::closed()` (no
/// enforcer) denies everything: a context built without one shares nothing.
#[derive(Clone)]
pub struct Gate {
    enforcer: Option<Enforcer>,
    requester: Requester,
}

impl Gate {
    pub fn closed() -> Gate {
        Gate {
            enforcer: None,
            requester: Requester::default(),
        }
    }

    pub fn requester(&self) -> &Requester {
        &self.requester
    }

    pub fn enforcer(&self) -> Option<&Enforcer> {
        self.enforcer.as_ref()
    }
}
