//! Stream framing for syslog over TCP/TLS: RFC 5425 §4.3 octet counting (`MSG-LEN SP SYSLOG-MSG`),
//! with RFC 6587 §3.4.2 non-transparent framing (a frame ended by LF, CRLF or NUL) tolerated from
//! legacy senders. The framing is detected per frame: a frame that starts with a digit is
//! octet-counted, anything else runs up to the next LF or NUL.
//!
//! The decoder is incremental: feed it whatever a read returned (a frame split at any byte, several
//! frames in one read) and pull frames out. It never gives up on a stream: a frame it cannot accept
//! (oversize, malformed MSG-LEN, cut short by the end of the stream) is consumed and reported as an
//! error item that carries the bytes it kept, so the caller can still store them, and the next frame
//! is decoded normally.
//!
//! Invariant: memory held per stream is bounded by `max_frame_size` plus one read.
//! Invariant: every byte of the stream is either in exactly one frame or error item, or is a
//! separator (LF, CR or NUL between frames), or is the MSG-LEN of a frame, or is beyond the
//! `max_frame_size` head of an oversize frame (counted in the error's `len`).

use bytes::{Buf, Bytes, BytesMut};

/// Limits of the stream decoder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameLimits {
    /// Largest SYSLOG-MSG accepted, in bytes (RFC 5425 §4.3.1: receivers SHOULD accept 8192 and
    /// MAY accept more). A larger frame is skipped and reported as [`FrameError::Oversize`].
    pub max_frame_size: usize,
    /// Most digits accepted in MSG-LEN before the frame is declared malformed.
    pub max_len_digits: usize,
}

impl Default for FrameLimits {
    fn default() -> Self {
        FrameLimits {
            max_frame_size: 256 * 1024,
            max_len_digits: 9,
        }
    }
}

/// How a frame was delimited on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// RFC 5425 / RFC 6587 §3.4.1 `MSG-LEN SP SYSLOG-MSG`.
    OctetCounting,
    /// RFC 6587 §3.4.2: ended by LF (an optional CR before it is dropped) or NUL.
    NonTransparent,
    /// RFC 5426: one UDP datagram.
    Datagram,
}

/// One SYSLOG-MSG cut out of the stream, without MSG-LEN, SP or trailer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// The SYSLOG-MSG bytes exactly as received.
    pub raw: Bytes,
    pub framing: Framing,
    /// Stream offset of the frame's first byte (of MSG-LEN for octet-counted frames).
    pub offset: u64,
}

/// What is wrong with a MSG-LEN.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LengthProblem {
    /// MSG-LEN = NONZERO-DIGIT *DIGIT.
    LeadingZero,
    /// A byte other than a digit or SP inside MSG-LEN.
    NotADigit { found: u8 },
    /// More than `max_len_digits` digits.
    TooManyDigits { max: usize },
}

impl std::fmt::Display for LengthProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LengthProblem::LeadingZero => f.write_str("it starts with 0"),
            LengthProblem::NotADigit { found } => write!(f, "byte 0x{found:02x} is not a digit"),
            LengthProblem::TooManyDigits { max } => write!(f, "it has more than {max} digits"),
        }
    }
}

/// A frame the decoder consumed but could not deliver as a [`Frame`]. Each carries the bytes kept
/// (`raw`), so that nothing received is silently lost.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    #[error(
        "frame at byte {offset}: {len} bytes exceed the limit of {limit} ({framing:?} framing); skipped, the first {} bytes kept",
        head.len()
    )]
    Oversize {
        offset: u64,
        limit: usize,
        /// The declared MSG-LEN, or the length of the over-long line up to its LF or NUL (a CR
        /// before it included), or up to the end of the stream.
        len: u64,
        framing: Framing,
        /// The first `limit` bytes of the frame.
        head: Bytes,
    },
    #[error(
        "frame at byte {offset}: bad MSG-LEN: {problem} (at byte {at}); read up to the next LF instead"
    )]
    BadLength {
        offset: u64,
        /// Stream offset of the offending byte.
        at: u64,
        problem: LengthProblem,
        /// The line from the frame start (MSG-LEN included) up to the next LF or NUL, at most
        /// `max_frame_size` bytes of it.
        raw: Bytes,
    },
    #[error(
        "frame at byte {offset}: the stream ended after {received} of {} bytes",
        declared.map_or_else(|| "an unknown number of".to_owned(), |d| d.to_string())
    )]
    Truncated {
        offset: u64,
        /// MSG-LEN, if it had been read completely.
        declared: Option<u64>,
        /// SYSLOG-MSG bytes received.
        received: u64,
        /// The SYSLOG-MSG bytes received (at most `max_frame_size`), or the incomplete MSG-LEN
        /// when `declared` is `None`.
        raw: Bytes,
    },
}

