//! XML (DICOM PS3.15 A.5 or RFC 3881) into [`AuditMessage`].
//!
//! Elements are matched by local name, whatever their namespace: the DICOM schema has no
//! target namespace, yet some senders put the message in a default namespace. Unknown elements
//! and attributes (e.g. the `UserIDTypeCode` of newer DICOM editions) are skipped.

use std::fmt;

use chrono::{DateTime, NaiveDateTime, Utc};

use super::model::*;
use crate::xml::{self, Element, Position, XmlError};

/// Why a message could not be read. Every variant past [`DecodeError::Xml`] names the element
/// path (`AuditMessage/ParticipantObjectIdentification[2]`) and where that element starts.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("the audit message is not well-formed XML: {0}")]
    Xml(#[from] XmlError),
    #[error("the root element is <{found}> (at {at}), expected <AuditMessage>")]
    NotAnAuditMessage { found: String, at: Position },
    #[error("{path}: missing {what} (element at {at})")]
    Missing {
        path: String,
        what: &'static str,
        at: Position,
    },
    #[error("{path}: {what} {value:?} is not {expected} (element at {at})")]
    Invalid {
        path: String,
        what: &'static str,
        value: String,
        expected: &'static str,
        at: Position,
    },
    #[error("{path}: more than one {what} (the second at {at})")]
    Duplicate {
        path: String,
        what: &'static str,
        at: Position,
    },
}

impl DecodeError {
    /// Where in the input the error was found.
    pub fn position(&self) -> Option<Position> {
        match self {
            DecodeError::Xml(e) => match e {
                XmlError::Doctype { at }
                | XmlError::UndeclaredEntity { at, .. }
                | XmlError::TooDeep { at, .. }
                | XmlError::TooManyElements { at, .. }
                | XmlError::TooManyAttributes { at, .. }
                | XmlError::UnboundPrefix { at, .. }
                | XmlError::Syntax { at, .. }
                | XmlError::TrailingContent { at } => Some(*at),
                XmlError::TooLarge { .. } | XmlError::NotUtf8 { .. } | XmlError::NoRoot => None,
            },
            DecodeError::NotAnAuditMessage { at, .. }
            | DecodeError::Missing { at, .. }
            | DecodeError::Invalid { at, .. }
            | DecodeError::Duplicate { at, .. } => Some(*at),
        }
    }
}

/// Reads a DICOM or RFC 3881 audit message (an optional UTF-8 BOM is skipped).
pub fn decode(input: &[u8]) -> Result<AuditMessage, DecodeError> {
    let root = xml::parse(input, &xml::Limits::default())?;
    decode_element(&root)
}

/// Reads an audit message from an already parsed tree.
pub fn decode_element(root: &Element) -> Result<AuditMessage, DecodeError> {
    if root.local != "AuditMessage" {
        return Err(DecodeError::NotAnAuditMessage {
            found: root.local.clone(),
            at: root.position,
        });
    }
    let path = Path::root("AuditMessage");
    let mut event: Option<(EventIdentification, Format)> = None;
    let mut active_participants = Vec::new();
    let mut sources = Vec::new();
    let mut participant_objects = Vec::new();
    for el in root.elements() {
        match el.local.as_str() {
            "EventIdentification" => {
                if event.is_some() {
                    return Err(DecodeError::Duplicate {
                        path: path.to_string(),
                        what: "EventIdentification",
                        at: el.position,
                    });
                }
                event = Some(event_identification(el, &path.child(&el.local, None))?);
            }
            "ActiveParticipant" => {
                let p = path.child(&el.local, Some(active_participants.len() + 1));
                active_participants.push(active_participant(el, &p)?);
            }
            "AuditSourceIdentification" => {
                let p = path.child(&el.local, Some(sources.len() + 1));
                sources.push(audit_source(el, &p)?);
            }
            "ParticipantObjectIdentification" => {
                let p = path.child(&el.local, Some(participant_objects.len() + 1));
                participant_objects.push(participant_object(el, &p)?);
            }
            _ => {}
        }
    }
    let Some((event, format)) = event else {
        return Err(missing(&path, "EventIdentification", root));
    };
    let mut sources = sources.into_iter();
    let Some(audit_source) = sources.next() else {
        return Err(missing(&path, "AuditSourceIdentification", root));
    };
    Ok(AuditMessage {
        format,
        event,
        active_participants,
        audit_source,
        additional_audit_sources: sources.collect(),
        participant_objects,
    })
}

/// An element path, rendered only when an error needs it.
struct Path<'a> {
    parent: Option<&'a Path<'a>>,
    name: &'a str,
    index: Option<usize>,
}

impl<'a> Path<'a> {
    fn root(name: &'a str) -> Path<'a> {
        Path {
            parent: None,
            name,
            index: None,
        }
    }

    fn child(&'a self, name: &'a str, index: Option<usize>) -> Path<'a> {
        Path {
            parent: Some(self),
            name,
            index,
        }
    }
}

