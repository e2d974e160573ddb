"""The custody business (资金存管): platforms, users, authorizations, money, projects, trades,
reconciliation. Plain functions over a unit of work; no HTTP here (see api/lanmao for the wire)."""
