//! Canonical, versioned leaf bytes: what one ledger entry commits to.
//!
//! Spec: hiehub DESIGN.md, "Ledger format". A leaf names the entry kind, the format version, the
//! envelope of the payload (when and how it arrived, from whom) and the SHA3-256 of the payload: the
//! raw bytes exactly as received. The payload itself is stored beside the leaf, so it can be erased
//! under a recorded [`EntryKind::Erasure`] entry while every leaf, chain and tree hash still holds.
//! The Merkle leaf hash is [`super::hash::leaf_hash`] of these bytes.
//!
//! # Format version 1, byte by byte
//!
//! All integers are big-endian. Optional fields are present exactly when their flag bit is set.
//!
//! | offset | size | field |
//! | --- | --- | --- |
//! | 0 | 3 | magic `HHL` (`48 48 4C`) |
//! | 3 | 1 | format version: `01` |
//! | 4 | 2 | entry kind code, u16 ([`EntryKind::code`]) |
//! | 6 | 8 | receive time, i64 microseconds since 1970-01-01T00:00:00Z (two's complement) |
//! | 14 | 1 | transport code, u8 ([`Transport::code`]) |
//! | 15 | 1 | presence flags: bit 0 (`01`) sender fingerprint, bit 1 (`02`) connection id, bit 2 (`04`) frame sequence; bits 3–7 are zero |
//! | 16 | 32 | if bit 0: SHA-256 fingerprint of the sender's certificate (DER) |
//! | … | 4 | if bit 1: connection id length `L`, u32 |
//! | … | `L` | if bit 1: connection id, UTF-8 |
//! | … | 8 | if bit 2: frame sequence number on the connection, u64 |
//! | … | 32 | SHA3-256 of the payload |
//!
//! Nothing follows. The encoding is deterministic and decoding is strict (unknown codes, set
//! reserved bits, invalid UTF-8 and trailing bytes are refused), so every accepted byte string is
//! the encoding of exactly one [`Leaf`]: `encode(decode(b)) == b`. Lengths are u32: no 16-bit limit.
//! A later format version gets a new version byte and its own layout; version 1 stays frozen.

use thiserror::Error;

use super::hash::{Hash, leaf_hash, payload_hash};

/// The first three bytes of every leaf.
pub const MAGIC: [u8; 3] = *b"HHL";

const FLAG_SENDER: u8 = 0x01;
const FLAG_CONNECTION: u8 = 0x02;
const FLAG_FRAME_SEQ: u8 = 0x04;
const KNOWN_FLAGS: u8 = FLAG_SENDER | FLAG_CONNECTION | FLAG_FRAME_SEQ;

/// The leaf format version.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FormatVersion {
    /// The layout documented in this module.
    V1,
}

impl FormatVersion {
    /// The version byte (offset 3).
    pub const fn code(self) -> u8 {
        match self {
            Self::V1 => 1,
        }
    }

    /// The version with this byte, if known.
    pub const fn from_code(code: u8) -> Option<Self> {
        match code {
            1 => Some(Self::V1),
            _ => None,
        }
    }
}

/// What a ledger entry records. The numeric codes are part of the leaf format and never change.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EntryKind {
    /// An audit message received from another node (ITI-20), payload = the message as received.
    AuditReceived,
    /// An audit message written by hiehub itself.
    AuditEmitted,
    /// A document registered (payload carries its SHA3-256 and XDS SHA-1).
    DocumentRegistered,
    /// A document replaced by a new version.
    DocumentReplaced,
    /// A document deprecated.
    DocumentDeprecated,
    /// A peer hub's signed checkpoint, appended when witnessing it.
    PeerCheckpoint,
    /// A cosignature of one of our checkpoints, collected from a peer.
    Cosignature,
    /// A consent or policy event.
    ConsentEvent,
    /// The erasure of an earlier entry's payload: who, what, on which legal basis.
    Erasure,
    /// A signing key introduced or retired.
    KeyTransition,
    /// Two inconsistent checkpoints of one log: evidence of a fork.
    EquivocationEvidence,
}

impl EntryKind {
    /// Every kind, in code order.
    pub const ALL: [Self; 11] = [
        Self::AuditReceived,
        Self::AuditEmitted,
        Self::DocumentRegistered,
        Self::DocumentReplaced,
        Self::DocumentDeprecated,
        Self::PeerCheckpoint,
        Self::Cosignature,
        Self::ConsentEvent,
        Self::Erasure,
        Self::KeyTransition,
        Self::EquivocationEvidence,
    ];

