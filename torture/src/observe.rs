//! What the campaigns read off a running server: its Prometheus metrics
//! and its resident memory.

use std::net::SocketAddr;

use anyhow::{bail, Context, Result};
use weft_e2e::http_get;

/// The value of metric `name` in a `/metrics` body.
pub fn parse_metric(body: &str, name: &str) -> Option<f64> {
    body.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
}

/// `GET /metrics` and the value of `name` in it.
pub async fn metric(addr: SocketAddr, name: &str) -> Result<f64> {
    let (status, body) = http_get(addr, "/metrics", &[]).await?;
    if status != 200 {
        bail!("/metrics answered {status}");
    }
    parse_metric(&body, name).with_context(|| format!("no metric {name}"))
}

/// A process's resident memory in KiB.
pub fn rss_kib(pid: u32) -> Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .context("no VmRSS")
}
