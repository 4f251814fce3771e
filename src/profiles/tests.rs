//! The shipped domains load and agree with `xds`; the connectathon catalogue knows every code of
//! the XDS fixtures; rule settings turn an unknown code into a warning or an error; malformed
//! domain folders give errors that name the file, the line and the key.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use bytes::Bytes;

use super::*;
use crate::ebxml::test_fixtures::{self, XDS_FIXTURES};
use crate::ebxml::{self, WireMessage};
use crate::xds::catalogue::codes_of;
use crate::xds::{
    PatientId, PatientRegistry, Severity, Submission, SubmissionKind, check_affinity_domain,
};

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

fn load(name: &str) -> AffinityDomain {
    AffinityDomain::load(name).unwrap_or_else(|e| panic!("{e}"))
}

/// Every patient is known: these tests are about codes.
struct EveryPatient;

impl PatientRegistry for EveryPatient {
    fn is_known(&self, _: &PatientId) -> bool {
        true
    }
}

/// The submission of an XDS fixture, decoded the way the `xds` tests do; `None` for fixtures
/// that are not submissions (queries, retrieves, deletes) or do not decode (schema-invalid).
fn fixture_submission(rel: &str) -> Option<Submission> {
    let body = test_fixtures::body(rel);
    let (submission, _) = match ebxml::Message::decode(&body).ok()? {
        ebxml::Message::ProvideAndRegisterDocumentSetRequest(mut req) => {
            if rel.starts_with("openxds/") {
                // The template leaves attaching the document to the test.
                req.documents.push(ebxml::Document {
                    id: "doc1".into(),
                    bytes: Bytes::from_static(b"GIF89a"),
                });
            }
            xds::submission_from_provide_and_register(&req)
        }
        ebxml::Message::SubmitObjectsRequest(submit) if rel.starts_with("nist/xds-i/") => {
            // RAD-68 metadata: sent inside ProvideAndRegister with its KOS manifest.
            let req = ebxml::ProvideAndRegisterDocumentSetRequest {
                submit,
                documents: vec![ebxml::Document {
                    id: "Document01".into(),
                    bytes: Bytes::from(test_fixtures::rad68_document()),
                }],
            };
            xds::submission_from_provide_and_register(&req)
        }
        ebxml::Message::SubmitObjectsRequest(submit) => xds::submission_from_register(&submit),
        _ => return None,
    };
    submission
}

fn one_document_submission() -> Submission {
    let req = ebxml::SubmitObjectsRequest::decode(&test_fixtures::body(
        "dcm4chee/xds/valid-iti42-register-one-document.xml",
    ))
    .expect("fixture decodes");
    xds::submission_from_register(&req)
        .0
        .expect("dcm4chee's ITI-42 sample reads")
}

/// A domain folder `<tmp>/<name>` with `domain.toml` and `codes/<file>` files.
fn write_domain(tmp: &Path, name: &str, domain: &str, codes: &[(&str, &str)]) -> PathBuf {
    let dir = tmp.join(name);
    std::fs::create_dir_all(dir.join("codes")).expect("mkdir");
    std::fs::write(dir.join("domain.toml"), domain).expect("write domain.toml");
    for (file, text) in codes {
        std::fs::write(dir.join("codes").join(file), text).expect("write code file");
    }
    dir
}

const DOMAIN: &str = r#"name = "test-domain"
description = "a test domain"

[patient_id]
authorities = [ { oid = "1.2.3", name = "Test authority" } ]

[consent]
default = "opt-in"

[rules]
"DocumentEntry.classCode.inAffinityDomain" = "warning"
"#;

const CLASS_CODES: &str = r#"[[classCode]]
scheme = "1.2.9"
name = "test classes"
codes = [
  { code = "A", display = "Class A" },
  { code = "B", display = "Class B" },
]
"#;

/// The errors of loading a test domain folder with `domain` and `codes`.
fn errors_of(domain: &str, codes: &[(&str, &str)]) -> Vec<ProfileError> {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = write_domain(tmp.path(), "test-domain", domain, codes);
    match AffinityDomain::load_dir(&dir) {
        Ok(_) => panic!("the domain loaded"),
        Err(e) => {
            // Every message names the file.
            for err in &e.errors {
                assert!(err.to_string().contains(".toml:"), "{err}");
            }
            e.errors
        }
    }
}

