//! Signed checkpoints and cosignatures: C2SP signed-note, tlog-checkpoint and tlog-cosignature,
//! with Ed25519 from OpenSSL.
//!
//! Specs: C2SP `signed-note` (note format, key ids, verifier keys), C2SP `tlog-checkpoint` (the
//! three-line body), C2SP `tlog-cosignature` (timestamped Ed25519 cosignatures, type `0x04`).
//!
//! # Checkpoint body ([`Checkpoint`])
//!
//! ```text
//! hub-a.example.org/atna-ledger/sha3-256/v1     origin: names the hub and the hash
//! 1234                                          tree size, decimal, no leading zeros
//! 0J8Y…=                                        root hash, standard base64 (32 bytes)
//! ```
//!
//! Each line ends with a newline. Extension lines are refused: the body is exactly these three.
//!
//! # Signed note ([`SigningKey::sign_note`], [`verify_note`])
//!
//! The body, one empty line, then one or more lines `— <key name> <base64(key id ‖ signature)>`,
//! the dash being U+2014 followed by a space. The key id is the first four bytes of
//! `SHA-256(key name ‖ 0x0A ‖ signature type ‖ 32-byte public key)` ([`key_id`]), type `0x01` for
//! Ed25519 note signatures over the body, `0x04` for tlog cosignatures. A cosignature's bytes are
//! `u64be(timestamp) ‖ Ed25519 signature` over `cosignature/v1\ntime <timestamp>\n` followed by
//! the body ([`SigningKey::cosignature_line`]).
//!
//! Verification follows the spec: signature lines whose (name, key id) match no known key are
//! ignored; a line that matches a known key must verify, or the whole note is refused; at least one
//! known key must have signed.
//!
//! # Verifier keys ([`VerifierKey`])
//!
//! `<name>+<8 hex digits key id>+<base64(type ‖ 32-byte public key)>`, e.g. what
//! `/ledger/checkpoint` publishes beside the checkpoint. Parsing checks that the key id is the one
//! the name, type and key give.
//!
//! # Key file ([`SigningKey::load_or_create`])
//!
//! PKCS#8 PEM, mode 0600 in a directory created with mode 0700; created atomically (written to a
//! temporary file, then hard-linked into place, so a concurrent start or a crash never leaves a
//! partial key). A key file readable by group or others is refused.

use std::fmt;
use std::fs;
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::str::FromStr;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use openssl::pkey::{Id, PKey, Private, Public};
use openssl::sign::{Signer, Verifier};
use thiserror::Error;

use super::hash::Hash;

/// The signature line prefix: EM DASH (U+2014) and a space.
pub const SIGNATURE_PREFIX: &str = "\u{2014} ";

/// The largest note [`verify_note`] reads.
pub const MAX_NOTE_BYTES: usize = 1 << 20;

/// The most signature lines [`verify_note`] reads (the spec asks for at least 16).
pub const MAX_SIGNATURES: usize = 64;

const ED25519_SIGNATURE_BYTES: usize = 64;
const COSIGNATURE_HEADER: &str = "cosignature/v1\n";

/// A signature type of C2SP signed-note, as far as hiehub uses them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SignatureType {
    /// `0x01`: Ed25519 over the note text (a log signing its checkpoint).
    Ed25519,
    /// `0x04`: timestamped Ed25519 cosignature (C2SP tlog-cosignature), a witness.
    Cosignature,
}

impl SignatureType {
    /// The identifier byte.
    pub const fn code(self) -> u8 {
        match self {
            Self::Ed25519 => 0x01,
            Self::Cosignature => 0x04,
        }
    }

    /// The type of an identifier byte, if hiehub supports it.
    pub const fn from_code(code: u8) -> Option<Self> {
        match code {
            0x01 => Some(Self::Ed25519),
            0x04 => Some(Self::Cosignature),
            _ => None,
        }
    }
}

