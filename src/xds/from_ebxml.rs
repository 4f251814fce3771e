//! ebXML → XDS: reading the metadata objects of a submission out of the ebRIM mirror types
//! (ITI TF-3 §4.2: ebRIM representation of the metadata), collecting every problem.
//!
//! Per object this checks what Table 4.3.1-3 requires of the sender, the formats of §4.2.3.1, and
//! single-valuedness; [`super::structure`] then checks the submission as a whole. Classifications
//! and ExternalIdentifiers may come nested in their object or at the top level of the
//! `RegistryObjectList`; both are read. Slots that are not XDS attributes are kept as
//! `extra_slots`; classifications and identifiers of unknown schemes are reported as not saved.

use std::collections::HashMap;

use crate::ebxml;

use super::association::{Association, AssociationType, SubmissionSetStatus};
use super::author::Author;
use super::code::Code;
use super::document_entry::{DocumentEntry, DocumentEntryType};
use super::dtm::DtmTime;
use super::findings::{AssociationFacts, DocumentFacts, Findings, ObjectFacts, ObjectKind, id_key};
use super::folder::Folder;
use super::hl7::{Xcn, Xon};
use super::object_id::RegistryObjectId;
use super::oid::Oid;
use super::patient_id::PatientId;
use super::problem::Problem;
use super::sha1_hex::Sha1Hex;
use super::slot::Slot;
use super::status::AvailabilityStatus;
use super::structure;
use super::submission::{DocumentContent, Submission, SubmissionKind};
use super::submission_set::SubmissionSet;
use super::text::{InternationalText, LocalizedText};
use super::unique_id::UniqueId;
use super::vocabulary as v;

/// ITI-42 Register Document Set-b: the submission in `request`, and every problem found.
/// `None` when no valid SubmissionSet could be read (the problems say why).
pub fn submission_from_register(
    request: &ebxml::SubmitObjectsRequest,
) -> (Option<Submission>, Vec<Problem>) {
    read_submission(&request.objects, None, SubmissionKind::Register)
}

/// ITI-41 Provide and Register Document Set-b (and RAD-68): the submission with its documents.
pub fn submission_from_provide_and_register(
    request: &ebxml::ProvideAndRegisterDocumentSetRequest,
) -> (Option<Submission>, Vec<Problem>) {
    read_submission(
        &request.submit.objects,
        Some(&request.documents),
        SubmissionKind::ProvideAndRegister,
    )
}

/// The problem to answer when the message itself could not be decoded (schema-invalid ebXML):
/// rule `Message.schema.valid`, the transaction's metadata error code.
pub fn decode_failure(error: &ebxml::DecodeError, kind: SubmissionKind) -> Problem {
    let mut f = Findings::new(kind);
    f.metadata(
        "Message.schema.valid",
        error.path(),
        format!("the message does not follow the ebRIM/ebRS 3.0 schema: {error}"),
    );
    f.problems.remove(0)
}

/// The Classifications and ExternalIdentifiers of one object: nested ones and top-level ones
/// that point to it.
#[derive(Default)]
struct Attached<'a> {
    classifications: Vec<&'a ebxml::Classification>,
    external_identifiers: Vec<&'a ebxml::ExternalIdentifier>,
}

