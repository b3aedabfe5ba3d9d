//! The words of the organisation directory: how a name, city or country is split into the words a
//! lookup matches, written once for both stores.
//!
//! SQLite's directory index is FTS5 with `tokenize = 'unicode61 remove_diacritics 2'`; the
//! PostgreSQL store keeps a table of words instead. Both must split text in exactly the same way,
//! or the same lookup would find different organisations on the two stores, so this is a port of
//! that tokenizer (`fts5UnicodeTokenize` in SQLite's `fts5_tokenize.c`) with SQLite's own tables
//! (`fts5_unicode2.c`, extracted into `directory/tables.rs` by `directory/gen_tables.py`) rather
//! than Rust's idea of Unicode, which is newer and folds case differently (`ß`, `İ`, …). A test
//! checks it against FTS5 itself, character by character.
//!
//! The rules: a word is a run of token characters (general categories L*, N*, Co, and code
//! points unicode61 does not know, except NUL); a combining diacritic inside a run stays in the
//! run; each character is lower-cased and stripped of its diacritics by SQLite's folding, and a
//! character that folds to nothing (a combining mark) is dropped.

#[rustfmt::skip]
mod tables;

use tables::{
    DIACRITIC_CHARS, DIACRITIC_KEYS, FOLD_ENTRIES, FOLD_OFFSETS, UNICODE_BLOCK, UNICODE_DATA,
    UNICODE_MAP,
};

/// The directory words of `text`, in order (with repeats), lower-case and without diacritics,
/// exactly as SQLite's FTS5 `unicode61 remove_diacritics 2` tokenizer makes them.
pub fn directory_words(text: &str) -> Vec<String> {
    let mut words = Vec::new();
    // SQLite's UTF-8 reader (FTS5_READ_UTF8) reads U+FFFE and U+FFFF as U+FFFD.
    let mut chars = text
        .chars()
        .map(|c| match c {
            '\u{FFFE}' | '\u{FFFF}' => '\u{FFFD}',
            c => c,
        })
        .peekable();
    loop {
        // Separators before the next word. A combining mark cannot start a word.
        while chars.next_if(|&c| !is_token_char(c)).is_some() {}
        if chars.peek().is_none() {
            return words;
        }
        let mut word = String::new();
        while let Some(c) = chars.next_if(|&c| is_token_char(c) || is_diacritic(c)) {
            if let Some(folded) = fold(c) {
                word.push(folded);
            }
        }
        words.push(word);
    }
}

/// unicode61's default token characters: categories L* (with LC), N*, Co and the code points
/// it has no category for (category 0); never NUL.
fn is_token_char(c: char) -> bool {
    let c = u32::from(c);
    if c < 128 {
        return (c as u8).is_ascii_alphanumeric();
    }
    // The indices of sqlite3Fts5UnicodeCatParse: 0 unknown, 5-9 Ll Lm Lo Lt Lu, 13-15 Nd Nl No,
    // 30 LC, 31 Co.
    matches!(category(c), 0 | 5..=9 | 13..=15 | 30 | 31)
}

/// `sqlite3Fts5UnicodeCategory`.
fn category(c: u32) -> u16 {
    if c >= 1 << 20 {
        return 0;
    }
    let mut lo = usize::from(UNICODE_BLOCK[(c >> 16) as usize]);
    let mut hi = usize::from(UNICODE_BLOCK[1 + (c >> 16) as usize]);
    let key = (c & 0xFFFF) as u16;
    let mut found = None;
    while hi > lo {
        let test = (hi + lo) / 2;
        if key >= UNICODE_MAP[test] {
            found = Some(test);
            lo = test + 1;
        } else {
            hi = test;
        }
    }
    let Some(i) = found else { return 0 };
    if u32::from(key) >= u32::from(UNICODE_MAP[i]) + u32::from(UNICODE_DATA[i] >> 5) {
        return 0;
    }
    match UNICODE_DATA[i] & 0x1F {
        // LC: upper and lower case alternate.
        30 if (key - UNICODE_MAP[i]) & 1 == 1 => 5,
        30 => 9,
        category => category,
    }
}

/// `sqlite3Fts5UnicodeIsdiacritic`: a combining diacritic (U+0300..U+0331, some of them).
fn is_diacritic(c: char) -> bool {
    let c = u32::from(c);
    const MASK0: u32 = 0x0802_9FDF;
    const MASK1: u32 = 0x0003_61F8;
    if !(768..=817).contains(&c) {
        return false;
    }
    if c < 768 + 32 {
        MASK0 & (1 << (c - 768)) != 0
    } else {
        MASK1 & (1 << (c - 768 - 32)) != 0
    }
}

