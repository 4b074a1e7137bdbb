//! `statedir`: the local state directory ("filecache"). Small files are replaced
//! atomically; event spools are append-only and fsynced before the guest goes on, so a
//! fetched batch survives `kill -9`.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use wasmtime::component::Resource;

use super::batch::{EventBatch, invalid_count, last_valid, stream_requests};
use super::journal::JournalHandle;
use super::keyset::KeySet;
use super::{HostState, wit_error};
use crate::avro::{DecodedEvent, Model, decode_bulk};
use crate::crashpoint::{self, Point};
use crate::runtime::bindings::{
    statedir,
    types::{Error as WitError, ErrorKind, EventMark, StreamRequest},
};

/// Frame header: payload length then its CRC32, both little-endian u32.
const FRAME_HEADER: usize = 8;

/// One operation's state directory, e.g. `<rootdir>/backup`.
#[derive(Debug, Clone)]
pub struct StateDir {
    dir: PathBuf,
}

impl StateDir {
    pub fn open(dir: impl Into<PathBuf>) -> io::Result<Self> {
        let dir = dir.into();
        fs::create_dir_all(&dir)?;
        fs::create_dir_all(dir.join("tmp"))?;
        Ok(StateDir { dir })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Scratch space for bodies, on the same disk as the state.
    pub fn tmp_dir(&self) -> PathBuf {
        self.dir.join("tmp")
    }

    /// Resolve a file name; names are single path components chosen by the guest.
    pub fn path(&self, name: &str) -> io::Result<PathBuf> {
        let ok = !name.is_empty()
            && name != "."
            && name != ".."
            && name != "tmp"
            && !name.contains(['/', '\\', '\0'])
            && !name.starts_with('.');
        if !ok {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("invalid state file name {name:?}"),
            ));
        }
        Ok(self.dir.join(name))
    }

    pub fn read(&self, name: &str) -> io::Result<Option<String>> {
        match fs::read_to_string(self.path(name)?) {
            Ok(s) => Ok(Some(s)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Write to a temp file, fsync, rename over the target, fsync the directory.
    pub fn write_atomic(&self, name: &str, content: &[u8]) -> io::Result<()> {
        let target = self.path(name)?;
        let mut tmp = tempfile::NamedTempFile::new_in(self.tmp_dir())?;
        tmp.write_all(content)?;
        tmp.as_file().sync_all()?;
        tmp.persist(&target).map_err(|e| e.error)?;
        sync_dir(&self.dir)
    }

    pub fn append_line(&self, name: &str, line: &str) -> io::Result<()> {
        let mut f = OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.path(name)?)?;
        f.write_all(format!("{}\n", line.trim_end_matches('\n')).as_bytes())?;
        f.sync_data()
    }

    pub fn remove(&self, name: &str) -> io::Result<()> {
        match fs::remove_file(self.path(name)?) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
            _ => sync_dir(&self.dir),
        }
    }
}

fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Fetched events of one consumer, held until they are in the object store.
pub struct Spool {
    path: PathBuf,
    model: Model,
    events: Vec<DecodedEvent>,
}

impl Spool {
    /// Open `path`, recovering every complete frame; a torn last frame (a crash during the
    /// append) is cut off.
    pub fn open(path: PathBuf, model: Model) -> io::Result<Self> {
        let mut spool = Spool {
            path,
            model,
            events: Vec::new(),
        };
        let data = match File::open(&spool.path) {
            Ok(mut f) => {
                let mut data = Vec::new();
                f.read_to_end(&mut data)?;
                data
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(e),
        };
        let (events, pos) = read_frames(&data, model)
            .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", spool.path.display())))?;
        spool.events = events;
        if pos < data.len() {
            tracing::warn!(path = %spool.path.display(), torn_bytes = data.len() - pos, "cutting off a torn spool frame");
            let f = OpenOptions::new().write(true).open(&spool.path)?;
            f.set_len(pos as u64)?;
            f.sync_all()?;
        }
        Ok(spool)
    }

    /// How many events a spool file holds and how many torn bytes follow them, without
    /// changing the file (for `status`, while a backup may be running).
    pub fn peek(path: &Path, model: Model) -> io::Result<(usize, u64)> {
        let data = match fs::read(path) {
            Ok(data) => data,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok((0, 0)),
            Err(e) => return Err(e),
        };
        let (events, pos) = read_frames(&data, model)
            .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", path.display())))?;
        Ok((events.len(), (data.len() - pos) as u64))
    }

    /// Append a fetched bulk as one frame and fsync it.
    pub fn append(&mut self, raw_bulk: &[u8], events: &[DecodedEvent]) -> io::Result<()> {
        let mut f = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)?;
        let mut frame = Vec::with_capacity(FRAME_HEADER + raw_bulk.len());
        frame.extend_from_slice(&(raw_bulk.len() as u32).to_le_bytes());
        frame.extend_from_slice(&crc32fast::hash(raw_bulk).to_le_bytes());
        frame.extend_from_slice(raw_bulk);
        f.write_all(&frame)?;
        f.sync_data()?;
        if let Some(dir) = self.path.parent() {
            sync_dir(dir)?;
        }
        self.events.extend_from_slice(events);
        Ok(())
    }

