"""The web dashboard: views, forms and URLs (the templates and static files stay in the app's
`templates/` and `static/`, where Django's loaders find them).

The top of the app: imports the core (selectors, services) and `hooks.config`.
"""
