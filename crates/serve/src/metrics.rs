//! Counters and latency histograms, written as Prometheus text (`GET /metrics`).

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;

/// Upper bounds of the latency buckets, in seconds.
const BUCKETS: [f64; 12] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

#[derive(Default)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

#[derive(Default)]
struct Data {
    /// (route, status) → requests.
    requests: BTreeMap<(String, u16), u64>,
    latency: BTreeMap<String, Histogram>,
    /// Outcome kind (`passed`, `failed`, `timeout`, `exit_nonzero`, ...) → count.
    outcomes: BTreeMap<String, u64>,
    restarts: u64,
}

/// The service's metrics.
#[derive(Default)]
pub struct Metrics {
    data: Mutex<Data>,
}

impl Metrics {
    fn data(&self) -> std::sync::MutexGuard<'_, Data> {
        self.data.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// One request to `route` answered with `status` after `seconds`.
    pub fn request(&self, route: &str, status: u16, seconds: f64) {
        let mut data = self.data();
        *data
            .requests
            .entry((route.to_string(), status))
            .or_default() += 1;
        let histogram = data.latency.entry(route.to_string()).or_default();
        histogram.count += 1;
        histogram.sum += seconds;
        for (bound, count) in BUCKETS.iter().zip(&mut histogram.counts) {
            *count += u64::from(seconds <= *bound);
        }
    }

    /// Outcomes of programs (one per test, or per script), by kind.
    pub fn outcomes<'a>(&self, kinds: impl IntoIterator<Item = &'a str>) {
        let mut data = self.data();
        for kind in kinds {
            *data.outcomes.entry(kind.to_string()).or_default() += 1;
        }
    }

    /// Restarts of a job's process after a test killed or hung it.
    pub fn restarts(&self, count: u64) {
        self.data().restarts += count;
    }

    /// Mean latency of the execution routes so far (0.1 s before any).
    pub fn mean_seconds(&self) -> f64 {
        let data = self.data();
        let (count, sum) =
            (data.latency.values()).fold((0, 0.0), |(n, s), h| (n + h.count, s + h.sum));
        if count == 0 {
            0.1
        } else {
            sum / count as f64
        }
    }

    /// Prometheus text exposition, with the queue's gauges.
    pub fn render(&self, waiting: usize, running: usize, workers: usize) -> String {
        let data = self.data();
        let mut out = String::new();
        let _ = writeln!(
            out,
            "# HELP tracealign_requests_total Requests answered, by route and status."
        );
        let _ = writeln!(out, "# TYPE tracealign_requests_total counter");
        for ((route, status), count) in &data.requests {
            let _ = writeln!(
                out,
                "tracealign_requests_total{{route=\"{route}\",status=\"{status}\"}} {count}"
            );
        }
        let _ = writeln!(
            out,
            "# HELP tracealign_request_seconds Request latency, by route."
        );
        let _ = writeln!(out, "# TYPE tracealign_request_seconds histogram");
        for (route, histogram) in &data.latency {
            for (bound, count) in BUCKETS.iter().zip(histogram.counts) {
                let _ = writeln!(
                    out,
                    "tracealign_request_seconds_bucket{{route=\"{route}\",le=\"{bound}\"}} {count}"
                );
            }
            let (count, sum) = (histogram.count, histogram.sum);
            let _ = writeln!(
                out,
                "tracealign_request_seconds_bucket{{route=\"{route}\",le=\"+Inf\"}} {count}"
            );
            let _ = writeln!(
                out,
                "tracealign_request_seconds_sum{{route=\"{route}\"}} {sum}"
            );
            let _ = writeln!(
                out,
                "tracealign_request_seconds_count{{route=\"{route}\"}} {count}"
            );
        }
        let _ = writeln!(out, "# HELP tracealign_outcomes_total Program outcomes, by kind (per test; per script for /run_code).");
        let _ = writeln!(out, "# TYPE tracealign_outcomes_total counter");
        for (kind, count) in &data.outcomes {
            let _ = writeln!(out, "tracealign_outcomes_total{{kind=\"{kind}\"}} {count}");
        }
        let gauges = [
            (
                "tracealign_queue_waiting",
                "Requests admitted and waiting for a worker.",
                waiting,
            ),
            ("tracealign_queue_running", "Requests running now.", running),
            ("tracealign_workers", "Warm workers per executor.", workers),
        ];
        for (name, help, value) in gauges {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {value}"
            );
        }
        let _ = writeln!(out, "# HELP tracealign_job_restarts_total Job processes restarted after a test killed or hung them.");
        let _ = writeln!(out, "# TYPE tracealign_job_restarts_total counter");
        let _ = writeln!(out, "tracealign_job_restarts_total {}", data.restarts);
        out
    }
}