/// Why a note, a key or a checkpoint was refused.
#[derive(Debug, Error)]
pub enum NoteError {
    /// A key name that signed-note forbids.
    #[error("invalid key name {name:?}: {reason}")]
    InvalidKeyName { name: String, reason: &'static str },
    /// A verifier key string that does not parse.
    #[error("malformed verifier key {vkey:?}: {reason}")]
    MalformedVerifierKey { vkey: String, reason: &'static str },
    /// A verifier key of a signature type hiehub does not support.
    #[error("verifier key {name:?} has unsupported signature type {code:#04x}")]
    UnsupportedSignatureType { name: String, code: u8 },
    /// A verifier key whose stated key id is not derived from its name and key.
    #[error("verifier key {name:?} states key id {stated:08x}, its key gives {computed:08x}")]
    KeyIdMismatch {
        name: String,
        stated: u32,
        computed: u32,
    },
    /// A note larger than [`MAX_NOTE_BYTES`].
    #[error("note of {len} bytes exceeds the limit of {max}")]
    TooLong { len: usize, max: usize },
    /// A control character other than newline.
    #[error("control character {byte:#04x} at byte {offset} of the note")]
    ControlCharacter { offset: usize, byte: u8 },
    /// Note text that cannot be signed: empty or not ending in a newline.
    #[error("note text must be non-empty and end with a newline")]
    BadText,
    /// No empty line separates text and signatures, or no signature follows it.
    #[error("note has no signature lines after an empty line")]
    NoSignatures,
    /// More than [`MAX_SIGNATURES`] signature lines.
    #[error("note has {count} signature lines, the limit is {max}")]
    TooManySignatures { count: usize, max: usize },
    /// A signature line that does not parse.
    #[error("malformed signature line {line} of the note: {reason}")]
    MalformedSignatureLine { line: usize, reason: &'static str },
    /// A signature by a known key that does not verify.
    #[error("signature line {line} by known key {name} ({key_id:08x}) does not verify")]
    BadSignature {
        line: usize,
        name: String,
        key_id: u32,
    },
    /// No signature by any known key.
    #[error("note is not signed by any known key ({signatures} signature lines)")]
    NoKnownSignature { signatures: usize },
    /// A cosignature timestamp above 2^63 - 1.
    #[error("cosignature timestamp {timestamp} exceeds 2^63 - 1")]
    TimestampTooLarge { timestamp: u64 },
    /// A private key that is not Ed25519.
    #[error("private key is not an Ed25519 key")]
    NotEd25519,
    /// OpenSSL failed.
    #[error("openssl: {0}")]
    Crypto(#[from] openssl::error::ErrorStack),
}

/// Why a key file could not be loaded or created.
#[derive(Debug, Error)]
pub enum KeyFileError {
    /// A file system operation failed.
    #[error("{op} {}: {source}", path.display())]
    Io {
        op: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The key file may be read by group or others.
    #[error("key file {} has mode {mode:04o}; it must not be accessible to group or others (chmod 600)", path.display())]
    InsecurePermissions { path: PathBuf, mode: u32 },
    /// The file holds no Ed25519 private key.
    #[error("key file {} does not hold an Ed25519 private key", path.display())]
    NotEd25519 { path: PathBuf },
    /// The PEM does not parse, or OpenSSL failed.
    #[error("key file {}: {source}", path.display())]
    Crypto {
        path: PathBuf,
        #[source]
        source: openssl::error::ErrorStack,
    },
    /// The key name is not valid.
    #[error(transparent)]
    Name(#[from] NoteError),
}

/// Why a checkpoint body was refused.
#[derive(Debug, Error)]
pub enum CheckpointError {
    /// Fewer than three lines, or text after the last newline.
    #[error(
        "checkpoint body must be three newline-terminated lines, line {line} ({what}) is missing"
    )]
    MissingLine { line: usize, what: &'static str },
    /// Lines after the root hash.
    #[error("checkpoint body has {count} extension lines, none are accepted")]
    ExtensionLines { count: usize },
    /// An empty origin or one with control characters.
    #[error("invalid checkpoint origin {origin:?}: {reason}")]
    InvalidOrigin {
        origin: String,
        reason: &'static str,
    },
    /// The tree size line is not a canonical u64 decimal.
    #[error("line 2: tree size {text:?} is not a decimal number without leading zeros below 2^64")]
    InvalidSize { text: String },
    /// The root hash line is not the standard base64 of 32 bytes.
    #[error("line 3: root hash {text:?} is not the standard base64 of 32 bytes")]
    InvalidRoot { text: String },
    /// The signed note around the body was refused.
    #[error(transparent)]
    Note(#[from] NoteError),
}

/// Checks a key name: non-empty, no Unicode white space, no `+`, no control characters.
pub fn check_key_name(name: &str) -> Result<(), NoteError> {
    let reason = if name.is_empty() {
        "empty"
    } else if name.chars().any(char::is_whitespace) {
        "contains white space"
    } else if name.contains('+') {
        "contains '+'"
    } else if name.chars().any(char::is_control) {
        "contains a control character"
    } else {
        return Ok(());
    };
    Err(NoteError::InvalidKeyName {
        name: name.to_owned(),
        reason,
    })
}

/// The C2SP signed-note key id: the first four bytes, big-endian, of
/// `SHA-256(name ‖ 0x0A ‖ type ‖ public key)`.
pub fn key_id(name: &str, signature_type: SignatureType, public_key: &[u8; 32]) -> u32 {
    let mut input = Vec::with_capacity(name.len() + 2 + 32);
    input.extend_from_slice(name.as_bytes());
    input.push(b'\n');
    input.push(signature_type.code());
    input.extend_from_slice(public_key);
    let digest = openssl::sha::sha256(&input);
    u32::from_be_bytes([digest[0], digest[1], digest[2], digest[3]])
}

/// A public key that may sign notes (`0x01`) or cosign checkpoints (`0x04`).
#[derive(Clone)]
pub struct VerifierKey {
    name: String,
    signature_type: SignatureType,
    key_id: u32,
    public_key: [u8; 32],
    pkey: PKey<Public>,
}

impl VerifierKey {
    /// The verifier key for `public_key` under `name`; the key id is derived.
    pub fn new(
        name: &str,
        signature_type: SignatureType,
        public_key: [u8; 32],
    ) -> Result<Self, NoteError> {
        check_key_name(name)?;
        let pkey = PKey::public_key_from_raw_bytes(&public_key, Id::ED25519)?;
        Ok(Self {
            name: name.to_owned(),
            signature_type,
            key_id: key_id(name, signature_type, &public_key),
            public_key,
            pkey,
        })
    }

    /// Parses `<name>+<hex key id>+<base64(type ‖ key)>`.
    pub fn parse(vkey: &str) -> Result<Self, NoteError> {
        let malformed = |reason| NoteError::MalformedVerifierKey {
            vkey: vkey.to_owned(),
            reason,
        };
        let mut parts = vkey.splitn(3, '+');
        let (Some(name), Some(id_hex), Some(key_b64)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(malformed("expected <name>+<key id>+<key>"));
        };
        let is_lower_hex = |c: char| c.is_ascii_digit() || ('a'..='f').contains(&c);
        if id_hex.len() != 8 || !id_hex.chars().all(is_lower_hex) {
            return Err(malformed("key id is not 8 lowercase hex digits"));
        }
        let stated = u32::from_str_radix(id_hex, 16).map_err(|_| malformed("bad key id"))?;
        let bytes = BASE64
            .decode(key_b64)
            .map_err(|_| malformed("key is not standard base64"))?;
        let Some((&code, key)) = bytes.split_first() else {
            return Err(malformed("empty key"));
        };
        let signature_type =
            SignatureType::from_code(code).ok_or_else(|| NoteError::UnsupportedSignatureType {
                name: name.to_owned(),
                code,
            })?;
        let public_key: [u8; 32] = key
            .try_into()
            .map_err(|_| malformed("Ed25519 key is not 32 bytes"))?;
        let parsed = Self::new(name, signature_type, public_key)?;
        if parsed.key_id != stated {
            return Err(NoteError::KeyIdMismatch {
                name: name.to_owned(),
                stated,
                computed: parsed.key_id,
            });
        }
        Ok(parsed)
    }

    /// The key name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The signature type.
    pub fn signature_type(&self) -> SignatureType {
        self.signature_type
    }

    /// The key id.
    pub fn key_id(&self) -> u32 {
        self.key_id
    }

    /// The raw 32-byte Ed25519 public key.
    pub fn public_key(&self) -> [u8; 32] {
        self.public_key
    }

    fn verifies(&self, message: &[u8], signature: &[u8]) -> bool {
        signature.len() == ED25519_SIGNATURE_BYTES
            && Verifier::new_without_digest(&self.pkey)
                .and_then(|mut v| v.verify_oneshot(signature, message))
                .unwrap_or(false)
    }

    /// Checks one signature line's bytes (after the key id) against `text`; a cosignature
    /// gives its timestamp.
    fn check(&self, text: &str, signature: &[u8]) -> Option<Option<u64>> {
        match self.signature_type {
            SignatureType::Ed25519 => self.verifies(text.as_bytes(), signature).then_some(None),
            SignatureType::Cosignature => {
                let (stamp, signature) = signature.split_first_chunk::<8>()?;
                let timestamp = u64::from_be_bytes(*stamp);
                let message = cosigned_message(text, timestamp).ok()?;
                self.verifies(&message, signature)
                    .then_some(Some(timestamp))
            }
        }
    }
}

impl fmt::Display for VerifierKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut key = Vec::with_capacity(33);
        key.push(self.signature_type.code());
        key.extend_from_slice(&self.public_key);
        write!(
            f,
            "{}+{:08x}+{}",
            self.name,
            self.key_id,
            BASE64.encode(key)
        )
    }
}

impl fmt::Debug for VerifierKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "VerifierKey({self})")
    }
}

impl PartialEq for VerifierKey {
    fn eq(&self, other: &Self) -> bool {
        (self.signature_type, &self.name, self.public_key)
            == (other.signature_type, &other.name, other.public_key)
    }
}

impl Eq for VerifierKey {}

impl FromStr for VerifierKey {
    type Err = NoteError;

