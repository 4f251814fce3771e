//! hiehub Echo (`urn:hiehub:2026:Echo`): the SOAP analogue of DICOM C-ECHO. A hospital's
//! integrator checks connectivity, its client certificate and the audit trail with it; every echo
//! writes an audit event like any transaction. Schema: `schemas/hiehub-diagnostics.xsd`.

use crate::soap::fault::{Fault, Subcode};
use crate::xml::{Element, escape};

pub const NS: &str = "urn:hiehub:diagnostics:2026";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EchoRequest {
    pub text: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EchoResponse {
    pub text: Option<String>,
}

impl EchoRequest {
    pub fn from_xml(body: &Element) -> Result<EchoRequest, Fault> {
        if !body.is(NS, "EchoRequest") {
            return Err(Fault::sender(
                Subcode::hiehub("UnexpectedBody"),
                format!(
                    "the Echo action expects {{{NS}}}EchoRequest in the Body, not {{{}}}{}",
                    body.namespace().unwrap_or(""),
                    body.local
                ),
            ));
        }
        Ok(EchoRequest {
            text: body.child(NS, "Text").map(|t| t.text()),
        })
    }
}

impl EchoResponse {
    pub fn to_xml(&self) -> String {
        let mut s = format!("<d:EchoResponse xmlns:d=\"{NS}\">");
        if let Some(t) = &self.text {
            s.push_str(&format!("<d:Text>{}</d:Text>", escape(t)));
        }
        s.push_str("</d:EchoResponse>");
        s
    }
}

pub fn echo(req: EchoRequest) -> EchoResponse {
    EchoResponse { text: req.text }
}
