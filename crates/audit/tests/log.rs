//! The promises of the file-backed log: what is appended verifies, and any
//! edit, deletion, insertion, reordering or truncation is caught and
//! pinned to the right entry.

mod common;

use std::path::Path;

use common::{entry, log_with, ORIGIN};
use glasshouse_audit::checkpoint::Checkpoint;
use glasshouse_audit::key::{Algorithm, Signer, Verifier};
use glasshouse_audit::merkle::{verify_consistency, verify_inclusion, Tree};
use glasshouse_audit::note::Note;
use glasshouse_audit::{verify_dir, verify_dir_with_key, AuditError, AuditLog, Entry};

fn lines(dir: &Path) -> Vec<String> {
    std::fs::read_to_string(dir.join("entries.jsonl"))
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect()
}

fn write_lines(dir: &Path, lines: &[String]) {
    let mut s = lines.join("\n");
    s.push('\n');
    std::fs::write(dir.join("entries.jsonl"), s).unwrap();
}

/// Asserts both `verify_dir` and `AuditLog::open` reject the directory
/// and name `entry {index}`.
fn assert_tampered_at(dir: &Path, index: u64) {
    let err = verify_dir(dir, None).unwrap_err();
    assert_eq!(err.entry_index(), Some(index), "{err}");
    assert!(err.to_string().contains(&format!("entry {index}")), "{err}");
    match AuditLog::open(dir, ORIGIN) {
        Err(e @ AuditError::Tampered { .. }) => {
            assert!(e.to_string().contains(&format!("entry {index}")), "{e}")
        }
        Err(e) => panic!("expected Tampered, got {e}"),
        Ok(_) => panic!("opened a tampered log"),
    }
}

#[test]
fn untouched_log_verifies_across_reopen_and_more_appends() {
    let dir = tempfile::tempdir().unwrap();
    let log = log_with(dir.path(), 10);
    let first = log.checkpoint().unwrap();
    let report = verify_dir(dir.path(), None).unwrap();
    assert_eq!(report.size, 10);
    assert_eq!(report.checkpoints, 11); // sizes 0..=10
    assert_eq!(report.checkpoint, first);
    drop(log);

    let log = AuditLog::open(dir.path(), ORIGIN).unwrap();
    assert_eq!(log.size(), 10);
    assert_eq!(log.checkpoint().unwrap(), first);
    for i in 10..15 {
        assert_eq!(log.append(&entry(i)).unwrap(), i);
    }
    let report = verify_dir(dir.path(), Some(&first)).unwrap();
    assert_eq!(report.size, 15);
    assert_eq!(report.saved_size, Some(10));
    let (cp, _) = Checkpoint::open(
        &log.checkpoint().unwrap(),
        &Verifier::from_key_string(&log.verifier_key()).unwrap(),
    )
    .unwrap();
    assert_eq!(cp.size, 15);
    assert_eq!(report.root, cp.root);
    assert_eq!(report.key, log.verifier_key());
    // Against the published key as well as the key file.
    verify_dir_with_key(dir.path(), None, Some(&log.verifier_key())).unwrap();
}

#[test]
fn empty_log_has_a_signed_checkpoint_and_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let log = AuditLog::open(dir.path(), ORIGIN).unwrap();
    assert_eq!(log.size(), 0);
    let cp = log.checkpoint().unwrap();
    assert!(cp.starts_with("glasshouse.example/audit\n0\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n\n\u{2014} glasshouse.example/audit "));
    assert_eq!(verify_dir(dir.path(), None).unwrap().size, 0);
    drop(log);
    assert_eq!(
        AuditLog::open(dir.path(), ORIGIN)
            .unwrap()
            .checkpoint()
            .unwrap(),
        cp
    );
}