impl fmt::Display for Path<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(p) = self.parent {
            write!(f, "{p}/")?;
        }
        f.write_str(self.name)?;
        if let Some(i) = self.index {
            write!(f, "[{i}]")?;
        }
        Ok(())
    }
}

fn missing(path: &Path<'_>, what: &'static str, el: &Element) -> DecodeError {
    DecodeError::Missing {
        path: path.to_string(),
        what,
        at: el.position,
    }
}

fn invalid(
    path: &Path<'_>,
    what: &'static str,
    value: &str,
    expected: &'static str,
    el: &Element,
) -> DecodeError {
    const SHOWN: usize = 64;
    let value = match value.char_indices().nth(SHOWN) {
        Some((cut, _)) => format!("{}…", &value[..cut]),
        None => value.to_owned(),
    };
    DecodeError::Invalid {
        path: path.to_string(),
        what,
        value,
        expected,
        at: el.position,
    }
}

/// A field given as an attribute (the schema's form) or, from some legacy senders, as a child
/// element of the same name.
fn field<'e>(el: &'e Element, name: &str) -> Option<std::borrow::Cow<'e, str>> {
    if let Some(v) = el.attr(name) {
        return Some(v.into());
    }
    el.elements()
        .find(|c| c.local == name)
        .map(|c| c.text().into())
}

fn opt_string(el: &Element, name: &str) -> Option<String> {
    field(el, name).map(|v| v.into_owned())
}

/// An optional enumerated small number in `range`; empty counts as absent.
fn opt_number(
    el: &Element,
    name: &'static str,
    range: std::ops::RangeInclusive<u8>,
    expected: &'static str,
    path: &Path<'_>,
) -> Result<Option<u8>, DecodeError> {
    let Some(raw) = field(el, name) else {
        return Ok(None);
    };
    let v = raw.trim();
    if v.is_empty() {
        return Ok(None);
    }
    match v.parse::<u8>() {
        Ok(n) if range.contains(&n) => Ok(Some(n)),
        _ => Err(invalid(path, name, &raw, expected, el)),
    }
}

fn boolean(v: &str) -> Option<bool> {
    let v = v.trim();
    if v == "1" || v.eq_ignore_ascii_case("true") {
        Some(true)
    } else if v == "0" || v.eq_ignore_ascii_case("false") {
        Some(false)
    } else {
        None
    }
}

fn base64(
    text: &str,
    what: &'static str,
    el: &Element,
    path: &Path<'_>,
) -> Result<Vec<u8>, DecodeError> {
    use base64::Engine;
    let compact: String = text.split_ascii_whitespace().collect();
    base64::engine::general_purpose::STANDARD
        .decode(compact.as_bytes())
        .map_err(|_| invalid(path, what, text, "base64 (xs:base64Binary)", el))
}

/// A coded value: DICOM `csd-code` or RFC 3881 `code`; the code system as `codeSystemName`
/// or, RFC 3881 only, `codeSystem`. Returns whether it was in the RFC 3881 form.
fn coded(el: &Element, path: &Path<'_>) -> Result<(CodedValue, Format), DecodeError> {
    let (code, format) = match (el.attr("csd-code"), el.attr("code")) {
        (Some(c), _) => (c, Format::Dicom),
        (None, Some(c)) => (c, Format::Rfc3881),
        (None, None) => return Err(missing(path, "csd-code (RFC 3881: code)", el)),
    };
    Ok((
        CodedValue {
            code: code.to_owned(),
            code_system_name: el
                .attr("codeSystemName")
                .or_else(|| el.attr("codeSystem"))
                .map(str::to_owned),
            display_name: el.attr("displayName").map(str::to_owned),
            original_text: el.attr("originalText").map(str::to_owned),
        },
        format,
    ))
}

fn coded_child(
    el: &Element,
    name: &'static str,
    path: &Path<'_>,
) -> Result<Option<(CodedValue, Format)>, DecodeError> {
    match el.elements().find(|c| c.local == name) {
        Some(c) => coded(c, &path.child(name, None)).map(Some),
        None => Ok(None),
    }
}

fn coded_children(
    el: &Element,
    name: &'static str,
    path: &Path<'_>,
) -> Result<Vec<CodedValue>, DecodeError> {
    el.elements()
        .filter(|c| c.local == name)
        .enumerate()
        .map(|(i, c)| coded(c, &path.child(name, Some(i + 1))).map(|(v, _)| v))
        .collect()
}

/// EventDateTime as xs:dateTime / RFC 3339; without a zone it is UTC (RFC 3881 5.1.2).
pub(super) fn parse_date_time(s: &str) -> Option<DateTime<Utc>> {
    let s = s.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f")
        .ok()
        .map(|n| n.and_utc())
}

