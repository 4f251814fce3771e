//! Answers and notifications: HL7v3 mirror types → XML text (default namespace urn:hl7-org:v3).

use std::fmt::Write;

use super::*;
use crate::xml::escape;

fn ii_xml(out: &mut String, tag: &str, id: &Ii) {
    let _ = write!(out, "<{tag} root=\"{}\"", escape(&id.root));
    if let Some(e) = &id.extension {
        let _ = write!(out, " extension=\"{}\"", escape(e));
    }
    out.push_str("/>");
}

fn device(out: &mut String, tag: &str, type_code: &str, root: Option<&str>) {
    let _ = write!(
        out,
        "<{tag} typeCode=\"{type_code}\"><device classCode=\"DEV\" determinerCode=\"INSTANCE\">"
    );
    match root {
        Some(r) => {
            let _ = write!(out, "<id root=\"{}\"/>", escape(r));
        }
        None => out.push_str("<id nullFlavor=\"UNK\"/>"),
    }
    let _ = write!(out, "</device></{tag}>");
}

/// The message head and addressing of an answer to `request`, up to (not including) the
/// acknowledgement.
fn head(out: &mut String, interaction: &str, our_device: &str, request: &Header) {
    let _ = write!(
        out,
        "<{interaction} xmlns=\"{NS}\" xmlns:xsi=\"{XSI}\" ITSVersion=\"XML_1.0\">"
    );
    let _ = write!(out, "<id root=\"{}\"/>", uuid::Uuid::new_v4());
    let _ = write!(
        out,
        "<creationTime value=\"{}\"/>",
        chrono::Utc::now().format("%Y%m%d%H%M%S")
    );
    let _ = write!(
        out,
        "<interactionId root=\"{INTERACTION_ROOT}\" extension=\"{interaction}\"/>"
    );
    out.push_str(
        "<processingCode code=\"P\"/><processingModeCode code=\"T\"/><acceptAckCode code=\"NE\"/>",
    );
    device(out, "receiver", "RCV", request.sender_device.as_deref());
    device(out, "sender", "SND", Some(our_device));
}

fn acknowledgement(out: &mut String, request: &Header, ack: AckCode, details: &[AckDetail]) {
    let _ = write!(
        out,
        "<acknowledgement><typeCode code=\"{}\"/><targetMessage>",
        ack.as_str()
    );
    match &request.id {
        Some(id) => ii_xml(out, "id", id),
        None => out.push_str("<id nullFlavor=\"UNK\"/>"),
    }
    out.push_str("</targetMessage>");
    for d in details {
        let kind = if ack == AckCode::Aa { "W" } else { "E" };
        let _ = write!(out, "<acknowledgementDetail typeCode=\"{kind}\">");
        if let Some(code) = &d.code {
            let _ = write!(
                out,
                "<code code=\"{}\" codeSystem=\"{ACK_DETAIL_SYSTEM}\"/>",
                escape(code)
            );
        }
        let _ = write!(out, "<text>{}</text>", escape(&d.text));
        if let Some(l) = &d.location {
            let _ = write!(out, "<location>{}</location>", escape(l));
        }
        out.push_str("</acknowledgementDetail>");
    }
    out.push_str("</acknowledgement>");
}

/// MCCI_IN000002UV01: the accept acknowledgement of an ITI-44 feed or an ITI-47 cancel.
pub fn accept_ack(
    request: &Header,
    our_device: &str,
    ack: AckCode,
    details: &[AckDetail],
) -> String {
    let mut out = String::with_capacity(1024);
    head(&mut out, "MCCI_IN000002UV01", our_device, request);
    acknowledgement(&mut out, request, ack, details);
    out.push_str("</MCCI_IN000002UV01>");
    out
}

fn name_xml(out: &mut String, n: &Name) {
    match &n.use_code {
        Some(u) => {
            let _ = write!(out, "<name use=\"{}\">", escape(u));
        }
        None => out.push_str("<name>"),
    }
    for g in &n.given {
        let _ = write!(out, "<given>{}</given>", escape(g));
    }
    for f in &n.family {
        let _ = write!(out, "<family>{}</family>", escape(f));
    }
    out.push_str("</name>");
}