fn read_submission(
    list: &ebxml::RegistryObjectList,
    documents: Option<&[ebxml::Document]>,
    kind: SubmissionKind,
) -> (Option<Submission>, Vec<Problem>) {
    let mut f = Findings::new(kind);

    // Which ids the objects that can carry classifications have.
    let mut owners: HashMap<String, Attached<'_>> = HashMap::new();
    for o in &list.objects {
        let object = match o {
            ebxml::Identifiable::ExtrinsicObject(e) => &e.object,
            ebxml::Identifiable::RegistryPackage(p) => &p.object,
            ebxml::Identifiable::Association(a) => &a.object,
            _ => continue,
        };
        let attached = owners.entry(id_key(&object.id)).or_default();
        attached
            .classifications
            .extend(object.classifications.iter());
        attached
            .external_identifiers
            .extend(object.external_identifiers.iter());
    }
    for c in list.classifications() {
        match owners.get_mut(&id_key(&c.classified_object)) {
            Some(a) => a.classifications.push(c),
            None => f.metadata(
                "Classification.classifiedObject.resolves",
                &format!("Classification '{}'", c.object.id),
                format!(
                    "classifiedObject '{}' is not an object of this submission",
                    c.classified_object
                ),
            ),
        }
    }
    for e in list.external_identifiers() {
        match owners.get_mut(&id_key(&e.registry_object)) {
            Some(a) => a.external_identifiers.push(e),
            None => f.metadata(
                "ExternalIdentifier.registryObject.resolves",
                &format!("ExternalIdentifier '{}'", e.object.id),
                format!(
                    "registryObject '{}' is not an object of this submission",
                    e.registry_object
                ),
            ),
        }
    }
    let empty = Attached::default();
    let attached = |id: &str| owners.get(&id_key(id)).unwrap_or(&empty);

    let mut facts: Vec<ObjectFacts> = Vec::new();
    let mut entries = Vec::new();
    for eo in list.extrinsic_objects() {
        let (entry, fact) = read_document_entry(&mut f, eo, attached(&eo.object.id));
        facts.push(fact);
        entries.extend(entry);
    }
    let mut sets = Vec::new();
    let mut folders = Vec::new();
    for p in list.registry_packages() {
        let at = attached(&p.object.id);
        match package_kind(&mut f, p, at) {
            ObjectKind::SubmissionSet => {
                let (set, fact) = read_submission_set(&mut f, p, at);
                facts.push(fact);
                sets.extend(set);
            }
            ObjectKind::Folder => {
                let (folder, fact) = read_folder(&mut f, p, at);
                facts.push(fact);
                folders.extend(folder);
            }
            other => facts.push(ObjectFacts {
                key: id_key(&p.object.id),
                kind: other,
                context: format!("RegistryPackage '{}'", p.object.id),
                patient_id: None,
                unique_id: None,
                hash: None,
                size: None,
                on_demand: false,
            }),
        }
    }
    let mut association_facts = Vec::new();
    let mut associations = Vec::new();
    for a in list.associations() {
        let (association, fact) = read_association(&mut f, a, attached(&a.object.id));
        association_facts.push(fact);
        associations.extend(association);
    }
    let object_refs = list
        .object_refs()
        .filter_map(|r| RegistryObjectId::parse(&r.id).ok())
        .collect();

    let mut contents = Vec::new();
    let document_facts: Option<Vec<DocumentFacts>> = documents.map(|docs| {
        docs.iter()
            .map(|d| {
                if let Ok(id) = RegistryObjectId::parse(&d.id) {
                    contents.push(DocumentContent {
                        entry_uuid: id,
                        bytes: d.bytes.clone(),
                    });
                }
                DocumentFacts {
                    key: id_key(&d.id),
                    context: format!("Document '{}'", d.id),
                    hash: Sha1Hex::digest(&d.bytes),
                    size: d.bytes.len() as u64,
                }
            })
            .collect()
    });

    structure::check(
        &mut f,
        &facts,
        &association_facts,
        document_facts.as_deref(),
    );

    let submission = match <[SubmissionSet; 1]>::try_from(sets) {
        Ok([submission_set]) => Some(Submission {
            submission_set,
            documents: entries,
            folders,
            associations,
            object_refs,
            contents,
        }),
        Err(_) => None,
    };
    (submission, f.problems)
}

/// SubmissionSet, Folder or neither, by the classification nodes of a RegistryPackage.
fn package_kind(f: &mut Findings, p: &ebxml::RegistryPackage, at: &Attached<'_>) -> ObjectKind {
    let node = |uuid: &str| {
        at.classifications
            .iter()
            .any(|c| c.classification_node.as_deref().map(str::trim) == Some(uuid))
    };
    let (set, folder) = (node(v::SUBMISSION_SET), node(v::FOLDER));
    let context = format!("RegistryPackage '{}'", p.object.id);
    match (set, folder) {
        (true, false) => ObjectKind::SubmissionSet,
        (false, true) => ObjectKind::Folder,
        (true, true) => {
            f.metadata(
                "RegistryPackage.kind.known",
                &context,
                "it is classified both as SubmissionSet and as Folder",
            );
            ObjectKind::Package
        }
        (false, false) => {
            f.metadata(
                "RegistryPackage.kind.known",
                &context,
                format!(
                    "it is classified neither as SubmissionSet ({}) nor as Folder ({})",
                    v::SUBMISSION_SET,
                    v::FOLDER
                ),
            );
            ObjectKind::Package
        }
    }
}

/// Reads the slots of an object by name; what is not read becomes extra metadata.
struct Slots<'a> {
    slots: &'a [ebxml::Slot],
    used: Vec<bool>,
}

