//! Log output, configured like the original's (bedrock) logger: `BED__LOG_LEVEL` (TRACE,
//! DEBUG, INFO, WARN, ERROR; default INFO) and `BED__LOG_PRETTY` (default true: readable lines
//! on stderr, coloured on a terminal; false: one JSON object per line, for log collectors).
//! `AZUL_LOG` (tracing `EnvFilter` syntax, e.g. `info,azul_backup::swap=debug`) overrides the
//! level when a finer filter is needed.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

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
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if settings.pretty {
        let colour = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
        builder.with_ansi(colour).init();
    } else {
        builder
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