/// The one error of loading `domain` with `codes`.
#[track_caller]
fn one_error(domain: &str, codes: &[(&str, &str)]) -> ProfileError {
    let mut errors = errors_of(domain, codes);
    assert_eq!(errors.len(), 1, "{errors:#?}");
    errors.remove(0)
}

// ---------------------------------------------------------------------------------------------
// The shipped domains
// ---------------------------------------------------------------------------------------------

#[test]
fn shipped_domains_load() {
    assert_eq!(names(), ["connectathon", "kr-hie"]);
    assert_eq!(AffinityDomain::names(), names());
    for name in names() {
        let d = load(name);
        assert_eq!(d.name(), name);
        assert!(!d.description().is_empty());
        for scheme in CodeScheme::ALL {
            assert!(
                d.code_count(scheme) > 0
                    || d.codes
                        .get(&scheme)
                        .is_some_and(|s| s.values().any(|c| c.any_code)),
                "{name}: no {} codes",
                attribute_key(scheme)
            );
        }
        assert!(d.mime_type_count() > 0, "{name}: no MIME types");
    }
    // The NIST import is all there (counts of the source, duplicates merged).
    let c = load("connectathon");
    assert!(c.code_count(CodeScheme::FormatCode) >= 77);
    assert!(c.code_count(CodeScheme::TypeCode) >= 43);
    assert!(c.code_count(CodeScheme::EventCode) >= 400);
}

#[test]
fn unknown_domain_names_the_shipped_ones() {
    let e = AffinityDomain::load("atlantis").expect_err("no such domain");
    assert!(matches!(
        &e.errors[..],
        [ProfileError::UnknownDomain { name, .. }] if name == "atlantis"
    ));
    assert!(
        e.to_string().contains("shipped: connectathon, kr-hie"),
        "{e}"
    );
    // A path is not a name.
    assert!(AffinityDomain::load("../profiles/connectathon").is_err());
}

#[test]
fn every_rule_name_in_every_domain_is_an_xds_rule() {
    for name in names() {
        let d = load(name);
        let rules: Vec<_> = d.rules().collect();
        assert!(!rules.is_empty(), "{name} sets no rule");
        for (rule, _) in rules {
            assert!(xds::problem::is_rule(rule), "{name}: {rule}");
        }
        // And in the file itself, read without the loader.
        let (_, text) = embedded::FILES
            .iter()
            .find(|(p, _)| *p == format!("{name}/domain.toml"))
            .expect("domain.toml embedded");
        let table: toml::Table = toml::from_str(text).expect("TOML");
        let file_rules = table
            .get("rules")
            .and_then(toml::Value::as_table)
            .expect("[rules]");
        for rule in file_rules.keys() {
            assert!(xds::problem::is_rule(rule), "{name}: {rule}");
        }
    }
}

#[test]
fn every_profile_file_is_embedded() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("profiles");
    let mut on_disk = BTreeSet::new();
    for domain in std::fs::read_dir(&root).expect("profiles/") {
        let domain = domain.expect("entry").path();
        let Some(name) = domain.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        if !domain.join("domain.toml").is_file() {
            continue;
        }
        on_disk.insert(format!("{name}/domain.toml"));
        if let Ok(codes) = std::fs::read_dir(domain.join("codes")) {
            for f in codes {
                let f = f.expect("entry").path();
                if f.extension().is_some_and(|e| e == "toml") {
                    let file = f.file_name().and_then(|n| n.to_str()).expect("utf-8 name");
                    on_disk.insert(format!("{name}/codes/{file}"));
                }
            }
        }
    }
    let embedded: BTreeSet<String> = embedded::FILES.iter().map(|(p, _)| p.to_string()).collect();
    let listing: String = on_disk
        .iter()
        .map(|f| {
            format!(
                "    (\n        \"{f}\",\n        include_str!(\"../../profiles/{f}\"),\n    ),\n"
            )
        })
        .collect();
    assert_eq!(
        on_disk, embedded,
        "src/profiles/embedded.rs must list every file of profiles/; FILES should be:\n{listing}"
    );
}

