//! RFC 6962 known answers and exhaustive proof properties.

use glasshouse_audit::merkle::{
    empty_root, leaf_hash, node_hash, verify_consistency, verify_inclusion, Hash, Tree,
};

/// The leaves of the Certificate Transparency reference tree.
const LEAVES: [&str; 8] = [
    "",
    "00",
    "10",
    "2021",
    "3031",
    "40414243",
    "5051525354555657",
    "606162636465666768696a6b6c6d6e6f",
];

/// Roots of the reference tree over the first 1..=8 leaves.
const ROOTS: [&str; 8] = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
];

fn h(s: &str) -> Hash {
    hex::decode(s).unwrap().try_into().unwrap()
}

fn reference_tree() -> Tree {
    Tree::from_leaf_hashes(LEAVES.iter().map(|l| leaf_hash(&hex::decode(l).unwrap())))
}

fn hexes(proof: &[Hash]) -> Vec<String> {
    proof.iter().map(hex::encode).collect()
}

#[test]
fn empty_tree_root_is_sha256_of_nothing() {
    assert_eq!(
        hex::encode(empty_root()),
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    );
    assert_eq!(Tree::new().root(), empty_root());
}

#[test]
fn roots_match_the_reference_vectors() {
    let tree = reference_tree();
    for (n, root) in ROOTS.iter().enumerate() {
        assert_eq!(
            hex::encode(tree.root_at(n as u64 + 1).unwrap()),
            *root,
            "size {}",
            n + 1
        );
    }
    // Built incrementally or all at once, the same.
    let mut t = Tree::new();
    for (i, l) in LEAVES.iter().enumerate() {
        t.push(leaf_hash(&hex::decode(l).unwrap()));
        assert_eq!(hex::encode(t.root()), ROOTS[i]);
    }
}

