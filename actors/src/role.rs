//! Who a user is to Ringside. Roles are ordered: each one can do everything
//! the roles below it can.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Watches, comments, reacts and votes.
    Viewer,
    /// Also posts live updates, which wait for approval.
    Reporter,
    /// Also runs fights, approves updates and moderates.
    Moderator,
    /// Everything, including the card, users' roles and broadcasts.
    Admin,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Viewer, Role::Reporter, Role::Moderator, Role::Admin];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Reporter => "reporter",
            Role::Moderator => "moderator",
            Role::Admin => "admin",
        }
    }

    /// True when this role may do what `required` may.
    pub fn includes(self, required: Role) -> bool {
        self >= required
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, thiserror::Error)]
#[error("unknown role {0:?}: expected viewer, reporter, moderator or admin")]
pub struct UnknownRole(pub String);

impl FromStr for Role {
    type Err = UnknownRole;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| UnknownRole(s.to_string()))
    }
}

// One of the enumerations the database's CHECKs list (see `vocabulary`).
impl crate::vocabulary::Vocabulary for Role {
    const NAME: &'static str = "role";
    const ALL: &'static [Self] = &Role::ALL;
    fn as_str(self) -> &'static str {
        Role::as_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_are_ordered_and_round_trip() {
        assert!(Role::Admin.includes(Role::Moderator));
        assert!(Role::Moderator.includes(Role::Reporter));
        assert!(!Role::Reporter.includes(Role::Moderator));
        assert!(!Role::Viewer.includes(Role::Reporter));
        for role in Role::ALL {
            assert_eq!(role.as_str().parse::<Role>().ok(), Some(role));
        }
        assert!("root".parse::<Role>().is_err());
    }

    #[test]
    fn each_role_includes_itself_and_displays_its_spelling() {
        for role in Role::ALL {
            assert!(role.includes(role));
            assert!(role.includes(Role::Viewer));
            assert_eq!(role.to_string(), role.as_str());
        }
        assert_eq!(
            Role::ALL.map(Role::as_str),
            ["viewer", "reporter", "moderator", "admin"]
        );
        let err = "root".parse::<Role>().expect_err("unknown");
        assert_eq!(err.0, "root");
    }
}
