//! Running a server: `backup`, `restore` and `export`, and Prometheus
//! metrics.

pub mod admin;
pub mod metrics;
