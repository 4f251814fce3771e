//! The XDS.b wrapper messages of namespace `urn:ihe:iti:xds-b:2007` (schema
//! `XDS.b_DocumentRepository.xsd`): `xdsb:ProvideAndRegisterDocumentSetRequest` (ITI-41, ITI TF-2b
//! §3.41.4.1.2), `xdsb:RetrieveDocumentSetRequest` and `xdsb:RetrieveDocumentSetResponse`
//! (ITI-43, ITI TF-2b §3.43.4.1.2 and §3.43.4.2.2).
//!
//! Document bytes are [`Bytes`]: content an MTOM decoder resolved is shared, not copied.

use bytes::Bytes;

use super::DecodeError;
use super::lcm::SubmitObjectsRequest;
use super::reader::{Path, Seq, binary, req_attr, token};
use super::rs::RegistryResponse;
use super::writer::Writer;
use super::{LCM_NS, RIM_NS, RS_NS, WireMessage, XDSB_NS};
use crate::xml::Element;

/// `xdsb:Document`: the bytes of the document whose DocumentEntry has the same id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Document {
    pub id: String,
    pub bytes: Bytes,
}

/// `xdsb:ProvideAndRegisterDocumentSetRequest`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ProvideAndRegisterDocumentSetRequest {
    pub submit: SubmitObjectsRequest,
    pub documents: Vec<Document>,
}

impl WireMessage for ProvideAndRegisterDocumentSetRequest {
    const ROOT: (&'static str, &'static str) = (XDSB_NS, "ProvideAndRegisterDocumentSetRequest");

    fn decode_root(el: &Element, path: &Path) -> Result<Self, DecodeError> {
        let mut seq = Seq::new(el, path)?;
        let submit = SubmitObjectsRequest::decode_child(seq.one(LCM_NS, "SubmitObjectsRequest")?)?;
        let mut documents = Vec::new();
        for (d, dpath) in seq.many(XDSB_NS, "Document") {
            documents.push(Document {
                id: req_attr(d, &dpath, "id")?,
                bytes: binary(d, &dpath)?,
            });
        }
        seq.end()?;
        Ok(ProvideAndRegisterDocumentSetRequest { submit, documents })
    }

    fn encode_root(&self, w: &mut Writer) {
        w.start("xdsb:ProvideAndRegisterDocumentSetRequest");
        w.attr("xmlns:xdsb", XDSB_NS);
        w.attr("xmlns:lcm", LCM_NS);
        w.attr("xmlns:rim", RIM_NS);
        if self.submit.request.uses_rs() {
            w.attr("xmlns:rs", RS_NS);
        }
        self.submit.encode_element(w, false);
        for d in &self.documents {
            let mime = self
                .submit
                .objects
                .extrinsic_objects()
                .find(|e| e.object.id == d.id)
                .and_then(|e| e.mime_type.as_deref())
                .unwrap_or("application/octet-stream");
            w.start("xdsb:Document");
            w.attr("id", &d.id);
            w.binary(&d.bytes, mime);
            w.end();
        }
        w.end();
    }
}

/// `xdsb:DocumentRequest`: one document to retrieve.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DocumentRequest {
    pub home_community_id: Option<String>,
    pub repository_unique_id: String,
    pub document_unique_id: String,
}

/// `xdsb:RetrieveDocumentSetRequest`. Identifiers are read trimmed.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RetrieveDocumentSetRequest {
    pub requests: Vec<DocumentRequest>,
}

impl WireMessage for RetrieveDocumentSetRequest {
    const ROOT: (&'static str, &'static str) = (XDSB_NS, "RetrieveDocumentSetRequest");

    fn decode_root(el: &Element, path: &Path) -> Result<Self, DecodeError> {
        let mut seq = Seq::new(el, path)?;
        let mut requests = Vec::new();
        for (r, rpath) in seq.at_least_one(XDSB_NS, "DocumentRequest")? {
            let mut rs = Seq::new(r, &rpath)?;
            let home_community_id = match rs.opt(XDSB_NS, "HomeCommunityId") {
                Some((e, p)) => Some(token(e, &p)?),
                None => None,
            };
            let (e, p) = rs.one(XDSB_NS, "RepositoryUniqueId")?;
            let repository_unique_id = token(e, &p)?;
            let (e, p) = rs.one(XDSB_NS, "DocumentUniqueId")?;
            let document_unique_id = token(e, &p)?;
            rs.end()?;
            requests.push(DocumentRequest {
                home_community_id,
                repository_unique_id,
                document_unique_id,
            });
        }
        seq.end()?;
        Ok(RetrieveDocumentSetRequest { requests })
    }

