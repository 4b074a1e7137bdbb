//! Key sets: sets of strings too large for memory, kept on disk as sorted runs (one key a
//! line) in one directory per set. A handle buffers what it adds and writes it as a new run
//! when the buffer is full, on `flush` and on drop; reading merges every run in byte order,
//! each key once. Handles opened under one name — by any worker — share the set through its
//! directory, so no registry is needed; memory stays bounded by the buffer and one line per
//! run being merged.

use std::cmp::Reverse;
use std::collections::{BTreeSet, BinaryHeap};
use std::fs::{self, File};
use std::io::{self, BufRead, BufReader, BufWriter, Lines, Write};
use std::path::{Path, PathBuf};

use wasmtime::component::Resource;

use super::HostState;
use super::statedir::io_error;
use crate::runtime::bindings::{statedir, types::Error as WitError};

const RUN_PREFIX: &str = "run-";
const PARTIAL_PREFIX: &str = ".partial-";

/// How much a handle buffers and how many runs one merge reads at once.
#[derive(Debug, Clone, Copy)]
pub struct KeySetLimits {
    pub buffer_bytes: usize,
    pub max_fan_in: usize,
}

impl Default for KeySetLimits {
    fn default() -> Self {
        KeySetLimits {
            buffer_bytes: 8 << 20,
            max_fan_in: 64,
        }
    }
}

pub struct KeySet {
    dir: PathBuf,
    limits: KeySetLimits,
    buffer: BTreeSet<String>,
    buffered_bytes: usize,
    /// The merge a previous `sorted` left off, with the last key it returned, so paging
    /// through the set reads every run once.
    reading: Option<(Merge, String)>,
}

fn check_key(key: &str) -> io::Result<()> {
    if key.contains(['\n', '\r']) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("key {key:?} holds a line break"),
        ));
    }
    Ok(())
}

impl KeySet {
    pub fn open(dir: PathBuf) -> io::Result<Self> {
        Self::with_limits(dir, KeySetLimits::default())
    }

    pub fn with_limits(dir: PathBuf, limits: KeySetLimits) -> io::Result<Self> {
        fs::create_dir_all(&dir)?;
        Ok(KeySet {
            dir,
            limits,
            buffer: BTreeSet::new(),
            buffered_bytes: 0,
            reading: None,
        })
    }

    pub fn add(&mut self, keys: &[String]) -> io::Result<()> {
        keys.iter().try_for_each(|k| check_key(k))?;
        self.reading = None;
        for key in keys {
            self.buffered_bytes += key.len() + 1;
            self.buffer.insert(key.clone());
        }
        if self.buffered_bytes >= self.limits.buffer_bytes {
            self.flush()?;
        }
        Ok(())
    }

    pub fn flush(&mut self) -> io::Result<()> {
        if self.buffer.is_empty() {
            return Ok(());
        }
        let keys = std::mem::take(&mut self.buffer);
        self.buffered_bytes = 0;
        write_run(&self.dir, keys.into_iter().map(Ok)).map(drop)
    }

    /// Distinct keys after `start_after` in byte order, at most `limit`.
    pub fn sorted(&mut self, start_after: Option<&str>, limit: u32) -> io::Result<Vec<String>> {
        self.flush()?;
        let mut merge = match self.reading.take() {
            Some((merge, last)) if start_after == Some(last.as_str()) => merge,
            _ => {
                let mut merge = self.merge_all()?;
                if let Some(after) = start_after {
                    merge.skip_through(after)?;
                }
                merge
            }
        };
        let mut out = Vec::new();
        while out.len() < limit as usize {
            match merge.next_key()? {
                Some(key) => out.push(key),
                None => break,
            }
        }
        if let Some(last) = out.last() {
            self.reading = Some((merge, last.clone()));
        }
        Ok(out)
    }

    pub fn clear(&mut self) -> io::Result<()> {
        self.buffer.clear();
        self.buffered_bytes = 0;
        self.reading = None;
        for entry in fs::read_dir(&self.dir)? {
            let path = entry?.path();
            match fs::remove_file(&path) {
                Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
                _ => {}
            }
        }
        Ok(())
    }

