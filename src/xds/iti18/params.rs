//! Stored-query parameters (ITI TF-2a §3.18.4.1.2.3.5 "Coding of Values" and §3.18.4.1.2.3.6
//! "Coding of Single/Multiple Values"; ebRS 3.0 §6.3): each parameter is a `rim:Slot` of the
//! `rim:AdhocQuery`, each `rim:Value` one of
//! - a string in single quotes, `'abc'` (a quote inside is doubled: `'O''Brien'`);
//! - a number, bare: `200412252300`, `1`;
//! - a list in parentheses of either: `('a','b')`, `(1,2)`.
//!
//! A multi-valued parameter is written as lists — one or several `rim:Value`s, each a list; a
//! bare value where a list is required (`urn:...:Approved` without `('...')`) is refused with
//! `XDSRegistryError`, as the NIST toolkit does. Several slots of the same name are kept apart:
//! for the parameters with AND/OR semantics (§3.18.4.1.2.3.7.1: event codes, confidentiality
//! codes, folder codes) values within one slot are ORed and slots are ANDed.
//!
//! A single-valued parameter given more than one value (several `rim:Value`s, several slots, or
//! a list of more than one) is `XDSStoredQueryParamNumber`. A missing required parameter is
//! `XDSStoredQueryMissingParam` (see [`super`] for that choice). Parameters the query does not
//! define are ignored (ebRS 3.0 §6.3.2.1).

use std::collections::BTreeMap;

use chrono::NaiveDateTime;

use crate::ebxml;
use crate::xds::dtm::DtmTime;
use crate::xds::error_code::ErrorCode;
use crate::xds::patient_id::PatientId;
use crate::xds::problem::{Problem, Severity};
use crate::xds::registry::patient_key;

/// One parsed `rim:Value`: a scalar or a parenthesised list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    Scalar(Scalar),
    List(Vec<Scalar>),
}

/// A string (was quoted) or a number (was bare).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scalar {
    Text(String),
    Number(String),
}

impl Scalar {
    pub fn as_str(&self) -> &str {
        match self {
            Scalar::Text(s) | Scalar::Number(s) => s,
        }
    }
}

/// Why a `rim:Value` is not an ebRS value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError(pub String);

/// Parses one `rim:Value` text.
pub fn parse_value(text: &str) -> Result<Value, SyntaxError> {
    let t = text.trim();
    if let Some(inner) = t.strip_prefix('(') {
        let Some(inner) = inner.strip_suffix(')') else {
            return Err(SyntaxError(format!(
                "'{t}' opens a list with '(' but does not close it with ')'"
            )));
        };
        let mut items = Vec::new();
        let mut rest = inner.trim();
        if rest.is_empty() {
            return Err(SyntaxError("an empty list '()' has no value".into()));
        }
        loop {
            let (item, after) = scalar_prefix(rest)?;
            items.push(item);
            let after = after.trim_start();
            if after.is_empty() {
                break;
            }
            let Some(next) = after.strip_prefix(',') else {
                return Err(SyntaxError(format!(
                    "in list '{t}': expected ',' or ')' before '{after}'"
                )));
            };
            rest = next.trim_start();
        }
        return Ok(Value::List(items));
    }
    let (item, after) = scalar_prefix(t)?;
    if !after.trim().is_empty() {
        return Err(SyntaxError(format!(
            "'{t}' is not one value: a list must be written ('a','b')"
        )));
    }
    Ok(Value::Scalar(item))
}

/// The scalar at the start of `s` and what follows it.
fn scalar_prefix(s: &str) -> Result<(Scalar, &str), SyntaxError> {
    if let Some(body) = s.strip_prefix('\'') {
        let mut out = String::new();
        let mut chars = body.char_indices().peekable();
        while let Some((i, c)) = chars.next() {
            if c == '\'' {
                if chars.peek().map(|(_, n)| *n) == Some('\'') {
                    out.push('\'');
                    chars.next();
                    continue;
                }
                return Ok((Scalar::Text(out), &body[i + 1..]));
            }
            out.push(c);
        }
        return Err(SyntaxError(format!("'{s}' has no closing quote")));
    }
    let end = s.find([',', ')', ' ']).unwrap_or(s.len());
    let num = &s[..end];
    let is_number = !num.is_empty()
        && num
            .trim_start_matches(['-', '+'])
            .chars()
            .all(|c| c.is_ascii_digit() || c == '.')
        && num.chars().any(|c| c.is_ascii_digit());
    if is_number {
        Ok((Scalar::Number(num.to_owned()), &s[end..]))
    } else {
        Err(SyntaxError(format!(
            "'{s}' is neither a string in single quotes, a number, nor a list in parentheses"
        )))
    }
}