    /// The stable code (offset 4). Code 0 is never used.
    pub const fn code(self) -> u16 {
        match self {
            Self::AuditReceived => 1,
            Self::AuditEmitted => 2,
            Self::DocumentRegistered => 3,
            Self::DocumentReplaced => 4,
            Self::DocumentDeprecated => 5,
            Self::PeerCheckpoint => 6,
            Self::Cosignature => 7,
            Self::ConsentEvent => 8,
            Self::Erasure => 9,
            Self::KeyTransition => 10,
            Self::EquivocationEvidence => 11,
        }
    }

    /// The kind with this code, if known.
    pub fn from_code(code: u16) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.code() == code)
    }
}

/// How the payload reached hiehub. The numeric codes are part of the leaf format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Transport {
    /// Syslog over TLS (RFC 5425).
    Tls,
    /// Syslog over UDP (RFC 5426).
    Udp,
    /// Written by hiehub itself.
    Internal,
    /// HTTP over TLS (SOAP, DICOMweb, JSON API).
    Https,
    /// Plain HTTP (loopback development profile).
    Http,
}

impl Transport {
    /// Every transport, in code order.
    pub const ALL: [Self; 5] = [
        Self::Tls,
        Self::Udp,
        Self::Internal,
        Self::Https,
        Self::Http,
    ];

    /// The stable code (offset 14). Code 0 is never used.
    pub const fn code(self) -> u8 {
        match self {
            Self::Tls => 1,
            Self::Udp => 2,
            Self::Internal => 3,
            Self::Https => 4,
            Self::Http => 5,
        }
    }

    /// The transport with this code, if known.
    pub fn from_code(code: u8) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.code() == code)
    }
}

/// When and how a payload arrived.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Envelope {
    /// Receive time, microseconds since the Unix epoch (UTC).
    pub received_at_micros: i64,
    /// The transport it came over.
    pub transport: Transport,
    /// SHA-256 of the sender's TLS client certificate (DER), when there was one.
    pub sender_fingerprint: Option<[u8; 32]>,
    /// The connection it came over, when there was one.
    pub connection_id: Option<String>,
    /// Its frame number on that connection, when framed.
    pub frame_seq: Option<u64>,
}

/// One ledger entry's committed content.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Leaf {
    /// What the entry records.
    pub kind: EntryKind,
    /// The leaf format version.
    pub version: FormatVersion,
    /// When and how the payload arrived.
    pub envelope: Envelope,
    /// SHA3-256 of the payload bytes exactly as received.
    pub payload_hash: Hash,
}

/// Why leaf bytes could not be encoded or decoded. Decoding errors name the byte offset.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum LeafError {
    /// The input ends inside a field.
    #[error("leaf truncated at offset {offset}: {field} needs {needed} bytes, {available} left")]
    Truncated {
        offset: usize,
        field: &'static str,
        needed: u64,
        available: usize,
    },
    /// The first three bytes are not `HHL`.
    #[error("not a ledger leaf: magic at offset 0 is {}, expected 48484c", hex::encode(.found))]
    BadMagic { found: [u8; 3] },
    /// An unknown format version byte.
    #[error("unknown leaf format version {version} at offset {offset}")]
    UnknownVersion { offset: usize, version: u8 },
    /// An unknown entry kind code.
    #[error("unknown entry kind code {code} at offset {offset}")]
    UnknownKind { offset: usize, code: u16 },
    /// An unknown transport code.
    #[error("unknown transport code {code} at offset {offset}")]
    UnknownTransport { offset: usize, code: u8 },
    /// Presence flag bits that no field uses.
    #[error("reserved presence flag bits set at offset {offset}: {flags:#04x}")]
    ReservedFlags { offset: usize, flags: u8 },
    /// A text field that is not UTF-8.
    #[error("{field} at offset {offset} is not valid UTF-8")]
    InvalidUtf8 { offset: usize, field: &'static str },
    /// Bytes after the payload hash.
    #[error("{count} unexpected bytes after the leaf, from offset {offset}")]
    TrailingBytes { offset: usize, count: usize },
    /// A connection id longer than a u32 length can say (encoding only).
    #[error("connection id of {len} bytes exceeds the u32 length field")]
    ConnectionIdTooLong { len: usize },
}

impl Leaf {
    /// A version-1 leaf for `payload`, which is hashed here.
    pub fn new(kind: EntryKind, envelope: Envelope, payload: &[u8]) -> Self {
        Self {
            kind,
            version: FormatVersion::V1,
            envelope,
            payload_hash: payload_hash(payload),
        }
    }

