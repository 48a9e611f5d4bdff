//! `glasshouse agreement keygen` and `sign`, as two organisations would
//! use them: each makes its key, publishes the public half, signs the
//! agreement; it is in force only with both signatures, and not once its
//! terms change. Signing with another party's key is refused.

use glasshouse_model::Config;
use std::path::Path;
use std::process::Command;

const BASE: &str = r#"
[[organisations]]
id = "cabinet-office"
name = "Cabinet Office"
KEY-cabinet-office

[[organisations]]
id = "welsh-government"
name = "Welsh Government"
KEY-welsh-government

[[sites]]
host = "www.gov.uk"
organisation = "cabinet-office"

[[sites]]
host = "gov.wales"
organisation = "welsh-government"

[[agreements]]
id = "uk-wales"
title = "Journeys between GOV.UK and GOV.WALES"
parties = ["cabinet-office", "welsh-government"]
sites = ["www.gov.uk", "gov.wales"]
purposes = ["service-improvement"]
journeys = true
k = 12
start = "2025-01-01"
SIGNATURES
"#;

fn glasshouse(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_glasshouse"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn keygen(dir: &Path, org: &str) -> String {
    let key = dir.join(format!("{org}.key"));
    let (ok, out, err) = glasshouse(&[
        "agreement",
        "keygen",
        "--organisation",
        org,
        "--out",
        key.to_str().unwrap(),
    ]);
    assert!(ok, "{err}");
    out.lines()
        .find(|l| l.starts_with("signing_key = "))
        .unwrap()
        .to_string()
}

fn sign(dir: &Path, config: &Path, org: &str, key_of: &str) -> (bool, String, String) {
    let key = dir.join(format!("{key_of}.key"));
    glasshouse(&[
        "agreement",
        "sign",
        "--config",
        config.to_str().unwrap(),
        "--agreement",
        "uk-wales",
        "--organisation",
        org,
        "--key",
        key.to_str().unwrap(),
    ])
}

#[test]
fn both_parties_sign_and_a_change_unsigns() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("glasshouse.toml");
    let mut text = BASE.replace("SIGNATURES", "");
    for org in ["cabinet-office", "welsh-government"] {
        text = text.replace(&format!("KEY-{org}"), &keygen(dir.path(), org));
    }
    std::fs::write(&config, &text).unwrap();
    let unsigned = Config::load(&config).unwrap();
    assert_eq!(unsigned.agreements[0].unsigned_by().len(), 2);

    // Another party's key is refused.
    let (ok, _, err) = sign(dir.path(), &config, "cabinet-office", "welsh-government");
    assert!(!ok && err.contains("not the key"), "{err}");

    let mut entries = Vec::new();
    for org in ["cabinet-office", "welsh-government"] {
        let (ok, out, err) = sign(dir.path(), &config, org, org);
        assert!(ok, "{err}");
        assert!(out.contains("k: 12"), "the terms signed are shown: {out}");
        entries.push(out.lines().last().unwrap().to_string());
    }
    let mut signed_text = BASE.replace(
        "SIGNATURES",
        &format!("signatures = [{}]", entries.join(", ")),
    );
    for org in ["cabinet-office", "welsh-government"] {
        let key_line = text
            .split(&format!("id = \"{org}\""))
            .nth(1)
            .and_then(|rest| rest.lines().find(|l| l.starts_with("signing_key")))
            .unwrap()
            .to_string();
        signed_text = signed_text.replace(&format!("KEY-{org}"), &key_line);
    }
    std::fs::write(&config, &signed_text).unwrap();
    let today = chrono::NaiveDate::from_ymd_opt(2026, 1, 1).unwrap();
    let c = Config::load(&config).unwrap();
    assert!(
        c.agreements[0].in_force(today),
        "{:?}",
        c.agreements[0].signatures
    );
    assert_eq!(
        c.visitor_scope("www.gov.uk", today),
        c.visitor_scope("gov.wales", today)
    );

    // Widened after signing: not in force, and check-config still loads it.
    std::fs::write(&config, signed_text.replace("k = 12", "k = 2")).unwrap();
    let c = Config::load(&config).unwrap();
    assert!(!c.agreements[0].in_force(today));
    assert_ne!(
        c.visitor_scope("www.gov.uk", today),
        c.visitor_scope("gov.wales", today)
    );
}
