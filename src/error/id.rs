//! [`InvalidId`]: why a string is not a mesh identity or name.

/// Why a string is not an identity or a name.
///
/// Public as [`meshtls::identity::InvalidId`](crate::identity::InvalidId); defined beside
/// [`crate::Error`], which wraps it, so that the error module imports nothing of `identity`
/// (which imports `Error`).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InvalidId {
    /// The string is empty.
    #[error("empty name")]
    Empty,
    /// A DNS name longer than 253 octets.
    #[error("DNS name is {0} octets long; the limit is 253")]
    DnsTooLong(usize),
    /// A DNS name that ends with a dot. Mesh names are written without it.
    #[error("DNS name ends with '.'; write it without the trailing dot")]
    TrailingDot,
    /// A label that is empty, too long, or has a character other than a-z, 0-9 and an inner '-'.
    #[error("invalid DNS label {0:?}: labels are 1-63 of a-z, 0-9 and '-', not starting or ending with '-'")]
    BadLabel(String),
    /// The last label is all digits: this looks like an IP address, not a name.
    #[error("{0:?} looks like an IP address, not a DNS name")]
    Numeric(String),
    /// Not a DNS name, and a URI whose scheme is not `spiffe`.
    #[error("not a DNS name, and not a spiffe:// URI")]
    NotSpiffe,
    /// A SPIFFE ID that breaks the SPIFFE-ID rules (trust domain, path, length, query, fragment).
    #[error("invalid SPIFFE ID: {0}")]
    BadSpiffe(&'static str),
}
