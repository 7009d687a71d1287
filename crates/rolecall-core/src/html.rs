//! Reading HTML the way Rolecall needs it: a flat list of tags and decoded text from any input,
//! however broken. It finds tags and their attributes, skips comments, scripts and styles
//! (whose text could contain anything) and never fails. The IdP page classifier, the AWS
//! sign-in page's account names and AWS's error pages all read through it.

pub fn collapse_whitespace(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A flat list of a page's tags and text, enough to find forms, inputs and labelled text.
#[derive(Debug)]
pub struct Document {
    pub nodes: Vec<Node>,
}

#[derive(Debug)]
pub enum Node {
    Open {
        name: String,
        attributes: Vec<(String, String)>,
    },
    Close {
        name: String,
    },
    Text(String),
}

impl Node {
    pub fn attribute(&self, wanted: &str) -> Option<&str> {
        match self {
            Node::Open { attributes, .. } => attributes
                .iter()
                .find(|(name, _)| name == wanted)
                .map(|(_, value)| value.as_str()),
            _ => None,
        }
    }

    pub fn is_open(&self, wanted: &str) -> bool {
        matches!(self, Node::Open { name, .. } if name == wanted)
    }

    pub fn is_close(&self, wanted: &str) -> bool {
        matches!(self, Node::Close { name } if name == wanted)
    }
}

/// Attributes kept per tag: real IdP tags have a dozen or two. The rest are read past, so a
/// hostile tag with millions of them costs one pass over its text.
pub(crate) const MAX_ATTRIBUTES: usize = 64;

/// Elements whose content is not HTML.
const RAW_TEXT: [&str; 4] = ["script", "style", "textarea", "title"];

impl Document {
    /// Reads any text as HTML; never fails.
    pub fn scan(html: &str) -> Document {
        let mut nodes = Vec::new();
        let mut rest = html;
        while !rest.is_empty() {
            let Some(lt) = rest.find('<') else {
                push_text(&mut nodes, rest);
                break;
            };
            push_text(&mut nodes, &rest[..lt]);
            rest = &rest[lt..];
            if let Some(comment) = rest.strip_prefix("<!--") {
                rest = comment.find("-->").map_or("", |end| &comment[end + 3..]);
                continue;
            }
            if rest.starts_with("<!") || rest.starts_with("<?") {
                rest = rest.find('>').map_or("", |end| &rest[end + 1..]);
                continue;
            }
            let closing = rest.starts_with("</");
            let body = &rest[if closing { 2 } else { 1 }..];
            let name_len = body
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == ':'))
                .unwrap_or(body.len());
            if name_len == 0 {
                // A lone `<` in text.
                push_text(&mut nodes, "<");
                rest = &rest[1..];
                continue;
            }
            let name = body[..name_len].to_ascii_lowercase();
            let (attributes, after) = scan_attributes(&body[name_len..]);
            rest = after;
            if closing {
                nodes.push(Node::Close { name });
                continue;
            }
            let raw = RAW_TEXT.contains(&name.as_str());
            nodes.push(Node::Open {
                name: name.clone(),
                attributes,
            });
            if raw {
                let end = find_ignore_case(rest, &format!("</{name}")).unwrap_or(rest.len());
                if name == "title" || name == "textarea" {
                    push_text(&mut nodes, &rest[..end]);
                }
                rest = &rest[end..];
            }
        }
        Document { nodes }
    }

    /// The text inside the element with this `id`, whitespace collapsed; `None` when the element
    /// is absent or empty.
    pub fn text_of_id(&self, id: &str) -> Option<String> {
        let start = self
            .nodes
            .iter()
            .position(|node| node.attribute("id") == Some(id))?;
        self.text_within(start)
    }

    fn text_within(&self, start: usize) -> Option<String> {
        let Node::Open { name, .. } = &self.nodes[start] else {
            return None;
        };
        let mut depth = 0usize;
        let mut text = String::new();
        for node in &self.nodes[start + 1..] {
            match node {
                Node::Open { name: inner, .. } if inner == name => depth += 1,
                Node::Close { name: inner } if inner == name => {
                    if depth == 0 {
                        break;
                    }
                    depth -= 1;
                }
                Node::Text(t) => {
                    text.push_str(t);
                    text.push(' ');
                }
                _ => {}
            }
        }
        let text = collapse_whitespace(&text);
        (!text.is_empty()).then_some(text)
    }

    /// The text inside the first `<tag>` element, whitespace collapsed; `None` when there is
    /// none or it is empty.
    pub fn text_of_tag(&self, tag: &str) -> Option<String> {
        let start = self.nodes.iter().position(|node| node.is_open(tag))?;
        self.text_within(start)
    }

    /// All text, with a line break where a block or label starts or ends.
    pub fn text(&self) -> String {
        let mut text = String::new();
        for node in &self.nodes {
            match node {
                Node::Text(t) => text.push_str(t),
                Node::Open { name, .. } | Node::Close { name }
                    if matches!(&**name, "p" | "div" | "br" | "li" | "tr" | "span" | "label") =>
                {
                    text.push('\n');
                }
                _ => {}
            }
        }
        text
    }
}

