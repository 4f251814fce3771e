//! The policy reader and the decision engine, with property tests over many generated
//! patients, consents, documents and requesters: the engine against an independent reading of
//! the rules (profiles/README.md, "How a decision is made"), the patient-level shortcut the
//! ITI-18 filter takes, revocation and deprecation.

use chrono::{Duration, NaiveDate, NaiveDateTime};
use proptest::prelude::*;

use super::engine::{self, APPROVED, ConsentRecord, decide, depends_on_document};
use super::policy::{Effect, Policies, Policy, code_matches};
use super::{DocumentFacts, Requester};
use crate::profiles::{AffinityDomain, ConsentDefault};

const DEPRECATED: &str = "urn:oasis:names:tc:ebxml-regrep:StatusType:Deprecated";

fn test_domain(name: &str) -> Policies {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/consent/domains")
        .join(name);
    let d = AffinityDomain::load_dir(&dir).unwrap_or_else(|e| panic!("{e}"));
    Policies::from_domain(&d).unwrap_or_else(|e| panic!("{e:?}"))
}

fn base() -> NaiveDateTime {
    NaiveDate::from_ymd_opt(2026, 11, 23)
        .and_then(|d| d.and_hms_opt(12, 0, 0))
        .unwrap()
}

#[test]
fn shipped_domains_have_readable_terms() {
    for name in AffinityDomain::names() {
        let d = AffinityDomain::load(name).unwrap();
        let p = Policies::from_domain(&d).unwrap_or_else(|e| panic!("{name}: {e:?}"));
        assert_eq!(p.domain, name);
    }
    let c = Policies::from_domain(&AffinityDomain::load("connectathon").unwrap()).unwrap();
    assert_eq!(
        c.get("1.3.6.1.4.1.21367.2006.7.108").unwrap().effect,
        Some(Effect::Permit)
    );
    assert_eq!(
        c.get("1.3.6.1.4.1.21367.2006.7.106").unwrap().effect,
        Some(Effect::Deny)
    );
}

#[test]
fn bad_terms_are_refused_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let domain = dir.path().join("bad");
    std::fs::create_dir_all(&domain).unwrap();
    std::fs::write(
        domain.join("domain.toml"),
        r#"name = "bad"
description = "bad terms"
[patient_id]
accept_any_iso_oid = true
[consent]
default = "opt-in"
[consent.policies."1.2.3"]
name = "a"
rule = "a"
terms = { effect = "maybe", colour = "blue" }
[consent.policies."1.2.4"]
name = "b"
rule = "b"
terms = { effect = "deny", break_the_glass = true, valid_days = 0 }
[consent.policies."1.2.5"]
name = "c"
rule = "c"
terms = { domain_wide = true, classes = "LAB" }
"#,
    )
    .unwrap();
    let d = AffinityDomain::load_dir(&domain).unwrap();
    let errors = Policies::from_domain(&d).unwrap_err().join("\n");
    for want in [
        "consent.policies.\"1.2.3\".terms.colour: unknown key",
        "consent.policies.\"1.2.3\".terms.effect: \"maybe\" is not \"permit\" or \"deny\"",
        "consent.policies.\"1.2.4\".terms.valid_days: 0 is not a number of days",
        "consent.policies.\"1.2.4\".terms.effect: an emergency override",
        "consent.policies.\"1.2.5\".terms.classes: \"LAB\" is not a list of strings",
        "consent.policies.\"1.2.5\".terms.domain_wide: domain_wide applies to emergency overrides only",
        "consent.policies.\"1.2.5\".terms.effect: required",
    ] {
        assert!(errors.contains(want), "'{want}' in:\n{errors}");
    }
}

#[test]
fn codes_match_with_or_without_scheme() {
    assert!(code_matches("LAB", "LAB^^^1.2.3"));
    assert!(code_matches("LAB^^^1.2.3", "LAB^^^1.2.3"));
    assert!(!code_matches("LAB^^^9.9", "LAB^^^1.2.3"));
    assert!(!code_matches("LA", "LAB^^^1.2.3"));
}

