//! The syslog message: RFC 5424 §6 (`<PRI>VERSION SP TIMESTAMP SP HOSTNAME SP APP-NAME SP PROCID
//! SP MSGID SP STRUCTURED-DATA [SP MSG]`), with RFC 3164 §4.1 (`<PRI>Mmm dd hh:mm:ss HOST TAG: MSG`)
//! tolerated from legacy senders.
//!
//! Parsing is zero-copy for the body: [`SyslogMessage::msg`] is a slice of the frame's `Bytes`.
//! The parser is liberal where RFC 5424 lets a receiver be (TIMESTAMP is kept as text, not
//! validated; see [`SyslogMessage::parsed_timestamp`]) and strict where the grammar would
//! otherwise be ambiguous (field separators, structured data, PRI range).

use bytes::Bytes;
use chrono::{DateTime, FixedOffset};

use super::frame::FrameError;

/// MSGID of IHE ATNA audit messages (ITI TF-2 §3.20.6.1).
pub const MSGID_IHE_RFC3881: &str = "IHE+RFC-3881";
/// MSGID of DICOM PS3.15 audit messages sent by some DICOM actors.
pub const MSGID_DICOM_RFC3881: &str = "DICOM+RFC3881";

const BOM: &[u8] = b"\xEF\xBB\xBF";

/// RFC 5424 §6.2.1 Table 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Facility {
    Kern = 0,
    User = 1,
    Mail = 2,
    Daemon = 3,
    Auth = 4,
    Syslog = 5,
    Lpr = 6,
    News = 7,
    Uucp = 8,
    Cron = 9,
    AuthPriv = 10,
    Ftp = 11,
    Ntp = 12,
    Security = 13,
    Console = 14,
    SolarisCron = 15,
    Local0 = 16,
    Local1 = 17,
    Local2 = 18,
    Local3 = 19,
    Local4 = 20,
    Local5 = 21,
    Local6 = 22,
    Local7 = 23,
}

impl Facility {
    const ALL: [Facility; 24] = [
        Facility::Kern,
        Facility::User,
        Facility::Mail,
        Facility::Daemon,
        Facility::Auth,
        Facility::Syslog,
        Facility::Lpr,
        Facility::News,
        Facility::Uucp,
        Facility::Cron,
        Facility::AuthPriv,
        Facility::Ftp,
        Facility::Ntp,
        Facility::Security,
        Facility::Console,
        Facility::SolarisCron,
        Facility::Local0,
        Facility::Local1,
        Facility::Local2,
        Facility::Local3,
        Facility::Local4,
        Facility::Local5,
        Facility::Local6,
        Facility::Local7,
    ];

    /// The facility of a PRI value (0..=191); `None` above 191.
    pub fn from_pri(pri: u8) -> Option<Facility> {
        Facility::ALL.get(usize::from(pri >> 3)).copied()
    }
}

/// RFC 5424 §6.2.1 Table 2.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    Emergency = 0,
    Alert = 1,
    Critical = 2,
    Error = 3,
    Warning = 4,
    Notice = 5,
    Informational = 6,
    Debug = 7,
}

impl Severity {
    pub fn from_pri(pri: u8) -> Severity {
        match pri & 7 {
            0 => Severity::Emergency,
            1 => Severity::Alert,
            2 => Severity::Critical,
            3 => Severity::Error,
            4 => Severity::Warning,
            5 => Severity::Notice,
            6 => Severity::Informational,
            _ => Severity::Debug,
        }
    }
}

/// Which grammar the message was read with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Rfc5424,
    Rfc3164,
}

/// One SD-PARAM, its value unescaped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SdParam {
    pub name: String,
    pub value: String,
}

/// One SD-ELEMENT (`[id name="value" ...]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SdElement {
    pub id: String,
    pub params: Vec<SdParam>,
}

impl SdElement {
    /// The first value of parameter `name`.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|p| p.name == name)
            .map(|p| p.value.as_str())
    }
}

/// A parsed syslog message. NILVALUE (`-`) fields are `None`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyslogMessage {
    /// PRI value, 0..=191.
    pub pri: u8,
    pub facility: Facility,
    pub severity: Severity,
    /// RFC 5424 VERSION (1..=999); `None` for RFC 3164.
    pub version: Option<u16>,
    /// TIMESTAMP as sent (RFC 3339 for RFC 5424, `Mmm dd hh:mm:ss` for RFC 3164).
    pub timestamp: Option<String>,
    pub hostname: Option<String>,
    /// APP-NAME (RFC 3164: the TAG).
    pub app_name: Option<String>,
    /// PROCID (RFC 3164: the `[pid]` after the TAG).
    pub proc_id: Option<String>,
    pub msg_id: Option<String>,
    pub structured_data: Vec<SdElement>,
    /// Whether MSG started with a UTF-8 BOM (RFC 5424 §6.4), which `msg` does not include.
    pub bom: bool,
    /// MSG: the bytes after the header (and after the BOM, if any), exactly as received;
    /// a slice of the frame, not a copy.
    pub msg: Bytes,
    pub format: Format,
}

