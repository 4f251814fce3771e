//! SOAP 1.2 envelope (SOAP 1.2 Part 1 §5) with WS-Addressing 1.0 headers (W3C WS-Addressing SOAP
//! Binding), and XOP include resolution for MTOM messages.

use super::fault::{Fault, FaultCode, Subcode};
use super::mtom::Multipart;
use super::{SOAP11_NS, SOAP12_NS, WSA_NS, XOP_NS};
use crate::xml::{Element, Node, escape};

/// The WS-Addressing message information headers of a request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Addressing {
    pub action: Option<String>,
    pub message_id: Option<String>,
    pub to: Option<String>,
    pub reply_to: Option<String>,
    pub relates_to: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Envelope {
    pub addressing: Addressing,
    /// The single child element of `env:Body`.
    pub body: Element,
    /// Header blocks other than WS-Addressing (e.g. a WS-Security header for XUA).
    pub other_headers: Vec<Element>,
}

/// A fault together with what was learnt of the message before it was raised.
#[derive(Debug, Clone)]
pub struct EnvelopeError {
    pub fault: Fault,
    pub addressing: Box<Addressing>,
}

const ROLE_NEXT: &str = "http://www.w3.org/2003/05/soap-envelope/role/next";
const ROLE_ULTIMATE: &str = "http://www.w3.org/2003/05/soap-envelope/role/ultimateReceiver";

/// Header namespaces whose blocks hiehub processes.
const UNDERSTOOD: &[&str] = &[WSA_NS];

fn is_true(v: Option<&str>) -> bool {
    matches!(v.map(str::trim), Some("1") | Some("true"))
}

/// Reads the envelope. `http_action` is the `action` parameter of the HTTP Content-Type, used
/// when `wsa:Action` is absent and checked against it when both are present.
pub fn parse_envelope(root: Element, http_action: Option<&str>) -> Result<Envelope, EnvelopeError> {
    parse_envelope_with(root, http_action, &[])
}

/// [`parse_envelope`], with more header namespaces processed by the caller (`understood`: e.g.
/// WS-Security when XUA assertions are verified).
pub fn parse_envelope_with(
    root: Element,
    http_action: Option<&str>,
    understood: &[&str],
) -> Result<Envelope, EnvelopeError> {
    let mut addressing = Addressing::default();
    let err = |fault: Fault, addressing: &Addressing| EnvelopeError {
        fault,
        addressing: Box::new(addressing.clone()),
    };
    if root.local == "Envelope" && root.namespace() == Some(SOAP11_NS) {
        return Err(err(
            Fault {
                code: FaultCode::VersionMismatch,
                subcode: None,
                reason: "SOAP 1.1 envelopes are not accepted: IHE ITI TF-2 requires SOAP 1.2 (namespace http://www.w3.org/2003/05/soap-envelope)".into(),
                security: false,
            },
            &addressing,
        ));
    }
    if !root.is(SOAP12_NS, "Envelope") {
        return Err(err(
            Fault {
                code: FaultCode::VersionMismatch,
                subcode: None,
                reason: format!(
                    "the root element is <{}> in namespace '{}', not a SOAP 1.2 Envelope",
                    root.local,
                    root.namespace().unwrap_or("")
                ),
                security: false,
            },
            &addressing,
        ));
    }
    let mut header: Option<Element> = None;
    let mut body: Option<Element> = None;
    for child in root.children {
        match child {
            Node::Element(e) if e.is(SOAP12_NS, "Header") && header.is_none() && body.is_none() => {
                header = Some(e)
            }
            Node::Element(e) if e.is(SOAP12_NS, "Body") && body.is_none() => body = Some(e),
            Node::Element(e) => {
                return Err(err(
                    Fault::sender(
                        Subcode::hiehub("InvalidEnvelope"),
                        format!(
                            "unexpected <{}> in the Envelope at {}: only one Header followed by one Body are allowed",
                            e.local, e.position
                        ),
                    ),
                    &addressing,
                ));
            }
            Node::Text(t) if t.trim().is_empty() => {}
            Node::Text(_) | Node::Binary(_) => {
                return Err(err(
                    Fault::sender(
                        Subcode::hiehub("InvalidEnvelope"),
                        "character data directly inside the Envelope",
                    ),
                    &addressing,
                ));
            }
        }
    }

    let mut other_headers = Vec::new();
    let mut not_understood: Option<String> = None;
    if let Some(h) = header {
        for block in h.children {
            let Node::Element(block) = block else {
                continue;
            };
            if block.namespace() == Some(WSA_NS) {
                let value = || Some(block.text().trim().to_owned());
                match block.local.as_str() {
                    "Action" => addressing.action = value(),
                    "MessageID" => addressing.message_id = value(),
                    "To" => addressing.to = value(),
                    "RelatesTo" => addressing.relates_to = value(),
                    "ReplyTo" => {
                        addressing.reply_to = block
                            .child(WSA_NS, "Address")
                            .map(|a| a.text().trim().to_owned())
                    }
                    _ => {}
                }
                continue;
            }
            let role = block.attr_ns(SOAP12_NS, "role").unwrap_or(ROLE_ULTIMATE);
            let targeted = role == ROLE_ULTIMATE || role == ROLE_NEXT;
            if targeted
                && is_true(block.attr_ns(SOAP12_NS, "mustUnderstand"))
                && !UNDERSTOOD.contains(&block.namespace().unwrap_or(""))
                && !understood.contains(&block.namespace().unwrap_or(""))
                && not_understood.is_none()
            {
                not_understood = Some(format!(
                    "{{{}}}{}",
                    block.namespace().unwrap_or(""),
                    block.local
                ));
            }
            other_headers.push(block);
        }
    }
    if let Some(name) = not_understood {
        return Err(err(
            Fault {
                code: FaultCode::MustUnderstand,
                subcode: None,
                reason: format!(
                    "header block {name} is marked mustUnderstand but hiehub does not process it"
                ),
                security: false,
            },
            &addressing,
        ));
    }

    match (&addressing.action, http_action) {
        (None, Some(a)) => addressing.action = Some(a.to_owned()),
        (None, None) => {
            return Err(err(
                Fault::sender(
                    Subcode::wsa("MessageAddressingHeaderRequired"),
                    "the wsa:Action header is required (WS-Addressing 1.0, namespace http://www.w3.org/2005/08/addressing)",
                ),
                &addressing,
            ));
        }
        (Some(a), Some(h)) if a != h => {
            return Err(err(
                Fault::sender(
                    Subcode::wsa("InvalidAddressingHeader"),
                    format!(
                        "wsa:Action '{a}' differs from the action parameter '{h}' of the HTTP Content-Type"
                    ),
                ),
                &addressing,
            ));
        }
        _ => {}
    }

    let Some(body) = body else {
        return Err(err(
            Fault::sender(
                Subcode::hiehub("InvalidEnvelope"),
                "the Envelope has no Body",
            ),
            &addressing,
        ));
    };
    let mut payload = None;
    for child in body.children {
        match child {
            Node::Element(e) if payload.is_none() => payload = Some(e),
            Node::Element(e) => {
                return Err(err(
                    Fault::sender(
                        Subcode::hiehub("InvalidEnvelope"),
                        format!(
                            "the Body holds more than one element (second: <{}> at {})",
                            e.local, e.position
                        ),
                    ),
                    &addressing,
                ));
            }
            _ => {}
        }
    }
    let Some(body) = payload else {
        return Err(err(
            Fault::sender(Subcode::hiehub("InvalidEnvelope"), "the Body is empty"),
            &addressing,
        ));
    };
    Ok(Envelope {
        addressing,
        body,
        other_headers,
    })
}

