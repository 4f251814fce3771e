//! Safe XML reader: untrusted bytes in, a namespace-resolved element tree out.
//!
//! Built on quick-xml, which never expands entities or processes DTDs. On top of that this module
//! rejects any DOCTYPE outright (so XXE and entity bombs get a clear error instead of silent
//! acceptance), refuses undeclared entity references, and enforces limits on input size, nesting
//! depth, element count and attributes per element *while* reading, before memory is spent.
//!
//! The tree is deliberately small: elements with resolved namespace URIs, attributes, text and
//! resolved MTOM attachments ([`Node::Binary`]). Transaction codecs (ebXML, HL7v3, ...) walk it and
//! turn it into domain types; nothing past the codecs sees XML.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::Arc;

use bytes::Bytes;
use quick_xml::events::{BytesStart, Event};
use quick_xml::name::ResolveResult;
use quick_xml::reader::NsReader;

/// Limits applied while parsing. Every limit is checked before the corresponding allocation.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_bytes: usize,
    pub max_depth: usize,
    pub max_elements: usize,
    pub max_attributes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_bytes: 64 * 1024 * 1024,
            max_depth: 128,
            max_elements: 1_000_000,
            max_attributes: 256,
        }
    }
}

/// Where in the input something happened: byte offset and 1-based line/column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    pub offset: usize,
    pub line: usize,
    pub column: usize,
}

impl std::fmt::Display for Position {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line {}, column {}", self.line, self.column)
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum XmlError {
    #[error("XML document of {len} bytes exceeds the limit of {limit} bytes")]
    TooLarge { limit: usize, len: usize },
    #[error("XML is not UTF-8 (at byte {offset}); send UTF-8 encoded XML")]
    NotUtf8 { offset: usize },
    #[error(
        "DOCTYPE declarations are not accepted (at {at}): DTDs and entity declarations are refused to prevent XXE and entity-expansion attacks"
    )]
    Doctype { at: Position },
    #[error(
        "undeclared entity reference '&{name};' at {at}: only the five predefined XML entities and character references are allowed"
    )]
    UndeclaredEntity { name: String, at: Position },
    #[error("elements nested deeper than {limit} levels at {at}")]
    TooDeep { limit: usize, at: Position },
    #[error("more than {limit} elements in the document (at {at})")]
    TooManyElements { limit: usize, at: Position },
    #[error("element <{element}> has more than {limit} attributes (at {at})")]
    TooManyAttributes {
        element: String,
        limit: usize,
        at: Position,
    },
    #[error("namespace prefix '{prefix}' is not declared (at {at})")]
    UnboundPrefix { prefix: String, at: Position },
    #[error("malformed XML at {at}: {message}")]
    Syntax { message: String, at: Position },
    #[error("the document has no root element")]
    NoRoot,
    #[error("content after the root element at {at}")]
    TrailingContent { at: Position },
}

/// A namespace URI, shared between the elements of one document.
pub type Ns = Option<Arc<str>>;

#[derive(Debug, Clone, PartialEq)]
pub struct Attribute {
    pub ns: Ns,
    pub local: String,
    pub value: String,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    Element(Element),
    Text(String),
    /// Bytes that stand where an `xop:Include` stood (MTOM), after resolution.
    Binary(Bytes),
}

/// The namespace declarations in scope at an element: `(prefix, uri)`, `""` for the default.
pub type Scope = Arc<Vec<(String, Arc<str>)>>;

#[derive(Debug, Clone, PartialEq)]
pub struct Element {
    pub ns: Ns,
    pub local: String,
    pub attrs: Vec<Attribute>,
    pub children: Vec<Node>,
    pub scope: Scope,
    /// Where the start tag began in the input.
    pub position: Position,
}

impl Element {
    pub fn is(&self, ns: &str, local: &str) -> bool {
        self.local == local && self.ns.as_deref() == Some(ns)
    }

    pub fn namespace(&self) -> Option<&str> {
        self.ns.as_deref()
    }

