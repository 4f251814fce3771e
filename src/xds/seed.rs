//! `hiehub bench seed`: fills the registry with synthetic DocumentEntries for benchmarks
//! (issue 3, "Benchmarks"): patients, SubmissionSets, DocumentEntries and SubmissionSet
//! HasMember DocumentEntry Associations, with codes of the `connectathon` affinity domain and
//! creation/service times spread over years.
//!
//! Rows go in with `COPY ... FROM STDIN` (text format), one transaction per batch, in the shape
//! [`super::registry::insert_submission`] writes: the same indexed columns, and `metadata_xml`
//! produced by the same [`super::to_ebxml`] functions wrapped the same way, so ITI-18 answers a
//! seeded entry exactly like a submitted one. A generator thread renders the next batch while
//! the current one is copied.
//!
//! The documents themselves are not stored in the repository: hash and size are plausible
//! values, and ITI-43 of a seeded uniqueId answers `XDSDocumentUniqueIdError`.

use std::cell::RefCell;
use std::sync::mpsc;
use std::time::Instant;

use chrono::{DateTime, Duration, NaiveDateTime};
use diesel::prelude::*;

use super::association::{Association, AssociationType, SubmissionSetStatus};
use super::author::Author;
use super::code::{Code, CodeScheme};
use super::document_entry::{DocumentEntry, DocumentEntryType};
use super::dtm::DtmTime;
use super::hl7::{Xcn, Xon};
use super::object_id::RegistryObjectId;
use super::oid::Oid;
use super::patient_id::PatientId;
use super::registry::{code_key, patient_key};
use super::sha1_hex::Sha1Hex;
use super::status::AvailabilityStatus;
use super::submission_set::SubmissionSet;
use super::text::InternationalText;
use super::to_ebxml;
use super::unique_id::UniqueId;
use crate::ebxml::{self, WireMessage};
use crate::profiles::AffinityDomain;
use crate::store::schema::{patients, xds_associations, xds_document_entries, xds_submission_sets};

/// The assigning authority of seeded patients (IHERED of the Connectathon domain).
pub const AUTHORITY: &str = "1.3.6.1.4.1.21367.13.20.1000";
/// The sourceId of seeded SubmissionSets.
const SOURCE_ID: &str = "1.3.6.1.4.1.21367.13.40.216";
/// DocumentEntries per SubmissionSet (a patient's documents come in several submissions).
const PER_SET: u64 = 5;
/// DocumentEntries per COPY batch (one transaction).
const BATCH: u64 = 20_000;

#[derive(Debug, Clone)]
pub struct SeedOptions {
    pub documents: u64,
    pub per_patient: u64,
    /// Seed into a registry that already holds DocumentEntries.
    pub append: bool,
}

#[derive(Debug, Clone, Default)]
pub struct SeedReport {
    pub patients: u64,
    pub submission_sets: u64,
    pub documents: u64,
    pub associations: u64,
    pub seconds: f64,
}

/// One kind of clinical document: codes as (code, codingScheme); display names come from the
/// affinity domain.
struct Kind {
    class: (&'static str, &'static str),
    type_code: (&'static str, &'static str),
    format: (&'static str, &'static str),
    facility: (&'static str, &'static str),
    practice: (&'static str, &'static str),
    mime: &'static str,
}

const LOINC: &str = "2.16.840.1.113883.6.1";
const IHE_CLASS: &str = "1.3.6.1.4.1.19376.1.2.6.1";
const IHE_FORMAT: &str = "1.3.6.1.4.1.19376.1.2.3";
const SNOMED: &str = "2.16.840.1.113883.6.96";
const CONFIDENTIALITY: &str = "2.16.840.1.113883.5.25";

