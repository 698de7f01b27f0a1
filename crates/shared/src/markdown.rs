//! A message's text as the page shows it: a small Markdown subset, as
//! HTML that can hold nothing a writer could use against a reader.
//!
//! One function, [`render`], run on the server for every message it reads
//! or stores; the HTML travels with the message (`html`), so the page
//! shows what the server wrote, rendered or hydrated, and carries no
//! Markdown parser (as Zulip does: one renderer, on the server). The text is
//! parsed by pulldown-cmark (CommonMark, no extension), and this module
//! writes the HTML itself, element by element, from a short list:
//! emphasis, strong, inline code, fenced and indented code blocks (their
//! whitespace kept), block quotes, lists, paragraphs and line breaks
//! (every newline of a chat message is one), links to `http` and `https`
//! (written or bare) and `@name` mentions. Everything else shows as the
//! text it was written as: raw HTML (escaped), headings, rules, images
//! (their text, never a request to another host). No attribute comes from
//! the writer but a link's `href`, which must be `http` or `https` after
//! the parser decoded it (entities, escapes): `javascript:`, `data:`,
//! `vbscript:` and every other scheme stay text. Links open in a new tab
//! with `rel="noopener noreferrer nofollow ugc"`.

use std::ops::Range;

use pulldown_cmark::{Event, Options, Parser, Tag, TagEnd};

/// The `rel` of every link a message holds.
pub const LINK_REL: &str = "noopener noreferrer nofollow ugc";

/// `text` (a message's, which passed the text rules) as safe HTML.
pub fn render(text: &str) -> String {
    let mut html = String::with_capacity(text.len() + text.len() / 2);
    let mut writer = Writer {
        source: text,
        html: &mut html,
        links: Vec::new(),
        code: 0,
        skip_until: None,
        pending: String::new(),
    };
    for (event, range) in Parser::new_ext(text, Options::empty()).into_offset_iter() {
        writer.event(event, range);
    }
    writer.flush_text();
    html
}

struct Writer<'a> {
    source: &'a str,
    html: &'a mut String,
    /// The links open, each whether it was written as an anchor (a bare
    /// URL inside one stays text).
    links: Vec<bool>,
    /// How many code spans or blocks are open (nothing is linked there).
    code: usize,
    /// Inside a construct shown as its source: the end to skip to.
    skip_until: Option<TagEnd>,
    /// Text not written yet: the parser cuts a run of text where a
    /// delimiter might have been, and a bare link or a name may span the
    /// cut.
    pending: String,
}

