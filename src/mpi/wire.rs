//! The one place `hl7v3` mirror types and the MPI model meet.

use super::{Demographics, PatientIdentifier, names};
use crate::hl7v3::{Address, Ii, Name, Person};

pub fn identifier(ii: &Ii) -> Option<PatientIdentifier> {
    Some(PatientIdentifier::new(
        ii.root.clone(),
        ii.extension.clone()?,
    ))
}

pub fn ii(id: &PatientIdentifier) -> Ii {
    Ii::new(id.root.clone(), id.extension.clone())
}

fn joined(parts: &[String]) -> Option<String> {
    let s = parts.join(" ");
    (!s.trim().is_empty()).then(|| s.trim().to_owned())
}

/// Telecom URL → digits (`tel:+82-10-1234-5678` → `821012345678`).
pub fn phone_digits(v: &str) -> Option<String> {
    let d: String = v.chars().filter(char::is_ascii_digit).collect();
    (!d.is_empty()).then_some(d)
}

/// Birth time TS → the date part (YYYY, YYYYMM or YYYYMMDD).
pub fn birth_date(ts: &str) -> Option<String> {
    let d: String = ts
        .chars()
        .take_while(char::is_ascii_digit)
        .take(8)
        .collect();
    (d.len() >= 4).then_some(d)
}

fn is_hangul_name(n: &Name) -> bool {
    n.family
        .iter()
        .chain(n.given.iter())
        .any(|p| names::has_hangul(p))
}

/// Demographics of a patientPerson: the first Hangul name and the first other name, gender,
/// birth date, first address, first telephone.
pub fn demographics(p: &Person) -> Demographics {
    let hangul = p.names.iter().find(|n| is_hangul_name(n));
    let latin = p.names.iter().find(|n| !is_hangul_name(n));
    let addr = p.addresses.first();
    Demographics {
        family: latin.and_then(|n| joined(&n.family)),
        given: latin.and_then(|n| joined(&n.given)),
        family_hangul: hangul.and_then(|n| joined(&n.family)),
        given_hangul: hangul.and_then(|n| joined(&n.given)),
        gender: p.gender.clone(),
        birth_date: p.birth_time.as_deref().and_then(birth_date),
        street: addr.and_then(|a| joined(&a.street)),
        city: addr.and_then(|a| a.city.clone()),
        postal_code: addr.and_then(|a| a.postal_code.clone()),
        country: addr.and_then(|a| a.country.clone()),
        phone: p
            .telecoms
            .iter()
            .find(|t| t.starts_with("tel:"))
            .or(p.telecoms.first())
            .and_then(|t| phone_digits(t)),
    }
}

/// A patientPerson for an answer.
pub fn person(d: &Demographics) -> Person {
    let mut names = Vec::new();
    if d.family.is_some() || d.given.is_some() {
        names.push(Name {
            family: d.family.iter().cloned().collect(),
            given: d.given.iter().cloned().collect(),
            use_code: d.family_hangul.as_ref().map(|_| "ABC".to_owned()),
        });
    }
    if d.family_hangul.is_some() || d.given_hangul.is_some() {
        names.push(Name {
            family: d.family_hangul.iter().cloned().collect(),
            given: d.given_hangul.iter().cloned().collect(),
            use_code: Some("SYL".to_owned()),
        });
    }
    let address = Address {
        street: d.street.iter().cloned().collect(),
        city: d.city.clone(),
        postal_code: d.postal_code.clone(),
        state: None,
        country: d.country.clone(),
    };
    Person {
        names,
        gender: d.gender.clone(),
        birth_time: d.birth_date.clone(),
        addresses: if address.is_empty() {
            Vec::new()
        } else {
            vec![address]
        },
        telecoms: d.phone.iter().map(|p| format!("tel:+{p}")).collect(),
        other_ids: Vec::new(),
    }
}
