//! Recognising BPPC consent documents in an ITI-41 submission and checking them (IHE ITI TF-1
//! §19 BPPC, ITI TF-3 §5.1): a DocumentEntry is a consent when its formatCode is
//! `urn:ihe:iti:bppc:2007` (CDA) or `urn:ihe:iti:bppc-sd:2007` (CDA with a scanned part).
//!
//! Checks (rule names in `xds::RULES`, severities set by the affinity domain like any rule):
//! - `Consent.policy.known`: the eventCodeList names at least one consent policy of the domain;
//! - `Consent.document.template`: the document is a CDA `ClinicalDocument` carrying the BPPC
//!   templateId 1.3.6.1.4.1.19376.1.5.3.1.1.7 (and for BPPC-SD also the XDS-SD templateId
//!   1.3.6.1.4.1.19376.1.2.20), with at least one `documentationOf/serviceEvent`;
//! - `Consent.document.policies`: every policy the eventCodeList names is acknowledged by a
//!   `serviceEvent/code` of the document;
//! - `Consent.document.effectiveTime`: the serviceEvent effectiveTime `low` is given and
//!   equals serviceStartTime; `high` equals serviceStopTime (both absent, or both the same).
//!
//! The metadata is what enforcement reads (indexed columns), so the checks make sure it says
//! what the signed-off document says.

use chrono::{Duration, NaiveDateTime};

use super::policy::{Effect, Policies};
use super::store::{BPPC_FORMAT, BPPC_SD_FORMAT};
use crate::xds::{
    DocumentEntry, DtmTime, ErrorCode, Problem, Severity, Submission, SubmissionKind,
};
use crate::xml::Element;

const CDA_NS: &str = "urn:hl7-org:v3";
pub const BPPC_TEMPLATE: &str = "1.3.6.1.4.1.19376.1.5.3.1.1.7";
pub const XDS_SD_TEMPLATE: &str = "1.3.6.1.4.1.19376.1.2.20";

/// What kind of consent event a registered consent is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConsentChange {
    /// A new consent.
    Recorded,
    /// A consent that replaces (RPLC) an earlier document.
    Changed,
    /// A consent whose policies only refuse (an opt-out): sharing is revoked.
    Revoked,
}

/// A consent found in a submission.
#[derive(Debug, Clone)]
pub struct Recognised {
    pub unique_id: String,
    pub patient_id: String,
    pub policies: Vec<String>,
    pub change: ConsentChange,
}

/// Whether `d` is a BPPC consent.
pub fn is_consent(d: &DocumentEntry) -> bool {
    d.format_code.code == BPPC_FORMAT || d.format_code.code == BPPC_SD_FORMAT
}

fn problem(rule: &'static str, d: &DocumentEntry, message: String) -> Problem {
    Problem {
        code: ErrorCode::XDSRegistryMetadataError,
        severity: Severity::Error,
        rule,
        context: format!(
            "DocumentEntry '{}' (uniqueId {}, BPPC consent)",
            d.entry_uuid, d.unique_id
        ),
        message,
    }
}

/// The consents of `s` (ITI-41: with their documents), with the problems found in them appended
/// to `problems`.
pub fn recognise(
    s: Option<&Submission>,
    kind: SubmissionKind,
    policies: &Policies,
    problems: &mut Vec<Problem>,
) -> Vec<Recognised> {
    let Some(s) = s else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for d in s.documents.iter().filter(|d| is_consent(d)) {
        let named: Vec<String> = d.event_codes.iter().map(|c| c.code.clone()).collect();
        let known: Vec<&str> = named
            .iter()
            .map(String::as_str)
            .filter(|c| policies.get(c).is_some())
            .collect();
        if known.is_empty() {
            let list: Vec<&str> = policies.by_oid.keys().map(String::as_str).collect();
            problems.push(problem(
                "Consent.policy.known",
                d,
                format!(
                    "the eventCodeList ({}) names no consent policy of the affinity domain '{}' (its policies: {})",
                    if named.is_empty() { "empty".to_owned() } else { named.join(", ") },
                    policies.domain,
                    if list.is_empty() { "none".to_owned() } else { list.join(", ") }
                ),
            ));
        }
        // ITI-41 carries the document (checked); ITI-42 registers metadata only (the document
        // is in another repository): then only the policies are checked.
        if kind == SubmissionKind::ProvideAndRegister {
            match s.content_of(&d.entry_uuid) {
                Some(content) => check_document(d, &content.bytes, &known, problems),
                None => problems.push(problem(
                    "Consent.document.template",
                    d,
                    "the consent document itself is missing from the submission".into(),
                )),
            }
        }
        let replaces = s
            .associations
            .iter()
            .any(|a| a.association_type.replaces() && a.source == d.entry_uuid);
        let refuses = !known.is_empty()
            && known.iter().all(|oid| {
                policies.get(oid).is_some_and(|p| {
                    p.effect == Some(Effect::Deny)
                        && p.organisations.is_none()
                        && !p.looks_at_documents()
                })
            });
        out.push(Recognised {
            unique_id: d.unique_id.to_string(),
            patient_id: crate::xds::registry::patient_key(&d.patient_id),
            policies: known.iter().map(|s| (*s).to_owned()).collect(),
            change: if refuses {
                ConsentChange::Revoked
            } else if replaces {
                ConsentChange::Changed
            } else {
                ConsentChange::Recorded
            },
        });
    }
    out
}