impl Writer<'_> {
    fn event(&mut self, event: Event<'_>, range: Range<usize>) {
        if let Some(end) = &self.skip_until {
            if matches!(&event, Event::End(tag) if tag == end) {
                self.skip_until = None;
            }
            return;
        }
        if let Event::Text(text) = &event {
            self.pending.push_str(text);
            return;
        }
        self.flush_text();
        match event {
            Event::Start(tag) => self.start(tag, range),
            Event::End(tag) => self.end(tag),
            Event::Text(_) => {}
            Event::Code(code) => {
                self.html.push_str("<code>");
                escape(self.html, &code);
                self.html.push_str("</code>");
            }
            // Raw HTML is text like any other.
            Event::Html(html) | Event::InlineHtml(html) => escape(self.html, &html),
            Event::SoftBreak | Event::HardBreak => self.html.push_str("<br>"),
            Event::Rule => self.as_written(range),
            Event::FootnoteReference(text) | Event::InlineMath(text) | Event::DisplayMath(text) => {
                escape(self.html, &text)
            }
            Event::TaskListMarker(done) => self.html.push_str(if done { "[x] " } else { "[ ] " }),
        }
    }

    fn start(&mut self, tag: Tag<'_>, range: Range<usize>) {
        match tag {
            Tag::Paragraph => self.html.push_str("<p>"),
            Tag::Emphasis => self.html.push_str("<em>"),
            Tag::Strong => self.html.push_str("<strong>"),
            Tag::BlockQuote(_) => self.html.push_str("<blockquote>"),
            // A fence's info string (a language) is not kept.
            Tag::CodeBlock(_) => {
                self.code += 1;
                self.html.push_str("<pre><code>");
            }
            Tag::List(Some(1)) => self.html.push_str("<ol>"),
            Tag::List(Some(start)) => {
                self.html.push_str("<ol start=\"");
                self.html.push_str(&start.to_string());
                self.html.push_str("\">");
            }
            Tag::List(None) => self.html.push_str("<ul>"),
            Tag::Item => self.html.push_str("<li>"),
            Tag::Link { dest_url, .. } if is_web_link(&dest_url) => {
                self.links.push(true);
                self.open_link(&dest_url);
            }
            // Another scheme: its text shows, unlinked.
            Tag::Link { .. } => self.links.push(false),
            // An image shows as its text: nothing is fetched.
            Tag::Image { .. } => {}
            Tag::Heading { level, .. } => {
                self.skip_until = Some(TagEnd::Heading(level));
                self.as_written(range);
            }
            Tag::HtmlBlock => {}
            // Not in the subset (and not enabled): shown as written.
            Tag::Table(_)
            | Tag::TableHead
            | Tag::TableRow
            | Tag::TableCell
            | Tag::FootnoteDefinition(_)
            | Tag::DefinitionList
            | Tag::DefinitionListTitle
            | Tag::DefinitionListDefinition
            | Tag::Strikethrough
            | Tag::Superscript
            | Tag::Subscript
            | Tag::MetadataBlock(_) => {
                self.skip_until = Some(tag.to_end());
                self.as_written(range);
            }
        }
    }

    fn end(&mut self, tag: TagEnd) {
        match tag {
            TagEnd::Paragraph => self.html.push_str("</p>"),
            TagEnd::Emphasis => self.html.push_str("</em>"),
            TagEnd::Strong => self.html.push_str("</strong>"),
            TagEnd::BlockQuote(_) => self.html.push_str("</blockquote>"),
            TagEnd::CodeBlock => {
                self.code = self.code.saturating_sub(1);
                self.html.push_str("</code></pre>");
            }
            TagEnd::List(true) => self.html.push_str("</ol>"),
            TagEnd::List(false) => self.html.push_str("</ul>"),
            TagEnd::Item => self.html.push_str("</li>"),
            TagEnd::Link if self.links.pop() == Some(true) => self.html.push_str("</a>"),
            _ => {}
        }
    }

    fn open_link(&mut self, url: &str) {
        self.html.push_str("<a href=\"");
        escape(self.html, url);
        self.html.push_str("\" rel=\"");
        self.html.push_str(LINK_REL);
        self.html.push_str("\" target=\"_blank\">");
    }

    /// The pending text, with bare web links and `@name` mentions marked
    /// (but not in code, nor inside a link).
    fn flush_text(&mut self) {
        if self.pending.is_empty() {
            return;
        }
        let text = std::mem::take(&mut self.pending);
        if self.code > 0 || !self.links.is_empty() {
            escape(self.html, &text);
            return;
        }
        let mut rest = text.as_str();
        while let Some((start, end, kind)) = next_marked(rest) {
            escape(self.html, &rest[..start]);
            let marked = &rest[start..end];
            match kind {
                Marked::Link => {
                    self.open_link(marked);
                    escape(self.html, marked);
                    self.html.push_str("</a>");
                }
                Marked::Mention => {
                    self.html.push_str("<span class=\"mention\">");
                    escape(self.html, marked);
                    self.html.push_str("</span>");
                }
            }
            rest = &rest[end..];
        }
        escape(self.html, rest);
    }

    /// The source of `range` as text, in a paragraph of its own.
    fn as_written(&mut self, range: Range<usize>) {
        let written = self.source.get(range).unwrap_or_default().trim_end();
        self.html.push_str("<p>");
        for (i, line) in written.lines().enumerate() {
            if i > 0 {
                self.html.push_str("<br>");
            }
            escape(self.html, line);
        }
        self.html.push_str("</p>");
    }
}

/// Whether `url` (as the parser decoded it) is a web address.
fn is_web_link(url: &str) -> bool {
    let url = url.trim_start();
    ["http://", "https://"].iter().any(|scheme| {
        url.get(..scheme.len())
            .is_some_and(|start| start.eq_ignore_ascii_case(scheme))
            && url.len() > scheme.len()
    }) && !url.chars().any(|c| c.is_control() || c.is_whitespace())
}

#[derive(Debug, PartialEq, Eq)]
enum Marked {
    Link,
    Mention,
}

