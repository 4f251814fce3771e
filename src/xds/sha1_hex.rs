//! DocumentEntry.hash (ITI TF-3 §4.2.3.2 hash): the SHA-1 of the document bytes as 40
//! hexadecimal digits. Compared case-insensitively; kept in lower case.

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Sha1Hex([u8; 20]);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("'{0}' is not a SHA-1 hash: 40 hexadecimal digits expected")]
pub struct Sha1HexError(pub String);

impl Sha1Hex {
    pub fn parse(s: &str) -> Result<Sha1Hex, Sha1HexError> {
        let t = s.trim();
        let mut out = [0u8; 20];
        if t.len() != 40 || hex::decode_to_slice(t, &mut out).is_err() {
            return Err(Sha1HexError(t.to_string()));
        }
        Ok(Sha1Hex(out))
    }

    /// The hash of `data`.
    pub fn digest(data: &[u8]) -> Sha1Hex {
        use sha1::Digest;
        let d = sha1::Sha1::digest(data);
        let mut out = [0u8; 20];
        out.copy_from_slice(&d);
        Sha1Hex(out)
    }

    pub fn bytes(&self) -> &[u8; 20] {
        &self.0
    }
}

impl fmt::Display for Sha1Hex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_digest_print() {
        let h = Sha1Hex::parse("E543712C0E10501972de13a5bfcbe826c49feb75").expect("ok");
        assert_eq!(h.to_string(), "e543712c0e10501972de13a5bfcbe826c49feb75");
        assert_eq!(
            Sha1Hex::digest(b"abc").to_string(),
            "a9993e364706816aba3e25717850c26c9cd0d89d"
        );
        assert!(Sha1Hex::parse("abc").is_err());
        assert!(Sha1Hex::parse(&"g".repeat(40)).is_err());
    }
}