#[test]
fn an_operators_copy_of_a_shipped_domain_loads_from_disk() {
    let tmp = tempfile::tempdir().expect("tempdir");
    for (path, text) in embedded::FILES {
        if let Some(rest) = path.strip_prefix("kr-hie/") {
            let file = tmp.path().join("kr-hie").join(rest);
            std::fs::create_dir_all(file.parent().expect("parent")).expect("mkdir");
            std::fs::write(&file, text).expect("write");
        }
    }
    std::fs::write(tmp.path().join("kr-hie/codes/NOTES.md"), "notes").expect("write");
    let from_disk =
        AffinityDomain::load_dir(&tmp.path().join("kr-hie")).unwrap_or_else(|e| panic!("{e}"));
    let embedded = load("kr-hie");
    for scheme in CodeScheme::ALL {
        assert_eq!(from_disk.code_count(scheme), embedded.code_count(scheme));
    }
    assert_eq!(from_disk.rules().count(), embedded.rules().count());
}

// ---------------------------------------------------------------------------------------------
// Codes
// ---------------------------------------------------------------------------------------------

#[test]
fn connectathon_knows_every_code_of_the_xds_fixtures() {
    let c = load("connectathon");
    let mut submissions = 0;
    let mut unknown = Vec::new();
    let mut checked = Vec::new();
    for rel in XDS_FIXTURES {
        let Some(s) = fixture_submission(rel) else {
            continue;
        };
        submissions += 1;
        for (scheme, code, context) in codes_of(&s) {
            if !c.knows(scheme, code) {
                unknown.push(format!(
                    "{rel}: {context}: {} code '{}' scheme '{}' display {:?}",
                    attribute_key(scheme),
                    code.code,
                    code.scheme,
                    code.display
                ));
            }
        }
        for d in &s.documents {
            if !c.knows_mime_type(&d.mime_type) {
                unknown.push(format!("{rel}: mimeType '{}'", d.mime_type));
            }
        }
        // The whole check agrees: nothing to report once the patient is known.
        let kind = if rel.starts_with("dcm4chee/") {
            SubmissionKind::Register
        } else {
            SubmissionKind::ProvideAndRegister
        };
        let problems = check_affinity_domain(&s, kind, &c, &EveryPatient);
        checked.push((rel, problems));
    }
    assert!(unknown.is_empty(), "unknown codes:\n{}", unknown.join("\n"));
    for (rel, problems) in checked {
        assert!(problems.is_empty(), "{rel}: {problems:#?}");
    }
    // The six XDS submissions of the fixtures README.
    assert_eq!(submissions, 6);
}