    /// An unqualified attribute (the common case for IHE and HL7 attributes).
    pub fn attr(&self, local: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|a| a.ns.is_none() && a.local == local)
            .map(|a| a.value.as_str())
    }

    pub fn attr_ns(&self, ns: &str, local: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|a| a.local == local && a.ns.as_deref() == Some(ns))
            .map(|a| a.value.as_str())
    }

    pub fn elements(&self) -> impl Iterator<Item = &Element> {
        self.children.iter().filter_map(|n| match n {
            Node::Element(e) => Some(e),
            _ => None,
        })
    }

    pub fn child(&self, ns: &str, local: &str) -> Option<&Element> {
        self.elements().find(|e| e.is(ns, local))
    }

    pub fn children_named<'a>(
        &'a self,
        ns: &'a str,
        local: &'a str,
    ) -> impl Iterator<Item = &'a Element> + 'a {
        self.elements().filter(move |e| e.is(ns, local))
    }

    /// The concatenated text children, untrimmed.
    pub fn text(&self) -> String {
        let mut s = String::new();
        for n in &self.children {
            if let Node::Text(t) = n {
                s.push_str(t);
            }
        }
        s
    }

    /// The namespace URI bound to `prefix` ("" for the default namespace) at this element.
    pub fn lookup_prefix(&self, prefix: &str) -> Option<&str> {
        self.scope
            .iter()
            .rev()
            .find(|(p, _)| p == prefix)
            .map(|(_, u)| &**u)
    }

    /// Resolves a QName-valued text or attribute (`prefix:local`) against this element's scope.
    pub fn resolve_qname<'v>(&self, value: &'v str) -> Option<(Option<&str>, &'v str)> {
        let value = value.trim();
        match value.split_once(':') {
            Some((p, l)) => self.lookup_prefix(p).map(|u| (Some(u), l)),
            None => Some((self.lookup_prefix(""), value)),
        }
    }

    /// Replaces every element for which `f` returns `Some(bytes)` by a [`Node::Binary`].
    /// Used to resolve `xop:Include` after MTOM decoding.
    pub fn replace_elements<E>(
        &mut self,
        f: &mut impl FnMut(&Element) -> Result<Option<Bytes>, E>,
    ) -> Result<(), E> {
        for child in &mut self.children {
            if let Node::Element(e) = child {
                match f(e)? {
                    Some(bytes) => *child = Node::Binary(bytes),
                    None => e.replace_elements(f)?,
                }
            }
        }
        Ok(())
    }

    /// Binary content of an element: MTOM-resolved bytes, or base64 text decoded.
    pub fn binary_content(&self) -> Result<Cow<'_, [u8]>, base64::DecodeError> {
        use base64::Engine;
        for n in &self.children {
            if let Node::Binary(b) = n {
                return Ok(Cow::Borrowed(b.as_ref()));
            }
        }
        let text: String = self.text().split_ascii_whitespace().collect();
        base64::engine::general_purpose::STANDARD
            .decode(text.as_bytes())
            .map(Cow::Owned)
    }
}

fn position_of(input: &str, offset: usize) -> Position {
    let offset = offset.min(input.len());
    let before = &input.as_bytes()[..offset];
    let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
    let line_start = before
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |p| p + 1);
    Position {
        offset,
        line,
        column: offset - line_start + 1,
    }
}

/// Parses a complete document into its root element.
pub fn parse(input: &[u8], limits: &Limits) -> Result<Element, XmlError> {
    if input.len() > limits.max_bytes {
        return Err(XmlError::TooLarge {
            limit: limits.max_bytes,
            len: input.len(),
        });
    }
    let input = input.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(input);
    let text = std::str::from_utf8(input).map_err(|e| XmlError::NotUtf8 {
        offset: e.valid_up_to(),
    })?;
    Parser::new(text, limits).run()
}

struct Parser<'i> {
    input: &'i str,
    reader: NsReader<&'i [u8]>,
    limits: &'i Limits,
    interned: HashMap<String, Arc<str>>,
    stack: Vec<Element>,
    elements: usize,
    root: Option<Element>,
    /// Line tracking for [`Parser::at`]: offset reached, its line, and where that line starts
    /// (kept in `column`).
    cursor: Position,
}

