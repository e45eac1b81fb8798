//! Giving freed memory back to the OS after documents unload.
//!
//! glibc keeps what a thread frees in that thread's arena and returns only
//! the top of each heap, so after many documents came and went the process
//! stays at its peak (measured in docs/BENCHMARKS.md, workload 4). A trim
//! shortly after unloading returns the free pages in the middle too.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// How long after an unload the trim runs, so a wave of unloads shares one.
const DELAY: Duration = Duration::from_secs(1);

/// Schedules trims, at most one pending at a time.
#[derive(Default)]
pub struct Trimmer {
    pending: AtomicBool,
}

impl Trimmer {
    /// Asks for a trim soon; requests before it runs share it.
    pub fn request(self: &Arc<Self>) {
        if self.pending.swap(true, Ordering::SeqCst) {
            return;
        }
        let this = self.clone();
        tokio::spawn(async move {
            tokio::time::sleep(DELAY).await;
            this.pending.store(false, Ordering::SeqCst);
            // It walks every arena: not on a worker thread.
            let _ = tokio::task::spawn_blocking(trim).await;
        });
    }
}

/// Returns free heap pages to the OS; true if any were.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)]
pub fn trim() -> bool {
    // SAFETY: malloc_trim takes no pointers and may be called at any time;
    // glibc locks each arena while it walks it.
    let released = unsafe { libc::malloc_trim(0) } != 0;
    tracing::debug!(released, "returned free heap to the OS");
    released
}

/// Other allocators return memory on their own.
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub fn trim() -> bool {
    false
}

#[cfg(all(test, target_os = "linux", target_env = "gnu"))]
mod tests {
    use super::*;

    fn rss_kib() -> u64 {
        let s = std::fs::read_to_string("/proc/self/smaps_rollup").unwrap();
        let line = s.lines().find(|l| l.starts_with("Rss:")).unwrap();
        line.split_whitespace().nth(1).unwrap().parse().unwrap()
    }

    #[test]
    fn trim_returns_memory_freed_in_the_middle_of_the_heap() {
        // Many small blocks, every other one kept: the free ones sit between
        // live ones, which glibc does not return on its own.
        let mut blocks: Vec<Vec<u8>> = (0..200_000).map(|i| vec![i as u8; 512]).collect();
        let kept: Vec<Vec<u8>> = blocks.iter_mut().step_by(64).map(std::mem::take).collect();
        drop(blocks);
        let before = rss_kib();
        assert!(trim(), "something was free to return");
        let after = rss_kib();
        assert!(
            after + 40_000 < before,
            "about 100 MB freed, so RSS must drop well over 40 MB: {before} -> {after} KiB"
        );
        drop(kept);
    }
}
