//! The original's maintenance commands over the backup state directory: list, clear and add
//! failed stream requests. (`trigger-backup-failed-streams` runs the backup component.)

use std::io::Write;

use anyhow::{Context, Result};

use crate::capabilities::statedir::StateDir;
use crate::keys::validate_segment;

/// Failed once (`<event>/<source>/<label>/<sha256>` per line).
pub const FAILED_FILE: &str = "backup.stream";
/// Failed again and absent from the dispatcher.
pub const COMPLEX_FILE: &str = "backup-failed.stream";

/// `source/label/sha256` of each well-formed line of a failure list.
fn streams_of(dir: &StateDir, name: &str) -> Result<Vec<String>> {
    let text = dir
        .read(name)
        .with_context(|| format!("reading {name}"))?
        .unwrap_or_default();
    Ok(text
        .lines()
        .filter_map(|line| {
            let parts: Vec<&str> = line.split('/').collect();
            match parts[..] {
                [_, source, label, sha256] => Some(format!("{source}/{label}/{sha256}")),
                _ if line.trim().is_empty() => None,
                _ => {
                    tracing::error!("{name}: ignoring malformed line {line:?}");
                    None
                }
            }
        })
        .collect())
}

/// `list-failed-backup-streams`.
pub fn list_failed(dir: &StateDir, out: &mut impl Write) -> Result<()> {
    writeln!(out, "Streams that have failed to backup.")?;
    for s in streams_of(dir, FAILED_FILE)? {
        writeln!(out, "{s}")?;
    }
    writeln!(
        out,
        "Streams that have failed to backup and don't appear to exist in dispatcher."
    )?;
    for s in streams_of(dir, COMPLEX_FILE)? {
        writeln!(out, "{s}")?;
    }
    Ok(())
}

/// `clear-backup-streams [--confirm]`: forget streams given up on; returns what was said.
pub fn clear_failed(dir: &StateDir, confirm: bool) -> Result<&'static str> {
    if !confirm {
        return Ok(
            "Not deleting failed streams as you need to add the --confirm flag to confirm data loss.",
        );
    }
    dir.remove(COMPLEX_FILE)
        .context("removing backup-failed.stream")?;
    Ok("Deleting all the streams that have failed to backup more than once.")
}

/// `add-failed-stream PATH...`: the last three segments of each path are source/label/sha256.
pub fn add_failed(dir: &StateDir, paths: &[String], out: &mut impl Write) -> Result<()> {
    for path in paths {
        let parts: Vec<&str> = path.trim_end_matches('/').rsplitn(3, '/').collect();
        let [sha256, label, source] = parts[..] else {
            anyhow::bail!("{path:?} is not <source>/<label>/<sha256>");
        };
        let source = source.rsplit('/').next().unwrap_or(source);
        for segment in [source, label, sha256] {
            validate_segment(segment).with_context(|| format!("{path:?}"))?;
        }
        dir.append_line(
            COMPLEX_FILE,
            &format!("userSupplied/{source}/{label}/{sha256}"),
        )?;
        writeln!(out, "Successfully added {path}")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn add_list_and_clear() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = StateDir::open(tmp.path()).unwrap();
        dir.append_line(FAILED_FILE, "k1/testing/content/aa")
            .unwrap();
        dir.append_line(FAILED_FILE, "broken line").unwrap();
        let mut out = Vec::new();
        add_failed(&dir, &["s3://bucket/testing/content/bb".into()], &mut out).unwrap();
        assert!(add_failed(&dir, &["../x".into()], &mut Vec::new()).is_err());
        assert!(add_failed(&dir, &["a/../content/x".into()], &mut Vec::new()).is_err());
        let mut listed = Vec::new();
        list_failed(&dir, &mut listed).unwrap();
        assert_eq!(
            String::from_utf8(listed).unwrap(),
            "Streams that have failed to backup.\ntesting/content/aa\n\
             Streams that have failed to backup and don't appear to exist in dispatcher.\ntesting/content/bb\n"
        );
        assert!(
            clear_failed(&dir, false)
                .unwrap()
                .starts_with("Not deleting")
        );
        assert!(dir.read(COMPLEX_FILE).unwrap().is_some());
        clear_failed(&dir, true).unwrap();
        assert!(dir.read(COMPLEX_FILE).unwrap().is_none());
        assert!(
            dir.read(FAILED_FILE).unwrap().is_some(),
            "only the given-up list is cleared"
        );
    }
}
