//! Users as the API shows them.

use serde::{Deserialize, Serialize};

/// What a signed-in person may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum UserRole {
    /// Joined with a display name only; gone with the session.
    Guest,
    /// Signed up with a username and password.
    User,
    /// Configures rooms, languages, moderation, webhooks and users.
    Admin,
}

crate::named_enum!(UserRole, "role", { Guest => "guest", User => "user", Admin => "admin" });

/// A user as the API shows it (`GET /api/me`, sign-up, guest join).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct User {
    pub id: String,
    #[serde(default)]
    pub username: Option<String>,
    pub display_name: String,
    pub role: UserRole,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_read_and_write_their_snake_case_names_everywhere() {
        for role in [UserRole::Guest, UserRole::User, UserRole::Admin] {
            let json = serde_json::to_value(role).unwrap();
            assert_eq!(json, role.as_str());
            assert_eq!(role.as_str().parse::<UserRole>(), Ok(role));
            assert_eq!(serde_json::from_value::<UserRole>(json).unwrap(), role);
        }
        assert!("root".parse::<UserRole>().is_err());
        assert!(serde_json::from_str::<UserRole>(r#""Admin""#).is_err());
    }
}
