//! SOAP 1.2 faults (SOAP 1.2 Part 1 §5.4) with WS-Addressing fault subcodes.

use super::{SOAP12_NS, WSA_FAULT_ACTION, WSA_NS};
use crate::xml::escape;

/// `env:Code/env:Value`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultCode {
    VersionMismatch,
    MustUnderstand,
    DataEncodingUnknown,
    Sender,
    Receiver,
}

impl FaultCode {
    fn local(self) -> &'static str {
        match self {
            FaultCode::VersionMismatch => "VersionMismatch",
            FaultCode::MustUnderstand => "MustUnderstand",
            FaultCode::DataEncodingUnknown => "DataEncodingUnknown",
            FaultCode::Sender => "Sender",
            FaultCode::Receiver => "Receiver",
        }
    }
}

/// A subcode QName: namespace, preferred prefix, local part.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subcode {
    pub ns: &'static str,
    pub prefix: &'static str,
    pub local: &'static str,
}

pub const HIEHUB_NS: &str = "urn:hiehub:fault:2026";

impl Subcode {
    pub const fn wsa(local: &'static str) -> Subcode {
        Subcode {
            ns: WSA_NS,
            prefix: "wsa",
            local,
        }
    }
    /// WS-Security 1.0 fault codes (`wsse:InvalidSecurity`, `wsse:FailedCheck`...).
    pub const fn wsse(local: &'static str) -> Subcode {
        Subcode {
            ns: crate::xua::WSSE_NS,
            prefix: "wsse",
            local,
        }
    }
    pub const fn hiehub(local: &'static str) -> Subcode {
        Subcode {
            ns: HIEHUB_NS,
            prefix: "hh",
            local,
        }
    }
}

/// A SOAP fault as hiehub sends it: a code a program can act on, a reason a person can act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fault {
    pub code: FaultCode,
    pub subcode: Option<Subcode>,
    pub reason: String,
    /// Whether this fault is a security event (XXE attempt, entity bomb...) worth a Security Alert.
    pub security: bool,
}

impl Fault {
    pub fn sender(subcode: Subcode, reason: impl Into<String>) -> Fault {
        Fault {
            code: FaultCode::Sender,
            subcode: Some(subcode),
            reason: reason.into(),
            security: false,
        }
    }

    pub fn receiver(subcode: Subcode, reason: impl Into<String>) -> Fault {
        Fault {
            code: FaultCode::Receiver,
            subcode: Some(subcode),
            reason: reason.into(),
            security: false,
        }
    }

    pub fn with_security(mut self) -> Fault {
        self.security = true;
        self
    }

    pub fn action_not_supported(action: &str, endpoint: &str) -> Fault {
        Fault::sender(
            Subcode::wsa("ActionNotSupported"),
            format!(
                "the action '{action}' is not supported at {endpoint}; see {endpoint}?wsdl for the operations offered there"
            ),
        )
    }

    /// HTTP status per the SOAP 1.2 HTTP binding (Part 2 §7.5.2).
    pub fn http_status(&self) -> u16 {
        match self.code {
            FaultCode::Sender => 400,
            _ => 500,
        }
    }

    /// The complete fault envelope. `relates_to`: the request's `wsa:MessageID`, if it was read.
    pub fn to_envelope(&self, relates_to: Option<&str>) -> String {
        let mut header = format!(
            "<wsa:Action>{WSA_FAULT_ACTION}</wsa:Action><wsa:MessageID>urn:uuid:{}</wsa:MessageID>",
            uuid::Uuid::new_v4()
        );
        if let Some(r) = relates_to {
            header.push_str(&format!("<wsa:RelatesTo>{}</wsa:RelatesTo>", escape(r)));
        }
        let subcode = match &self.subcode {
            Some(s) => format!(
                "<env:Subcode><env:Value xmlns:{p}=\"{ns}\">{p}:{l}</env:Value></env:Subcode>",
                p = s.prefix,
                ns = s.ns,
                l = s.local
            ),
            None => String::new(),
        };
        format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\
<env:Envelope xmlns:env=\"{SOAP12_NS}\" xmlns:wsa=\"{WSA_NS}\">\
<env:Header>{header}</env:Header>\
<env:Body><env:Fault><env:Code><env:Value>env:{code}</env:Value>{subcode}</env:Code>\
<env:Reason><env:Text xml:lang=\"en\">{reason}</env:Text></env:Reason></env:Fault></env:Body></env:Envelope>",
            code = self.code.local(),
            reason = escape(&self.reason),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::xml::{Limits, parse};

    #[test]
    fn fault_round_trips_through_the_parser() {
        let f = Fault::action_not_supported("urn:x", "/xds/registry");
        let xml = f.to_envelope(Some("urn:uuid:1"));
        let root = parse(xml.as_bytes(), &Limits::default()).unwrap();
        let header = root.child(SOAP12_NS, "Header").unwrap();
        assert_eq!(
            header.child(WSA_NS, "RelatesTo").unwrap().text(),
            "urn:uuid:1"
        );
        assert_eq!(
            header.child(WSA_NS, "Action").unwrap().text(),
            WSA_FAULT_ACTION
        );
        let fault = root
            .child(SOAP12_NS, "Body")
            .and_then(|b| b.child(SOAP12_NS, "Fault"))
            .unwrap();
        let code = fault.child(SOAP12_NS, "Code").unwrap();
        let value = code.child(SOAP12_NS, "Value").unwrap();
        assert_eq!(
            value.resolve_qname(&value.text()),
            Some((Some(SOAP12_NS), "Sender"))
        );
        let sub = code
            .child(SOAP12_NS, "Subcode")
            .and_then(|s| s.child(SOAP12_NS, "Value"))
            .unwrap();
        assert_eq!(
            sub.resolve_qname(&sub.text()),
            Some((Some(WSA_NS), "ActionNotSupported"))
        );
        let reason = fault.child(SOAP12_NS, "Reason").unwrap();
        assert!(
            reason
                .child(SOAP12_NS, "Text")
                .unwrap()
                .text()
                .contains("urn:x")
        );
        assert_eq!(f.http_status(), 400);
    }

    #[test]
    fn reason_is_escaped() {
        let f = Fault::receiver(Subcode::hiehub("X"), "a < b & c");
        let xml = f.to_envelope(None);
        assert!(xml.contains("a &lt; b &amp; c"));
        assert!(!xml.contains("RelatesTo"));
        assert_eq!(f.http_status(), 500);
    }
}
