//! `body`: bytes held by the host, spooled to a temporary file so that memory stays
//! bounded for any size and an upload can be re-sent on retry.

use std::path::PathBuf;

use tempfile::TempPath;
use wasmtime::component::Resource;

use super::HostState;
use crate::runtime::bindings::types;

/// Where a body's bytes are.
pub enum Body {
    /// A dispatcher download not yet read.
    Download {
        response: reqwest::Response,
        sha256: String,
    },
    /// Decoded bytes in a temporary file (deleted on drop).
    File { path: TempPath, len: u64 },
}

impl Body {
    pub fn size_hint(&self) -> Option<u64> {
        match self {
            Body::Download { response, .. } => response.content_length(),
            Body::File { len, .. } => Some(*len),
        }
    }

    pub fn file_path(&self) -> Option<PathBuf> {
        match self {
            Body::File { path, .. } => Some(path.to_path_buf()),
            Body::Download { .. } => None,
        }
    }
}

impl types::HostBody for HostState {
    async fn size_hint(&mut self, this: Resource<Body>) -> wasmtime::Result<Option<u64>> {
        Ok(self.table.get(&this)?.size_hint())
    }

    async fn drop(&mut self, this: Resource<Body>) -> wasmtime::Result<()> {
        self.table.delete(this)?;
        Ok(())
    }
}

/// Failures while moving bytes between the dispatcher, the disk and the store.
#[derive(Debug, thiserror::Error)]
pub enum TransferError {
    #[error("download interrupted: {0}")]
    Download(String),
    #[error("content does not match its sha256: expected {expected}, got {actual}")]
    HashMismatch { expected: String, actual: String },
    #[error("not valid gzip: {0}")]
    BadGzip(String),
    #[error("local I/O failed: {0}")]
    Io(#[from] std::io::Error),
}

/// Write `chunks` into a temp file in `dir`, gzip-encoding when asked (level 1, as the
/// original), hashing the plain bytes on the way.
struct Spooler {
    hasher: sha2::Sha256,
    out: SpoolOut,
}

enum SpoolOut {
    Plain(std::io::BufWriter<tempfile::NamedTempFile>),
    Gzip(flate2::write::GzEncoder<std::io::BufWriter<tempfile::NamedTempFile>>),
}

impl Spooler {
    fn new(dir: &std::path::Path, gzip: bool) -> std::io::Result<Self> {
        let file = std::io::BufWriter::new(tempfile::NamedTempFile::new_in(dir)?);
        let out = if gzip {
            SpoolOut::Gzip(flate2::write::GzEncoder::new(
                file,
                flate2::Compression::fast(),
            ))
        } else {
            SpoolOut::Plain(file)
        };
        Ok(Spooler {
            hasher: sha2::Digest::new(),
            out,
        })
    }

    fn write(&mut self, chunk: &[u8]) -> std::io::Result<()> {
        use std::io::Write;
        sha2::Digest::update(&mut self.hasher, chunk);
        match &mut self.out {
            SpoolOut::Plain(w) => w.write_all(chunk),
            SpoolOut::Gzip(w) => w.write_all(chunk),
        }
    }

    /// Finish the file; returns it, its length on disk and the sha256 of the plain bytes.
    fn finish(self) -> std::io::Result<(TempPath, u64, String)> {
        let buffered = match self.out {
            SpoolOut::Plain(w) => w,
            SpoolOut::Gzip(w) => w.finish()?,
        };
        let file = buffered.into_inner().map_err(|e| e.into_error())?;
        // No fsync: the file is scratch, read back by this process and deleted; after a crash
        // the journal, not the file, says what to copy again. (Syncing it wrote every stream
        // through to the disk and made stream copies ~20 % slower.)
        let len = file.as_file().metadata()?.len();
        Ok((
            file.into_temp_path(),
            len,
            hex::encode(sha2::Digest::finalize(self.hasher)),
        ))
    }
}

/// Download a dispatcher body into a temp file (bounded memory), verifying its sha256 unless
/// `verify` is off (then a mismatch is only logged).
pub async fn spool_download(
    mut response: reqwest::Response,
    expected_sha256: &str,
    gzip: bool,
    verify: bool,
    dir: &std::path::Path,
) -> Result<(TempPath, u64), TransferError> {
    let mut spooler = Spooler::new(dir, gzip)?;
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| TransferError::Download(e.to_string()))?
    {
        spooler.write(&chunk)?;
    }
    let (path, len, actual) = spooler.finish()?;
    if !actual.eq_ignore_ascii_case(expected_sha256) {
        if !verify {
            tracing::warn!(expected = expected_sha256, %actual, "stream content does not match its sha256; kept (verification is off)");
            return Ok((path, len));
        }
        return Err(TransferError::HashMismatch {
            expected: expected_sha256.to_string(),
            actual,
        });
    }
    Ok((path, len))
}

/// Copy an object-store reader into a temp file, gunzipping when asked.
pub async fn spool_reader(
    mut reader: std::pin::Pin<Box<dyn tokio::io::AsyncRead + Send>>,
    gunzip: bool,
    dir: &std::path::Path,
) -> Result<(TempPath, u64), TransferError> {
    use std::io::Write;
    use tokio::io::AsyncReadExt;
    let mut spooler = Spooler::new(dir, false)?;
    let mut decoder = gunzip.then(|| flate2::write::MultiGzDecoder::new(Vec::new()));
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        let n = reader.read(&mut buf).await?;
        if n == 0 {
            break;
        }
        match &mut decoder {
            Some(d) => {
                d.write_all(&buf[..n])
                    .map_err(|e| TransferError::BadGzip(e.to_string()))?;
                spooler.write(d.get_ref())?;
                d.get_mut().clear();
            }
            None => spooler.write(&buf[..n])?,
        }
    }
    if let Some(d) = decoder {
        let rest = d
            .finish()
            .map_err(|e| TransferError::BadGzip(e.to_string()))?;
        spooler.write(&rest)?;
    }
    let (path, len, _) = spooler.finish()?;
    Ok((path, len))
}