impl SyslogMessage {
    /// Whether MSGID names an audit message (`IHE+RFC-3881` or `DICOM+RFC3881`).
    pub fn is_audit_message(&self) -> bool {
        matches!(
            self.msg_id.as_deref(),
            Some(MSGID_IHE_RFC3881 | MSGID_DICOM_RFC3881)
        )
    }

    /// TIMESTAMP as a date and time, when it is a valid RFC 3339 timestamp (RFC 5424 messages).
    pub fn parsed_timestamp(&self) -> Option<DateTime<FixedOffset>> {
        match self.format {
            Format::Rfc5424 => DateTime::parse_from_rfc3339(self.timestamp.as_deref()?).ok(),
            Format::Rfc3164 => None,
        }
    }
}

/// Why a frame is not a syslog message. Offsets are byte offsets into the frame (SYSLOG-MSG).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    #[error(transparent)]
    Framing(#[from] FrameError),
    #[error("the message is empty")]
    Empty,
    #[error("byte {offset}: expected '<' starting PRI, found 0x{found:02x}")]
    NoPri { offset: usize, found: u8 },
    #[error("byte {offset}: PRI must be 1 to 3 digits closed by '>'")]
    BadPri { offset: usize },
    #[error("byte {offset}: PRI {value} is above {max}")]
    PriOutOfRange { offset: usize, value: u16, max: u8 },
    #[error("byte {offset}: the message ends before {field} is complete")]
    UnexpectedEnd { offset: usize, field: &'static str },
    #[error("byte {offset}: the message ends after {after}, where SP was expected")]
    EndsAfter { offset: usize, after: &'static str },
    #[error("byte {offset}: expected SP after {after}, found 0x{found:02x}")]
    ExpectedSpace {
        offset: usize,
        after: &'static str,
        found: u8,
    },
    #[error("byte {offset}: {field} contains byte 0x{found:02x}, which is not printable US-ASCII")]
    NotPrintable {
        offset: usize,
        field: &'static str,
        found: u8,
    },
    #[error("byte {offset}: {field} is {seen} bytes long, more than {limit}")]
    TooLong {
        offset: usize,
        field: &'static str,
        limit: usize,
        seen: usize,
    },
    #[error("byte {offset}: {field} is empty")]
    EmptyField { offset: usize, field: &'static str },
    #[error("byte {offset}: expected '-' or '[' starting STRUCTURED-DATA, found 0x{found:02x}")]
    NoStructuredData { offset: usize, found: u8 },
    #[error("byte {offset}: expected {expected} in SD-ELEMENT, found 0x{found:02x}")]
    BadSdElement {
        offset: usize,
        expected: &'static str,
        found: u8,
    },
    #[error("byte {offset}: PARAM-VALUE is not UTF-8")]
    SdValueNotUtf8 { offset: usize },
}

impl ParseError {
    /// Byte offset into the frame where the problem is (`None` for framing errors and `Empty`).
    pub fn offset(&self) -> Option<usize> {
        match self {
            ParseError::Framing(_) | ParseError::Empty => None,
            ParseError::NoPri { offset, .. }
            | ParseError::BadPri { offset }
            | ParseError::PriOutOfRange { offset, .. }
            | ParseError::UnexpectedEnd { offset, .. }
            | ParseError::EndsAfter { offset, .. }
            | ParseError::ExpectedSpace { offset, .. }
            | ParseError::NotPrintable { offset, .. }
            | ParseError::TooLong { offset, .. }
            | ParseError::EmptyField { offset, .. }
            | ParseError::NoStructuredData { offset, .. }
            | ParseError::BadSdElement { offset, .. }
            | ParseError::SdValueNotUtf8 { offset } => Some(*offset),
        }
    }
}

/// A cursor over the frame.
struct Cursor<'a> {
    b: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.pos).copied()
    }

    fn at_end(&self) -> bool {
        self.pos >= self.b.len()
    }

    fn rest(&self) -> &'a [u8] {
        self.b.get(self.pos..).unwrap_or_default()
    }

    fn expect_sp(&mut self, after: &'static str) -> Result<(), ParseError> {
        match self.peek() {
            Some(b' ') => {
                self.pos += 1;
                Ok(())
            }
            Some(found) => Err(ParseError::ExpectedSpace {
                offset: self.pos,
                after,
                found,
            }),
            None => Err(ParseError::EndsAfter {
                offset: self.pos,
                after,
            }),
        }
    }

    /// A header field: 1..=limit printable US-ASCII bytes up to SP or the end; `-` is NILVALUE.
    fn header_field(
        &mut self,
        field: &'static str,
        limit: usize,
    ) -> Result<Option<String>, ParseError> {
        let start = self.pos;
        let len = self
            .rest()
            .iter()
            .position(|&b| b == b' ')
            .unwrap_or(self.rest().len());
        let token = &self.b[start..start + len];
        if token.is_empty() {
            return Err(if self.at_end() {
                ParseError::UnexpectedEnd {
                    offset: start,
                    field,
                }
            } else {
                ParseError::EmptyField {
                    offset: start,
                    field,
                }
            });
        }
        if let Some(i) = token.iter().position(|b| !(33..=126).contains(b)) {
            return Err(ParseError::NotPrintable {
                offset: start + i,
                field,
                found: token[i],
            });
        }
        if len > limit {
            return Err(ParseError::TooLong {
                offset: start,
                field,
                limit,
                seen: len,
            });
        }
        self.pos += len;
        if token == b"-" {
            return Ok(None);
        }
        Ok(Some(ascii(token)))
    }
}

