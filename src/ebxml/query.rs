//! ebRS 3.0 Query Management (OASIS regrep-rs-3.0-os §6; schema `query.xsd`) as used by ITI-18
//! Registry Stored Query (ITI TF-2a §3.18.4.1): `query:AdhocQueryRequest` with its
//! `query:ResponseOption` and `rim:AdhocQuery` (the stored query id and its parameters as slots),
//! and `query:AdhocQueryResponse`.

use super::DecodeError;
use super::reader::{Child, Path, Seq, attr, bool_attr, enum_attr, int_attr, req_attr, text_only};
use super::rim::{RegistryObject, RegistryObjectList};
use super::rs::{RegistryRequest, RegistryResponse};
use super::writer::Writer;
use super::{QUERY_NS, RIM_NS, RS_NS, WireMessage};
use crate::xml::Element;

/// `rim:QueryExpression` (an ad hoc query in some query language; stored queries have none).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct QueryExpression {
    pub query_language: String,
    /// The text content. Element content (`xs:any`) is refused: XDS does not use it.
    pub text: String,
}

/// `rim:AdhocQuery`: for a stored query, `object.id` is the query's UUID and `object.slots`
/// are its parameters.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AdhocQuery {
    pub object: RegistryObject,
    pub query_expression: Option<QueryExpression>,
}

impl AdhocQuery {
    pub(crate) fn decode((el, path): Child<'_>) -> Result<AdhocQuery, DecodeError> {
        let mut seq = Seq::new(el, &path)?;
        let object = RegistryObject::decode(el, &path, &mut seq)?;
        let query_expression = match seq.opt(RIM_NS, "QueryExpression") {
            Some((q, qpath)) => Some(QueryExpression {
                query_language: req_attr(q, &qpath, "queryLanguage")?,
                text: text_only(q, &qpath)?,
            }),
            None => None,
        };
        seq.end()?;
        Ok(AdhocQuery {
            object,
            query_expression,
        })
    }

    pub(crate) fn encode(&self, w: &mut Writer) {
        w.start("rim:AdhocQuery");
        self.object.encode_attrs(w);
        self.object.encode_content(w);
        if let Some(q) = &self.query_expression {
            w.start("rim:QueryExpression");
            w.attr("queryLanguage", &q.query_language);
            w.text(&q.text);
            w.end();
        }
        w.end();
    }
}

/// `query:ResponseOption/@returnType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReturnType {
    ObjectRef,
    RegistryObject,
    LeafClass,
    LeafClassWithRepositoryItem,
}

impl ReturnType {
    pub fn as_str(self) -> &'static str {
        match self {
            ReturnType::ObjectRef => "ObjectRef",
            ReturnType::RegistryObject => "RegistryObject",
            ReturnType::LeafClass => "LeafClass",
            ReturnType::LeafClassWithRepositoryItem => "LeafClassWithRepositoryItem",
        }
    }

    pub fn parse(s: &str) -> Option<ReturnType> {
        match s {
            "ObjectRef" => Some(ReturnType::ObjectRef),
            "RegistryObject" => Some(ReturnType::RegistryObject),
            "LeafClass" => Some(ReturnType::LeafClass),
            "LeafClassWithRepositoryItem" => Some(ReturnType::LeafClassWithRepositoryItem),
            _ => None,
        }
    }
}

/// `query:ResponseOption`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ResponseOption {
    /// Absent means `RegistryObject` (schema default).
    pub return_type: Option<ReturnType>,
    /// Absent means false (schema default).
    pub return_composed_objects: Option<bool>,
}

/// `query:AdhocQueryRequest`: the body of ITI-18.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AdhocQueryRequest {
    pub request: RegistryRequest,
    pub response_option: ResponseOption,
    pub adhoc_query: AdhocQuery,
    pub federated: Option<bool>,
    pub federation: Option<String>,
    pub start_index: Option<i64>,
    pub max_results: Option<i64>,
}

