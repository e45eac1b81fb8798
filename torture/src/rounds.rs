//! Rounds, their seeds, and the tally a campaign ends with.
//!
//! Every round draws its choices (when to kill, which node, what to edit)
//! from its own seed, printed with any failure, so `--replay SEED` runs
//! exactly that round again. Timing still varies between runs: a kill
//! "after 700 ms" lands on a different write each time.

use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::SeedableRng;

use crate::Campaign;

/// Which rounds to run.
#[derive(Debug, Clone, Copy)]
pub enum Seeds {
    /// `rounds` rounds, seeds derived from this base.
    Base { base: u64, rounds: usize },
    /// One round with exactly this seed and number (some campaigns choose
    /// by the number too: the faults campaign takes each fault in turn).
    Replay { seed: u64, round: usize },
}

impl Seeds {
    /// `(round, seed)` for each round to run.
    pub fn each(self) -> Vec<(usize, u64)> {
        match self {
            Seeds::Base { base, rounds } => (0..rounds)
                .map(|r| {
                    (
                        r,
                        splitmix64(base ^ (r as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)),
                    )
                })
                .collect(),
            Seeds::Replay { seed, round } => vec![(round, seed)],
        }
    }
}

/// A well-mixed 64-bit value from `x` (SplitMix64), so neighbouring rounds
/// get unrelated seeds.
fn splitmix64(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// The random source of one round.
pub fn rng(seed: u64) -> StdRng {
    StdRng::seed_from_u64(seed)
}

/// What one round found.
#[derive(Debug, Default)]
pub struct RoundResult {
    /// Items checked: acked updates read back, committed edits found,
    /// clients compared.
    pub checked: u64,
    /// Items that should have survived and did not.
    pub lost: u64,
    /// Whether the fault landed while writes were still unacknowledged
    /// (a kill after everything was acked proves less).
    pub mid_stream: bool,
    /// One line on what happened, for the progress output.
    pub note: String,
}

/// A failed round.
#[derive(Debug, Clone)]
pub struct Failure {
    pub round: usize,
    pub seed: u64,
    pub what: String,
}

/// A campaign's totals.
#[derive(Debug)]
pub struct Tally {
    pub campaign: Campaign,
    pub rounds: usize,
    pub failures: Vec<Failure>,
    pub checked: u64,
    pub lost: u64,
    pub mid_stream: usize,
    pub elapsed: Duration,
    /// Lines for the report beyond the counts (what the faults did).
    pub notes: Vec<String>,
    /// Each round's line, for the report of campaigns with few rounds.
    pub round_notes: Vec<String>,
    started: Instant,
}

impl Tally {
    pub fn new(campaign: Campaign) -> Self {
        Tally {
            campaign,
            rounds: 0,
            failures: Vec::new(),
            checked: 0,
            lost: 0,
            mid_stream: 0,
            elapsed: Duration::ZERO,
            notes: Vec::new(),
            round_notes: Vec::new(),
            started: Instant::now(),
        }
    }

    /// Counts one round and prints a line for it. A round that lost
    /// anything, or that could not finish, is a failure.
    pub fn record(&mut self, round: usize, seed: u64, result: anyhow::Result<RoundResult>) {
        self.rounds += 1;
        let name = self.campaign.name();
        match result {
            Ok(r) => {
                self.checked += r.checked;
                self.lost += r.lost;
                self.mid_stream += usize::from(r.mid_stream);
                if r.lost > 0 {
                    println!(
                        "{name} round {round} seed {seed:#018x}: FAILED: {} lost ({})",
                        r.lost, r.note
                    );
                    self.failures.push(Failure {
                        round,
                        seed,
                        what: format!("{} lost: {}", r.lost, r.note),
                    });
                } else {
                    println!("{name} round {round} seed {seed:#018x}: ok: {}", r.note);
                }
                self.round_notes.push(format!("round {round}: {}", r.note));
            }
            Err(e) => {
                let what = format!("{e:#}");
                println!("{name} round {round} seed {seed:#018x}: FAILED: {what}");
                self.failures.push(Failure { round, seed, what });
            }
        }
    }

    /// Counts a failure found after the rounds (the final read-back).
    pub fn fail_after(&mut self, what: String) {
        println!("{}: FAILED after the rounds: {what}", self.campaign.name());
        self.failures.push(Failure {
            round: self.rounds,
            seed: 0,
            what,
        });
    }

    pub fn finish(mut self) -> Self {
        self.elapsed = self.started.elapsed();
        self
    }
}
