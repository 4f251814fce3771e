//! Helpers shared by the readers of the object types: slots, single-valued attributes, coded
//! values, authors, identifiers, and the formats of ITI TF-3 §4.2.3.1.

use crate::ebxml;

use super::super::author::Author;
use super::super::code::Code;
use super::super::dtm::DtmTime;
use super::super::findings::{Findings, id_key};
use super::super::hl7::{Xcn, Xon};
use super::super::object_id::RegistryObjectId;
use super::super::oid::Oid;
use super::super::patient_id::PatientId;
use super::super::slot::Slot;
use super::super::status::AvailabilityStatus;
use super::super::text::{InternationalText, LocalizedText};
use super::super::unique_id::UniqueId;
use super::super::vocabulary as v;

/// Reads the slots of an object by name; what is not read becomes extra metadata.
pub(super) struct Slots<'a> {
    slots: &'a [ebxml::Slot],
    used: Vec<bool>,
}

impl<'a> Slots<'a> {
    pub(super) fn new(slots: &'a [ebxml::Slot]) -> Slots<'a> {
        Slots {
            slots,
            used: vec![false; slots.len()],
        }
    }

    /// All values of all slots named `name` (a repeated slot is read as one).
    pub(super) fn values(&mut self, name: &str) -> Option<Vec<&'a str>> {
        let mut out: Option<Vec<&'a str>> = None;
        for (i, s) in self.slots.iter().enumerate() {
            if s.name == name {
                self.used[i] = true;
                out.get_or_insert_with(Vec::new)
                    .extend(s.values.iter().map(String::as_str));
            }
        }
        out
    }

    pub(super) fn extra(self) -> Vec<Slot> {
        self.slots
            .iter()
            .zip(self.used)
            .filter(|(_, used)| !used)
            .map(|(s, _)| Slot {
                name: s.name.clone(),
                values: s.values.clone(),
            })
            .collect()
    }
}

/// The one value of a single-valued attribute; reports several.
pub(super) fn single<'a>(
    f: &mut Findings,
    values: Option<&[&'a str]>,
    rule: &'static str,
    context: &str,
    attribute: &str,
) -> Option<&'a str> {
    let values = values?;
    if values.len() > 1 {
        f.metadata(
            rule,
            context,
            format!(
                "{attribute} has {} values, at most one is allowed",
                values.len()
            ),
        );
    }
    values.first().map(|s| s.trim())
}

pub(super) fn required_missing(
    f: &mut Findings,
    rule: &'static str,
    context: &str,
    attribute: &str,
) {
    f.metadata(
        rule,
        context,
        format!("the required attribute {attribute} is missing"),
    );
}

pub(super) fn text(s: &ebxml::InternationalString) -> InternationalText {
    InternationalText(
        s.localized
            .iter()
            .map(|l| LocalizedText {
                value: l.value.clone(),
                lang: l.lang.clone(),
                charset: l.charset.clone(),
            })
            .collect(),
    )
}

pub(super) fn context_of(kind: &str, id: &str, unique_id: Option<&str>) -> String {
    match unique_id {
        Some(u) => format!("{kind} '{id}' (uniqueId {u})"),
        None => format!("{kind} '{id}'"),
    }
}

/// The entry id; reports a malformed `urn:uuid:`.
pub(super) fn entry_id(
    f: &mut Findings,
    raw: &str,
    rule: &'static str,
    context: &str,
) -> Option<RegistryObjectId> {
    match RegistryObjectId::parse(raw) {
        Ok(id) => Some(id),
        Err(e) => {
            f.metadata(rule, context, format!("entryUUID: {e}"));
            None
        }
    }
}

pub(super) fn status(
    f: &mut Findings,
    raw: Option<&str>,
    rule: &'static str,
    context: &str,
) -> Option<AvailabilityStatus> {
    let raw = raw?;
    let s = AvailabilityStatus::parse(raw);
    if s.is_none() {
        f.metadata(
            rule,
            context,
            format!("status '{raw}' is none of Submitted, Approved, Deprecated (urn:oasis:names:tc:ebxml-regrep:StatusType:…)"),
        );
    }
    s
}