/// The parameters of one stored query: slot name → the values of each slot of that name.
#[derive(Debug, Clone, Default)]
pub struct Params {
    slots: BTreeMap<String, Vec<Vec<String>>>,
}

/// The context every parameter problem names.
fn problem(code: ErrorCode, rule: &'static str, name: &str, message: String) -> Problem {
    Problem {
        code,
        severity: Severity::Error,
        rule,
        context: format!("parameter {name}"),
        message,
    }
}

pub fn missing(name: &str) -> Problem {
    problem(
        ErrorCode::XDSStoredQueryMissingParam,
        "StoredQuery.parameter.required",
        name,
        "this stored query requires the parameter".into(),
    )
}

fn syntax(name: &str, e: SyntaxError) -> Problem {
    problem(
        ErrorCode::XDSRegistryError,
        "StoredQuery.parameter.syntax",
        name,
        e.0,
    )
}

fn invalid(name: &str, message: String) -> Problem {
    problem(
        ErrorCode::XDSRegistryError,
        "StoredQuery.parameter.value",
        name,
        message,
    )
}

pub fn param_number(name: &str, message: String) -> Problem {
    problem(
        ErrorCode::XDSStoredQueryParamNumber,
        "StoredQuery.parameter.number",
        name,
        message,
    )
}

impl Params {
    pub fn from_slots(slots: &[ebxml::Slot]) -> Params {
        let mut out: BTreeMap<String, Vec<Vec<String>>> = BTreeMap::new();
        for s in slots {
            out.entry(s.name.trim().to_owned())
                .or_default()
                .push(s.values.clone());
        }
        Params { slots: out }
    }

    pub fn has(&self, name: &str) -> bool {
        self.slots.contains_key(name)
    }

    /// A single-valued parameter: `None` when absent.
    pub fn single(&self, name: &str) -> Result<Option<Scalar>, Problem> {
        let Some(slots) = self.slots.get(name) else {
            return Ok(None);
        };
        if slots.len() > 1 {
            return Err(param_number(
                name,
                format!(
                    "the parameter takes one value but is given in {} slots",
                    slots.len()
                ),
            ));
        }
        let values = slots.first().map(Vec::as_slice).unwrap_or_default();
        match values {
            [] => Err(invalid(name, "the slot has no value".into())),
            [one] => match parse_value(one).map_err(|e| syntax(name, e))? {
                Value::Scalar(s) => Ok(Some(s)),
                Value::List(mut items) if items.len() == 1 => Ok(items.pop()),
                Value::List(items) => Err(param_number(
                    name,
                    format!(
                        "the parameter takes one value but is given a list of {}",
                        items.len()
                    ),
                )),
            },
            many => Err(param_number(
                name,
                format!(
                    "the parameter takes one value but is given {} values",
                    many.len()
                ),
            )),
        }
    }

    pub fn required_single(&self, name: &str) -> Result<Scalar, Problem> {
        self.single(name)?.ok_or_else(|| missing(name))
    }

    /// A multi-valued parameter: one list of values per slot (ANDed), the values of each slot
    /// ORed. Empty when absent.
    pub fn multi(&self, name: &str) -> Result<Vec<Vec<String>>, Problem> {
        let Some(slots) = self.slots.get(name) else {
            return Ok(Vec::new());
        };
        let mut out = Vec::new();
        for values in slots {
            let mut ored = Vec::new();
            for v in values {
                match parse_value(v).map_err(|e| syntax(name, e))? {
                    Value::List(items) => {
                        ored.extend(items.into_iter().map(|s| s.as_str().to_owned()))
                    }
                    Value::Scalar(_) => {
                        return Err(syntax(
                            name,
                            SyntaxError(format!(
                                "'{}' must be written as a list in parentheses: ('value') or ('a','b')",
                                v.trim()
                            )),
                        ));
                    }
                }
            }
            if ored.is_empty() {
                return Err(invalid(name, "the slot has no value".into()));
            }
            out.push(ored);
        }
        Ok(out)
    }

    /// A multi-valued parameter whose slots are merged into one ORed list (parameters without
    /// AND semantics, e.g. statuses, ids).
    pub fn multi_flat(&self, name: &str) -> Result<Vec<String>, Problem> {
        Ok(self.multi(name)?.into_iter().flatten().collect())
    }

    pub fn required_multi_flat(&self, name: &str) -> Result<Vec<String>, Problem> {
        if !self.has(name) {
            return Err(missing(name));
        }
        self.multi_flat(name)
    }

