-- Postbus embedded store, schema version 2: deferred full-text indexing and
-- small message bodies in the database. Both tables are the embedded store's
-- own: the PostgreSQL schema keeps search text in message_meta and every body
-- in its blobs table.

-- Search text of new parse-once records waits here until the writer's idle work
-- moves it into message_search (store/sqlite/search.py).
CREATE TABLE search_pending (
    meta_id INTEGER PRIMARY KEY,   -- message_meta.id, the rowid it will have in message_search
    header  TEXT NOT NULL,
    body    TEXT NOT NULL
);

-- Bodies of at most 64 KB, inserted by the transaction that first references
-- them (store/blobs.py); bigger bodies stay files under data_dir/blobs.
CREATE TABLE blobs_inline (
    id      TEXT PRIMARY KEY,   -- lowercase hex SHA-256 of data
    created REAL NOT NULL,      -- epoch seconds; garbage collection spares young rows
    data    BLOB NOT NULL
);
