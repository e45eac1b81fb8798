//! The campaigns' tables in docs/RELIABILITY.md, between two markers; the
//! prose around them is written by hand.

use std::path::Path;

use anyhow::{Context, Result};

use crate::rounds::Tally;

const BEGIN: &str = "<!-- weft-torture:begin -->";
const END: &str = "<!-- weft-torture:end -->";

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

fn table(tallies: &[Tally], base: u64) -> String {
    let mut s = String::new();
    s.push_str(&format!(
        "Run of {} (UTC) at commit `{}`, base seed `{base:#x}`.\n\n",
        now(),
        commit()
    ));
    s.push_str("| campaign | rounds | failed rounds | items checked | lost | fault with writes in flight | time |\n");
    s.push_str("|---|---:|---:|---:|---:|---:|---:|\n");
    for t in tallies {
        s.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} | {:.0} s |\n",
            t.campaign.name(),
            t.rounds,
            t.failures.len(),
            t.checked,
            t.lost,
            t.mid_stream,
            t.elapsed.as_secs_f64()
        ));
    }
    for t in tallies {
        s.push_str(&format!("\n**{}**", t.campaign.name()));
        if t.notes.is_empty() && t.failures.is_empty() {
            s.push_str(": nothing else to report.\n");
            continue;
        }
        s.push('\n');
        for n in &t.notes {
            s.push_str(&format!("- {n}\n"));
        }
        for f in &t.failures {
            s.push_str(&format!(
                "- failed: round {}, seed `{:#x}`: {}\n",
                f.round, f.seed, f.what
            ));
        }
    }
    s
}

/// Replaces what is between the markers (or appends them).
pub fn write(path: &Path, tallies: &[Tally], base: u64) -> Result<()> {
    let old = std::fs::read_to_string(path).unwrap_or_default();
    let body = format!("{BEGIN}\n{}{END}", table(tallies, base));
    let new = match (old.find(BEGIN), old.find(END)) {
        (Some(b), Some(e)) if b < e => format!("{}{body}{}", &old[..b], &old[e + END.len()..]),
        _ => format!("{old}\n{body}\n"),
    };
    std::fs::write(path, new).with_context(|| format!("writing {}", path.display()))
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