impl FrameError {
    /// The bytes of the frame that were kept.
    pub fn raw(&self) -> &Bytes {
        match self {
            FrameError::Oversize { head, .. } => head,
            FrameError::BadLength { raw, .. } | FrameError::Truncated { raw, .. } => raw,
        }
    }

    /// Stream offset of the frame's first byte.
    pub fn offset(&self) -> u64 {
        match self {
            FrameError::Oversize { offset, .. }
            | FrameError::BadLength { offset, .. }
            | FrameError::Truncated { offset, .. } => *offset,
        }
    }
}

/// What a skipped line will be reported as.
#[derive(Debug)]
enum LineFault {
    Oversize,
    BadLength { at: u64, problem: LengthProblem },
}

#[derive(Debug)]
enum State {
    /// Between frames, or inside a frame whose bytes are all still in `buf`.
    Boundary,
    /// Skipping the body of an oversize octet-counted frame.
    SkipCounted {
        offset: u64,
        declared: u64,
        remaining: u64,
        head: BytesMut,
    },
    /// Skipping to the next LF or NUL.
    SkipLine {
        offset: u64,
        seen: u64,
        head: BytesMut,
        fault: LineFault,
    },
}

/// The incremental stream decoder. See the module documentation.
#[derive(Debug)]
pub struct FrameDecoder {
    limits: FrameLimits,
    buf: BytesMut,
    /// Stream offset of `buf[0]`.
    consumed: u64,
    /// Bytes of `buf` already searched for a line trailer (non-transparent frame in progress).
    scanned: usize,
    state: State,
}

fn is_trailer(b: u8) -> bool {
    b == b'\n' || b == 0
}

impl FrameDecoder {
    pub fn new(limits: FrameLimits) -> FrameDecoder {
        FrameDecoder {
            limits,
            buf: BytesMut::new(),
            consumed: 0,
            scanned: 0,
            state: State::Boundary,
        }
    }

    pub fn limits(&self) -> FrameLimits {
        self.limits
    }

    /// Appends received bytes. Equivalent to reading into [`Self::buffer_mut`].
    pub fn feed(&mut self, chunk: &[u8]) {
        self.buf.extend_from_slice(chunk);
    }

    /// The receive buffer, for `read_buf` without an intermediate copy. Only append to it.
    pub fn buffer_mut(&mut self) -> &mut BytesMut {
        &mut self.buf
    }

    /// Bytes received and not yet delivered (bounded by `max_frame_size` plus one read).
    pub fn buffered(&self) -> usize {
        self.buf.len()
            + match &self.state {
                State::Boundary => 0,
                State::SkipCounted { head, .. } | State::SkipLine { head, .. } => head.len(),
            }
    }

    /// How many more bytes the frame in progress needs, when that is known (an octet-counted
    /// frame whose MSG-LEN has been read). A reader may reserve that much before its next read.
    pub fn wanted(&self) -> Option<usize> {
        match &self.state {
            State::SkipCounted { remaining, .. } => {
                Some(usize::try_from(*remaining).unwrap_or(usize::MAX))
            }
            State::SkipLine { .. } => None,
            State::Boundary => match self.read_len() {
                Ok(Some((digits, len))) if len <= self.limits.max_frame_size as u64 => {
                    // `len` fits in usize: it is at most max_frame_size.
                    (digits + 1 + len as usize).checked_sub(self.buf.len())
                }
                _ => None,
            },
        }
    }

    /// Stream offset of the next byte to be decoded.
    pub fn position(&self) -> u64 {
        self.consumed
    }

    fn advance(&mut self, n: usize) {
        self.buf.advance(n);
        self.consumed += n as u64;
        self.scanned = 0;
    }

