//! Part-10 bytes → the attributes hiehub indexes (PS3.10 file, PS3.3 patient/study/series/image
//! modules). Parsing is strict where the index depends on it (the four UIDs, the transfer
//! syntax) and lenient elsewhere (a missing study date is an empty string).

use dicom_core::Tag;
use dicom_dictionary_std::tags;
use dicom_object::{DefaultDicomObject, InMemDicomObject, OpenFileOptions};
use serde::{Deserialize, Serialize};

use super::DicomUid;

#[derive(Debug, thiserror::Error)]
pub enum ParseError {
    #[error("not a DICOM Part-10 file: {0}")]
    NotDicom(String),
    #[error("missing {name} ({tag})")]
    Missing { name: &'static str, tag: String },
    #[error("bad {name} ({tag}): {reason}")]
    BadUid {
        name: &'static str,
        tag: String,
        reason: String,
    },
    #[error("transfer syntax {0} is not known to this server")]
    UnknownTransferSyntax(String),
}

impl ParseError {
    /// The DICOM failure reason (PS3.4 C.4.2.1.4 / PS3.18 Table 10.5.3-1) this maps to.
    pub fn failure_reason(&self) -> u16 {
        match self {
            ParseError::NotDicom(_) => 0xC000,    // cannot understand
            ParseError::Missing { .. } => 0xA900, // data set does not match SOP class
            ParseError::BadUid { .. } => 0xA900,  //
            ParseError::UnknownTransferSyntax(_) => 0xC122, // transfer syntax not supported
        }
    }
}

/// What rendering and the viewer need to know about the pixels, stored as JSON beside the row.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RenderInfo {
    pub bits_allocated: u16,
    pub bits_stored: u16,
    pub pixel_representation: u16,
    pub photometric_interpretation: String,
    pub samples_per_pixel: u16,
    pub rescale_slope: f64,
    pub rescale_intercept: f64,
    pub window_center: Option<f64>,
    pub window_width: Option<f64>,
    pub pixel_spacing: Option<[f64; 2]>,
    pub slice_location: Option<f64>,
    pub image_position: Option<[f64; 3]>,
    pub image_orientation: Option<[f64; 6]>,
    /// The object has a Pixel Data element.
    pub has_pixels: bool,
}

/// One parsed instance: the indexed attributes.
#[derive(Debug, Clone, PartialEq)]
pub struct Instance {
    pub sop_instance_uid: DicomUid,
    pub sop_class_uid: DicomUid,
    pub study_instance_uid: DicomUid,
    pub series_instance_uid: DicomUid,
    pub transfer_syntax_uid: String,
    pub patient_id: String,
    pub issuer_of_patient_id: String,
    pub patient_name: String,
    pub patient_birth_date: String,
    pub patient_sex: String,
    pub study_date: String,
    pub study_time: String,
    pub study_id: String,
    pub study_description: String,
    pub accession_number: String,
    pub referring_physician: String,
    pub modality: String,
    pub series_number: Option<i32>,
    pub series_description: String,
    pub instance_number: Option<i32>,
    pub number_of_frames: i32,
    pub rows: Option<i32>,
    pub columns: Option<i32>,
    pub render: RenderInfo,
}

/// Reads a Part-10 file (preamble optional) from memory.
pub fn read_object(bytes: &[u8]) -> Result<DefaultDicomObject, ParseError> {
    OpenFileOptions::new()
        .from_reader(bytes)
        .map_err(|e| ParseError::NotDicom(e.to_string()))
}

/// Reads a Part-10 file up to (not including) the pixel data: for the index and metadata.
pub fn read_header(bytes: &[u8]) -> Result<DefaultDicomObject, ParseError> {
    OpenFileOptions::new()
        .read_until(tags::PIXEL_DATA)
        .from_reader(bytes)
        .map_err(|e| ParseError::NotDicom(e.to_string()))
}

/// The trimmed string value of `tag`, or "".
pub fn text(obj: &InMemDicomObject, tag: Tag) -> String {
    obj.element_opt(tag)
        .ok()
        .flatten()
        .and_then(|e| e.to_str().ok())
        .map(|s| s.trim_matches([' ', '\0']).to_owned())
        .unwrap_or_default()
}

fn int(obj: &InMemDicomObject, tag: Tag) -> Option<i32> {
    obj.element_opt(tag)
        .ok()
        .flatten()
        .and_then(|e| e.to_int::<i32>().ok())
}

fn floats(obj: &InMemDicomObject, tag: Tag) -> Option<Vec<f64>> {
    obj.element_opt(tag)
        .ok()
        .flatten()
        .and_then(|e| e.to_multi_float64().ok())
        .filter(|v| !v.is_empty() && v.iter().all(|x| x.is_finite()))
}

fn uid(obj: &InMemDicomObject, tag: Tag, name: &'static str) -> Result<DicomUid, ParseError> {
    let value = text(obj, tag);
    if value.is_empty() {
        return Err(ParseError::Missing {
            name,
            tag: tag.to_string(),
        });
    }
    DicomUid::parse(&value).map_err(|reason| ParseError::BadUid {
        name,
        tag: tag.to_string(),
        reason,
    })
}

