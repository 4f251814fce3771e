//! Exclusive XML Canonicalization 1.0 without comments (W3C `xml-exc-c14n`), of one element of
//! a document, from the document's text: what XML-DSig digests and signs.
//!
//! It works on the original text (not on `xml::Element`, which keeps no prefixes) from the
//! element's start tag to its end tag, with the namespace declarations in scope at it. The input
//! was already accepted by `xml::parse` (no DOCTYPE, no undeclared entities), so only the five
//! predefined entities and character references occur.
//!
//! Rules applied (Exc-C14N §3, with Canonical XML 1.0 §2): empty elements as start-end pairs;
//! namespace declarations rendered where visibly utilized (the element's prefix, its attributes'
//! prefixes, and the `InclusiveNamespaces` prefix list) and not already rendered by an output
//! ancestor with the same value; `xmlns=""` where an unprefixed element leaves a rendered default
//! namespace; declarations sorted by prefix, attributes by (namespace URI, local name);
//! attribute values normalised (literal whitespace to spaces) and escaped `& < " TAB LF CR`; text
//! with line ends normalised and escaped `& < > CR`; comments and the XML declaration dropped;
//! CDATA as text. One subtree may be left out (the enveloped signature).

use std::collections::BTreeMap;

use quick_xml::Reader;
use quick_xml::events::{BytesStart, Event};

#[derive(Debug, thiserror::Error)]
pub enum C14nError {
    #[error("the element at offset {0} is not a start tag")]
    NotAnElement(usize),
    #[error("malformed XML while canonicalising: {0}")]
    Xml(String),
    #[error("namespace prefix '{0}' is not declared")]
    Unbound(String),
    #[error("the element does not end")]
    Unterminated,
}

