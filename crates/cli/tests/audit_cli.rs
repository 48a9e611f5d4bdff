//! `glasshouse audit verify --data DIR`: exit 0 for an intact log, non-zero
//! naming the first bad entry for a tampered one.

use glasshouse_audit::{AuditLog, Entry};
use std::process::Command;

fn verify(dir: &std::path::Path) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_glasshouse"))
        .args(["audit", "verify", "--data"])
        .arg(dir)
        .output()
        .unwrap();
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

#[test]
fn audit_verify_passes_an_intact_log_and_names_a_tampered_entry() {
    let data = tempfile::tempdir().unwrap();
    {
        let log =
            AuditLog::open(&data.path().join("audit"), "test.example/glasshouse-audit").unwrap();
        for i in 0..5 {
            log.append(
                &Entry::query(
                    "test-org",
                    "analyst",
                    "account:1",
                    "service-improvement",
                    &format!("GET /q{i}"),
                )
                .rows(i),
            )
            .unwrap();
        }
    }
    let (ok, text) = verify(data.path());
    assert!(ok, "{text}");
    assert!(text.contains("5 entries"), "{text}");

    let path = data.path().join("audit/entries.jsonl");
    let lines: Vec<String> = std::fs::read_to_string(&path)
        .unwrap()
        .lines()
        .map(String::from)
        .collect();
    // Reordering two entries is caught and the first moved one is named.
    let mut swapped = lines.clone();
    swapped.swap(2, 3);
    std::fs::write(&path, swapped.join("\n") + "\n").unwrap();
    let (ok, text) = verify(data.path());
    assert!(!ok && text.contains("entry 2"), "{text}");
    // So is deleting one.
    let mut deleted = lines.clone();
    deleted.remove(1);
    std::fs::write(&path, deleted.join("\n") + "\n").unwrap();
    let (ok, text) = verify(data.path());
    assert!(!ok && text.contains("entry 1"), "{text}");
}
