//! [`AuditMessage`] into the DICOM PS3.15 A.5 XML form (`dicom2017c.xsd` validates it).
//!
//! The output is deterministic: schema element order, a fixed attribute order, no whitespace
//! between elements, one line. Text is escaped for the place it goes (in attribute values with
//! character references only); tab, line feed and carriage return in attribute values, and
//! carriage return in text, are written as character references so that they survive a round
//! trip, and
//! characters XML 1.0 cannot carry at all (other C0 controls, U+FFFE, U+FFFF) become U+FFFD.
//!
//! Coded values missing what DICOM requires (RFC 3881 input) are completed: `codeSystemName`
//! empty, `originalText` from `displayName`, else the code. The output validates whenever the
//! model fits the DICOM schema, which is always so for the builders and for messages read from
//! valid DICOM input. A model can hold four things the schema refuses, and they are written as
//! they are rather than dropped or invented: additional audit sources (RFC 3881 allows several),
//! a name *and* a query on one participant object, an EventDateTime that is not an xs:dateTime
//! (when `time` is known, it is written instead), and no active participant at all.

use std::fmt::Write as _;

use base64::Engine;

use super::model::*;

/// Writes `message` as a DICOM audit message, with an XML declaration.
pub fn encode(message: &AuditMessage) -> String {
    let mut w = Writer(String::with_capacity(1024));
    w.0.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>");
    w.0.push_str("<AuditMessage>");
    event_identification(&mut w, &message.event);
    for p in &message.active_participants {
        active_participant(&mut w, p);
    }
    audit_source(&mut w, &message.audit_source);
    for s in &message.additional_audit_sources {
        audit_source(&mut w, s);
    }
    for o in &message.participant_objects {
        participant_object(&mut w, o);
    }
    w.0.push_str("</AuditMessage>");
    w.0
}

struct Writer(String);

impl Writer {
    fn open(&mut self, name: &str) {
        self.0.push('<');
        self.0.push_str(name);
    }

    fn attr(&mut self, name: &str, value: &str) {
        self.0.push(' ');
        self.0.push_str(name);
        self.0.push_str("=\"");
        self.escaped(value, true);
        self.0.push('"');
    }

    fn opt_attr(&mut self, name: &str, value: Option<&str>) {
        if let Some(v) = value {
            self.attr(name, v);
        }
    }

    fn num_attr(&mut self, name: &str, value: Option<u8>) {
        if let Some(v) = value {
            let _ = write!(self.0, " {name}=\"{v}\"");
        }
    }

    fn text_element(&mut self, name: &str, text: &str) {
        let _ = write!(self.0, "<{name}>");
        self.escaped(text, false);
        let _ = write!(self.0, "</{name}>");
    }

    fn escaped(&mut self, s: &str, in_attr: bool) {
        for c in s.chars() {
            match c {
                '&' => self.0.push_str("&amp;"),
                // Character references rather than `&lt;`, `&gt;`, `&quot;` in attribute values:
                // crate::xml (quick-xml's attribute normalization with no entity resolver)
                // refuses every predefined entity there except `&amp;`.
                '<' if in_attr => self.0.push_str("&#60;"),
                '>' if in_attr => self.0.push_str("&#62;"),
                '"' if in_attr => self.0.push_str("&#34;"),
                '<' => self.0.push_str("&lt;"),
                '>' => self.0.push_str("&gt;"),
                '\t' if in_attr => self.0.push_str("&#9;"),
                '\n' if in_attr => self.0.push_str("&#10;"),
                '\r' => self.0.push_str("&#13;"),
                '\t' | '\n' => self.0.push(c),
                '\u{0}'..='\u{1f}' | '\u{fffe}' | '\u{ffff}' => self.0.push('\u{fffd}'),
                c => self.0.push(c),
            }
        }
    }
}