#[test]
fn inclusion_proofs_match_the_reference_vectors() {
    let tree = reference_tree();
    let cases: [(u64, u64, &[&str]); 6] = [
        (0, 1, &[]),
        (
            0,
            2,
            &["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"],
        ),
        (
            2,
            3,
            &["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"],
        ),
        (
            1,
            5,
            &[
                "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            ],
        ),
        (
            0,
            8,
            &[
                "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
            ],
        ),
        (
            5,
            8,
            &[
                "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
                "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            ],
        ),
    ];
    for (index, size, want) in cases {
        let proof = tree.inclusion_proof(index, size).unwrap();
        assert_eq!(hexes(&proof), want, "leaf {index} in {size}");
        let root = h(ROOTS[size as usize - 1]);
        verify_inclusion(&tree.leaf(index).unwrap(), index, size, &proof, &root).unwrap();
    }
}

#[test]
fn consistency_proofs_match_the_reference_vectors() {
    let tree = reference_tree();
    let cases: [(u64, u64, &[&str]); 4] = [
        (
            1,
            8,
            &[
                "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
            ],
        ),
        (
            6,
            8,
            &[
                "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
                "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            ],
        ),
        (
            2,
            5,
            &[
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            ],
        ),
        (
            3,
            8,
            &[
                "0298d122906dcfc10892cb53a73992fc5b9f493ea4c9badb27b791b4127a7fe7",
                "07506a85fd9dd2f120eb694f86011e5bb4662e5c415a62917033d4a9624487e7",
                "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
                "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
            ],
        ),
    ];
    for (old, new, want) in cases {
        let proof = tree.consistency_proof(old, new).unwrap();
        assert_eq!(hexes(&proof), want, "{old} -> {new}");
        let (r1, r2) = (h(ROOTS[old as usize - 1]), h(ROOTS[new as usize - 1]));
        verify_consistency(old, new, &r1, &r2, &proof).unwrap();
        assert!(verify_consistency(old, new, &r2, &r1, &proof).is_err());
    }
}

#[test]
fn trivial_consistency_cases() {
    let a = [1u8; 32];
    let b = [2u8; 32];
    verify_consistency(0, 0, &a, &a, &[]).unwrap();
    verify_consistency(0, 5, &a, &b, &[]).unwrap();
    verify_consistency(3, 3, &a, &a, &[]).unwrap();
    assert!(verify_consistency(3, 3, &a, &b, &[]).is_err());
    assert!(verify_consistency(3, 3, &a, &a, &[a]).is_err());
    assert!(verify_consistency(0, 5, &a, &b, &[a]).is_err());
    assert!(verify_consistency(2, 1, &a, &b, &[]).is_err());
    assert!(verify_consistency(1, 2, &a, &b, &[]).is_err());
}

/// MTH straight from the RFC's recursive definition, to check the
/// level-based tree against something with no shared code.
fn reference_root(leaves: &[Hash]) -> Hash {
    match leaves.len() {
        0 => empty_root(),
        1 => leaves[0],
        n => {
            let mut k = 1;
            while k * 2 < n {
                k *= 2;
            }
            node_hash(&reference_root(&leaves[..k]), &reference_root(&leaves[k..]))
        }
    }
}

fn leaves(n: u64) -> Vec<Hash> {
    (0..n)
        .map(|i| leaf_hash(format!("leaf {i}").as_bytes()))
        .collect()
}

#[test]
fn every_size_up_to_64_generated_proofs_verify_and_altered_ones_fail() {
    let all = leaves(64);
    let tree = Tree::from_leaf_hashes(all.iter().copied());
    let wrong = leaf_hash(b"not in the log");
    for n in 1..=64u64 {
        let root = tree.root_at(n).unwrap();
        assert_eq!(root, reference_root(&all[..n as usize]), "root {n}");
        for m in 0..n {
            let leaf = all[m as usize];
            let proof = tree.inclusion_proof(m, n).unwrap();
            verify_inclusion(&leaf, m, n, &proof, &root).unwrap();
            assert!(verify_inclusion(&wrong, m, n, &proof, &root).is_err());
            if n > 1 {
                let other = if m == 0 { 1 } else { m - 1 };
                assert!(verify_inclusion(&leaf, other, n, &proof, &root).is_err());
            }
            assert!(verify_inclusion(&leaf, m, n, &proof, &wrong).is_err());
            if n < 64 {
                let next = tree.root_at(n + 1).unwrap();
                assert!(verify_inclusion(&leaf, m, n + 1, &proof, &next).is_err());
            }
            for i in 0..proof.len() {
                let mut p = proof.clone();
                p[i][0] ^= 1;
                assert!(verify_inclusion(&leaf, m, n, &p, &root).is_err());
            }
            let mut longer = proof.clone();
            longer.push(root);
            assert!(verify_inclusion(&leaf, m, n, &longer, &root).is_err());
            if !proof.is_empty() {
                assert!(verify_inclusion(&leaf, m, n, &proof[1..], &root).is_err());
            }
        }
        for m in 0..=n {
            let old_root = tree.root_at(m).unwrap();
            let proof = tree.consistency_proof(m, n).unwrap();
            verify_consistency(m, n, &old_root, &root, &proof).unwrap();
            if m == 0 || m == n {
                assert!(proof.is_empty());
                continue;
            }
            assert!(verify_consistency(m, n, &wrong, &root, &proof).is_err());
            assert!(verify_consistency(m, n, &old_root, &wrong, &proof).is_err());
            assert!(verify_consistency(m - 1, n, &old_root, &root, &proof).is_err());
            if n < 64 {
                // The proof is for size n, not for the next tree.
                let next = tree.root_at(n + 1).unwrap();
                assert!(verify_consistency(m, n + 1, &old_root, &next, &proof).is_err());
            }
            for i in 0..proof.len() {
                let mut p = proof.clone();
                p[i][31] ^= 0x80;
                assert!(verify_consistency(m, n, &old_root, &root, &p).is_err());
            }
            let mut longer = proof.clone();
            longer.push(root);
            assert!(verify_consistency(m, n, &old_root, &root, &longer).is_err());
            assert!(verify_consistency(m, n, &old_root, &root, &proof[1..]).is_err());
            // A different history of the same size is never consistent.
            let mut forked = all[..n as usize].to_vec();
            forked[(m - 1) as usize] = wrong;
            let forked_root = Tree::from_leaf_hashes(forked).root();
            assert!(verify_consistency(m, n, &old_root, &forked_root, &proof).is_err());
        }
    }
}

#[test]
fn out_of_range_requests_are_errors() {
    let tree = Tree::from_leaf_hashes(leaves(5));
    assert!(tree.inclusion_proof(5, 5).is_err());
    assert!(tree.inclusion_proof(0, 6).is_err());
    assert!(tree.consistency_proof(3, 6).is_err());
    assert!(tree.consistency_proof(4, 3).is_err());
    assert!(tree.root_at(6).is_err());
}
