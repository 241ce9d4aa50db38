#!/usr/bin/env python3
"""Writes a SQLite store in the layout of pgkb import's built-in mapping, for t_import*.sh and bench:
conversations(id, user_id, title, metadata TEXT JSON, created_at), messages(id, conversation_id, role, content,
metadata TEXT JSON, created_at), documents(id, url, title, content).

usage: make_sqlite_store.py FILE CONVERSATIONS MESSAGES DOCUMENTS [--bad]
--bad adds rows that cannot be converted (bad UTF-8, a NUL, an unparsable timestamp, JSON that is no object,
an unknown role, a message of a missing conversation) and prints their table and rowid, one a line."""
import sqlite3
import sys

path, n_conv, n_msg, n_doc = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
bad = "--bad" in sys.argv[5:]
db = sqlite3.connect(path)
db.executescript("""
CREATE TABLE conversations (id INTEGER PRIMARY KEY, user_id TEXT, title TEXT, metadata TEXT, created_at TEXT);
CREATE TABLE messages (id INTEGER PRIMARY KEY, conversation_id INTEGER, role TEXT, content TEXT, metadata TEXT,
                       created_at TEXT);
CREATE TABLE documents (id INTEGER PRIMARY KEY, url TEXT, title TEXT, content TEXT);
""")
db.executemany("INSERT INTO conversations VALUES (?, ?, ?, ?, ?)",
               ((i, "user-%d" % (i % 50), "conversation %d" % i, '{"channel": "web", "n": %d}' % i,
                 "2024-01-%02d 10:00:00" % (i % 28 + 1)) for i in range(1, n_conv + 1)))
words = ["vacuum", "index", "replica", "checkpoint", "lock", "planner", "backup", "query", "table", "role"]
db.executemany("INSERT INTO messages VALUES (?, ?, ?, ?, ?, ?)",
               ((i, i % n_conv + 1, "user" if i % 2 else "assistant",
                 "message %d about %s and %s" % (i, words[i % 10], words[(i // 10) % 10]),
                 '{"i": %d}' % i if i % 3 else None,
                 (1704103200 + i) if i % 4 == 0 else "2024-01-01T10:%02d:%02dZ" % (i // 60 % 60, i % 60))
                for i in range(1, n_msg + 1)))
db.executemany("INSERT INTO documents VALUES (?, ?, ?, ?)",
               ((i, "https://notes.test/doc/%d" % i, "Document %d" % i,
                 "# Document %d\n\nNotes about %s, number %d.\n" % (i, words[i % 10], i))
                for i in range(1, n_doc + 1)))
if bad:
    rows = [
        ("messages", "INSERT INTO messages VALUES (?, 1, 'user', CAST(? AS BLOB), NULL, '2024-01-01')", b"caf\xe9 latin-1"),
        ("messages", "INSERT INTO messages VALUES (?, 1, 'user', CAST(? AS TEXT), NULL, '2024-01-01')", b"nul\x00inside"),
        ("messages", "INSERT INTO messages VALUES (?, 1, 'user', ?, NULL, 'last tuesday')", "time"),
        ("messages", "INSERT INTO messages VALUES (?, 1, 'user', ?, '[1, 2]', '2024-01-01')", "json"),
        ("messages", "INSERT INTO messages VALUES (?, 1, 'user', ?, '{oops', '2024-01-01')", "json2"),
        ("messages", "INSERT INTO messages VALUES (?, 1, 'wizard', ?, NULL, '2024-01-01')", "role"),
        ("messages", "INSERT INTO messages VALUES (?, 999999, 'user', ?, NULL, '2024-01-01')", "orphan"),
        ("messages", "INSERT INTO messages VALUES (?, 1, 'user', ?, NULL, '2024-02-30 10:00')", "feb30"),
        ("conversations", "INSERT INTO conversations VALUES (?, 'u', ?, 'not json', '2024-01-01')", "t"),
        ("documents", "INSERT INTO documents VALUES (?, 'https://notes.test/bad', 'bad', CAST(? AS BLOB))", b"\xff\xfe"),
    ]
    next_id = {"messages": n_msg, "conversations": n_conv, "documents": n_doc}
    for table, sql, val in rows:
        next_id[table] += 1
        db.execute(sql, (next_id[table], val))
        print(table, next_id[table])
db.commit()
db.close()