/// The indexed attributes of a parsed object.
pub fn instance(obj: &DefaultDicomObject) -> Result<Instance, ParseError> {
    let ts = obj.meta().transfer_syntax().trim_end_matches(['\0', ' ']);
    use dicom_encoding::TransferSyntaxIndex;
    if dicom_transfer_syntax_registry::TransferSyntaxRegistry
        .get(ts)
        .is_none()
    {
        return Err(ParseError::UnknownTransferSyntax(ts.to_owned()));
    }
    let o: &InMemDicomObject = obj;
    let sop_instance_uid = uid(o, tags::SOP_INSTANCE_UID, "SOPInstanceUID")?;
    let sop_class_uid = uid(o, tags::SOP_CLASS_UID, "SOPClassUID")?;
    let study_instance_uid = uid(o, tags::STUDY_INSTANCE_UID, "StudyInstanceUID")?;
    let series_instance_uid = uid(o, tags::SERIES_INSTANCE_UID, "SeriesInstanceUID")?;
    Ok(Instance {
        sop_instance_uid,
        sop_class_uid,
        study_instance_uid,
        series_instance_uid,
        transfer_syntax_uid: ts.to_owned(),
        patient_id: text(o, tags::PATIENT_ID),
        issuer_of_patient_id: text(o, tags::ISSUER_OF_PATIENT_ID),
        patient_name: text(o, tags::PATIENT_NAME),
        patient_birth_date: text(o, tags::PATIENT_BIRTH_DATE),
        patient_sex: text(o, tags::PATIENT_SEX),
        study_date: text(o, tags::STUDY_DATE),
        study_time: text(o, tags::STUDY_TIME),
        study_id: text(o, tags::STUDY_ID),
        study_description: text(o, tags::STUDY_DESCRIPTION),
        accession_number: text(o, tags::ACCESSION_NUMBER),
        referring_physician: text(o, tags::REFERRING_PHYSICIAN_NAME),
        modality: text(o, tags::MODALITY),
        series_number: int(o, tags::SERIES_NUMBER),
        series_description: text(o, tags::SERIES_DESCRIPTION),
        instance_number: int(o, tags::INSTANCE_NUMBER),
        number_of_frames: int(o, tags::NUMBER_OF_FRAMES).unwrap_or(1).max(1),
        rows: int(o, tags::ROWS),
        columns: int(o, tags::COLUMNS),
        render: render_info(o),
    })
}

fn render_info(o: &InMemDicomObject) -> RenderInfo {
    let u16_of = |tag, default: u16| {
        int(o, tag)
            .and_then(|v| u16::try_from(v).ok())
            .unwrap_or(default)
    };
    let bits_allocated = u16_of(tags::BITS_ALLOCATED, 0);
    let first = |tag| floats(o, tag).and_then(|v| v.first().copied());
    RenderInfo {
        bits_allocated,
        bits_stored: u16_of(tags::BITS_STORED, bits_allocated),
        pixel_representation: u16_of(tags::PIXEL_REPRESENTATION, 0),
        photometric_interpretation: text(o, tags::PHOTOMETRIC_INTERPRETATION),
        samples_per_pixel: u16_of(tags::SAMPLES_PER_PIXEL, 1),
        rescale_slope: first(tags::RESCALE_SLOPE).unwrap_or(1.0),
        rescale_intercept: first(tags::RESCALE_INTERCEPT).unwrap_or(0.0),
        window_center: first(tags::WINDOW_CENTER),
        window_width: first(tags::WINDOW_WIDTH).filter(|w| *w > 0.0),
        pixel_spacing: floats(o, tags::PIXEL_SPACING)
            .filter(|v| v.len() == 2)
            .map(|v| [v[0], v[1]]),
        slice_location: first(tags::SLICE_LOCATION),
        image_position: floats(o, tags::IMAGE_POSITION_PATIENT)
            .filter(|v| v.len() == 3)
            .map(|v| [v[0], v[1], v[2]]),
        image_orientation: floats(o, tags::IMAGE_ORIENTATION_PATIENT)
            .filter(|v| v.len() == 6)
            .map(|v| [v[0], v[1], v[2], v[3], v[4], v[5]]),
        has_pixels: o.element_opt(tags::PIXEL_DATA).ok().flatten().is_some(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn garbage_is_not_dicom() {
        let e = read_object(b"this is not DICOM").expect_err("garbage");
        assert_eq!(e.failure_reason(), 0xC000);
    }

    #[test]
    fn phantom_slice_parses() {
        let series = crate::imaging::phantom::Phantom {
            slices: 2,
            rows: 16,
            columns: 16,
            study_uid: None,
            patient_id: None,
            issuer: None,
        }
        .generate();
        let bytes = &series.files[1];
        let obj = read_object(bytes).expect("parse");
        let i = instance(&obj).expect("instance");
        assert_eq!(i.modality, "CT");
        assert_eq!(i.rows, Some(16));
        assert_eq!(i.render.bits_allocated, 16);
        assert_eq!(i.render.pixel_representation, 1);
        assert_eq!(i.render.rescale_intercept, -1024.0);
        assert_eq!(i.render.window_center, Some(40.0));
        assert_eq!(i.study_instance_uid.as_str(), series.study_uid);
        assert!(i.render.image_position.is_some());
        assert!(i.render.has_pixels);
        let header = read_header(bytes).expect("header");
        assert!(!instance(&header).expect("instance").render.has_pixels);
    }
}
