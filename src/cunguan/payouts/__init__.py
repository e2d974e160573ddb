"""The payout channel that withdrawals use: the bank's own route and the interbank route behind one
interface (`channel`), a database-backed simulator (`simulator`), and the working-day rules for when a
remittance is paid (`working_days`)."""
