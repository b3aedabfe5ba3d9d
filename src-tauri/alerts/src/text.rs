//! Text that other people typed — names, organisation names, email addresses, reasons, notes —
//! made safe for what the OS shows. A notice's `title` and `body` are plain text (the window
//! shows them as text nodes); these functions prepare them for a notification server.
//!
//! The Desktop Notifications Specification lets a server that advertises `body-markup` read a
//! subset of markup (`<b>`, `<i>`, `<u>`, `<a href>`, `<img>`) in the body, and GNOME Shell, KDE
//! Plasma and dunst do. So the body is always escaped, whatever the server says it can do:
//! otherwise a requester could style the approver's notification or put a link in it. The
//! summary is plain text by the specification, but some servers' formats mark it up too, so the
//! summary is only ever the app's own words ([`crate::Notice::headline`]).

/// The longest body handed to the OS, in characters; a longer one ends with "…". Names are at
/// most 100 characters and reasons and notes 500, so only a body built from the longest of them
/// is cut.
pub const MAX_BODY_CHARS: usize = 1000;

/// `text` escaped as the character data of the notification markup (a subset of XML, read with
/// GMarkup by GNOME and Qt's rich text by KDE): `&`, `<` and `>` become entities, so every
/// character shows as itself and none starts a tag or an entity.
pub fn markup_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / 8);
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
    }
    out
}

/// `text` as one block for the OS: controls other than a line break become a space, characters
/// that reorder the text around them (bidi embeddings, overrides, isolates and marks) are
/// dropped, and it is cut at `max_chars` characters with "…". The backend already refuses these
/// characters in what people type; this keeps a notification honest even if one gets through.
pub fn plain_for_os(text: &str, max_chars: usize) -> String {
    let mut out = String::with_capacity(text.len().min(max_chars * 4));
    let mut count = 0;
    for c in text.chars() {
        let c = match c {
            '\n' => '\n',
            c if c.is_control() => ' ',
            '\u{061C}'
            | '\u{200E}'
            | '\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2066}'..='\u{2069}' => continue,
            c => c,
        };
        if count == max_chars {
            out.pop();
            out.push('…');
            return out;
        }
        out.push(c);
        count += 1;
    }
    out
}

/// The body of a freedesktop notification: [`plain_for_os`] and then [`markup_escape`], so the
/// cut never falls inside an entity.
pub fn notification_body(body: &str) -> String {
    markup_escape(&plain_for_os(body, MAX_BODY_CHARS))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_in_a_name_becomes_entities() {
        assert_eq!(
            markup_escape(r#"<b>Eve</b> & <a href="x">Sons</a> &amp;"#),
            r#"&lt;b&gt;Eve&lt;/b&gt; &amp; &lt;a href="x"&gt;Sons&lt;/a&gt; &amp;amp;"#
        );
    }

    #[test]
    fn a_long_body_is_cut_on_a_character_with_an_ellipsis() {
        let body = "é".repeat(MAX_BODY_CHARS + 5);
        let cut = plain_for_os(&body, MAX_BODY_CHARS);
        assert_eq!(cut.chars().count(), MAX_BODY_CHARS);
        assert!(cut.ends_with('…'));
        assert_eq!(plain_for_os("short", MAX_BODY_CHARS), "short");
        assert_eq!(plain_for_os(&"a".repeat(10), 10), "a".repeat(10));
    }

    #[test]
    fn escaping_after_the_cut_never_splits_an_entity() {
        let body = "<".repeat(MAX_BODY_CHARS * 2);
        let shown = notification_body(&body);
        assert!(shown.ends_with("&lt;…"), "{}", &shown[shown.len() - 12..]);
        assert!(!shown.contains('<'));
    }

    #[test]
    fn controls_become_spaces_and_reordering_characters_go() {
        assert_eq!(
            plain_for_os("a\u{1b}[31mb\tc\r\nd\u{202E}e\u{2067}f\u{2069}", 100),
            "a [31mb c \nd".to_owned() + "ef"
        );
    }

    use proptest::prelude::*;
    use quick_xml::events::Event;

    /// What a markup reader makes of `escaped` as a notification body: the text it shows, and
    /// every element it would draw (there must be none).
    fn read_as_markup(escaped: &str) -> (String, Vec<String>) {
        let doc = format!("<body>{escaped}</body>");
        let mut reader = quick_xml::Reader::from_str(&doc);
        let (mut shown, mut elements) = (String::new(), Vec::new());
        loop {
            match reader.read_event().expect("well-formed markup") {
                Event::Start(e) | Event::Empty(e) => {
                    let name = e.name().as_ref().to_owned();
                    if name != "body" {
                        elements.push(name);
                    }
                }
                Event::Text(t) => shown.push_str(&t.into_inner()),
                Event::GeneralRef(r) => {
                    let entity = format!("&{};", r.into_inner());
                    shown.push_str(&quick_xml::escape::unescape(&entity).expect("a known entity"));
                }
                Event::End(_) => {}
                Event::Eof => break,
                other => elements.push(format!("{other:?}")),
            }
        }
        (shown, elements)
    }

    /// Text as people type it, weighted towards what markup is made of.
    fn typed() -> impl Strategy<Value = String> {
        prop::collection::vec(
            prop_oneof![
                3 => prop::sample::select(vec![
                    "<", ">", "&", "\"", "'", "/", "=", ";", "#", "<b>", "</b>", "<a href=\"x\">",
                    "<img src=x onerror=alert(1)>", "&amp;", "&lt;", "&#60;", "&#x3c;", "<![CDATA[",
                    "]]>", "<!--", "-->", "<?xml", "\n",
                ]).prop_map(str::to_owned),
                2 => "[a-zA-Z0-9 ]{1,8}",
                1 => "[\\p{L}\\p{N}\\p{P}\\p{S} ]{1,4}",
            ],
            0..40,
        )
        .prop_map(|parts| parts.concat())
    }

    proptest! {
        #[test]
        fn any_typed_text_shows_as_itself_and_draws_no_element(text in typed()) {
            let escaped = markup_escape(&text);
            prop_assert!(!escaped.contains('<') && !escaped.contains('>'), "{}", escaped);
            let (shown, elements) = read_as_markup(&escaped);
            prop_assert!(elements.is_empty(), "{:?} in {:?}", elements, escaped);
            prop_assert_eq!(shown, text);
        }

        #[test]
        fn a_notification_body_is_the_plain_text_escaped(text in typed()) {
            let body = notification_body(&text);
            let (shown, elements) = read_as_markup(&body);
            prop_assert!(elements.is_empty());
            prop_assert_eq!(shown, plain_for_os(&text, MAX_BODY_CHARS));
        }
    }
}
