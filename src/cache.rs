//! The originals cache on disk. It coalesces: however many requests want the same missing
//! original at once, it is fetched once and they all wait for it. (Finished responses
//! are cached in memory by `http::results`.)
//!
//! The disk cache is crash-safe by construction: an original is written to a temp file
//! and renamed into place only when complete, so a `kill -9` can leave temp files (removed
//! at the next start) but never a partial original under its final name. The in-memory
//! index (moka, weighed in bytes, least recently used evicted) is rebuilt from the
//! directory at start; evicting an entry deletes its file, and its note if it has one.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;

use moka::future::Cache;
use moka::notification::RemovalCause;
use moka::policy::EvictionPolicy;
use sha2::{Digest, Sha256};

const TEMP_SUFFIX: &str = ".tmp";
/// A short text kept beside an entry (`<key>.note`): a `?url=` original's final URL.
const NOTE_EXTENSION: &str = "note";

#[derive(Debug)]
struct Entry {
    path: PathBuf,
    size: u64,
}

/// Originals on disk under `dir`, at most `max_bytes` of them.
#[derive(Clone)]
pub struct DiskCache {
    dir: PathBuf,
    index: Cache<String, Arc<Entry>>,
}

/// What went wrong filling an entry: the filler's own error, or the disk's.
#[derive(Debug, thiserror::Error)]
pub enum Error<E> {
    #[error(transparent)]
    Fill(E),
    #[error("local cache: {0}")]
    Io(#[from] std::io::Error),
}

/// Hit or miss, for metrics and logs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Hit,
    Miss,
}

impl Outcome {
    pub fn label(self) -> &'static str {
        match self {
            Self::Hit => "hit",
            Self::Miss => "miss",
        }
    }
}

impl DiskCache {
    /// Opens (creating) the cache directory, removes temp files left by a crash and
    /// indexes what is there, oldest first so that they are the first evicted.
    pub async fn open(dir: &Path, max_bytes: u64) -> std::io::Result<Self> {
        tokio::fs::create_dir_all(dir).await?;
        let index = Cache::builder()
            .max_capacity(max_bytes)
            .weigher(|_: &String, e: &Arc<Entry>| u32::try_from(e.size).unwrap_or(u32::MAX))
            .eviction_policy(EvictionPolicy::lru())
            .eviction_listener(|_key, entry: Arc<Entry>, cause| {
                // A replaced entry points at the same file, which now holds the new bytes.
                if cause != RemovalCause::Replaced {
                    let _ = std::fs::remove_file(&entry.path);
                    let _ = std::fs::remove_file(entry.path.with_extension(NOTE_EXTENSION));
                }
                if cause == RemovalCause::Size {
                    evicted("originals");
                }
            })
            .build();
        let cache = Self {
            dir: dir.to_path_buf(),
            index,
        };
        let dir = dir.to_path_buf();
        let found = tokio::task::spawn_blocking(move || scan(&dir))
            .await
            .map_err(std::io::Error::other)??;
        for (key, entry) in found {
            cache.index.insert(key, Arc::new(entry)).await;
        }
        cache.settle().await;
        Ok(cache)
    }

    /// The cache key of anything: a hex SHA-256, which is also the file name.
    pub fn key(identity: &str) -> String {
        hex::encode(Sha256::digest(identity.as_bytes()))
    }

    fn path(&self, key: &str) -> PathBuf {
        // Two levels of 256 directories keep any one directory small.
        self.dir.join(&key[0..2]).join(&key[2..4]).join(key)
    }