#[cfg(unix)]
#[test]
fn key_file_is_private() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let log = AuditLog::open(dir.path(), ORIGIN).unwrap();
    let meta = std::fs::metadata(dir.path().join("log.key")).unwrap();
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    let key = std::fs::read_to_string(dir.path().join("log.key")).unwrap();
    assert!(key.starts_with("PRIVATE+KEY+glasshouse.example/audit+"));
    let signer = Signer::from_key_string(&key).unwrap();
    assert_eq!(signer.verifier().to_key_string(), log.verifier_key());
}

#[test]
fn proofs_and_json_helpers_agree_with_the_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let log = log_with(dir.path(), 13);
    let key = Verifier::from_key_string(&log.verifier_key()).unwrap();
    let (cp, _) = Checkpoint::open(&log.checkpoint().unwrap(), &key).unwrap();
    for i in 0..13 {
        let proof = log.inclusion_proof(i, 13).unwrap();
        verify_inclusion(&entry(i).leaf_hash(), i, 13, &proof, &cp.root).unwrap();
    }
    let got = log.entries(3, 4).unwrap();
    assert_eq!(got.len(), 4);
    assert_eq!(got[0], (3, entry(3)));
    assert_eq!(got[3], (6, entry(6)));
    assert!(log.entries(13, 5).unwrap().is_empty());
    assert_eq!(log.entries(11, 100).unwrap().len(), 2);

    let v = log.entries_json(12, 10).unwrap();
    assert_eq!(v["size"], 13);
    assert_eq!(v["entries"][0]["index"], 12);
    let e: Entry = serde_json::from_value(v["entries"][0]["entry"].clone()).unwrap();
    assert_eq!(e, entry(12));

    let v = log.inclusion_json(5, 13).unwrap();
    assert_eq!(
        (v["index"].as_u64(), v["size"].as_u64()),
        (Some(5), Some(13))
    );
    let leaf = glasshouse_audit::remote::decode_hash(&v["leaf_hash"]).unwrap();
    let proof = glasshouse_audit::remote::decode_hashes(&v["proof"]).unwrap();
    verify_inclusion(&leaf, 5, 13, &proof, &cp.root).unwrap();

    let v = log.consistency_json(4, 13).unwrap();
    assert_eq!((v["old"].as_u64(), v["new"].as_u64()), (Some(4), Some(13)));
    let proof = glasshouse_audit::remote::decode_hashes(&v["proof"]).unwrap();
    let old_root = Tree::from_leaf_hashes((0..4).map(|i| entry(i).leaf_hash())).root();
    verify_consistency(4, 13, &old_root, &cp.root, &proof).unwrap();
    assert!(log.inclusion_json(13, 13).unwrap_err().is_bad_request());
    assert!(log.consistency_json(5, 14).unwrap_err().is_bad_request());
}

#[test]
fn entries_are_served_at_most_a_page_at_a_time() {
    let dir = tempfile::tempdir().unwrap();
    let log = log_with(dir.path(), 1001);
    assert_eq!(log.entries(0, u64::MAX).unwrap().len(), 1000);
    assert_eq!(log.entries(1, u64::MAX).unwrap().len(), 1000);
    assert_eq!(log.entries(2, u64::MAX).unwrap().len(), 999);
    assert_eq!(glasshouse_audit::MAX_PAGE, 1000);
    drop(log);
    let t = std::time::Instant::now();
    let report = verify_dir(dir.path(), None).unwrap();
    assert_eq!(report.checkpoints, 1002);
    eprintln!("verified 1001 entries in {:?}", t.elapsed());
}

