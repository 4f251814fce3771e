//! The pushing side: every `witness_interval_secs`, this hub's latest signed checkpoint goes to
//! every peer's `add-checkpoint` with a consistency proof from the size that peer last cosigned.
//! A 409 answer names the size the peer holds: the push is retried once from there (catch-up after
//! downtime is one proof). A peer that holds a size beyond this ledger's means this ledger was
//! rolled back (restored from a backup): alarm. Collected cosignatures are appended to this hub's
//! ledger as one `Cosignature` entry (the checkpoint note with the cosignature lines: a C2SP
//! cosigned checkpoint anyone can check with the peers' witness keys) and indexed in
//! `anchor_cosignatures`.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;

use super::alarm::{self, Alarm};
use super::{Anchor, Peer, store};
use crate::audit::{AuditSink, Prepared};
use crate::ledger::checkpoint::{Checkpoint, verify_note};
use crate::ledger::db;
use crate::ledger::leaf::{EntryKind, Envelope, Transport};
use crate::ledger::witness::AddCheckpoint;
use crate::store::Db;

/// The mutual-TLS HTTP client peers are called with: `cert`/`key` are this hub's client
/// certificate, `ca` the bundle the peers' server certificates must chain to.
pub fn http_client(cert: &Path, key: &Path, ca: &Path) -> Result<reqwest::Client, String> {
    let read = |p: &Path| std::fs::read(p).map_err(|e| format!("{}: {e}", p.display()));
    let mut b = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .connect_timeout(Duration::from_secs(5));
    if ca.exists() {
        let certs = reqwest::Certificate::from_pem_bundle(&read(ca)?)
            .map_err(|e| format!("{}: {e}", ca.display()))?;
        b = b.tls_certs_merge(certs);
    }
    if cert.exists() && key.exists() {
        // native-tls wants PKCS#8: re-encode whatever PEM key we were given.
        let pkey = openssl::pkey::PKey::private_key_from_pem(&read(key)?)
            .map_err(|e| format!("{}: {e}", key.display()))?;
        let pkcs8 = pkey
            .private_key_to_pem_pkcs8()
            .map_err(|e| format!("{}: {e}", key.display()))?;
        let id = reqwest::Identity::from_pkcs8_pem(&read(cert)?, &pkcs8)
            .map_err(|e| format!("{}: {e}", cert.display()))?;
        b = b.identity(id);
    }
    b.build().map_err(|e| e.to_string())
}

/// The outcome of one push to one peer.
#[derive(Debug)]
enum Pushed {
    /// The peer already cosigned this size.
    Current,
    /// Cosignature line(s), verified, with the timestamp.
    Cosigned {
        line: String,
        timestamp: u64,
    },
    /// The peer holds a size beyond ours.
    AheadOfUs(u64),
    Failed(String),
}

/// The pushing task's state: what each peer has cosigned.
pub struct Client {
    anchor: Arc<Anchor>,
    db: Db,
    sink: AuditSink,
    http: reqwest::Client,
    known: HashMap<String, u64>,
}

impl Client {
    pub async fn new(
        anchor: Arc<Anchor>,
        db: Db,
        sink: AuditSink,
        http: reqwest::Client,
    ) -> Result<Client, String> {
        let (known, alarms) = db
            .run(|c| Ok((store::cosigned_sizes(c)?, store::alarms(c, 1)?.len())))
            .await
            .map_err(|e| e.to_string())?;
        let known = known.into_iter().collect();
        // alarms raised before a restart still count until an operator deals with them
        metrics::gauge!("hiehub_anchor_alarm").set(if alarms > 0 { 1.0 } else { 0.0 });
        Ok(Client {
            anchor,
            db,
            sink,
            http,
            known,
        })
    }

    /// Runs rounds until `shutdown` turns true, the first at once. (`server::serve` runs one
    /// round before its listeners accept anything: a hub restored from a backup learns from its
    /// peers what they witnessed before it takes writes.)
    pub async fn run(mut self, mut shutdown: tokio::sync::watch::Receiver<bool>) {
        loop {
            self.round().await;
            tokio::select! {
                _ = tokio::time::sleep(self.anchor.interval) => {}
                _ = shutdown.changed() => return,
            }
            if *shutdown.borrow() {
                return;
            }
        }
    }

