//! Log output, configured like the original's (bedrock) logger: `BED__LOG_LEVEL` (TRACE,
//! DEBUG, INFO, WARN, ERROR; default INFO) and `BED__LOG_PRETTY` (default true: readable lines
//! on stderr, coloured on a terminal; false: one JSON object per line, for log collectors).
//! `AZUL_LOG` (tracing `EnvFilter` syntax, e.g. `info,azul_backup::swap=debug`) overrides the
//! level when a finer filter is needed. On a terminal, progress bars are drawn below the log.

use std::io::{IsTerminal, Write};
use std::sync::OnceLock;

use indicatif::{MultiProgress, ProgressDrawTarget};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;

/// Progress bars, when stderr is a terminal and logs are readable lines.
static BARS: OnceLock<MultiProgress> = OnceLock::new();

/// Where progress bars go; `None` when not on a terminal (or logging JSON).
pub fn bars() -> Option<&'static MultiProgress> {
    BARS.get()
}

/// Log lines are written around the progress bars (which are hidden for the write), so the
/// two never mix on the terminal.
struct AroundBars;

struct Line(Vec<u8>);

impl<'a> MakeWriter<'a> for AroundBars {
    type Writer = Line;

    fn make_writer(&'a self) -> Line {
        Line(Vec::new())
    }
}

impl Write for Line {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for Line {
    fn drop(&mut self) {
        let line = std::mem::take(&mut self.0);
        let write = || {
            let _ = std::io::stderr().write_all(&line);
        };
        match BARS.get() {
            Some(bars) => bars.suspend(write),
            None => write(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogSettings {
    /// An `EnvFilter` directive.
    pub filter: String,
    pub pretty: bool,
    /// What was wrong with the variables, said once logging works.
    pub warnings: Vec<String>,
}

impl LogSettings {
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Self {
        let mut warnings = Vec::new();
        let level = match var("BED__LOG_LEVEL").map(|v| v.trim().to_ascii_lowercase()) {
            None => "info".to_string(),
            Some(v) if ["trace", "debug", "info", "warn", "error"].contains(&v.as_str()) => v,
            Some(v) if v == "warning" => "warn".to_string(),
            Some(other) => {
                warnings.push(format!(
                    "BED__LOG_LEVEL={other:?} is not TRACE, DEBUG, INFO, WARN or ERROR; logging at INFO"
                ));
                "info".to_string()
            }
        };
        let pretty = match var("BED__LOG_PRETTY").map(|v| v.trim().to_ascii_lowercase()) {
            None => true,
            Some(v) if ["true", "1", "t", "yes"].contains(&v.as_str()) => true,
            Some(v) if ["false", "0", "f", "no"].contains(&v.as_str()) => false,
            Some(other) => {
                warnings.push(format!(
                    "BED__LOG_PRETTY={other:?} is not true or false; writing readable lines"
                ));
                true
            }
        };
        let filter = var("AZUL_LOG")
            .filter(|f| !f.trim().is_empty())
            .unwrap_or(level);
        LogSettings {
            filter,
            pretty,
            warnings,
        }
    }
}

/// Installs the process's log writer (stderr).
pub fn init() {
    let settings = LogSettings::from_vars(|k| std::env::var(k).ok());
    let filter = EnvFilter::try_new(&settings.filter).unwrap_or_else(|e| {
        eprintln!("AZUL_LOG={:?}: {e}; logging at INFO", settings.filter);
        EnvFilter::new("info")
    });
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    let terminal = std::io::stderr().is_terminal();
    if settings.pretty && terminal {
        let _ = BARS.set(MultiProgress::with_draw_target(ProgressDrawTarget::stderr()));
        let colour = std::env::var_os("NO_COLOR").is_none();
        builder.with_ansi(colour).with_writer(AroundBars).init();
    } else if settings.pretty {
        builder.with_ansi(false).with_writer(std::io::stderr).init();
    } else {
        builder
            .with_writer(std::io::stderr)
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .init();
    }
    for warning in settings.warnings {
        tracing::warn!("{warning}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(vars: &[(&str, &str)]) -> LogSettings {
        LogSettings::from_vars(|k| {
            vars.iter()
                .find(|(name, _)| *name == k)
                .map(|(_, v)| v.to_string())
        })
    }

    #[test]
    fn the_original_variables_set_level_and_format() {
        assert_eq!(settings(&[]).filter, "info");
        assert!(settings(&[]).pretty);
        let json = settings(&[("BED__LOG_LEVEL", "DEBUG"), ("BED__LOG_PRETTY", "false")]);
        assert_eq!((json.filter.as_str(), json.pretty), ("debug", false));
        assert!(json.warnings.is_empty());
        let fine = settings(&[("BED__LOG_LEVEL", "WARN"), ("AZUL_LOG", "info,h2=warn")]);
        assert_eq!(fine.filter, "info,h2=warn", "AZUL_LOG refines");
    }

    #[test]
    fn bad_values_are_named_and_fall_back() {
        let bad = settings(&[("BED__LOG_LEVEL", "loud"), ("BED__LOG_PRETTY", "maybe")]);
        assert_eq!((bad.filter.as_str(), bad.pretty), ("info", true));
        assert_eq!(bad.warnings.len(), 2);
        assert!(bad.warnings[0].contains("\"loud\""), "{:?}", bad.warnings);
    }
}
