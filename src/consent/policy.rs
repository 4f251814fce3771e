//! The affinity domain's consent policies as rules: the `terms` table of each
//! `[consent.policies."<OID>"]` in `profiles/<domain>/domain.toml` (format: profiles/README.md,
//! "Consent policy terms"), read once at start.
//!
//! Invariant: a policy whose terms do not parse stops the server at start, naming the key.

use std::collections::BTreeMap;

use crate::profiles::{AffinityDomain, ConsentDefault, ConsentPolicy};

/// Whether a policy opens or closes access when it applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Effect {
    Permit,
    Deny,
}

/// One policy, interpreted. `None` in a scope means "not limited".
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Policy {
    pub oid: String,
    pub name: String,
    /// The rule in words (from the file).
    pub rule: String,
    /// `None`: the policy has no machine-readable terms and never decides.
    pub effect: Option<Effect>,
    /// Requesting organisations (client-certificate organisation) the policy applies to.
    pub organisations: Option<Vec<String>>,
    /// Document classCodes (`code` or `code^^^scheme`).
    pub classes: Option<Vec<String>>,
    /// Document confidentialityCodes (any of the document's codes matches).
    pub confidentiality: Option<Vec<String>>,
    /// Document healthcareFacilityTypeCodes.
    pub facility_types: Option<Vec<String>>,
    /// The policy lapses this many days after the consent's start.
    pub valid_days: Option<u32>,
    /// Emergency override: applies only when the requester asks for break-the-glass.
    pub break_the_glass: bool,
    /// With `break_the_glass`: applies to every patient, with or without a consent naming it.
    pub domain_wide: bool,
}

impl Policy {
    /// Whether the outcome depends on the document (class, confidentiality, facility type).
    pub fn looks_at_documents(&self) -> bool {
        self.classes.is_some() || self.confidentiality.is_some() || self.facility_types.is_some()
    }
}

/// The policies of one domain and its default.
#[derive(Debug, Clone)]
pub struct Policies {
    pub domain: String,
    pub default: ConsentDefault,
    /// By OID.
    pub by_oid: BTreeMap<String, Policy>,
}

impl Policies {
    /// The domain's policies; every problem in their terms, each naming its key.
    pub fn from_domain(domain: &AffinityDomain) -> Result<Policies, Vec<String>> {
        let mut errors = Vec::new();
        let mut by_oid = BTreeMap::new();
        for p in &domain.consent().policies {
            match read_policy(p) {
                Ok(policy) => {
                    by_oid.insert(policy.oid.clone(), policy);
                }
                Err(mut e) => errors.append(&mut e),
            }
        }
        if errors.is_empty() {
            Ok(Policies {
                domain: domain.name().to_owned(),
                default: domain.consent().default,
                by_oid,
            })
        } else {
            Err(errors)
        }
    }

    pub fn get(&self, oid: &str) -> Option<&Policy> {
        self.by_oid.get(oid)
    }

    /// Emergency policies that apply to every patient.
    pub fn domain_wide(&self) -> impl Iterator<Item = &Policy> {
        self.by_oid
            .values()
            .filter(|p| p.break_the_glass && p.domain_wide)
    }
}

const KEYS: &[&str] = &[
    "effect",
    "organisations",
    "classes",
    "confidentiality",
    "facility_types",
    "valid_days",
    "break_the_glass",
    "domain_wide",
];

fn read_policy(p: &ConsentPolicy) -> Result<Policy, Vec<String>> {
    let oid = p.oid.to_string();
    let at = |key: &str| format!("consent.policies.\"{oid}\".terms.{key}");
    let mut errors = Vec::new();
    for key in p.terms.keys() {
        if !KEYS.contains(&key.as_str()) {
            errors.push(format!(
                "{}: unknown key (the keys are: {})",
                at(key),
                KEYS.join(", ")
            ));
        }
    }
    let effect = match p.terms.get("effect") {
        None => None,
        Some(toml::Value::String(s)) if s == "permit" => Some(Effect::Permit),
        Some(toml::Value::String(s)) if s == "deny" => Some(Effect::Deny),
        Some(v) => {
            errors.push(format!(
                "{}: {v} is not \"permit\" or \"deny\"",
                at("effect")
            ));
            None
        }
    };
    let list = |key: &str, errors: &mut Vec<String>| -> Option<Vec<String>> {
        match p.terms.get(key) {
            None => None,
            Some(toml::Value::Array(items)) => {
                let mut out = Vec::new();
                for (i, item) in items.iter().enumerate() {
                    match item {
                        toml::Value::String(s) if !s.trim().is_empty() => {
                            out.push(s.trim().to_owned())
                        }
                        other => errors.push(format!(
                            "{}[{i}]: {other} is not a non-empty string",
                            at(key)
                        )),
                    }
                }
                Some(out)
            }
            Some(v) => {
                errors.push(format!("{}: {v} is not a list of strings", at(key)));
                None
            }
        }
    };
    let organisations = list("organisations", &mut errors);
    let classes = list("classes", &mut errors);
    let confidentiality = list("confidentiality", &mut errors);
    let facility_types = list("facility_types", &mut errors);
    let valid_days = match p.terms.get("valid_days") {
        None => None,
        Some(toml::Value::Integer(n)) if *n > 0 && *n <= 36_600 => u32::try_from(*n).ok(),
        Some(v) => {
            errors.push(format!(
                "{}: {v} is not a number of days between 1 and 36600",
                at("valid_days")
            ));
            None
        }
    };
    let flag = |key: &str, errors: &mut Vec<String>| match p.terms.get(key) {
        None => false,
        Some(toml::Value::Boolean(b)) => *b,
        Some(v) => {
            errors.push(format!("{}: {v} is not true or false", at(key)));
            false
        }
    };
    let break_the_glass = flag("break_the_glass", &mut errors);
    let domain_wide = flag("domain_wide", &mut errors);
    if break_the_glass && effect != Some(Effect::Permit) && effect.is_some() {
        errors.push(format!(
            "{}: an emergency override (break_the_glass = true) must have effect = \"permit\"",
            at("effect")
        ));
    }
    if domain_wide && !break_the_glass {
        errors.push(format!(
            "{}: domain_wide applies to emergency overrides only (set break_the_glass = true)",
            at("domain_wide")
        ));
    }
    if !p.terms.is_empty() && effect.is_none() && !errors.iter().any(|e| e.contains(".effect")) {
        errors.push(format!(
            "{}: required when terms are given (\"permit\" or \"deny\")",
            at("effect")
        ));
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(Policy {
        oid,
        name: p.name.clone(),
        rule: p.rule.clone(),
        effect,
        organisations,
        classes,
        confidentiality,
        facility_types,
        valid_days,
        break_the_glass,
        domain_wide,
    })
}

/// Whether a stored code (`code^^^scheme`) matches a listed one (`code^^^scheme`, or `code` for
/// any scheme).
pub fn code_matches(listed: &str, stored: &str) -> bool {
    if listed.contains("^^^") {
        listed == stored
    } else {
        stored.split("^^^").next() == Some(listed)
    }
}