    /// `<source>-<model>-<action>`: the file name without `.spool`.
    pub fn name(&self) -> String {
        let stem = self.path.file_stem().unwrap_or_default();
        stem.to_string_lossy().into_owned()
    }

    pub fn events(&self) -> &[DecodedEvent] {
        &self.events
    }

    pub fn model(&self) -> Model {
        self.model
    }

    pub fn clear(&mut self) -> io::Result<()> {
        match fs::remove_file(&self.path) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
            _ => {}
        }
        if let Some(dir) = self.path.parent() {
            sync_dir(dir)?;
        }
        self.events.clear();
        Ok(())
    }
}

/// The events of every complete frame, and where the complete frames end.
fn read_frames(data: &[u8], model: Model) -> io::Result<(Vec<DecodedEvent>, usize)> {
    let (mut events, mut pos) = (Vec::new(), 0);
    while data.len() - pos >= FRAME_HEADER {
        let len = u32::from_le_bytes(data[pos..pos + 4].try_into().expect("4 bytes")) as usize;
        let crc = u32::from_le_bytes(data[pos + 4..pos + 8].try_into().expect("4 bytes"));
        let Some(payload) = data.get(pos + FRAME_HEADER..pos + FRAME_HEADER + len) else {
            break;
        };
        if crc32fast::hash(payload) != crc {
            break;
        }
        let decoded = decode_bulk(model, payload)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e.to_string()))?;
        events.extend(decoded);
        pos += FRAME_HEADER + len;
    }
    Ok((events, pos))
}

pub(crate) fn io_error(e: io::Error) -> WitError {
    let kind = if e.kind() == io::ErrorKind::InvalidInput {
        ErrorKind::InvalidInput
    } else {
        ErrorKind::Io
    };
    wit_error(kind, e.to_string(), false)
}

impl HostState {
    /// `azul_backup_spool_events{spool}`.
    fn gauge_spool(&self, name: &str, depth: usize) {
        if let Some(ops) = self.ops() {
            let depth = i64::try_from(depth).unwrap_or(i64::MAX);
            ops.spool_depth.with_label_values(&[name]).set(depth);
        }
    }
}

impl statedir::HostSpool for HostState {
    async fn append(
        &mut self,
        this: Resource<Spool>,
        batch: Resource<EventBatch>,
    ) -> wasmtime::Result<Result<(), WitError>> {
        let batch = self.table.get(&batch)?;
        let (raw, events) = (batch.raw.clone(), batch.events.clone());
        let started = std::time::Instant::now();
        let spool = self.table.get_mut(&this)?;
        let appended = spool.append(&raw, &events).map_err(io_error);
        let (name, depth) = (spool.name(), spool.events.len());
        self.time_stage("spool", started);
        self.gauge_spool(&name, depth);
        Ok(crashpoint::after_ok(appended, Point::SpoolSynced))
    }

    async fn len(&mut self, this: Resource<Spool>) -> wasmtime::Result<u32> {
        Ok(self.table.get(&this)?.events.len() as u32)
    }

    async fn invalid_count(&mut self, this: Resource<Spool>) -> wasmtime::Result<u32> {
        Ok(invalid_count(&self.table.get(&this)?.events))
    }

    async fn last_valid(&mut self, this: Resource<Spool>) -> wasmtime::Result<Option<EventMark>> {
        Ok(last_valid(&self.table.get(&this)?.events))
    }

    async fn stream_requests(
        &mut self,
        this: Resource<Spool>,
    ) -> wasmtime::Result<Vec<StreamRequest>> {
        Ok(stream_requests(
            &self.table.get(&this)?.events,
            &self.run.stats,
        ))
    }

    async fn clear(&mut self, this: Resource<Spool>) -> wasmtime::Result<Result<(), WitError>> {
        let spool = self.table.get_mut(&this)?;
        let cleared = spool.clear().map_err(io_error);
        let (name, depth) = (spool.name(), spool.events.len());
        self.gauge_spool(&name, depth);
        Ok(crashpoint::after_ok(cleared, Point::SpoolCleared))
    }

