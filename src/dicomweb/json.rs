//! DICOM JSON (PS3.18 §F.2) for QIDO-RS answers built from index rows, in the shape OHIF and
//! dicomweb-client read: `{"0020000D": {"vr": "UI", "Value": ["1.2.3"]}}`, numbers for IS/US,
//! `{"Alphabetic": ...}` for PN, no `Value` when empty.

use serde_json::{Map, Value, json};

use crate::imaging::index::InstanceRow;

pub type Object = Map<String, Value>;

/// Adds attribute `tag` with `vr` and `values` (an empty list or empty strings: no `Value`).
pub fn put(map: &mut Object, tag: &str, vr: &str, values: Vec<Value>) {
    let values: Vec<Value> = values
        .into_iter()
        .filter(|v| !(v.is_null() || v.as_str() == Some("")))
        .collect();
    let mut attr = Map::new();
    attr.insert("vr".into(), Value::from(vr));
    if !values.is_empty() {
        attr.insert("Value".into(), Value::Array(values));
    }
    map.insert(tag.to_owned(), Value::Object(attr));
}

pub fn text(map: &mut Object, tag: &str, vr: &str, v: &str) {
    put(map, tag, vr, vec![Value::from(v)]);
}

pub fn person(map: &mut Object, tag: &str, v: &str) {
    let values = if v.is_empty() {
        vec![]
    } else {
        vec![json!({ "Alphabetic": v })]
    };
    put(map, tag, "PN", values);
}

pub fn number(map: &mut Object, tag: &str, vr: &str, v: Option<i64>) {
    put(map, tag, vr, v.map(Value::from).into_iter().collect());
}

fn patient_and_study(map: &mut Object, r: &InstanceRow) {
    text(map, "00080020", "DA", &r.study_date);
    text(map, "00080030", "TM", &r.study_time);
    text(map, "00080050", "SH", &r.accession_number);
    person(map, "00080090", &r.referring_physician);
    text(map, "00081030", "LO", &r.study_description);
    person(map, "00100010", &r.patient_name);
    text(map, "00100020", "LO", &r.patient_id);
    text(map, "00100021", "LO", &r.issuer_of_patient_id);
    text(map, "00100030", "DA", &r.patient_birth_date);
    text(map, "00100040", "CS", &r.patient_sex);
    text(map, "0020000D", "UI", &r.study_instance_uid);
    text(map, "00200010", "SH", &r.study_id);
}

/// A study-level answer from all instance rows of the study (non-empty).
pub fn study(rows: &[&InstanceRow], base: &str) -> Object {
    let mut m = Map::new();
    let Some(first) = rows.first() else {
        return m;
    };
    patient_and_study(&mut m, first);
    let mut modalities: Vec<&str> = rows
        .iter()
        .map(|r| r.modality.as_str())
        .filter(|m| !m.is_empty())
        .collect();
    modalities.sort_unstable();
    modalities.dedup();
    put(
        &mut m,
        "00080061",
        "CS",
        modalities.into_iter().map(Value::from).collect(),
    );
    let mut series: Vec<&str> = rows
        .iter()
        .map(|r| r.series_instance_uid.as_str())
        .collect();
    series.sort_unstable();
    series.dedup();
    number(&mut m, "00201206", "IS", Some(series.len() as i64));
    number(&mut m, "00201208", "IS", Some(rows.len() as i64));
    text(&mut m, "00080056", "CS", "ONLINE");
    text(
        &mut m,
        "00081190",
        "UR",
        &format!("{base}/studies/{}", first.study_instance_uid),
    );
    m
}

/// A series-level answer from all instance rows of the series (non-empty).
pub fn series(rows: &[&InstanceRow], base: &str) -> Object {
    let mut m = Map::new();
    let Some(first) = rows.first() else {
        return m;
    };
    patient_and_study(&mut m, first);
    text(&mut m, "00080060", "CS", &first.modality);
    text(&mut m, "0008103E", "LO", &first.series_description);
    text(&mut m, "0020000E", "UI", &first.series_instance_uid);
    number(&mut m, "00200011", "IS", first.series_number.map(i64::from));
    number(&mut m, "00201209", "IS", Some(rows.len() as i64));
    text(&mut m, "00080056", "CS", "ONLINE");
    text(
        &mut m,
        "00081190",
        "UR",
        &format!(
            "{base}/studies/{}/series/{}",
            first.study_instance_uid, first.series_instance_uid
        ),
    );
    m
}

/// An instance-level answer.
pub fn instance(r: &InstanceRow, base: &str) -> Object {
    let mut m = Map::new();
    patient_and_study(&mut m, r);
    text(&mut m, "00080060", "CS", &r.modality);
    text(&mut m, "0020000E", "UI", &r.series_instance_uid);
    number(&mut m, "00200011", "IS", r.series_number.map(i64::from));
    text(&mut m, "00080016", "UI", &r.sop_class_uid);
    text(&mut m, "00080018", "UI", &r.sop_instance_uid);
    number(&mut m, "00200013", "IS", r.instance_number.map(i64::from));
    number(&mut m, "00280010", "US", r.image_rows.map(i64::from));
    number(&mut m, "00280011", "US", r.image_columns.map(i64::from));
    number(
        &mut m,
        "00280008",
        "IS",
        Some(i64::from(r.number_of_frames)),
    );
    text(&mut m, "00083002", "UI", &r.transfer_syntax_uid);
    text(&mut m, "00080056", "CS", "ONLINE");
    text(
        &mut m,
        "00081190",
        "UR",
        &format!(
            "{base}/studies/{}/series/{}/instances/{}",
            r.study_instance_uid, r.series_instance_uid, r.sop_instance_uid
        ),
    );
    m
}

/// Keeps only the attributes `include` names (tags in upper-case hex) plus the level's
/// required ones; `None` keeps everything.
pub fn restrict(m: Object, keep: Option<&[String]>, required: &[&str]) -> Object {
    match keep {
        None => m,
        Some(keep) => m
            .into_iter()
            .filter(|(k, _)| required.contains(&k.as_str()) || keep.iter().any(|t| t == k))
            .collect(),
    }
}
