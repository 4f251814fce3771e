//! Deterministic XML text for ebXML messages.
//!
//! The same value always gives the same bytes: attributes in a fixed order, the prefixes
//! `rim`/`rs`/`lcm`/`query`/`xdsb` declared once on the root, no XML declaration (the text goes
//! inside a SOAP `env:Body`). Binary content is written either inline as base64 or, for MTOM, as
//! an `xop:Include` whose bytes are handed back as a separate MIME part (XOP §3, MTOM §3).

use base64::Engine;
use bytes::Bytes;

use crate::soap::XOP_NS;
use crate::soap::mtom::{OutgoingPart, cid_href};

/// How `xs:base64Binary` content (documents) is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BinaryEncoding {
    /// Base64 text inside the element.
    #[default]
    Inline,
    /// An `xop:Include` referring to an attachment returned in [`Encoded::attachments`].
    Mtom,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct EncodeOptions {
    pub binary: BinaryEncoding,
    /// Indent nested elements by two spaces, one per line (golden files, logs). Text content is
    /// never touched, so indenting does not change the decoded value.
    pub indent: bool,
}

impl EncodeOptions {
    /// Compact XML with base64 content inline.
    pub const INLINE: EncodeOptions = EncodeOptions {
        binary: BinaryEncoding::Inline,
        indent: false,
    };
    /// Compact XML with documents as MTOM attachments.
    pub const MTOM: EncodeOptions = EncodeOptions {
        binary: BinaryEncoding::Mtom,
        indent: false,
    };
    /// Indented XML with base64 content inline.
    pub const PRETTY: EncodeOptions = EncodeOptions {
        binary: BinaryEncoding::Inline,
        indent: true,
    };
}

/// An encoded message: the XML of the SOAP body and, with [`BinaryEncoding::Mtom`], the MIME
/// parts its `xop:Include` elements refer to, in document order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Encoded {
    pub xml: String,
    pub attachments: Vec<OutgoingPart>,
}

/// Writes XML text. Created by [`super::WireMessage::to_xml`].
pub struct Writer {
    out: String,
    opts: EncodeOptions,
    attachments: Vec<OutgoingPart>,
    /// Open elements: qualified name and whether an element child was written.
    stack: Vec<(&'static str, bool)>,
    /// A start tag is written up to its attributes; `>` or `/>` is still due.
    tag_open: bool,
}

impl Writer {
    pub(crate) fn new(opts: EncodeOptions) -> Writer {
        Writer {
            out: String::with_capacity(4096),
            opts,
            attachments: Vec::new(),
            stack: Vec::new(),
            tag_open: false,
        }
    }

    pub(crate) fn finish(self) -> Encoded {
        Encoded {
            xml: self.out,
            attachments: self.attachments,
        }
    }

    fn close_start_tag(&mut self) {
        if self.tag_open {
            self.out.push('>');
            self.tag_open = false;
        }
    }

    fn newline(&mut self, depth: usize) {
        if self.opts.indent {
            self.out.push('\n');
            for _ in 0..depth {
                self.out.push_str("  ");
            }
        }
    }

    /// Starts `<qname`; attributes may follow until content or the end is written.
    pub(crate) fn start(&mut self, qname: &'static str) {
        self.close_start_tag();
        let depth = self.stack.len();
        if let Some(parent) = self.stack.last_mut() {
            parent.1 = true;
            self.newline(depth);
        }
        self.out.push('<');
        self.out.push_str(qname);
        self.stack.push((qname, false));
        self.tag_open = true;
    }

    pub(crate) fn attr(&mut self, name: &str, value: &str) {
        debug_assert!(self.tag_open, "attribute {name} outside a start tag");
        self.out.push(' ');
        self.out.push_str(name);
        self.out.push_str("=\"");
        push_escaped(&mut self.out, value, true);
        self.out.push('"');
    }

    pub(crate) fn opt_attr(&mut self, name: &str, value: Option<&str>) {
        if let Some(v) = value {
            self.attr(name, v);
        }
    }

    pub(crate) fn bool_attr(&mut self, name: &str, value: Option<bool>) {
        if let Some(v) = value {
            self.attr(name, if v { "true" } else { "false" });
        }
    }

    pub(crate) fn int_attr(&mut self, name: &str, value: Option<i64>) {
        if let Some(v) = value {
            self.attr(name, &v.to_string());
        }
    }

    /// Text content of the current element (escaped).
    pub(crate) fn text(&mut self, text: &str) {
        if text.is_empty() {
            return;
        }
        self.close_start_tag();
        push_escaped(&mut self.out, text, false);
    }

    /// Ends the current element.
    pub(crate) fn end(&mut self) {
        let Some((qname, had_children)) = self.stack.pop() else {
            debug_assert!(false, "end() without start()");
            return;
        };
        if self.tag_open {
            self.out.push_str("/>");
            self.tag_open = false;
            return;
        }
        if had_children {
            self.newline(self.stack.len());
        }
        self.out.push_str("</");
        self.out.push_str(qname);
        self.out.push('>');
    }

    /// `<qname>text</qname>`.
    pub(crate) fn leaf(&mut self, qname: &'static str, text: &str) {
        self.start(qname);
        self.text(text);
        self.end();
    }

    /// Binary content of the current element: base64 text, or an `xop:Include` and a new
    /// attachment of media type `mime`.
    pub(crate) fn binary(&mut self, content: &Bytes, mime: &str) {
        match self.opts.binary {
            BinaryEncoding::Inline => {
                let b64 = base64::engine::general_purpose::STANDARD.encode(content);
                self.text(&b64);
            }
            BinaryEncoding::Mtom => {
                let content_id = format!("document{}@hiehub", self.attachments.len() + 1);
                self.close_start_tag();
                self.out.push_str("<xop:Include xmlns:xop=\"");
                self.out.push_str(XOP_NS);
                self.out.push_str("\" href=\"");
                push_escaped(&mut self.out, &cid_href(&content_id), true);
                self.out.push_str("\"/>");
                self.attachments.push(OutgoingPart {
                    content_id,
                    content_type: mime.to_string(),
                    body: content.clone(),
                });
            }
        }
    }
}

/// Escapes markup: in text `&`, `<`, `>` as `&amp;`, `&lt;`, `&gt;`; in attribute values `&`
/// as `&amp;` and `<`, `"` as character references. Writes as character references the
/// characters a parser would normalise away: CR in text (end-of-line handling) and TAB, LF, CR
/// in attribute values (attribute-value normalisation), so they survive a round trip.
///
/// Not [`crate::xml::escape`]: `crate::xml::parse` currently refuses the predefined entities
/// other than `&amp;` inside attribute values (`&lt;`, `&gt;`, `&quot;`, `&apos;`), so what that
/// function writes would not read back. Character references are read everywhere.
fn push_escaped(out: &mut String, s: &str, attribute: bool) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' if attribute => out.push_str("&#60;"),
            '<' => out.push_str("&lt;"),
            '>' if !attribute => out.push_str("&gt;"),
            '"' if attribute => out.push_str("&#34;"),
            '\r' => out.push_str("&#13;"),
            '\n' if attribute => out.push_str("&#10;"),
            '\t' if attribute => out.push_str("&#9;"),
            c => out.push(c),
        }
    }
}