    /// The canonical bytes of the leaf, in the layout of its version.
    pub fn encode(&self) -> Result<Vec<u8>, LeafError> {
        match self.version {
            FormatVersion::V1 => self.encode_v1(),
        }
    }

    /// The RFC 9162 leaf hash of [`Leaf::encode`]: `SHA3-256(0x00 ‖ bytes)`.
    pub fn leaf_hash(&self) -> Result<Hash, LeafError> {
        Ok(leaf_hash(&self.encode()?))
    }

    fn encode_v1(&self) -> Result<Vec<u8>, LeafError> {
        let env = &self.envelope;
        let connection_len = match &env.connection_id {
            Some(id) => Some(
                u32::try_from(id.len())
                    .map_err(|_| LeafError::ConnectionIdTooLong { len: id.len() })?,
            ),
            None => None,
        };
        let mut out = Vec::with_capacity(16 + 32 + 4 + 8 + 32);
        out.extend_from_slice(&MAGIC);
        out.push(self.version.code());
        out.extend_from_slice(&self.kind.code().to_be_bytes());
        out.extend_from_slice(&env.received_at_micros.to_be_bytes());
        out.push(env.transport.code());
        out.push(presence_flags(env));
        if let Some(fingerprint) = &env.sender_fingerprint {
            out.extend_from_slice(fingerprint);
        }
        if let (Some(id), Some(len)) = (&env.connection_id, connection_len) {
            out.extend_from_slice(&len.to_be_bytes());
            out.extend_from_slice(id.as_bytes());
        }
        if let Some(seq) = env.frame_seq {
            out.extend_from_slice(&seq.to_be_bytes());
        }
        out.extend_from_slice(&self.payload_hash);
        Ok(out)
    }

    /// Parses canonical leaf bytes; refuses anything [`Leaf::encode`] would not have produced.
    pub fn decode(bytes: &[u8]) -> Result<Self, LeafError> {
        let mut r = Reader { bytes, offset: 0 };
        let found: [u8; 3] = r.array("magic")?;
        if found != MAGIC {
            return Err(LeafError::BadMagic { found });
        }
        let offset = r.offset;
        let version = r.u8("format version")?;
        match FormatVersion::from_code(version) {
            Some(FormatVersion::V1) => decode_v1(r),
            None => Err(LeafError::UnknownVersion { offset, version }),
        }
    }
}

fn presence_flags(env: &Envelope) -> u8 {
    let mut flags = 0;
    if env.sender_fingerprint.is_some() {
        flags |= FLAG_SENDER;
    }
    if env.connection_id.is_some() {
        flags |= FLAG_CONNECTION;
    }
    if env.frame_seq.is_some() {
        flags |= FLAG_FRAME_SEQ;
    }
    flags
}

fn decode_v1(mut r: Reader<'_>) -> Result<Leaf, LeafError> {
    let offset = r.offset;
    let code = u16::from_be_bytes(r.array("entry kind")?);
    let kind = EntryKind::from_code(code).ok_or(LeafError::UnknownKind { offset, code })?;
    let received_at_micros = i64::from_be_bytes(r.array("receive time")?);
    let offset = r.offset;
    let code = r.u8("transport")?;
    let transport =
        Transport::from_code(code).ok_or(LeafError::UnknownTransport { offset, code })?;
    let offset = r.offset;
    let flags = r.u8("presence flags")?;
    if flags & !KNOWN_FLAGS != 0 {
        return Err(LeafError::ReservedFlags { offset, flags });
    }
    let sender_fingerprint = match flags & FLAG_SENDER {
        0 => None,
        _ => Some(r.array("sender fingerprint")?),
    };
    let connection_id = match flags & FLAG_CONNECTION {
        0 => None,
        _ => Some(r.string("connection id")?),
    };
    let frame_seq = match flags & FLAG_FRAME_SEQ {
        0 => None,
        _ => Some(u64::from_be_bytes(r.array("frame sequence")?)),
    };
    let payload_hash = r.array("payload hash")?;
    r.finish()?;
    Ok(Leaf {
        kind,
        version: FormatVersion::V1,
        envelope: Envelope {
            received_at_micros,
            transport,
            sender_fingerprint,
            connection_id,
            frame_seq,
        },
        payload_hash,
    })
}

