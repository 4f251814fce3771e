//! MTOM/XOP `multipart/related` codec: SOAP 1.2 messages whose binary content travels as MIME parts.
//!
//! Specifications:
//! - W3C SOAP Message Transmission Optimization Mechanism (MTOM), <https://www.w3.org/TR/soap12-mtom/>
//!   (§3 HTTP SOAP Transmission Optimization Feature, §4 the `multipart/related` serialization).
//! - W3C XML-binary Optimized Packaging (XOP) 1.0, <https://www.w3.org/TR/xop10/>
//!   (§5 the XOP package: root part `application/xop+xml`, `xop:Include href="cid:..."`).
//! - RFC 2387 The MIME Multipart/Related Content-type (`type`, `start`, `start-info` parameters).
//! - RFC 2045 MIME Part One (header and parameter syntax, `Content-Transfer-Encoding`, §6.7 quoted-printable).
//! - RFC 2046 MIME Part Two §5.1 (boundary delimiters, transport padding, preamble and epilogue).
//! - RFC 2392 Content-ID and Message-ID URLs (`cid:` URLs are %-encoded Content-IDs).
//!
//! The decoder is incremental: [`Decoder::push`] is fed the HTTP body chunk by chunk and checks
//! [`Limits`] before it copies a byte, so that an oversized or malformed message is refused
//! while it is still arriving. Scanning is linear in the body size: a search position is kept
//! between chunks and the boundary is looked for with a Boyer-Moore-Horspool skip table.
//!
//! Leniency, because senders in the field (Axis2, .NET WCF, the NIST toolkit) are not all strict:
//! bare LF is accepted wherever RFC 2046 says CRLF, a delimiter may be followed by transport
//! padding, headers may be folded, header names are matched case-insensitively, and `base64` and
//! `quoted-printable` part bodies are decoded.
//!
//! **Invariants:**
//! The line break (CRLF or LF) before a delimiter belongs to the delimiter; every other byte of a
//! part body is returned unchanged, unless the part declares base64 or quoted-printable.
//! (So, with bare LF, a CR that ends a part body is read as the CR of a CRLF delimiter.)
//! This module knows nothing of XML, HTTP or SOAP faults: every [`MtomError`] is the sender's fault,
//! and the caller maps it to a SOAP 1.2 `env:Sender` fault using [`MtomError::code`] and its message.
//! No input makes it panic.

use std::collections::HashSet;

use base64::Engine as _;
use bytes::{Buf, Bytes, BytesMut};
use thiserror::Error;

/// Longest boundary accepted. RFC 2046 allows 70 characters; a little slack is left for careless senders.
pub const MAX_BOUNDARY_LEN: usize = 200;

/// Longest run of transport padding (spaces, tabs) accepted after a boundary delimiter.
const MAX_TRANSPORT_PADDING: usize = 256;

/// How much of a sender's text (a header line, a media type) an error message repeats.
const EXCERPT_CHARS: usize = 120;

/// Media types accepted for the root part (XOP §5.1; plain SOAP 1.2 and SOAP 1.1 roots from lax senders).
const ROOT_MEDIA_TYPES: [&str; 3] = ["application/xop+xml", "application/soap+xml", "text/xml"];

/// Resource limits enforced while a message arrives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Most bytes accepted in the whole HTTP body (preamble and epilogue included).
    pub max_total_bytes: usize,
    /// Most MIME parts, root included.
    pub max_parts: usize,
    /// Most bytes in the header block of one part, the blank line that ends it included.
    pub max_header_bytes: usize,
}

impl Default for Limits {
    /// 64 MiB in all, 64 parts, 8 KiB of headers per part.
    fn default() -> Self {
        Self {
            max_total_bytes: 64 * 1024 * 1024,
            max_parts: 64,
            max_header_bytes: 8 * 1024,
        }
    }
}

/// Why a `multipart/related` message was refused. Every variant is the sender's fault (SOAP 1.2 `env:Sender`).
///
/// Part numbers are 1-based, in the order the parts appear in the body. Text repeated from the
/// message is cut to 120 characters and stripped of control characters.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum MtomError {
    #[error(
        "the Content-Type is '{media_type}', but an MTOM/XOP message must be sent as multipart/related"
    )]
    NotMultipartRelated { media_type: String },

    #[error(
        "the multipart/related Content-Type header has no boundary parameter, so the MIME parts cannot be found"
    )]
    MissingBoundary,

    #[error(
        "the boundary parameter is {len} characters long; at most {limit} are accepted (RFC 2046 allows 70)"
    )]
    BoundaryTooLong { limit: usize, len: usize },

    #[error(
        "the message body is larger than the limit of {limit} bytes ({seen} bytes received so far)"
    )]
    TooLarge { limit: usize, seen: usize },

    #[error("the message has more than {limit} MIME parts")]
    TooManyParts { limit: usize },

    #[error(
        "the MIME headers of part {part} are longer than the limit of {limit} bytes (or the blank line that ends them is missing)"
    )]
    HeaderTooLong { part: usize, limit: usize },

    #[error("MIME part {part} has a malformed header line: '{line}'")]
    BadPartHeader { part: usize, line: String },

    #[error(
        "MIME part {part} has Content-Transfer-Encoding '{encoding}'; only binary, 8bit, 7bit, base64 and quoted-printable are accepted"
    )]
    UnsupportedTransferEncoding { part: usize, encoding: String },

    #[error(
        "MIME part {part} is declared {encoding} but its content is not valid {encoding}: {detail}"
    )]
    BadTransferEncoding {
        part: usize,
        encoding: &'static str,
        detail: String,
    },

    #[error("two MIME parts have the same Content-ID <{cid}>")]
    DuplicateContentId { cid: String },

    #[error(
        "the body contains no MIME part delimited by the boundary given in the Content-Type header; check that the boundary parameter matches the body"
    )]
    NoParts,

    #[error(
        "the message body ends without the closing boundary delimiter after {parts_seen} complete MIME part(s): it was truncated, or the boundary parameter does not match the body"
    )]
    Truncated { parts_seen: usize },

    #[error(
        "the start parameter names the root part <{start}>, but no MIME part has that Content-ID"
    )]
    StartPartNotFound { start: String },

    #[error(
        "the root MIME part has Content-Type '{content_type}'; expected application/xop+xml (or application/soap+xml, text/xml)"
    )]
    BadRootContentType { content_type: String },
}

impl MtomError {
    /// A stable name for the error, for the fault subcode, logs and metrics.
    ///
    /// Every variant maps to a SOAP 1.2 `env:Sender` fault (HTTP 400); the message of the error is
    /// safe to send back as the fault reason.
    pub fn code(&self) -> &'static str {
        match self {
            Self::NotMultipartRelated { .. } => "NotMultipartRelated",
            Self::MissingBoundary => "MissingBoundary",
            Self::BoundaryTooLong { .. } => "BoundaryTooLong",
            Self::TooLarge { .. } => "TooLarge",
            Self::TooManyParts { .. } => "TooManyParts",
            Self::HeaderTooLong { .. } => "HeaderTooLong",
            Self::BadPartHeader { .. } => "BadPartHeader",
            Self::UnsupportedTransferEncoding { .. } => "UnsupportedTransferEncoding",
            Self::BadTransferEncoding { .. } => "BadTransferEncoding",
            Self::DuplicateContentId { .. } => "DuplicateContentId",
            Self::NoParts => "NoParts",
            Self::Truncated { .. } => "Truncated",
            Self::StartPartNotFound { .. } => "StartPartNotFound",
            Self::BadRootContentType { .. } => "BadRootContentType",
        }
    }
}

/// The parameters of a `multipart/related` Content-Type header (RFC 2387 §3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContentType {
    /// Always `"multipart/related"` (lower case).
    pub media_type: String,
    /// The boundary, unquoted, exactly as sent.
    pub boundary: String,
    /// The `type` parameter: the media type of the root (`application/xop+xml` for MTOM).
    pub type_param: Option<String>,
    /// The Content-ID of the root part, normalised by [`normalize_cid`].
    pub start: Option<String>,
    /// The `start-info` parameter (`application/soap+xml` for SOAP 1.2 MTOM).
    pub start_info: Option<String>,
    /// The `action` parameter (the SOAP 1.2 action).
    pub action: Option<String>,
}

/// Parses a `multipart/related` Content-Type header value.
///
/// Parameter names are matched in any case, values may be quoted (with `\` escapes) or not, and
/// spaces may surround `;` and `=`. Unquoted values run to the next `;`, so the common
/// `start=<root@host>` without quotes works. The first occurrence of a parameter wins.
pub fn parse_content_type(header: &str) -> Result<ContentType, MtomError> {
    let (media, params) = match header.find(';') {
        Some(i) => (&header[..i], &header[i + 1..]),
        None => (header, ""),
    };
    let media_type = media
        .split('/')
        .map(str::trim)
        .collect::<Vec<_>>()
        .join("/")
        .to_ascii_lowercase();
    if media_type != "multipart/related" {
        return Err(MtomError::NotMultipartRelated {
            media_type: excerpt(&media_type),
        });
    }
    let params = parse_params(params);
    let param = |name: &str| {
        params
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
    };
    let boundary = param("boundary")
        .filter(|b| !b.is_empty())
        .ok_or(MtomError::MissingBoundary)?;
    if boundary.len() > MAX_BOUNDARY_LEN {
        return Err(MtomError::BoundaryTooLong {
            limit: MAX_BOUNDARY_LEN,
            len: boundary.len(),
        });
    }
    Ok(ContentType {
        media_type,
        boundary,
        type_param: param("type"),
        start: param("start")
            .map(|s| normalize_cid(&s))
            .filter(|s| !s.is_empty()),
        start_info: param("start-info"),
        action: param("action"),
    })
}

