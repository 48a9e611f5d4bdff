//! API tokens: made here, shown once, configured as a hash.

use rand::RngCore;

/// A new random token (URL-safe, 256 bits).
pub fn new_token() -> String {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    format!("gh_{}", hex::encode(bytes))
}

/// The hash the configuration stores (the server checks tokens the same way).
pub use glasshouse_model::config::token_hash as sha256_hex;

/// Prints a token and the configuration block that admits it.
pub fn print_new(organisation: &str, name: &str) {
    let token = new_token();
    println!("token: {token}");
    println!();
    println!("# add to glasshouse.toml (only the hash is stored):");
    println!("[[api_tokens]]");
    println!("name = {name:?}");
    println!("organisation = {organisation:?}");
    println!("sha256 = \"{}\"", sha256_hex(&token));
}