    fn from_str(s: &str) -> Result<Self, NoteError> {
        Self::parse(s)
    }
}

/// The message a tlog cosignature signs: `cosignature/v1\ntime <timestamp>\n` ‖ checkpoint body.
fn cosigned_message(body: &str, timestamp: u64) -> Result<Vec<u8>, NoteError> {
    if timestamp > i64::MAX as u64 {
        return Err(NoteError::TimestampTooLarge { timestamp });
    }
    Ok(format!("{COSIGNATURE_HEADER}time {timestamp}\n{body}").into_bytes())
}

/// An Ed25519 private key with its signed-note key name.
pub struct SigningKey {
    name: String,
    pkey: PKey<Private>,
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never the private key.
        write!(f, "SigningKey({})", self.name)
    }
}

impl SigningKey {
    /// A fresh random key.
    pub fn generate(name: &str) -> Result<Self, NoteError> {
        check_key_name(name)?;
        Ok(Self {
            name: name.to_owned(),
            pkey: PKey::generate_ed25519()?,
        })
    }

    /// The key of a 32-byte RFC 8032 seed (for known-answer tests and key ceremonies).
    pub fn from_seed(name: &str, seed: &[u8; 32]) -> Result<Self, NoteError> {
        check_key_name(name)?;
        Ok(Self {
            name: name.to_owned(),
            pkey: PKey::private_key_from_raw_bytes(seed, Id::ED25519)?,
        })
    }

