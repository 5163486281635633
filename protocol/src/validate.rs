//! Validation rules shared by the directory (which enforces them) and the client (which checks
//! early to give a better error).

use std::net::IpAddr;

/// Shortest username, in characters.
pub const USERNAME_MIN_CHARS: usize = 3;
/// Longest username, in characters.
pub const USERNAME_MAX_CHARS: usize = 32;
/// Shortest password, in bytes.
pub const PASSWORD_MIN_BYTES: usize = 8;
/// Longest password, in bytes: bcrypt reads at most 72 bytes of its input (Provos & Mazières,
/// "A Future-Adaptable Password Scheme", 1999), so longer passwords are refused, not truncated.
pub const PASSWORD_MAX_BYTES: usize = 72;
/// Longest DNS name, in bytes (RFC 1035, section 2.3.4).
pub const HOST_MAX_BYTES: usize = 253;

/// A field that broke a rule; `message` is a complete sentence naming it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct InvalidField {
    /// Name of the field as it appears in the JSON body or on the command line.
    pub field: &'static str,
    /// Human-readable explanation.
    pub message: String,
}

fn invalid(field: &'static str, message: impl Into<String>) -> InvalidField {
    InvalidField {
        field,
        message: message.into(),
    }
}

/// Checks a username and returns it case-folded.
///
/// # Errors
/// When it is not 3–32 characters of `[a-z0-9_.-]` after lower-casing.
pub fn username(raw: &str) -> Result<String, InvalidField> {
    let folded = raw.trim().to_lowercase();
    let chars = folded.chars().count();
    if !(USERNAME_MIN_CHARS..=USERNAME_MAX_CHARS).contains(&chars) {
        return Err(invalid(
            "username",
            format!(
                "username must be {USERNAME_MIN_CHARS}-{USERNAME_MAX_CHARS} characters, got {chars}"
            ),
        ));
    }
    if let Some(bad) = folded
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '_' | '.' | '-')))
    {
        return Err(invalid(
            "username",
            format!("username may contain only a-z, 0-9, '_', '.' and '-', not {bad:?}"),
        ));
    }
    Ok(folded)
}

/// Checks a password's length.
///
/// # Errors
/// When it is shorter than 8 or longer than 72 bytes (bcrypt's input limit).
pub fn password(raw: &str) -> Result<(), InvalidField> {
    let len = raw.len();
    if len < PASSWORD_MIN_BYTES {
        return Err(invalid(
            "password",
            format!("password must be at least {PASSWORD_MIN_BYTES} bytes, got {len}"),
        ));
    }
    if len > PASSWORD_MAX_BYTES {
        return Err(invalid(
            "password",
            format!(
                "password must be at most {PASSWORD_MAX_BYTES} bytes (bcrypt's limit), got {len}"
            ),
        ));
    }
    Ok(())
}

/// Checks that a host is an IP address or a DNS name, and returns it normalised (trimmed,
/// DNS names lower-cased, IPv6 without brackets).
///
/// # Errors
/// When it is neither an IP address nor a syntactically valid DNS name (RFC 1123 labels).
pub fn host(raw: &str) -> Result<String, InvalidField> {
    let trimmed = raw.trim();
    let unbracketed = trimmed
        .strip_prefix('[')
        .and_then(|s| s.strip_suffix(']'))
        .unwrap_or(trimmed);
    if let Ok(ip) = unbracketed.parse::<IpAddr>() {
        return Ok(ip.to_string());
    }
    let name = trimmed
        .strip_suffix('.')
        .unwrap_or(trimmed)
        .to_ascii_lowercase();
    let label_ok = |l: &str| {
        (1..=63).contains(&l.len())
            && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && !l.starts_with('-')
            && !l.ends_with('-')
    };
    if name.is_empty() || name.len() > HOST_MAX_BYTES || !name.split('.').all(label_ok) {
        return Err(invalid(
            "host",
            format!(
                "host must be an IP address or a DNS name, got {:?}",
                truncate(trimmed, 64)
            ),
        ));
    }
    Ok(name)
}

/// A candidate address a client publishes ([`crate::api::UpdateRequest::candidates`]):
/// `IP:PORT` with a unicast IP (not loopback, unspecified, multicast or broadcast) and a port
/// of 1–65535; returned in canonical form (IPv6 in brackets).
///
/// # Errors
/// [`InvalidField`] naming `candidates` and what is wrong.
pub fn candidate(raw: &str) -> Result<String, InvalidField> {
    let addr: std::net::SocketAddr = raw
        .trim()
        .parse()
        .map_err(|_| invalid("candidates", format!("candidate {raw:?} is not IP:PORT")))?;
    let ip = addr.ip();
    let multicast_or_broadcast = match ip {
        std::net::IpAddr::V4(v4) => v4.is_multicast() || v4.is_broadcast(),
        std::net::IpAddr::V6(v6) => v6.is_multicast(),
    };
    if ip.is_loopback() || ip.is_unspecified() || multicast_or_broadcast || addr.port() == 0 {
        return Err(invalid(
            "candidates",
            format!("candidate {raw:?} is not an address another machine could dial"),
        ));
    }
    Ok(addr.to_string())
}

