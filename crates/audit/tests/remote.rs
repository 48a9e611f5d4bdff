//! Verification and witnessing over HTTP against a real `AuditLog`, and a
//! server that shows a forked history.

mod common;

use std::path::Path;

use common::{entry, log_with, serve, ORIGIN};
use glasshouse_audit::key::{Algorithm, Signer, Verifier};
use glasshouse_audit::note::Note;
use glasshouse_audit::{
    verify_dir, verify_remote, witness, witness_texts, AuditLog, WitnessError, WitnessState,
};

/// A second log with the same key but its own history: what a dishonest
/// operator could show one party while showing another the real one.
fn forked_log(real_dir: &Path, fork_dir: &Path, n: u64, differ_at: u64) -> AuditLog {
    std::fs::copy(real_dir.join("log.key"), fork_dir.join("log.key")).unwrap();
    let log = AuditLog::open(fork_dir, ORIGIN).unwrap();
    for i in 0..n {
        let e = if i == differ_at {
            entry(i).refused("rewritten")
        } else {
            entry(i)
        };
        log.append(&e).unwrap();
    }
    log
}

#[test]
fn verify_remote_matches_verify_dir() {
    let dir = tempfile::tempdir().unwrap();
    let log = log_with(dir.path(), 25);
    let saved = log.checkpoint().unwrap();
    for i in 25..40 {
        log.append(&entry(i)).unwrap();
    }
    let key = log.verifier_key();
    let server = serve(log);
    let local = verify_dir(dir.path(), None).unwrap();
    let remote = verify_remote(&server.url, Some(&saved), Some(&key)).unwrap();
    assert_eq!(remote.size, 40);
    assert_eq!(remote.root, local.root);
    assert_eq!(remote.saved_size, Some(25));
    // Trust on first use of the served key works too.
    assert_eq!(
        verify_remote(&server.url, None, None).unwrap().root,
        local.root
    );
    // Another key does not.
    let other = Signer::generate(ORIGIN, Algorithm::Ed25519).unwrap();
    let err = verify_remote(&server.url, None, Some(&other.verifier().to_key_string()));
    assert!(err.is_err());
}

#[test]
fn verify_remote_names_the_entry_a_server_lies_about() {
    let dir = tempfile::tempdir().unwrap();
    let server = serve(log_with(dir.path(), 12));
    *server.tamper.lock().unwrap() = Some(7);
    let err = verify_remote(&server.url, None, None).unwrap_err();
    assert_eq!(err.entry_index(), Some(7), "{err}");
    assert!(err.to_string().contains("entry 7"), "{err}");
}

#[test]
fn verify_remote_refuses_a_rewritten_history() {
    let real = tempfile::tempdir().unwrap();
    let log = log_with(real.path(), 10);
    let saved = log.checkpoint().unwrap();
    let fork = tempfile::tempdir().unwrap();
    let server = serve(forked_log(real.path(), fork.path(), 12, 4));
    let err = verify_remote(&server.url, Some(&saved), None).unwrap_err();
    assert!(err.to_string().contains("saved checkpoint"), "{err}");
}

fn read(dir: &Path, name: &str) -> String {
    std::fs::read_to_string(dir.join(name)).unwrap()
}

