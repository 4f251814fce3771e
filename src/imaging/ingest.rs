//! Storing a batch of instances (one STOW-RS request, one C-STORE, the KOS of a RAD-68):
//! every file parsed, the good ones written to the blob store (fsynced) and indexed in ONE
//! database transaction; a file that does not parse is reported with its DICOM failure reason
//! and stored nowhere. When the transaction fails, the blobs this batch created are removed.

use bytes::Bytes;

use super::parse::{self, ParseError};
use super::{Instance, index};
use crate::store::{Db, StoreError};
use crate::xds::repository::{BlobStore, Stored as StoredBlob};

/// One instance of the batch that was stored.
#[derive(Debug, Clone)]
pub struct Accepted {
    pub instance: Instance,
    pub blob_key: String,
    pub size: i64,
}

/// One part of the batch that was refused, with its failure reason (PS3.18 Table 10.5.3-1).
#[derive(Debug, Clone)]
pub struct Refused {
    /// Index of the part in the request (0-based).
    pub part: usize,
    pub sop_class_uid: Option<String>,
    pub sop_instance_uid: Option<String>,
    pub reason: u16,
    pub message: String,
}

#[derive(Debug, Default)]
pub struct BatchOutcome {
    pub accepted: Vec<Accepted>,
    pub refused: Vec<Refused>,
}

/// A check the caller applies to each parsed instance (STOW-RS to a study URL: the instance
/// must belong to that study). `Err((reason, message))` refuses it.
pub type Check = Box<dyn Fn(&Instance) -> Result<(), (u16, String)> + Send>;

/// Stores `files` (Part-10 bytes) from `source` (`STOW-RS`, `C-STORE`, `RAD-68`).
pub async fn store_batch(
    db: &Db,
    blobs: &BlobStore,
    files: Vec<Bytes>,
    source: &'static str,
    check: Option<Check>,
) -> Result<BatchOutcome, StoreError> {
    let blobs_w = blobs.clone();
    // Parse and write blobs on the blocking pool (CPU and fsync).
    let (mut outcome, created) = tokio::task::spawn_blocking(move || {
        let mut outcome = BatchOutcome::default();
        let mut created: Vec<StoredBlob> = Vec::new();
        for (part, bytes) in files.into_iter().enumerate() {
            // The whole object, pixel data included: a truncated file fails here.
            let parsed = parse::read_object(&bytes).and_then(|obj| parse::instance(&obj));
            let instance = match parsed {
                Ok(i) => i,
                Err(e) => {
                    outcome.refused.push(refused(part, &e));
                    continue;
                }
            };
            if let Some(check) = &check
                && let Err((reason, message)) = check(&instance)
            {
                outcome.refused.push(Refused {
                    part,
                    sop_class_uid: Some(instance.sop_class_uid.to_string()),
                    sop_instance_uid: Some(instance.sop_instance_uid.to_string()),
                    reason,
                    message,
                });
                continue;
            }
            match blobs_w.put(&bytes) {
                Ok(stored) => {
                    outcome.accepted.push(Accepted {
                        instance,
                        blob_key: stored.key.clone(),
                        size: bytes.len() as i64,
                    });
                    created.push(stored);
                }
                Err(e) => {
                    tracing::error!(error = %e, "instance blob not written");
                    outcome.refused.push(Refused {
                        part,
                        sop_class_uid: Some(instance.sop_class_uid.to_string()),
                        sop_instance_uid: Some(instance.sop_instance_uid.to_string()),
                        reason: 0xA700,
                        message: "out of resources: the instance could not be written".into(),
                    });
                }
            }
        }
        (outcome, created)
    })
    .await
    .map_err(|e| StoreError::Join(e.to_string()))?;

    if outcome.accepted.is_empty() {
        blobs.release(&created);
        return Ok(outcome);
    }
    let rows: Vec<(Instance, String, i64)> = outcome
        .accepted
        .iter()
        .map(|a| (a.instance.clone(), a.blob_key.clone(), a.size))
        .collect();
    let result = db
        .run(move |conn| {
            use diesel::Connection;
            conn.transaction(|conn| {
                for (instance, key, size) in &rows {
                    index::upsert(conn, instance, key, *size, source)?;
                }
                Ok::<_, StoreError>(())
            })
        })
        .await;
    match result {
        Ok(()) => {
            blobs.release(&created);
            Ok(outcome)
        }
        Err(e) => {
            let db = db.clone();
            let blobs = blobs.clone();
            // Remove the blobs this batch created unless a row (of another batch) refers to them.
            let _ = tokio::task::spawn_blocking(move || {
                let mut conn = crate::store::connect(db.url()).ok();
                blobs.discard(&created, |key| match conn.as_mut() {
                    Some(c) => {
                        index::blob_referenced(c, key).unwrap_or(true)
                            || crate::xds::registry::blob_referenced(c, key).unwrap_or(true)
                    }
                    None => true,
                });
            })
            .await;
            outcome.accepted.clear();
            Err(e)
        }
    }
}

fn refused(part: usize, e: &ParseError) -> Refused {
    Refused {
        part,
        sop_class_uid: None,
        sop_instance_uid: None,
        reason: e.failure_reason(),
        message: e.to_string(),
    }
}
