//! A CDA R2 document (the radiology report) → a safe HTML fragment: title, author, time and
//! each section's title and narrative block (PS: CDA R2 §4.3.5). Only a fixed set of narrative
//! elements map to HTML elements; every text is escaped; attributes are dropped; nothing
//! executable can come through.

use crate::xml::{self, Element, Node};

const HL7: &str = "urn:hl7-org:v3";

fn esc(s: &str) -> String {
    xml::escape(s).into_owned()
}

fn child<'a>(e: &'a Element, local: &str) -> Option<&'a Element> {
    e.elements().find(|c| c.local == local)
}

fn text_of(e: Option<&Element>) -> String {
    e.map(deep_text).unwrap_or_default().trim().to_owned()
}

fn deep_text(e: &Element) -> String {
    let mut s = String::new();
    for n in &e.children {
        match n {
            Node::Text(t) => s.push_str(t),
            Node::Element(c) => {
                if !s.is_empty() && !s.ends_with(' ') {
                    s.push(' ');
                }
                s.push_str(&deep_text(c));
            }
            Node::Binary(_) => {}
        }
    }
    s
}

fn person_name(e: Option<&Element>) -> String {
    let Some(n) = e else {
        return String::new();
    };
    let parts: Vec<String> = ["prefix", "given", "family", "suffix"]
        .iter()
        .flat_map(|k| n.elements().filter(move |c| c.local == *k).map(deep_text))
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .collect();
    if parts.is_empty() {
        deep_text(n).trim().to_owned()
    } else {
        parts.join(" ")
    }
}

/// The document's title (for lists), if it is a CDA document.
pub fn title(doc: &Element) -> Option<String> {
    doc.is(HL7, "ClinicalDocument")
        .then(|| text_of(child(doc, "title")))
        .filter(|t| !t.is_empty())
}

/// Renders the CDA document as an HTML fragment; `Err` when it is not a ClinicalDocument.
pub fn render(doc: &Element) -> Result<String, String> {
    if !doc.is(HL7, "ClinicalDocument") {
        return Err(format!(
            "the document is not an HL7 CDA ClinicalDocument (root element {})",
            doc.local
        ));
    }
    let mut out = String::from("<article class=\"cda-report\">");
    let title = text_of(child(doc, "title"));
    out.push_str(&format!(
        "<h1>{}</h1>",
        esc(if title.is_empty() { "Report" } else { &title })
    ));
    let time = child(doc, "effectiveTime")
        .and_then(|t| t.attr("value"))
        .unwrap_or("");
    let authors: Vec<String> = doc
        .elements()
        .filter(|c| c.local == "author")
        .filter_map(|a| child(a, "assignedAuthor"))
        .map(|aa| person_name(child(aa, "assignedPerson").and_then(|p| child(p, "name"))))
        .filter(|n| !n.is_empty())
        .collect();
    out.push_str("<p class=\"cda-meta\">");
    if !authors.is_empty() {
        out.push_str(&format!("Author: {}", esc(&authors.join(", "))));
    }
    if !time.is_empty() {
        if !authors.is_empty() {
            out.push_str(" · ");
        }
        out.push_str(&format!("Date: {}", esc(&format_time(time))));
    }
    out.push_str("</p>");
    if let Some(body) = child(doc, "component").and_then(|c| child(c, "structuredBody")) {
        for comp in body.elements().filter(|c| c.local == "component") {
            if let Some(section) = child(comp, "section") {
                render_section(section, 2, &mut out);
            }
        }
    } else if let Some(nb) = child(doc, "component").and_then(|c| child(c, "nonXMLBody")) {
        out.push_str(&format!(
            "<p>{}</p>",
            esc("This report has a non-XML body that the viewer cannot show.")
        ));
        let _ = nb;
    }
    out.push_str("</article>");
    Ok(out)
}

