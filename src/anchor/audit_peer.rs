//! `hiehub ledger audit-peer URL`: checks a hub from outside with public keys only and no
//! database — its signed checkpoint, the cosignatures on its latest cosigned checkpoint (k of the
//! witness keys given), that the cosigned checkpoint and the one kept from the last run are
//! prefixes of the current one (consistency proofs from its API), and the alarms it reports.

use std::path::PathBuf;
use std::process::ExitCode;

use crate::ledger::checkpoint::{Checkpoint, VerifierKey, verify_note};
use crate::ledger::hash::Hash;
use crate::ledger::merkle::verify_consistency;

pub struct Options {
    pub url: String,
    pub vkey: Option<String>,
    pub witness_vkeys: Vec<String>,
    pub quorum: usize,
    pub state: Option<PathBuf>,
    pub cert: Option<PathBuf>,
    pub key: Option<PathBuf>,
    pub ca: Option<PathBuf>,
}

pub fn run(opts: &Options) -> anyhow::Result<ExitCode> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(audit(opts))
}

async fn get(http: &reqwest::Client, url: &str) -> anyhow::Result<(u16, String, Option<String>)> {
    let r = http
        .get(url)
        .send()
        .await
        .map_err(|e| anyhow::anyhow!("GET {url}: {e}"))?;
    let status = r.status().as_u16();
    let vkey = r
        .headers()
        .get("hiehub-verifier-key")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    Ok((status, r.text().await.unwrap_or_default(), vkey))
}