/// A coded value with everything DICOM requires.
fn coded(w: &mut Writer, name: &str, v: &CodedValue) {
    w.open(name);
    w.attr("csd-code", &v.code);
    w.attr(
        "codeSystemName",
        v.code_system_name.as_deref().unwrap_or(""),
    );
    w.opt_attr("displayName", v.display_name.as_deref());
    w.attr(
        "originalText",
        v.original_text
            .as_deref()
            .or(v.display_name.as_deref())
            .unwrap_or(&v.code),
    );
    w.0.push_str("/>");
}

fn event_identification(w: &mut Writer, e: &EventIdentification) {
    w.open("EventIdentification");
    if let Some(a) = e.action {
        let mut buf = [0u8; 4];
        w.attr("EventActionCode", a.code().encode_utf8(&mut buf));
    }
    let canonical;
    let date_time = match e.time {
        Some(t) if !is_xs_date_time(&e.date_time) => {
            canonical = t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true);
            canonical.as_str()
        }
        _ => e.date_time.as_str(),
    };
    w.attr("EventDateTime", date_time);
    let _ = write!(w.0, " EventOutcomeIndicator=\"{}\">", e.outcome as u8);
    coded(w, "EventID", &e.event_id);
    for t in &e.event_type_codes {
        coded(w, "EventTypeCode", t);
    }
    if let Some(d) = &e.outcome_description {
        w.text_element("EventOutcomeDescription", d);
    }
    for p in &e.purpose_of_use {
        coded(w, "PurposeOfUse", p);
    }
    w.0.push_str("</EventIdentification>");
}

fn active_participant(w: &mut Writer, p: &ActiveParticipant) {
    w.open("ActiveParticipant");
    w.attr("UserID", &p.user_id);
    w.opt_attr("AlternativeUserID", p.alternative_user_id.as_deref());
    w.opt_attr("UserName", p.user_name.as_deref());
    w.attr(
        "UserIsRequestor",
        if p.user_is_requestor { "true" } else { "false" },
    );
    w.opt_attr("NetworkAccessPointID", p.network_access_point_id.as_deref());
    w.num_attr(
        "NetworkAccessPointTypeCode",
        p.network_access_point_type_code,
    );
    if p.role_id_codes.is_empty() && p.media_type.is_none() {
        w.0.push_str("/>");
        return;
    }
    w.0.push('>');
    for r in &p.role_id_codes {
        coded(w, "RoleIDCode", r);
    }
    if let Some(m) = &p.media_type {
        w.0.push_str("<MediaIdentifier>");
        coded(w, "MediaType", m);
        w.0.push_str("</MediaIdentifier>");
    }
    w.0.push_str("</ActiveParticipant>");
}

fn audit_source(w: &mut Writer, s: &AuditSourceIdentification) {
    w.open("AuditSourceIdentification");
    w.opt_attr("AuditEnterpriseSiteID", s.enterprise_site_id.as_deref());
    w.attr("AuditSourceID", &s.audit_source_id);
    if s.type_codes.is_empty() {
        w.0.push_str("/>");
        return;
    }
    w.0.push('>');
    // AuditSourceTypeCode is the one coded value whose other attributes are all optional.
    for t in &s.type_codes {
        w.open("AuditSourceTypeCode");
        w.attr("csd-code", &t.code);
        w.opt_attr("codeSystemName", t.code_system_name.as_deref());
        w.opt_attr("displayName", t.display_name.as_deref());
        w.opt_attr("originalText", t.original_text.as_deref());
        w.0.push_str("/>");
    }
    w.0.push_str("</AuditSourceIdentification>");
}

