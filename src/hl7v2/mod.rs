//! HL7 version 2.x messages in ER7 (pipe-and-hat) encoding, and MLLP framing ([`mllp`]): what
//! hospital systems that predate HL7v3 send for PIX (ITI-8 feeds, ITI-9 queries).
//!
//! A [`Message`] keeps each segment's fields as sent (still escaped) and reads them through
//! [`Message::get`] with the message's own encoding characters (MSH-1, MSH-2), unescaped. Building
//! goes through [`Builder`], which escapes. No field is interpreted here: `mpi::v2` does that.

pub mod mllp;

/// A parse failure: what is wrong and where (segment index from 1, and field).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{what}")]
pub struct ParseError {
    pub what: String,
    /// ERR-2 style location: segment name and field number, when known.
    pub location: Option<(String, usize)>,
}

/// The encoding characters of a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Delimiters {
    pub field: char,
    pub component: char,
    pub repetition: char,
    pub escape: char,
    pub subcomponent: char,
}

impl Default for Delimiters {
    fn default() -> Self {
        Delimiters {
            field: '|',
            component: '^',
            repetition: '~',
            escape: '\\',
            subcomponent: '&',
        }
    }
}

/// One segment: its name and its fields (field 1 is `fields[0]`; for MSH, MSH-1 is the field
/// separator itself and MSH-2 the encoding characters, as the standard counts them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    pub name: String,
    fields: Vec<String>,
}

/// A parsed message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub delimiters: Delimiters,
    pub segments: Vec<Segment>,
}

impl Message {
    /// Parses an ER7 message (segments separated by CR; LF and CRLF tolerated).
    pub fn parse(text: &str) -> Result<Message, ParseError> {
        let text = text.trim_start_matches(['\r', '\n', ' ']);
        if !text.starts_with("MSH") {
            return Err(ParseError {
                what: "the message does not start with an MSH segment".into(),
                location: Some(("MSH".into(), 0)),
            });
        }
        let mut chars = text[3..].chars();
        let field = chars.next().ok_or_else(|| ParseError {
            what: "MSH-1 (field separator) is missing".into(),
            location: Some(("MSH".into(), 1)),
        })?;
        let enc: Vec<char> = chars
            .take_while(|c| *c != field && *c != '\r' && *c != '\n')
            .collect();
        if enc.len() < 4 {
            return Err(ParseError {
                what: format!(
                    "MSH-2 (encoding characters) must hold 4 characters, found '{}'",
                    enc.iter().collect::<String>()
                ),
                location: Some(("MSH".into(), 2)),
            });
        }
        let delimiters = Delimiters {
            field,
            component: enc[0],
            repetition: enc[1],
            escape: enc[2],
            subcomponent: enc[3],
        };
        let mut segments = Vec::new();
        for line in text.split(['\r', '\n']).filter(|l| !l.trim().is_empty()) {
            let parts: Vec<&str> = line.split(field).collect();
            let name = parts[0].trim().to_owned();
            if name.len() != 3 || !name.chars().all(|c| c.is_ascii_alphanumeric()) {
                return Err(ParseError {
                    what: format!("'{name}' is not a segment name"),
                    location: Some((name, 0)),
                });
            }
            let fields = if name == "MSH" {
                // MSH-1 is the separator, MSH-2 the encoding characters, then MSH-3...
                let mut f = vec![field.to_string()];
                f.extend(parts[1..].iter().map(|s| (*s).to_owned()));
                f
            } else {
                parts[1..].iter().map(|s| (*s).to_owned()).collect()
            };
            segments.push(Segment { name, fields });
        }
        Ok(Message {
            delimiters,
            segments,
        })
    }

    /// The first segment named `name`.
    pub fn segment(&self, name: &str) -> Option<&Segment> {
        self.segments.iter().find(|s| s.name == name)
    }

    /// Every segment named `name`.
    pub fn segments_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Segment> {
        self.segments.iter().filter(move |s| s.name == name)
    }

