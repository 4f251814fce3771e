//! The KOS manifest of XDS-I.b (RAD TF-3 §4.68.4.1.2.3, PS3.3 A.35.4): what it references,
//! from its Current Requested Procedure Evidence Sequence (0040,A375).

use dicom_core::Tag;
use dicom_dictionary_std::tags;
use dicom_object::InMemDicomObject;

use crate::imaging::DicomUid;
use crate::imaging::parse::{read_object, text};

/// One instance a manifest references.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    pub study_instance_uid: String,
    pub series_instance_uid: String,
    pub sop_class_uid: String,
    pub sop_instance_uid: String,
    pub retrieve_ae_title: String,
    pub retrieve_location_uid: String,
}

/// A parsed manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Manifest {
    pub sop_instance_uid: String,
    pub patient_id: String,
    pub references: Vec<Reference>,
}

fn items(obj: &InMemDicomObject, tag: Tag) -> &[InMemDicomObject] {
    obj.element_opt(tag)
        .ok()
        .flatten()
        .and_then(|e| e.items())
        .unwrap_or(&[])
}

/// Parses a KOS; the error names what is missing or wrong, with the item path.
pub fn parse(bytes: &[u8]) -> Result<Manifest, String> {
    let obj = read_object(bytes).map_err(|e| e.to_string())?;
    let o: &InMemDicomObject = &obj;
    let class = text(o, tags::SOP_CLASS_UID);
    if class != super::KOS_SOP_CLASS {
        return Err(format!(
            "SOPClassUID is {class:?}, not Key Object Selection ({})",
            super::KOS_SOP_CLASS
        ));
    }
    let sop = text(o, tags::SOP_INSTANCE_UID);
    DicomUid::parse(&sop).map_err(|e| format!("SOPInstanceUID: {e}"))?;
    let evidence = items(o, tags::CURRENT_REQUESTED_PROCEDURE_EVIDENCE_SEQUENCE);
    if evidence.is_empty() {
        return Err(
            "CurrentRequestedProcedureEvidenceSequence (0040,A375) is missing or empty".into(),
        );
    }
    let mut references = Vec::new();
    for (i, study) in evidence.iter().enumerate() {
        let study_uid = text(study, tags::STUDY_INSTANCE_UID);
        DicomUid::parse(&study_uid)
            .map_err(|e| format!("(0040,A375) item {}: StudyInstanceUID: {e}", i + 1))?;
        for (j, series) in items(study, tags::REFERENCED_SERIES_SEQUENCE)
            .iter()
            .enumerate()
        {
            let at = format!("(0040,A375) item {} / (0008,1115) item {}", i + 1, j + 1);
            let series_uid = text(series, tags::SERIES_INSTANCE_UID);
            DicomUid::parse(&series_uid).map_err(|e| format!("{at}: SeriesInstanceUID: {e}"))?;
            let ae = text(series, tags::RETRIEVE_AE_TITLE);
            let location = text(series, tags::RETRIEVE_LOCATION_UID);
            for (k, sop) in items(series, tags::REFERENCED_SOP_SEQUENCE)
                .iter()
                .enumerate()
            {
                let at = format!("{at} / (0008,1199) item {}", k + 1);
                let class = text(sop, tags::REFERENCED_SOP_CLASS_UID);
                let inst = text(sop, tags::REFERENCED_SOP_INSTANCE_UID);
                DicomUid::parse(&class).map_err(|e| format!("{at}: ReferencedSOPClassUID: {e}"))?;
                DicomUid::parse(&inst)
                    .map_err(|e| format!("{at}: ReferencedSOPInstanceUID: {e}"))?;
                references.push(Reference {
                    study_instance_uid: study_uid.clone(),
                    series_instance_uid: series_uid.clone(),
                    sop_class_uid: class,
                    sop_instance_uid: inst,
                    retrieve_ae_title: ae.clone(),
                    retrieve_location_uid: location.clone(),
                });
            }
        }
    }
    if references.is_empty() {
        return Err("the Evidence Sequence references no instance".into());
    }
    Ok(Manifest {
        sop_instance_uid: sop,
        patient_id: text(o, tags::PATIENT_ID),
        references,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nist_manifest() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../shared/fixtures/nist/xds-i/rad68-kos-single-image/kos_modified.dcm"
        );
        let Ok(bytes) = std::fs::read(path) else {
            panic!("fixture {path} missing");
        };
        let m = parse(&bytes).expect("KOS");
        assert_eq!(m.references.len(), 1, "{m:?}");
        assert!(!m.references[0].sop_instance_uid.is_empty());
        assert!(parse(b"nope").is_err());
    }
}
