//! Coded values (ITI TF-3 §4.2.3.1, "Code" data type): a code, the code system it belongs to
//! (the `codingScheme` slot) and a display name, and the classification schemes they are used
//! with.

use super::vocabulary as v;

/// A coded value.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Code {
    /// `nodeRepresentation`.
    pub code: String,
    /// The `codingScheme` slot.
    pub scheme: String,
    /// The Classification's `Name` (required by ITI TF-3; `None` only for invalid input).
    pub display: Option<String>,
}

impl Code {
    pub fn new(
        code: impl Into<String>,
        scheme: impl Into<String>,
        display: impl Into<String>,
    ) -> Code {
        Code {
            code: code.into(),
            scheme: scheme.into(),
            display: Some(display.into()),
        }
    }
}

/// Which coded attribute a code fills: what an affinity domain lists codes for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CodeScheme {
    ClassCode,
    ConfidentialityCode,
    EventCode,
    FormatCode,
    HealthcareFacilityTypeCode,
    PracticeSettingCode,
    TypeCode,
    ContentTypeCode,
    FolderCode,
}

impl CodeScheme {
    pub const ALL: [CodeScheme; 9] = [
        CodeScheme::ClassCode,
        CodeScheme::ConfidentialityCode,
        CodeScheme::EventCode,
        CodeScheme::FormatCode,
        CodeScheme::HealthcareFacilityTypeCode,
        CodeScheme::PracticeSettingCode,
        CodeScheme::TypeCode,
        CodeScheme::ContentTypeCode,
        CodeScheme::FolderCode,
    ];

    /// The ebRIM classification scheme (ITI TF-3 Table 4.2.5-1).
    pub fn classification_scheme(self) -> &'static str {
        match self {
            CodeScheme::ClassCode => v::DOCUMENT_ENTRY_CLASS_CODE,
            CodeScheme::ConfidentialityCode => v::DOCUMENT_ENTRY_CONFIDENTIALITY_CODE,
            CodeScheme::EventCode => v::DOCUMENT_ENTRY_EVENT_CODE,
            CodeScheme::FormatCode => v::DOCUMENT_ENTRY_FORMAT_CODE,
            CodeScheme::HealthcareFacilityTypeCode => {
                v::DOCUMENT_ENTRY_HEALTHCARE_FACILITY_TYPE_CODE
            }
            CodeScheme::PracticeSettingCode => v::DOCUMENT_ENTRY_PRACTICE_SETTING_CODE,
            CodeScheme::TypeCode => v::DOCUMENT_ENTRY_TYPE_CODE,
            CodeScheme::ContentTypeCode => v::SUBMISSION_SET_CONTENT_TYPE_CODE,
            CodeScheme::FolderCode => v::FOLDER_CODE_LIST,
        }
    }

    pub fn from_classification_scheme(uuid: &str) -> Option<CodeScheme> {
        CodeScheme::ALL
            .into_iter()
            .find(|s| s.classification_scheme() == uuid)
    }

    /// The attribute's name in ITI TF-3, e.g. `DocumentEntry.classCode`.
    pub fn attribute(self) -> &'static str {
        match self {
            CodeScheme::ClassCode => "DocumentEntry.classCode",
            CodeScheme::ConfidentialityCode => "DocumentEntry.confidentialityCode",
            CodeScheme::EventCode => "DocumentEntry.eventCodeList",
            CodeScheme::FormatCode => "DocumentEntry.formatCode",
            CodeScheme::HealthcareFacilityTypeCode => "DocumentEntry.healthcareFacilityTypeCode",
            CodeScheme::PracticeSettingCode => "DocumentEntry.practiceSettingCode",
            CodeScheme::TypeCode => "DocumentEntry.typeCode",
            CodeScheme::ContentTypeCode => "SubmissionSet.contentTypeCode",
            CodeScheme::FolderCode => "Folder.codeList",
        }
    }

    /// The rule that the code is one of the affinity domain's.
    pub fn rule_in_affinity_domain(self) -> &'static str {
        match self {
            CodeScheme::ClassCode => "DocumentEntry.classCode.inAffinityDomain",
            CodeScheme::ConfidentialityCode => "DocumentEntry.confidentialityCode.inAffinityDomain",
            CodeScheme::EventCode => "DocumentEntry.eventCodeList.inAffinityDomain",
            CodeScheme::FormatCode => "DocumentEntry.formatCode.inAffinityDomain",
            CodeScheme::HealthcareFacilityTypeCode => {
                "DocumentEntry.healthcareFacilityTypeCode.inAffinityDomain"
            }
            CodeScheme::PracticeSettingCode => "DocumentEntry.practiceSettingCode.inAffinityDomain",
            CodeScheme::TypeCode => "DocumentEntry.typeCode.inAffinityDomain",
            CodeScheme::ContentTypeCode => "SubmissionSet.contentTypeCode.inAffinityDomain",
            CodeScheme::FolderCode => "Folder.codeList.inAffinityDomain",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schemes_map_both_ways() {
        for s in CodeScheme::ALL {
            assert_eq!(
                CodeScheme::from_classification_scheme(s.classification_scheme()),
                Some(s)
            );
            assert!(super::super::problem::is_rule(s.rule_in_affinity_domain()));
        }
        assert_eq!(
            CodeScheme::from_classification_scheme(v::DOCUMENT_ENTRY_AUTHOR),
            None
        );
    }
}