fn format_time(ts: &str) -> String {
    let d: String = ts.chars().take_while(|c| c.is_ascii_digit()).collect();
    match d.len() {
        n if n >= 12 => format!(
            "{}-{}-{} {}:{}",
            &d[0..4],
            &d[4..6],
            &d[6..8],
            &d[8..10],
            &d[10..12]
        ),
        n if n >= 8 => format!("{}-{}-{}", &d[0..4], &d[4..6], &d[6..8]),
        _ => ts.to_owned(),
    }
}

fn render_section(section: &Element, level: usize, out: &mut String) {
    out.push_str("<section>");
    let title = text_of(child(section, "title"));
    if !title.is_empty() {
        let h = level.min(6);
        out.push_str(&format!("<h{h}>{}</h{h}>", esc(&title)));
    }
    if let Some(text) = child(section, "text") {
        out.push_str("<div class=\"cda-text\">");
        narrative(text, out, 0);
        out.push_str("</div>");
    }
    for comp in section.elements().filter(|c| c.local == "component") {
        if let Some(s) = child(comp, "section") {
            render_section(s, level + 1, out);
        }
    }
    out.push_str("</section>");
}

/// The narrative block (CDA R2 NarrativeBlock.xsd) to HTML, element by element.
fn narrative(e: &Element, out: &mut String, depth: usize) {
    if depth > 64 {
        return;
    }
    for n in &e.children {
        match n {
            Node::Text(t) => out.push_str(&esc(t)),
            Node::Binary(_) => {}
            Node::Element(c) => {
                let tag = match c.local.as_str() {
                    "paragraph" => Some("p"),
                    "list" => Some(if c.attr("listType") == Some("ordered") {
                        "ol"
                    } else {
                        "ul"
                    }),
                    "item" => Some("li"),
                    "table" => Some("table"),
                    "thead" => Some("thead"),
                    "tbody" => Some("tbody"),
                    "tfoot" => Some("tfoot"),
                    "tr" => Some("tr"),
                    "th" => Some("th"),
                    "td" => Some("td"),
                    "caption" => Some("caption"),
                    "content" => Some("span"),
                    "sub" => Some("sub"),
                    "sup" => Some("sup"),
                    "br" => {
                        out.push_str("<br>");
                        continue;
                    }
                    "renderMultiMedia" | "footnote" | "footnoteRef" | "linkHtml" => None,
                    _ => None,
                };
                match tag {
                    Some(t) => {
                        out.push_str(&format!("<{t}>"));
                        narrative(c, out, depth + 1);
                        out.push_str(&format!("</{t}>"));
                    }
                    None => narrative(c, out, depth + 1),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn narrative_is_escaped_and_limited() {
        let cda = br#"<ClinicalDocument xmlns="urn:hl7-org:v3"><title>CT Chest</title>
<effectiveTime value="20261123101500"/>
<author><assignedAuthor><assignedPerson><name><given>Rita</given><family>Radiologist</family></name></assignedPerson></assignedAuthor></author>
<component><structuredBody><component><section><title>Findings</title>
<text><paragraph>No &lt;script&gt;alert(1)&lt;/script&gt; nodules.</paragraph><list><item>one</item></list><linkHtml href="javascript:x">click</linkHtml></text>
</section></component></structuredBody></component></ClinicalDocument>"#;
        let doc = xml::parse(cda, &xml::Limits::default()).expect("parse");
        let html = render(&doc).expect("render");
        assert!(html.contains("<h1>CT Chest</h1>"));
        assert!(html.contains("Rita Radiologist"));
        assert!(html.contains("2026-11-23 10:15"));
        assert!(html.contains("<h2>Findings</h2>"));
        assert!(html.contains("&lt;script&gt;"));
        assert!(!html.contains("<script"));
        assert!(!html.contains("javascript:"));
        assert!(html.contains("<ul><li>one</li></ul>"));
        assert_eq!(title(&doc).as_deref(), Some("CT Chest"));
    }
}
