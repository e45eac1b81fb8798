//! The campaigns' tables in docs/RELIABILITY.md, between two markers; the
//! prose around them is written by hand.

use std::path::Path;

use anyhow::{Context, Result};

use crate::rounds::Tally;

/// The markers around one campaign's section: a run replaces the
/// sections of the campaigns it ran and leaves the others.
fn markers(t: &Tally) -> (String, String) {
    let name = t.campaign.name();
    (
        format!("<!-- weft-torture:{name}:begin -->"),
        format!("<!-- weft-torture:{name}:end -->"),
    )
}

/// Campaigns with at most this many rounds list every round's line.
const ROUND_LINES: usize = 20;

/// One line per campaign for the console.
pub fn line(t: &Tally) -> String {
    format!(
        "{}: {} rounds, {} failed, {} checked, {} lost, {} with writes in flight, {:.0} s",
        t.campaign.name(),
        t.rounds,
        t.failures.len(),
        t.checked,
        t.lost,
        t.mid_stream,
        t.elapsed.as_secs_f64()
    )
}

fn section(t: &Tally, base: u64) -> String {
    let mut s = format!(
        "| rounds | failed rounds | items checked | lost | fault with writes in flight | time |\n\
         |---:|---:|---:|---:|---:|---:|\n\
         | {} | {} | {} | {} | {} | {:.0} s |\n\n",
        t.rounds,
        t.failures.len(),
        t.checked,
        t.lost,
        t.mid_stream,
        t.elapsed.as_secs_f64()
    );
    s.push_str(&format!(
        "Run of {} UTC at commit `{}`, base seed `{base:#x}`.\n",
        now(),
        commit()
    ));
    for n in &t.notes {
        s.push_str(&format!("- {n}\n"));
    }
    // Few rounds: each one's line says what the fault did and how long
    // recovery took.
    if t.round_notes.len() <= ROUND_LINES {
        for n in &t.round_notes {
            s.push_str(&format!("- {n}\n"));
        }
    }
    for f in &t.failures {
        s.push_str(&format!(
            "- failed: round {}, seed `{:#x}`: {}\n",
            f.round, f.seed, f.what
        ));
    }
    s
}

/// Replaces each campaign's section (appending those not there yet).
pub fn write(path: &Path, tallies: &[Tally], base: u64) -> Result<()> {
    let mut doc = std::fs::read_to_string(path).unwrap_or_default();
    for t in tallies {
        let (begin, end) = markers(t);
        let body = format!("{begin}\n{}{end}", section(t, base));
        doc = match (doc.find(&begin), doc.find(&end)) {
            (Some(b), Some(e)) if b < e => {
                format!("{}{body}{}", &doc[..b], &doc[e + end.len()..])
            }
            _ => format!("{doc}\n### {}\n\n{body}\n", t.campaign.name()),
        };
    }
    std::fs::write(path, doc).with_context(|| format!("writing {}", path.display()))
}

fn now() -> String {
    std::process::Command::new("date")
        .args(["-u", "+%Y-%m-%d %H:%M"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default()
}

fn commit() -> String {
    std::process::Command::new("git")
        .args(["rev-parse", "--short", "HEAD"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default()
}
