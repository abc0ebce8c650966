"""The staff console: the request queue, requests, look-up, audit, provisions, dashboard."""