/// Printable US-ASCII bytes (already checked) to a String.
fn ascii(b: &[u8]) -> String {
    b.iter().map(|&c| char::from(c)).collect()
}

/// Parses one frame (SYSLOG-MSG) as RFC 5424, or as RFC 3164 when no VERSION follows PRI.
pub fn parse(raw: &Bytes) -> Result<SyslogMessage, ParseError> {
    let mut c = Cursor { b: raw, pos: 0 };
    let pri = read_pri(&mut c)?;
    let facility = Facility::from_pri(pri).ok_or(ParseError::PriOutOfRange {
        offset: 1,
        value: u16::from(pri),
        max: 191,
    })?;
    let severity = Severity::from_pri(pri);
    let version = read_version(&c);
    let Some((version, digits)) = version else {
        return Ok(parse_3164(raw, c.pos, pri, facility, severity));
    };
    c.pos += digits;
    c.expect_sp("VERSION")?;
    let timestamp = c.header_field("TIMESTAMP", 64)?;
    c.expect_sp("TIMESTAMP")?;
    let hostname = c.header_field("HOSTNAME", 255)?;
    c.expect_sp("HOSTNAME")?;
    let app_name = c.header_field("APP-NAME", 48)?;
    c.expect_sp("APP-NAME")?;
    let proc_id = c.header_field("PROCID", 128)?;
    c.expect_sp("PROCID")?;
    let msg_id = c.header_field("MSGID", 32)?;
    c.expect_sp("MSGID")?;
    let structured_data = read_structured_data(&mut c)?;
    let (bom, msg) = if c.at_end() {
        (false, Bytes::new())
    } else {
        c.expect_sp("STRUCTURED-DATA")?;
        let rest = c.rest();
        if rest.starts_with(BOM) {
            (true, raw.slice(c.pos + BOM.len()..))
        } else {
            (false, raw.slice(c.pos..))
        }
    };
    Ok(SyslogMessage {
        pri,
        facility,
        severity,
        version: Some(version),
        timestamp,
        hostname,
        app_name,
        proc_id,
        msg_id,
        structured_data,
        bom,
        msg,
        format: Format::Rfc5424,
    })
}

fn read_pri(c: &mut Cursor<'_>) -> Result<u8, ParseError> {
    match c.peek() {
        None => return Err(ParseError::Empty),
        Some(b'<') => {}
        Some(found) => return Err(ParseError::NoPri { offset: 0, found }),
    }
    let digits = c.b[1..]
        .iter()
        .take(4)
        .position(|b| !b.is_ascii_digit())
        .unwrap_or(4);
    if !(1..=3).contains(&digits) || c.b.get(1 + digits) != Some(&b'>') {
        return Err(ParseError::BadPri { offset: 1 });
    }
    let value = c.b[1..1 + digits]
        .iter()
        .fold(0u16, |v, d| v * 10 + u16::from(d - b'0'));
    c.pos = 2 + digits;
    u8::try_from(value)
        .ok()
        .filter(|&v| v <= 191)
        .ok_or(ParseError::PriOutOfRange {
            offset: 1,
            value,
            max: 191,
        })
}