    fn encode_root(&self, w: &mut Writer) {
        w.start("xdsb:RetrieveDocumentSetRequest");
        w.attr("xmlns:xdsb", XDSB_NS);
        for r in &self.requests {
            w.start("xdsb:DocumentRequest");
            if let Some(h) = &r.home_community_id {
                w.leaf("xdsb:HomeCommunityId", h);
            }
            w.leaf("xdsb:RepositoryUniqueId", &r.repository_unique_id);
            w.leaf("xdsb:DocumentUniqueId", &r.document_unique_id);
            w.end();
        }
        w.end();
    }
}

/// `xdsb:DocumentResponse`: one retrieved document.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DocumentResponse {
    pub home_community_id: Option<String>,
    pub repository_unique_id: String,
    pub document_unique_id: String,
    /// On-Demand Documents only (ITI TF-2b §3.43.4.2.2).
    pub new_repository_unique_id: Option<String>,
    pub new_document_unique_id: Option<String>,
    pub mime_type: String,
    pub bytes: Bytes,
}

/// `xdsb:RetrieveDocumentSetResponse`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetrieveDocumentSetResponse {
    pub response: RegistryResponse,
    pub documents: Vec<DocumentResponse>,
}

impl WireMessage for RetrieveDocumentSetResponse {
    const ROOT: (&'static str, &'static str) = (XDSB_NS, "RetrieveDocumentSetResponse");

    fn decode_root(el: &Element, path: &Path) -> Result<Self, DecodeError> {
        let mut seq = Seq::new(el, path)?;
        let response = RegistryResponse::decode_child(seq.one(RS_NS, "RegistryResponse")?)?;
        let mut documents = Vec::new();
        for (d, dpath) in seq.many(XDSB_NS, "DocumentResponse") {
            let mut ds = Seq::new(d, &dpath)?;
            let opt_token =
                |ds: &mut Seq<'_>, local: &str| -> Result<Option<String>, DecodeError> {
                    match ds.opt(XDSB_NS, local) {
                        Some((e, p)) => Ok(Some(token(e, &p)?)),
                        None => Ok(None),
                    }
                };
            let home_community_id = opt_token(&mut ds, "HomeCommunityId")?;
            let (e, p) = ds.one(XDSB_NS, "RepositoryUniqueId")?;
            let repository_unique_id = token(e, &p)?;
            let (e, p) = ds.one(XDSB_NS, "DocumentUniqueId")?;
            let document_unique_id = token(e, &p)?;
            let new_repository_unique_id = opt_token(&mut ds, "NewRepositoryUniqueId")?;
            let new_document_unique_id = opt_token(&mut ds, "NewDocumentUniqueId")?;
            let (e, p) = ds.one(XDSB_NS, "mimeType")?;
            let mime_type = token(e, &p)?;
            let (e, p) = ds.one(XDSB_NS, "Document")?;
            let bytes = binary(e, &p)?;
            ds.end()?;
            documents.push(DocumentResponse {
                home_community_id,
                repository_unique_id,
                document_unique_id,
                new_repository_unique_id,
                new_document_unique_id,
                mime_type,
                bytes,
            });
        }
        seq.end()?;
        Ok(RetrieveDocumentSetResponse {
            response,
            documents,
        })
    }

    fn encode_root(&self, w: &mut Writer) {
        w.start("xdsb:RetrieveDocumentSetResponse");
        w.attr("xmlns:xdsb", XDSB_NS);
        w.attr("xmlns:rs", RS_NS);
        if !self.response.response_slots.is_empty() {
            w.attr("xmlns:rim", RIM_NS);
        }
        self.response.encode_element(w, false);
        for d in &self.documents {
            w.start("xdsb:DocumentResponse");
            if let Some(h) = &d.home_community_id {
                w.leaf("xdsb:HomeCommunityId", h);
            }
            w.leaf("xdsb:RepositoryUniqueId", &d.repository_unique_id);
            w.leaf("xdsb:DocumentUniqueId", &d.document_unique_id);
            if let Some(v) = &d.new_repository_unique_id {
                w.leaf("xdsb:NewRepositoryUniqueId", v);
            }
            if let Some(v) = &d.new_document_unique_id {
                w.leaf("xdsb:NewDocumentUniqueId", v);
            }
            w.leaf("xdsb:mimeType", &d.mime_type);
            w.start("xdsb:Document");
            w.binary(&d.bytes, &d.mime_type);
            w.end();
            w.end();
        }
        w.end();
    }
}