impl<'i> Parser<'i> {
    fn new(input: &'i str, limits: &'i Limits) -> Self {
        let mut reader = NsReader::from_str(input);
        let config = reader.config_mut();
        config.check_end_names = true;
        config.expand_empty_elements = false;
        Parser {
            input,
            reader,
            limits,
            interned: HashMap::new(),
            stack: Vec::new(),
            elements: 0,
            root: None,
            cursor: Position {
                offset: 0,
                line: 1,
                column: 0,
            },
        }
    }

    /// Position of `offset`. Offsets arrive in increasing order while parsing, so the line count
    /// advances incrementally from the previous call (linear overall); an earlier offset (only in
    /// error paths) is counted from the start.
    fn at(&mut self, offset: u64) -> Position {
        let offset = usize::try_from(offset)
            .unwrap_or(usize::MAX)
            .min(self.input.len());
        if offset < self.cursor.offset {
            return position_of(self.input, offset);
        }
        let bytes = &self.input.as_bytes()[self.cursor.offset..offset];
        for (i, b) in bytes.iter().enumerate() {
            if *b == b'\n' {
                self.cursor.line += 1;
                self.cursor.column = self.cursor.offset + i + 1; // start of the new line
            }
        }
        self.cursor.offset = offset;
        Position {
            offset,
            line: self.cursor.line,
            column: offset - self.cursor.column + 1,
        }
    }

    fn intern(&mut self, uri: &str) -> Arc<str> {
        if let Some(a) = self.interned.get(uri) {
            return a.clone();
        }
        let a: Arc<str> = Arc::from(uri);
        self.interned.insert(uri.to_owned(), a.clone());
        a
    }

    fn run(mut self) -> Result<Element, XmlError> {
        loop {
            let start = self.reader.buffer_position();
            let event = match self.reader.read_event() {
                Ok(ev) => ev,
                Err(e) => {
                    let at = self.at(self.reader.error_position());
                    return Err(XmlError::Syntax {
                        message: e.to_string(),
                        at,
                    });
                }
            };
            match event {
                Event::DocType(_) => {
                    return Err(XmlError::Doctype { at: self.at(start) });
                }
                Event::Start(e) => {
                    let el = self.open(&e, start)?;
                    self.stack.push(el);
                }
                Event::Empty(e) => {
                    let el = self.open(&e, start)?;
                    self.close(el, start)?;
                }
                Event::End(_) => {
                    let Some(el) = self.stack.pop() else {
                        return Err(XmlError::Syntax {
                            message: "unexpected end tag".into(),
                            at: self.at(start),
                        });
                    };
                    self.close(el, start)?;
                }
                Event::Text(t) => {
                    let content = t.xml10_content();
                    self.text(&content, start)?;
                }
                Event::CData(c) => {
                    let content = c.xml10_content().into_owned();
                    self.text(&content, start)?;
                }
                Event::GeneralRef(r) => {
                    let resolved = match r.resolve_char_ref() {
                        Ok(Some(c)) => c.to_string(),
                        Ok(None) => match &*r {
                            "lt" => "<".into(),
                            "gt" => ">".into(),
                            "amp" => "&".into(),
                            "apos" => "'".into(),
                            "quot" => "\"".into(),
                            other => {
                                return Err(XmlError::UndeclaredEntity {
                                    name: other.to_owned(),
                                    at: self.at(start),
                                });
                            }
                        },
                        Err(e) => {
                            return Err(XmlError::Syntax {
                                message: e.to_string(),
                                at: self.at(start),
                            });
                        }
                    };
                    self.text(&resolved, start)?;
                }
                Event::Comment(_) | Event::PI(_) | Event::Decl(_) => {}
                Event::Eof => {
                    if let Some(open) = self.stack.last() {
                        return Err(XmlError::Syntax {
                            message: format!("document ends inside <{}>", open.local),
                            at: self.at(start),
                        });
                    }
                    return self.root.ok_or(XmlError::NoRoot);
                }
            }
        }
    }

    fn text(&mut self, content: &str, start: u64) -> Result<(), XmlError> {
        match self.stack.last_mut() {
            Some(parent) => {
                if let Some(Node::Text(prev)) = parent.children.last_mut() {
                    prev.push_str(content);
                } else {
                    parent.children.push(Node::Text(content.to_owned()));
                }
                Ok(())
            }
            None if content.trim().is_empty() => Ok(()),
            None => Err(XmlError::Syntax {
                message: "text outside the root element".into(),
                at: self.at(start),
            }),
        }
    }

