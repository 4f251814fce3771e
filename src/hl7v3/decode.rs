//! Requests: the `xml` tree of a SOAP body → HL7v3 mirror types.
//!
//! The transmission wrapper (MCCI_MT000100UV01 for requests, MCCI_MT000300UV01 for QUQI) is
//! checked in schema order and cardinality; the payload is read element by element, and every
//! error names the element path (`/PRPA_IN201301UV02/controlActProcess/subject/...`).

use super::*;
use crate::xml::{Element, Node};

type Result<T> = std::result::Result<T, CodecError>;

/// (element, min, max) of a sequence; `u32::MAX` is unbounded.
type Slot = (&'static str, u32, u32);
const MANY: u32 = u32::MAX;

const REQUEST_WRAPPER: &[Slot] = &[
    ("realmCode", 0, MANY),
    ("typeId", 0, 1),
    ("templateId", 0, MANY),
    ("id", 1, 1),
    ("creationTime", 1, 1),
    ("securityText", 0, 1),
    ("versionCode", 0, 1),
    ("interactionId", 1, 1),
    ("profileId", 0, MANY),
    ("processingCode", 1, 1),
    ("processingModeCode", 1, 1),
    ("acceptAckCode", 1, 1),
    ("sequenceNumber", 0, 1),
    ("attachmentText", 0, MANY),
    ("receiver", 1, MANY),
    ("respondTo", 0, MANY),
    ("sender", 1, 1),
    ("attentionLine", 0, MANY),
    ("controlActProcess", 1, 1),
];

const RESPONSE_WRAPPER: &[Slot] = &[
    ("realmCode", 0, MANY),
    ("typeId", 0, 1),
    ("templateId", 0, MANY),
    ("id", 1, 1),
    ("creationTime", 1, 1),
    ("securityText", 0, 1),
    ("versionCode", 0, 1),
    ("interactionId", 1, 1),
    ("profileId", 0, MANY),
    ("processingCode", 1, 1),
    ("processingModeCode", 1, 1),
    ("acceptAckCode", 1, 1),
    ("attachmentText", 0, MANY),
    ("receiver", 1, MANY),
    ("respondTo", 0, MANY),
    ("sender", 1, 1),
    ("attentionLine", 0, MANY),
    ("acknowledgement", 0, MANY),
    ("controlActProcess", 1, 1),
];

/// Checks the children of `e` against `slots` (order and cardinality), like the schema does.
fn check_sequence(e: &Element, path: &str, slots: &[Slot]) -> Result<()> {
    let mut i = 0usize;
    let mut count = 0u32;
    for (pos, child) in e.elements().enumerate() {
        let where_ = format!("{path}/{}", child.local);
        if child.namespace() != Some(NS) {
            return Err(CodecError::new(
                where_,
                format!(
                    "element {} (child {}) is not in the HL7v3 namespace {NS}",
                    child.local,
                    pos + 1
                ),
            ));
        }
        loop {
            let Some(&(name, min, max)) = slots.get(i) else {
                return Err(CodecError::new(
                    where_,
                    format!(
                        "unexpected element {} (child {}) at the end",
                        child.local,
                        pos + 1
                    ),
                ));
            };
            if name == child.local {
                count += 1;
                if count > max {
                    return Err(CodecError::new(
                        where_,
                        format!("{name} occurs more than {max} time(s)"),
                    ));
                }
                break;
            }
            if count < min {
                return Err(CodecError::new(
                    where_,
                    format!(
                        "unexpected element {} (child {}): expected {name}",
                        child.local,
                        pos + 1
                    ),
                ));
            }
            i += 1;
            count = 0;
        }
    }
    // The slots after the last child must all be optional.
    while let Some(&(name, min, _)) = slots.get(i) {
        if count < min {
            return Err(CodecError::new(
                format!("{path}/{name}"),
                format!("required element {name} is missing"),
            ));
        }
        i += 1;
        count = 0;
    }
    Ok(())
}

fn child<'a>(e: &'a Element, name: &str, path: &str) -> Result<(&'a Element, String)> {
    let p = format!("{path}/{name}");
    e.child(NS, name)
        .map(|c| (c, p.clone()))
        .ok_or_else(|| CodecError::new(p, format!("required element {name} is missing")))
}

fn opt<'a>(e: &'a Element, name: &str) -> Option<&'a Element> {
    e.child(NS, name)
}

fn many<'a>(e: &'a Element, name: &'a str) -> impl Iterator<Item = &'a Element> + 'a {
    e.children_named(NS, name)
}

fn text_of(e: &Element) -> Option<String> {
    let t = e.text();
    let t = t.split_whitespace().collect::<Vec<_>>().join(" ");
    (!t.is_empty()).then_some(t)
}

