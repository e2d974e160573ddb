"""The payment cloud (支付云): payment-company adapters behind one interface (`gateway`), a simulated
company (`simulator`), and T+1 settlement files with their parser and comparison (`settlement`)."""
