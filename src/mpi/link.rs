//! Linking a new record to a person.
//!
//! Deterministic first: a record that shares an identifier with a known person (one of its ids,
//! or an `asOtherIDs` id such as a national identifier already on file) joins that person.
//! Then, when `mpi_probabilistic` is on, a weighted comparison of demographics against the
//! candidates born the same day with a similar name (found through the trigram and b-tree
//! indexes, never a scan): at or above the upper threshold the record is linked, between the
//! thresholds it gets a new person and a review-queue entry, below it gets a new person.

use diesel::PgConnection;
use diesel::prelude::*;
use diesel::sql_types::Text;

use super::names::similarity;
use super::store::{self, RECORD_COLUMNS, RecordRow};
use super::{Demographics, Settings};

/// Field weights of the comparison (they sum to 1 over the fields both sides have).
const W_NAME: f64 = 0.45;
const W_BIRTH: f64 = 0.30;
const W_GENDER: f64 = 0.10;
const W_PHONE: f64 = 0.10;
const W_ADDRESS: f64 = 0.05;

/// How well two name key pairs agree: the best of the primary and alternative forms.
pub fn name_score(a: &Demographics, b: &Demographics) -> Option<f64> {
    let ka = a.keys();
    let kb = b.keys();
    let left = [ka.full_norm.as_deref(), ka.full_alt.as_deref()];
    let right = [kb.full_norm.as_deref(), kb.full_alt.as_deref()];
    let mut best: Option<f64> = None;
    for l in left.iter().flatten() {
        for r in right.iter().flatten() {
            let s = similarity(l, r);
            best = Some(best.map_or(s, |b| b.max(s)));
        }
    }
    best
}

fn birth_score(a: &str, b: &str) -> f64 {
    if a == b {
        return 1.0;
    }
    if a.len() == b.len() && a.len() == 8 {
        // One transposed or mistyped digit is a common data-entry error.
        let diff = a.chars().zip(b.chars()).filter(|(x, y)| x != y).count();
        if diff == 1 {
            return 0.6;
        }
    }
    0.0
}

/// The weighted agreement of two records' demographics, 0..=1, over the fields both have.
pub fn score(a: &Demographics, b: &Demographics) -> f64 {
    let mut total = 0.0;
    let mut weight = 0.0;
    let mut add = |w: f64, s: Option<f64>| {
        if let Some(s) = s {
            total += w * s;
            weight += w;
        }
    };
    add(W_NAME, name_score(a, b));
    add(
        W_BIRTH,
        a.birth_date
            .as_deref()
            .zip(b.birth_date.as_deref())
            .map(|(x, y)| birth_score(x, y)),
    );
    add(
        W_GENDER,
        a.gender
            .as_deref()
            .zip(b.gender.as_deref())
            .map(|(x, y)| f64::from(u8::from(x.eq_ignore_ascii_case(y)))),
    );
    add(
        W_PHONE,
        a.phone
            .as_deref()
            .zip(b.phone.as_deref())
            .map(|(x, y)| f64::from(u8::from(x == y))),
    );
    let addr = |d: &Demographics| {
        d.postal_code
            .clone()
            .or_else(|| d.city.as_deref().map(super::names::key))
    };
    add(
        W_ADDRESS,
        addr(a)
            .zip(addr(b))
            .map(|(x, y)| f64::from(u8::from(x == y))),
    );
    if weight == 0.0 { 0.0 } else { total / weight }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    Link { person_id: i64, score: f64 },
    Review { person_id: i64, score: f64 },
    New,
}

/// Candidates for `d`: active records born the same day, and records with the same full name
/// born on another day (a mistyped birth date); both through b-tree indexes. Names are compared
/// in Rust ([`score`]), so a typo in the name is still a candidate when the birth date agrees.
pub fn candidates(conn: &mut PgConnection, d: &Demographics) -> store::Result<Vec<RecordRow>> {
    let k = d.keys();
    let (Some(birth), Some(full)) = (d.birth_date.as_deref(), k.full_norm.as_deref()) else {
        return Ok(Vec::new());
    };
    diesel::sql_query(format!(
        "(SELECT {RECORD_COLUMNS} FROM mpi_records r WHERE r.birth_date = $1 AND r.status = 'active' LIMIT 500) \
         UNION (SELECT {RECORD_COLUMNS} FROM mpi_records r WHERE r.full_norm = $2 AND r.status = 'active' LIMIT 50)"
    ))
    .bind::<Text, _>(birth)
    .bind::<Text, _>(full)
    .load(conn)
    .map_err(store::db)
}

/// The probabilistic decision for `d` (deterministic links are made by the caller first).
pub fn decide(conn: &mut PgConnection, d: &Demographics, s: &Settings) -> store::Result<Decision> {
    if !s.probabilistic {
        return Ok(Decision::New);
    }
    let mut best: Option<(i64, f64)> = None;
    for c in candidates(conn, d)? {
        let sc = score(d, &c.demographics());
        if best.is_none_or(|(_, b)| sc > b) {
            best = Some((c.person_id, sc));
        }
    }
    Ok(match best {
        Some((person_id, score)) if score >= s.upper => Decision::Link { person_id, score },
        Some((person_id, score)) if score >= s.lower => Decision::Review { person_id, score },
        _ => Decision::New,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn demo(family_h: &str, given_h: &str, birth: &str, gender: &str) -> Demographics {
        Demographics {
            family_hangul: Some(family_h.into()),
            given_hangul: Some(given_h.into()),
            birth_date: Some(birth.into()),
            gender: Some(gender.into()),
            ..Demographics::default()
        }
    }

    #[test]
    fn same_person_scores_high_and_a_different_one_low() {
        let a = demo("김", "민준", "19800101", "M");
        let same = Demographics {
            family: Some("Kim".into()),
            given: Some("Minjun".into()),
            ..demo("김", "민준", "19800101", "M")
        };
        assert!(score(&a, &same) > 0.99);
        let typo = demo("김", "민존", "19800101", "M");
        let s = score(&a, &typo);
        assert!(s > 0.9 && s < 1.0, "{s}");
        let other = demo("박", "서연", "19800101", "F");
        assert!(score(&a, &other) < 0.6, "{}", score(&a, &other));
    }

    #[test]
    fn romanised_name_matches_hangul_name() {
        let hangul = demo("김", "민준", "19800101", "M");
        let latin = Demographics {
            family: Some("Gim".into()),
            given: Some("Min-jun".into()),
            birth_date: Some("19800101".into()),
            gender: Some("M".into()),
            ..Demographics::default()
        };
        assert_eq!(name_score(&hangul, &latin), Some(1.0));
    }
}