/// Splits `; name=value; name="quoted \"value\""` into lower-case names and unquoted values.
fn parse_params(s: &str) -> Vec<(String, String)> {
    let bytes = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        // Skip separators and spaces before a name.
        while i < bytes.len() && (bytes[i] == b';' || bytes[i].is_ascii_whitespace()) {
            i += 1;
        }
        let name_start = i;
        while i < bytes.len() && bytes[i] != b'=' && bytes[i] != b';' {
            i += 1;
        }
        let name = s[name_start..i].trim().to_ascii_lowercase();
        if i >= bytes.len() || bytes[i] == b';' {
            // A parameter without a value: ignored.
            continue;
        }
        i += 1; // '='
        while i < bytes.len() && bytes[i].is_ascii_whitespace() {
            i += 1;
        }
        let value = if bytes.get(i) == Some(&b'"') {
            i += 1;
            let mut v = Vec::new();
            while i < bytes.len() && bytes[i] != b'"' {
                if bytes[i] == b'\\' && i + 1 < bytes.len() {
                    i += 1;
                }
                v.push(bytes[i]);
                i += 1;
            }
            i += 1; // closing quote (or past the end if it is missing)
            // Anything between the closing quote and the next ';' is ignored.
            while i < bytes.len() && bytes[i] != b';' {
                i += 1;
            }
            String::from_utf8_lossy(&v).into_owned()
        } else {
            let value_start = i;
            while i < bytes.len() && bytes[i] != b';' {
                i += 1;
            }
            s[value_start..i].trim().to_string()
        };
        if !name.is_empty() {
            out.push((name, value));
        }
    }
    out
}

/// Normalises a Content-ID or a `cid:` URL to the bare id used for comparisons.
///
/// `"cid:foo%40bar.org"` becomes `"foo@bar.org"` (RFC 2392 %-decoding applies to `cid:` URLs
/// only), `"<foo@bar.org>"` becomes `"foo@bar.org"`, and surrounding whitespace is trimmed.
pub fn normalize_cid(s: &str) -> String {
    let trimmed = s.trim();
    let decoded;
    let mut id = match trimmed.get(..4) {
        Some(scheme) if scheme.eq_ignore_ascii_case("cid:") => {
            decoded = percent_decode(&trimmed[4..]);
            decoded.trim()
        }
        _ => trimmed,
    };
    id = id.strip_prefix('<').unwrap_or(id);
    id = id.strip_suffix('>').unwrap_or(id);
    id.trim().to_string()
}

