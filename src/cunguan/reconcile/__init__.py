"""Daily reconciliation (日终对账) of each platform's custody money, its differences and the operators'
four-eyes adjustments that resolve them: `daily` (the checks and the stored runs), `statements`
(where the payment companies' settlement files and the payout channel's statement come from),
`adjustments` (propose / approve), `report` (CSV export and the per-day history the console charts)."""
