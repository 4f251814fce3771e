//! Synthetic MPI data for benchmarks (`hiehub bench seed --patients N`): N persons, each with
//! three local records (one per benchmark hospital authority, [`AUTHORITIES`]) carrying the same
//! Hangul name, birth date, gender and phone, plus the enterprise id, all registered with the XDS
//! registry's `patients` table.
//!
//! Rows are generated inside PostgreSQL (`generate_series` and `hashint8` pick names, dates and
//! phones deterministically from the row number), in batches of [`BATCH`] persons, one
//! transaction each. Names come from weighted Korean family names and two-syllable given names;
//! their search keys are computed here with [`names::key`] and passed in as arrays, so they are
//! exactly what the feed path would store.

use std::time::Instant;

use diesel::PgConnection;
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Text};

use super::names;

/// The assigning authorities of the seeded local records.
pub const AUTHORITIES: [&str; 3] = [
    "1.2.410.200.100.1",
    "1.2.410.200.100.2",
    "1.2.410.200.100.3",
];
/// Persons per transaction.
pub const BATCH: u64 = 50_000;

/// Family names with rough weights (per 100 people).
const FAMILIES: &[(&str, u32)] = &[
    ("김", 21),
    ("이", 15),
    ("박", 8),
    ("최", 5),
    ("정", 5),
    ("강", 2),
    ("조", 2),
    ("윤", 2),
    ("장", 2),
    ("임", 2),
    ("한", 1),
    ("오", 1),
    ("서", 1),
    ("신", 1),
    ("권", 1),
    ("황", 1),
    ("안", 1),
    ("송", 1),
    ("류", 1),
    ("전", 1),
    ("홍", 1),
    ("고", 1),
    ("문", 1),
    ("양", 1),
    ("손", 1),
    ("배", 1),
    ("백", 1),
    ("허", 1),
    ("유", 1),
    ("남", 1),
];

const SYLLABLES: &[&str] = &[
    "민", "서", "준", "지", "하", "도", "윤", "우", "현", "수", "예", "은", "주", "연", "아", "유",
    "진", "호", "영", "성", "재", "혜", "원", "동", "상", "정", "경", "미", "나", "희", "태", "승",
    "빈", "채", "다", "린", "건", "율", "시", "훈",
];

#[derive(Debug, Clone, Default)]
pub struct SeedReport {
    pub persons: u64,
    pub records: u64,
    pub seconds: f64,
}

fn arrays() -> (Vec<String>, Vec<String>, Vec<String>, Vec<String>) {
    let mut fam = Vec::new();
    let mut fam_keys = Vec::new();
    for (f, w) in FAMILIES {
        for _ in 0..*w {
            fam.push((*f).to_owned());
            fam_keys.push(names::key(f));
        }
    }
    let mut giv = Vec::new();
    let mut giv_keys = Vec::new();
    for a in SYLLABLES {
        for b in SYLLABLES {
            let g = format!("{a}{b}");
            giv_keys.push(names::key(&g));
            giv.push(g);
        }
    }
    (fam, fam_keys, giv, giv_keys)
}

