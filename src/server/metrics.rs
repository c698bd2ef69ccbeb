//! `GET /metrics` in the Prometheus text format: requests by endpoint and status,
//! latency histograms by endpoint, open transactions, and the read cache's
//! counters. Endpoints are the routes' patterns (`/db/{graph}/query/v2`), never the
//! concrete paths, so the label set stays small whatever clients send.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::time::Duration;

use crate::CacheStats;

/// Upper bounds of the latency buckets, in seconds.
const BUCKETS: [f64; 12] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0];

#[derive(Default)]
struct Latency {
    /// Requests at or under each bucket's bound (not cumulative; summed when written).
    buckets: [u64; BUCKETS.len()],
    count: u64,
    sum_seconds: f64,
}

#[derive(Default)]
struct Counters {
    requests: BTreeMap<(String, String, u16), u64>,
    latency: BTreeMap<String, Latency>,
}

/// The server's counters.
#[derive(Default)]
pub struct Metrics {
    counters: Mutex<Counters>,
}

impl Metrics {
    /// Counts one answered request.
    pub fn record(&self, method: &str, endpoint: &str, status: u16, took: Duration) {
        let mut c = self.counters.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        *c.requests.entry((method.to_string(), endpoint.to_string(), status)).or_default() += 1;
        let latency = c.latency.entry(endpoint.to_string()).or_default();
        let seconds = took.as_secs_f64();
        if let Some(b) = BUCKETS.iter().position(|&bound| seconds <= bound) {
            latency.buckets[b] += 1;
        }
        latency.count += 1;
        latency.sum_seconds += seconds;
    }

    /// The text `GET /metrics` answers.
    pub fn render(&self, open_transactions: usize, cache: &CacheStats) -> String {
        let c = self.counters.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut out = String::new();
        out.push_str("# HELP sprig_http_requests_total HTTP requests answered, by endpoint and status.\n");
        out.push_str("# TYPE sprig_http_requests_total counter\n");
        for ((method, endpoint, status), n) in &c.requests {
            let _ = writeln!(
                out,
                "sprig_http_requests_total{{method=\"{method}\",endpoint=\"{}\",status=\"{status}\"}} {n}",
                escape(endpoint)
            );
        }
        out.push_str("# HELP sprig_http_request_duration_seconds Time from request to answer, by endpoint.\n");
        out.push_str("# TYPE sprig_http_request_duration_seconds histogram\n");
        for (endpoint, l) in &c.latency {
            let endpoint = escape(endpoint);
            let mut cumulative = 0;
            for (bound, n) in BUCKETS.iter().zip(l.buckets) {
                cumulative += n;
                let _ = writeln!(
                    out,
                    "sprig_http_request_duration_seconds_bucket{{endpoint=\"{endpoint}\",le=\"{bound}\"}} {cumulative}"
                );
            }
            let _ = writeln!(
                out,
                "sprig_http_request_duration_seconds_bucket{{endpoint=\"{endpoint}\",le=\"+Inf\"}} {}",
                l.count
            );
            let _ =
                writeln!(out, "sprig_http_request_duration_seconds_sum{{endpoint=\"{endpoint}\"}} {}", l.sum_seconds);
            let _ = writeln!(out, "sprig_http_request_duration_seconds_count{{endpoint=\"{endpoint}\"}} {}", l.count);
        }
        out.push_str("# HELP sprig_open_transactions Explicit transactions open now.\n");
        out.push_str("# TYPE sprig_open_transactions gauge\n");
        let _ = writeln!(out, "sprig_open_transactions {open_transactions}");
        out.push_str("# HELP sprig_cache_bytes Decoded bytes the read cache holds, and its capacity.\n");
        out.push_str("# TYPE sprig_cache_bytes gauge\n");
        let _ = writeln!(out, "sprig_cache_bytes {}", cache.bytes);
        let _ = writeln!(out, "sprig_cache_capacity_bytes {}", cache.capacity);
        out.push_str("# HELP sprig_cache_lookups_total Read-cache lookups by space and outcome.\n");
        out.push_str("# TYPE sprig_cache_lookups_total counter\n");
        for s in &cache.spaces {
            let space = s.space.name();
            let _ = writeln!(out, "sprig_cache_lookups_total{{space=\"{space}\",outcome=\"hit\"}} {}", s.hits);
            let _ = writeln!(out, "sprig_cache_lookups_total{{space=\"{space}\",outcome=\"miss\"}} {}", s.misses);
        }
        out.push_str("# HELP sprig_cache_evictions_total Entries the read cache evicted, by space.\n");
        out.push_str("# TYPE sprig_cache_evictions_total counter\n");
        for s in &cache.spaces {
            let _ = writeln!(out, "sprig_cache_evictions_total{{space=\"{}\"}} {}", s.space.name(), s.evictions);
        }
        out
    }
}

/// A label value as the text format wants it.
fn escape(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histograms_are_cumulative_and_counters_keyed_by_status() {
        let m = Metrics::default();
        m.record("POST", "/db/{graph}/query/v2", 202, Duration::from_micros(300));
        m.record("POST", "/db/{graph}/query/v2", 202, Duration::from_millis(20));
        m.record("POST", "/db/{graph}/query/v2", 400, Duration::from_secs(9));
        let cache = CacheStats { capacity: 10, bytes: 4, entries: 1, spaces: Vec::new() };
        let text = m.render(2, &cache);
        let line = |prefix: &str| text.lines().find(|l| l.starts_with(prefix)).map(str::to_string);
        let endpoint = "endpoint=\"/db/{graph}/query/v2\"";
        assert_eq!(
            line(&format!("sprig_http_requests_total{{method=\"POST\",{endpoint},status=\"202\"}}")),
            Some(format!("sprig_http_requests_total{{method=\"POST\",{endpoint},status=\"202\"}} 2"))
        );
        let bucket = |le: &str| line(&format!("sprig_http_request_duration_seconds_bucket{{{endpoint},le=\"{le}\"}}"));
        assert!(bucket("0.0005").is_some_and(|l| l.ends_with(" 1")));
        assert!(bucket("0.025").is_some_and(|l| l.ends_with(" 2")));
        assert!(bucket("5").is_some_and(|l| l.ends_with(" 2")));
        assert!(bucket("+Inf").is_some_and(|l| l.ends_with(" 3")));
        assert_eq!(line("sprig_open_transactions "), Some("sprig_open_transactions 2".to_string()));
    }
}
