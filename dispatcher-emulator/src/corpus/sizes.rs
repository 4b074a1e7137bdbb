//! Stream size distributions for the synthetic corpus (`--stream-size-dist`).

use std::{fmt, str::FromStr};

use rand::Rng;

/// How large synthetic streams are.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum StreamSizes {
    /// `uniform:MIN-MAX`: every size in `MIN..=MAX` equally likely.
    Uniform { min: u64, max: u64 },
    /// `fixed:SIZE`.
    Fixed(u64),
    /// `lognormal:MEDIAN:SIGMA[:MAX]`: most streams near the median, a long tail of large ones
    /// (as real binaries are), cut at `MAX` (default 64M).
    LogNormal { median: u64, sigma: f64, max: u64 },
}

impl Default for StreamSizes {
    fn default() -> Self {
        StreamSizes::Uniform { min: 1, max: 4096 }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "bad stream size distribution {0:?}: use uniform:MIN-MAX, fixed:SIZE or \
     lognormal:MEDIAN:SIGMA[:MAX] (sizes in bytes, or with a K, M or G suffix)"
)]
pub struct BadSizes(pub String);

/// `4096`, `64K`, `10M`, `1G` (binary multiples).
fn parse_size(s: &str) -> Option<u64> {
    let s = s.trim();
    let (digits, unit) = match s.char_indices().find(|(_, c)| !c.is_ascii_digit()) {
        Some((i, _)) => s.split_at(i),
        None => (s, ""),
    };
    let n: u64 = digits.parse().ok()?;
    let unit = match unit.to_ascii_uppercase().as_str() {
        "" | "B" => 1,
        "K" | "KB" | "KIB" => 1 << 10,
        "M" | "MB" | "MIB" => 1 << 20,
        "G" | "GB" | "GIB" => 1 << 30,
        _ => return None,
    };
    n.checked_mul(unit)
}

impl FromStr for StreamSizes {
    type Err = BadSizes;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || BadSizes(s.to_string());
        let (kind, args) = s.split_once(':').ok_or_else(bad)?;
        let sizes = match kind {
            "fixed" => StreamSizes::Fixed(parse_size(args).ok_or_else(bad)?),
            "uniform" => {
                let (min, max) = args.split_once('-').ok_or_else(bad)?;
                let (min, max) = (
                    parse_size(min).ok_or_else(bad)?,
                    parse_size(max).ok_or_else(bad)?,
                );
                if min > max {
                    return Err(bad());
                }
                StreamSizes::Uniform { min, max }
            }
            "lognormal" => {
                let parts: Vec<&str> = args.split(':').collect();
                let (median, sigma, max) = match parts.as_slice() {
                    [median, sigma] => (*median, *sigma, "64M"),
                    [median, sigma, max] => (*median, *sigma, *max),
                    _ => return Err(bad()),
                };
                let sigma: f64 = sigma.parse().map_err(|_| bad())?;
                if !(sigma.is_finite() && sigma >= 0.0) {
                    return Err(bad());
                }
                StreamSizes::LogNormal {
                    median: parse_size(median).ok_or_else(bad)?,
                    sigma,
                    max: parse_size(max).ok_or_else(bad)?,
                }
            }
            _ => return Err(bad()),
        };
        Ok(sizes)
    }
}

impl fmt::Display for StreamSizes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StreamSizes::Uniform { min, max } => write!(f, "uniform:{min}-{max}"),
            StreamSizes::Fixed(size) => write!(f, "fixed:{size}"),
            StreamSizes::LogNormal { median, sigma, max } => {
                write!(f, "lognormal:{median}:{sigma}:{max}")
            }
        }
    }
}

impl StreamSizes {
    /// One size; streams are never empty (the dispatcher refuses empty uploads).
    pub fn sample(&self, rng: &mut impl Rng) -> u64 {
        let size = match *self {
            StreamSizes::Fixed(size) => size,
            StreamSizes::Uniform { min, max } => rng.random_range(min..=max),
            StreamSizes::LogNormal { median, sigma, max } => {
                // Box-Muller: a standard normal from two uniforms.
                let (u1, u2): (f64, f64) = (rng.random_range(f64::EPSILON..1.0), rng.random());
                let z = (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos();
                let size = (median.max(1) as f64) * (sigma * z).exp();
                (size.round() as u64).min(max)
            }
        };
        size.max(1)
    }
}

#[cfg(test)]
mod tests {
    use rand::{SeedableRng, rngs::StdRng};

    use super::*;

    #[test]
    fn parses_and_prints() {
        assert_eq!(
            "uniform:1-4K".parse(),
            Ok(StreamSizes::Uniform { min: 1, max: 4096 })
        );
        assert_eq!("fixed:2M".parse(), Ok(StreamSizes::Fixed(2 << 20)));
        assert_eq!(
            "lognormal:64K:1.5".parse(),
            Ok(StreamSizes::LogNormal {
                median: 65536,
                sigma: 1.5,
                max: 64 << 20
            })
        );
        for bad in [
            "",
            "uniform:9-1",
            "fixed:x",
            "gauss:1",
            "lognormal:1",
            "fixed:1T",
        ] {
            assert!(bad.parse::<StreamSizes>().is_err(), "{bad}");
        }
        assert_eq!(StreamSizes::Fixed(3).to_string(), "fixed:3");
    }

    #[test]
    fn samples_stay_in_range() {
        let mut rng = StdRng::seed_from_u64(1);
        let lognormal = StreamSizes::LogNormal {
            median: 1000,
            sigma: 1.0,
            max: 50_000,
        };
        let sizes: Vec<u64> = (0..2000).map(|_| lognormal.sample(&mut rng)).collect();
        assert!(sizes.iter().all(|s| (1..=50_000).contains(s)));
        let mut sorted = sizes.clone();
        sorted.sort_unstable();
        let median = sorted[sorted.len() / 2];
        assert!((700..1400).contains(&median), "median {median}");
        assert_eq!(StreamSizes::Fixed(0).sample(&mut rng), 1);
    }
}