    /// The entry under `key`, opened, produced by `fill` (which writes it into the file it
    /// is given and hands it back) if it is not cached. Concurrent calls for one key run
    /// `fill` once.
    pub async fn get_or_fill<E, F, Fut>(
        &self,
        key: &str,
        fill: F,
    ) -> Result<(Blob, Outcome), Arc<Error<E>>>
    where
        E: Send + Sync + 'static,
        F: FnOnce(tokio::fs::File) -> Fut,
        Fut: Future<Output = Result<tokio::fs::File, E>>,
    {
        let mut fill = Some(fill);
        // Twice at most: an entry can be evicted (its file deleted) between lookup and read.
        for _ in 0..2 {
            let mut fresh = None;
            let entry = self
                .index
                .try_get_with(key.to_owned(), async {
                    let fill = fill
                        .take()
                        .ok_or_else(|| Error::Io(std::io::Error::other("entry vanished twice")))?;
                    let entry = self.write(key, fill).await?;
                    // Opened before the index admits the entry: an original larger than the
                    // whole cache is evicted at once, and must still be served once.
                    fresh = Some(Blob::open(&entry.path).await?);
                    Ok(Arc::new(entry))
                })
                .await?;
            if let Some(blob) = fresh {
                // Evictions run now rather than some time later, so the bytes on disk stay
                // under the cap at all times but for the files being written.
                self.settle().await;
                return Ok((blob, Outcome::Miss));
            }
            match Blob::open(&entry.path).await {
                Ok(blob) => return Ok((blob, Outcome::Hit)),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    self.index.invalidate(key).await;
                }
                Err(e) => return Err(Arc::new(Error::Io(e))),
            }
        }
        Err(Arc::new(Error::Io(std::io::Error::other(
            "cache entry vanished while read",
        ))))
    }

    async fn write<E, F, Fut>(&self, key: &str, fill: F) -> Result<Entry, Error<E>>
    where
        F: FnOnce(tokio::fs::File) -> Fut,
        Fut: Future<Output = Result<tokio::fs::File, E>>,
    {
        use tokio::io::AsyncWriteExt;
        let path = self.path(key);
        let temp = self.temp_beside(&path, key).await?;
        let file = tokio::fs::File::create(&temp).await?;
        let finished = match fill(file).await {
            Ok(mut file) => file.flush().await.map_err(Error::Io),
            Err(e) => Err(Error::Fill(e)),
        };
        if let Err(e) = finished {
            let _ = tokio::fs::remove_file(&temp).await;
            return Err(e);
        }
        tokio::fs::rename(&temp, &path).await?;
        let size = tokio::fs::metadata(&path).await?.len();
        Ok(Entry { path, size })
    }

    /// The note kept beside `key`'s entry, if any.
    pub async fn note(&self, key: &str) -> Option<String> {
        let path = self.path(key).with_extension(NOTE_EXTENSION);
        tokio::fs::read_to_string(path).await.ok()
    }

    /// Keeps `note` beside `key`'s entry (written in full before it is visible), or
    /// removes the note with `None`.
    pub async fn set_note(&self, key: &str, note: Option<&str>) -> std::io::Result<()> {
        let path = self.path(key).with_extension(NOTE_EXTENSION);
        let Some(note) = note else {
            return match tokio::fs::remove_file(&path).await {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
                _ => Ok(()),
            };
        };
        let temp = self.temp_beside(&path, key).await?;
        tokio::fs::write(&temp, note).await?;
        tokio::fs::rename(&temp, &path).await
    }

    /// A fresh temp file name in `path`'s directory (created if needed); one left behind
    /// by a crash is removed at the next start.
    async fn temp_beside(&self, path: &Path, key: &str) -> std::io::Result<PathBuf> {
        let parent = path.parent().unwrap_or(&self.dir);
        tokio::fs::create_dir_all(parent).await?;
        let mut nonce = [0u8; 8];
        let _ = getrandom::fill(&mut nonce);
        Ok(parent.join(format!("{key}.{}{TEMP_SUFFIX}", hex::encode(nonce))))
    }

    /// Runs pending evictions and publishes the bytes kept.
    async fn settle(&self) {
        self.index.run_pending_tasks().await;
        metrics::gauge!("ferrotype_cache_bytes", "cache" => "originals")
            .set(self.index.weighted_size() as f64);
    }

    /// Bytes the index accounts for (equal to the bytes on disk once evictions have run).
    pub async fn weighted_size(&self) -> u64 {
        self.settle().await;
        self.index.weighted_size()
    }
}