#[test]
fn a_code_outside_the_list_is_a_warning_in_connectathon_and_an_error_in_kr_hie() {
    let connectathon = load("connectathon");
    let kr = load("kr-hie");

    // A submission made of kr-hie codes passes kr-hie.
    let mut s = one_document_submission();
    {
        let d = &mut s.documents[0];
        d.class_code = Code::new("SUMMARIES", "1.3.6.1.4.1.19376.1.2.6.1", "Summaries");
        d.type_code = Code::new("57133-1", "2.16.840.1.113883.6.1", "진료의뢰서");
        d.format_code = Code::new(
            "urn:ihe:iti:xds:2017:mimeTypeSufficient",
            "1.3.6.1.4.1.19376.1.2.3",
            "mimeType Sufficient",
        );
        d.confidentiality_codes = vec![Code::new("N", "2.16.840.1.113883.5.25", "normal")];
        d.healthcare_facility_type_code = Code::new(
            "11",
            "http://www.hl7korea.or.kr/CodeSystem/hira-healthcare-organization-types",
            "종합병원",
        );
        d.practice_setting_code = Code::new(
            "01",
            "http://www.hl7korea.or.kr/CodeSystem/hira-medical-department",
            "내과",
        );
        d.event_codes = vec![
            Code::new(
                "I10",
                "http://www.hl7korea.or.kr/CodeSystem/kostat-kcd-8",
                "본태성(원발성) 고혈압",
            ),
            Code::new(
                "D0571017",
                "http://www.hl7korea.or.kr/CodeSystem/hira-edi-procedure",
                "검사",
            ),
        ];
        d.mime_type = "text/xml".into();
    }
    s.submission_set.content_type_code = Code::new("57133-1", "2.16.840.1.113883.6.1", "진료의뢰");
    let kind = SubmissionKind::Register;
    let problems = check_affinity_domain(&s, kind, &kr, &EveryPatient);
    assert!(problems.is_empty(), "{problems:#?}");

    // One classCode outside the lists.
    s.documents[0].class_code = Code::new("Unlisted", "1.2.3.4.5.6.7", "Not in any list");
    for (domain, severity) in [(&connectathon, Severity::Warning), (&kr, Severity::Error)] {
        let raw = check_affinity_domain(&s, kind, domain, &EveryPatient);
        let problems = domain.apply_rule_settings(
            raw.into_iter()
                .filter(|p| p.rule == "DocumentEntry.classCode.inAffinityDomain")
                .collect(),
        );
        assert_eq!(problems.len(), 1, "{}: {problems:#?}", domain.name());
        assert_eq!(problems[0].severity, severity, "{}", domain.name());
        assert_eq!(
            xds::has_errors(&problems),
            severity == Severity::Error,
            "{}",
            domain.name()
        );
        assert!(
            problems[0].message.contains("'Unlisted'"),
            "{}",
            problems[0]
        );
    }

    // Same with rule_settings() handed to xds directly.
    let raw = check_affinity_domain(&s, kind, &kr, &EveryPatient);
    let via_xds = xds::apply_rule_settings(raw, kr.rule_settings());
    assert!(xds::has_errors(&via_xds));

    // A coding scheme kr-hie does not know, even with any_code elsewhere.
    assert!(!kr.knows(
        CodeScheme::EventCode,
        &Code::new("I10", "2.16.840.1.113883.6.3", "ICD-10")
    ));
    assert!(kr.knows(
        CodeScheme::EventCode,
        &Code::new(
            "J45.9",
            "http://www.hl7korea.or.kr/CodeSystem/kostat-kcd-8",
            "천식"
        )
    ));
    // The display name is not compared, the scheme is.
    assert!(kr.knows(
        CodeScheme::ClassCode,
        &Code::new("REPORTS", "1.3.6.1.4.1.19376.1.2.6.1", "whatever")
    ));
    assert!(!kr.knows(
        CodeScheme::ClassCode,
        &Code::new("REPORTS", "1.3.6.1.4.1.19376.1.2.6", "Reports")
    ));
    assert_eq!(
        kr.display_name(
            CodeScheme::TypeCode,
            &Code::new("57133-1", "2.16.840.1.113883.6.1", "")
        ),
        Some("진료의뢰서 (Referral note)")
    );
}

#[test]
fn structural_rules_keep_their_default_in_connectathon() {
    let c = load("connectathon");
    assert_eq!(c.rule_setting("Submission.ids.unique"), None);
    assert_eq!(c.rule_setting("Submission.patientId.known"), None);
    assert_eq!(
        c.rule_setting("DocumentEntry.mimeType.inAffinityDomain"),
        Some(RuleSetting::Warning)
    );
    for scheme in CodeScheme::ALL {
        assert_eq!(
            c.rule_setting(scheme.rule_in_affinity_domain()),
            Some(RuleSetting::Warning)
        );
        assert_eq!(
            load("kr-hie").rule_setting(scheme.rule_in_affinity_domain()),
            Some(RuleSetting::Error)
        );
    }
}

#[test]
fn mime_types_compare_without_case_and_parameters() {
    let c = load("connectathon");
    assert!(c.knows_mime_type("text/xml"));
    assert!(c.knows_mime_type("Text/XML; charset=UTF-8"));
    assert!(!c.knows_mime_type("application/x-unknown"));
    let kr = load("kr-hie");
    assert!(kr.knows_mime_type("application/dicom"));
    assert!(!kr.knows_mime_type("image/gif"));
}

// ---------------------------------------------------------------------------------------------
// Authorities and consent
// ---------------------------------------------------------------------------------------------