/// An II with a root (and the extension when present); `nullFlavor` ids are `None`.
fn ii(e: &Element, path: &str) -> Result<Option<Ii>> {
    if e.attr("nullFlavor").is_some() && e.attr("root").is_none() {
        return Ok(None);
    }
    let root = e
        .attr("root")
        .map(str::trim)
        .filter(|r| !r.is_empty())
        .ok_or_else(|| CodecError::new(format!("{path}/@root"), "the id has no root"))?;
    Ok(Some(Ii {
        root: root.to_owned(),
        extension: e
            .attr("extension")
            .map(|x| x.trim().to_owned())
            .filter(|x| !x.is_empty()),
    }))
}

/// An II that must carry root and extension (a patient identifier).
fn patient_ii(e: &Element, path: &str) -> Result<Ii> {
    let id = ii(e, path)?
        .ok_or_else(|| CodecError::new(path, "the patient identifier is a null flavor"))?;
    if id.extension.is_none() {
        return Err(CodecError::new(
            format!("{path}/@extension"),
            format!(
                "the patient identifier with root {} has no extension",
                id.root
            ),
        ));
    }
    Ok(id)
}

fn header(root: &Element) -> Header {
    let device_root = |name: &str| {
        root.child(NS, name)
            .and_then(|r| r.child(NS, "device"))
            .and_then(|d| d.child(NS, "id"))
            .and_then(|i| i.attr("root"))
            .map(str::to_owned)
    };
    Header {
        id: root
            .child(NS, "id")
            .and_then(|i| ii(i, "id").ok().flatten()),
        interaction: root
            .child(NS, "interactionId")
            .and_then(|i| i.attr("extension"))
            .unwrap_or_default()
            .to_owned(),
        sender_device: device_root("sender"),
        receiver_device: device_root("receiver"),
    }
}

/// The header of any message that has one, for answering a request that failed to decode.
pub fn header_lenient(root: &Element) -> Header {
    header(root)
}

fn wrapper<'a>(
    root: &'a Element,
    interaction: &str,
    slots: &[Slot],
) -> Result<(Header, &'a Element, String)> {
    let path = format!("/{interaction}");
    if root.local != interaction || root.namespace() != Some(NS) {
        return Err(CodecError::new(
            format!("/{}", root.local),
            format!(
                "the body element is {{{}}}{}, expected {{{NS}}}{interaction}",
                root.namespace().unwrap_or(""),
                root.local
            ),
        ));
    }
    check_sequence(root, &path, slots)?;
    let h = header(root);
    if h.id.is_none() {
        return Err(CodecError::new(
            format!("{path}/id"),
            "the message id is a null flavor",
        ));
    }
    let (cap, cap_path) = child(root, "controlActProcess", &path)?;
    Ok((h, cap, cap_path))
}

fn name(e: &Element) -> Name {
    let part = |n: &str| -> Vec<String> { many(e, n).filter_map(text_of).collect() };
    let mut family = part("family");
    let given = part("given");
    if family.is_empty() && given.is_empty() {
        // A name sent as plain text: keep it whole as the family part.
        if let Some(t) = text_of(e) {
            family.push(t);
        }
    }
    Name {
        family,
        given,
        use_code: e.attr("use").map(str::to_owned),
    }
}

fn address(e: &Element) -> Address {
    let one = |n: &str| opt(e, n).and_then(text_of);
    let mut street: Vec<String> = many(e, "streetAddressLine").filter_map(text_of).collect();
    street.extend(many(e, "streetName").filter_map(text_of));
    Address {
        street,
        city: one("city"),
        postal_code: one("postalCode"),
        state: one("state"),
        country: one("country"),
    }
}

fn person(e: &Element, path: &str) -> Result<Person> {
    let mut other_ids = Vec::new();
    for (i, other) in many(e, "asOtherIDs").enumerate() {
        for id in many(other, "id") {
            if let Some(id) = ii(id, &format!("{path}/asOtherIDs[{}]/id", i + 1))? {
                other_ids.push(id);
            }
        }
    }
    Ok(Person {
        names: many(e, "name").map(name).collect(),
        gender: opt(e, "administrativeGenderCode")
            .and_then(|g| g.attr("code"))
            .map(str::to_owned),
        birth_time: opt(e, "birthTime")
            .and_then(|b| b.attr("value"))
            .map(str::to_owned),
        addresses: many(e, "addr").map(address).collect(),
        telecoms: many(e, "telecom")
            .filter_map(|t| t.attr("value"))
            .map(str::to_owned)
            .collect(),
        other_ids,
    })
}

fn patient_record(patient: &Element, path: &str) -> Result<PatientRecord> {
    let mut ids = Vec::new();
    for (i, id) in many(patient, "id").enumerate() {
        ids.push(patient_ii(id, &format!("{path}/id[{}]", i + 1))?);
    }
    if ids.is_empty() {
        return Err(CodecError::new(
            format!("{path}/id"),
            "the patient has no identifier",
        ));
    }
    let (pp, pp_path) = child(patient, "patientPerson", path)?;
    Ok(PatientRecord {
        ids,
        person: person(pp, &pp_path)?,
    })
}

