"""Migration of an existing platform into custody (存量迁移, custody.md "Migration of existing platforms"):
CSV readers (formats), the cleaning rules (cleaning), the streaming importer (importer) and the
migrated balances as RECHARGE/BANK records (balances)."""
