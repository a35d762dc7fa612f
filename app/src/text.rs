//! Text from a person on its way in and out. In: the characters no field may hold (control
//! characters and the bidi overrides that make a name read backwards). Out: the one escaping
//! path for text that reaches HTML other than as `view!` text or an attribute (the page title,
//! JSON inside a `<script>`). Ground floor: imports no area.

/// `&`, `<` and `>` as entities: for text written into HTML by hand (the server's `<title>`;
/// leptos_meta 0.8 writes the title text unescaped, `TOOLCHAIN.md`).
pub fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
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

/// JSON for the inside of a `<script>` element (`application/ld+json`): every `<` as
/// `\u003c`, so no text in it can end the element (`</script>`) or open a comment (`<!--`).
/// It reads back as the same JSON.
pub fn script_json(value: &serde_json::Value) -> String {
    value.to_string().replace('<', "\\u003c")
}

/// The page's title: the page's own text and the shop's name. In the browser it goes to
/// `document.title`, which takes plain text; on the server leptos_meta writes it into the
/// HTML as it is, so there it is escaped here, once for every page (`App` sets this as the
/// one title formatter).
pub fn page_title(text: String) -> String {
    let full = if text.is_empty() { "Sellout".to_owned() } else { format!("{text} · Sellout") };
    if cfg!(feature = "ssr") { escape_html(&full) } else { full }
}

/// Text for the inside of a `<textarea>`. tachys 0.2 writes that element's children into the
/// server's HTML unescaped (as it does a `<script>`'s), so a review saved as
/// `</textarea><script>…` would end the element and run when its form is shown again. Escaped
/// on the server only: in the browser the text is set as it is.
pub fn textarea_text(text: String) -> String {
    if cfg!(feature = "ssr") { escape_html(&text) } else { text }
}

/// Characters a person cannot have meant in a field, and which would change how other text is
/// shown: C0 controls and DEL (NUL, BEL, ESC, a line break in a one-line field) and the bidi
/// embeddings, overrides and isolates (U+202A–U+202E, U+2066–U+2069), which make what follows
/// read backwards (`exe.txt` shown for `txt.exe`). A multi-line field may hold line breaks
/// and tabs.
pub fn unwanted_char(text: &str, multi_line: bool) -> Option<char> {
    text.chars().find(|&c| {
        let allowed_space = multi_line && matches!(c, '\n' | '\r' | '\t');
        (c.is_control() && !allowed_space) || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
    })
}

/// The message for a field holding an `unwanted_char`.
pub fn unwanted_message(label: &str, c: char) -> String {
    let what = match c {
        '\n' | '\r' => "a line break".to_owned(),
        '\0' => "a NUL character".to_owned(),
        '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' => format!("a text-direction control (U+{:04X})", c as u32),
        c => format!("a control character (U+{:04X})", c as u32),
    };
    format!("{label} contains {what}, which cannot be shown. Remove it and try again.")
}

/// Records on `errors` when `text` holds an `unwanted_char`.
pub fn check_chars(errors: &mut crate::error::FieldErrors, field: &str, label: &str, text: &str, multi_line: bool) {
    if let Some(c) = unwanted_char(text, multi_line) {
        errors.add(field, unwanted_message(label, c));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_becomes_text() {
        assert_eq!(escape_html("</title><script>alert(1)</script> & co"), "&lt;/title&gt;&lt;script&gt;alert(1)&lt;/script&gt; &amp; co");
        assert_eq!(escape_html("Plain \"quoted\" text"), "Plain \"quoted\" text");
    }

    #[test]
    fn json_in_a_script_cannot_end_it_and_reads_back_the_same() {
        let value = serde_json::json!({"name": "</script><!-- <b>"});
        let text = script_json(&value);
        assert!(!text.contains('<'), "{text}");
        assert_eq!(serde_json::from_str::<serde_json::Value>(&text).unwrap(), value);
    }

    #[test]
    fn the_title_carries_the_shop_name() {
        let expected = if cfg!(feature = "ssr") { "a &lt;b&gt; · Sellout" } else { "a <b> · Sellout" };
        assert_eq!(page_title("a <b>".to_owned()), expected);
        assert_eq!(page_title(String::new()), "Sellout");
    }

    #[test]
    fn controls_and_direction_overrides_are_found() {
        for bad in ["nul\0", "bell\u{7}", "line\r\nbreak", "\u{202E}exe.txt", "iso\u{2066}late", "del\u{7f}", "c1\u{85}"] {
            assert!(unwanted_char(bad, false).is_some(), "{bad:?}");
        }
        assert!(unwanted_char("two\nlines\tand a tab", true).is_none());
        assert!(unwanted_char("nul\0", true).is_some());
        for fine in ["Zoë's Café", "東京", "emoji 🎉", "right-to-left: שלום", "€ 24,90"] {
            assert!(unwanted_char(fine, false).is_none(), "{fine:?}");
        }
        assert_eq!(unwanted_message("The title", '\u{202E}'), "The title contains a text-direction control (U+202E), which cannot be shown. Remove it and try again.");
    }
}