/// A cursor over untrusted bytes that names the offset of every failure.
struct Reader<'a> {
    bytes: &'a [u8],
    offset: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, needed: u64, field: &'static str) -> Result<&'a [u8], LeafError> {
        let rest = &self.bytes[self.offset..];
        let truncated = LeafError::Truncated {
            offset: self.offset,
            field,
            needed,
            available: rest.len(),
        };
        let count = usize::try_from(needed).map_err(|_| truncated.clone())?;
        let taken = rest.get(..count).ok_or(truncated)?;
        self.offset += count;
        Ok(taken)
    }

    fn array<const N: usize>(&mut self, field: &'static str) -> Result<[u8; N], LeafError> {
        let mut out = [0; N];
        out.copy_from_slice(self.take(N as u64, field)?);
        Ok(out)
    }

    fn u8(&mut self, field: &'static str) -> Result<u8, LeafError> {
        Ok(self.array::<1>(field)?[0])
    }

    /// A u32 length followed by that many bytes of UTF-8.
    fn string(&mut self, field: &'static str) -> Result<String, LeafError> {
        let len = u32::from_be_bytes(self.array(field)?);
        let offset = self.offset;
        let bytes = self.take(u64::from(len), field)?;
        let text =
            std::str::from_utf8(bytes).map_err(|_| LeafError::InvalidUtf8 { offset, field })?;
        Ok(text.to_owned())
    }

    fn finish(self) -> Result<(), LeafError> {
        match self.bytes.len() - self.offset {
            0 => Ok(()),
            count => Err(LeafError::TrailingBytes {
                offset: self.offset,
                count,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn full_envelope() -> Envelope {
        Envelope {
            received_at_micros: 1_767_225_600_000_000,
            transport: Transport::Tls,
            sender_fingerprint: Some([0xAB; 32]),
            connection_id: Some("conn-7".to_owned()),
            frame_seq: Some(42),
        }
    }

    fn bare_envelope() -> Envelope {
        Envelope {
            received_at_micros: -1,
            transport: Transport::Internal,
            sender_fingerprint: None,
            connection_id: None,
            frame_seq: None,
        }
    }

    #[test]
    fn encoding_is_pinned_byte_by_byte() {
        let leaf = Leaf {
            kind: EntryKind::AuditReceived,
            version: FormatVersion::V1,
            envelope: full_envelope(),
            payload_hash: [0x11; 32],
        };
        let expected = [
            "48484c",           // magic
            "01",               // format version
            "0001",             // kind: AuditReceived
            "0006474846204000", // 2026-01-01T00:00:00Z in microseconds
            "01",               // transport: tls
            "07",               // flags: fingerprint, connection id, frame seq
            &"ab".repeat(32),   // fingerprint
            "00000006",         // connection id length
            "636f6e6e2d37",     // "conn-7"
            "000000000000002a", // frame seq 42
            &"11".repeat(32),   // payload hash
        ]
        .concat();
        assert_eq!(hex::encode(leaf.encode().unwrap()), expected);

        let bare = Leaf::new(EntryKind::EquivocationEvidence, bare_envelope(), b"");
        let expected = [
            "48484c01000b",
            "ffffffffffffffff",
            "0300",
            "a7ffc6f8bf1ed76651c14756a061d662f580ff4de43b49fa82d80a4b80f8434a",
        ]
        .concat();
        assert_eq!(hex::encode(bare.encode().unwrap()), expected);
    }

    #[test]
    fn round_trips_every_kind_transport_and_option() {
        for kind in EntryKind::ALL {
            for transport in Transport::ALL {
                for mask in 0..8u8 {
                    let full = full_envelope();
                    let envelope = Envelope {
                        transport,
                        sender_fingerprint: full.sender_fingerprint.filter(|_| mask & 1 != 0),
                        connection_id: full.connection_id.filter(|_| mask & 2 != 0),
                        frame_seq: full.frame_seq.filter(|_| mask & 4 != 0),
                        ..full
                    };
                    let leaf = Leaf::new(kind, envelope, b"<AuditMessage/>");
                    let bytes = leaf.encode().unwrap();
                    assert_eq!(Leaf::decode(&bytes), Ok(leaf.clone()));
                    assert_eq!(leaf.leaf_hash().unwrap(), leaf_hash(&bytes));
                }
            }
        }
    }

    #[test]
    fn codes_are_stable_and_distinct() {
        let kinds: Vec<u16> = EntryKind::ALL.iter().map(|k| k.code()).collect();
        assert_eq!(kinds, (1..=11).collect::<Vec<u16>>());
        let transports: Vec<u8> = Transport::ALL.iter().map(|t| t.code()).collect();
        assert_eq!(transports, vec![1, 2, 3, 4, 5]);
        assert_eq!(EntryKind::from_code(0), None);
        assert_eq!(Transport::from_code(0), None);
    }

    #[test]
    fn no_16_bit_limit_on_lengths() {
        let mut envelope = full_envelope();
        envelope.connection_id = Some("x".repeat(70_000));
        let leaf = Leaf::new(EntryKind::AuditReceived, envelope, &vec![b'a'; 100_000]);
        let bytes = leaf.encode().unwrap();
        assert_eq!(&bytes[48..52], &70_000u32.to_be_bytes());
        assert_eq!(Leaf::decode(&bytes), Ok(leaf));
    }

    #[test]
    fn garbage_is_refused_with_the_offset() {
        let good = Leaf::new(EntryKind::AuditReceived, full_envelope(), b"p")
            .encode()
            .unwrap();
        let with = |offset: usize, byte: u8| {
            let mut b = good.clone();
            b[offset] = byte;
            Leaf::decode(&b).unwrap_err()
        };
        assert_eq!(
            Leaf::decode(&[]),
            Err(LeafError::Truncated {
                offset: 0,
                field: "magic",
                needed: 3,
                available: 0
            })
        );
        assert_eq!(with(0, b'X'), LeafError::BadMagic { found: *b"XHL" });
        assert_eq!(
            with(3, 2),
            LeafError::UnknownVersion {
                offset: 3,
                version: 2
            }
        );
        assert_eq!(with(5, 0), LeafError::UnknownKind { offset: 4, code: 0 });
        assert_eq!(
            with(14, 9),
            LeafError::UnknownTransport {
                offset: 14,
                code: 9
            }
        );
        assert_eq!(
            with(15, 0x0f),
            LeafError::ReservedFlags {
                offset: 15,
                flags: 0x0f
            }
        );
        assert_eq!(
            with(52, 0xff),
            LeafError::InvalidUtf8 {
                offset: 52,
                field: "connection id"
            }
        );
        // A huge length is refused before anything is allocated.
        let mut huge = good.clone();
        huge[48..52].copy_from_slice(&u32::MAX.to_be_bytes());
        assert_eq!(
            Leaf::decode(&huge),
            Err(LeafError::Truncated {
                offset: 52,
                field: "connection id",
                needed: u64::from(u32::MAX),
                available: good.len() - 52
            })
        );
        let cut = &good[..good.len() - 1];
        assert_eq!(
            Leaf::decode(cut),
            Err(LeafError::Truncated {
                offset: good.len() - 32,
                field: "payload hash",
                needed: 32,
                available: 31
            })
        );
        let mut long = good.clone();
        long.push(0);
        assert_eq!(
            Leaf::decode(&long),
            Err(LeafError::TrailingBytes {
                offset: good.len(),
                count: 1
            })
        );
        assert!(
            with(3, 7).to_string().contains("offset 3"),
            "{}",
            with(3, 7)
        );
    }

    fn any_leaf() -> impl Strategy<Value = Leaf> {
        (
            0..EntryKind::ALL.len(),
            0..Transport::ALL.len(),
            any::<i64>(),
            proptest::option::of(any::<[u8; 32]>()),
            proptest::option::of(".{0,40}"),
            proptest::option::of(any::<u64>()),
            any::<[u8; 32]>(),
        )
            .prop_map(|(k, t, time, fp, conn, seq, payload_hash)| Leaf {
                kind: EntryKind::ALL[k],
                version: FormatVersion::V1,
                envelope: Envelope {
                    received_at_micros: time,
                    transport: Transport::ALL[t],
                    sender_fingerprint: fp,
                    connection_id: conn,
                    frame_seq: seq,
                },
                payload_hash,
            })
    }

    proptest! {
        #[test]
        fn decode_inverts_encode(leaf in any_leaf()) {
            let bytes = leaf.encode().unwrap();
            prop_assert_eq!(Leaf::decode(&bytes), Ok(leaf));
        }

        #[test]
        fn accepted_bytes_are_canonical(leaf in any_leaf(), edits in proptest::collection::vec((any::<usize>(), any::<u8>()), 0..4), cut in any::<usize>()) {
            let mut bytes = leaf.encode().unwrap();
            for (at, byte) in edits {
                let at = at % bytes.len();
                bytes[at] = byte;
            }
            bytes.truncate(bytes.len() - cut % 3);
            if let Ok(decoded) = Leaf::decode(&bytes) {
                prop_assert_eq!(decoded.encode().unwrap(), bytes);
            }
        }

        #[test]
        fn decode_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = Leaf::decode(&bytes);
        }
    }
}
