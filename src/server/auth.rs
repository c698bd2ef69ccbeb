//! Who may talk to the server: with a token, every request must carry it, as
//! `Authorization: Bearer TOKEN` or as Basic credentials with any user name and the
//! token as password (what Neo4j's drivers and curl's `-u` send). Without one, the
//! server only listens on loopback addresses, which [`check_listen`] enforces
//! before anything binds.

use std::net::SocketAddr;

use axum::http::HeaderMap;
use base64::Engine;

/// Refuses a non-loopback address when no token is configured.
pub fn check_listen(addr: &SocketAddr, token: Option<&str>) -> Result<(), String> {
    if token.is_none() && !addr.ip().is_loopback() {
        return Err(format!(
            "refusing to listen on {addr} without authentication: set a token with --token-env NAME, \
             or listen on a loopback address (127.0.0.1, ::1)"
        ));
    }
    Ok(())
}

/// Whether the request's `Authorization` header carries `token`.
pub fn authorized(headers: &HeaderMap, token: &str) -> bool {
    let Some(value) = headers.get(axum::http::header::AUTHORIZATION).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let (scheme, credentials) = value.split_once(' ').unwrap_or((value, ""));
    let credentials = credentials.trim();
    if scheme.eq_ignore_ascii_case("bearer") {
        return constant_time_eq(credentials.as_bytes(), token.as_bytes());
    }
    if scheme.eq_ignore_ascii_case("basic") {
        let Ok(decoded) = base64::engine::general_purpose::STANDARD.decode(credentials) else { return false };
        let Some(colon) = decoded.iter().position(|&b| b == b':') else { return false };
        return constant_time_eq(&decoded[colon + 1..], token.as_bytes());
    }
    false
}

/// Whether a credential is the token (Bolt's `credentials`), compared in constant time.
pub fn same(credential: &str, token: &str) -> bool {
    constant_time_eq(credential.as_bytes(), token.as_bytes())
}

/// Compares without returning early at the first difference, so the time taken
/// does not tell how much of a guessed token was right.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(axum::http::header::AUTHORIZATION, HeaderValue::from_str(value).unwrap());
        h
    }

    #[test]
    fn bearer_and_basic_carry_the_token() {
        assert!(authorized(&headers("Bearer s3cret"), "s3cret"));
        assert!(authorized(&headers("bearer s3cret"), "s3cret"));
        assert!(!authorized(&headers("Bearer s3cre"), "s3cret"));
        // neo4j:s3cret and anyone:s3cret; a password with a colon keeps it.
        assert!(authorized(&headers("Basic bmVvNGo6czNjcmV0"), "s3cret"));
        assert!(authorized(&headers("Basic YW55b25lOnMzY3JldA=="), "s3cret"));
        assert!(authorized(&headers("Basic dTphOmI="), "a:b"));
        assert!(!authorized(&headers("Basic czNjcmV0"), "s3cret")); // no user part
        assert!(!authorized(&headers("Basic !!"), "s3cret"));
        assert!(!authorized(&HeaderMap::new(), "s3cret"));
    }

    #[test]
    fn only_loopback_without_a_token() {
        let at = |s: &str| s.parse::<SocketAddr>().unwrap();
        assert!(check_listen(&at("127.0.0.1:7474"), None).is_ok());
        assert!(check_listen(&at("[::1]:7474"), None).is_ok());
        assert!(check_listen(&at("0.0.0.0:7474"), None).is_err());
        assert!(check_listen(&at("0.0.0.0:7474"), Some("t")).is_ok());
    }
}