    /// The key in a PKCS#8 PEM.
    pub fn from_pem(name: &str, pem: &[u8]) -> Result<Self, NoteError> {
        check_key_name(name)?;
        let pkey = PKey::private_key_from_pem(pem)?;
        if pkey.id() != Id::ED25519 {
            return Err(NoteError::NotEd25519);
        }
        Ok(Self {
            name: name.to_owned(),
            pkey,
        })
    }

    /// The private key as PKCS#8 PEM.
    pub fn to_pem(&self) -> Result<Vec<u8>, NoteError> {
        Ok(self.pkey.private_key_to_pem_pkcs8()?)
    }

    /// Loads the key at `path`, or creates it there (and its directories) if there is none.
    pub fn load_or_create(path: &Path, name: &str) -> Result<Self, KeyFileError> {
        check_key_name(name)?;
        match fs::symlink_metadata(path) {
            Ok(_) => Self::load(path, name),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let key = Self::generate(name)?;
                if create_key_file(path, &key.to_pem()?)? {
                    Ok(key)
                } else {
                    // Another process created it first: use theirs.
                    Self::load(path, name)
                }
            }
            Err(source) => Err(io_error("inspect", path, source)),
        }
    }

    fn load(path: &Path, name: &str) -> Result<Self, KeyFileError> {
        let meta = fs::metadata(path).map_err(|e| io_error("inspect", path, e))?;
        let mode = meta.permissions().mode() & 0o7777;
        if mode & 0o077 != 0 {
            return Err(KeyFileError::InsecurePermissions {
                path: path.to_owned(),
                mode,
            });
        }
        let pem = fs::read(path).map_err(|e| io_error("read", path, e))?;
        match Self::from_pem(name, &pem) {
            Ok(key) => Ok(key),
            Err(NoteError::NotEd25519) => Err(KeyFileError::NotEd25519 {
                path: path.to_owned(),
            }),
            Err(NoteError::Crypto(source)) => Err(KeyFileError::Crypto {
                path: path.to_owned(),
                source,
            }),
            Err(other) => Err(other.into()),
        }
    }

    /// The key name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The raw 32-byte Ed25519 public key.
    pub fn public_key(&self) -> Result<[u8; 32], NoteError> {
        let raw = self.pkey.raw_public_key()?;
        <[u8; 32]>::try_from(raw.as_slice()).map_err(|_| NoteError::NotEd25519)
    }

    /// The verifier key of this key's note signatures (type `0x01`).
    pub fn verifier(&self) -> Result<VerifierKey, NoteError> {
        VerifierKey::new(&self.name, SignatureType::Ed25519, self.public_key()?)
    }

    /// The verifier key of this key's cosignatures (type `0x04`).
    pub fn cosigner_verifier(&self) -> Result<VerifierKey, NoteError> {
        VerifierKey::new(&self.name, SignatureType::Cosignature, self.public_key()?)
    }

    /// The vkey string of [`SigningKey::verifier`], as published beside the checkpoint.
    pub fn vkey(&self) -> Result<String, NoteError> {
        Ok(self.verifier()?.to_string())
    }

    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, NoteError> {
        Ok(Signer::new_without_digest(&self.pkey)?.sign_oneshot_to_vec(message)?)
    }

    fn line(&self, key_id: u32, signature: &[u8]) -> String {
        let mut bytes = Vec::with_capacity(4 + signature.len());
        bytes.extend_from_slice(&key_id.to_be_bytes());
        bytes.extend_from_slice(signature);
        format!("{SIGNATURE_PREFIX}{} {}\n", self.name, BASE64.encode(bytes))
    }

    /// The signature line (with its newline) of an Ed25519 note signature over `text`.
    pub fn signature_line(&self, text: &str) -> Result<String, NoteError> {
        check_text(text)?;
        let id = self.verifier()?.key_id();
        Ok(self.line(id, &self.sign(text.as_bytes())?))
    }

    /// `text`, an empty line and this key's signature line: a signed note.
    pub fn sign_note(&self, text: &str) -> Result<String, NoteError> {
        Ok(format!("{text}\n{}", self.signature_line(text)?))
    }

    /// The tlog cosignature line (type `0x04`) of a checkpoint body at `timestamp` (POSIX seconds),
    /// to be appended to the checkpoint's note.
    pub fn cosignature_line(&self, body: &str, timestamp: u64) -> Result<String, NoteError> {
        check_text(body)?;
        let id = self.cosigner_verifier()?.key_id();
        let signature = self.sign(&cosigned_message(body, timestamp)?)?;
        let mut bytes = Vec::with_capacity(8 + signature.len());
        bytes.extend_from_slice(&timestamp.to_be_bytes());
        bytes.extend_from_slice(&signature);
        Ok(self.line(id, &bytes))
    }
}