/// The next bare web link or `@name` in `text`: its byte range and kind.
fn next_marked(text: &str) -> Option<(usize, usize, Marked)> {
    let mut from = 0;
    while from < text.len() {
        let rest = &text[from..];
        let at = rest.find(['h', 'H', '@'])? + from;
        let before = text[..at].chars().next_back();
        let starts_word = before.is_none_or(|c| !c.is_alphanumeric());
        if starts_word && let Some(end) = bare_link_end(&text[at..]) {
            return Some((at, at + end, Marked::Link));
        }
        let starts_mention = before.is_none_or(|c| c.is_whitespace() || "([{\"'".contains(c));
        if text[at..].starts_with('@') && starts_mention {
            let name: usize = text[at + 1..]
                .chars()
                .take_while(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.'))
                .map(char::len_utf8)
                .sum();
            // A trailing dot ends the sentence, not the name.
            let name = text[at + 1..at + 1 + name].trim_end_matches('.').len();
            if name > 0 {
                return Some((at, at + 1 + name, Marked::Mention));
            }
        }
        from = at + 1;
    }
    None
}

/// If `text` starts with a bare web link, where it ends: at white space or
/// `<`, less the punctuation that ends a sentence around it, and a closing
/// parenthesis that opens nowhere in it.
fn bare_link_end(text: &str) -> Option<usize> {
    if !is_web_link(text.split(char::is_whitespace).next().unwrap_or_default()) {
        return None;
    }
    let mut end = text
        .find(|c: char| c.is_whitespace() || c == '<' || c.is_control())
        .unwrap_or(text.len());
    loop {
        let link = &text[..end];
        let trimmed = link.trim_end_matches(['.', ',', ';', ':', '!', '?', '\'', '"', '*', '_']);
        let trimmed = if trimmed.ends_with(')')
            && trimmed.matches('(').count() < trimmed.matches(')').count()
        {
            &trimmed[..trimmed.len() - 1]
        } else {
            trimmed
        };
        if trimmed.len() == end {
            break;
        }
        end = trimmed.len();
    }
    is_web_link(&text[..end]).then_some(end)
}

/// [`render`]'s HTML of `text`, or `None` when it would only show the text
/// as it was typed (one paragraph, no markup, no link, no mention): most
/// chat messages, which then travel without a second copy of their text.
pub fn render_if_marked(text: &str) -> Option<String> {
    let html = render(text);
    let mut plain = String::with_capacity(html.len());
    plain.push_str("<p>");
    for (i, line) in text.split('\n').enumerate() {
        if i > 0 {
            plain.push_str("<br>");
        }
        escape(&mut plain, line);
    }
    plain.push_str("</p>");
    (html != plain).then_some(html)
}

/// Appends `text` with every character that means something in HTML
/// escaped (in text and in a double-quoted attribute alike).
fn escape(html: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '&' => html.push_str("&amp;"),
            '<' => html.push_str("&lt;"),
            '>' => html.push_str("&gt;"),
            '"' => html.push_str("&quot;"),
            '\'' => html.push_str("&#39;"),
            c => html.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_subset_renders() {
        assert_eq!(
            render("*a* **b** `c`"),
            "<p><em>a</em> <strong>b</strong> <code>c</code></p>"
        );
        assert_eq!(
            render("```\nfn main() {\n    x < 1\n}\n```"),
            "<pre><code>fn main() {\n    x &lt; 1\n}\n</code></pre>"
        );
        assert_eq!(render("> said"), "<blockquote><p>said</p></blockquote>");
        assert_eq!(render("- a\n- b"), "<ul><li>a</li><li>b</li></ul>");
        assert_eq!(
            render("3. c\n4. d"),
            "<ol start=\"3\"><li>c</li><li>d</li></ol>"
        );
        assert_eq!(render("one\ntwo"), "<p>one<br>two</p>");
    }

    #[test]
    fn web_links_open_apart_and_nothing_else_links() {
        let link = |url: &str| format!("<a href=\"{url}\" rel=\"{LINK_REL}\" target=\"_blank\">");
        assert_eq!(
            render("see https://example.com/a?b=1&c=2."),
            format!(
                "<p>see {}https://example.com/a?b=1&amp;c=2</a>.</p>",
                link("https://example.com/a?b=1&amp;c=2")
            )
        );
        assert_eq!(
            render("[docs](http://example.com/x)"),
            format!("<p>{}docs</a></p>", link("http://example.com/x"))
        );
        assert_eq!(
            render("(see https://en.wikipedia.org/wiki/Rust_(language))"),
            format!(
                "<p>(see {}https://en.wikipedia.org/wiki/Rust_(language)</a>)</p>",
                link("https://en.wikipedia.org/wiki/Rust_(language)")
            )
        );
        assert_eq!(
            render("<https://example.com>"),
            format!(
                "<p>{}https://example.com</a></p>",
                link("https://example.com")
            )
        );
        // No link inside code.
        assert_eq!(
            render("`https://example.com`"),
            "<p><code>https://example.com</code></p>"
        );
    }

    /// Every way of smuggling markup or a script through Markdown that
    /// the OWASP filter-evasion list suggests for a renderer like this.
    #[test]
    fn nothing_a_writer_types_becomes_markup_a_script_or_a_request() {
        let hostile = [
            "[x](javascript:alert(1))",
            "[x](JaVaScRiPt:alert(1))",
            "[x]( javascript:alert(1))",
            "[x](javascript&#58;alert(1))",
            "[x](javascript&#x3A;alert(1))",
            "[x](&#106;avascript:alert(1))",
            "[x](java\\script:alert(1))",
            "[x](java%0Ascript:alert(1))",
            "[x](vbscript:msgbox(1))",
            "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
            "[x](file:///etc/passwd)",
            "<javascript:alert(1)>",
            "<a href=\"javascript:alert(1)\">x</a>",
            "<script>alert(1)</script>",
            "<img src=x onerror=alert(1)>",
            "![x](https://evil.example/track.png)",
            "![x](javascript:alert(1))",
            "[x](https://example.com \"title\" onmouseover=alert(1))",
            "[x](https://example.com\"onmouseover=\"alert(1))",
            "<https://example.com\"onmouseover=\"alert(1)>",
            "https://example.com/\"onmouseover=\"alert(1)",
            "[[x](javascript:alert(1))](https://example.com)",
            "[x]: javascript:alert(1)\n\n[x]",
            "`<script>alert(1)</script>`",
            "<style>body{display:none}</style>",
            "<div style=\"position:fixed\">x</div>",
            "&lt;script&gt;alert(1)&lt;/script&gt;",
            "<iframe src=\"https://evil.example\"></iframe>",
            "# <script>alert(1)</script>",
        ];
        for text in hostile {
            let html = render(text);
            // Every tag is one of the subset's, with no attribute but a
            // web link's own; a writer's quotes and brackets are escaped,
            // so nothing they type can open a tag or leave an attribute.
            for tag in html.split('<').skip(1) {
                let tag = tag.split('>').next().unwrap_or_default();
                let allowed = [
                    "p",
                    "/p",
                    "em",
                    "/em",
                    "strong",
                    "/strong",
                    "code",
                    "/code",
                    "pre",
                    "/pre",
                    "blockquote",
                    "/blockquote",
                    "ul",
                    "/ul",
                    "ol",
                    "/ol",
                    "li",
                    "/li",
                    "br",
                    "/a",
                    "span class=\"mention\"",
                    "/span",
                ];
                if allowed.contains(&tag) {
                    continue;
                }
                let href = tag
                    .strip_prefix("a href=\"")
                    .and_then(|rest| {
                        rest.strip_suffix(&format!("\" rel=\"{LINK_REL}\" target=\"_blank\""))
                    })
                    .unwrap_or_else(|| panic!("{text:?} gave <{tag}>"));
                assert!(!href.contains('"'), "{text:?} gave <{tag}>");
                let lower = href.to_ascii_lowercase();
                assert!(
                    lower.starts_with("http://") || lower.starts_with("https://"),
                    "{text:?} gave <{tag}>"
                );
            }
            assert!(!html.contains("<img"), "{text:?} gave {html}");
        }
    }

    #[test]
    fn what_is_not_in_the_subset_shows_as_written() {
        assert_eq!(render("# not a heading"), "<p># not a heading</p>");
        assert_eq!(render("a\n\n---\n\nb"), "<p>a</p><p>---</p><p>b</p>");
        assert_eq!(
            render("![logo](https://example.com/logo.png)"),
            "<p>logo</p>"
        );
        assert_eq!(render("<b>bold?</b>"), "<p>&lt;b&gt;bold?&lt;/b&gt;</p>");
    }

    #[test]
    fn plain_text_needs_no_html_of_its_own() {
        assert_eq!(
            render_if_marked("just words, & <things>\non two lines"),
            None
        );
        assert_eq!(render_if_marked("𝄞𝄞𝄞"), None);
        assert_eq!(
            render_if_marked("*one*").as_deref(),
            Some("<p><em>one</em></p>")
        );
        assert!(render_if_marked("see https://example.com").is_some());
        assert!(render_if_marked("- a list").is_some());
    }

    #[test]
    fn mentions_are_marked_but_not_addresses() {
        assert_eq!(
            render("thanks @ada."),
            "<p>thanks <span class=\"mention\">@ada</span>.</p>"
        );
        assert_eq!(
            render("mail ada@example.com"),
            "<p>mail ada@example.com</p>"
        );
        assert_eq!(render("`@ada`"), "<p><code>@ada</code></p>");
    }
}
