//! Schema-order-aware walking of a namespace-resolved [`Element`] tree.
//!
//! [`Seq`] reads the element children of one element as an XML Schema `sequence`: the decoder of
//! each type asks for its particles in schema order (`many`, `opt`, `one`) and finally calls
//! [`Seq::end`], which refuses anything left over. An element out of order is therefore reported
//! at its own position, together with what the schema allows there, as a validating parser
//! would. Attributes the decoder does not ask for are ignored (extension attributes are
//! tolerated).

use super::DecodeError;
use super::{LCM_NS, QUERY_NS, RIM_NS, RS_NS, XDSB_NS};
use crate::xml::{Element, Node};

/// The canonical prefix of a namespace we know, used in paths and error messages.
fn prefix_of(ns: Option<&str>) -> Option<&'static str> {
    match ns? {
        RIM_NS => Some("rim"),
        RS_NS => Some("rs"),
        LCM_NS => Some("lcm"),
        QUERY_NS => Some("query"),
        XDSB_NS => Some("xdsb"),
        crate::soap::XOP_NS => Some("xop"),
        _ => None,
    }
}

/// `prefix:local` for known namespaces, `{uri}local` otherwise, `local` without namespace.
pub(crate) fn qname(ns: Option<&str>, local: &str) -> String {
    match (prefix_of(ns), ns) {
        (Some(p), _) => format!("{p}:{local}"),
        (None, Some(uri)) => format!("{{{uri}}}{local}"),
        (None, None) => local.to_string(),
    }
}

pub(crate) fn element_qname(el: &Element) -> String {
    qname(el.namespace(), &el.local)
}

/// An element path such as
/// `/lcm:SubmitObjectsRequest/rim:RegistryObjectList/rim:ExtrinsicObject[@id='Document01']`.
#[derive(Debug, Clone)]
pub struct Path(String);

impl Path {
    pub(crate) fn root(el: &Element) -> Path {
        Path(format!("/{}", element_qname(el)))
    }

    /// The path of `el`, the `index`-th (1-based) of `count` children of this element with
    /// its name: `name[@id='..']` when it has an id, `name[index]` when it has siblings of the
    /// same name, `name` otherwise.
    fn child(&self, el: &Element, index: usize, count: usize) -> Path {
        let name = element_qname(el);
        match el.attr("id") {
            Some(id) => Path(format!("{}/{name}[@id='{id}']", self.0)),
            None if count > 1 => Path(format!("{}/{name}[{index}]", self.0)),
            None => Path(format!("{}/{name}", self.0)),
        }
    }

    pub(crate) fn string(&self) -> String {
        self.0.clone()
    }
}

/// One element child as the decoders see it: the element and its path.
pub(crate) type Child<'a> = (&'a Element, Path);

/// The element children of one element, consumed in schema order.
pub(crate) struct Seq<'a> {
    parent: &'a Element,
    path: &'a Path,
    children: Vec<&'a Element>,
    next: usize,
    /// The particles that were allowed at `next` but not present, in schema order.
    expected: Vec<String>,
}