/// Checks a TCP port.
///
/// # Errors
/// When it is 0 (ports are 1–65535).
pub fn port(port: u16) -> Result<u16, InvalidField> {
    if port == 0 {
        return Err(invalid("port", "port must be 1-65535, got 0"));
    }
    Ok(port)
}

/// Length of an X25519 public key in bytes (RFC 7748, section 5).
pub const PUBLIC_KEY_BYTES: usize = 32;

/// Checks an identity public key given as 64 hex digits and returns its bytes.
///
/// # Errors
/// When it is not exactly 64 hex digits.
pub fn public_key(raw: &str) -> Result<[u8; PUBLIC_KEY_BYTES], InvalidField> {
    let bad = || {
        invalid(
            "public_key",
            format!("public_key must be {} hex digits", PUBLIC_KEY_BYTES * 2),
        )
    };
    let raw = raw.trim();
    if raw.len() != PUBLIC_KEY_BYTES * 2 || !raw.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(bad());
    }
    let mut key = [0u8; PUBLIC_KEY_BYTES];
    for (i, byte) in key.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&raw[2 * i..2 * i + 2], 16).map_err(|_| bad())?;
    }
    Ok(key)
}

/// Renders key bytes as lowercase hex, the form [`public_key`] accepts.
pub fn key_hex(key: &[u8]) -> String {
    key.iter().map(|b| format!("{b:02x}")).collect()
}

fn truncate(s: &str, max_chars: usize) -> String {
    s.chars().take(max_chars).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn candidates_are_dialable_ip_and_port() {
        assert_eq!(candidate("192.0.2.11:55555").unwrap(), "192.0.2.11:55555");
        assert_eq!(
            candidate(" [2001:db8::7]:4000 ").unwrap(),
            "[2001:db8::7]:4000"
        );
        for bad in [
            "192.0.2.11",
            "host.example:1",
            "127.0.0.1:55555",
            "0.0.0.0:1",
            "224.0.0.1:1",
            "255.255.255.255:1",
            "[::1]:1",
            "192.0.2.1:0",
            "",
        ] {
            let err = candidate(bad).unwrap_err();
            assert_eq!(err.field, "candidates", "{bad}");
        }
    }

    #[test]
    fn usernames_are_folded_and_checked() {
        assert_eq!(username("Alice").unwrap(), "alice");
        assert_eq!(username("a.b-c_9").unwrap(), "a.b-c_9");
        assert!(username("ab").unwrap_err().message.contains("3-32"));
        assert!(username(&"a".repeat(33)).is_err());
        assert!(username("al ice").unwrap_err().message.contains("' '"));
        assert!(username("ålice").is_err());
        assert!(username("").is_err());
    }

    #[test]
    fn passwords_have_bcrypt_limits() {
        assert!(password("12345678").is_ok());
        assert!(password("1234567").is_err());
        let err = password(&"x".repeat(73)).unwrap_err();
        assert_eq!(err.field, "password");
        assert!(err.message.contains("bcrypt"));
        assert!(password(&"x".repeat(72)).is_ok());
    }

    #[test]
    fn hosts_are_ips_or_dns_names() {
        assert_eq!(host("127.0.0.1").unwrap(), "127.0.0.1");
        assert_eq!(host("[::1]").unwrap(), "::1");
        assert_eq!(host("Chat.Example.ORG.").unwrap(), "chat.example.org");
        assert_eq!(host("localhost").unwrap(), "localhost");
        for bad in [
            "",
            "-a.com",
            "a..b",
            "a b",
            "a/b",
            "http://x",
            &"a".repeat(64),
            "x:80",
        ] {
            assert!(host(bad).is_err(), "{bad:?} accepted");
        }
        assert!(host(&format!("{}.com", "a.".repeat(130))).is_err());
    }

    #[test]
    fn public_keys_are_64_hex_digits() {
        let hex = "0f".repeat(32);
        assert_eq!(public_key(&hex).unwrap(), [0x0f; 32]);
        assert_eq!(key_hex(&[0x0f; 32]), hex);
        assert_eq!(public_key(&hex.to_uppercase()).unwrap(), [0x0f; 32]);
        for bad in [
            "",
            "0f",
            &"0f".repeat(33),
            &"zz".repeat(32),
            &"é".repeat(32),
            "+0".repeat(32).as_str(),
        ] {
            let err = public_key(bad).unwrap_err();
            assert_eq!(err.field, "public_key", "{bad:?}");
        }
    }

    #[test]
    fn port_zero_is_refused() {
        assert!(port(0).is_err());
        assert_eq!(port(1).unwrap(), 1);
        assert_eq!(port(65535).unwrap(), 65535);
    }
}