fn record(policies: &[&str], start_days: i64, registered_minutes: i64) -> ConsentRecord {
    ConsentRecord {
        entry_uuid: format!("urn:uuid:{registered_minutes}"),
        unique_id: format!("2.25.{registered_minutes}"),
        status: APPROVED.into(),
        policies: policies.iter().map(|p| (*p).to_owned()).collect(),
        start: Some(base() + Duration::days(start_days)),
        stop: None,
        registered_at: base() - Duration::days(100) + Duration::minutes(registered_minutes),
        version: 1,
    }
}

fn org(o: &str) -> Requester {
    Requester {
        organisation: Some(o.into()),
        ..Requester::default()
    }
}

fn facts(class: &str, conf: &str) -> DocumentFacts {
    DocumentFacts {
        class_code: format!("{class}^^^1.2.3.99"),
        confidentiality_codes: vec![format!("{conf}^^^2.16.840.1.113883.5.25")],
        healthcare_facility_type_code: String::new(),
    }
}

#[test]
fn decisions_name_what_decided() {
    let p = test_domain("consent-opt-in");
    let lab = facts("LAB", "N");
    let d = decide(&p, &org("Hospital A"), &[], Some(&lab), base());
    assert!(
        !d.permit && d.policy.is_none() && d.rule.contains("opt-in"),
        "{d:?}"
    );

    let c = [record(&["2.25.1001"], -1, 0)];
    let d = decide(&p, &org("Hospital A"), &c, Some(&lab), base());
    assert!(d.permit, "{d:?}");
    assert_eq!(d.policy.as_deref(), Some("2.25.1001"));
    assert_eq!(d.consent.as_deref(), Some("2.25.0"));
    let d = decide(&p, &org("Hospital B"), &c, Some(&lab), base());
    assert!(
        !d.permit && d.rule.contains("none of its policies"),
        "{d:?}"
    );

    // Deny overrides permit.
    let c = [record(
        &["1.3.6.1.4.1.21367.2006.7.108", "2.25.1003"],
        -1,
        0,
    )];
    assert!(decide(&p, &org("X"), &c, Some(&lab), base()).permit);
    let d = decide(&p, &org("X"), &c, Some(&facts("LAB", "R")), base());
    assert!(
        !d.permit && d.policy.as_deref() == Some("2.25.1003"),
        "{d:?}"
    );
    // At patient level the restricted-only deny does not close the patient.
    assert!(decide(&p, &org("X"), &c, None, base()).permit);

    // Break-the-glass: only when asked, always flagged.
    let c = [record(&["1.3.6.1.4.1.21367.2006.7.106"], -1, 0)];
    assert!(!decide(&p, &org("X"), &c, Some(&lab), base()).permit);
    let asking = Requester {
        emergency: Some("test".into()),
        ..org("X")
    };
    let d = decide(&p, &asking, &c, Some(&lab), base());
    assert!(
        d.permit && d.break_the_glass && d.policy.as_deref() == Some("2.25.1005"),
        "{d:?}"
    );
    // A permitted requester asking for it gets an ordinary decision.
    let c = [record(&["1.3.6.1.4.1.21367.2006.7.108"], -1, 0)];
    let d = decide(&p, &asking, &c, Some(&lab), base());
    assert!(d.permit && !d.break_the_glass);
}

