//! ebRIM 3.0 registry objects (OASIS regrep-rim-3.0-os §2-§4; schema `rim.xsd`) as XDS uses them
//! (ITI TF-3 §4.2.1): `ExtrinsicObject` (DocumentEntry), `RegistryPackage` (SubmissionSet,
//! Folder), `Association`, `Classification`, `ExternalIdentifier`, `ObjectRef`, with `Slot`,
//! `InternationalString` and `VersionInfo`.
//!
//! The types mirror the wire one to one; absent optional attributes stay `None`, so nothing is
//! invented on the way through. Every `RegistryObjectType` reads its content in schema order:
//! `Slot*, Name?, Description?, VersionInfo?, Classification*, ExternalIdentifier*`, then the
//! content of the subtype.

use super::DecodeError;
use super::RIM_NS;
use super::reader::{Child, Path, Seq, attr, bool_attr, req_attr, text_only};
use super::writer::Writer;
use crate::xml::Element;

/// `xml:lang`'s namespace.
const XML_NS: &str = "http://www.w3.org/XML/1998/namespace";

/// `rim:Slot`: a named list of string values (rim.xsd `SlotType1`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Slot {
    pub name: String,
    pub slot_type: Option<String>,
    pub values: Vec<String>,
}

impl Slot {
    pub fn new(
        name: impl Into<String>,
        values: impl IntoIterator<Item = impl Into<String>>,
    ) -> Slot {
        Slot {
            name: name.into(),
            slot_type: None,
            values: values.into_iter().map(Into::into).collect(),
        }
    }

    pub(crate) fn decode((el, path): Child<'_>) -> Result<Slot, DecodeError> {
        let name = req_attr(el, &path, "name")?;
        let slot_type = attr(el, "slotType");
        let mut seq = Seq::new(el, &path)?;
        let (list, list_path) = seq.one(RIM_NS, "ValueList")?;
        seq.end()?;
        let mut values_seq = Seq::new(list, &list_path)?;
        let mut values = Vec::new();
        for (v, vpath) in values_seq.many(RIM_NS, "Value") {
            values.push(text_only(v, &vpath)?);
        }
        values_seq.end()?;
        Ok(Slot {
            name,
            slot_type,
            values,
        })
    }

    pub(crate) fn encode(&self, w: &mut Writer) {
        w.start("rim:Slot");
        w.attr("name", &self.name);
        w.opt_attr("slotType", self.slot_type.as_deref());
        w.start("rim:ValueList");
        for v in &self.values {
            w.leaf("rim:Value", v);
        }
        w.end();
        w.end();
    }
}

pub(crate) fn decode_slots(children: Vec<Child<'_>>) -> Result<Vec<Slot>, DecodeError> {
    children.into_iter().map(Slot::decode).collect()
}

/// `rim:LocalizedString`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LocalizedString {
    /// `xml:lang` (schema default `en-US` when absent).
    pub lang: Option<String>,
    /// `charset` (schema default `UTF-8` when absent).
    pub charset: Option<String>,
    pub value: String,
}

impl LocalizedString {
    pub fn new(value: impl Into<String>) -> LocalizedString {
        LocalizedString {
            lang: None,
            charset: None,
            value: value.into(),
        }
    }
}

/// `rim:Name`, `rim:Description` (rim.xsd `InternationalStringType`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct InternationalString {
    pub localized: Vec<LocalizedString>,
}

impl InternationalString {
    pub fn single(value: impl Into<String>) -> InternationalString {
        InternationalString {
            localized: vec![LocalizedString::new(value)],
        }
    }

    /// The first localized value, the one XDS reads.
    pub fn first_value(&self) -> Option<&str> {
        self.localized.first().map(|l| l.value.as_str())
    }

    pub(crate) fn decode((el, path): Child<'_>) -> Result<InternationalString, DecodeError> {
        let mut seq = Seq::new(el, &path)?;
        let mut localized = Vec::new();
        for (ls, lpath) in seq.many(RIM_NS, "LocalizedString") {
            let value = req_attr(ls, &lpath, "value")?;
            // Simple content is empty in the schema; refuse stray children or text.
            Seq::new(ls, &lpath)?.end()?;
            localized.push(LocalizedString {
                lang: ls.attr_ns(XML_NS, "lang").map(str::to_string),
                charset: attr(ls, "charset"),
                value,
            });
        }
        seq.end()?;
        Ok(InternationalString { localized })
    }