/// Canonicalises the element whose start tag begins at byte `start` of `text`.
/// `scope`: the namespace declarations in scope at that element (prefix, URI; "" = default).
/// `skip`: the start offset of one descendant element left out with its subtree.
/// `inclusive`: the `InclusiveNamespaces PrefixList` ("#default" for the default namespace).
pub fn exclusive(
    text: &str,
    start: usize,
    scope: &[(String, String)],
    skip: Option<usize>,
    inclusive: &[String],
) -> Result<Vec<u8>, C14nError> {
    let sub = text.get(start..).ok_or(C14nError::NotAnElement(start))?;
    let mut reader = Reader::from_str(sub);
    reader.config_mut().expand_empty_elements = true;
    reader.config_mut().check_end_names = true;
    let mut out: Vec<u8> = Vec::with_capacity(sub.len().min(1 << 16));

    // Namespace declarations in the input, innermost last.
    let mut declared: Vec<BTreeMap<String, String>> =
        vec![scope.iter().cloned().collect::<BTreeMap<_, _>>()];
    // What the output has rendered, per output element, innermost last.
    let mut rendered: Vec<BTreeMap<String, String>> = vec![BTreeMap::new()];
    let mut depth = 0usize;
    let mut skipping: Option<usize> = None;

    loop {
        let pos = reader.buffer_position() as usize;
        let ev = reader
            .read_event()
            .map_err(|e| C14nError::Xml(e.to_string()))?;
        match ev {
            Event::Start(s) => {
                depth += 1;
                if depth == 1 && !out.is_empty() {
                    return Err(C14nError::NotAnElement(start));
                }
                if skipping.is_some() || skip == Some(start + pos) {
                    skipping.get_or_insert(depth);
                    continue;
                }
                let mut decls = declared.last().cloned().unwrap_or_default();
                let mut attrs: Vec<(String, String, String)> = Vec::new(); // (qname, value, prefix)
                for a in s.attributes().with_checks(true) {
                    let a = a.map_err(|e| C14nError::Xml(e.to_string()))?;
                    let key: String = a.key.as_ref().to_owned();
                    let raw: &str = &a.value;
                    let value = unescape(&normalise_attr(raw))?;
                    if key == "xmlns" {
                        decls.insert(String::new(), value);
                    } else if let Some(p) = key.strip_prefix("xmlns:") {
                        decls.insert(p.to_owned(), value);
                    } else {
                        let prefix = key.split_once(':').map(|(p, _)| p.to_owned());
                        attrs.push((key, value, prefix.unwrap_or_default()));
                    }
                }
                let name = qname(&s)?;
                let el_prefix = name.split_once(':').map_or("", |(p, _)| p).to_owned();
                // Visibly utilized prefixes, plus the inclusive list.
                let mut want: Vec<String> = vec![el_prefix.clone()];
                want.extend(
                    attrs
                        .iter()
                        .map(|a| a.2.clone())
                        .filter(|p| !p.is_empty() && p != "xml"),
                );
                for p in inclusive {
                    let p = if p == "#default" { "" } else { p.as_str() };
                    if decls.contains_key(p) {
                        want.push(p.to_owned());
                    }
                }
                want.sort();
                want.dedup();
                let parent_rendered = rendered.last().cloned().unwrap_or_default();
                let mut now_rendered = parent_rendered.clone();
                let mut ns_out: Vec<(String, String)> = Vec::new();
                for p in &want {
                    let uri = match decls.get(p) {
                        Some(u) => u.clone(),
                        None if p.is_empty() => String::new(),
                        None => return Err(C14nError::Unbound(p.clone())),
                    };
                    let already = parent_rendered.get(p);
                    let needed = if p.is_empty() {
                        // xmlns="" only to undo a rendered non-empty default.
                        already.map_or(!uri.is_empty(), |u| *u != uri)
                    } else {
                        already != Some(&uri)
                    };
                    if needed {
                        ns_out.push((p.clone(), uri.clone()));
                        now_rendered.insert(p.clone(), uri);
                    }
                }
                // Attributes sorted by (namespace URI, local name); unqualified first.
                let mut sorted: Vec<(String, String, String, String)> = Vec::new();
                for (q, v, p) in attrs {
                    let (uri, local) = match q.split_once(':') {
                        Some(("xml", l)) => (
                            "http://www.w3.org/XML/1998/namespace".to_owned(),
                            l.to_owned(),
                        ),
                        Some((_, l)) => (
                            decls
                                .get(&p)
                                .cloned()
                                .ok_or_else(|| C14nError::Unbound(p.clone()))?,
                            l.to_owned(),
                        ),
                        None => (String::new(), q.clone()),
                    };
                    sorted.push((uri, local, q, v));
                }
                sorted.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));

                out.push(b'<');
                out.extend_from_slice(name.as_bytes());
                for (p, uri) in &ns_out {
                    if p.is_empty() {
                        out.extend_from_slice(b" xmlns=\"");
                    } else {
                        out.extend_from_slice(b" xmlns:");
                        out.extend_from_slice(p.as_bytes());
                        out.extend_from_slice(b"=\"");
                    }
                    escape_attr(uri, &mut out);
                    out.push(b'"');
                }
                for (_, _, q, v) in &sorted {
                    out.push(b' ');
                    out.extend_from_slice(q.as_bytes());
                    out.extend_from_slice(b"=\"");
                    escape_attr(v, &mut out);
                    out.push(b'"');
                }
                out.push(b'>');
                declared.push(decls);
                rendered.push(now_rendered);
            }
            Event::End(e) => {
                if let Some(d) = skipping {
                    if d == depth {
                        skipping = None;
                    }
                    depth -= 1;
                    continue;
                }
                out.extend_from_slice(b"</");
                out.extend_from_slice(e.name().as_ref().as_bytes());
                out.push(b'>');
                declared.pop();
                rendered.pop();
                depth -= 1;
                if depth == 0 {
                    return Ok(out);
                }
            }
            Event::Text(t) => {
                if skipping.is_none() && depth > 0 {
                    let raw = {
                        let r: &str = t.as_ref();
                        r
                    };
                    escape_text(&unescape(&normalise_eol(raw))?, &mut out);
                }
            }
            Event::GeneralRef(r) => {
                if skipping.is_none() && depth > 0 {
                    let raw = {
                        let r: &str = r.as_ref();
                        r
                    };
                    escape_text(&unescape(&format!("&{raw};"))?, &mut out);
                }
            }
            Event::CData(c) => {
                if skipping.is_none() && depth > 0 {
                    let raw = {
                        let r: &str = c.as_ref();
                        r
                    };
                    escape_text(&normalise_eol(raw), &mut out);
                }
            }
            Event::PI(p) => {
                if skipping.is_none() && depth > 0 {
                    out.extend_from_slice(b"<?");
                    out.extend_from_slice(
                        {
                            let r: &str = p.as_ref();
                            r
                        }
                        .as_bytes(),
                    );
                    out.extend_from_slice(b"?>");
                }
            }
            Event::Empty(_) => unreachable_empty()?,
            Event::Comment(_) | Event::Decl(_) | Event::DocType(_) => {}
            Event::Eof => return Err(C14nError::Unterminated),
        }
        if depth == 0 {
            return Err(C14nError::NotAnElement(start));
        }
    }
}

/// `expand_empty_elements` turns every empty tag into Start + End.
fn unreachable_empty() -> Result<(), C14nError> {
    Err(C14nError::Xml("unexpected empty-element event".into()))
}

fn qname(s: &BytesStart<'_>) -> Result<String, C14nError> {
    let name = s.name();
    let n: &str = name.as_ref();
    Ok(n.to_owned())
}

/// XML end-of-line handling: CRLF and lone CR become LF.
fn normalise_eol(s: &str) -> String {
    s.replace("\r\n", "\n").replace('\r', "\n")
}

/// Attribute-value normalisation (CDATA attributes): literal TAB, LF, CR become spaces (after
/// end-of-line handling); character references keep their characters.
fn normalise_attr(s: &str) -> String {
    normalise_eol(s).replace(['\t', '\n'], " ")
}