    fn open(&mut self, e: &BytesStart<'_>, start: u64) -> Result<Element, XmlError> {
        let at = self.at(start);
        if self.root.is_some() {
            return Err(XmlError::TrailingContent { at });
        }
        if self.stack.len() >= self.limits.max_depth {
            return Err(XmlError::TooDeep {
                limit: self.limits.max_depth,
                at,
            });
        }
        self.elements += 1;
        if self.elements > self.limits.max_elements {
            return Err(XmlError::TooManyElements {
                limit: self.limits.max_elements,
                at,
            });
        }
        let local_name = e.local_name().as_ref().to_owned();
        // Namespace declarations first, so the new scope is known.
        let parent_scope = self.stack.last().map(|p| p.scope.clone());
        let mut declared: Vec<(String, Arc<str>)> = Vec::new();
        let mut raw_attrs = Vec::new();
        for (count, attr) in e.attributes().with_checks(true).enumerate() {
            if count >= self.limits.max_attributes {
                return Err(XmlError::TooManyAttributes {
                    element: local_name,
                    limit: self.limits.max_attributes,
                    at,
                });
            }
            let attr = attr.map_err(|err| XmlError::Syntax {
                message: err.to_string(),
                at,
            })?;
            let value = attr
                .normalized_value_with(quick_xml::XmlVersion::Implicit1_0, 1, predefined_entity)
                .map_err(|err| match err {
                    quick_xml::Error::Escape(
                        quick_xml::escape::EscapeError::UnrecognizedEntity(_, name),
                    ) => XmlError::UndeclaredEntity { name, at },
                    other => XmlError::Syntax {
                        message: other.to_string(),
                        at,
                    },
                })?
                .into_owned();
            let key = attr.key.as_ref().to_owned();
            if key == "xmlns" {
                declared.push((String::new(), self.intern(&value)));
            } else if let Some(p) = key.strip_prefix("xmlns:") {
                declared.push((p.to_owned(), self.intern(&value)));
            } else {
                raw_attrs.push((key, value));
            }
        }
        let scope: Scope = match (parent_scope, declared.is_empty()) {
            (Some(s), true) => s,
            (Some(s), false) => {
                let mut v = (*s).clone();
                v.extend(declared);
                Arc::new(v)
            }
            (None, _) => Arc::new(declared),
        };
        let resolved = match self.reader.resolver().resolve_element(e.name()).0 {
            ResolveResult::Bound(n) => Ok(Some(n.as_ref().to_owned())),
            ResolveResult::Unbound => Ok(None),
            ResolveResult::Unknown(prefix) => Err(prefix),
        };
        let ns = match resolved {
            Ok(Some(uri)) => Some(self.intern(&uri)),
            Ok(None) => None,
            Err(prefix) => return Err(XmlError::UnboundPrefix { prefix, at }),
        };
        let mut attrs = Vec::with_capacity(raw_attrs.len());
        for (key, value) in raw_attrs {
            let (ans, local) = match key.split_once(':') {
                Some((prefix, local)) => {
                    let uri = if prefix == "xml" {
                        Arc::from("http://www.w3.org/XML/1998/namespace")
                    } else {
                        scope
                            .iter()
                            .rev()
                            .find(|(p, _)| p == prefix)
                            .map(|(_, u)| u.clone())
                            .ok_or_else(|| XmlError::UnboundPrefix {
                                prefix: prefix.to_owned(),
                                at,
                            })?
                    };
                    (Some(uri), local.to_owned())
                }
                None => (None, key),
            };
            attrs.push(Attribute {
                ns: ans,
                local,
                value,
            });
        }
        Ok(Element {
            ns,
            local: local_name,
            attrs,
            children: Vec::new(),
            scope,
            position: at,
        })
    }

    fn close(&mut self, el: Element, _start: u64) -> Result<(), XmlError> {
        match self.stack.last_mut() {
            Some(parent) => parent.children.push(Node::Element(el)),
            None => self.root = Some(el),
        }
        Ok(())
    }
}

