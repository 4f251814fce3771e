//! Cross-anchoring between hubs (issue #8; DESIGN.md "Ledger format"): each hub witnesses its
//! peers' ledgers and has its own witnessed by them, C2SP tlog-witness style, with entanglement.
//!
//! - [`witness`]: the `add-checkpoint` side. Verifies a peer's signed checkpoint and the
//!   consistency proof from the size stored for it, advances the stored (size, root) with one
//!   compare-and-swap statement, appends the peer's checkpoint to this hub's ledger through the
//!   audit sink, then answers with a timestamped cosignature (the witness key, not the log key).
//!   Anything inconsistent raises an alarm and keeps evidence.
//! - [`client`]: the task that every `witness_interval_secs` pushes this hub's latest checkpoint
//!   with a consistency proof from each peer's last cosigned size, follows 409 answers, and appends
//!   the cosignatures it collects to this hub's ledger.
//! - [`alarm`]: log, `/metrics`, a Security Alert (110113) in the ledger, evidence for
//!   `hiehub ledger check-fork`, the inspector banner (from `anchor_alarms`).
//! - [`status`]: whether an entry is anchored (a covering checkpoint cosigned by k peers).
//! - [`verify`]: `ledger verify`'s checks of stored peer checkpoints and cosignatures.
//! - [`store`]: the tables `witness_state`, `anchor_cosignatures`, `anchor_alarms`.
//!
//! The pure protocol parts (request body, evidence and its check) are in `ledger::witness`.
//!
//! Invariant: a cosignature is never sent before the peer's checkpoint is durable in this hub's
//! ledger and its (size, root) is stored; the stored (size, root) only moves forward along a
//! verified consistency proof, in one statement (no check-then-update race).
//! Invariant: a checkpoint of a peer is accepted only with its current key; old keys verify what is
//! already stored.

pub mod alarm;
pub mod audit_peer;
pub mod client;
pub mod status;
pub mod store;
pub mod verify;
pub mod witness;

use std::time::Duration;

use crate::config::{Config, PeerConfig};
use crate::ledger::checkpoint::{SignatureType, SigningKey, VerifierKey};

/// A configured peer, keys parsed.
#[derive(Debug, Clone)]
pub struct Peer {
    pub name: String,
    pub url: String,
    /// The peer's current log key: the only one new checkpoints may be signed with.
    pub log_key: VerifierKey,
    /// Log keys before a rotation (for stored checkpoints).
    pub old_log_keys: Vec<VerifierKey>,
    /// The peer's witness key (its cosignatures of our checkpoints).
    pub witness_key: VerifierKey,
}

impl Peer {
    pub fn from_config(p: &PeerConfig) -> Result<Peer, String> {
        let parse = |what: &str, k: &str, t: SignatureType| {
            let key =
                VerifierKey::parse(k).map_err(|e| format!("peer '{}': {what}: {e}", p.name))?;
            if key.signature_type() != t {
                return Err(format!(
                    "peer '{}': {what} {k} is of signature type {:?}, expected {t:?}",
                    p.name,
                    key.signature_type()
                ));
            }
            Ok(key)
        };
        if p.name.is_empty() || p.name.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(format!(
                "peer name {:?} must be non-empty, without spaces",
                p.name
            ));
        }
        if !(p.url.starts_with("https://") || p.url.starts_with("http://")) {
            return Err(format!(
                "peer '{}': url {:?} is not an http(s) URL",
                p.name, p.url
            ));
        }
        Ok(Peer {
            name: p.name.clone(),
            url: p.url.trim_end_matches('/').to_owned(),
            log_key: parse("vkey", &p.vkey, SignatureType::Ed25519)?,
            old_log_keys: p
                .old_vkeys
                .iter()
                .map(|k| parse("old_vkeys", k, SignatureType::Ed25519))
                .collect::<Result<_, _>>()?,
            witness_key: parse("witness_vkey", &p.witness_vkey, SignatureType::Cosignature)?,
        })
    }

    /// The log's origin: its key name (hiehub names its log key after its origin).
    pub fn origin(&self) -> &str {
        self.log_key.name()
    }

    /// Every log key, current first.
    pub fn all_log_keys(&self) -> Vec<VerifierKey> {
        std::iter::once(self.log_key.clone())
            .chain(self.old_log_keys.iter().cloned())
            .collect()
    }
}

