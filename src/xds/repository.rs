//! The Document Repository's blob store (ITI TF-2b §3.41.4.1.3: the repository stores the
//! documents it is given, §3.43.4.2.3: and returns them byte for byte).
//!
//! Content addressed: a document lives at `<data_dir>/blobs/<h[0..2]>/<h[2..4]>/<h>` where `h` is
//! the hex SHA-256 of its bytes. A write goes to a temporary file in the same directory, is
//! fsynced, renamed into place, and the directory is fsynced, so a blob either exists whole or
//! not at all. The same bytes submitted twice share one file.
//!
//! Invariant: a blob is on disk before any registry row refers to it; a submission that fails
//! removes the blobs it created (and only those, see [`BlobStore::discard`]).

use std::collections::HashMap;
use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

use bytes::Bytes;

use super::oid::Oid;

/// Blobs at least this large are memory-mapped by [`BlobStore::read`] rather than read: the
/// pages are the kernel's page cache, so a large document is never copied into the heap (ITI-43
/// "streamed so a 100 MB document does not sit in memory twice").
const MAP_AT_LEAST: u64 = 64 * 1024;

/// The repositoryUniqueId used when `HIEHUB_REPOSITORY_UNIQUE_ID` is not set.
/// TODO(config): move to a `repository_unique_id` config key once the config owner adds it.
pub const DEFAULT_REPOSITORY_UNIQUE_ID: &str = "1.3.6.1.4.1.21367.2017.2.5.99";

/// This repository's repositoryUniqueId: `HIEHUB_REPOSITORY_UNIQUE_ID` when set to a valid OID,
/// [`DEFAULT_REPOSITORY_UNIQUE_ID`] otherwise. Read once per process.
pub fn repository_unique_id() -> &'static Oid {
    static ID: OnceLock<Oid> = OnceLock::new();
    ID.get_or_init(|| {
        let configured = std::env::var("HIEHUB_REPOSITORY_UNIQUE_ID").ok();
        match configured.as_deref().map(Oid::parse) {
            Some(Ok(oid)) => oid,
            Some(Err(e)) => {
                tracing::error!(error = %e, "HIEHUB_REPOSITORY_UNIQUE_ID is not an OID; using the default {DEFAULT_REPOSITORY_UNIQUE_ID}");
                default_oid()
            }
            None => default_oid(),
        }
    })
}

fn default_oid() -> Oid {
    match Oid::parse(DEFAULT_REPOSITORY_UNIQUE_ID) {
        Ok(o) => o,
        Err(e) => unreachable!("the default repositoryUniqueId is an OID: {e}"),
    }
}

/// The SHA-256 of `bytes`, lower-case hex: the blob key.
pub fn blob_key(bytes: &[u8]) -> String {
    hex::encode(openssl::sha::sha256(bytes))
}

/// Blobs other submissions of this process are writing right now, with how many: a blob one
/// submission created must not be removed while another one that found it already there is
/// still in flight.
fn in_flight() -> &'static Mutex<HashMap<String, usize>> {
    static PINS: OnceLock<Mutex<HashMap<String, usize>>> = OnceLock::new();
    PINS.get_or_init(|| Mutex::new(HashMap::new()))
}

/// What one `put` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored {
    pub key: String,
    /// The blob did not exist before this write.
    pub created: bool,
}

#[derive(Debug, Clone)]
pub struct BlobStore {
    root: PathBuf,
}

impl BlobStore {
    /// The store under `<data_dir>/blobs`.
    pub fn new(data_dir: &Path) -> BlobStore {
        BlobStore {
            root: data_dir.join("blobs"),
        }
    }

    pub fn path_of(&self, key: &str) -> Option<PathBuf> {
        let valid = key.len() == 64 && key.bytes().all(|b| b.is_ascii_hexdigit());
        valid.then(|| self.root.join(&key[0..2]).join(&key[2..4]).join(key))
    }

    /// Stores `bytes` durably and pins the blob until [`BlobStore::release`] or
    /// [`BlobStore::discard`].
    pub fn put(&self, bytes: &[u8]) -> io::Result<Stored> {
        let key = blob_key(bytes);
        let path = self
            .path_of(&key)
            .ok_or_else(|| io::Error::other("bad blob key"))?;
        {
            let mut pins = in_flight().lock().unwrap_or_else(|p| p.into_inner());
            *pins.entry(key.clone()).or_insert(0) += 1;
        }
        let result = self.write_new(&path, bytes);
        match result {
            Ok(created) => Ok(Stored { key, created }),
            Err(e) => {
                self.unpin(&key);
                Err(e)
            }
        }
    }

