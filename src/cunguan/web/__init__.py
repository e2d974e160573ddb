"""Bank-hosted web pages (templates, static files) and their routes."""
