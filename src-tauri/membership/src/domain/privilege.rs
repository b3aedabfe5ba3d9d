use super::ValidationError;

/// A privilege the PPC can grant a member.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Privilege {
    GlobalAdmin,
    ActionPack,
    CompetencyBenefits,
}

impl Privilege {
    pub const ALL: [Privilege; 3] = [
        Privilege::GlobalAdmin,
        Privilege::ActionPack,
        Privilege::CompetencyBenefits,
    ];

    pub fn parse(input: &str) -> Result<Self, ValidationError> {
        // Exact: the API document states these three spellings and nothing else.
        match input {
            "global_admin" => Ok(Self::GlobalAdmin),
            "action_pack" => Ok(Self::ActionPack),
            "competency_benefits" => Ok(Self::CompetencyBenefits),
            _ => Err(ValidationError::new(
                "invalid_privilege",
                "Unknown privilege. Choose global_admin, action_pack or competency_benefits.",
            )),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::GlobalAdmin => "global_admin",
            Self::ActionPack => "action_pack",
            Self::CompetencyBenefits => "competency_benefits",
        }
    }

    /// The name people know it by.
    pub fn title(self) -> &'static str {
        match self {
            Self::GlobalAdmin => "Global Administrator",
            Self::ActionPack => "Action Pack",
            Self::CompetencyBenefits => "Competency benefits",
        }
    }

    /// What the privilege unlocks, in the guide's words.
    pub fn benefits(self) -> &'static str {
        match self {
            Self::GlobalAdmin => "Global Administrator Rights to manage the organisation's profile: email domains, requests, members and privileges.",
            Self::ActionPack => "Access to Action Pack benefits, such as software licences and support for your own business.",
            Self::CompetencyBenefits => "Access to Competency benefits such as Internal Use Rights software licences.",
        }
    }
}
