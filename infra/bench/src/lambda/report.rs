//! Per-function figures and the table the bench prints.

use std::fmt::Write;
use std::time::Duration;

/// What one function measured.
#[derive(Clone, Debug)]
pub struct FunctionReport {
    pub function: &'static str,
    /// exec → first `/next`, one per cold start.
    pub ready: Vec<Duration>,
    /// exec → first response, one per cold start.
    pub first_response: Vec<Duration>,
    /// Event queued → response, warm.
    pub warm: Vec<Duration>,
    /// Peak RSS after the first response (the largest over the cold starts) and at the end.
    pub rss_first: u64,
    pub rss_end: u64,
    pub stripped_size: u64,
}

impl FunctionReport {
    /// What starting cold adds to answering: the median first response minus the warm
    /// median. The event's own work (DynamoDB and IM calls, which against the Python
    /// emulator dominate both) cancels out; what is left is the process's start and the
    /// first use of its clients (connections, TLS, lazily built state).
    pub fn cold_cost(&self) -> Duration {
        quantile(&self.first_response, 0.5).saturating_sub(quantile(&self.warm, 0.5))
    }
}

/// The `q` quantile (0..=1) by nearest rank; zero when empty.
pub fn quantile(samples: &[Duration], q: f64) -> Duration {
    if samples.is_empty() {
        return Duration::ZERO;
    }
    let mut sorted = samples.to_vec();
    sorted.sort();
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

fn ms(d: Duration) -> String {
    let ms = d.as_secs_f64() * 1000.0;
    if ms < 10.0 {
        format!("{ms:.2}")
    } else {
        format!("{ms:.1}")
    }
}

fn mb(bytes: u64) -> String {
    format!("{:.1}", bytes as f64 / 1_000_000.0)
}

fn spread(samples: &[Duration]) -> String {
    let (min, max) = (samples.iter().min().copied().unwrap_or_default(), samples.iter().max().copied().unwrap_or_default());
    format!("{} / {} / {}", ms(min), ms(quantile(samples, 0.5)), ms(max))
}

/// One row per function. Times in ms, sizes in MB (10^6 bytes).
pub fn table(reports: &[FunctionReport], cold: usize, warm: usize) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "Lambda Runtime API emulator, {cold} cold starts and {warm} warm invocations per function (ms; MB = 10^6 bytes)\n");
    let header = ["function", "exec→ready min/med/max", "exec→1st response min/med/max", "warm p50", "warm p99", "cold cost", "RSS 1st", "RSS end", "stripped"];
    let rows: Vec<[String; 9]> = reports
        .iter()
        .map(|r| {
            [
                r.function.to_string(),
                spread(&r.ready),
                spread(&r.first_response),
                ms(quantile(&r.warm, 0.5)),
                ms(quantile(&r.warm, 0.99)),
                ms(r.cold_cost()),
                mb(r.rss_first),
                mb(r.rss_end),
                mb(r.stripped_size),
            ]
        })
        .collect();
    let widths: Vec<usize> =
        (0..header.len()).map(|i| rows.iter().map(|r| r[i].chars().count()).chain([header[i].chars().count()]).max().unwrap_or(0)).collect();
    let line = |cells: Vec<&str>| cells.iter().zip(&widths).map(|(c, w)| format!("{c:<w$}")).collect::<Vec<_>>().join(" | ");
    let _ = writeln!(out, "{}", line(header.to_vec()));
    let _ = writeln!(out, "{}", widths.iter().map(|w| "-".repeat(*w)).collect::<Vec<_>>().join("-|-"));
    for row in &rows {
        let _ = writeln!(out, "{}", line(row.iter().map(String::as_str).collect()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_are_taken_by_nearest_rank() {
        let samples: Vec<Duration> = (1..=100).map(Duration::from_millis).collect();
        assert_eq!(quantile(&samples, 0.5), Duration::from_millis(50));
        assert_eq!(quantile(&samples, 0.99), Duration::from_millis(99));
        assert_eq!(quantile(&samples[..1], 0.99), Duration::from_millis(1));
        assert_eq!(quantile(&[], 0.5), Duration::ZERO);
    }

    #[test]
    fn the_cold_cost_is_the_first_responses_median_beyond_the_warm_median() {
        let d = Duration::from_millis;
        let r = FunctionReport {
            function: "f",
            ready: vec![d(1)],
            first_response: vec![d(12), d(15), d(30)],
            warm: vec![d(9), d(10), d(11)],
            rss_first: 1,
            rss_end: 1,
            stripped_size: 1,
        };
        assert_eq!(r.cold_cost(), d(5));
        assert_eq!(FunctionReport { first_response: vec![d(1)], ..r }.cold_cost(), Duration::ZERO, "never negative");
    }
}