pub(super) fn dtm(
    f: &mut Findings,
    raw: Option<&str>,
    rule: &'static str,
    context: &str,
    attribute: &str,
) -> Option<DtmTime> {
    let raw = raw?;
    match DtmTime::parse(raw) {
        Ok(t) => Some(t),
        Err(e) => {
            f.metadata(rule, context, format!("{attribute}: {e}"));
            None
        }
    }
}

/// A coded value from its Classification.
pub(super) fn read_code(
    f: &mut Findings,
    c: &ebxml::Classification,
    context: &str,
    attribute: &str,
) -> Option<Code> {
    let code = c
        .node_representation
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty());
    let Some(code) = code else {
        f.metadata(
            "Code.code.required",
            context,
            format!(
                "{attribute} (Classification '{}') has no code: nodeRepresentation is missing or empty",
                c.object.id
            ),
        );
        return None;
    };
    let schemes = c.object.slot_values(v::SLOT_CODING_SCHEME).unwrap_or(&[]);
    let scheme = match schemes {
        [] => {
            f.metadata(
                "Code.codingScheme.required",
                context,
                format!("{attribute} '{code}' has no codingScheme slot value"),
            );
            return None;
        }
        [one] => one.trim(),
        [first, ..] => {
            f.metadata(
                "Code.codingScheme.required",
                context,
                format!(
                    "{attribute} '{code}' has {} codingScheme values, exactly one is required",
                    schemes.len()
                ),
            );
            first.trim()
        }
    };
    let display = c
        .object
        .name
        .as_ref()
        .and_then(|n| n.first_value())
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string);
    if display.is_none() {
        f.metadata(
            "Code.displayName.required",
            context,
            format!("{attribute} '{code}' has no display name (Name)"),
        );
    }
    Some(Code {
        code: code.to_string(),
        scheme: scheme.to_string(),
        display,
    })
}

/// All codes of one coded attribute, with its cardinality rules.
pub(super) fn read_codes(
    f: &mut Findings,
    classifications: &[&ebxml::Classification],
    scheme: &str,
    context: &str,
    attribute: &str,
    required_rule: Option<&'static str>,
    single_rule: Option<&'static str>,
) -> Vec<Code> {
    let of_scheme: Vec<&ebxml::Classification> = classifications
        .iter()
        .copied()
        .filter(|c| c.classification_scheme.as_deref().map(str::trim) == Some(scheme))
        .collect();
    if of_scheme.is_empty()
        && let Some(rule) = required_rule
    {
        required_missing(f, rule, context, attribute);
    }
    if of_scheme.len() > 1
        && let Some(rule) = single_rule
    {
        f.metadata(
            rule,
            context,
            format!(
                "{attribute} is given {} times, at most once is allowed",
                of_scheme.len()
            ),
        );
    }
    of_scheme
        .into_iter()
        .filter_map(|c| read_code(f, c, context, attribute))
        .collect()
}

pub(super) fn read_author(f: &mut Findings, c: &ebxml::Classification, context: &str) -> Author {
    let mut slots = Slots::new(&c.object.slots);
    let person = single(
        f,
        slots.values(v::SLOT_AUTHOR_PERSON).as_deref(),
        "Author.authorPerson.singleValued",
        context,
        "authorPerson",
    )
    .and_then(Xcn::parse);
    let many = |slots: &mut Slots<'_>, name: &str| -> Vec<String> {
        slots
            .values(name)
            .unwrap_or_default()
            .into_iter()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect()
    };
    let institutions = many(&mut slots, v::SLOT_AUTHOR_INSTITUTION)
        .iter()
        .filter_map(|s| Xon::parse(s))
        .collect();
    let roles = many(&mut slots, v::SLOT_AUTHOR_ROLE);
    let specialties = many(&mut slots, v::SLOT_AUTHOR_SPECIALTY);
    let telecom = many(&mut slots, v::SLOT_AUTHOR_TELECOMMUNICATION);
    let author = Author {
        person,
        institutions,
        roles,
        specialties,
        telecom,
        extra_slots: slots.extra(),
    };
    if author.is_empty() {
        f.metadata(
            "Author.content.required",
            context,
            format!(
                "author (Classification '{}') has none of authorPerson, authorInstitution, authorRole, authorSpecialty, authorTelecommunication",
                c.object.id
            ),
        );
    }
    author
}