#[test]
fn edited_field_is_named() {
    let dir = tempfile::tempdir().unwrap();
    drop(log_with(dir.path(), 8));
    let mut l = lines(dir.path());
    assert!(l[5].contains(r#""rows":15"#));
    l[5] = l[5].replace(r#""rows":15"#, r#""rows":1"#);
    write_lines(dir.path(), &l);
    assert_tampered_at(dir.path(), 5);
}

#[test]
fn edited_actor_is_named_even_in_the_last_entry() {
    let dir = tempfile::tempdir().unwrap();
    drop(log_with(dir.path(), 8));
    let mut l = lines(dir.path());
    let e: Entry = serde_json::from_str(&l[7]).unwrap();
    let mut changed = e.clone();
    changed.actor = "someone-else".into();
    l[7] = String::from_utf8(changed.canonical_json()).unwrap();
    write_lines(dir.path(), &l);
    assert_tampered_at(dir.path(), 7);
}

#[test]
fn non_canonical_rewrite_is_named() {
    let dir = tempfile::tempdir().unwrap();
    drop(log_with(dir.path(), 5));
    let mut l = lines(dir.path());
    l[2] = l[2].replace(r#""rows":6,"#, r#""rows": 6,"#);
    write_lines(dir.path(), &l);
    assert_tampered_at(dir.path(), 2);
}

#[test]
fn deleted_line_is_named() {
    let dir = tempfile::tempdir().unwrap();
    drop(log_with(dir.path(), 8));
    let mut l = lines(dir.path());
    l.remove(4);
    write_lines(dir.path(), &l);
    assert_tampered_at(dir.path(), 4);
}

#[test]
fn deleted_last_line_is_named() {
    let dir = tempfile::tempdir().unwrap();
    drop(log_with(dir.path(), 8));
    let mut l = lines(dir.path());
    l.pop();
    write_lines(dir.path(), &l);
    assert_tampered_at(dir.path(), 7);
}

#[test]
fn swapped_lines_name_the_first() {
    let dir = tempfile::tempdir().unwrap();
    drop(log_with(dir.path(), 8));
    let mut l = lines(dir.path());
    l.swap(2, 6);
    write_lines(dir.path(), &l);
    assert_tampered_at(dir.path(), 2);
}

#[test]
fn inserted_line_is_named() {
    let dir = tempfile::tempdir().unwrap();
    drop(log_with(dir.path(), 8));
    let mut l = lines(dir.path());
    l.insert(3, String::from_utf8(entry(99).canonical_json()).unwrap());
    write_lines(dir.path(), &l);
    assert_tampered_at(dir.path(), 3);
}

#[test]
fn line_appended_by_hand_is_not_covered() {
    let dir = tempfile::tempdir().unwrap();
    drop(log_with(dir.path(), 4));
    let mut l = lines(dir.path());
    l.push(String::from_utf8(entry(99).canonical_json()).unwrap());
    write_lines(dir.path(), &l);
    let err = verify_dir(dir.path(), None).unwrap_err();
    assert_eq!(err.entry_index(), Some(4), "{err}");
}

#[test]
fn truncated_file_is_caught() {
    let dir = tempfile::tempdir().unwrap();
    drop(log_with(dir.path(), 6));
    let path = dir.path().join("entries.jsonl");
    let bytes = std::fs::read(&path).unwrap();
    // Cut in the middle of entry 3.
    let l = lines(dir.path());
    let cut = l[..3].iter().map(|s| s.len() + 1).sum::<usize>() + 10;
    std::fs::write(&path, &bytes[..cut]).unwrap();
    assert_tampered_at(dir.path(), 3);
    // Cut at a line boundary.
    std::fs::write(&path, &bytes[..cut - 10]).unwrap();
    assert_tampered_at(dir.path(), 3);
    // Emptied.
    std::fs::write(&path, b"").unwrap();
    assert_tampered_at(dir.path(), 0);
}

#[test]
fn checkpoint_signed_by_another_key_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    drop(log_with(dir.path(), 3));
    // Replace the last checkpoint with one of the right content signed by
    // an impostor key of the same name.
    let path = dir.path().join("checkpoints");
    let text = std::fs::read_to_string(&path).unwrap();
    let mut records: Vec<&str> = text.split_inclusive("\n\n").collect();
    let last_body = records[records.len() - 2].trim_end().to_owned() + "\n";
    let impostor = Signer::generate(ORIGIN, Algorithm::Ed25519).unwrap();
    let forged = Note::sign(&last_body, &impostor).unwrap().to_text();
    let forged_record = forged.clone() + "\n";
    let n = records.len();
    let (body, sig) = forged_record.split_at(forged_record.find("\n\n").unwrap() + 2);
    records[n - 2] = body;
    records[n - 1] = sig;
    std::fs::write(&path, records.concat()).unwrap();
    let err = verify_dir(dir.path(), None).unwrap_err();
    assert!(err.to_string().contains("checkpoint 3"), "{err}");
    assert!(AuditLog::open(dir.path(), ORIGIN).is_err());

    // And a whole log checked against a key it was not signed with.
    let other = tempfile::tempdir().unwrap();
    drop(log_with(other.path(), 3));
    let err = verify_dir_with_key(
        other.path(),
        None,
        Some(&impostor.verifier().to_key_string()),
    )
    .unwrap_err();
    assert!(err.to_string().contains("checkpoint 0"), "{err}");
}

#[test]
fn rewritten_and_resigned_history_fails_against_a_saved_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let log = log_with(dir.path(), 6);
    let saved = log.checkpoint().unwrap();
    drop(log);
    // The operator rewrites entry 2 and re-signs everything with the real key.
    let key = std::fs::read_to_string(dir.path().join("log.key")).unwrap();
    let forged = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(forged.path()).unwrap();
    std::fs::write(forged.path().join("log.key"), &key).unwrap();
    let log = AuditLog::open(forged.path(), ORIGIN).unwrap();
    for i in 0..8 {
        let e = if i == 2 {
            entry(2).refused("hidden")
        } else {
            entry(i)
        };
        log.append(&e).unwrap();
    }
    drop(log);
    // On its own the rewritten directory is self-consistent…
    verify_dir(forged.path(), None).unwrap();
    // …but not with what an auditor saved before.
    let err = verify_dir(forged.path(), Some(&saved)).unwrap_err();
    assert!(err.to_string().contains("saved checkpoint"), "{err}");
    // The genuine log passes.
    verify_dir(dir.path(), Some(&saved)).unwrap();
    // A saved checkpoint larger than the log means it shrank.
    let small = tempfile::tempdir().unwrap();
    std::fs::write(small.path().join("log.key"), &key).unwrap();
    drop(log_with(small.path(), 3));
    assert!(verify_dir(small.path(), Some(&saved)).is_err());
}

#[test]
fn crash_leftovers_beyond_the_signed_size_are_repaired_on_open() {
    let dir = tempfile::tempdir().unwrap();
    drop(log_with(dir.path(), 4));
    let path = dir.path().join("entries.jsonl");
    // A torn write of a fifth entry.
    let mut bytes = std::fs::read(&path).unwrap();
    let torn = entry(4).canonical_json();
    bytes.extend_from_slice(&torn[..20]);
    std::fs::write(&path, &bytes).unwrap();
    assert!(verify_dir(dir.path(), None).is_err());
    let log = AuditLog::open(dir.path(), ORIGIN).unwrap();
    assert_eq!(log.size(), 4);
    assert_eq!(log.append(&entry(4)).unwrap(), 4);
    drop(log);
    verify_dir(dir.path(), None).unwrap();

    // A complete entry whose checkpoint never got written: signed on open.
    let mut bytes = std::fs::read(&path).unwrap();
    bytes.extend_from_slice(&entry(5).canonical_json());
    bytes.push(b'\n');
    std::fs::write(&path, &bytes).unwrap();
    // A torn checkpoint record too.
    let cp_path = dir.path().join("checkpoints");
    let mut cps = std::fs::read(&cp_path).unwrap();
    cps.extend_from_slice(b"glasshouse.example/audit\n6\n");
    std::fs::write(&cp_path, &cps).unwrap();
    let log = AuditLog::open(dir.path(), ORIGIN).unwrap();
    assert_eq!(log.size(), 6);
    drop(log);
    assert_eq!(verify_dir(dir.path(), None).unwrap().size, 6);
}

#[test]
fn opening_with_another_origin_or_without_the_key_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    drop(log_with(dir.path(), 2));
    assert!(matches!(
        AuditLog::open(dir.path(), "other.example/audit"),
        Err(AuditError::OriginMismatch { .. })
    ));
    assert!(matches!(
        AuditLog::open(dir.path(), "bad origin"),
        Err(AuditError::BadOrigin(_))
    ));
    std::fs::remove_file(dir.path().join("log.key")).unwrap();
    assert!(matches!(
        AuditLog::open(dir.path(), ORIGIN),
        Err(AuditError::MissingKey { .. })
    ));
}

#[test]
fn invalid_entries_are_not_appended() {
    let dir = tempfile::tempdir().unwrap();
    let log = log_with(dir.path(), 1);
    let mut bad = entry(1);
    bad.time = "yesterday".into();
    assert!(matches!(log.append(&bad), Err(AuditError::Entry(_))));
    assert_eq!(log.size(), 1);
    drop(log);
    verify_dir(dir.path(), None).unwrap();
}

#[test]
fn concurrent_appends_all_land_and_verify() {
    let dir = tempfile::tempdir().unwrap();
    let log = std::sync::Arc::new(AuditLog::open(dir.path(), ORIGIN).unwrap());
    let handles: Vec<_> = (0..4)
        .map(|t| {
            let log = log.clone();
            std::thread::spawn(move || {
                for i in 0..10 {
                    log.append(&entry(t * 100 + i)).unwrap();
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    assert_eq!(log.size(), 40);
    assert_eq!(verify_dir(dir.path(), None).unwrap().size, 40);
}

#[test]
fn a_follower_checks_only_what_was_appended_and_catches_a_forged_tail() {
    use glasshouse_audit::Follower;
    let dir = tempfile::tempdir().unwrap();
    let log = log_with(dir.path(), 10);
    let key = key_of(&log);
    let mut follower = Follower::new(dir.path(), key.clone());
    assert_eq!(follower.advance(), Ok(10));
    for i in 10..25 {
        log.append(&entry(i)).unwrap();
    }
    assert_eq!(follower.advance(), Ok(25));
    assert_eq!(follower.advance(), Ok(25), "nothing new");

    // An entry appended without a checkpoint (a crash between the two
    // writes, or a write in progress) is not yet counted, nor a fault.
    drop(log);
    let mut with_extra = lines(dir.path());
    with_extra.push(with_extra[3].clone());
    write_lines(dir.path(), &with_extra);
    assert_eq!(follower.advance(), Ok(25));

    // A checkpoint signed by another key after it is caught, and stays caught.
    let forger = Signer::generate(ORIGIN, Algorithm::Ed25519).unwrap();
    let mut tree = Tree::new();
    for line in &with_extra {
        tree.push(glasshouse_audit::merkle::leaf_hash(line.as_bytes()));
    }
    let cp = Checkpoint::new(ORIGIN, tree.size(), tree.root());
    let note = Note::sign(&cp.body(), &forger).unwrap().to_text();
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(dir.path().join("checkpoints"))
        .unwrap();
    std::io::Write::write_all(&mut file, format!("{note}\n").as_bytes()).unwrap();
    let why = follower.advance().unwrap_err();
    assert!(why.starts_with("checkpoint 26"), "{why}");
    assert_eq!(follower.advance().unwrap_err(), why);

    // A fresh follower, reading the whole log, finds it too.
    let mut fresh = Follower::new(dir.path(), key.clone());
    assert_eq!(fresh.advance().unwrap_err(), why);

    // A log cut below what was checked is reported.
    let dir = tempfile::tempdir().unwrap();
    let log = log_with(dir.path(), 10);
    let mut follower = Follower::new(dir.path(), key_of(&log));
    assert_eq!(follower.advance(), Ok(10));
    write_lines(dir.path(), &lines(dir.path())[..5]);
    let why = follower.advance().unwrap_err();
    assert!(why.contains("shrank"), "{why}");
}

fn key_of(log: &AuditLog) -> Verifier {
    Verifier::from_key_string(&log.verifier_key()).unwrap()
}
