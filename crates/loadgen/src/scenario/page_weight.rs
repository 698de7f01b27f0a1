//! Scenario 5: the bytes a browser transfers for the first load of the
//! page, as served (compressed where the browser asks for it).

use serde_json::json;

use crate::{Report, target::Target};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Fail when the first load transfers more than this many bytes
    /// (`cargo xtask test` checks the release build against its budget).
    #[arg(long)]
    pub budget_bytes: Option<usize>,
}

/// What Chromium sends.
const ACCEPT_ENCODING: &str = "gzip, deflate, br, zstd";

pub async fn run(target: &Target, args: Args) -> anyhow::Result<Report> {
    // No automatic decompression: the body's length is what crossed the wire.
    let client = reqwest::Client::builder().build()?;
    let fetch = |path: String| {
        let client = client.clone();
        let url = target.url(&path);
        async move {
            let response = client
                .get(&url)
                .header("accept-encoding", ACCEPT_ENCODING)
                .send()
                .await?;
            anyhow::ensure!(
                response.status().is_success(),
                "{url}: {}",
                response.status()
            );
            let header = |name: &str| {
                response
                    .headers()
                    .get(name)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("-")
                    .to_owned()
            };
            let (encoding, cache) = (header("content-encoding"), header("cache-control"));
            let body = response.bytes().await?;
            anyhow::Ok((path, body, encoding, cache))
        }
    };

    let (_, html, html_encoding, html_cache) = fetch("/".to_owned()).await?;
    let mut rows = vec![("/".to_owned(), html.len(), html_encoding, html_cache)];
    // The compressed page cannot be searched for its assets: fetch it plain.
    let plain = client.get(target.url("/")).send().await?.text().await?;
    for path in asset_paths(&plain) {
        let (path, body, encoding, cache) = fetch(path).await?;
        rows.push((path, body.len(), encoding, cache));
    }
    let total: usize = rows.iter().map(|(_, bytes, _, _)| bytes).sum();
    let mut summary = format!("page weight: {total} bytes transferred for the first load");
    for (path, bytes, encoding, cache) in &rows {
        summary.push_str(&format!(
            "\n  {path}: {bytes} bytes, encoding {encoding}, cache-control {cache}"
        ));
    }
    Ok(Report {
        summary,
        json: json!({
            "scenario": "page-weight",
            "total_bytes": total,
            "files": rows.iter().map(|(path, bytes, encoding, cache)| json!({
                "path": path, "bytes": bytes, "encoding": encoding, "cache_control": cache,
            })).collect::<Vec<_>>(),
        }),
        failure: args
            .budget_bytes
            .filter(|&budget| total > budget)
            .map(|budget| format!("the first load is {total} bytes, over its budget of {budget}")),
    })
}

/// The site assets (`/pkg/…`, `/favicon…`) a page references, once each.
fn asset_paths(html: &str) -> Vec<String> {
    let mut paths = Vec::new();
    for prefix in ["\"/pkg/", "\"/favicon"] {
        let mut rest = html;
        while let Some(at) = rest.find(prefix) {
            let candidate = &rest[at + 1..];
            let end = candidate.find(['"', '?']).unwrap_or(candidate.len());
            let path = candidate[..end].to_owned();
            if !paths.contains(&path) {
                paths.push(path);
            }
            rest = &candidate[end..];
        }
    }
    // The page preloads the WASM; without that link, the hydration script
    // imports the JS, which loads the WASM of the same name.
    if !paths.iter().any(|p| p.ends_with(".wasm")) {
        let wasm: Vec<String> = paths
            .iter()
            .filter_map(|p| p.strip_suffix(".js").map(|stem| format!("{stem}.wasm")))
            .collect();
        paths.extend(wasm);
    }
    paths
}

#[cfg(test)]
mod tests {
    use super::asset_paths;

    #[test]
    fn hashed_assets_are_taken_from_the_page_as_named() {
        let html = r#"<link id="leptos" rel="stylesheet" href="/pkg/chat.c1.css">
            <link rel="modulepreload" href="/pkg/chat.j2.js">
            <link rel="preload" href="/pkg/chat.w3.wasm" as="fetch">
            <link rel="icon" href="/favicon.svg">
            <script type="module">import("/pkg/chat.j2.js")</script>"#;
        assert_eq!(
            asset_paths(html),
            [
                "/pkg/chat.c1.css",
                "/pkg/chat.j2.js",
                "/pkg/chat.w3.wasm",
                "/favicon.svg"
            ]
        );
    }

    #[test]
    fn wasm_beside_the_script_is_counted_when_not_preloaded() {
        let html = r#"<script type="module" src="/pkg/chat.js"></script>"#;
        assert_eq!(asset_paths(html), ["/pkg/chat.js", "/pkg/chat.wasm"]);
    }
}