impl WireMessage for AdhocQueryRequest {
    const ROOT: (&'static str, &'static str) = (QUERY_NS, "AdhocQueryRequest");

    fn decode_root(el: &Element, path: &Path) -> Result<Self, DecodeError> {
        let mut seq = Seq::new(el, path)?;
        let request = RegistryRequest::decode(el, &mut seq)?;
        let (ro, ro_path) = seq.one(QUERY_NS, "ResponseOption")?;
        Seq::new(ro, &ro_path)?.end()?;
        let response_option = ResponseOption {
            return_type: enum_attr(
                ro,
                &ro_path,
                "returnType",
                "one of ObjectRef, RegistryObject, LeafClass, LeafClassWithRepositoryItem",
                ReturnType::parse,
            )?,
            return_composed_objects: bool_attr(ro, &ro_path, "returnComposedObjects")?,
        };
        let adhoc_query = AdhocQuery::decode(seq.one(RIM_NS, "AdhocQuery")?)?;
        seq.end()?;
        Ok(AdhocQueryRequest {
            request,
            response_option,
            adhoc_query,
            federated: bool_attr(el, path, "federated")?,
            federation: attr(el, "federation"),
            start_index: int_attr(el, path, "startIndex")?,
            max_results: int_attr(el, path, "maxResults")?,
        })
    }

    fn encode_root(&self, w: &mut Writer) {
        w.start("query:AdhocQueryRequest");
        w.attr("xmlns:query", QUERY_NS);
        w.attr("xmlns:rim", RIM_NS);
        if self.request.uses_rs() {
            w.attr("xmlns:rs", RS_NS);
        }
        self.request.encode_attrs(w);
        w.bool_attr("federated", self.federated);
        w.opt_attr("federation", self.federation.as_deref());
        w.int_attr("startIndex", self.start_index);
        w.int_attr("maxResults", self.max_results);
        self.request.encode_content(w);
        w.start("query:ResponseOption");
        w.opt_attr(
            "returnType",
            self.response_option.return_type.map(ReturnType::as_str),
        );
        w.bool_attr(
            "returnComposedObjects",
            self.response_option.return_composed_objects,
        );
        w.end();
        self.adhoc_query.encode(w);
        w.end();
    }
}

/// `query:AdhocQueryResponse`: the response of ITI-18.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdhocQueryResponse {
    pub response: RegistryResponse,
    pub start_index: Option<i64>,
    pub total_result_count: Option<i64>,
    /// Required by the schema; tolerated as absent (read as empty) from lax peers on failure.
    pub objects: RegistryObjectList,
}

impl WireMessage for AdhocQueryResponse {
    const ROOT: (&'static str, &'static str) = (QUERY_NS, "AdhocQueryResponse");

    fn decode_root(el: &Element, path: &Path) -> Result<Self, DecodeError> {
        let mut seq = Seq::new(el, path)?;
        let response = RegistryResponse::decode_base(el, path, &mut seq)?;
        let objects = seq
            .opt(RIM_NS, "RegistryObjectList")
            .map(RegistryObjectList::decode)
            .transpose()?
            .unwrap_or_default();
        seq.end()?;
        Ok(AdhocQueryResponse {
            response,
            start_index: int_attr(el, path, "startIndex")?,
            total_result_count: int_attr(el, path, "totalResultCount")?,
            objects,
        })
    }

    fn encode_root(&self, w: &mut Writer) {
        w.start("query:AdhocQueryResponse");
        w.attr("xmlns:query", QUERY_NS);
        w.attr("xmlns:rs", RS_NS);
        w.attr("xmlns:rim", RIM_NS);
        self.response.encode_attrs(w);
        w.int_attr("startIndex", self.start_index);
        w.int_attr("totalResultCount", self.total_result_count);
        self.response.encode_content(w);
        self.objects.encode(w);
        w.end();
    }
}