fn participant_object(w: &mut Writer, o: &ParticipantObject) {
    let b64 = &base64::engine::general_purpose::STANDARD;
    w.open("ParticipantObjectIdentification");
    if !o.id.is_empty() {
        w.attr("ParticipantObjectID", &o.id);
    }
    w.num_attr("ParticipantObjectTypeCode", o.type_code);
    w.num_attr("ParticipantObjectTypeCodeRole", o.type_code_role);
    w.num_attr("ParticipantObjectDataLifeCycle", o.data_life_cycle);
    w.opt_attr("ParticipantObjectSensitivity", o.sensitivity.as_deref());
    w.0.push('>');
    coded(w, "ParticipantObjectIDTypeCode", &o.id_type_code);
    if let Some(n) = &o.name {
        w.text_element("ParticipantObjectName", n);
    }
    if let Some(q) = &o.query {
        w.0.push_str("<ParticipantObjectQuery>");
        b64.encode_string(q, &mut w.0);
        w.0.push_str("</ParticipantObjectQuery>");
    }
    for d in &o.details {
        w.open("ParticipantObjectDetail");
        w.attr("type", &d.kind);
        w.0.push_str(" value=\"");
        b64.encode_string(&d.value, &mut w.0);
        w.0.push_str("\"/>");
    }
    for d in &o.descriptions {
        object_description(w, d);
    }
    w.0.push_str("</ParticipantObjectIdentification>");
}

fn object_description(w: &mut Writer, d: &ObjectDescription) {
    w.0.push_str("<ParticipantObjectDescription>");
    for uid in &d.mpps_uids {
        w.open("MPPS");
        w.attr("UID", uid);
        w.0.push_str("/>");
    }
    for n in &d.accession_numbers {
        w.open("Accession");
        w.attr("Number", n);
        w.0.push_str("/>");
    }
    for s in &d.sop_classes {
        w.open("SOPClass");
        w.opt_attr("UID", s.uid.as_deref());
        let _ = write!(w.0, " NumberOfInstances=\"{}\"", s.number_of_instances);
        if s.instances.is_empty() {
            w.0.push_str("/>");
            continue;
        }
        w.0.push('>');
        for uid in &s.instances {
            w.open("Instance");
            w.attr("UID", uid);
            w.0.push_str("/>");
        }
        w.0.push_str("</SOPClass>");
    }
    if let Some(studies) = &d.contains_studies {
        w.0.push_str("<ParticipantObjectContainsStudy>");
        for uid in studies {
            w.open("StudyIDs");
            w.attr("UID", uid);
            w.0.push_str("/>");
        }
        w.0.push_str("</ParticipantObjectContainsStudy>");
    }
    if let Some(e) = d.encrypted {
        w.text_element("Encrypted", if e { "true" } else { "false" });
    }
    if let Some(a) = d.anonymized {
        w.text_element("Anonymized", if a { "true" } else { "false" });
    }
    w.0.push_str("</ParticipantObjectDescription>");
}

/// Whether `s` has the lexical form of xs:dateTime:
/// `-?YYYY-MM-DDThh:mm:ss(.s+)?(Z|(+|-)hh:mm)?`, surrounding whitespace allowed.
pub(super) fn is_xs_date_time(s: &str) -> bool {
    fn digits(b: &[u8], n: usize) -> bool {
        b.len() >= n && b[..n].iter().all(u8::is_ascii_digit)
    }
    let s = s.trim().as_bytes();
    let s = s.strip_prefix(b"-").unwrap_or(s);
    let year_len = s.iter().take_while(|b| b.is_ascii_digit()).count();
    if year_len < 4 {
        return false;
    }
    let r = &s[year_len..];
    // -MM-DDThh:mm:ss
    let fixed = b"-00-00T00:00:00";
    if r.len() < fixed.len()
        || !r.iter().zip(fixed).all(|(c, f)| {
            if *f == b'0' {
                c.is_ascii_digit()
            } else {
                c == f
            }
        })
    {
        return false;
    }
    let mut r = &r[fixed.len()..];
    if let Some(frac) = r.strip_prefix(b".") {
        let n = frac.iter().take_while(|b| b.is_ascii_digit()).count();
        if n == 0 {
            return false;
        }
        r = &frac[n..];
    }
    match r {
        [] | [b'Z'] => true,
        [b'+' | b'-', zone @ ..] => {
            zone.len() == 5 && digits(zone, 2) && zone[2] == b':' && digits(&zone[3..], 2)
        }
        _ => false,
    }
}
