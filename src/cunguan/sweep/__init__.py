"""Cross-bank fund collection (跨行资金归集): splitting, cycles, agreements, rules, execution, scheduler."""
