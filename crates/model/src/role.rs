//! What a person or a token may do inside its own organisation.
//!
//! Roles never widen what data can be read: every role reads its own
//! organisation's sites, and another organisation's only through an
//! agreement (docs/governance.md). They decide what may be *changed*.

use serde::Serialize;
use std::fmt;

/// A role, weakest first; each holds the rights of the ones before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Reads its organisation's figures and those shared with it.
    Viewer,
    /// Also saves funnels (and other definitions) for its organisation's sites.
    Analyst,
    /// Also revokes its organisation's sessions and deletes saved items.
    Admin,
}

impl Role {
    /// Every role, weakest first.
    pub const ALL: [Role; 3] = [Role::Viewer, Role::Analyst, Role::Admin];

    /// The name used in the configuration and the audit log.
    pub fn name(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Analyst => "analyst",
            Role::Admin => "admin",
        }
    }

    /// Parses a configuration name.
    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.name() == s)
    }

    /// Whether this role may save definitions such as funnels.
    pub fn may_save(self) -> bool {
        self >= Role::Analyst
    }

    /// Whether this role may revoke its organisation's sessions and saved items.
    pub fn may_revoke(self) -> bool {
        self >= Role::Admin
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
