//! Validation and normalisation of the directory's base URL.

use reqwest::Url;

use super::DirectoryError;

/// The parsed base URL, its path ending in `/`, and the form shown to the user and saved in
/// the profile (no trailing slash).
///
/// # Errors
/// [`DirectoryError::BadUrl`], naming what is wrong.
pub(super) fn parse(base_url: &str) -> Result<(Url, String), DirectoryError> {
    let bad = |reason: &str| DirectoryError::BadUrl {
        url: base_url.to_owned(),
        reason: reason.to_owned(),
    };
    if !base_url.contains("://") {
        return Err(bad("it must start with http:// or https://"));
    }
    let mut base = Url::parse(base_url.trim()).map_err(|e| bad(&e.to_string()))?;
    if !matches!(base.scheme(), "http" | "https") {
        return Err(bad("it must start with http:// or https://"));
    }
    if base.host_str().is_none_or(str::is_empty) || base.cannot_be_a_base() {
        return Err(bad("it has no host name"));
    }
    if base.query().is_some() || base.fragment().is_some() {
        return Err(bad("it must not have a query (?) or fragment (#)"));
    }
    if !base.username().is_empty() || base.password().is_some() {
        return Err(bad("it must not contain a user name or password"));
    }
    if !base.path().ends_with('/') {
        let path = format!("{}/", base.path());
        base.set_path(&path);
    }
    let shown = base.as_str().trim_end_matches('/').to_owned();
    Ok((base, shown))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_validated_and_normalised() {
        let ok = |u: &str| parse(u).unwrap().1;
        assert_eq!(ok("http://127.0.0.1:27182"), "http://127.0.0.1:27182");
        assert_eq!(ok("http://127.0.0.1:27182/"), "http://127.0.0.1:27182");
        assert_eq!(
            ok(" HTTP://Chat.Example.org/dir/ "),
            "http://chat.example.org/dir"
        );
        assert_eq!(ok("https://x.org:443"), "https://x.org");
        assert_eq!(ok("https://x.org:27182/dir"), "https://x.org:27182/dir");

        for (bad, why) in [
            ("not-a-url", "it must start with http:// or https://"),
            ("127.0.0.1:8080", "it must start with http:// or https://"),
            ("ftp://x.org", "it must start with http:// or https://"),
            ("http://", "empty host"),
            ("http://x.org/?a=1", "query"),
            ("http://x.org/#top", "fragment"),
            ("http://me:pw@x.org", "user name or password"),
        ] {
            let err = parse(bad).unwrap_err();
            let text = err.to_string();
            assert!(
                matches!(err, DirectoryError::BadUrl { .. }),
                "{bad}: {err:?}"
            );
            assert!(text.contains(why), "{bad}: {text}");
            assert!(text.contains("expected something like http://"), "{text}");
        }
    }
}