/// Replaces every `xop:Include` in `root` by the bytes of the MIME part it names.
/// Returns how many were resolved.
pub fn resolve_xop(root: &mut Element, parts: &Multipart) -> Result<usize, Fault> {
    let mut resolved = 0;
    root.replace_elements(&mut |e: &Element| {
        if !e.is(XOP_NS, "Include") {
            return Ok(None);
        }
        let Some(href) = e.attr("href") else {
            return Err(Fault::sender(
                Subcode::hiehub("InvalidXop"),
                format!("xop:Include at {} has no href", e.position),
            ));
        };
        match parts.attachment(href) {
            Some(part) => {
                resolved += 1;
                Ok(Some(part.body.clone()))
            }
            None => Err(Fault::sender(
                Subcode::hiehub("MissingMimePart"),
                format!(
                    "xop:Include at {} refers to '{href}', but no MIME part has that Content-ID",
                    e.position
                ),
            )),
        }
    })?;
    Ok(resolved)
}

/// Refuses `xop:Include` in a message that was not sent as MTOM.
pub fn forbid_xop(root: &mut Element) -> Result<(), Fault> {
    root.replace_elements(&mut |e: &Element| {
        if e.is(XOP_NS, "Include") {
            Err(Fault::sender(
                Subcode::hiehub("InvalidXop"),
                format!(
                    "xop:Include at {} in a message not sent as multipart/related (MTOM)",
                    e.position
                ),
            ))
        } else {
            Ok(None)
        }
    })
}

