"""The analysts' pages (`/review`, `/dashboard`): Jinja2 templates and plain static JavaScript.

No front-end build and nothing from a CDN: the pages call the same JSON API as any client,
with the analyst's key kept in the browser tab's session storage.
"""