    /// A coded multi-valued parameter (`code^^^codingScheme`, ITI TF-2a §3.18.4.1.2.3.5), one
    /// list per slot, normalised to the stored form ([`code_key`]).
    pub fn codes(&self, name: &str) -> Result<Vec<Vec<String>>, Problem> {
        Ok(self
            .multi(name)?
            .into_iter()
            .map(|slot| slot.iter().map(|c| code_key(c)).collect())
            .collect())
    }

    /// A patient id parameter, as stored (`id^^^&OID&ISO`).
    pub fn patient(&self, name: &str) -> Result<String, Problem> {
        let v = self.required_single(name)?;
        let p = PatientId::parse(v.as_str())
            .map_err(|e| invalid(name, format!("not an HL7 CX patient id: {e}")))?;
        Ok(patient_key(&p))
    }

    /// A time parameter (HL7 DTM, UTC): the first instant it names.
    pub fn time(&self, name: &str) -> Result<Option<NaiveDateTime>, Problem> {
        let Some(v) = self.single(name)? else {
            return Ok(None);
        };
        DtmTime::parse(v.as_str())
            .map(|t| Some(t.start()))
            .map_err(|e| invalid(name, e.to_string()))
    }
}

/// A code parameter value in the stored form `code^^^scheme`. Tolerated: `code^^scheme` (two
/// carets, as some senders and the NIST toolkit's own sample write it) reads as `code^^^scheme`;
/// anything else is compared as given.
pub fn code_key(value: &str) -> String {
    let v = value.trim();
    let comps: Vec<&str> = v.split('^').collect();
    match comps.as_slice() {
        [code, "", scheme] if !code.is_empty() && !scheme.is_empty() => {
            format!("{code}^^^{scheme}")
        }
        _ => v.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(slots: &[(&str, &[&str])]) -> Params {
        let slots: Vec<ebxml::Slot> = slots
            .iter()
            .map(|(n, v)| ebxml::Slot::new(*n, v.iter().copied()))
            .collect();
        Params::from_slots(&slots)
    }

    #[test]
    fn values() {
        assert_eq!(
            parse_value("'a^^^&1.2&ISO'"),
            Ok(Value::Scalar(Scalar::Text("a^^^&1.2&ISO".into())))
        );
        assert_eq!(
            parse_value(" 2004 "),
            Ok(Value::Scalar(Scalar::Number("2004".into())))
        );
        assert_eq!(
            parse_value("('a', 'b''c')"),
            Ok(Value::List(vec![
                Scalar::Text("a".into()),
                Scalar::Text("b'c".into())
            ]))
        );
        assert_eq!(
            parse_value("(1,2)"),
            Ok(Value::List(vec![
                Scalar::Number("1".into()),
                Scalar::Number("2".into())
            ]))
        );
        for bad in [
            "urn:oasis:names:tc:ebxml-regrep:StatusType:Approved",
            "('a'",
            "('a' 'b')",
            "'open",
            "()",
            "'a' 'b'",
        ] {
            assert!(parse_value(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn code_keys() {
        assert_eq!(code_key("a^^^1.2"), "a^^^1.2");
        assert_eq!(code_key("value^^scheme"), "value^^^scheme");
        assert_eq!(code_key("plain"), "plain");
    }

    #[test]
    fn single_and_multi() {
        let ps = p(&[
            ("$A", &["'x'"]),
            ("$B", &["'x'", "'y'"]),
            ("$C", &["('x','y')"]),
            ("$L", &["('a','b')", "('c')"]),
            ("$L", &["('d')"]),
            ("$Bare", &["urn:x"]),
        ]);
        assert_eq!(ps.single("$A").unwrap().unwrap().as_str(), "x");
        assert_eq!(ps.single("$none").unwrap(), None);
        assert_eq!(
            ps.single("$B").unwrap_err().code,
            ErrorCode::XDSStoredQueryParamNumber
        );
        assert_eq!(
            ps.single("$C").unwrap_err().code,
            ErrorCode::XDSStoredQueryParamNumber
        );
        assert_eq!(
            ps.multi("$L").unwrap(),
            vec![vec!["a", "b", "c"], vec!["d"]]
        );
        let e = ps.multi("$Bare").unwrap_err();
        assert_eq!(e.code, ErrorCode::XDSRegistryError);
        assert!(e.context.contains("$Bare"));
        assert_eq!(
            ps.required_multi_flat("$M").unwrap_err().code,
            ErrorCode::XDSStoredQueryMissingParam
        );
        let two = p(&[("$A", &["'x'"]), ("$A", &["'y'"])]);
        assert_eq!(
            two.single("$A").unwrap_err().code,
            ErrorCode::XDSStoredQueryParamNumber
        );
    }
}