async fn consistency(
    http: &reqwest::Client,
    base: &str,
    from: (u64, Hash),
    to: (u64, Hash),
) -> anyhow::Result<()> {
    if from.0 == to.0 {
        return if from.1 == to.1 {
            Ok(())
        } else {
            Err(anyhow::anyhow!(
                "two signed checkpoints of size {} with different roots: a fork",
                from.0
            ))
        };
    }
    if from.0 > to.0 {
        return Err(anyhow::anyhow!(
            "the hub now shows size {} after size {} (rollback)",
            to.0,
            from.0
        ));
    }
    let url = format!("{base}/api/ledger/consistency?from={}&to={}", from.0, to.0);
    let (status, body, _) = get(http, &url).await?;
    if status != 200 {
        return Err(anyhow::anyhow!("GET {url}: HTTP {status}: {}", body.trim()));
    }
    let v: serde_json::Value = serde_json::from_str(&body)?;
    let proof = v["proof"]
        .as_array()
        .ok_or_else(|| anyhow::anyhow!("consistency answer without a proof"))?
        .iter()
        .map(|h| {
            h.as_str()
                .and_then(|s| hex::decode(s).ok())
                .and_then(|b| Hash::try_from(b.as_slice()).ok())
                .ok_or_else(|| anyhow::anyhow!("proof hash {h} is not 32 bytes of hex"))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    verify_consistency(from.0, to.0, &proof, &from.1, &to.1)
        .map_err(|e| anyhow::anyhow!("size {} is not a prefix of size {}: {e}", from.0, to.0))
}

async fn audit(opts: &Options) -> anyhow::Result<ExitCode> {
    let base = opts.url.trim_end_matches('/');
    let dev = |p: &Option<PathBuf>| p.clone().unwrap_or_default();
    let http = super::client::http_client(&dev(&opts.cert), &dev(&opts.key), &dev(&opts.ca))
        .map_err(|e| anyhow::anyhow!(e))?;
    let mut ok = true;

    let (status, note, header_key) = get(&http, &format!("{base}/ledger/checkpoint")).await?;
    if status != 200 {
        println!(
            "FAILED: {base}/ledger/checkpoint: HTTP {status}: {}",
            note.trim()
        );
        return Ok(ExitCode::FAILURE);
    }
    let vkey = match (&opts.vkey, header_key) {
        (Some(k), _) => k.clone(),
        (None, Some(k)) => {
            eprintln!("warning: no --vkey given; using the key the hub itself sends ({k})");
            k
        }
        (None, None) => anyhow::bail!("no --vkey given and the hub sent none"),
    };
    let key = VerifierKey::parse(&vkey)?;
    let latest = match Checkpoint::open(&note, std::slice::from_ref(&key)) {
        Ok((c, _)) => c,
        Err(e) => {
            println!(
                "FAILED: the checkpoint does not verify with {}: {e}",
                key.name()
            );
            return Ok(ExitCode::FAILURE);
        }
    };
    println!(
        "OK: {} signed size {} (root {})",
        latest.origin(),
        latest.size(),
        hex::encode(latest.root())
    );

    let (status, cosigned, _) = get(&http, &format!("{base}/ledger/cosigned-checkpoint")).await?;
    if status == 200 {
        match Checkpoint::open(&cosigned, std::slice::from_ref(&key)) {
            Err(e) => {
                ok = false;
                println!("FAILED: the cosigned checkpoint does not verify: {e}");
            }
            Ok((c, _)) => {
                let mut count = 0;
                for w in &opts.witness_vkeys {
                    let wk = VerifierKey::parse(w)?;
                    match verify_note(&cosigned, std::slice::from_ref(&wk)) {
                        Ok(v) => {
                            count += 1;
                            let ts = v.signatures.iter().find_map(|s| s.timestamp).unwrap_or(0);
                            let when = chrono::DateTime::from_timestamp(ts as i64, 0)
                                .map(|t| t.to_rfc3339())
                                .unwrap_or_default();
                            println!("OK: size {} cosigned by {} at {when}", c.size(), wk.name());
                        }
                        Err(e) => println!("  no valid cosignature by {}: {e}", wk.name()),
                    }
                }
                if !opts.witness_vkeys.is_empty() {
                    if count >= opts.quorum {
                        println!(
                            "OK: size {} is anchored ({count} of k = {})",
                            c.size(),
                            opts.quorum
                        );
                    } else {
                        ok = false;
                        println!(
                            "FAILED: size {} has {count} valid cosignatures, k = {}",
                            c.size(),
                            opts.quorum
                        );
                    }
                }
                match consistency(
                    &http,
                    base,
                    (c.size(), *c.root()),
                    (latest.size(), *latest.root()),
                )
                .await
                {
                    Ok(()) => println!(
                        "OK: the cosigned size {} is a prefix of size {}",
                        c.size(),
                        latest.size()
                    ),
                    Err(e) => {
                        ok = false;
                        println!("FAILED: {e}");
                    }
                }
            }
        }
    } else {
        println!("NOTE: no cosigned checkpoint yet (HTTP {status})");
        if !opts.witness_vkeys.is_empty() && opts.quorum > 0 {
            ok = false;
        }
    }

    if let Some(path) = &opts.state {
        if let Ok(prev) = std::fs::read_to_string(path) {
            match Checkpoint::open(&prev, std::slice::from_ref(&key)) {
                Ok((p, _)) => match consistency(
                    &http,
                    base,
                    (p.size(), *p.root()),
                    (latest.size(), *latest.root()),
                )
                .await
                {
                    Ok(()) => println!(
                        "OK: size {} seen last time is a prefix of size {}",
                        p.size(),
                        latest.size()
                    ),
                    Err(e) => {
                        ok = false;
                        println!(
                            "FAILED: against the checkpoint kept in {}: {e}",
                            path.display()
                        );
                    }
                },
                Err(e) => println!(
                    "NOTE: the kept checkpoint in {} does not verify: {e}",
                    path.display()
                ),
            }
        }
        if ok {
            std::fs::write(path, &note)?;
        }
    }

    let (status, alarms, _) = get(&http, &format!("{base}/api/ledger/alarms")).await?;
    if status == 200 {
        let list: Vec<serde_json::Value> = serde_json::from_str(&alarms).unwrap_or_default();
        if list.is_empty() {
            println!("OK: the hub reports no anchoring alarms");
        }
        for a in &list {
            println!(
                "ALARM at the hub: {} peer {}: {}",
                a["kind"].as_str().unwrap_or("?"),
                a["peer"].as_str().unwrap_or("?"),
                a["detail"].as_str().unwrap_or("")
            );
        }
    }
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