#[test]
fn connectathon_accepts_any_iso_oid_and_kr_hie_only_named_authorities() {
    let oid = |s: &str| Oid::parse(s).expect("OID");
    let c = load("connectathon");
    assert!(c.accepts_any_iso_oid());
    for a in ["1.2.3.45.4.3.2.1", "1.3.6.1.4.1.21367.2005.3.7", "1.2.260"] {
        assert!(c.accepts_authority(&oid(a)), "{a}");
    }
    assert_eq!(c.authorities().len(), 3);
    assert!(c.placeholders().is_empty());

    let kr = load("kr-hie");
    assert!(!kr.accepts_any_iso_oid());
    assert!(!kr.accepts_authority(&oid("1.2.3.45.4.3.2.1")));
    // Shipped with a placeholder the operator fills in; nothing is accepted meanwhile.
    assert!(kr.authorities().is_empty());
    assert_eq!(kr.placeholders().len(), 1);
    assert_eq!(kr.placeholders()[0].key, "patient_id.authorities[0]");
    assert!(
        kr.placeholders()[0]
            .location
            .starts_with("profiles/kr-hie/domain.toml:")
    );

    // Filled in by the operator, it is accepted.
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = write_domain(
        tmp.path(),
        "test-domain",
        DOMAIN,
        &[("classCode.toml", CLASS_CODES)],
    );
    let d = AffinityDomain::load_dir(&dir).unwrap_or_else(|e| panic!("{e}"));
    assert!(d.accepts_authority(&oid("1.2.3")));
    assert!(!d.accepts_authority(&oid("1.2.4")));
    assert_eq!(d.home_community_id(), None);
}

#[test]
fn consent_policies_are_data() {
    let c = load("connectathon");
    assert_eq!(c.consent().default, ConsentDefault::OptOut);
    let names: Vec<&str> = c
        .consent()
        .policies
        .iter()
        .map(|p| p.name.as_str())
        .collect();
    assert_eq!(names, ["OPT-OUT", "OPT-IN"]);
    // Each policy OID is a code the consent documents can name in eventCodeList.
    for p in &c.consent().policies {
        assert!(c.knows(
            CodeScheme::EventCode,
            &Code::new(p.oid.as_str(), "1.3.6.1.4.1.21367.2017.3", &p.name)
        ));
    }
    assert_eq!(load("kr-hie").consent().default, ConsentDefault::OptIn);

    let domain = DOMAIN.replace(
        "default = \"opt-in\"",
        "default = \"opt-out\"\n[consent.policies.\"1.2.3.4\"]\nname = \"Emergency\"\nrule = \"break the glass\"\nterms = { break_the_glass = true }",
    );
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = write_domain(tmp.path(), "test-domain", &domain, &[]);
    let d = AffinityDomain::load_dir(&dir).unwrap_or_else(|e| panic!("{e}"));
    let p = &d.consent().policies[0];
    assert_eq!(p.oid.as_str(), "1.2.3.4");
    assert_eq!(
        p.terms
            .get("break_the_glass")
            .and_then(toml::Value::as_bool),
        Some(true)
    );
}

// ---------------------------------------------------------------------------------------------
// Malformed domains
// ---------------------------------------------------------------------------------------------

#[test]
fn unknown_rule_names_the_line_and_lists_the_rules() {
    let domain = DOMAIN.replace(
        "\"DocumentEntry.classCode.inAffinityDomain\"",
        "\"DocumentEntry.classcode.inAffinityDomain\"",
    );
    let e = one_error(&domain, &[]);
    let ProfileError::UnknownRule {
        file,
        line,
        rule,
        suggestion,
    } = &e
    else {
        panic!("{e:?}");
    };
    assert!(file.ends_with("test-domain/domain.toml"), "{file}");
    assert_eq!(*line, 11);
    assert_eq!(rule, "DocumentEntry.classcode.inAffinityDomain");
    assert_eq!(
        *suggestion,
        Some("DocumentEntry.classCode.inAffinityDomain")
    );
    let msg = e.to_string();
    assert!(
        msg.contains("did you mean 'DocumentEntry.classCode.inAffinityDomain'"),
        "{msg}"
    );
    for (r, _) in xds::RULES {
        assert!(msg.contains(r), "{r} not listed");
    }

    // Far from any rule: no suggestion.
    let domain = DOMAIN.replace(
        "\"DocumentEntry.classCode.inAffinityDomain\"",
        "\"Nonsense\"",
    );
    assert!(matches!(
        one_error(&domain, &[]),
        ProfileError::UnknownRule {
            suggestion: None,
            ..
        }
    ));
}

#[test]
fn unknown_severity_names_the_rule_and_the_value() {
    let domain = DOMAIN.replace("= \"warning\"", "= \"fatal\"");
    let e = one_error(&domain, &[]);
    assert!(
        matches!(&e, ProfileError::UnknownSetting { line: 11, rule, value, .. }
            if rule == "DocumentEntry.classCode.inAffinityDomain" && value == "fatal"),
        "{e:?}"
    );
    assert!(e.to_string().contains("use error, warning or off"), "{e}");
}

