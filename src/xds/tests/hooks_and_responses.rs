//! The affinity-domain hooks, and problems as `rs:RegistryResponse`.

use super::*;

// ---------------------------------------------------------------------------------------------
// Affinity domain hooks
// ---------------------------------------------------------------------------------------------

struct OnlyLoinc;

impl CodeCatalogue for OnlyLoinc {
    fn knows(&self, scheme: CodeScheme, code: &Code) -> bool {
        scheme != CodeScheme::TypeCode || code.scheme == "LOINC"
    }

    fn knows_mime_type(&self, mime_type: &str) -> bool {
        mime_type != "text/plain"
    }
}

struct Patients(Vec<PatientId>);

impl PatientRegistry for Patients {
    fn is_known(&self, patient: &PatientId) -> bool {
        self.0.iter().any(|p| p.same_patient(patient))
    }
}

#[test]
fn affinity_domain_checks_use_the_hooks() {
    let (s, _) = register(&one_document());
    let s = s.expect("submission");
    let problems =
        check_affinity_domain(&s, SubmissionKind::Register, &OnlyLoinc, &Patients(vec![]));
    let rules: BTreeSet<&str> = problems.iter().map(|p| p.rule).collect();
    assert_eq!(
        rules,
        BTreeSet::from([
            "DocumentEntry.typeCode.inAffinityDomain",
            "DocumentEntry.mimeType.inAffinityDomain",
            "Submission.patientId.known",
        ])
    );
    let unknown = problems
        .iter()
        .find(|p| p.rule == "Submission.patientId.known")
        .expect("problem");
    assert_eq!(unknown.code, ErrorCode::XDSUnknownPatientId);
    let known = Patients(vec![
        PatientId::parse("test1234_1^^^&1.2.3.45.4.3.2.1&ISO").expect("pid"),
    ]);
    let problems = check_affinity_domain(&s, SubmissionKind::Register, &OnlyLoinc, &known);
    assert!(
        !problems
            .iter()
            .any(|p| p.rule == "Submission.patientId.known")
    );
    // 5 single codes, 1 confidentialityCode, 2 eventCodeList codes, 1 contentTypeCode.
    assert_eq!(catalogue::codes_of(&s).len(), 9);
}

// ---------------------------------------------------------------------------------------------
// Responses
// ---------------------------------------------------------------------------------------------

#[test]
fn problems_become_registry_errors_naming_rule_and_object() {
    let mut req = one_document();
    set_identifier(
        &mut entry(&mut req).object,
        vocabulary::DOCUMENT_ENTRY_PATIENT_ID,
        "other^^^&1.2.3.45.4.3.2.1&ISO",
    );
    let (_, problems) = register(&req);
    let response = to_ebxml::registry_response(&problems);
    assert_eq!(response.status, ebxml::ResponseStatus::Failure);
    let list = response.errors.expect("errors");
    assert_eq!(list.highest_severity, Some(ebxml::ErrorSeverity::Error));
    let e = &list.errors[0];
    assert_eq!(e.error_code, "XDSPatientIdDoesNotMatch");
    assert_eq!(
        e.location.as_deref(),
        Some("Submission.patientId.consistent")
    );
    assert!(e.code_context.starts_with(&format!("DocumentEntry '{DE}' (uniqueId 1.42.20120430135820.36): patientId other^^^&1.2.3.45.4.3.2.1&ISO differs")), "{}", e.code_context);
    let xml = response_xml(&to_ebxml::registry_response(&problems));
    assert!(
        xml.contains("errorCode=\"XDSPatientIdDoesNotMatch\""),
        "{xml}"
    );

    let ok = to_ebxml::registry_response(&[]);
    assert_eq!(ok.status, ebxml::ResponseStatus::Success);
    assert_eq!(ok.errors, None);
}

fn response_xml(r: &ebxml::RegistryResponse) -> String {
    r.to_xml(EncodeOptions::INLINE).xml
}

#[test]
fn warnings_alone_give_success() {
    let p = Problem {
        code: ErrorCode::XDSExtraMetadataNotSaved,
        severity: Severity::Warning,
        rule: "Classification.scheme.known",
        context: "DocumentEntry 'a'".into(),
        message: "not saved".into(),
    };
    let r = to_ebxml::registry_response(std::slice::from_ref(&p));
    assert_eq!(r.status, ebxml::ResponseStatus::Success);
    assert_eq!(
        r.errors.expect("list").highest_severity,
        Some(ebxml::ErrorSeverity::Warning)
    );
    assert_eq!(
        p.to_string(),
        "warning XDSExtraMetadataNotSaved [Classification.scheme.known] DocumentEntry 'a': not saved"
    );
}