    fn runs(&self) -> io::Result<Vec<PathBuf>> {
        let mut runs = Vec::new();
        for entry in fs::read_dir(&self.dir)? {
            let entry = entry?;
            if entry.file_name().to_string_lossy().starts_with(RUN_PREFIX) {
                runs.push(entry.path());
            }
        }
        runs.sort();
        Ok(runs)
    }

    /// A merge over every run; while there are more runs than the fan-in, groups of them are
    /// first merged into bigger ones.
    fn merge_all(&self) -> io::Result<Merge> {
        let fan_in = self.limits.max_fan_in.max(2);
        let mut runs = self.runs()?;
        while runs.len() > fan_in {
            let mut merged = Vec::with_capacity(runs.len() / fan_in + 1);
            for group in runs.chunks(fan_in) {
                let mut merge = Merge::open(group)?;
                let keys = std::iter::from_fn(|| merge.next_key().transpose());
                merged.push(write_run(&self.dir, keys)?);
                group.iter().try_for_each(fs::remove_file)?;
            }
            runs = merged;
        }
        Merge::open(&runs)
    }
}

/// Write sorted, distinct keys as a new run; it appears under its final name complete or not
/// at all.
fn write_run(dir: &Path, keys: impl Iterator<Item = io::Result<String>>) -> io::Result<PathBuf> {
    let tmp = tempfile::Builder::new()
        .prefix(PARTIAL_PREFIX)
        .tempfile_in(dir)?;
    let mut out = BufWriter::new(tmp);
    for key in keys {
        out.write_all(key?.as_bytes())?;
        out.write_all(b"\n")?;
    }
    let tmp = out.into_inner().map_err(|e| e.into_error())?;
    let unique = tmp
        .path()
        .file_name()
        .and_then(|n| n.to_str())
        .and_then(|n| n.strip_prefix(PARTIAL_PREFIX))
        .unwrap_or("run")
        .to_string();
    let path = dir.join(format!("{RUN_PREFIX}{unique}"));
    tmp.persist_noclobber(&path).map_err(|e| e.error)?;
    Ok(path)
}

impl Drop for KeySet {
    fn drop(&mut self) {
        if let Err(e) = self.flush() {
            tracing::error!(dir = %self.dir.display(), "key set: buffered keys lost: {e}");
        }
    }
}

/// A k-way merge of sorted runs that yields each key once.
struct Merge {
    runs: Vec<Lines<BufReader<File>>>,
    heap: BinaryHeap<Reverse<(String, usize)>>,
    last: Option<String>,
}

impl Merge {
    fn open(paths: &[PathBuf]) -> io::Result<Self> {
        let mut merge = Merge {
            runs: Vec::with_capacity(paths.len()),
            heap: BinaryHeap::new(),
            last: None,
        };
        for (i, path) in paths.iter().enumerate() {
            merge.runs.push(BufReader::new(File::open(path)?).lines());
            merge.refill(i)?;
        }
        Ok(merge)
    }

    fn refill(&mut self, run: usize) -> io::Result<()> {
        if let Some(line) = self.runs[run].next().transpose()? {
            self.heap.push(Reverse((line, run)));
        }
        Ok(())
    }

    fn next_key(&mut self) -> io::Result<Option<String>> {
        while let Some(Reverse((key, run))) = self.heap.pop() {
            self.refill(run)?;
            if self.last.as_deref() != Some(key.as_str()) {
                self.last = Some(key.clone());
                return Ok(Some(key));
            }
        }
        Ok(None)
    }

    /// Drop every key up to and including `after`.
    fn skip_through(&mut self, after: &str) -> io::Result<()> {
        while let Some(Reverse((key, run))) = self.heap.peek() {
            if key.as_str() > after {
                break;
            }
            let run = *run;
            self.heap.pop();
            self.refill(run)?;
        }
        self.last = Some(after.to_string());
        Ok(())
    }
}

impl statedir::HostKeySet for HostState {
    async fn add(
        &mut self,
        this: Resource<KeySet>,
        keys: Vec<String>,
    ) -> wasmtime::Result<Result<(), WitError>> {
        Ok(self.table.get_mut(&this)?.add(&keys).map_err(io_error))
    }