    pub(crate) fn encode(&self, w: &mut Writer, qname: &'static str) {
        w.start(qname);
        for l in &self.localized {
            w.start("rim:LocalizedString");
            w.opt_attr("xml:lang", l.lang.as_deref());
            w.opt_attr("charset", l.charset.as_deref());
            w.attr("value", &l.value);
            w.end();
        }
        w.end();
    }
}

/// `rim:VersionInfo` / `rim:ContentVersionInfo` (rim.xsd `VersionInfoType`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct VersionInfo {
    /// `versionName` (schema default `1.1` when absent).
    pub version_name: Option<String>,
    pub comment: Option<String>,
}

impl VersionInfo {
    fn decode((el, path): Child<'_>) -> Result<VersionInfo, DecodeError> {
        Seq::new(el, &path)?.end()?;
        Ok(VersionInfo {
            version_name: attr(el, "versionName"),
            comment: attr(el, "comment"),
        })
    }

    fn encode(&self, w: &mut Writer, qname: &'static str) {
        w.start(qname);
        w.opt_attr("versionName", self.version_name.as_deref());
        w.opt_attr("comment", self.comment.as_deref());
        w.end();
    }
}

/// What every `rim:RegistryObjectType` has (rim.xsd `IdentifiableType` + `RegistryObjectType`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RegistryObject {
    pub id: String,
    pub home: Option<String>,
    pub lid: Option<String>,
    pub object_type: Option<String>,
    pub status: Option<String>,
    pub slots: Vec<Slot>,
    pub name: Option<InternationalString>,
    pub description: Option<InternationalString>,
    pub version_info: Option<VersionInfo>,
    pub classifications: Vec<Classification>,
    pub external_identifiers: Vec<ExternalIdentifier>,
}

impl RegistryObject {
    pub fn new(id: impl Into<String>) -> RegistryObject {
        RegistryObject {
            id: id.into(),
            ..RegistryObject::default()
        }
    }

    /// The values of the first slot named `name`.
    pub fn slot_values(&self, name: &str) -> Option<&[String]> {
        self.slots
            .iter()
            .find(|s| s.name == name)
            .map(|s| s.values.as_slice())
    }

    /// Reads the attributes and the `RegistryObjectType` part of the content; the caller reads
    /// the subtype's content from `seq` and ends it.
    pub(crate) fn decode(
        el: &Element,
        path: &Path,
        seq: &mut Seq<'_>,
    ) -> Result<RegistryObject, DecodeError> {
        let id = req_attr(el, path, "id")?;
        let slots = decode_slots(seq.many(RIM_NS, "Slot"))?;
        let name = seq
            .opt(RIM_NS, "Name")
            .map(InternationalString::decode)
            .transpose()?;
        let description = seq
            .opt(RIM_NS, "Description")
            .map(InternationalString::decode)
            .transpose()?;
        let version_info = seq
            .opt(RIM_NS, "VersionInfo")
            .map(VersionInfo::decode)
            .transpose()?;
        let classifications = seq
            .many(RIM_NS, "Classification")
            .into_iter()
            .map(Classification::decode)
            .collect::<Result<_, _>>()?;
        let external_identifiers = seq
            .many(RIM_NS, "ExternalIdentifier")
            .into_iter()
            .map(ExternalIdentifier::decode)
            .collect::<Result<_, _>>()?;
        Ok(RegistryObject {
            id,
            home: attr(el, "home"),
            lid: attr(el, "lid"),
            object_type: attr(el, "objectType"),
            status: attr(el, "status"),
            slots,
            name,
            description,
            version_info,
            classifications,
            external_identifiers,
        })
    }

    pub(crate) fn encode_attrs(&self, w: &mut Writer) {
        w.attr("id", &self.id);
        w.opt_attr("home", self.home.as_deref());
        w.opt_attr("lid", self.lid.as_deref());
        w.opt_attr("objectType", self.object_type.as_deref());
        w.opt_attr("status", self.status.as_deref());
    }

    pub(crate) fn encode_content(&self, w: &mut Writer) {
        for s in &self.slots {
            s.encode(w);
        }
        if let Some(n) = &self.name {
            n.encode(w, "rim:Name");
        }
        if let Some(d) = &self.description {
            d.encode(w, "rim:Description");
        }
        if let Some(v) = &self.version_info {
            v.encode(w, "rim:VersionInfo");
        }
        for c in &self.classifications {
            c.encode(w);
        }
        for e in &self.external_identifiers {
            e.encode(w);
        }
    }
}