/// Finds cached files and deletes temp files and orphan notes, returning entries oldest
/// first.
fn scan(dir: &Path) -> std::io::Result<Vec<(String, Entry)>> {
    let mut found = Vec::new();
    for level1 in std::fs::read_dir(dir)? {
        let level1 = level1?.path();
        if !level1.is_dir() {
            continue;
        }
        for level2 in std::fs::read_dir(&level1)? {
            let level2 = level2?.path();
            if !level2.is_dir() {
                continue;
            }
            for file in std::fs::read_dir(&level2)? {
                let file = file?;
                let path = file.path();
                let name = file.file_name().to_string_lossy().into_owned();
                // Temp files, and notes whose entry is gone (a crash between the two).
                let orphan_note = path.extension().is_some_and(|e| e == NOTE_EXTENSION)
                    && !path.with_extension("").exists();
                if name.ends_with(TEMP_SUFFIX) || orphan_note {
                    let _ = std::fs::remove_file(&path);
                    continue;
                }
                let meta = file.metadata()?;
                if !meta.is_file()
                    || name.len() != 64
                    || !name.bytes().all(|b| b.is_ascii_hexdigit())
                {
                    continue;
                }
                let used = meta
                    .accessed()
                    .or_else(|_| meta.modified())
                    .unwrap_or(SystemTime::UNIX_EPOCH);
                found.push((
                    used,
                    name,
                    Entry {
                        path,
                        size: meta.len(),
                    },
                ));
            }
        }
    }
    found.sort_by_key(|(used, ..)| *used);
    Ok(found.into_iter().map(|(_, k, e)| (k, e)).collect())
}

/// Bytes on disk, opened but not read: what a request holds while it waits for an image
/// worker, which reads them. An open file stays readable after its entry is evicted.
#[derive(Debug)]
pub struct Blob {
    file: std::fs::File,
    len: u64,
}

impl Blob {
    /// Opens `path`, which must be a regular file (a directory or a device is refused).
    pub async fn open(path: &Path) -> std::io::Result<Self> {
        let file = tokio::fs::File::open(path).await?.into_std().await;
        let meta = file.metadata()?;
        if !meta.is_file() {
            return Err(std::io::Error::other("not a regular file"));
        }
        Ok(Self {
            file,
            len: meta.len(),
        })
    }

    pub fn len(&self) -> u64 {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Reads the first `max` bytes at most, blocking: on a worker thread, or for a small
    /// `max`.
    pub fn read_up_to(&self, max: u64) -> std::io::Result<Vec<u8>> {
        use std::os::unix::fs::FileExt;
        let n = usize::try_from(self.len.min(max)).map_err(std::io::Error::other)?;
        let mut bytes = vec![0u8; n];
        self.file.read_exact_at(&mut bytes, 0)?;
        Ok(bytes)
    }

    /// All the bytes, blocking: on a worker thread.
    pub fn read(&self) -> std::io::Result<Vec<u8>> {
        self.read_up_to(self.len)
    }
}

/// Counts an entry evicted for space from one of the caches.
pub(crate) fn evicted(cache: &'static str) {
    metrics::counter!("ferrotype_cache_evictions_total", "cache" => cache).increment(1);
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use tokio::io::AsyncWriteExt;

    /// What the cache answers for `key`, filling it with `bytes` on a miss.
    async fn put(cache: &DiskCache, key: &str, bytes: &'static [u8]) -> (Bytes, Outcome) {
        let (blob, outcome) = cache
            .get_or_fill::<std::io::Error, _, _>(key, |mut f| async move {
                f.write_all(bytes).await?;
                Ok(f)
            })
            .await
            .unwrap();
        (blob.read().unwrap().into(), outcome)
    }

    #[tokio::test]
    async fn fills_once_then_hits_and_survives_a_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let cache = DiskCache::open(dir.path(), 1 << 20).await.unwrap();
        let key = DiskCache::key("http://origin/a.jpg");
        assert_eq!(
            put(&cache, &key, b"abc").await,
            (Bytes::from("abc"), Outcome::Miss)
        );
        assert_eq!(
            put(&cache, &key, b"zzz").await,
            (Bytes::from("abc"), Outcome::Hit)
        );
        // A temp file left by a crash is removed at the next start.
        let stray = cache.path(&key).with_extension("dead.tmp");
        std::fs::write(&stray, b"partial").unwrap();
        drop(cache);
        let cache = DiskCache::open(dir.path(), 1 << 20).await.unwrap();
        assert!(!stray.exists());
        assert_eq!(
            put(&cache, &key, b"zzz").await,
            (Bytes::from("abc"), Outcome::Hit)
        );
    }

