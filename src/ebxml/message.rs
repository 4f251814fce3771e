//! The top-level messages: a trait for decoding one from its root element and encoding it to
//! text, and [`Message`], which decodes whichever of them a body holds.

use super::DecodeError;
use super::lcm::{RemoveObjectsRequest, SubmitObjectsRequest};
use super::query::{AdhocQueryRequest, AdhocQueryResponse};
use super::reader::{Path, element_qname, expect_root, qname};
use super::rs::RegistryResponse;
use super::writer::{EncodeOptions, Encoded, Writer};
use super::xdsb::{
    ProvideAndRegisterDocumentSetRequest, RetrieveDocumentSetRequest, RetrieveDocumentSetResponse,
};
use crate::xml::Element;

/// A message that is the single child of a SOAP `env:Body`.
pub trait WireMessage: Sized {
    /// Namespace and local name of the root element.
    const ROOT: (&'static str, &'static str);

    /// Decodes the message; `el` must be its root element.
    fn decode(el: &Element) -> Result<Self, DecodeError> {
        let path = expect_root(el, Self::ROOT.0, Self::ROOT.1)?;
        Self::decode_root(el, &path)
    }

    /// Encodes the message as the XML of a SOAP body (no XML declaration).
    fn to_xml(&self, opts: EncodeOptions) -> Encoded {
        let mut w = Writer::new(opts);
        self.encode_root(&mut w);
        w.finish()
    }

    #[doc(hidden)]
    fn decode_root(el: &Element, path: &Path) -> Result<Self, DecodeError>;

    #[doc(hidden)]
    fn encode_root(&self, w: &mut Writer);
}

/// Any of the messages of this module, by its root element.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    SubmitObjectsRequest(SubmitObjectsRequest),
    ProvideAndRegisterDocumentSetRequest(ProvideAndRegisterDocumentSetRequest),
    RemoveObjectsRequest(RemoveObjectsRequest),
    AdhocQueryRequest(AdhocQueryRequest),
    AdhocQueryResponse(AdhocQueryResponse),
    RegistryResponse(RegistryResponse),
    RetrieveDocumentSetRequest(RetrieveDocumentSetRequest),
    RetrieveDocumentSetResponse(RetrieveDocumentSetResponse),
}

macro_rules! roots {
    ($($variant:ident),* $(,)?) => {
        impl Message {
            /// Decodes whichever message `el` is the root of.
            pub fn decode(el: &Element) -> Result<Message, DecodeError> {
                $(
                    if el.is($variant::ROOT.0, $variant::ROOT.1) {
                        return $variant::decode(el).map(Message::$variant);
                    }
                )*
                Err(DecodeError::UnexpectedRoot {
                    found: element_qname(el),
                    expected: vec![$(qname(Some($variant::ROOT.0), $variant::ROOT.1)),*],
                    at: el.position,
                })
            }

            pub fn to_xml(&self, opts: EncodeOptions) -> Encoded {
                match self {
                    $(Message::$variant(m) => m.to_xml(opts),)*
                }
            }
        }
    };
}

roots!(
    SubmitObjectsRequest,
    ProvideAndRegisterDocumentSetRequest,
    RemoveObjectsRequest,
    AdhocQueryRequest,
    AdhocQueryResponse,
    RegistryResponse,
    RetrieveDocumentSetRequest,
    RetrieveDocumentSetResponse,
);
