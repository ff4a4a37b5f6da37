//! [`Refused`]: why a server's authorization policy refused a client. Public as
//! `meshtls::authz::Refused`; defined beside [`crate::Error`], which wraps it, so that the error
//! module imports nothing of `authz`.

use crate::identity::Id;

/// Why a client was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Refused {
    /// It sent no certificate and the policy requires one.
    #[error("the client sent no certificate and the server's policy requires one")]
    Unauthenticated,
    /// No rule allows any identity its certificate proves.
    #[error("no rule of the server's policy allows the client's identity ({})", ids(.identities))]
    NotAllowed {
        /// The identities the client's certificate proved.
        identities: Vec<Id>,
    },
}

fn ids(ids: &[Id]) -> String {
    let ids: Vec<String> = ids.iter().map(Id::to_string).collect();
    ids.join(", ")
}
