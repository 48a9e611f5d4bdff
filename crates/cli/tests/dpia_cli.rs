//! `glasshouse dpia --config FILE [--site HOST]` prints the DPIA as Markdown.

use std::process::Command;

const CONFIG: &str = r#"
data_dir = "data"

[[organisations]]
id = "cabinet-office"
name = "Cabinet Office"

[[organisations]]
id = "welsh-government"
name = "Welsh Government"

[[sites]]
host = "www.gov.uk"
organisation = "cabinet-office"
raw_retention_days = 21

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
"#;

fn dpia(args: &[&str]) -> (bool, String, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("glasshouse.toml");
    std::fs::write(&path, CONFIG).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_glasshouse"))
        .arg("dpia")
        .arg("--config")
        .arg(&path)
        .args(args)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn dpia_prints_markdown_from_the_configuration() {
    let (ok, md, err) = dpia(&[]);
    assert!(ok, "{err}");
    assert!(md.starts_with("# "), "{md}");
    let mut at = 0;
    for n in 1..=7 {
        let heading = format!("\n## {n}\\.");
        let i = md[at..]
            .find(&heading)
            .unwrap_or_else(|| panic!("section {n} in order:\n{md}"));
        at += i + 1;
    }
    assert!(md.contains("Journeys between GOV.UK and GOV.WALES"));
    assert!(md.contains("21 days"), "the site's retention is stated");
    assert!(md.contains("12"), "k is stated");

    let (ok, md, _) = dpia(&["--site", "gov.wales"]);
    assert!(ok);
    assert!(md.contains("gov.wales"));
    let (ok, _, err) = dpia(&["--site", "www.mygov.scot"]);
    assert!(
        !ok && err.contains("--site") && err.contains("www.mygov.scot"),
        "{err}"
    );
}