    /// Field `field` (1-based) of `seg` as sent (escaped), "" when absent.
    pub fn raw<'a>(&self, seg: &'a Segment, field: usize) -> &'a str {
        field
            .checked_sub(1)
            .and_then(|i| seg.fields.get(i))
            .map_or("", String::as_str)
    }

    /// The repetitions of a field, each split into components, each unescaped (sub-components
    /// kept with their separator, unescaped too).
    pub fn repetitions(&self, seg: &Segment, field: usize) -> Vec<Vec<String>> {
        let raw = self.raw(seg, field);
        if raw.is_empty() {
            return Vec::new();
        }
        raw.split(self.delimiters.repetition)
            .map(|rep| {
                rep.split(self.delimiters.component)
                    .map(|c| self.unescape(c))
                    .collect()
            })
            .collect()
    }

    /// Component `component` (1-based) of the first repetition of a field, unescaped.
    pub fn get(&self, seg: &Segment, field: usize, component: usize) -> String {
        self.repetitions(seg, field)
            .into_iter()
            .next()
            .and_then(|r| r.into_iter().nth(component.saturating_sub(1)))
            .unwrap_or_default()
    }

    /// A (non-MSH) segment as sent: its name and fields joined by the field separator.
    pub fn segment_text(&self, seg: &Segment) -> String {
        let mut s = seg.name.clone();
        for f in &seg.fields {
            s.push(self.delimiters.field);
            s.push_str(f);
        }
        s
    }

    /// `MSH-9` as (message code, trigger event, structure), e.g. ("ADT", "A01", "ADT_A01").
    pub fn message_type(&self) -> (String, String, String) {
        match self.segment("MSH") {
            Some(m) => (self.get(m, 9, 1), self.get(m, 9, 2), self.get(m, 9, 3)),
            None => Default::default(),
        }
    }

    /// MSH-10, the message control id.
    pub fn control_id(&self) -> String {
        self.segment("MSH")
            .map(|m| self.get(m, 10, 1))
            .unwrap_or_default()
    }

    /// Resolves the escape sequences of HL7 v2 §2.7 (\F\ \S\ \T\ \R\ \E\, \Xhh..\); other
    /// sequences (formatting) are dropped.
    pub fn unescape(&self, s: &str) -> String {
        let d = &self.delimiters;
        if !s.contains(d.escape) {
            return s.to_owned();
        }
        let mut out = String::with_capacity(s.len());
        let mut it = s.split(d.escape);
        if let Some(first) = it.next() {
            out.push_str(first);
        }
        let mut in_seq = true;
        for part in it {
            if in_seq {
                match part {
                    "F" => out.push(d.field),
                    "S" => out.push(d.component),
                    "T" => out.push(d.subcomponent),
                    "R" => out.push(d.repetition),
                    "E" => out.push(d.escape),
                    x if x.starts_with('X') => {
                        let bytes: Vec<u8> = (1..x.len())
                            .step_by(2)
                            .filter_map(|i| x.get(i..i + 2))
                            .filter_map(|h| u8::from_str_radix(h, 16).ok())
                            .collect();
                        out.push_str(&String::from_utf8_lossy(&bytes));
                    }
                    _ => {}
                }
            } else {
                out.push_str(part);
            }
            in_seq = !in_seq;
        }
        out
    }
}

/// Builds an ER7 message with the default delimiters; values are escaped.
#[derive(Debug, Default)]
pub struct Builder {
    segments: Vec<String>,
}

/// One field of a segment being built: repetitions of components.
pub type Field = Vec<Vec<String>>;

/// Stands between sub-components inside a component value given to [`Builder`]; written as the
/// sub-component separator (a control character no HL7 text contains).
const SUB: char = '\u{1F}';

/// A component made of sub-components (e.g. HD `namespace&universal id&type`), each escaped.
pub fn subs<S: AsRef<str>>(parts: impl IntoIterator<Item = S>) -> String {
    parts
        .into_iter()
        .map(|p| p.as_ref().replace(SUB, ""))
        .collect::<Vec<_>>()
        .join(&SUB.to_string())
}

/// A field of one component.
pub fn one(value: impl Into<String>) -> Field {
    vec![vec![value.into()]]
}

/// A field of one repetition with these components.
pub fn comps<S: Into<String>>(components: impl IntoIterator<Item = S>) -> Field {
    vec![components.into_iter().map(Into::into).collect()]
}