/// ITI-44: PRPA_IN201301UV02, PRPA_IN201302UV02 or PRPA_IN201304UV02.
pub fn feed(root: &Element, interaction: &str) -> Result<FeedMessage> {
    let (header, cap, p) = wrapper(root, interaction, REQUEST_WRAPPER)?;
    let (subject, p) = child(cap, "subject", &p)?;
    let (event, p) = child(subject, "registrationEvent", &p)?;
    let (s1, p1) = child(event, "subject1", &p)?;
    let (patient, pp) = child(s1, "patient", &p1)?;
    let record = patient_record(patient, &pp)?;
    let feed = match interaction {
        "PRPA_IN201301UV02" => Feed::Add(record),
        "PRPA_IN201302UV02" => Feed::Revise(record),
        _ => {
            let (rep, rp) = child(event, "replacementOf", &p)?;
            let (prior, rp) = child(rep, "priorRegistration", &rp)?;
            let (ps, rp) = child(prior, "subject1", &rp)?;
            let (role, rp) = child(ps, "priorRegisteredRole", &rp)?;
            let mut obsolete = Vec::new();
            for (i, id) in many(role, "id").enumerate() {
                obsolete.push(patient_ii(id, &format!("{rp}/id[{}]", i + 1))?);
            }
            if obsolete.is_empty() {
                return Err(CodecError::new(
                    format!("{rp}/id"),
                    "the merge names no obsolete identifier",
                ));
            }
            Feed::Merge {
                survivor: record,
                obsolete,
            }
        }
    };
    Ok(FeedMessage { header, feed })
}

fn query_id(qbp: &Element, path: &str) -> Result<Ii> {
    let (q, qp) = child(qbp, "queryId", path)?;
    ii(q, &qp)?.ok_or_else(|| CodecError::new(qp, "the queryId is a null flavor"))
}

fn u32_value(e: &Element, path: &str) -> Result<Option<u32>> {
    match e.attr("value") {
        None => Ok(None),
        Some(v) => v.trim().parse::<u32>().map(Some).map_err(|_| {
            CodecError::new(
                format!("{path}/@value"),
                format!("'{v}' is not a non-negative integer"),
            )
        }),
    }
}

/// ITI-45 PRPA_IN201309UV02.
pub fn pix_query(root: &Element) -> Result<PixQuery> {
    let (header, cap, p) = wrapper(root, "PRPA_IN201309UV02", REQUEST_WRAPPER)?;
    let (qbp, qp) = child(cap, "queryByParameter", &p)?;
    let query_id = query_id(qbp, &qp)?;
    let (params, pl) = child(qbp, "parameterList", &qp)?;
    let pids: Vec<&Element> = many(params, "patientIdentifier").collect();
    if pids.len() != 1 {
        return Err(CodecError::new(
            format!("{pl}/patientIdentifier"),
            format!(
                "exactly one patientIdentifier is required, found {}",
                pids.len()
            ),
        ));
    }
    let (v, vp) = child(pids[0], "value", &format!("{pl}/patientIdentifier"))?;
    let patient = patient_ii(v, &vp)?;
    let mut data_sources = Vec::new();
    for (i, ds) in many(params, "dataSource").enumerate() {
        let dp = format!("{pl}/dataSource[{}]", i + 1);
        for v in many(ds, "value") {
            let id = ii(v, &format!("{dp}/value"))?
                .ok_or_else(|| CodecError::new(format!("{dp}/value"), "null flavor"))?;
            data_sources.push(id.root);
        }
    }
    Ok(PixQuery {
        header,
        query_id,
        patient,
        data_sources,
        query_xml: serialize(qbp),
    })
}

