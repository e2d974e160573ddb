"""Migration of an existing platform into custody (存量迁移, custody.md "Migration of existing platforms"):
CSV readers (formats), the cleaning rules (cleaning), the streaming importer (importer: users,
balances, projects with their holders' shares created in custody) and the migrated balances as
RECHARGE/BANK records (balances)."""