#[test]
fn witness_cosigns_growth_and_refuses_a_fork() {
    let real = tempfile::tempdir().unwrap();
    let state = tempfile::tempdir().unwrap();
    let log = log_with(real.path(), 5);
    let server = serve(log);

    // First contact: pins the key, cosigns.
    let first = witness(&server.url, state.path(), "partner.example/witness").unwrap();
    assert_eq!(first.old_size, None);
    assert_eq!(first.size, 5);
    assert!(first
        .cosignature
        .starts_with("\u{2014} partner.example/witness "));
    let wkey = Verifier::from_key_string(&first.witness_key).unwrap();
    let cosigned = read(state.path(), "cosigned-checkpoint");
    assert_eq!(cosigned, first.cosigned_checkpoint);
    let verified = Note::parse(&cosigned)
        .unwrap()
        .verify(std::slice::from_ref(&wkey))
        .unwrap();
    assert!(verified[0].timestamp.is_some());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(state.path().join("witness.key"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    // The log grows: consistent, cosigned again with the same witness key.
    let live = server.log.lock().unwrap().clone();
    for i in 5..9 {
        live.append(&entry(i)).unwrap();
    }
    let second = witness(&server.url, state.path(), "partner.example/witness").unwrap();
    assert_eq!(second.old_size, Some(5));
    assert_eq!(second.size, 9);
    assert_eq!(second.witness_key, first.witness_key);
    // Unchanged log: still fine.
    assert_eq!(
        witness(&server.url, state.path(), "partner.example/witness")
            .unwrap()
            .size,
        9
    );

    // The server now shows a forked history, larger than before.
    let accepted = read(state.path(), "checkpoint");
    let fork = tempfile::tempdir().unwrap();
    server.swap(forked_log(real.path(), fork.path(), 12, 3));
    let err = witness(&server.url, state.path(), "partner.example/witness").unwrap_err();
    assert!(matches!(err, WitnessError::Fork(_)), "{err}");
    assert_eq!(
        read(state.path(), "checkpoint"),
        accepted,
        "state must not change"
    );

    // A fork of the same size.
    let fork2 = tempfile::tempdir().unwrap();
    server.swap(forked_log(real.path(), fork2.path(), 9, 8));
    let err = witness(&server.url, state.path(), "partner.example/witness").unwrap_err();
    assert!(matches!(err, WitnessError::Fork(_)), "{err}");

    // A shrunk log.
    let short = tempfile::tempdir().unwrap();
    server.swap(forked_log(real.path(), short.path(), 4, 99));
    let err = witness(&server.url, state.path(), "partner.example/witness").unwrap_err();
    assert!(
        matches!(err, WitnessError::Shrunk { old: 9, new: 4 }),
        "{err}"
    );

    // A log with another key.
    let other = tempfile::tempdir().unwrap();
    server.swap(log_with(other.path(), 12));
    let err = witness(&server.url, state.path(), "partner.example/witness").unwrap_err();
    assert!(matches!(err, WitnessError::KeyChanged { .. }), "{err}");
    assert_eq!(read(state.path(), "checkpoint"), accepted);

    // Back to the real log, which grew meanwhile: accepted again.
    live.append(&entry(9)).unwrap();
    server.swap(live.clone());
    assert_eq!(
        witness(&server.url, state.path(), "partner.example/witness")
            .unwrap()
            .size,
        10
    );
    // The state directory belongs to one witness name.
    assert!(matches!(
        witness(&server.url, state.path(), "someone.else"),
        Err(WitnessError::WrongWitness { .. })
    ));
}

#[test]
fn pure_witness_step_needs_no_network() {
    let real = tempfile::tempdir().unwrap();
    let log = log_with(real.path(), 3);
    let signer = Signer::generate("w.example", Algorithm::CosignatureV1).unwrap();
    let key = log.verifier_key();
    let cp3 = log.checkpoint().unwrap();
    let (state, report) = witness_texts(
        &signer,
        &WitnessState::default(),
        &key,
        &cp3,
        None,
        1_750_000_000,
    )
    .unwrap();
    assert_eq!(report.size, 3);
    assert_eq!(state.last_size(), Some(3));
    let got = Note::parse(&report.cosigned_checkpoint)
        .unwrap()
        .verify(&[signer.verifier()])
        .unwrap();
    assert_eq!(got[0].timestamp, Some(1_750_000_000));

    for i in 3..7 {
        log.append(&entry(i)).unwrap();
    }
    let cp7 = log.checkpoint().unwrap();
    assert!(matches!(
        witness_texts(&signer, &state, &key, &cp7, None, 1),
        Err(WitnessError::ProofNeeded { old: 3, new: 7 })
    ));
    let proof = log.consistency_json(3, 7).unwrap().to_string();
    let (state7, _) = witness_texts(&signer, &state, &key, &cp7, Some(&proof), 2).unwrap();
    assert_eq!(state7.last_size(), Some(7));
    // A proof for other sizes, or a garbled one, is refused.
    let wrong = log.consistency_json(2, 7).unwrap().to_string();
    assert!(witness_texts(&signer, &state, &key, &cp7, Some(&wrong), 2).is_err());
    let mut garbled = log.consistency_json(3, 7).unwrap();
    garbled["proof"][0] = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=".into();
    assert!(matches!(
        witness_texts(&signer, &state, &key, &cp7, Some(&garbled.to_string()), 2),
        Err(WitnessError::Fork(_))
    ));
    // A checkpoint with a flipped size does not verify.
    let flipped = cp7.replacen("\n7\n", "\n8\n", 1);
    assert!(matches!(
        witness_texts(&signer, &state, &key, &flipped, Some(&proof), 2),
        Err(WitnessError::Checkpoint(_))
    ));
}