/// `rim:ExtrinsicObject`: an XDS DocumentEntry (ITI TF-3 §4.2.1.1).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ExtrinsicObject {
    pub object: RegistryObject,
    /// `mimeType` (schema default `application/octet-stream` when absent).
    pub mime_type: Option<String>,
    pub is_opaque: Option<bool>,
    pub content_version_info: Option<VersionInfo>,
}

impl ExtrinsicObject {
    pub(crate) fn decode((el, path): Child<'_>) -> Result<ExtrinsicObject, DecodeError> {
        let mut seq = Seq::new(el, &path)?;
        let object = RegistryObject::decode(el, &path, &mut seq)?;
        let content_version_info = seq
            .opt(RIM_NS, "ContentVersionInfo")
            .map(VersionInfo::decode)
            .transpose()?;
        seq.end()?;
        Ok(ExtrinsicObject {
            object,
            mime_type: attr(el, "mimeType"),
            is_opaque: bool_attr(el, &path, "isOpaque")?,
            content_version_info,
        })
    }

    pub(crate) fn encode(&self, w: &mut Writer) {
        w.start("rim:ExtrinsicObject");
        self.object.encode_attrs(w);
        w.opt_attr("mimeType", self.mime_type.as_deref());
        w.bool_attr("isOpaque", self.is_opaque);
        self.object.encode_content(w);
        if let Some(v) = &self.content_version_info {
            v.encode(w, "rim:ContentVersionInfo");
        }
        w.end();
    }
}

/// `rim:RegistryPackage`: an XDS SubmissionSet or Folder (ITI TF-3 §4.2.1.2-3).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RegistryPackage {
    pub object: RegistryObject,
    /// A nested `rim:RegistryObjectList` (not used by XDS, kept if sent).
    pub members: Option<RegistryObjectList>,
}

impl RegistryPackage {
    pub(crate) fn decode((el, path): Child<'_>) -> Result<RegistryPackage, DecodeError> {
        let mut seq = Seq::new(el, &path)?;
        let object = RegistryObject::decode(el, &path, &mut seq)?;
        let members = seq
            .opt(RIM_NS, "RegistryObjectList")
            .map(RegistryObjectList::decode)
            .transpose()?;
        seq.end()?;
        Ok(RegistryPackage { object, members })
    }

    pub(crate) fn encode(&self, w: &mut Writer) {
        w.start("rim:RegistryPackage");
        self.object.encode_attrs(w);
        self.object.encode_content(w);
        if let Some(m) = &self.members {
            m.encode(w);
        }
        w.end();
    }
}

/// `rim:Association` (ITI TF-3 §4.2.2).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Association {
    pub object: RegistryObject,
    pub association_type: String,
    pub source_object: String,
    pub target_object: String,
}

impl Association {
    pub(crate) fn decode((el, path): Child<'_>) -> Result<Association, DecodeError> {
        let mut seq = Seq::new(el, &path)?;
        let object = RegistryObject::decode(el, &path, &mut seq)?;
        seq.end()?;
        Ok(Association {
            association_type: req_attr(el, &path, "associationType")?,
            source_object: req_attr(el, &path, "sourceObject")?,
            target_object: req_attr(el, &path, "targetObject")?,
            object,
        })
    }

    pub(crate) fn encode(&self, w: &mut Writer) {
        w.start("rim:Association");
        self.object.encode_attrs(w);
        w.attr("associationType", &self.association_type);
        w.attr("sourceObject", &self.source_object);
        w.attr("targetObject", &self.target_object);
        self.object.encode_content(w);
        w.end();
    }
}

/// `rim:Classification`: a coded attribute, an author, or the node that makes a
/// RegistryPackage a SubmissionSet or Folder (ITI TF-3 §4.2.3.1.2, §4.2.1.2).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Classification {
    pub object: RegistryObject,
    pub classification_scheme: Option<String>,
    pub classified_object: String,
    pub classification_node: Option<String>,
    pub node_representation: Option<String>,
}

impl Classification {
    pub(crate) fn decode((el, path): Child<'_>) -> Result<Classification, DecodeError> {
        let mut seq = Seq::new(el, &path)?;
        let object = RegistryObject::decode(el, &path, &mut seq)?;
        seq.end()?;
        Ok(Classification {
            classification_scheme: attr(el, "classificationScheme"),
            classified_object: req_attr(el, &path, "classifiedObject")?,
            classification_node: attr(el, "classificationNode"),
            node_representation: attr(el, "nodeRepresentation"),
            object,
        })
    }