fn io_error(op: &'static str, path: &Path, source: std::io::Error) -> KeyFileError {
    KeyFileError::Io {
        op,
        path: path.to_owned(),
        source,
    }
}

/// Writes `pem` to `path` with mode 0600, atomically; `false` if `path` already exists.
fn create_key_file(path: &Path, pem: &[u8]) -> Result<bool, KeyFileError> {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|e| io_error("create directory", dir, e))?;
    let file_name = path.file_name().unwrap_or_default().to_string_lossy();
    let temp = dir.join(format!(".{file_name}.{}.tmp", std::process::id()));
    let _ = fs::remove_file(&temp);
    let written = write_new_file(&temp, pem);
    let linked = written.and_then(|()| match fs::hard_link(&temp, path) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(false),
        Err(e) => Err(io_error("link", path, e)),
    });
    let _ = fs::remove_file(&temp);
    let created = linked?;
    if created {
        fs::File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(|e| io_error("sync directory", dir, e))?;
    }
    Ok(created)
}

fn write_new_file(path: &Path, contents: &[u8]) -> Result<(), KeyFileError> {
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| io_error("create", path, e))?;
    file.write_all(contents)
        .and_then(|()| file.sync_all())
        .map_err(|e| io_error("write", path, e))
}

fn check_text(text: &str) -> Result<(), NoteError> {
    if text.is_empty() || !text.ends_with('\n') {
        return Err(NoteError::BadText);
    }
    check_control_characters(text)
}