/// VERSION = NONZERO-DIGIT 0*2DIGIT, followed by SP: (value, digits). `None` means RFC 3164.
fn read_version(c: &Cursor<'_>) -> Option<(u16, usize)> {
    let rest = c.rest();
    let digits = rest.iter().take(4).position(|b| !b.is_ascii_digit())?;
    if !(1..=3).contains(&digits) || rest[0] == b'0' || rest.get(digits) != Some(&b' ') {
        return None;
    }
    let value = rest[..digits]
        .iter()
        .fold(0u16, |v, d| v * 10 + u16::from(d - b'0'));
    Some((value, digits))
}

fn read_structured_data(c: &mut Cursor<'_>) -> Result<Vec<SdElement>, ParseError> {
    match c.peek() {
        Some(b'-') => {
            c.pos += 1;
            return Ok(Vec::new());
        }
        Some(b'[') => {}
        Some(found) => {
            return Err(ParseError::NoStructuredData {
                offset: c.pos,
                found,
            });
        }
        None => {
            return Err(ParseError::UnexpectedEnd {
                offset: c.pos,
                field: "STRUCTURED-DATA",
            });
        }
    }
    let mut elements = Vec::new();
    while c.peek() == Some(b'[') {
        c.pos += 1;
        let id = sd_name(c, "SD-ID")?;
        let mut params = Vec::new();
        loop {
            match c.peek() {
                Some(b']') => {
                    c.pos += 1;
                    break;
                }
                Some(b' ') => {
                    c.pos += 1;
                    let name = sd_name(c, "PARAM-NAME")?;
                    sd_expect(c, b'=', "'=' after PARAM-NAME")?;
                    sd_expect(c, b'"', "'\"' opening PARAM-VALUE")?;
                    let value = sd_value(c)?;
                    params.push(SdParam { name, value });
                }
                Some(found) => {
                    return Err(ParseError::BadSdElement {
                        offset: c.pos,
                        expected: "SP or ']'",
                        found,
                    });
                }
                None => {
                    return Err(ParseError::UnexpectedEnd {
                        offset: c.pos,
                        field: "SD-ELEMENT",
                    });
                }
            }
        }
        elements.push(SdElement { id, params });
    }
    Ok(elements)
}

fn sd_expect(c: &mut Cursor<'_>, want: u8, expected: &'static str) -> Result<(), ParseError> {
    match c.peek() {
        Some(b) if b == want => {
            c.pos += 1;
            Ok(())
        }
        Some(found) => Err(ParseError::BadSdElement {
            offset: c.pos,
            expected,
            found,
        }),
        None => Err(ParseError::UnexpectedEnd {
            offset: c.pos,
            field: "SD-ELEMENT",
        }),
    }
}

/// SD-NAME = 1*32PRINTUSASCII except '=', SP, ']', '"'.
fn sd_name(c: &mut Cursor<'_>, field: &'static str) -> Result<String, ParseError> {
    let start = c.pos;
    let len = c
        .rest()
        .iter()
        .position(|&b| matches!(b, b'=' | b' ' | b']' | b'"') || !(33..=126).contains(&b))
        .unwrap_or(c.rest().len());
    match c.rest().get(len) {
        None => {
            return Err(ParseError::UnexpectedEnd {
                offset: start + len,
                field,
            });
        }
        Some(&b) if !matches!(b, b'=' | b' ' | b']' | b'"') => {
            return Err(ParseError::NotPrintable {
                offset: start + len,
                field,
                found: b,
            });
        }
        Some(_) => {}
    }
    if len == 0 {
        return Err(ParseError::EmptyField {
            offset: start,
            field,
        });
    }
    if len > 32 {
        return Err(ParseError::TooLong {
            offset: start,
            field,
            limit: 32,
            seen: len,
        });
    }
    c.pos += len;
    Ok(ascii(&c.b[start..start + len]))
}