#[derive(QueryableByName)]
struct Max {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// Adds `persons` persons (3 records each); `progress` is called after every batch.
pub fn seed(
    conn: &mut PgConnection,
    persons: u64,
    enterprise_root: &str,
    mut progress: impl FnMut(&SeedReport),
) -> anyhow::Result<SeedReport> {
    let started = Instant::now();
    let (fam, fam_keys, giv, giv_keys) = arrays();
    let base: Max = diesel::sql_query("SELECT coalesce(max(id), 0)::int8 AS n FROM mpi_persons")
        .get_result(conn)?;
    let run = format!("S{:x}", chrono::Utc::now().timestamp_millis());
    let mut report = SeedReport::default();
    let mut done = 0u64;
    while done < persons {
        let n = BATCH.min(persons - done);
        let from = base.n + 1 + i64::try_from(done)?;
        let to = from + i64::try_from(n)? - 1;
        conn.transaction::<_, anyhow::Error, _>(|conn| {
            diesel::sql_query(
                "INSERT INTO mpi_persons (id, enterprise_id) \
                 SELECT i, $3 || '-' || i FROM generate_series($1::int8, $2::int8) i",
            )
            .bind::<BigInt, _>(from)
            .bind::<BigInt, _>(to)
            .bind::<Text, _>(&run)
            .execute(conn)?;
            diesel::sql_query(
                "INSERT INTO mpi_records (root, extension, person_id, family_hangul, given_hangul, \
                   family_norm, given_norm, full_norm, gender, birth_date, phone, source) \
                 SELECT h.root, $3 || '-' || h.n || '-' || i, i, \
                        ($4::text[])[x.f], ($6::text[])[x.g], ($5::text[])[x.f], ($7::text[])[x.g], \
                        ($5::text[])[x.f] || ($7::text[])[x.g], x.sex, x.birth, x.phone, 'bench-seed' \
                 FROM generate_series($1::int8, $2::int8) i \
                 CROSS JOIN LATERAL (SELECT \
                     1 + (abs(hashint8(i * 3 + 1)) % cardinality($4::text[]))::int AS f, \
                     1 + (abs(hashint8(i * 5 + 2)) % cardinality($6::text[]))::int AS g, \
                     CASE WHEN abs(hashint8(i * 7 + 3)) % 2 = 0 THEN 'M' ELSE 'F' END AS sex, \
                     to_char(date '1930-01-01' + (abs(hashint8(i * 11 + 4)) % 32000)::int, 'YYYYMMDD') AS birth, \
                     '8210' || lpad((abs(hashint8(i * 13 + 5)) % 100000000)::text, 8, '0') AS phone) x \
                 CROSS JOIN (SELECT root, ordinality AS n FROM unnest($8::text[]) WITH ORDINALITY AS u(root)) h",
            )
            .bind::<BigInt, _>(from)
            .bind::<BigInt, _>(to)
            .bind::<Text, _>(&run)
            .bind::<Array<Text>, _>(&fam)
            .bind::<Array<Text>, _>(&fam_keys)
            .bind::<Array<Text>, _>(&giv)
            .bind::<Array<Text>, _>(&giv_keys)
            .bind::<Array<Text>, _>(AUTHORITIES.to_vec())
            .execute(conn)?;
            diesel::sql_query(
                "INSERT INTO patients (assigning_authority, patient_id) \
                 SELECT root, extension FROM mpi_records WHERE person_id BETWEEN $1 AND $2 \
                 UNION ALL SELECT $3, enterprise_id FROM mpi_persons WHERE id BETWEEN $1 AND $2 \
                 ON CONFLICT DO NOTHING",
            )
            .bind::<BigInt, _>(from)
            .bind::<BigInt, _>(to)
            .bind::<Text, _>(enterprise_root)
            .execute(conn)?;
            Ok(())
        })?;
        done += n;
        report.persons = done;
        report.records = done * AUTHORITIES.len() as u64;
        report.seconds = started.elapsed().as_secs_f64();
        progress(&report);
    }
    diesel::sql_query("SELECT setval('mpi_persons_id_seq', (SELECT max(id) FROM mpi_persons))")
        .execute(conn)?;
    diesel::sql_query("ANALYZE mpi_persons, mpi_records, patients").execute(conn)?;
    report.seconds = started.elapsed().as_secs_f64();
    Ok(report)
}

#[cfg(test)]
mod tests {
    #[test]
    fn name_arrays_have_keys_for_every_name() {
        let (fam, fam_keys, giv, giv_keys) = super::arrays();
        assert!(fam.len() > 50);
        assert_eq!(fam.len(), fam_keys.len());
        assert_eq!(giv.len(), giv_keys.len());
        assert!(fam_keys.iter().chain(&giv_keys).all(|k| !k.is_empty()));
        assert_eq!(fam_keys[0], "gim");
    }
}