/// Checks that nested Classifications and ExternalIdentifiers point to their parent.
pub(super) fn check_nested_targets(
    f: &mut Findings,
    object: &ebxml::RegistryObject,
    context: &str,
) {
    let own = id_key(&object.id);
    for c in &object.classifications {
        if id_key(&c.classified_object) != own {
            f.metadata(
                "Classification.classifiedObject.matchesParent",
                context,
                format!(
                    "the nested Classification '{}' classifies '{}', not its parent",
                    c.object.id, c.classified_object
                ),
            );
        }
    }
    for e in &object.external_identifiers {
        if id_key(&e.registry_object) != own {
            f.metadata(
                "ExternalIdentifier.registryObject.matchesParent",
                context,
                format!(
                    "the nested ExternalIdentifier '{}' identifies '{}', not its parent",
                    e.object.id, e.registry_object
                ),
            );
        }
    }
}

/// The values of the ExternalIdentifiers of one scheme; reports several.
pub(super) fn identifier<'a>(
    f: &mut Findings,
    ids: &[&'a ebxml::ExternalIdentifier],
    scheme: &str,
    single_rule: &'static str,
    context: &str,
    attribute: &str,
) -> Option<&'a str> {
    let values: Vec<&'a str> = ids
        .iter()
        .filter(|e| e.identification_scheme.trim() == scheme)
        .map(|e| e.value.trim())
        .collect();
    if values.is_empty() {
        return None;
    }
    single(f, Some(&values), single_rule, context, attribute)
}

pub(super) fn report_unknown_identifiers(
    f: &mut Findings,
    ids: &[&ebxml::ExternalIdentifier],
    known: &[&str],
    context: &str,
) {
    for e in ids {
        if !known.contains(&e.identification_scheme.trim()) {
            f.not_saved(
                "ExternalIdentifier.scheme.known",
                context,
                format!(
                    "ExternalIdentifier '{}' has the identificationScheme '{}', which is not an XDS attribute of this object; it is not saved",
                    e.object.id, e.identification_scheme
                ),
            );
        }
    }
}

pub(super) fn report_unknown_classifications(
    f: &mut Findings,
    classifications: &[&ebxml::Classification],
    known_schemes: &[&str],
    known_nodes: &[&str],
    context: &str,
) {
    for c in classifications {
        let scheme = c.classification_scheme.as_deref().map(str::trim);
        let node = c.classification_node.as_deref().map(str::trim);
        let known = scheme.is_some_and(|s| known_schemes.contains(&s))
            || (scheme.is_none() && node.is_some_and(|n| known_nodes.contains(&n)));
        if !known {
            f.not_saved(
                "Classification.scheme.known",
                context,
                format!(
                    "Classification '{}' (scheme {}, node {}) is not an XDS attribute of this object; it is not saved",
                    c.object.id,
                    scheme.unwrap_or("none"),
                    node.unwrap_or("none")
                ),
            );
        }
    }
}

pub(super) fn has_node(classifications: &[&ebxml::Classification], node: &str) -> bool {
    classifications.iter().any(|c| {
        c.classification_scheme.is_none()
            && c.classification_node.as_deref().map(str::trim) == Some(node)
    })
}

pub(super) fn parse_patient_id(
    f: &mut Findings,
    raw: Option<&str>,
    rule: &'static str,
    context: &str,
) -> Option<PatientId> {
    let raw = raw?;
    match PatientId::parse(raw) {
        Ok(p) => Some(p),
        Err(e) => {
            f.metadata(rule, context, format!("patientId: {e}"));
            None
        }
    }
}

pub(super) fn parse_oid(
    f: &mut Findings,
    raw: Option<&str>,
    rule: &'static str,
    context: &str,
    attribute: &str,
) -> Option<Oid> {
    let raw = raw?;
    match UniqueId::parse_oid_only(raw) {
        Ok(o) => Some(o),
        Err(e) => {
            f.metadata(rule, context, format!("{attribute}: {e}"));
            None
        }
    }
}
