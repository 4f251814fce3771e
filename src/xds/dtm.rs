//! HL7 v2 DTM as XDS restricts it (ITI TF-3 §4.2.3.1.7, Table 4.2.3.1.7-2 "DTM"):
//! `YYYY[MM[DD[hh[mm[ss]]]]]`, in UTC, no fractional seconds, no time-zone offset. The precision
//! is part of the value: `2005` names the whole year, an interval [`DtmTime::start`] ..
//! [`DtmTime::end_exclusive`], which the time-range parameters of stored queries (ITI TF-2a
//! §3.18.4.1.2.3) compare against.

use std::fmt;

use chrono::{Datelike, NaiveDate, NaiveDateTime, NaiveTime, Timelike};

/// How many digits a DTM value has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Precision {
    Year,
    Month,
    Day,
    Hour,
    Minute,
    Second,
}

impl Precision {
    fn digits(self) -> usize {
        match self {
            Precision::Year => 4,
            Precision::Month => 6,
            Precision::Day => 8,
            Precision::Hour => 10,
            Precision::Minute => 12,
            Precision::Second => 14,
        }
    }
}

/// A DTM value: the first instant of the interval it names, and its precision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DtmTime {
    start: NaiveDateTime,
    precision: Precision,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DtmError {
    #[error(
        "'{0}' is not a DTM: expected 4, 6, 8, 10, 12 or 14 digits (YYYY[MM[DD[hh[mm[ss]]]]], UTC, no offset)"
    )]
    Shape(String),
    #[error("'{0}' is not a DTM: no such date or time")]
    OutOfRange(String),
}

impl DtmTime {
    pub fn parse(s: &str) -> Result<DtmTime, DtmError> {
        let t = s.trim();
        let precision = match t.len() {
            4 => Precision::Year,
            6 => Precision::Month,
            8 => Precision::Day,
            10 => Precision::Hour,
            12 => Precision::Minute,
            14 => Precision::Second,
            _ => return Err(DtmError::Shape(t.to_string())),
        };
        if !t.bytes().all(|b| b.is_ascii_digit()) {
            return Err(DtmError::Shape(t.to_string()));
        }
        let num = |from: usize, to: usize, default: u32| -> u32 {
            t.get(from..to)
                .and_then(|d| d.parse().ok())
                .unwrap_or(default)
        };
        let year = i32::try_from(num(0, 4, 0)).map_err(|_| DtmError::OutOfRange(t.to_string()))?;
        let date = NaiveDate::from_ymd_opt(year, num(4, 6, 1), num(6, 8, 1));
        let time = NaiveTime::from_hms_opt(num(8, 10, 0), num(10, 12, 0), num(12, 14, 0));
        match (date, time) {
            (Some(d), Some(tm)) => Ok(DtmTime {
                start: NaiveDateTime::new(d, tm),
                precision,
            }),
            _ => Err(DtmError::OutOfRange(t.to_string())),
        }
    }

    pub fn precision(&self) -> Precision {
        self.precision
    }

    /// The first instant of the interval (UTC).
    pub fn start(&self) -> NaiveDateTime {
        self.start
    }

    /// The first instant after the interval (UTC): `2005` → 2006-01-01T00:00:00.
    pub fn end_exclusive(&self) -> NaiveDateTime {
        let s = self.start;
        let next = match self.precision {
            Precision::Year => {
                NaiveDate::from_ymd_opt(s.year() + 1, 1, 1).map(|d| d.and_time(NaiveTime::MIN))
            }
            Precision::Month => {
                let (y, m) = if s.month() == 12 {
                    (s.year() + 1, 1)
                } else {
                    (s.year(), s.month() + 1)
                };
                NaiveDate::from_ymd_opt(y, m, 1).map(|d| d.and_time(NaiveTime::MIN))
            }
            Precision::Day => s.checked_add_signed(chrono::Duration::days(1)),
            Precision::Hour => s.checked_add_signed(chrono::Duration::hours(1)),
            Precision::Minute => s.checked_add_signed(chrono::Duration::minutes(1)),
            Precision::Second => s.checked_add_signed(chrono::Duration::seconds(1)),
        };
        next.unwrap_or(NaiveDateTime::MAX)
    }
}

impl fmt::Display for DtmTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.start;
        let full = format!(
            "{:04}{:02}{:02}{:02}{:02}{:02}",
            s.year(),
            s.month(),
            s.day(),
            s.hour(),
            s.minute(),
            s.second()
        );
        f.write_str(&full[..self.precision.digits()])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dt(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S").expect("test datetime")
    }

    #[test]
    fn every_precision_parses_and_prints_back() {
        for s in [
            "2005",
            "200512",
            "20051224",
            "2005122408",
            "200512240800",
            "20051224080059",
        ] {
            assert_eq!(DtmTime::parse(s).expect(s).to_string(), s);
        }
        assert_eq!(
            DtmTime::parse("20051224").expect("ok").precision(),
            Precision::Day
        );
    }

    #[test]
    fn interval_bounds() {
        let y = DtmTime::parse("2005").expect("ok");
        assert_eq!(y.start(), dt("2005-01-01 00:00:00"));
        assert_eq!(y.end_exclusive(), dt("2006-01-01 00:00:00"));
        let m = DtmTime::parse("200512").expect("ok");
        assert_eq!(m.end_exclusive(), dt("2006-01-01 00:00:00"));
        let d = DtmTime::parse("20040229").expect("leap day");
        assert_eq!(d.end_exclusive(), dt("2004-03-01 00:00:00"));
        let s = DtmTime::parse("20051231235959").expect("ok");
        assert_eq!(s.end_exclusive(), dt("2006-01-01 00:00:00"));
    }

    #[test]
    fn refused_shapes_and_dates() {
        for s in [
            "",
            "05",
            "20051",
            "2005-12-24",
            "20051224080000.123",
            "20051224080000+0100",
            "200a",
        ] {
            assert!(matches!(DtmTime::parse(s), Err(DtmError::Shape(_))), "{s}");
        }
        for s in [
            "200513",
            "20050230",
            "2005122425",
            "200512242460",
            "20051224235960",
        ] {
            assert!(
                matches!(DtmTime::parse(s), Err(DtmError::OutOfRange(_))),
                "{s}"
            );
        }
    }
}
