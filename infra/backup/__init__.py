"""Backup and restore of every store (备份与恢复): ``python -m infra.backup``.

``manifest`` (pure: entries, digests compared, the order of the snapshots), ``stores``
(SQLite's online backup API, pg_dump/pg_restore, the folders under DATA_DIR),
``operations`` (create, verify, restore) and ``reconcile`` (what a restore lacks of the
clue's path, re-driven or reported). README, "Backup and restore".
"""
