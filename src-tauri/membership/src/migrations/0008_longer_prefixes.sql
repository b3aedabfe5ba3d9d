-- Lookup: FTS5 answers a prefix query from a prefix index only when the prefix is exactly one of
-- the indexed lengths; any other length merges the posting lists of every word it matches, on
-- every query. People type 4, 5 and 6 letters ("summ", "contos") as often as 1 to 3, so those
-- lengths get indexes too (docs/BENCHMARKS.md: a typed word of 4–6 letters was the slow part of
-- a lookup). The table is rebuilt from organisations, its content table; the triggers that keep
-- it in step name it and stay as they are.
DROP TABLE organisations_fts;
CREATE VIRTUAL TABLE organisations_fts USING fts5(
    name, city, country,
    content = 'organisations', content_rowid = 'seq',
    tokenize = 'unicode61 remove_diacritics 2', prefix = '1 2 3 4 5 6'
);
INSERT INTO organisations_fts(organisations_fts) VALUES ('rebuild');