    pub(crate) fn encode(&self, w: &mut Writer) {
        w.start("rim:Classification");
        self.object.encode_attrs(w);
        w.opt_attr(
            "classificationScheme",
            self.classification_scheme.as_deref(),
        );
        w.attr("classifiedObject", &self.classified_object);
        w.opt_attr("classificationNode", self.classification_node.as_deref());
        w.opt_attr("nodeRepresentation", self.node_representation.as_deref());
        self.object.encode_content(w);
        w.end();
    }
}

/// `rim:ExternalIdentifier`: patientId, uniqueId, sourceId (ITI TF-3 §4.2.3.1.4).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ExternalIdentifier {
    pub object: RegistryObject,
    pub registry_object: String,
    pub identification_scheme: String,
    pub value: String,
}

impl ExternalIdentifier {
    pub(crate) fn decode((el, path): Child<'_>) -> Result<ExternalIdentifier, DecodeError> {
        let mut seq = Seq::new(el, &path)?;
        let object = RegistryObject::decode(el, &path, &mut seq)?;
        seq.end()?;
        Ok(ExternalIdentifier {
            registry_object: req_attr(el, &path, "registryObject")?,
            identification_scheme: req_attr(el, &path, "identificationScheme")?,
            value: req_attr(el, &path, "value")?,
            object,
        })
    }

    pub(crate) fn encode(&self, w: &mut Writer) {
        w.start("rim:ExternalIdentifier");
        self.object.encode_attrs(w);
        w.attr("registryObject", &self.registry_object);
        w.attr("identificationScheme", &self.identification_scheme);
        w.attr("value", &self.value);
        self.object.encode_content(w);
        w.end();
    }
}

/// `rim:ObjectRef`: a reference to an object already in the registry (rim.xsd `ObjectRefType`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ObjectRef {
    pub id: String,
    pub home: Option<String>,
    pub create_replica: Option<bool>,
    pub slots: Vec<Slot>,
}

impl ObjectRef {
    pub fn new(id: impl Into<String>) -> ObjectRef {
        ObjectRef {
            id: id.into(),
            ..ObjectRef::default()
        }
    }

    pub(crate) fn decode((el, path): Child<'_>) -> Result<ObjectRef, DecodeError> {
        let mut seq = Seq::new(el, &path)?;
        let slots = decode_slots(seq.many(RIM_NS, "Slot"))?;
        seq.end()?;
        Ok(ObjectRef {
            id: req_attr(el, &path, "id")?,
            home: attr(el, "home"),
            create_replica: bool_attr(el, &path, "createReplica")?,
            slots,
        })
    }

    pub(crate) fn encode(&self, w: &mut Writer) {
        w.start("rim:ObjectRef");
        w.attr("id", &self.id);
        w.opt_attr("home", self.home.as_deref());
        w.bool_attr("createReplica", self.create_replica);
        for s in &self.slots {
            s.encode(w);
        }
        w.end();
    }
}

/// One member of a `rim:RegistryObjectList` (the `rim:Identifiable` substitution group, limited
/// to the object types of XDS metadata).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Identifiable {
    ObjectRef(ObjectRef),
    ExtrinsicObject(ExtrinsicObject),
    RegistryPackage(RegistryPackage),
    Association(Association),
    Classification(Classification),
    ExternalIdentifier(ExternalIdentifier),
}

impl Identifiable {
    pub fn id(&self) -> &str {
        match self {
            Identifiable::ObjectRef(o) => &o.id,
            Identifiable::ExtrinsicObject(o) => &o.object.id,
            Identifiable::RegistryPackage(o) => &o.object.id,
            Identifiable::Association(o) => &o.object.id,
            Identifiable::Classification(o) => &o.object.id,
            Identifiable::ExternalIdentifier(o) => &o.object.id,
        }
    }

    fn encode(&self, w: &mut Writer) {
        match self {
            Identifiable::ObjectRef(o) => o.encode(w),
            Identifiable::ExtrinsicObject(o) => o.encode(w),
            Identifiable::RegistryPackage(o) => o.encode(w),
            Identifiable::Association(o) => o.encode(w),
            Identifiable::Classification(o) => o.encode(w),
            Identifiable::ExternalIdentifier(o) => o.encode(w),
        }
    }
}