/// The five predefined XML entities; everything else is undeclared (no DTD is ever read).
fn predefined_entity(name: &str) -> Option<&'static str> {
    match name {
        "lt" => Some("<"),
        "gt" => Some(">"),
        "amp" => Some("&"),
        "apos" => Some("'"),
        "quot" => Some("\""),
        _ => None,
    }
}

/// Escapes text for element content and attribute values.
pub fn escape(s: &str) -> Cow<'_, str> {
    quick_xml::escape::escape(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Result<Element, XmlError> {
        parse(s.as_bytes(), &Limits::default())
    }

    #[test]
    fn namespaces_resolve_and_scope_is_kept() {
        let root =
            p(r#"<a:Env xmlns:a="urn:a" xmlns="urn:d"><B x="1" a:y="2">t&amp;u&#65;</B></a:Env>"#)
                .unwrap();
        assert!(root.is("urn:a", "Env"));
        let b = root.child("urn:d", "B").unwrap();
        assert_eq!(b.attr("x"), Some("1"));
        assert_eq!(b.attr_ns("urn:a", "y"), Some("2"));
        assert_eq!(b.text(), "t&uA");
        assert_eq!(b.resolve_qname("a:Sender"), Some((Some("urn:a"), "Sender")));
    }

    #[test]
    fn doctype_is_refused_with_position() {
        let xxe = "<?xml version=\"1.0\"?>\n<!DOCTYPE r [<!ENTITY x SYSTEM \"file:///etc/passwd\">]><r>&x;</r>";
        match p(xxe) {
            Err(XmlError::Doctype { at }) => assert_eq!(at.line, 2),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn undeclared_entity_is_refused() {
        assert!(matches!(
            p("<r>&lol9;</r>"),
            Err(XmlError::UndeclaredEntity { name, .. }) if name == "lol9"
        ));
        assert!(matches!(
            p("<r a=\"&x;\"/>"),
            Err(XmlError::UndeclaredEntity { name, .. }) if name == "x"
        ));
        let ok = p("<r a=\"&lt;&quot;&apos;&gt;&amp;&#65;\"/>").unwrap();
        assert_eq!(ok.attr("a"), Some("<\"'>&A"));
    }

    #[test]
    fn depth_limit_is_enforced() {
        let deep = "<a>".repeat(10_000) + &"</a>".repeat(10_000);
        assert!(matches!(
            p(&deep),
            Err(XmlError::TooDeep { limit: 128, .. })
        ));
    }

    #[test]
    fn element_and_attribute_limits() {
        let limits = Limits {
            max_elements: 3,
            max_attributes: 2,
            ..Limits::default()
        };
        assert!(matches!(
            parse(b"<a><b/><c/><d/></a>", &limits),
            Err(XmlError::TooManyElements { limit: 3, .. })
        ));
        assert!(matches!(
            parse(b"<a x='1' y='2' z='3'/>", &limits),
            Err(XmlError::TooManyAttributes { limit: 2, .. })
        ));
        assert!(matches!(
            parse(
                b"<a/>",
                &Limits {
                    max_bytes: 2,
                    ..Limits::default()
                }
            ),
            Err(XmlError::TooLarge { limit: 2, len: 4 })
        ));
    }

    #[test]
    fn malformed_input_reports_where() {
        match p("<a>\n<b></a>") {
            Err(XmlError::Syntax { at, .. }) => assert_eq!(at.line, 2),
            other => panic!("{other:?}"),
        }
        assert!(matches!(p("<a>"), Err(XmlError::Syntax { .. })));
        assert!(matches!(p(""), Err(XmlError::NoRoot)));
        assert!(matches!(
            p("<a/><b/>"),
            Err(XmlError::TrailingContent { .. })
        ));
        assert!(matches!(p("<x:a/>"), Err(XmlError::UnboundPrefix { .. })));
        assert!(matches!(
            parse(b"<a>\xff</a>", &Limits::default()),
            Err(XmlError::NotUtf8 { offset: 3 })
        ));
    }

    #[test]
    fn bom_is_skipped_and_base64_decodes() {
        let root = parse(b"\xEF\xBB\xBF<a>aGVs\n bG8=</a>", &Limits::default()).unwrap();
        assert_eq!(&*root.binary_content().unwrap(), b"hello");
    }
}