impl Builder {
    /// Starts with MSH: `fields` are MSH-3 onwards.
    pub fn msh(fields: Vec<Field>) -> Builder {
        let mut b = Builder::default();
        let mut line = String::from("MSH|^~\\&");
        for f in &fields {
            line.push('|');
            line.push_str(&encode_field(f));
        }
        b.segments.push(line);
        b
    }

    /// Appends a segment: `fields` are field 1 onwards.
    pub fn segment(mut self, name: &str, fields: Vec<Field>) -> Builder {
        let mut line = name.to_owned();
        for f in &fields {
            line.push('|');
            line.push_str(&encode_field(f));
        }
        // No trailing empty fields.
        while line.ends_with('|') {
            line.pop();
        }
        self.segments.push(line);
        self
    }

    /// The message, segments ended by CR.
    pub fn build(self) -> String {
        let mut s = self.segments.join("\r");
        s.push('\r');
        s
    }
}

fn encode_field(f: &Field) -> String {
    f.iter()
        .map(|rep| rep.iter().map(|c| escape(c)).collect::<Vec<_>>().join("^"))
        .collect::<Vec<_>>()
        .join("~")
}

/// Escapes the default delimiters in a value.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\E\\"),
            '|' => out.push_str("\\F\\"),
            '^' => out.push_str("\\S\\"),
            '&' => out.push_str("\\T\\"),
            '~' => out.push_str("\\R\\"),
            '\r' | '\n' => out.push_str("\\X0D\\"),
            SUB => out.push('&'),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const ADT: &str = "MSH|^~\\&|HIS|HOSP_A|HIEHUB|REGION|20261123101500||ADT^A01^ADT_A01|MSG0001|P|2.5\rEVN|A01|20261123101500\rPID|||12345^^^&1.2.410.200.1.1&ISO~98765^^^&1.2.410.200.2.1&ISO||KIM^MINJUN^^^^^L~김^민준||19800101|M|||12 Main St^^Seoul^^04524^KOR||^PRN^PH^^^^^^^^^+82-2-555-0100\r";

    #[test]
    fn parses_msh_fields_repetitions_and_components() {
        let m = Message::parse(ADT).unwrap();
        assert_eq!(
            m.message_type(),
            ("ADT".into(), "A01".into(), "ADT_A01".into())
        );
        assert_eq!(m.control_id(), "MSG0001");
        let msh = m.segment("MSH").unwrap();
        assert_eq!(m.raw(msh, 1), "|");
        assert_eq!(m.raw(msh, 2), "^~\\&");
        assert_eq!(m.get(msh, 3, 1), "HIS");
        let pid = m.segment("PID").unwrap();
        let ids = m.repetitions(pid, 3);
        assert_eq!(ids.len(), 2);
        assert_eq!(ids[0][0], "12345");
        assert_eq!(ids[0][3], "&1.2.410.200.1.1&ISO");
        assert_eq!(m.repetitions(pid, 5)[1], ["김", "민준"]);
        assert_eq!(m.get(pid, 7, 1), "19800101");
        assert_eq!(m.get(pid, 11, 3), "Seoul");
    }

    #[test]
    fn escapes_round_trip_and_refusals_say_where() {
        let msg = Builder::msh(vec![one("A|B"), one("x^y&z~w\\v")])
            .segment("PID", vec![vec![], one("n"), vec![]])
            .segment(
                "PV1",
                vec![comps(["", "", "", &subs(["", "1.2&3", "ISO"])])],
            )
            .build();
        assert!(msg.contains("PV1|^^^&1.2\\T\\3&ISO\r"), "{msg:?}");
        let m = Message::parse(&msg).unwrap();
        let msh = m.segment("MSH").unwrap();
        assert_eq!(m.get(msh, 3, 1), "A|B");
        assert_eq!(m.get(msh, 4, 1), "x^y&z~w\\v");
        assert_eq!(m.raw(m.segment("PID").unwrap(), 2), "n");
        assert!(msg.contains("PID||n\r"), "{msg:?}");

        let e = Message::parse("PID|1").unwrap_err();
        assert_eq!(e.location, Some(("MSH".into(), 0)));
        let e = Message::parse("MSH|^~\rPID|x").unwrap_err();
        assert!(e.what.contains("MSH-2"), "{e}");
        let e = Message::parse("MSH|^~\\&|a\rP I D|x").unwrap_err();
        assert!(e.what.contains("segment name"), "{e}");
    }
}