impl<'a> Seq<'a> {
    /// Starts reading `parent`, whose content model has elements only: non-blank text or
    /// MTOM content among them is refused.
    pub(crate) fn new(parent: &'a Element, path: &'a Path) -> Result<Seq<'a>, DecodeError> {
        let mut children = Vec::new();
        for node in &parent.children {
            match node {
                Node::Element(e) => children.push(e),
                Node::Text(t) if t.trim().is_empty() => {}
                Node::Text(_) => {
                    return Err(DecodeError::UnexpectedText {
                        path: path.string(),
                        at: parent.position,
                    });
                }
                Node::Binary(_) => {
                    return Err(DecodeError::UnexpectedBinary {
                        path: path.string(),
                        at: parent.position,
                    });
                }
            }
        }
        Ok(Seq {
            parent,
            path,
            children,
            next: 0,
            expected: Vec::new(),
        })
    }

    fn peek_is(&self, ns: &str, local: &str) -> bool {
        self.children
            .get(self.next)
            .is_some_and(|e| e.is(ns, local))
    }

    /// The next child, not consumed.
    pub(crate) fn peek(&self) -> Option<&'a Element> {
        self.children.get(self.next).copied()
    }

    /// Consumes the next child whatever its name (after [`Seq::peek`]).
    pub(crate) fn take(&mut self) -> Option<Child<'a>> {
        let el = *self.children.get(self.next)?;
        let same = |e: &&&Element| e.local == el.local && e.ns == el.ns;
        let index = self.children[..self.next].iter().filter(same).count() + 1;
        let count = self.children.iter().filter(same).count();
        self.next += 1;
        self.expected.clear();
        Some((el, self.path.child(el, index, count)))
    }

    /// Zero or more consecutive `ns:local`.
    pub(crate) fn many(&mut self, ns: &str, local: &str) -> Vec<Child<'a>> {
        let mut out = Vec::new();
        while self.peek_is(ns, local) {
            if let Some(c) = self.take() {
                out.push(c);
            }
        }
        // After a repeatable particle the same element may still follow.
        self.expected.push(qname(Some(ns), local));
        out
    }

    /// An optional `ns:local`.
    pub(crate) fn opt(&mut self, ns: &str, local: &str) -> Option<Child<'a>> {
        if self.peek_is(ns, local) {
            self.take()
        } else {
            self.expected.push(qname(Some(ns), local));
            None
        }
    }

    /// A required `ns:local`.
    pub(crate) fn one(&mut self, ns: &str, local: &str) -> Result<Child<'a>, DecodeError> {
        if self.peek_is(ns, local)
            && let Some(c) = self.take()
        {
            return Ok(c);
        }
        self.expected.push(qname(Some(ns), local));
        match self.peek() {
            Some(found) => Err(self.unexpected(found)),
            None => Err(DecodeError::MissingElement {
                path: self.path.string(),
                missing: qname(Some(ns), local),
                at: self.parent.position,
            }),
        }
    }

    /// One or more consecutive `ns:local`.
    pub(crate) fn at_least_one(
        &mut self,
        ns: &str,
        local: &str,
    ) -> Result<Vec<Child<'a>>, DecodeError> {
        let first = self.one(ns, local)?;
        let mut rest = self.many(ns, local);
        rest.insert(0, first);
        Ok(rest)
    }

    /// The error for `found` standing where only the particles seen since the last consumed
    /// element (plus `also`) were allowed.
    pub(crate) fn unexpected(&self, found: &Element) -> DecodeError {
        DecodeError::UnexpectedElement {
            path: self.path.string(),
            found: element_qname(found),
            expected: self.expected.clone(),
            at: found.position,
        }
    }

    /// Records that `name` would have been accepted at the current place (for choices).
    pub(crate) fn allow(&mut self, ns: &str, local: &str) {
        self.expected.push(qname(Some(ns), local));
    }

    /// Refuses any child left over.
    pub(crate) fn end(self) -> Result<(), DecodeError> {
        match self.peek() {
            Some(found) => Err(self.unexpected(found)),
            None => Ok(()),
        }
    }
}

pub(crate) fn attr(el: &Element, name: &str) -> Option<String> {
    el.attr(name).map(str::to_string)
}

pub(crate) fn req_attr(el: &Element, path: &Path, name: &str) -> Result<String, DecodeError> {
    el.attr(name)
        .map(str::to_string)
        .ok_or_else(|| DecodeError::MissingAttribute {
            path: path.string(),
            attribute: name.to_string(),
            at: el.position,
        })
}

fn invalid(
    el: &Element,
    path: &Path,
    name: &str,
    value: &str,
    expected: &'static str,
) -> DecodeError {
    DecodeError::InvalidAttribute {
        path: path.string(),
        attribute: name.to_string(),
        value: value.to_string(),
        expected,
        at: el.position,
    }
}