fn person_xml(out: &mut String, p: &Person) {
    out.push_str("<patientPerson classCode=\"PSN\" determinerCode=\"INSTANCE\">");
    if p.names.is_empty() {
        out.push_str("<name nullFlavor=\"NA\"/>");
    }
    for n in &p.names {
        name_xml(out, n);
    }
    for t in &p.telecoms {
        let _ = write!(out, "<telecom value=\"{}\"/>", escape(t));
    }
    if let Some(g) = &p.gender {
        let _ = write!(
            out,
            "<administrativeGenderCode code=\"{}\" codeSystem=\"2.16.840.1.113883.5.1\"/>",
            escape(g)
        );
    }
    if let Some(b) = &p.birth_time {
        let _ = write!(out, "<birthTime value=\"{}\"/>", escape(b));
    }
    for a in &p.addresses {
        out.push_str("<addr>");
        for s in &a.street {
            let _ = write!(out, "<streetAddressLine>{}</streetAddressLine>", escape(s));
        }
        for (tag, v) in [
            ("city", &a.city),
            ("state", &a.state),
            ("postalCode", &a.postal_code),
            ("country", &a.country),
        ] {
            if let Some(v) = v {
                let _ = write!(out, "<{tag}>{}</{tag}>", escape(v));
            }
        }
        out.push_str("</addr>");
    }
    for id in &p.other_ids {
        out.push_str("<asOtherIDs classCode=\"PAT\">");
        ii_xml(out, "id", id);
        let _ = write!(
            out,
            "<scopingOrganization classCode=\"ORG\" determinerCode=\"INSTANCE\"><id root=\"{}\"/></scopingOrganization></asOtherIDs>",
            escape(&id.root)
        );
    }
    out.push_str("</patientPerson>");
}

fn custodian(out: &mut String, our_device: &str) {
    let _ = write!(
        out,
        "<custodian typeCode=\"CST\"><assignedEntity classCode=\"ASSIGNED\"><id root=\"{}\"/></assignedEntity></custodian>",
        escape(our_device)
    );
}

/// queryAck: the query's outcome and counts.
pub struct QueryAck<'a> {
    /// `None` when the request could not be read far enough to know it.
    pub query_id: Option<&'a Ii>,
    /// OK, NF, AE, QE.
    pub response_code: &'a str,
    pub total: u32,
    pub current: u32,
    pub remaining: u32,
}

fn query_ack(out: &mut String, q: &QueryAck<'_>) {
    out.push_str("<queryAck>");
    match q.query_id {
        Some(id) => ii_xml(out, "queryId", id),
        None => out.push_str("<queryId nullFlavor=\"NI\"/>"),
    }
    let _ = write!(
        out,
        "<statusCode code=\"deliveredResponse\"/><queryResponseCode code=\"{}\"/>\
         <resultTotalQuantity value=\"{}\"/><resultCurrentQuantity value=\"{}\"/>\
         <resultRemainingQuantity value=\"{}\"/></queryAck>",
        q.response_code, q.total, q.current, q.remaining
    );
}

/// The patient of a PIX answer: all its cross-referenced ids (after the dataSource filter).
pub struct PixPatient {
    pub ids: Vec<Ii>,
    pub person: Person,
}

/// ITI-45 PRPA_IN201310UV02.
pub fn pix_response(
    request: &Header,
    our_device: &str,
    ack: AckCode,
    details: &[AckDetail],
    qa: &QueryAck<'_>,
    query_xml: &str,
    patient: Option<&PixPatient>,
) -> String {
    let mut out = String::with_capacity(2048);
    head(&mut out, "PRPA_IN201310UV02", our_device, request);
    acknowledgement(&mut out, request, ack, details);
    out.push_str("<controlActProcess classCode=\"CACT\" moodCode=\"EVN\"><code code=\"PRPA_TE201310UV02\" codeSystem=\"2.16.840.1.113883.1.6\"/>");
    if let Some(p) = patient {
        out.push_str("<subject typeCode=\"SUBJ\"><registrationEvent classCode=\"REG\" moodCode=\"EVN\"><id nullFlavor=\"NA\"/><statusCode code=\"active\"/><subject1 typeCode=\"SBJ\"><patient classCode=\"PAT\">");
        for id in &p.ids {
            ii_xml(&mut out, "id", id);
        }
        out.push_str("<statusCode code=\"active\"/>");
        let person = Person {
            other_ids: Vec::new(),
            ..p.person.clone()
        };
        person_xml(&mut out, &person);
        out.push_str("</patient></subject1>");
        custodian(&mut out, our_device);
        out.push_str("</registrationEvent></subject>");
    }
    query_ack(&mut out, qa);
    out.push_str(query_xml);
    out.push_str("</controlActProcess></PRPA_IN201310UV02>");
    out
}