/// A response envelope with the WS-Addressing headers a reply carries.
pub fn response_envelope(action: &str, relates_to: Option<&str>, body_xml: &str) -> String {
    let mut header = format!(
        "<wsa:Action env:mustUnderstand=\"true\">{}</wsa:Action><wsa:MessageID>urn:uuid:{}</wsa:MessageID>",
        escape(action),
        uuid::Uuid::new_v4()
    );
    if let Some(r) = relates_to {
        header.push_str(&format!("<wsa:RelatesTo>{}</wsa:RelatesTo>", escape(r)));
    }
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><env:Envelope xmlns:env=\"{SOAP12_NS}\" xmlns:wsa=\"{WSA_NS}\"><env:Header>{header}</env:Header><env:Body>{body_xml}</env:Body></env:Envelope>"
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::xml::{Limits, parse};

    fn env(header: &str, body: &str) -> Element {
        let xml = format!(
            "<s:Envelope xmlns:s=\"{SOAP12_NS}\" xmlns:a=\"{WSA_NS}\"><s:Header>{header}</s:Header><s:Body>{body}</s:Body></s:Envelope>"
        );
        parse(xml.as_bytes(), &Limits::default()).unwrap()
    }

    #[test]
    fn addressing_headers_are_read() {
        let e = parse_envelope(
            env(
                "<a:Action s:mustUnderstand=\"1\">urn:x</a:Action><a:MessageID>urn:uuid:m</a:MessageID><a:To>http://h/x</a:To><a:ReplyTo><a:Address>http://www.w3.org/2005/08/addressing/anonymous</a:Address></a:ReplyTo>",
                "<q xmlns=\"urn:q\"/>",
            ),
            None,
        )
        .unwrap();
        assert_eq!(e.addressing.action.as_deref(), Some("urn:x"));
        assert_eq!(e.addressing.message_id.as_deref(), Some("urn:uuid:m"));
        assert_eq!(e.addressing.to.as_deref(), Some("http://h/x"));
        assert_eq!(
            e.addressing.reply_to.as_deref(),
            Some(super::super::WSA_ANONYMOUS)
        );
        assert!(e.body.is("urn:q", "q"));
    }

    #[test]
    fn response_round_trip() {
        let xml = response_envelope(
            "urn:x:Response",
            Some("urn:uuid:req"),
            "<r xmlns=\"urn:r\"/>",
        );
        let e = parse_envelope(parse(xml.as_bytes(), &Limits::default()).unwrap(), None).unwrap();
        assert_eq!(e.addressing.action.as_deref(), Some("urn:x:Response"));
        assert_eq!(e.addressing.relates_to.as_deref(), Some("urn:uuid:req"));
        assert!(e.addressing.message_id.unwrap().starts_with("urn:uuid:"));
        assert!(e.body.is("urn:r", "r"));
    }

    #[test]
    fn missing_action_faults_but_keeps_message_id() {
        let e =
            parse_envelope(env("<a:MessageID>urn:uuid:m</a:MessageID>", "<q/>"), None).unwrap_err();
        assert_eq!(
            e.fault.subcode,
            Some(Subcode::wsa("MessageAddressingHeaderRequired"))
        );
        assert_eq!(e.addressing.message_id.as_deref(), Some("urn:uuid:m"));
        // the HTTP action parameter stands in for it
        let ok = parse_envelope(env("", "<q/>"), Some("urn:y")).unwrap();
        assert_eq!(ok.addressing.action.as_deref(), Some("urn:y"));
        let clash =
            parse_envelope(env("<a:Action>urn:x</a:Action>", "<q/>"), Some("urn:y")).unwrap_err();
        assert_eq!(
            clash.fault.subcode,
            Some(Subcode::wsa("InvalidAddressingHeader"))
        );
    }

    #[test]
    fn must_understand_unknown_header_faults() {
        let e = parse_envelope(
            env(
                "<a:Action>urn:x</a:Action><w:Security xmlns:w=\"urn:wsse\" s:mustUnderstand=\"true\"/>",
                "<q/>",
            ),
            None,
        )
        .unwrap_err();
        assert_eq!(e.fault.code, FaultCode::MustUnderstand);
        // not targeted at us: ignored
        let ok = parse_envelope(
            env(
                "<a:Action>urn:x</a:Action><w:Security xmlns:w=\"urn:wsse\" s:mustUnderstand=\"true\" s:role=\"urn:someone-else\"/>",
                "<q/>",
            ),
            None,
        );
        assert!(ok.is_ok());
    }

    #[test]
    fn soap11_and_foreign_roots_are_version_mismatch() {
        let s11 = parse(
            format!("<e:Envelope xmlns:e=\"{SOAP11_NS}\"><e:Body/></e:Envelope>").as_bytes(),
            &Limits::default(),
        )
        .unwrap();
        assert_eq!(
            parse_envelope(s11, None).unwrap_err().fault.code,
            FaultCode::VersionMismatch
        );
        let other = parse(b"<x/>", &Limits::default()).unwrap();
        assert_eq!(
            parse_envelope(other, None).unwrap_err().fault.code,
            FaultCode::VersionMismatch
        );
    }

    #[test]
    fn body_must_hold_one_element() {
        let e = parse_envelope(env("<a:Action>urn:x</a:Action>", ""), None).unwrap_err();
        assert!(e.fault.reason.contains("empty"));
        let e = parse_envelope(env("<a:Action>urn:x</a:Action>", "<a/><b/>"), None).unwrap_err();
        assert!(e.fault.reason.contains("more than one"));
    }

    #[test]
    fn xop_include_outside_mtom_is_refused() {
        let mut root = env(
            "<a:Action>urn:x</a:Action>",
            &format!("<d><x:Include xmlns:x=\"{XOP_NS}\" href=\"cid:1\"/></d>"),
        );
        assert!(forbid_xop(&mut root).is_err());
    }
}