/// `sqlite3Fts5UnicodeFold` with `remove_diacritics 2`; `None` for a character folded away.
fn fold(c: char) -> Option<char> {
    let code = u32::from(c);
    let folded = if code < 128 {
        // ASCII: only A-Z change.
        if (65..=90).contains(&code) {
            code + 32
        } else {
            code
        }
    } else if code < 65536 {
        let i = FOLD_ENTRIES.partition_point(|&(first, _, _)| u32::from(first) <= code) - 1;
        let (first, flags, range) = FOLD_ENTRIES[i];
        let (first, flags) = (u32::from(first), u32::from(flags));
        let mut ret = code;
        if code < first + u32::from(range) && (flags & (first ^ code) & 1) == 0 {
            ret = (code + u32::from(FOLD_OFFSETS[(flags >> 1) as usize])) & 0xFFFF;
        }
        remove_diacritic(ret)
    } else if (66560..66600).contains(&code) {
        code + 40
    } else {
        code
    };
    match folded {
        0 => None,
        f => Some(char::from_u32(f).unwrap_or(c)),
    }
}

/// `fts5_remove_diacritic` (complex form): the base letter of a Latin letter with diacritics.
fn remove_diacritic(c: u32) -> u32 {
    let key = (c << 3) | 7;
    let i = DIACRITIC_KEYS.partition_point(|&k| u32::from(k) <= key) - 1;
    let entry = u32::from(DIACRITIC_KEYS[i]);
    if c > (entry >> 3) + (entry & 7) {
        c
    } else {
        u32::from(DIACRITIC_CHARS[i] & 0x7F)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(s: &str) -> Vec<String> {
        directory_words(s)
    }

    #[test]
    fn words_are_lower_case_runs_of_letters_and_digits_without_diacritics() {
        assert_eq!(words("Contoso  Pty Ltd."), ["contoso", "pty", "ltd"]);
        assert_eq!(words("Zürich"), ["zurich"]);
        assert_eq!(words("ZÜRICH"), ["zurich"]);
        assert_eq!(words("Ærøskøbing"), ["ærøskøbing"]);
        assert_eq!(
            words("O'Brien & Søn-Hansen"),
            ["o", "brien", "søn", "hansen"]
        );
        assert_eq!(words("Straße 42a"), ["straße", "42a"]);
        assert_eq!(words("e\u{301}cole"), ["ecole"]);
        assert_eq!(words("\u{301}cole"), ["cole"]);
        assert_eq!(words("東京 Москва"), ["東京", "москва"]);
        assert!(words("--- ... !!").is_empty());
    }

    /// Every character, alone and between letters, splits and folds exactly as SQLite's FTS5
    /// unicode61 tokenizer (the copy linked into this crate) does.
    #[test]
    fn every_character_is_treated_as_fts5_unicode61_treats_it() {
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        conn.execute_batch(
            "CREATE VIRTUAL TABLE t USING fts5(x, tokenize = 'unicode61 remove_diacritics 2');
             CREATE VIRTUAL TABLE v USING fts5vocab(t, 'instance');",
        )
        .unwrap();
        let fts5_words = |text: &str| -> Vec<String> {
            conn.execute("DELETE FROM t", []).unwrap();
            conn.execute("INSERT INTO t(rowid, x) VALUES (1, ?1)", [text])
                .unwrap();
            let mut stmt = conn
                .prepare_cached("SELECT term FROM v ORDER BY offset")
                .unwrap();
            stmt.query_map([], |r| r.get(0))
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap()
        };
        let mut mismatches = Vec::new();
        // In chunks of characters separated by spaces (one insert per character is too slow),
        // then each character between two letters (for diacritics inside a word).
        let all: Vec<char> = (1..=0x10FFFF).filter_map(char::from_u32).collect();
        for chunk in all.chunks(2000) {
            let text: String = chunk.iter().flat_map(|&c| [c, ' ']).collect();
            if fts5_words(&text) != directory_words(&text) {
                for &c in chunk {
                    let alone = format!("a{c}b {c}");
                    let (theirs, ours) = (fts5_words(&alone), directory_words(&alone));
                    if theirs != ours {
                        mismatches.push((c, theirs, ours));
                    }
                }
            }
        }
        for c in (0x300..0x370).filter_map(char::from_u32) {
            let text = format!("x{c}y {c}z E{c}");
            if fts5_words(&text) != directory_words(&text) {
                mismatches.push((c, fts5_words(&text), directory_words(&text)));
            }
        }
        assert!(
            mismatches.is_empty(),
            "{} characters differ from FTS5, e.g. {:?}",
            mismatches.len(),
            &mismatches[..mismatches.len().min(10)]
        );
    }

    /// A query word is a word: splitting it again gives itself, so a store may match it as one
    /// prefix.
    #[test]
    fn a_word_splits_into_itself() {
        for c in (1..=0x10FFFF).filter_map(char::from_u32) {
            for w in directory_words(&format!("a{c}")) {
                assert_eq!(
                    directory_words(&w),
                    std::slice::from_ref(&w),
                    "U+{:04X}",
                    u32::from(c)
                );
            }
        }
    }
}