#[test]
fn duplicate_codes_name_both_places() {
    // Twice in one file.
    let twice = CLASS_CODES.replace("code = \"B\"", "code = \"A\"");
    let e = one_error(DOMAIN, &[("classCode.toml", &twice)]);
    let ProfileError::DuplicateCode {
        file,
        line,
        key,
        attribute,
        scheme,
        code,
        first,
    } = &e
    else {
        panic!("{e:?}");
    };
    assert!(file.ends_with("codes/classCode.toml"));
    assert_eq!(*line, 6);
    assert_eq!(key, "classCode[0].codes[1].code");
    assert_eq!(*attribute, "classCode");
    assert_eq!((scheme.as_str(), code.as_str()), ("1.2.9", "A"));
    assert!(first.ends_with("codes/classCode.toml:5"), "{first}");

    // In two files: each code of the second is a duplicate.
    let errors = errors_of(
        DOMAIN,
        &[("classCode.toml", CLASS_CODES), ("more.toml", CLASS_CODES)],
    );
    assert_eq!(errors.len(), 2, "{errors:#?}");
    assert!(
        matches!(&errors[0], ProfileError::DuplicateCode { file, first, .. }
            if file.ends_with("more.toml") && first.ends_with("classCode.toml:5")),
        "{errors:?}"
    );

    // The same code in another scheme or another attribute is not a duplicate.
    let other = CLASS_CODES
        .replace("1.2.9", "1.2.10")
        .replace("[[classCode]]", "[[typeCode]]");
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = write_domain(
        tmp.path(),
        "test-domain",
        DOMAIN,
        &[("classCode.toml", CLASS_CODES), ("typeCode.toml", &other)],
    );
    assert!(AffinityDomain::load_dir(&dir).is_ok());

    // MIME types are duplicates without regard to case.
    let mime = "[[mimeType]]\ncodes = [\n  { code = \"text/xml\", display = \"XML\" },\n  { code = \"TEXT/XML\", display = \"XML\" },\n]\n";
    assert!(matches!(
        one_error(DOMAIN, &[("mimeType.toml", mime)]),
        ProfileError::DuplicateCode {
            line: 4,
            attribute: "mimeType",
            ..
        }
    ));
}