fn event_identification(
    el: &Element,
    path: &Path<'_>,
) -> Result<(EventIdentification, Format), DecodeError> {
    let Some((event_id, format)) = coded_child(el, "EventID", path)? else {
        return Err(missing(path, "EventID", el));
    };
    let action = match field(el, "EventActionCode") {
        None => None,
        Some(raw) => match raw.trim() {
            "" => None,
            "C" | "c" => Some(EventAction::Create),
            "R" | "r" => Some(EventAction::Read),
            "U" | "u" => Some(EventAction::Update),
            "D" | "d" => Some(EventAction::Delete),
            "E" | "e" => Some(EventAction::Execute),
            _ => {
                return Err(invalid(
                    path,
                    "EventActionCode",
                    &raw,
                    "one of C, R, U, D, E",
                    el,
                ));
            }
        },
    };
    let Some(date_time) = opt_string(el, "EventDateTime") else {
        return Err(missing(path, "EventDateTime", el));
    };
    let time = parse_date_time(&date_time);
    let Some(raw) = field(el, "EventOutcomeIndicator") else {
        return Err(missing(path, "EventOutcomeIndicator", el));
    };
    let outcome = match raw.trim() {
        "0" => Outcome::Success,
        "4" => Outcome::MinorFailure,
        "8" => Outcome::SeriousFailure,
        "12" => Outcome::MajorFailure,
        _ => {
            return Err(invalid(
                path,
                "EventOutcomeIndicator",
                &raw,
                "one of 0, 4, 8, 12",
                el,
            ));
        }
    };
    let outcome_description = el
        .elements()
        .find(|c| c.local == "EventOutcomeDescription")
        .map(Element::text);
    Ok((
        EventIdentification {
            event_id,
            action,
            date_time,
            time,
            outcome,
            outcome_description,
            event_type_codes: coded_children(el, "EventTypeCode", path)?,
            purpose_of_use: coded_children(el, "PurposeOfUse", path)?,
        },
        format,
    ))
}

fn active_participant(el: &Element, path: &Path<'_>) -> Result<ActiveParticipant, DecodeError> {
    let Some(user_id) = opt_string(el, "UserID") else {
        return Err(missing(path, "UserID", el));
    };
    // Required by DICOM; RFC 3881 makes it optional with default true.
    let user_is_requestor = match field(el, "UserIsRequestor") {
        None => true,
        Some(raw) if raw.trim().is_empty() => true,
        Some(raw) => boolean(&raw).ok_or_else(|| {
            invalid(
                path,
                "UserIsRequestor",
                &raw,
                "a boolean (true, false, 1, 0)",
                el,
            )
        })?,
    };
    let media_type = match el.elements().find(|c| c.local == "MediaIdentifier") {
        Some(m) => {
            let mpath = path.child("MediaIdentifier", None);
            match coded_child(m, "MediaType", &mpath)? {
                Some((v, _)) => Some(v),
                None => return Err(missing(&mpath, "MediaType", m)),
            }
        }
        None => None,
    };
    Ok(ActiveParticipant {
        user_id,
        alternative_user_id: opt_string(el, "AlternativeUserID"),
        user_name: opt_string(el, "UserName"),
        user_is_requestor,
        role_id_codes: coded_children(el, "RoleIDCode", path)?,
        network_access_point_id: opt_string(el, "NetworkAccessPointID"),
        network_access_point_type_code: opt_number(
            el,
            "NetworkAccessPointTypeCode",
            1..=5,
            "one of 1 (machine name), 2 (IP address), 3 (telephone), 4 (e-mail), 5 (URI)",
            path,
        )?,
        media_type,
    })
}

fn audit_source(el: &Element, path: &Path<'_>) -> Result<AuditSourceIdentification, DecodeError> {
    let Some(audit_source_id) = opt_string(el, "AuditSourceID") else {
        return Err(missing(path, "AuditSourceID", el));
    };
    Ok(AuditSourceIdentification {
        enterprise_site_id: opt_string(el, "AuditEnterpriseSiteID"),
        audit_source_id,
        type_codes: coded_children(el, "AuditSourceTypeCode", path)?,
    })
}

