//! The little XML WeCom's app callbacks need (`wecom.md` §2 POST body and reply templates; the
//! `template_card_event` and passive-reply fields of notes Q2): writing a flat `<xml>` of
//! CDATA / number elements, and reading any `<xml>` into `path → text` pairs, where a nested
//! element is named by its path below the root (`Button/ReplaceName`, `TemplateCard/CardType`).

use std::collections::BTreeMap;

use quick_xml::events::Event;
use quick_xml::Reader;

/// One element of a flat document: text goes in CDATA, numbers bare (as WeCom writes them).
pub enum Field<'a> {
    Text(&'a str, &'a str),
    Number(&'a str, i64),
}

/// `<xml><A><![CDATA[…]]></A><B>1</B></xml>`.
pub fn write(fields: &[Field<'_>]) -> String {
    let mut out = String::from("<xml>");
    for f in fields {
        match f {
            // "]]>" cannot appear inside CDATA: split it across two sections.
            Field::Text(name, value) => out.push_str(&format!("<{name}><![CDATA[{}]]></{name}>", value.replace("]]>", "]]]]><![CDATA[>"))),
            Field::Number(name, value) => out.push_str(&format!("<{name}>{value}</{name}>")),
        }
    }
    out.push_str("</xml>");
    out
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("not well-formed XML: {0}")]
pub struct XmlError(pub String);

/// Every leaf's text by its path below the root element. Repeated paths keep the last value,
/// except that their values are also joined with `\n` under `path[]` (for `OptionIds/OptionId`).
pub fn read(xml: &str) -> Result<BTreeMap<String, String>, XmlError> {
    // No trimming: it would also trim around entity references ("a &amp; b"); whitespace-only
    // text (the "\n" between elements) is dropped at each element's end instead.
    let mut reader = Reader::from_str(xml);
    let mut path: Vec<String> = Vec::new();
    let mut text = String::new();
    let mut out = BTreeMap::new();
    let mut seen_root = false;
    loop {
        match reader.read_event().map_err(|e| XmlError(e.to_string()))? {
            Event::Start(e) => {
                let name = e.name().0.to_string();
                if !seen_root {
                    seen_root = true;
                } else {
                    path.push(name);
                }
                text.clear();
            }
            Event::Empty(e) => {
                let name = e.name().0.to_string();
                let key = path.iter().cloned().chain([name]).collect::<Vec<_>>().join("/");
                out.insert(key, String::new());
            }
            Event::Text(t) => text.push_str(&unescape(&t.into_inner())),
            Event::CData(c) => text.push_str(&c.into_inner()),
            Event::GeneralRef(r) => {
                let name = r.into_inner().into_owned();
                text.push_str(&unescape(&format!("&{name};")));
            }
            Event::End(_) => {
                if path.is_empty() {
                    continue;
                }
                let key = path.join("/");
                if text.trim().is_empty() {
                    text.clear();
                }
                if !text.is_empty() || !out.contains_key(&key) {
                    let list = out.entry(format!("{key}[]")).or_insert_with(String::new);
                    if !list.is_empty() {
                        list.push('\n');
                    }
                    list.push_str(&text);
                    out.insert(key, std::mem::take(&mut text));
                }
                path.pop();
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if !seen_root {
        return Err(XmlError("no root element".into()));
    }
    Ok(out)
}

/// The five predefined entities and numeric character references.
fn unescape(s: &str) -> String {
    if !s.contains('&') {
        return s.to_string();
    }
    let mut out = String::new();
    let mut rest = s;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        let tail = &rest[i..];
        let Some(end) = tail.find(';') else {
            out.push_str(tail);
            return out;
        };
        let entity = &tail[1..end];
        let ch = match entity {
            "lt" => Some('<'),
            "gt" => Some('>'),
            "amp" => Some('&'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            e if e.starts_with("#x") => u32::from_str_radix(&e[2..], 16).ok().and_then(char::from_u32),
            e if e.starts_with('#') => e[1..].parse().ok().and_then(char::from_u32),
            _ => None,
        };
        match ch {
            Some(c) => out.push(c),
            None => out.push_str(&tail[..=end]),
        }
        rest = &tail[end + 1..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn written_cdata_and_numbers_read_back_by_path() {
        let xml = write(&[Field::Text("ToUserName", "ww1"), Field::Text("EventKey", "a]]>b&c"), Field::Number("AgentID", 1000002)]);
        let m = read(&xml).unwrap();
        assert_eq!(m["ToUserName"], "ww1");
        assert_eq!(m["EventKey"], "a]]>b&c");
        assert_eq!(m["AgentID"], "1000002");
    }

    #[test]
    fn nested_elements_entities_and_repeats_are_read() {
        let xml = "<xml><MsgType>update_button</MsgType><Button><ReplaceName>已处理 &amp; 关闭</ReplaceName></Button>\n<Ids><Id>a</Id><Id>b</Id></Ids></xml>";
        let m = read(xml).unwrap();
        assert_eq!(m["MsgType"], "update_button");
        assert_eq!(m["Button/ReplaceName"], "已处理 & 关闭");
        assert_eq!(m["Ids/Id[]"], "a\nb");
        assert!(read("<xml><a></xml>").is_err());
    }
}