/// Builds the `cid:` URL that refers to a Content-ID, for `xop:Include/@href` (RFC 2392 §2).
///
/// Characters that may not appear in a URL are %-encoded; `@` is kept, as most toolkits expect.
pub fn cid_href(content_id: &str) -> String {
    let id = normalize_cid(content_id);
    let mut href = String::with_capacity(id.len() + 4);
    href.push_str("cid:");
    for &b in id.as_bytes() {
        if b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:@/".contains(&b) {
            href.push(char::from(b));
        } else {
            href.push_str(&format!("%{b:02X}"));
        }
    }
    href
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let (Some(h), Some(l)) = (
                bytes.get(i + 1).and_then(|&c| hex_value(c)),
                bytes.get(i + 2).and_then(|&c| hex_value(c)),
            )
        {
            out.push((h << 4) | l);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex_value(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// Sender text made safe to repeat in a fault: control characters replaced, length capped.
fn excerpt(s: &str) -> String {
    let mut out: String = s
        .chars()
        .take(EXCERPT_CHARS)
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if s.chars().count() > EXCERPT_CHARS {
        out.push('…');
    }
    out
}

/// One MIME part of a received message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part {
    /// The Content-ID, normalised by [`normalize_cid`].
    pub content_id: Option<String>,
    /// The Content-Type header value, as sent.
    pub content_type: Option<String>,
    /// All headers in order, names as sent, values unfolded and trimmed.
    pub headers: Vec<(String, String)>,
    /// The content, with any base64 or quoted-printable transfer encoding undone.
    pub body: Bytes,
}

impl Part {
    /// The first header of that name (matched case-insensitively).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// A decoded `multipart/related` message: the root (the SOAP envelope) and the other parts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Multipart {
    pub root: Part,
    /// The parts other than the root, in the order they were sent.
    pub attachments: Vec<Part>,
}

impl Multipart {
    /// The attachment an `xop:Include/@href` refers to; accepts `cid:x%40y`, `<x@y>` and `x@y`.
    pub fn attachment(&self, href_or_cid: &str) -> Option<&Part> {
        let cid = normalize_cid(href_or_cid);
        self.attachments
            .iter()
            .find(|p| p.content_id.as_deref() == Some(cid.as_str()))
    }
}

/// Boyer-Moore-Horspool search for one fixed pattern.
struct Horspool {
    pattern: Vec<u8>,
    shift: [usize; 256],
}

impl Horspool {
    /// `pattern` must not be empty.
    fn new(pattern: Vec<u8>) -> Self {
        let m = pattern.len();
        let mut shift = [m.max(1); 256];
        for (i, &b) in pattern.iter().enumerate().take(m.saturating_sub(1)) {
            shift[usize::from(b)] = m - 1 - i;
        }
        Self { pattern, shift }
    }

    /// The first match at or after `from`: `Ok(position)`, or `Err(resume)` where `resume` is the
    /// first position at which a match may still start once more bytes are appended.
    fn find_from(&self, hay: &[u8], from: usize) -> Result<usize, usize> {
        let m = self.pattern.len();
        let Some(&last) = self.pattern.last() else {
            return Ok(from);
        };
        let mut i = from;
        while let Some(window) = hay.get(i..i + m) {
            let c = window[m - 1];
            if c == last && window == self.pattern.as_slice() {
                return Ok(i);
            }
            i += self.shift[usize::from(c)];
        }
        Err(i)
    }
}

/// Finds `[CR]LF--boundary` delimiter lines.
struct DelimiterFinder {
    /// `--boundary`
    dash_boundary: Vec<u8>,
    /// Searches for `\n--boundary`.
    search: Horspool,
}

/// What follows a `--boundary` found in the buffer.
enum Tail {
    /// A delimiter line; the next part starts at the given position.
    Line(usize),
    /// The close delimiter `--boundary--`.
    Close,
    /// Not a delimiter after all (for example `--boundaryX`).
    No,
    /// Cannot tell until more bytes arrive.
    Incomplete,
}

/// Result of looking for the next delimiter.
enum Scan {
    /// `content_end`: where the content before it stops (its CRLF or LF excluded);
    /// `next`: where the following part starts, or `None` for the close delimiter.
    Found {
        content_end: usize,
        next: Option<usize>,
    },
    /// No delimiter yet; a later search resumes at `resume`.
    Pending { resume: usize },
}

impl DelimiterFinder {
    fn new(boundary: &str) -> Self {
        let mut dash_boundary = Vec::with_capacity(boundary.len() + 2);
        dash_boundary.extend_from_slice(b"--");
        dash_boundary.extend_from_slice(boundary.as_bytes());
        let mut pattern = Vec::with_capacity(dash_boundary.len() + 1);
        pattern.push(b'\n');
        pattern.extend_from_slice(&dash_boundary);
        Self {
            dash_boundary,
            search: Horspool::new(pattern),
        }
    }

    /// Looks for a delimiter from `from` on. If `line_start` is set, position 0 of `buf` is the
    /// start of a line (start of the body, or a part body right after its blank line), so a
    /// delimiter may begin there without a line break of its own.
    fn scan(&self, buf: &[u8], from: usize, line_start: bool) -> Scan {
        if line_start && from == 0 {
            match self.tail(buf, 0) {
                Tail::Line(next) => {
                    return Scan::Found {
                        content_end: 0,
                        next: Some(next),
                    };
                }
                Tail::Close => {
                    return Scan::Found {
                        content_end: 0,
                        next: None,
                    };
                }
                Tail::Incomplete => return Scan::Pending { resume: 0 },
                Tail::No => {}
            }
        }
        let mut at = from;
        loop {
            let lf = match self.search.find_from(buf, at) {
                Ok(lf) => lf,
                Err(resume) => return Scan::Pending { resume },
            };
            let content_end = if lf > 0 && buf[lf - 1] == b'\r' {
                lf - 1
            } else {
                lf
            };
            match self.tail(buf, lf + 1) {
                Tail::Line(next) => {
                    return Scan::Found {
                        content_end,
                        next: Some(next),
                    };
                }
                Tail::Close => {
                    return Scan::Found {
                        content_end,
                        next: None,
                    };
                }
                Tail::Incomplete => return Scan::Pending { resume: lf },
                Tail::No => at = lf + 1,
            }
        }
    }

    /// Classifies what is at `dash`: `--boundary` then `--`, or transport padding and a line end.
    fn tail(&self, buf: &[u8], dash: usize) -> Tail {
        let rest = buf.get(dash..).unwrap_or_default();
        let db = self.dash_boundary.as_slice();
        if rest.len() < db.len() {
            return if db.starts_with(rest) {
                Tail::Incomplete
            } else {
                Tail::No
            };
        }
        if &rest[..db.len()] != db {
            return Tail::No;
        }
        let mut i = db.len();
        match rest.get(i) {
            None => return Tail::Incomplete,
            Some(b'-') => {
                return match rest.get(i + 1) {
                    None => Tail::Incomplete,
                    Some(b'-') => Tail::Close,
                    Some(_) => Tail::No,
                };
            }
            Some(_) => {}
        }
        let padding_start = i;
        while matches!(rest.get(i), Some(b' ' | b'\t')) {
            i += 1;
            if i - padding_start > MAX_TRANSPORT_PADDING {
                return Tail::No;
            }
        }
        match rest.get(i) {
            None => Tail::Incomplete,
            Some(b'\n') => Tail::Line(dash + i + 1),
            Some(b'\r') => match rest.get(i + 1) {
                None => Tail::Incomplete,
                Some(b'\n') => Tail::Line(dash + i + 2),
                Some(_) => Tail::No,
            },
            Some(_) => Tail::No,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TransferEncoding {
    Identity,
    Base64,
    QuotedPrintable,
}

/// The parsed header block of the part being received.
struct PartHeaders {
    headers: Vec<(String, String)>,
    content_id: Option<String>,
    content_type: Option<String>,
    encoding: TransferEncoding,
}

enum State {
    /// Before the first delimiter. `at_body_start`: nothing has been dropped from the buffer yet.
    Preamble { scan: usize, at_body_start: bool },
    /// Receiving the header block of part number `parts_started`; the buffer starts with it.
    Headers { scan: usize },
    /// Receiving a part body; the buffer starts with it.
    Body { headers: PartHeaders, scan: usize },
    /// After the close delimiter: everything else is ignored.
    Epilogue,
    /// An error was returned; it is returned again.
    Failed(MtomError),
}

/// Incremental decoder: fed the HTTP body chunk by chunk as it arrives, so that limits are enforced before memory is spent.
pub struct Decoder {
    limits: Limits,
    start: Option<String>,
    finder: DelimiterFinder,
    /// Bytes received and not yet handed out; starts where the current state says.
    buf: BytesMut,
    /// Bytes received in all.
    seen: usize,
    state: State,
    /// Parts begun (a delimiter line was seen for each).
    parts_started: usize,
    parts: Vec<Part>,
    content_ids: HashSet<String>,
}

impl Decoder {
    pub fn new(content_type: &ContentType, limits: Limits) -> Self {
        Self {
            limits,
            start: content_type.start.clone(),
            finder: DelimiterFinder::new(&content_type.boundary),
            buf: BytesMut::new(),
            seen: 0,
            state: State::Preamble {
                scan: 0,
                at_body_start: true,
            },
            parts_started: 0,
            parts: Vec::new(),
            content_ids: HashSet::new(),
        }
    }

    /// Bytes received so far.
    pub fn bytes_seen(&self) -> usize {
        self.seen
    }

    /// Takes the next chunk of the body. Fails as soon as a limit is passed or the structure is
    /// broken; after a failure every call returns the same error.
    pub fn push(&mut self, chunk: &[u8]) -> Result<(), MtomError> {
        if let State::Failed(e) = &self.state {
            return Err(e.clone());
        }
        let seen = self.seen.saturating_add(chunk.len());
        if seen > self.limits.max_total_bytes {
            return Err(self.fail(MtomError::TooLarge {
                limit: self.limits.max_total_bytes,
                seen,
            }));
        }
        self.seen = seen;
        if matches!(self.state, State::Epilogue) {
            return Ok(());
        }
        self.buf.extend_from_slice(chunk);
        self.process().map_err(|e| self.fail(e))
    }

    /// Ends the body and returns the message. Fails if the close delimiter never came, if there
    /// was no part, if `start` names no part, or if the root is not XML.
    pub fn finish(mut self) -> Result<Multipart, MtomError> {
        match std::mem::replace(&mut self.state, State::Epilogue) {
            State::Failed(e) => Err(e),
            State::Preamble { .. } => Err(MtomError::NoParts),
            State::Headers { .. } | State::Body { .. } => Err(MtomError::Truncated {
                parts_seen: self.parts.len(),
            }),
            State::Epilogue => self.assemble(),
        }
    }

    fn fail(&mut self, e: MtomError) -> MtomError {
        self.state = State::Failed(e.clone());
        self.buf = BytesMut::new();
        self.parts = Vec::new();
        e
    }

    /// Consumes as much of the buffer as the state machine can.
    fn process(&mut self) -> Result<(), MtomError> {
        loop {
            match std::mem::replace(&mut self.state, State::Epilogue) {
                State::Preamble {
                    scan,
                    at_body_start,
                } => match self.finder.scan(&self.buf, scan, at_body_start) {
                    Scan::Pending { resume } => {
                        // The preamble is never kept: drop what cannot start a delimiter.
                        let drop = resume.min(self.buf.len());
                        self.buf.advance(drop);
                        self.state = State::Preamble {
                            scan: resume - drop,
                            at_body_start: at_body_start && drop == 0,
                        };
                        return Ok(());
                    }
                    Scan::Found { next: None, .. } => return Err(MtomError::NoParts),
                    Scan::Found {
                        next: Some(next), ..
                    } => {
                        self.buf.advance(next);
                        self.begin_part()?;
                    }
                },
                State::Headers { scan } => {
                    let limit = self.limits.max_header_bytes;
                    let too_long = MtomError::HeaderTooLong {
                        part: self.parts_started,
                        limit,
                    };
                    match find_header_end(&self.buf, scan) {
                        HeaderEnd::Pending { resume } => {
                            if self.buf.len() > limit {
                                return Err(too_long);
                            }
                            self.state = State::Headers { scan: resume };
                            return Ok(());
                        }
                        HeaderEnd::Found {
                            block_end,
                            body_start,
                        } => {
                            if body_start > limit {
                                return Err(too_long);
                            }
                            let headers =
                                parse_headers(&self.buf[..block_end], self.parts_started)?;
                            self.buf.advance(body_start);
                            self.state = State::Body { headers, scan: 0 };
                        }
                    }
                }
                State::Body { headers, scan } => match self.finder.scan(&self.buf, scan, true) {
                    Scan::Pending { resume } => {
                        self.state = State::Body {
                            headers,
                            scan: resume,
                        };
                        return Ok(());
                    }
                    Scan::Found { content_end, next } => {
                        let body = self.buf.split_to(content_end).freeze();
                        self.end_part(headers, body)?;
                        match next {
                            Some(next) => {
                                self.buf.advance(next - content_end);
                                self.begin_part()?;
                            }
                            None => {
                                self.buf = BytesMut::new();
                                self.state = State::Epilogue;
                                return Ok(());
                            }
                        }
                    }
                },
                State::Epilogue => {
                    self.buf = BytesMut::new();
                    return Ok(());
                }
                State::Failed(e) => {
                    self.state = State::Failed(e.clone());
                    return Err(e);
                }
            }
        }
    }

    /// A delimiter line was read: a new part starts.
    fn begin_part(&mut self) -> Result<(), MtomError> {
        if self.parts_started >= self.limits.max_parts {
            return Err(MtomError::TooManyParts {
                limit: self.limits.max_parts,
            });
        }
        self.parts_started += 1;
        self.state = State::Headers { scan: 0 };
        Ok(())
    }

    fn end_part(&mut self, headers: PartHeaders, raw: Bytes) -> Result<(), MtomError> {
        let part = self.parts_started;
        let body = match headers.encoding {
            TransferEncoding::Identity => raw,
            TransferEncoding::Base64 => {
                decode_base64(&raw).map_err(|detail| MtomError::BadTransferEncoding {
                    part,
                    encoding: "base64",
                    detail,
                })?
            }
            TransferEncoding::QuotedPrintable => decode_quoted_printable(&raw),
        };
        if let Some(cid) = &headers.content_id
            && !self.content_ids.insert(cid.clone())
        {
            return Err(MtomError::DuplicateContentId { cid: excerpt(cid) });
        }
        tracing::trace!(part, content_id = ?headers.content_id, bytes = body.len(), "MIME part received");
        self.parts.push(Part {
            content_id: headers.content_id,
            content_type: headers.content_type,
            headers: headers.headers,
            body,
        });
        Ok(())
    }

    fn assemble(mut self) -> Result<Multipart, MtomError> {
        let root_index = match &self.start {
            Some(start) => self
                .parts
                .iter()
                .position(|p| p.content_id.as_deref() == Some(start.as_str()))
                .ok_or_else(|| MtomError::StartPartNotFound {
                    start: excerpt(start),
                })?,
            None => 0,
        };
        if root_index >= self.parts.len() {
            return Err(MtomError::NoParts);
        }
        let root = self.parts.remove(root_index);
        if let Some(ct) = &root.content_type {
            let media_type = ct
                .split(';')
                .next()
                .unwrap_or_default()
                .trim()
                .to_ascii_lowercase();
            if !ROOT_MEDIA_TYPES.contains(&media_type.as_str()) {
                return Err(MtomError::BadRootContentType {
                    content_type: excerpt(ct),
                });
            }
        }
        Ok(Multipart {
            root,
            attachments: self.parts,
        })
    }
}

enum HeaderEnd {
    /// The header block is `buf[..block_end]`; the body starts at `body_start`.
    Found {
        block_end: usize,
        body_start: usize,
    },
    Pending {
        resume: usize,
    },
}

/// Finds the blank line (CRLF or LF) that ends a header block starting at `buf[0]`.
fn find_header_end(buf: &[u8], from: usize) -> HeaderEnd {
    if from == 0 {
        // No headers at all: the blank line comes first.
        match (buf.first(), buf.get(1)) {
            (None, _) | (Some(b'\r'), None) => return HeaderEnd::Pending { resume: 0 },
            (Some(b'\n'), _) => {
                return HeaderEnd::Found {
                    block_end: 0,
                    body_start: 1,
                };
            }
            (Some(b'\r'), Some(b'\n')) => {
                return HeaderEnd::Found {
                    block_end: 0,
                    body_start: 2,
                };
            }
            _ => {}
        }
    }
    let mut i = from;
    while let Some(off) = buf
        .get(i..)
        .and_then(|rest| rest.iter().position(|&b| b == b'\n'))
    {
        let lf = i + off;
        match (buf.get(lf + 1), buf.get(lf + 2)) {
            (None, _) | (Some(b'\r'), None) => return HeaderEnd::Pending { resume: lf },
            (Some(b'\n'), _) => {
                return HeaderEnd::Found {
                    block_end: lf + 1,
                    body_start: lf + 2,
                };
            }
            (Some(b'\r'), Some(b'\n')) => {
                return HeaderEnd::Found {
                    block_end: lf + 1,
                    body_start: lf + 3,
                };
            }
            _ => i = lf + 1,
        }
    }
    HeaderEnd::Pending {
        resume: buf.len().max(from),
    }
}

/// Parses a header block (RFC 2045 §3, RFC 5322 §2.2: `name: value`, folded lines start with SP or HT).
fn parse_headers(block: &[u8], part: usize) -> Result<PartHeaders, MtomError> {
    let text = String::from_utf8_lossy(block);
    let bad = |line: &str| MtomError::BadPartHeader {
        part,
        line: excerpt(line),
    };
    let mut headers: Vec<(String, String)> = Vec::new();
    for raw in text.split('\n') {
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        if line.is_empty() {
            continue;
        }
        if line.starts_with([' ', '\t']) {
            let (_, value) = headers.last_mut().ok_or_else(|| bad(line))?;
            value.push_str(line);
            continue;
        }
        let (name, value) = line.split_once(':').ok_or_else(|| bad(line))?;
        let name = name.trim_end();
        if name.is_empty() || name.contains(|c: char| c.is_whitespace() || c.is_control()) {
            return Err(bad(line));
        }
        headers.push((name.to_string(), value.to_string()));
    }
    for (_, value) in &mut headers {
        let trimmed = value.trim();
        if trimmed.len() != value.len() {
            *value = trimmed.to_string();
        }
    }
    let find = |name: &str| {
        headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    };
    let content_id = find("content-id")
        .map(normalize_cid)
        .filter(|c| !c.is_empty());
    let content_type = find("content-type").map(str::to_string);
    let encoding = match find("content-transfer-encoding") {
        None => TransferEncoding::Identity,
        Some(cte) => match cte.to_ascii_lowercase().as_str() {
            "" | "binary" | "8bit" | "7bit" => TransferEncoding::Identity,
            "base64" => TransferEncoding::Base64,
            "quoted-printable" => TransferEncoding::QuotedPrintable,
            _ => {
                return Err(MtomError::UnsupportedTransferEncoding {
                    part,
                    encoding: excerpt(cte),
                });
            }
        },
    };
    Ok(PartHeaders {
        headers,
        content_id,
        content_type,
        encoding,
    })
}

/// Decodes a base64 body; line breaks and spaces are ignored, padding may be missing.
fn decode_base64(raw: &[u8]) -> Result<Bytes, String> {
    const ENGINE: base64::engine::GeneralPurpose = base64::engine::GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        base64::engine::GeneralPurposeConfig::new()
            .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent)
            .with_decode_allow_trailing_bits(true),
    );
    let compact: Vec<u8> = raw
        .iter()
        .copied()
        .filter(|b| !b.is_ascii_whitespace())
        .collect();
    ENGINE
        .decode(&compact)
        .map(Bytes::from)
        .map_err(|e| e.to_string())
}

/// Decodes a quoted-printable body (RFC 2045 §6.7). Malformed `=` sequences are kept as they are.
fn decode_quoted_printable(raw: &[u8]) -> Bytes {
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        match raw[i] {
            b'=' => {
                let rest = &raw[i + 1..];
                if rest.starts_with(b"\r\n") {
                    i += 3; // soft line break
                } else if rest.starts_with(b"\n") {
                    i += 2;
                } else if let (Some(h), Some(l)) = (
                    rest.first().and_then(|&c| hex_value(c)),
                    rest.get(1).and_then(|&c| hex_value(c)),
                ) {
                    out.push((h << 4) | l);
                    i += 3;
                } else {
                    // Trailing whitespace before a soft line break, or a stray '='.
                    let ws = rest
                        .iter()
                        .take_while(|&&c| c == b' ' || c == b'\t')
                        .count();
                    match &rest[ws..] {
                        // The line break of a final soft break went with the delimiter.
                        [] => i = raw.len(),
                        [b'\r', b'\n', ..] => i += 1 + ws + 2,
                        [b'\n', ..] => i += 1 + ws + 1,
                        _ => {
                            out.push(b'=');
                            i += 1;
                        }
                    }
                }
            }
            b'\r' | b'\n' => {
                // A hard line break: whitespace added in transport before it is removed.
                while matches!(out.last(), Some(b' ' | b'\t')) {
                    out.pop();
                }
                out.push(raw[i]);
                i += 1;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    Bytes::from(out)
}

/// Decodes a whole `multipart/related` body at once.
pub fn decode(content_type: &str, body: &[u8], limits: Limits) -> Result<Multipart, MtomError> {
    let ct = parse_content_type(content_type)?;
    let mut decoder = Decoder::new(&ct, limits);
    decoder.push(body)?;
    decoder.finish()
}

/// An attachment to send in an MTOM message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingPart {
    /// Its Content-ID, bare (`doc1@hiehub`) or in angle brackets; refer to it from the root
    /// with `xop:Include href` set to [`cid_href`] of it. Content-IDs must be distinct.
    pub content_id: String,
    /// Its media type, for example `application/pdf`.
    pub content_type: String,
    pub body: Bytes,
}

/// The largest body chunk [`encode`] hands out.
pub const OUTGOING_CHUNK: usize = 256 * 1024;

/// Builds a SOAP 1.2 MTOM message (MTOM §4.3, XOP §5).
///
/// Returns the HTTP Content-Type header value and the body as a list of chunks. The root and
/// the attachment bodies are not copied: the chunks are slices (at most [`OUTGOING_CHUNK`]
/// bytes) of the given [`Bytes`].
/// Line ends are CRLF. The boundary is `MIMEBoundary_` and a random UUID, checked not to occur
/// in the root (attachments are not scanned: see the comment in the body).
pub fn encode(
    root_xml: Bytes,
    action: Option<&str>,
    attachments: &[OutgoingPart],
) -> (String, Vec<Bytes>) {
    // The boundary carries 122 random bits drawn now, after every body already exists, so no
    // body (not even one an attacker chose) can contain it except by a 2^-122 accident per
    // position. Only the root, which is small, is scanned; scanning the attachments would be a
    // full pass over every document retrieved (a 100 MB document read twice) for nothing.
    let mut id = uuid::Uuid::new_v4().simple().to_string();
    for _ in 0..8 {
        let dash_boundary = Horspool::new(format!("--MIMEBoundary_{id}").into_bytes());
        if dash_boundary.find_from(&root_xml, 0).is_err() {
            break;
        }
        id = uuid::Uuid::new_v4().simple().to_string();
    }
    let boundary = format!("MIMEBoundary_{id}");
    let root_cid = format!("root.{id}@hiehub");
    let action_param = action
        .map(|a| format!("; action={}", quoted(a)))
        .unwrap_or_default();

    let content_type = format!(
        "multipart/related; type=\"application/xop+xml\"; boundary=\"{boundary}\"; \
         start=\"<{root_cid}>\"; start-info=\"application/soap+xml\"{action_param}"
    );
    let mut chunks = Vec::with_capacity(3 + 2 * attachments.len());
    chunks.push(Bytes::from(format!(
        "--{boundary}\r\n\
         Content-Type: application/xop+xml; charset=UTF-8; type=\"application/soap+xml\"{action_param}\r\n\
         Content-Transfer-Encoding: binary\r\n\
         Content-ID: <{root_cid}>\r\n\r\n"
    )));
    chunks.push(root_xml);
    for attachment in attachments {
        let media_type = header_safe(&attachment.content_type);
        let media_type = if media_type.is_empty() {
            "application/octet-stream".to_string()
        } else {
            media_type
        };
        chunks.push(Bytes::from(format!(
            "\r\n--{boundary}\r\n\
             Content-Type: {media_type}\r\n\
             Content-Transfer-Encoding: binary\r\n\
             Content-ID: <{}>\r\n\r\n",
            header_safe(&normalize_cid(&attachment.content_id))
        )));
        // Zero-copy slices: the HTTP layer copies each chunk into its write buffer and stops
        // pulling while that buffer is full, so a large document passes through in slices of
        // this size instead of being copied whole.
        let mut rest = attachment.body.clone();
        while rest.len() > OUTGOING_CHUNK {
            chunks.push(rest.split_to(OUTGOING_CHUNK));
        }
        chunks.push(rest);
    }
    chunks.push(Bytes::from(format!("\r\n--{boundary}--\r\n")));
    (content_type, chunks)
}

/// A header value with control characters (CR, LF above all) replaced by spaces.
fn header_safe(s: &str) -> String {
    s.trim()
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// An RFC 2045 quoted-string.
fn quoted(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in header_safe(s).chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const BOUNDARY: &str = "MIMEBoundary_4f2a";

    fn ct_header() -> String {
        format!(
            "multipart/related; type=\"application/xop+xml\"; boundary=\"{BOUNDARY}\"; \
             start=\"<root@example.org>\"; start-info=\"application/soap+xml\""
        )
    }

    const ROOT_XML: &str = "<?xml version=\"1.0\"?><env:Envelope xmlns:env=\"http://www.w3.org/2003/05/soap-envelope\"><env:Body><x:Doc xmlns:x=\"urn:x\"><xop:Include xmlns:xop=\"http://www.w3.org/2004/08/xop/include\" href=\"cid:att2%40example.org\"/></x:Doc></env:Body></env:Envelope>";

    /// A binary attachment that tries hard to look like a delimiter.
    fn tricky_binary() -> Vec<u8> {
        let mut b = vec![0u8, 1, 2, 0xff, b'\r', b'\n', b'-', b'-', b'\r', b'\n'];
        b.extend_from_slice(b"--");
        b.extend_from_slice(b"\r\n--");
        // The boundary minus its last byte, at the start of a line.
        b.extend_from_slice(&BOUNDARY.as_bytes()[..BOUNDARY.len() - 1]);
        b.extend_from_slice(b"\r\n--");
        // The boundary followed by something that is not a line end.
        b.extend_from_slice(BOUNDARY.as_bytes());
        b.extend_from_slice(b"X\r\n\n\r");
        b.extend_from_slice(&[0x80, b'-', b'\r']);
        b
    }

    fn two_attachment_message() -> (String, Vec<u8>, Vec<u8>) {
        let binary = tricky_binary();
        let mut body = Vec::new();
        body.extend_from_slice(b"This is the preamble; it is ignored.\r\n");
        body.extend_from_slice(format!("--{BOUNDARY}\r\n").as_bytes());
        body.extend_from_slice(
            b"Content-Type: text/plain\r\nContent-ID: <att1@example.org>\r\n\r\n",
        );
        body.extend_from_slice(b"first attachment\r\nline two");
        body.extend_from_slice(format!("\r\n--{BOUNDARY}\r\n").as_bytes());
        body.extend_from_slice(
            b"Content-Type: application/xop+xml; charset=UTF-8; type=\"application/soap+xml\"\r\n\
              Content-Transfer-Encoding: binary\r\nContent-ID: <root@example.org>\r\n\r\n",
        );
        body.extend_from_slice(ROOT_XML.as_bytes());
        body.extend_from_slice(format!("\r\n--{BOUNDARY}\r\n").as_bytes());
        body.extend_from_slice(
            b"content-type: application/octet-stream\r\ncontent-transfer-encoding: binary\r\ncontent-id: <att2@example.org>\r\n\r\n",
        );
        body.extend_from_slice(&binary);
        body.extend_from_slice(format!("\r\n--{BOUNDARY}--\r\nepilogue, ignored\r\n").as_bytes());
        (ct_header(), body, binary)
    }

    /// Feeds `body` in chunks of the given sizes (cycled), then finishes.
    fn decode_chunked(
        content_type: &str,
        body: &[u8],
        sizes: &mut dyn FnMut() -> usize,
    ) -> Result<Multipart, MtomError> {
        let ct = parse_content_type(content_type)?;
        let mut decoder = Decoder::new(&ct, Limits::default());
        let mut rest = body;
        while !rest.is_empty() {
            let n = sizes().clamp(1, rest.len());
            decoder.push(&rest[..n])?;
            rest = &rest[n..];
        }
        decoder.finish()
    }

    /// A small deterministic xorshift generator, so that failures can be replayed.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
        fn bytes(&mut self, n: usize) -> Vec<u8> {
            (0..n).map(|_| self.next() as u8).collect()
        }
    }

    /// One push, one byte at a time, and random chunk sizes all give the same message.
    fn decode_every_way(content_type: &str, body: &[u8]) -> Multipart {
        outcome_every_way(content_type, body).unwrap()
    }

    /// Like `decode_every_way`, for messages that may be refused: the outcome must not depend on chunking.
    fn outcome_every_way(content_type: &str, body: &[u8]) -> Result<Multipart, MtomError> {
        let whole = decode(content_type, body, Limits::default());
        let bytewise = decode_chunked(content_type, body, &mut || 1);
        assert_eq!(whole, bytewise, "one byte at a time differs from one push");
        for seed in 1..=5u64 {
            let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15));
            let random = decode_chunked(content_type, body, &mut || (rng.next() % 97) as usize + 1);
            assert_eq!(whole, random, "random chunks (seed {seed}) differ");
        }
        whole
    }

    #[test]
    fn damaged_messages_decode_the_same_in_any_chunking() {
        // Random damage (flipped bytes, cuts, duplicated ranges, stray delimiters and line ends)
        // must never panic, and must give the same message or the same error however it is fed.
        let (ct, original, _) = two_attachment_message();
        let mut rng = Rng(0xD1B5_4A32_D192_ED03);
        let mut outcomes = std::collections::BTreeMap::<&str, usize>::new();
        for _ in 0..300 {
            let mut body = original.clone();
            for _ in 0..(rng.next() % 3 + 1) {
                let at = (rng.next() as usize) % (body.len() + 1);
                match rng.next() % 5 {
                    0 if at < body.len() => body[at] = rng.next() as u8,
                    1 => {
                        let end = (at + (rng.next() % 40) as usize).min(body.len());
                        body.drain(at..end);
                    }
                    2 => {
                        let end = (at + (rng.next() % 40) as usize).min(body.len());
                        let copy = body[at..end].to_vec();
                        body.splice(at..at, copy);
                    }
                    3 => {
                        let delimiter = ["\r\n--", "\n--"][(rng.next() % 2) as usize].to_string()
                            + BOUNDARY
                            + ["", "--", "\r\n", "\n", " \r\n"][(rng.next() % 5) as usize];
                        body.splice(at..at, delimiter.into_bytes());
                    }
                    _ => {
                        let line_end: &[u8] =
                            [&b"\n"[..], b"\r\n", b"\r"][(rng.next() % 3) as usize];
                        body.splice(at..at, line_end.iter().copied());
                    }
                }
            }
            let code = match outcome_every_way(&ct, &body) {
                Ok(_) => "ok",
                Err(e) => e.code(),
            };
            *outcomes.entry(code).or_default() += 1;
        }
        // The damage is varied enough to reach success and several kinds of refusal.
        eprintln!("outcomes: {outcomes:?}");
        assert!(outcomes.len() >= 3, "{outcomes:?}");
        assert!(outcomes.contains_key("ok"), "{outcomes:?}");
    }

    #[test]
    fn decodes_two_attachments_byte_exact() {
        let (ct, body, binary) = two_attachment_message();
        let mm = decode_every_way(&ct, &body);
        assert_eq!(mm.root.content_id.as_deref(), Some("root@example.org"));
        assert_eq!(mm.root.body, ROOT_XML.as_bytes());
        assert_eq!(mm.attachments.len(), 2);

        let first = mm.attachment("<att1@example.org>").unwrap();
        assert_eq!(first.body, &b"first attachment\r\nline two"[..]);
        assert_eq!(first.content_type.as_deref(), Some("text/plain"));

        let second = mm.attachment("cid:att2%40example.org").unwrap();
        assert_eq!(second.body, binary.as_slice());
        assert_eq!(
            second.header("Content-Type"),
            Some("application/octet-stream")
        );
        assert_eq!(mm.attachment("att2@example.org"), Some(second));
        assert_eq!(mm.attachment(" cid:att2@example.org "), Some(second));
        assert!(mm.attachment("cid:att3%40example.org").is_none());
        assert!(mm.attachment("cid:root%40example.org").is_none());
    }

    #[test]
    fn decodes_two_attachments_with_bare_lf() {
        let (_, _, mut binary) = two_attachment_message();
        // With bare LF a body that ends in CR is ambiguous: the CR is read as part of a CRLF
        // delimiter (see `bare_lf_delimiter_after_cr`), so this body ends with another byte.
        binary.push(b'!');
        let mut body = Vec::new();
        body.extend_from_slice(format!("--{BOUNDARY}\n").as_bytes());
        body.extend_from_slice(b"Content-ID: <root@example.org>\nContent-Type: text/xml\n\n");
        body.extend_from_slice(ROOT_XML.as_bytes());
        body.extend_from_slice(format!("\n--{BOUNDARY} \t\n").as_bytes());
        body.extend_from_slice(b"Content-ID: <att2@example.org>\n\n");
        body.extend_from_slice(&binary);
        body.extend_from_slice(format!("\n--{BOUNDARY}--").as_bytes());
        let mm = decode_every_way(&ct_header(), &body);
        assert_eq!(mm.root.body, ROOT_XML.as_bytes());
        assert_eq!(mm.attachment("cid:att2@example.org").unwrap().body, binary);
    }

    #[test]
    fn bare_lf_delimiter_after_cr() {
        // Documents a limit of accepting bare LF: a CR right before `LF--boundary` is taken as
        // the CR of a CRLF delimiter, as RFC 2046 says, even if the sender meant it as content.
        let ct = ct_header().replace("; start=\"<root@example.org>\"", "");
        let body = format!("--{BOUNDARY}\n\n<r/>\r\r\n--{BOUNDARY}\n\nab\r\n--{BOUNDARY}--");
        let mm = decode_every_way(&ct, body.as_bytes());
        assert_eq!(mm.root.body, &b"<r/>\r"[..]);
        assert_eq!(mm.attachments[0].body, &b"ab"[..]);
    }

    fn fixture(path: &str) -> Vec<u8> {
        let full = format!("{}/../shared/fixtures/{path}", env!("CARGO_MANIFEST_DIR"));
        std::fs::read(&full).unwrap_or_else(|e| panic!("cannot read fixture {full}: {e}"))
    }

    fn lf_to_crlf(data: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(data.len() + data.len() / 20);
        for &b in data {
            if b == b'\n' {
                out.push(b'\r');
            }
            out.push(b);
        }
        out
    }

    /// Splits a raw HTTP request into its Content-Type header value and its body.
    fn split_http(capture: &[u8]) -> (String, Vec<u8>) {
        let (head_len, sep_len) = match capture.windows(4).position(|w| w == b"\r\n\r\n") {
            Some(i) => (i, 4),
            None => (capture.windows(2).position(|w| w == b"\n\n").unwrap(), 2),
        };
        let head = std::str::from_utf8(&capture[..head_len]).unwrap();
        let content_type = head
            .lines()
            .find_map(|l| {
                let (name, value) = l.split_once(':')?;
                name.trim()
                    .eq_ignore_ascii_case("content-type")
                    .then(|| value.trim().to_string())
            })
            .unwrap();
        (content_type, capture[head_len + sep_len..].to_vec())
    }

    fn sha1_hex(data: &[u8]) -> String {
        use sha1::Digest;
        hex::encode(sha1::Sha1::digest(data))
    }

    fn check_nist_http_capture(capture: &[u8]) -> Multipart {
        let (content_type, body) = split_http(capture);
        let mm = decode_every_way(&content_type, &body);
        assert_eq!(
            mm.root.content_id.as_deref(),
            Some("0.urn:uuid:8D3C3AFA28B895245C1247499530741@apache.org")
        );
        assert!(
            mm.root
                .body
                .starts_with(b"<?xml version='1.0' encoding='UTF-8'?>")
        );
        let root = std::str::from_utf8(&mm.root.body).unwrap();
        assert!(root.contains("soapenv:Envelope"));
        assert!(
            root.ends_with("</soapenv:Envelope>"),
            "root ends with its envelope"
        );
        let include = &root[root.find("<xop:Include").unwrap()..];
        let href_start = include.find("href=\"").unwrap() + 6;
        let href_len = include[href_start..].find('"').unwrap();
        let href = &include[href_start..href_start + href_len];
        assert_eq!(
            href,
            "cid:1.urn:uuid:8D3C3AFA28B895245C1247499531173@apache.org"
        );
        assert_eq!(mm.attachments.len(), 1);
        let attachment = mm.attachment(href).unwrap();
        assert_eq!(attachment.content_type.as_deref(), Some("text/xml"));
        assert!(
            attachment
                .body
                .starts_with(b"<?xml version=\"1.0\" ?><ClinicalDocument ")
        );
        assert!(
            attachment
                .body
                .ends_with(b"</component></ClinicalDocument>")
        );
        mm
    }

    #[test]
    fn nist_http_capture_mtom_bare_lf() {
        let capture = fixture("nist/xds/valid-iti41-http-capture-mtom.txt");
        let mm = check_nist_http_capture(&capture);
        let attachment = &mm.attachments[0].body;
        // Computed independently from the fixture: the bytes between the blank line after
        // `Content-ID: <1.urn:...>` and the LF before the close delimiter.
        assert_eq!(attachment.len(), 8197);
        assert_eq!(
            sha1_hex(attachment),
            "8a427f9c4895d46150fe3e1df26c26e79f9fccd6"
        );
        assert_eq!(mm.root.body.len(), 10822);
    }

    #[test]
    fn nist_http_capture_mtom_crlf() {
        let lf = check_nist_http_capture(&fixture("nist/xds/valid-iti41-http-capture-mtom.txt"));
        let capture = lf_to_crlf(&fixture("nist/xds/valid-iti41-http-capture-mtom.txt"));
        let crlf = check_nist_http_capture(&capture);
        assert_eq!(
            crlf.root.body, lf.root.body,
            "the root has no line break inside"
        );
        assert_eq!(
            crlf.attachments[0].body,
            lf_to_crlf(&lf.attachments[0].body)
        );
    }

    fn nist_inline_base64_content_type() -> String {
        let plan = fixture("nist/xds/valid-iti41-multipart-inline-base64/testplan.xml");
        let plan = String::from_utf8(plan).unwrap();
        let headers = &plan[plan.find("<Headers>").unwrap() + 9..plan.find("</Headers>").unwrap()];
        let line = headers
            .lines()
            .find(|l| l.contains("Content-Type:"))
            .unwrap();
        line.trim()["Content-Type:".len()..].trim().to_string()
    }

    fn check_nist_inline_base64(body: &[u8]) -> Multipart {
        let content_type = nist_inline_base64_content_type();
        let ct = parse_content_type(&content_type).unwrap();
        assert_eq!(
            ct.boundary,
            "MIMEBoundary_95b57d7287e4fa4b528a8f050c41f8ad829c20332f23b48d"
        );
        assert_eq!(ct.start, None);
        let mm = decode_every_way(&content_type, body);
        assert_eq!(
            mm.root.content_id.as_deref(),
            Some("0.85b57d7287e4fa4b528a8f050c41f8ad829c20332f23b48d@apache.org")
        );
        assert!(
            mm.root
                .body
                .starts_with(b"<?xml version=\"1.0\" encoding=\"UTF-8\"?>")
        );
        let root = std::str::from_utf8(&mm.root.body).unwrap();
        assert!(root.contains("<soapenv:Envelope"));
        assert!(
            root.contains(">VGhpcyBpcyBteSBkb2N1bWVudC4NCg0KSXQgaXMgZ3JlYXQhDQo=</xdsb:Document>")
        );
        assert!(mm.attachments.is_empty());
        mm
    }

    #[test]
    fn nist_multipart_inline_base64_bare_lf() {
        let body = fixture("nist/xds/valid-iti41-multipart-inline-base64/body.txt");
        let mm = check_nist_inline_base64(&body);
        assert_eq!(mm.root.body.len(), 18898);
        assert!(mm.root.body.ends_with(b"</soapenv:Envelope>\n"));
    }

    #[test]
    fn nist_multipart_inline_base64_crlf() {
        let body = fixture("nist/xds/valid-iti41-multipart-inline-base64/body.txt");
        let lf = check_nist_inline_base64(&body);
        let crlf = check_nist_inline_base64(&lf_to_crlf(&body));
        assert_eq!(crlf.root.body, lf_to_crlf(&lf.root.body));
        assert!(crlf.root.body.ends_with(b"</soapenv:Envelope>\r\n"));
    }

    #[test]
    fn truncated_in_the_middle_of_a_part() {
        let (ct, body, _) = two_attachment_message();
        let cut = body.len() - 40; // inside the binary attachment
        assert_eq!(
            decode(&ct, &body[..cut], Limits::default()),
            Err(MtomError::Truncated { parts_seen: 2 })
        );
        let in_headers = body.windows(9).position(|w| w == b"content-i").unwrap();
        assert_eq!(
            decode(&ct, &body[..in_headers], Limits::default()),
            Err(MtomError::Truncated { parts_seen: 2 })
        );
    }

    #[test]
    fn truncated_right_before_the_close_delimiter() {
        let (ct, body, _) = two_attachment_message();
        let close = format!("\r\n--{BOUNDARY}--");
        let at = body
            .windows(close.len())
            .position(|w| w == close.as_bytes())
            .unwrap();
        for cut in [at, at + 2, at + close.len() - 1] {
            assert_eq!(
                decode(&ct, &body[..cut], Limits::default()),
                Err(MtomError::Truncated { parts_seen: 2 }),
                "cut at {cut}"
            );
        }
        // With the close delimiter and nothing after it, the message is whole.
        assert!(decode(&ct, &body[..at + close.len()], Limits::default()).is_ok());
    }

    #[test]
    fn too_large_is_raised_during_push() {
        let (ct, body, _) = two_attachment_message();
        let limits = Limits {
            max_total_bytes: 300,
            ..Limits::default()
        };
        let mut decoder = Decoder::new(&parse_content_type(&ct).unwrap(), limits);
        let mut result = Ok(());
        let mut pushed = 0;
        for chunk in body.chunks(64) {
            result = decoder.push(chunk);
            if result.is_err() {
                break;
            }
            pushed += chunk.len();
        }
        let expected = MtomError::TooLarge {
            limit: 300,
            seen: pushed + 64,
        };
        assert_eq!(result, Err(expected.clone()));
        assert!(pushed <= 300 && pushed + 64 > 300);
        // The decoder stays failed.
        assert_eq!(decoder.push(b"more"), Err(expected.clone()));
        assert_eq!(decoder.finish(), Err(expected));
        // The limit is inclusive.
        let exact = Limits {
            max_total_bytes: body.len(),
            ..Limits::default()
        };
        assert!(decode(&ct, &body, exact).is_ok());
    }

    #[test]
    fn too_many_parts() {
        let (ct, body, _) = two_attachment_message();
        let limits = Limits {
            max_parts: 2,
            ..Limits::default()
        };
        let mut decoder = Decoder::new(&parse_content_type(&ct).unwrap(), limits);
        let third = format!("--{BOUNDARY}\r\ncontent-type: application/octet-stream");
        let at = body
            .windows(third.len())
            .position(|w| w == third.as_bytes())
            .unwrap();
        decoder.push(&body[..at]).unwrap();
        assert_eq!(
            decoder.push(&body[at..]),
            Err(MtomError::TooManyParts { limit: 2 })
        );
        let exact = Limits {
            max_parts: 3,
            ..Limits::default()
        };
        assert!(decode(&ct, &body, exact).is_ok());
    }

    #[test]
    fn header_block_too_long() {
        let ct = ct_header();
        let limits = Limits {
            max_header_bytes: 64,
            ..Limits::default()
        };
        let mut decoder = Decoder::new(&parse_content_type(&ct).unwrap(), limits);
        decoder
            .push(format!("--{BOUNDARY}\r\n").as_bytes())
            .unwrap();
        decoder.push(b"Content-Type: text/xml\r\n").unwrap();
        // No blank line yet, but the header block already passes the limit.
        let err = decoder.push(b"X-Filler: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n");
        assert_eq!(err, Err(MtomError::HeaderTooLong { part: 1, limit: 64 }));

        // A complete header block over the limit in a single push.
        let body = format!(
            "--{BOUNDARY}\r\nContent-Type: text/xml\r\nX-Filler: {}\r\n\r\n<a/>\r\n--{BOUNDARY}--\r\n",
            "b".repeat(60)
        );
        assert_eq!(
            decode(&ct, body.as_bytes(), limits),
            Err(MtomError::HeaderTooLong { part: 1, limit: 64 })
        );
        // The same block within the limit.
        let roomy = Limits {
            max_header_bytes: 128,
            ..Limits::default()
        };
        let ct = ct.replace("; start=\"<root@example.org>\"", "");
        assert_eq!(
            decode(&ct, body.as_bytes(), roomy).unwrap().root.body,
            &b"<a/>"[..]
        );
    }

    #[test]
    fn missing_boundary_param() {
        for header in [
            "multipart/related; type=\"application/xop+xml\"; start=\"<a@b>\"",
            "multipart/related",
            "multipart/related; boundary=\"\"",
            "multipart/related; boundary",
        ] {
            assert_eq!(
                parse_content_type(header),
                Err(MtomError::MissingBoundary),
                "{header}"
            );
            assert_eq!(
                decode(header, b"", Limits::default()),
                Err(MtomError::MissingBoundary)
            );
        }
    }

    #[test]
    fn not_multipart_related() {
        assert_eq!(
            parse_content_type("application/soap+xml; charset=UTF-8; action=\"urn:x\""),
            Err(MtomError::NotMultipartRelated {
                media_type: "application/soap+xml".into()
            })
        );
        assert_eq!(
            parse_content_type("multipart/mixed; boundary=x"),
            Err(MtomError::NotMultipartRelated {
                media_type: "multipart/mixed".into()
            })
        );
        assert_eq!(
            parse_content_type(""),
            Err(MtomError::NotMultipartRelated {
                media_type: String::new()
            })
        );
    }

    #[test]
    fn start_param_naming_a_missing_part() {
        let (ct, body, _) = two_attachment_message();
        let ct = ct.replace("<root@example.org>", "<nobody@example.org>");
        assert_eq!(
            decode(&ct, &body, Limits::default()),
            Err(MtomError::StartPartNotFound {
                start: "nobody@example.org".into()
            })
        );
    }

    #[test]
    fn root_is_first_part_without_start() {
        let (ct, body, _) = two_attachment_message();
        let ct = ct.replace("; start=\"<root@example.org>\"", "");
        // The first part is text/plain: not a SOAP root.
        assert_eq!(
            decode(&ct, &body, Limits::default()),
            Err(MtomError::BadRootContentType {
                content_type: "text/plain".into()
            })
        );
        let body = String::from_utf8_lossy(&body)
            .replace("Content-Type: text/plain", "Content-Type: Text/XML");
        let mm = decode(&ct, body.as_bytes(), Limits::default()).unwrap();
        assert_eq!(mm.root.content_id.as_deref(), Some("att1@example.org"));
        assert_eq!(mm.attachments.len(), 2);
    }

    #[test]
    fn one_byte_at_a_time_equals_one_push() {
        // decode_every_way asserts the equality; here on messages with edge cases at every offset.
        let (ct, body, _) = two_attachment_message();
        decode_every_way(&ct, &body);
        // Empty bodies, no headers, transport padding, delimiter right after the blank line.
        let body = format!(
            "--{BOUNDARY}  \r\nContent-ID: <root@example.org>\r\n\r\n<r/>\r\n--{BOUNDARY}\t\r\n\r\n\r\n--{BOUNDARY}\r\nContent-ID: <e@x>\r\n\r\n--{BOUNDARY}--"
        );
        let mm = decode_every_way(&ct, body.as_bytes());
        assert_eq!(mm.root.body, &b"<r/>"[..]);
        assert_eq!(mm.attachments.len(), 2);
        assert_eq!(mm.attachments[0].content_id, None);
        assert!(mm.attachments[0].body.is_empty());
        assert_eq!(mm.attachment("e@x").unwrap().body, Bytes::new());
    }

    #[test]
    fn encode_decode_round_trip_1mib() {
        let mut rng = Rng(0x2545_F491_4F6C_DD1D);
        let big = Bytes::from(rng.bytes(1024 * 1024));
        let small = Bytes::from_static(b"\r\n--\r\nplain text\r\n");
        let root = Bytes::from(format!(
            "<env:Envelope><xop:Include href=\"{}\"/></env:Envelope>",
            cid_href("doc 1@hiehub")
        ));
        let attachments = [
            OutgoingPart {
                content_id: "doc 1@hiehub".into(),
                content_type: "application/dicom".into(),
                body: big.clone(),
            },
            OutgoingPart {
                content_id: "<doc2@hiehub>".into(),
                content_type: "text/plain\r\nX-Injected: 1".into(),
                body: small.clone(),
            },
        ];
        let action = "urn:ihe:iti:2007:RetrieveDocumentSetResponse";
        let (content_type, chunks) = encode(root.clone(), Some(action), &attachments);

        // Nothing was copied: the 1 MiB body goes out as four zero-copy slices.
        assert_eq!(chunks.len(), 10);
        assert_eq!(chunks[1].as_ptr(), root.as_ptr());
        for (k, chunk) in chunks[3..7].iter().enumerate() {
            assert_eq!(chunk.len(), OUTGOING_CHUNK);
            assert_eq!(chunk.as_ptr(), big[k * OUTGOING_CHUNK..].as_ptr());
        }
        assert_eq!(chunks[8].as_ptr(), small.as_ptr());

        let ct = parse_content_type(&content_type).unwrap();
        assert!(content_type.starts_with(
            "multipart/related; type=\"application/xop+xml\"; boundary=\"MIMEBoundary_"
        ));
        assert!(content_type.ends_with(&format!(
            "; start-info=\"application/soap+xml\"; action=\"{action}\""
        )));
        assert_eq!(ct.type_param.as_deref(), Some("application/xop+xml"));
        assert_eq!(ct.start_info.as_deref(), Some("application/soap+xml"));
        assert_eq!(ct.action.as_deref(), Some(action));
        assert!(ct.boundary.starts_with("MIMEBoundary_"));

        let wire: Vec<u8> = chunks.concat();
        let text = std::str::from_utf8(&chunks[0]).unwrap();
        assert!(text.starts_with(&format!("--{}\r\nContent-Type: application/xop+xml; charset=UTF-8; type=\"application/soap+xml\"; action=\"{action}\"\r\nContent-Transfer-Encoding: binary\r\nContent-ID: <", ct.boundary)));
        assert!(
            !wire.windows(12).any(|w| w == b"\nX-Injected:"),
            "no header injection"
        );
        assert!(wire.ends_with(format!("\r\n--{}--\r\n", ct.boundary).as_bytes()));

        let mut sizes = Rng(7);
        let mm = decode_chunked(&content_type, &wire, &mut || {
            (sizes.next() % 8192) as usize + 1
        })
        .unwrap();
        assert_eq!(mm, decode(&content_type, &wire, Limits::default()).unwrap());
        assert_eq!(mm.root.body, root);
        assert_eq!(mm.root.content_id, ct.start);
        assert_eq!(mm.root.header("content-transfer-encoding"), Some("binary"));
        let href = cid_href("doc 1@hiehub");
        assert_eq!(href, "cid:doc%201@hiehub");
        let doc1 = mm.attachment(&href).unwrap();
        assert_eq!(doc1.body, big);
        assert_eq!(doc1.content_type.as_deref(), Some("application/dicom"));
        let doc2 = mm.attachment("cid:doc2%40hiehub").unwrap();
        assert_eq!(doc2.body, small);
        assert_eq!(
            doc2.content_type.as_deref(),
            Some("text/plain  X-Injected: 1")
        );
    }

    #[test]
    fn encode_without_action_or_attachments() {
        let (content_type, chunks) = encode(Bytes::from_static(b"<e/>"), None, &[]);
        assert!(!content_type.contains("action"));
        assert_eq!(chunks.len(), 3);
        let wire: Vec<u8> = chunks.concat();
        let mm = decode(&content_type, &wire, Limits::default()).unwrap();
        assert_eq!(mm.root.body, &b"<e/>"[..]);
        assert!(mm.attachments.is_empty());
        assert_eq!(
            mm.root.content_type.as_deref(),
            Some("application/xop+xml; charset=UTF-8; type=\"application/soap+xml\"")
        );
    }

    #[test]
    fn parses_content_type_parameters_in_any_form() {
        let ct = parse_content_type(
            "Multipart/Related ;BOUNDARY = \"a b\\\"c\" ; Type=application/xop+xml;start=<0.x@y> ; \
             START-INFO=\"application/soap+xml\";action=\"urn:a;b\"; start=\"<ignored@y>\"",
        )
        .unwrap();
        assert_eq!(
            ct,
            ContentType {
                media_type: "multipart/related".into(),
                boundary: "a b\"c".into(),
                type_param: Some("application/xop+xml".into()),
                start: Some("0.x@y".into()),
                start_info: Some("application/soap+xml".into()),
                action: Some("urn:a;b".into()),
            }
        );
        let ct = parse_content_type("multipart/related;boundary=simple").unwrap();
        assert_eq!(ct.boundary, "simple");
        assert_eq!(
            (ct.type_param, ct.start, ct.start_info, ct.action),
            (None, None, None, None)
        );
        assert_eq!(
            parse_content_type(&format!("multipart/related; boundary={}", "x".repeat(201))),
            Err(MtomError::BoundaryTooLong {
                limit: 200,
                len: 201
            })
        );
    }

    #[test]
    fn normalizes_content_ids() {
        assert_eq!(normalize_cid("cid:foo%40bar.org"), "foo@bar.org");
        assert_eq!(normalize_cid("CID:foo@bar.org"), "foo@bar.org");
        assert_eq!(normalize_cid("<foo@bar.org>"), "foo@bar.org");
        assert_eq!(normalize_cid("  < foo@bar.org >\t"), "foo@bar.org");
        assert_eq!(normalize_cid("foo@bar.org"), "foo@bar.org");
        assert_eq!(normalize_cid("cid:a%2"), "a%2");
        assert_eq!(normalize_cid("cid:%e2%82%ac"), "€");
        assert_eq!(
            normalize_cid("<a%40b>"),
            "a%40b",
            "no %-decoding outside cid: URLs"
        );
        assert_eq!(normalize_cid("cid"), "cid");
        assert_eq!(normalize_cid(""), "");
    }

    #[test]
    fn decodes_base64_and_quoted_printable_parts() {
        let ct = ct_header().replace("; start=\"<root@example.org>\"", "");
        let body = format!(
            "--{BOUNDARY}\nContent-Type: text/xml\nContent-Transfer-Encoding: BASE64\n\nPGE+\nw6k8\r\nL2E+\n\n--{BOUNDARY}\nContent-Transfer-Encoding: quoted-printable\nContent-ID: <q@x>\n\ncaf=C3=A9 =3D ok=\n, joined  \nnext=\n--{BOUNDARY}--\n"
        );
        let mm = decode_every_way(&ct, body.as_bytes());
        assert_eq!(mm.root.body, "<a>é</a>".as_bytes());
        assert_eq!(
            mm.attachment("q@x").unwrap().body,
            "café = ok, joined\nnext".as_bytes()
        );

        let bad = format!(
            "--{BOUNDARY}\nContent-Transfer-Encoding: base64\n\n*not base64*\n--{BOUNDARY}--\n"
        );
        let err = decode(&ct, bad.as_bytes(), Limits::default()).unwrap_err();
        assert!(
            matches!(
                err,
                MtomError::BadTransferEncoding {
                    part: 1,
                    encoding: "base64",
                    ..
                }
            ),
            "{err:?}"
        );

        let gzip =
            format!("--{BOUNDARY}\nContent-Transfer-Encoding: x-gzip\n\nzz\n--{BOUNDARY}--\n");
        assert_eq!(
            decode(&ct, gzip.as_bytes(), Limits::default()),
            Err(MtomError::UnsupportedTransferEncoding {
                part: 1,
                encoding: "x-gzip".into()
            })
        );
    }

    #[test]
    fn folded_and_odd_headers() {
        let ct = ct_header();
        let body = format!(
            "--{BOUNDARY}\r\nCONTENT-TYPE: application/xop+xml;\r\n\tcharset=UTF-8;\r\n type=\"application/soap+xml\"\r\ncontent-id:<root@example.org>\r\n\r\n<r/>\r\n--{BOUNDARY}--\r\n"
        );
        let mm = decode_every_way(&ct, body.as_bytes());
        assert_eq!(
            mm.root.content_type.as_deref(),
            Some("application/xop+xml;\tcharset=UTF-8; type=\"application/soap+xml\"")
        );
        assert_eq!(mm.root.headers[0].0, "CONTENT-TYPE");

        for (bad_line, header_block) in [
            (
                "no colon here",
                "Content-ID: <root@example.org>\r\nno colon here\r\n",
            ),
            (
                " folded first",
                " folded first\r\nContent-ID: <root@example.org>\r\n",
            ),
            ("Bad Name: x", "Bad Name: x\r\n"),
        ] {
            let body = format!("--{BOUNDARY}\r\n{header_block}\r\n<r/>\r\n--{BOUNDARY}--\r\n");
            assert_eq!(
                decode(&ct, body.as_bytes(), Limits::default()),
                Err(MtomError::BadPartHeader {
                    part: 1,
                    line: bad_line.into()
                })
            );
        }
    }

    #[test]
    fn duplicate_content_id() {
        let ct = ct_header();
        let body = format!(
            "--{BOUNDARY}\r\nContent-ID: <root@example.org>\r\n\r\n<r/>\r\n--{BOUNDARY}\r\nContent-ID: <a@x>\r\n\r\n1\r\n--{BOUNDARY}\r\nContent-ID: cid:a%40x\r\n\r\n2\r\n--{BOUNDARY}--"
        );
        let mut decoder = Decoder::new(&parse_content_type(&ct).unwrap(), Limits::default());
        // Raised during push, as soon as the second part with that id ends.
        assert_eq!(
            decoder.push(body.as_bytes()),
            Err(MtomError::DuplicateContentId { cid: "a@x".into() })
        );
    }

    #[test]
    fn no_parts() {
        let ct = ct_header();
        for body in [
            String::new(),
            "just some text, the boundary is wrong\r\n--OtherBoundary\r\n\r\nx\r\n--OtherBoundary--".to_string(),
            format!("preamble\r\n--{BOUNDARY}--\r\n"),
            format!("--{BOUNDARY}X\r\n"),
        ] {
            assert_eq!(decode(&ct, body.as_bytes(), Limits::default()), Err(MtomError::NoParts), "{body:?}");
        }
    }

    #[test]
    fn preamble_is_not_kept_in_memory() {
        let ct = parse_content_type(&ct_header()).unwrap();
        let mut decoder = Decoder::new(&ct, Limits::default());
        for _ in 0..1000 {
            decoder.push(&[b'p'; 1000]).unwrap();
        }
        assert!(
            decoder.buf.len() < 100,
            "buffer holds {} bytes",
            decoder.buf.len()
        );
        assert_eq!(decoder.bytes_seen(), 1_000_000);
    }

    #[test]
    fn error_messages_carry_facts() {
        let too_large = MtomError::TooLarge {
            limit: 1024,
            seen: 2048,
        }
        .to_string();
        assert!(
            too_large.contains("1024") && too_large.contains("2048"),
            "{too_large}"
        );
        let header = MtomError::BadPartHeader {
            part: 3,
            line: "oops".into(),
        }
        .to_string();
        assert!(
            header.contains("part 3") && header.contains("'oops'"),
            "{header}"
        );
        assert_eq!(MtomError::Truncated { parts_seen: 1 }.code(), "Truncated");
        let long = "x".repeat(500);
        let Err(MtomError::NotMultipartRelated { media_type }) =
            parse_content_type(&format!("\u{1}{long}/y"))
        else {
            panic!("expected NotMultipartRelated");
        };
        assert_eq!(media_type.chars().count(), EXCERPT_CHARS + 1);
        assert!(!media_type.contains(['\r', '\n']));
    }
}
