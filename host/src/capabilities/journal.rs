//! Journals: outstanding work items (stream requests) kept on disk until each is handled.
//! The file is a log of `+item` / `-item` lines; what is outstanding is replayed at open and
//! the log is compacted whenever it grows well beyond what is outstanding, so both the file
//! and the memory stay proportional to the work in flight, not to the run's history.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// Compact when the log holds this many more records than twice the outstanding items.
const COMPACT_SLACK: u64 = 10_000;

pub type JournalHandle = Arc<Mutex<Journal>>;

#[derive(Debug)]
pub struct Journal {
    path: PathBuf,
    file: File,
    /// Item → how many times it is outstanding.
    pending: HashMap<String, u32>,
    recovered: Vec<String>,
    records: u64,
}

fn check_item(item: &str) -> io::Result<()> {
    if item.is_empty() || item.contains(['\n', '\r']) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("invalid journal item {item:?}"),
        ));
    }
    Ok(())
}

/// Outstanding items and how many times each: the log replayed (a torn last line ignored).
fn replay(path: &Path) -> io::Result<HashMap<String, u32>> {
    let mut pending: HashMap<String, u32> = HashMap::new();
    let data = match std::fs::read(path) {
        Ok(data) => data,
        Err(e) if e.kind() == io::ErrorKind::NotFound => Vec::new(),
        Err(e) => return Err(e),
    };
    // Only whole lines count: a last line without its newline is a torn write.
    let complete = data.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
    for line in data[..complete].split(|b| *b == b'\n') {
        let text = String::from_utf8_lossy(line);
        if let Some(item) = text.strip_prefix('+') {
            *pending.entry(item.to_string()).or_default() += 1;
        } else if let Some(item) = text.strip_prefix('-')
            && let Some(n) = pending.get_mut(item)
        {
            *n -= 1;
            if *n == 0 {
                pending.remove(item);
            }
        }
    }
    Ok(pending)
}

impl Journal {
    /// The outstanding items, sorted, without opening the journal for writing.
    pub fn peek(path: &Path) -> io::Result<Vec<String>> {
        let mut items: Vec<String> = replay(path)?.into_keys().collect();
        items.sort();
        Ok(items)
    }

    /// Open `path`, replaying it (a torn last line is ignored) and compacting it.
    pub fn open(path: PathBuf) -> io::Result<Self> {
        let pending = replay(&path)?;
        let mut recovered: Vec<String> = pending.keys().cloned().collect();
        recovered.sort();
        let file = rewrite(&path, &pending)?;
        let records = pending.values().map(|n| u64::from(*n)).sum();
        Ok(Journal {
            path,
            file,
            pending,
            recovered,
            records,
        })
    }

    /// Record items as outstanding and fsync.
    pub fn add(&mut self, items: &[String]) -> io::Result<()> {
        let mut buf = Vec::new();
        for item in items {
            check_item(item)?;
            buf.extend_from_slice(b"+");
            buf.extend_from_slice(item.as_bytes());
            buf.push(b'\n');
        }
        self.file.write_all(&buf)?;
        self.file.sync_data()?;
        for item in items {
            *self.pending.entry(item.clone()).or_default() += 1;
        }
        self.records += items.len() as u64;
        Ok(())
    }

    /// Mark one item handled (written, not fsynced).
    pub fn done(&mut self, item: &str) -> io::Result<()> {
        check_item(item)?;
        self.file.write_all(format!("-{item}\n").as_bytes())?;
        self.records += 1;
        if let Some(n) = self.pending.get_mut(item) {
            *n -= 1;
            if *n == 0 {
                self.pending.remove(item);
            }
        }
        let outstanding: u64 = self.pending.values().map(|n| u64::from(*n)).sum();
        if self.records > 2 * outstanding + COMPACT_SLACK {
            self.file = rewrite(&self.path, &self.pending)?;
            self.records = outstanding;
        }
        Ok(())
    }

    pub fn recovered(&self) -> &[String] {
        &self.recovered
    }

    pub fn outstanding(&self) -> u32 {
        self.pending.values().sum()
    }
}

/// Replace the log with one `+item` line per outstanding item (temp, fsync, rename, fsync dir)
/// and return it opened for appending.
fn rewrite(path: &Path, pending: &HashMap<String, u32>) -> io::Result<File> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    let mut items: Vec<(&String, &u32)> = pending.iter().collect();
    items.sort();
    let mut buf = Vec::new();
    for (item, n) in items {
        for _ in 0..*n {
            buf.extend_from_slice(format!("+{item}\n").as_bytes());
        }
    }
    tmp.write_all(&buf)?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    File::open(dir)?.sync_all()?;
    OpenOptions::new().append(true).open(path)
}

/// One journal per name per run, shared by every worker.
#[derive(Debug, Default)]
pub struct JournalRegistry {
    journals: Mutex<HashMap<PathBuf, JournalHandle>>,
}

impl JournalRegistry {
    pub fn open(&self, path: PathBuf) -> io::Result<JournalHandle> {
        let mut journals = self.journals.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(j) = journals.get(&path) {
            return Ok(j.clone());
        }
        let journal = Arc::new(Mutex::new(Journal::open(path.clone())?));
        journals.insert(path, journal.clone());
        Ok(journal)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn items(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn outstanding_items_survive_a_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("streams.journal");
        let mut j = Journal::open(path.clone()).unwrap();
        j.add(&items(&[
            "k1/s/content/a",
            "k2/s/content/b",
            "k3/s/content/c",
        ]))
        .unwrap();
        j.done("k2/s/content/b").unwrap();
        drop(j);
        let j = Journal::open(path).unwrap();
        assert_eq!(j.recovered(), items(&["k1/s/content/a", "k3/s/content/c"]));
        assert_eq!(j.outstanding(), 2);
    }

    #[test]
    fn a_torn_last_line_and_duplicates_are_handled() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j");
        std::fs::write(&path, "+a\n+a\n-a\n+b\n-b").unwrap(); // "-b" is torn: it never happened
        let j = Journal::open(path.clone()).unwrap();
        assert_eq!(j.recovered(), items(&["a", "b"]));
        std::fs::write(&path, "+a\n+b\n+cd").unwrap(); // "+cd" may be the start of "+cdef"
        let j = Journal::open(path).unwrap();
        assert_eq!(j.recovered(), items(&["a", "b"]));
    }

    #[test]
    fn the_log_is_compacted_as_work_completes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j");
        let mut j = Journal::open(path.clone()).unwrap();
        for i in 0..30_000 {
            let item = format!("e/s/content/{i}");
            j.add(std::slice::from_ref(&item)).unwrap();
            j.done(&item).unwrap();
        }
        let lines = std::fs::read_to_string(&path).unwrap().lines().count();
        assert!(lines <= 2 * COMPACT_SLACK as usize + 2, "{lines} lines");
        assert!(Journal::open(path).unwrap().recovered().is_empty());
    }

    #[test]
    fn items_with_newlines_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let mut j = Journal::open(dir.path().join("j")).unwrap();
        assert!(j.add(&items(&["a\n+b"])).is_err());
        assert_eq!(j.outstanding(), 0);
    }
}