/// An `xs:boolean` attribute.
pub(crate) fn bool_attr(
    el: &Element,
    path: &Path,
    name: &str,
) -> Result<Option<bool>, DecodeError> {
    match el.attr(name).map(str::trim) {
        None => Ok(None),
        Some("true" | "1") => Ok(Some(true)),
        Some("false" | "0") => Ok(Some(false)),
        Some(other) => Err(invalid(
            el,
            path,
            name,
            other,
            "an xs:boolean (true, false, 1 or 0)",
        )),
    }
}

/// An `xs:integer` attribute.
pub(crate) fn int_attr(el: &Element, path: &Path, name: &str) -> Result<Option<i64>, DecodeError> {
    match el.attr(name) {
        None => Ok(None),
        Some(v) => v
            .trim()
            .parse::<i64>()
            .map(Some)
            .map_err(|_| invalid(el, path, name, v, "an integer")),
    }
}

/// An attribute restricted to a list of values, mapped by `parse`.
pub(crate) fn enum_attr<T>(
    el: &Element,
    path: &Path,
    name: &str,
    expected: &'static str,
    parse: impl Fn(&str) -> Option<T>,
) -> Result<Option<T>, DecodeError> {
    match el.attr(name) {
        None => Ok(None),
        Some(v) => parse(v.trim())
            .map(Some)
            .ok_or_else(|| invalid(el, path, name, v, expected)),
    }
}

/// The text of an element with simple content: element children or MTOM content are refused.
pub(crate) fn text_only(el: &Element, path: &Path) -> Result<String, DecodeError> {
    let mut s = String::new();
    for node in &el.children {
        match node {
            Node::Text(t) => s.push_str(t),
            Node::Element(child) => {
                return Err(DecodeError::UnexpectedElement {
                    path: path.string(),
                    found: element_qname(child),
                    expected: Vec::new(),
                    at: child.position,
                });
            }
            Node::Binary(_) => {
                return Err(DecodeError::UnexpectedBinary {
                    path: path.string(),
                    at: el.position,
                });
            }
        }
    }
    Ok(s)
}

/// The text of a token-like element (a unique id, a mime type), trimmed.
pub(crate) fn token(el: &Element, path: &Path) -> Result<String, DecodeError> {
    Ok(text_only(el, path)?.trim().to_string())
}

/// The binary content of an `xs:base64Binary` element: MTOM-resolved bytes (shared, not
/// copied) or base64 text decoded through [`Element::binary_content`].
pub(crate) fn binary(el: &Element, path: &Path) -> Result<bytes::Bytes, DecodeError> {
    let mut resolved = None;
    for node in &el.children {
        match node {
            Node::Binary(b) if resolved.is_none() => resolved = Some(b.clone()),
            Node::Binary(_) => {
                return Err(DecodeError::UnexpectedBinary {
                    path: path.string(),
                    at: el.position,
                });
            }
            Node::Element(child) => {
                return Err(DecodeError::UnexpectedElement {
                    path: path.string(),
                    found: element_qname(child),
                    expected: Vec::new(),
                    at: child.position,
                });
            }
            Node::Text(_) => {}
        }
    }
    if let Some(b) = resolved {
        if !el.text().trim().is_empty() {
            return Err(DecodeError::UnexpectedText {
                path: path.string(),
                at: el.position,
            });
        }
        return Ok(b);
    }
    el.binary_content()
        .map(|c| bytes::Bytes::from(c.into_owned()))
        .map_err(|e| DecodeError::InvalidBase64 {
            path: path.string(),
            reason: e.to_string(),
            at: el.position,
        })
}

/// Checks the root element's name.
pub(crate) fn expect_root(el: &Element, ns: &str, local: &str) -> Result<Path, DecodeError> {
    if el.is(ns, local) {
        Ok(Path::root(el))
    } else {
        Err(DecodeError::UnexpectedRoot {
            found: element_qname(el),
            expected: vec![qname(Some(ns), local)],
            at: el.position,
        })
    }
}