fn participant_object(el: &Element, path: &Path<'_>) -> Result<ParticipantObject, DecodeError> {
    let Some((id_type_code, _)) = coded_child(el, "ParticipantObjectIDTypeCode", path)? else {
        return Err(missing(path, "ParticipantObjectIDTypeCode", el));
    };
    let query = match el.elements().find(|c| c.local == "ParticipantObjectQuery") {
        Some(q) => Some(base64(
            &q.text(),
            "ParticipantObjectQuery",
            q,
            &path.child("ParticipantObjectQuery", None),
        )?),
        None => None,
    };
    let mut details = Vec::new();
    for (i, d) in el
        .elements()
        .filter(|c| c.local == "ParticipantObjectDetail")
        .enumerate()
    {
        let dpath = path.child("ParticipantObjectDetail", Some(i + 1));
        let Some(kind) = d.attr("type") else {
            return Err(missing(&dpath, "type", d));
        };
        let Some(value) = d.attr("value") else {
            return Err(missing(&dpath, "value", d));
        };
        details.push(ObjectDetail {
            kind: kind.to_owned(),
            value: base64(value, "value", d, &dpath)?,
        });
    }
    let mut descriptions = Vec::new();
    for (i, d) in el
        .elements()
        .filter(|c| c.local == "ParticipantObjectDescription")
        .enumerate()
    {
        let dpath = path.child("ParticipantObjectDescription", Some(i + 1));
        descriptions.push(object_description(d, &dpath)?);
    }
    // Older DICOM editions put these directly in ParticipantObjectIdentification.
    const DESCRIPTION_PARTS: [&str; 6] = [
        "MPPS",
        "Accession",
        "SOPClass",
        "ParticipantObjectContainsStudy",
        "Encrypted",
        "Anonymized",
    ];
    if el
        .elements()
        .any(|c| DESCRIPTION_PARTS.contains(&c.local.as_str()))
    {
        descriptions.push(object_description(el, path)?);
    }
    Ok(ParticipantObject {
        id_type_code,
        type_code: opt_number(
            el,
            "ParticipantObjectTypeCode",
            1..=4,
            "one of 1 (person), 2 (system object), 3 (organization), 4 (other)",
            path,
        )?,
        type_code_role: opt_number(
            el,
            "ParticipantObjectTypeCodeRole",
            1..=26,
            "a role code from 1 to 26",
            path,
        )?,
        data_life_cycle: opt_number(
            el,
            "ParticipantObjectDataLifeCycle",
            1..=15,
            "a data life cycle code from 1 to 15",
            path,
        )?,
        id: opt_string(el, "ParticipantObjectID").unwrap_or_default(),
        sensitivity: opt_string(el, "ParticipantObjectSensitivity"),
        name: el
            .elements()
            .find(|c| c.local == "ParticipantObjectName")
            .map(Element::text),
        query,
        details,
        descriptions,
    })
}

fn uid_children(
    el: &Element,
    name: &'static str,
    attr: &'static str,
    path: &Path<'_>,
) -> Result<Vec<String>, DecodeError> {
    el.elements()
        .filter(|c| c.local == name)
        .enumerate()
        .map(|(i, c)| match c.attr(attr) {
            Some(v) => Ok(v.to_owned()),
            None => Err(missing(&path.child(name, Some(i + 1)), attr, c)),
        })
        .collect()
}

fn opt_bool_child(
    el: &Element,
    name: &'static str,
    path: &Path<'_>,
) -> Result<Option<bool>, DecodeError> {
    match el.elements().find(|c| c.local == name) {
        None => Ok(None),
        Some(c) => {
            let text = c.text();
            boolean(&text).map(Some).ok_or_else(|| {
                invalid(
                    &path.child(name, None),
                    name,
                    &text,
                    "a boolean (true, false, 1, 0)",
                    c,
                )
            })
        }
    }
}

fn object_description(el: &Element, path: &Path<'_>) -> Result<ObjectDescription, DecodeError> {
    let mut sop_classes = Vec::new();
    for (i, s) in el.elements().filter(|c| c.local == "SOPClass").enumerate() {
        let spath = path.child("SOPClass", Some(i + 1));
        let Some(raw) = s.attr("NumberOfInstances") else {
            return Err(missing(&spath, "NumberOfInstances", s));
        };
        let number_of_instances = raw.trim().parse::<u64>().map_err(|_| {
            invalid(
                &spath,
                "NumberOfInstances",
                raw,
                "a non-negative integer",
                s,
            )
        })?;
        sop_classes.push(SopClass {
            uid: s.attr("UID").map(str::to_owned),
            number_of_instances,
            instances: uid_children(s, "Instance", "UID", &spath)?,
        });
    }
    let contains_studies = match el
        .elements()
        .find(|c| c.local == "ParticipantObjectContainsStudy")
    {
        Some(c) => Some(uid_children(
            c,
            "StudyIDs",
            "UID",
            &path.child("ParticipantObjectContainsStudy", None),
        )?),
        None => None,
    };
    Ok(ObjectDescription {
        mpps_uids: uid_children(el, "MPPS", "UID", path)?,
        accession_numbers: uid_children(el, "Accession", "Number", path)?,
        sop_classes,
        contains_studies,
        encrypted: opt_bool_child(el, "Encrypted", path)?,
        anonymized: opt_bool_child(el, "Anonymized", path)?,
    })
}