    async fn drop(&mut self, this: Resource<Spool>) -> wasmtime::Result<()> {
        self.table.delete(this)?;
        Ok(())
    }
}

impl statedir::HostJournal for HostState {
    async fn add(
        &mut self,
        this: Resource<JournalHandle>,
        items: Vec<String>,
    ) -> wasmtime::Result<Result<(), WitError>> {
        let journal = self.table.get(&this)?.clone();
        let mut journal = journal.lock().unwrap_or_else(|p| p.into_inner());
        let added = journal.add(&items).map_err(io_error);
        Ok(crashpoint::after_ok(added, Point::StreamJournaled))
    }

    async fn done(
        &mut self,
        this: Resource<JournalHandle>,
        item: String,
    ) -> wasmtime::Result<Result<(), WitError>> {
        let journal = self.table.get(&this)?.clone();
        let mut journal = journal.lock().unwrap_or_else(|p| p.into_inner());
        let done = journal.done(&item).map_err(io_error);
        Ok(crashpoint::after_ok(done, Point::StreamDone))
    }

    async fn recovered(&mut self, this: Resource<JournalHandle>) -> wasmtime::Result<Vec<String>> {
        let journal = self.table.get(&this)?.clone();
        let journal = journal.lock().unwrap_or_else(|p| p.into_inner());
        Ok(journal.recovered().to_vec())
    }

    async fn outstanding(&mut self, this: Resource<JournalHandle>) -> wasmtime::Result<u32> {
        let journal = self.table.get(&this)?.clone();
        let journal = journal.lock().unwrap_or_else(|p| p.into_inner());
        Ok(journal.outstanding())
    }

    async fn drop(&mut self, this: Resource<JournalHandle>) -> wasmtime::Result<()> {
        self.table.delete(this)?;
        Ok(())
    }
}

impl statedir::Host for HostState {
    async fn open_journal(
        &mut self,
        name: String,
    ) -> wasmtime::Result<Result<Resource<JournalHandle>, WitError>> {
        let opened = self
            .run
            .statedir
            .path(&format!("{name}.journal"))
            .and_then(|p| self.run.journals.open(p));
        Ok(match opened {
            Ok(journal) => Ok(self.table.push(journal)?),
            Err(e) => Err(io_error(e)),
        })
    }

    async fn open_key_set(
        &mut self,
        name: String,
    ) -> wasmtime::Result<Result<Resource<KeySet>, WitError>> {
        let opened = self
            .run
            .statedir
            .path(&format!("{name}.keys"))
            .and_then(KeySet::open);
        Ok(match opened {
            Ok(set) => Ok(self.table.push(set)?),
            Err(e) => Err(io_error(e)),
        })
    }

    async fn open_spool(
        &mut self,
        name: String,
        model: String,
    ) -> wasmtime::Result<Result<Resource<Spool>, WitError>> {
        let model: Model = match model.parse() {
            Ok(m) => m,
            Err(e) => {
                return Ok(Err(wit_error(
                    ErrorKind::InvalidInput,
                    format!("{e}"),
                    false,
                )));
            }
        };
        let opened = self
            .run
            .statedir
            .path(&format!("{name}.spool"))
            .and_then(|p| Spool::open(p, model));
        Ok(match opened {
            Ok(spool) => {
                self.gauge_spool(&spool.name(), spool.events.len());
                Ok(self.table.push(spool)?)
            }
            Err(e) => Err(io_error(e)),
        })
    }

    async fn read(&mut self, name: String) -> wasmtime::Result<Result<Option<String>, WitError>> {
        Ok(self.run.statedir.read(&name).map_err(io_error))
    }

    async fn write_atomic(
        &mut self,
        name: String,
        content: String,
    ) -> wasmtime::Result<Result<(), WitError>> {
        let started = std::time::Instant::now();
        let written = self.run.statedir.write_atomic(&name, content.as_bytes());
        self.time_stage("checkpoint", started);
        Ok(crashpoint::after_ok(
            written.map_err(io_error),
            Point::StateWritten,
        ))
    }

    async fn append_line(
        &mut self,
        name: String,
        line: String,
    ) -> wasmtime::Result<Result<(), WitError>> {
        Ok(self
            .run
            .statedir
            .append_line(&name, &line)
            .map_err(io_error))
    }

    async fn remove(&mut self, name: String) -> wasmtime::Result<Result<(), WitError>> {
        Ok(self.run.statedir.remove(&name).map_err(io_error))
    }
}
