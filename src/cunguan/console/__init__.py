"""The bank's operator console, business side: operators and roles, login sessions with CSRF tokens,
the read models the console pages show (always masked), and the operator actions (create platform,
add key, review a user, re-send a notification, create an operator), each role-checked and audited
in the same transaction as the change it makes.

The pages (`cunguan.web.console_pages`) only parse forms and render what these functions return.
"""