/// Members of the `rim:Identifiable` substitution group that XDS metadata uses.
const XDS_IDENTIFIABLES: [&str; 6] = [
    "ObjectRef",
    "ExtrinsicObject",
    "RegistryPackage",
    "Association",
    "Classification",
    "ExternalIdentifier",
];

/// Members of the `rim:Identifiable` substitution group that XDS does not use.
const OTHER_IDENTIFIABLES: &[&str] = &[
    "Identifiable",
    "RegistryObject",
    "AdhocQuery",
    "AuditableEvent",
    "ClassificationNode",
    "ClassificationScheme",
    "ExternalLink",
    "Federation",
    "Notification",
    "Organization",
    "Person",
    "Registry",
    "Service",
    "ServiceBinding",
    "SpecificationLink",
    "Subscription",
    "User",
];

/// `rim:RegistryObjectList`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RegistryObjectList {
    pub objects: Vec<Identifiable>,
}

impl RegistryObjectList {
    pub(crate) fn decode((el, path): Child<'_>) -> Result<RegistryObjectList, DecodeError> {
        let mut seq = Seq::new(el, &path)?;
        let mut objects = Vec::new();
        while let Some(next) = seq.peek() {
            let is_rim = next.namespace() == Some(RIM_NS);
            type Decode = fn(Child<'_>) -> Result<Identifiable, DecodeError>;
            let decode: Decode = match next.local.as_str() {
                "ObjectRef" if is_rim => |c| ObjectRef::decode(c).map(Identifiable::ObjectRef),
                "ExtrinsicObject" if is_rim => {
                    |c| ExtrinsicObject::decode(c).map(Identifiable::ExtrinsicObject)
                }
                "RegistryPackage" if is_rim => {
                    |c| RegistryPackage::decode(c).map(Identifiable::RegistryPackage)
                }
                "Association" if is_rim => {
                    |c| Association::decode(c).map(Identifiable::Association)
                }
                "Classification" if is_rim => {
                    |c| Classification::decode(c).map(Identifiable::Classification)
                }
                "ExternalIdentifier" if is_rim => {
                    |c| ExternalIdentifier::decode(c).map(Identifiable::ExternalIdentifier)
                }
                other if is_rim && OTHER_IDENTIFIABLES.contains(&other) => {
                    return Err(DecodeError::UnsupportedObject {
                        path: path.string(),
                        element: format!("rim:{other}"),
                        at: next.position,
                    });
                }
                _ => {
                    for name in XDS_IDENTIFIABLES {
                        seq.allow(RIM_NS, name);
                    }
                    return Err(seq.unexpected(next));
                }
            };
            if let Some(child) = seq.take() {
                objects.push(decode(child)?);
            }
        }
        seq.end()?;
        Ok(RegistryObjectList { objects })
    }

    pub(crate) fn encode(&self, w: &mut Writer) {
        w.start("rim:RegistryObjectList");
        for o in &self.objects {
            o.encode(w);
        }
        w.end();
    }

    pub fn extrinsic_objects(&self) -> impl Iterator<Item = &ExtrinsicObject> {
        self.objects.iter().filter_map(|o| match o {
            Identifiable::ExtrinsicObject(e) => Some(e),
            _ => None,
        })
    }

    pub fn registry_packages(&self) -> impl Iterator<Item = &RegistryPackage> {
        self.objects.iter().filter_map(|o| match o {
            Identifiable::RegistryPackage(e) => Some(e),
            _ => None,
        })
    }

    pub fn associations(&self) -> impl Iterator<Item = &Association> {
        self.objects.iter().filter_map(|o| match o {
            Identifiable::Association(e) => Some(e),
            _ => None,
        })
    }

    pub fn classifications(&self) -> impl Iterator<Item = &Classification> {
        self.objects.iter().filter_map(|o| match o {
            Identifiable::Classification(e) => Some(e),
            _ => None,
        })
    }

    pub fn external_identifiers(&self) -> impl Iterator<Item = &ExternalIdentifier> {
        self.objects.iter().filter_map(|o| match o {
            Identifiable::ExternalIdentifier(e) => Some(e),
            _ => None,
        })
    }

    pub fn object_refs(&self) -> impl Iterator<Item = &ObjectRef> {
        self.objects.iter().filter_map(|o| match o {
            Identifiable::ObjectRef(e) => Some(e),
            _ => None,
        })
    }
}