/// Everything the witness and the client share.
pub struct Anchor {
    pub peers: Vec<Peer>,
    pub witness_key: SigningKey,
    /// This hub's cosigner vkey (type 0x04), published at `/ledger/witness-vkey`.
    pub witness_vkey: String,
    /// k of n.
    pub quorum: usize,
    pub interval: Duration,
    /// This hub's origin line.
    pub origin: String,
}

impl Anchor {
    /// Loads (or creates) the witness key and parses the peers; errors name the peer and key.
    pub fn from_config(config: &Config) -> Result<Anchor, String> {
        let witness_key =
            SigningKey::load_or_create(&config.witness_key_path(), &config.witness_key_name())
                .map_err(|e| format!("witness key: {e}"))?;
        let witness_vkey = witness_key
            .cosigner_verifier()
            .map_err(|e| format!("witness key: {e}"))?
            .to_string();
        let peers = peers_of(config)?;
        Ok(Anchor {
            peers,
            witness_key,
            witness_vkey,
            quorum: config.anchor_quorum as usize,
            interval: Duration::from_secs(u64::from(config.witness_interval_secs.max(1))),
            origin: config.origin(),
        })
    }

    /// The peer whose log has this origin.
    pub fn peer_by_origin(&self, origin: &str) -> Option<&Peer> {
        self.peers.iter().find(|p| p.origin() == origin)
    }
}

/// The configured peers, checked: keys parse, names and origins unique.
pub fn peers_of(config: &Config) -> Result<Vec<Peer>, String> {
    let peers = config
        .peers
        .iter()
        .map(Peer::from_config)
        .collect::<Result<Vec<_>, _>>()?;
    for (i, p) in peers.iter().enumerate() {
        if peers[..i]
            .iter()
            .any(|q| q.name == p.name || q.origin() == p.origin())
        {
            return Err(format!(
                "peer '{}' is configured twice (same name or origin)",
                p.name
            ));
        }
    }
    Ok(peers)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn peer(name: &str, vkey: String, witness_vkey: String) -> PeerConfig {
        PeerConfig {
            name: name.into(),
            url: "https://peer.test:8443".into(),
            vkey,
            witness_vkey,
            old_vkeys: Vec::new(),
        }
    }

    #[test]
    fn peers_are_checked_when_configured() {
        let log = SigningKey::generate("b.test/atna-ledger/sha3-256/v1").unwrap();
        let wit = SigningKey::generate("b.test/witness").unwrap();
        let (lv, wv) = (
            log.vkey().unwrap(),
            wit.cosigner_verifier().unwrap().to_string(),
        );
        let ok = Peer::from_config(&peer("hub-b", lv.clone(), wv.clone())).unwrap();
        assert_eq!(ok.origin(), "b.test/atna-ledger/sha3-256/v1");
        // keys of the wrong type are named
        let err = Peer::from_config(&peer("hub-b", wv.clone(), lv.clone())).unwrap_err();
        assert!(err.contains("hub-b") && err.contains("vkey"), "{err}");
        let err = Peer::from_config(&peer("hub b", lv.clone(), wv.clone())).unwrap_err();
        assert!(err.contains("hub b"), "{err}");
        let mut bad_url = peer("hub-b", lv.clone(), wv.clone());
        bad_url.url = "ftp://x".into();
        assert!(Peer::from_config(&bad_url).is_err());
        // the same peer twice is refused
        let config = Config {
            peers: vec![peer("hub-b", lv.clone(), wv.clone()), peer("hub-c", lv, wv)],
            ..Config::default()
        };
        let err = peers_of(&config).unwrap_err();
        assert!(err.contains("twice"), "{err}");
    }
}