/// PARAM-VALUE after its opening '"', up to and including the closing '"'. `\"`, `\\` and `\]`
/// are unescaped; a backslash before any other byte is kept (RFC 5424 §6.3.3). An unescaped ']'
/// is accepted.
fn sd_value(c: &mut Cursor<'_>) -> Result<String, ParseError> {
    let start = c.pos;
    let mut out = Vec::new();
    loop {
        match c.peek() {
            None => {
                return Err(ParseError::UnexpectedEnd {
                    offset: c.pos,
                    field: "PARAM-VALUE",
                });
            }
            Some(b'"') => {
                c.pos += 1;
                break;
            }
            Some(b'\\') => match c.b.get(c.pos + 1) {
                Some(&e @ (b'"' | b'\\' | b']')) => {
                    out.push(e);
                    c.pos += 2;
                }
                _ => {
                    out.push(b'\\');
                    c.pos += 1;
                }
            },
            Some(b) => {
                out.push(b);
                c.pos += 1;
            }
        }
    }
    String::from_utf8(out).map_err(|_| ParseError::SdValueNotUtf8 { offset: start })
}

const MONTHS: [&[u8; 3]; 12] = [
    b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov", b"Dec",
];

/// `Mmm dd hh:mm:ss` (day space-padded) — RFC 3164 §4.1.2.
fn is_3164_timestamp(t: &[u8]) -> bool {
    let d = |i: usize| t.get(i).is_some_and(u8::is_ascii_digit);
    t.len() == 15
        && MONTHS.iter().any(|m| t.starts_with(*m))
        && t[3] == b' '
        && (d(4) || t[4] == b' ')
        && d(5)
        && t[6] == b' '
        && d(7)
        && d(8)
        && t[9] == b':'
        && d(10)
        && d(11)
        && t[12] == b':'
        && d(13)
        && d(14)
}

/// RFC 3164 after PRI. Never fails: what does not fit the grammar is MSG (RFC 3164 §4.3.3).
fn parse_3164(
    raw: &Bytes,
    mut pos: usize,
    pri: u8,
    facility: Facility,
    severity: Severity,
) -> SyslogMessage {
    let b: &[u8] = raw;
    let token_end = |from: usize| {
        b.get(from..)
            .and_then(|r| r.iter().position(|&c| c == b' '))
            .map_or(b.len().max(from), |i| from + i)
    };
    let mut timestamp = None;
    let mut hostname = None;
    let mut app_name = None;
    let mut proc_id = None;
    let ts = b.get(pos..pos + 15).filter(|t| is_3164_timestamp(t));
    let ts = ts.map(|t| (t, pos + 15)).or_else(|| {
        // rsyslog's high-precision legacy format: an RFC 3339 timestamp in the 3164 position.
        let end = token_end(pos);
        let t = b.get(pos..end)?;
        let s = std::str::from_utf8(t).ok()?;
        DateTime::parse_from_rfc3339(s).ok()?;
        Some((t, end))
    });
    if let Some((t, end)) = ts.filter(|(_, end)| b.get(*end) == Some(&b' ')) {
        timestamp = Some(ascii(t));
        pos = end + 1;
        // HOSTNAME, unless the next token is already the TAG.
        let end = token_end(pos);
        let token = &b[pos..end];
        let printable = !token.is_empty() && token.iter().all(|c| (33..=126).contains(c));
        if printable && end < b.len() && read_tag(token).is_none() {
            hostname = Some(ascii(token));
            pos = end + 1;
        }
        let end = token_end(pos);
        if let Some((tag, pid)) = read_tag(&b[pos..end]) {
            app_name = Some(ascii(tag));
            proc_id = pid.map(ascii);
            pos = (end + 1).min(b.len());
        }
    }
    SyslogMessage {
        pri,
        facility,
        severity,
        version: None,
        timestamp,
        hostname,
        app_name,
        proc_id,
        msg_id: None,
        structured_data: Vec::new(),
        bom: false,
        msg: raw.slice(pos.min(raw.len())..),
        format: Format::Rfc3164,
    }
}

/// `TAG:`, `TAG[PID]:` or `TAG[PID]` (printable, at most 48 bytes): (tag, pid).
fn read_tag(token: &[u8]) -> Option<(&[u8], Option<&[u8]>)> {
    if token.len() > 48 + 130 || !token.iter().all(|c| (33..=126).contains(c)) {
        return None;
    }
    let (tag, pid) = match token.iter().position(|&c| c == b'[') {
        Some(open) => {
            let rest = &token[open + 1..];
            let rest = rest.strip_suffix(b":").unwrap_or(rest);
            let pid = rest.strip_suffix(b"]")?;
            if pid.is_empty() || pid.contains(&b']') {
                return None;
            }
            (&token[..open], Some(pid))
        }
        None => (token.strip_suffix(b":")?, None),
    };
    if tag.is_empty() || tag.len() > 48 || tag.contains(&b':') {
        return None;
    }
    Some((tag, pid))
}