fn push_text(nodes: &mut Vec<Node>, raw: &str) {
    if !raw.is_empty() {
        nodes.push(Node::Text(decode_entities(raw)));
    }
}

fn find_ignore_case(haystack: &str, needle: &str) -> Option<usize> {
    let needle = needle.as_bytes();
    haystack
        .as_bytes()
        .windows(needle.len())
        .position(|window| window.eq_ignore_ascii_case(needle))
}

/// Reads `name="value" name='value' name=value name` up to the tag's `>`; returns the
/// attributes (names lowercased, values decoded) and what follows the tag.
/// At most [`MAX_ATTRIBUTES`] are kept, the first of each name, as browsers do.
pub(crate) fn scan_attributes(mut rest: &str) -> (Vec<(String, String)>, &str) {
    let mut attributes: Vec<(String, String)> = Vec::new();
    loop {
        rest = rest.trim_start_matches(|c: char| c.is_whitespace() || c == '/');
        if rest.is_empty() {
            return (attributes, rest);
        }
        if let Some(after) = rest.strip_prefix('>') {
            return (attributes, after);
        }
        let name_len = rest
            .find(|c: char| c.is_whitespace() || matches!(c, '=' | '>' | '/'))
            .unwrap_or(rest.len())
            .max(1);
        let keep = attributes.len() < MAX_ATTRIBUTES;
        let name = if keep {
            rest[..name_len].to_ascii_lowercase()
        } else {
            String::new()
        };
        rest = rest[name_len..].trim_start();
        let mut value = String::new();
        if let Some(after_eq) = rest.strip_prefix('=') {
            let after_eq = after_eq.trim_start();
            let (raw, after) = match after_eq.chars().next() {
                Some(quote @ ('"' | '\'')) => {
                    let inner = &after_eq[1..];
                    match inner.find(quote) {
                        Some(end) => (&inner[..end], &inner[end + 1..]),
                        None => (inner, ""),
                    }
                }
                _ => {
                    let end = after_eq
                        .find(|c: char| c.is_whitespace() || c == '>')
                        .unwrap_or(after_eq.len());
                    (&after_eq[..end], &after_eq[end..])
                }
            };
            if keep {
                value = decode_entities(raw);
            }
            rest = after;
        }
        // Linear in the kept attributes, which are few.
        if keep && !attributes.iter().any(|(seen, _)| *seen == name) {
            attributes.push((name, value));
        }
    }
}

/// Decodes the character references IdP pages use: the named ones that appear in URLs and
/// messages, and numeric ones.
pub fn decode_entities(raw: &str) -> String {
    if !raw.contains('&') {
        return raw.to_owned();
    }
    let mut out = String::with_capacity(raw.len());
    let mut rest = raw;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        rest = &rest[amp..];
        let end = rest[1..]
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '#'))
            .map(|at| at + 1);
        let decoded = end
            .filter(|&end| rest[end..].starts_with(';'))
            .and_then(|end| entity(&rest[1..end]).map(|c| (c, end + 1)));
        match decoded {
            Some((c, used)) => {
                out.push(c);
                rest = &rest[used..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

fn entity(name: &str) -> Option<char> {
    if let Some(number) = name.strip_prefix('#') {
        let code = match number.strip_prefix(['x', 'X']) {
            Some(hex) => u32::from_str_radix(hex, 16).ok()?,
            None => number.parse().ok()?,
        };
        return char::from_u32(code);
    }
    Some(match name {
        "amp" => '&',
        "lt" => '<',
        "gt" => '>',
        "quot" => '"',
        "apos" => '\'',
        "nbsp" => '\u{a0}',
        _ => return None,
    })
}