    /// One witness round: push the latest checkpoint to every peer, record the cosignatures.
    pub async fn round(&mut self) {
        let latest = match self.db.run(|c| Ok(db::latest_checkpoint(c)?)).await {
            Ok(Some(cp)) => cp,
            Ok(None) => return,
            Err(e) => {
                tracing::warn!(error = %e, "witness round: no checkpoint");
                return;
            }
        };
        let started = std::time::Instant::now();
        let peers = self.anchor.peers.clone();
        let pushes = peers.iter().map(|p| {
            let from = self.known.get(&p.name).copied().unwrap_or(0);
            self.push(p, from, &latest.note, latest.size)
        });
        let results = futures_util::future::join_all(pushes).await;
        let mut lines = Vec::new();
        for (peer, result) in peers.iter().zip(results) {
            match result {
                Pushed::Current => {}
                Pushed::Cosigned { line, timestamp } => {
                    metrics::counter!("hiehub_anchor_cosignatures_total", "peer" => peer.name.clone())
                        .increment(1);
                    lines.push((peer.clone(), line, timestamp));
                }
                Pushed::AheadOfUs(size) => {
                    let detail = format!(
                        "peer {} has witnessed size {size} of this hub's ledger, which has only {} \
                         entries in its latest checkpoint: this ledger was rolled back (restored from \
                         a backup?) or forked",
                        peer.name, latest.size
                    );
                    alarm::raise(
                        &self.db,
                        &self.sink,
                        Alarm {
                            peer: peer.name.clone(),
                            kind: "own_rollback",
                            detail,
                            evidence: None,
                            dedup: format!("own_rollback:{}:{size}", peer.name),
                        },
                    )
                    .await;
                }
                Pushed::Failed(why) => {
                    metrics::counter!("hiehub_anchor_push_failures_total", "peer" => peer.name.clone())
                        .increment(1);
                    tracing::warn!(peer = %peer.name, error = %why, "witness push failed");
                }
            }
        }
        metrics::histogram!("hiehub_anchor_round_seconds").record(started.elapsed());
        if lines.is_empty() {
            return;
        }
        let mut note = latest.note.clone();
        for (_, line, _) in &lines {
            note.push_str(line);
        }
        let entry = Prepared::new(
            EntryKind::Cosignature,
            Envelope {
                received_at_micros: chrono::Utc::now().timestamp_micros(),
                transport: Transport::Internal,
                sender_fingerprint: None,
                connection_id: None,
                frame_seq: None,
            },
            Bytes::from(note),
            None,
        );
        let seq = match self.sink.record_batch(vec![entry]).await {
            Ok(r) => match r.first() {
                Some(r) => r.seq,
                None => return,
            },
            Err(e) => {
                tracing::error!(error = %e, "collected cosignatures not appended to the ledger");
                return;
            }
        };
        let size = latest.size;
        let root = latest.root;
        let rows: Vec<(String, String, String, u32, u64)> = lines
            .iter()
            .map(|(p, line, ts)| {
                (
                    p.name.clone(),
                    p.witness_key.name().to_owned(),
                    line.clone(),
                    p.witness_key.key_id(),
                    *ts,
                )
            })
            .collect();
        let stored = self
            .db
            .run(move |c| {
                for (peer, key_name, line, key_id, ts) in &rows {
                    store::insert_cosignature(
                        c,
                        &store::NewCosignature {
                            peer,
                            size,
                            root: &root,
                            key_name,
                            key_id: *key_id,
                            cosigned_at: *ts,
                            line,
                            ledger_seq: seq,
                        },
                    )?;
                }
                Ok(())
            })
            .await;
        match stored {
            Ok(()) => {
                for (p, _, _) in &lines {
                    self.known.insert(p.name.clone(), size);
                }
            }
            Err(e) => tracing::error!(error = %e, "cosignatures not indexed"),
        }
    }

    async fn push(&self, peer: &Peer, from: u64, note: &str, size: u64) -> Pushed {
        let mut old = from;
        for _attempt in 0..3 {
            if old == size {
                return Pushed::Current;
            }
            let proof = if old == 0 || old > size {
                Vec::new()
            } else {
                match self
                    .db
                    .run(move |c| Ok(db::consistency_proof(c, old, size)?))
                    .await
                {
                    Ok(p) => p,
                    Err(e) => {
                        return Pushed::Failed(format!("consistency proof {old}→{size}: {e}"));
                    }
                }
            };
            let body = AddCheckpoint {
                old,
                proof,
                checkpoint: note.to_owned(),
            }
            .encode();
            let resp = match self
                .http
                .post(format!("{}/ledger/add-checkpoint", peer.url))
                .header("content-type", "text/plain; charset=utf-8")
                .body(body)
                .send()
                .await
            {
                Ok(r) => r,
                Err(e) => return Pushed::Failed(format!("{}: {e}", peer.url)),
            };
            let status = resp.status().as_u16();
            let text = resp.text().await.unwrap_or_default();
            match status {
                200 => return self.check_cosignature(peer, note, &text),
                409 => {
                    let Ok(held) = text.trim().parse::<u64>() else {
                        return Pushed::Failed(format!("409 without a size: {text:?}"));
                    };
                    if held > size {
                        return Pushed::AheadOfUs(held);
                    }
                    old = held;
                }
                // We pushed from a size beyond our own checkpoint (our record of what the peer
                // cosigned survived a rollback of the ledger): the witness refused with 400.
                400 if old > size => return Pushed::AheadOfUs(old),
                _ => return Pushed::Failed(format!("HTTP {status}: {}", text.trim())),
            }
        }
        Pushed::Failed("the peer's size kept changing".into())
    }

    fn check_cosignature(&self, peer: &Peer, note: &str, lines: &str) -> Pushed {
        let cosigned = format!("{note}{lines}");
        match verify_note(&cosigned, std::slice::from_ref(&peer.witness_key)) {
            Ok(v) => {
                let ts = v
                    .signatures
                    .iter()
                    .find_map(|s| s.timestamp)
                    .unwrap_or_default();
                if Checkpoint::parse(&v.body).is_err() {
                    return Pushed::Failed("cosigned body is not a checkpoint".into());
                }
                Pushed::Cosigned {
                    line: lines
                        .lines()
                        .filter(|l| {
                            l.strip_prefix(crate::ledger::checkpoint::SIGNATURE_PREFIX)
                                .and_then(|r| r.split(' ').next())
                                == Some(peer.witness_key.name())
                        })
                        .map(|l| format!("{l}\n"))
                        .collect(),
                    timestamp: ts,
                }
            }
            Err(e) => Pushed::Failed(format!(
                "the answer is not a cosignature by {}'s witness key: {e}",
                peer.name
            )),
        }
    }
}