const KINDS: &[Kind] = &[
    Kind {
        class: ("SUMMARIES", IHE_CLASS),
        type_code: ("18842-5", LOINC),
        format: ("urn:ihe:pcc:xds-ms:2007", IHE_FORMAT),
        facility: ("22232009", SNOMED),
        practice: ("309927009", SNOMED),
        mime: "text/xml",
    },
    Kind {
        class: ("REPORTS", IHE_CLASS),
        type_code: ("11502-2", LOINC),
        format: ("urn:ihe:lab:xd-lab:2008", IHE_FORMAT),
        facility: ("22232009", SNOMED),
        practice: ("309950003", SNOMED),
        mime: "text/xml",
    },
    Kind {
        class: ("IMAGES", IHE_CLASS),
        type_code: ("18748-4", LOINC),
        format: (
            "urn:ihe:rad:CDA:ImagingReportStructuredHeadings:2013",
            IHE_FORMAT,
        ),
        facility: ("35971002", SNOMED),
        practice: ("309964003", SNOMED),
        mime: "text/xml",
    },
    Kind {
        class: ("REPORTS", IHE_CLASS),
        type_code: ("11488-4", LOINC),
        format: ("urn:ihe:pcc:xphr:2007", IHE_FORMAT),
        facility: ("35971002", SNOMED),
        practice: ("309915006", SNOMED),
        mime: "text/xml",
    },
    Kind {
        class: ("REPORTS", IHE_CLASS),
        type_code: ("54094-8", LOINC),
        format: ("urn:ihe:pcc:edr:2007", IHE_FORMAT),
        facility: ("225728007", SNOMED),
        practice: ("225728007", SNOMED),
        mime: "text/xml",
    },
    Kind {
        class: ("SUMMARIES", IHE_CLASS),
        type_code: ("11369-6", LOINC),
        format: ("urn:ihe:pcc:irc:2008", IHE_FORMAT),
        facility: ("35971002", SNOMED),
        practice: ("309927009", SNOMED),
        mime: "text/xml",
    },
    Kind {
        class: ("REPORTS", IHE_CLASS),
        type_code: ("34117-2", LOINC),
        format: ("urn:ihe:pcc:apr:handp:2008", IHE_FORMAT),
        facility: ("22232009", SNOMED),
        practice: ("309942007", SNOMED),
        mime: "text/xml",
    },
    Kind {
        class: ("DISPENSATIONS", IHE_CLASS),
        type_code: ("60593-1", LOINC),
        format: ("urn:ihe:pharm:dis:2010", IHE_FORMAT),
        facility: ("264372000", SNOMED),
        practice: ("309927009", SNOMED),
        mime: "text/xml",
    },
    Kind {
        class: ("REPORTS", IHE_CLASS),
        type_code: ("11502-2", LOINC),
        format: ("urn:ihe:iti:xds-sd:pdf:2008", IHE_FORMAT),
        facility: ("42665001", SNOMED),
        practice: ("309950003", SNOMED),
        mime: "application/pdf",
    },
];

/// Confidentiality codes with their weights (mostly normal).
const CONFIDENTIALITY_CODES: &[(&str, u64)] = &[("N", 80), ("R", 12), ("V", 3), ("M", 5)];

const FAMILY: &[&str] = &[
    "Smith", "Kim", "Lee", "Garcia", "Müller", "Rossi", "Dubois", "Nguyen", "Tanaka", "Silva",
    "Novak", "Jensen", "Moreau", "Park", "Cohen", "Ivanova",
];
const GIVEN: &[&str] = &[
    "Anna", "John", "Maria", "Min-jun", "Luca", "Sofia", "Noah", "Emma", "Hiro", "Ines", "Omar",
    "Lea",
];

/// The codes of [`KINDS`] with display names from the `connectathon` domain.
struct Vocabulary {
    kinds: Vec<[Code; 5]>,
    confidentiality: Vec<Code>,
    content_type: Code,
}

fn code(domain: &AffinityDomain, scheme: CodeScheme, (c, s): (&str, &str)) -> anyhow::Result<Code> {
    let probe = Code {
        code: c.to_owned(),
        scheme: s.to_owned(),
        display: None,
    };
    let display = domain.display_name(scheme, &probe).ok_or_else(|| {
        anyhow::anyhow!(
            "{scheme:?} {c} ({s}) is not in the {} domain",
            domain.name()
        )
    })?;
    Ok(Code::new(c, s, display))
}

