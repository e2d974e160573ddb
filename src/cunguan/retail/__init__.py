"""Our bank's retail side, only what collection needs: customers, their accounts, online-banking login."""
