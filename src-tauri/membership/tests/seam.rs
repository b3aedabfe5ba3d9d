//! The storage seam holds: the rules in `src/programme/` read as rules. They reach data only
//! through `store::ReadTx` / `store::WriteTx`, so no file there names the SQLite driver, calls
//! it, or holds SQL in a string; all SQL lives in `src/store/`.
use std::path::{Path, PathBuf};

/// Driver calls and types that only a store may use.
const DRIVER_WORDS: &[&str] = &[
    "rusqlite",
    "execute(",
    "execute_batch",
    "query_row",
    "query_map",
    "prepare",
    "Connection",
    "Transaction",
    "params!",
];

/// Words of SQL that never appear, in capitals, in a sentence meant for people.
const SQL_WORDS: &[&str] = &[
    "SELECT", "INSERT", "UPDATE", "DELETE", "FROM", "WHERE", "JOIN", "VALUES", "EXISTS", "PRAGMA",
    "BEGIN", "COMMIT", "ROLLBACK", "CREATE", "MATCH", "LIMIT", "ORDER",
];

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).expect("the source folder is readable") {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            files.extend(rust_files(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
    files.sort();
    files
}

/// The contents of the string literals of Rust source (plain and raw strings; escapes kept as
/// written, which is enough to find words). Character literals such as '"' are skipped.
fn string_literals(src: &str) -> Vec<String> {
    let chars: Vec<char> = src.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '/' if chars.get(i + 1) == Some(&'/') => {
                while i < chars.len() && chars[i] != '\n' {
                    i += 1;
                }
            }
            '\'' if chars.get(i + 2) == Some(&'\'') => i += 3,
            '\'' if chars.get(i + 1) == Some(&'\\') => {
                i += 2;
                while i < chars.len() && chars[i] != '\'' {
                    i += 1;
                }
                i += 1;
            }
            'r' if chars.get(i + 1) == Some(&'#') || chars.get(i + 1) == Some(&'"') => {
                let mut j = i + 1;
                let mut hashes = 0;
                while chars.get(j) == Some(&'#') {
                    hashes += 1;
                    j += 1;
                }
                if chars.get(j) != Some(&'"') {
                    i += 1;
                    continue;
                }
                let close: String = std::iter::once('"')
                    .chain(std::iter::repeat_n('#', hashes))
                    .collect();
                let rest: String = chars[j + 1..].iter().collect();
                let end = rest.find(&close).unwrap_or(rest.len());
                out.push(rest[..end].to_owned());
                i = j + 1 + rest[..end].chars().count() + close.chars().count();
            }
            '"' => {
                let mut lit = String::new();
                i += 1;
                while i < chars.len() && chars[i] != '"' {
                    if chars[i] == '\\' && i + 1 < chars.len() {
                        lit.push(chars[i]);
                        i += 1;
                    }
                    lit.push(chars[i]);
                    i += 1;
                }
                out.push(lit);
                i += 1;
            }
            _ => i += 1,
        }
    }
    out
}

/// Every place in `files` where the driver is used or a string holds SQL, as `file: finding`.
fn storage_in(files: &[PathBuf]) -> Vec<String> {
    let mut found = Vec::new();
    for file in files {
        let src = std::fs::read_to_string(file).expect("a source file is readable");
        let name = file.display();
        for word in DRIVER_WORDS {
            if src.contains(word) {
                found.push(format!("{name}: uses `{word}`"));
            }
        }
        for lit in string_literals(&src) {
            let words: Vec<&str> = lit
                .split(|c: char| !c.is_ascii_alphabetic())
                .filter(|w| !w.is_empty())
                .collect();
            if let Some(w) = words.iter().find(|w| SQL_WORDS.contains(w)) {
                found.push(format!("{name}: SQL ({w}) in the string {lit:?}"));
            }
        }
    }
    found
}

fn src(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src").join(path)
}

#[test]
fn no_rule_in_programme_touches_the_driver_or_holds_sql() {
    let files = rust_files(&src("programme"));
    assert!(
        files.len() >= 6,
        "the rules' files are where this test looks for them: {files:?}"
    );
    let found = storage_in(&files);
    assert!(
        found.is_empty(),
        "the rules must reach data only through store::ReadTx / store::WriteTx; move this into \
         the store:\n{}",
        found.join("\n")
    );
}

#[test]
fn the_check_finds_sql_and_driver_calls_where_they_are() {
    // Without this, a broken scanner would make the test above pass for the wrong reason.
    let found = storage_in(&[src("store/sqlite.rs")]);
    assert!(
        found.iter().any(|f| f.contains("uses `rusqlite`")),
        "{found:?}"
    );
    assert!(
        found.iter().any(|f| f.contains("SQL (SELECT)")),
        "{found:?}"
    );
    assert!(
        found.iter().any(|f| f.contains("SQL (INSERT)")),
        "{found:?}"
    );
}

#[test]
fn string_literals_are_read_whole_and_comments_are_not_strings() {
    let lits = string_literals(
        "let a = \"SELECT x\"; // \"UPDATE\" in a comment\nlet q = '\"'; let b = r#\"a \"b\" c\"#; let c = \"e\\\"f\";",
    );
    assert_eq!(lits, vec!["SELECT x", "a \"b\" c", "e\\\"f"]);
}