fn vocabulary() -> anyhow::Result<Vocabulary> {
    let domain = AffinityDomain::load("connectathon")?;
    let mut kinds = Vec::new();
    for k in KINDS {
        kinds.push([
            code(&domain, CodeScheme::ClassCode, k.class)?,
            code(&domain, CodeScheme::TypeCode, k.type_code)?,
            code(&domain, CodeScheme::FormatCode, k.format)?,
            code(&domain, CodeScheme::HealthcareFacilityTypeCode, k.facility)?,
            code(&domain, CodeScheme::PracticeSettingCode, k.practice)?,
        ]);
    }
    let confidentiality = CONFIDENTIALITY_CODES
        .iter()
        .map(|(c, _)| {
            code(
                &domain,
                CodeScheme::ConfidentialityCode,
                (c, CONFIDENTIALITY),
            )
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let content_type = code(&domain, CodeScheme::ContentTypeCode, ("22232009", SNOMED))?;
    Ok(Vocabulary {
        kinds,
        confidentiality,
        content_type,
    })
}

/// splitmix64: fast, seedable, good enough for synthetic data.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }

    fn uuid(&mut self) -> uuid::Uuid {
        let hi = u128::from(self.next()) << 64;
        uuid::Builder::from_random_bytes((hi | u128::from(self.next())).to_be_bytes()).into_uuid()
    }
}

fn dtm(t: NaiveDateTime) -> anyhow::Result<DtmTime> {
    Ok(DtmTime::parse(&t.format("%Y%m%d%H%M%S").to_string())?)
}

/// The XML `registry::insert_submission` stores for one object.
fn object_xml(object: ebxml::Identifiable) -> String {
    ebxml::SubmitObjectsRequest {
        request: ebxml::RegistryRequest::default(),
        objects: ebxml::RegistryObjectList {
            objects: vec![object],
        },
    }
    .to_xml(ebxml::EncodeOptions::INLINE)
    .xml
}

// ---------------------------------------------------------------------------------------------
// COPY text format
// ---------------------------------------------------------------------------------------------

fn field(buf: &mut Vec<u8>, s: &str) {
    for b in s.bytes() {
        match b {
            b'\\' => buf.extend_from_slice(b"\\\\"),
            b'\t' => buf.extend_from_slice(b"\\t"),
            b'\n' => buf.extend_from_slice(b"\\n"),
            b'\r' => buf.extend_from_slice(b"\\r"),
            _ => buf.push(b),
        }
    }
}

fn array(buf: &mut Vec<u8>, items: &[String]) {
    let mut lit = String::from("{");
    for (i, it) in items.iter().enumerate() {
        if i > 0 {
            lit.push(',');
        }
        lit.push('"');
        for c in it.chars() {
            if c == '"' || c == '\\' {
                lit.push('\\');
            }
            lit.push(c);
        }
        lit.push('"');
    }
    lit.push('}');
    field(buf, &lit);
}

fn opt(buf: &mut Vec<u8>, s: Option<&str>) {
    match s {
        Some(s) => field(buf, s),
        None => buf.extend_from_slice(b"\\N"),
    }
}

fn tab(buf: &mut Vec<u8>) {
    buf.push(b'\t');
}

fn end(buf: &mut Vec<u8>) {
    buf.push(b'\n');
}

// ---------------------------------------------------------------------------------------------
// Generation
// ---------------------------------------------------------------------------------------------

#[derive(Default)]
struct Batch {
    patients: Vec<u8>,
    sets: Vec<u8>,
    documents: Vec<u8>,
    associations: Vec<u8>,
    counts: SeedReport,
}

struct Generator {
    vocab: Vocabulary,
    rng: Rng,
    run: String,
    per_patient: u64,
    repository: Oid,
    authority: Oid,
    epoch: NaiveDateTime,
    span_minutes: i64,
}

impl Generator {
    fn author(&mut self) -> anyhow::Result<Author> {
        let n = self.rng.below(100_000);
        let family = *self.rng.pick(FAMILY);
        let given = *self.rng.pick(GIVEN);
        let person = format!("{n}^{family}^{given}^^^Dr^^^&1.3.6.1.4.1.21367.3000.1.6&ISO");
        let institution = format!(
            "Hospital {}^^^^^^^^^1.3.6.1.4.1.21367.3000.1.{}",
            n % 50,
            n % 50
        );
        Ok(Author {
            person: Xcn::parse(&person),
            institutions: Xon::parse(&institution).into_iter().collect(),
            roles: vec!["Attending".to_owned()],
            specialties: vec!["General Medicine".to_owned()],
            telecom: Vec::new(),
            extra_slots: Vec::new(),
        })
    }

    /// One patient: the row, `per_patient` DocumentEntries in SubmissionSets of [`PER_SET`],
    /// each with its HasMember association.
    fn patient(&mut self, index: u64, docs: u64, b: &mut Batch) -> anyhow::Result<()> {
        let pid = format!("{}P{index}", self.run);
        let patient = PatientId::new(pid.clone(), self.authority.clone());
        let pkey = patient_key(&patient);
        field(&mut b.patients, AUTHORITY);
        tab(&mut b.patients);
        field(&mut b.patients, &pid);
        end(&mut b.patients);
        b.counts.patients += 1;
        let family = *self.rng.pick(FAMILY);
        let given = *self.rng.pick(GIVEN);
        let birth = 1930 + self.rng.below(90);
        let info = vec![
            format!("PID-3|{pid}^^^&{AUTHORITY}&ISO"),
            format!("PID-5|{family}^{given}^^^"),
            format!(
                "PID-7|{birth}{:02}{:02}",
                1 + self.rng.below(12),
                1 + self.rng.below(28)
            ),
            format!("PID-8|{}", if self.rng.below(2) == 0 { "F" } else { "M" }),
        ];
        let mut left = docs;
        while left > 0 {
            let n = left.min(PER_SET);
            left -= n;
            self.submission(&patient, &pkey, &info, n, b)?;
        }
        Ok(())
    }

    fn submission(
        &mut self,
        patient: &PatientId,
        pkey: &str,
        info: &[String],
        n: u64,
        b: &mut Batch,
    ) -> anyhow::Result<()> {
        let set_id = RegistryObjectId::Uuid(self.rng.uuid());
        let set_key = set_id.to_string();
        let created = self.epoch
            + Duration::minutes(self.rng.below(self.span_minutes.max(1) as u64) as i64)
            + Duration::seconds(self.rng.below(60) as i64);
        let author = self.author()?;
        let set = SubmissionSet {
            entry_uuid: set_id.clone(),
            availability_status: Some(AvailabilityStatus::Approved),
            home_community_id: None,
            patient_id: patient.clone(),
            unique_id: Oid::parse(&format!("2.25.{}", self.rng.uuid().as_u128()))?,
            source_id: Oid::parse(SOURCE_ID)?,
            submission_time: dtm(created + Duration::minutes(5 + self.rng.below(120) as i64))?,
            content_type_code: self.vocab.content_type.clone(),
            authors: vec![author.clone()],
            title: Some(InternationalText::plain("Benchmark submission")),
            comments: None,
            intended_recipients: Vec::new(),
            limited_metadata: false,
            extra_slots: Vec::new(),
        };
        let s = &mut b.sets;
        field(s, &set_key);
        tab(s);
        field(s, set.unique_id.as_str());
        tab(s);
        field(s, pkey);
        tab(s);
        field(s, set.source_id.as_str());
        tab(s);
        field(s, AvailabilityStatus::Approved.as_urn());
        tab(s);
        field(s, &set.submission_time.start().to_string());
        tab(s);
        field(s, &code_key(&set.content_type_code));
        tab(s);
        array(s, &persons(&set.authors));
        tab(s);
        array(s, &set.intended_recipients);
        tab(s);
        field(s, "ITI-41");
        tab(s);
        field(
            s,
            &object_xml(ebxml::Identifiable::RegistryPackage(
                to_ebxml::submission_set_to_ebxml(&set),
            )),
        );
        end(s);
        b.counts.submission_sets += 1;

        for _ in 0..n {
            let doc = self.document(patient, info, &author, created)?;
            let doc_key = doc.entry_uuid.to_string();
            write_document(&mut b.documents, &doc, pkey, &set_key);
            b.counts.documents += 1;
            let a = Association {
                entry_uuid: RegistryObjectId::Uuid(self.rng.uuid()),
                association_type: AssociationType::HasMember,
                source: set_id.clone(),
                target: doc.entry_uuid.clone(),
                availability_status: Some(AvailabilityStatus::Approved),
                submission_set_status: Some(SubmissionSetStatus::Original),
                extra_slots: Vec::new(),
            };
            let s = &mut b.associations;
            field(s, &a.entry_uuid.to_string());
            tab(s);
            field(s, a.association_type.as_urn());
            tab(s);
            field(s, &set_key);
            tab(s);
            field(s, &doc_key);
            tab(s);
            field(s, AvailabilityStatus::Approved.as_urn());
            tab(s);
            opt(s, a.submission_set_status.map(|st| st.as_str()));
            tab(s);
            field(s, &set_key);
            tab(s);
            field(
                s,
                &object_xml(ebxml::Identifiable::Association(
                    to_ebxml::association_to_ebxml(&a),
                )),
            );
            end(s);
            b.counts.associations += 1;
        }
        Ok(())
    }

    fn document(
        &mut self,
        patient: &PatientId,
        info: &[String],
        author: &Author,
        created: NaiveDateTime,
    ) -> anyhow::Result<DocumentEntry> {
        let k = self.rng.below(self.vocab.kinds.len() as u64) as usize;
        let [class, type_code, format, facility, practice] = self.vocab.kinds[k].clone();
        let mime = KINDS[k].mime;
        let mut weight = self.rng.below(100);
        let mut conf = self.vocab.confidentiality[0].clone();
        for (i, (_, w)) in CONFIDENTIALITY_CODES.iter().enumerate() {
            if weight < *w {
                conf = self.vocab.confidentiality[i].clone();
                break;
            }
            weight -= w;
        }
        let start = created - Duration::hours(1 + self.rng.below(72) as i64);
        let stop = start + Duration::minutes(15 + self.rng.below(600) as i64);
        let mut digest_input = [0u8; 16];
        digest_input.copy_from_slice(self.rng.uuid().as_bytes());
        Ok(DocumentEntry {
            entry_uuid: RegistryObjectId::Uuid(self.rng.uuid()),
            logical_id: None,
            version: None,
            object_type: DocumentEntryType::Stable,
            availability_status: Some(AvailabilityStatus::Approved),
            home_community_id: None,
            patient_id: patient.clone(),
            unique_id: UniqueId::parse(&format!("2.25.{}", self.rng.uuid().as_u128()))?,
            mime_type: mime.to_owned(),
            title: type_code.display.clone().map(InternationalText::plain),
            class_code: class,
            type_code,
            format_code: format,
            healthcare_facility_type_code: facility,
            practice_setting_code: practice,
            confidentiality_codes: vec![conf],
            event_codes: Vec::new(),
            authors: vec![author.clone()],
            comments: None,
            language_code: "en-US".to_owned(),
            creation_time: Some(dtm(created)?),
            service_start_time: Some(dtm(start)?),
            service_stop_time: Some(dtm(stop)?),
            hash: Some(Sha1Hex::digest(&digest_input)),
            size: Some(2_000 + self.rng.below(200_000)),
            repository_unique_id: Some(self.repository.clone()),
            source_patient_id: Some(patient.to_string()),
            source_patient_info: info.to_vec(),
            legal_authenticator: None,
            uri: None,
            reference_id_list: Vec::new(),
            document_availability: None,
            limited_metadata: false,
            extra_slots: Vec::new(),
        })
    }

    fn batch(
        &mut self,
        first_patient: u64,
        patients: u64,
        docs_left: u64,
    ) -> anyhow::Result<Batch> {
        let mut b = Batch::default();
        let mut left = docs_left;
        for i in 0..patients {
            if left == 0 {
                break;
            }
            let n = left.min(self.per_patient);
            left -= n;
            self.patient(first_patient + i, n, &mut b)?;
        }
        Ok(b)
    }
}

fn persons(authors: &[Author]) -> Vec<String> {
    authors
        .iter()
        .filter_map(|a| a.person.as_ref().map(|p| p.as_str().to_owned()))
        .collect()
}

fn time(t: Option<&DtmTime>) -> Option<String> {
    t.map(|t| t.start().to_string())
}

/// One `xds_document_entries` row, columns as [`document_columns`].
fn write_document(s: &mut Vec<u8>, d: &DocumentEntry, pkey: &str, set_key: &str) {
    let id = d.entry_uuid.to_string();
    field(s, &id);
    tab(s);
    field(s, &id); // logical_id: the entryUUID of a first version
    tab(s);
    field(s, "1");
    tab(s);
    field(s, &d.unique_id.to_string());
    tab(s);
    field(s, pkey);
    tab(s);
    field(s, AvailabilityStatus::Approved.as_urn());
    tab(s);
    field(s, d.object_type.as_uuid());
    tab(s);
    field(s, &d.mime_type);
    tab(s);
    field(s, &code_key(&d.class_code));
    tab(s);
    field(s, &code_key(&d.type_code));
    tab(s);
    field(s, &code_key(&d.format_code));
    tab(s);
    field(s, &code_key(&d.healthcare_facility_type_code));
    tab(s);
    field(s, &code_key(&d.practice_setting_code));
    tab(s);
    array(
        s,
        &d.confidentiality_codes
            .iter()
            .map(code_key)
            .collect::<Vec<_>>(),
    );
    tab(s);
    array(s, &d.event_codes.iter().map(code_key).collect::<Vec<_>>());
    tab(s);
    opt(s, time(d.creation_time.as_ref()).as_deref());
    tab(s);
    opt(s, time(d.service_start_time.as_ref()).as_deref());
    tab(s);
    opt(s, time(d.service_stop_time.as_ref()).as_deref());
    tab(s);
    array(s, &persons(&d.authors));
    tab(s);
    array(s, &d.reference_id_list);
    tab(s);
    opt(s, d.hash.map(|h| h.to_string()).as_deref());
    tab(s);
    opt(s, d.size.map(|n| n.to_string()).as_deref());
    tab(s);
    opt(s, d.repository_unique_id.as_ref().map(|r| r.as_str()));
    tab(s);
    opt(s, d.home_community_id.as_deref());
    tab(s);
    field(s, set_key);
    tab(s);
    field(
        s,
        &object_xml(ebxml::Identifiable::ExtrinsicObject(
            to_ebxml::document_entry_to_ebxml(d),
        )),
    );
    end(s);
}

// ---------------------------------------------------------------------------------------------
// COPY
// ---------------------------------------------------------------------------------------------

fn copy_error(e: diesel::result::Error) -> anyhow::Error {
    anyhow::anyhow!("COPY failed: {e}")
}

fn write_all(
    data: &RefCell<Vec<u8>>,
    w: &mut dyn std::io::Write,
) -> Result<(), diesel::result::Error> {
    w.write_all(&data.borrow())
        .map_err(|e| diesel::result::Error::SerializationError(Box::new(e)))
}

fn copy_batch(conn: &mut PgConnection, b: Batch) -> anyhow::Result<()> {
    use xds_associations as a;
    use xds_document_entries as de;
    use xds_submission_sets as ss;
    conn.transaction::<_, anyhow::Error, _>(|conn| {
        let data = RefCell::new(b.patients);
        diesel::copy_from(patients::table)
            .from_raw_data((patients::assigning_authority, patients::patient_id), |w| {
                write_all(&data, w)
            })
            .execute(conn)
            .map_err(copy_error)?;
        let data = RefCell::new(b.sets);
        diesel::copy_from(ss::table)
            .from_raw_data(
                (
                    ss::entry_uuid,
                    ss::unique_id,
                    ss::patient_id,
                    ss::source_id,
                    ss::status,
                    ss::submission_time,
                    ss::content_type_code,
                    ss::author_persons,
                    ss::intended_recipients,
                    ss::transaction,
                    ss::metadata_xml,
                ),
                |w| write_all(&data, w),
            )
            .execute(conn)
            .map_err(copy_error)?;
        let data = RefCell::new(b.documents);
        diesel::copy_from(de::table)
            .from_raw_data(
                (
                    de::entry_uuid,
                    de::logical_id,
                    de::version,
                    de::unique_id,
                    de::patient_id,
                    de::status,
                    de::object_type,
                    de::mime_type,
                    de::class_code,
                    de::type_code,
                    de::format_code,
                    de::healthcare_facility_type_code,
                    de::practice_setting_code,
                    de::confidentiality_codes,
                    de::event_codes,
                    de::creation_time,
                    de::service_start_time,
                    de::service_stop_time,
                    de::author_persons,
                    de::reference_ids,
                    de::hash,
                    de::size,
                    de::repository_unique_id,
                    de::home_community_id,
                    de::submission_set,
                    de::metadata_xml,
                ),
                |w| write_all(&data, w),
            )
            .execute(conn)
            .map_err(copy_error)?;
        let data = RefCell::new(b.associations);
        diesel::copy_from(a::table)
            .from_raw_data(
                (
                    a::entry_uuid,
                    a::association_type,
                    a::source_uuid,
                    a::target_uuid,
                    a::status,
                    a::submission_set_status,
                    a::submission_set,
                    a::metadata_xml,
                ),
                |w| write_all(&data, w),
            )
            .execute(conn)
            .map_err(copy_error)?;
        Ok(())
    })
}

/// Seeds the registry on `conn` (migrated). `progress` is called after each batch with the
/// totals so far.
pub fn seed(
    conn: &mut PgConnection,
    opts: &SeedOptions,
    mut progress: impl FnMut(&SeedReport),
) -> anyhow::Result<SeedReport> {
    if opts.per_patient == 0 {
        anyhow::bail!("--per-patient must be at least 1");
    }
    if !opts.append {
        let existing: i64 = xds_document_entries::table.count().get_result(conn)?;
        if existing > 0 {
            anyhow::bail!(
                "the registry already holds {existing} DocumentEntries; pass --append to add more"
            );
        }
    }
    let vocab = vocabulary()?;
    let started = Instant::now();
    let now = chrono::Utc::now();
    let run = format!("B{:x}", now.timestamp_millis());
    let epoch = DateTime::from_timestamp(now.timestamp() - 15 * 365 * 86_400, 0)
        .map(|t| t.naive_utc())
        .ok_or_else(|| anyhow::anyhow!("clock out of range"))?;
    let mut generator = Generator {
        vocab,
        rng: Rng(now.timestamp_nanos_opt().unwrap_or_default() as u64),
        run,
        per_patient: opts.per_patient,
        repository: super::repository::repository_unique_id().clone(),
        authority: Oid::parse(AUTHORITY)?,
        epoch,
        span_minutes: 15 * 365 * 1440 - 24 * 60,
    };
    let documents = opts.documents;
    let patients_per_batch = BATCH.div_ceil(opts.per_patient).max(1);
    let (tx, rx) = mpsc::sync_channel::<anyhow::Result<Batch>>(1);
    let mut total = SeedReport::default();
    std::thread::scope(|scope| -> anyhow::Result<()> {
        scope.spawn(move || {
            let mut done = 0u64;
            let mut patient = 0u64;
            while done < documents {
                let b = generator.batch(patient, patients_per_batch, documents - done);
                let stop = match &b {
                    Ok(b) => {
                        done += b.counts.documents;
                        patient += b.counts.patients;
                        b.counts.documents == 0
                    }
                    Err(_) => true,
                };
                if tx.send(b).is_err() || stop {
                    break;
                }
            }
        });
        for b in rx {
            let b = b?;
            let counts = b.counts.clone();
            copy_batch(conn, b)?;
            total.patients += counts.patients;
            total.submission_sets += counts.submission_sets;
            total.documents += counts.documents;
            total.associations += counts.associations;
            total.seconds = started.elapsed().as_secs_f64();
            progress(&total);
        }
        Ok(())
    })?;
    diesel::sql_query(
        "ANALYZE patients, xds_submission_sets, xds_document_entries, xds_associations",
    )
    .execute(conn)?;
    total.seconds = started.elapsed().as_secs_f64();
    Ok(total)
}