fn check_control_characters(text: &str) -> Result<(), NoteError> {
    match text
        .bytes()
        .enumerate()
        .find(|&(_, b)| b < 0x20 && b != b'\n')
    {
        Some((offset, byte)) => Err(NoteError::ControlCharacter { offset, byte }),
        None => Ok(()),
    }
}

/// One signature line of a note, not yet verified.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NoteSignature {
    /// Line number in the note, from 1.
    pub line: usize,
    /// The key name.
    pub name: String,
    /// The key id (first four bytes).
    pub key_id: u32,
    /// The bytes after the key id.
    pub signature: Vec<u8>,
}

/// A note split into its text and signature lines, not yet verified.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Note {
    /// The text, with its final newline, without the separating empty line.
    pub text: String,
    /// The signature lines, in order.
    pub signatures: Vec<NoteSignature>,
}

/// Splits a signed note. Nothing is verified: use [`verify_note`] before trusting the text.
pub fn parse_note(note: &str) -> Result<Note, NoteError> {
    if note.len() > MAX_NOTE_BYTES {
        return Err(NoteError::TooLong {
            len: note.len(),
            max: MAX_NOTE_BYTES,
        });
    }
    check_control_characters(note)?;
    // The text is separated from the signatures by the last empty line.
    let split = note.rfind("\n\n").ok_or(NoteError::NoSignatures)?;
    let (text, block) = (&note[..=split], &note[split + 2..]);
    let Some(block) = block.strip_suffix('\n').filter(|b| !b.is_empty()) else {
        return Err(NoteError::NoSignatures);
    };
    let first_line = text.matches('\n').count() + 2;
    let lines: Vec<&str> = block.split('\n').collect();
    if lines.len() > MAX_SIGNATURES {
        return Err(NoteError::TooManySignatures {
            count: lines.len(),
            max: MAX_SIGNATURES,
        });
    }
    let signatures = lines
        .iter()
        .enumerate()
        .map(|(i, line)| parse_signature_line(first_line + i, line))
        .collect::<Result<_, _>>()?;
    Ok(Note {
        text: text.to_owned(),
        signatures,
    })
}

fn parse_signature_line(line: usize, text: &str) -> Result<NoteSignature, NoteError> {
    let malformed = |reason| NoteError::MalformedSignatureLine { line, reason };
    let rest = text
        .strip_prefix(SIGNATURE_PREFIX)
        .ok_or(malformed("does not start with an em dash and a space"))?;
    let (name, encoded) = rest
        .split_once(' ')
        .ok_or(malformed("no space between key name and signature"))?;
    check_key_name(name).map_err(|_| malformed("invalid key name"))?;
    let bytes = BASE64
        .decode(encoded)
        .map_err(|_| malformed("signature is not standard base64"))?;
    match bytes.split_first_chunk::<4>() {
        Some((id, signature)) if !signature.is_empty() => Ok(NoteSignature {
            line,
            name: name.to_owned(),
            key_id: u32::from_be_bytes(*id),
            signature: signature.to_vec(),
        }),
        _ => Err(malformed("signature shorter than a key id and one byte")),
    }
}

/// A signature that verified.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedSignature {
    /// The key name.
    pub name: String,
    /// The key id.
    pub key_id: u32,
    /// The key's signature type.
    pub signature_type: SignatureType,
    /// For a cosignature, its timestamp (POSIX seconds).
    pub timestamp: Option<u64>,
}

/// A note whose signatures by known keys all verified.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verified {
    /// The note text, now trusted.
    pub body: String,
    /// The verified signatures, in note order (signatures by unknown keys are not listed).
    pub signatures: Vec<VerifiedSignature>,
}

impl Verified {
    /// Whether `key` is among the verified signers.
    pub fn signed_by(&self, key: &VerifierKey) -> bool {
        self.signatures.iter().any(|s| {
            s.name == key.name()
                && s.key_id == key.key_id()
                && s.signature_type == key.signature_type()
        })
    }
}