fn template_ids(root: &Element) -> Vec<&str> {
    root.elements()
        .filter(|e| e.is(CDA_NS, "templateId"))
        .filter_map(|e| e.attr("root"))
        .collect()
}

fn check_document(d: &DocumentEntry, bytes: &[u8], known: &[&str], problems: &mut Vec<Problem>) {
    let scanned = d.format_code.code == BPPC_SD_FORMAT;
    let root = match crate::xml::parse(bytes, &crate::xml::Limits::default()) {
        Ok(r) => r,
        Err(e) => {
            problems.push(problem(
                "Consent.document.template",
                d,
                format!("the consent document is not well-formed XML: {e}"),
            ));
            return;
        }
    };
    if !root.is(CDA_NS, "ClinicalDocument") {
        problems.push(problem(
            "Consent.document.template",
            d,
            format!(
                "the consent document's root is '{}' in namespace '{}', not a CDA ClinicalDocument ({CDA_NS})",
                root.local,
                root.ns.as_deref().unwrap_or("")
            ),
        ));
        return;
    }
    let ids = template_ids(&root);
    if !ids.contains(&BPPC_TEMPLATE) {
        problems.push(problem(
            "Consent.document.template",
            d,
            format!(
                "/ClinicalDocument/templateId: the BPPC templateId {BPPC_TEMPLATE} is missing (found: {})",
                if ids.is_empty() { "none".to_owned() } else { ids.join(", ") }
            ),
        ));
    }
    if scanned && !ids.contains(&XDS_SD_TEMPLATE) {
        problems.push(problem(
            "Consent.document.template",
            d,
            format!(
                "/ClinicalDocument/templateId: formatCode {BPPC_SD_FORMAT} needs the scanned-document templateId {XDS_SD_TEMPLATE}"
            ),
        ));
    }
    let events: Vec<&Element> = root
        .elements()
        .filter(|e| e.is(CDA_NS, "documentationOf"))
        .filter_map(|e| e.child(CDA_NS, "serviceEvent"))
        .collect();
    if events.is_empty() {
        problems.push(problem(
            "Consent.document.template",
            d,
            "/ClinicalDocument/documentationOf/serviceEvent: a BPPC consent names its policies in at least one serviceEvent; none found".into(),
        ));
        return;
    }
    let acknowledged: Vec<&str> = events
        .iter()
        .filter_map(|e| e.child(CDA_NS, "code"))
        .filter_map(|c| c.attr("code"))
        .collect();
    for oid in known {
        if !acknowledged.contains(oid) {
            problems.push(problem(
                "Consent.document.policies",
                d,
                format!(
                    "the eventCodeList names policy {oid}, but no documentationOf/serviceEvent/code of the consent document acknowledges it (found: {})",
                    if acknowledged.is_empty() { "none".to_owned() } else { acknowledged.join(", ") }
                ),
            ));
        }
    }
    // The window: the earliest low, the latest high (open when any serviceEvent has none).
    let mut low: Option<NaiveDateTime> = None;
    let mut high: Option<Option<NaiveDateTime>> = None;
    for (i, e) in events.iter().enumerate() {
        let path = format!(
            "/ClinicalDocument/documentationOf[{}]/serviceEvent/effectiveTime",
            i + 1
        );
        let time = e.child(CDA_NS, "effectiveTime");
        let lo = time
            .and_then(|t| t.child(CDA_NS, "low"))
            .and_then(|l| l.attr("value"));
        match lo.map(|v| (v, parse_ts(v))) {
            None => {
                problems.push(problem(
                    "Consent.document.effectiveTime",
                    d,
                    format!("{path}/low: the start of the consent is required"),
                ));
                return;
            }
            Some((v, None)) => {
                problems.push(problem(
                    "Consent.document.effectiveTime",
                    d,
                    format!("{path}/low: '{v}' is not an HL7 TS (YYYYMMDD[hhmm[ss]][+/-zzzz])"),
                ));
                return;
            }
            Some((_, Some(t))) => low = Some(low.map_or(t, |l| l.min(t))),
        }
        let hi = time
            .and_then(|t| t.child(CDA_NS, "high"))
            .and_then(|h| h.attr("value"));
        let hi = match hi.map(|v| (v, parse_ts(v))) {
            None => None,
            Some((v, None)) => {
                problems.push(problem(
                    "Consent.document.effectiveTime",
                    d,
                    format!("{path}/high: '{v}' is not an HL7 TS (YYYYMMDD[hhmm[ss]][+/-zzzz])"),
                ));
                return;
            }
            Some((_, Some(t))) => Some(t),
        };
        high = Some(match (high, hi) {
            (None, h) => h,
            (Some(None), _) | (_, None) => None,
            (Some(Some(a)), Some(b)) => Some(a.max(b)),
        });
    }
    let high = high.flatten();
    let meta_start = d.service_start_time.as_ref().map(DtmTime::start);
    let meta_stop = d.service_stop_time.as_ref().map(DtmTime::start);
    if meta_start != low {
        problems.push(problem(
            "Consent.document.effectiveTime",
            d,
            format!(
                "serviceStartTime ({}) differs from the consent's serviceEvent effectiveTime low ({}); they must be the same instant",
                show(meta_start),
                show(low)
            ),
        ));
    }
    if meta_stop != high {
        problems.push(problem(
            "Consent.document.effectiveTime",
            d,
            format!(
                "serviceStopTime ({}) differs from the consent's serviceEvent effectiveTime high ({}); they must be the same instant (or both absent)",
                show(meta_stop),
                show(high)
            ),
        ));
    }
    if let (Some(l), Some(h)) = (low, high)
        && h <= l
    {
        problems.push(problem(
            "Consent.document.effectiveTime",
            d,
            format!(
                "the consent ends ({}) before it starts ({})",
                show(Some(h)),
                show(Some(l))
            ),
        ));
    }
}