    async fn flush(&mut self, this: Resource<KeySet>) -> wasmtime::Result<Result<(), WitError>> {
        Ok(self.table.get_mut(&this)?.flush().map_err(io_error))
    }

    async fn sorted(
        &mut self,
        this: Resource<KeySet>,
        start_after: Option<String>,
        limit: u32,
    ) -> wasmtime::Result<Result<Vec<String>, WitError>> {
        let set = self.table.get_mut(&this)?;
        Ok(set.sorted(start_after.as_deref(), limit).map_err(io_error))
    }

    async fn clear(&mut self, this: Resource<KeySet>) -> wasmtime::Result<Result<(), WitError>> {
        Ok(self.table.get_mut(&this)?.clear().map_err(io_error))
    }

    async fn drop(&mut self, this: Resource<KeySet>) -> wasmtime::Result<()> {
        self.table.delete(this)?; // flushes
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    fn small(dir: &Path) -> KeySet {
        let limits = KeySetLimits {
            buffer_bytes: 16,
            max_fan_in: 3,
        };
        KeySet::with_limits(dir.join("refs.keys"), limits).unwrap()
    }

    fn everything(set: &mut KeySet, page: u32) -> Vec<String> {
        let mut all: Vec<String> = Vec::new();
        loop {
            let next = set.sorted(all.last().map(String::as_str), page).unwrap();
            if next.is_empty() {
                return all;
            }
            all.extend(next);
        }
    }

    #[test]
    fn handles_of_one_name_share_a_sorted_distinct_set() {
        let dir = tempfile::tempdir().unwrap();
        let mut a = small(dir.path());
        let mut b = small(dir.path());
        a.add(&keys(&["s/c/3", "s/c/1", "s/c/2"])).unwrap();
        b.add(&keys(&["s/c/2", "s/c/0"])).unwrap();
        b.flush().unwrap();
        assert_eq!(
            everything(&mut a, 2),
            keys(&["s/c/0", "s/c/1", "s/c/2", "s/c/3"])
        );
        drop(a);
        let mut c = small(dir.path());
        assert_eq!(
            everything(&mut c, 10).len(),
            4,
            "a dropped handle's keys stay"
        );
    }

    #[test]
    fn many_runs_are_merged_into_fewer_with_bounded_fan_in() {
        let dir = tempfile::tempdir().unwrap();
        let mut set = small(dir.path());
        let mut expected = Vec::new();
        for i in (0..200).rev() {
            let key = format!("k{i:04}");
            set.add(&[key.clone(), key.clone()]).unwrap();
            expected.push(key);
        }
        expected.sort();
        assert!(set.runs().unwrap().len() > 3);
        assert_eq!(everything(&mut set, 7), expected);
        assert!(set.runs().unwrap().len() <= 3, "compacted");
    }

    #[test]
    fn start_after_may_be_any_key_and_adding_restarts_the_merge() {
        let dir = tempfile::tempdir().unwrap();
        let mut set = small(dir.path());
        set.add(&keys(&["a", "b", "c", "d"])).unwrap();
        assert_eq!(set.sorted(Some("bb"), 10).unwrap(), keys(&["c", "d"]));
        assert_eq!(set.sorted(None, 1).unwrap(), keys(&["a"]));
        set.add(&keys(&["ab"])).unwrap();
        assert_eq!(set.sorted(Some("a"), 2).unwrap(), keys(&["ab", "b"]));
    }

    #[test]
    fn clear_forgets_every_handles_keys_and_line_breaks_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let mut a = small(dir.path());
        a.add(&keys(&["x", "y"])).unwrap();
        a.flush().unwrap();
        let mut b = small(dir.path());
        b.clear().unwrap();
        assert!(a.sorted(None, 10).unwrap().is_empty());
        let err = a.add(&keys(&["ok", "bad\nkey"])).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        assert!(
            a.sorted(None, 10).unwrap().is_empty(),
            "nothing of a refused add"
        );
    }
}