/// Verifies a signed note against known keys (C2SP signed-note, "Signatures").
pub fn verify_note(note: &str, keys: &[VerifierKey]) -> Result<Verified, NoteError> {
    let parsed = parse_note(note)?;
    let mut signatures = Vec::new();
    for sig in &parsed.signatures {
        let mut known = keys
            .iter()
            .filter(|k| k.name == sig.name && k.key_id == sig.key_id)
            .peekable();
        if known.peek().is_none() {
            continue;
        }
        let verified = known.find_map(|k| k.check(&parsed.text, &sig.signature).map(|t| (k, t)));
        let Some((key, timestamp)) = verified else {
            return Err(NoteError::BadSignature {
                line: sig.line,
                name: sig.name.clone(),
                key_id: sig.key_id,
            });
        };
        signatures.push(VerifiedSignature {
            name: key.name.clone(),
            key_id: key.key_id,
            signature_type: key.signature_type,
            timestamp,
        });
    }
    if signatures.is_empty() {
        return Err(NoteError::NoKnownSignature {
            signatures: parsed.signatures.len(),
        });
    }
    Ok(Verified {
        body: parsed.text,
        signatures,
    })
}

/// A tree head: the body of a C2SP tlog-checkpoint.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Checkpoint {
    origin: String,
    size: u64,
    root: Hash,
}

fn check_origin(origin: &str) -> Result<(), CheckpointError> {
    let reason = if origin.is_empty() {
        "empty"
    } else if origin.chars().any(char::is_control) {
        "contains a control character"
    } else {
        return Ok(());
    };
    Err(CheckpointError::InvalidOrigin {
        origin: origin.to_owned(),
        reason,
    })
}

impl Checkpoint {
    /// A checkpoint; the origin must be non-empty, without control characters.
    pub fn new(origin: &str, size: u64, root: Hash) -> Result<Self, CheckpointError> {
        check_origin(origin)?;
        Ok(Self {
            origin: origin.to_owned(),
            size,
            root,
        })
    }

    /// The origin line: which log this is.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// The tree size.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The root hash at that size.
    pub fn root(&self) -> &Hash {
        &self.root
    }

    /// `<origin>\n<size>\n<base64 root>\n`.
    pub fn to_body(&self) -> String {
        format!(
            "{}\n{}\n{}\n",
            self.origin,
            self.size,
            BASE64.encode(self.root)
        )
    }

    /// Parses exactly three newline-terminated lines; refuses extension lines.
    pub fn parse(body: &str) -> Result<Self, CheckpointError> {
        let text = body
            .strip_suffix('\n')
            .ok_or(CheckpointError::MissingLine {
                line: body.matches('\n').count() + 1,
                what: "a final newline",
            })?;
        let lines: Vec<&str> = text.split('\n').collect();
        let missing = |line, what| CheckpointError::MissingLine { line, what };
        let origin = lines.first().ok_or(missing(1, "origin"))?;
        let size_text = lines.get(1).ok_or(missing(2, "tree size"))?;
        let root_text = lines.get(2).ok_or(missing(3, "root hash"))?;
        if lines.len() > 3 {
            return Err(CheckpointError::ExtensionLines {
                count: lines.len() - 3,
            });
        }
        check_origin(origin)?;
        let size = parse_size(size_text)?;
        let root = BASE64
            .decode(root_text)
            .ok()
            .and_then(|bytes| Hash::try_from(bytes.as_slice()).ok())
            .ok_or_else(|| CheckpointError::InvalidRoot {
                text: (*root_text).to_owned(),
            })?;
        Ok(Self {
            origin: (*origin).to_owned(),
            size,
            root,
        })
    }

    /// This checkpoint as a note signed by `key`.
    pub fn sign(&self, key: &SigningKey) -> Result<String, NoteError> {
        key.sign_note(&self.to_body())
    }

    /// Verifies a signed checkpoint note against known keys and parses its body.
    pub fn open(note: &str, keys: &[VerifierKey]) -> Result<(Self, Verified), CheckpointError> {
        let verified = verify_note(note, keys)?;
        Ok((Self::parse(&verified.body)?, verified))
    }
}

fn parse_size(text: &str) -> Result<u64, CheckpointError> {
    let canonical = !text.is_empty()
        && text.bytes().all(|b| b.is_ascii_digit())
        && (text == "0" || !text.starts_with('0'));
    canonical
        .then(|| text.parse::<u64>().ok())
        .flatten()
        .ok_or_else(|| CheckpointError::InvalidSize {
            text: text.to_owned(),
        })
}

#[cfg(test)]
#[path = "checkpoint_tests.rs"]
mod tests;
