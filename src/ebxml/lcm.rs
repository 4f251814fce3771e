//! ebRS 3.0 Lifecycle Management requests (OASIS regrep-rs-3.0-os §5; schema `lcm.xsd`):
//! `lcm:SubmitObjectsRequest` — the body of ITI-42 (ITI TF-2b §3.42.4.1) and the metadata part of
//! ITI-41 — and `lcm:RemoveObjectsRequest` — the body of ITI-62 Delete Document Set (ITI TF-2b
//! §3.62.4.1).

use super::DecodeError;
use super::query::AdhocQuery;
use super::reader::{Child, Path, Seq, attr};
use super::rim::{ObjectRef, RegistryObjectList};
use super::rs::RegistryRequest;
use super::writer::Writer;
use super::{LCM_NS, RIM_NS, RS_NS, WireMessage};
use crate::xml::Element;

/// `lcm:SubmitObjectsRequest`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SubmitObjectsRequest {
    pub request: RegistryRequest,
    pub objects: RegistryObjectList,
}

impl SubmitObjectsRequest {
    pub(crate) fn decode_child((el, path): Child<'_>) -> Result<SubmitObjectsRequest, DecodeError> {
        Self::decode_root(el, &path)
    }

    /// Writes the element; `declare` adds the namespace declarations it needs (false when an
    /// enclosing element declared them).
    pub(crate) fn encode_element(&self, w: &mut Writer, declare: bool) {
        w.start("lcm:SubmitObjectsRequest");
        if declare {
            w.attr("xmlns:lcm", LCM_NS);
            w.attr("xmlns:rim", RIM_NS);
            if self.request.uses_rs() {
                w.attr("xmlns:rs", RS_NS);
            }
        }
        self.request.encode_attrs(w);
        self.request.encode_content(w);
        self.objects.encode(w);
        w.end();
    }
}

impl WireMessage for SubmitObjectsRequest {
    const ROOT: (&'static str, &'static str) = (LCM_NS, "SubmitObjectsRequest");

    fn decode_root(el: &Element, path: &Path) -> Result<Self, DecodeError> {
        let mut seq = Seq::new(el, path)?;
        let request = RegistryRequest::decode(el, &mut seq)?;
        let objects = RegistryObjectList::decode(seq.one(RIM_NS, "RegistryObjectList")?)?;
        seq.end()?;
        Ok(SubmitObjectsRequest { request, objects })
    }

    fn encode_root(&self, w: &mut Writer) {
        self.encode_element(w, true);
    }
}

/// `lcm:RemoveObjectsRequest`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RemoveObjectsRequest {
    pub request: RegistryRequest,
    pub adhoc_query: Option<AdhocQuery>,
    /// `rim:ObjectRefList` (written only when not empty).
    pub object_refs: Vec<ObjectRef>,
    /// `deletionScope` (schema default
    /// `urn:oasis:names:tc:ebxml-regrep:DeletionScopeType:DeleteAll`).
    pub deletion_scope: Option<String>,
}

impl WireMessage for RemoveObjectsRequest {
    const ROOT: (&'static str, &'static str) = (LCM_NS, "RemoveObjectsRequest");

    fn decode_root(el: &Element, path: &Path) -> Result<Self, DecodeError> {
        let mut seq = Seq::new(el, path)?;
        let request = RegistryRequest::decode(el, &mut seq)?;
        let adhoc_query = seq
            .opt(RIM_NS, "AdhocQuery")
            .map(AdhocQuery::decode)
            .transpose()?;
        let object_refs = match seq.opt(RIM_NS, "ObjectRefList") {
            Some((list, lpath)) => {
                let mut s = Seq::new(list, &lpath)?;
                let refs = s
                    .many(RIM_NS, "ObjectRef")
                    .into_iter()
                    .map(ObjectRef::decode)
                    .collect::<Result<_, _>>()?;
                s.end()?;
                refs
            }
            None => Vec::new(),
        };
        seq.end()?;
        Ok(RemoveObjectsRequest {
            request,
            adhoc_query,
            object_refs,
            deletion_scope: attr(el, "deletionScope"),
        })
    }

    fn encode_root(&self, w: &mut Writer) {
        w.start("lcm:RemoveObjectsRequest");
        w.attr("xmlns:lcm", LCM_NS);
        w.attr("xmlns:rim", RIM_NS);
        if self.request.uses_rs() {
            w.attr("xmlns:rs", RS_NS);
        }
        self.request.encode_attrs(w);
        w.opt_attr("deletionScope", self.deletion_scope.as_deref());
        self.request.encode_content(w);
        if let Some(q) = &self.adhoc_query {
            q.encode(w);
        }
        if !self.object_refs.is_empty() {
            w.start("rim:ObjectRefList");
            for r in &self.object_refs {
                r.encode(w);
            }
            w.end();
        }
        w.end();
    }
}
