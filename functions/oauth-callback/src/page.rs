//! The small HTML pages people see at the end of a browser flow.

use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};

fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;").replace('\'', "&#39;")
}

/// A page with a title and paragraphs (plain text: escaped here).
pub fn page(status: StatusCode, title: &str, paragraphs: &[String]) -> Response {
    let body: String = paragraphs.iter().map(|p| format!("<p>{}</p>", escape(p))).collect();
    let html = format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>{t} · Warroom</title>\
         <style>body{{font-family:system-ui,sans-serif;max-width:36rem;margin:4rem auto;padding:0 1rem;line-height:1.5}}</style>\
         </head><body><h1>{t}</h1>{body}</body></html>",
        t = escape(title)
    );
    (status, Html(html)).into_response()
}

pub fn error(status: StatusCode, title: &str, what_to_do: &str) -> Response {
    page(status, title, &[what_to_do.to_string()])
}

#[cfg(test)]
mod tests {
    #[test]
    fn text_is_escaped() {
        assert_eq!(super::escape("<script>\"x\"&'"), "&lt;script&gt;&quot;x&quot;&amp;&#39;");
    }
}
