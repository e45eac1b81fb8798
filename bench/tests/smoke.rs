//! The comparison harness works end to end: every workload runs against
//! weft-server, the two Node peers and the baseline, and the report is
//! written. The numbers of a smoke run mean nothing and are not checked;
//! what is checked is that each workload measured something real (every
//! edit delivered, memory read, state received). y-sweet is left out here:
//! it needs a 90 s `cargo install`, which `scripts/bench` does.

use std::path::Path;
use std::process::Command;

/// A report page: the results section between its markers, text after it.
const PAGE: &str = "# Benchmarks\n\n<!-- results:start -->\nold\n<!-- results:end -->\n\nkept\n";

#[test]
fn every_workload_runs_against_every_server() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let weft = root.join("target/debug/weft-server");
    assert!(
        weft.exists(),
        "build weft-server first (cargo build -p weft-server)"
    );
    assert!(
        root.join("bench/peers/node_modules/@hocuspocus/server")
            .exists(),
        "install the peers first: npm ci --prefix bench/peers"
    );
    let out = tempfile::tempdir().unwrap();
    let json = out.path().join("compare.json");
    let doc = out.path().join("BENCHMARKS.md");
    std::fs::write(&doc, PAGE).unwrap();
    let status = Command::new(env!("CARGO_BIN_EXE_weft-bench"))
        .current_dir(root)
        .args([
            "compare",
            "--smoke",
            "--servers",
            "weft,y-websocket,hocuspocus,baseline",
            "--clients",
            "10",
        ])
        .arg("--weft-server")
        .arg(&weft)
        .arg("--json")
        .arg(&json)
        .arg("--doc")
        .arg(&doc)
        .status()
        .unwrap();
    assert!(status.success());

    let run: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert!(
        run["connect_limit"]
            .as_str()
            .unwrap()
            .contains("refused after 600"),
        "weft's default per-IP limit: {}",
        run["connect_limit"]
    );
    assert!(run["headroom"]["relay"]["delivered"].as_f64().unwrap() > 0.0);
    let all = run["rounds"].as_array().unwrap();
    let names: Vec<&str> = all.iter().map(|m| m["server"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        [
            "weft-server",
            "@y/websocket-server",
            "@hocuspocus/server",
            "baseline (broadcast)"
        ]
    );
    for m in all {
        let name = m["server"].as_str().unwrap();
        let step = &m["fanout"][0];
        assert_eq!(step["delivered"], 1.0, "{name}: fan-out lost edits");
        assert!(step["latency"]["p50"].as_f64().unwrap() > 0.0, "{name}");
        assert!(
            m["moderate"]["delivered"].as_f64().unwrap() >= 0.999,
            "{name}"
        );
        let idle = m["idle"].as_array().unwrap();
        assert_eq!(idle.len(), 3, "{name}");
        assert!(
            idle.iter().all(|p| p[1].as_u64().unwrap() > 1000),
            "{name}: RSS not read"
        );
        assert!(m["leak"]["peak"].as_u64().unwrap() > 0, "{name}");
        assert!(m["storm_p99_ms"].as_f64().unwrap() > 0.0, "{name}");
        assert_eq!(m["storm_ms"].as_array().unwrap().len(), 20, "{name}");
        let join = &m["join"];
        if name.starts_with("baseline") {
            assert!(join.is_null(), "the baseline holds no state to join");
        } else {
            assert!(join["warm_one"].as_f64().unwrap() > 0.0, "{name}");
            assert_eq!(
                join["cold"].as_array().unwrap().is_empty(),
                name != "weft-server",
                "{name}: cold join only where stored"
            );
            assert!(m["docs"]["kib_per_doc"].as_f64().is_some(), "{name}");
        }
        assert_eq!(
            m["durable_per_s"].is_null(),
            name != "weft-server",
            "{name}"
        );
        if name == "weft-server" {
            // 50 updates each stay within the default rate's 2 s burst.
            assert!(
                m["durable_at_defaults"]
                    .as_str()
                    .unwrap()
                    .ends_with("acked updates/s"),
                "{}",
                m["durable_at_defaults"]
            );
        }
    }
    let text = std::fs::read_to_string(&doc).unwrap();
    assert!(
        !text.contains("\nold\n") && text.ends_with("kept\n"),
        "only the results section is replaced"
    );
    for name in names {
        assert!(
            text.contains(&format!("| {name} |")),
            "{name} missing from the tables"
        );
    }
    for svg in [
        "fanout.svg",
        "moderate.svg",
        "idle.svg",
        "leak.svg",
        "join.svg",
        "storm.svg",
        "docs.svg",
    ] {
        let body = std::fs::read_to_string(out.path().join("bench").join(svg)).unwrap();
        assert!(
            body.starts_with("<svg") && (body.contains("polyline") || body.contains("<rect")),
            "{svg}"
        );
    }

    // The report written again from the saved run, measuring nothing, is
    // the same report.
    std::fs::write(&doc, PAGE).unwrap();
    let status = Command::new(env!("CARGO_BIN_EXE_weft-bench"))
        .current_dir(root)
        .args(["compare", "--smoke", "--clients", "10", "--report-from"])
        .arg(&json)
        .arg("--doc")
        .arg(&doc)
        .status()
        .unwrap();
    assert!(status.success());
    assert_eq!(std::fs::read_to_string(&doc).unwrap(), text);
}
