//! LeafClass answers without re-encoding: each registry object is stored as the XML our own
//! ebRIM writer produced at registration (`metadata_xml`, one object inside a
//! `lcm:SubmitObjectsRequest`), so answering a query means cutting that object out and patching
//! the two attributes the registry keeps in columns (`status`, `home`) — no parse, no decode, no
//! encode per object.
//!
//! The cut relies on the shape of our writer's output (compact, `rim:` prefix declared on the
//! root, attribute values with `"` written as a character reference). Anything else — an older
//! row, a hand-edited one — is reported as [`NotOurShape`] and the caller takes the slow path
//! (parse, patch the model, encode), which gives the same answer.

/// The stored XML is not in the shape [`fragment`] knows; use the slow path.
#[derive(Debug, PartialEq, Eq)]
pub struct NotOurShape;

const LIST_START: &str = "<rim:RegistryObjectList>";
const LIST_END: &str = "</rim:RegistryObjectList>";

/// The object inside `stored` (our `SubmitObjectsRequest` with one object) with its `status`
/// attribute set to `status` and, when given, its `home` attribute set to `home`.
pub fn fragment(stored: &str, status: &str, home: Option<&str>) -> Result<String, NotOurShape> {
    let start = stored.find(LIST_START).ok_or(NotOurShape)? + LIST_START.len();
    let end = stored.rfind(LIST_END).ok_or(NotOurShape)?;
    let object = stored.get(start..end).ok_or(NotOurShape)?;
    if !object.starts_with("<rim:") {
        return Err(NotOurShape);
    }
    let tag_end = start_tag_end(object).ok_or(NotOurShape)?;
    let (tag, rest) = object.split_at(tag_end);
    let mut tag = tag.to_owned();
    set_attr(&mut tag, "status", status)?;
    if let Some(h) = home {
        set_attr(&mut tag, "home", h)?;
    }
    let mut out = String::with_capacity(object.len() + 64);
    out.push_str(&tag);
    out.push_str(rest);
    Ok(out)
}

/// Where the first start tag of `xml` ends: the index of its closing `>` (or of the `/` of `/>`).
fn start_tag_end(xml: &str) -> Option<usize> {
    let bytes = xml.as_bytes();
    let mut in_value = false;
    for (i, &b) in bytes.iter().enumerate() {
        match b {
            b'"' => in_value = !in_value,
            b'>' if !in_value => {
                return Some(if i > 0 && bytes[i - 1] == b'/' {
                    i - 1
                } else {
                    i
                });
            }
            _ => {}
        }
    }
    None
}

/// Sets attribute `name` in the start tag `tag` (which has no closing `>`), replacing its value
/// or appending it.
fn set_attr(tag: &mut String, name: &str, value: &str) -> Result<(), NotOurShape> {
    let mut escaped = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&#60;"),
            '"' => escaped.push_str("&#34;"),
            '\r' => escaped.push_str("&#13;"),
            '\n' => escaped.push_str("&#10;"),
            '\t' => escaped.push_str("&#9;"),
            c => escaped.push(c),
        }
    }
    let needle = format!(" {name}=\"");
    // Values never contain a raw `"`, so a match at a quote-balanced position is the attribute.
    match find_attr(tag, &needle) {
        Some(at) => {
            let value_start = at + needle.len();
            let len = tag[value_start..].find('"').ok_or(NotOurShape)?;
            tag.replace_range(value_start..value_start + len, &escaped);
        }
        None => {
            tag.push_str(&needle);
            tag.push_str(&escaped);
            tag.push('"');
        }
    }
    Ok(())
}

fn find_attr(tag: &str, needle: &str) -> Option<usize> {
    let mut from = 0;
    while let Some(rel) = tag[from..].find(needle) {
        let at = from + rel;
        if tag[..at].bytes().filter(|&b| b == b'"').count() % 2 == 0 {
            return Some(at);
        }
        from = at + 1;
    }
    None
}

/// Puts `fragments` into the empty `rim:RegistryObjectList` of `response` (an encoded
/// `query:AdhocQueryResponse` whose object list is empty).
pub fn splice(response: &str, fragments: &[String]) -> Result<String, NotOurShape> {
    const EMPTY: &str = "<rim:RegistryObjectList/>";
    let at = response.rfind(EMPTY).ok_or(NotOurShape)?;
    let total: usize = fragments.iter().map(String::len).sum();
    let mut out = String::with_capacity(response.len() + total + LIST_END.len());
    out.push_str(&response[..at]);
    out.push_str(LIST_START);
    for f in fragments {
        out.push_str(f);
    }
    out.push_str(LIST_END);
    out.push_str(&response[at + EMPTY.len()..]);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const STORED: &str = r#"<lcm:SubmitObjectsRequest xmlns:lcm="urn:oasis:names:tc:ebxml-regrep:xsd:lcm:3.0" xmlns:rim="urn:oasis:names:tc:ebxml-regrep:xsd:rim:3.0"><rim:RegistryObjectList><rim:ExtrinsicObject id="urn:uuid:1" status="urn:oasis:names:tc:ebxml-regrep:StatusType:Submitted" mimeType="text/xml" objectType="urn:uuid:7edca82f-054d-47f2-a032-9b2a5b5186c1"><rim:Name><rim:LocalizedString value="a &#34;quoted&#34; > title status=&#34;x&#34;"/></rim:Name></rim:ExtrinsicObject></rim:RegistryObjectList></lcm:SubmitObjectsRequest>"#;

    #[test]
    fn patches_status_and_appends_home() {
        let f = fragment(STORED, "urn:A", Some("urn:oid:1.2")).unwrap();
        assert!(f.starts_with(r#"<rim:ExtrinsicObject id="urn:uuid:1" status="urn:A" mimeType="text/xml" objectType="urn:uuid:7edca82f-054d-47f2-a032-9b2a5b5186c1" home="urn:oid:1.2"><rim:Name>"#), "{f}");
        assert!(f.ends_with("</rim:ExtrinsicObject>"));
        assert!(f.contains(r#"status=&#34;x&#34;"#), "text untouched: {f}");
    }

    #[test]
    fn self_closing_and_existing_home() {
        let stored = r#"<x><rim:RegistryObjectList><rim:Association id="a" home="urn:old" status="s" sourceObject="b" targetObject="c"/></rim:RegistryObjectList></x>"#;
        let f = fragment(stored, "urn:A", Some("urn:new")).unwrap();
        assert_eq!(
            f,
            r#"<rim:Association id="a" home="urn:new" status="urn:A" sourceObject="b" targetObject="c"/>"#
        );
    }

    #[test]
    fn other_shapes_are_refused() {
        assert_eq!(fragment("<a/>", "s", None), Err(NotOurShape));
        assert_eq!(
            fragment(
                "<rim:RegistryObjectList><rim:X id=\"1</rim:RegistryObjectList>",
                "s",
                None
            ),
            Err(NotOurShape)
        );
    }

    #[test]
    fn splices_into_the_empty_list() {
        let r = r#"<query:AdhocQueryResponse status="ok"><rim:RegistryObjectList/></query:AdhocQueryResponse>"#;
        let out = splice(r, &["<rim:A/>".into(), "<rim:B/>".into()]).unwrap();
        assert_eq!(
            out,
            r#"<query:AdhocQueryResponse status="ok"><rim:RegistryObjectList><rim:A/><rim:B/></rim:RegistryObjectList></query:AdhocQueryResponse>"#
        );
    }
}