#[test]
fn a_domain_without_emergency_policy_refuses_break_the_glass() {
    let d = AffinityDomain::load("connectathon").unwrap();
    let p = Policies::from_domain(&d).unwrap();
    let c = [record(&["1.3.6.1.4.1.21367.2006.7.106"], -1, 0)];
    let asking = Requester {
        emergency: Some("test".into()),
        ..org("X")
    };
    let d = decide(&p, &asking, &c, Some(&facts("LAB", "N")), base());
    assert!(
        !d.permit && d.rule.contains("no emergency policy applies"),
        "{d:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// Properties
// ---------------------------------------------------------------------------------------------

const OIDS: [&str; 8] = [
    "1.3.6.1.4.1.21367.2006.7.108",
    "1.3.6.1.4.1.21367.2006.7.106",
    "2.25.1001",
    "2.25.1002",
    "2.25.1003",
    "2.25.1004",
    "2.25.1005",
    "9.9.9.9",
];

fn consent_strategy() -> impl Strategy<Value = ConsentRecord> {
    (
        prop::collection::vec(0..OIDS.len(), 1..4),
        any::<bool>(),
        prop::option::of(-60i64..5),
        prop::option::of(-10i64..60),
        0i64..10_000,
        1i32..3,
    )
        .prop_map(|(idx, approved, start, stop, reg, version)| {
            let start_t = start.map(|d| base() + Duration::days(d));
            ConsentRecord {
                entry_uuid: format!("urn:uuid:{reg}-{version}"),
                unique_id: format!("2.25.{reg}"),
                status: if approved { APPROVED } else { DEPRECATED }.into(),
                policies: idx.into_iter().map(|i| OIDS[i].to_owned()).collect(),
                start: start_t,
                stop: stop.map(|d| start_t.unwrap_or(base()) + Duration::days(d.abs() + 1)),
                registered_at: base() - Duration::days(100) + Duration::minutes(reg),
                version,
            }
        })
}

fn requester_strategy() -> impl Strategy<Value = Requester> {
    (0..3usize, any::<bool>()).prop_map(|(o, emergency)| Requester {
        organisation: ["Hospital A", "Hospital B", ""]
            .get(o)
            .filter(|s| !s.is_empty())
            .map(|s| (*s).to_owned()),
        emergency: emergency.then(|| "test".to_owned()),
        ..Requester::default()
    })
}

fn doc_strategy() -> impl Strategy<Value = DocumentFacts> {
    (any::<bool>(), any::<bool>(), any::<bool>()).prop_map(|(lab, n, r)| DocumentFacts {
        class_code: if lab {
            "LAB^^^1.2.3.99"
        } else {
            "RAD^^^1.2.3.99"
        }
        .into(),
        confidentiality_codes: [(n, "N"), (r, "R")]
            .iter()
            .filter(|(on, _)| *on)
            .map(|(_, c)| format!("{c}^^^2.16.840.1.113883.5.25"))
            .collect(),
        healthcare_facility_type_code: "HOSP^^^1.2.3".into(),
    })
}

/// The rules read independently of the engine: (permit, break-the-glass).
fn oracle(
    p: &Policies,
    r: &Requester,
    consents: &[ConsentRecord],
    doc: &DocumentFacts,
    at: NaiveDateTime,
) -> (bool, bool) {
    let mut in_force: Option<&ConsentRecord> = None;
    for c in consents {
        let covers = c.start.is_none_or(|s| s <= at) && c.stop.is_none_or(|e| at < e);
        if c.status != APPROVED || !covers {
            continue;
        }
        let newer = match in_force {
            None => true,
            Some(f) => {
                (c.registered_at, c.version, &c.entry_uuid)
                    > (f.registered_at, f.version, &f.entry_uuid)
            }
        };
        if newer {
            in_force = Some(c);
        }
    }
    let listed = |list: &Option<Vec<String>>, values: &[String]| match list {
        None => true,
        Some(l) => l.iter().any(|x| values.iter().any(|v| code_matches(x, v))),
    };
    let applies = |pol: &Policy| {
        let org_ok = pol
            .organisations
            .as_ref()
            .is_none_or(|l| r.organisation.as_ref().is_some_and(|o| l.contains(o)));
        let days_ok = match (pol.valid_days, in_force) {
            (Some(n), Some(c)) => {
                at < c.start.unwrap_or(c.registered_at) + Duration::days(n.into())
            }
            _ => true,
        };
        org_ok
            && days_ok
            && listed(&pol.classes, std::slice::from_ref(&doc.class_code))
            && listed(&pol.confidentiality, &doc.confidentiality_codes)
            && listed(
                &pol.facility_types,
                std::slice::from_ref(&doc.healthcare_facility_type_code),
            )
    };
    let normal = match in_force {
        None => p.default == ConsentDefault::OptOut,
        Some(c) => {
            let named: Vec<&Policy> = c
                .policies
                .iter()
                .filter_map(|o| p.by_oid.get(o))
                .filter(|pol| pol.effect.is_some() && !pol.break_the_glass)
                .collect();
            !named
                .iter()
                .any(|pol| pol.effect == Some(Effect::Deny) && applies(pol))
                && named
                    .iter()
                    .any(|pol| pol.effect == Some(Effect::Permit) && applies(pol))
        }
    };
    if normal {
        return (true, false);
    }
    if r.emergency.is_none() {
        return (false, false);
    }
    let glass = in_force
        .map(|c| {
            c.policies
                .iter()
                .filter_map(|o| p.by_oid.get(o))
                .any(|pol| pol.break_the_glass && applies(pol))
        })
        .unwrap_or(false)
        || p.by_oid
            .values()
            .any(|pol| pol.break_the_glass && pol.domain_wide && applies(pol));
    (glass, glass)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn engine_follows_the_rules(
        opt_in in any::<bool>(),
        consents in prop::collection::vec(consent_strategy(), 0..4),
        requester in requester_strategy(),
        doc in doc_strategy(),
        at_days in -70i64..70,
    ) {
        let p = test_domain(if opt_in { "consent-opt-in" } else { "consent-opt-out" });
        let at = base() + Duration::days(at_days);
        let d = decide(&p, &requester, &consents, Some(&doc), at);
        prop_assert_eq!((d.permit, d.break_the_glass), oracle(&p, &requester, &consents, &doc, at), "{:?}", d);
        // Break-the-glass only for those who ask.
        prop_assert!(!d.break_the_glass || requester.emergency.is_some());
        // A decision names the consent in force, if any.
        prop_assert_eq!(d.consent.clone(), engine::in_force(&consents, at).map(|c| c.unique_id.clone()));
    }

    #[test]
    fn the_patient_level_shortcut_is_exact(
        opt_in in any::<bool>(),
        consents in prop::collection::vec(consent_strategy(), 0..4),
        requester in requester_strategy(),
        docs in prop::collection::vec(doc_strategy(), 1..6),
        at_days in -70i64..70,
    ) {
        let p = test_domain(if opt_in { "consent-opt-in" } else { "consent-opt-out" });
        let at = base() + Duration::days(at_days);
        if !depends_on_document(&p, &requester, &consents, at) {
            let whole = decide(&p, &requester, &consents, None, at);
            for doc in &docs {
                let one = decide(&p, &requester, &consents, Some(doc), at);
                prop_assert_eq!((whole.permit, whole.break_the_glass), (one.permit, one.break_the_glass));
            }
        }
    }

    #[test]
    fn a_newer_refusal_or_deprecation_takes_effect(
        opt_in in any::<bool>(),
        consents in prop::collection::vec(consent_strategy(), 0..4),
        requester in requester_strategy(),
        doc in doc_strategy(),
    ) {
        let p = test_domain(if opt_in { "consent-opt-in" } else { "consent-opt-out" });
        let at = base();
        let plain = Requester { emergency: None, ..requester };
        // A newer OPT-OUT in force: nobody sees anything without break-the-glass.
        let mut refused = consents.clone();
        let mut out = record(&["1.3.6.1.4.1.21367.2006.7.106"], -1, 20_000);
        out.registered_at = base() + Duration::minutes(1);
        refused.push(out);
        prop_assert!(!decide(&p, &plain, &refused, Some(&doc), at).permit);
        // Every consent deprecated: the domain default decides.
        let deprecated: Vec<ConsentRecord> = consents
            .iter()
            .cloned()
            .map(|mut c| { c.status = DEPRECATED.into(); c })
            .collect();
        let d = decide(&p, &plain, &deprecated, Some(&doc), at);
        prop_assert_eq!(d.permit, !opt_in);
        prop_assert!(d.consent.is_none());
    }
}