/// One patient of a PDQ answer with its match score (0..=100).
pub struct PdqMatch {
    pub ids: Vec<Ii>,
    pub person: Person,
    pub score: u32,
}

/// ITI-47 PRPA_IN201306UV02 (first answer or a continuation).
pub fn pdq_response(
    request: &Header,
    our_device: &str,
    ack: AckCode,
    details: &[AckDetail],
    qa: &QueryAck<'_>,
    query_xml: &str,
    matches: &[PdqMatch],
) -> String {
    let mut out = String::with_capacity(2048 + matches.len() * 1024);
    head(&mut out, "PRPA_IN201306UV02", our_device, request);
    acknowledgement(&mut out, request, ack, details);
    out.push_str("<controlActProcess classCode=\"CACT\" moodCode=\"EVN\"><code code=\"PRPA_TE201306UV02\" codeSystem=\"2.16.840.1.113883.1.6\"/>");
    for m in matches {
        out.push_str("<subject typeCode=\"SUBJ\"><registrationEvent classCode=\"REG\" moodCode=\"EVN\"><id nullFlavor=\"NA\"/><statusCode code=\"active\"/><subject1 typeCode=\"SBJ\"><patient classCode=\"PAT\">");
        for id in &m.ids {
            ii_xml(&mut out, "id", id);
        }
        out.push_str("<statusCode code=\"active\"/>");
        person_xml(&mut out, &m.person);
        let _ = write!(
            out,
            "<subjectOf1><queryMatchObservation classCode=\"COND\" moodCode=\"EVN\"><code code=\"IHE_PDQ\"/><value xsi:type=\"INT\" value=\"{}\"/></queryMatchObservation></subjectOf1>",
            m.score
        );
        out.push_str("</patient></subject1>");
        custodian(&mut out, our_device);
        out.push_str("</registrationEvent></subject>");
    }
    query_ack(&mut out, qa);
    out.push_str(query_xml);
    out.push_str("</controlActProcess></PRPA_IN201306UV02>");
    out
}

/// ITI-46 PIX Update Notification: PRPA_IN201302UV02 with the person's cross-referenced ids.
pub fn update_notification(
    our_device: &str,
    receiver_device: Option<&str>,
    ids: &[Ii],
    person: &Person,
) -> String {
    let mut out = String::with_capacity(2048);
    let request = Header {
        sender_device: receiver_device.map(str::to_owned),
        ..Header::default()
    };
    let _ = write!(
        out,
        "<PRPA_IN201302UV02 xmlns=\"{NS}\" xmlns:xsi=\"{XSI}\" ITSVersion=\"XML_1.0\">"
    );
    let _ = write!(out, "<id root=\"{}\"/>", uuid::Uuid::new_v4());
    let _ = write!(
        out,
        "<creationTime value=\"{}\"/>",
        chrono::Utc::now().format("%Y%m%d%H%M%S")
    );
    let _ = write!(
        out,
        "<interactionId root=\"{INTERACTION_ROOT}\" extension=\"PRPA_IN201302UV02\"/>"
    );
    out.push_str(
        "<processingCode code=\"P\"/><processingModeCode code=\"T\"/><acceptAckCode code=\"AL\"/>",
    );
    device(
        &mut out,
        "receiver",
        "RCV",
        request.sender_device.as_deref(),
    );
    device(&mut out, "sender", "SND", Some(our_device));
    out.push_str("<controlActProcess classCode=\"CACT\" moodCode=\"EVN\"><code code=\"PRPA_TE201302UV02\" codeSystem=\"2.16.840.1.113883.1.6\"/><subject typeCode=\"SUBJ\"><registrationEvent classCode=\"REG\" moodCode=\"EVN\"><id nullFlavor=\"NA\"/><statusCode code=\"active\"/><subject1 typeCode=\"SBJ\"><patient classCode=\"PAT\">");
    for id in ids {
        ii_xml(&mut out, "id", id);
    }
    out.push_str("<statusCode code=\"active\"/>");
    let person = Person {
        other_ids: Vec::new(),
        ..person.clone()
    };
    person_xml(&mut out, &person);
    out.push_str("</patient></subject1>");
    custodian(&mut out, our_device);
    out.push_str("</registrationEvent></subject></controlActProcess></PRPA_IN201302UV02>");
    out
}
