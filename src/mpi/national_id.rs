//! National identifiers (the Korean resident registration number, 주민등록번호, root
//! `1.2.410.100.100.10.1` by default: `mpi_national_id_roots`) are privacy-sensitive (DESIGN.md
//! Privacy): they are never patient ids, never stored in clear, never logged, and shown masked.
//!
//! A feed may carry one as `asOtherIDs`; hiehub stores three things: a keyed hash
//! (HMAC-SHA256, hex) that is indexed and used for deterministic linking and PDQ lookups, the
//! value sealed with AES-256-GCM (random 96-bit nonce; `nonce || ciphertext || tag`), and a mask
//! (`900101-1******`). The 64-byte key (32 for the MAC, 32 for the cipher) is generated on first
//! use at `<data_dir>/mpi-national-id.key` (mode 0600).

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use openssl::hash::MessageDigest;
use openssl::pkey::PKey;
use openssl::sign::Signer;
use openssl::symm::{Cipher, decrypt_aead, encrypt_aead};

/// The default national-identifier roots (Korean RRN).
pub const DEFAULT_ROOTS: &str = "1.2.410.100.100.10.1";
const KEY_FILE: &str = "mpi-national-id.key";
const AAD: &[u8] = b"hiehub mpi national id v1";

pub struct NationalIdKey {
    mac: [u8; 32],
    enc: [u8; 32],
}

impl std::fmt::Debug for NationalIdKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("NationalIdKey(..)")
    }
}

/// What is stored for one national identifier.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sealed {
    pub hmac: String,
    pub enc: Vec<u8>,
    pub mask: String,
}

fn cache() -> &'static Mutex<HashMap<PathBuf, Arc<NationalIdKey>>> {
    static KEYS: OnceLock<Mutex<HashMap<PathBuf, Arc<NationalIdKey>>>> = OnceLock::new();
    KEYS.get_or_init(|| Mutex::new(HashMap::new()))
}

impl NationalIdKey {
    pub fn from_bytes(b: &[u8; 64]) -> NationalIdKey {
        let mut mac = [0u8; 32];
        let mut enc = [0u8; 32];
        mac.copy_from_slice(&b[..32]);
        enc.copy_from_slice(&b[32..]);
        NationalIdKey { mac, enc }
    }

    /// The key of `data_dir`, created on first use (cached per directory).
    pub fn for_data_dir(data_dir: &Path) -> Result<Arc<NationalIdKey>, String> {
        let path = data_dir.join(KEY_FILE);
        let mut keys = cache()
            .lock()
            .map_err(|_| "key cache poisoned".to_owned())?;
        if let Some(k) = keys.get(&path) {
            return Ok(k.clone());
        }
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => create(&path)?,
            Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
        };
        let arr: [u8; 64] = bytes.as_slice().try_into().map_err(|_| {
            format!(
                "{} holds {} bytes, expected 64",
                path.display(),
                bytes.len()
            )
        })?;
        let k = Arc::new(NationalIdKey::from_bytes(&arr));
        keys.insert(path, k.clone());
        Ok(k)
    }

    pub fn hmac(&self, root: &str, extension: &str) -> String {
        let digest = (|| {
            let key = PKey::hmac(&self.mac).ok()?;
            let mut s = Signer::new(MessageDigest::sha256(), &key).ok()?;
            s.update(root.as_bytes()).ok()?;
            s.update(b"\0").ok()?;
            s.update(normalise(extension).as_bytes()).ok()?;
            s.sign_to_vec().ok()
        })();
        digest.map(hex::encode).unwrap_or_default()
    }

    pub fn seal(&self, root: &str, extension: &str) -> Option<Sealed> {
        let mut nonce = [0u8; 12];
        openssl::rand::rand_bytes(&mut nonce).ok()?;
        let mut tag = [0u8; 16];
        let ct = encrypt_aead(
            Cipher::aes_256_gcm(),
            &self.enc,
            Some(&nonce),
            AAD,
            normalise(extension).as_bytes(),
            &mut tag,
        )
        .ok()?;
        let mut enc = nonce.to_vec();
        enc.extend_from_slice(&ct);
        enc.extend_from_slice(&tag);
        Some(Sealed {
            hmac: self.hmac(root, extension),
            enc,
            mask: mask(extension),
        })
    }

    /// The clear value of a sealed identifier (for an authorised re-identification).
    pub fn open(&self, enc: &[u8]) -> Option<String> {
        if enc.len() < 12 + 16 {
            return None;
        }
        let (nonce, rest) = enc.split_at(12);
        let (ct, tag) = rest.split_at(rest.len() - 16);
        let clear =
            decrypt_aead(Cipher::aes_256_gcm(), &self.enc, Some(nonce), AAD, ct, tag).ok()?;
        String::from_utf8(clear).ok()
    }
}

fn create(path: &Path) -> Result<Vec<u8>, String> {
    let mut key = vec![0u8; 64];
    openssl::rand::rand_bytes(&mut key).map_err(|e| format!("random key: {e}"))?;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    }
    let tmp = path.with_extension("tmp");
    let write = || -> std::io::Result<()> {
        use std::os::unix::fs::OpenOptionsExt;
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)?;
        f.write_all(&key)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    };
    write().map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    Ok(key)
}

/// Digits and letters only (`900101-1234567` and `9001011234567` are the same number).
fn normalise(s: &str) -> String {
    s.chars().filter(char::is_ascii_alphanumeric).collect()
}

/// The masked form: an RRN keeps its birth date and the digit after it (`900101-1******`);
/// anything else keeps its last two characters.
pub fn mask(extension: &str) -> String {
    let n = normalise(extension);
    if n.len() == 13 && n.chars().all(|c| c.is_ascii_digit()) {
        return format!("{}-{}******", &n[..6], &n[6..7]);
    }
    let keep = n.len().saturating_sub(2);
    format!("{}{}", "*".repeat(keep), &n[keep..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_open_hash_and_mask() {
        let k = NationalIdKey::from_bytes(&[7u8; 64]);
        let s = k.seal(DEFAULT_ROOTS, "900101-1234567").unwrap();
        assert_eq!(s.mask, "900101-1******");
        assert!(!s.enc.windows(7).any(|w| w == b"1234567"));
        assert_eq!(k.open(&s.enc).as_deref(), Some("9001011234567"));
        assert_eq!(s.hmac, k.hmac(DEFAULT_ROOTS, "9001011234567"));
        assert_ne!(s.hmac, k.hmac(DEFAULT_ROOTS, "9001011234568"));
        let other = NationalIdKey::from_bytes(&[8u8; 64]);
        assert_ne!(s.hmac, other.hmac(DEFAULT_ROOTS, "9001011234567"));
        assert!(other.open(&s.enc).is_none());
        assert_eq!(mask("AB1234"), "****34");
    }
}