/// A change to the test domain and what its one error must say.
struct Case {
    domain: String,
    codes: Vec<(&'static str, String)>,
    line: usize,
    says: &'static str,
}

#[test]
fn malformed_domain_files_give_errors_with_file_line_and_key() {
    let code_file = |text: &str| vec![("classCode.toml", text.to_string())];
    let cases = [
        Case {
            domain: DOMAIN.replace("name = \"test-domain\"", "name = \"other\""),
            codes: vec![],
            line: 1,
            says: "key 'name': the domain is named 'other' but its folder is 'test-domain'",
        },
        Case {
            domain: DOMAIN.replace("description = \"a test domain\"\n", ""),
            codes: vec![],
            line: 1,
            says: "missing field `description`",
        },
        Case {
            domain: DOMAIN.replace("[consent]", "colour = \"blue\"\n[consent]"),
            codes: vec![],
            line: 7,
            says: "unknown field `colour`",
        },
        Case {
            domain: DOMAIN.replace("oid = \"1.2.3\"", "oid = \"1.2.x\""),
            codes: vec![],
            line: 5,
            says: "key 'patient_id.authorities[0].oid': '1.2.x' is not an OID",
        },
        Case {
            domain: DOMAIN.replace("oid = \"1.2.3\", ", ""),
            codes: vec![],
            line: 5,
            says: "key 'patient_id.authorities[0].oid': missing",
        },
        Case {
            domain: DOMAIN.replace(
                "authorities = [ { oid = \"1.2.3\", name = \"Test authority\" } ]",
                "accept_any_iso_oid = false",
            ),
            codes: vec![],
            line: 1,
            says: "key 'patient_id': the domain accepts no patient id",
        },
        Case {
            domain: DOMAIN.replace(
                "description = \"a test domain\"",
                "description = \"a test domain\"\nhome_community_id = \"1.2.3\"",
            ),
            codes: vec![],
            line: 3,
            says: "key 'home_community_id': is not of the form urn:oid:<OID>",
        },
        Case {
            domain: DOMAIN.replace("default = \"opt-in\"", "default = \"maybe\""),
            codes: vec![],
            line: 8,
            says: "key 'consent.default': unknown value 'maybe' (use opt-in or opt-out)",
        },
        Case {
            domain: DOMAIN.replace(
                "default = \"opt-in\"",
                "default = \"opt-in\"\n[consent.policies.\"OPT-IN\"]\nname = \"n\"\nrule = \"r\"",
            ),
            codes: vec![],
            line: 9,
            says: "key 'consent.policies.\"OPT-IN\"': a consent policy is named by its OID",
        },
        Case {
            domain: DOMAIN.replace("[rules]", "[rules\n"),
            codes: vec![],
            line: 10,
            says: "test-domain/domain.toml:10:",
        },
        Case {
            domain: DOMAIN.to_string(),
            codes: code_file(&CLASS_CODES.replace("[[classCode]]", "[[klassCode]]")),
            line: 1,
            says: "key 'klassCode': not a coded attribute (use one of: classCode,",
        },
        Case {
            domain: DOMAIN.to_string(),
            codes: code_file(&CLASS_CODES.replace("scheme = \"1.2.9\"\n", "")),
            line: 1,
            says: "key 'classCode[0].scheme': missing",
        },
        Case {
            domain: DOMAIN.to_string(),
            codes: code_file(&CLASS_CODES.replace("display = \"Class B\"", "display = \" \"")),
            line: 6,
            says: "key 'classCode[0].codes[1].display': is empty",
        },
        Case {
            domain: DOMAIN.to_string(),
            codes: code_file(
                &CLASS_CODES.replace("display = \"Class B\"", "dispaly = \"Class B\""),
            ),
            line: 6,
            says: "unknown field `dispaly`, expected `code` or `display`",
        },
        Case {
            domain: DOMAIN.to_string(),
            codes: code_file(
                "[[mimeType]]\nscheme = \"x\"\ncodes = [ { code = \"text/xml\", display = \"XML\" } ]\n",
            ),
            line: 2,
            says: "key 'mimeType[0].scheme': a MIME type has no coding scheme",
        },
    ];
    for case in cases {
        let codes: Vec<(&str, &str)> = case.codes.iter().map(|(f, t)| (*f, t.as_str())).collect();
        let e = one_error(&case.domain, &codes);
        let msg = e.to_string();
        assert!(
            msg.contains(case.says),
            "expected '{}' in: {msg}",
            case.says
        );
        let line = match &e {
            ProfileError::Syntax { line, .. }
            | ProfileError::Invalid { line, .. }
            | ProfileError::UnknownRule { line, .. }
            | ProfileError::UnknownSetting { line, .. }
            | ProfileError::DuplicateCode { line, .. } => *line,
            other => panic!("{other:?}"),
        };
        assert_eq!(line, case.line, "{msg}");
    }
}

#[test]
fn every_problem_of_a_domain_is_reported_at_once() {
    let domain = DOMAIN
        .replace("default = \"opt-in\"", "default = \"maybe\"")
        .replace("= \"warning\"", "= \"fatal\"");
    let twice = CLASS_CODES.replace("code = \"B\"", "code = \"A\"");
    let errors = errors_of(&domain, &[("classCode.toml", &twice)]);
    assert_eq!(errors.len(), 3, "{errors:#?}");
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = write_domain(
        tmp.path(),
        "test-domain",
        &domain,
        &[("classCode.toml", &twice)],
    );
    let msg = AffinityDomain::load_dir(&dir)
        .expect_err("broken")
        .to_string();
    assert!(
        msg.starts_with("affinity domain 'test-domain': 3 problems"),
        "{msg}"
    );
}

#[test]
fn a_missing_folder_or_a_stray_file_is_named() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let e = AffinityDomain::load_dir(&tmp.path().join("nowhere")).expect_err("no folder");
    assert!(
        matches!(&e.errors[..], [ProfileError::Io { path, .. }] if path.ends_with("nowhere/domain.toml")),
        "{e:?}"
    );
    let dir = write_domain(
        tmp.path(),
        "test-domain",
        DOMAIN,
        &[("classCode.csv", "A,1.2.9,Class A\n")],
    );
    let e = AffinityDomain::load_dir(&dir).expect_err("csv");
    assert!(
        matches!(&e.errors[..], [ProfileError::StrayFile { path }] if path.ends_with("codes/classCode.csv")),
        "{e:?}"
    );
}