    fn take(&mut self, n: usize) -> Bytes {
        self.consumed += n as u64;
        self.scanned = 0;
        self.buf.split_to(n).freeze()
    }

    /// Reads MSG-LEN at the start of `buf`: `Ok(None)` if more bytes are needed, else the number
    /// of digits and the value. `Err` carries the index of the offending byte.
    fn read_len(&self) -> Result<Option<(usize, u64)>, (usize, LengthProblem)> {
        let max = self.limits.max_len_digits;
        let mut value: u64 = 0;
        for (i, &b) in self.buf.iter().enumerate() {
            if b == b' ' && i > 0 {
                return Ok(Some((i, value)));
            }
            if !b.is_ascii_digit() {
                return Err((i, LengthProblem::NotADigit { found: b }));
            }
            if i == 0 && b == b'0' {
                return Err((0, LengthProblem::LeadingZero));
            }
            if i >= max {
                return Err((i, LengthProblem::TooManyDigits { max }));
            }
            value = value.saturating_mul(10).saturating_add(u64::from(b - b'0'));
        }
        Ok(None)
    }

    /// The next frame or error item from the bytes fed so far; `None` when more bytes are needed.
    pub fn next_frame(&mut self) -> Option<Result<Frame, FrameError>> {
        loop {
            match std::mem::replace(&mut self.state, State::Boundary) {
                State::Boundary => {}
                State::SkipCounted {
                    offset,
                    declared,
                    mut remaining,
                    mut head,
                } => {
                    let n = usize::try_from(remaining)
                        .unwrap_or(usize::MAX)
                        .min(self.buf.len());
                    let keep = n.min(self.limits.max_frame_size.saturating_sub(head.len()));
                    head.extend_from_slice(&self.buf[..keep]);
                    remaining -= n as u64;
                    self.advance(n);
                    if remaining > 0 {
                        self.state = State::SkipCounted {
                            offset,
                            declared,
                            remaining,
                            head,
                        };
                        return None;
                    }
                    return Some(Err(FrameError::Oversize {
                        offset,
                        limit: self.limits.max_frame_size,
                        len: declared,
                        framing: Framing::OctetCounting,
                        head: head.freeze(),
                    }));
                }
                State::SkipLine {
                    offset,
                    mut seen,
                    mut head,
                    fault,
                } => {
                    let end = self.buf.iter().position(|&b| is_trailer(b));
                    let n = end.unwrap_or(self.buf.len());
                    let keep = n.min(self.limits.max_frame_size.saturating_sub(head.len()));
                    head.extend_from_slice(&self.buf[..keep]);
                    seen += n as u64;
                    let Some(end) = end else {
                        self.advance(n);
                        self.state = State::SkipLine {
                            offset,
                            seen,
                            head,
                            fault,
                        };
                        return None;
                    };
                    self.advance(end + 1);
                    return Some(Err(self.skipped_line(offset, seen, head, fault)));
                }
            }

            // At a frame boundary: drop separators, then look at the first byte.
            let skip = self
                .buf
                .iter()
                .position(|&b| !(is_trailer(b) || b == b'\r'))
                .unwrap_or(self.buf.len());
            if skip > 0 {
                self.advance(skip);
            }
            let first = *self.buf.first()?;
            if first.is_ascii_digit() {
                match self.read_len() {
                    Ok(None) => return None,
                    Ok(Some((digits, len))) => {
                        let offset = self.consumed;
                        if len > self.limits.max_frame_size as u64 {
                            self.advance(digits + 1);
                            self.state = State::SkipCounted {
                                offset,
                                declared: len,
                                remaining: len,
                                head: BytesMut::new(),
                            };
                            continue;
                        }
                        // `len` fits in usize: it is at most max_frame_size.
                        let len = len as usize;
                        if self.buf.len() < digits + 1 + len {
                            return None;
                        }
                        self.advance(digits + 1);
                        let raw = self.take(len);
                        return Some(Ok(Frame {
                            raw,
                            framing: Framing::OctetCounting,
                            offset,
                        }));
                    }
                    Err((at, problem)) => {
                        self.scanned = 0;
                        self.state = State::SkipLine {
                            offset: self.consumed,
                            seen: 0,
                            head: BytesMut::new(),
                            fault: LineFault::BadLength {
                                at: self.consumed + at as u64,
                                problem,
                            },
                        };
                        continue;
                    }
                }
            }
            // Non-transparent framing: up to the next LF or NUL.
            let from = self.scanned;
            match self.buf[from..].iter().position(|&b| is_trailer(b)) {
                Some(i) => {
                    let end = from + i;
                    let offset = self.consumed;
                    let line_len = if end > 0 && self.buf[end - 1] == b'\r' {
                        end - 1
                    } else {
                        end
                    };
                    if line_len > self.limits.max_frame_size {
                        let head = Bytes::copy_from_slice(&self.buf[..self.limits.max_frame_size]);
                        self.advance(end + 1);
                        return Some(Err(FrameError::Oversize {
                            offset,
                            limit: self.limits.max_frame_size,
                            len: end as u64,
                            framing: Framing::NonTransparent,
                            head,
                        }));
                    }
                    let raw = self.take(line_len);
                    self.advance(end - line_len + 1);
                    return Some(Ok(Frame {
                        raw,
                        framing: Framing::NonTransparent,
                        offset,
                    }));
                }
                // Over the limit even if the next byte is LF (a CR before it does not count).
                None if self.buf.len() > self.limits.max_frame_size + 1
                    || (self.buf.len() == self.limits.max_frame_size + 1
                        && self.buf.last() != Some(&b'\r')) =>
                {
                    self.state = State::SkipLine {
                        offset: self.consumed,
                        seen: 0,
                        head: BytesMut::new(),
                        fault: LineFault::Oversize,
                    };
                    continue;
                }
                None => {
                    self.scanned = self.buf.len();
                    return None;
                }
            }
        }
    }

