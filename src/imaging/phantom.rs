//! A synthetic multi-slice CT series (`hiehub bench phantom`): CT Image Storage, MONOCHROME2,
//! 16 bits allocated and stored, signed, rescale -1024/1 (stored = HU + 1024), window 40/400,
//! pixel spacing, image position and slice location per slice. The body is an ellipse of soft
//! tissue (40 HU) with two lungs (-800 HU), a spine (700 HU) and a bright disc (1000 HU) whose
//! position moves with the slice, plus a ramp along the top rows, so slices and windows can be
//! told apart by their pixels.

use std::path::Path;

use dicom_core::{DataElement, PrimitiveValue, VR};
use dicom_dictionary_std::{tags, uids};
use dicom_object::{FileMetaTableBuilder, InMemDicomObject};

#[derive(Debug, Clone)]
pub struct Phantom {
    pub slices: u32,
    pub rows: u16,
    pub columns: u16,
    pub study_uid: Option<String>,
    /// PatientID (0010,0020); `PHANTOM-1` when not given.
    pub patient_id: Option<String>,
    /// IssuerOfPatientID (0010,0021), e.g. the assigning authority OID; absent when not given.
    pub issuer: Option<String>,
}

/// The generated series: Part-10 files in slice order.
pub struct PhantomSeries {
    pub study_uid: String,
    pub series_uid: String,
    pub sop_instance_uids: Vec<String>,
    pub files: Vec<Vec<u8>>,
}

/// Slice thickness and spacing (mm).
const SLICE_MM: f64 = 2.5;

/// The Hounsfield value of the phantom at pixel (r, c) of slice `z` (0-based) of `n`.
pub fn hounsfield(r: usize, c: usize, rows: usize, cols: usize, z: u32, n: u32) -> i32 {
    let (fr, fc) = (r as f64 / rows as f64, c as f64 / cols as f64);
    if fr < 0.04 {
        // ramp from -1000 to 1000 HU along the top rows
        return (fc * 2000.0) as i32 - 1000;
    }
    let inside = |cy: f64, cx: f64, ry: f64, rx: f64| {
        let (dy, dx) = ((fr - cy) / ry, (fc - cx) / rx);
        dy * dy + dx * dx <= 1.0
    };
    if !inside(0.5, 0.5, 0.42, 0.45) {
        return -1000;
    }
    let t = if n > 1 {
        z as f64 / (n - 1) as f64
    } else {
        0.5
    };
    // the moving disc travels from left to right through the slices
    let disc_x = 0.2 + 0.6 * t;
    if inside(0.35, disc_x, 0.06, 0.06) {
        return 1000;
    }
    if inside(0.72, 0.5, 0.07, 0.07) {
        return 700;
    }
    if inside(0.45, 0.32, 0.2, 0.12) || inside(0.45, 0.68, 0.2, 0.12) {
        return -800;
    }
    40
}

