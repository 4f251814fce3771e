//! DICOM audit messages (placeholder until they land).