    fn skipped_line(&self, offset: u64, seen: u64, head: BytesMut, fault: LineFault) -> FrameError {
        let mut head = head.freeze();
        match fault {
            LineFault::Oversize => FrameError::Oversize {
                offset,
                limit: self.limits.max_frame_size,
                len: seen,
                framing: Framing::NonTransparent,
                head,
            },
            LineFault::BadLength { at, problem } => {
                if head.last() == Some(&b'\r') {
                    head.truncate(head.len() - 1);
                }
                FrameError::BadLength {
                    offset,
                    at,
                    problem,
                    raw: head,
                }
            }
        }
    }

    /// Call at the end of the stream, after [`Self::next_frame`] returned `None`: what is left is
    /// a last non-transparent frame without trailer (delivered as a frame: legacy senders may
    /// close without one) or an incomplete frame (an error item). The decoder is then empty.
    pub fn finish(&mut self) -> Option<Result<Frame, FrameError>> {
        if let Some(item) = self.next_frame() {
            return Some(item);
        }
        match std::mem::replace(&mut self.state, State::Boundary) {
            State::SkipCounted {
                offset,
                declared,
                remaining,
                head,
            } => Some(Err(FrameError::Truncated {
                offset,
                declared: Some(declared),
                received: declared - remaining,
                raw: head.freeze(),
            })),
            State::SkipLine {
                offset,
                seen,
                head,
                fault,
            } => Some(Err(self.skipped_line(offset, seen, head, fault))),
            State::Boundary if self.buf.is_empty() => None,
            State::Boundary => {
                let offset = self.consumed;
                let first = self.buf[0];
                let len = self.buf.len();
                if first.is_ascii_digit() {
                    // next_frame() returned None: MSG-LEN is incomplete or the body is.
                    let (declared, raw) = match self.read_len() {
                        Ok(Some((digits, declared))) => {
                            self.advance(digits + 1);
                            let rest = self.buf.len();
                            (Some(declared), self.take(rest))
                        }
                        _ => (None, self.take(len)),
                    };
                    let received = if declared.is_some() {
                        raw.len() as u64
                    } else {
                        0
                    };
                    return Some(Err(FrameError::Truncated {
                        offset,
                        declared,
                        received,
                        raw,
                    }));
                }
                let keep = if self.buf[len - 1] == b'\r' {
                    len - 1
                } else {
                    len
                };
                let raw = self.take(keep);
                self.advance(len - keep);
                Some(Ok(Frame {
                    raw,
                    framing: Framing::NonTransparent,
                    offset,
                }))
            }
        }
    }
}