/// Resolves the predefined entities and character references.
fn unescape(s: &str) -> Result<String, C14nError> {
    if !s.contains('&') {
        return Ok(s.to_owned());
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        let end = after
            .find(';')
            .ok_or_else(|| C14nError::Xml("unterminated reference".into()))?;
        let name = &after[..end];
        let c = match name {
            "lt" => '<',
            "gt" => '>',
            "amp" => '&',
            "quot" => '"',
            "apos" => '\'',
            _ => {
                let code = if let Some(h) = name.strip_prefix("#x") {
                    u32::from_str_radix(h, 16).ok()
                } else if let Some(d) = name.strip_prefix('#') {
                    d.parse().ok()
                } else {
                    None
                };
                code.and_then(char::from_u32)
                    .ok_or_else(|| C14nError::Xml(format!("unknown reference &{name};")))?
            }
        };
        out.push(c);
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

fn escape_attr(s: &str, out: &mut Vec<u8>) {
    for c in s.chars() {
        match c {
            '&' => out.extend_from_slice(b"&amp;"),
            '<' => out.extend_from_slice(b"&lt;"),
            '"' => out.extend_from_slice(b"&quot;"),
            '\t' => out.extend_from_slice(b"&#x9;"),
            '\n' => out.extend_from_slice(b"&#xA;"),
            '\r' => out.extend_from_slice(b"&#xD;"),
            c => {
                let mut b = [0u8; 4];
                out.extend_from_slice(c.encode_utf8(&mut b).as_bytes());
            }
        }
    }
}

fn escape_text(s: &str, out: &mut Vec<u8>) {
    for c in s.chars() {
        match c {
            '&' => out.extend_from_slice(b"&amp;"),
            '<' => out.extend_from_slice(b"&lt;"),
            '>' => out.extend_from_slice(b"&gt;"),
            '\r' => out.extend_from_slice(b"&#xD;"),
            c => {
                let mut b = [0u8; 4];
                out.extend_from_slice(c.encode_utf8(&mut b).as_bytes());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c14n(doc: &str, at: &str, scope: &[(&str, &str)], inclusive: &[&str]) -> String {
        let start = doc.find(at).unwrap();
        let scope: Vec<(String, String)> = scope
            .iter()
            .map(|(p, u)| (p.to_string(), u.to_string()))
            .collect();
        let inc: Vec<String> = inclusive.iter().map(|s| s.to_string()).collect();
        String::from_utf8(exclusive(doc, start, &scope, None, &inc).unwrap()).unwrap()
    }

    /// The example of Exc-C14N §2.2: only visibly utilized namespaces are rendered.
    #[test]
    fn exc_c14n_spec_example() {
        let doc = r#"<n0:local xmlns:n0="foo:bar" xmlns:n3="ftp://example.org"><n1:elem2 xmlns:n1="http://example.net" xml:lang="en"><n3:stuff xmlns:n3="ftp://example.org"/></n1:elem2></n0:local>"#;
        let got = c14n(
            doc,
            "<n1:elem2",
            &[("n0", "foo:bar"), ("n3", "ftp://example.org")],
            &[],
        );
        assert_eq!(
            got,
            r#"<n1:elem2 xmlns:n1="http://example.net" xml:lang="en"><n3:stuff xmlns:n3="ftp://example.org"></n3:stuff></n1:elem2>"#
        );
    }

    #[test]
    fn attributes_sorted_escaped_and_whitespace_normalised() {
        let doc = "<a xmlns=\"urn:d\" xmlns:b=\"urn:b\" z=\"1\" b:y=\"x&amp;&lt;&quot;\" a=\"l1\nl2&#xA;\"><!-- c --><c>t &amp; &gt; \r\n</c><e/></a>";
        let got = c14n(doc, "<a", &[], &[]);
        assert_eq!(
            got,
            "<a xmlns=\"urn:d\" xmlns:b=\"urn:b\" a=\"l1 l2&#xA;\" z=\"1\" b:y=\"x&amp;&lt;&quot;\"><c>t &amp; &gt; \n</c><e></e></a>"
        );
    }

    #[test]
    fn skipped_subtree_and_inclusive_prefixes() {
        let doc = r#"<s:A xmlns:s="urn:s" xmlns:xs="urn:xs" ID="i"><s:Sig><s:X/></s:Sig><s:B>v</s:B></s:A>"#;
        let start = doc.find("<s:A").unwrap();
        let skip = doc.find("<s:Sig").unwrap();
        let out = exclusive(doc, start, &[], Some(skip), &["xs".into()]).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            r#"<s:A xmlns:s="urn:s" xmlns:xs="urn:xs" ID="i"><s:B>v</s:B></s:A>"#
        );
    }

    #[test]
    fn default_namespace_undone_only_when_rendered() {
        let doc = r#"<a xmlns="urn:x"><b xmlns=""><c/></b></a>"#;
        assert_eq!(
            c14n(doc, "<a", &[], &[]),
            r#"<a xmlns="urn:x"><b xmlns=""><c></c></b></a>"#
        );
        assert_eq!(c14n(doc, "<b", &[("", "urn:x")], &[]), "<b><c></c></b>");
    }
}
