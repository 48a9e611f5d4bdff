//! `glasshouse user add`: makes a dashboard account's configuration block.
//! The password is read without echo (or from standard input when piped),
//! hashed with argon2, and only the hash is printed.

use anyhow::{bail, Context};
use argon2::password_hash::{rand_core::OsRng, PasswordHasher, SaltString};
use std::io::{BufRead, IsTerminal};

/// Shortest password accepted (NCSC advice favours length over complexity).
pub const MIN_PASSWORD: usize = 12;

/// Prints the `[[users]]` block for a new account.
pub fn add(username: &str, organisation: &str, role: &str) -> anyhow::Result<()> {
    if glasshouse_model::Role::parse(role).is_none() {
        bail!("role: {role:?} is not one of viewer, analyst, admin");
    }
    let max = glasshouse_model::config::MAX_USERNAME;
    if username.trim().is_empty() || username.chars().count() > max {
        bail!("username: must be 1 to {max} characters");
    }
    let password = if std::io::stdin().is_terminal() {
        let first = rpassword::prompt_password("password: ")?;
        let again = rpassword::prompt_password("password again: ")?;
        if first != again {
            bail!("the two passwords differ");
        }
        first
    } else {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .context("reading the password from standard input")?;
        line.trim_end_matches(['\r', '\n']).to_string()
    };
    if password.chars().count() < MIN_PASSWORD {
        bail!("password: use at least {MIN_PASSWORD} characters (three random words work well)");
    }
    let salt = SaltString::generate(&mut OsRng);
    let hash = argon2::Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map_err(|e| anyhow::anyhow!("hashing the password: {e}"))?
        .to_string();
    println!("# add to glasshouse.toml (only the argon2 hash is stored):");
    println!("[[users]]");
    println!("username = {username:?}");
    println!("organisation = {organisation:?}");
    println!("role = {role:?}");
    println!("password_hash = \"{hash}\"");
    Ok(())
}
