//! Chained roles: from the session of a role the SAML sign-in grants (the *source*), further
//! roles assumed hop by hop with sts:AssumeRole, as in "hub and spoke" setups where a person
//! signs in to a hub account and works in others.
//!
//! A [`Chain`] is what comes after the source role: the role ARNs in order, an external id and
//! a session name. Each hop is signed with the session of the role before it
//! ([`Sts::assume_role`]) and asks for one hour, the most AWS gives a chained session; the
//! sign-in's `SourceIdentity` goes with every hop. A chained profile is always renewed from a
//! new session of its source role, never from its own (expiring) credentials: provisioning
//! ([`crate::provision`]) assumes the source role with the assertion and then runs the chain.

use serde::{Deserialize, Serialize};

use crate::aws_files::Credentials;
use crate::saml::{Assertion, RolePair, is_role_arn, is_valid_session_name};
use crate::sts::{Hop, Sts, StsError};

/// AWS's limits for `ExternalId`: 2 to 1224 of `[\w+=,.@:/-]`.
const EXTERNAL_ID_CHARS: std::ops::RangeInclusive<usize> = 2..=1224;

/// The roles after the source role, and how they are asked for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Chain {
    /// Role ARNs, hop by hop; the last one's credentials are the profile's.
    pub roles: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    /// The `RoleSessionName` of every hop; the sign-in's `RoleSessionName` when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_name: Option<String>,
}

impl Chain {
    /// The role whose credentials the chain ends with.
    pub fn last_role(&self) -> Option<&str> {
        self.roles.last().map(String::as_str)
    }

    /// The first thing about the chain AWS would refuse, before any call.
    pub fn check(&self) -> Result<(), ChainProblem> {
        if self.roles.is_empty() {
            return Err(ChainProblem::NoRoles);
        }
        if let Some(role) = self.roles.iter().find(|role| !is_role_arn(role)) {
            return Err(ChainProblem::NotARole {
                value: role.clone(),
            });
        }
        if let Some(id) = &self.external_id
            && !is_valid_external_id(id)
        {
            return Err(ChainProblem::ExternalId);
        }
        if let Some(name) = &self.session_name
            && !is_valid_session_name(name)
        {
            return Err(ChainProblem::SessionName {
                value: name.clone(),
            });
        }
        Ok(())
    }

    /// The session name every hop uses.
    fn session_name<'a>(&'a self, assertion: &'a Assertion) -> &'a str {
        self.session_name
            .as_deref()
            .unwrap_or(&assertion.role_session_name)
    }
}

fn is_valid_external_id(id: &str) -> bool {
    EXTERNAL_ID_CHARS.contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_+=,.@:/-".contains(&b))
}

/// Runs `chain` from `source`, the credentials of `source_role`'s new session: each hop signed
/// with the one before. Gives the last hop's credentials, or why a hop failed (naming it and
/// the role it came from).
pub async fn assume(
    sts: &Sts,
    assertion: &Assertion,
    source_role: &RolePair,
    source: Credentials,
    chain: &Chain,
) -> Result<Credentials, StsError> {
    let mut from = source_role.role_arn.as_str();
    let mut credentials = source;
    for (index, role_arn) in chain.roles.iter().enumerate() {
        let hop = Hop {
            number: index + 1,
            role_arn,
            from,
            session_name: chain.session_name(assertion),
            external_id: chain.external_id.as_deref(),
            source_identity: assertion.source_identity.as_deref(),
        };
        credentials = sts.assume_role(&hop, &credentials).await?;
        from = role_arn;
    }
    Ok(credentials)
}

/// A chain that cannot be run, in words for the settings file or the command line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChainProblem {
    #[error("it names no role to assume. List at least one role ARN in `roles` (or --chain).")]
    NoRoles,
    #[error(
        "\"{value}\" is not an IAM role ARN. Give roles as arn:aws:iam::<12-digit account>:role/<name>."
    )]
    NotARole { value: String },
    #[error(
        "its external id is not one AWS accepts: 2 to 1224 letters, digits and _+=,.@:/-. Copy \
         it again from the administrator of the role."
    )]
    ExternalId,
    #[error(
        "its session name {value:?} is not one AWS accepts: 2 to 64 letters, digits and \
         _+=,.@-. Leave it out to use the name your sign-in gives."
    )]
    SessionName { value: String },
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chain(roles: &[&str]) -> Chain {
        Chain {
            roles: roles.iter().map(|r| (*r).to_owned()).collect(),
            external_id: None,
            session_name: None,
        }
    }

    #[test]
    fn a_chain_names_role_arns_and_values_aws_accepts() {
        assert_eq!(
            chain(&["arn:aws:iam::222222222222:role/Admin"]).check(),
            Ok(())
        );
        assert_eq!(chain(&[]).check(), Err(ChainProblem::NoRoles));
        assert!(matches!(
            chain(&["arn:aws:iam::222222222222:user/bob"]).check(),
            Err(ChainProblem::NotARole { .. })
        ));
        assert!(matches!(
            chain(&["222222222222/Admin"]).check(),
            Err(ChainProblem::NotARole { .. })
        ));
        let mut odd = chain(&["arn:aws:iam::222222222222:role/Admin"]);
        odd.external_id = Some("x".to_owned());
        assert_eq!(odd.check(), Err(ChainProblem::ExternalId), "too short");
        odd.external_id = Some("Team:42/ok".to_owned());
        assert_eq!(odd.check(), Ok(()));
        odd.session_name = Some("alice smith".to_owned());
        assert!(matches!(odd.check(), Err(ChainProblem::SessionName { .. })));
    }
}