fn show(t: Option<NaiveDateTime>) -> String {
    t.map_or("absent".to_owned(), |t| {
        t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
    })
}

/// An HL7 v3 TS (`YYYY[MM[DD[hh[mm[ss[.fff]]]]]][+/-zzzz]`) as a UTC instant; the offset is
/// applied when the value has a time of day.
pub fn parse_ts(v: &str) -> Option<NaiveDateTime> {
    let v = v.trim();
    let (main, offset) = match v.find(['+', '-']) {
        Some(i) => (&v[..i], Some(&v[i..])),
        None => (v, None),
    };
    if offset.is_some_and(|off| off.len() != 5 || !off[1..].bytes().all(|b| b.is_ascii_digit())) {
        return None;
    }
    let digits = main.split('.').next().unwrap_or(main);
    let t = DtmTime::parse(digits).ok()?;
    let mut start = t.start();
    if let (Some(off), true) = (offset, digits.len() > 8) {
        let hours: i64 = off[1..3].parse().ok()?;
        let minutes: i64 = off[3..5].parse().ok()?;
        let total = Duration::minutes(hours * 60 + minutes);
        start = if off.starts_with('+') {
            start - total
        } else {
            start + total
        };
    }
    Some(start)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hl7_ts_to_utc() {
        let t = |s: &str| parse_ts(s).map(|t| t.format("%Y%m%d%H%M%S").to_string());
        assert_eq!(t("20260101").as_deref(), Some("20260101000000"));
        assert_eq!(t("20260101090000+0900").as_deref(), Some("20260101000000"));
        assert_eq!(t("202601010000-0500").as_deref(), Some("20260101050000"));
        assert_eq!(t("20260101+0900").as_deref(), Some("20260101000000"));
        assert_eq!(
            t("20260101093000.123+0930").as_deref(),
            Some("20260101000000")
        );
        assert_eq!(t("2026-01-01"), None);
        assert_eq!(t("20260101120000+09"), None);
    }
}
