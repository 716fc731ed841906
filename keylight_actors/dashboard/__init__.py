"""The vendor dashboard (issue 23): server-rendered pages under ``/dashboard`` on the same
ingress as the JSON API, calling the same use cases and query modules (docs/dashboard.md)."""