    fn write_new(&self, path: &Path, bytes: &[u8]) -> io::Result<bool> {
        if path.exists() {
            return Ok(false);
        }
        let dir = path
            .parent()
            .ok_or_else(|| io::Error::other("blob path without a parent"))?;
        fs::create_dir_all(dir)?;
        let tmp = dir.join(format!(".tmp-{}", uuid::Uuid::new_v4().simple()));
        let written = (|| {
            let mut f = File::create_new(&tmp)?;
            f.write_all(bytes)?;
            f.sync_all()?;
            fs::rename(&tmp, path)
        })();
        if let Err(e) = written {
            let _ = fs::remove_file(&tmp);
            return Err(e);
        }
        File::open(dir)?.sync_all()?;
        Ok(true)
    }

    fn unpin(&self, key: &str) -> usize {
        let mut pins = in_flight().lock().unwrap_or_else(|p| p.into_inner());
        let left = match pins.get_mut(key) {
            Some(n) => {
                *n = n.saturating_sub(1);
                *n
            }
            None => 0,
        };
        if left == 0 {
            pins.remove(key);
        }
        left
    }

    /// The submission that stored `stored` committed: the blob stays.
    pub fn release(&self, stored: &[Stored]) {
        for s in stored {
            self.unpin(&s.key);
        }
    }

    /// The submission that stored `stored` failed: removes the blobs it created, unless another
    /// submission in flight also holds them or `still_referenced(key)` says a committed row
    /// refers to them.
    pub fn discard(&self, stored: &[Stored], mut still_referenced: impl FnMut(&str) -> bool) {
        for s in stored {
            let others = self.unpin(&s.key);
            if !s.created || others > 0 || still_referenced(&s.key) {
                continue;
            }
            if let Some(path) = self.path_of(&s.key)
                && let Err(e) = fs::remove_file(&path)
                && e.kind() != io::ErrorKind::NotFound
            {
                tracing::error!(error = %e, blob = %s.key, "could not remove the blob of a failed submission");
            }
        }
    }

    /// The bytes of blob `key`: read into the heap when small, memory-mapped from
    /// [`MAP_AT_LEAST`] bytes on (no copy; the pages stay the page cache's).
    pub fn read(&self, key: &str) -> io::Result<Bytes> {
        let path = self
            .path_of(key)
            .ok_or_else(|| io::Error::other("bad blob key"))?;
        let file = File::open(&path)?;
        let len = file.metadata()?.len();
        if len < MAP_AT_LEAST {
            let mut buf = Vec::with_capacity(len as usize);
            io::Read::read_to_end(&mut &file, &mut buf)?;
            return Ok(Bytes::from(buf));
        }
        // SAFETY: a blob file is immutable once renamed into place: it is never truncated or
        // written again (same bytes, same name), only unlinked, which leaves an existing mapping
        // valid. So the mapped bytes cannot change under the `Bytes` that owns the mapping.
        let map = unsafe { memmap2::Mmap::map(&file)? };
        Ok(Bytes::from_owner(map))
    }

    /// Every blob key on disk (tests, consistency checks).
    pub fn keys(&self) -> io::Result<Vec<String>> {
        let mut out = Vec::new();
        let mut stack = vec![self.root.clone()];
        while let Some(d) = stack.pop() {
            let entries = match fs::read_dir(&d) {
                Ok(e) => e,
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(e) => return Err(e),
            };
            for entry in entries {
                let path = entry?.path();
                if path.is_dir() {
                    stack.push(path);
                } else if let Some(name) = path.file_name().and_then(|n| n.to_str())
                    && self.path_of(name).is_some()
                {
                    out.push(name.to_owned());
                }
            }
        }
        out.sort();
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn put_is_content_addressed_and_discard_removes_only_new_blobs() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = BlobStore::new(dir.path());
        let a = store.put(b"first").expect("put");
        assert!(a.created);
        let path = store.path_of(&a.key).expect("path");
        assert!(path.starts_with(dir.path().join("blobs").join(&a.key[0..2])));
        store.release(std::slice::from_ref(&a));
        let again = store.put(b"first").expect("put again");
        assert!(!again.created);
        let b = store.put(b"second").expect("put");
        store.discard(&[again, b.clone()], |_| false);
        assert!(path.exists(), "a blob that existed before stays");
        assert!(!store.path_of(&b.key).expect("path").exists());
        assert_eq!(
            store.read(&a.key).expect("read"),
            Bytes::from_static(b"first")
        );
        assert_eq!(store.keys().expect("keys"), vec![a.key]);
    }

    #[test]
    fn a_blob_pinned_by_another_submission_survives_discard() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = BlobStore::new(dir.path());
        let first = store.put(b"shared").expect("put");
        let second = store.put(b"shared").expect("put");
        store.discard(std::slice::from_ref(&first), |_| false);
        assert!(store.path_of(&first.key).expect("path").exists());
        store.release(&[second]);
        assert!(store.path_of("../etc").is_none());
    }

    #[test]
    fn default_repository_unique_id_is_an_oid() {
        assert_eq!(default_oid().as_str(), DEFAULT_REPOSITORY_UNIQUE_ID);
    }
}
