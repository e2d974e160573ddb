"""Other banks and IBPS behind one connector interface, with a database-backed simulator."""
