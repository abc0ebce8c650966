"""Who is calling: staff passwords and TOTP, service tokens, browser sessions and CSRF.

This room turns a credential into an ``Actor`` for the guard, or refuses with
a ``Denied`` whose rule names why (``bad_credentials``, ``account_locked``,
``totp_required``, ``token_expired``, ``session_expired``, ``csrf_replayed``,
...). It never stores a secret in a form that works if read: passwords as
argon2id hashes, TOTP seeds sealed with AES-GCM, tokens, session cookies and
CSRF tokens as digests. It never writes a secret or a typed value into the
audit log or an error message. It has no HTTP code: the API calls it.
"""