    #[tokio::test]
    async fn notes_live_and_die_with_their_entry() {
        let dir = tempfile::tempdir().unwrap();
        let cache = DiskCache::open(dir.path(), 250).await.unwrap();
        let (a, b) = (DiskCache::key("a"), DiskCache::key("b"));
        put(&cache, &a, &[1u8; 100]).await;
        cache.set_note(&a, Some("https://final/a")).await.unwrap();
        // A note without an entry: what a crash during a download can leave.
        cache.set_note(&b, Some("https://final/b")).await.unwrap();
        drop(cache);
        let cache = DiskCache::open(dir.path(), 250).await.unwrap();
        assert_eq!(cache.note(&a).await.as_deref(), Some("https://final/a"));
        assert_eq!(cache.note(&b).await, None);
        // Evicting `a` for space takes its note along.
        for k in ["c", "d"] {
            put(&cache, &DiskCache::key(k), &[2u8; 100]).await;
        }
        assert_eq!(cache.note(&a).await, None);
        assert!(!cache.path(&a).exists());
        cache.set_note(&a, None).await.unwrap();
    }

    #[tokio::test]
    async fn a_failed_fill_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let cache = DiskCache::open(dir.path(), 1 << 20).await.unwrap();
        let key = DiskCache::key("x");
        let err = cache
            .get_or_fill(&key, |mut f| async move {
                f.write_all(b"half").await.map_err(|_| "io")?;
                Err::<tokio::fs::File, _>("origin died")
            })
            .await
            .unwrap_err();
        assert!(matches!(*err, Error::Fill("origin died")));
        let files: Vec<_> = walk(dir.path());
        assert!(files.is_empty(), "{files:?}");
    }

    #[tokio::test]
    async fn an_original_larger_than_the_cache_is_served_once_and_not_kept() {
        let dir = tempfile::tempdir().unwrap();
        let cache = DiskCache::open(dir.path(), 10).await.unwrap();
        let key = DiskCache::key("big");
        assert_eq!(put(&cache, &key, &[1u8; 100]).await.0.len(), 100);
        assert!(walk(dir.path()).is_empty());
    }

    #[tokio::test]
    async fn stays_under_its_byte_cap() {
        let dir = tempfile::tempdir().unwrap();
        let cache = DiskCache::open(dir.path(), 1000).await.unwrap();
        for i in 0..30 {
            put(&cache, &DiskCache::key(&i.to_string()), &[7u8; 100]).await;
        }
        assert!(cache.weighted_size().await <= 1000);
        let on_disk: u64 = walk(dir.path())
            .iter()
            .map(|p| p.metadata().unwrap().len())
            .sum();
        assert!(on_disk <= 1000, "{on_disk} bytes on disk");
    }

    fn walk(dir: &Path) -> Vec<PathBuf> {
        let mut out = Vec::new();
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                out.extend(walk(&p));
            } else {
                out.push(p);
            }
        }
        out
    }
}