impl Phantom {
    pub fn generate(&self) -> PhantomSeries {
        let study_uid = self.study_uid.clone().unwrap_or_else(super::new_uid);
        let series_uid = super::new_uid();
        let frame_of_reference = super::new_uid();
        let (rows, cols) = (self.rows as usize, self.columns as usize);
        let spacing = 350.0 / self.columns.max(1) as f64;
        let mut files = Vec::with_capacity(self.slices as usize);
        let mut sop_instance_uids = Vec::with_capacity(self.slices as usize);
        for z in 0..self.slices {
            let sop = super::new_uid();
            let mut pixels = Vec::with_capacity(rows * cols * 2);
            for r in 0..rows {
                for c in 0..cols {
                    let stored = (hounsfield(r, c, rows, cols, z, self.slices) + 1024) as i16;
                    pixels.extend_from_slice(&stored.to_le_bytes());
                }
            }
            let location = -(z as f64) * SLICE_MM;
            let s = |v: &str| PrimitiveValue::from(v);
            let obj = InMemDicomObject::from_element_iter([
                DataElement::new(tags::SPECIFIC_CHARACTER_SET, VR::CS, s("ISO_IR 100")),
                DataElement::new(tags::SOP_CLASS_UID, VR::UI, s(uids::CT_IMAGE_STORAGE)),
                DataElement::new(tags::SOP_INSTANCE_UID, VR::UI, s(&sop)),
                DataElement::new(tags::STUDY_DATE, VR::DA, s("20261123")),
                DataElement::new(tags::SERIES_DATE, VR::DA, s("20261123")),
                DataElement::new(tags::STUDY_TIME, VR::TM, s("101500")),
                DataElement::new(tags::ACCESSION_NUMBER, VR::SH, s("PHANTOM1")),
                DataElement::new(tags::MODALITY, VR::CS, s("CT")),
                DataElement::new(tags::REFERRING_PHYSICIAN_NAME, VR::PN, s("Referrer^Rita")),
                DataElement::new(tags::STUDY_DESCRIPTION, VR::LO, s("Phantom CT chest")),
                DataElement::new(tags::SERIES_DESCRIPTION, VR::LO, s("Axial 2.5 mm")),
                DataElement::new(tags::PATIENT_NAME, VR::PN, s("Phantom^Pat")),
                DataElement::new(
                    tags::PATIENT_ID,
                    VR::LO,
                    s(self.patient_id.as_deref().unwrap_or("PHANTOM-1")),
                ),
                DataElement::new(tags::PATIENT_BIRTH_DATE, VR::DA, s("19700101")),
                DataElement::new(tags::PATIENT_SEX, VR::CS, s("O")),
                DataElement::new(tags::SLICE_THICKNESS, VR::DS, s("2.5")),
                DataElement::new(tags::STUDY_INSTANCE_UID, VR::UI, s(&study_uid)),
                DataElement::new(tags::SERIES_INSTANCE_UID, VR::UI, s(&series_uid)),
                DataElement::new(tags::STUDY_ID, VR::SH, s("1")),
                DataElement::new(tags::SERIES_NUMBER, VR::IS, s("1")),
                DataElement::new(tags::INSTANCE_NUMBER, VR::IS, s(&(z + 1).to_string())),
                DataElement::new(
                    tags::IMAGE_POSITION_PATIENT,
                    VR::DS,
                    s(&format!("-175\\-175\\{location}")),
                ),
                DataElement::new(
                    tags::IMAGE_ORIENTATION_PATIENT,
                    VR::DS,
                    s("1\\0\\0\\0\\1\\0"),
                ),
                DataElement::new(tags::FRAME_OF_REFERENCE_UID, VR::UI, s(&frame_of_reference)),
                DataElement::new(tags::SLICE_LOCATION, VR::DS, s(&location.to_string())),
                DataElement::new(tags::SAMPLES_PER_PIXEL, VR::US, PrimitiveValue::from(1_u16)),
                DataElement::new(tags::PHOTOMETRIC_INTERPRETATION, VR::CS, s("MONOCHROME2")),
                DataElement::new(tags::ROWS, VR::US, PrimitiveValue::from(self.rows)),
                DataElement::new(tags::COLUMNS, VR::US, PrimitiveValue::from(self.columns)),
                DataElement::new(
                    tags::PIXEL_SPACING,
                    VR::DS,
                    s(&format!("{spacing:.4}\\{spacing:.4}")),
                ),
                DataElement::new(tags::BITS_ALLOCATED, VR::US, PrimitiveValue::from(16_u16)),
                DataElement::new(tags::BITS_STORED, VR::US, PrimitiveValue::from(16_u16)),
                DataElement::new(tags::HIGH_BIT, VR::US, PrimitiveValue::from(15_u16)),
                DataElement::new(
                    tags::PIXEL_REPRESENTATION,
                    VR::US,
                    PrimitiveValue::from(1_u16),
                ),
                DataElement::new(tags::WINDOW_CENTER, VR::DS, s("40")),
                DataElement::new(tags::WINDOW_WIDTH, VR::DS, s("400")),
                DataElement::new(tags::RESCALE_INTERCEPT, VR::DS, s("-1024")),
                DataElement::new(tags::RESCALE_SLOPE, VR::DS, s("1")),
                DataElement::new(tags::RESCALE_TYPE, VR::LO, s("HU")),
                DataElement::new(tags::PIXEL_DATA, VR::OW, PrimitiveValue::from(pixels)),
            ]);
            let mut obj = obj;
            if let Some(issuer) = &self.issuer {
                obj.put(DataElement::new(
                    tags::ISSUER_OF_PATIENT_ID,
                    VR::LO,
                    s(issuer),
                ));
            }
            let meta = FileMetaTableBuilder::new()
                .transfer_syntax(uids::EXPLICIT_VR_LITTLE_ENDIAN)
                .media_storage_sop_class_uid(uids::CT_IMAGE_STORAGE)
                .media_storage_sop_instance_uid(&sop);
            let mut bytes = Vec::with_capacity(rows * cols * 2 + 2048);
            // Building and writing an object made of valid parts cannot fail; if it ever does,
            // the file is left empty and ingest reports it as not DICOM.
            if let Ok(file) = obj.with_meta(meta)
                && let Err(e) = file.write_all(&mut bytes)
            {
                tracing::error!(error = %e, "phantom slice not written");
                bytes.clear();
            }
            files.push(bytes);
            sop_instance_uids.push(sop);
        }
        PhantomSeries {
            study_uid,
            series_uid,
            sop_instance_uids,
            files,
        }
    }
}

impl PhantomSeries {
    /// Writes `slice-0001.dcm`... into `dir` (created if needed).
    pub fn write(&self, dir: &Path) -> std::io::Result<()> {
        std::fs::create_dir_all(dir)?;
        for (i, bytes) in self.files.iter().enumerate() {
            std::fs::write(dir.join(format!("slice-{:04}.dcm", i + 1)), bytes)?;
        }
        Ok(())
    }
}