impl<'a> Slots<'a> {
    fn new(slots: &'a [ebxml::Slot]) -> Slots<'a> {
        Slots {
            slots,
            used: vec![false; slots.len()],
        }
    }

    /// All values of all slots named `name` (a repeated slot is read as one).
    fn values(&mut self, name: &str) -> Option<Vec<&'a str>> {
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

    fn extra(self) -> Vec<Slot> {
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
fn single<'a>(
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

fn required_missing(f: &mut Findings, rule: &'static str, context: &str, attribute: &str) {
    f.metadata(
        rule,
        context,
        format!("the required attribute {attribute} is missing"),
    );
}

fn text(s: &ebxml::InternationalString) -> InternationalText {
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

fn context_of(kind: &str, id: &str, unique_id: Option<&str>) -> String {
    match unique_id {
        Some(u) => format!("{kind} '{id}' (uniqueId {u})"),
        None => format!("{kind} '{id}'"),
    }
}

/// The entry id; reports a malformed `urn:uuid:`.
fn entry_id(
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

fn status(
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

fn dtm(
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
fn read_code(
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
fn read_codes(
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

fn read_author(f: &mut Findings, c: &ebxml::Classification, context: &str) -> Author {
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
fn check_nested_targets(f: &mut Findings, object: &ebxml::RegistryObject, context: &str) {
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
fn identifier<'a>(
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

fn report_unknown_identifiers(
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

fn report_unknown_classifications(
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

fn has_node(classifications: &[&ebxml::Classification], node: &str) -> bool {
    classifications.iter().any(|c| {
        c.classification_scheme.is_none()
            && c.classification_node.as_deref().map(str::trim) == Some(node)
    })
}

fn parse_patient_id(
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

fn parse_oid(
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

const DOCUMENT_ENTRY_SCHEMES: &[&str] = &[
    v::DOCUMENT_ENTRY_AUTHOR,
    v::DOCUMENT_ENTRY_CLASS_CODE,
    v::DOCUMENT_ENTRY_CONFIDENTIALITY_CODE,
    v::DOCUMENT_ENTRY_EVENT_CODE,
    v::DOCUMENT_ENTRY_FORMAT_CODE,
    v::DOCUMENT_ENTRY_HEALTHCARE_FACILITY_TYPE_CODE,
    v::DOCUMENT_ENTRY_PRACTICE_SETTING_CODE,
    v::DOCUMENT_ENTRY_TYPE_CODE,
];

fn read_document_entry(
    f: &mut Findings,
    eo: &ebxml::ExtrinsicObject,
    at: &Attached<'_>,
) -> (Option<DocumentEntry>, ObjectFacts) {
    let o = &eo.object;
    let unique_raw = at
        .external_identifiers
        .iter()
        .find(|e| e.identification_scheme.trim() == v::DOCUMENT_ENTRY_UNIQUE_ID)
        .map(|e| e.value.trim());
    let context = context_of("DocumentEntry", &o.id, unique_raw);
    let ctx = context.as_str();
    check_nested_targets(f, o, ctx);

    let entry_uuid = entry_id(f, &o.id, "DocumentEntry.entryUUID.format", ctx);
    let logical_id = o
        .lid
        .as_deref()
        .and_then(|l| RegistryObjectId::parse(l).ok());
    let object_type = match o.object_type.as_deref() {
        None => {
            required_missing(f, "DocumentEntry.objectType.required", ctx, "objectType");
            None
        }
        Some(t) => {
            let parsed = DocumentEntryType::parse(t);
            if parsed.is_none() {
                f.metadata(
                    "DocumentEntry.objectType.valid",
                    ctx,
                    format!(
                        "objectType '{t}' is neither the Stable ({}) nor the On-Demand ({}) DocumentEntry type",
                        v::DOCUMENT_ENTRY_STABLE,
                        v::DOCUMENT_ENTRY_ON_DEMAND
                    ),
                );
            }
            parsed
        }
    };
    let availability_status = status(
        f,
        o.status.as_deref(),
        "DocumentEntry.availabilityStatus.format",
        ctx,
    );
    let mime_type = eo
        .mime_type
        .as_deref()
        .map(str::trim)
        .filter(|m| !m.is_empty());
    if mime_type.is_none() {
        required_missing(f, "DocumentEntry.mimeType.required", ctx, "mimeType");
    }

    // Slots.
    let mut slots = Slots::new(&o.slots);
    let creation_raw = single(
        f,
        slots.values(v::SLOT_CREATION_TIME).as_deref(),
        "DocumentEntry.creationTime.singleValued",
        ctx,
        "creationTime",
    );
    if creation_raw.is_none() && object_type != Some(DocumentEntryType::OnDemand) {
        required_missing(
            f,
            "DocumentEntry.creationTime.required",
            ctx,
            "creationTime",
        );
    }
    let creation_time = dtm(
        f,
        creation_raw,
        "DocumentEntry.creationTime.format",
        ctx,
        "creationTime",
    );
    let start_raw = single(
        f,
        slots.values(v::SLOT_SERVICE_START_TIME).as_deref(),
        "DocumentEntry.serviceStartTime.singleValued",
        ctx,
        "serviceStartTime",
    );
    let service_start_time = dtm(
        f,
        start_raw,
        "DocumentEntry.serviceStartTime.format",
        ctx,
        "serviceStartTime",
    );
    let stop_raw = single(
        f,
        slots.values(v::SLOT_SERVICE_STOP_TIME).as_deref(),
        "DocumentEntry.serviceStopTime.singleValued",
        ctx,
        "serviceStopTime",
    );
    let service_stop_time = dtm(
        f,
        stop_raw,
        "DocumentEntry.serviceStopTime.format",
        ctx,
        "serviceStopTime",
    );
    let language_code = single(
        f,
        slots.values(v::SLOT_LANGUAGE_CODE).as_deref(),
        "DocumentEntry.languageCode.singleValued",
        ctx,
        "languageCode",
    )
    .filter(|s| !s.is_empty());
    if language_code.is_none() {
        required_missing(
            f,
            "DocumentEntry.languageCode.required",
            ctx,
            "languageCode",
        );
    }
    let source_patient_id = single(
        f,
        slots.values(v::SLOT_SOURCE_PATIENT_ID).as_deref(),
        "DocumentEntry.sourcePatientId.singleValued",
        ctx,
        "sourcePatientId",
    )
    .filter(|s| !s.is_empty());
    if source_patient_id.is_none() {
        required_missing(
            f,
            "DocumentEntry.sourcePatientId.required",
            ctx,
            "sourcePatientId",
        );
    }
    let source_patient_info = slots
        .values(v::SLOT_SOURCE_PATIENT_INFO)
        .unwrap_or_default()
        .into_iter()
        .map(str::to_string)
        .collect();
    let legal_authenticator = single(
        f,
        slots.values(v::SLOT_LEGAL_AUTHENTICATOR).as_deref(),
        "DocumentEntry.legalAuthenticator.singleValued",
        ctx,
        "legalAuthenticator",
    )
    .and_then(Xcn::parse);
    let register = f.kind == SubmissionKind::Register;
    let hash_raw = single(
        f,
        slots.values(v::SLOT_HASH).as_deref(),
        "DocumentEntry.hash.singleValued",
        ctx,
        "hash",
    );
    if hash_raw.is_none() && register {
        required_missing(f, "DocumentEntry.hash.required", ctx, "hash");
    }
    let hash = hash_raw.and_then(|h| match Sha1Hex::parse(h) {
        Ok(h) => Some(h),
        Err(e) => {
            f.metadata("DocumentEntry.hash.format", ctx, format!("hash: {e}"));
            None
        }
    });
    let size_raw = single(
        f,
        slots.values(v::SLOT_SIZE).as_deref(),
        "DocumentEntry.size.singleValued",
        ctx,
        "size",
    );
    if size_raw.is_none() && register {
        required_missing(f, "DocumentEntry.size.required", ctx, "size");
    }
    let size = size_raw.and_then(|s| match s.parse::<u64>() {
        Ok(n) => Some(n),
        Err(_) => {
            f.metadata(
                "DocumentEntry.size.format",
                ctx,
                format!("size '{s}' is not a non-negative integer"),
            );
            None
        }
    });
    let repository_raw = single(
        f,
        slots.values(v::SLOT_REPOSITORY_UNIQUE_ID).as_deref(),
        "DocumentEntry.repositoryUniqueId.singleValued",
        ctx,
        "repositoryUniqueId",
    );
    if repository_raw.is_none() && register {
        required_missing(
            f,
            "DocumentEntry.repositoryUniqueId.required",
            ctx,
            "repositoryUniqueId",
        );
    }
    let repository_unique_id = parse_oid(
        f,
        repository_raw,
        "DocumentEntry.repositoryUniqueId.format",
        ctx,
        "repositoryUniqueId",
    );
    let uri = single(
        f,
        slots.values(v::SLOT_URI).as_deref(),
        "DocumentEntry.URI.singleValued",
        ctx,
        "URI",
    )
    .map(str::to_string);
    let document_availability = single(
        f,
        slots.values(v::SLOT_DOCUMENT_AVAILABILITY).as_deref(),
        "DocumentEntry.documentAvailability.singleValued",
        ctx,
        "documentAvailability",
    )
    .map(str::to_string);
    let reference_id_list = slots
        .values(v::SLOT_REFERENCE_ID_LIST)
        .unwrap_or_default()
        .into_iter()
        .map(str::to_string)
        .collect();
    let extra_slots = slots.extra();

    // Classifications.
    let cs = &at.classifications;
    let one_code = |f: &mut Findings,
                    scheme: &str,
                    attribute: &str,
                    required: &'static str,
                    single_rule: &'static str| {
        read_codes(
            f,
            cs,
            scheme,
            ctx,
            attribute,
            Some(required),
            Some(single_rule),
        )
        .into_iter()
        .next()
    };
    let class_code = one_code(
        f,
        v::DOCUMENT_ENTRY_CLASS_CODE,
        "classCode",
        "DocumentEntry.classCode.required",
        "DocumentEntry.classCode.singleValued",
    );
    let type_code = one_code(
        f,
        v::DOCUMENT_ENTRY_TYPE_CODE,
        "typeCode",
        "DocumentEntry.typeCode.required",
        "DocumentEntry.typeCode.singleValued",
    );
    let format_code = one_code(
        f,
        v::DOCUMENT_ENTRY_FORMAT_CODE,
        "formatCode",
        "DocumentEntry.formatCode.required",
        "DocumentEntry.formatCode.singleValued",
    );
    let healthcare_facility_type_code = one_code(
        f,
        v::DOCUMENT_ENTRY_HEALTHCARE_FACILITY_TYPE_CODE,
        "healthcareFacilityTypeCode",
        "DocumentEntry.healthcareFacilityTypeCode.required",
        "DocumentEntry.healthcareFacilityTypeCode.singleValued",
    );
    let practice_setting_code = one_code(
        f,
        v::DOCUMENT_ENTRY_PRACTICE_SETTING_CODE,
        "practiceSettingCode",
        "DocumentEntry.practiceSettingCode.required",
        "DocumentEntry.practiceSettingCode.singleValued",
    );
    let confidentiality_codes = read_codes(
        f,
        cs,
        v::DOCUMENT_ENTRY_CONFIDENTIALITY_CODE,
        ctx,
        "confidentialityCode",
        Some("DocumentEntry.confidentialityCode.required"),
        None,
    );
    let event_codes = read_codes(
        f,
        cs,
        v::DOCUMENT_ENTRY_EVENT_CODE,
        ctx,
        "eventCodeList",
        None,
        None,
    );
    let authors = cs
        .iter()
        .filter(|c| {
            c.classification_scheme.as_deref().map(str::trim) == Some(v::DOCUMENT_ENTRY_AUTHOR)
        })
        .map(|c| read_author(f, c, ctx))
        .collect();
    let limited_metadata = has_node(cs, v::DOCUMENT_ENTRY_LIMITED_METADATA);
    report_unknown_classifications(
        f,
        cs,
        DOCUMENT_ENTRY_SCHEMES,
        &[v::DOCUMENT_ENTRY_LIMITED_METADATA],
        ctx,
    );

    // External identifiers.
    let ids = &at.external_identifiers;
    let patient_raw = identifier(
        f,
        ids,
        v::DOCUMENT_ENTRY_PATIENT_ID,
        "DocumentEntry.patientId.singleValued",
        ctx,
        "patientId",
    );
    if patient_raw.is_none() {
        required_missing(f, "DocumentEntry.patientId.required", ctx, "patientId");
    }
    let patient_id = parse_patient_id(f, patient_raw, "DocumentEntry.patientId.format", ctx);
    let unique_raw = identifier(
        f,
        ids,
        v::DOCUMENT_ENTRY_UNIQUE_ID,
        "DocumentEntry.uniqueId.singleValued",
        ctx,
        "uniqueId",
    );
    if unique_raw.is_none() {
        required_missing(f, "DocumentEntry.uniqueId.required", ctx, "uniqueId");
    }
    let unique_id = unique_raw.and_then(|u| match UniqueId::parse(u) {
        Ok(u) => Some(u),
        Err(e) => {
            f.metadata(
                "DocumentEntry.uniqueId.format",
                ctx,
                format!("uniqueId: {e}"),
            );
            None
        }
    });
    report_unknown_identifiers(
        f,
        ids,
        &[v::DOCUMENT_ENTRY_PATIENT_ID, v::DOCUMENT_ENTRY_UNIQUE_ID],
        ctx,
    );

    let facts = ObjectFacts {
        key: id_key(&o.id),
        kind: ObjectKind::DocumentEntry,
        context: context.clone(),
        patient_id: patient_id.clone(),
        unique_id: unique_raw.map(str::to_string),
        hash,
        size,
        on_demand: object_type == Some(DocumentEntryType::OnDemand),
    };
    let entry = 'build: {
        let (
            Some(entry_uuid),
            Some(object_type),
            Some(patient_id),
            Some(unique_id),
            Some(class_code),
            Some(type_code),
            Some(format_code),
            Some(healthcare_facility_type_code),
            Some(practice_setting_code),
            Some(mime_type),
            Some(language_code),
        ) = (
            entry_uuid,
            object_type,
            patient_id,
            unique_id,
            class_code,
            type_code,
            format_code,
            healthcare_facility_type_code,
            practice_setting_code,
            mime_type,
            language_code,
        )
        else {
            break 'build None;
        };
        Some(DocumentEntry {
            entry_uuid,
            logical_id,
            version: o.version_info.as_ref().and_then(|v| v.version_name.clone()),
            object_type,
            availability_status,
            home_community_id: o.home.clone(),
            patient_id,
            unique_id,
            mime_type: mime_type.to_string(),
            class_code,
            type_code,
            format_code,
            healthcare_facility_type_code,
            practice_setting_code,
            confidentiality_codes,
            event_codes,
            authors,
            title: o.name.as_ref().map(text),
            comments: o.description.as_ref().map(text),
            language_code: language_code.to_string(),
            creation_time,
            service_start_time,
            service_stop_time,
            hash,
            size,
            repository_unique_id,
            source_patient_id: source_patient_id.map(str::to_string),
            source_patient_info,
            legal_authenticator,
            uri,
            reference_id_list,
            document_availability,
            limited_metadata,
            extra_slots,
        })
    };
    (entry, facts)
}

const SUBMISSION_SET_SCHEMES: &[&str] = &[
    v::SUBMISSION_SET_AUTHOR,
    v::SUBMISSION_SET_CONTENT_TYPE_CODE,
];

fn read_submission_set(
    f: &mut Findings,
    p: &ebxml::RegistryPackage,
    at: &Attached<'_>,
) -> (Option<SubmissionSet>, ObjectFacts) {
    let o = &p.object;
    let unique_raw = at
        .external_identifiers
        .iter()
        .find(|e| e.identification_scheme.trim() == v::SUBMISSION_SET_UNIQUE_ID)
        .map(|e| e.value.trim());
    let context = context_of("SubmissionSet", &o.id, unique_raw);
    let ctx = context.as_str();
    check_nested_targets(f, o, ctx);
    let entry_uuid = entry_id(f, &o.id, "SubmissionSet.entryUUID.format", ctx);
    let availability_status = status(
        f,
        o.status.as_deref(),
        "SubmissionSet.availabilityStatus.format",
        ctx,
    );

    let mut slots = Slots::new(&o.slots);
    let time_raw = single(
        f,
        slots.values(v::SLOT_SUBMISSION_TIME).as_deref(),
        "SubmissionSet.submissionTime.singleValued",
        ctx,
        "submissionTime",
    );
    if time_raw.is_none() {
        required_missing(
            f,
            "SubmissionSet.submissionTime.required",
            ctx,
            "submissionTime",
        );
    }
    let submission_time = dtm(
        f,
        time_raw,
        "SubmissionSet.submissionTime.format",
        ctx,
        "submissionTime",
    );
    let intended_recipients = slots
        .values(v::SLOT_INTENDED_RECIPIENT)
        .unwrap_or_default()
        .into_iter()
        .map(str::to_string)
        .collect();
    let extra_slots = slots.extra();

    let cs = &at.classifications;
    let content_type_code = read_codes(
        f,
        cs,
        v::SUBMISSION_SET_CONTENT_TYPE_CODE,
        ctx,
        "contentTypeCode",
        Some("SubmissionSet.contentTypeCode.required"),
        Some("SubmissionSet.contentTypeCode.singleValued"),
    )
    .into_iter()
    .next();
    let authors = cs
        .iter()
        .filter(|c| {
            c.classification_scheme.as_deref().map(str::trim) == Some(v::SUBMISSION_SET_AUTHOR)
        })
        .map(|c| read_author(f, c, ctx))
        .collect();
    let limited_metadata = has_node(cs, v::SUBMISSION_SET_LIMITED_METADATA);
    report_unknown_classifications(
        f,
        cs,
        SUBMISSION_SET_SCHEMES,
        &[v::SUBMISSION_SET, v::SUBMISSION_SET_LIMITED_METADATA],
        ctx,
    );

    let ids = &at.external_identifiers;
    let patient_raw = identifier(
        f,
        ids,
        v::SUBMISSION_SET_PATIENT_ID,
        "SubmissionSet.patientId.singleValued",
        ctx,
        "patientId",
    );
    if patient_raw.is_none() {
        required_missing(f, "SubmissionSet.patientId.required", ctx, "patientId");
    }
    let patient_id = parse_patient_id(f, patient_raw, "SubmissionSet.patientId.format", ctx);
    let unique_raw = identifier(
        f,
        ids,
        v::SUBMISSION_SET_UNIQUE_ID,
        "SubmissionSet.uniqueId.singleValued",
        ctx,
        "uniqueId",
    );
    if unique_raw.is_none() {
        required_missing(f, "SubmissionSet.uniqueId.required", ctx, "uniqueId");
    }
    let unique_id = parse_oid(
        f,
        unique_raw,
        "SubmissionSet.uniqueId.format",
        ctx,
        "uniqueId",
    );
    let source_raw = identifier(
        f,
        ids,
        v::SUBMISSION_SET_SOURCE_ID,
        "SubmissionSet.sourceId.singleValued",
        ctx,
        "sourceId",
    );
    if source_raw.is_none() {
        required_missing(f, "SubmissionSet.sourceId.required", ctx, "sourceId");
    }
    let source_id = parse_oid(
        f,
        source_raw,
        "SubmissionSet.sourceId.format",
        ctx,
        "sourceId",
    );
    report_unknown_identifiers(
        f,
        ids,
        &[
            v::SUBMISSION_SET_PATIENT_ID,
            v::SUBMISSION_SET_UNIQUE_ID,
            v::SUBMISSION_SET_SOURCE_ID,
        ],
        ctx,
    );

    let facts = ObjectFacts {
        key: id_key(&o.id),
        kind: ObjectKind::SubmissionSet,
        context: context.clone(),
        patient_id: patient_id.clone(),
        unique_id: unique_raw.map(str::to_string),
        hash: None,
        size: None,
        on_demand: false,
    };
    let set = 'build: {
        let (
            Some(entry_uuid),
            Some(patient_id),
            Some(unique_id),
            Some(source_id),
            Some(submission_time),
            Some(content_type_code),
        ) = (
            entry_uuid,
            patient_id,
            unique_id,
            source_id,
            submission_time,
            content_type_code,
        )
        else {
            break 'build None;
        };
        Some(SubmissionSet {
            entry_uuid,
            availability_status,
            home_community_id: o.home.clone(),
            patient_id,
            unique_id,
            source_id,
            submission_time,
            content_type_code,
            authors,
            title: o.name.as_ref().map(text),
            comments: o.description.as_ref().map(text),
            intended_recipients,
            limited_metadata,
            extra_slots,
        })
    };
    (set, facts)
}

fn read_folder(
    f: &mut Findings,
    p: &ebxml::RegistryPackage,
    at: &Attached<'_>,
) -> (Option<Folder>, ObjectFacts) {
    let o = &p.object;
    let unique_raw = at
        .external_identifiers
        .iter()
        .find(|e| e.identification_scheme.trim() == v::FOLDER_UNIQUE_ID)
        .map(|e| e.value.trim());
    let context = context_of("Folder", &o.id, unique_raw);
    let ctx = context.as_str();
    check_nested_targets(f, o, ctx);
    let entry_uuid = entry_id(f, &o.id, "Folder.entryUUID.format", ctx);
    let availability_status = status(
        f,
        o.status.as_deref(),
        "Folder.availabilityStatus.format",
        ctx,
    );

    let mut slots = Slots::new(&o.slots);
    let update_raw = single(
        f,
        slots.values(v::SLOT_LAST_UPDATE_TIME).as_deref(),
        "Folder.lastUpdateTime.singleValued",
        ctx,
        "lastUpdateTime",
    );
    let last_update_time = dtm(
        f,
        update_raw,
        "Folder.lastUpdateTime.format",
        ctx,
        "lastUpdateTime",
    );
    let extra_slots = slots.extra();

    let cs = &at.classifications;
    let code_list = read_codes(
        f,
        cs,
        v::FOLDER_CODE_LIST,
        ctx,
        "codeList",
        Some("Folder.codeList.required"),
        None,
    );
    let limited_metadata = has_node(cs, v::FOLDER_LIMITED_METADATA);
    report_unknown_classifications(
        f,
        cs,
        &[v::FOLDER_CODE_LIST],
        &[v::FOLDER, v::FOLDER_LIMITED_METADATA],
        ctx,
    );

    let ids = &at.external_identifiers;
    let patient_raw = identifier(
        f,
        ids,
        v::FOLDER_PATIENT_ID,
        "Folder.patientId.singleValued",
        ctx,
        "patientId",
    );
    if patient_raw.is_none() {
        required_missing(f, "Folder.patientId.required", ctx, "patientId");
    }
    let patient_id = parse_patient_id(f, patient_raw, "Folder.patientId.format", ctx);
    let unique_raw = identifier(
        f,
        ids,
        v::FOLDER_UNIQUE_ID,
        "Folder.uniqueId.singleValued",
        ctx,
        "uniqueId",
    );
    if unique_raw.is_none() {
        required_missing(f, "Folder.uniqueId.required", ctx, "uniqueId");
    }
    let unique_id = parse_oid(f, unique_raw, "Folder.uniqueId.format", ctx, "uniqueId");
    report_unknown_identifiers(f, ids, &[v::FOLDER_PATIENT_ID, v::FOLDER_UNIQUE_ID], ctx);

    let facts = ObjectFacts {
        key: id_key(&o.id),
        kind: ObjectKind::Folder,
        context: context.clone(),
        patient_id: patient_id.clone(),
        unique_id: unique_raw.map(str::to_string),
        hash: None,
        size: None,
        on_demand: false,
    };
    let folder = 'build: {
        let (Some(entry_uuid), Some(patient_id), Some(unique_id)) =
            (entry_uuid, patient_id, unique_id)
        else {
            break 'build None;
        };
        Some(Folder {
            entry_uuid,
            logical_id: o
                .lid
                .as_deref()
                .and_then(|l| RegistryObjectId::parse(l).ok()),
            version: o.version_info.as_ref().and_then(|v| v.version_name.clone()),
            availability_status,
            home_community_id: o.home.clone(),
            patient_id,
            unique_id,
            code_list,
            last_update_time,
            title: o.name.as_ref().map(text),
            comments: o.description.as_ref().map(text),
            limited_metadata,
            extra_slots,
        })
    };
    (folder, facts)
}

fn read_association(
    f: &mut Findings,
    a: &ebxml::Association,
    at: &Attached<'_>,
) -> (Option<Association>, AssociationFacts) {
    let o = &a.object;
    let association_type = AssociationType::parse(&a.association_type);
    let type_name: &str = match association_type {
        Some(t) => t.name(),
        None => a.association_type.trim(),
    };
    let context = format!(
        "Association '{}' ({type_name} {} -> {})",
        o.id, a.source_object, a.target_object
    );
    let ctx = context.as_str();
    check_nested_targets(f, o, ctx);
    let entry_uuid = entry_id(f, &o.id, "Association.entryUUID.format", ctx);
    if association_type.is_none() {
        f.metadata(
            "Association.associationType.known",
            ctx,
            format!(
                "associationType '{}' is not one of ITI TF-3 4.2.2",
                a.association_type
            ),
        );
    }
    let end = |f: &mut Findings, raw: &str, rule: &'static str, which: &str| {
        match RegistryObjectId::parse(raw) {
            Ok(id) => Some(id),
            Err(e) => {
                f.metadata(rule, ctx, format!("{which}: {e}"));
                None
            }
        }
    };
    let source = end(
        f,
        &a.source_object,
        "Association.sourceObject.format",
        "sourceObject",
    );
    let target = end(
        f,
        &a.target_object,
        "Association.targetObject.format",
        "targetObject",
    );
    let availability_status = status(
        f,
        o.status.as_deref(),
        "Association.availabilityStatus.format",
        ctx,
    );

    let mut slots = Slots::new(&o.slots);
    let status_values: Option<Vec<String>> = slots
        .values(v::SLOT_SUBMISSION_SET_STATUS)
        .map(|vs| vs.into_iter().map(|s| s.trim().to_string()).collect());
    let submission_set_status = status_values
        .as_ref()
        .and_then(|vs| vs.first())
        .and_then(|s| SubmissionSetStatus::parse(s));
    let extra_slots = slots.extra();
    report_unknown_classifications(f, &at.classifications, &[], &[], ctx);
    report_unknown_identifiers(f, &at.external_identifiers, &[], ctx);

    let facts = AssociationFacts {
        key: id_key(&o.id),
        context: context.clone(),
        association_type,
        source_key: id_key(&a.source_object),
        target_key: id_key(&a.target_object),
        source_is_uuid: source.as_ref().is_some_and(RegistryObjectId::is_uuid),
        target_is_uuid: target.as_ref().is_some_and(RegistryObjectId::is_uuid),
        submission_set_status: status_values,
    };
    let association = 'build: {
        let (Some(entry_uuid), Some(association_type), Some(source), Some(target)) =
            (entry_uuid, association_type, source, target)
        else {
            break 'build None;
        };
        Some(Association {
            entry_uuid,
            association_type,
            source,
            target,
            availability_status,
            submission_set_status,
            extra_slots,
        })
    };
    (association, facts)
}
