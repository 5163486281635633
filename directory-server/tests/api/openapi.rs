//! `GET /openapi.json`: generated from the handlers, checked against the routes the router
//! really serves and against the endpoints docs/api.md describes.

use std::collections::BTreeSet;

use axum::http::StatusCode;
use serde_json::Value;

use crate::support::{call, test_app};

/// `METHOD /path` with every path parameter written `{}`.
fn normalized(method: &str, path: &str) -> String {
    let mut out = String::new();
    let mut in_param = false;
    for c in path.chars() {
        match (c, in_param) {
            ('{', _) => {
                in_param = true;
                out.push_str("{}");
            }
            ('}', _) => in_param = false,
            (_, true) => {}
            (c, false) => out.push(c),
        }
    }
    format!("{} {out}", method.to_uppercase())
}

/// Every `$ref` in `value`.
fn refs(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (key, v) in map {
                match (key.as_str(), v) {
                    ("$ref", Value::String(r)) => out.push(r.clone()),
                    _ => refs(v, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| refs(v, out)),
        _ => {}
    }
}

async fn description() -> Value {
    let app = test_app().await;
    let reply = call(&app, "GET", "/openapi.json", None, None).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    reply.json
}

fn operations(spec: &Value) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (path, item) in spec["paths"].as_object().expect("paths") {
        for method in item.as_object().expect("a path item").keys() {
            out.push((method.to_uppercase(), path.clone()));
        }
    }
    out
}

#[tokio::test]
async fn the_description_is_openapi_3_1_and_every_reference_resolves() {
    let spec = description().await;
    assert_eq!(spec["openapi"], "3.1.0");
    assert_eq!(spec["info"]["version"], env!("CARGO_PKG_VERSION"));
    let mut found = Vec::new();
    refs(&spec, &mut found);
    assert!(found.len() > 20, "{found:?}");
    for reference in found {
        let name = reference
            .strip_prefix("#/components/schemas/")
            .unwrap_or_else(|| panic!("unexpected reference {reference}"));
        assert!(
            spec["components"]["schemas"][name].is_object(),
            "{reference} does not resolve"
        );
    }
    let codes = &spec["components"]["schemas"]["ErrorCode"]["enum"];
    assert!(
        codes
            .as_array()
            .is_some_and(|c| c.contains(&"invite_required".into())),
        "{codes}"
    );
}

#[tokio::test]
async fn every_described_operation_is_served_by_the_router() {
    let spec = description().await;
    let app = test_app().await;
    let ops = operations(&spec);
    assert!(ops.len() >= 22, "{ops:?}");
    for (method, path) in ops {
        let concrete = path.replace("{username}", "alice").replace("{key}", "x");
        let reply = call(&app, &method, &concrete, None, None).await;
        let fallback = matches!(reply.status, StatusCode::METHOD_NOT_ALLOWED)
            || (reply.status == StatusCode::NOT_FOUND && reply.text.contains("no such route"));
        assert!(!fallback, "{method} {path} is not served: {}", reply.text);
    }
    // And the fallback still answers what is not described.
    let reply = call(&app, "PATCH", "/register", None, None).await;
    assert_eq!(reply.status, StatusCode::METHOD_NOT_ALLOWED);
}

#[tokio::test]
async fn docs_api_md_describes_exactly_the_described_operations() {
    let spec = description().await;
    let described: BTreeSet<String> = operations(&spec)
        .iter()
        .map(|(method, path)| normalized(method, path))
        .collect();
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/api.md"))
        .expect("docs/api.md");
    let mut documented = BTreeSet::new();
    for heading in doc.lines().filter(|l| l.starts_with("###")) {
        for quoted in heading.split('`').skip(1).step_by(2) {
            if let Some((method, path)) = quoted.split_once(' ')
                && ["GET", "POST", "PUT", "DELETE"].contains(&method)
            {
                documented.insert(normalized(method, path));
            }
        }
    }
    let missing: Vec<_> = described.difference(&documented).collect();
    let extra: Vec<_> = documented.difference(&described).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "not in docs/api.md's headings: {missing:?}; in docs/api.md but not served: {extra:?}"
    );
}

#[tokio::test]
async fn every_rate_limited_operation_declares_its_429() {
    let spec = description().await;
    let mut limited = 0;
    for (method, path) in operations(&spec) {
        let http: axum::http::Method = method.parse().expect("a method");
        let declared = spec["paths"][&path][method.to_lowercase()]["responses"]["429"].is_object();
        let is_limited = p2p_chat_directory::limits::is_limited(&http, &path);
        // (Punches and reachability checks have budgets of their own, also 429.)
        assert!(declared || !is_limited, "{method} {path} is rate limited");
        limited += usize::from(is_limited);
    }
    assert!(limited >= 8, "{limited}");
}