/// ITI-47 PRPA_IN201305UV02.
pub fn pdq_query(root: &Element) -> Result<PdqQuery> {
    let (header, cap, p) = wrapper(root, "PRPA_IN201305UV02", REQUEST_WRAPPER)?;
    let (qbp, qp) = child(cap, "queryByParameter", &p)?;
    let query_id = query_id(qbp, &qp)?;
    let initial_quantity = match opt(qbp, "initialQuantity") {
        Some(e) => u32_value(e, &format!("{qp}/initialQuantity"))?,
        None => None,
    };
    let minimum_degree_match = match opt(qbp, "matchCriterionList")
        .and_then(|m| opt(m, "minimumDegreeMatch"))
        .and_then(|m| opt(m, "value"))
    {
        Some(v) => {
            let n = u32_value(
                v,
                &format!("{qp}/matchCriterionList/minimumDegreeMatch/value"),
            )?;
            if let Some(n) = n.filter(|n| *n > 100) {
                return Err(CodecError::new(
                    format!("{qp}/matchCriterionList/minimumDegreeMatch/value/@value"),
                    format!("the minimum degree of match is a percentage (0..100), not {n}"),
                ));
            }
            n
        }
        None => None,
    };
    let (params, pl) = child(qbp, "parameterList", &qp)?;
    let value = |n: &str| opt(params, n).and_then(|e| opt(e, "value"));
    let mut ids = Vec::new();
    for (i, ls) in many(params, "livingSubjectId").enumerate() {
        let lp = format!("{pl}/livingSubjectId[{}]", i + 1);
        let (v, vp) = child(ls, "value", &lp)?;
        ids.push(patient_ii(v, &vp)?);
    }
    let mut scoping_organizations = Vec::new();
    for (i, so) in many(params, "otherIDsScopingOrganization").enumerate() {
        let sp = format!("{pl}/otherIDsScopingOrganization[{}]", i + 1);
        for v in many(so, "value") {
            if let Some(id) = ii(v, &format!("{sp}/value"))? {
                scoping_organizations.push(id.root);
            }
        }
    }
    let q = PdqQuery {
        header,
        query_id,
        initial_quantity,
        minimum_degree_match,
        name: value("livingSubjectName").map(name),
        gender: value("livingSubjectAdministrativeGender")
            .and_then(|v| v.attr("code"))
            .map(str::to_owned),
        birth_time: value("livingSubjectBirthTime")
            .and_then(|v| v.attr("value"))
            .map(str::to_owned),
        address: value("patientAddress").map(address),
        telecom: value("patientTelecom")
            .and_then(|v| v.attr("value"))
            .map(str::to_owned),
        ids,
        scoping_organizations,
        query_xml: serialize(qbp),
    };
    let empty_name = q
        .name
        .as_ref()
        .is_none_or(|n| n.family.is_empty() && n.given.is_empty());
    if empty_name
        && q.gender.is_none()
        && q.birth_time.is_none()
        && q.address.as_ref().is_none_or(Address::is_empty)
        && q.telecom.is_none()
        && q.ids.is_empty()
    {
        return Err(CodecError::new(
            pl,
            "the query has no parameter (name, gender, birth time, address, telecom or id)",
        ));
    }
    Ok(q)
}

/// ITI-47 QUQI_IN000003UV01 (continue or cancel; `cancel` from the action).
pub fn continuation(root: &Element, cancel_action: bool) -> Result<Continuation> {
    let interaction = if root.local == "QUQI_IN000003UV01_Cancel" {
        "QUQI_IN000003UV01_Cancel"
    } else {
        "QUQI_IN000003UV01"
    };
    let (header, cap, p) = wrapper(root, interaction, RESPONSE_WRAPPER)?;
    let (qc, qp) = child(cap, "queryContinuation", &p)?;
    let query_id = query_id(qc, &qp)?;
    let quantity = match opt(qc, "continuationQuantity") {
        Some(e) => u32_value(e, &format!("{qp}/continuationQuantity"))?,
        None => None,
    };
    let status = opt(qc, "statusCode").and_then(|s| s.attr("code"));
    let cancel = match status {
        Some("aborted") => true,
        Some("waitContinuedQueryResponse") | None => cancel_action,
        Some(other) => {
            return Err(CodecError::new(
                format!("{qp}/statusCode/@code"),
                format!("'{other}' is neither waitContinuedQueryResponse nor aborted"),
            ));
        }
    };
    Ok(Continuation {
        header,
        query_id,
        quantity,
        cancel,
    })
}

/// Writes `e` back as XML text in the HL7v3 default namespace (for echoing queryByParameter).
pub fn serialize(e: &Element) -> String {
    let mut out = String::new();
    write_element(e, &mut out);
    out
}

fn write_element(e: &Element, out: &mut String) {
    use crate::xml::escape;
    out.push('<');
    out.push_str(&e.local);
    for a in &e.attrs {
        match a.ns.as_deref() {
            None => {}
            Some(XSI) => out.push_str(" xsi:"),
            Some(_) => continue,
        }
        if a.ns.is_none() {
            out.push(' ');
        }
        out.push_str(&a.local);
        out.push_str("=\"");
        out.push_str(&escape(&a.value));
        out.push('"');
    }
    if e.children.is_empty() {
        out.push_str("/>");
        return;
    }
    out.push('>');
    for n in &e.children {
        match n {
            Node::Element(c) if c.namespace() == Some(NS) => write_element(c, out),
            Node::Element(_) | Node::Binary(_) => {}
            Node::Text(t) => out.push_str(&escape(t)),
        }
    }
    out.push_str("</");
    out.push_str(&e.local);
    out.push('>');
}
